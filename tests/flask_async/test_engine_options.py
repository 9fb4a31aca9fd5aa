"""The async engine of a migrated Flask-SQLAlchemy app is configured as Flask-SQLAlchemy's.

``init_async_session`` builds the engines the async views use. A model with
``__bind_key__`` must be written to its bind's database (``SQLALCHEMY_BINDS``), and the
engine options (``SQLALCHEMY_ENGINE_OPTIONS``: ``connect_args``, ``execution_options``
such as a ``schema_translate_map``...) must apply: otherwise the async session reads and
writes another database or schema than ``db.create_all()`` made, silently when a table
of that name is there too. The app is run before and after migration (both on
Flask-SQLAlchemy 3, where the legacy ``Model.query`` still works) and must answer alike.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from sqla_upgrade.api import migrate_project
from tests.harness import _dedent

APP = """
    from flask import Flask
    from flask_sqlalchemy import SQLAlchemy

    db = SQLAlchemy()


    class Item(db.Model):
        id = db.Column(db.Integer, primary_key=True)
        name = db.Column(db.String(20))


    class AuditLog(db.Model):
        __bind_key__ = "audit"
        id = db.Column(db.Integer, primary_key=True)
        message = db.Column(db.String(50))


    def create_app(config):
        app = Flask(__name__)
        app.config.update(config)
        db.init_app(app)

        @app.route("/items/<name>", methods=["POST"])
        def add(name):
            db.session.add(Item(name=name))
            db.session.add(AuditLog(message="added " + name))
            db.session.commit()
            return "ok"

        @app.route("/items")
        def items():
            names = [item.name for item in Item.query.order_by(Item.id).all()]
            logs = [log.message for log in AuditLog.query.order_by(AuditLog.id).all()]
            return ",".join(names) + "|" + ",".join(logs)

        return app
"""

DRIVER = """
import json
import sys

from app import create_app, db

config = json.loads(sys.argv[1])
if "TRANSLATE_SCHEMA" in config:  # (JSON has no None keys)
    translate = {None: config.pop("TRANSLATE_SCHEMA")}
    config["SQLALCHEMY_ENGINE_OPTIONS"] = {"execution_options": {"schema_translate_map": translate}}
app = create_app(config)
with app.app_context():
    db.create_all()
