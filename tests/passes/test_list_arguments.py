"""Core callables that took a list in 1.x: exists([...]), with_only_columns([...]);
Table.count(); select([Model]) run by a Session; helpers returning a SELECT."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from sqla_upgrade.api import migrate_source
from tests.harness import check_noop, check_transformed, exec_module

TABLES = """
from sqlalchemy import Column, ForeignKey, Integer, MetaData, String, Table, exists, select
md = MetaData()
users = Table("users", md, Column("id", Integer, primary_key=True), Column("name", String))
addresses = Table(
    "addresses", md, Column("id", Integer, primary_key=True), Column("user_id", ForeignKey("users.id"))
)
"""
MODELS = {
    "app.models": """
        from sqlalchemy import Column, Integer, String
        from sqlalchemy.ext.declarative import declarative_base
        Base = declarative_base()
        class User(Base):
            __tablename__ = "users"
            id = Column(Integer, primary_key=True)
            name = Column(String)
    """
}
ENTITY_TODO = "select() of the mapped class `User`: run by a Session, SQLAlchemy 1.3 gave"
ENTITY_TODO_TEXT = (
    f"{ENTITY_TODO} the table's column rows, 1.4 and 2.0 give rows holding User objects; write "
    "select(User.__table__, ...) for the column rows, or select(User, ...) for objects"
)


# -- exists([...]) -----------------------------------------------------------------------
def test_exists_of_a_one_column_list_takes_the_column() -> None:
    check_transformed(
        TABLES
        + "a = exists([addresses.c.id]).where(addresses.c.user_id == users.c.id)\n"
        + "b = exists([addresses.c.id], addresses.c.user_id == 5)\n"
        + "c = exists([addresses.c.id], from_obj=[addresses])\n",
        TABLES
        + "a = exists(addresses.c.id).where(addresses.c.user_id == users.c.id)\n"
        + "b = exists(addresses.c.id).where(addresses.c.user_id == 5)\n"
        + "c = exists(addresses.c.id).select_from(addresses)\n",
    )


def test_exists_through_a_module_alias_and_flask_db() -> None:
    check_transformed(
        """
        import sqlalchemy as sa
        from app.ext import db
        a = sa.exists([sa.literal_column("1")]).where(t.c.id == 1)
        b = db.exists([t.c.id])
        """,
        """
        import sqlalchemy as sa
        from app.ext import db
        a = sa.exists(sa.literal_column("1")).where(t.c.id == 1)
        b = db.exists(t.c.id)
        """,
        project={"app.ext": "from flask_sqlalchemy import SQLAlchemy\ndb = SQLAlchemy()\n"},
    )


def test_exists_of_several_columns_or_other_keywords_is_left_with_a_todo() -> None:
    check_transformed(
        TABLES
        + "a = exists([addresses.c.id, addresses.c.user_id])\n"
        + "b = exists([addresses.c.id], order_by=[addresses.c.id])\n"
        + "c = exists([c for c in addresses.c])\n",
        TABLES
        + "# TODO(sqla-upgrade): exists() with 1.x arguments: 2.0's exists() takes one column; "
        + "write select(<the columns>)....exists() for the same EXISTS\n"
        + "a = exists([addresses.c.id, addresses.c.user_id])\n"
        + "# TODO(sqla-upgrade): exists() with 1.x arguments: `order_by` has no 2.0 exists() form\n"
        + "b = exists([addresses.c.id], order_by=[addresses.c.id])\n"
        + "# TODO(sqla-upgrade): exists() with 1.x arguments: 2.0's exists() takes one column; "
        + "write select(<the columns>)....exists() for the same EXISTS\n"
        + "c = exists([c for c in addresses.c])\n",
        todos=["takes one column", "`order_by` has no 2.0 exists() form"],
    )


def test_exists_noop_on_2_0_forms_and_other_libraries() -> None:
    check_noop(
        TABLES
        + "a = exists(addresses.c.id).where(addresses.c.user_id == users.c.id)\n"
        + "b = exists().where(addresses.c.user_id == 1)\n"
        + "cols = [addresses.c.id]\n"
        + "c = select(*cols).exists()\n"
    )
    check_noop(
        """
        from os.path import exists
        found = exists(["a"])
        """
    )


# -- stmt.with_only_columns([...]) -------------------------------------------------------
def test_with_only_columns_list_becomes_positional_on_a_select() -> None:
    check_transformed(
        TABLES
        + "a = select([users]).with_only_columns([users.c.id, users.c.name])\n"
        + "b = users.select().where(users.c.id > 1).with_only_columns([users.c.id])\n"
        + "stmt = select(users)\n"
        + "c = stmt.with_only_columns([c for c in users.c if c.name != 'id'])\n"
        + "d = stmt.with_only_columns(users.c)\n",
        TABLES
        + "a = select(users).with_only_columns(users.c.id, users.c.name)\n"
        + "b = users.select().where(users.c.id > 1).with_only_columns(users.c.id)\n"
        + "stmt = select(users)\n"
        + "c = stmt.with_only_columns(*[c for c in users.c if c.name != 'id'])\n"
        + "d = stmt.with_only_columns(*users.c)\n",
    )


def test_with_only_columns_of_a_name_bound_to_lists_is_spread() -> None:
    check_transformed(
        TABLES
        + "def narrow(flag):\n    cols = [users.c.id]\n    if flag:\n        cols = [users.c.name]\n"
        + "    return select(users).with_only_columns(cols)\n",
        TABLES
        + "def narrow(flag):\n    cols = [users.c.id]\n    if flag:\n        cols = [users.c.name]\n"
        + "    return select(users).with_only_columns(*cols)\n",
    )


def test_with_only_columns_of_an_unknown_value_or_receiver_is_left_with_a_todo() -> None:
    check_transformed(
        TABLES
        + "def narrow(cols, stmt):\n"
        + "    a = select(users).with_only_columns(cols)\n"
        + "    return a, stmt.with_only_columns([users.c.id])\n",
        TABLES
        + "def narrow(cols, stmt):\n"
        + "    # TODO(sqla-upgrade): `cols` may be a list: 2.0's with_only_columns() takes the "
        + "columns positionally (with_only_columns(*cols) for a list)\n"
        + "    a = select(users).with_only_columns(cols)\n"
        + "    # TODO(sqla-upgrade): `stmt` cannot be proven a select(): if it is one, write "
        + "`stmt.with_only_columns(users.c.id)` (2.0's with_only_columns() takes the columns "
        + "positionally)\n"
        + "    return a, stmt.with_only_columns([users.c.id])\n",
        todos=["`cols` may be a list", "`stmt` cannot be proven a select()"],
    )


def test_with_only_columns_noop_on_2_0_forms_and_queries() -> None:
    check_noop(
        TABLES
        + "from sqlalchemy import func\n"
        + "a = select(users).with_only_columns(users.c.id, users.c.name)\n"
        + "b = select(users).with_only_columns(users.c.id)\n"
        + "c = select(users).with_only_columns(func.count())\n"
        + "def f(query):\n    return query.with_only_columns([users.c.id])\n"
    )


# -- Table.count() -----------------------------------------------------------------------
COUNTED = """
from sqlalchemy import Column, Integer, MetaData, Table, create_engine
engine = create_engine("sqlite://")
md = MetaData()
users = Table("users", md, Column("id", Integer, primary_key=True), Column("age", Integer))
"""


COUNTED_IMPORTING = COUNTED.replace(
    "from sqlalchemy import Column", "from sqlalchemy import func, select, Column"
)


def test_table_count_becomes_a_count_select() -> None:
    check_transformed(
        COUNTED
        + "def n(conn, age):\n"
        + "    a = conn.execute(users.count()).scalar()\n"
        + "    b = conn.execute(users.count(users.c.age > age)).scalar()\n"
        + "    c = conn.execute(users.count(whereclause=users.c.age > age)).first()\n"
        + "    return a, b, c\n",
        COUNTED_IMPORTING
        + "def n(conn, age):\n"
        + "    a = conn.execute(select(func.count()).select_from(users)).scalar()\n"
        + "    b = conn.execute(select(func.count()).select_from(users).where(users.c.age > age))"
        + ".scalar()\n"
        + '    c = conn.execute(select(func.count().label("tbl_row_count")).select_from(users)'
        + ".where(users.c.age > age)).first()\n"
        + "    return a, b, c\n",
    )


def test_table_count_run_by_engine_execute() -> None:
    check_transformed(
        COUNTED + "def n():\n    return engine.execute(users.count()).scalar()\n",
        COUNTED_IMPORTING
        + "def n():\n    with engine.begin() as conn:\n"
        + "        return conn.execute(select(func.count()).select_from(users)).scalar()\n",
    )


def test_table_count_without_a_visible_primary_key_is_left_with_a_todo() -> None:
    check_transformed(
        COUNTED
        + 'logs = Table("logs", md, Column("msg", Integer))\n'
        + 'seen = Table("seen", md, autoload_with=engine)\n'
        + "a = logs.count()\nb = seen.count()\n",
        COUNTED
        + 'logs = Table("logs", md, Column("msg", Integer))\n'
        + 'seen = Table("seen", md, autoload_with=engine)\n'
        + "# TODO(sqla-upgrade): Table.count() was removed in 2.0: write "
        + '`select(func.count().label("tbl_row_count")).select_from(logs)` (logs declares no '
        + "primary key, whose (else the first column's) non-NULL values 1.x counted)\n"
        + "a = logs.count()\n"
        + "# TODO(sqla-upgrade): Table.count() was removed in 2.0: write "
        + '`select(func.count().label("tbl_row_count")).select_from(seen)` (seen may have no '
        + "primary key, whose (else the first column's) non-NULL values 1.x counted)\n"
        + "b = seen.count()\n",
        todos=["logs declares no primary key", "seen may have no primary key"],
    )


def test_table_count_with_a_primary_key_constraint_or_of_a_model_table() -> None:
    check_transformed(
        COUNTED
        + "from sqlalchemy import PrimaryKeyConstraint\n"
        + 'pairs = Table("pairs", md, Column("a", Integer), PrimaryKeyConstraint("a"))\n'
        + "def n(conn, User):\n"
        + "    return conn.execute(pairs.count()).scalar(), User.__table__.count()\n",
        COUNTED_IMPORTING
        + "from sqlalchemy import PrimaryKeyConstraint\n"
        + 'pairs = Table("pairs", md, Column("a", Integer), PrimaryKeyConstraint("a"))\n'
        + "def n(conn, User):\n"
        + "    # TODO(sqla-upgrade): Table.count() was removed in 2.0: write "
        + '`select(func.count().label("tbl_row_count")).select_from(User.__table__)` '
        + "(User.__table__ may have no primary key, whose (else the first column's) non-NULL "
        + "values 1.x counted)\n"
        + "    return conn.execute(select(func.count()).select_from(pairs)).scalar(), "
        + "User.__table__.count()\n",
        todos=["User.__table__ may have no primary key"],
    )


def test_table_count_with_select_bound_elsewhere_or_other_arguments_is_left_with_a_todo() -> None:
    check_transformed(
        COUNTED
        + "from mylib import select\n"
        + "a = users.count()\n"
        + "b = users.count(users.c.id > 1, distinct=True)\n",
        COUNTED
        + "from mylib import select\n"
        + "# TODO(sqla-upgrade): Table.count() was removed in 2.0: write "
        + '`select(func.count().label("tbl_row_count")).select_from(users)` (`select` means '
        + "something else here)\n"
        + "a = users.count()\n"
        + "# TODO(sqla-upgrade): Table.count() was removed in 2.0 and its other arguments "
        + "have no exact 2.0 form\n"
        + "b = users.count(users.c.id > 1, distinct=True)\n",
        todos=["`select` means something else here", "its other arguments"],
    )


def test_count_of_what_is_not_a_table_is_untouched() -> None:
    check_noop(
        COUNTED
        + "def f(session, names, query, User):\n"
        + "    a = session.query(User).count()\n"
        + "    b = names.count('ann'), 'abc'.count('a'), query.count()\n"
        + "    return a, b\n",
        only=("core-arguments",),
    )


def test_table_count_gives_the_same_number_as_hand_written_2_0() -> None:
    legacy = COUNTED.lstrip("\n") + textwrap.dedent(
        """
        def run():
            md.create_all(engine)
            with engine.begin() as conn:
                conn.execute(users.insert(), [{"age": 20}, {"age": 30}, {"age": 40}])
                return (
                    conn.execute(users.count()).scalar(),
                    conn.execute(users.count(users.c.age > 25)).scalar(),
                    conn.execute(users.count()).first().tbl_row_count,
                )
        """
    )
    migrated = migrate_source(legacy, target="2.0").code
    assert "users.count(" not in migrated
    assert exec_module(migrated).run() == (3, 2, 3)


# -- select([User]) run by a Session -----------------------------------------------------
def test_select_of_a_mapped_class_run_by_a_session_is_left_with_a_todo() -> None:
    check_transformed(
        """
        from sqlalchemy import select
        from app.models import User
        def ids(session):
            return [r[0] for r in session.execute(select([User]).where(User.id > 0))]
        def stmt():
            return select([User.id, User])
        """,
        f"""
        from sqlalchemy import select
        from app.models import User
        def ids(session):
            # TODO(sqla-upgrade): {ENTITY_TODO_TEXT}
            return [r[0] for r in session.execute(select([User]).where(User.id > 0))]
        def stmt():
            # TODO(sqla-upgrade): {ENTITY_TODO_TEXT}
            return select([User.id, User])
        """,
        project=MODELS,
        todos=[ENTITY_TODO],
    )


def test_select_of_a_mapped_class_run_by_a_connection_is_rewritten() -> None:
    check_transformed(
        """
        from sqlalchemy import select
        from app.models import User
        def rows(engine):
            with engine.connect() as conn:
                a = conn.execute(select([User]).where(User.id > 0)).fetchall()
                stmt = select([User])
                stmt = stmt.order_by(User.id)
                b = conn.execute(stmt).fetchall()
            return a, b, conn.scalar(select([User.name, User]))
        """,
        """
        from sqlalchemy import select
        from app.models import User
        def rows(engine):
            with engine.connect() as conn:
                a = conn.execute(select(User).where(User.id > 0)).fetchall()
                stmt = select(User)
                stmt = stmt.order_by(User.id)
                b = conn.execute(stmt).fetchall()
            return a, b, conn.scalar(select(User.name, User))
        """,
        project=MODELS,
    )


def test_select_of_columns_or_a_table_run_by_a_session_is_rewritten() -> None:
    check_transformed(
        """
        from sqlalchemy import select
        from app.models import User
        def rows(session):
            return session.execute(select([User.id, User.__table__.c.name])).fetchall()
        """,
        """
        from sqlalchemy import select
        from app.models import User
        def rows(session):
            return session.execute(select(User.id, User.__table__.c.name)).fetchall()
        """,
        project=MODELS,
    )


SESSION_AND_CONNECTION = """
from sqlalchemy import create_engine, select
from sqlalchemy.orm import sessionmaker
from app.models import Base, User

