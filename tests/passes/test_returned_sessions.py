"""What a project function or method returns gives its call's result session evidence.

``db_session = get_db_session(db_session)`` with ``def get_db_session(session=None,
obj=None): ... return session or default``: the result is what the call hands the
parameter it returns. ``self.session = self.factory.make()`` with ``def make(self): s =
Session(); ...; return s``: the result of a session provider, told by the method's class
(proof) or only by its name (assumed). A function returning what the index cannot type
(``return context.get("session")``) leaves a variable named like a session to its name.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqla_upgrade.api import migrate_project
from tests.harness import _dedent, check_noop, check_project, exec_module

MODELS = """
    from sqlalchemy import Column, Integer, String, create_engine
    from sqlalchemy.orm import declarative_base, sessionmaker

    Base = declarative_base()
    engine = create_engine("sqlite://")
    Session = sessionmaker(bind=engine)


    class User(Base):
        __tablename__ = "users"
        id = Column(Integer, primary_key=True)
        name = Column(String)
"""

MIGRATED_MODELS = """
    from sqlalchemy import Column, Integer, String
    from sqlalchemy.orm import declarative_base
    from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

    Base = declarative_base()
    engine = create_async_engine("sqlite+aiosqlite://")
    Session = async_sessionmaker(bind=engine, expire_on_commit=False)


    class User(Base):
        __tablename__ = "users"
        id = Column(Integer, primary_key=True)
        name = Column(String)
"""


def test_a_session_handed_through_a_helper_returning_it_stays_a_session() -> None:
    check_project(
        {
            "app.models": MODELS,
            "app.base": """
                DEFAULT = None


                def get_db_session(session=None, obj=None):
                    if obj is not None:
                        return obj.session
                    return session or DEFAULT
            """,
            "app.services": """
                from app.base import get_db_session
                from app.models import User


                class UserService:
                    @classmethod
                    def by_name(cls, name, db_session=None):
                        db_session = get_db_session(db_session)
                        return db_session.query(User).filter(User.name == name).first()


                def count_users(conn):
                    conn = get_db_session(session=conn)
                    return conn.query(User).count()
            """,
            "app.views": """
                from app.models import Session
                from app.services import UserService, count_users


                def view():
                    s = Session()
                    return UserService.by_name("a", db_session=s), count_users(s)
            """,
        },
        {
            "app.models": MIGRATED_MODELS,
            "app.services": """
                from app.base import get_db_session
                from app.models import User
                from sqlalchemy import func, select


                class UserService:
                    @classmethod
                    async def by_name(cls, name, db_session=None):
                        db_session = get_db_session(db_session)
                        return (await db_session.scalars(select(User).where(User.name == name).limit(1))).first()


                async def count_users(conn):
                    conn = get_db_session(session=conn)
                    return await conn.scalar(select(func.count()).select_from(select(User).subquery()))
            """,
            "app.views": """
                from app.models import Session
                from app.services import UserService, count_users


                async def view():
                    s = Session()
                    return await UserService.by_name("a", db_session=s), await count_users(s)
            """,
        },
    )


def test_what_a_helper_returns_of_a_non_session_argument_is_no_session() -> None:
    check_noop(
        """
        def pick(value=None, fallback=None):
            return value or fallback


        class Client:
            def query(self, what):
                return what


        def run():
            db = pick(Client())
            return db.query("users")
        """,
        target="async",
    )


def test_a_method_returning_a_new_session_gives_a_session() -> None:
    check_project(
        {
            "app.models": MODELS,
            "app.factory": """
                from sqlalchemy import text

                from app.models import Session


                class Factory:
                    def make(self):
                        s = Session()
                        s.execute(text("select 1"))
                        return s


                class Worker:
                    def __init__(self):
                        self.factory = Factory()

                    def start(self):
                        self.session = self.factory.make()
                        self.session.flush()


                def run():
                    factory = Factory()
                    sess = factory.make()
                    sess.flush()
            """,
        },
        {
            "app.models": MIGRATED_MODELS,
            "app.factory": """
                from sqlalchemy import text

                from app.models import Session


                class Factory:
                    async def make(self):
                        s = Session()
                        await s.execute(text("select 1"))
                        return s


                class Worker:
                    def __init__(self):
                        self.factory = Factory()

                    async def start(self):
                        self.session = await self.factory.make()
                        await self.session.flush()


                async def run():
                    factory = Factory()
                    sess = await factory.make()
                    await sess.flush()
            """,
        },
    )


def test_a_method_of_the_same_name_returning_no_session_makes_no_assumption() -> None:
    """``make`` is also a method returning something else: ``x.make()`` on an object of
    unknown class is no session."""
    code = migrate_project(
        {
            "app.work": _dedent(
                """
                from sqlalchemy.orm import Session


                class Factory:
                    def make(self):
                        return Session()


                class Builder:
                    def make(self):
                        return object()


                class Worker:
                    def start(self, builder):
                        self.store = builder.make()
                        self.store.flush()
                """
            )
        },
        target="async",
    )["app.work"].code
    assert "    def start(self, builder):\n        self.store = builder.make()\n" in code
    assert "        self.store.flush()\n" in code


def test_a_variable_named_like_a_session_from_an_untyped_helper_is_assumed() -> None:
    """``get_session(context)`` returns ``context.get("session")``: nothing tells what
    it is, so the name does (with a note), as for a parameter so named."""
    result = migrate_project(
        {
            "app.models": _dedent(MODELS),
            "app.utils": _dedent(
                """
                from app.models import User


                def get_session(context):
                    return context.get("session")


                def first_user(context):
                    session = get_session(context)
                    return session.query(User).first()


                def first_db(context):
                    db = get_session(context)
                    return db.query(User).first()
                """
            ),
        },
        target="async",
    )
    code = result["app.utils"].code
    assert "return (await session.scalars(select(User).limit(1))).first()" in code
    assert "return db.query(User).first()" in code  # ``db`` is as often a DB-API one
    notes = [n.message for n in result["app.utils"].notes]
    assert any("assumed 'session' is a SQLAlchemy session" in m for m in notes), notes


LEGACY = """
    from sqlalchemy import Column, Integer, String, create_engine
    from sqlalchemy.orm import Session, declarative_base, object_session

    Base = declarative_base()


    class User(Base):
        __tablename__ = "users"
        id = Column(Integer, primary_key=True)
        name = Column(String)


    def get_db_session(session=None, obj=None):
        if obj is not None:
            return object_session(obj)
        return session


    class Factory:
        def __init__(self, engine):
            self.engine = engine

        def make(self):
            s = Session(bind=self.engine)
            s.add(User(name="b"))
            return s


    class Worker:
        def __init__(self, factory):
            self.factory = factory

        def start(self):
            self.session = self.factory.make()
            self.session.flush()

        def save(self, name):
            self.session.add(User(name=name))
            self.session.commit()

        def names(self, db_session=None, user=None):
            db_session = get_db_session(db_session, obj=user)
            return [u.name for u in db_session.query(User).order_by(User.name)]

        def stop(self):
            self.session.close()


    def run(url):
        engine = create_engine(url)
        Base.metadata.create_all(engine)
        worker = Worker(Factory(engine))
        worker.start()
        worker.save("a")
        names = worker.names(db_session=worker.factory.make())
        worker.stop()
        return names
