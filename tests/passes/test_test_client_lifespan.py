"""async-test-client: clients outside ``with`` of an app whose module created its schema at
import time (schema-run-sync moves that into a lifespan) enter the app's lifespan."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sqla_upgrade.api import migrate_project
from tests.harness import _dedent, check_project

DB = """
    from sqlalchemy import Column, Integer, String, create_engine
    from sqlalchemy.orm import declarative_base, sessionmaker

    engine = create_engine("sqlite:///app.db")
    SessionLocal = sessionmaker(bind=engine)
    Base = declarative_base()


    class User(Base):
        __tablename__ = "users"
        id = Column(Integer, primary_key=True)
        name = Column(String, unique=True)
"""

MAIN = """
    from fastapi import Depends, FastAPI

    from app.db import Base, SessionLocal, User, engine

    Base.metadata.create_all(bind=engine)

    app = FastAPI()


    def get_db():
        db = SessionLocal()
        try:
            yield db
        finally:
            db.close()


    @app.post("/users/{name}")
    def add(name: str, db=Depends(get_db)):
        db.add(User(name=name))
        db.commit()
        return {"n": db.query(User).count()}
"""

MIGRATED_MAIN = """
    from fastapi import Depends, FastAPI

    from app.db import Base, SessionLocal, User, engine
    from sqlalchemy import func, select
    from contextlib import asynccontextmanager


    @asynccontextmanager
    async def lifespan(app):
        async with engine.begin() as conn:
            await conn.run_sync(Base.metadata.create_all)
        yield


    app = FastAPI(lifespan=lifespan)


    async def get_db():
        db = SessionLocal()
        try:
            yield db
        finally:
            await db.close()


    @app.post("/users/{name}")
    async def add(name: str, db=Depends(get_db)):
        db.add(User(name=name))
        await db.commit()
        return {"n": await db.scalar(select(func.count()).select_from(select(User).subquery()))}
"""

MODULE_CLIENT = """
    from app.main import app
    from fastapi.testclient import TestClient

    client = TestClient(app)


    def test_add():
        assert client.post("/users/ann").status_code == 200
"""


def test_module_level_client_enters_the_lifespan_holding_the_import_time_schema() -> None:
    check_project(
        {"app.__init__": "", "app.db": DB, "app.main": MAIN, "tests.test_users": MODULE_CLIENT},
        {
            "app.main": MIGRATED_MAIN,
            "tests.test_users": """
                from app.main import app
                import pytest_asyncio
                from httpx import ASGITransport, AsyncClient
                import pytest

                client = AsyncClient(transport=ASGITransport(app=app), base_url="http://testserver", follow_redirects=True)


                @pytest_asyncio.fixture(scope="module", loop_scope="session", autouse=True)
                async def app_lifespan():
                    async with app.router.lifespan_context(app):
                        yield


                @pytest.mark.asyncio(loop_scope="session")
                async def test_add():
                    assert (await client.post("/users/ann")).status_code == 200
            """,
        },
    )


def test_module_level_client_staying_a_test_client_is_entered_by_a_fixture() -> None:
    """Handed to a helper, the client stays a TestClient (its tests synchronous): a
    module fixture enters it, which runs the lifespan on its portal's loop."""
    tests = """
        from fastapi.testclient import TestClient

        from app.main import app
        from tests.helpers import status

        client = TestClient(app)
        app_lifespan = None


        def test_add():
            assert status(client, "/users/bob") == 200
    """
    check_project(
        {
            "app.__init__": "",
            "app.db": DB,
            "app.main": MAIN,
            "tests.helpers": "def status(client, path):\n    return client.post(path).status_code\n",
            "tests.test_users": tests,
        },
        {
            "tests.test_users": """
                from fastapi.testclient import TestClient

                from app.main import app
                from tests.helpers import status
                import pytest

                client = TestClient(app)


                @pytest.fixture(scope="module", autouse=True)
                def app_lifespan_2():
                    with client:
                        yield


                app_lifespan = None


                def test_add():
                    assert status(client, "/users/bob") == 200
            """,
        },
    )


