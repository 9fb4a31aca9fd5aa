"""flask-async-session: listeners registered on Flask-SQLAlchemy's ``db.session``.

``async_session`` (an ``async_scoped_session``) takes no session events ("No such event"
at import). A registration on ``db.session`` keeps it (the sessions request code does
not move to ``async_session`` keep their listener) and is made again on
``async_session.session_factory.kw["sync_session_class"]``: the ``sessionmaker()`` the
``async_sessionmaker`` written beside ``db`` is given as ``sync_session_class`` when the
project registers session events on ``db.session``, the synchronous sessions its
AsyncSessions wrap. Where that cannot be made exact the registration is left as it is,
with a TODO.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from sqla_upgrade.api import migrate_project
from tests.harness import _dedent, check_project, exec_module

GOLDEN = Path(__file__).parent / "golden"
SYNC_CLASS_FACTORY = (
    "    async_sessionmaker(expire_on_commit=False, sync_session_class=sessionmaker()),\n"
    "    scopefunc=asyncio.current_task,\n"
)
COPY_NOTE = "this listener is registered on the synchronous sessions of async_session as well"
EVENTS_TODO = "session events cannot be registered on async_session"

EXT = """
    from flask_sqlalchemy import SQLAlchemy

    db = SQLAlchemy()
"""

VIEWS = """
    from app.ext import db
    from app.models import Post


    def save():
        db.session.add(Post())
        db.session.commit()
"""

MODELS = """
    from sqlalchemy import event

    from app.ext import db


    class SearchableMixin:
        @classmethod
        def before_commit(cls, session):
            session.info["changes"] = list(session.new)


    class Post(SearchableMixin, db.Model):
        id = db.Column(db.Integer, primary_key=True)


    REGISTRATION
