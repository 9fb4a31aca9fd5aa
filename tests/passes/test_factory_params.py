"""Parameters whose callers hand them a session factory make sessions when called.

``def names(make): with make() as s: ...`` called as ``names(Session)`` with
``Session = sessionmaker(...)``, or a repository keeping ``self.session_factory =
session_factory`` from ``Repo(Session)``: the project index follows what each call hands
its callee (a local or module-level ``sessionmaker(...)``, a parameter that is itself a
factory, a project class's ``__init__`` through its constructor calls), and the session
resolver takes ``make()``, ``make.begin()`` and ``self.session_factory()`` for sessions.
Under ``--target async`` the factory becomes an ``async_sessionmaker``: left unseen,
these functions used its AsyncSessions synchronously (``session.commit()`` never
awaited, so never run).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sqla_upgrade.codemods.index import IndexBuilder, ProjectIndex
from tests.harness import _dedent, check_noop, check_project, check_transformed

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

STORE = """
    from app.models import User


    class Repo:
        def __init__(self, session_factory):
            self.session_factory = session_factory

        def add(self, name):
            with self.session_factory() as s:
                s.add(User(name=name))
                s.commit()


    def add_user(factory, name):
        with factory.begin() as s:
            s.add(User(name=name))


    def names(make):
        with make() as s:
            return [u.name for u in s.query(User).order_by(User.name)]


    def count(make):
        s = make()
        try:
            return s.query(User).filter(User.name != "x").count()
        finally:
            s.close()


    def report(make):
        return names(make), count(make)
"""

MAIN = """
    from sqlalchemy.orm import sessionmaker

    from app.models import Base, Session, engine
    from app.store import Repo, add_user, report


    def run():
        Base.metadata.create_all(engine)
        local = sessionmaker(bind=engine)
        add_user(local, "b")
        Repo(Session).add("a")
        print(report(Session))
