"""``cls.query`` in a classmethod of a mixin of Flask-SQLAlchemy models.

``class Tag(db.Model, BaseMixin)``: ``cls.query`` in ``BaseMixin``'s classmethods is
``db.Model.query`` of whichever model ``cls`` is, so it becomes ``select(cls)`` on
``db.session`` (``async_session`` under ``--target async``), as in a model's own
classmethods. Left legacy, it ran on Flask-SQLAlchemy's synchronous ``db.session`` under
``--target async`` while the mixin's commits moved to ``async_session``: a bulk delete
through it was never committed.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from sqla_upgrade.api import migrate_project
from tests.harness import _dedent, check_project

INIT = """
    import os

    from flask import Flask
    from flask_sqlalchemy import SQLAlchemy

    db = SQLAlchemy()


    def create_app():
        app = Flask(__name__)
        app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite:///" + os.path.abspath("mix.db")
        db.init_app(app)
        from . import views

        app.register_blueprint(views.bp)
        return app
"""
BASE = """
    from . import db


    class BaseMixin(object):
        id = db.Column(db.Integer, primary_key=True)

        @classmethod
        def get_by(cls, **kw):
            return cls.query.filter_by(**kw).first()

        @classmethod
        def get_all(cls):
            return cls.query.order_by(cls.id).all()

        @classmethod
        def create(cls, **kw):
            instance = cls(**kw)
            db.session.add(instance)
            db.session.commit()
            return instance

        @classmethod
        def delete_all_by(cls, **kw):
            result = cls.query.filter_by(**kw).delete()
            db.session.commit()
            return result

        def delete(self):
            db.session.delete(self)
            db.session.commit()
"""
MODELS = """
    from . import db
    from .base import BaseMixin


    class Tag(db.Model, BaseMixin):
        name = db.Column(db.String(50))


    class Label(Tag):
        __tablename__ = None
"""
VIEWS = """
    from flask import Blueprint

    from .models import Tag

    bp = Blueprint("views", __name__)


    @bp.route("/add/<name>")
    def add(name):
        Tag.create(name=name)
        return "ok"


    @bp.route("/list")
    def listing():
        return ",".join(t.name for t in Tag.get_all())


    @bp.route("/find/<name>")
    def find(name):
        tag = Tag.get_by(name=name)
        return tag.name if tag else "-"


    @bp.route("/drop/<name>")
    def drop(name):
        return str(Tag.delete_all_by(name=name))


    @bp.route("/remove/<name>")
    def remove(name):
        tag = Tag.get_by(name=name)
        tag.delete()
        return "removed"
"""


def project(base: str = BASE, models: str = MODELS) -> dict[str, str]:
    return {"mixapp": INIT, "mixapp.base": base, "mixapp.models": models, "mixapp.views": VIEWS}


def test_cls_query_of_a_mixin_of_flask_models_becomes_select_for_target_2_0() -> None:
    expected = """
        from . import db
        from sqlalchemy import delete, select


        class BaseMixin(object):
            id = db.Column(db.Integer, primary_key=True)

            @classmethod
            def get_by(cls, **kw):
                return db.session.scalars(select(cls).filter_by(**kw).limit(1)).first()

            @classmethod
            def get_all(cls):
                return db.session.scalars(select(cls).order_by(cls.id)).all()

            @classmethod
            def create(cls, **kw):
                instance = cls(**kw)
                db.session.add(instance)
                db.session.commit()
                return instance

            @classmethod
            def delete_all_by(cls, **kw):
                result = db.session.execute(delete(cls).filter_by(**kw)).rowcount
                db.session.commit()
                return result

            def delete(self):
                db.session.delete(self)
                db.session.commit()
    """
    check_project(project(), {"mixapp.base": expected}, target="2.0")


def test_cls_query_of_a_mixin_of_flask_models_runs_on_async_session() -> None:
    expected = """
        from . import async_session, db
        from sqlalchemy import delete, select


        class BaseMixin(object):
            id = db.Column(db.Integer, primary_key=True)

            @classmethod
            async def get_by(cls, **kw):
                return (await async_session.scalars(select(cls).filter_by(**kw).limit(1))).first()

            @classmethod
            async def get_all(cls):
                return (await async_session.scalars(select(cls).order_by(cls.id))).all()

            @classmethod
            async def create(cls, **kw):
                instance = cls(**kw)
                async_session.add(instance)
                await async_session.commit()
                return instance

            @classmethod
            async def delete_all_by(cls, **kw):
                result = (await async_session.execute(delete(cls).filter_by(**kw))).rowcount
                await async_session.commit()
                return result

            async def delete(self):
                await async_session.delete(self)
                await async_session.commit()
    """
    views = """
        from flask import Blueprint

        from .models import Tag

        bp = Blueprint("views", __name__)


        @bp.route("/add/<name>")
        async def add(name):
            await Tag.create(name=name)
            return "ok"


        @bp.route("/list")
        async def listing():
            return ",".join([t.name for t in await Tag.get_all()])


        @bp.route("/find/<name>")
        async def find(name):
            tag = await Tag.get_by(name=name)
            return tag.name if tag else "-"


        @bp.route("/drop/<name>")
        async def drop(name):
            return str(await Tag.delete_all_by(name=name))


        @bp.route("/remove/<name>")
        async def remove(name):
            tag = await Tag.get_by(name=name)
            await tag.delete()
            return "removed"
    """
    check_project(project(), {"mixapp.base": expected, "mixapp.views": views})


SHADOWING_QUERY = """
        @classmethod
        def query(cls):
            return db.session.query(cls)

