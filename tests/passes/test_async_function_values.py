"""await: functions that become async, reached through values rather than by name.

A call through a variable (``f = count_users; f()``), a loop over literal functions, a
dispatch table (``HANDLERS["count"]()``, ``HANDLERS[name]()``, ``HANDLERS.get(name)()``)
or a member of a project class (``self.counter = count_users``) is awaited when every
function it may reach becomes async, and gets a TODO when only some do. Dict keys,
keyword arguments and attributes of other objects never make same-named calls
elsewhere awaited, and calls on what cannot hold project functions (``func``,
``sa.func``, ``db.func``, SQL expressions, modules, literals, values of builtin types)
are never taken for project methods. A function that becomes async handed where its
calls cannot be followed (``map()``, ``sorted(key=...)``, ``Thread(target=...)``, an
attribute of another object, a module-level list, a parameter default, ``return``) gets
a TODO there.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sqla_upgrade.api import migrate_source
from tests.harness import check_noop, check_project, check_transformed

HEADER = """
    from sqlalchemy import func, select
    from sqlalchemy.orm import Session


    def count_users(session: Session):
        return session.scalar(select(func.count()))


    def plain(session):
        return 0
"""

MIGRATED_HEADER = """
    from sqlalchemy import func, select
    from sqlalchemy.ext.asyncio import AsyncSession


    async def count_users(session: AsyncSession):
        return await session.scalar(select(func.count()))


    def plain(session):
        return 0
