"""Names other databases' clients and ORMs give their objects are not sessions.

A name imported from a package outside the project is taken for a session by its
spelling (``db``, ``db_session``) only when the package could be the project's own
code outside PATHS: App Engine's ``from google.appengine.ext import db`` (whose
``db.get(key)`` is the datastore's) and Pony's ``db_session`` are not, and neither are
the other clients listed in ``NOT_SQLALCHEMY_SESSIONS``.
"""

from __future__ import annotations

import pytest

from tests.harness import check_noop, check_transformed


@pytest.mark.parametrize(
    ("imported", "use"),
    [
        ("from google.appengine.ext import db", "db.get(db.Key(encoded=key))"),
        ("from pony.orm import db_session", "db_session.commit()"),
        ("from peewee import SqliteDatabase as db", "db.execute_sql(key)"),
    ],
)
def test_an_imported_client_named_like_a_session_is_left_alone(imported: str, use: str) -> None:
    check_noop(
        f"""
        {imported}


        def load(key):
            return {use}
        """,
        target="async",
    )


def test_a_sqlalchemy_session_next_to_it_is_still_migrated() -> None:
    check_transformed(
        """
        from google.appengine.ext import db
        from sqlalchemy.orm import Session


        def get_entity(key):
            return db.get(db.Key(encoded=key))


        def save(session: Session, obj):
            session.add(obj)
            session.commit()
        """,
        """
        from google.appengine.ext import db
        from sqlalchemy.ext.asyncio import AsyncSession


        def get_entity(key):
            return db.get(db.Key(encoded=key))


        async def save(session: AsyncSession, obj):
            session.add(obj)
            await session.commit()
        """,
        target="async",
    )
