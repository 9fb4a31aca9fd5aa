"""flask-async-session: Flask-SQLAlchemy request code moves to an AsyncSession.

The whole rewrite of a multi-module app (factory, blueprint, CLI, templates) is proven
on real databases in ``tests/flask_async/``; these cases pin the module-level forms.
"""

from __future__ import annotations

from pathlib import Path

from tests.harness import check_project

GOLDEN = Path(__file__).parent / "golden"


def test_app_without_session_io_is_left_alone() -> None:
    modules = {
        "app.ext": """
            from flask_sqlalchemy import SQLAlchemy

            db = SQLAlchemy()


            class Tag(db.Model):
                id = db.Column(db.Integer, primary_key=True)
        """,
        "app.factory": """
            from flask import Flask

            from .ext import db


            def create_app():
                app = Flask(__name__)
                db.init_app(app)
                with app.app_context():
                    db.create_all()
                return app
        """,
    }
    check_project(modules, modules)


def test_flask_app_stays_synchronous_for_target_2_0() -> None:
    modules = {
        "app.views": """
            from app.ext import db

            def save():
                db.session.commit()
        """,
        "app.ext": """
            from flask_sqlalchemy import SQLAlchemy

            db = SQLAlchemy()
        """,
    }
    check_project(modules, modules, target="2.0")


def test_single_module_app_with_template_filter() -> None:
    """``SQLAlchemy(app)``: the helpers, then ``init_async_session(app)``; a template
    filter cannot await, so it keeps the synchronous ``db.session`` and a TODO."""
    before = (GOLDEN / "flask_single_module_before.py.txt").read_text()
    after = (GOLDEN / "flask_single_module_after.py.txt").read_text()
    check_project(
        {"app.ext": before},
        {"app.ext": after},
        todos=["Flask calls @template_filter functions synchronously"],
    )
    assert "init_async_session(app)\n" in after
    assert "    return db.session.get(Tag, tag_id).name\n" in after
    assert "    await async_session.delete(await get_or_404(Tag, id))\n" in after


def test_cli_command_runs_like_an_async_view() -> None:
    check_project(
        {
            "app.ext": """
                from flask_sqlalchemy import SQLAlchemy

                db = SQLAlchemy()
            """,
            "app.cli": """
                import click

                from .ext import db


                def register(app):
                    @app.cli.command("purge")
                    @click.option("--days", default=30)
                    def purge(days):
                        db.session.execute(text("delete from logs"))
                        db.session.commit()
            """,
        },
        {
            "app.cli": """
                import click

                from .ext import async_command, async_session, db


                def register(app):
                    @app.cli.command("purge")
                    @click.option("--days", default=30)
                    @async_command
                    async def purge(days):
                        await async_session.execute(text("delete from logs"))
                        await async_session.commit()
            """,
        },
    )