"""

HANDED_OVER = (
    "calling it from there gives a coroutine, not its result: await those calls (from async "
    "code), or hand over a synchronous function"
)

# -- calls through values ------------------------------------------------------------------


def test_a_dispatch_table_key_is_awaited_and_same_named_sql_functions_are_not() -> None:
    check_transformed(
        """
        from sqlalchemy import create_engine, func, select
        from sqlalchemy.orm import sessionmaker, DeclarativeBase, Mapped, mapped_column
        engine = create_engine("sqlite:///x.db")
        Session = sessionmaker(engine)
        class Base(DeclarativeBase): pass
        class User(Base):
            __tablename__ = "users"
            id: Mapped[int] = mapped_column(primary_key=True)
        def count_users():
            with Session() as session:
                return session.query(User).count()
        HANDLERS = {"count": count_users}
        def stats():
            with Session() as session:
                n = session.execute(select(func.count()).select_from(User)).scalar()
            return n, HANDLERS["count"]()
        def apply_all():
            return list(map(lambda f: f(), [count_users]))
        """,
        f"""
        from sqlalchemy import func, select
        from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
        from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

        engine = create_async_engine("sqlite+aiosqlite:///x.db")
        Session = async_sessionmaker(engine, expire_on_commit=False)
        class Base(DeclarativeBase): pass
        class User(Base):
            __tablename__ = "users"
            id: Mapped[int] = mapped_column(primary_key=True)
        async def count_users():
            async with Session() as session:
                return await session.scalar(select(func.count()).select_from(select(User).subquery()))
        HANDLERS = {{"count": count_users}}
        async def stats():
            async with Session() as session:
                n = (await session.execute(select(func.count()).select_from(User))).scalar()
            return n, await HANDLERS["count"]()
        def apply_all():
            # TODO(sqla-upgrade): count_users is async now and is in a list handed to map() here: {HANDED_OVER}
            return list(map(lambda f: f(), [count_users]))
        """,
        target="async",
        todos=["count_users is async now and is in a list handed to map() here"],
    )


def test_calls_through_variables_and_loops_over_literal_functions_are_awaited() -> None:
    check_transformed(
        HEADER
        + """

    def report(session: Session, pick):
        f = count_users
        g = count_users if pick else count_users
        for h in (count_users, count_users):
            h(session)
        return f(session), g(session), [k(session) for k in [count_users]]
    """,
        MIGRATED_HEADER
        + """

    async def report(session: AsyncSession, pick):
        f = count_users
        g = count_users if pick else count_users
        for h in (count_users, count_users):
            await h(session)
        return await f(session), await g(session), [await k(session) for k in [count_users]]
    """,
        target="async",
    )


def test_a_variable_holding_async_and_sync_functions_gets_a_todo() -> None:
    check_transformed(
        HEADER
        + """

    def report(session: Session, pick):
        f = count_users if pick else plain
        return f(session)
    """,
        MIGRATED_HEADER
        + """

    def report(session: AsyncSession, pick):
        f = count_users if pick else plain
        # TODO(sqla-upgrade): f may be one of several functions, some async now and some not: await its calls where it is an async one
        return f(session)
    """,
        target="async",
        todos=["f may be one of several functions, some async now and some not"],
    )


def test_tables_called_by_variable_key_await_only_when_every_value_is_async() -> None:
    check_transformed(
        HEADER
        + """

    HANDLERS = {"count": count_users, "again": count_users}
    MIXED = {"count": count_users, "plain": plain}


    def dispatch(session: Session, action):
        return HANDLERS[action](session), HANDLERS.get(action)(session), MIXED["count"](session), MIXED[action](session)
    """,
        MIGRATED_HEADER
        + """

    HANDLERS = {"count": count_users, "again": count_users}
    MIXED = {"count": count_users, "plain": plain}


    async def dispatch(session: AsyncSession, action):
        # TODO(sqla-upgrade): some functions stored in this dict are async now and some are not: await the async ones
        return await HANDLERS[action](session), await HANDLERS.get(action)(session), await MIXED["count"](session), MIXED[action](session)
    """,
        target="async",
        todos=["some functions stored in this dict are async now and some are not"],
    )


def test_tables_and_variables_of_another_module() -> None:
    check_project(
        {
            "app.handlers": """
                from sqlalchemy import func, select
                from sqlalchemy.orm import Session

                def count_users(session: Session):
                    return session.scalar(select(func.count()))

                HANDLERS = {"count": count_users}
                handler = count_users
            """,
            "app.cli": """
                from app import handlers
                from app.handlers import HANDLERS, handler

                def main(s, action):
                    register(HANDLERS)
                    return HANDLERS["count"](s), handlers.HANDLERS[action](s), handler(s), handlers.handler(s)
            """,
        },
        {
            "app.handlers": """
                from sqlalchemy import func, select
                from sqlalchemy.ext.asyncio import AsyncSession

                async def count_users(session: AsyncSession):
                    return await session.scalar(select(func.count()))

                HANDLERS = {"count": count_users}
                handler = count_users
            """,
            "app.cli": f"""
                from app import handlers
                from app.handlers import HANDLERS, handler

                async def main(s, action):
                    # TODO(sqla-upgrade): HANDLERS holds count_users, async now, and is handed to register() here: {HANDED_OVER}
                    register(HANDLERS)
                    return await HANDLERS["count"](s), await handlers.HANDLERS[action](s), await handler(s), await handlers.handler(s)
            """,
        },
        todos=["HANDLERS holds count_users, async now, and is handed to register() here"],
    )


def test_a_table_passed_around_gets_a_todo_where_it_is_defined() -> None:
    check_transformed(
        HEADER
        + """

    HANDLERS = {"count": count_users}


    def run(session: Session):
        return process(HANDLERS), HANDLERS["count"](session)
    """,
        MIGRATED_HEADER
        + f"""

    # TODO(sqla-upgrade): count_users is async now and is in HANDLERS, which is handed to process() (line 17): {HANDED_OVER}
    HANDLERS = {{"count": count_users}}


    async def run(session: AsyncSession):
        return process(HANDLERS), await HANDLERS["count"](session)
    """,
        target="async",
        todos=["count_users is async now and is in HANDLERS, which is handed to process()"],
    )


def test_members_of_project_classes_are_followed() -> None:
    """``self.counter = count_users`` is a fact of ``Job``: its calls through ``self``,
    through a ``Job`` and on objects of unknown type (no other ``counter``) are awaited."""
    check_transformed(
        HEADER
        + """

    class Job:
        def __init__(self, session: Session):
            self.session = session
            self.counter = count_users

        def run(self):
            return self.counter(self.session)


    def finish(session: Session, job):
        return Job(session).counter(session), job.counter(session)
    """,
        MIGRATED_HEADER
        + """

    class Job:
        def __init__(self, session: AsyncSession):
            self.session = session
            self.counter = count_users

        async def run(self):
            return await self.counter(self.session)


    async def finish(session: AsyncSession, job):
        return await Job(session).counter(session), await job.counter(session)
    """,
        target="async",
    )


def test_methods_called_on_their_class_are_awaited_sql_and_builtin_values_are_not() -> None:
    """``label`` is a project method becoming async, and ``func.count().label("n")`` a
    SQL label; ``count`` is one too, and ``name.count("a")`` a ``str`` method."""
    check_transformed(
        HEADER
        + """

    class Repository:
        def __init__(self, session: Session):
            self.session = session

        def count(self):
            return self.session.scalar(select(func.count()))

        def label(self):
            return self.session.scalar(select(func.max(1)))


    def stats(session: Session, repo: Repository, other, name: str, names: list[str]):
        mine = Repository(session)
        return (
            mine.count(),
            repo.count(),
            other.label(),
            select(func.count().label("n")),
            func.count().label("total"),
            name.count("a"),
            names.count("a"),
            "a,b".count(","),
        )
    """,
        MIGRATED_HEADER
        + """

    class Repository:
        def __init__(self, session: AsyncSession):
            self.session = session

        async def count(self):
            return await self.session.scalar(select(func.count()))

        async def label(self):
            return await self.session.scalar(select(func.max(1)))


    async def stats(session: AsyncSession, repo: Repository, other, name: str, names: list[str]):
        mine = Repository(session)
        return (
            await mine.count(),
            await repo.count(),
            await other.label(),
            select(func.count().label("n")),
            func.count().label("total"),
            name.count("a"),
            names.count("a"),
            "a,b".count(","),
        )
    """,
        target="async",
    )


def test_flask_sqlalchemy_db_func_and_sa_func_are_not_project_methods() -> None:
    check_project(
        {
            "app.db": """
                from flask_sqlalchemy import SQLAlchemy

                db = SQLAlchemy()
            """,
            "app.models": """
                from app.db import db

                class User(db.Model):
                    id = db.Column(db.Integer, primary_key=True)

                    def tally(self):
                        return db.session.scalar(db.select(db.func.count()).select_from(User))
            """,
            "app.views": """
                import sqlalchemy as sa
                from app.db import db

                def totals(user):
                    return user.tally(), db.func.tally(), sa.func.tally(), db.select(db.func.count()).label("tally")
            """,
        },
        {
            "app.views": """
                import sqlalchemy as sa
                from app.db import db

                async def totals(user):
                    return await user.tally(), db.func.tally(), sa.func.tally(), db.select(db.func.count()).label("tally")
            """,
        },
    )


def test_nested_functions_called_directly_are_awaited() -> None:
    check_transformed(
        HEADER
        + """

    def outer(session: Session):
        def inner():
            return count_users(session)

        return inner() + 1
    """,
        MIGRATED_HEADER
        + """

    async def outer(session: AsyncSession):
        async def inner():
            return await count_users(session)

        return await inner() + 1
    """,
        target="async",
    )


def test_nested_functions_in_blocks_are_awaited() -> None:
    """A ``def`` inside a ``with``/``try``/``if`` block of a function is a nested function
    too: its calls, the recursive one included, are awaited."""
    check_transformed(
        HEADER
        + """

    def outer(session: Session, retry):
        with session.begin():
            def inner(attempt):
                try:
                    return count_users(session)
                except ValueError:
                    if attempt < retry:
                        return inner(attempt + 1)
                    raise

            total = inner(0)
        if retry:
            def again():
                return count_users(session)

            total += again()
        return total
    """,
        MIGRATED_HEADER
        + """

    async def outer(session: AsyncSession, retry):
        async with session.begin():
            async def inner(attempt):
                try:
                    return await count_users(session)
                except ValueError:
                    if attempt < retry:
                        return await inner(attempt + 1)
                    raise

            total = await inner(0)
        if retry:
            async def again():
                return await count_users(session)

            total += await again()
        return total
    """,
        target="async",
    )


# -- hand-overs ------------------------------------------------------------------------------


HANDED_OVER_MANAGER = (
    "calling it from there gives an async context manager: enter it with `async with` "
    "(from async code), or hand over a synchronous one"
)


def test_context_managers_handed_over_get_a_todo() -> None:
    """A ``@contextmanager`` that becomes an ``@asynccontextmanager``, returned where its
    ``with`` statements cannot be followed: whoever enters it there with ``with``
    fails."""
    check_transformed(
        """
        from contextlib import contextmanager


        def make_scope(factory):
            @contextmanager
            def scope():
                session = factory()
                try:
                    yield session
                    session.commit()
                finally:
                    session.close()

            return scope
        """,
        f"""
        from contextlib import asynccontextmanager


        def make_scope(factory):
            @asynccontextmanager
            async def scope():
                session = factory()
                try:
                    yield session
                    await session.commit()
                finally:
                    await session.close()

            # TODO(sqla-upgrade): scope is async now and is returned here: {HANDED_OVER_MANAGER}
            return scope
        """,
        target="async",
        project={
            "app.main": """
                from sqlalchemy.orm import sessionmaker

                from app.module import make_scope


                def main():
                    return make_scope(sessionmaker())
            """
        },
        todos=["scope is async now and is returned here"],
    )


def test_functions_handed_to_code_that_cannot_be_followed_get_a_todo() -> None:
    check_transformed(
        HEADER
        + """

    import functools
    import threading

    JOBS = [count_users]


    def later(session: Session, obj, users):
        threading.Thread(target=count_users, args=(session,)).start()
        ranked = sorted(users, key=count_users)
        obj.callback = count_users
        bound = functools.partial(count_users, session)
        return list(map(lambda f: f(session), [count_users])), ranked, bound


    def make(callback=count_users):
        return count_users


    def look(session: Session):
        print(count_users.__name__, callable(count_users), count_users is plain)
        return count_users(session)
    """,
        MIGRATED_HEADER
        + f"""

    import functools
    import threading

    # TODO(sqla-upgrade): count_users is async now and is in a list stored in JOBS here: {HANDED_OVER}
    JOBS = [count_users]


    def later(session: AsyncSession, obj, users):
        # TODO(sqla-upgrade): count_users is async now and is handed to threading.Thread() here: {HANDED_OVER}
        threading.Thread(target=count_users, args=(session,)).start()
        # TODO(sqla-upgrade): count_users is async now and is handed to sorted() here: {HANDED_OVER}
        ranked = sorted(users, key=count_users)
        # TODO(sqla-upgrade): count_users is async now and is stored in obj.callback here: {HANDED_OVER}
        obj.callback = count_users
        # TODO(sqla-upgrade): count_users is async now and is handed to functools.partial() here: {HANDED_OVER}
        bound = functools.partial(count_users, session)
        # TODO(sqla-upgrade): count_users is async now and is in a list handed to map() here: {HANDED_OVER}
        return list(map(lambda f: f(session), [count_users])), ranked, bound


    # TODO(sqla-upgrade): count_users is async now and is a parameter default here: {HANDED_OVER}
    def make(callback=count_users):
        # TODO(sqla-upgrade): count_users is async now and is returned here: {HANDED_OVER}
        return count_users


    async def look(session: AsyncSession):
        print(count_users.__name__, callable(count_users), count_users is plain)
        return await count_users(session)
    """,
        target="async",
        todos=[
            "is in a list stored in JOBS here",
            "is handed to threading.Thread() here",
            "is handed to sorted() here",
            "is stored in obj.callback here",
            "is handed to functools.partial() here",
            "is in a list handed to map() here",
            "is a parameter default here",
            "is returned here",
        ],
    )


def test_a_variable_handed_over_gets_a_todo_where_it_is_bound() -> None:
    check_transformed(
        HEADER
        + """

    def later(session: Session):
        f = count_users
        schedule(f)
        return f(session)
    """,
        MIGRATED_HEADER
        + f"""

    async def later(session: AsyncSession):
        # TODO(sqla-upgrade): count_users is async now and is held by f, which is handed to schedule() (line 15): {HANDED_OVER}
        f = count_users
        schedule(f)
        return await f(session)
    """,
        target="async",
        todos=["held by f, which is handed to schedule() (line 15)"],
    )


def test_names_keys_and_keywords_holding_an_async_function_do_not_dispatch_by_spelling() -> None:
    """``{"label": count_users}``, ``register(label=count_users)`` and ``obj.label =
    count_users`` say nothing about ``thing.label()`` elsewhere."""
    check_transformed(
        HEADER
        + """

    LABELS = {"label": count_users}


    def setup(obj):
        register(label=count_users)
        obj.label = count_users


    def show(thing):
        return thing.label()
    """,
        MIGRATED_HEADER
        + f"""

    LABELS = {{"label": count_users}}


    def setup(obj):
        # TODO(sqla-upgrade): count_users is async now and is handed to register() here: {HANDED_OVER}
        register(label=count_users)
        # TODO(sqla-upgrade): count_users is async now and is stored in obj.label here: {HANDED_OVER}
        obj.label = count_users


    def show(thing):
        return thing.label()
    """,
        target="async",
        todos=["is handed to register() here", "is stored in obj.label here"],
    )


def test_framework_registrations_that_await_coroutine_functions_get_no_todo() -> None:
    check_transformed(
        HEADER
        + """

    from fastapi import Depends, FastAPI

    app = FastAPI()


    def route(session=Depends(count_users)):
        return session


    app.add_api_route("/count", count_users)
    app.dependency_overrides[count_users] = count_users
    """,
        MIGRATED_HEADER
        + """

    from fastapi import Depends, FastAPI

    app = FastAPI()


    def route(session=Depends(count_users)):
        return session


    app.add_api_route("/count", count_users)
    app.dependency_overrides[count_users] = count_users
    """,
        target="async",
    )


# -- no change --------------------------------------------------------------------------------


def test_func_count_without_any_table_stays() -> None:
    check_noop(
        """
        from sqlalchemy import func, select


        def statement():
            return select(func.count()), func.count().label("n")
        """,
        target="async",
    )


def test_tables_of_synchronous_functions_stay() -> None:
    check_noop(
        """
        from sqlalchemy import func, select


        def count_rows(rows):
            return len(rows)


        HANDLERS = {"count": count_rows, "label": str.upper}


        def stats(rows, action, thing):
            return HANDLERS["count"](rows), HANDLERS[action](rows), select(func.count()), thing.count()
        """,
        target="async",
    )


def test_variables_and_loops_over_synchronous_functions_stay() -> None:
    check_noop(
        """
        def double(x):
            return 2 * x


        def run(xs):
            f = double
            g = print
            for h in (double, abs):
                h(1)
            g(f(1))
            return [k(2) for k in [double]]
        """,
        target="async",
    )


def test_synchronous_functions_handed_over_stay() -> None:
    check_noop(
        """
        import threading

        def work(x=0):
            return x

        JOBS = [work]


        def start(obj, items):
            threading.Thread(target=work).start()
            obj.callback = work
            return sorted(items, key=work), list(map(work, items)), work
        """,
        target="async",
    )


def test_functions_already_async_handed_over_stay() -> None:
    check_noop(
        """
        import asyncio

        from sqlalchemy import text
        from sqlalchemy.ext.asyncio import AsyncSession


        async def count(session: AsyncSession):
            return (await session.execute(text("select 1"))).scalar()


        HANDLERS = {"count": count}


        async def run(session: AsyncSession):
            tasks = [asyncio.create_task(f(session)) for f in (count,)]
            register(count)
            return await HANDLERS["count"](session), await asyncio.gather(*tasks)
        """,
        target="async",
    )


def test_members_of_synchronous_functions_stay() -> None:
    check_noop(
        """
        def double(x):
            return 2 * x


        class Job:
            def __init__(self, step):
                self.step = double
                self.other = step

            def run(self):
                return self.step(1), self.other(2)


        def finish(job):
            return job.step(3), Job(double).run()
        """,
        target="async",
    )


def test_sql_labels_and_string_methods_named_like_project_methods_stay() -> None:
    """``label`` and ``title`` are methods of a project class here, which stay
    synchronous; no call of those names is touched, SQL and ``str`` ones included."""
    check_noop(
        """
        import sqlalchemy as sa
        from sqlalchemy import func, select


        class Tag:
            def label(self):
                return "tag"

            def title(self):
                return "Tag"


        def names(tag: Tag, text: str, other):
            return tag.label(), other.title(), text.title(), sa.func.count().label("n"), select(func.max(1)).label("m")
        """,
        target="async",
    )


SERVICE = """
    from sqlalchemy import func, select
    from sqlalchemy.orm import Session

    def count_users(session: Session):
        return session.scalar(select(func.count()))

    class Repository:
        def __init__(self, session: Session):
            self.session = session

        def tally(self):
            return self.session.scalar(select(func.count()))

        def title(self):
            return self.session.scalar(select(func.max(1)))
