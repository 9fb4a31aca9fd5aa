"""await: engines, ``session.bind`` and connections handed to code that stays synchronous.

pandas ``read_sql*`` (reads: ``engine.connect()``) and ``DataFrame.to_sql`` (writes:
``engine.begin()``) get the synchronous connection; other third-party functions get the
synchronous ``Engine`` (``sync_conn.engine``); ``Table(..., autoload_with=engine)``
reflects on a connection's ``run_sync``. The runtime proof is at the end of the module.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.harness import check_noop, check_project, check_transformed

HEADER = """
    import pandas as pd
    from sqlalchemy import MetaData, Table, create_engine, text
    from sqlalchemy.orm import Session

    engine = create_engine("sqlite:///app.db")
    metadata = MetaData()
"""

MIGRATED_HEADER = """
    import pandas as pd
    from sqlalchemy import MetaData, Table, text
    from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

    engine = create_async_engine("sqlite+aiosqlite:///app.db")
    metadata = MetaData()
"""


def test_pandas_read_sql_reads_on_a_connection() -> None:
    check_transformed(
        HEADER.replace(", text", "").replace("from sqlalchemy.orm import Session\n", "")
        + """

    def load(query):
        frame = pd.read_sql(query, con=engine, index_col="id")
        return frame


    def total(query):
        return len(pd.read_sql_query(query, engine)) + len(pd.read_sql_table("users", engine))
    """,
        MIGRATED_HEADER.replace(", text", "").replace("AsyncSession, ", "")
        + """

    async def load(query):
        async with engine.connect() as conn:
            frame = await conn.run_sync(lambda sync_conn: pd.read_sql(query, con=sync_conn, index_col="id"))
        return frame


    async def total(query):
        async with engine.connect() as conn:
            return len(await conn.run_sync(lambda sync_conn: pd.read_sql_query(query, sync_conn))) + len(await conn.run_sync(lambda sync_conn: pd.read_sql_table("users", sync_conn)))
    """,
        target="async",
    )


def test_dataframe_to_sql_writes_in_a_transaction_and_callers_await() -> None:
    check_transformed(
        """
        from sqlalchemy import create_engine

        engine = create_engine("sqlite:///app.db")


        def save(frame, name):
            frame.to_sql(name, engine, if_exists="replace", index=False)


        def save_all(frames):
            for name, frame in frames.items():
                save(frame, name)
        """,
        """
        from sqlalchemy.ext.asyncio import create_async_engine

        engine = create_async_engine("sqlite+aiosqlite:///app.db")


        async def save(frame, name):
            async with engine.begin() as conn:
                await conn.run_sync(lambda sync_conn: frame.to_sql(name, sync_conn, if_exists="replace", index=False))


        async def save_all(frames):
            for name, frame in frames.items():
                await save(frame, name)
        """,
        target="async",
    )


def test_third_party_function_given_an_engine_gets_the_sync_engine() -> None:
    check_transformed(
        """
        from sqlalchemy import create_engine
        from vendor.exports import export

        engine = create_engine("sqlite:///app.db")


        def dump(path, conn):
            result = export(path, engine, fmt="csv")
            return result, conn
        """,
        """
        from vendor.exports import export
        from sqlalchemy.ext.asyncio import create_async_engine

        engine = create_async_engine("sqlite+aiosqlite:///app.db")


        async def dump(path, conn):
            async with engine.connect() as conn_2:
                result = await conn_2.run_sync(lambda sync_conn: export(path, sync_conn.engine, fmt="csv"))
            return result, conn
        """,
        target="async",
    )


def test_table_autoload_with_in_a_function_reflects_through_run_sync() -> None:
    check_transformed(
        """
        from sqlalchemy import MetaData, Table, create_engine

        engine = create_engine("sqlite:///app.db")
        metadata = MetaData()


        def accounts_table():
            accounts = Table("accounts", metadata, autoload_with=engine, schema="main")
            metadata.reflect(bind=engine, only=["orders"])
            return accounts
        """,
        """
        from sqlalchemy import MetaData, Table
        from sqlalchemy.ext.asyncio import create_async_engine

        engine = create_async_engine("sqlite+aiosqlite:///app.db")
        metadata = MetaData()


        async def accounts_table():
            async with engine.connect() as conn_2:
                accounts = await conn_2.run_sync(lambda sync_conn: Table("accounts", metadata, autoload_with=sync_conn, schema="main"))
            async with engine.begin() as conn:
                await conn.run_sync(metadata.reflect, only=["orders"])
            return accounts
        """,
        target="async",
    )


def test_table_autoload_with_a_connection_or_session_bind_runs_on_it() -> None:
    check_transformed(
        """
        from sqlalchemy import MetaData, Table, create_engine
        from sqlalchemy.orm import Session

        engine = create_engine("sqlite:///app.db")


        def tables(session: Session):
            with engine.connect() as conn:
                users = Table("users", MetaData(), autoload_with=conn)
            return users, Table("orders", MetaData(), autoload_with=session.bind)
        """,
        """
        from sqlalchemy import MetaData, Table
        from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

        engine = create_async_engine("sqlite+aiosqlite:///app.db")


        async def tables(session: AsyncSession):
            async with engine.connect() as conn:
                users = await conn.run_sync(lambda sync_conn: Table("users", MetaData(), autoload_with=sync_conn))
            return users, await session.run_sync(lambda sync_session: Table("orders", MetaData(), autoload_with=sync_session.bind))
        """,
        target="async",
    )


def test_table_autoload_with_at_module_level_gets_a_todo() -> None:
    check_transformed(
        """
        from sqlalchemy import MetaData, Table, create_engine

        engine = create_engine("sqlite:///app.db")
        users = Table("users", MetaData(), autoload_with=engine)
        """,
        """
        from sqlalchemy import MetaData, Table
        from sqlalchemy.ext.asyncio import create_async_engine

        engine = create_async_engine("sqlite+aiosqlite:///app.db")
        # TODO(sqla-upgrade): reflection with autoload_with needs a synchronous connection and nothing can await at import time: reflect at startup, in async code, with `async with engine.connect() as conn: table = await conn.run_sync(lambda sync_conn: Table(..., autoload_with=sync_conn))`, or with a synchronous engine (create_engine with the synchronous driver)
        users = Table("users", MetaData(), autoload_with=engine)
        """,
        target="async",
        todos=["reflection with autoload_with"],
    )


def test_session_bind_get_bind_and_connection_run_on_the_session() -> None:
    check_transformed(
        HEADER
        + """

    def frames():
        with Session(engine) as session:
            session.execute(text("select 1"))
            a = pd.read_sql("select * from users", session.bind)
            b = pd.read_sql("select * from users", con=session.get_bind())
            c = pd.read_sql("select * from users", con=session.connection())
            return a, b, c
    """,
        MIGRATED_HEADER
        + """

    async def frames():
        async with AsyncSession(engine, expire_on_commit=False) as session:
            await session.execute(text("select 1"))
            a = await session.run_sync(lambda sync_session: pd.read_sql("select * from users", sync_session.bind))
            b = await session.run_sync(lambda sync_session: pd.read_sql("select * from users", con=sync_session.get_bind()))
            c = await session.run_sync(lambda sync_session: pd.read_sql("select * from users", con=sync_session.connection()))
            return a, b, c
    """,
        target="async",
    )


def test_module_level_and_statement_headers_get_todos() -> None:
    check_transformed(
        """
        import pandas as pd
        from sqlalchemy import create_engine

        engine = create_engine("sqlite:///app.db")
        frame = pd.read_sql("select 1", engine)


        def has_rows(query):
            if len(pd.read_sql(query, engine)):
                return True
            return False
        """,
        """
        import pandas as pd
        from sqlalchemy.ext.asyncio import create_async_engine

        engine = create_async_engine("sqlite+aiosqlite:///app.db")
        # TODO(sqla-upgrade): this call needs a synchronous engine: in async code run it as `async with engine.connect() as conn: await conn.run_sync(lambda sync_conn: ...)`
        frame = pd.read_sql("select 1", engine)


        async def has_rows(query):
            # TODO(sqla-upgrade): this call needs a synchronous engine: move it into its own statement, run as `async with engine.connect() as conn: await conn.run_sync(lambda sync_conn: ...)`
            if len(pd.read_sql(query, engine)):
                return True
            return False
        """,
        target="async",
        todos=["in async code run it as", "move it into its own statement"],
    )


def test_an_argument_that_awaits_keeps_the_call_with_a_todo() -> None:
    check_transformed(
        """
        import pandas as pd
        from sqlalchemy import create_engine, text
        from sqlalchemy.orm import Session

        engine = create_engine("sqlite:///app.db")


        def latest(session: Session):
            return session.execute(text("select max(id) from users")).scalar()


        def frame(session: Session):
            return pd.read_sql(f"select * from users where id = {latest(session)}", session.bind)
        """,
        """
        import pandas as pd
        from sqlalchemy import text
        from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

        engine = create_async_engine("sqlite+aiosqlite:///app.db")


        async def latest(session: AsyncSession):
            return (await session.execute(text("select max(id) from users"))).scalar()


        async def frame(session: AsyncSession):
            # TODO(sqla-upgrade): this call must run inside run_sync, but an argument awaits: assign that argument to a variable first
            return pd.read_sql(f"select * from users where id = {await latest(session)}", session.bind)
        """,
        target="async",
        todos=["an argument awaits"],
    )


def test_third_party_calls_without_engine_or_session_are_not_bridged() -> None:
    check_noop(
        """
        import json

        import pandas as pd
        from sqlalchemy import create_engine
        from vendor.exports import export

        engine = create_engine("sqlite:///app.db")


        def plain(path):
            frame = pd.read_csv(path)
            frame.to_csv(path + ".out")
            return json.dumps({"url": str(engine.url)}), export(path, engine.url), pd.DataFrame({"a": [1]})
        """,
        target="async",
        only=["await"],
    )


def test_sync_target_leaves_pandas_and_reflection_alone() -> None:
    check_noop(
        """
        import pandas as pd
        from sqlalchemy import MetaData, Table, create_engine

        engine = create_engine("sqlite:///app.db")
        users = Table("users", MetaData(), autoload_with=engine)


        def load():
            return pd.read_sql("select * from users", engine)
        """,
        target="2.0",
    )


def test_already_bridged_code_is_left_alone() -> None:
    check_noop(
        """
        import pandas as pd
        from sqlalchemy import MetaData, Table
        from sqlalchemy.ext.asyncio import create_async_engine

        engine = create_async_engine("sqlite+aiosqlite:///app.db")


        async def load():
            async with engine.connect() as conn:
                users = await conn.run_sync(lambda sync_conn: Table("users", MetaData(), autoload_with=sync_conn))
                return users, await conn.run_sync(lambda sync_conn: pd.read_sql("select 1", sync_conn))
        """,
        target="async",
    )


# --------------------------------------------------------------------------- at run time

# a package outside the migrated paths that only knows synchronous engines and
# connections, used the way pandas uses them
VENDOR_FRAMES = """
from contextlib import contextmanager

