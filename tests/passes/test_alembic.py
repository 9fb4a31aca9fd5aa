"""Alembic migration scripts and ``env.py`` stay synchronous under ``--target async``.

Alembic calls ``upgrade()``/``downgrade()`` and ``run_migrations_online()`` synchronously,
on a synchronous connection of its own (``op.get_bind()``, ``engine_from_config``). Made
``async``, ``upgrade()`` would be a coroutine Alembic never awaits: the revision would be
recorded as applied and its data changes never made, without an error. So a module that
imports Alembic's ``op`` or ``context`` gets the 2.0 rewrites (``select([...])``,
``session.query``) and none of the async ones; where it uses what became async (a
function of the project, the project's engine or session factory) the use is left with
a TODO. A module only driving Alembic (``alembic.command``) is migrated as any other.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from sqla_upgrade.api import migrate_project
from tests.harness import _dedent, check_project

MODELS = """
    from sqlalchemy import Column, Integer, String, create_engine
    from sqlalchemy.orm import declarative_base, sessionmaker

    Base = declarative_base()
    engine = create_engine("sqlite:///app.db")
    SessionLocal = sessionmaker(bind=engine)


    class User(Base):
        __tablename__ = "users"
        id = Column(Integer, primary_key=True)
        name = Column(String)
        email = Column(String)


    def count_users():
        with SessionLocal() as session:
            return session.query(User).count()
"""

MODELS_ASYNC = """
    from sqlalchemy import func, select, Column, Integer, String
    from sqlalchemy.orm import declarative_base
    from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

    Base = declarative_base()
    engine = create_async_engine("sqlite+aiosqlite:///app.db")
    SessionLocal = async_sessionmaker(bind=engine, expire_on_commit=False)


    class User(Base):
        __tablename__ = "users"
        id = Column(Integer, primary_key=True)
        name = Column(String)
        email = Column(String)


    async def count_users():
        async with SessionLocal() as session:
            return await session.scalar(select(func.count()).select_from(select(User).subquery()))
"""

REVISION = """
    import sqlalchemy as sa
    from alembic import op
    from sqlalchemy.orm import Session

    from app.models import User

    revision = "0002"
    down_revision = "0001"

    users = sa.table("users", sa.column("id", sa.Integer), sa.column("email", sa.String))


    def upgrade():
        bind = op.get_bind()
        rows = bind.execute(sa.select([users.c.id]).where(users.c.email == None)).fetchall()
        for row in rows:
            bind.execute(users.update().where(users.c.id == row[0]).values(email="none"))
        session = Session(bind=bind)
        for user in session.query(User).filter(User.name == None).order_by(User.id):
            user.name = "anon"
        session.commit()


    def downgrade():
        op.execute("UPDATE users SET email = NULL WHERE email = 'none'")
"""

REVISION_2_0 = """
    import sqlalchemy as sa
    from alembic import op
    from sqlalchemy.orm import Session

    from app.models import User
    from sqlalchemy import select

    revision = "0002"
    down_revision = "0001"

    users = sa.table("users", sa.column("id", sa.Integer), sa.column("email", sa.String))


    def upgrade():
        bind = op.get_bind()
        rows = bind.execute(sa.select(users.c.id).where(users.c.email == None)).fetchall()
        for row in rows:
            bind.execute(users.update().where(users.c.id == row[0]).values(email="none"))
        session = Session(bind=bind)
        for user in session.scalars(select(User).where(User.name == None).order_by(User.id)):
            user.name = "anon"
        session.commit()


    def downgrade():
        op.execute("UPDATE users SET email = NULL WHERE email = 'none'")
"""

ENV = """
    from alembic import context
    from sqlalchemy import engine_from_config, pool

    from app.models import Base

    config = context.config


    def run_migrations_online():
        connectable = engine_from_config(
            config.get_section(config.config_ini_section),
            prefix="sqlalchemy.",
            poolclass=pool.NullPool,
        )
        with connectable.connect() as connection:
            context.configure(connection=connection, target_metadata=Base.metadata)
            with context.begin_transaction():
                context.run_migrations()


    run_migrations_online()
