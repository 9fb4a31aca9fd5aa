"""Rows streamed with ``yield_per`` keep the relationships the mapper or the eager plan
loads eagerly whenever those may be read.

``for u in session.query(User).yield_per(2)`` becomes ``async for u in await
session.stream_scalars(...)``. A loop that only reads columns of its rows streams them
with ``raiseload("*", sql_only=True)``: no eager load runs a query while the stream is
open. A row that goes anywhere else (yielded, returned, stored, handed to a call, a
method of it called) may have its relationships read later, where the wildcard would
override the ``lazy="selectin"`` those reads rely on: such loops keep the eager loads,
with a TODO about drivers that cannot run a query while a stream is open.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqla_upgrade.api import migrate_project
from tests.harness import _dedent, check_transformed, exec_module

STREAM_TODO = "eager loads of relationships run extra queries while this stream is open"
TODO_LINE = (
    "# TODO(sqla-upgrade): eager loads of relationships run extra queries while this stream "
    "is open, which MySQL/MariaDB drivers do not allow: buffer the rows or load them per batch"
)

MODELS = """
from sqlalchemy import Column, ForeignKey, Integer, String, create_engine, select
from sqlalchemy.orm import declarative_base, relationship, sessionmaker

engine = create_engine(URL)
SessionLocal = sessionmaker(bind=engine)
Base = declarative_base()


class User(Base):
    __tablename__ = "users"
    id = Column(Integer, primary_key=True)
    name = Column(String)
    addresses = relationship("Address"LAZY)

    def describe(self):
        return self.name


class Address(Base):
    __tablename__ = "addresses"
    id = Column(Integer, primary_key=True)
    user_id = Column(Integer, ForeignKey("users.id"))
    email = Column(String)
"""

MIGRATED_IMPORTS = """
from sqlalchemy import Column, ForeignKey, Integer, String, select
from sqlalchemy.orm IMPORTED
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine
"""


def _models(lazy: str = "") -> str:
    return _dedent(MODELS).replace("URL", '"sqlite://"').replace("LAZY", lazy)


def _migrated_models(imported: str, lazy: str = "") -> str:
    models = _models(lazy).split("\n", 3)[3]  # the models from ``engine = ...`` on
    models = models.replace(
        'create_engine("sqlite://")', 'create_async_engine("sqlite+aiosqlite://")'
    )
    models = models.replace(
        "sessionmaker(bind=engine)", "async_sessionmaker(bind=engine, expire_on_commit=False)"
    )
    return _dedent(MIGRATED_IMPORTS).replace("IMPORTED", imported) + "\n" + models


STREAMING = """


def stream_users(session):
    for u in session.query(User).order_by(User.id).yield_per(2):
        yield u


def export(session):
    return [(u.name, [a.email for a in u.addresses]) for u in stream_users(session)]
"""

MIGRATED_STREAMING = f"""


async def stream_users(session):
    {TODO_LINE}
    async for u in await session.stream_scalars(select(User).order_by(User.id).execution_options(yield_per=2)):
        yield u


async def export(session):
    return [(u.name, [a.email for a in u.addresses]) async for u in stream_users(session)]
"""


def test_a_yielded_row_keeps_the_relationships_its_readers_load() -> None:
    """The caller reads ``u.addresses``: the eager plan loads them with ``selectin``, and
    the stream has no ``raiseload("*")`` overriding it."""
    check_transformed(
        _models() + STREAMING,
        _migrated_models("import declarative_base, relationship", ', lazy="selectin"')
        + MIGRATED_STREAMING,
        target="async",
        todos=[STREAM_TODO],
    )


LOOPS = """


def collect(session):
    found = []
    for u in session.scalars(select(User).execution_options(yield_per=2)):
        found.append(u)
    return found


def described(session):
    names = []
    for u in session.scalars(select(User).execution_options(yield_per=2)):
        names.append(u.describe())
    return names


def named(session, wanted):
    names = []
    for u in session.scalars(select(User).execution_options(yield_per=2)):
        if u is not wanted and wanted != u:
            names.append(u.name)
    return names
"""

MIGRATED_LOOPS = f"""


async def collect(session):
    found = []
    {TODO_LINE}
    async for u in await session.stream_scalars(select(User).execution_options(yield_per=2)):
        found.append(u)
    return found


async def described(session):
    names = []
    {TODO_LINE}
    async for u in await session.stream_scalars(select(User).execution_options(yield_per=2)):
        names.append(u.describe())
    return names


