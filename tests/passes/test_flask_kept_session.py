"""A synchronous function that commits on Flask-SQLAlchemy's ``db.session`` (one that
cannot become a coroutine: ``__init__``, an event listener) keeps ``db.session`` for
everything it does: ``db.session.add(obj)`` there stays, else the object would be added
to ``async_session`` and the commit on ``db.session`` would not save it."""

from __future__ import annotations

from tests.harness import check_project

EXTENSION = """
    from flask_sqlalchemy import SQLAlchemy

    db = SQLAlchemy()
"""


def test_add_stays_on_the_session_a_synchronous_function_commits() -> None:
    check_project(
        {
            "app": EXTENSION,
            "app.audit": """
                from app import db


                class Audit:
                    def __init__(self, entry):
                        db.session.add(entry)
                        db.session.commit()


                def stage(entry):
                    db.session.add(entry)


                def revoke(token):
                    db.session.delete(token)
                    db.session.commit()
            """,
        },
        {
            "app.audit": """
                from app import async_session, db


                class Audit:
                    def __init__(self, entry):
                        db.session.add(entry)
                        # TODO(sqla-upgrade): __init__ cannot be a coroutine: it keeps the synchronous db.session, so objects it loads belong to that session, not to the views' async_session: relate them to new objects by id, or use `await async_session.merge(obj)` in the async code
                        db.session.commit()


                def stage(entry):
                    async_session.add(entry)


                async def revoke(token):
                    await async_session.delete(token)
                    await async_session.commit()
            """,
        },
        todos=["__init__ cannot be a coroutine: it keeps the synchronous db.session"],
    )