"""


def test_revisions_and_env_get_the_2_0_rewrites_only() -> None:
    """Nothing in them is awaited or made async; the models module is migrated fully."""
    check_project(
        {"app.models": MODELS, "migrations.versions.r0002": REVISION, "migrations.env": ENV},
        {
            "app.models": MODELS_ASYNC,
            "migrations.versions.r0002": REVISION_2_0,
            "migrations.env": ENV,
        },
    )


def test_the_2_0_target_migrates_them_as_any_module() -> None:
    check_project(
        {"app.models": MODELS, "migrations.versions.r0002": REVISION},
        {"migrations.versions.r0002": REVISION_2_0},
        target="2.0",
    )


def test_a_revision_calling_a_function_that_became_async_is_left_with_a_todo() -> None:
    revision = """
        from alembic import op

        from app.models import count_users


        def upgrade():
            if count_users() == 0:
                op.execute("INSERT INTO users (name) VALUES ('admin')")
        """
    expected = """
        from alembic import op

        from app.models import count_users


        def upgrade():
            # TODO(sqla-upgrade): app.models.count_users() is now a coroutine but cannot be awaited here (Alembic runs migrations synchronously); use an async method or run_sync
            if count_users() == 0:
                op.execute("INSERT INTO users (name) VALUES ('admin')")
        """
    check_project(
        {"app.models": MODELS, "migrations.versions.r0003": revision},
        {"app.models": MODELS_ASYNC, "migrations.versions.r0003": expected},
        todos=["Alembic runs migrations synchronously"],
    )


@pytest.mark.parametrize(
    "alembic_import",
    [
        "from alembic import command",
        "from alembic.util.exc import CommandError",
        "from alembic.config import Config",
    ],
)
def test_a_module_that_only_calls_alembic_is_the_applications_own(alembic_import: str) -> None:
    """A CLI module running ``command.upgrade()`` or catching Alembic's errors is not run
    by Alembic: its functions become async like any other module's."""
    module = f"""
        {alembic_import}

        from app.models import count_users


        def report():
            return count_users() == 0
        """
    expected = f"""
        {alembic_import}

        from app.models import count_users


        async def report():
            return await count_users() == 0
        """
    check_project(
        {"app.models": MODELS, "app.cli": module},
        {"app.models": MODELS_ASYNC, "app.cli": expected},
    )


HELPERS = """
    from sqlalchemy import Column, Integer, String
    from sqlalchemy.orm import Session, declarative_base

    Base = declarative_base()


    class Role(Base):
        __tablename__ = "roles"
        id = Column(Integer, primary_key=True)
        name = Column(String)


    def add_role(session: Session, name):
        if session.query(Role).filter_by(name=name).one_or_none() is None:
            session.add(Role(name=name))
        session.commit()
"""

HELPERS_2_0 = HELPERS.replace(
    "from sqlalchemy import Column", "from sqlalchemy import select, Column"
).replace(
    "session.query(Role).filter_by(name=name).one_or_none()",
    "session.scalars(select(Role).filter_by(name=name)).one_or_none()",
)

HELPERS_REVISION = """
    from alembic import op
    from sqlalchemy.orm import Session

    from migrations.shared.roles import add_role


    def upgrade():
        add_role(Session(bind=op.get_bind()), "admin")
"""


def test_a_helper_module_only_migrations_import_runs_under_alembic_too() -> None:
    """``migrations/shared/roles.py``, imported by revisions alone, runs inside them on
    Alembic's synchronous connection: it gets the 2.0 rewrites only, and the revision
    calling it nothing (no coroutine to await)."""
    check_project(
        {
            "app.models": MODELS,
            "migrations.shared.roles": HELPERS,
            "migrations.versions.r0004": HELPERS_REVISION,
        },
        {
            "app.models": MODELS_ASYNC,
            "migrations.shared.roles": HELPERS_2_0,
            "migrations.versions.r0004": HELPERS_REVISION,
        },
    )


