"""``session.execute(query.statement)``: the rewrite executes the ``select()`` the query
became, which gives what ``Query.statement`` gave since 1.4 (rows each holding the
object for a query of one mapped class, rows of values for columns); a TODO says that
1.3, for which the idiom was written, gave rows of the columns."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from sqla_upgrade.api import migrate_source
from tests.harness import check_transformed, exec_module

MODELS = """\
from sqlalchemy import Column, ForeignKey, Integer, String, create_engine, func
from sqlalchemy.orm import Session, declarative_base, joinedload, relationship

Base = declarative_base()


class User(Base):
    __tablename__ = "users"
    id = Column(Integer, primary_key=True)
    name = Column(String)
    posts = relationship("Post", backref="author")


class Post(Base):
    __tablename__ = "posts"
    id = Column(Integer, primary_key=True)
    user_id = Column(ForeignKey("users.id"))
    title = Column(String)


engine = create_engine("sqlite://")
"""

TODO = (
    "session.execute(query.statement) gives rows each holding a User object (since "
    "SQLAlchemy 1.4, as select(User) does; 1.3 gave rows of its columns): use "
    "session.scalars(...) for the objects, or select(User.__table__) for rows of its columns"
)


def test_executing_the_statement_of_an_entity_query_gets_a_todo() -> None:
    check_transformed(
        MODELS
        + """

def rows(session: Session):
    q = session.query(User).filter(User.id > 0).order_by(User.id)
    return session.execute(q.statement).fetchall()
""",
        MODELS.replace("from sqlalchemy import", "from sqlalchemy import select,")
        + f"""

def rows(session: Session):
    q = select(User).where(User.id > 0).order_by(User.id)
    # TODO(sqla-upgrade): {TODO}
    return session.execute(q).fetchall()
""",
        todos=[TODO],
    )


def test_statements_of_columns_read_as_objects_or_run_on_a_connection_get_none() -> None:
    migrated = migrate_source(
        MODELS
        + """

def columns(session: Session):
    q = session.query(User.id, User.name).order_by(User.id)
    return [tuple(r) for r in session.execute(q.statement)]


def objects(session: Session):
    q = session.query(Post).options(joinedload(Post.author)).order_by(Post.id)
    return [p.author.name for p in session.execute(q.statement).scalars()]


def on_connection(session: Session):
    q = session.query(User).order_by(User.id)
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(q.statement)]


def counted(session: Session):
    return session.execute(session.query(func.count(User.id)).statement).scalar()
""",
        target="2.0",
    )
    assert migrated.todos == []
    assert "session.execute(q)]" in migrated.code and "conn.execute(q)]" in migrated.code


PROGRAM = (
    MODELS
    + """

def run():
    Base.metadata.create_all(engine)
    with Session(engine) as session:
        session.add_all([User(name="ann", posts=[Post(title="p1")]), User(name="bob")])
        session.commit()
        q = session.query(User).order_by(User.id)
        entity = [tuple(type(v).__name__ for v in row) for row in session.execute(q.statement)]
        keys = list(session.execute(q.statement).keys())
        columns = session.query(User.id, User.name).order_by(User.id)
        values = [tuple(row) for row in session.execute(columns.statement)]
        counted = session.execute(session.query(func.count(User.id)).statement).scalar()
        return entity, keys, values, counted
"""
)

EXPECTED = ([("User",), ("User",)], ["User"], [(1, "ann"), (2, "bob")], 2)


def test_migrated_statements_give_the_rows_legacy_code_got() -> None:
    assert exec_module(PROGRAM).run() == EXPECTED  # type: ignore[attr-defined]
    for target in ("2.0", "async"):
        migrated = migrate_source(PROGRAM, target=target)
        result = exec_module(migrated.code).run()  # type: ignore[attr-defined]
        if target == "async":
            import asyncio

            result = asyncio.run(result)
        assert result == EXPECTED, target


@pytest.mark.skipif(
    not os.environ.get("SQLA_UPGRADE_LEGACY_PYTHON"), reason="SQLA_UPGRADE_LEGACY_PYTHON not set"
)
def test_sqlalchemy_1_4_gives_those_rows_too(tmp_path: Path) -> None:
    script = tmp_path / "program.py"
    script.write_text(PROGRAM + "\nprint(repr(run()))\n")
    legacy = subprocess.run(
        [os.environ["SQLA_UPGRADE_LEGACY_PYTHON"], str(script)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert legacy.stdout.strip() == repr(EXPECTED)
    migrated = tmp_path / "migrated.py"
    migrated.write_text(migrate_source(PROGRAM, target="2.0").code + "\nprint(repr(run()))\n")
    again = subprocess.run([sys.executable, str(migrated)], capture_output=True, text=True)
    assert again.stdout.strip() == repr(EXPECTED), again.stderr
