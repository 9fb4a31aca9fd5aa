"""Session factories made inside a function are session factories for the async passes.

``Session = sessionmaker(bind=engine)`` in a function is not in the project index; stage 1
of ``--target async`` makes it ``async_sessionmaker(...)``, and stage 2 must still see
``with Session() as s`` as a session context (``async with``, awaited queries, the
function and its callers made async).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqla_upgrade.api import migrate_project
from tests.harness import _dedent, check_noop, check_transformed, exec_module

URL_HELPER = '''
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
'''

MODELS = {
    "app.models": """
        from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

        class Base(DeclarativeBase):
            pass

        class User(Base):
            __tablename__ = "users"
            id: Mapped[int] = mapped_column(primary_key=True)
            name: Mapped[str]
    """
}

LEGACY = """
    from sqlalchemy import create_engine, select
    from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, scoped_session, sessionmaker


    class Base(DeclarativeBase):
        pass


    class Item(Base):
        __tablename__ = "items"
        id: Mapped[int] = mapped_column(primary_key=True)


    def build(url):
        engine = create_engine(url)
        Base.metadata.create_all(engine)
        Session = sessionmaker(bind=engine)
        with Session() as session:
            session.add(Item(id=1))
            session.commit()
        registry = scoped_session(sessionmaker(bind=engine))
        registry.add(Item(id=2))
        registry.commit()
        registry.remove()
        with Session() as session:
            return session.query(Item).count(), session.scalars(select(Item.id)).all()


    def run(url):
        return build(url)
"""


def test_local_session_factories_are_used_asynchronously() -> None:
    check_transformed(
        LEGACY,
        _dedent("""
        from sqlalchemy import func, select
        from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
        import asyncio
        from sqlalchemy.engine import make_url
        from sqlalchemy.ext.asyncio import async_scoped_session, async_sessionmaker, create_async_engine

        """)
        + URL_HELPER
        + "\n\n"
        + _dedent("""

        class Base(DeclarativeBase):
            pass


        class Item(Base):
            __tablename__ = "items"
            id: Mapped[int] = mapped_column(primary_key=True)


        async def build(url):
            engine = create_async_engine(async_database_url(url))
            async with engine.begin() as conn:
                await conn.run_sync(Base.metadata.create_all)
            Session = async_sessionmaker(bind=engine, expire_on_commit=False)
            async with Session() as session:
                session.add(Item(id=1))
                await session.commit()
            registry = async_scoped_session(async_sessionmaker(bind=engine, expire_on_commit=False), scopefunc=asyncio.current_task)
            registry.add(Item(id=2))
            await registry.commit()
            await registry.remove()
            async with Session() as session:
                return await session.scalar(select(func.count()).select_from(select(Item).subquery())), (await session.scalars(select(Item.id))).all()


        async def run(url):
            return await build(url)
        """),
        target="async",
    )


def test_a_local_factory_alone_makes_the_function_async() -> None:
    check_transformed(
        """
        from sqlalchemy import create_engine
        from sqlalchemy.orm import sessionmaker
        from app.models import User

        def names():
            Session = sessionmaker(bind=create_engine("sqlite://"))
            with Session() as session:
                return [row.name for row in session.query(User.name)]
        """,
        """
        from sqlalchemy import select
        from app.models import User
        from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

        async def names():
            Session = async_sessionmaker(bind=create_async_engine("sqlite+aiosqlite://"), expire_on_commit=False)
            async with Session() as session:
                return [row.name for row in await session.execute(select(User.name))]
        """,
        target="async",
        project=MODELS,
    )


def test_begin_of_a_local_factory_is_a_session_context() -> None:
    check_transformed(
        """
        from sqlalchemy import create_engine
        from sqlalchemy.orm import sessionmaker
        from app.models import User

        def rename(name):
            Session = sessionmaker(bind=create_engine("sqlite://"))
            with Session.begin() as session:
                session.get(User, 1).name = name
        """,
        """
        from app.models import User
        from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

        async def rename(name):
            Session = async_sessionmaker(bind=create_async_engine("sqlite+aiosqlite://"), expire_on_commit=False)
            async with Session.begin() as session:
                (await session.get(User, 1)).name = name
        """,
        target="async",
        project=MODELS,
    )


def test_names_rebound_to_other_things_are_not_factories() -> None:
    check_noop(
        """
        import contextlib

        def other():
            Session = contextlib.nullcontext
            with Session() as thing:
                return thing.query()
        """,
        target="async",
    )


def test_async_local_factories_are_left_alone() -> None:
    check_noop(
        """
        from sqlalchemy import select
        from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

        async def count(url, model):
            Session = async_sessionmaker(bind=create_async_engine(url))
            async with Session() as session:
                return len((await session.scalars(select(model))).all())
        """,
        target="async",
    )


def test_migrated_local_factory_gives_the_same_results(tmp_path: Path) -> None:
    legacy = _dedent(LEGACY)
    migrated = migrate_project({"app.build": legacy}, target="async")["app.build"].code
    old, new = exec_module(legacy), exec_module(migrated)
    expected = old.run(f"sqlite:///{tmp_path / 'legacy.db'}")
    assert asyncio.run(new.run(f"sqlite:///{tmp_path / 'migrated.db'}")) == expected == (2, [1, 2])


def test_an_awaited_call_weighs_as_the_call_did_on_the_first_run() -> None:
    """``self.session = self.factory.make()`` became ``... = await ...make()`` on the
    first run; the second run must weigh the attribute as the first did (it took the
    name ``session`` for a session there, and awaited what the first run left)."""
    from sqla_upgrade.api import migrate_source

    code = _dedent(
        """
        from sqlalchemy import text
        from sqlalchemy.orm import Session


        class Factory:
            def make(self):
                s = Session()
                s.execute(text("SELECT 1"))
                return s


        class Context:
            def __init__(self, factory):
                self.factory = factory

            def run(self):
                self.session = self.factory.make()
                self.session.flush()
        """
    )
    first = migrate_source(code, target="async").code
    assert "self.session = await self.factory.make()" in first
    assert migrate_source(first, target="async").code == first


DATABASE_CLASS = """
    from sqlalchemy import Column, Integer, String, create_engine
    from sqlalchemy.orm import declarative_base, sessionmaker

    Base = declarative_base()


    class User(Base):
        __tablename__ = "users"
        id = Column(Integer, primary_key=True)
        name = Column(String)


    class Database:
        def __init__(self, url):
            self.engine = create_engine(url)
            self.Session = sessionmaker(bind=self.engine)

        def add(self, name):
            s = self.Session()
            s.add(User(name=name))
            s.commit()
            s.close()

        def count(self):
            with self.Session() as db:
                return db.query(User).count()


    def run(url):
        database = Database(url)
        Base.metadata.create_all(database.engine)
        database.add("a")
        database.add("b")
        return database.count()