"""


def check_unchanged_beside_service(module: str) -> None:
    """``module`` (``app.views``) stays as it is, next to a service that becomes async."""
    check_project({"app.service": SERVICE, "app.views": module}, {"app.views": module})


def test_sql_functions_and_modules_named_like_async_methods_stay() -> None:
    check_unchanged_beside_service(
        """
        import reporting
        import sqlalchemy as sa
        from sqlalchemy import func, select

        def totals(user_id):
            return func.tally(user_id), sa.func.title(), select(func.count()).label("tally"), reporting.tally()
        """
    )


def test_string_values_named_like_async_methods_stay() -> None:
    check_unchanged_beside_service(
        """
        def heading(name: str, names: list[str]):
            label = "report"
            return label.title(), name.title(), str(names).title(), "x".title(), names.count("a")
        """
    )


def test_async_functions_only_looked_at_stay() -> None:
    check_unchanged_beside_service(
        """
        from app.service import count_users

        def describe(handler):
            if handler is count_users or callable(count_users):
                return count_users.__name__, repr(count_users)
            return None
        """
    )


def test_async_functions_given_to_frameworks_awaiting_them_stay() -> None:
    check_unchanged_beside_service(
        """
        from fastapi import Depends, FastAPI
        from app.service import count_users

        app = FastAPI()
        app.add_api_route("/count", count_users)

        def view(n=Depends(count_users)):
            return n
        """
    )


def test_tables_of_synchronous_functions_keyed_like_async_ones_stay() -> None:
    check_unchanged_beside_service(
        """
        def plain():
            return 0

        SYNC = {"count_users": plain, "tally": plain}

        def run(key):
            return SYNC["count_users"](), SYNC[key](), SYNC.get(key)()
        """
    )


def test_local_names_shadowing_async_functions_stay() -> None:
    check_unchanged_beside_service(
        """
        def run(rows):
            count_users = len
            tally = count_users
            return count_users(rows), tally(rows), [f(rows) for f in (len, count_users)]
        """
    )


def test_argparse_defaults_of_synchronous_commands_stay() -> None:
    check_noop(
        """
        import argparse


        def cmd_show(args):
            return args


        def main(argv):
            parser = argparse.ArgumentParser()
            parser.set_defaults(func=cmd_show)
            args = parser.parse_args(argv)
            return args.func(args)
        """,
        target="async",
    )


def test_members_named_like_async_methods_on_other_classes_stay() -> None:
    """``Report.title`` holds a synchronous function: called through a ``Report`` it is
    not ``Repository.title``."""
    check_unchanged_beside_service(
        """
        def shout(text):
            return text.upper()

        class Report:
            def __init__(self):
                self.title = shout

            def render(self):
                return self.title("x")

        def show():
            return Report().title("y"), Report().render()
        """
    )


# -- runtime: legacy and migrated code give the same results -------------------------------------

LEGACY = """
import sys