async def named(session, wanted):
    names = []
    async for u in await session.stream_scalars(select(User).execution_options(yield_per=2).options(raiseload("*", sql_only=True))):
        if u is not wanted and wanted != u:
            names.append(u.name)
    return names
"""


def test_rows_kept_or_asked_for_more_keep_the_eager_loads() -> None:
    """A stored row or a method called on it may read relationships (the mapper's own
    ``lazy="selectin"`` here): no wildcard. A loop comparing its rows and reading
    their columns only still streams them without eager loads."""
    check_transformed(
        _models(', lazy="selectin"') + LOOPS,
        _migrated_models("import raiseload, declarative_base, relationship", ', lazy="selectin"')
        + MIGRATED_LOOPS,
        target="async",
        todos=[STREAM_TODO],
    )


RUN = """


def run():
    Base.metadata.create_all(engine)
    with SessionLocal() as session:
        session.add_all(
            [
                User(name="a", addresses=[Address(email="a@x"), Address(email="a@y")]),
                User(name="b"),
                User(name="c", addresses=[Address(email="c@x")]),
            ]
        )
        session.commit()
    with SessionLocal() as session:
        return export(session)
"""


def test_streamed_rows_give_the_same_results(tmp_path: Path) -> None:
    """The original program and the migrated one (on aiosqlite) export the same rows,
    relationships included, over several ``yield_per`` batches."""
    url = f"sqlite:///{tmp_path / 'stream.db'}"
    legacy = _models().replace('"sqlite://"', repr(url)) + STREAMING + _dedent(RUN)
    migrated = migrate_project({"app.program": legacy}, target="async")["app.program"]
    assert "raiseload" not in migrated.code
    assert repr(url.replace("sqlite", "sqlite+aiosqlite", 1)) in migrated.code
    expected = exec_module(legacy).run()
    assert expected == [("a", ["a@x", "a@y"]), ("b", []), ("c", ["c@x"])]
    Path(tmp_path / "stream.db").unlink()
    assert asyncio.run(exec_module(migrated.code).run()) == expected


COMPREHENSIONS = """


def names(session):
    return [u.name for u in session.query(User).order_by(User.id).yield_per(2)]


def by_id(session):
    return {u.id: u for u in session.scalars(select(User).execution_options(yield_per=2))}


def lazily(session):
    return list(u.name for u in session.query(User).yield_per(2))


def kept(session):
    rows = (u.name for u in session.query(User).yield_per(2))
    return rows
"""

MIGRATED_COMPREHENSIONS = f"""


async def names(session):
    return [u.name async for u in await session.stream_scalars(select(User).order_by(User.id).execution_options(yield_per=2).options(raiseload("*", sql_only=True)))]


async def by_id(session):
    {TODO_LINE}
    return {{u.id: u async for u in await session.stream_scalars(select(User).execution_options(yield_per=2))}}


async def lazily(session):
    return [u.name async for u in await session.stream_scalars(select(User).execution_options(yield_per=2).options(raiseload("*", sql_only=True)))]


async def kept(session):
    # TODO(sqla-upgrade): AsyncSession.scalars() refuses a yield_per statement (a server-side cursor): iterate `await session.stream_scalars(...)` with `async for` where this generator is consumed
    rows = (u.name for u in await session.scalars(select(User).execution_options(yield_per=2)))
    return rows
