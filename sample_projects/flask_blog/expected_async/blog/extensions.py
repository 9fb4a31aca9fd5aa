from flask_sqlalchemy import SQLAlchemy
import asyncio
import contextvars
import functools
from concurrent.futures import ThreadPoolExecutor
from flask import abort, current_app
from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import MultipleResultsFound, NoResultFound
from sqlalchemy.ext.asyncio import async_scoped_session, async_sessionmaker, create_async_engine
from sqlalchemy.pool import NullPool, StaticPool

db = SQLAlchemy()

# Request code uses this AsyncSession where it used db.session (added by sqla-upgrade):
# one session per asyncio task, bound to the app's async engine by init_async_session().
async_session = async_scoped_session(
    async_sessionmaker(expire_on_commit=False), scopefunc=asyncio.current_task
)


def init_async_session(app):
    """Give ``app`` an async engine and run every coroutine Flask runs for it (views,
    hooks, error handlers, async CLI commands) with its own ``async_session``.

    Flask runs each async view in a new event loop, and a pooled connection cannot move
    from one loop to another, so the engine opens a connection per session (NullPool).
    ``db.create_all()`` still goes through Flask-SQLAlchemy's synchronous engine: an
    in-memory SQLite database is not shared between the two engines.
    """
    url = make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    drivers = {
        "mariadb": "mariadb+aiomysql",
        "mariadb+pymysql": "mariadb+aiomysql",
        "mysql": "mysql+aiomysql",
        "mysql+mysqldb": "mysql+aiomysql",
        "mysql+pymysql": "mysql+aiomysql",
        "postgres": "postgresql+asyncpg",
        "postgresql": "postgresql+asyncpg",
        "postgresql+pg8000": "postgresql+asyncpg",
        "postgresql+psycopg": "postgresql+psycopg",
        "postgresql+psycopg2": "postgresql+asyncpg",
        "sqlite": "sqlite+aiosqlite",
        "sqlite+pysqlite": "sqlite+aiosqlite",
    }
    url = url.set(drivername=drivers.get(url.drivername, url.drivername))
    in_memory = url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:")
    engine = create_async_engine(url, poolclass=StaticPool if in_memory else NullPool)
    async_session.session_factory.configure(bind=engine)
    app.extensions["sqla_async_engine"] = engine
    run_coroutine = app.async_to_sync

    def async_to_sync(func):
        @functools.wraps(func)
        async def with_session(*args, **kwargs):
            async_session(bind=engine)
            try:
                return await func(*args, **kwargs)
            finally:
                await async_session.remove()

        run_in_new_loop = run_coroutine(with_session)

        def run(*args, **kwargs):
            try:
                asyncio.get_running_loop()
            except RuntimeError:
                return run_in_new_loop(*args, **kwargs)
            # called while an async view renders a template (an async context
            # processor): run it on its own loop in a worker thread
            context = contextvars.copy_context()
            with ThreadPoolExecutor(max_workers=1) as worker:
                return worker.submit(context.run, run_in_new_loop, *args, **kwargs).result()

        return run

    app.async_to_sync = async_to_sync


def async_command(command):
    """Run an ``async def`` Flask CLI command the way Flask runs an async view."""

    @functools.wraps(command)
    def run(*args, **kwargs):
        return current_app.ensure_sync(command)(*args, **kwargs)

    return run


async def render_with_session(render, *args, **kwargs):
    """``render(*args, **kwargs)`` (``render_template``...) run inside ``async_session``'s
    ``run_sync``, where the template's reads of ``lazy="dynamic"`` relationships and of
    properties that query can run their synchronous queries."""
    return await async_session().run_sync(lambda _sync_session: render(*args, **kwargs))


async def get_or_404(entity, ident, *, description=None):
    """``db.get_or_404`` on ``async_session``."""
    value = await async_session.get(entity, ident)
    if value is None:
        abort(404, description=description)
    return value


async def first_or_404(statement, *, description=None):
    """``db.first_or_404`` on ``async_session``."""
    value = (await async_session.execute(statement)).scalar()
    if value is None:
        abort(404, description=description)
    return value


async def one_or_404(statement, *, description=None):
    """``db.one_or_404`` on ``async_session``."""
    try:
        return (await async_session.execute(statement)).scalar_one()
    except (NoResultFound, MultipleResultsFound):
        abort(404, description=description)


class FetchedPagination(Pagination):
    """A Flask-SQLAlchemy ``Pagination`` over the page and total ``paginate`` fetched."""

    def _query_items(self):
        return self._query_args["items"]

    def _query_count(self):
        return self._query_args["total"]


async def paginate(
    statement, *, page=None, per_page=None, max_per_page=None, error_out=True, count=True
):
    """``db.paginate`` on ``async_session``."""
    page, per_page = Pagination._prepare_page_args(
        page=page, per_page=per_page, max_per_page=max_per_page, error_out=error_out
    )
    page_rows = statement.limit(per_page).offset((page - 1) * per_page)
    items = list((await async_session.execute(page_rows)).unique().scalars())
    total = None
    if count:
        counted = select(func.count()).select_from(statement.order_by(None).subquery())
        total = await async_session.scalar(counted)
    return FetchedPagination(
        page=page,
        per_page=per_page,
        max_per_page=max_per_page,
        error_out=error_out,
        count=count,
        items=items,
        total=total,
    )
