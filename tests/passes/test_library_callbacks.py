"""Methods of a class deriving from a library's class that no project code calls (an
Authlib grant's ``save_authorization_code``, a Celery task's ``on_success``): the
library calls them, synchronously, so they stay synchronous under ``--target async``
(as coroutines they would never run, their commits silently lost)."""

from __future__ import annotations

from tests.harness import check_project

EXTENSION = """
    from flask_sqlalchemy import SQLAlchemy

    db = SQLAlchemy()
"""

GRANTS = """
    from authlib.oauth2.rfc6749 import grants

    from app import db


    class AuthorizationCodeGrant(grants.AuthorizationCodeGrant):
        def save_authorization_code(self, code, request):
            db.session.add(code)
            db.session.commit()
            return code

        def revoke(self, token):
            db.session.delete(token)
            db.session.commit()


    class StrictGrant(AuthorizationCodeGrant):
        def delete_authorization_code(self, code):
            db.session.delete(code)
            db.session.commit()


    def revoke_all(grant, tokens):
        for token in tokens:
            grant.revoke(token)
"""


def test_library_callbacks_keep_the_synchronous_flask_session() -> None:
    check_project(
        {"app": EXTENSION, "app.grants": GRANTS},
        {
            "app.grants": """
                from authlib.oauth2.rfc6749 import grants

                from app import async_session, db


                class AuthorizationCodeGrant(grants.AuthorizationCodeGrant):
                    def save_authorization_code(self, code, request):
                        db.session.add(code)
                        # TODO(sqla-upgrade): authlib.oauth2.rfc6749.grants.AuthorizationCodeGrant (a library's class) calls it synchronously: no project code calls save_authorization_code(): it keeps the synchronous db.session, so objects it loads belong to that session, not to the views' async_session: relate them to new objects by id, or use `await async_session.merge(obj)` in the async code
                        db.session.commit()
                        return code

                    async def revoke(self, token):
                        await async_session.delete(token)
                        await async_session.commit()


                class StrictGrant(AuthorizationCodeGrant):
                    def delete_authorization_code(self, code):
                        # TODO(sqla-upgrade): authlib.oauth2.rfc6749.grants.AuthorizationCodeGrant (a library's class) calls it synchronously: no project code calls delete_authorization_code(): it keeps the synchronous db.session, so objects it loads belong to that session, not to the views' async_session: relate them to new objects by id, or use `await async_session.merge(obj)` in the async code
                        db.session.delete(code)
                        # TODO(sqla-upgrade): authlib.oauth2.rfc6749.grants.AuthorizationCodeGrant (a library's class) calls it synchronously: no project code calls delete_authorization_code(): it keeps the synchronous db.session, so objects it loads belong to that session, not to the views' async_session: relate them to new objects by id, or use `await async_session.merge(obj)` in the async code
                        db.session.commit()


                async def revoke_all(grant, tokens):
                    for token in tokens:
                        await grant.revoke(token)
            """,
        },
        todos=["AuthorizationCodeGrant (a library's class) calls it synchronously"],
    )


def test_a_library_callback_on_an_async_session_gets_todos() -> None:
    check_project(
        {
            "app.db": """
                from sqlalchemy import create_engine
                from sqlalchemy.orm import sessionmaker

                engine = create_engine("sqlite://")
                SessionLocal = sessionmaker(bind=engine)
            """,
            "app.tasks": """
                from celery import Task

                from app.db import SessionLocal


                class DbTask(Task):
                    def on_success(self, retval, task_id, args, kwargs):
                        with SessionLocal() as session:
                            session.commit()
            """,
        },
        {
            "app.tasks": """
                from celery import Task

                from app.db import SessionLocal


                class DbTask(Task):
                    def on_success(self, retval, task_id, args, kwargs):
                        # TODO(sqla-upgrade): this session/connection context is now async; use it in an async function
                        with SessionLocal() as session:
                            # TODO(sqla-upgrade): this call is now a coroutine but cannot be awaited here (celery.Task (a library's class) calls it synchronously: no project code calls on_success()); use an async method or run_sync
                            session.commit()
            """,
        },
        todos=["celery.Task (a library's class) calls it synchronously"],
    )