def run(url):
    engine = create_engine(url)
    Base.metadata.create_all(engine)
    session = sessionmaker(bind=engine)()
    session.add_all([User(name="a"), User(name="b")])
    session.commit()
    by_session = [tuple(r) for r in session.execute(select([User]).order_by(User.id))]
    with engine.connect() as conn:
        by_connection = [tuple(r) for r in conn.execute(select([User]).order_by(User.id))]
    return by_session, by_connection
"""


def _migrated_program(tmp_path: Path) -> tuple[Path, Path]:
    from sqla_upgrade.api import migrate_project

    sources = {
        "app.models": textwrap.dedent(MODELS["app.models"]).lstrip("\n"),
        "app.main": SESSION_AND_CONNECTION.lstrip("\n"),
    }
    migrated = migrate_project(sources, target="2.0")
    roots = []
    for kind, codes in (
        ("legacy", sources),
        ("migrated", {n: m.code for n, m in migrated.items()}),
    ):
        root = tmp_path / kind
        (root / "app").mkdir(parents=True)
        (root / "app" / "__init__.py").write_text("")
        for name, code in codes.items():
            (root / (name.replace(".", "/") + ".py")).write_text(code)
        roots.append(root)
    return roots[0], roots[1]


def _run(python: str, root: Path, db: Path) -> str:
    """The rows the connection's statement gave (the session's differ between 1.3 and 1.4)."""
    script = f"from app.main import run; print(run({f'sqlite:///{db}'!r})[1])"
    done = subprocess.run(
        [python, "-c", script], cwd=root, capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def test_select_of_a_mapped_class_keeps_its_column_rows_on_a_connection(tmp_path: Path) -> None:
    """The connection's ``select([User])`` becomes ``select(User)``, which still gives the
    table's column rows on SQLAlchemy 2; the session's is left (with its TODO) because
    2.0's ``select(User)`` would give ``User`` objects there."""
    _, migrated = _migrated_program(tmp_path)
    code = (migrated / "app" / "main.py").read_text()
    assert "conn.execute(select(User).order_by(User.id))" in code
    assert "session.execute(select([User]).order_by(User.id))" in code
    by_connection = exec_module(
        code.replace("from app.models import Base, User", "")
        .replace("session.execute(select([User])", "session.execute(select(User.__table__)")
        .replace("def run(url):", MODELS_INLINE + "\ndef run(url):")
    ).run("sqlite://")
    assert by_connection == ([(1, "a"), (2, "b")], [(1, "a"), (2, "b")])


