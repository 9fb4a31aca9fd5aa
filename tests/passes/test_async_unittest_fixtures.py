"""await: unittest class and module fixtures doing I/O run it with ``asyncio.run()``.

unittest calls ``setUpClass``/``tearDownClass`` (and ``setUpModule``/``tearDownModule``)
synchronously with no event loop running, also for ``IsolatedAsyncioTestCase``, whose loop
exists only around each test. So they stay synchronous; their body becomes a local
``async def`` run by ``asyncio.run()``, with ``super().setUpClass()`` kept outside.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.harness import check_project

DB = """
    import os

    from sqlalchemy import create_engine, text
    from sqlalchemy.orm import Session
    from sqlalchemy.pool import NullPool

    engine = create_engine(os.environ["DB_URL"], poolclass=NullPool)


    def count():
        with Session(engine) as session:
            return session.execute(text("select count(*) from items")).scalar()


    def reset():
        with Session(engine) as session:
            session.execute(text("create table if not exists items (id integer primary key)"))
            session.execute(text("delete from items"))
            session.execute(text("insert into items (id) values (1), (2)"))
            session.commit()
"""

TESTS = """
    import unittest

    from app.db import count, reset


    def setUpModule():
        reset()


    class CountTest(unittest.TestCase):
        @classmethod
        def setUpClass(cls):
            super().setUpClass()
            reset()
            cls.expected = count()

        @classmethod
        def tearDownClass(cls):
            reset()
            super().tearDownClass()

        def test_count(self):
            self.assertEqual(count(), self.expected)


    class SuperInside(unittest.TestCase):
        @classmethod
        def setUpClass(cls):
            cls.expected = count() if super().setUpClass() is None else 0
"""

MIGRATED_TESTS = """
    import unittest

    from app.db import count, reset
    import asyncio


    def setUpModule():
        async def set_up_module():
            await reset()
        asyncio.run(set_up_module())


    class CountTest(unittest.IsolatedAsyncioTestCase):
        @classmethod
        def setUpClass(cls):
            super().setUpClass()
            async def set_up_class():
                await reset()
                cls.expected = await count()
            asyncio.run(set_up_class())

        @classmethod
        def tearDownClass(cls):
            async def tear_down_class():
                await reset()
            asyncio.run(tear_down_class())
            super().tearDownClass()

        async def test_count(self):
            self.assertEqual(await count(), self.expected)


    class SuperInside(unittest.TestCase):
        # TODO(sqla-upgrade): setUpClass does I/O, which is async now: run it with asyncio.run() of an async helper (unittest calls it with no event loop running)
        @classmethod
        def setUpClass(cls):
            # TODO(sqla-upgrade): app.db.count() is now a coroutine but setUpClass() stays synchronous; await it from async code
            cls.expected = count() if super().setUpClass() is None else 0
"""


def test_class_and_module_fixtures_run_their_io_with_asyncio_run() -> None:
    check_project(
        {"app.db": DB, "tests.test_db": TESTS},
        {"tests.test_db": MIGRATED_TESTS},
        todos=["setUpClass does I/O"],
    )


def test_fixtures_without_io_are_untouched() -> None:
    code = """
        import unittest


        class PlainTest(unittest.TestCase):
            @classmethod
            def setUpClass(cls):
                cls.items = [1, 2]

            def test_items(self):
                self.assertEqual(len(self.items), 2)
    """
    check_project({"app.db": DB, "tests.test_plain": code}, {"tests.test_plain": code})


def test_migrated_unittest_suite_passes_on_aiosqlite(tmp_path: Path) -> None:
    """The legacy suite and the migrated one both pass; the migrated one with
    never-awaited coroutines as errors."""
    import textwrap

    for name in ("legacy", "migrated"):
        root = tmp_path / name
        (root / "app").mkdir(parents=True)
        (root / "tests").mkdir()
        (root / "app" / "__init__.py").write_text("")
        (root / "tests" / "__init__.py").write_text("")
        (root / "app" / "db.py").write_text(textwrap.dedent(DB).lstrip())
        tests = TESTS.split("\n\n    class SuperInside")[0] + "\n"
        (root / "tests" / "test_db.py").write_text(textwrap.dedent(tests).lstrip())
    migrated_root = tmp_path / "migrated"
    applied = subprocess.run(
        [sys.executable, "-m", "sqla_upgrade", "apply", "--target", "async", "."],
        cwd=migrated_root,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert applied.returncode == 0, applied.stderr
    assert "asyncio.run(set_up_class())" in (migrated_root / "tests" / "test_db.py").read_text()
    for name, driver, warnings in (
        ("legacy", "sqlite", []),
        ("migrated", "sqlite+aiosqlite", ["-W", "error::RuntimeWarning"]),
    ):
        root = tmp_path / name
        run = subprocess.run(
            [sys.executable, *warnings, "-m", "unittest", "-v", "tests.test_db"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=120,
            env={**os.environ, "PYTHONPATH": str(root), "DB_URL": f"{driver}:///{root}/db"},
        )
        assert run.returncode == 0, run.stderr
        assert "Ran 1 test" in run.stderr and "OK" in run.stderr


SCHEMA_DB = """
    import os

    from sqlalchemy import Column, Integer, create_engine
    from sqlalchemy.orm import declarative_base, scoped_session, sessionmaker
    from sqlalchemy.pool import NullPool

    engine = create_engine(os.environ["DB_URL"], poolclass=NullPool)
    DBSession = scoped_session(sessionmaker(bind=engine))
    Base = declarative_base()


    class Item(Base):
        __tablename__ = "fixture_items"
        id = Column(Integer, primary_key=True)


    def count():
        return DBSession.query(Item).count()
