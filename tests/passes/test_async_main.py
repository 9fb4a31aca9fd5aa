"""``if __name__ == "__main__":`` blocks that do async work run in one event loop."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from sqla_upgrade.api import migrate_project
from tests.harness import _dedent, check_noop, check_transformed

MODELS = """
    from sqlalchemy import create_engine, select
    from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

    engine = create_engine("sqlite:///app.db")


    class Base(DeclarativeBase):
        pass


    class Item(Base):
        __tablename__ = "items"
        id: Mapped[int] = mapped_column(primary_key=True)


    def add(session: Session, n):
        session.add(Item(id=n))
        session.commit()


    def ids(session: Session):
        for item in session.scalars(select(Item)):
            yield item.id
"""
ASYNC_MODELS = """
    from sqlalchemy import select
    from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
    from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine
    import asyncio

    engine = create_async_engine("sqlite+aiosqlite:///app.db")


    class Base(DeclarativeBase):
        pass


    class Item(Base):
        __tablename__ = "items"
        id: Mapped[int] = mapped_column(primary_key=True)


    async def add(session: AsyncSession, n):
        session.add(Item(id=n))
        await session.commit()


    async def ids(session: AsyncSession):
        for item in await session.scalars(select(Item)):
            yield item.id
"""


def test_a_script_block_becomes_one_async_main() -> None:
    check_transformed(
        MODELS
        + """

    if __name__ == "__main__":
        Base.metadata.create_all(engine)
        with Session(engine) as session:
            add(session, 1)
            add(session, 2)
            print(list(ids(session)))
    """,
        ASYNC_MODELS
        + """

    async def main():
        async with engine.begin() as conn:
            await conn.run_sync(Base.metadata.create_all)
        async with AsyncSession(engine, expire_on_commit=False) as session:
            await add(session, 1)
            await add(session, 2)
            print([item async for item in ids(session)])


    if __name__ == "__main__":
        asyncio.run(main())
    """,
        target="async",
    )


def test_a_taken_main_name_and_shared_globals() -> None:
    check_transformed(
        MODELS
        + """

    def main(session: Session):
        add(session, counter)


    if __name__ == "__main__":
        counter = 3
        session = Session(engine)
        main(session)
        add(session, 4)
    """,
        ASYNC_MODELS
        + """

    async def main(session: AsyncSession):
        await add(session, counter)


    async def _main():
        global counter
        counter = 3
        session = AsyncSession(engine, expire_on_commit=False)
        await main(session)
        await add(session, 4)


    if __name__ == "__main__":
        asyncio.run(_main())
    """,
        target="async",
    )


def test_a_block_that_only_calls_main_keeps_asyncio_run_of_it() -> None:
    check_transformed(
        MODELS
        + """

    def main():
        with Session(engine) as session:
            add(session, 1)


    if __name__ == "__main__":
        main()
    """,
        ASYNC_MODELS
        + """

    async def main():
        async with AsyncSession(engine, expire_on_commit=False) as session:
            await add(session, 1)


    if __name__ == "__main__":
        asyncio.run(main())
    """,
        target="async",
    )


def test_blocks_with_nothing_async_are_left_alone() -> None:
    check_noop(
        """
        import argparse
        import sys
        from sqlalchemy import select

        def statement(model):
            return select(model)

        if __name__ == "__main__":
            parser = argparse.ArgumentParser()
            parser.add_argument("name")
            print(statement(parser.parse_args().name))
            sys.exit(0)
        """,
        target="async",
    )


def test_blocks_running_asyncio_already_are_left_alone() -> None:
    check_noop(
        """
        import asyncio
        from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

        engine = create_async_engine("sqlite+aiosqlite://")

        async def main():
            async with AsyncSession(engine) as session:
                await session.commit()

        if __name__ == "__main__":
            asyncio.run(main())
        """,
        target="async",
    )


LEGACY = """
    import os

    from sqlalchemy import create_engine, select
    from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

    engine = create_engine(os.environ["ITEMS_URL"])


    class Base(DeclarativeBase):
        pass


    class Item(Base):
        __tablename__ = "items"
        id: Mapped[int] = mapped_column(primary_key=True)


    def add(session: Session, n):
        session.add(Item(id=n))
        session.commit()


    def ids(session: Session):
        for item in session.scalars(select(Item).order_by(Item.id)):
            yield item.id


    if __name__ == "__main__":
        Base.metadata.create_all(engine)
        with Session(engine) as session:
            add(session, 1)
            add(session, 2)
            print(list(ids(session)), next(ids(session)))
        with Session(engine) as session:
            print(sum(1 for _ in ids(session)))
