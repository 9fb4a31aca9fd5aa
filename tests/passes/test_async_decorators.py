"""A decorator runs where its function is defined: I/O in a decorator factory is I/O of
the code around the function, not of the function."""

from __future__ import annotations

from tests.harness import check_project

DB = """
    from sqlalchemy import create_engine
    from sqlalchemy.orm import sessionmaker

    engine = create_engine("sqlite://")
    SessionLocal = sessionmaker(bind=engine)
"""

SECURITY = """
    from functools import wraps

    from app.db import SessionLocal


    def requires_access(permissions=None):
        with SessionLocal() as session:
            session.commit()

        def decorator(func):
            @wraps(func)
            def decorated(*args, **kwargs):
                return func(*args, **kwargs)

            return decorated

        return decorator
"""

SECURITY_ASYNC = """
    from functools import wraps

    from app.db import SessionLocal


    async def requires_access(permissions=None):
        async with SessionLocal() as session:
            await session.commit()

        def decorator(func):
            @wraps(func)
            def decorated(*args, **kwargs):
                return func(*args, **kwargs)

            return decorated

        return decorator
"""

DB_ASYNC = """
    from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

    engine = create_async_engine("sqlite+aiosqlite://")
    SessionLocal = async_sessionmaker(bind=engine, expire_on_commit=False)
"""


def test_a_decorator_factory_doing_io_leaves_module_level_decorations_with_a_todo() -> None:
    """``@security.requires_access([...])`` on a module-level view (Airflow's API
    endpoints): the view does not become async for it, and no ``await`` is written where
    the module cannot await (it did: ``@await ...`` at module level, output that does
    not compile, so the file failed)."""
    endpoints = """
        from app import security


        @security.requires_access([("read", "config")])
        def get_config():
            return "x"
    """
    expected = """
        from app import security


        # TODO(sqla-upgrade): app.security.requires_access() is now a coroutine; module-level code cannot await it: move it into an async function
        @security.requires_access([("read", "config")])
        def get_config():
            return "x"
    """
    check_project(
        {"app.db": DB, "app.security": SECURITY, "app.endpoints": endpoints},
        {"app.db": DB_ASYNC, "app.security": SECURITY_ASYNC, "app.endpoints": expected},
        todos=["module-level code cannot await it"],
    )


def test_a_decoration_inside_an_async_function_is_awaited_there() -> None:
    code = """
        from app import security


        async def register():
            @security.requires_access()
            def inner():
                return 1

            return inner
    """
    expected = code.replace("@security.requires_access()", "@await security.requires_access()")
    check_project(
        {"app.db": DB, "app.security": SECURITY, "app.routes": code},
        {"app.routes": expected},
    )
