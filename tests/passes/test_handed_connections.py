"""connection-autocommit: a connection handed to a function of the module that changes
data with it (``add_entry(conn, msg)``): 1.x autocommitted those changes too."""

from __future__ import annotations

from sqla_upgrade.api import migrate_project, migrate_source
from tests.harness import check_noop, check_transformed, exec_module

HEAD = """\
from sqlalchemy import Column, Integer, MetaData, String, Table, create_engine, select

engine = create_engine("sqlite://")
md = MetaData()
log = Table("log", md, Column("id", Integer, primary_key=True), Column("msg", String))


"""

WRITER = """\
def add_entry(conn, msg):
    conn.execute(log.insert(), {"msg": msg})


"""


def test_a_function_changing_data_on_the_handed_connection_is_committed_after() -> None:
    check_transformed(
        HEAD
        + WRITER
        + "def record(msg):\n    with engine.connect() as conn:\n        add_entry(conn, msg)\n",
        HEAD
        + WRITER
        + "def record(msg):\n    with engine.connect() as conn:\n        add_entry(conn, msg)\n        conn.commit()\n",
        only=("connection-autocommit",),
    )


def test_the_connection_handed_by_keyword_counts_too() -> None:
    check_transformed(
        HEAD
        + WRITER
        + "def record(msg):\n    with engine.connect() as c:\n        add_entry(msg=msg, conn=c)\n",
        HEAD
        + WRITER
        + "def record(msg):\n    with engine.connect() as c:\n        add_entry(msg=msg, conn=c)\n        c.commit()\n",
        only=("connection-autocommit",),
    )


def test_functions_that_read_commit_themselves_or_are_not_the_projects_are_left_alone() -> None:
    check_noop(
        HEAD
        + "def names(conn):\n    return conn.execute(select(log.c.msg)).fetchall()\n\n\n"
        + "def add_and_commit(conn, msg):\n    conn.execute(log.insert(), {'msg': msg})\n    conn.commit()\n\n\n"
        + "def f(msg):\n    with engine.connect() as conn:\n        found = names(conn)\n        add_and_commit(conn, msg)\n        print(conn)\n    return found\n",
        only=("connection-autocommit",),
    )


def test_a_project_function_of_another_module_gets_a_todo() -> None:
    project = {
        "app.dao": HEAD + WRITER,
        "app.jobs": "from app.dao import add_entry, engine\n\n\ndef record(msg):\n    with engine.connect() as conn:\n        add_entry(conn, msg)\n",
    }
    migrated = migrate_project(project, target="2.0", only=("connection-autocommit",))
    todo = (
        "1.x autocommitted the data changes add_entry() makes on this connection; "
        "add conn.commit() after it if it changes data"
    )
    assert [t.message for t in migrated["app.jobs"].todos] == [todo]
    assert (
        f"# TODO(sqla-upgrade): {todo}\n        add_entry(conn, msg)" in migrated["app.jobs"].code
    )


def test_migrated_program_keeps_the_rows_the_helper_wrote() -> None:
    code = (
        HEAD
        + WRITER
        + "def record(msg):\n    with engine.connect() as conn:\n        add_entry(conn, msg)\n\n\n"
        + "def messages():\n    with engine.connect() as conn:\n        return [r.msg for r in conn.execute(select(log.c.msg))]\n"
    )
    migrated = migrate_source(code, target="2.0", module_name="app.dao").code
    namespace = exec_module(
        migrated.replace(
            '"sqlite://"', '"sqlite://", poolclass=__import__("sqlalchemy.pool").pool.StaticPool'
        )
    )
    namespace.md.create_all(namespace.engine)
    namespace.record("hello")
    assert namespace.messages() == ["hello"]