from sqlalchemy import MetaData, Table
from sqlalchemy.engine import Engine


@contextmanager
def _connection(con, write):
    if isinstance(con, Engine):
        with con.begin() if write else con.connect() as conn:
            yield conn
    elif write and not con.in_transaction():
        with con.begin():
            yield con
    else:
        yield con


class Frame:
    def __init__(self, rows, columns):
        self.rows = rows
        self.columns = columns

    def to_sql(self, name, con):
        with _connection(con, True) as conn:
            table = Table(name, MetaData(), autoload_with=conn)
            conn.execute(table.insert(), [dict(zip(self.columns, row)) for row in self.rows])


def read_sql(sql, con):
    with _connection(con, False) as conn:
        return [tuple(row) for row in conn.exec_driver_sql(sql).all()]


def export_names(engine):
    with engine.connect() as conn:
        rows = conn.exec_driver_sql("select name from users order by name").all()
    return ",".join(row[0] for row in rows)
"""

LEGACY_APP = """
import sys

from sqlalchemy import MetaData, Table, create_engine, text
from sqlalchemy.orm import Session

from vendor.frames import Frame, export_names, read_sql

engine = create_engine("sqlite:///" + sys.argv[1])


def setup():
    with engine.begin() as conn:
        conn.execute(text("create table users (id integer primary key, name text)"))