def test_fixtures_yielding_or_returning_a_client_enter_the_lifespan() -> None:
    conftest = """
        import pytest
        from fastapi.testclient import TestClient

        from app.main import app


        @pytest.fixture
        def client():
            yield TestClient(app)


        @pytest.fixture
        def other_client():
            return TestClient(app)
    """
    tests = """
        def test_add(client, other_client):
            assert client.post("/users/cy").json() == {"n": 1}
            assert other_client.post("/users/di").json() == {"n": 2}
    """
    check_project(
        {
            "app.__init__": "",
            "app.db": DB,
            "app.main": MAIN,
            "tests.conftest": conftest,
            "tests.test_users": tests,
        },
        {
            "tests.conftest": """
                import pytest

                from app.main import app
                from httpx import ASGITransport, AsyncClient
                import pytest_asyncio


                @pytest_asyncio.fixture(loop_scope="session")
                async def client():
                    async with app.router.lifespan_context(app):
                        yield AsyncClient(transport=ASGITransport(app=app), base_url="http://testserver", follow_redirects=True)


                @pytest_asyncio.fixture(loop_scope="session")
                async def other_client():
                    async with app.router.lifespan_context(app):
                        yield AsyncClient(transport=ASGITransport(app=app), base_url="http://testserver", follow_redirects=True)
            """,
        },
    )


def test_clients_of_an_app_without_import_time_schema_run_no_lifespan() -> None:
    """No schema moved into a lifespan: a client outside ``with`` stays without one (as
    TestClient outside ``with``, which never ran the app's startup)."""
    main = MAIN.replace("    Base.metadata.create_all(bind=engine)\n\n", "")
    tests = {
        "tests.test_users": MODULE_CLIENT,
        "tests.conftest": """
            import pytest
            from fastapi.testclient import TestClient

            from app.main import app


            @pytest.fixture
            def other_client():
                return TestClient(app)
        """,
    }
    result = migrate_project(
        {"app.__init__": "", "app.db": _dedent(DB), "app.main": _dedent(main)}
        | {k: _dedent(v) for k, v in tests.items()},
        target="async",
    )
    code = result["tests.test_users"].code
    assert "client = AsyncClient(" in code and "lifespan" not in code
    assert "lifespan" not in result["tests.conftest"].code
    assert not [n for m in result.values() for n in m.todos]


def test_lifespan_running_on_event_handlers_too_and_clients_left_outside_with_get_todos() -> None:
    main = (
        MAIN
        + """

    @app.on_event("startup")
    def warm_up():
        print("warm")
    """
    )
    tests = """
        from app.main import app
        from fastapi.testclient import TestClient

        client = TestClient(app)


        def test_add():
            assert client.post("/users/ann").status_code == 200


        def test_raw():
            raw = TestClient(app, raise_server_exceptions=False)
            assert raw.post("/users/bob").status_code == 200
    """
    check_project(
        {"app.__init__": "", "app.db": DB, "app.main": main, "tests.test_users": tests},
        {
            "tests.test_users": """
                from app.main import app
                from fastapi.testclient import TestClient
                import pytest_asyncio
                from httpx import ASGITransport, AsyncClient
                import pytest

                # TODO(sqla-upgrade): the app's lifespan, now entered for these tests so that the schema its module created at import time exists, also runs its on_event startup/shutdown handlers, which they did not run before
                client = AsyncClient(transport=ASGITransport(app=app), base_url="http://testserver", follow_redirects=True)


                @pytest_asyncio.fixture(scope="module", loop_scope="session", autouse=True)
                async def app_lifespan():
                    async with app.router.lifespan_context(app):
                        yield


                @pytest.mark.asyncio(loop_scope="session")
                async def test_add():
                    assert (await client.post("/users/ann")).status_code == 200


                def test_raw():
                    # TODO(sqla-upgrade): this test client runs no lifespan, and the app's lifespan now creates the schema its module created at import time: enter it (`with TestClient(app) as client:`)
                    raw = TestClient(app, raise_server_exceptions=False)
                    assert raw.post("/users/bob").status_code == 200
            """,
        },
        todos=[
            "also runs its on_event startup/shutdown handlers",
            "this test client runs no lifespan",
        ],
    )


