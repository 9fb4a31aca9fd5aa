"""Pyramid's ``initialize_sql(settings)``: ``engine_from_config(settings, "sqlalchemy.")``,
``DBSession.configure(bind=engine)``, ``Base.metadata.bind = engine`` then
``Base.metadata.create_all()``.

- async-engine: the URL comes from the settings and names a synchronous driver, which
  ``async_engine_from_config()`` refuses; ``url=`` (which wins over the settings') gives it
  the asyncio driver.
- bound-metadata: ``create_all()`` after ``Base.metadata.bind = engine`` in the same block
  gets that engine (2.0 removed bound metadata; the assignment is a plain attribute now).
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import types
from pathlib import Path

from sqlalchemy import inspect as sa_inspect

from sqla_upgrade.api import migrate_source
from tests.harness import _dedent, check_noop, check_transformed
from tests.passes.test_async import HELPER

INIT = """
    from sqlalchemy import engine_from_config
    from sqlalchemy.orm import declarative_base

    Base = declarative_base()


    def initialize_sql(settings):
        engine = engine_from_config(settings, "sqlalchemy.")
        Base.metadata.bind = engine
        Base.metadata.drop_all()
        Base.metadata.create_all(checkfirst=True)
        return engine
"""


def test_bound_before_in_the_block_gives_the_engine_in_2_0() -> None:
    check_transformed(
        INIT,
        """
        from sqlalchemy import engine_from_config
        from sqlalchemy.orm import declarative_base

        Base = declarative_base()


        def initialize_sql(settings):
            engine = engine_from_config(settings, "sqlalchemy.")
            Base.metadata.bind = engine
            Base.metadata.drop_all(engine)
            Base.metadata.create_all(engine, checkfirst=True)
            return engine
        """,
        target="2.0",
    )


def test_engine_from_config_gets_the_async_url_and_schema_runs_on_it() -> None:
    check_transformed(
        INIT,
        "from sqlalchemy.orm import declarative_base\n"
        "from sqlalchemy.engine import make_url\n"
        "from sqlalchemy.ext.asyncio import async_engine_from_config\n"
        + HELPER
        + "\n\n"
        + _dedent(
            """
            Base = declarative_base()


            async def initialize_sql(settings):
                engine = async_engine_from_config(settings, "sqlalchemy.", url=async_database_url(settings["sqlalchemy.url"]))
                Base.metadata.bind = engine
                async with engine.begin() as conn:
                    await conn.run_sync(Base.metadata.drop_all)
                async with engine.begin() as conn:
                    await conn.run_sync(Base.metadata.create_all, checkfirst=True)
                return engine
            """
        ),
        target="async",
    )


def test_engine_from_config_prefix_forms() -> None:
    before = """
        from sqlalchemy import engine_from_config


        def engines(settings, config):
            default = engine_from_config(settings)
            named = engine_from_config(configuration=config.settings, prefix='db.')
            given = engine_from_config(settings, "db.", url="sqlite:///x.db")
            return default, named, given
    """
    result = migrate_source(_dedent(before), target="async", module_name="app.db")
    code = result.code
    assert (
        'default = async_engine_from_config(settings, url=async_database_url(settings["sqlalchemy.url"]))'
        in code
    )
    assert (
        "named = async_engine_from_config(configuration=config.settings, prefix='db.', "
        "url=async_database_url(config.settings['db.url']))" in code
    )
    assert (
        'given = async_engine_from_config(settings, "db.", url="sqlite+aiosqlite:///x.db")' in code
    )
    assert not result.todos
    compile(code, "app/db.py", "exec")
    again = migrate_source(code, target="async", module_name="app.db")
    assert again.code == code


def test_engine_from_config_whose_url_setting_cannot_be_named_is_todo() -> None:
    todo = (
        "# TODO(sqla-upgrade): engine_from_config(): its URL setting names a synchronous "
        "driver; give async_engine_from_config() url= with the asyncio driver"
    )
    check_transformed(
        """
        from sqlalchemy import engine_from_config


        def engines(load, settings, prefix):
            built = engine_from_config(load(), "sqlalchemy.")
            chosen = engine_from_config(settings, prefix)
            return built, chosen
        """,
        f"""
        from sqlalchemy import engine_from_config


        def engines(load, settings, prefix):
            {todo}
            built = engine_from_config(load(), "sqlalchemy.")
            {todo}
            chosen = engine_from_config(settings, prefix)
            return built, chosen
        """,
        target="async",
        todos=["engine_from_config(): its URL setting"],
    )


def test_binding_not_provably_the_engine_stays_a_todo() -> None:
    todo = "# TODO(sqla-upgrade): create_all() needs the engine now that bound metadata is gone"
    check_transformed(
        """
        from sqlalchemy import MetaData

        metadata = MetaData()


        def later(engine):
            metadata.create_all()


        def rebound(engines):
            engine = engines[0]
            metadata.bind = engine
            engine = engines[1]
            metadata.create_all()


        def other(engine, other_metadata):
            other_metadata.bind = engine
            metadata.create_all()


        def computed(make):
            metadata.bind = make()
            metadata.create_all()
        """,
        f"""
        from sqlalchemy import MetaData

        metadata = MetaData()


        def later(engine):
            {todo}
            metadata.create_all()


        def rebound(engines):
            engine = engines[0]
            metadata.bind = engine
            engine = engines[1]
            {todo}
            metadata.create_all()


        def other(engine, other_metadata):
            other_metadata.bind = engine
            {todo}
            metadata.create_all()


        def computed(make):
            metadata.bind = make()
            {todo}
            metadata.create_all()
        """,
        target="2.0",
        todos=["create_all() needs the engine"],
    )


def test_schema_calls_given_an_engine_are_left_alone() -> None:
    check_noop(
        """
        from sqlalchemy import engine_from_config
        from sqlalchemy.orm import declarative_base

        Base = declarative_base()


        def initialize_sql(settings):
            engine = engine_from_config(settings, "sqlalchemy.")
            Base.metadata.bind = engine
            Base.metadata.create_all(engine)
            return engine
        """,
        target="2.0",
    )


SCHEMA_PROGRAM = """
from sqlalchemy import Column, Integer, inspect
import sys
sys.path.insert(0, sys.argv[1])
import models
engine = models.initialize_sql({"sqlalchemy.url": sys.argv[2], "sqlalchemy.echo": "false"})
print(sorted(inspect(engine).get_table_names()))
"""


def _schema_source() -> str:
    return _dedent(INIT).replace(
        "from sqlalchemy.orm import declarative_base",
        "from sqlalchemy import Column, Integer\nfrom sqlalchemy.orm import declarative_base",
    ) + _dedent(
        """


        class Page(Base):
            __tablename__ = "pages"
            id = Column(Integer, primary_key=True)
        """
    )


def _run_schema(python: str, code: str, directory: Path) -> str:
    directory.mkdir()
    (directory / "models.py").write_text(code)
    url = f"sqlite:///{directory / 'app.db'}"
    done = subprocess.run(
        [python, "-c", SCHEMA_PROGRAM, str(directory), url],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return done.stdout.strip()


def test_migrated_initialize_sql_builds_the_schema_on_the_configured_engine(
    tmp_path: Path,
) -> None:
    source = _schema_source()
    expected = "['pages']"
    legacy_python = os.environ.get("SQLA_UPGRADE_LEGACY_PYTHON")
    if legacy_python:
        assert _run_schema(legacy_python, source, tmp_path / "legacy") == expected
    migrated = migrate_source(source, target="2.0", module_name="models").code
    assert _run_schema(sys.executable, migrated, tmp_path / "v2") == expected

    new = _module(migrate_source(source, target="async", module_name="models").code)

    async def run() -> list[str]:
        url = f"sqlite:///{tmp_path / 'migrated.db'}"
        engine = await new.initialize_sql({"sqlalchemy.url": url, "sqlalchemy.echo": "false"})
        async with engine.connect() as conn:
            names = await conn.run_sync(lambda c: sa_inspect(c).get_table_names())
        await engine.dispose()
        return sorted(names)

    assert str(asyncio.run(run())) == expected


def _module(code: str) -> types.ModuleType:
    module = types.ModuleType("models")
    exec(compile(code, "models.py", "exec", dont_inherit=True), module.__dict__)
    return module
