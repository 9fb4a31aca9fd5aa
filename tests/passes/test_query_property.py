"""``Base.query = db_session.query_property()`` (the pattern of Flask's own SQLAlchemy
recipe, without Flask-SQLAlchemy): ``Model.query`` chains run on that scoped session."""

from __future__ import annotations

import asyncio
import types
from pathlib import Path

from sqla_upgrade.api import migrate_project
from tests.harness import _dedent, check_noop, check_project

DATABASE = """
    from sqlalchemy import Column, Integer, String, create_engine
    from sqlalchemy.orm import declarative_base, scoped_session, sessionmaker

    engine = create_engine(URL)
    db_session = scoped_session(sessionmaker(bind=engine))
    Base = declarative_base()
    Base.query = db_session.query_property()


    class User(Base):
        __tablename__ = "users"
        id = Column(Integer, primary_key=True)
        name = Column(String(50))

        @classmethod
        def named(cls, name):
            return cls.query.filter_by(name=name).first()
"""

VIEWS = """
    from app.database import User

    def names():
        return [u.name for u in User.query.order_by(User.name).all()]

    def one(user_id):
        return User.query.get(user_id)
"""


def project(url: str = "sqlite://") -> dict[str, str]:
    return {"app.database": DATABASE.replace("URL", repr(url)), "app.views": VIEWS}


def test_model_query_runs_on_the_scoped_session_in_2_0() -> None:
    check_project(
        project(),
        {
            "app.database": """
                from sqlalchemy import select, Column, Integer, String, create_engine
                from sqlalchemy.orm import declarative_base, scoped_session, sessionmaker

                engine = create_engine('sqlite://')
                db_session = scoped_session(sessionmaker(bind=engine))
                Base = declarative_base()
                Base.query = db_session.query_property()


                class User(Base):
                    __tablename__ = "users"
                    id = Column(Integer, primary_key=True)
                    name = Column(String(50))

                    @classmethod
                    def named(cls, name):
                        return db_session.scalars(select(cls).filter_by(name=name).limit(1)).first()
            """,
            "app.views": """
                from app.database import db_session, User
                from sqlalchemy import select

                def names():
                    return [u.name for u in db_session.scalars(select(User).order_by(User.name)).all()]

                def one(user_id):
                    return db_session.get(User, user_id)
            """,
        },
        target="2.0",
    )


def test_query_property_is_removed_under_async() -> None:
    result = migrate_project(
        {name: _dedent(code) for name, code in project().items()}, target="async"
    )
    database = result["app.database"]
    assert "query_property" not in database.code
    assert any("query_property" in note.message for note in database.notes)
    assert "await db_session.get(User, user_id)" in result["app.views"].code


def test_query_attributes_that_are_not_a_query_property_are_left_alone() -> None:
    check_noop(
        """
        from urllib.parse import urlsplit

        class Request:
            query = None

        def params(url):
            Request.query = urlsplit(url).query
            return Request.query.split("&")
        """,
        target="async",
    )


def test_migrated_query_property_program_gives_the_same_results(tmp_path: Path) -> None:
    seed = "def seed():\n    db_session.add_all([User(name='b'), User(name='a')])\n    db_session.commit()\n"
    legacy_db = _dedent(DATABASE.replace("URL", repr(f"sqlite:///{tmp_path / 'legacy.db'}")))
    legacy = {"app.database": legacy_db + seed, "app.views": _dedent(VIEWS)}
    old = _package(legacy)
    old.database.Base.metadata.create_all(old.database.engine)
    old.database.seed()
    expected = (old.views.names(), old.views.one(1).name, old.database.User.named("a").id)

    async_db = legacy_db.replace("legacy.db", "migrated.db")
    migrated = migrate_project({**legacy, "app.database": async_db + seed}, target="async")
    new = _package({name: m.code for name, m in migrated.items()})

    async def run() -> tuple[object, ...]:
        async with new.database.engine.begin() as conn:
            await conn.run_sync(new.database.Base.metadata.create_all)
        await new.database.seed()
        got = (
            await new.views.names(),
            (await new.views.one(1)).name,
            (await new.database.User.named("a")).id,
        )
        await new.database.db_session.remove()
        await new.database.engine.dispose()
        return got

    assert asyncio.run(run()) == expected == (["a", "b"], "b", 2)


def _package(sources: dict[str, str]) -> types.SimpleNamespace:
    """Execute ``app.database`` then ``app.views`` (which imports from it)."""
    import sys

    modules: dict[str, types.ModuleType] = {}
    for name in ("app.database", "app.views"):
        module = types.ModuleType(name)
        sys.modules[name] = module
        modules[name] = module
        exec(compile(sources[name], name, "exec", dont_inherit=True), module.__dict__)
    for name in modules:
        del sys.modules[name]
    return types.SimpleNamespace(database=modules["app.database"], views=modules["app.views"])
