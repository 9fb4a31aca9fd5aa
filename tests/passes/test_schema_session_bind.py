"""schema-run-sync: ``metadata.create_all(session.get_bind())`` (or ``bind=session.bind``)
in code that becomes async runs through the session's ``run_sync``, which hands the
synchronous session the same bind; a scoped session runs it on its current session
(``async_scoped_session`` has no ``run_sync``). Before, it was left as it was and raised
on the async engine.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqla_upgrade.api import migrate_project
from tests.harness import _dedent, check_noop, check_project, check_transformed, exec_module


def test_schema_changes_on_a_sessions_bind_run_through_its_run_sync() -> None:
    check_transformed(
        """
        from sqlalchemy import create_engine
        from sqlalchemy.orm import Session, scoped_session, sessionmaker
        from app.models import Base, User


        def setup():
            engine = create_engine("sqlite://")
            session = Session(engine)
            Base.metadata.create_all(session.get_bind())
            registry = scoped_session(sessionmaker(bind=engine))
            Base.metadata.drop_all(bind=registry.bind, checkfirst=True)
            session.add(User())
            session.commit()
        """,
        """
        from app.models import Base, User
        import asyncio
        from sqlalchemy.ext.asyncio import AsyncSession, async_scoped_session, async_sessionmaker, create_async_engine


        async def setup():
            engine = create_async_engine("sqlite+aiosqlite://")
            session = AsyncSession(engine, expire_on_commit=False)
            await session.run_sync(lambda sync_session: Base.metadata.create_all(sync_session.get_bind()))
            registry = async_scoped_session(async_sessionmaker(bind=engine, expire_on_commit=False), scopefunc=asyncio.current_task)
            await registry().run_sync(lambda sync_session: Base.metadata.drop_all(bind=sync_session.bind, checkfirst=True))
            session.add(User())
            await session.commit()
        """,
        target="async",
        project={"app.models": "Base = None\nUser = None\n"},
    )


def test_module_level_schema_changes_on_a_sessions_bind_are_todo() -> None:
    check_project(
        {
            "app.db": """
                from sqlalchemy import create_engine
                from sqlalchemy.orm import scoped_session, sessionmaker
                from app.models import Base

                SESSION = scoped_session(sessionmaker(bind=create_engine("sqlite://")))
                Base.metadata.create_all(SESSION.get_bind())
            """,
            "app.models": """
                from sqlalchemy.orm import declarative_base

                Base = declarative_base()
            """,
            "app.views": """
                from app.db import SESSION
            """,
        },
        {
            "app.db": """
                from app.models import Base
                import asyncio
                from sqlalchemy.ext.asyncio import async_scoped_session, async_sessionmaker, create_async_engine

                SESSION = async_scoped_session(async_sessionmaker(bind=create_async_engine("sqlite+aiosqlite://"), expire_on_commit=False), scopefunc=asyncio.current_task)
                # TODO(sqla-upgrade): schema changes on the session's bind need `await session.run_sync(...)` in async code
                Base.metadata.create_all(SESSION.get_bind())
            """,
        },
        todos=["schema changes on the session's bind need"],
    )


def test_the_2_0_target_keeps_the_sessions_bind() -> None:
    check_noop(
        """
        from sqlalchemy.orm import Session


        def setup(engine, metadata):
            with Session(engine) as session:
                metadata.create_all(session.get_bind())
        """
    )


LEGACY = """
    from sqlalchemy import Column, Integer, String, create_engine
    from sqlalchemy.orm import Session, declarative_base

    Base = declarative_base()


    class User(Base):
        __tablename__ = "users"
        id = Column(Integer, primary_key=True)
        name = Column(String)


    def run(url):
        session = Session(create_engine(url))
        Base.metadata.create_all(session.get_bind())
        session.add(User(name="a"))
        session.commit()
        names = [u.name for u in session.query(User)]
        session.close()
        return names
"""


def test_migrated_schema_on_a_sessions_bind_builds_the_schema(tmp_path: Path) -> None:
    legacy = _dedent(LEGACY)
    migrated = migrate_project({"app.work": legacy}, target="async")["app.work"].code
    assert "await session.run_sync(lambda sync_session:" in migrated
    old, new = exec_module(legacy), exec_module(migrated)
    expected = old.run(f"sqlite:///{tmp_path / 'legacy.db'}")
    got = asyncio.run(new.run(f"sqlite:///{tmp_path / 'migrated.db'}"))
    assert got == expected == ["a"]
