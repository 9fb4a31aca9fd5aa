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
    The engine options and the binds (``SQLALCHEMY_BINDS``, ``__bind_key__``) are
    Flask-SQLAlchemy's. ``db.create_all()`` still goes through Flask-SQLAlchemy's
    synchronous engines: an in-memory SQLite database is not shared between the two.
    """
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

    def async_engine(uri, options):
        url = make_url(uri)
        url = url.set(drivername=drivers.get(url.drivername, url.drivername))
        memory = url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:")
        # options of the pooling the async engine does not do
        queue_pool = ("pool_size", "max_overflow", "pool_timeout", "pool_use_lifo", "poolclass")
        kept = {key: value for key, value in options.items() if key not in queue_pool}
        return create_async_engine(url, poolclass=StaticPool if memory else NullPool, **kept)

    extension = app.extensions.get("sqlalchemy")
    sync_engines = {}
    if extension is not None:
        with app.app_context():
            sync_engines = dict(extension.engines)
    # SQLAlchemy(engine_options=...) for every engine, SQLALCHEMY_ENGINE_OPTIONS over
    # them for the default one, a bind's own dict for that bind; the URLs as
    # Flask-SQLAlchemy made them (SQLite files in the instance folder)
    shared = {"echo": app.config.get("SQLALCHEMY_ECHO", False)}
    shared.update(getattr(extension, "_engine_options", None) or {})
    options = {**shared, **(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})}
    default = sync_engines.get(None)
    uri = default.url if default is not None else app.config["SQLALCHEMY_DATABASE_URI"]
    engine = async_engine(uri, options)
    binds = {}
    for key, bind in (app.config.get("SQLALCHEMY_BINDS") or {}).items():
        bind_options = dict(shared)
        if isinstance(bind, dict):
            bind_options.update(bind)
            bind = bind_options.pop("url")
        made = sync_engines.get(key)
        bind_engine = async_engine(made.url if made is not None else bind, bind_options)
        for table in extension.metadatas[key].tables.values():
            binds[table] = bind_engine
    async_session.session_factory.configure(bind=engine, binds=binds)
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


async def get_or_404(entity, ident, *, description=None, **kwargs):
    """``db.get_or_404`` on ``async_session``."""
    value = await async_session.get(entity, ident, **kwargs)
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
