"""FastAPI dependency styles: ``Annotated`` session aliases, a middleware's
``request.state.db`` session, and ``StreamingResponse`` of an async generator."""

from __future__ import annotations

import os
import sqlite3
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
        name = Column(String)
"""

ALIAS = """
    from typing import Annotated

    from fastapi import Depends, FastAPI
    from sqlalchemy.orm import Session

    from app.db import SessionLocal, User

    app = FastAPI()


    def get_db():
        with SessionLocal() as db:
            yield db


    SessionDep = Annotated[Session, Depends(get_db)]


    @app.get("/count")
    def count(db: SessionDep):
        return {"n": db.query(User).count()}
"""


def test_annotated_session_alias_is_a_session_and_becomes_async() -> None:
    check_project(
        {"app.db": DB, "app.main": ALIAS},
        {
            "app.main": """
                from typing import Annotated

                from fastapi import Depends, FastAPI

                from app.db import SessionLocal, User
                from sqlalchemy import func, select
                from sqlalchemy.ext.asyncio import AsyncSession

                app = FastAPI()


                async def get_db():
                    async with SessionLocal() as db:
                        yield db


                SessionDep = Annotated[AsyncSession, Depends(get_db)]


                @app.get("/count")
                async def count(db: SessionDep):
                    return {"n": await db.scalar(select(func.count()).select_from(select(User).subquery()))}
            """,
        },
    )


def test_annotated_session_alias_is_a_session_under_target_2_0() -> None:
    check_project(
        {"app.db": DB, "app.main": ALIAS},
        {
            "app.main": """
                from typing import Annotated

                from fastapi import Depends, FastAPI
                from sqlalchemy.orm import Session

                from app.db import SessionLocal, User
                from sqlalchemy import func, select

                app = FastAPI()


                def get_db():
                    with SessionLocal() as db:
                        yield db


                SessionDep = Annotated[Session, Depends(get_db)]


                @app.get("/count")
                def count(db: SessionDep):
                    return {"n": db.scalar(select(func.count()).select_from(select(User).subquery()))}
            """,
        },
        target="2.0",
    )


def test_type_alias_annotated_session_alias_becomes_async() -> None:
    """``SessionDep: TypeAlias = ...``; an alias of another type stays as it is."""
    main = """
        from typing import Annotated, TypeAlias

        from fastapi import Depends, FastAPI
        from sqlalchemy.orm import Session

        from app.db import SessionLocal, User

        app = FastAPI()


        def get_db():
            with SessionLocal() as db:
                yield db


        SessionDep: TypeAlias = Annotated[Session, Depends(get_db)]
        UserId = Annotated[int, "the user's id"]


        @app.get("/users/{user_id}")
        def read(user_id: UserId, db: SessionDep):
            return {"found": db.query(User).get(user_id) is not None}
    """
    check_project(
        {"app.db": DB, "app.main": main},
        {
            "app.main": """
                from typing import Annotated, TypeAlias

                from fastapi import Depends, FastAPI

                from app.db import SessionLocal, User
                from sqlalchemy.ext.asyncio import AsyncSession

                app = FastAPI()


                async def get_db():
                    async with SessionLocal() as db:
                        yield db


                SessionDep: TypeAlias = Annotated[AsyncSession, Depends(get_db)]
                UserId = Annotated[int, "the user's id"]


                @app.get("/users/{user_id}")
                async def read(user_id: UserId, db: SessionDep):
                    return {"found": await db.get(User, user_id) is not None}
            """,
        },
    )


def test_annotated_alias_of_another_type_is_no_session_evidence() -> None:
    """A parameter named ``session`` annotated with an alias of a search client: its
    ``query()`` is the client's, left alone."""
    main = """
        from typing import Annotated

        from fastapi import Depends, FastAPI

        from app.search import SearchClient, get_search

        app = FastAPI()
        Search = Annotated[SearchClient, Depends(get_search)]


        @app.get("/find")
        def find(session: Search):
            return session.query("x").all()
    """
    search = """
        class SearchClient:
            def query(self, text):
                return self


        def get_search():
            return SearchClient()
    """
    modules = {"app.db": DB, "app.search": search, "app.main": main}
    check_project(modules, {"app.main": main}, target="2.0")
    check_project(modules, {"app.main": main})


