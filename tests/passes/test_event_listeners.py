"""SQLAlchemy event listeners stay synchronous under ``--target async``.

An ``after_insert`` listener is called by the flush, inside SQLAlchemy's greenlet, with a
synchronous ``Connection``: its ``connection.execute(...)`` runs as it is. Made ``async``
it would be a coroutine the flush never awaits, and its writes would be lost without an
error. So a listener (``@event.listens_for(...)`` or ``event.listen(target, "name", fn)``)
is never made async, nothing in it is awaited, and a call in it to a function of the
project that becomes async is left with a TODO.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess

import pytest

from sqla_upgrade.api import migrate_project
from tests.harness import _dedent, check_noop, check_project, check_transformed, exec_module

MODELS = """
    from sqlalchemy import Column, Integer, MetaData, String, Table, event
    from sqlalchemy.orm import declarative_base

    metadata = MetaData()
    Base = declarative_base(metadata=metadata)
    audit = Table("audit", metadata, Column("id", Integer, primary_key=True), Column("ev", String))


    class Item(Base):
        __tablename__ = "items"
        id = Column(Integer, primary_key=True)
        name = Column(String)
"""

LISTENERS = """
    @event.listens_for(Item, "after_insert")
    def audit_insert(mapper, connection, target):
        connection.execute(audit.insert(), {"ev": "insert " + target.name})


    def audit_delete(mapper, connection, target):
        connection.execute(audit.insert().values(ev="delete"))


    event.listen(Item, "after_delete", audit_delete)
"""


def test_listeners_keep_their_synchronous_connection() -> None:
    check_noop(MODELS + LISTENERS, target="async")


def test_a_listener_calling_a_function_that_becomes_async_is_left_with_a_todo() -> None:
    check_transformed(
        """
        from sqlalchemy import event, select
        from sqlalchemy.orm import Session


        def newest(session: Session):
            return session.scalar(select(1))


        @event.listens_for(Session, "after_commit")
        def after_commit(session):
            newest(session)
        """,
        """
        from sqlalchemy import event, select
        from sqlalchemy.orm import Session
        from sqlalchemy.ext.asyncio import AsyncSession


        async def newest(session: AsyncSession):
            return await session.scalar(select(1))


        @event.listens_for(Session, "after_commit")
        def after_commit(session):
            # TODO(sqla-upgrade): app.module.newest() is now a coroutine but cannot be awaited here (SQLAlchemy calls event listeners synchronously (with a synchronous connection)); use an async method or run_sync
            newest(session)
        """,
        target="async",
        todos=["SQLAlchemy calls event listeners synchronously"],
    )


def test_a_function_of_the_same_name_not_registered_is_migrated() -> None:
    check_transformed(
        """
        from sqlalchemy import text


        def audit_delete(mapper, connection, target):
            connection.execute(text("select 1"))


        listen = print
        listen(1, 2, audit_delete)
        """,
        """
        from sqlalchemy import text


        async def audit_delete(mapper, connection, target):
            await connection.execute(text("select 1"))


        listen = print
        # TODO(sqla-upgrade): audit_delete is async now and is handed to listen() here: calling it from there gives a coroutine, not its result: await those calls (from async code), or hand over a synchronous function
        listen(1, 2, audit_delete)
        """,
        target="async",
        todos=["audit_delete is async now and is handed to listen() here"],
    )


PROGRAM = """
    from sqlalchemy import create_engine, select
    from sqlalchemy.orm import sessionmaker


    def run(url):
        engine = create_engine(url)
        metadata.create_all(engine)
        Session = sessionmaker(bind=engine)
        with Session() as session:
            item = Item(name="a")
            session.add(item)
            session.commit()
            session.delete(item)
            session.commit()
            return [row.ev for row in session.execute(select(audit.c.ev).order_by(audit.c.id))]