def test_a_helper_the_application_imports_too_is_the_applications() -> None:
    app = """
        from sqlalchemy.orm import Session

        from migrations.shared.roles import add_role


        def bootstrap(session: Session):
            add_role(session, "admin")
    """
    result = migrate_project(
        {
            "app.models": _dedent(MODELS),
            "app.setup": _dedent(app),
            "migrations.shared.roles": _dedent(HELPERS),
            "migrations.versions.r0004": _dedent(HELPERS_REVISION),
        }
    )
    assert (
        "async def add_role(session: AsyncSession, name):" in result["migrations.shared.roles"].code
    )
    assert "await add_role(session" in result["app.setup"].code
    assert any(
        "Alembic runs migrations synchronously" in n.message
        for n in result["migrations.versions.r0004"].todos
    )


def test_a_module_only_driving_alembic_is_migrated_as_any_module() -> None:
    """Running Alembic's commands (``alembic.command``, ``alembic.config``) is no
    migration script: only modules importing ``op`` or ``context`` are run by Alembic."""
    helpers = """
        from alembic import command
        from alembic.config import Config

        from app.models import SessionLocal, User


        def upgrade_db():
            command.upgrade(Config("alembic.ini"), "heads")


        def names():
            with SessionLocal() as session:
                return [u.name for u in session.query(User).order_by(User.id)]
        """
    expected = """
        from alembic import command
        from alembic.config import Config

        from app.models import SessionLocal, User
        from sqlalchemy import select


        def upgrade_db():
            command.upgrade(Config("alembic.ini"), "heads")


        async def names():
            async with SessionLocal() as session:
                return [u.name for u in await session.scalars(select(User).order_by(User.id))]
        """
    check_project(
        {"app.models": MODELS, "app.db": helpers, "migrations.env": ENV},
        {"app.models": MODELS_ASYNC, "app.db": expected, "migrations.env": ENV},
    )


def test_env_using_the_projects_engine_is_left_with_todos() -> None:
    """The project's engine is an AsyncEngine now: Alembic's async recipe
    (``await connection.run_sync(do_run_migrations)``) is the user's call."""
    env = """
        from alembic import context

        from app.models import Base, engine


        def run_migrations_online():
            with engine.connect() as connection:
                context.configure(connection=connection, target_metadata=Base.metadata)
                with context.begin_transaction():
                    context.run_migrations()
        """
    migrated = migrate_project(
        {"app.models": _dedent(MODELS), "migrations.env": _dedent(env)}, target="async"
    )["migrations.env"]
    assert "async def" not in migrated.code
    assert any("is now async" in todo.message for todo in migrated.todos), migrated.todos


def test_revision_using_the_projects_session_factory_is_left_with_todos() -> None:
    revision = """
        from alembic import op

        from app.models import SessionLocal, User


        def upgrade():
            session = SessionLocal()
            session.add(User(name="admin"))
            session.commit()
        """
    migrated = migrate_project(
        {"app.models": _dedent(MODELS), "migrations.versions.r0004": _dedent(revision)},
        target="async",
    )["migrations.versions.r0004"]
    assert "\ndef upgrade():" in migrated.code and "await session" not in migrated.code
    assert any("Alembic runs migrations synchronously" in t.message for t in migrated.todos)


ALEMBIC_INI = """
[alembic]
script_location = migrations
sqlalchemy.url = {url}
"""

INITIAL = """
    import sqlalchemy as sa
    from alembic import op

    revision = "0001"
    down_revision = None


    def upgrade():
        op.create_table(
            "users",
            sa.Column("id", sa.Integer, primary_key=True),
            sa.Column("name", sa.String),
            sa.Column("email", sa.String),
        )
        op.execute("INSERT INTO users (id, name, email) VALUES (1, NULL, NULL), (2, 'b', 'b@x')")


    def downgrade():
        op.drop_table("users")
"""


