import os
import tempfile
from contextlib import asynccontextmanager
from sqlalchemy.orm import declarative_base
import asyncio
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import async_scoped_session, async_sessionmaker, create_async_engine


def async_database_url(url):
    """The database URL with its asyncio driver (added by sqla-upgrade)."""
    url = make_url(url)
    drivers = {
        'mariadb': 'mariadb+aiomysql',
        'mariadb+pymysql': 'mariadb+aiomysql',
        'mysql': 'mysql+aiomysql',
        'mysql+mysqldb': 'mysql+aiomysql',
        'mysql+pymysql': 'mysql+aiomysql',
        'postgres': 'postgresql+asyncpg',
        'postgresql': 'postgresql+asyncpg',
        'postgresql+pg8000': 'postgresql+asyncpg',
        'postgresql+psycopg': 'postgresql+psycopg',
        'postgresql+psycopg2': 'postgresql+asyncpg',
        'sqlite': 'sqlite+aiosqlite',
        'sqlite+pysqlite': 'sqlite+aiosqlite',
    }
    return url.set(drivername=drivers.get(url.drivername, url.drivername))


def _default_url():
    return "sqlite:///" + os.path.join(tempfile.gettempdir(), "inventory.sqlite")


DATABASE_URL = os.environ.get("DATABASE_URL") or _default_url()

engine = create_async_engine(async_database_url(DATABASE_URL), pool_pre_ping=True)
Session = async_scoped_session(async_sessionmaker(bind=engine, expire_on_commit=False), scopefunc=asyncio.current_task)

Base = declarative_base()


async def init_db():
    # import the models so that they are registered on the metadata
    from . import models  # noqa: F401

    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)


async def drop_db():
    from . import models  # noqa: F401

    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.drop_all)


@asynccontextmanager
async def session_scope():
    """Provide a transactional scope around a series of operations."""
    session = Session()
    try:
        yield session
        await session.commit()
    except Exception:
        await session.rollback()
        raise
    finally:
        await session.close()
