"""Parameters whose callers hand them a session are sessions, however they are named.

``def save(s, obj): s.add(obj); s.commit()`` called as ``save(Session(), user)``: the name
``s`` tells nothing, but the call sites do. The project index follows what each call
hands its callee (a local bound to a session factory's result, a scoped session,
``db.session``, or a parameter that is itself a session), across modules and through
chains of such parameters, and the session resolver takes it as proof.
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

STORE = """
    def save(s, obj):
        s.add(obj)
        s.commit()


    class Repo:
        def put(self, x, s):
            save(s, x)

        def names(self, s):
            return [u.name for u in s.query(User).order_by(User.name)]

        def report(self, s):
            return self.names(s)


    from app.models import User
"""

MAIN = """
    from app.models import Base, Session, User, engine
    from app.store import Repo, save


    def run():
        Base.metadata.create_all(engine)
        session_obj = Session()
        save(session_obj, User(name="b"))
        Repo().put(User(name="a"), s=session_obj)
        print(Repo().report(session_obj))
"""


def _index(sources: dict[str, str]) -> ProjectIndex:
    builder = IndexBuilder()
    for name, code in sources.items():
        path = name.replace(".", "/") + ".py"
        builder.add(_dedent(code).encode(), name, path, name.endswith("__init__"))
    return builder.build()


def test_the_index_follows_sessions_handed_to_functions_across_modules() -> None:
    index = _index({"app.models": MODELS, "app.store": STORE, "app.main": MAIN})
    assert index.session_params == {
        ("app.store.save", "s"),  # save(session_obj, ...): a local bound to Session()
        ("app.store.Repo.put", "s"),  # a keyword argument
        ("app.store.Repo.report", "s"),
        ("app.store.Repo.names", "s"),  # self.names(s): through a parameter, after self
    }


def test_what_callers_hand_that_is_no_session_makes_no_session_parameter() -> None:
    sources = {
        "app.models": MODELS,
        "app.main": """
            from app.models import Session


            class Client:
                def query(self, what):
                    return what


            def ask(s, c):
                return s.query(c)


            def run(db: Client):
                text = "users"
                ask(Client(), text)
                ask(db, text)
                ask(text, Session())  # the session goes to ``c``
                ask(s=text, c=Session)  # the factory itself is no session
        """,
    }
    assert _index(sources).session_params == {("app.main.ask", "c")}


def test_an_annotated_parameter_is_told_by_its_annotation_not_its_callers() -> None:
    sources = {
        "app.models": MODELS,
        "app.main": """
            from app.models import Session


            class Store:
                pass


            def keep(s: Store):
                return s


            def run():
                keep(Session())
        """,
    }
    assert _index(sources).session_params == set()


def test_a_scoped_session_and_flask_sqlalchemy_session_handed_on_are_sessions() -> None:
    sources = {
        "app.db": """
            from flask_sqlalchemy import SQLAlchemy
            from sqlalchemy.orm import scoped_session, sessionmaker

            db = SQLAlchemy()
            registry = scoped_session(sessionmaker())


            def count(x, y):
                return x, y


            def run():
                count(db.session, registry)
        """,
    }
    assert _index(sources).session_params == {("app.db.count", "x"), ("app.db.count", "y")}


def test_async_functions_given_a_session_are_awaited_across_modules() -> None:
    check_project(
        {"app.models": MODELS, "app.store": STORE, "app.main": MAIN, "app.__init__": ""},
        {
            "app.models": MIGRATED_MODELS,
            "app.store": """
                from sqlalchemy import select


                async def save(s, obj):
                    s.add(obj)
                    await s.commit()


                class Repo:
                    async def put(self, x, s):
                        await save(s, x)

                    async def names(self, s):
                        return [u.name for u in await s.scalars(select(User).order_by(User.name))]

                    async def report(self, s):
                        return await self.names(s)


                from app.models import User
            """,
            "app.main": """
                from app.models import Base, Session, User, engine
                from app.store import Repo, save


                async def run():
                    async with engine.begin() as conn:
                        await conn.run_sync(Base.metadata.create_all)
                    session_obj = Session()
                    await save(session_obj, User(name="b"))
                    await Repo().put(User(name="a"), s=session_obj)
                    print(await Repo().report(session_obj))
            """,
        },
    )


def test_a_query_on_a_parameter_handed_a_session_becomes_a_select() -> None:
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


        def first_names(s, limit):
            return [u.name for u in s.query(User).order_by(User.name).limit(limit)]


        def main():
            print(first_names(Factory(), 3))
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


        def first_names(s, limit):
            return [u.name for u in s.scalars(select(User).order_by(User.name).limit(limit))]


        def main():
            print(first_names(Factory(), 3))
        """,
        target="2.0",
    )


