"""schema-run-sync: ``inspect(engine)`` inspections run on a connection's ``run_sync``."""

from __future__ import annotations

import asyncio
import textwrap
from pathlib import Path

from tests.harness import check_noop, check_transformed

LEGACY = """
    from sqlalchemy import create_engine, inspect, text

    engine = create_engine("sqlite:///app.db")


    def tables():
        names = inspect(engine).get_table_names()
        return names, inspect(engine).has_table("users")


    def columns():
        with engine.connect() as conn:
            return [c["name"] for c in inspect(conn).get_columns("users")]


    def create():
        with engine.begin() as conn:
            conn.execute(text("create table users (id integer primary key, name text)"))
"""

MIGRATED = """
    from sqlalchemy import inspect, text
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine("sqlite+aiosqlite:///app.db")


    async def tables():
        async with engine.connect() as inspect_conn:
            names = await inspect_conn.run_sync(lambda sync_conn: inspect(sync_conn).get_table_names())
        async with engine.connect() as inspect_conn:
            return names, await inspect_conn.run_sync(lambda sync_conn: inspect(sync_conn).has_table("users"))


    async def columns():
        async with engine.connect() as conn:
            return [c["name"] for c in await conn.run_sync(lambda sync_conn: inspect(sync_conn).get_columns("users"))]


    async def create():
        async with engine.begin() as conn:
            await conn.execute(text("create table users (id integer primary key, name text)"))
"""


def test_inspections_run_on_a_connection() -> None:
    check_transformed(LEGACY, MIGRATED, target="async")


def test_migrated_inspections_give_the_legacy_answers(tmp_path: Path) -> None:
    database = tmp_path / "app.db"
    legacy: dict[str, object] = {}
    exec(textwrap.dedent(LEGACY).replace("app.db", str(database)), legacy)
    legacy["create"]()  # type: ignore[operator]
    expected = (legacy["tables"](), legacy["columns"]())  # type: ignore[operator]
    legacy["engine"].dispose()  # type: ignore[attr-defined]

    migrated: dict[str, object] = {}
    exec(textwrap.dedent(MIGRATED).replace("app.db", str(database)), migrated)

    async def run() -> tuple[object, object]:
        try:
            return await migrated["tables"](), await migrated["columns"]()  # type: ignore[operator]
        finally:
            await migrated["engine"].dispose()  # type: ignore[attr-defined]

    assert asyncio.run(run()) == expected == ((["users"], True), ["id", "name"])


def test_inspecting_orm_objects_is_left_alone() -> None:
    check_noop(
        """
        from sqlalchemy import inspect

        def is_new(obj):
            return inspect(obj).transient
        """,
        target="async",
    )


HEADERS = """
    from sqlalchemy import create_engine, inspect, text

    engine = create_engine("sqlite:///app.db")
    other = create_engine("sqlite:///other.db")


    def setup():
        if not inspect(engine).get_table_names():
            with engine.begin() as conn:
                conn.execute(text("create table users (id integer primary key)"))
        elif inspect(engine).has_table("legacy"):
            return "legacy"
        for name in inspect(engine).get_table_names():
            if name == "users":
                return name
        return None


    def both():
        return inspect(engine).get_table_names() + inspect(other).get_table_names()
"""

HEADERS_MIGRATED = """
    from sqlalchemy import inspect, text
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine("sqlite+aiosqlite:///app.db")
    other = create_async_engine("sqlite+aiosqlite:///other.db")


    async def setup():
        async with engine.connect() as inspect_conn:
            if not await inspect_conn.run_sync(lambda sync_conn: inspect(sync_conn).get_table_names()):
                async with engine.begin() as conn:
                    await conn.execute(text("create table users (id integer primary key)"))
            elif await inspect_conn.run_sync(lambda sync_conn: inspect(sync_conn).has_table("legacy")):
                return "legacy"
        async with engine.connect() as inspect_conn:
            for name in await inspect_conn.run_sync(lambda sync_conn: inspect(sync_conn).get_table_names()):
                if name == "users":
                    return name
        return None


    async def both():
        async with engine.connect() as inspect_conn:
            async with other.connect() as inspect_conn_2:
                return await inspect_conn.run_sync(lambda sync_conn: inspect(sync_conn).get_table_names()) + await inspect_conn_2.run_sync(lambda sync_conn: inspect(sync_conn).get_table_names())
"""


def test_an_inspection_in_a_compound_statement_header_opens_its_connection_around_it() -> None:
    """``if not inspect(engine).get_table_names():`` (Kotti's ``initialize_sql``): the
    connection is opened around the ``if`` (its ``elif`` tests included), a ``for`` loop
    over an inspection around the loop; each engine of a statement gets its own."""
    check_transformed(HEADERS, HEADERS_MIGRATED, target="async")


def test_inspections_in_headers_give_the_legacy_answers(tmp_path: Path) -> None:
    def run_legacy() -> tuple[object, object, object]:
        legacy: dict[str, object] = {}
        code = textwrap.dedent(HEADERS).replace("app.db", str(tmp_path / "legacy.db"))
        exec(code.replace("other.db", str(tmp_path / "legacy_other.db")), legacy)
        first, second = legacy["setup"](), legacy["setup"]()  # type: ignore[operator]
        result = (first, second, legacy["both"]())  # type: ignore[operator]
        legacy["engine"].dispose()  # type: ignore[attr-defined]
        legacy["other"].dispose()  # type: ignore[attr-defined]
        return result

    migrated: dict[str, object] = {}
    code = textwrap.dedent(HEADERS_MIGRATED).replace("app.db", str(tmp_path / "app.db"))
    exec(code.replace("other.db", str(tmp_path / "other.db")), migrated)

    async def run() -> tuple[object, object, object]:
        try:
            first = await migrated["setup"]()  # type: ignore[operator]
            second = await migrated["setup"]()  # type: ignore[operator]
            return first, second, await migrated["both"]()  # type: ignore[operator]
        finally:
            await migrated["engine"].dispose()  # type: ignore[attr-defined]
            await migrated["other"].dispose()  # type: ignore[attr-defined]

    assert asyncio.run(run()) == run_legacy() == ("users", "users", ["users"])
