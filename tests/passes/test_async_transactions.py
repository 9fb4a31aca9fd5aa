"""Transactions begun outside ``with`` (``trans = conn.begin()``) are started with
``await`` under ``--target async``, and their ``commit()``/``rollback()`` awaited: an
un-awaited ``AsyncTransaction.commit()`` is a coroutine that never runs, losing the data."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqla_upgrade.api import migrate_project
from tests.harness import _dedent, check_noop, check_transformed, exec_module

LEGACY = """
    from sqlalchemy import create_engine, text

    def run(url):
        engine = create_engine(url)
        conn = engine.connect()
        trans = conn.begin()
        conn.execute(text("CREATE TABLE t (x int)"))
        conn.execute(text("INSERT INTO t VALUES (1)"))
        trans.commit()
        trans = conn.begin()
        conn.execute(text("INSERT INTO t VALUES (2)"))
        trans.rollback()
        nested = conn.begin()
        savepoint = conn.begin_nested()
        conn.execute(text("INSERT INTO t VALUES (3)"))
        savepoint.rollback()
        conn.execute(text("INSERT INTO t VALUES (4)"))
        nested.commit()
        rows = [r[0] for r in conn.execute(text("SELECT x FROM t ORDER BY x"))]
        conn.close()
        engine.dispose()
        return rows
"""


def test_transactions_begun_outside_with_are_awaited() -> None:
    check_transformed(
        """
        from sqlalchemy import create_engine, text
        from sqlalchemy.orm import Session
        engine = create_engine("sqlite://")

        def work(session: Session):
            conn = engine.connect()
            trans = conn.begin()
            conn.execute(text("SELECT 1"))
            trans.commit()
            inner = session.begin_nested()
            inner.rollback()
        """,
        """
        from sqlalchemy import text
        from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

        engine = create_async_engine("sqlite+aiosqlite://")

        async def work(session: AsyncSession):
            conn = await engine.connect()
            trans = await conn.begin()
            await conn.execute(text("SELECT 1"))
            await trans.commit()
            inner = await session.begin_nested()
            await inner.rollback()
        """,
        target="async",
    )


def test_transactions_in_with_and_other_commits_are_left_alone() -> None:
    check_noop(
        """
        from sqlalchemy.ext.asyncio import AsyncEngine

        async def work(engine: AsyncEngine, job):
            async with engine.connect() as conn:
                async with conn.begin():
                    await conn.execute(job)
            job.commit()
            marker = job.begin()
            marker.commit()
        """,
        target="async",
    )


def test_migrated_transactions_keep_their_effects(tmp_path: Path) -> None:
    legacy = _dedent(LEGACY)
    migrated = migrate_project({"app.tx": legacy}, target="async")["app.tx"].code
    assert "trans = await conn.begin()" in migrated, migrated
    old, new = exec_module(legacy), exec_module(migrated)
    expected = old.run(f"sqlite:///{tmp_path / 'legacy.db'}")
    got = asyncio.run(new.run(f"sqlite:///{tmp_path / 'migrated.db'}"))
    assert got == expected == [1, 4]


def test_a_savepoint_ended_inside_a_transaction_keeps_it_open(tmp_path: Path) -> None:
    """``connection-autocommit`` (2.0): ending a savepoint does not end the transaction
    around it, so the statements after it get no ``conn.commit()``."""
    legacy = _dedent(LEGACY)
    migrated = migrate_project({"app.tx": legacy}, target="2.0")["app.tx"].code
    between = migrated.split("savepoint.rollback()")[1].split("nested.commit()")[0]
    assert "conn.commit()" not in between, migrated
    expected = exec_module(legacy).run(f"sqlite:///{tmp_path / 'legacy.db'}")
    assert exec_module(migrated).run(f"sqlite:///{tmp_path / 'migrated.db'}") == expected
