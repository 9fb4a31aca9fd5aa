"""bound-metadata: reads of a binding (``metadata.bind``, ``table.bind``) once it is gone."""

import json
import os
import subprocess
import textwrap
from pathlib import Path

from sqla_upgrade.api import migrate_project
from tests.harness import check_noop, check_project, check_transformed, exec_module

READ_TODO = (
    "# TODO(sqla-upgrade): `.bind` was removed with bound metadata in 2.0: use the engine"
    " here (None where the metadata was not bound)\n"
)
KEPT_TODO = (
    "# TODO(sqla-upgrade): its `.bind` is read where the engine cannot be named: bound"
    " metadata is gone in 2.0, use the engine at those reads, then drop the binding here\n"
)
SCHEMA = (
    "from sqlalchemy import Column, Integer, MetaData, Table, create_engine\n"
    "from sqlalchemy.orm import declarative_base\n"
    "engine = create_engine('sqlite://')\n"
)
TABLES = (
    "users = Table('users', meta, Column('id', Integer, primary_key=True))\n"
    "class User(Base):\n    __tablename__ = 'u'\n    id = Column(Integer, primary_key=True)\n"
)


def test_reads_of_the_binding_become_the_engine() -> None:
    check_transformed(
        SCHEMA
        + "meta = MetaData(bind=engine)\nBase = declarative_base(bind=engine)\n"
        + TABLES
        + "def f():\n    with meta.bind.connect() as conn:\n"
        + "        return conn, users.bind, users.metadata.bind, Base.metadata.bind, User.metadata.bind\n",
        SCHEMA
        + "meta = MetaData()\nBase = declarative_base()\n"
        + TABLES
        + "def f():\n    with engine.connect() as conn:\n"
        + "        return conn, engine, engine, engine, engine\n",
    )


def test_reads_of_a_positional_binding_become_the_engine() -> None:
    check_transformed(
        SCHEMA + "meta = MetaData(engine)\ndef f():\n    return meta.bind.url\n",
        SCHEMA + "meta = MetaData()\ndef f():\n    return engine.url\n",
    )


def test_read_in_another_module_imports_the_engine() -> None:
    check_project(
        {
            "app.db": SCHEMA + "meta = MetaData(bind=engine)\n",
            "app.ping": "from app.db import meta\ndef ping():\n    with meta.bind.connect() as conn:\n        return conn\n",
        },
        {
            "app.db": SCHEMA + "meta = MetaData()\n",
            "app.ping": "from app.db import engine, meta\ndef ping():\n    with engine.connect() as conn:\n        return conn\n",
        },
        target="2.0",
    )


def test_engine_that_cannot_be_named_keeps_the_binding() -> None:
    check_transformed(
        "from sqlalchemy import MetaData, create_engine\n"
        "meta = MetaData(bind=create_engine('sqlite://'))\ndef f():\n    return meta.bind\n",
        "from sqlalchemy import MetaData, create_engine\n"
        + KEPT_TODO
        + "meta = MetaData(bind=create_engine('sqlite://'))\ndef f():\n    "
        + READ_TODO
        + "    return meta.bind\n",
        todos=["use the engine at those reads", "`.bind` was removed"],
    )


def test_shadowed_engine_keeps_the_binding() -> None:
    check_transformed(
        SCHEMA + "meta = MetaData(engine)\ndef f(engine):\n    return meta.bind\n",
        SCHEMA
        + KEPT_TODO
        + "meta = MetaData(engine)\ndef f(engine):\n    "
        + READ_TODO
        + "    return meta.bind\n",
        todos=["use the engine at those reads", "`.bind` was removed"],
    )


def test_rebound_metadata_keeps_the_binding() -> None:
    check_transformed(
        SCHEMA
        + "other = create_engine('sqlite://')\nmeta = MetaData(bind=engine)\n"
        + "def switch():\n    meta.bind = other\ndef f():\n    return meta.bind\n",
        SCHEMA
        + "other = create_engine('sqlite://')\n"
        + KEPT_TODO
        + "meta = MetaData(bind=engine)\n"
        + "def switch():\n    meta.bind = other\ndef f():\n    "
        + READ_TODO
        + "    return meta.bind\n",
        todos=["use the engine at those reads", "`.bind` was removed"],
    )


def test_read_of_unbound_metadata_or_foreign_table_is_todo() -> None:
    check_transformed(
        "from sqlalchemy import MetaData\nfrom app.db import users\nplain = MetaData()\n"
        "def f():\n    return plain.bind, users.bind\n",
        "from sqlalchemy import MetaData\nfrom app.db import users\nplain = MetaData()\n"
        "def f():\n    " + READ_TODO + "    return plain.bind, users.bind\n",
        project={
            "app.db": "from sqlalchemy import MetaData, Table\nusers = Table('users', MetaData())\n"
        },
        todos=["`.bind` was removed"],
    )


def test_bind_of_sessions_and_unknown_objects_untouched() -> None:
    check_noop(
        "from sqlalchemy import create_engine\nfrom sqlalchemy.orm import sessionmaker\n"
        "engine = create_engine('sqlite://')\nSession = sessionmaker(bind=engine)\n"
        "def f(session, thing):\n    return session.bind, thing.bind, Session().bind, thing.metadata.bind\n"
    )


BIND_PROGRAM = """
from sqlalchemy import Column, Integer, MetaData, Table, create_engine, text

engine = create_engine("sqlite://")
meta = MetaData(bind=engine)
users = Table("users", meta, Column("id", Integer, primary_key=True))


def run():
    meta.create_all()
    with meta.bind.connect() as conn:
        one = conn.execute(text("select 1")).scalar()
    with users.bind.begin() as conn:
        conn.execute(users.insert(), [{"id": 1}, {"id": 2}])
    with users.metadata.bind.connect() as conn:
        ids = [row[0] for row in conn.execute(users.select().order_by(users.c.id))]
    return [one, ids, str(meta.bind.url)]
"""

BIND_EXPECTED = [1, [1, 2], "sqlite://"]


def test_migrated_binding_reads_give_the_same_results(tmp_path: Path) -> None:
    """The original on SQLAlchemy 1.4 (when SQLA_UPGRADE_LEGACY_PYTHON names one) and the
    migrated program on this environment's 2.x use the same engine."""
    source = textwrap.dedent(BIND_PROGRAM).lstrip("\n")
    migrated = migrate_project({"app.core": source}, target="2.0")["app.core"]
    assert not migrated.todos
    assert ".bind" not in migrated.code
    python = os.environ.get("SQLA_UPGRADE_LEGACY_PYTHON")
    if python:
        script = tmp_path / "legacy_program.py"
        script.write_text(source + "\nimport json\nprint(json.dumps(run()))\n")
        result = subprocess.run(
            [python, str(script)], capture_output=True, text=True, timeout=120, check=True
        )
        assert json.loads(result.stdout) == BIND_EXPECTED
    assert exec_module(migrated.code).run() == BIND_EXPECTED