client = app.test_client()
answers = [client.post(f"/items/{name}").get_data(as_text=True) for name in ("a", "b")]
answers.append(client.get("/items").get_data(as_text=True))
print(json.dumps(answers))
"""


def _run(folder: Path, source: str, config: dict[str, object]) -> list[str]:
    folder.mkdir()
    (folder / "app.py").write_text(source)
    (folder / "drive.py").write_text(DRIVER)
    done = subprocess.run(
        [sys.executable, "drive.py", json.dumps(config)],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


def _migrated() -> str:
    return migrate_project({"app": _dedent(APP)}, target="async")["app"].code


def _rows(database: Path, table: str) -> list[tuple[object, ...]]:
    import sqlite3

    with sqlite3.connect(database) as connection:
        return connection.execute(f"SELECT * FROM {table} ORDER BY id").fetchall()


def test_a_bind_key_model_is_written_to_its_bind(tmp_path: Path) -> None:
    migrated = _migrated()
    assert "async def add" in migrated
    answers = {}
    for name, source in (("legacy", _dedent(APP)), ("migrated", migrated)):
        config = {
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / (name + '-main.db')}",
            "SQLALCHEMY_BINDS": {"audit": f"sqlite:///{tmp_path / (name + '-audit.db')}"},
        }
        answers[name] = _run(tmp_path / name, source, config)
        assert _rows(tmp_path / f"{name}-audit.db", "audit_log") == [(1, "added a"), (2, "added b")]
    assert answers["migrated"] == answers["legacy"] == ["ok", "ok", "a,b|added a,added b"]


def test_engine_options_apply_to_the_async_engine(tmp_path: Path) -> None:
    """A ``schema_translate_map`` puts the tables in another schema: the async session
    has to find them there (PostgreSQL)."""
    admin = os.environ.get("SQLA_UPGRADE_PG_URL")
    if not admin:
        pytest.skip("SQLA_UPGRADE_PG_URL is not set")
    sqlalchemy = pytest.importorskip("sqlalchemy")
    sync_url = admin.replace("postgresql://", "postgresql+psycopg2://")
    engine = sqlalchemy.create_engine(sync_url)
    schema = "fa_options_tenant"
    migrated = _migrated()
    answers = {}
    try:
        for name, source in (("legacy", _dedent(APP)), ("migrated", migrated)):
            with engine.begin() as connection:
                connection.exec_driver_sql(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
                connection.exec_driver_sql(f"CREATE SCHEMA {schema}")
            config = {
                "SQLALCHEMY_DATABASE_URI": sync_url,
                "SQLALCHEMY_BINDS": {"audit": f"sqlite:///{tmp_path / (name + '-audit.db')}"},
                "TRANSLATE_SCHEMA": schema,
            }
            answers[name] = _run(tmp_path / name, source, config)
            assert answers[name][-1] == "a,b|added a,added b", (name, answers[name])
            with engine.connect() as connection:
                rows = connection.exec_driver_sql(f"SELECT name FROM {schema}.item ORDER BY id")
                assert [row[0] for row in rows] == ["a", "b"]
    finally:
        with engine.begin() as connection:
            connection.exec_driver_sql(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        engine.dispose()
    assert answers["migrated"] == answers["legacy"] == ["ok", "ok", "a,b|added a,added b"]


def test_a_relative_sqlite_path_is_the_one_flask_sqlalchemy_uses(tmp_path: Path) -> None:
    """Flask-SQLAlchemy 3 opens ``sqlite:///app.db`` in the app's instance folder; the
    async engine has to open that file too, not one in the working directory."""
    answers = {}
    for name, source in (("legacy", _dedent(APP)), ("migrated", _migrated())):
        config = {
            "SQLALCHEMY_DATABASE_URI": "sqlite:///main.db",
            "SQLALCHEMY_BINDS": {"audit": "sqlite:///audit.db"},
        }
        answers[name] = _run(tmp_path / name, source, config)
        assert _rows(tmp_path / name / "instance" / "main.db", "item") == [(1, "a"), (2, "b")]
        assert not (tmp_path / name / "main.db").exists()
    assert answers["migrated"] == answers["legacy"] == ["ok", "ok", "a,b|added a,added b"]


REGISTRY_APP = """
    from contextlib import contextmanager

    from flask import Flask
    from flask_sqlalchemy import SQLAlchemy

    db = SQLAlchemy()


    class Item(db.Model):
        id = db.Column(db.Integer, primary_key=True)
        name = db.Column(db.String(20))


    class AuditLog(db.Model):
        id = db.Column(db.Integer, primary_key=True)
        message = db.Column(db.String(50))


    @contextmanager
    def session_scope():
        session = db.session()
        try:
            yield session
            session.commit()
        finally:
            session.close()


    def create_app(config):
        app = Flask(__name__)
        app.config.update(config)
        db.init_app(app)

        @app.route("/items/<name>", methods=["POST"])
        def add(name):
            session = db.session()
            session.add(Item(name=name))
            session.commit()
            with session_scope() as scoped:
                scoped.add(AuditLog(message="added " + name))
            return "ok"

        @app.route("/items")
        def items():
            names = [item.name for item in Item.query.order_by(Item.id).all()]
            logs = [log.message for log in AuditLog.query.order_by(AuditLog.id).all()]
            return ",".join(names) + "|" + ",".join(logs)

        return app
"""


def test_a_session_taken_from_the_registry_commits(tmp_path: Path) -> None:
    """``session = db.session()`` and a ``@contextmanager`` yielding it: the migrated
    app saves what the legacy app saves (unawaited commits lost the rows)."""
    migrated = migrate_project({"app": _dedent(REGISTRY_APP)}, target="async")["app"].code
    assert "await session.commit()" in migrated
    answers = {}
    for name, source in (("legacy", _dedent(REGISTRY_APP)), ("migrated", migrated)):
        config = {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / (name + '.db')}"}
        answers[name] = _run(tmp_path / name, source, config)
        assert _rows(tmp_path / f"{name}.db", "audit_log") == [(1, "added a"), (2, "added b")]
    assert answers["migrated"] == answers["legacy"] == ["ok", "ok", "a,b|added a,added b"]
