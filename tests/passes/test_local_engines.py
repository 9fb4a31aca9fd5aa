"""Engines created inside a function are engines for the async passes too.

Stage 1 of ``--target async`` turns ``engine = create_engine(url)`` into
``create_async_engine(...)``; the stage-2 passes read that output, so they must take an
``AsyncEngine`` (by its factory or annotation) as the engine it replaced.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqla_upgrade.api import migrate_project
from tests.harness import _dedent, check_noop, check_transformed, exec_module

LEGACY = """
    from sqlalchemy import create_engine, select
    from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

    class Base(DeclarativeBase):
        pass

    class Item(Base):
        __tablename__ = "items"
        id: Mapped[int] = mapped_column(primary_key=True)

    def build(url):
        engine = create_engine(url)
        Base.metadata.create_all(engine)
        with engine.connect() as conn:
            count = len(conn.execute(select(Item)).all())
        with Session(engine) as session:
            session.add(Item(id=1))
            session.commit()
            return count, session.scalars(select(Item)).all()[0].id
"""


def test_schema_and_connections_of_a_local_engine_go_async() -> None:
    check_transformed(
        LEGACY,
        """
        from sqlalchemy import select
        from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
        from sqlalchemy.engine import make_url
        from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine


        def async_database_url(url):
            \"\"\"The database URL with its asyncio driver (added by sqla-upgrade).\"\"\"
            url = make_url(url)
            drivers = {
                'mariadb': 'mariadb+aiomysql',
                'mariadb+pymysql': 'mariadb+aiomysql',
                'mysql': 'mysql+aiomysql',
                'mysql+mysqldb': 'mysql+aiomysql',
                'mysql+pymysql': 'mysql+aiomysql',
                'postgres': 'postgresql+asyncpg',
                'postgresql': 'postgresql+asyncpg',
                'postgresql+pg8000': 'postgresql+asyncpg',
                'postgresql+psycopg': 'postgresql+psycopg',
                'postgresql+psycopg2': 'postgresql+asyncpg',
                'sqlite': 'sqlite+aiosqlite',
                'sqlite+pysqlite': 'sqlite+aiosqlite',
            }
            return url.set(drivername=drivers.get(url.drivername, url.drivername))


        class Base(DeclarativeBase):
            pass

        class Item(Base):
            __tablename__ = "items"
            id: Mapped[int] = mapped_column(primary_key=True)

        async def build(url):
            engine = create_async_engine(async_database_url(url))
            async with engine.begin() as schema_conn:
                await schema_conn.run_sync(Base.metadata.create_all)
            async with engine.connect() as conn:
                count = len((await conn.execute(select(Item))).all())
            async with AsyncSession(engine, expire_on_commit=False) as session:
                session.add(Item(id=1))
                await session.commit()
                return count, (await session.scalars(select(Item))).all()[0].id
        """,
        target="async",
    )


def test_schema_operations_on_a_connection_run_through_its_run_sync() -> None:
    check_transformed(
        """
        from sqlalchemy import create_engine
        from sqlalchemy.engine import Connection
        engine = create_engine("sqlite://")

        def reset(metadata):
            with engine.begin() as conn:
                metadata.drop_all(conn, checkfirst=True)
                metadata.create_all(bind=conn)

        def build(conn: Connection, metadata):
            metadata.create_all(conn)
        """,
        """
        from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine

        engine = create_async_engine("sqlite+aiosqlite://")

        async def reset(metadata):
            async with engine.begin() as conn:
                await conn.run_sync(metadata.drop_all, checkfirst=True)
                await conn.run_sync(metadata.create_all)

        async def build(conn: AsyncConnection, metadata):
            await conn.run_sync(metadata.create_all)
        """,
        target="async",
    )


def test_code_that_was_async_already_is_left_alone() -> None:
    check_noop(
        """
        from sqlalchemy import select
        from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

        async def count(engine: AsyncEngine, metadata, table):
            async with engine.begin() as conn:
                await conn.run_sync(metadata.create_all)
                return len((await conn.execute(select(table))).all())

        async def build(url):
            engine = create_async_engine(url)
            async with engine.connect() as conn:
                return await conn.scalar(select(1))
        """,
        target="async",
    )


def test_migrated_local_engine_gives_the_same_results(tmp_path: Path) -> None:
    legacy = _dedent(LEGACY)
    migrated = migrate_project({"app.build": legacy}, target="async")["app.build"].code
    old, new = exec_module(legacy), exec_module(migrated)
    expected = old.build(f"sqlite:///{tmp_path / 'legacy.db'}")
    assert asyncio.run(new.build(f"sqlite:///{tmp_path / 'migrated.db'}")) == expected == (0, 1)