"""


def test_a_query_classmethod_of_the_mixin_after_db_model_in_the_bases_is_shadowed() -> None:
    """The mixin's own ``query`` comes after ``db.Model``'s in the models' MRO: ``cls.query``
    is still Flask-SQLAlchemy's (only the method returning a Query keeps its TODO)."""
    base = BASE.replace(
        "\n        @classmethod\n        def get_by",
        SHADOWING_QUERY.rstrip("\n") + "\n\n        @classmethod\n        def get_by",
        1,
    )
    result = migrate_project({n: _dedent(c) for n, c in project(base).items()}, target="2.0")
    code = result["mixapp.base"].code
    assert "return db.session.scalars(select(cls).order_by(cls.id)).all()" in code
    assert [t.message for t in result["mixapp.base"].todos] == [
        "this Query object is returned or passed on, so its consumers cannot be rewritten "
        "with it; convert it and its consumers together"
    ]


def test_cls_query_of_a_mixin_that_may_be_no_flask_model_is_left_alone() -> None:
    """A plain class deriving from the mixin (``cls`` may be it), a model listing a mixin
    that defines ``query`` itself before ``db.Model`` (its ``cls.query`` is the mixin's):
    no rewrite of ``cls.query``."""
    base = BASE.replace(
        "\n        @classmethod\n        def get_by",
        SHADOWING_QUERY.rstrip("\n") + "\n\n        @classmethod\n        def get_by",
        1,
    )
    plain = MODELS + "\n\n    class Cache(BaseMixin):\n        pass\n"
    first = MODELS.replace("class Tag(db.Model, BaseMixin)", "class Tag(BaseMixin, db.Model)")
    for sources in (project(models=plain), project(base, first)):
        result = migrate_project({n: _dedent(c) for n, c in sources.items()}, target="2.0")
        code = result["mixapp.base"].code
        assert "return cls.query.filter_by(**kw).first()" in code
        assert "return cls.query.order_by(cls.id).all()" in code


DRIVE = """
import os, sys
sys.path.insert(0, os.getcwd())
from mixapp import create_app, db
app = create_app()
with app.app_context():
    db.create_all()
client = app.test_client()
for url in ["/add/a", "/add/b", "/add/a", "/list", "/find/a", "/find/z", "/drop/a", "/list",
            "/add/c", "/remove/b", "/list"]:
    print(url, client.get(url).get_data(as_text=True))
"""
EXPECTED = (
    "/add/a ok\n/add/b ok\n/add/a ok\n/list a,b,a\n/find/a a\n/find/z -\n/drop/a 2\n/list b\n"
    "/add/c ok\n/remove/b removed\n/list c\n"
)


def test_migrated_mixin_app_answers_as_the_legacy_one(tmp_path: Path) -> None:
    for target in ("2.0", "async"):
        migrated = migrate_project({n: _dedent(c) for n, c in project().items()}, target=target)
        folder = tmp_path / target
        (folder / "mixapp").mkdir(parents=True)
        for name, migration in migrated.items():
            file = "__init__" if name == "mixapp" else name.split(".")[1]
            (folder / "mixapp" / f"{file}.py").write_text(migration.code)
        (folder / "drive.py").write_text(DRIVE)
        done = subprocess.run(
            [sys.executable, "drive.py"], cwd=folder, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, done.stderr
        assert done.stdout == EXPECTED, (target, done.stdout)
