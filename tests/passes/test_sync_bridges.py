"""await: calls into code that is not migrated get the synchronous session they expect."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from sqla_upgrade.api import migrate_source
from sqla_upgrade.codemods.options import Options
from tests.harness import check_noop, check_transformed

APP = """
    import logging

    from sqlalchemy import create_engine, text
    from sqlalchemy.orm import Session
    from vendor.reports import build_report, describe, export

    engine = create_engine("sqlite:///app.db")


    def report():
        with Session(engine) as session:
            logging.info("session %s", session)
            total = session.execute(text("select 1")).scalar()
            return build_report(session, title="t"), total, describe(42)


    def raw():
        with engine.connect() as conn:
            return build_report(conn)


    def dump():
        return export(engine)
"""


def test_session_and_connection_arguments_run_through_run_sync() -> None:
    check_transformed(
        APP,
        """
        import logging

        from sqlalchemy import text
        from vendor.reports import build_report, describe, export
        from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

        engine = create_async_engine("sqlite+aiosqlite:///app.db")


        async def report():
            async with AsyncSession(engine, expire_on_commit=False) as session:
                logging.info("session %s", session)
                total = (await session.execute(text("select 1"))).scalar()
                return await session.run_sync(lambda sync_session: build_report(sync_session, title="t")), total, describe(42)


        async def raw():
            async with engine.connect() as conn:
                return await conn.run_sync(lambda sync_conn: build_report(sync_conn))


        async def dump():
            async with engine.connect() as conn:
                return await conn.run_sync(lambda sync_conn: export(sync_conn.engine))
        """,
        target="async",
    )


def test_calls_without_sessions_and_project_functions_are_not_bridged() -> None:
    check_noop(
        """
        from vendor.reports import describe

        def label(x):
            return describe(x)
        """,
        target="async",
    )


def test_listed_sync_callables_and_thread_bridges() -> None:
    code = textwrap.dedent(
        """
        from sqlalchemy import text
        from sqlalchemy.ext.asyncio import AsyncSession

        from app.legacy import audit
        from app.mail import send_mail


        async def close(session: AsyncSession, user_id):
            await session.execute(text("update users set active = 0"))
            audit(session, user_id)
            send_mail("admin", subject="closed")
        """
    ).lstrip()
    options = Options(
        target="async",
        sync_callables=("app.legacy.audit",),
        bridge_to_thread=("app.mail.send_mail",),
    )
    project = {
        "app.legacy": "def audit(session, user_id):\n    pass\n",
        "app.mail": "def send_mail(to, subject):\n    pass\n",
    }
    migrated = migrate_source(code, options=options, project=project, module_name="app.jobs")
    assert "    await session.run_sync(lambda sync_session: audit(sync_session, user_id))\n" in (
        migrated.code
    )
    assert '    await asyncio.to_thread(send_mail, "admin", subject="closed")\n' in migrated.code
    again = migrate_source(migrated.code, options=options, project=project, module_name="app.jobs")
    assert again.code == migrated.code
    compile(migrated.code, "jobs.py", "exec")


VENDOR = """
from sqlalchemy import text


def build_report(session, title):
    rows = session.execute(text("select name from users order by name")).all()
    return title + ": " + ", ".join(r[0] for r in rows)
"""

LEGACY_APP = """
import sys

from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from vendor.reports import build_report

engine = create_engine("sqlite:///" + sys.argv[1])


def main():
    with Session(engine) as session:
        session.execute(text("create table users (name text)"))
        session.execute(text("insert into users values ('bo'), ('al')"))
        session.commit()
        print(build_report(session, title="users"))


if __name__ == "__main__":
    main()
"""


def test_vendored_package_outside_paths_stays_sync_and_untouched(tmp_path: Path) -> None:
    """``apply`` on the app only: the vendored package's bytes do not change and the
    migrated app prints what the legacy app printed, on aiosqlite."""
    project = tmp_path / "project"
    (project / "vendor").mkdir(parents=True)
    (project / "app").mkdir()
    (project / "vendor" / "__init__.py").write_text("")
    (project / "vendor" / "reports.py").write_text(VENDOR)
    (project / "app" / "__init__.py").write_text("")
    (project / "app" / "main.py").write_text(LEGACY_APP)
    vendor_before = (project / "vendor" / "reports.py").read_bytes()
    env = {**os.environ, "PYTHONPATH": str(project)}

    def run_app(database: str) -> str:
        result = subprocess.run(
            [sys.executable, "-m", "app.main", str(tmp_path / database)],
            cwd=project,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr
        return result.stdout

    legacy_output = run_app("legacy.db")
    applied = subprocess.run(
        [sys.executable, "-m", "sqla_upgrade", "apply", "--target", "async", "app"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert applied.returncode == 0, applied.stderr
    migrated = (project / "app" / "main.py").read_text()
    assert "await session.run_sync(lambda sync_session: build_report(sync_session" in migrated
    assert "sqlite+aiosqlite" in migrated
    assert (project / "vendor" / "reports.py").read_bytes() == vendor_before
    assert run_app("migrated.db") == legacy_output == "users: al, bo\n"


BULK = """
    from sqlalchemy import Column, Integer, String, select
    from sqlalchemy.orm import Session, declarative_base

    Base = declarative_base()


    class Comment(Base):
        __tablename__ = "comments"
        id = Column(Integer, primary_key=True)
        text = Column(String)


    def load(db: Session, rows):
        db.bulk_insert_mappings(Comment, rows)
        db.bulk_save_objects([Comment(text="c")])
        db.commit()
        return db.scalars(select(Comment.text).order_by(Comment.id)).all()
"""


def test_bulk_methods_only_a_sync_session_has_run_through_run_sync() -> None:
    check_transformed(
        BULK,
        BULK.replace(
            "from sqlalchemy.orm import Session, declarative_base",
            "from sqlalchemy.orm import declarative_base\n    from sqlalchemy.ext.asyncio import AsyncSession",
        )
        .replace("def load(db: Session, rows):", "async def load(db: AsyncSession, rows):")
        .replace(
            "db.bulk_insert_mappings(Comment, rows)",
            "await db.run_sync(lambda sync_session: sync_session.bulk_insert_mappings(Comment, rows))",
        )
        .replace(
            'db.bulk_save_objects([Comment(text="c")])',
            'await db.run_sync(lambda sync_session: sync_session.bulk_save_objects([Comment(text="c")]))',
        )
        .replace("db.commit()", "await db.commit()")
        .replace("return db.scalars(", "return (await db.scalars(")
        .replace(".order_by(Comment.id)).all()", ".order_by(Comment.id))).all()"),
        target="async",
    )


def test_bulk_methods_on_what_is_no_session_stay() -> None:
    check_noop(
        """
        class Loader:
            def bulk_insert_mappings(self, model, rows):
                return rows


        def load(loader: Loader, rows):
            return loader.bulk_insert_mappings(None, rows)
        """,
        target="async",
    )


def test_migrated_bulk_methods_write_the_rows(tmp_path: Path) -> None:
    import asyncio

    from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

    from tests.harness import exec_module

    code = migrate_source(textwrap.dedent(BULK), target="async").code
    namespace = exec_module(code)

    async def run() -> list[str]:
        engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'bulk.db'}")
        async with engine.begin() as conn:
            await conn.run_sync(namespace.Base.metadata.create_all)
        async with AsyncSession(engine) as session:
            texts: list[str] = await namespace.load(session, [{"text": "a"}, {"text": "b"}])
        await engine.dispose()
        return texts

    assert asyncio.run(run()) == ["a", "b", "c"]