def _write_project(root: Path, sources: dict[str, str], url: str) -> None:
    for name, code in sources.items():
        path = root / (name.replace(".", "/") + ".py")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(code)
    (root / "app" / "__init__.py").write_text("")
    (root / "migrations" / "script.py.mako").write_text("")
    (root / "alembic.ini").write_text(ALEMBIC_INI.format(url=url))


def _upgrade(root: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(root)}
    command = [sys.executable, "-m", "alembic", "-c", str(root / "alembic.ini"), "upgrade", "head"]
    done = subprocess.run(command, cwd=root, env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr


def test_migrated_revisions_still_change_the_data(tmp_path: Path) -> None:
    """The migrated scripts, run by Alembic itself, leave the rows the 2.0 code leaves;
    the migrated application reads them with its async engine."""
    pytest.importorskip("alembic")
    sources = {
        "app.models": _dedent(MODELS),
        "migrations.env": _dedent(ENV),
        "migrations.versions.r0001": _dedent(INITIAL),
        "migrations.versions.r0002": _dedent(REVISION),
    }
    migrated = {name: m.code for name, m in migrate_project(sources, target="async").items()}
    assert "async def upgrade" not in migrated["migrations.versions.r0002"]
    database = tmp_path / "app.db"
    _write_project(tmp_path, migrated, f"sqlite:///{database}")
    _upgrade(tmp_path)
    with sqlite3.connect(database) as connection:
        rows = connection.execute("SELECT id, name, email FROM users ORDER BY id").fetchall()
    assert rows == [(1, "anon", "none"), (2, "b", "b@x")]

    cwd = os.getcwd()
    sys.path.insert(0, str(tmp_path))
    try:
        os.chdir(tmp_path)
        namespace: dict[str, object] = {}
        exec(compile(migrated["app.models"], "app/models.py", "exec"), namespace)
        assert asyncio.run(namespace["count_users"]()) == 2  # type: ignore[operator]
        asyncio.run(namespace["engine"].dispose())  # type: ignore[attr-defined]
    finally:
        os.chdir(cwd)
        sys.path.remove(str(tmp_path))


def test_a_module_that_only_runs_alembic_is_migrated_as_any_module() -> None:
    """A test suite's ``conftest.py`` upgrading the database with ``alembic.command``
    is not code Alembic runs: its session fixture becomes async with the tests awaiting
    it (kept synchronous, the tests awaited a synchronous session's ``flush()``)."""
    conftest = """
        import pytest
        from alembic import command
        from alembic.config import Config
        from sqlalchemy import create_engine
        from sqlalchemy.orm import sessionmaker


        @pytest.fixture
        def db_session():
            engine = create_engine("sqlite://")
            command.upgrade(Config("alembic.ini"), "head")
            session = sessionmaker(bind=engine)()
            yield session
            session.close()
        """
    test = """
        from app.models import User


        def test_add(db_session):
            db_session.add(User(name="a"))
            db_session.flush()
        """
    conftest_async = """
        import pytest
        from alembic import command
        from alembic.config import Config
        from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine
        import pytest_asyncio


        @pytest_asyncio.fixture(loop_scope="session")
        async def db_session():
            engine = create_async_engine("sqlite+aiosqlite://")
            command.upgrade(Config("alembic.ini"), "head")
            session = async_sessionmaker(bind=engine, expire_on_commit=False)()
            yield session
            await session.close()
        """
    test_async = """
        from app.models import User
        import pytest


        @pytest.mark.asyncio(loop_scope="session")
        async def test_add(db_session):
            db_session.add(User(name="a"))
            await db_session.flush()
        """
    check_project(
        {"app.models": MODELS, "tests.conftest": conftest, "tests.test_users": test},
        {"tests.conftest": conftest_async, "tests.test_users": test_async},
    )
