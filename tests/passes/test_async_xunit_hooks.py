"""async-tests: pytest's xunit-style hooks that became coroutines become autouse fixtures.

pytest calls ``setup_module``/``teardown_module``, ``setup_function``/
``teardown_function``, ``setup_method``/``teardown_method`` and ``setup_class``/
``teardown_class`` without awaiting them: a coroutine there never runs (the test then
fails on the state the setup never made). pytest runs these hooks as autouse fixtures, so
each pair becomes one autouse ``pytest_asyncio`` fixture of the setup's name (a fixture is
no xunit hook to pytest), the setup before its ``yield`` and the teardown after, on the
session loop the async tests share.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from tests.harness import check_project

DB = """
    import os

    from sqlalchemy import Column, Integer, String, create_engine
    from sqlalchemy.orm import declarative_base, sessionmaker

    engine = create_engine(os.environ.get("DB_URL", "sqlite://"))
    TestingSessionLocal = sessionmaker(bind=engine)
    Base = declarative_base()


    class User(Base):
        __tablename__ = "xu_users"
        id = Column(Integer, primary_key=True)
        name = Column(String)
"""

TESTS = """
    from app.db import Base, TestingSessionLocal, User, engine


    def setup_module(module):
        Base.metadata.create_all(bind=engine)


    def teardown_module(module):
        Base.metadata.drop_all(bind=engine)


    def setup_function(function):
        db = TestingSessionLocal()
        db.add(User(name=function.__name__))
        db.commit()
        db.close()


    def test_seeded():
        db = TestingSessionLocal()
        assert [u.name for u in db.query(User).order_by(User.id)] == ["test_seeded"]
        db.close()


    def teardown_function(function):
        db = TestingSessionLocal()
        db.query(User).delete()
        db.commit()
        db.close()


    class TestUsers:
        @classmethod
        def setup_class(cls):
            cls.names = ["ann"]

        def setup_method(self, method):
            self.db = TestingSessionLocal()
            self.db.add(User(name="ann"))
            self.db.commit()

        def teardown_method(self, method):
            self.db.close()

        def test_names(self):
            assert [u.name for u in self.db.query(User)] == self.names
"""

MIGRATED = """
    from app.db import Base, TestingSessionLocal, User, engine
    from sqlalchemy import delete, select
    import pytest
    import pytest_asyncio


    @pytest_asyncio.fixture(scope="module", autouse=True, loop_scope="session")
    async def setup_module():
        async with engine.begin() as conn:
            await conn.run_sync(Base.metadata.create_all)
        yield
        async with engine.begin() as conn:
            await conn.run_sync(Base.metadata.drop_all)


    @pytest_asyncio.fixture(autouse=True, loop_scope="session")
    async def setup_function(request):
        if request.instance is not None:
            yield
            return
        function = request.function
        db = TestingSessionLocal()
        db.add(User(name=function.__name__))
        await db.commit()
        await db.close()
        yield
        db = TestingSessionLocal()
        await db.execute(delete(User))
        await db.commit()
        await db.close()


    @pytest.mark.asyncio(loop_scope="session")
    async def test_seeded():
        db = TestingSessionLocal()
        assert [u.name for u in await db.scalars(select(User).order_by(User.id))] == ["test_seeded"]
        await db.close()


    class TestUsers:
        @classmethod
        def setup_class(cls):
            cls.names = ["ann"]

        @pytest_asyncio.fixture(autouse=True, loop_scope="session")
        async def setup_method(self):
            self.db = TestingSessionLocal()
            self.db.add(User(name="ann"))
            await self.db.commit()
            yield
            await self.db.close()

        @pytest.mark.asyncio(loop_scope="session")
        async def test_names(self):
            assert [u.name for u in await self.db.scalars(select(User))] == self.names
