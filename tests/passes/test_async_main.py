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