"""


def test_migrated_listeners_still_write_what_they_wrote(tmp_path) -> None:  # type: ignore[no-untyped-def]
    source = _dedent(MODELS + LISTENERS) + _dedent(PROGRAM)
    migrated = migrate_project({"app.program": source}, target="async")["app.program"].code
    assert "async def audit_insert" not in migrated
    expected = exec_module(source).run(f"sqlite:///{tmp_path / 'legacy.db'}")
    url = f"sqlite+aiosqlite:///{tmp_path / 'migrated.db'}"
    got = asyncio.run(exec_module(migrated).run(url))
    assert got == expected == ["insert a", "delete"]


def test_a_validator_doing_io_stays_synchronous_with_a_todo() -> None:
    """SQLAlchemy calls ``@validates`` methods when the attribute is set: as a coroutine
    the attribute would be given the coroutine (and the flush fail)."""
    code = """
        from sqlalchemy import Column, Integer, String, create_engine, func, select
        from sqlalchemy.orm import declarative_base, sessionmaker, validates

        Base = declarative_base()
        SessionLocal = sessionmaker(bind=create_engine("sqlite://"))


        class Emp(Base):
            __tablename__ = "emps"
            id = Column(Integer, primary_key=True)
            name = Column(String)

            @validates("name")
            def check_name(self, key, value):
                with SessionLocal() as session:
                    session.scalar(select(func.count()).where(Emp.name == value))
                return value.strip()
        """
    result = migrate_project({"app.models": _dedent(code)}, target="async")["app.models"]
    assert "    def check_name(self, key, value):" in result.code
    assert "async def check_name" not in result.code
    assert any("@validates methods synchronously" in t.message for t in result.todos)


# -- session events on factories and scoped sessions that become async -------------------------

SYNC_CLASS_NOTE = "sync_session_class=sessionmaker(): the session events registered"
SESSION_EVENTS_TODO = "session events cannot be registered on an async_sessionmaker"
SESSION_EVENTS_TODO_TEXT = (
    "session events cannot be registered on an async_sessionmaker or async_scoped_session "
    "(No such event): create the async_sessionmaker with sync_session_class=sessionmaker() "
    "and register the listener on that sessionmaker"
)


def test_a_listener_on_a_scoped_session_goes_to_its_synchronous_sessionmaker() -> None:
    """``async_scoped_session`` takes no events (``No such event 'before_flush'`` at
    import): the factory is given a ``sessionmaker()`` as ``sync_session_class``, and the
    listener goes to it, for the sessions of that factory only, as before."""
    check_transformed(
        """
        from sqlalchemy import create_engine, event
        from sqlalchemy.orm import scoped_session, sessionmaker

        engine = create_engine("sqlite://")
        Session = scoped_session(sessionmaker(bind=engine))


        @event.listens_for(Session, "before_flush")
        def before_flush(session, flush_context, instances):
            session.info["flushes"] = session.info.get("flushes", 0) + 1
        """,
        """
        from sqlalchemy import event
        from sqlalchemy.orm import sessionmaker
        import asyncio
        from sqlalchemy.ext.asyncio import async_scoped_session, async_sessionmaker, create_async_engine

        engine = create_async_engine("sqlite+aiosqlite://")
        Session = async_scoped_session(async_sessionmaker(bind=engine, expire_on_commit=False, sync_session_class=sessionmaker()), scopefunc=asyncio.current_task)


        @event.listens_for(Session.session_factory.kw["sync_session_class"], "before_flush")
        def before_flush(session, flush_context, instances):
            session.info["flushes"] = session.info.get("flushes", 0) + 1
        """,
        target="async",
        notes=[SYNC_CLASS_NOTE],
    )


def test_listeners_on_a_sessionmaker_and_the_scoped_session_wrapping_it() -> None:
    check_transformed(
        """
        from sqlalchemy import create_engine, event
        from sqlalchemy.orm import scoped_session, sessionmaker

        engine = create_engine("sqlite://")
        SessionLocal = sessionmaker(bind=engine, autoflush=False)
        Session = scoped_session(SessionLocal)


        def committed(session):
            pass


        event.listen(Session, "after_commit", committed)
        event.listen(SessionLocal, "after_rollback", committed)
        """,
        """
        from sqlalchemy import event
        from sqlalchemy.orm import sessionmaker
        import asyncio
        from sqlalchemy.ext.asyncio import async_scoped_session, async_sessionmaker, create_async_engine

        engine = create_async_engine("sqlite+aiosqlite://")
        SessionLocal = async_sessionmaker(bind=engine, autoflush=False, expire_on_commit=False, sync_session_class=sessionmaker())
        Session = async_scoped_session(SessionLocal, scopefunc=asyncio.current_task)


        def committed(session):
            pass


        event.listen(Session.session_factory.kw["sync_session_class"], "after_commit", committed)
        event.listen(SessionLocal.kw["sync_session_class"], "after_rollback", committed)
        """,
        target="async",
        notes=[SYNC_CLASS_NOTE],
    )


def test_listeners_in_another_module_follow_the_factory_through_imports() -> None:
    """The factory is changed where it is defined, the registrations where they are,
    however the target is reached (``from ... import``, ``module.Name``, ``listens_for``
    imported, inside a function)."""
    check_project(
        {
            "app.db": """
                from sqlalchemy import create_engine
                from sqlalchemy.orm import scoped_session, sessionmaker

                engine = create_engine("sqlite://")
                SessionLocal = sessionmaker(bind=engine)
                Session = scoped_session(SessionLocal)
                """,
            "app.events": """
                from sqlalchemy import event
                from sqlalchemy.event import listens_for

                from app import db
                from app.db import Session


                @listens_for(Session, "before_flush")
                def before_flush(session, flush_context, instances):
                    pass


                def init():
                    event.listen(db.SessionLocal, "after_commit", lambda session: None)
                """,
        },
        {
            "app.db": """
                from sqlalchemy.orm import sessionmaker
                import asyncio
                from sqlalchemy.ext.asyncio import async_scoped_session, async_sessionmaker, create_async_engine

                engine = create_async_engine("sqlite+aiosqlite://")
                SessionLocal = async_sessionmaker(bind=engine, expire_on_commit=False, sync_session_class=sessionmaker())
                Session = async_scoped_session(SessionLocal, scopefunc=asyncio.current_task)
                """,
            "app.events": """
                from sqlalchemy import event
                from sqlalchemy.event import listens_for

                from app import db
                from app.db import Session


                @listens_for(Session.session_factory.kw["sync_session_class"], "before_flush")
                def before_flush(session, flush_context, instances):
                    pass


                def init():
                    event.listen(db.SessionLocal.kw["sync_session_class"], "after_commit", lambda session: None)
                """,
        },
    )


def test_a_listener_on_a_factory_made_by_an_unknown_call_gets_a_todo() -> None:
    check_transformed(
        """
        from sqlalchemy import event
        from sqlalchemy.orm import scoped_session
        from app.factories import make_factory

        Session = scoped_session(make_factory())
        event.listen(Session, "after_commit", print)
        """,
        f"""
        from sqlalchemy import event
        from app.factories import make_factory
        import asyncio
        from sqlalchemy.ext.asyncio import async_scoped_session

        Session = async_scoped_session(make_factory(), scopefunc=asyncio.current_task)
        # TODO(sqla-upgrade): {SESSION_EVENTS_TODO_TEXT}
        event.listen(Session, "after_commit", print)
        """,
        target="async",
        todos=[SESSION_EVENTS_TODO],
    )


def test_a_listener_on_a_factory_made_in_a_function_gets_a_todo() -> None:
    """A function's own factory is not in the project index: nothing tells which
    sessionmaker the listener could go to."""
    check_transformed(
        """
        from sqlalchemy import event
        from sqlalchemy.orm import sessionmaker


        def make(engine):
            factory = sessionmaker(bind=engine)
            event.listen(factory, "after_commit", print)
            return factory
        """,
        f"""
        from sqlalchemy import event
        from sqlalchemy.ext.asyncio import async_sessionmaker


        def make(engine):
            factory = async_sessionmaker(bind=engine, expire_on_commit=False)
            # TODO(sqla-upgrade): {SESSION_EVENTS_TODO_TEXT}
            event.listen(factory, "after_commit", print)
            return factory
        """,
        target="async",
        todos=[SESSION_EVENTS_TODO],
    )


FACTORIES = {
    "app.db": """
        from sqlalchemy import create_engine
        from sqlalchemy.orm import Session as OrmSession, scoped_session, sessionmaker


        class AuditedSession(OrmSession):
            pass


        engine = create_engine("sqlite://")
        Session = scoped_session(sessionmaker(bind=engine))
        Audited = sessionmaker(bind=engine, class_=AuditedSession)
        Legacy = scoped_session(sessionmaker(bind=engine, autocommit=True))
        """
}


@pytest.mark.parametrize(
    ("code", "target"),
    [
        (  # every session: the Session class stays a valid target
            'from sqlalchemy import event\nfrom sqlalchemy.orm import Session\n@event.listens_for(Session, "before_flush")\ndef f(session, context, instances):\n    pass\n',
            "async",
        ),
        (  # already migrated
            'from sqlalchemy import event\nfrom sqlalchemy.orm import sessionmaker\nfrom sqlalchemy.ext.asyncio import async_sessionmaker\nSessionLocal = async_sessionmaker(expire_on_commit=False, sync_session_class=sessionmaker())\nevent.listen(SessionLocal.kw["sync_session_class"], "after_commit", print)\n',
            "async",
        ),
        (  # SQLAlchemy's documented form: the synchronous sessionmaker kept by name
            'from sqlalchemy import event\nfrom sqlalchemy.orm import sessionmaker\nfrom sqlalchemy.ext.asyncio import async_sessionmaker\nsync_maker = sessionmaker()\nmaker = async_sessionmaker(sync_session_class=sync_maker, expire_on_commit=False)\n@event.listens_for(sync_maker, "before_commit")\ndef f(session):\n    pass\n',
            "async",
        ),
        (  # a factory with a session class of its own stays synchronous, its listeners too
            'from sqlalchemy import event\nfrom app.db import Audited\nevent.listen(Audited, "after_commit", print)\n',
            "async",
        ),
        (  # so does one in autocommit mode
            'from sqlalchemy import event\nfrom app.db import Legacy\nevent.listen(Legacy, "after_commit", print)\n',
            "async",
        ),
        (  # a class of that name, not a session factory
            'from sqlalchemy import event\nclass SessionLocal:\n    pass\nevent.listen(SessionLocal, "after_commit", print)\n',
            "async",
        ),
        (  # --target 2.0 keeps synchronous sessions
            'from sqlalchemy import event\nfrom app.db import Session\nevent.listen(Session, "after_commit", print)\n',
            "2.0",
        ),
    ],
)
def test_listeners_whose_target_stays_valid_are_untouched(code: str, target: str) -> None:
    check_noop(code, target=target, project=FACTORIES)


LISTENING_PROGRAM = """
    from sqlalchemy import Column, Integer, String, create_engine, event
    from sqlalchemy.orm import declarative_base, scoped_session, sessionmaker

    Base = declarative_base()


    class Note(Base):
        __tablename__ = "notes"
        id = Column(Integer, primary_key=True)
        text = Column(String)


    seen = []
    engine = create_engine(URL)
    Session = scoped_session(sessionmaker(bind=engine))
    SessionLocal = sessionmaker(bind=engine)
    Reports = scoped_session(SessionLocal)
    Unwatched = sessionmaker(bind=engine)


    @event.listens_for(Session, "before_flush")
    def before_flush(session, flush_context, instances):
        seen.append("before_flush %d" % len(session.new))


    def committed(session):
        seen.append("after_commit")


    event.listen(Reports, "after_commit", committed)
    event.listen(SessionLocal, "after_rollback", lambda session: seen.append("after_rollback"))


    def run():
        Base.metadata.create_all(engine)
        Session.add(Note(text="a"))
        Session.commit()
        Session.remove()
        with Unwatched() as session:
            session.add(Note(text="b"))
            session.commit()
        Reports.add(Note(text="c"))
        Reports.commit()
        Reports.add(Note(text="d"))
        Reports.flush()
        Reports.rollback()
        Reports.remove()
        return seen
