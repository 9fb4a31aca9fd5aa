"""Query factory methods: ``def get_query(self): return self.session.query(User)`` run by
the class's other methods (``self.get_query().all()``, ``.get(pk)``, ``.count()``).

When every caller is a method of the class (or of a subclass in the same module) the
factory returns ``select()`` and each caller runs it on ``self.session``; otherwise the
factory keeps its Query, and under ``--target async`` each caller running it says that
the session has no ``query()`` any more.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqla_upgrade.api import migrate_project
from tests.harness import _dedent, check_noop, check_project, check_transformed

MODELS = """
    from sqlalchemy import Column, Integer, String
    from sqlalchemy.orm import declarative_base

    Base = declarative_base()

    class User(Base):
        __tablename__ = "users"
        id = Column(Integer, primary_key=True)
        name = Column(String)
"""

REPO = """
    from sqlalchemy.orm import Session

    from app.models import User

    class Repo:
        def __init__(self, session: Session):
            self.session = session

        def get_query(self):
            return self.session.query(User)

        def get_list(self):
            return self.get_query().order_by(User.id).all()

        def get_one(self, pk):
            return self.get_query().get(pk)

        def count(self):
            return self.get_query().count()

        def named(self, name):
            q = self.get_query().filter(User.name == name)
            return q.first()

        def names(self):
            return [u.name for u in self.get_query().order_by(User.name)]

        def save(self, user):
            self.session.add(user)
            self.session.commit()
"""


def test_factory_method_returns_select_and_its_callers_run_it() -> None:
    check_transformed(
        REPO,
        """
        from sqlalchemy.orm import Session

        from app.models import User
        from sqlalchemy import func, select

        class Repo:
            def __init__(self, session: Session):
                self.session = session

            def get_query(self):
                return select(User)

            def get_list(self):
                return self.session.scalars(self.get_query().order_by(User.id)).all()

            def get_one(self, pk):
                return self.session.get(User, pk)

            def count(self):
                return self.session.scalar(select(func.count()).select_from(self.get_query().subquery()))

            def named(self, name):
                q = self.get_query().where(User.name == name)
                return self.session.scalars(q.limit(1)).first()

            def names(self):
                return [u.name for u in self.session.scalars(self.get_query().order_by(User.name))]

            def save(self, user):
                self.session.add(user)
                self.session.commit()
        """,
        project={"app.models": MODELS},
        module_name="app.repo",
    )


def test_factory_method_and_its_callers_go_async_together() -> None:
    check_project(
        {"app.models": MODELS, "app.repo": REPO},
        {
            "app.repo": """
                from app.models import User
                from sqlalchemy import func, select
                from sqlalchemy.ext.asyncio import AsyncSession

                class Repo:
                    def __init__(self, session: AsyncSession):
                        self.session = session

                    def get_query(self):
                        return select(User)

                    async def get_list(self):
                        return (await self.session.scalars(self.get_query().order_by(User.id))).all()

                    async def get_one(self, pk):
                        return await self.session.get(User, pk)

                    async def count(self):
                        return await self.session.scalar(select(func.count()).select_from(self.get_query().subquery()))

                    async def named(self, name):
                        q = self.get_query().where(User.name == name)
                        return (await self.session.scalars(q.limit(1))).first()

                    async def names(self):
                        return [u.name for u in await self.session.scalars(self.get_query().order_by(User.name))]

                    async def save(self, user):
                        self.session.add(user)
                        await self.session.commit()
            """,
        },
    )


def test_get_on_a_factory_method_of_a_class_attribute_model() -> None:
    """``self.model`` names the mapped class the same way in the caller."""
    check_transformed(
        """
        from sqlalchemy.orm import Session

        from app.models import User

        class Repo:
            model = User

            def __init__(self, session: Session):
                self.session = session

            def get_query(self):
                return self.session.query(self.model)

            def get_one(self, pk):
                return self.get_query().get(pk)
        """,
        """
        from sqlalchemy.orm import Session

        from app.models import User
        from sqlalchemy import select

        class Repo:
            model = User

            def __init__(self, session: Session):
                self.session = session

            def get_query(self):
                return select(self.model)

            def get_one(self, pk):
                return self.session.get(self.model, pk)
        """,
        project={"app.models": MODELS},
        module_name="app.repo",
    )


def test_get_after_a_filtering_factory_method_keeps_the_query() -> None:
    """Legacy ``get()`` refuses a query with criteria: nothing to rewrite it to."""
    code = """
        from sqlalchemy.orm import Session

        from app.models import User

        class Repo:
            def __init__(self, session: Session):
                self.session = session

            def get_query(self):
                return self.session.query(User).filter(User.name != "")

            def get_one(self, pk):
                return self.get_query().get(pk)
    """
    migrated = check_transformed(
        code,
        code.replace(
            "def get_query(self):\n",
            "def get_query(self):\n"
            "                # TODO(sqla-upgrade): this Query object is returned or passed on, so its "
            "consumers cannot be rewritten with it; convert it and its consumers together\n",
        ),
        project={"app.models": MODELS},
        module_name="app.repo",
        todos=["returned or passed on"],
    )
    assert "self.get_query().get(pk)" in migrated.code


CALLED_ELSEWHERE = """
    from app.repo import Repo

    class UserRepo(Repo):
        def total(self):
            return self.get_query().count()

    def listing(repo: Repo):
        return repo.get_query().filter_by(name="a").all()