"""


def _index(sources: dict[str, str]) -> ProjectIndex:
    builder = IndexBuilder()
    for name, code in sources.items():
        path = name.replace(".", "/") + ".py"
        builder.add(_dedent(code).encode(), name, path, name.endswith("__init__"))
    return builder.build()


def test_the_index_follows_factories_handed_to_functions_and_constructors() -> None:
    index = _index({"app.models": MODELS, "app.store": STORE, "app.main": MAIN})
    assert index.factory_params == {
        ("app.store.add_user", "factory"),  # a local bound to sessionmaker(...)
        ("app.store.Repo.__init__", "session_factory"),  # Repo(Session): after self
        ("app.store.report", "make"),  # the module-level factory
        ("app.store.names", "make"),  # through a parameter that is one
        ("app.store.count", "make"),
    }
    assert ("app.store.names", "make") not in index.session_params


def test_what_is_no_factory_makes_no_factory_parameter() -> None:
    sources = {
        "app.models": MODELS,
        "app.main": """
            from app.models import Session


            def build(make):
                return make()


            def run(s):
                build(dict)
                build(Session())  # a session, not a factory
                build(s)
        """,
    }
    assert _index(sources).factory_params == set()


def test_sessions_made_by_a_factory_parameter_are_migrated() -> None:
    check_transformed(
        """
        from sqlalchemy import Column, Integer, String
        from sqlalchemy.orm import declarative_base, sessionmaker

        Base = declarative_base()
        Factory = sessionmaker()


        class User(Base):
            __tablename__ = "users"
            id = Column(Integer, primary_key=True)
            name = Column(String)


        def first_names(make, limit):
            with make() as s:
                return [u.name for u in s.query(User).order_by(User.name).limit(limit)]


        def main():
            print(first_names(Factory, 3))
        """,
        """
        from sqlalchemy import select, Column, Integer, String
        from sqlalchemy.orm import declarative_base, sessionmaker

        Base = declarative_base()
        Factory = sessionmaker()


        class User(Base):
            __tablename__ = "users"
            id = Column(Integer, primary_key=True)
            name = Column(String)


        def first_names(make, limit):
            with make() as s:
                return [u.name for u in s.scalars(select(User).order_by(User.name).limit(limit))]


        def main():
            print(first_names(Factory, 3))
        """,
        target="2.0",
    )


def test_a_parameter_annotated_sessionmaker_makes_sessions() -> None:
    check_transformed(
        """
        from sqlalchemy.orm import sessionmaker

        from app.models import User


        def total(make: sessionmaker):
            with make() as s:
                return s.query(User.id).count()
        """,
        """
        from sqlalchemy.orm import sessionmaker

        from app.models import User
        from sqlalchemy import func, select


        def total(make: sessionmaker):
            with make() as s:
                return s.scalar(select(func.count()).select_from(select(User.id).subquery()))
        """,
        target="2.0",
        project={"app.models": MODELS},
    )


def test_functions_given_a_factory_become_async_across_modules() -> None:
    check_project(
        {"app.models": MODELS, "app.store": STORE, "app.main": MAIN, "app.__init__": ""},
        {
            "app.store": """
                from app.models import User
                from sqlalchemy import func, select


                class Repo:
                    def __init__(self, session_factory):
                        self.session_factory = session_factory

                    async def add(self, name):
                        async with self.session_factory() as s:
                            s.add(User(name=name))
                            await s.commit()


                async def add_user(factory, name):
                    async with factory.begin() as s:
                        s.add(User(name=name))


                async def names(make):
                    async with make() as s:
                        return [u.name for u in await s.scalars(select(User).order_by(User.name))]


                async def count(make):
                    s = make()
                    try:
                        return await s.scalar(select(func.count()).select_from(select(User).where(User.name != "x").subquery()))
                    finally:
                        await s.close()


                async def report(make):
                    return await names(make), await count(make)
            """,
            "app.main": """
                from app.models import Base, Session, engine
                from app.store import Repo, add_user, report
                from sqlalchemy.ext.asyncio import async_sessionmaker


                async def run():
                    async with engine.begin() as conn:
                        await conn.run_sync(Base.metadata.create_all)
                    local = async_sessionmaker(bind=engine, expire_on_commit=False)
                    await add_user(local, "b")
                    await Repo(Session).add("a")
                    print(await report(Session))
            """,
        },
        target="async",
    )


def test_a_callable_never_handed_a_factory_keeps_its_calls() -> None:
    check_noop(
        """
        class Index:
            def query(self, text):
                return [text]


        def search(make, text):
            return make().query(text)


        def main():
            print(search(Index, "users"))
        """,
        target="async",
    )


def test_migrated_functions_given_a_factory_run_as_the_legacy_ones_do(tmp_path: Path) -> None:
    """The three modules, run before and after ``apply --target async``: same output."""
    package = tmp_path / "app"
    package.mkdir()
    (package / "__init__.py").write_text("")
    for name, code in (("models", MODELS), ("store", STORE), ("main", MAIN)):
        (package / f"{name}.py").write_text(_dedent(code))
    (tmp_path / "go.py").write_text(
        "import asyncio, inspect\nfrom app.main import run\n"
        "result = run()\nif inspect.isawaitable(result):\n    asyncio.run(result)\n"
    )
    run = [sys.executable, "-W", "error::RuntimeWarning", "go.py"]
    legacy = subprocess.run(run, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert legacy.returncode == 0, legacy.stderr
    assert legacy.stdout == "(['a', 'b'], 2)\n"
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(root)}
    apply = [sys.executable, "-m", "sqla_upgrade", "apply", str(package), "--target", "async"]
    subprocess.run(apply, check=True, capture_output=True, env=env, timeout=300)
    done = subprocess.run(run, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout == legacy.stdout


def test_a_factory_handed_by_module_level_code_makes_sessions() -> None:
    """``run(sessionmaker(bind=engine))`` in a ``__main__`` block (and ``report(Session)``
    at module level): the module's own code is a caller too."""
    check_project(
        {
            "app.models": MODELS,
            "app.main": """
                from sqlalchemy import create_engine
                from sqlalchemy.orm import sessionmaker

                from app.models import User


                def run(make):
                    s = make()
                    return [u.name for u in s.query(User).order_by(User.id)]


                if __name__ == "__main__":
                    print(run(sessionmaker(bind=create_engine("sqlite://"))))
            """,
        },
        {
            "app.main": """
                from sqlalchemy import select, create_engine
                from sqlalchemy.orm import sessionmaker

                from app.models import User


                def run(make):
                    s = make()
                    return [u.name for u in s.scalars(select(User).order_by(User.id))]


                if __name__ == "__main__":
                    print(run(sessionmaker(bind=create_engine("sqlite://"))))
            """,
        },
        target="2.0",
    )


def test_the_session_a_module_level_instance_keeps_is_a_session() -> None:
    """``store = Store(Session())`` with ``self.session = session`` in ``Store``:
    ``store.session`` is a session where the module uses it."""
    check_project(
        {
            "app.models": MODELS,
            "app.script": """
                from app.models import Session, User


                class Store:
                    def __init__(self, session):
                        self.session = session


                store = Store(Session())


                def names():
                    return [u.name for u in store.session.query(User).order_by(User.id)]
            """,
        },
        {
            "app.script": """
                from app.models import Session, User
                from sqlalchemy import select


                class Store:
                    def __init__(self, session):
                        self.session = session


                store = Store(Session())


                def names():
                    return [u.name for u in store.session.scalars(select(User).order_by(User.id))]
            """,
        },
        target="2.0",
    )


def test_an_attribute_of_an_instance_holding_other_things_is_left_alone() -> None:
    check_noop(
        """
        class Cache:
            def __init__(self, store):
                self.session = store


        cache = Cache({})


        def get(key):
            return cache.session.query(key)
        """,
    )
