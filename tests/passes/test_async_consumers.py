"""Consumers of project generators that became async generators.

A generator doing I/O becomes an async generator; whatever iterates it synchronously
(``list()``, ``sorted()``, ``next()``, unpacking, a generator expression handed to
``sum()``) must iterate it asynchronously, or it raises TypeError at run time.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqla_upgrade.api import migrate_project
from tests.harness import _dedent, check_noop, check_transformed, exec_module

ROWS = """
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    def rows(session: Session, model):
        for item in session.scalars(select(model)):
            yield item
"""
ASYNC_ROWS = """
    from sqlalchemy import select
    from sqlalchemy.ext.asyncio import AsyncSession

    async def rows(session: AsyncSession, model):
        for item in await session.scalars(select(model)):
            yield item
"""


def test_builtins_iterating_an_async_generator_get_an_async_comprehension() -> None:
    check_transformed(
        ROWS
        + """
    def consume(session: Session, model):
        everything = list(rows(session, model))
        unique = set(rows(session, model))
        pairs = tuple(rows(session, model))
        numbered = list(enumerate(rows(session, model)))
        biggest = max(rows(session, model), default=None)
        return sorted(rows(session, model), key=str)
    """,
        ASYNC_ROWS
        + """
    async def consume(session: AsyncSession, model):
        everything = [item async for item in rows(session, model)]
        unique = {item async for item in rows(session, model)}
        pairs = tuple([item async for item in rows(session, model)])
        numbered = list(enumerate([item async for item in rows(session, model)]))
        biggest = max([item async for item in rows(session, model)], default=None)
        return sorted([item async for item in rows(session, model)], key=str)
    """,
        target="async",
    )


def test_generator_expressions_handed_to_functions_become_comprehensions() -> None:
    check_transformed(
        ROWS
        + """
    def consume(session: Session, model):
        total = sum(1 for _ in rows(session, model))
        names = ", ".join(str(x) for x in rows(session, model))
        by_id = dict((x.id, x) for x in rows(session, model))
        ids = set(x.id for x in rows(session, model))
        return total, names, by_id, ids, list(x for x in rows(session, model))
    """,
        ASYNC_ROWS
        + """
    async def consume(session: AsyncSession, model):
        total = sum([1 async for _ in rows(session, model)])
        names = ", ".join([str(x) async for x in rows(session, model)])
        by_id = dict([(x.id, x) async for x in rows(session, model)])
        ids = {x.id async for x in rows(session, model)}
        return total, names, by_id, ids, [x async for x in rows(session, model)]
    """,
        target="async",
    )


def test_next_and_iter_become_anext_and_aiter() -> None:
    check_transformed(
        ROWS
        + """
    def consume(session: Session, model):
        first = next(rows(session, model))
        maybe = next(rows(session, model), None)
        first_id = next(x.id for x in rows(session, model))
        iterator = iter(rows(session, model))
        return first, maybe, first_id, iterator
    """,
        ASYNC_ROWS
        + """
    async def consume(session: AsyncSession, model):
        first = await anext(rows(session, model))
        maybe = await anext(rows(session, model), None)
        first_id = await anext(x.id async for x in rows(session, model))
        iterator = aiter(rows(session, model))
        return first, maybe, first_id, iterator
    """,
        target="async",
    )


def test_unpacking_materialises_and_unknown_consumers_get_a_todo() -> None:
    check_transformed(
        ROWS
        + """
    def consume(session: Session, model, handle):
        a, b = rows(session, model)
        both = [*rows(session, model)]
        handle(*rows(session, model))
        lazy = rows(session, model)
        for x in rows(session, model):
            handle(x)
        return handle(rows(session, model))
    """,
        ASYNC_ROWS
        + """
    async def consume(session: AsyncSession, model, handle):
        a, b = [item async for item in rows(session, model)]
        both = [*[item async for item in rows(session, model)]]
        handle(*[item async for item in rows(session, model)])
        lazy = rows(session, model)
        async for x in rows(session, model):
            handle(x)
        # TODO(sqla-upgrade): handle() gets an async generator now: iterate it there with `async for`, or pass [item async for item in ...]
        return handle(rows(session, model))
    """,
        target="async",
        todos=["handle() gets an async generator now"],
    )


def test_locals_bound_to_an_async_generator_are_consumed_asynchronously() -> None:
    check_transformed(
        ROWS
        + """
    def consume(session: Session, model):
        pending = rows(session, model)
        first = next(pending)
        a, b = pending
        for x in pending:
            print(x)
        return first, list(pending), [y for y in pending]
    """,
        ASYNC_ROWS
        + """
    async def consume(session: AsyncSession, model):
        pending = rows(session, model)
        first = await anext(pending)
        a, b = [item async for item in pending]
        async for x in pending:
            print(x)
        return first, [item async for item in pending], [y async for y in pending]
    """,
        target="async",
    )


def test_locals_also_bound_to_other_values_get_a_todo() -> None:
    check_transformed(
        ROWS
        + """
    def consume(session: Session, model, flag):
        pending = rows(session, model)
        if flag:
            pending = [1, 2]
        return list(pending)
    """,
        ASYNC_ROWS
        + """
    async def consume(session: AsyncSession, model, flag):
        pending = rows(session, model)
        if flag:
            pending = [1, 2]
        # TODO(sqla-upgrade): pending may be an async generator here: iterate it with `async for` when it is one
        return list(pending)
    """,
        target="async",
        todos=["pending may be an async generator here"],
    )


def test_loops_over_generator_expressions_that_became_async_become_async() -> None:
    check_transformed(
        ROWS
        + """
    def consume(session: Session, model):
        for name in (str(x) for x in rows(session, model)):
            print(name)
        return [n for n in (x for x in rows(session, model))]
    """,
        ASYNC_ROWS
        + """
    async def consume(session: AsyncSession, model):
        async for name in (str(x) async for x in rows(session, model)):
            print(name)
        return [n async for n in (x async for x in rows(session, model))]
    """,
        target="async",
    )


def test_consumers_of_generators_that_stay_synchronous_are_left_alone() -> None:
    check_noop(
        """
        from sqlalchemy import select

        def statements(models):
            for model in models:
                yield select(model)

        def consume(models):
            first = next(statements(models))
            return first, list(statements(models)), sum(1 for _ in statements(models))
        """,
        target="async",
    )


def test_async_consumers_already_written_are_left_alone() -> None:
    check_noop(
        _dedent(ASYNC_ROWS)
        + "\n"
        + _dedent(
            """

            async def consume(session: AsyncSession, model):
                everything = [item async for item in rows(session, model)]
                first = await anext(rows(session, model))
                total = sum([1 async for _ in rows(session, model)])
                lazy = (x async for x in rows(session, model))
                return everything, first, total, await anext(lazy)
            """
        ),
        target="async",
    )


LEGACY = """
    from sqlalchemy import create_engine, select
    from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column


    class Base(DeclarativeBase):
        pass


    class Item(Base):
        __tablename__ = "items"
        id: Mapped[int] = mapped_column(primary_key=True)


    def ids(session: Session):
        for item in session.scalars(select(Item).order_by(Item.id)):
            yield item.id


    def consume(session: Session):
        everything = list(ids(session))
        first = next(ids(session))
        missing = next((i for i in ids(session) if i > 10), None)
        total = sum(1 for _ in ids(session))
        a, b = ids(session)
        text = "-".join(str(i) for i in ids(session))
        return everything, first, missing, total, (a, b), text, sorted(ids(session), reverse=True)


    def run(url):
        engine = create_engine(url)
        Base.metadata.create_all(engine)
        with Session(engine) as session:
            session.add_all([Item(id=1), Item(id=2)])
            session.commit()
            return consume(session)
"""


def test_migrated_consumers_give_the_same_results(tmp_path: Path) -> None:
    legacy = _dedent(LEGACY)
    migrated = migrate_project({"app.consume": legacy}, target="async")["app.consume"].code
    old, new = exec_module(legacy), exec_module(migrated)
    expected = old.run(f"sqlite:///{tmp_path / 'legacy.db'}")
    assert expected == ([1, 2], 1, None, 2, (1, 2), "1-2", [2, 1])
    assert asyncio.run(new.run(f"sqlite:///{tmp_path / 'migrated.db'}")) == expected