DEPS = """
    from typing import Annotated

    from fastapi import Depends
    from sqlalchemy.orm import Session

    from app.db import SessionLocal


    def get_db():
        with SessionLocal() as db:
            yield db


    SessionDep = Annotated[Session, Depends(get_db)]
"""

ROUTES = """
    from fastapi import APIRouter

    from app.db import User
    from app.deps import SessionDep

    router = APIRouter()


    @router.get("/users")
    def read(db: SessionDep):
        return [user.name for user in db.query(User).all()]
"""


def test_imported_session_alias_is_a_session_and_becomes_async() -> None:
    """``SessionDep`` defined in ``app.deps`` (rewritten there), imported by the routes:
    the route is a session user as in the alias's own module (it was left synchronous,
    handed the ``AsyncSession`` of an async generator)."""
    check_project(
        {"app.db": DB, "app.deps": DEPS, "app.routes": ROUTES},
        {
            "app.deps": """
                from typing import Annotated

                from fastapi import Depends

                from app.db import SessionLocal
                from sqlalchemy.ext.asyncio import AsyncSession


                async def get_db():
                    async with SessionLocal() as db:
                        yield db


                SessionDep = Annotated[AsyncSession, Depends(get_db)]
            """,
            "app.routes": """
                from fastapi import APIRouter

                from app.db import User
                from app.deps import SessionDep
                from sqlalchemy import select

                router = APIRouter()


                @router.get("/users")
                async def read(db: SessionDep):
                    return [user.name for user in (await db.scalars(select(User))).all()]
            """,
        },
    )


def test_imported_session_alias_is_a_session_under_target_2_0() -> None:
    check_project(
        {"app.db": DB, "app.deps": DEPS, "app.routes": ROUTES},
        {
            "app.deps": DEPS,
            "app.routes": """
                from fastapi import APIRouter

                from app.db import User
                from app.deps import SessionDep
                from sqlalchemy import select

                router = APIRouter()


                @router.get("/users")
                def read(db: SessionDep):
                    return [user.name for user in db.scalars(select(User)).all()]
            """,
        },
        target="2.0",
    )


def test_session_alias_through_a_re_export_reaches_the_helpers_it_is_handed_to() -> None:
    """``from app.api import SessionDep`` (``app.api`` re-exporting ``app.deps``'s), a
    ``TypeAlias`` spelling, and an unannotated helper of another module handed the
    route's session: a session by the index's inference over the call sites."""
    deps = """
        from typing import Annotated, TypeAlias

        from fastapi import Depends
        from sqlalchemy.orm import Session

        from app.db import SessionLocal


        def get_db():
            with SessionLocal() as db:
                yield db


        SessionDep: TypeAlias = Annotated[Session, Depends(get_db)]
    """
    api = """
        from app.deps import SessionDep

        __all__ = ["SessionDep"]
    """
    crud = """
        from app.db import User


        def names(s):
            return [user.name for user in s.query(User).order_by(User.name)]
    """
    routes = """
        from fastapi import APIRouter

        from app import crud
        from app.api import SessionDep

        router = APIRouter()


        @router.get("/names")
        def read(db: SessionDep):
            return crud.names(db)
    """
    check_project(
        {"app.db": DB, "app.deps": deps, "app.api": api, "app.crud": crud, "app.routes": routes},
        {
            "app.api": api,
            "app.crud": """
                from app.db import User
                from sqlalchemy import select


                async def names(s):
                    return [user.name for user in await s.scalars(select(User).order_by(User.name))]
            """,
            "app.routes": """
                from fastapi import APIRouter

                from app import crud
                from app.api import SessionDep

                router = APIRouter()


                @router.get("/names")
                async def read(db: SessionDep):
                    return await crud.names(db)
            """,
        },
    )