from sqlalchemy import String, create_engine, func, select
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, sessionmaker

engine = create_engine("sqlite:///" + sys.argv[1])
Session = sessionmaker(engine)


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(20))


def count_users():
    with Session() as session:
        return session.query(User).count()


def first_name():
    with Session() as session:
        return session.scalars(select(User.name).order_by(User.id)).first()


def shout(text):
    return text.upper()


HANDLERS = {"count": count_users, "first": first_name}
FORMATTERS = {"shout": shout, "count": len}


class Tag:
    def __init__(self):
        self.counter = count_users

    def label(self):
        with Session() as session:
            return session.scalar(select(func.max(User.name)))

    def describe(self):
        return self.counter(), self.label()


def stats(action):
    with Session() as session:
        n = session.execute(select(func.count()).select_from(User)).scalar()
        named = session.execute(select(func.count().label("n")).select_from(User)).scalar()
    pick = first_name if action == "first" else count_users
    both = [handler() for handler in (count_users, first_name)]
    return (
        n,
        named,
        HANDLERS["count"](),
        HANDLERS[action](),
        HANDLERS.get(action)(),
        pick(),
        both,
        FORMATTERS["shout"]("x"),
        FORMATTERS["count"]("abc"),
        Tag().describe(),
    )


def main():
    Base.metadata.create_all(engine)
    with Session() as session:
        session.add_all([User(name="ann"), User(name="bob")])
        session.commit()
    print(stats("first"))
    print(stats("count"))


