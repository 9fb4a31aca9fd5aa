"""SQLAlchemy event listeners stay synchronous under ``--target async``.

An ``after_insert`` listener is called by the flush, inside SQLAlchemy's greenlet, with a
synchronous ``Connection``: its ``connection.execute(...)`` runs as it is. Made ``async``
it would be a coroutine the flush never awaits, and its writes would be lost without an
error. So a listener (``@event.listens_for(...)`` or ``event.listen(target, "name", fn)``)
is never made async, nothing in it is awaited, and a call in it to a function of the
project that becomes async is left with a TODO.
"""

from __future__ import annotations

import asyncio

from sqla_upgrade.api import migrate_project
from tests.harness import _dedent, check_noop, check_transformed, exec_module

MODELS = """
    from sqlalchemy import Column, Integer, MetaData, String, Table, event
    from sqlalchemy.orm import declarative_base

    metadata = MetaData()
    Base = declarative_base(metadata=metadata)
    audit = Table("audit", metadata, Column("id", Integer, primary_key=True), Column("ev", String))


    class Item(Base):
        __tablename__ = "items"
        id = Column(Integer, primary_key=True)
        name = Column(String)
"""

LISTENERS = """
    @event.listens_for(Item, "after_insert")
    def audit_insert(mapper, connection, target):
        connection.execute(audit.insert(), {"ev": "insert " + target.name})


    def audit_delete(mapper, connection, target):
        connection.execute(audit.insert().values(ev="delete"))


    event.listen(Item, "after_delete", audit_delete)
"""


def test_listeners_keep_their_synchronous_connection() -> None:
    check_noop(MODELS + LISTENERS, target="async")


def test_a_listener_calling_a_function_that_becomes_async_is_left_with_a_todo() -> None:
    check_transformed(
        """
        from sqlalchemy import event, select
        from sqlalchemy.orm import Session


        def newest(session: Session):
            return session.scalar(select(1))


        @event.listens_for(Session, "after_commit")
        def after_commit(session):
            newest(session)
        """,
        """
        from sqlalchemy import event, select
        from sqlalchemy.orm import Session
        from sqlalchemy.ext.asyncio import AsyncSession


        async def newest(session: AsyncSession):
            return await session.scalar(select(1))


        @event.listens_for(Session, "after_commit")
        def after_commit(session):
            # TODO(sqla-upgrade): app.module.newest() is now a coroutine but cannot be awaited here (SQLAlchemy calls event listeners synchronously (with a synchronous connection)); use an async method or run_sync
            newest(session)
        """,
        target="async",
        todos=["SQLAlchemy calls event listeners synchronously"],
    )


def test_a_function_of_the_same_name_not_registered_is_migrated() -> None:
    check_transformed(
        """
        from sqlalchemy import text


        def audit_delete(mapper, connection, target):
            connection.execute(text("select 1"))


        listen = print
        listen(1, 2, audit_delete)
        """,
        """
        from sqlalchemy import text


        async def audit_delete(mapper, connection, target):
            await connection.execute(text("select 1"))


        listen = print
        listen(1, 2, audit_delete)
        """,
        target="async",
    )


PROGRAM = """
    from sqlalchemy import create_engine, select
    from sqlalchemy.orm import sessionmaker


    def run(url):
        engine = create_engine(url)
        metadata.create_all(engine)
        Session = sessionmaker(bind=engine)
        with Session() as session:
            item = Item(name="a")
            session.add(item)
            session.commit()
            session.delete(item)
            session.commit()
            return [row.ev for row in session.execute(select(audit.c.ev).order_by(audit.c.id))]
"""


def test_migrated_listeners_still_write_what_they_wrote(tmp_path) -> None:  # type: ignore[no-untyped-def]
    source = _dedent(MODELS + LISTENERS) + _dedent(PROGRAM)
    migrated = migrate_project({"app.program": source}, target="async")["app.program"].code
    assert "async def audit_insert" not in migrated
    expected = exec_module(source).run(f"sqlite:///{tmp_path / 'legacy.db'}")
    url = f"sqlite+aiosqlite:///{tmp_path / 'migrated.db'}"
    got = asyncio.run(exec_module(migrated).run(url))
    assert got == expected == ["insert a", "delete"]


def test_a_validator_doing_io_stays_synchronous_with_a_todo() -> None:
    """SQLAlchemy calls ``@validates`` methods when the attribute is set: as a coroutine
    the attribute would be given the coroutine (and the flush fail)."""
    code = """
        from sqlalchemy import Column, Integer, String, create_engine, func, select
        from sqlalchemy.orm import declarative_base, sessionmaker, validates

        Base = declarative_base()
        SessionLocal = sessionmaker(bind=create_engine("sqlite://"))


        class Emp(Base):
            __tablename__ = "emps"
            id = Column(Integer, primary_key=True)
            name = Column(String)

            @validates("name")
            def check_name(self, key, value):
                with SessionLocal() as session:
                    session.scalar(select(func.count()).where(Emp.name == value))
                return value.strip()
        """
    result = migrate_project({"app.models": _dedent(code)}, target="async")["app.models"]
    assert "    def check_name(self, key, value):" in result.code
    assert "async def check_name" not in result.code
    assert any("@validates methods synchronously" in t.message for t in result.todos)
