"""Which calls and ``with`` items do I/O once sessions, connections and engines are async.

The same detector decides, before the async stage, which functions must become
``async def`` and, during it, where ``await`` / ``async with`` go, so the two always
agree.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING

import libcst as cst
from libcst.metadata import (
    Assignment,
    BaseAssignment,
    GlobalScope,
    ParentNodeProvider,
    ScopeProvider,
)

from sqla_upgrade.codemods.analysis.chains import RESULT_TERMINALS
from sqla_upgrade.codemods.analysis.connectables import ConnectableResolver
from sqla_upgrade.codemods.analysis.sessions import Evidence, SessionResolver
from sqla_upgrade.codemods.base import Pass, per_object
from sqla_upgrade.codemods.index.model import looks_like_session

if TYPE_CHECKING:
    from sqla_upgrade.codemods.index.model import ProjectIndex

# AsyncSession coroutine methods (``add``, ``expire``... stay plain)
SESSION_IO = frozenset(
    {
        "execute",
        "scalar",
        "scalars",
        "get",
        "get_one",
        "stream",
        "stream_scalars",
        "commit",
        "rollback",
        "flush",
        "refresh",
        "merge",
        "delete",
        "close",
        "run_sync",
        "connection",
        "invalidate",
        "reset",
    }
)
SCOPED_REGISTRY_IO = SESSION_IO | {"remove", "close_all"}
#: Session methods AsyncSession has no counterpart of: they run through ``run_sync``
SYNC_ONLY_SESSION_METHODS = frozenset(
    {"bulk_save_objects", "bulk_insert_mappings", "bulk_update_mappings"}
)
CONNECTION_IO = frozenset(
    {
        "execute",
        "scalar",
        "scalars",
        "exec_driver_sql",
        "commit",
        "rollback",
        "close",
        "run_sync",
        "stream",
        "stream_scalars",
        "invalidate",
    }
)
ENGINE_IO = frozenset({"dispose", "connect"})
# ``begin()`` outside ``async with`` must be awaited to start the transaction, whose
# ``commit()``/``rollback()``/``close()`` are coroutines too
BEGIN = frozenset({"begin", "begin_nested"})
TRANSACTION_IO = frozenset({"commit", "rollback", "close"})
# top-level packages whose functions are never bridged: SQLAlchemy itself (the other
# passes handle it) and the frameworks whose calls take sessions as values
NOT_BRIDGED = frozenset({"sqlalchemy", "builtins", "pytest", "pytest_asyncio", "fastapi", "flask"})
# requests of a Starlette/FastAPI TestClient, coroutines on httpx.AsyncClient
CLIENT_IO = frozenset({"get", "post", "put", "patch", "delete", "head", "options", "request"})
TEST_CLIENTS = frozenset({"fastapi.testclient.TestClient", "starlette.testclient.TestClient"})
# Flask-SQLAlchemy ``db.`` helpers that run a query; async forms are written into the app
FLASK_IO_HELPERS = frozenset({"get_or_404", "first_or_404", "one_or_404", "paginate"})
#: Query methods that give a refined query (what a variable holding a dynamic
#: relationship's query may be reassigned with)
QUERY_REFINEMENTS = frozenset(
    {
        "filter",
        "filter_by",
        "where",
        "order_by",
        "limit",
        "offset",
        "join",
        "outerjoin",
        "options",
        "distinct",
        "group_by",
        "having",
        "with_entities",
        "params",
        "execution_options",
        "select_from",
    }
)
#: what runs a legacy Query
LEGACY_TERMINALS = RESULT_TERMINALS
# third-party callables known to take a Connection wherever they take an Engine, with
# whether the work needs a committed transaction (``begin()``) or only reads (``connect()``)
CONNECTION_READERS = frozenset(
    {
        f"pandas{module}.{function}"
        for module in ("", ".io.sql")
        for function in ("read_sql", "read_sql_query", "read_sql_table")
    }
)
CONNECTION_WRITER_METHODS = frozenset({"to_sql"})  # ``DataFrame.to_sql(name, con)``
TABLE = frozenset({"sqlalchemy.Table", "sqlalchemy.schema.Table", "sqlalchemy.sql.schema.Table"})
SESSION_CONTEXTS = frozenset({"begin", "begin_nested"})
ENGINE_CONTEXTS = frozenset({"connect", "begin"})
KNOWN = (Evidence.PROOF, Evidence.ASSUMED)


@dataclass(frozen=True)
class EngineBridge:
    """How a call handed an (async) engine runs: on a connection opened around its
    statement, ``async with engine.<opening>() as conn: await conn.run_sync(lambda
    sync_conn: f(..., <sync_conn | sync_conn.engine>, ...))``."""

    #: positions in ``call.args`` of the engine arguments
    positions: tuple[int, ...]
    #: ``"begin"`` when the callee writes (its work is committed), else ``"connect"``
    opening: str
    #: ``True``: the callee gets the synchronous ``Engine`` (``sync_conn.engine``), for code
    #: that may use engine-only API (``engine.connect()``); ``False``: the connection
    hands_engine: bool


@dataclass(frozen=True)
class SessionBridge:
    """A call that must run inside ``session.run_sync(lambda sync_session: ...)``."""

    session: cst.BaseExpression
    #: the argument values built on the session (``session``, ``session.bind``...)
    arguments: tuple[cst.BaseExpression, ...]
    #: the session (or connection) nodes, inside ``arguments``, the lambda's parameter replaces
    replaced: tuple[cst.BaseExpression, ...]
    #: ``True`` for a connection: the lambda's parameter is a synchronous Connection
    connection: bool


class IoDetector:
    def __init__(self, transformer: Pass) -> None:
        from sqla_upgrade.codemods.analysis.async_plan import CallResolver

        # a Flask-SQLAlchemy object made in a function gets no async session: the I/O on its
        # ``db.session`` stays synchronous (flask-async-session says so)
        self.sessions = SessionResolver(transformer, unknown_flask_sessions=False)
        self.connectables = ConnectableResolver(transformer, self.sessions, sync_flask_engine=True)
        self.calls = CallResolver(transformer)
        self.index = transformer.state.index
        self.transformer = transformer
        self._callees: dict[cst.Call, set[str]] = {}

    def is_session(self, node: cst.BaseExpression) -> bool:
        """Flask-SQLAlchemy's ``db.session`` counts: it becomes an async scoped session."""
        return self.sessions.evidence(node) in KNOWN

    def _is_flask_attribute(self, node: cst.BaseExpression, attr: str) -> bool:
        from sqla_upgrade.codemods.index.model import ObjectKind

        return (
            isinstance(node, cst.Attribute)
            and node.attr.value == attr
            and self.sessions.kind(node.value) is ObjectKind.FLASK_SQLALCHEMY
        )

    def on_flask_session(self, call: cst.Call) -> bool:
        """``db.session.<method>(...)`` or ``db.get_or_404(...)``-like helpers: I/O that
        keeps Flask-SQLAlchemy's synchronous session where the code stays synchronous."""
        func = call.func
        if not isinstance(func, cst.Attribute):
            return False
        if func.attr.value in FLASK_IO_HELPERS and self.is_flask_db(func.value):
            return True
        return self._is_flask_attribute(func.value, "session")

    def is_connection(self, node: cst.BaseExpression) -> bool:
        return self.connectables.connection_evidence(node) in KNOWN

    def is_engine(self, node: cst.BaseExpression) -> bool:
        return self.connectables.engine_evidence(node) in KNOWN

    def legacy_query_receiver(
        self, call: cst.Call
    ) -> tuple[cst.BaseExpression, cst.CSTNode | None] | None:
        """A legacy Query the 2.0 stage left as it was (a TODO), run by the chain ending at
        ``call`` (``.all()``, ``.count()``...): the session, and the node to replace by
        the synchronous session (the receiver of ``.query()``, or the session argument of
        a project function that returns a Query; None for a ``lazy="dynamic"``
        relationship, whose query runs on its object's session)."""
        if not (isinstance(call.func, cst.Attribute) and call.func.attr.value in LEGACY_TERMINALS):
            return None
        return self.query_chain_session(call.func.value)

    def query_chain_session(
        self, node: cst.BaseExpression
    ) -> tuple[cst.BaseExpression, cst.CSTNode | None] | None:
        """The session of the legacy Query built by ``node`` (see legacy_query_receiver)."""
        dynamic = self.dynamic_relationship_owner(node)
        if dynamic is not None:
            return cst.Call(func=cst.Name("async_object_session"), args=[cst.Arg(dynamic)]), None
        while isinstance(node, cst.Call):
            func = node.func
            if isinstance(func, cst.Attribute):
                if func.attr.value == "query" and self.is_session(func.value):
                    return func.value, func.value
                node = func.value
                continue
            return self._factory_session(node)
        return None

    def legacy_factory_method(self, call: cst.Call, enclosing_class: str | None) -> str | None:
        """``get_query`` for ``self.get_query().all()``, ``repo.get_query().count()``: a
        legacy Query run (``.all()``, ``.count()``...) that a project method builds on an
        attribute of its object (``return self.session.query(User)``), a session that has
        no ``query()`` once it is async. The 2.0 stage rewrites such methods with their
        callers when it sees them all; what is left runs the legacy query."""
        if not (isinstance(call.func, cst.Attribute) and call.func.attr.value in LEGACY_TERMINALS):
            return None
        node = call.func.value
        while isinstance(node, cst.Call | cst.Attribute):
            if isinstance(node, cst.Attribute):  # ``cls.query``, a property giving one
                callee, inner, what = self._property(node, enclosing_class), node, "the {} property"
            elif isinstance(node.func, cst.Attribute):
                callee, inner, what = self.calls.callee(node, enclosing_class), node.func, "{}()"
            else:
                return None
            facts = self.index.functions.get(callee or "")
            attr = facts.query_session_attr if facts is not None else None
            if attr is not None and callee is not None:
                module = self.index.modules.get(callee.rpartition(".")[0].rpartition(".")[0])
                if looks_like_session(attr) or (module is not None and module.uses_sqlalchemy):
                    return what.format(callee.rpartition(".")[2])
                return None
            node = inner.value
        return None

    def _property(self, node: cst.Attribute, enclosing_class: str | None) -> str | None:
        """The project method behind ``owner.name`` when it is a property of the owner's
        class (``@property``, a ``classproperty``): ``self``/``cls`` of the enclosing class,
        a project class by name, or an object of one."""
        owner = node.value
        if isinstance(owner, cst.Name) and owner.value in ("self", "cls"):
            klass = enclosing_class
        else:
            klass = self.calls.instance_class(owner) or self.calls._class_named(owner)
        method = self.calls.method_of(klass, node.attr.value) if klass else None
        facts = self.index.functions.get(method or "")
        if facts is None or not any(d.endswith("property") for d in facts.decorators):
            return None
        return method

    def dynamic_relationship_owner(
        self, node: cst.BaseExpression, following: frozenset[str] = frozenset()
    ) -> cst.BaseExpression | None:
        """``user`` for a chain on ``user.posts``, a ``lazy="dynamic"`` relationship, or
        on a local name bound only to such chains (``q = self.tasks``, then ``q =
        q.filter(...)``) of one owner."""
        while isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute):
            node = node.func.value
        if isinstance(node, cst.Name) and node.value not in following:
            return self._stored_dynamic_owner(node, following | {node.value})
        if not isinstance(node, cst.Attribute):
            return None
        if node.attr.value not in self.index.dynamic_relationships():
            return None
        return node.value if isinstance(node.value, cst.Name | cst.Attribute) else None

    def _stored_dynamic_owner(
        self, name: cst.Name, following: frozenset[str]
    ) -> cst.BaseExpression | None:
        from sqla_upgrade.codemods.names import assigned_values

        if not self.index.dynamic_relationships():
            return None
        values = assigned_values(self.transformer, name)
        if values is None:
            return None
        owners: dict[str, cst.BaseExpression] = {}
        for value in values:
            root = value
            while isinstance(root, cst.Call) and isinstance(root.func, cst.Attribute):
                if root.func.attr.value not in QUERY_REFINEMENTS:
                    return None  # ``.all()``, ``.count()``...: a result, not the query
                root = root.func.value
            if isinstance(root, cst.Name) and root.value == name.value:
                continue  # ``q = q.filter(...)``: the same query, refined
            owner = self.dynamic_relationship_owner(value, following)
            if owner is None:
                return None
            owners[cst.Module([]).code_for_node(owner)] = owner
        return next(iter(owners.values())) if len(owners) == 1 else None

    def _factory_session(self, call: cst.Call) -> tuple[cst.BaseExpression, cst.CSTNode] | None:
        callee = self.calls.callee(call, None)
        facts = self.index.functions.get(callee or "")
        if facts is None or facts.query_session_param is None:
            return None
        name = facts.query_session_param
        position = facts.params.index(name)
        if facts.params and facts.params[0] in ("self", "cls"):
            position -= 1
        for index, arg in enumerate(call.args):
            if (arg.keyword is not None and arg.keyword.value == name) or (
                arg.keyword is None and not arg.star and index == position
            ):
                return (arg.value, arg.value) if self.is_session(arg.value) else None
        return None

    def sync_session_method(self, call: cst.Call) -> cst.BaseExpression | None:
        """The session of ``session.bulk_insert_mappings(...)`` and the other methods only
        a synchronous session has."""
        func = call.func
        if not isinstance(func, cst.Attribute) or func.attr.value not in SYNC_ONLY_SESSION_METHODS:
            return None
        return func.value if self.is_session(func.value) else None

    def sync_only_call(self, call: cst.Call) -> SessionBridge | None:
        """A call into code this run does not migrate (a package outside the project or
        outside PATHS, or a ``sync-callables`` entry) that is handed a session or a
        connection, or what a session gives (``session.bind``, ``session.get_bind()``,
        ``session.connection()``): ``run_sync`` replaces them by their synchronous twins.
        All of them must come from one session or connection."""
        reflects = bool(self._callee_names(call) & TABLE)  # ``autoload_with=conn``
        if not (reflects or self._not_migrated(call) or self._writes_dataframe(call)):
            return None
        found: list[tuple[cst.BaseExpression, cst.BaseExpression, cst.BaseExpression, bool]] = []
        for arg in call.args:
            if arg.star:
                continue
            derived = self._session_derived(arg.value)
            if derived is not None:
                found.append((arg.value, *derived))
        if not found:
            return None
        owners = {_code(owner) for _, owner, _, _ in found}
        if len(owners) != 1:
            return None
        return SessionBridge(
            session=found[0][1],
            arguments=tuple(value for value, _, _, _ in found),
            replaced=tuple(node for _, _, node, _ in found),
            connection=found[0][3],
        )

    def _session_derived(
        self, value: cst.BaseExpression
    ) -> tuple[cst.BaseExpression, cst.BaseExpression, bool] | None:
        """(owner, node to replace, is a connection) for ``session``, ``conn``,
        ``session.bind``, ``session.get_bind()`` and ``session.connection()``."""
        owner: cst.BaseExpression | None = None
        if isinstance(value, cst.Attribute) and value.attr.value == "bind":
            owner = value.value
        elif isinstance(value, cst.Call) and isinstance(value.func, cst.Attribute):
            if value.func.attr.value in ("get_bind", "connection"):
                owner = value.func.value
        if owner is not None and self.is_session(owner):
            return None if self._is_scoped_registry(owner) else (owner, owner, False)
        if self.is_session(value):
            return value, value, False
        # a connection only named like one (``def initialize(self, connection)`` of a
        # class deriving from an LDAP library's) is no evidence handed to other code: the
        # library's own connections are named so too
        if self.connectables.connection_evidence(value) is Evidence.PROOF:
            return value, value, True
        return None

    def _not_migrated(self, call: cst.Call) -> bool:
        """Is the callee outside what this run migrates, or listed in ``sync-callables``?"""
        names = self._callee_names(call)
        if not names:
            return False
        if names & set(self.transformer.state.options.sync_callables):
            return True
        return all(self._outside_project(name) for name in names)

    def _writes_dataframe(self, call: cst.Call) -> bool:
        """``df.to_sql(name, con)``: a pandas DataFrame method (no project method of that
        name is called here)."""
        func = call.func
        return (
            isinstance(func, cst.Attribute)
            and func.attr.value in CONNECTION_WRITER_METHODS
            and self.calls.callee(call, None) is None
        )

    def engine_bridge(self, call: cst.Call) -> EngineBridge | None:
        """A call handed an (async) engine that needs a synchronous one: a third-party or
        ``sync-callables`` function, pandas ``read_sql*``/``DataFrame.to_sql``, or
        ``Table(..., autoload_with=engine)``."""
        names = self._callee_names(call)
        if names & TABLE:
            positions = tuple(
                i
                for i, arg in enumerate(call.args)
                if arg.keyword is not None
                and arg.keyword.value == "autoload_with"
                and self.is_engine(arg.value)
            )
            return EngineBridge(positions, "connect", False) if positions else None
        known_reader = bool(names & CONNECTION_READERS)
        writer = self._writes_dataframe(call)
        if not (known_reader or writer or self._not_migrated(call)):
            return None
        positions = tuple(
            i for i, arg in enumerate(call.args) if not arg.star and self.is_engine(arg.value)
        )
        if not positions:
            return None
        if known_reader:
            return EngineBridge(positions, "connect", False)
        if writer:
            return EngineBridge(positions, "begin", False)
        return EngineBridge(positions, "connect", True)

    def _project_packages(self) -> set[str]:
        """Top-level names of the project's modules (``app`` for ``app.models``)."""
        return _top_level_packages(self.index)

    def _callee_names(self, call: cst.Call) -> set[str]:
        """What ``call`` calls, aliases resolved (asked several times per call)."""
        from sqla_upgrade.codemods.names import qualified_names

        names = self._callees.get(call)
        if names is None:
            found = qualified_names(self.transformer, call.func)
            names = self._callees[call] = {self.index.resolve_alias(n) for n in found}
        return names

    def _outside_project(self, name: str) -> bool:
        module, _, _ = name.rpartition(".")
        top = name.split(".", 1)[0]
        if not module or "<locals>" in name or top in NOT_BRIDGED:
            return False
        if top in sys.stdlib_module_names or top in self._project_packages():
            return False
        index = self.index
        return not (
            name in index.functions
            or name in index.models
            or module in index.modules
            or name in index.modules
            or index.kind_of(name) is not None
        )

    def io_call(self, call: cst.Call) -> bool:
        """Does this call return an awaitable once the objects are async?"""
        func = call.func
        if not isinstance(func, cst.Attribute):
            return False
        method = func.attr.value
        owner = func.value
        if method in SCOPED_REGISTRY_IO and self._is_scoped_registry(owner):
            return True
        if method in FLASK_IO_HELPERS and self.is_flask_db(owner):
            return True
        if self.is_client_call(call):
            return True
        if method in SESSION_IO and self.is_session(owner):
            return True
        if method in CONNECTION_IO and self.is_connection(owner):
            return True
        if method in BEGIN and (self.is_connection(owner) or self.is_session(owner)):
            return True  # ``trans = conn.begin()``: an async transaction is started by await
        if method in TRANSACTION_IO and self.is_transaction(owner):
            return True
        return method in ENGINE_IO and self.is_engine(owner)

    def is_transaction(self, node: cst.BaseExpression) -> bool:
        """A name bound only to ``conn.begin()`` / ``session.begin_nested()``..."""
        if not isinstance(node, cst.Name):
            return False
        scope = self.transformer.get_metadata(ScopeProvider, node, None)
        if scope is None:
            return False
        values = []
        for assignment in scope[node.value]:
            bound = getattr(assignment, "node", None)
            target = (
                self.transformer.get_metadata(ParentNodeProvider, bound, None) if bound else None
            )
            statement = (
                self.transformer.get_metadata(ParentNodeProvider, target, None) if target else None
            )
            if not (isinstance(target, cst.AssignTarget) and isinstance(statement, cst.Assign)):
                return False
            values.append(statement.value)
        return bool(values) and all(self._begins(value) for value in values)

    def _begins(self, value: cst.BaseExpression) -> bool:
        if isinstance(value, cst.Await):
            value = value.expression
        if not (isinstance(value, cst.Call) and isinstance(value.func, cst.Attribute)):
            return False
        owner = value.func.value
        return value.func.attr.value in BEGIN and (
            self.is_connection(owner) or self.is_session(owner)
        )

    def schema_call(self, call: cst.Call) -> bool:
        """``metadata.create_all(engine)`` and co.: I/O that needs ``run_sync``."""
        from sqla_upgrade.codemods.passes.schema_run_sync import (
            inspected_connectable,
            schema_call_connection,
            schema_call_engine,
            schema_call_session,
        )

        if schema_call_engine(self.connectables, call) is not None:
            return True
        if schema_call_connection(self.connectables, call) is not None:
            return True
        if schema_call_session(self.connectables, call) is not None:
            return True
        return inspected_connectable(self.transformer, self.connectables, call) is not None

    def _is_scoped_registry(self, node: cst.BaseExpression) -> bool:
        from sqla_upgrade.codemods.index.model import ObjectKind

        if self._is_flask_attribute(node, "session"):
            return True
        if self.sessions.kind(node) is ObjectKind.SCOPED_SESSION:
            return True
        return self.sessions.local_scoped_registry(node)

    def is_client_call(self, call: cst.Call) -> bool:
        """``client.get(...)`` on a test client (see is_test_client)."""
        func = call.func
        return (
            isinstance(func, cst.Attribute)
            and func.attr.value in CLIENT_IO
            and self.is_test_client(func.value)
        )

    def is_test_client(self, node: cst.BaseExpression) -> bool:
        """A test client of the app in a module that becomes async: ``with TestClient(app)
        as client``, ``client = TestClient(app)`` (in a function, or at the module's top
        level when see module_test_client), or a parameter named after a fixture that
        gives one (``def test_x(client)``). It becomes an ``httpx.AsyncClient``."""
        if not isinstance(node, cst.Name):
            return False
        from sqla_upgrade.codemods.names import qualified_names

        scope = self.transformer.get_metadata(ScopeProvider, node, None)
        if scope is None:
            return False
        assignments = list(scope[node.value])
        if not assignments:
            return False
        for assignment in assignments:
            bound = getattr(assignment, "node", None)
            if isinstance(bound, cst.Param):
                if node.value not in self.index.test_client_fixtures():
                    return False
                continue
            value = self._bound_value(bound)
            if not (
                isinstance(value, cst.Call)
                and qualified_names(self.transformer, value.func) & TEST_CLIENTS
                and _only_the_app(value)
            ):
                return False
            if isinstance(assignment.scope, GlobalScope) and not self.module_test_client(
                assignment
            ):
                return False
        return True

    def module_test_client(self, assignment: BaseAssignment) -> bool:
        """``client = TestClient(app)`` at a module's top level (the FastAPI tutorial's
        tests) becomes an ``httpx.AsyncClient`` there only when every use of it is a
        request or an attribute read in a function (``client.get(...)`` in a test, which
        becomes a coroutine awaiting it), and no other module imports it: anything else
        (handing it to a helper, ``with client:``, a request at import time) keeps the
        synchronous client, and the tests using it stay synchronous."""
        if not isinstance(assignment, Assignment) or len(assignment.scope[assignment.name]) != 1:
            return False
        for access in assignment.references:
            parent = self.transformer.get_metadata(ParentNodeProvider, access.node, None)
            if not (isinstance(parent, cst.Attribute) and parent.value is access.node):
                return False
            if not isinstance(self.user_of(access.node), cst.FunctionDef):
                return False
        return not self._imported_elsewhere(assignment.name)

    def user_of(self, node: cst.CSTNode) -> cst.FunctionDef | cst.Lambda | None:
        """The function or lambda ``node`` is in (None at a module's or class's top level)."""
        current = self.transformer.get_metadata(ParentNodeProvider, node, None)
        while current is not None and not isinstance(current, cst.FunctionDef | cst.Lambda):
            current = self.transformer.get_metadata(ParentNodeProvider, current, None)
        return current

    def _imported_elsewhere(self, name: str) -> bool:
        module = self.transformer.state.module_name
        imported = (f"{module}.{name}", module)
        return any(
            self.index.resolve_alias(target) in imported or target in imported
            for facts in self.index.modules.values()
            if facts.name != module
            for target in facts.imports.values()
        )

    def _bound_value(self, bound: cst.CSTNode | None) -> cst.BaseExpression | None:
        """The value a name is bound to by ``x = value`` or ``with value as x``."""
        if bound is None:
            return None
        parent = self.transformer.get_metadata(ParentNodeProvider, bound, None)
        if isinstance(parent, cst.AsName):
            item = self.transformer.get_metadata(ParentNodeProvider, parent, None)
            return item.item if isinstance(item, cst.WithItem) else None
        holder = self.transformer.get_metadata(ParentNodeProvider, parent, None) if parent else None
        if isinstance(parent, cst.AssignTarget) and isinstance(holder, cst.Assign):
            return holder.value
        return None

    def is_scoped_registry(self, node: cst.BaseExpression) -> bool:
        return self._is_scoped_registry(node)

    def is_flask_db(self, node: cst.BaseExpression) -> bool:
        from sqla_upgrade.codemods.index.model import ObjectKind

        return self.sessions.kind(node) is ObjectKind.FLASK_SQLALCHEMY

    def io_context(self, item: cst.BaseExpression) -> bool:
        """Is this ``with`` item a session/connection/transaction context?"""
        if not isinstance(item, cst.Call):
            return False
        if self.sessions.produces_session(item):
            return True
        func = item.func
        if not isinstance(func, cst.Attribute):
            return False
        method = func.attr.value
        owner = func.value
        if method in SESSION_CONTEXTS and (self.is_session(owner) or self.is_connection(owner)):
            return True
        return method in ENGINE_CONTEXTS and self.is_engine(owner)


def _only_the_app(call: cst.Call) -> bool:
    """``TestClient(app)``: options other than the app have no AsyncClient twin."""
    if len(call.args) != 1:
        return False
    keyword = call.args[0].keyword
    return keyword is None or keyword.value == "app"


def _code(node: cst.CSTNode) -> str:
    return cst.Module([]).code_for_node(node)


@per_object
def _top_level_packages(index: ProjectIndex) -> set[str]:
    return {module.split(".", 1)[0] for module in index.modules}
