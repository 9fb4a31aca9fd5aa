"""Flask-SQLAlchemy objects the project index does not know: made in an app factory.

The index knows ``db = SQLAlchemy()`` bound once at module level, and flask-async-session
writes the async session and its helpers beside it. A ``db`` made inside a function
(``db = SQLAlchemy(app)`` in ``create_app()``, or bound there through ``global db``) is
still Flask-SQLAlchemy's: its ``db.session`` is a session for the 2.0 rewrites, but under
``--target async`` its I/O keeps the synchronous ``db.session``, with a TODO saying why.
"""

from __future__ import annotations

from sqla_upgrade.api import migrate_project
from tests.harness import _dedent, check_project

FACTORY_DB = """
    from flask import Flask
    from flask_sqlalchemy import SQLAlchemy

    from .models import Base, User


    def create_app():
        app = Flask(__name__)
        db = SQLAlchemy(app, model_class=Base)

        @app.route("/users")
        def users():
            return ",".join(u.name for u in db.session.query(User).filter_by(name="x").all())

        @app.route("/add/<name>")
        def add(name):
            db.session.add(User(name=name))
            db.session.commit()
            return "ok"

        return app
"""
MODELS = """
    from sqlalchemy import Column, Integer, String
    from sqlalchemy.orm import declarative_base

    Base = declarative_base()


    class User(Base):
        __tablename__ = "user"
        id = Column(Integer, primary_key=True)
        name = Column(String(50))
"""


def unknown_db_todo(db: str = "db", where: str = "create_app()") -> str:
    return (
        f"{db} is a Flask-SQLAlchemy object made in {where}, not once at module level: "
        "sqla-upgrade writes the async session beside a module-level `db = SQLAlchemy()`, "
        f"so this I/O keeps the synchronous {db}.session. Make `{db} = SQLAlchemy()` "
        f"module level (`{db}.init_app(app)` in the factory) and run again"
    )


UNKNOWN_DB_TODO = unknown_db_todo()


def test_queries_on_a_db_made_in_the_factory_become_select_for_target_2_0() -> None:
    expected = """
        from flask import Flask
        from flask_sqlalchemy import SQLAlchemy

        from .models import Base, User
        from sqlalchemy import select


        def create_app():
            app = Flask(__name__)
            db = SQLAlchemy(app, model_class=Base)

            @app.route("/users")
            def users():
                return ",".join(u.name for u in db.session.scalars(select(User).filter_by(name="x")).all())

            @app.route("/add/<name>")
            def add(name):
                db.session.add(User(name=name))
                db.session.commit()
                return "ok"

            return app
    """
    check_project(
        {"app.factory": FACTORY_DB, "app.models": MODELS}, {"app.factory": expected}, target="2.0"
    )


def test_io_on_a_db_made_in_the_factory_keeps_db_session_with_a_todo() -> None:
    expected = f"""
        from flask import Flask
        from flask_sqlalchemy import SQLAlchemy

        from .models import Base, User
        from sqlalchemy import select


        def create_app():
            app = Flask(__name__)
            db = SQLAlchemy(app, model_class=Base)

            @app.route("/users")
            def users():
                # TODO(sqla-upgrade): {UNKNOWN_DB_TODO}
                return ",".join(u.name for u in db.session.scalars(select(User).filter_by(name="x")).all())

            @app.route("/add/<name>")
            def add(name):
                db.session.add(User(name=name))
                # TODO(sqla-upgrade): {UNKNOWN_DB_TODO}
                db.session.commit()
                return "ok"

            return app
    """
    check_project(
        {"app.factory": FACTORY_DB, "app.models": MODELS},
        {"app.factory": expected},
        todos=[UNKNOWN_DB_TODO],
    )


GLOBAL_DB = """
    from flask import Flask
    from flask_sqlalchemy import SQLAlchemy

    db = None


    def create_app():
        global db
        app = Flask(__name__)
        db = SQLAlchemy(app)

        @app.route("/add/<name>")
        def add(name):
            db.session.execute(db.text("insert into t values (:n)"), {"n": name})
            db.session.commit()
            return "ok"

        return app


    def count():
        return db.get_or_404(Counter, 1).value
"""


def test_a_db_bound_through_global_in_the_factory_keeps_db_session_with_a_todo() -> None:
    expected = f"""
        from flask import Flask
        from flask_sqlalchemy import SQLAlchemy

        db = None


        def create_app():
            global db
            app = Flask(__name__)
            db = SQLAlchemy(app)

            @app.route("/add/<name>")
            def add(name):
                # TODO(sqla-upgrade): {UNKNOWN_DB_TODO}
                db.session.execute(db.text("insert into t values (:n)"), {{"n": name}})
                # TODO(sqla-upgrade): {UNKNOWN_DB_TODO}
                db.session.commit()
                return "ok"

            return app


        def count():
            # TODO(sqla-upgrade): {UNKNOWN_DB_TODO}
            return db.get_or_404(Counter, 1).value
    """
    check_project({"app": GLOBAL_DB}, {"app": expected}, todos=[UNKNOWN_DB_TODO])
    check_project({"app": GLOBAL_DB}, {"app": GLOBAL_DB}, target="2.0")