def test_imported_alias_of_another_type_is_no_session_evidence() -> None:
    """An alias of a search client imported from another module, a parameter named
    ``session`` annotated with it, and an alias whose name is bound twice (once to
    something else than a type alias): none is a session, nothing changes."""
    search = """
        from typing import Annotated

        from fastapi import Depends
        from sqlalchemy.orm import Session


        class SearchClient:
            def query(self, text):
                return self

            def all(self):
                return []


        def get_search():
            return SearchClient()


        Search = Annotated[SearchClient, Depends(get_search)]
        Maybe = Annotated[Session, "a session"]
        Maybe = SearchClient
    """
    routes = """
        from fastapi import APIRouter

        from app.search import Maybe, Search

        router = APIRouter()


        @router.get("/find")
        def find(session: Search):
            return session.query("x").all()


        @router.get("/maybe")
        def maybe(session: Maybe):
            return session.query("y").all()
    """
    modules = {"app.db": DB, "app.search": search, "app.routes": routes}
    check_project(modules, {"app.routes": routes}, target="2.0")
    check_project(modules, {"app.routes": routes})


MIDDLEWARE = """
    from fastapi import FastAPI, Request
    from sqlalchemy import create_engine, text
    from sqlalchemy.orm import sessionmaker

    engine = create_engine("sqlite://")
    SessionLocal = sessionmaker(bind=engine)
    app = FastAPI()


    @app.middleware("http")
    async def db_session_middleware(request: Request, call_next):
        try:
            request.state.db = SessionLocal()
            response = await call_next(request)
            request.state.db.commit()
        finally:
            request.state.db.close()
        return response


    @app.get("/one")
    def one(request: Request):
        db = request.state.db
        return db.execute(text("select 1")).scalar() + request.state.db.scalar(text("select 1"))
"""


def test_middleware_session_on_request_state_is_awaited_and_read_by_routes() -> None:
    check_project(
        {"app.main": MIDDLEWARE},
        {
            "app.main": """
                from fastapi import FastAPI, Request
                from sqlalchemy import text
                from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

                engine = create_async_engine("sqlite+aiosqlite://")
                SessionLocal = async_sessionmaker(bind=engine, expire_on_commit=False)
                app = FastAPI()


                @app.middleware("http")
                async def db_session_middleware(request: Request, call_next):
                    try:
                        request.state.db = SessionLocal()
                        response = await call_next(request)
                        await request.state.db.commit()
                    finally:
                        await request.state.db.close()
                    return response


                @app.get("/one")
                async def one(request: Request):
                    db = request.state.db
                    return (await db.execute(text("select 1"))).scalar() + await request.state.db.scalar(text("select 1"))
            """,
        },
    )


def test_request_state_holding_something_else_is_left_alone() -> None:
    main = """
        from fastapi import FastAPI, Request
        from sqlalchemy.orm import Session

        from app.timing import Timer

        app = FastAPI()


        @app.middleware("http")
        async def timing(request: Request, call_next):
            request.state.timer = Timer()
            request.state.timer.start()
            response = await call_next(request)
            request.state.timer.close()
            return response


        @app.get("/one")
        def one(request: Request, session: Session):
            session.commit()
            return request.state.timer.close()
    """
    timing = """
        class Timer:
            def start(self):
                pass

            def close(self):
                return 1
    """
    check_project(
        {"app.timing": timing, "app.main": main},
        {
            "app.main": """
                from fastapi import FastAPI, Request

                from app.timing import Timer
                from sqlalchemy.ext.asyncio import AsyncSession

                app = FastAPI()


                @app.middleware("http")
                async def timing(request: Request, call_next):
                    request.state.timer = Timer()
                    request.state.timer.start()
                    response = await call_next(request)
                    request.state.timer.close()
                    return response


                @app.get("/one")
                async def one(request: Request, session: AsyncSession):
                    await session.commit()
                    return request.state.timer.close()
            """,
        },
    )


