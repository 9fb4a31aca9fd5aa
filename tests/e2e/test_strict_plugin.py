"""The ``sqla_strict_loading`` pytest plugin catches every lazy load, and only those."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from .helpers import STRICT_PLUGIN, STRICT_PLUGIN_DIR, strict_summary, subprocess_env

MODELS = """
import asyncio

from sqlalchemy import ForeignKey, select
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class Base(DeclarativeBase):
    pass


class Author(Base):
    __tablename__ = "authors"
    id: Mapped[int] = mapped_column(primary_key=True)
    books = relationship("Book", back_populates="author", lazy="selectin", cascade="all, delete-orphan")
    awards = relationship("Award", cascade="all, delete-orphan")


class Book(Base):
    __tablename__ = "books"
    id: Mapped[int] = mapped_column(primary_key=True)
    author_id = mapped_column(ForeignKey("authors.id"))
    author = relationship("Author", back_populates="books", lazy="selectin")


class Award(Base):
    __tablename__ = "awards"
    id: Mapped[int] = mapped_column(primary_key=True)
    author_id = mapped_column(ForeignKey("authors.id"))


async def scenario(action):
    engine = create_async_engine("sqlite+aiosqlite://")
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    factory = async_sessionmaker(engine, expire_on_commit=False)
    async with factory() as session:
        session.add(Author(books=[Book(), Book()], awards=[]))
        await session.commit()
    async with factory() as session:
        result = await action(session)
    await engine.dispose()
    return result
"""

TESTS = """
import asyncio

from sqlalchemy import select

from models import Author, Book, scenario


def test_eager_reads_and_cascades_are_fine():
    async def action(session):
        author = (await session.scalars(select(Author))).one()
        assert len(author.books) == 2 and author.books[0].author is author
        await session.delete(author)
        await session.commit()
    asyncio.run(scenario(action))


def test_lazy_read_inside_run_sync():
    async def action(session):
        author = (await session.scalars(select(Author))).one()
        # would silently load in the synchronous session
        return await session.run_sync(lambda s: len(author.awards))
    asyncio.run(scenario(action))


def test_lazy_load_behind_an_eager_loader_even_when_caught():
    async def action(session):
        book = (await session.scalars(select(Book))).first()
        try:
            len(book.author.books)  # selectin stops at the cycle: a lazy load
        except Exception:
            pass
    asyncio.run(scenario(action))
"""


def test_plugin_fails_exactly_the_tests_with_lazy_loads(tmp_path: Path) -> None:
    (tmp_path / "models.py").write_text(MODELS)
    (tmp_path / "test_loads.py").write_text(textwrap.dedent(TESTS))
    env = subprocess_env(PYTHONPATH=os.pathsep.join([str(tmp_path), str(STRICT_PLUGIN_DIR)]))
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", STRICT_PLUGIN],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 1, output
    assert "1 passed" in output and "2 failed" in output, output
    assert "FAILED test_loads.py::test_lazy_read_inside_run_sync" in output
    assert "FAILED test_loads.py::test_lazy_load_behind_an_eager_loader_even_when_caught" in output
    summary = strict_summary(output)
    assert summary is not None, output
    assert summary.forced == 1 and summary.kept == "2 selectin" and summary.lazy_loads == 2
    assert "Author.awards on Author (refused by lazy='raise_on_sql')" in output
    assert "Author.books on Author (a lazy load emitting SQL, lazy='selectin')" in output
