"""Deferred columns read somewhere are loaded with their rows under ``--target async``.

An AsyncSession cannot load a deferred column when it is read (``post.body`` raises
``MissingGreenlet``), as it cannot lazy-load a relationship; ``eager-relationships``
makes a deferred column that the code reads an ordinary one, with a note.
"""

from __future__ import annotations

import asyncio

from sqla_upgrade.api import migrate_project
from tests.harness import _dedent, check_project, exec_module

MODELS = """
    from sqlalchemy import Column, Integer, Text
    from sqlalchemy.orm import Mapped, column_property, declarative_base, deferred, mapped_column

    Base = declarative_base()


    class Post(Base):
        __tablename__ = "posts"
        id = Column(Integer, primary_key=True)
        body = deferred(Column(Text), group="text")
        summary: Mapped[str] = mapped_column(Text, deferred=True, deferred_group="text")
        notes = deferred(Column(Text))
        size = column_property(id * 2, deferred=True)
"""

VIEWS = """
    from sqlalchemy.orm import Session
    from app.models import Post


    def show(session: Session, post_id):
        post = session.get(Post, post_id)
        return post.body, post.summary, post.size
"""


def test_deferred_columns_read_by_the_code_are_loaded_with_their_rows() -> None:
    check_project(
        {"app.models": MODELS, "app.views": VIEWS},
        {
            "app.models": """
                from sqlalchemy import Column, Integer, Text
                from sqlalchemy.orm import Mapped, column_property, declarative_base, deferred, mapped_column

                Base = declarative_base()


                class Post(Base):
                    __tablename__ = "posts"
                    id = Column(Integer, primary_key=True)
                    body = Column(Text)
                    summary: Mapped[str] = mapped_column(Text)
                    notes = deferred(Column(Text))
                    size = column_property(id * 2)
            """,
            "app.views": """
                from app.models import Post
                from sqlalchemy.ext.asyncio import AsyncSession


                async def show(session: AsyncSession, post_id):
                    post = await session.get(Post, post_id)
                    return post.body, post.summary, post.size
            """,
        },
    )


def test_the_unused_deferred_import_goes() -> None:
    models = MODELS.replace("        notes = deferred(Column(Text))\n", "")
    result = migrate_project(
        {"app.models": _dedent(models), "app.views": _dedent(VIEWS)}, target="async"
    )
    assert "deferred" not in result["app.models"].code.split("Base =")[0].replace(
        "mapped_column", ""
    )


def test_migrated_reads_of_deferred_columns_work() -> None:
    from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

    code = _dedent(MODELS) + _dedent(VIEWS).replace("from app.models import Post\n", "")
    migrated = migrate_project({"app.models": code}, target="async")["app.models"].code
    namespace = exec_module(migrated)

    async def run() -> tuple[object, ...]:
        engine = create_async_engine("sqlite+aiosqlite://")
        async with engine.begin() as conn:
            await conn.run_sync(namespace.Base.metadata.create_all)
        async with AsyncSession(engine) as session:
            session.add(namespace.Post(id=1, body="b", summary="s", notes="n"))
            await session.commit()
        async with AsyncSession(engine) as session:
            result: tuple[object, ...] = await namespace.show(session, 1)
        await engine.dispose()
        return result

    assert asyncio.run(run()) == ("b", "s", 2)


AFTER_THE_CLASS = """
    from sqlalchemy import Column, ForeignKey, Integer, func, select
    from sqlalchemy.orm import Session, column_property, declarative_base

    Base = declarative_base()


    class Doc(Base):
        __tablename__ = "docs"
        id = Column(Integer, primary_key=True)


    class Note(Base):
        __tablename__ = "notes"
        id = Column(Integer, primary_key=True)
        doc_id = Column(ForeignKey("docs.id"))


    Doc.double_id = column_property(
        Doc.id * 2,
        deferred=True,
    )


    def doubles(session: Session):
        return [doc.double_id for doc in session.scalars(select(Doc).order_by(Doc.id))]
"""


def test_a_deferred_column_property_added_after_the_class_is_loaded_with_its_rows() -> None:
    from sqlalchemy import create_engine
    from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine
    from sqlalchemy.orm import Session

    legacy = _dedent(AFTER_THE_CLASS)
    migrated = migrate_project({"app.models": legacy}, target="async")["app.models"].code
    assert "Doc.double_id = column_property(\n    Doc.id * 2,\n)\n" in migrated, migrated
    old = exec_module(legacy)
    engine = create_engine("sqlite://")
    old.Base.metadata.create_all(engine)
    with Session(engine) as session:
        session.add_all([old.Doc(id=1), old.Doc(id=2)])
        session.commit()
        expected = old.doubles(session)
    new = exec_module(migrated)

    async def run() -> list[object]:
        async_engine = create_async_engine("sqlite+aiosqlite://")
        async with async_engine.begin() as conn:
            await conn.run_sync(new.Base.metadata.create_all)
        async with AsyncSession(async_engine) as session:
            session.add_all([new.Doc(id=1), new.Doc(id=2)])
            await session.commit()
        async with AsyncSession(async_engine) as session:
            found: list[object] = await new.doubles(session)
        await async_engine.dispose()
        return found

    assert asyncio.run(run()) == expected == [2, 4]


def test_a_deferred_subquery_stays_deferred_with_a_todo() -> None:
    """Loaded with its row, a correlated subquery breaks joined eager loads of its class
    ("returned no FROM clauses due to auto-correlation"): it stays deferred."""
    code = _dedent(AFTER_THE_CLASS).replace(
        "    Doc.id * 2,\n",
        "    select(func.count(Note.id)).where(Note.doc_id == Doc.id).scalar_subquery(),\n",
    )
    migrated = migrate_project({"app.models": code}, target="async")["app.models"]
    assert "    deferred=True,\n)" in migrated.code
    assert any("is a deferred subquery" in todo.message for todo in migrated.todos)