def test_streaming_response_takes_the_async_generator_without_a_todo() -> None:
    main = """
        from fastapi import Depends, FastAPI
        from fastapi.responses import StreamingResponse
        from sqlalchemy import text
        from sqlalchemy.orm import Session

        from app.db import SessionLocal

        app = FastAPI()


        def get_db():
            with SessionLocal() as db:
                yield db


        @app.get("/export")
        def export(db: Session = Depends(get_db)):
            def rows():
                for (n,) in db.execute(text("select 1 union all select 2")):
                    yield f"{n}\\n"

            return StreamingResponse(rows(), media_type="text/csv")
    """
    check_project(
        {"app.db": DB, "app.main": main},
        {
            "app.main": """
                from fastapi import Depends, FastAPI
                from fastapi.responses import StreamingResponse
                from sqlalchemy import text

                from app.db import SessionLocal
                from sqlalchemy.ext.asyncio import AsyncSession

                app = FastAPI()


                async def get_db():
                    async with SessionLocal() as db:
                        yield db


                @app.get("/export")
                async def export(db: AsyncSession = Depends(get_db)):
                    async def rows():
                        for (n,) in await db.execute(text("select 1 union all select 2")):
                            yield f"{n}\\n"

                    return StreamingResponse(rows(), media_type="text/csv")
            """,
        },
    )


APP = """
    from typing import Annotated

    from fastapi import Depends, FastAPI, Request
    from fastapi.responses import StreamingResponse
    from sqlalchemy.orm import Session

    from app.db import SessionLocal, User

    app = FastAPI()


    def get_db():
        with SessionLocal() as db:
            yield db


    SessionDep = Annotated[Session, Depends(get_db)]


    @app.middleware("http")
    async def db_session_middleware(request: Request, call_next):
        try:
            request.state.db = SessionLocal()
            response = await call_next(request)
            request.state.db.commit()
        finally:
            request.state.db.close()
        return response


    @app.get("/count")
    def count(db: SessionDep):
        return {"n": db.query(User).count()}


    @app.post("/users/{name}")
    def add(name: str, request: Request):
        request.state.db.add(User(name=name))
        return {"added": name}


    @app.get("/names")
    def names(request: Request):
        db = request.state.db
        return [name for (name,) in db.query(User.name).order_by(User.name)]


    @app.get("/export")
    def export(db: SessionDep):
        def rows():
            for user in db.query(User).order_by(User.id):
                yield f"{user.id},{user.name}\\n"

        return StreamingResponse(rows(), media_type="text/csv")
"""

MODULE_CLIENT_TESTS = """
    from fastapi.testclient import TestClient

    from app.main import app

    client = TestClient(app)


    def test_add_then_count():
        assert client.get("/count").json() == {"n": 2}
        assert client.post("/users/cy").json() == {"added": "cy"}
        assert client.get("/count").json() == {"n": 3}
        assert client.get("/names").json() == ["ann", "bob", "cy"]
"""

FIXTURE_CLIENT_TESTS = """
    import pytest
    from fastapi.testclient import TestClient

    from app.main import app


    @pytest.fixture
    def client():
        yield TestClient(app)


    def test_export(client):
        assert client.get("/export").text == "1,ann\\n2,bob\\n"
"""


def test_migrated_fastapi_app_and_its_tests_pass_as_before_on_aiosqlite(tmp_path: Path) -> None:
    """An alias dependency, a middleware's request.state session (committed and closed
    there), a streamed response, a module-level and a fixture TestClient: the legacy
    suite and the migrated one (httpx.AsyncClient on aiosqlite) pass alike, with no
    coroutine left unawaited."""
    sources = {
        "app.__init__": "",
        "app.db": DB,
        "app.main": APP,
        "tests.__init__": "",
        "tests.test_module_client": MODULE_CLIENT_TESTS,
        "tests.test_fixture_client": FIXTURE_CLIENT_TESTS,
    }
    migrated = _run_legacy_and_migrated(sources, tmp_path, "2 passed")
    assert "await client.get" in migrated["tests.test_module_client"]