FACTORY_MODELS = """
    from flask import Flask, jsonify
    from flask_sqlalchemy import SQLAlchemy


    def create_app():
        app = Flask(__name__)
        db = SQLAlchemy(app)

        class User(db.Model):
            id = db.Column(db.Integer, primary_key=True)
            name = db.Column(db.String(50))

        @app.route("/users")
        def users():
            return jsonify([u.name for u in User.query.all()])

        return app
"""
MODEL_TODO = (
    "User is a model of db, a Flask-SQLAlchemy object made in create_app(), not once at "
    "module level: the tool cannot follow its models, so User.query is left unchanged. "
    "Make `db = SQLAlchemy()` and the models module level (`db.init_app(app)` in the "
    "factory) and run again"
)


def test_model_query_of_a_model_of_a_db_made_in_the_factory_is_left_with_a_todo() -> None:
    expected = f"""
        from flask import Flask, jsonify
        from flask_sqlalchemy import SQLAlchemy


        def create_app():
            app = Flask(__name__)
            db = SQLAlchemy(app)

            class User(db.Model):
                id = db.Column(db.Integer, primary_key=True)
                name = db.Column(db.String(50))

            @app.route("/users")
            def users():
                # TODO(sqla-upgrade): {MODEL_TODO}
                return jsonify([u.name for u in User.query.all()])

            return app
    """
    for target in ("2.0", "async"):
        check_project({"app": FACTORY_MODELS}, {"app": expected}, target=target, todos=[MODEL_TODO])


def test_a_db_made_in_the_factory_beside_the_apps_own_db() -> None:
    """The app's module-level ``db`` moves to ``async_session``; a second one made in a
    factory (a side service's app) keeps its synchronous session, with the TODO."""
    ext = """
        from flask_sqlalchemy import SQLAlchemy

        db = SQLAlchemy()
    """
    views = """
        from flask import Blueprint, Flask
        from flask_sqlalchemy import SQLAlchemy

        from .ext import db

        bp = Blueprint("views", __name__)


        @bp.route("/save")
        def save():
            db.session.commit()
            return ""


        def create_events_app():
            app = Flask(__name__)
            events_db = SQLAlchemy(app)

            @app.route("/ping")
            def ping():
                events_db.session.rollback()
                return ""

            return app
    """
    todo = unknown_db_todo("events_db", "create_events_app()")
    expected = f"""
        from flask import Blueprint, Flask
        from flask_sqlalchemy import SQLAlchemy

        from .ext import async_session, db

        bp = Blueprint("views", __name__)


        @bp.route("/save")
        async def save():
            await async_session.commit()
            return ""


        def create_events_app():
            app = Flask(__name__)
            events_db = SQLAlchemy(app)

            @app.route("/ping")
            def ping():
                # TODO(sqla-upgrade): {todo}
                events_db.session.rollback()
                return ""

            return app
    """
    check_project({"app.ext": ext, "app.views": views}, {"app.views": expected}, todos=[todo])


def test_a_db_made_in_the_factory_and_never_used_there_is_left_alone() -> None:
    """``db = SQLAlchemy(app)`` in a factory whose code does no I/O through it (the app's
    services use the module-level one): nothing to say."""
    code = """
        from flask import Flask
        from flask_sqlalchemy import SQLAlchemy


        def create_app():
            app = Flask(__name__)
            db = SQLAlchemy(app)
            app.extensions["sqlalchemy"].db = db
            return app


        app = create_app()
    """
    for target in ("2.0", "async"):
        check_project({"app": code}, {"app": code}, target=target)
        assert not migrate_project({"app": _dedent(code)}, target=target)["app"].notes


def test_a_name_bound_to_other_values_too_is_no_unknown_db() -> None:
    """``db`` bound to a Flask-SQLAlchemy object on one branch and to something else on
    another is not known to be one: no TODO of this kind."""
    code = """
        from flask_sqlalchemy import SQLAlchemy


        def make(app, legacy):
            if legacy:
                db = SQLAlchemy(app)
            else:
                db = app.extensions["database"]
            db.session.commit()
    """
    result = migrate_project({"app": _dedent(code)}, target="async")["app"]
    assert not [n for n in result.notes if "Flask-SQLAlchemy object made in" in n.message]


def test_a_db_made_through_the_imported_package_is_an_unknown_db_too() -> None:
    code = """
        import flask_sqlalchemy
        from flask import Flask


        def create_app():
            app = Flask(__name__)
            db = flask_sqlalchemy.SQLAlchemy(app)

            @app.route("/save")
            def save():
                db.session.commit()
                return ""

            return app
    """
    expected = f"""
        import flask_sqlalchemy
        from flask import Flask


        def create_app():
            app = Flask(__name__)
            db = flask_sqlalchemy.SQLAlchemy(app)

            @app.route("/save")
            def save():
                # TODO(sqla-upgrade): {UNKNOWN_DB_TODO}
                db.session.commit()
                return ""

            return app
    """
    check_project({"app": code}, {"app": expected}, todos=[UNKNOWN_DB_TODO])