def columns():
    users = Table("users", MetaData(), autoload_with=engine)
    return [column.name for column in users.columns]


def main():
    setup()
    Frame([(1, "bo"), (2, "al")], ["id", "name"]).to_sql("users", engine)
    print(read_sql("select name from users order by id", engine))
    print(columns())
    with Session(engine) as session:
        print(read_sql("select count(*) from users", session.bind))
        print(read_sql("select count(*) from users", session.connection()))
    print(export_names(engine))


if __name__ == "__main__":
    main()
"""


def test_engine_bridges_run_on_aiosqlite_like_the_legacy_app(tmp_path: Path) -> None:
    """``apply`` on the app only: the vendored package is untouched and the migrated app
    prints what the legacy one printed."""
    project = tmp_path / "project"
    (project / "vendor").mkdir(parents=True)
    (project / "app").mkdir()
    (project / "vendor" / "__init__.py").write_text("")
    (project / "vendor" / "frames.py").write_text(VENDOR_FRAMES)
    (project / "app" / "__init__.py").write_text("")
    (project / "app" / "main.py").write_text(LEGACY_APP)
    vendor_before = (project / "vendor" / "frames.py").read_bytes()
    env = {**os.environ, "PYTHONPATH": str(project)}

    def run_app(database: str) -> str:
        result = subprocess.run(
            [
                sys.executable,
                "-W",
                "error::RuntimeWarning",
                "-m",
                "app.main",
                str(tmp_path / database),
            ],
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
    assert "TODO" not in migrated, migrated
    assert "sqlite+aiosqlite" in migrated
    assert "export_names(sync_conn.engine)" in migrated
    assert (project / "vendor" / "frames.py").read_bytes() == vendor_before
    assert run_app("migrated.db") == legacy_output
    assert legacy_output == "[('bo',), ('al',)]\n['id', 'name']\n[(2,)]\n[(2,)]\nal,bo\n"


def test_a_library_function_run_on_the_bridge_is_not_taken_for_a_project_method() -> None:
    """Keystone's ``migrate_api.upgrade(engine, repository, version)``
    (``from migrate.versioning import api as migrate_api``) runs on the engine's
    ``run_sync``; the project has an async method named ``upgrade`` (a test class's).
    A second run took ``migrate_api.upgrade`` in the lambda for that method, dispatched
    by its name, and added "a lambda cannot await": an attribute of a name imported from
    a library is the library's, never a project function."""
    check_project(
        {
            "app.db": """
                from sqlalchemy import text
                from sqlalchemy.orm import sessionmaker

                Session = sessionmaker()


                class MigrateBase:
                    def upgrade(self, version=None):
                        session = Session()
                        session.execute(text("select 1"))
                        session.commit()
            """,
            "app.upgrades": """
                from migrate.versioning import api as migrate_api


                def sync(engine, repository, version):
                    return migrate_api.upgrade(engine, repository, version)
            """,
        },
        {
            "app.upgrades": """
                from migrate.versioning import api as migrate_api


                async def sync(engine, repository, version):
                    async with engine.connect() as conn:
                        return await conn.run_sync(lambda sync_conn: migrate_api.upgrade(sync_conn.engine, repository, version))
            """,
        },
    )