if __name__ == "__main__":
    main()
"""


def test_dispatch_tables_behave_as_before_on_aiosqlite(tmp_path: Path) -> None:
    """Dispatch tables, variables, a member and SQL functions named like project
    functions: the migrated program prints what the legacy one did."""
    migrated = migrate_source(LEGACY.lstrip(), target="async", module_name="app")
    assert not migrated.todos, migrated.todos
    assert "await func" not in migrated.code and "await HANDLERS[action]()" in migrated.code
    outputs = []
    for name, code in (("legacy", LEGACY), ("migrated", migrated.code)):
        script = tmp_path / f"{name}.py"
        script.write_text(code)
        run = subprocess.run(
            [
                sys.executable,
                "-W",
                "error::RuntimeWarning",
                str(script),
                str(tmp_path / f"{name}.db"),
            ],
            capture_output=True,
            text=True,
            timeout=120,
            env={**os.environ, "PYTHONPATH": ""},
        )
        assert run.returncode == 0, run.stderr
        outputs.append(run.stdout)
    assert (
        outputs[0]
        == outputs[1]
        == "(2, 2, 2, 'ann', 'ann', 'ann', [2, 'ann'], 'X', 3, (2, 'bob'))\n"
        "(2, 2, 2, 2, 2, 2, [2, 'ann'], 'X', 3, (2, 'bob'))\n"
    )


# -- methods with common names (never dispatched by name) -------------------------------------

TO_DICT_MODELS = """
    from flask_sqlalchemy import SQLAlchemy

    db = SQLAlchemy()


    class Tag(db.Model):
        id = db.Column(db.Integer, primary_key=True)

        def to_dict(self):
            return {"id": self.id}


    class Project(db.Model):
        id = db.Column(db.Integer, primary_key=True)
        tags = db.relationship("Tag", lazy="selectin")
        issues = db.relationship("Issue", lazy="dynamic")

        def to_dict(self):
            return {"tags": [t.to_dict() for t in self.tags], "issues": self.issues.count()}


    class Issue(db.Model):
        id = db.Column(db.Integer, primary_key=True)
        project_id = db.Column(db.ForeignKey("project.id"))
