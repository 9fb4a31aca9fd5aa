import os
import tempfile

from sqlalchemy import event
from sqlalchemy.orm import declarative_base
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine


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


SQLALCHEMY_DATABASE_URL = os.getenv(
    "DATABASE_URL", "sqlite:///" + os.path.join(tempfile.gettempdir(), "fastapi_todo.db")
)

connect_args = {}
if SQLALCHEMY_DATABASE_URL.startswith("sqlite"):
    # needed for SQLite only: FastAPI runs sync endpoints in a thread pool
    connect_args = {"check_same_thread": False}

engine = create_async_engine(async_database_url(SQLALCHEMY_DATABASE_URL), connect_args=connect_args)

if SQLALCHEMY_DATABASE_URL.startswith("sqlite"):

    @event.listens_for(engine.sync_engine, "connect")
    def _enable_sqlite_foreign_keys(dbapi_connection, connection_record):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()


SessionLocal = async_sessionmaker(autocommit=False, autoflush=False, bind=engine, expire_on_commit=False)

Base = declarative_base()


async def get_db():
    db = SessionLocal()
    try:
        yield db
    finally:
        await db.close()