"""


def test_migrated_script_block_prints_the_same(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    legacy = _dedent(LEGACY)
    migrated = migrate_project({"app.script": legacy}, target="async")["app.script"].code
    assert "async def main():" in migrated and migrated.count("asyncio.run(") == 1
    monkeypatch.setenv("ITEMS_URL", f"sqlite:///{tmp_path / 'legacy.db'}")
    _run_as_script(legacy)
    expected = capsys.readouterr().out
    assert expected == "[1, 2] 1\n2\n"
    monkeypatch.setenv("ITEMS_URL", f"sqlite:///{tmp_path / 'migrated.db'}")
    namespace = _run_as_script(migrated)
    asyncio.run(namespace["engine"].dispose())
    assert capsys.readouterr().out == expected


def _run_as_script(code: str) -> dict[str, object]:
    namespace: dict[str, object] = {"__name__": "__main__"}
    exec(compile(code, "<script>", "exec", dont_inherit=True), namespace)
    return namespace


def test_recipes_legacy_program_migrated_to_async_prints_its_expected_output(
    tmp_path: Path,
) -> None:
    """The recipes program's ``__main__`` block (init, seed, report, cleanup in one
    ``try``/``finally``) runs in one event loop after ``apply --target async``."""
    source = Path(__file__).resolve().parents[1] / "legacy_programs" / "recipes"
    program = tmp_path / "recipes"
    shutil.copytree(source, program)
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(root)}
    apply = [sys.executable, "-m", "sqla_upgrade", "apply", str(program), "--target", "async"]
    subprocess.run(apply, check=True, capture_output=True, env=env, timeout=300)
    assert "async def main():" in (program / "main.py").read_text()
    run = [sys.executable, "-W", "error::RuntimeWarning", "main.py"]
    done = subprocess.run(run, cwd=program, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout == (program / "expected_output.txt").read_text()


def test_a_scripts_bare_call_of_an_async_main_runs_it_with_asyncio() -> None:
    """``main()`` at the bottom of a module nothing imports runs like a ``__main__``
    block's call; in a module other modules import it stays a TODO."""
    result = migrate_project(
        {
            "app.script": _dedent(
                """
                from sqlalchemy.orm import Session
                def main(session: Session):
                    session.commit()
                main(Session())
                """
            ),
            "app.lib": _dedent(
                """
                from sqlalchemy.orm import Session
                def work(session: Session):
                    session.commit()
                work(Session())
                """
            ),
            "app.user": "from app.lib import work\n",
        },
        target="async",
    )
    script = result["app.script"].code
    assert script.endswith("\nasyncio.run(main(AsyncSession(expire_on_commit=False)))\n")
    assert "import asyncio" in script
    assert not result["app.script"].todos
    assert [n.message for n in result["app.lib"].todos] == [
        "app.lib.work() is now a coroutine; module-level code cannot await it: move it into "
        "an async function"
    ]
    for migration in result.values():
        compile(migration.code, "<migrated>", "exec", dont_inherit=True)


FLAT_SCRIPT = """
    import os

    from sqlalchemy import create_engine, select
    from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

    engine = create_engine(os.environ["ITEMS_URL"])
    Base = DeclarativeBase if False else None


    class Base(DeclarativeBase):
        pass


    class Item(Base):
        __tablename__ = "items"
        id: Mapped[int] = mapped_column(primary_key=True)


    Base.metadata.create_all(engine)
    session = Session(engine)
    for n in (1, 2):
        session.add(Item(id=n))
    # saved
    session.commit()


    def ids():
        return [item.id for item in session.scalars(select(Item).order_by(Item.id))]


    class Report:
        title = "items"

        def __init__(self, rows):
            self.rows = rows


    print(Report(ids()).rows, [i * n for i in ids()], Report.title)
    session.close()
"""


def test_a_script_working_at_module_level_runs_in_one_async_main() -> None:
    """The statements from the first that awaits on move into ``main()``, their names
    declared global; the definitions among them stay where the async plan knows them."""
    check_transformed(
        FLAT_SCRIPT.replace(
            "    import os\n\n    from sqlalchemy import create_engine, select\n",
            "    from sqlalchemy import select\n    from app.db import engine\n",
        ).replace(
            '\n    engine = create_engine(os.environ["ITEMS_URL"])\n'
            "    Base = DeclarativeBase if False else None\n",
            "",
        ),
        """
        from sqlalchemy import select
        from app.db import engine
        from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
        from sqlalchemy.ext.asyncio import AsyncSession
        import asyncio


        class Base(DeclarativeBase):
            pass


        class Item(Base):
            __tablename__ = "items"
            id: Mapped[int] = mapped_column(primary_key=True)


        async def ids():
            return [item.id for item in await session.scalars(select(Item).order_by(Item.id))]


        class Report:
            title = "items"

            def __init__(self, rows):
                self.rows = rows


        async def main():
            global n, session
            async with engine.begin() as conn:
                await conn.run_sync(Base.metadata.create_all)
            session = AsyncSession(engine, expire_on_commit=False)
            for n in (1, 2):
                session.add(Item(id=n))
            # saved
            await session.commit()

            print(Report(await ids()).rows, [i * n for i in await ids()], Report.title)
            await session.close()


        asyncio.run(main())
        """,
        target="async",
    )