ROUTED_MAIN = """
    from fastapi import FastAPI

    from app import routes

    app = FastAPI()
    app.include_router(routes.router)
"""

ROUTED_TESTS = """
    from fastapi.testclient import TestClient

    from app.main import app

    client = TestClient(app)


    def test_users():
        assert client.get("/users").json() == ["ann", "bob"]


    def test_names():
        assert client.get("/names").json() == ["ann", "bob"]
"""


def test_routes_on_an_imported_session_alias_pass_their_tests_as_before_on_aiosqlite(
    tmp_path: Path,
) -> None:
    """Routes in their own module on ``app.deps``'s ``SessionDep``, one through a helper
    of a third module: the legacy suite (TestClient) and the migrated one
    (httpx.AsyncClient, aiosqlite) pass alike."""
    crud = """
        from app.db import User


        def names(s):
            return [user.name for user in s.query(User).order_by(User.name)]
    """
    routes = """
        from fastapi import APIRouter

        from app import crud
        from app.db import User
        from app.deps import SessionDep

        router = APIRouter()


        @router.get("/users")
        def read(db: SessionDep):
            return [user.name for user in db.query(User).all()]


        @router.get("/names")
        def names(db: SessionDep):
            return crud.names(db)
    """
    sources = {
        "app.__init__": "",
        "app.db": DB,
        "app.deps": DEPS,
        "app.crud": crud,
        "app.routes": routes,
        "app.main": ROUTED_MAIN,
        "tests.__init__": "",
        "tests.test_routes": ROUTED_TESTS,
    }
    migrated = _run_legacy_and_migrated(sources, tmp_path, "2 passed")
    assert "async def read(db: SessionDep)" in migrated["app.routes"]
    assert "await client.get" in migrated["tests.test_routes"]


def _run_legacy_and_migrated(
    sources: dict[str, str], tmp_path: Path, outcome: str
) -> dict[str, str]:
    """Migrate ``sources`` (no TODO expected), then run the project's tests, legacy and
    migrated, each on a seeded SQLite database, with no coroutine left unawaited."""
    legacy = {name: _dedent(code) for name, code in sources.items()}
    result = migrate_project(legacy, target="async")
    assert not [n.message for m in result.values() for n in m.todos]
    migrated = {name: migration.code for name, migration in result.items()}
    for label, modules in (("legacy", legacy), ("migrated", migrated)):
        root = tmp_path / label
        for name, code in modules.items():
            path = root / (name.replace(".", "/") + ".py")
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(code)
        _seed(root / "app.db")
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
                "-W",
                "error::pytest.PytestUnraisableExceptionWarning",
                "tests",
            ],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=300,
            env={**os.environ, "PYTHONPATH": str(root)},
        )
        assert run.returncode == 0, f"{label}:\n{run.stdout}\n{run.stderr}"
        assert outcome in run.stdout, run.stdout
    return migrated


def _seed(database: Path) -> None:
    with sqlite3.connect(database) as connection:
        connection.execute("create table users (id integer primary key, name varchar)")
        connection.executemany("insert into users (name) values (?)", [("ann",), ("bob",)])


