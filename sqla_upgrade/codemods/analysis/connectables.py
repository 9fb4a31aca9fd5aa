"""Is an expression an ``Engine`` or a ``Connection``? Evidence as for sessions.

Engines: names the index knows (``engine = create_engine(...)`` in any module),
locals bound to ``create_engine(...)``, parameters annotated ``Engine``, ``db.engine``
of a Flask-SQLAlchemy object. Connections: ``engine.connect()``/``engine.begin()``
results (``with engine.connect() as conn``), ``session.connection()``, parameters
annotated ``Connection``. Names like ``engine`` / ``conn`` with no contrary evidence are
accepted and reported as assumptions. The first parameter of a pool-event listener
(``connect``, ``checkout``...) is the driver's connection: never a ``Connection``.
"""

from __future__ import annotations

import libcst as cst
from libcst.metadata import Assignment, ParentNodeProvider, ScopeProvider

from sqla_upgrade.codemods.analysis.sessions import Evidence, SessionResolver, combine
from sqla_upgrade.codemods.base import Pass
from sqla_upgrade.codemods.index.model import ENGINE_NAMES, EVENT_REGISTRATION, ObjectKind
from sqla_upgrade.codemods.names import qualified_names

ENGINE_TYPES = frozenset(
    {"sqlalchemy.engine.Engine", "sqlalchemy.Engine", "sqlalchemy.engine.base.Engine"}
)
CONNECTION_TYPES = frozenset(
    {"sqlalchemy.engine.Connection", "sqlalchemy.Connection", "sqlalchemy.engine.base.Connection"}
)
CREATE_ENGINE = frozenset(
    {
        "sqlalchemy.create_engine",
        "sqlalchemy.engine.create_engine",
        "sqlalchemy.engine_from_config",
        "sqlalchemy.engine.engine_from_config",
    }
)
#: what stage 1 of ``--target async`` turned the above into: stage-2 passes read its output
ASYNC_ENGINE_TYPES = frozenset(
    {"sqlalchemy.ext.asyncio.AsyncEngine", "sqlalchemy.ext.asyncio.engine.AsyncEngine"}
)
ASYNC_CONNECTION_TYPES = frozenset(
    {"sqlalchemy.ext.asyncio.AsyncConnection", "sqlalchemy.ext.asyncio.engine.AsyncConnection"}
)
CREATE_ASYNC_ENGINE = frozenset(
    {
        "sqlalchemy.ext.asyncio.create_async_engine",
        "sqlalchemy.ext.asyncio.engine.create_async_engine",
        "sqlalchemy.ext.asyncio.async_engine_from_config",
        "sqlalchemy.ext.asyncio.engine.async_engine_from_config",
    }
)
CONNECTION_NAMES = frozenset({"conn", "connection", "con", "db_conn", "cnx"})
#: pool events (also listened for on an engine): their listeners' first parameter is the
#: driver's (DBAPI) connection, never a SQLAlchemy ``Connection``
POOL_EVENTS = frozenset(
    {
        "connect",
        "first_connect",
        "checkout",
        "checkin",
        "reset",
        "invalidate",
        "soft_invalidate",
        "close",
        "close_detached",
        "detach",
    }
)


