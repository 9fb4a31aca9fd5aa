"""async-test-client: tests of an app that became async use httpx.AsyncClient."""

from __future__ import annotations

from tests.harness import check_project

APP = {
    "app.db": """
        from sqlalchemy import create_engine
        from sqlalchemy.orm import sessionmaker

        engine = create_engine("sqlite:///app.db")
        SessionLocal = sessionmaker(bind=engine)
    """,
    "app.main": """
        from fastapi import Depends, FastAPI
        from sqlalchemy import text

        from app.db import SessionLocal

        app = FastAPI()


        def get_db():
            db = SessionLocal()
            try:
                yield db
            finally:
                db.close()


        @app.get("/count")
        def count(db=Depends(get_db)):
            return {"n": db.execute(text("select 1")).scalar()}
    """,
}

CONFTEST = """
    import pytest
    from fastapi.testclient import TestClient

    from app.main import app


    @pytest.fixture
    def client():
        with TestClient(app) as test_client:
            yield test_client


    @pytest.fixture
    def get_count(client):
        def get():
            return client.get("/count").json()["n"]

        return get
"""

TESTS = """
    def test_count(client, get_count):
        assert client.get("/count").status_code == 200
        assert get_count() == 1
"""


def test_fixture_tests_and_factory_fixtures_move_to_async_client() -> None:
    check_project(
        {**APP, "tests.conftest": CONFTEST, "tests.test_count": TESTS},
        {
            "tests.conftest": """
                import pytest

                from app.main import app
                from httpx import ASGITransport, AsyncClient
                import pytest_asyncio


                @pytest_asyncio.fixture(loop_scope="session")
                async def client():
                    async with app.router.lifespan_context(app), AsyncClient(transport=ASGITransport(app=app), base_url="http://testserver", follow_redirects=True) as test_client:
                        yield test_client


                @pytest.fixture
                def get_count(client):
                    async def get():
                        return (await client.get("/count")).json()["n"]

                    return get
            """,
            "tests.test_count": """
                import pytest


                @pytest.mark.asyncio(loop_scope="session")
                async def test_count(client, get_count):
                    assert (await client.get("/count")).status_code == 200
                    assert await get_count() == 1
            """,
        },
    )


def test_tests_of_an_app_without_database_io_keep_test_client() -> None:
    app = {
        "app.main": """
            from fastapi import FastAPI

            app = FastAPI()


            @app.get("/health")
            def health():
                return {"ok": True}
        """,
    }
    tests = {"tests.conftest": CONFTEST, "tests.test_count": TESTS}
    check_project({**app, **tests}, tests)


def test_test_client_with_options_stays_a_sync_test() -> None:
    """``TestClient(app, ...)`` options have no AsyncClient twin: the test stays
    synchronous (a sync TestClient drives an async app on its own loop)."""
    tests = {
        "tests.test_count": """
            from fastapi.testclient import TestClient

            from app.main import app


            def test_count():
                with TestClient(app, raise_server_exceptions=False) as client:
                    assert client.get("/count").status_code == 200
        """,
    }
    check_project({**APP, **tests}, tests)


def test_module_level_client_of_the_tutorial_becomes_an_async_client() -> None:
    """``client = TestClient(app)`` at the top of a test module: its tests await their
    requests on an ``AsyncClient`` made there too (no lifespan, as before)."""
    tests = {
        "tests.test_count": """
            from app.main import app
            from fastapi.testclient import TestClient

            client = TestClient(app)


            def test_count():
                response = client.get("/count")
                assert response.status_code == 200
                assert [client.get("/count").json()["n"] for _ in range(2)] == [1, 1]
        """,
    }
    check_project(
        {**APP, **tests},
        {
            "tests.test_count": """
                from app.main import app
                from httpx import ASGITransport, AsyncClient
                import pytest

                client = AsyncClient(transport=ASGITransport(app=app), base_url="http://testserver", follow_redirects=True)


                @pytest.mark.asyncio(loop_scope="session")
                async def test_count():
                    response = await client.get("/count")
                    assert response.status_code == 200
                    assert [(await client.get("/count")).json()["n"] for _ in range(2)] == [1, 1]
            """,
        },
    )


def test_fixtures_returning_or_yielding_a_test_client_give_an_async_client() -> None:
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
        def test_count(client, other_client):
            assert client.get("/count").json() == other_client.get("/count").json()
    """
    check_project(
        {**APP, "tests.conftest": conftest, "tests.test_count": tests},
        {
            "tests.conftest": """
                import pytest

                from app.main import app
                from httpx import ASGITransport, AsyncClient
                import pytest_asyncio


                @pytest_asyncio.fixture(loop_scope="session")
                async def client():
                    yield AsyncClient(transport=ASGITransport(app=app), base_url="http://testserver", follow_redirects=True)


                @pytest_asyncio.fixture(loop_scope="session")
                async def other_client():
                    return AsyncClient(transport=ASGITransport(app=app), base_url="http://testserver", follow_redirects=True)
            """,
            "tests.test_count": """
                import pytest


                @pytest.mark.asyncio(loop_scope="session")
                async def test_count(client, other_client):
                    assert (await client.get("/count")).json() == (await other_client.get("/count")).json()
            """,
        },
    )


def test_module_level_client_handed_elsewhere_stays_a_sync_test_client() -> None:
    """A module-level client handed to a helper (which would get an AsyncClient whose
    requests it does not await), or imported by another module, stays a TestClient: its
    tests stay synchronous, which still drives the async app."""
    tests = {
        "tests.helpers": """
            def status(client, path):
                return client.get(path).status_code
        """,
        "tests.test_handed": """
            from fastapi.testclient import TestClient

            from app.main import app
            from tests.helpers import status

            client = TestClient(app)


            def test_count():
                assert status(client, "/count") == 200
                assert client.get("/count").status_code == 200
        """,
        "tests.test_shared": """
            from fastapi.testclient import TestClient

            from app.main import app

            client = TestClient(app)


            def test_count():
                assert client.get("/count").status_code == 200
        """,
        "tests.test_importer": """
            from tests.test_shared import client


            def test_again():
                assert client.get("/count").status_code == 200
        """,
    }
    check_project({**APP, **tests}, tests)
