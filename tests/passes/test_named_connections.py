"""A parameter only named like a connection (``connection``, ``conn``) handed to other
code is no evidence of SQLAlchemy I/O: LDAP, Redis and DB-API clients name their own
connections so. ``def initialize(self, connection)`` of a class deriving from an LDAP
library's server pool, handing it on to the library, stays as it is (it became an
``async def`` running ``connection.run_sync(...)``, which the library's synchronous
calls of it never await, and a second run then changed it again)."""

from __future__ import annotations

from tests.harness import check_project

DB = """
    from sqlalchemy import create_engine, text

    engine = create_engine("sqlite://")


    def count():
        with engine.connect() as conn:
            return conn.execute(text("select 1")).scalar()
"""
POOL = """
    import threading

    import ldap3


    class LockingServerPool(ldap3.ServerPool):
        def __init__(self, *args, **kwargs):
            ldap3.ServerPool.__init__(self, *args, **kwargs)
            self._lock = threading.RLock()

        def initialize(self, connection):
            with self._lock:
                return ldap3.ServerPool.initialize(self, connection)

        def get_server(self, conn):
            with self._lock:
                return super().get_server(conn)
"""


def test_a_parameter_named_connection_handed_to_a_library_is_left_alone() -> None:
    check_project({"app.db": DB, "app.pool": POOL}, {"app.pool": POOL})


def test_an_annotated_connection_handed_to_a_library_still_runs_through_run_sync() -> None:
    report = """
        from sqlalchemy.engine import Connection

        import reporting


        def export(conn: Connection):
            return reporting.dump(conn)
    """
    expected = """
        import reporting
        from sqlalchemy.ext.asyncio import AsyncConnection


        async def export(conn: AsyncConnection):
            return await conn.run_sync(lambda sync_conn: reporting.dump(sync_conn))
    """
    check_project({"app.db": DB, "app.report": report}, {"app.report": expected})
