"""A project function returning a scoped session (``def create_session(url): ...; return
scoped_session(factory)``) gives what acts as a session: under ``--target async`` the
work done on what it returns (``SESSION = create_session(url)`` at module level, a local
``session = create_session(url)``, through a module re-exporting it) is awaited, the
registry's ``remove()`` too. Before, only the factory became async and nothing awaited.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqla_upgrade.api import migrate_project
from tests.harness import _dedent, check_noop, check_project, exec_module

DB = """
    import sqlalchemy
    from sqlalchemy.orm import scoped_session, sessionmaker

    SESSIONMAKER = None


    def create_session(db_url):
        global SESSIONMAKER
        if SESSIONMAKER is None:
            SESSIONMAKER = sessionmaker(bind=sqlalchemy.create_engine(db_url))
        scopedsession = scoped_session(SESSIONMAKER)
        return scopedsession
"""

MODELS = """
    from sqlalchemy import Column, Integer, String
    from sqlalchemy.orm import declarative_base

    Base = declarative_base()


    class User(Base):
        __tablename__ = "users"
        id = Column(Integer, primary_key=True)
        name = Column(String)
"""


def test_what_a_scoped_session_provider_returns_is_awaited() -> None:
    check_project(
        {
            "app.db": DB,
            "app.models": MODELS,
            "app.lib": """
                from app.db import create_session  # re-exported
            """,
            "app.tasks": """
                from app import lib
                from app.models import User

                SESSION = lib.create_session("sqlite://")


                def add_user(name):
                    session = lib.create_session("sqlite://")
                    session.add(User(name=name))
                    session.commit()
                    session.remove()


                def rename(user_id, name):
                    SESSION.get(User, user_id).name = name
                    SESSION.commit()
                    SESSION.remove()
            """,
            "app.views": """
                from app.tasks import add_user
            """,
        },
        {
            "app.tasks": """
                from app import lib
                from app.models import User

                SESSION = lib.create_session("sqlite://")


                async def add_user(name):
                    session = lib.create_session("sqlite://")
                    session.add(User(name=name))
                    await session.commit()
                    await session.remove()


                async def rename(user_id, name):
                    (await SESSION.get(User, user_id)).name = name
                    await SESSION.commit()
                    await SESSION.remove()
            """,
        },
    )


def test_the_2_0_target_leaves_the_provider_and_its_sessions_alone() -> None:
    check_noop(
        """
        from app.db import create_session
        from app.models import User


        def add_user(name):
            session = create_session("sqlite://")
            session.add(User(name=name))
            session.commit()
            session.remove()
        """,
        project={"app.db": DB, "app.models": MODELS},
    )


LEGACY = """
    import sqlalchemy
    from sqlalchemy import Column, Integer, String
    from sqlalchemy.orm import declarative_base, scoped_session, sessionmaker

    Base = declarative_base()
    SESSIONMAKER = None


    class User(Base):
        __tablename__ = "users"
        id = Column(Integer, primary_key=True)
        name = Column(String)


    def create_session(db_url):
        global SESSIONMAKER
        if SESSIONMAKER is None:
            SESSIONMAKER = sessionmaker(bind=sqlalchemy.create_engine(db_url))
        return scoped_session(SESSIONMAKER)


    def names(session):
        return [u.name for u in session.query(User).order_by(User.id)]


    def run(url):
        engine = sqlalchemy.create_engine(url)
        Base.metadata.create_all(engine)
        session = create_session(url)
        session.add(User(name="a"))
        session.flush()
        session.add(User(name="b"))
        session.commit()
        session.remove()
        session = create_session(url)
        found = names(session)
        session.remove()
        return found
"""


def test_migrated_scoped_session_provider_gives_the_same_results(tmp_path: Path) -> None:
    legacy = _dedent(LEGACY)
    migrated = migrate_project({"app.work": legacy}, target="async")["app.work"].code
    assert "await session.flush()" in migrated
    assert "await session.remove()" in migrated
    old, new = exec_module(legacy), exec_module(migrated)
    expected = old.run(f"sqlite:///{tmp_path / 'legacy.db'}")
    got = asyncio.run(new.run(f"sqlite:///{tmp_path / 'migrated.db'}"))
    assert got == expected == ["a", "b"]