class ConnectableResolver:
    """``sync_flask_engine``: for the async passes, which leave Flask-SQLAlchemy's
    ``db.engine`` synchronous (the app's ``AsyncSession`` gets an engine of its own):
    ``db.engine``, the names bound to it and the connections opened on it are known to be
    no (async) engine or connection."""

    def __init__(
        self,
        transformer: Pass,
        sessions: SessionResolver | None = None,
        *,
        sync_flask_engine: bool = False,
    ) -> None:
        self.t = transformer
        self.sessions = sessions or SessionResolver(transformer)
        self.sync_flask_engine = sync_flask_engine
        self._depth = 0
        self._variables: dict[tuple[int, str, int], Evidence] = {}
        self._weighing: set[tuple[int, str, int]] = set()
        self._listeners: frozenset[int] | None = None
        migrated = getattr(transformer, "stage", 1) == 2
        self.engine_factories = CREATE_ENGINE | (CREATE_ASYNC_ENGINE if migrated else frozenset())
        self.engine_types = ENGINE_TYPES | (ASYNC_ENGINE_TYPES if migrated else frozenset())
        self.connection_types = CONNECTION_TYPES | (
            ASYNC_CONNECTION_TYPES if migrated else frozenset()
        )

    # -- engines --------------------------------------------------------------------------------
    def engine_evidence(self, node: cst.BaseExpression) -> Evidence:
        if self.sessions.kind(node) is ObjectKind.ENGINE:
            return Evidence.PROOF
        if isinstance(node, cst.Attribute):
            owner_kind = self.sessions.kind(node.value)
            if node.attr.value == "engine" and owner_kind is ObjectKind.FLASK_SQLALCHEMY:
                return Evidence.CONTRARY if self.sync_flask_engine else Evidence.PROOF
            if node.attr.value in ENGINE_NAMES and owner_kind is None:
                return Evidence.ASSUMED
            return Evidence.NONE
        if isinstance(node, cst.Call):
            return (
                Evidence.PROOF
                if qualified_names(self.t, node.func) & self.engine_factories
                else Evidence.NONE
            )
        if isinstance(node, cst.Name):
            return self._name_evidence(node, self._engine_value, self.engine_types, ENGINE_NAMES)
        return Evidence.NONE

    def _engine_value(self, value: cst.BaseExpression) -> Evidence:
        if isinstance(value, cst.Call):
            return (
                Evidence.PROOF
                if qualified_names(self.t, value.func) & self.engine_factories
                else Evidence.CONTRARY
            )
        return self.engine_evidence(value)

    # -- connections ------------------------------------------------------------------------------
    def connection_evidence(self, node: cst.BaseExpression) -> Evidence:
        if isinstance(node, cst.Call):
            return self._connection_value(node)
        if isinstance(node, cst.Name):
            return self._name_evidence(
                node, self._connection_value, self.connection_types, CONNECTION_NAMES
            )
        return Evidence.NONE

    def _connection_value(self, value: cst.BaseExpression) -> Evidence:
        if isinstance(value, cst.Call) and isinstance(value.func, cst.Attribute):
            method = value.func.attr.value
            owner = value.func.value
            if method in ("connect", "begin") and self.engine_evidence(owner) is not Evidence.NONE:
                return self.engine_evidence(owner)
            if method == "connection" and self.sessions.evidence(owner) not in (
                Evidence.NONE,
                Evidence.CONTRARY,
            ):
                return Evidence.PROOF
            return Evidence.CONTRARY
        if isinstance(value, cst.Name):
            return self.connection_evidence(value)
        return Evidence.CONTRARY

    # -- shared ---------------------------------------------------------------------------------------
    def _name_evidence(
        self, node: cst.Name, value_evidence, types: frozenset[str], names: frozenset[str]
    ) -> Evidence:
        """Evidence from the bindings of ``node`` (guarded against binding cycles; a
        variable met again while weighing it tells nothing there, and each is weighed once
        for engines and once for connections)."""
        if self._depth > 25:
            return Evidence.NONE
        scope = self.t.get_metadata(ScopeProvider, node, None)
        key = (id(scope), node.value, id(types))
        if key in self._variables:
            return self._variables[key]
        if key in self._weighing:
            return Evidence.NONE
        outermost = not self._weighing
        self._depth += 1
        self._weighing.add(key)
        try:
            evidence = self._bindings_evidence(node, value_evidence, types, names)
        finally:
            self._depth -= 1
            self._weighing.discard(key)
        if outermost:
            self._variables[key] = evidence
        return evidence

    def _bindings_evidence(
        self, node: cst.Name, value_evidence, types: frozenset[str], names: frozenset[str]
    ) -> Evidence:
        scope = self.t.get_metadata(ScopeProvider, node, None)
        if scope is None:
            return Evidence.NONE
        verdicts = []
        for assignment in scope[node.value]:
            if not isinstance(assignment, Assignment):
                continue
            verdicts.append(self._binding(assignment, value_evidence, types, names, node.value))
        if not verdicts:
            return Evidence.ASSUMED if node.value.lower() in names else Evidence.NONE
        return combine(verdicts)

    def _binding(
        self,
        assignment: Assignment,
        value_evidence,
        types: frozenset[str],
        names: frozenset[str],
        name: str,
    ) -> Evidence:
        bound = assignment.node
        if isinstance(bound, cst.Param):
            if bound.annotation is not None:
                annotated = qualified_names(self.t, bound.annotation.annotation)
                return Evidence.PROOF if annotated & types else Evidence.CONTRARY
            if types is self.connection_types and self._dbapi_connection(bound):
                return Evidence.CONTRARY
            return Evidence.ASSUMED if name.lower() in names else Evidence.NONE
        if isinstance(bound, cst.Import | cst.ImportFrom):
            if _from_sqlalchemy(assignment, name):
                return Evidence.CONTRARY  # ``from sqlalchemy.engine import Engine``: a class
            return Evidence.ASSUMED if name.lower() in names else Evidence.NONE
        parent = self.t.get_metadata(ParentNodeProvider, bound, None)
        if isinstance(parent, cst.AssignTarget):
            statement = self.t.get_metadata(ParentNodeProvider, parent, None)
            if isinstance(statement, cst.Assign):
                return value_evidence(statement.value)
        if isinstance(parent, cst.AsName):
            holder = self.t.get_metadata(ParentNodeProvider, parent, None)
            if isinstance(holder, cst.WithItem):
                return value_evidence(holder.item)
        return Evidence.NONE

    def _dbapi_connection(self, param: cst.Param) -> bool:
        """Is ``param`` the first parameter of a pool-event listener (``connect``,
        ``checkout``...: ``@event.listens_for(engine, "connect")`` or
        ``event.listen(engine.pool, "connect", f)`` anywhere in the module), which
        SQLAlchemy hands the driver's own connection?"""
        parameters = self.t.get_metadata(ParentNodeProvider, param, None)
        if not isinstance(parameters, cst.Parameters):
            return False
        function = self.t.get_metadata(ParentNodeProvider, parameters, None)
        if not isinstance(function, cst.FunctionDef):
            return False
        positional = [*parameters.posonly_params, *parameters.params]
        if not positional or positional[0] is not param:
            return False
        for decorator in function.decorators:
            if isinstance(decorator.decorator, cst.Call) and self._pool_event(decorator.decorator):
                return True
        return id(function) in self._pool_listeners()

    def _pool_event(self, call: cst.Call) -> bool:
        """``listen(target, "connect", ...)`` / ``listens_for(target, "connect")``."""
        if len(call.args) < 2 or not qualified_names(self.t, call.func) & EVENT_REGISTRATION:
            return False
        name = call.args[1].value
        return isinstance(name, cst.SimpleString) and name.evaluated_value in POOL_EVENTS

    def _pool_listeners(self) -> frozenset[int]:
        """The functions (node ids) the module's ``event.listen()`` calls register for a
        pool event, by the scope of the name they are given."""
        if self._listeners is not None:
            return self._listeners
        found: set[int] = set()
        resolver = self
        wrapper = self.t.context.wrapper
        module = wrapper.module if wrapper is not None else None

        class Registrations(cst.CSTVisitor):
            def visit_Call(self, call: cst.Call) -> None:
                if len(call.args) < 3 or not resolver._pool_event(call):
                    return
                listener = call.args[2].value
                if not isinstance(listener, cst.Name):
                    return
                scope = resolver.t.get_metadata(ScopeProvider, listener, None)
                if scope is None:
                    return
                for assignment in scope[listener.value]:
                    if isinstance(assignment, Assignment) and isinstance(
                        assignment.node, cst.FunctionDef
                    ):
                        found.add(id(assignment.node))

        if module is not None:
            module.visit(Registrations())
        self._listeners = frozenset(found)
        return self._listeners


def _from_sqlalchemy(assignment: Assignment, name: str) -> bool:
    """Does the import binding ``name`` take it from SQLAlchemy itself (which exports
    classes and functions, never an engine or connection of the application)?"""
    return any(
        q.name == "sqlalchemy" or q.name.startswith("sqlalchemy.")
        for q in assignment.get_qualified_names_for(name)
    )