"""


def test_a_factory_kept_on_self_makes_sessions() -> None:
    result = migrate_project({"app.db": _dedent(DATABASE_CLASS)}, target="async")
    code = result["app.db"].code
    assert (
        "    async def add(self, name):\n"
        "        s = self.Session()\n"
        "        s.add(User(name=name))\n"
        "        await s.commit()\n"
        "        await s.close()\n"
    ) in code
    assert (
        "    async def count(self):\n"
        "        async with self.Session() as db:\n"
        "            return await db.scalar(select(func.count()).select_from(select(User).subquery()))\n"
    ) in code
    again = migrate_project({"app.db": code}, target="async")["app.db"].code
    assert again == code


def test_an_attribute_assigned_something_else_too_is_no_factory() -> None:
    code = migrate_project(
        {
            "app.db": _dedent(
                """
                from sqlalchemy.orm import sessionmaker


                class Database:
                    def __init__(self, engine, make=None):
                        self.Session = sessionmaker(bind=engine)
                        if make is not None:
                            self.Session = make

                    def add(self, obj):
                        s = self.Session()
                        s.add(obj)
                        s.commit()
                """
            )
        },
        target="async",
    )["app.db"].code
    assert "    def add(self, obj):\n" in code
    assert "        s.commit()\n" in code


def test_migrated_factory_on_self_gives_the_same_results(tmp_path: Path) -> None:
    legacy = _dedent(DATABASE_CLASS)
    migrated = migrate_project({"app.db": legacy}, target="async")["app.db"].code
    old, new = exec_module(legacy), exec_module(migrated)
    expected = old.run(f"sqlite:///{tmp_path / 'legacy.db'}")
    got = asyncio.run(new.run(f"sqlite:///{tmp_path / 'migrated.db'}"))
    assert got == expected == 2