"""

ASYNC_RUNNER = """
import asyncio


async def _main():
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    Session.add(Note(text="a"))
    await Session.commit()
    await Session.remove()
    async with Unwatched() as session:
        session.add(Note(text="b"))
        await session.commit()
    Reports.add(Note(text="c"))
    await Reports.commit()
    Reports.add(Note(text="d"))
    await Reports.flush()
    await Reports.rollback()
    await Reports.remove()
    await engine.dispose()
    return seen


def run_async():
    return asyncio.run(_main())
"""


def _legacy_run(source: str, tmp_path) -> list[str]:  # type: ignore[no-untyped-def]
    """What the original program gives: on SQLAlchemy 1.4 when SQLA_UPGRADE_LEGACY_PYTHON
    names such an interpreter, else on this environment's SQLAlchemy."""
    python = os.environ.get("SQLA_UPGRADE_LEGACY_PYTHON")
    if not python:
        return exec_module(source).run()
    script = tmp_path / "legacy_program.py"
    script.write_text(source + "\nimport json\nprint(json.dumps(run()))\n")
    result = subprocess.run(
        [python, str(script)], capture_output=True, text=True, timeout=120, check=True
    )
    return json.loads(result.stdout)


def test_migrated_session_listeners_fire_for_the_same_sessions(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Run the original (SQLAlchemy 1.4 when available) and the migrated program: the
    listeners fire for the sessions of the factories they were registered on, and not
    for the others'."""
    legacy_url = f"sqlite:///{tmp_path / 'legacy.db'}"
    source = _dedent(LISTENING_PROGRAM).replace("URL", repr(legacy_url), 1)
    migrated = migrate_project({"app.program": source}, target="async")["app.program"]
    assert not migrated.todos
    assert migrated.code.count("sync_session_class=sessionmaker()") == 2
    expected = _legacy_run(source, tmp_path)
    assert expected == ["before_flush 1", "after_commit", "after_rollback"]
    async_url = f"sqlite+aiosqlite:///{tmp_path / 'migrated.db'}"
    program = migrated.code.replace(repr(legacy_url), repr(async_url)) + ASYNC_RUNNER
    assert exec_module(program).run_async() == expected


@pytest.mark.parametrize(
    "imports, target",
    [
        ("from sqlalchemy.engine import Engine", "Engine"),
        ("from sqlalchemy import Engine", "Engine"),
        ("from sqlalchemy.engine import Connection", "Connection"),
        ("from sqlalchemy.engine import Engine as engine", "engine"),
    ],
)
def test_a_listener_on_sqlalchemys_engine_class_stays_there(imports: str, target: str) -> None:
    """``listens_for(Engine, ...)`` listens to every engine, the synchronous ones inside
    async engines included: ``Engine.sync_engine`` does not exist (AttributeError), even
    when the class is imported under an engine's usual name."""
    code = f"""
        import time

        {imports}
        from sqlalchemy import create_engine, event

        engine_ = create_engine("sqlite://")


        @event.listens_for({target}, "before_cursor_execute")
        def before_cursor_execute(conn, cursor, statement, parameters, context, executemany):
            conn.info.setdefault("query_start_time", []).append(time.time())
        """
    expected = code.replace("create_engine, event", "event").replace(
        'engine_ = create_engine("sqlite://")',
        'engine_ = create_async_engine("sqlite+aiosqlite://")',
    )
    expected = expected.replace(
        "from sqlalchemy import event\n",
        "from sqlalchemy import event\n        from sqlalchemy.ext.asyncio import create_async_engine\n",
    )
    check_transformed(code, expected, target="async")


REGISTERED_IN_A_FUNCTION = """
    import sqlalchemy as sa
    from sqlalchemy import event
    from sqlalchemy.engine import Connection, Engine
    from sqlalchemy.orm import declarative_base, scoped_session, sessionmaker

    Base = declarative_base()
    DBSession = scoped_session(sessionmaker(bind=sa.create_engine("sqlite://")))


    class Node(Base):
        __tablename__ = "nodes"
        id = sa.Column(sa.Integer, primary_key=True)
        name = sa.Column(sa.String)
        path = sa.Column(sa.String)


    def adjust_for_engine(conn: Connection, branch: bool) -> None:
        if conn.engine.dialect.name == "mysql":
            Node.__table__.c.path.type = sa.Text()


    def _update_children(old):
        for child in DBSession.query(Node).filter(Node.path.startswith(old)):
            child.path = "moved"


    def _set_path(target, value, oldvalue, initiator):
        _update_children(oldvalue)


    def _before_flush(session, flush_context, instances):
        for node in session.query(Node).filter(Node.path == None).all():
            node.path = "/" + node.name


    def wire():
        event.listen(Engine, "engine_connect", adjust_for_engine)
        event.listen(Node.name, "set", _set_path)
        event.listen(DBSession, "before_flush", _before_flush)
"""


def test_listeners_registered_in_a_function_stay_synchronous() -> None:
    """Kotti's ``wire_sqlalchemy()`` and ``includeme(config)`` register module-level
    functions with ``event.listen``: they are listeners as those registered at the top
    level are (the engine listener keeps its ``Connection`` annotation, the flush
    listener its synchronous session); they were made async, registered as coroutine
    functions with a TODO, and the annotation said ``AsyncConnection``."""
    check_transformed(
        REGISTERED_IN_A_FUNCTION,
        """
        import sqlalchemy as sa
        from sqlalchemy import select, event
        from sqlalchemy.engine import Connection, Engine
        from sqlalchemy.orm import declarative_base, sessionmaker
        import asyncio
        from sqlalchemy.ext.asyncio import async_scoped_session, async_sessionmaker, create_async_engine

        Base = declarative_base()
        DBSession = async_scoped_session(async_sessionmaker(bind=create_async_engine("sqlite+aiosqlite://"), expire_on_commit=False, sync_session_class=sessionmaker()), scopefunc=asyncio.current_task)


        class Node(Base):
            __tablename__ = "nodes"
            id = sa.Column(sa.Integer, primary_key=True)
            name = sa.Column(sa.String)
            path = sa.Column(sa.String)


        def adjust_for_engine(conn: Connection, branch: bool) -> None:
            if conn.engine.dialect.name == "mysql":
                Node.__table__.c.path.type = sa.Text()


        async def _update_children(old):
            for child in await DBSession.scalars(select(Node).where(Node.path.startswith(old))):
                child.path = "moved"


        def _set_path(target, value, oldvalue, initiator):
            # TODO(sqla-upgrade): app.module._update_children() is now a coroutine but cannot be awaited here (SQLAlchemy calls event listeners synchronously (with a synchronous connection)); use an async method or run_sync
            _update_children(oldvalue)


        def _before_flush(session, flush_context, instances):
            for node in session.scalars(select(Node).where(Node.path == None)).all():
                node.path = "/" + node.name


        def wire():
            event.listen(Engine, "engine_connect", adjust_for_engine)
            event.listen(Node.name, "set", _set_path)
            event.listen(DBSession.session_factory.kw["sync_session_class"], "before_flush", _before_flush)
        """,
        target="async",
        todos=["cannot be awaited here (SQLAlchemy calls event listeners synchronously"],
    )


def test_a_local_function_registered_in_a_function_is_no_module_level_listener() -> None:
    """``event.listen(..., fn)`` of a parameter or a local function: the module-level
    function of the same name is not what is registered, so it is migrated as before."""
    check_transformed(
        """
        from sqlalchemy import create_engine, event, text
        from sqlalchemy.engine import Engine

        engine = create_engine("sqlite://")


        def count(conn, branch):
            with engine.connect() as c:
                return c.execute(text("select 1")).scalar()


        def register(count):
            event.listen(Engine, "engine_connect", count)
        """,
        """
        from sqlalchemy import event, text
        from sqlalchemy.engine import Engine
        from sqlalchemy.ext.asyncio import create_async_engine

        engine = create_async_engine("sqlite+aiosqlite://")


        async def count(conn, branch):
            async with engine.connect() as c:
                return (await c.execute(text("select 1"))).scalar()


        def register(count):
            event.listen(Engine, "engine_connect", count)
        """,
        target="async",
    )


def test_listeners_nested_in_a_set_up_function_stay_synchronous() -> None:
    """``event.listen(engine, "begin", on_begin)`` inside the function defining
    ``on_begin``; a pool ``connect`` listener is handed the driver's connection, whose
    ``execute()`` is sqlite3's (no ``exec_driver_sql()``)."""
    check_transformed(
        """
        import sqlalchemy as sa


        def set_up(engine):
            def on_connect(connection, record):
                connection.execute("pragma foreign_keys = on")

            sa.event.listen(engine.pool, "connect", on_connect)

            def on_begin(conn):
                conn.execute(sa.text("SELECT 1"))

            sa.event.listen(engine, "begin", on_begin)
            return engine


        engine = set_up(sa.create_engine("sqlite://"))
        """,
        """
        import sqlalchemy as sa
        from sqlalchemy.ext.asyncio import create_async_engine


        def set_up(engine):
            def on_connect(connection, record):
                connection.execute("pragma foreign_keys = on")

            sa.event.listen(engine.pool, "connect", on_connect)

            def on_begin(conn):
                conn.execute(sa.text("SELECT 1"))

            sa.event.listen(engine.sync_engine, "begin", on_begin)
            return engine


        engine = set_up(create_async_engine("sqlite+aiosqlite://"))
        """,
        target="async",
    )