"""


def test_xunit_hooks_that_became_coroutines_become_autouse_fixtures() -> None:
    """``setup_class`` does no I/O and stays an xunit hook."""
    check_project(
        {"app.db": DB, "tests.test_users": TESTS},
        {"tests.test_users": MIGRATED},
    )


def test_a_hook_returning_early_gets_a_todo() -> None:
    check_project(
        {
            "app.db": DB,
            "tests.test_early": """
                from app.db import Base, engine


                def setup_module(module):
                    if engine.url.database is None:
                        return
                    Base.metadata.create_all(bind=engine)
            """,
        },
        {
            "tests.test_early": """
                from app.db import Base, engine


                # TODO(sqla-upgrade): setup_module is a coroutine now, which pytest calls without awaiting; make it an autouse pytest_asyncio fixture (it returns early)
                async def setup_module(module):
                    if engine.url.database is None:
                        return
                    async with engine.begin() as conn:
                        await conn.run_sync(Base.metadata.create_all)
            """,
        },
        todos=["setup_module is a coroutine now"],
    )


def test_hooks_without_io_and_functions_of_other_names_are_untouched() -> None:
    code = """
        def setup_module(module):
            module.ITEMS = [1, 2]


        def setup_database(module):
            pass


        class TestPlain:
            def setup_method(self, method):
                self.items = [1]

            def test_items(self):
                assert self.items == [1]
    """
    check_project({"app.db": DB, "tests.test_plain": code}, {"tests.test_plain": code})


def test_migrated_xunit_suite_passes_on_aiosqlite(tmp_path: Path) -> None:
    """The legacy suite and the migrated one pass alike, with never-awaited coroutines
    as errors."""
    from sqla_upgrade.api import migrate_project

    sources = {
        "app.__init__": "",
        "app.db": textwrap.dedent(DB).lstrip(),
        "tests.__init__": "",
        "tests.test_users": textwrap.dedent(TESTS).lstrip(),
    }
    migrated = {n: m.code for n, m in migrate_project(sources, target="async").items()}
    for label, modules, driver in (
        ("legacy", sources, "sqlite"),
        ("migrated", migrated, "sqlite+aiosqlite"),
    ):
        root = tmp_path / label
        for name, code in modules.items():
            path = root / (name.replace(".", "/") + ".py")
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(code)
        run = subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                "-q",
                "-p",
                "no:cacheprovider",
                "-W",
                "error::RuntimeWarning",
                "tests",
            ],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=300,
            env={**os.environ, "PYTHONPATH": str(root), "DB_URL": f"{driver}:///{root}/x.db"},
        )
        assert run.returncode == 0, f"{label}:\n{run.stdout}\n{run.stderr}"
        assert "2 passed" in run.stdout, run.stdout


def test_class_hooks_become_a_class_scoped_fixture_on_request_cls() -> None:
    check_project(
        {
            "app.db": DB,
            "tests.test_class": """
                from app.db import Base, TestingSessionLocal, User, engine


                class TestCount:
                    @classmethod
                    def setup_class(cls):
                        Base.metadata.create_all(bind=engine)
                        db = TestingSessionLocal()
                        cls.count = db.query(User).count()
                        db.close()

                    @classmethod
                    def teardown_class(cls):
                        Base.metadata.drop_all(bind=engine)
                        cls.count = None

                    def test_count(self):
                        assert self.count == 0
            """,
        },
        {
            "tests.test_class": """
                from app.db import Base, TestingSessionLocal, User, engine
                from sqlalchemy import func, select
                import pytest_asyncio


                class TestCount:
                    @pytest_asyncio.fixture(scope="class", autouse=True, loop_scope="session")
                    async def setup_class(self, request):
                        cls = request.cls
                        async with engine.begin() as conn:
                            await conn.run_sync(Base.metadata.create_all)
                        db = TestingSessionLocal()
                        cls.count = await db.scalar(select(func.count()).select_from(select(User).subquery()))
                        await db.close()
                        yield
                        async with engine.begin() as conn:
                            await conn.run_sync(Base.metadata.drop_all)
                        cls.count = None

                    def test_count(self):
                        assert self.count == 0
            """,
        },
    )
