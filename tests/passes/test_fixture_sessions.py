"""A test's parameter is what the project's pytest fixture of its name gives.

``@pytest.fixture def session_factory(engine): return sessionmaker(bind=engine)``, then
``def test_x(session_factory): session = session_factory(); session.commit()``: the
parameter is a session factory, whatever its name, and what calling it gives a session
(in tests and in other fixtures); a fixture yielding one of those gives a session.
"""

from __future__ import annotations

from sqla_upgrade.codemods.index import IndexBuilder, ProjectIndex
from sqla_upgrade.codemods.index.model import ObjectKind
from tests.harness import _dedent, check_project

CONFTEST = """
    import pytest
    from sqlalchemy import create_engine
    from sqlalchemy.orm import sessionmaker


    @pytest.fixture
    def engine():
        return create_engine("sqlite://")


    @pytest.fixture
    def session_factory(engine):
        return sessionmaker(bind=engine)


    @pytest.fixture
    def handle(session_factory):
        s = session_factory()
        yield s
        s.close()
"""

MIGRATED_CONFTEST = """
    import pytest
    from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine
    import pytest_asyncio


    @pytest.fixture
    def engine():
        return create_async_engine("sqlite+aiosqlite://")


    @pytest.fixture
    def session_factory(engine):
        return async_sessionmaker(bind=engine, expire_on_commit=False)


    @pytest_asyncio.fixture(loop_scope="session")
    async def handle(session_factory):
        s = session_factory()
        yield s
        await s.close()
"""


def _index(sources: dict[str, str]) -> ProjectIndex:
    builder = IndexBuilder()
    for name, code in sources.items():
        path = name.replace(".", "/") + ".py"
        builder.add(_dedent(code).encode(), name, path, name.endswith("__init__"))
    return builder.build()


def test_the_index_records_what_fixtures_give() -> None:
    index = _index(
        {
            "tests.conftest": CONFTEST,
            "tests.test_other": """
                import pytest


                @pytest.fixture
                def engine():
                    return object()


                @pytest.fixture
                def label():
                    return "x"
            """,
        }
    )
    assert index.fixture_kinds == {
        "session_factory": ObjectKind.SESSION_FACTORY,
        "handle": ObjectKind.SESSION,  # yields what the factory fixture gives
        # ``engine``: another module's fixture of that name gives something else
    }


def test_a_session_factory_fixture_gives_tests_sessions() -> None:
    check_project(
        {
            "tests.conftest": CONFTEST,
            "tests.test_items": """
                from sqlalchemy import text


                def test_factory(session_factory):
                    made = session_factory()
                    made.execute(text("select 1"))
                    made.commit()


                def test_handle(handle):
                    handle.execute(text("select 1"))


                def test_begin(session_factory):
                    with session_factory.begin() as tx:
                        tx.execute(text("select 1"))
            """,
        },
        {
            "tests.conftest": MIGRATED_CONFTEST,
            "tests.test_items": """
                from sqlalchemy import text
                import pytest


                @pytest.mark.asyncio(loop_scope="session")
                async def test_factory(session_factory):
                    made = session_factory()
                    await made.execute(text("select 1"))
                    await made.commit()


                @pytest.mark.asyncio(loop_scope="session")
                async def test_handle(handle):
                    await handle.execute(text("select 1"))


                @pytest.mark.asyncio(loop_scope="session")
                async def test_begin(session_factory):
                    async with session_factory.begin() as tx:
                        await tx.execute(text("select 1"))
            """,
        },
    )


def test_a_parameter_named_as_a_fixture_outside_tests_is_no_session() -> None:
    """A function neither a test nor a fixture is not given fixtures: ``handle`` there is
    whatever its callers hand it."""
    check_project(
        {
            "tests.conftest": CONFTEST,
            "app.files": """
                def close_all(handle):
                    handle.flush()
                    handle.close()
            """,
        },
        {
            "tests.conftest": MIGRATED_CONFTEST,
            "app.files": """
                def close_all(handle):
                    handle.flush()
                    handle.close()
            """,
        },
    )