MODELS_INLINE = textwrap.dedent(MODELS["app.models"]).replace(
    "from sqlalchemy.ext.declarative import declarative_base",
    "from sqlalchemy.orm import declarative_base",
)


@pytest.mark.skipif(
    not os.environ.get("SQLA_UPGRADE_LEGACY_PYTHON"), reason="SQLA_UPGRADE_LEGACY_PYTHON not set"
)
def test_select_of_a_mapped_class_on_a_connection_gives_what_legacy_did(tmp_path: Path) -> None:
    legacy, migrated = _migrated_program(tmp_path)
    expected = _run(os.environ["SQLA_UPGRADE_LEGACY_PYTHON"], legacy, tmp_path / "legacy.db")
    assert expected == "[(1, 'a'), (2, 'b')]"
    code = (migrated / "app" / "main.py").read_text()
    (migrated / "app" / "main.py").write_text(
        code.replace("session.execute(select([User])", "session.execute(select(User.__table__)")
    )
    assert _run(sys.executable, migrated, tmp_path / "migrated.db") == expected


# -- conn.execute(helper()) on an engine.connect() connection ----------------------------
def test_a_helper_returning_a_select_needs_no_commit_one_returning_dml_gets_it() -> None:
    check_transformed(
        TABLES
        + "def names():\n    has = exists(addresses.c.id)\n    return select(users.c.name)"
        + ".where(has)\n"
        + "def add(name):\n    return users.insert().values(name=name)\n"
        + "def run(engine):\n    with engine.connect() as conn:\n"
        + "        conn.execute(add('a'))\n        return conn.execute(names()).fetchall()\n",
        TABLES
        + "def names():\n    has = exists(addresses.c.id)\n    return select(users.c.name)"
        + ".where(has)\n"
        + "def add(name):\n    return users.insert().values(name=name)\n"
        + "def run(engine):\n    with engine.connect() as conn:\n"
        + "        conn.execute(add('a'))\n        conn.commit()\n"
        + "        return conn.execute(names()).fetchall()\n",
    )


def test_a_helper_that_may_return_anything_keeps_the_todo() -> None:
    todo = (
        "        # TODO(sqla-upgrade): 1.x autocommitted data changes on this connection; add "
        "conn.commit() if this statement changes data\n"
    )
    check_transformed(
        TABLES
        + "def pick(flag):\n    if flag:\n        return select(users)\n"
        + "def gen():\n    yield select(users)\n"
        + "def run(engine):\n    with engine.connect() as conn:\n"
        + "        conn.execute(pick(True))\n        conn.execute(gen())\n",
        TABLES
        + "def pick(flag):\n    if flag:\n        return select(users)\n"
        + "def gen():\n    yield select(users)\n"
        + "def run(engine):\n    with engine.connect() as conn:\n"
        + todo
        + "        conn.execute(pick(True))\n"
        + todo
        + "        conn.execute(gen())\n",
        todos=["1.x autocommitted data changes"],
    )