def test_a_generator_dependency_that_became_async_is_annotated_as_one() -> None:
    """``get_db() -> Generator[Session, None, None]`` is an async generator now:
    ``AsyncGenerator[AsyncSession, None]`` (``Iterator`` → ``AsyncIterator``, from the
    module the original came from); a function that does not yield keeps its own."""
    check_project(
        {
            "app.db": DB,
            "app.deps": """
                import collections.abc
                import typing
                from typing import Generator, Iterator, Optional

                from sqlalchemy.orm import Session

                from app.db import SessionLocal, User


                def get_db() -> Generator[Session, None, None]:
                    db = SessionLocal()
                    try:
                        yield db
                    finally:
                        db.close()


                def get_db2() -> Iterator[Session]:
                    with SessionLocal() as db:
                        yield db


                def get_db3() -> typing.Generator:
                    with SessionLocal() as db:
                        yield db


                def names() -> collections.abc.Iterable[str]:
                    with SessionLocal() as db:
                        for user in db.query(User):
                            yield user.name


                def first() -> Optional[User]:
                    with SessionLocal() as db:
                        return db.query(User).first()
            """,
        },
        {
            "app.deps": """
                import collections.abc
                import typing
                from typing import AsyncGenerator, AsyncIterator, Optional

                from app.db import SessionLocal, User
                from sqlalchemy import select
                from sqlalchemy.ext.asyncio import AsyncSession


                async def get_db() -> AsyncGenerator[AsyncSession, None]:
                    db = SessionLocal()
                    try:
                        yield db
                    finally:
                        await db.close()


                async def get_db2() -> AsyncIterator[AsyncSession]:
                    async with SessionLocal() as db:
                        yield db


                async def get_db3() -> typing.AsyncGenerator:
                    async with SessionLocal() as db:
                        yield db


                async def names() -> collections.abc.AsyncIterable[str]:
                    async with SessionLocal() as db:
                        for user in await db.scalars(select(User)):
                            yield user.name


                async def first() -> Optional[User]:
                    async with SessionLocal() as db:
                        return (await db.scalars(select(User).limit(1))).first()
            """,
        },
    )


def test_a_generator_that_stays_synchronous_keeps_its_annotation() -> None:
    check_project(
        {
            "app.db": DB,
            "app.util": """
                from typing import Generator, Iterator


                def chunks(items: list, size: int) -> Generator[list, None, None]:
                    for start in range(0, len(items), size):
                        yield items[start : start + size]


                def numbers() -> Iterator[int]:
                    yield from range(3)
            """,
        },
        {
            "app.util": """
                from typing import Generator, Iterator


                def chunks(items: list, size: int) -> Generator[list, None, None]:
                    for start in range(0, len(items), size):
                        yield items[start : start + size]


                def numbers() -> Iterator[int]:
                    yield from range(3)
            """,
        },
    )


TUTORIAL_TESTS = """
    from fastapi.testclient import TestClient
    from sqlalchemy import create_engine
    from sqlalchemy.orm import sessionmaker

    from app.db import Base, User
    from app.main import app, get_db

    engine = create_engine("sqlite:///./test.db")
    TestingSessionLocal = sessionmaker(autocommit=False, autoflush=False, bind=engine)

    Base.metadata.drop_all(bind=engine)
    Base.metadata.create_all(bind=engine)


    def override_get_db():
        try:
            db = TestingSessionLocal()
            yield db
        finally:
            db.close()


    app.dependency_overrides[get_db] = override_get_db

    client = TestClient(app)


    def test_count_on_the_test_database():
        assert client.get("/count").json() == {"n": 0}
        db = TestingSessionLocal()
        db.add(User(name="zed"))
        db.commit()
        db.close()
        assert client.get("/count").json() == {"n": 1}
"""


def test_the_tutorial_test_database_is_created_before_the_tests_run(tmp_path: Path) -> None:
    """FastAPI's "Testing a Database" shape: tables dropped and created at import on a
    test engine, ``get_db`` overridden, a module-level client. Migrated, the schema
    statements run in an autouse fixture (an async engine cannot run them at import) and
    the suite passes as before."""
    sources = {
        "app.__init__": "",
        "app.db": DB,
        "app.main": APP,
        "tests.__init__": "",
        "tests.test_tutorial": TUTORIAL_TESTS,
    }
    migrated = _run_legacy_and_migrated(sources, tmp_path, "1 passed")
    assert "async def create_schema():" in migrated["tests.test_tutorial"]