"""

SCHEMA_TESTS = """
    import unittest

    from app.db import Base, DBSession, count, engine


    class ItemTest(unittest.TestCase):
        @classmethod
        def setUpClass(cls):
            Base.metadata.drop_all(engine)
            Base.metadata.create_all(engine)

        @classmethod
        def tearDownClass(cls):
            Base.metadata.drop_all(engine)

        def test_count(self):
            self.assertEqual(count(), 0)
            DBSession.remove()
"""

MIGRATED_SCHEMA_TESTS = """
    import unittest

    from app.db import Base, DBSession, count, engine
    import asyncio


    class ItemTest(unittest.IsolatedAsyncioTestCase):
        @classmethod
        def setUpClass(cls):
            async def set_up_class():
                async with engine.begin() as conn:
                    await conn.run_sync(Base.metadata.drop_all)
                async with engine.begin() as conn:
                    await conn.run_sync(Base.metadata.create_all)
            asyncio.run(set_up_class())

        @classmethod
        def tearDownClass(cls):
            async def tear_down_class():
                async with engine.begin() as conn:
                    await conn.run_sync(Base.metadata.drop_all)
            asyncio.run(tear_down_class())

        async def test_count(self):
            self.assertEqual(await count(), 0)
            await DBSession.remove()
"""


def test_schema_operations_of_class_fixtures_run_on_an_async_connection() -> None:
    """``create_all()`` in ``setUpClass``: its body runs as a local ``async def`` under
    ``asyncio.run()``, so schema-run-sync gives it ``run_sync`` there (it used to leave
    it with two TODOs claiming the code was not async, and an ``AsyncEngine`` that
    ``create_all()`` cannot use)."""
    check_project(
        {"app.db": SCHEMA_DB, "tests.test_items": SCHEMA_TESTS},
        {"tests.test_items": MIGRATED_SCHEMA_TESTS},
    )


def test_migrated_schema_fixtures_build_the_schema(tmp_path: Path) -> None:
    import textwrap

    for name in ("legacy", "migrated"):
        root = tmp_path / name
        (root / "app").mkdir(parents=True)
        (root / "tests").mkdir()
        (root / "app" / "__init__.py").write_text("")
        (root / "tests" / "__init__.py").write_text("")
        (root / "app" / "db.py").write_text(textwrap.dedent(SCHEMA_DB).lstrip())
        (root / "tests" / "test_items.py").write_text(textwrap.dedent(SCHEMA_TESTS).lstrip())
    applied = subprocess.run(
        [sys.executable, "-m", "sqla_upgrade", "apply", "--target", "async", "."],
        cwd=tmp_path / "migrated",
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert applied.returncode == 0, applied.stderr
    legacy_python = os.environ.get("SQLA_UPGRADE_LEGACY_PYTHON")
    runs = [("migrated", sys.executable, "sqlite+aiosqlite")]
    if legacy_python:
        runs.append(("legacy", legacy_python, "sqlite"))
    for name, python, driver in runs:
        root = tmp_path / name
        run = subprocess.run(
            [python, "-W", "error::RuntimeWarning", "-m", "unittest", "-v", "tests.test_items"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=120,
            env={**os.environ, "PYTHONPATH": str(root), "DB_URL": f"{driver}:///{root}/db"},
        )
        assert run.returncode == 0, run.stderr
        assert "Ran 1 test" in run.stderr and "OK" in run.stderr