"""


def _models(registration: str) -> str:
    return MODELS.replace("REGISTRATION", registration)


def _migrate(models: str) -> dict[str, str]:
    sources = {"app.ext": EXT, "app.models": models, "app.views": VIEWS}
    result = migrate_project(
        {name: _dedent(code) for name, code in sources.items()}, target="async"
    )
    return {name: migration.code for name, migration in result.items()}


def test_listeners_on_db_session_in_its_module_are_registered_for_async_session() -> None:
    """``db.event.listen(db.session, ...)`` and ``@event.listens_for(db.session, ...)``
    beside ``db``: both kept, both registered again on the synchronous sessions of
    ``async_session``, whose factory gets ``sync_session_class=sessionmaker()``."""
    before = (GOLDEN / "flask_session_events_before.py.txt").read_text()
    after = (GOLDEN / "flask_session_events_after.py.txt").read_text()
    check_project({"app.main": before}, {"app.main": after})
    assert SYNC_CLASS_FACTORY in after
    assert (
        'db.event.listen(db.session, "before_commit", remember)\n'
        'db.event.listen(async_session.session_factory.kw["sync_session_class"], '
        '"before_commit", remember)\n'
    ) in after
    assert (
        '@event.listens_for(db.session, "before_flush")\n'
        '@event.listens_for(async_session.session_factory.kw["sync_session_class"], '
        '"before_flush")\ndef stamp('
    ) in after
    notes = [n.message for n in migrate_project({"app.main": before})["app.main"].notes]
    assert sum(COPY_NOTE in note for note in notes) == 2, notes


def test_a_listener_in_another_module_imports_async_session() -> None:
    """``event.listen(db.session, ...)`` (``sqlalchemy.event``, which the project index
    records) in the models module: ``async_session`` imported beside ``db``."""
    check_project(
        {
            "app.ext": EXT,
            "app.models": _models(
                'event.listen(db.session, "before_commit", SearchableMixin.before_commit)'
            ),
            "app.views": VIEWS,
        },
        {
            "app.models": """
                from sqlalchemy import event

                from app.ext import async_session, db


                class SearchableMixin:
                    @classmethod
                    def before_commit(cls, session):
                        session.info["changes"] = list(session.new)


                class Post(SearchableMixin, db.Model):
                    id = db.Column(db.Integer, primary_key=True)


                event.listen(db.session, "before_commit", SearchableMixin.before_commit)
                event.listen(async_session.session_factory.kw["sync_session_class"], "before_commit", SearchableMixin.before_commit)
            """,
        },
    )
    ext = _migrate(
        _models('event.listen(db.session, "before_commit", SearchableMixin.before_commit)')
    )["app.ext"]
    assert SYNC_CLASS_FACTORY in ext
    assert "from sqlalchemy.orm import sessionmaker\n" in ext


def test_db_event_listeners_in_another_module_are_registered_for_async_session() -> None:
    """``db.event.listen(db.session, ...)`` and ``@db.event.listens_for(db.session, ...)``
    in the models module (microblog's SearchableMixin), ``db`` in ``app.ext``: the index
    records registrations through ``db.event`` (Flask-SQLAlchemy's re-export of
    ``sqlalchemy.event``), so ``app.ext``'s factory gets ``sync_session_class`` and both
    are registered again as beside ``db`` (they were left with a TODO)."""
    registration = (
        'db.event.listen(db.session, "before_commit", SearchableMixin.before_commit)\n\n\n'
        '    @db.event.listens_for(db.session, "before_flush")\n'
        "    def stamp(session, flush_context, instances):\n"
        "        pass"
    )
    check_project(
        {"app.ext": EXT, "app.models": _models(registration), "app.views": VIEWS},
        {
            "app.models": """
                from sqlalchemy import event

                from app.ext import async_session, db


                class SearchableMixin:
                    @classmethod
                    def before_commit(cls, session):
                        session.info["changes"] = list(session.new)


                class Post(SearchableMixin, db.Model):
                    id = db.Column(db.Integer, primary_key=True)


                db.event.listen(db.session, "before_commit", SearchableMixin.before_commit)
                db.event.listen(async_session.session_factory.kw["sync_session_class"], "before_commit", SearchableMixin.before_commit)


                @db.event.listens_for(db.session, "before_flush")
                @db.event.listens_for(async_session.session_factory.kw["sync_session_class"], "before_flush")
                def stamp(session, flush_context, instances):
                    pass
            """,
        },
    )
    ext = _migrate(_models(registration))["app.ext"]
    assert SYNC_CLASS_FACTORY in ext
    assert "from sqlalchemy.orm import sessionmaker\n" in ext


def test_db_event_on_another_object_gives_no_sync_session_class() -> None:
    """``<x>.event.listen(...)`` where ``x`` is no Flask-SQLAlchemy object is no session
    event registration: the helpers as always, no copy."""
    models = _models(
        "class Signals:\n"
        "        class event:\n"
        "            @staticmethod\n"
        "            def listen(*args):\n"
        "                pass\n\n\n"
        '    Signals.event.listen(db.session, "before_commit", SearchableMixin.before_commit)'
    )
    migrated = _migrate(models)
    assert "sync_session_class" not in migrated["app.ext"]
    assert "sync_session_class" not in migrated["app.models"]


@pytest.mark.parametrize(
    ("registration", "todo"),
    [
        # registered again, a once=True listener would run twice
        (
            'event.listen(db.session, "before_commit", SearchableMixin.before_commit, once=True)',
            "a once=True listener of db.session",
        ),
        # in an expression: no statement of its own to copy
        (
            'LISTENING = event.listen(db.session, "before_commit", SearchableMixin.before_commit)',
            EVENTS_TODO,
        ),
        (
            'event.remove(db.session, "before_commit", SearchableMixin.before_commit)',
            "this acts on the events of db.session only",
        ),
    ],
)
def test_registrations_that_cannot_be_made_exact_are_left_with_a_todo(
    registration: str, todo: str
) -> None:
    """Never an ``async_session`` target (which fails at import): the line as it was,
    and a TODO saying where session events go."""
    message = {
        EVENTS_TODO: (
            "session events cannot be registered on async_session (an async_scoped_session: "
            "No such event). Give the async_sessionmaker written beside `db = SQLAlchemy()` "
            "sync_session_class=sessionmaker() and register this listener on "
            'async_session.session_factory.kw["sync_session_class"] as well'
        ),
        "a once=True listener of db.session": (
            "a once=True listener of db.session cannot be registered again on the synchronous "
            'sessions of async_session (async_session.session_factory.kw["sync_session_class"]) '
            "without running twice: register it where it is run once"
        ),
        "this acts on the events of db.session only": (
            "this acts on the events of db.session only: async_session's listeners are "
            'registered on async_session.session_factory.kw["sync_session_class"]'
        ),
    }[todo]
    expected = _models(f"# TODO(sqla-upgrade): {message}\n    {registration}")
    check_project(
        {"app.ext": EXT, "app.models": _models(registration), "app.views": VIEWS},
        {"app.models": expected},
        todos=[todo],
    )


def test_event_contains_on_db_session_is_left_alone() -> None:
    """``event.contains(db.session, ...)`` asks about db.session's own listeners, which
    are kept: unchanged, no TODO."""
    models = _models(
        'event.listen(db.session, "before_commit", SearchableMixin.before_commit)\n'
        '    KNOWN = event.contains(db.session, "before_commit", SearchableMixin.before_commit)'
    )
    migrated = _migrate(models)["app.models"]
    assert (
        '\nKNOWN = event.contains(db.session, "before_commit", SearchableMixin.before_commit)\n'
        in migrated
    )


def test_without_session_listeners_the_factory_gets_no_sync_session_class() -> None:
    """Events on something else than ``db.session`` (a mapper event here): the helpers as
    always."""
    models = _models('event.listen(Post, "load", lambda target, context: None)')
    migrated = _migrate(models)
    assert "sync_session_class" not in migrated["app.ext"]
    assert (
        "    async_sessionmaker(expire_on_commit=False), scopefunc=asyncio.current_task\n"
        in (migrated["app.ext"])
    )
    assert 'event.listen(Post, "load", lambda target, context: None)\n' in migrated["app.models"]


def _events_app(source: str, folder: Path) -> str:
    return source.replace("Flask(__name__)", f"Flask('events', root_path={str(folder)!r})").replace(
        "sqlite:///events.db", f"sqlite:///{folder / 'events.db'}"
    )


def _requests(source: str, folder: Path) -> list[object]:
    (folder / "events.db").unlink(missing_ok=True)
    module = exec_module(_events_app(source, folder))
    with module.app.app_context():
        module.db.create_all()
    client = module.app.test_client()
    answers = [client.get(path).get_json() for path in ("/new/a", "/new/b", "/titles")]
    with module.app.app_context():
        module.db.engine.dispose()
    return answers


def test_migrated_session_listeners_fire_as_before(tmp_path: Path) -> None:
    """The legacy app and the migrated one (aiosqlite): ``before_commit`` sees the new
    posts, ``before_flush`` upper-cases their titles, for every request."""
    before = (GOLDEN / "flask_session_events_before.py.txt").read_text()
    migrated = migrate_project({"app.main": before}, target="async")["app.main"]
    assert not migrated.todos
    expected = _requests(before, tmp_path)
    assert expected == [["a"], ["a", "b"], ["A", "B"]]
    assert _requests(migrated.code, tmp_path) == expected


def test_a_listener_beside_other_decorated_functions() -> None:
    """Decorators without arguments (a CLI command's) on the way, the listener's copy
    right under it."""
    models = _models(
        '@event.listens_for(db.session, "before_flush")\n'
        "    @staticmethod\n"
        "    def stamp(session, flush_context, instances):\n"
        "        pass\n\n\n"
        "    def register(app):\n"
        "        @app.cli.command()\n"
        "        def purge():\n"
        "            db.session.commit()"
    )
    migrated = _migrate(models)["app.models"]
    assert (
        '@event.listens_for(db.session, "before_flush")\n'
        '@event.listens_for(async_session.session_factory.kw["sync_session_class"], '
        '"before_flush")\n@staticmethod\ndef stamp('
    ) in migrated
    assert "    @app.cli.command()\n" in migrated


PACKAGE_INIT = """
    from flask import Flask
    from flask_sqlalchemy import SQLAlchemy

    db = SQLAlchemy()
    app = Flask(__name__)
    app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite:///events.db"
    db.init_app(app)

    from app import models, routes  # noqa: E402
"""

PACKAGE_MODELS = """
    from app import db

    INDEXED = []


    class SearchableMixin:
        @classmethod
        def before_commit(cls, session):
            session.info["added"] = [obj for obj in session.new if isinstance(obj, cls)]

        @classmethod
        def after_commit(cls, session):
            INDEXED.extend(obj.title for obj in session.info.pop("added", []))


    class Post(SearchableMixin, db.Model):
        id = db.Column(db.Integer, primary_key=True)
        title = db.Column(db.String(64))


    db.event.listen(db.session, "before_commit", SearchableMixin.before_commit)
    db.event.listen(db.session, "after_commit", SearchableMixin.after_commit)


    @db.event.listens_for(db.session, "before_flush")
    def stamp(session, flush_context, instances):
        for obj in session.new:
            obj.title = obj.title.upper()
"""

PACKAGE_ROUTES = """
    from flask import jsonify

    from app import app, db
    from app.models import INDEXED, Post


    @app.route("/new/<title>")
    def new(title):
        db.session.add(Post(title=title))
        db.session.commit()
        return jsonify(INDEXED)
"""

PACKAGE_CHECK = """
import json

from app import app, db

with app.app_context():
    db.drop_all()
    db.create_all()
client = app.test_client()
print(json.dumps([client.get(path).get_json() for path in ("/new/a", "/new/b")]))
"""


def test_listeners_registered_in_the_models_module_fire_as_before(tmp_path: Path) -> None:
    """``db`` in the package's ``__init__``, ``db.event`` registrations in its models
    module, views in a third: legacy and migrated (aiosqlite) apps answer alike, the
    listeners firing for the AsyncSessions of the migrated views."""
    sources = {"app": PACKAGE_INIT, "app.models": PACKAGE_MODELS, "app.routes": PACKAGE_ROUTES}
    legacy = {name: _dedent(code) for name, code in sources.items()}
    result = migrate_project(legacy, target="async")
    assert not [n.message for m in result.values() for n in m.todos]
    migrated = {name: migration.code for name, migration in result.items()}
    assert "await async_session.commit()" in migrated["app.routes"]
    answers = [
        _package_answers(modules, tmp_path / label)
        for label, modules in (("legacy", legacy), ("migrated", migrated))
    ]
    assert answers[0] == [["A"], ["A", "B"]]
    assert answers[1] == answers[0]


def _package_answers(modules: dict[str, str], root: Path) -> object:
    for name, code in modules.items():
        parts = name.split(".")
        path = (
            root.joinpath(*parts[:-1], f"{parts[-1]}.py")
            if len(parts) > 1
            else root / name / "__init__.py"
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(code)
    (root / "check.py").write_text(PACKAGE_CHECK)
    run = subprocess.run(
        [sys.executable, "check.py"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(root)},
    )
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout)