def test_a_parameter_never_handed_a_session_keeps_its_query_calls() -> None:
    check_noop(
        """
        class Index:
            def query(self, text):
                return [text]


        def search(s, text):
            return s.query(text)


        def main():
            print(search(Index(), "users"))
        """,
        target="async",
    )


def test_migrated_helpers_given_a_session_run_as_the_legacy_ones_do(tmp_path: Path) -> None:
    """The three modules, applied and run: the helpers' writes and reads happen."""
    package = tmp_path / "app"
    package.mkdir()
    (package / "__init__.py").write_text("")
    for name, code in (("models", MODELS), ("store", STORE), ("main", MAIN)):
        (package / f"{name}.py").write_text(_dedent(code))
    (tmp_path / "go.py").write_text(
        "import asyncio, inspect\nfrom app.main import run\n"
        "result = run()\nif inspect.isawaitable(result):\n    asyncio.run(result)\n"
    )
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(root)}
    apply = [sys.executable, "-m", "sqla_upgrade", "apply", str(package), "--target", "async"]
    subprocess.run(apply, check=True, capture_output=True, env=env, timeout=300)
    run = [sys.executable, "-W", "error::RuntimeWarning", "go.py"]
    done = subprocess.run(run, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "['a', 'b']\n"


def test_a_session_entered_with_a_context_manager_is_handed_on() -> None:
    sources = {
        "app.db": """
            from contextlib import contextmanager
            from sqlalchemy.orm import sessionmaker

            Session = sessionmaker()


            @contextmanager
            def session_scope():
                session = Session()
                try:
                    yield session
                    session.commit()
                finally:
                    session.close()


            def purge(s):
                return s


            def keep(x):
                return x


            def run():
                with session_scope() as session:
                    purge(session)
                with Session() as other:
                    keep(other)
                with open("f") as handle:
                    keep(handle)
        """,
    }
    assert _index(sources).session_params == {("app.db.purge", "s"), ("app.db.keep", "x")}


def test_a_parameter_handed_a_name_like_session_is_assumed_to_be_one() -> None:
    sources = {
        "app.db": """
            def helper(s):
                return s


            def view(session, other):
                helper(session)
                helper(other)
        """,
    }
    index = _index(sources)
    assert index.session_params == set()
    assert index.assumed_session_params == {("app.db.helper", "s")}
    assert index.session_param("app.db.helper", "s") == "assumed"


def test_sessions_handed_through_star_arguments_are_not_followed() -> None:
    before = """
        from sqlalchemy.orm import sessionmaker

        Factory = {factory}


        class Index:
            def query(self, text):
                return [text]


        def search(s, text):
            return s.query(text)


        def main():
            args = [Factory(), "users"]
            print(search(*args), search(Index(), "x"))
        """
    check_transformed(
        before.format(factory="sessionmaker()"),
        before.format(factory="async_sessionmaker(expire_on_commit=False)").replace(
            "from sqlalchemy.orm import sessionmaker",
            "from sqlalchemy.ext.asyncio import async_sessionmaker",
        ),
        target="async",
    )
