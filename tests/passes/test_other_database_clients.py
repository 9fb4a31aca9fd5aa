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


DATASTORES = """
    class Datastore:
        def __init__(self, db):
            self.db = db


    class SQLAlchemyDatastore(Datastore):
        def commit(self):
            self.db.session.commit()


    class PonyDatastore(Datastore):
        def commit(self):
            self.db.commit()
"""


def test_an_attribute_whose_session_a_related_class_reads_is_no_session() -> None:
    """``self.db`` of ``Datastore`` is a Flask-SQLAlchemy object where the SQLAlchemy
    datastore reads ``self.db.session``, and another library's database in the Pony
    one: its ``commit()`` is not a session's, whatever its name says."""
    check_noop(DATASTORES, target="async")


def test_a_repository_given_a_session_by_name_is_still_a_session() -> None:
    """No class of its family reads ``self.db.session``: ``self.db`` is assumed a
    session by its name, as before (a FastAPI repository given ``db: Session``)."""
    check_transformed(
        """
        class Repository:
            def __init__(self, db):
                self.db = db


        class UserRepository(Repository):
            def save(self, user):
                self.db.add(user)
                self.db.commit()


        class Other:
            def __init__(self, db):
                self.db = db

            def close(self):
                self.db.session.close()
        """,
        """
        class Repository:
            def __init__(self, db):
                self.db = db


        class UserRepository(Repository):
            async def save(self, user):
                self.db.add(user)
                await self.db.commit()


        class Other:
            def __init__(self, db):
                self.db = db

            def close(self):
                self.db.session.close()
        """,
        target="async",
    )