def test_clients_entered_by_the_tests_get_no_fixture() -> None:
    """``with client:`` in the user's own fixture, ``with TestClient(app)``: the lifespan
    runs already."""
    tests = {
        "tests.test_users": """
            import pytest
            from fastapi.testclient import TestClient

            from app.main import app

            client = TestClient(app)


            @pytest.fixture(autouse=True)
            def entered():
                with client:
                    yield


            def test_add():
                assert client.post("/users/ann").status_code == 200


            def test_again():
                with TestClient(app, raise_server_exceptions=False) as other:
                    assert other.post("/users/bob").status_code == 200
        """,
    }
    check_project({"app.__init__": "", "app.db": DB, "app.main": MAIN, **tests}, tests)


RUNTIME_TESTS = {
    "tests.__init__": "",
    "tests.helpers": """
        def post(client, path):
            return client.post(path).json()["n"]
    """,
    "tests.conftest": """
        import pytest
        from fastapi.testclient import TestClient

        from app.main import app


        @pytest.fixture
        def fixture_client():
            yield TestClient(app)
    """,
    "tests.test_a_module_client": """
        from fastapi.testclient import TestClient

        from app.main import app

        client = TestClient(app)


        def test_add():
            assert client.post("/users/ann").json()["n"] >= 1
    """,
    "tests.test_b_fixture_client": """
        def test_add(fixture_client):
            assert fixture_client.post("/users/bob").json()["n"] >= 1
    """,
    "tests.test_c_sync_client": """
        from fastapi.testclient import TestClient

        from app.main import app
        from tests.helpers import post

        client = TestClient(app)


        def test_add():
            assert post(client, "/users/cy") >= 1
    """,
}


def test_migrated_clients_find_the_schema_the_legacy_import_created(tmp_path: Path) -> None:
    """The legacy suite (tables created at import) and the migrated one (tables created
    by the lifespan its clients now enter) pass alike on a fresh SQLite database."""
    legacy = {
        name: _dedent(code)
        for name, code in {
            "app.__init__": "",
            "app.db": DB,
            "app.main": MAIN,
            **RUNTIME_TESTS,
        }.items()
    }
    result = migrate_project(legacy, target="async")
    assert not [n.message for m in result.values() for n in m.todos]
    migrated = {name: migration.code for name, migration in result.items()}
    assert "AsyncClient(" in migrated["tests.test_a_module_client"]
    for label, modules in (("legacy", legacy), ("migrated", migrated)):
        root = tmp_path / label
        for name, code in modules.items():
            path = root / (name.replace(".", "/") + ".py")
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(code)
        run = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=300,
            env={**os.environ, "PYTHONPATH": str(root)},
        )
        assert run.returncode == 0, f"{label}:\n{run.stdout}\n{run.stderr}"
        assert "3 passed" in run.stdout, run.stdout


def test_a_client_made_in_a_helper_module_gets_a_todo() -> None:
    """``client = TestClient(app)`` in a module pytest collects no fixture from (imported
    by the tests): a TODO, no fixture."""
    helper = """
        from app.main import app
        from fastapi.testclient import TestClient

        client = TestClient(app)
    """
    tests = """
        from tests.clients import client


        def test_add():
            assert client.post("/users/ann").status_code == 200
    """
    result = migrate_project(
        {
            "app.__init__": "",
            "app.db": _dedent(DB),
            "app.main": _dedent(MAIN),
            "tests.clients": _dedent(helper),
            "tests.test_users": _dedent(tests),
        },
        target="async",
    )
    code = result["tests.clients"].code
    assert "# TODO(sqla-upgrade): this test client runs no lifespan" in code
    assert "fixture(" not in code