"""


def test_comprehensions_over_streamed_rows_stream_them() -> None:
    """``AsyncSession.scalars()`` refuses a ``yield_per`` statement (a server-side
    cursor needs ``stream_scalars()``): list, set and dict comprehensions become async
    ones over the stream, as does a generator expression handed to a call (which becomes a
    comprehension); one kept elsewhere gets a TODO (its consumers would change)."""
    check_transformed(
        _models() + COMPREHENSIONS,
        _migrated_models("import raiseload, declarative_base, relationship")
        + MIGRATED_COMPREHENSIONS,
        target="async",
        todos=[STREAM_TODO, "AsyncSession.scalars() refuses a yield_per statement"],
    )


def test_migrated_comprehension_streams_the_same_rows(tmp_path: Path) -> None:
    url = repr(f"sqlite:///{tmp_path / 'legacy.db'}")
    seed = (
        "\n\ndef seed():\n"
        "    Base.metadata.create_all(engine)\n"
        "    with SessionLocal() as session:\n"
        "        session.add_all([User(name=n) for n in 'abcde'])\n"
        "        session.commit()\n"
    )
    source = _dedent(MODELS).replace("URL", url).replace("LAZY", "") + COMPREHENSIONS + seed
    legacy = exec_module(source)
    legacy.seed()
    with legacy.SessionLocal() as session:
        expected = legacy.names(session)
    migrated_source = source.replace("legacy.db", "migrated.db")
    migrated = migrate_project({"app.models": migrated_source}, target="async")["app.models"]
    new = exec_module(migrated.code)

    async def run() -> list[str]:
        async with new.engine.begin() as conn:
            await conn.run_sync(new.Base.metadata.create_all)
        async with new.SessionLocal() as session:
            session.add_all([new.User(name=n) for n in "abcde"])
            await session.commit()
        async with new.SessionLocal() as session:
            got = await new.names(session)
            assert await new.lazily(session) == got
        await new.engine.dispose()
        return got

    assert asyncio.run(run()) == expected == list("abcde")


STREAM_OPTIONS = """


def ids(session):
    return [u.id for u in session.query(User).order_by(User.id).yield_per(2)]


def names(session):
    names = []
    for row in session.query(User.name).order_by(User.id).execution_options(stream_results=True):
        names.append(row.name)
    return names
"""

MIGRATED_STREAM_OPTIONS = """


async def ids(session):
    return [u.id async for u in await session.stream_scalars(select(User).order_by(User.id).execution_options(yield_per=2).options(raiseload("*", sql_only=True)))]


async def names(session):
    names = []
    async for row in await session.stream(select(User.name).order_by(User.id).execution_options(stream_results=True).options(raiseload("*", sql_only=True))):
        names.append(row.name)
    return names
"""


def test_comprehensions_and_stream_results_stream_too() -> None:
    """AsyncSession.execute() refuses a server-side cursor: a comprehension over a
    ``yield_per`` query and a loop over a ``stream_results`` one stream as loops do."""
    check_transformed(
        _models() + STREAM_OPTIONS,
        _migrated_models("import raiseload, declarative_base, relationship")
        + MIGRATED_STREAM_OPTIONS,
        target="async",
    )


BUFFERED_TODO = (
    "# TODO(sqla-upgrade): AsyncSession.execute() refuses a statement with "
    "yield_per/stream_results (a server-side cursor): iterate `await session.stream(...)` / "
    "`stream_scalars(...)` with `async for`, or drop the option"
)

BUFFERED = """


def all_ids(session):
    return session.query(User.id).order_by(User.id).yield_per(5).all()


def listed(session):
    return list(session.query(User.id).execution_options(stream_results=True))
"""

MIGRATED_BUFFERED = f"""


async def all_ids(session):
    {BUFFERED_TODO}
    return (await session.execute(select(User.id).order_by(User.id).execution_options(yield_per=5))).all()


async def listed(session):
    {BUFFERED_TODO}
    return list(await session.execute(select(User.id).execution_options(stream_results=True)))
"""


def test_streaming_statements_read_at_once_are_left_with_todo() -> None:
    check_transformed(
        _models() + BUFFERED,
        _migrated_models("import declarative_base, relationship") + MIGRATED_BUFFERED,
        target="async",
        todos=["AsyncSession.execute() refuses a statement with yield_per"],
    )


def test_buffered_reads_without_streaming_have_no_todo() -> None:
    """The same reads of statements without a server-side cursor: awaited, no TODO."""
    code = _models() + BUFFERED.replace(".yield_per(5)", "").replace(
        ".execution_options(stream_results=True)", ""
    )
    migrated = migrate_project({"app.program": code}, target="async")["app.program"]
    assert "TODO" not in migrated.code
    assert "(await session.execute(select(User.id).order_by(User.id))).all()" in migrated.code


def test_streamed_comprehension_gives_the_same_results(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'stream.db'}"
    run = _dedent(RUN).replace("return export(session)", "return ids(session), names(session)")
    legacy = _models().replace('"sqlite://"', repr(url)) + STREAM_OPTIONS + run
    migrated = migrate_project({"app.program": legacy}, target="async")["app.program"]
    assert "TODO" not in migrated.code
    expected = exec_module(legacy).run()
    assert expected == ([1, 2, 3], ["a", "b", "c"])
    Path(tmp_path / "stream.db").unlink()
    assert asyncio.run(exec_module(migrated.code).run()) == expected
