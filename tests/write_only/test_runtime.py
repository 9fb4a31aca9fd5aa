"""``lazy="dynamic"`` → ``lazy="write_only"``: the legacy program on SQLAlchemy's sync
Session (SQLite) prints and stores exactly what the migrated program does on an
AsyncSession (aiosqlite; asyncpg too when ``SQLA_UPGRADE_PG_URL`` is set)."""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import sys
import types
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine

from sqla_upgrade.api import migrate_project
from tests.write_only.legacy_program import MODELS, PROGRAM

TABLES = ("users", "posts", "notes", "tags", "post_tags", "follows")
# (step, argument) in order; every step prints, then the tables are dumped
STEPS = (
    ("seed", None),
    ("report", 1),
    ("report", 2),
    ("report", 3),
    ("tagged", 1),
    ("change", 1),
    ("report", 1),
    ("drop_user", 1),
    ("report", 3),
    ("tagged", 1),
    ("drop_tag", 1),
    ("report", 2),
)


def _load(sources: dict[str, str], package: str) -> types.ModuleType:
    """Import ``app.models`` / ``app.program`` from ``sources`` under a fresh package."""
    root = types.ModuleType(package)
    root.__path__ = []
    sys.modules[package] = root
    modules = {}
    for name in ("app.models", "app.program"):
        qualified = package + name.removeprefix("app")
        module = types.ModuleType(qualified)
        sys.modules[qualified] = module
        code = sources[name].replace("from app.", f"from {package}.")
        exec(compile(code, f"{qualified}.py", "exec"), module.__dict__)
        modules[name] = module
    return modules["app.program"]


def _dump(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return [
            f"{table}: {sorted(tuple(row) for row in conn.execute(text(f'SELECT * FROM {table}')))}"
            for table in TABLES
        ]


def _run(program: types.ModuleType, step: str, argument: Any, call: Callable[..., Any]) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        try:
            call(getattr(program, step), *(() if argument is None else (argument,)))
        except Exception as exc:  # the outcome compared is the exception's class
            print("raised", type(exc).__name__)
    return out.getvalue()


def _legacy_outcome(url: str, connect_args: dict[str, Any]) -> list[str]:
    from sqlalchemy.orm import Session

    program = _load({"app.models": MODELS, "app.program": PROGRAM}, f"legacy_{uuid.uuid4().hex}")
    engine = create_engine(url, connect_args=connect_args)
    models = sys.modules[program.__name__.rsplit(".", 1)[0] + ".models"]
    models.Base.metadata.create_all(engine)
    outcome = []
    try:
        for step, argument in STEPS:
            with Session(engine) as session:
                outcome.append(_run(program, step, argument, lambda f, *a: f(session, *a)))
            outcome.extend(_dump(engine))
    finally:
        models.Base.metadata.drop_all(engine)
        engine.dispose()
    return outcome


def _migrated_outcome(
    sources: dict[str, str],
    url: str,
    sync_url: str,
    async_args: dict[str, Any],
    sync_args: dict[str, Any],
) -> list[str]:
    from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

    program = _load(sources, f"migrated_{uuid.uuid4().hex}")
    models = sys.modules[program.__name__.rsplit(".", 1)[0] + ".models"]
    inspector = create_engine(sync_url, connect_args=sync_args)
    models.Base.metadata.create_all(inspector)
    outcome = []

    async def step(name: str, argument: Any) -> str:
        engine = create_async_engine(url, connect_args=async_args)
        try:
            async with AsyncSession(engine) as session:

                async def call(function: Callable[..., Any], *args: Any) -> None:
                    await function(session, *args)

                return await _run_async(program, name, argument, call)
        finally:
            await engine.dispose()

    try:
        for name, argument in STEPS:
            outcome.append(asyncio.run(step(name, argument)))
            outcome.extend(_dump(inspector))
    finally:
        models.Base.metadata.drop_all(inspector)
        inspector.dispose()
    return outcome


async def _run_async(
    program: types.ModuleType, step: str, argument: Any, call: Callable[..., Any]
) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        try:
            await call(getattr(program, step), *(() if argument is None else (argument,)))
        except Exception as exc:
            print("raised", type(exc).__name__)
    return out.getvalue()


@pytest.fixture(scope="module")
def migrated() -> dict[str, str]:
    result = migrate_project({"app.models": MODELS, "app.program": PROGRAM}, target="async")
    sources = {name: migration.code for name, migration in result.items()}
    assert 'lazy="write_only"' in sources["app.models"]
    assert "dynamic" not in sources["app.models"]
    assert "run_sync" not in sources["app.program"] + sources["app.models"]
    assert not [n for m in result.values() for n in m.todos]
    return sources


def _sqlite_urls(tmp_path: Path) -> tuple[str, str]:
    database = tmp_path / "dynamic.db"
    return f"sqlite:///{database}", f"sqlite+aiosqlite:///{database}"


def test_migrated_program_matches_the_legacy_one_on_sqlite(
    tmp_path: Path, migrated: dict[str, str]
) -> None:
    sync_url, async_url = _sqlite_urls(tmp_path / "legacy")
    (tmp_path / "legacy").mkdir()
    legacy = _legacy_outcome(sync_url, {})
    (tmp_path / "migrated").mkdir()
    sync_url, async_url = _sqlite_urls(tmp_path / "migrated")
    assert _migrated_outcome(migrated, async_url, sync_url, {}, {}) == legacy
    assert "raised" not in "".join(legacy)


@pytest.fixture
def pg_schema() -> Iterator[str]:
    admin_url = os.environ.get("SQLA_UPGRADE_PG_URL")
    if not admin_url:
        pytest.skip("SQLA_UPGRADE_PG_URL is not set")
    base = admin_url.replace("postgresql://", "postgresql+psycopg2://", 1)
    schema = f"write_only_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    try:
        yield schema
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


def test_migrated_program_matches_the_legacy_one_on_postgresql(
    pg_schema: str, migrated: dict[str, str]
) -> None:
    admin_url = os.environ["SQLA_UPGRADE_PG_URL"]
    sync_url = admin_url.replace("postgresql://", "postgresql+psycopg2://", 1)
    async_url = admin_url.replace("postgresql://", "postgresql+asyncpg://", 1)
    sync_args = {"options": f"-csearch_path={pg_schema}"}
    async_args = {"server_settings": {"search_path": pg_schema}}
    legacy = _legacy_outcome(sync_url, sync_args)
    assert _migrated_outcome(migrated, async_url, sync_url, async_args, sync_args) == legacy
    assert "raised" not in "".join(legacy)
