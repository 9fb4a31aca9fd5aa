"""A generator expression that awaits now is an async generator.

Handed to a function it becomes a list comprehension, iterated by a ``for`` loop the loop
becomes ``async for``; returned or kept in a variable (``return (x for x in xs if await
linked(x))``), whoever iterates it gets an async generator and fails (``'async_generator'
object is not iterable``): a TODO says so, where it was left silently."""

from __future__ import annotations

from tests.harness import check_project

TODO = (
    "this generator expression awaits now, which makes it an async generator: what "
    "iterates it must use `async for` (or make it a list comprehension, `[... for ...]`, "
    "where it is consumed whole)"
)
BEFORE = """
    from sqlalchemy.orm import Session


    def linked(session: Session, entry):
        return session.get(dict, entry) is not None


    def filtered(session: Session, entries):
        return (x for x in entries if linked(session, x))


    def kept(session: Session, entries):
        found = (x for x in entries if linked(session, x))
        for x in (y for y in entries if linked(session, y)):
            print(x)
        return sum(1 for x in entries if linked(session, x)), found
"""
AFTER = f"""
    from sqlalchemy.ext.asyncio import AsyncSession


    async def linked(session: AsyncSession, entry):
        return await session.get(dict, entry) is not None


    async def filtered(session: AsyncSession, entries):
        # TODO(sqla-upgrade): {TODO}
        return (x for x in entries if await linked(session, x))


    async def kept(session: AsyncSession, entries):
        # TODO(sqla-upgrade): {TODO}
        found = (x for x in entries if await linked(session, x))
        async for x in (y for y in entries if await linked(session, y)):
            print(x)
        return sum([1 for x in entries if await linked(session, x)]), found
"""


def test_a_generator_expression_returned_or_kept_after_it_awaits_is_left_with_a_todo() -> None:
    check_project({"app.models": BEFORE}, {"app.models": AFTER}, todos=[TODO])


def test_a_generator_expression_awaiting_only_its_outermost_iterable_stays_plain() -> None:
    """The outermost iterable is evaluated by the function holding the expression:
    ``(x for x in await rows(session))`` is a plain generator."""
    before = """
        from sqlalchemy.orm import Session


        def rows(session: Session):
            return session.execute(text("select 1")).all()


        def kept(session: Session):
            return (x for x in rows(session))
    """
    after = """
        from sqlalchemy.ext.asyncio import AsyncSession


        async def rows(session: AsyncSession):
            return (await session.execute(text("select 1"))).all()


        async def kept(session: AsyncSession):
            return (x for x in await rows(session))
    """
    check_project({"app.models": before}, {"app.models": after})