def test_a_migrated_flat_script_prints_the_same(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    legacy = _dedent(FLAT_SCRIPT)
    result = migrate_project({"app.script": legacy}, target="async")["app.script"]
    assert "async def main():" in result.code and not result.todos
    monkeypatch.setenv("ITEMS_URL", f"sqlite:///{tmp_path / 'legacy.db'}")
    _run_as_script(legacy)
    expected = capsys.readouterr().out
    assert expected == "[1, 2] [2, 4] items\n"
    monkeypatch.setenv("ITEMS_URL", f"sqlite:///{tmp_path / 'migrated.db'}")
    namespace = _run_as_script(result.code)
    asyncio.run(namespace["engine"].dispose())
    assert capsys.readouterr().out == expected


def test_a_base_made_after_the_first_query_stays_with_its_models() -> None:
    """``Base = declarative_base()`` after the first query, and a model of it: both stay at
    module level (making a declarative base does no I/O), the rest moves."""
    check_transformed(
        """
        from sqlalchemy.orm import Session, declarative_base
        from app.db import engine

        session = Session(engine)
        session.commit()
        Base = declarative_base()


        class Note(Base):
            __tablename__ = "notes"


        Base.metadata.create_all(engine)
        """,
        """
        from sqlalchemy.orm import declarative_base
        from app.db import engine
        from sqlalchemy.ext.asyncio import AsyncSession
        import asyncio

        Base = declarative_base()


        class Note(Base):
            __tablename__ = "notes"


        async def main():
            global session
            session = AsyncSession(engine, expire_on_commit=False)
            await session.commit()

            async with engine.begin() as conn:
                await conn.run_sync(Base.metadata.create_all)


        asyncio.run(main())
        """,
        target="async",
    )


def test_a_class_defined_from_what_the_moved_statements_bind_keeps_the_todos() -> None:
    """``class Report`` reads ``count``, which a query bound: it would have to move into
    ``main()``, where the next run's index would not see it."""
    result = migrate_project(
        {
            "app.script": _dedent(
                """
                from sqlalchemy import func, select
                from sqlalchemy.orm import Session
                from app.db import engine

                session = Session(engine)
                count = session.scalar(select(func.count()))


                class Report:
                    rows = count
                """
            ),
            "app.db": "from sqlalchemy import create_engine\n\nengine = create_engine('sqlite://')\n",
        },
        target="async",
    )["app.script"]
    assert "async def main" not in result.code
    assert any("module-level code cannot await" in t.message for t in result.todos)


SESSION_WORK = "from sqlalchemy.orm import Session\nfrom app.db import engine\n\nsession = Session(engine)\nsession.commit()\n"


@pytest.mark.parametrize(
    ("module_name", "code"),
    [
        ("app.tests.test_items", SESSION_WORK),
        ("app", SESSION_WORK),
        ("app.web", "from fastapi import FastAPI\n\napp = FastAPI()\n" + SESSION_WORK),
        ("app.script", SESSION_WORK + "count: int = 0\n"),
        ("app.script", SESSION_WORK + "from os.path import *\n"),
    ],
    ids=["test_module", "package_init", "web_app", "annotated_global", "star_import"],
)
def test_module_level_work_that_cannot_move_keeps_its_todos(module_name: str, code: str) -> None:
    project = {
        module_name: code,
        "app.db": "from sqlalchemy import create_engine\n\nengine = create_engine('sqlite://')\n",
    }
    if module_name == "app":
        project["app.other"] = "import app\n"
    result = migrate_project(project, target="async")[module_name]
    assert "async def main" not in result.code
    assert any("module-level code cannot await" in t.message for t in result.todos)


def test_a_module_other_modules_import_keeps_its_module_level_todos() -> None:
    result = migrate_project(
        {
            "app.setup": SESSION_WORK,
            "app.cli": "from app.setup import session\n",
            "app.db": "from sqlalchemy import create_engine\n\nengine = create_engine('sqlite://')\n",
        },
        target="async",
    )["app.setup"]
    assert "async def main" not in result.code
    assert any("module-level code cannot await" in t.message for t in result.todos)


def test_a_script_with_module_level_work_and_a_main_block_runs_both_in_one_main() -> None:
    check_transformed(
        """
        from sqlalchemy.orm import Session
        from app.db import engine

        session = Session(engine)
        session.commit()

        if __name__ == "__main__":
            session.commit()
        """,
        """
        from app.db import engine
        from sqlalchemy.ext.asyncio import AsyncSession
        import asyncio


        async def main():
            global session
            session = AsyncSession(engine, expire_on_commit=False)
            await session.commit()

            if __name__ == "__main__":
                await session.commit()


        asyncio.run(main())
        """,
        target="async",
    )
