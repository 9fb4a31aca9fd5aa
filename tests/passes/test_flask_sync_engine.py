"""Under ``--target async`` Flask-SQLAlchemy's ``db.engine`` stays a synchronous
``Engine`` (the app's ``AsyncSession`` gets an async engine of its own): connections
opened on it are synchronous, nothing run on them is awaited, ``with`` stays ``with``,
schema operations on it need no ``run_sync``, and a function using only them stays
synchronous."""

from __future__ import annotations

from tests.harness import check_project

EXTENSION = """
    from flask_sqlalchemy import SQLAlchemy

    db = SQLAlchemy()
"""

VIEWS = """
    from flask import Blueprint
    from sqlalchemy import text

    from app import db

    bp = Blueprint("admin", __name__)


    @bp.route("/drop")
    def drop():
        db.engine.execute("DROP TABLE IF EXISTS alembic_version")
        db.session.commit()
        return "ok"


    def count():
        with db.engine.connect() as conn:
            return conn.execute(text("SELECT COUNT(*) FROM users")).scalar()


    def rows():
        engine = db.engine
        conn = engine.connect()
        found = conn.execute(text("SELECT 1")).fetchall()
        conn.close()
        return found


    def setup():
        db.metadata.create_all(db.engine)
"""


def test_connections_of_db_engine_stay_synchronous() -> None:
    check_project(
        {"app": EXTENSION, "app.views": VIEWS},
        {
            "app.views": """
                from flask import Blueprint
                from sqlalchemy import text

                from app import async_session, db

                bp = Blueprint("admin", __name__)


                @bp.route("/drop")
                async def drop():
                    with db.engine.begin() as conn:
                        conn.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
                    await async_session.commit()
                    return "ok"


                def count():
                    with db.engine.connect() as conn:
                        return conn.execute(text("SELECT COUNT(*) FROM users")).scalar()


                def rows():
                    engine = db.engine
                    conn = engine.connect()
                    found = conn.execute(text("SELECT 1")).fetchall()
                    conn.close()
                    return found


                def setup():
                    db.metadata.create_all(db.engine)
            """,
        },
    )