"""

RUNS_LEGACY = "get_query() returns a legacy Query on its object's session, an AsyncSession now"


def test_factory_method_used_from_other_modules_is_flagged_where_it_runs() -> None:
    repo = """
        from sqlalchemy.orm import Session

        from app.models import User

        class Repo:
            def __init__(self, session: Session):
                self.session = session

            def get_query(self):
                return self.session.query(User)

            def get_list(self):
                return self.get_query().all()
    """
    todo = (
        "# TODO(sqla-upgrade): get_query() returns a legacy Query on its object's session, an "
        "AsyncSession now, which has no query(): make get_query() return a select() and run it "
        "here with `await session.scalars(...)` / `await session.execute(...)`"
    )
    check_project(
        {"app.models": MODELS, "app.repo": repo, "app.views": CALLED_ELSEWHERE},
        {
            "app.repo": f"""
                from app.models import User
                from sqlalchemy.ext.asyncio import AsyncSession

                class Repo:
                    def __init__(self, session: AsyncSession):
                        self.session = session

                    def get_query(self):
                        # TODO(sqla-upgrade): this Query object is returned or passed on, so its consumers cannot be rewritten with it; convert it and its consumers together
                        return self.session.query(User)

                    def get_list(self):
                        {todo}
                        return self.get_query().all()
            """,
            "app.views": f"""
                from app.repo import Repo

                class UserRepo(Repo):
                    def total(self):
                        {todo}
                        return self.get_query().count()

                def listing(repo: Repo):
                    {todo}
                    return repo.get_query().filter_by(name="a").all()
            """,
        },
        todos=[RUNS_LEGACY, "returned or passed on"],
    )


def test_factory_method_overriding_a_base_from_elsewhere_keeps_its_query() -> None:
    """A framework's base class may call the method it overrides and want a Query."""
    migrated = check_transformed(
        """
        from sqlalchemy.orm import Session
        from framework.views import ModelView

        from app.models import User

        class UserView(ModelView):
            def __init__(self, session: Session):
                self.session = session

            def get_query(self):
                return self.session.query(User)

            def get_list(self):
                return self.get_query().all()
        """,
        """
        from sqlalchemy.orm import Session
        from framework.views import ModelView

        from app.models import User

        class UserView(ModelView):
            def __init__(self, session: Session):
                self.session = session

            def get_query(self):
                # TODO(sqla-upgrade): this Query object is returned or passed on, so its consumers cannot be rewritten with it; convert it and its consumers together
                return self.session.query(User)

            def get_list(self):
                return self.get_query().all()
        """,
        project={"app.models": MODELS},
        module_name="app.repo",
        todos=["returned or passed on"],
    )
    assert migrated.changed


def test_query_of_another_client_on_an_attribute_is_not_flagged() -> None:
    check_noop(
        """
        class Search:
            def __init__(self, index):
                self.index = index

            def get_query(self):
                return self.index.query("users")

            def hits(self):
                return self.get_query().all()
        """,
        target="async",
    )


def test_migrated_factory_methods_give_the_same_results(tmp_path: Path) -> None:
    runner = """
        from sqlalchemy import create_engine
        from sqlalchemy.orm import Session

        from app.models import Base, User
        from app.repo import Repo

        def run(url):
            engine = create_engine(url)
            Base.metadata.create_all(engine)
            with Session(engine) as session:
                repo = Repo(session)
                for name in ("bo", "al", "cy"):
                    repo.save(User(name=name))
                found = repo.get_one(2)
                return (
                    [u.name for u in repo.get_list()],
                    found.name,
                    repo.count(),
                    repo.named("cy").id,
                    repo.names(),
                )
    """
    sources = {"app.models": MODELS, "app.repo": REPO, "app.run": runner}
    migrated = migrate_project({k: _dedent(v) for k, v in sources.items()}, target="async")
    assert not [n.message for m in migrated.values() for n in m.todos]
    expected = (["bo", "al", "cy"], "al", 3, 3, ["al", "bo", "cy"])
    assert _run(sources, {k: _dedent(v) for k, v in sources.items()}, tmp_path / "a.db") == (
        expected
    )
    new = {k: m.code for k, m in migrated.items()}
    assert asyncio.run(_run(sources, new, tmp_path / "b.db", asynchronous=True)) == expected


def _run(sources: dict[str, str], code: dict[str, str], db: Path, asynchronous: bool = False):  # type: ignore[no-untyped-def]
    """Import the modules of ``code`` as the ``app`` package and call ``app.run.run``."""
    import sys
    import types

    saved = {k: v for k, v in sys.modules.items() if k == "app" or k.startswith("app.")}
    for name in saved:
        del sys.modules[name]
    sys.modules["app"] = types.ModuleType("app")
    try:
        for name in sources:
            module = types.ModuleType(name)
            sys.modules[name] = module
            exec(compile(code[name], name, "exec", dont_inherit=True), module.__dict__)
        run = sys.modules["app.run"].run  # type: ignore[attr-defined]
        return run(f"sqlite{'+aiosqlite' if asynchronous else ''}:///{db}")
    finally:
        for name in [k for k in sys.modules if k == "app" or k.startswith("app.")]:
            del sys.modules[name]
        sys.modules.update(saved)
