"""await: a call written against a keyword with no space between (``f()or x``,
``not(f())``, ``if(f()):``) is awaited inside parentheses where ``await f()`` would touch
the keyword (libcst refuses to write it so; a crash of the whole file before)."""

from __future__ import annotations

from tests.harness import check_project

BEFORE = """
    from sqlalchemy.orm import Session


    def name(session: Session):
        return session.scalar(text("select 1"))


    def describe(session: Session, default):
        a = name(session)or default
        b = default if not(name(session)) else name(session)
        if(name(session)):
            c = name(session)in (1, 2)
        d = [n for n in [name(session)]if n]
        e = None or(name(session))
        while(name(session)):
            break
        return a, b, c, d, e
"""
AFTER = """
    from sqlalchemy.ext.asyncio import AsyncSession


    async def name(session: AsyncSession):
        return await session.scalar(text("select 1"))


    async def describe(session: AsyncSession, default):
        a = (await name(session))or default
        b = default if not(await (name(session))) else await name(session)
        if(await (name(session))):
            c = (await name(session))in (1, 2)
        d = [n for n in [await name(session)]if n]
        e = None or(await (name(session)))
        while(await (name(session))):
            break
        return a, b, c, d, e
"""


def test_a_call_against_a_keyword_is_awaited_in_parentheses() -> None:
    check_project({"app": BEFORE}, {"app": AFTER})


def test_spaced_keywords_take_no_parentheses() -> None:
    before = BEFORE.replace(")or", ") or").replace("not(", "not (").replace("if(", "if (")
    before = before.replace(")in", ") in").replace("or(", "or (").replace("while(", "while (")
    after = """
        from sqlalchemy.ext.asyncio import AsyncSession


        async def name(session: AsyncSession):
            return await session.scalar(text("select 1"))


        async def describe(session: AsyncSession, default):
            a = await name(session) or default
            b = default if not await (name(session)) else await name(session)
            if await (name(session)):
                c = await name(session) in (1, 2)
            d = [n for n in [await name(session)]if n]
            e = None or await (name(session))
            while await (name(session)):
                break
            return a, b, c, d, e
    """
    check_project({"app": before}, {"app": after})