"""


def test_a_common_named_model_method_made_async_is_awaited_or_left_with_a_todo() -> None:
    """``to_dict`` is a name other libraries' objects have too, so a call on an object of
    unknown class is never awaited by name: once ``Project.to_dict`` is async, such a call
    on what the app keeps in ``g`` gets a TODO (not ``request.args.to_dict()``); the items
    of a page of ``select(Project)`` and the members of a known object's relationship
    have a known class (awaited, or left alone)."""
    views = """
        from flask import Blueprint, g, jsonify, request
        from sqlalchemy import select

        from app.ext import Project, db

        bp = Blueprint("views", __name__)


        @bp.route("/projects")
        def projects():
            page = db.paginate(select(Project).order_by(Project.id), page=1, per_page=5)
            return jsonify([p.to_dict() for p in page.items])


        @bp.route("/current")
        def current():
            return jsonify(g.project.to_dict(), request.args.to_dict())
        """
    expected = """
        from flask import Blueprint, g, jsonify, request
        from sqlalchemy import select

        from app.ext import Project, db, paginate

        bp = Blueprint("views", __name__)


        @bp.route("/projects")
        async def projects():
            page = await paginate(select(Project).order_by(Project.id), page=1, per_page=5)
            return jsonify([await p.to_dict() for p in page.items])


        @bp.route("/current")
        def current():
            # TODO(sqla-upgrade): g.project.to_dict() may be Project.to_dict, async now, on an object whose class is not known here: await it where it is
            return jsonify(g.project.to_dict(), request.args.to_dict())
        """
    check_project(
        {"app.ext": TO_DICT_MODELS, "app.views": views},
        {"app.views": expected},
        todos=["g.project.to_dict() may be Project.to_dict, async now"],
    )


def test_a_common_named_method_of_a_model_left_synchronous_gives_no_todo() -> None:
    """``Tag.to_dict`` stays synchronous (``t.to_dict()`` on the members of
    ``self.tags`` is a ``Tag``'s): nothing to await, no TODO."""
    from sqla_upgrade.api import migrate_project
    from tests.harness import _dedent

    result = migrate_project({"app.ext": _dedent(TO_DICT_MODELS)})
    code = result["app.ext"].code
    assert "    async def to_dict(self):\n" in code
    assert '"tags": [t.to_dict() for t in self.tags]' in code, code
    assert not result["app.ext"].todos, result["app.ext"].todos