"""


def test_migrated_returned_sessions_give_the_same_results(tmp_path: Path) -> None:
    legacy = _dedent(LEGACY)
    migrated = migrate_project({"app.work": legacy}, target="async")["app.work"].code
    assert "await self.session.flush()" in migrated
    old, new = exec_module(legacy), exec_module(migrated)
    expected = old.run(f"sqlite:///{tmp_path / 'legacy.db'}")
    got = asyncio.run(new.run(f"sqlite:///{tmp_path / 'migrated.db'}"))
    assert got == expected == ["a", "b", "b"]


def test_a_helper_returning_what_a_wrapper_of_its_argument_gives_leaves_the_name_to_tell() -> None:
    """OpenStack Keystone's ``with sql.session_for_read() as session:``, where
    ``session_for_read()`` returns ``_wrap_session(reader.using(ctx))`` and
    ``_wrap_session(sess)`` returns its (maybe wrapped) argument: the result is of no
    told type, as if it returned ``reader.using(ctx)`` itself, so a variable named like
    a session is assumed to be one (it was taken for a non-session, and its queries
    were left with neither a rewrite nor a TODO)."""
    result = migrate_project(
        {
            "app.models": _dedent(MODELS),
            "app.sql": _dedent(
                """
                def _wrap_session(sess):
                    if PROFILE:
                        sess = profiled(sess)
                    return sess


                def session_for_read():
                    reader = _context_manager().reader
                    return _wrap_session(reader.using(_context()))


                def new_user():
                    return _build_user("a")
                """
            ),
            "app.utils": _dedent(
                """
                from app import sql
                from app.models import User


                def first_user():
                    with sql.session_for_read() as session:
                        return session.query(User).first()


                def first_db():
                    with sql.session_for_read() as db:
                        return db.query(User).first()


                def made():
                    session = sql.new_user()
                    return session.query(User).first()
                """
            ),
        },
        target="2.0",
    )
    code = result["app.utils"].code
    assert "        return session.scalars(select(User).limit(1)).first()\n" in code
    assert "        return db.query(User).first()\n" in code  # ``db``: as often DB-API
    # ``_build_user`` is no project function: its result's type is not opaque
    assert "    return session.query(User).first()\n" in code
    notes = [n.message for n in result["app.utils"].notes]
    assert any("assumed 'session' is a SQLAlchemy session" in m for m in notes), notes
