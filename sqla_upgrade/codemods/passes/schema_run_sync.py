"""Run schema operations, which have no async API, through ``run_sync``.

Before::

    def init_db():
        Base.metadata.create_all(bind=engine)

    # main.py, at import time
    models.Base.metadata.create_all(bind=engine)
    app = FastAPI()

After::

    async def init_db():
        async with engine.begin() as conn:
            await conn.run_sync(Base.metadata.create_all)

    @asynccontextmanager
    async def lifespan(app):
        async with engine.begin() as conn:
            await conn.run_sync(models.Base.metadata.create_all)
        yield

    app = FastAPI(lifespan=lifespan)

Safety: ``metadata.create_all/drop_all/reflect(engine)`` run the same DDL on a
connection of the same engine; keyword arguments (``checkfirst``, ``tables``) are passed
through ``run_sync``. On a session's bind (``create_all(session.get_bind())``,
``bind=session.bind``) the call runs in ``await session.run_sync(lambda sync_session:
...)`` with the synchronous session's bind, the same engine or connection (a scoped
session's current session runs it: ``async_scoped_session`` has no ``run_sync``).
Module-level calls cannot await: in a module that creates a FastAPI
app they move into a ``lifespan`` handler, which runs at application startup (before the
first request); anywhere else they are left with a TODO.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, ClassVar

import libcst as cst
from libcst.codemod.visitors import AddImportsVisitor
from libcst.metadata import (
    BaseMetadataProvider,
    ParentNodeProvider,
)

from sqla_upgrade.codemods.analysis.async_plan import ScopeTracking, plan_of
from sqla_upgrade.codemods.analysis.connectables import ConnectableResolver
from sqla_upgrade.codemods.analysis.sessions import Evidence
from sqla_upgrade.codemods.base import ANALYSIS_METADATA
from sqla_upgrade.codemods.codegen import code_of
from sqla_upgrade.codemods.index.model import FASTAPI_APPS, SCHEMA_METHODS, ObjectKind
from sqla_upgrade.codemods.layout import spaced_top_level
from sqla_upgrade.codemods.names import names_in, qualified_names
from sqla_upgrade.codemods.passes.async_tests import is_test_module

KNOWN = (Evidence.PROOF, Evidence.ASSUMED)


def _code(node: cst.CSTNode) -> str:
    return cst.Module([]).code_for_node(node)


#: the engine inspections of a statement: (original call, ``inspect(engine)``, "engine")
Inspections = list[tuple[cst.Call, cst.Call, str]]


def schema_call_engine(connectables: ConnectableResolver, call: cst.Call) -> cst.Arg | None:
    """The engine argument of ``metadata.create_all(engine)``, if the call is one."""
    bind = _schema_bind(call)
    if bind is not None and connectables.engine_evidence(bind.value) in KNOWN:
        return bind
    return None


def schema_call_connection(connectables: ConnectableResolver, call: cst.Call) -> cst.Arg | None:
    """The connection argument of ``metadata.create_all(conn)``, if the call is one."""
    bind = _schema_bind(call)
    if bind is None or schema_call_engine(connectables, call) is not None:
        return None
    return bind if connectables.connection_evidence(bind.value) in KNOWN else None


def schema_call_session(
    connectables: ConnectableResolver, call: cst.Call
) -> tuple[cst.Arg, cst.BaseExpression] | None:
    """The bind argument of ``metadata.create_all(session.get_bind())`` (or
    ``session.bind``) and that session, if the call is one."""
    bind = _schema_bind(call)
    if bind is None:
        return None
    value = bind.value
    owner: cst.BaseExpression | None = None
    if isinstance(value, cst.Attribute) and value.attr.value == "bind":
        owner = value.value
    elif (
        isinstance(value, cst.Call)
        and isinstance(value.func, cst.Attribute)
        and value.func.attr.value == "get_bind"
        and not value.args
    ):
        owner = value.func.value
    if owner is None or connectables.sessions.evidence(owner) not in KNOWN:
        return None
    if (
        isinstance(owner, cst.Attribute)
        and owner.attr.value == "session"
        and connectables.sessions.kind(owner.value) is ObjectKind.FLASK_SQLALCHEMY
    ):
        return None  # Flask-SQLAlchemy's ``db.session`` keeps its synchronous engine
    return bind, owner


def _scoped_registry(connectables: ConnectableResolver, owner: cst.BaseExpression) -> bool:
    """A scoped session (``async_scoped_session`` has no ``run_sync``: its session has)."""
    sessions = connectables.sessions
    return sessions.kind(owner) is ObjectKind.SCOPED_SESSION or sessions.local_scoped_registry(
        owner
    )


def _schema_bind(call: cst.Call) -> cst.Arg | None:
    func = call.func
    if not (isinstance(func, cst.Attribute) and func.attr.value in SCHEMA_METHODS):
        return None
    for position, arg in enumerate(call.args):
        if (arg.keyword is None and position == 0 and not arg.star) or (
            arg.keyword is not None and arg.keyword.value == "bind"
        ):
            return arg
    return None


INSPECT = frozenset({"sqlalchemy.inspect", "sqlalchemy.inspection.inspect"})


def inspected_connectable(
    transformer: Any, connectables: ConnectableResolver, call: cst.Call
) -> tuple[cst.Call, str] | None:
    """For ``inspect(engine).get_table_names()``: the ``inspect(...)`` call and
    ``"engine"`` or ``"connection"``; None for anything else (``inspect(obj)`` of an ORM
    object does no I/O)."""
    func = call.func
    if not (isinstance(func, cst.Attribute) and isinstance(func.value, cst.Call)):
        return None
    inner = func.value
    if len(inner.args) != 1 or not qualified_names(transformer, inner.func) & INSPECT:
        return None
    target = inner.args[0].value
    if connectables.engine_evidence(target) in KNOWN:
        return inner, "engine"
    if connectables.connection_evidence(target) in KNOWN:
        return inner, "connection"
    return None


def run_sync_block(
    engine: cst.BaseExpression, call: cst.Call, bind: cst.Arg, connection: str = "conn"
) -> cst.With:
    """``async with engine.begin() as conn: await conn.run_sync(metadata.create_all, ...)``."""
    begin = cst.Call(func=cst.Attribute(value=engine, attr=cst.Name("begin")))
    run_sync = run_sync_statement(cst.Name(connection), call, bind)
    return cst.With(
        items=[cst.WithItem(item=begin, asname=cst.AsName(name=cst.Name(connection)))],
        body=cst.IndentedBlock(body=[run_sync]),
        asynchronous=cst.Asynchronous(),
    )


def run_sync_statement(
    connection: cst.BaseExpression, call: cst.Call, bind: cst.Arg
) -> cst.SimpleStatementLine:
    """``await conn.run_sync(metadata.create_all, ...)``, the other arguments kept."""
    rest = [a for a in call.args if a is not bind]
    args = [cst.Arg(call.func), *rest]
    args = [
        a.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
        if i < len(args) - 1
        else a.with_changes(comma=cst.MaybeSentinel.DEFAULT)
        for i, a in enumerate(args)
    ]
    run_sync = cst.Call(func=cst.Attribute(value=connection, attr=cst.Name("run_sync")), args=args)
    return cst.SimpleStatementLine(body=[cst.Expr(cst.Await(run_sync))])


def free_name(function: cst.CSTNode | None, *candidates: str) -> str:
    """The first of ``candidates`` (then the last one numbered) that ``function`` does not
    use: binding a used name would shadow the user's variable, or turn a global or
    closure read local."""
    if function is None:
        return candidates[0]
    used = names_in(function)
    for candidate in candidates:
        if candidate not in used:
            return candidate
    number = 2
    while f"{candidates[-1]}_{number}" in used:
        number += 1
    return f"{candidates[-1]}_{number}"


class SchemaRunSyncPass(ScopeTracking):
    """metadata.create_all(engine) → async with engine.begin() as conn: await conn.run_sync(...)."""

    name = "schema-run-sync"
    targets = frozenset({"async"})
    stage = 2
    triggers = (b"create_all", b"drop_all", b"reflect(", b"inspect(")
    METADATA_DEPENDENCIES: ClassVar[tuple[type[BaseMetadataProvider[Any]], ...]] = ANALYSIS_METADATA

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.connectables = ConnectableResolver(self, sync_flask_engine=True)
        self.plan = plan_of(self.state)
        self.startup: list[cst.BaseStatement] = []
        #: module-level schema statements of a pytest module → their async blocks
        self.fixture_blocks: dict[int, cst.With] = {}
        path = self.state.path.replace("\\", "/").rsplit("/", 1)[-1]
        self._conftest = path == "conftest.py"
        self._pytest_module = is_test_module(self.state.path)
        #: per statement being visited, innermost last: the engine inspections in it
        #: (None for a header no connection can be opened around)
        self.inspections: list[Inspections | None] = []

    def _schema_statement(
        self, node: cst.SimpleStatementLine
    ) -> tuple[cst.Call, cst.Arg, str] | None:
        """``metadata.create_all(engine)`` → its call, bind argument and ``"engine"`` (or
        ``"connection"``)."""
        if len(node.body) != 1 or not isinstance(node.body[0], cst.Expr):
            return None
        call = node.body[0].value
        if not isinstance(call, cst.Call):
            return None
        bind = schema_call_engine(self.connectables, call)
        if bind is not None:
            return call, bind, "engine"
        bind = schema_call_connection(self.connectables, call)
        if bind is not None:
            return call, bind, "connection"
        on_session = schema_call_session(self.connectables, call)
        return (call, on_session[0], "session") if on_session is not None else None

    def _on_connection(
        self,
        original: cst.SimpleStatementLine,
        updated: cst.SimpleStatementLine,
        call: cst.Call,
        bind: cst.Arg,
    ) -> cst.BaseStatement:
        """``metadata.create_all(conn)`` → ``await conn.run_sync(metadata.create_all)``."""
        function = self.enclosing_function()
        if function is None or (
            function.asynchronous is None and not self.plan.is_async(self.function_qualname())
        ):
            return updated  # a synchronous connection stays one
        self.count_rewrite()
        statement = run_sync_statement(bind.value.deep_clone(), call, bind)
        return statement.with_changes(leading_lines=updated.leading_lines)

    def _on_session(
        self,
        original: cst.SimpleStatementLine,
        updated: cst.SimpleStatementLine,
        call: cst.Call,
        bind: cst.Arg,
    ) -> cst.BaseStatement:
        """``metadata.create_all(session.get_bind())`` → ``await session.run_sync(lambda
        sync_session: metadata.create_all(sync_session.get_bind()))``: the same bind, got
        from the synchronous session inside the greenlet ``run_sync`` runs it in."""
        function = self.enclosing_function()
        if function is None or (
            function.asynchronous is None and not self.plan.is_async(self.function_qualname())
        ):
            self.todo(
                original,
                "schema changes on the session's bind need `await session.run_sync(...)` "
                "in async code",
            )
            return updated
        value = bind.value
        if isinstance(value, cst.Attribute):
            session = value.value
        else:
            assert isinstance(value, cst.Call) and isinstance(value.func, cst.Attribute)
            session = value.func.value
        parameter = free_name(function, "sync_session", "schema_session")
        sync_bind: cst.BaseExpression = (
            value.with_changes(value=cst.Name(parameter))
            if isinstance(value, cst.Attribute)
            else value.with_changes(func=value.func.with_changes(value=cst.Name(parameter)))
        )
        args = [a.with_changes(value=sync_bind) if a is bind else a for a in call.args]
        lambda_ = cst.Lambda(
            params=cst.Parameters(params=[cst.Param(cst.Name(parameter))]),
            body=call.with_changes(args=args),
        )
        receiver: cst.BaseExpression = session.deep_clone()
        if _scoped_registry(self.connectables, session):
            receiver = cst.Call(func=receiver)  # the scoped session's current AsyncSession
        run_sync = cst.Call(
            func=cst.Attribute(value=receiver, attr=cst.Name("run_sync")),
            args=[cst.Arg(lambda_)],
        )
        self.count_rewrite()
        statement = cst.SimpleStatementLine(body=[cst.Expr(cst.Await(run_sync))])
        return statement.with_changes(leading_lines=updated.leading_lines)

    def _open_statement(self, node: cst.CSTNode, wrappable: bool = True) -> None:
        """A statement begins: the engine inspections in it (outside the statements
        nested in its body) open their connection around it; a header that cannot be
        wrapped (a function's defaults, a class's bases) opens none."""
        if isinstance(node, cst.If) and self._is_elif(node):
            return  # its test belongs to the ``if`` it continues
        self.inspections.append([] if wrappable else None)

    def _is_elif(self, node: cst.If) -> bool:
        parent = self.get_metadata(ParentNodeProvider, node, None)
        return isinstance(parent, cst.If) and parent.orelse is node

    def visit_SimpleStatementLine(self, node: cst.SimpleStatementLine) -> None:
        self._open_statement(node)

    def visit_If(self, node: cst.If) -> None:
        self._open_statement(node)

    def visit_While(self, node: cst.While) -> None:
        self._open_statement(node)

    def visit_For(self, node: cst.For) -> None:
        self._open_statement(node)

    def visit_With(self, node: cst.With) -> None:
        self._open_statement(node)

    def visit_Match(self, node: cst.Match) -> None:
        self._open_statement(node)

    def visit_Try(self, node: cst.Try) -> None:
        self._open_statement(node, wrappable=False)

    def visit_TryStar(self, node: cst.TryStar) -> None:
        self._open_statement(node, wrappable=False)

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool | None:
        self._open_statement(node, wrappable=False)
        return super().visit_FunctionDef(node)

    def visit_ClassDef(self, node: cst.ClassDef) -> bool | None:
        self._open_statement(node, wrappable=False)
        return super().visit_ClassDef(node)

    def _close_statement(
        self, original: cst.BaseStatement, updated: cst.BaseStatement
    ) -> cst.BaseStatement:
        if isinstance(original, cst.If) and self._is_elif(original):
            return updated
        inspections = self.inspections.pop()
        if inspections and isinstance(updated, cst.SimpleStatementLine | cst.BaseCompoundStatement):
            return self._in_connection(inspections, updated)
        return updated

    def leave_If(self, original_node: cst.If, updated_node: cst.If) -> cst.BaseStatement:
        return self._close_statement(original_node, updated_node)

    def leave_While(self, original_node: cst.While, updated_node: cst.While) -> cst.BaseStatement:
        return self._close_statement(original_node, updated_node)

    def leave_For(self, original_node: cst.For, updated_node: cst.For) -> cst.BaseStatement:
        return self._close_statement(original_node, updated_node)

    def leave_With(self, original_node: cst.With, updated_node: cst.With) -> cst.BaseStatement:
        return self._close_statement(original_node, updated_node)

    def leave_Match(self, original_node: cst.Match, updated_node: cst.Match) -> cst.BaseStatement:
        return self._close_statement(original_node, updated_node)

    def leave_Try(self, original_node: cst.Try, updated_node: cst.Try) -> cst.BaseStatement:
        return self._close_statement(original_node, updated_node)

    def leave_TryStar(
        self, original_node: cst.TryStar, updated_node: cst.TryStar
    ) -> cst.BaseStatement:
        return self._close_statement(original_node, updated_node)

    def leave_FunctionDef(
        self, original_node: cst.FunctionDef, updated_node: cst.FunctionDef
    ) -> cst.BaseStatement | cst.FlattenSentinel[cst.BaseStatement] | cst.RemovalSentinel:
        result = super().leave_FunctionDef(original_node, updated_node)
        self.inspections.pop()
        return result

    def leave_ClassDef(
        self, original_node: cst.ClassDef, updated_node: cst.ClassDef
    ) -> cst.BaseStatement | cst.FlattenSentinel[cst.BaseStatement] | cst.RemovalSentinel:
        result = super().leave_ClassDef(original_node, updated_node)
        self.inspections.pop()
        return result

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.BaseExpression:
        """``inspect(engine).get_table_names()`` → ``await inspect_conn.run_sync(lambda
        sync_conn: inspect(sync_conn).get_table_names())``, in an async function; the
        statement holding it runs in ``async with engine.connect() as inspect_conn:``."""
        found = inspected_connectable(self, self.connectables, original_node)
        if found is None:
            return updated_node
        inspect_call, kind = found
        function = self.enclosing_function()
        if function is None or (
            function.asynchronous is None and not self.plan.is_async(self.function_qualname())
        ):
            self.todo(original_node, "inspection needs a connection's run_sync in async code")
            return updated_node
        target = inspect_call.args[0].value
        if kind == "engine":
            statement = self.inspections[-1] if self.inspections else None
            if statement is None:
                self.todo(
                    original_node,
                    "inspection needs a connection's run_sync: move it into a statement of its own",
                )
                return updated_node
            connection: cst.BaseExpression = cst.Name(self._connection_name(statement, target))
            statement.append((original_node, inspect_call, "engine"))
        else:
            connection = target.deep_clone()
        assert isinstance(updated_node.func, cst.Attribute)
        inner = updated_node.func.value
        assert isinstance(inner, cst.Call)
        sync_inspect = inner.with_changes(args=[cst.Arg(cst.Name("sync_conn"))])
        body = updated_node.with_changes(func=updated_node.func.with_changes(value=sync_inspect))
        lambda_ = cst.Lambda(
            params=cst.Parameters(params=[cst.Param(cst.Name("sync_conn"))]), body=body
        )
        run = cst.Call(
            func=cst.Attribute(value=connection, attr=cst.Name("run_sync")),
            args=[cst.Arg(lambda_)],
        )
        self.count_rewrite()
        parent = self.get_metadata(ParentNodeProvider, original_node, None)
        if isinstance(parent, cst.Attribute | cst.Subscript | cst.Call):
            return cst.Await(expression=run, lpar=[cst.LeftParen()], rpar=[cst.RightParen()])
        return cst.Await(expression=run)

    def leave_SimpleStatementLine(
        self, original_node: cst.SimpleStatementLine, updated_node: cst.SimpleStatementLine
    ) -> cst.BaseStatement | cst.RemovalSentinel:
        inspections = self.inspections.pop()
        if inspections:
            return self._in_connection(inspections, updated_node)
        found = self._schema_statement(original_node)
        if found is None:
            return updated_node
        call, bind, kind = found
        function = self.enclosing_function()
        if kind == "connection":
            return self._on_connection(original_node, updated_node, call, bind)
        if kind == "session":
            return self._on_session(original_node, updated_node, call, bind)
        connection = free_name(function, "conn", "schema_conn")
        block = run_sync_block(bind.value.deep_clone(), call, bind, connection)
        if function is not None:
            qualname = self.function_qualname()
            # a unittest class/module fixture keeps its name but runs its body as a local
            # ``async def`` under ``asyncio.run()`` (the await pass): async code too
            awaited = self.plan.is_async(qualname) or qualname in self.plan.loop_boundaries
            if function.asynchronous is None and not awaited:
                self.todo(
                    original_node,
                    "schema changes need an async connection here; call this from async code",
                )
                return updated_node
            self.count_rewrite()
            return block.with_changes(leading_lines=updated_node.leading_lines)
        if not self.scopes and self._creates_fastapi_app:
            self.count_rewrite()
            comments = [line for line in updated_node.leading_lines if line.comment is not None]
            self.startup.append(block.with_changes(leading_lines=comments))
            return cst.RemovalSentinel.REMOVE
        if not self.scopes and self._pytest_module:
            self.count_rewrite()
            self.fixture_blocks[id(updated_node)] = block
            return updated_node
        self.todo(
            original_node,
            "module-level schema creation cannot await: run it at application startup",
        )
        return updated_node

    @staticmethod
    def _connection_name(inspections: Inspections, engine: cst.BaseExpression) -> str:
        """The connection of ``engine`` for the inspections of one statement: one per
        engine (``inspect_conn``, then ``inspect_conn_2``...)."""
        engines: list[str] = []
        for _, call, _ in inspections:
            code = _code(call.args[0].value)
            if code not in engines:
                engines.append(code)
        code = _code(engine)
        position = engines.index(code) if code in engines else len(engines)
        return "inspect_conn" if position == 0 else f"inspect_conn_{position + 1}"

    def _in_connection(
        self,
        inspections: Inspections,
        statement: cst.SimpleStatementLine | cst.BaseCompoundStatement,
    ) -> cst.BaseStatement:
        """Open the connections the inspections in ``statement`` run on, one per engine."""
        engines: dict[str, cst.BaseExpression] = {}
        for _, call, _ in inspections:
            engines.setdefault(_code(call.args[0].value), call.args[0].value)
        wrapped: cst.BaseStatement = statement.with_changes(leading_lines=[])
        for position, engine in reversed(list(enumerate(engines.values()))):
            name = "inspect_conn" if position == 0 else f"inspect_conn_{position + 1}"
            connect = cst.Call(
                func=cst.Attribute(value=engine.deep_clone(), attr=cst.Name("connect"))
            )
            wrapped = cst.With(
                items=[cst.WithItem(item=connect, asname=cst.AsName(name=cst.Name(name)))],
                body=cst.IndentedBlock(body=[wrapped]),
                asynchronous=cst.Asynchronous(),
            )
        assert isinstance(wrapped, cst.With)
        return wrapped.with_changes(leading_lines=statement.leading_lines)

    def visit_Module(self, node: cst.Module) -> None:
        self._creates_fastapi_app = any(self._fastapi_app(s) for s in node.body)
        if self._pytest_module:
            # a pytest module: not one of unittest test cases run without pytest
            code = code_of(node)
            self._pytest_module = "pytest" in code or not re.search(r"\bunittest\b", code)

    def _fastapi_app(self, statement: cst.CSTNode) -> cst.Call | None:
        if isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1:
            assign = statement.body[0]
            if isinstance(assign, cst.Assign) and isinstance(assign.value, cst.Call):
                if qualified_names(self, assign.value.func) & FASTAPI_APPS and not any(
                    a.keyword and a.keyword.value == "lifespan" for a in assign.value.args
                ):
                    return assign.value
        return None

    def leave_Module(self, original_node: cst.Module, updated_node: cst.Module) -> cst.Module:
        if self.fixture_blocks:
            updated_node = self._schema_fixtures(updated_node)
        if not self.startup:
            return updated_node
        body = list(updated_node.body)
        for position, statement in enumerate(body):
            if isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1:
                assign = statement.body[0]
                if isinstance(assign, cst.Assign) and isinstance(assign.value, cst.Call):
                    func = assign.value.func
                    if cst.Module([]).code_for_node(func).endswith("FastAPI"):
                        return self._add_lifespan(updated_node, body, position, statement, assign)
        return updated_node

    def _schema_fixtures(self, module: cst.Module) -> cst.Module:
        """Module-level ``Base.metadata.create_all(bind=engine)`` in a test module (run at
        import, before any test): each run of such statements becomes an autouse
        fixture running them before the module's tests (``conftest.py``: before the
        session's), on the event loop the async tests share."""
        body: list[cst.BaseStatement] = []
        run: list[cst.With] = []
        leading: Sequence[cst.EmptyLine] = ()
        used = {s.name.value for s in module.body if isinstance(s, cst.FunctionDef)}
        scope = "session" if self._conftest else "module"

        def close() -> None:
            if not run:
                return
            name = next(
                n
                for n in ("create_schema", *(f"create_schema_{i}" for i in range(2, 99)))
                if n not in used
            )
            used.add(name)
            arguments = ", ".join([f'scope="{scope}"', "autouse=True", 'loop_scope="session"'])
            decorator = cst.Decorator(
                decorator=cst.parse_expression(f"pytest_asyncio.fixture({arguments})")
            )
            body.append(
                cst.FunctionDef(
                    name=cst.Name(name),
                    params=cst.Parameters(),
                    body=cst.IndentedBlock(body=list(run)),
                    decorators=[decorator],
                    asynchronous=cst.Asynchronous(),
                    leading_lines=[*leading] if body else [],
                )
            )
            run.clear()

        for statement in module.body:
            block = self.fixture_blocks.get(id(statement))
            if block is None:
                if run:
                    close()
                    comments = [
                        line
                        for line in getattr(statement, "leading_lines", ())
                        if line.comment is not None
                    ]
                    statement = statement.with_changes(
                        leading_lines=[cst.EmptyLine(), cst.EmptyLine(), *comments]
                    )
                body.append(statement)
                continue
            if not run:
                assert isinstance(statement, cst.SimpleStatementLine)
                leading = [cst.EmptyLine(), cst.EmptyLine()]
                leading += [line for line in statement.leading_lines if line.comment is not None]
                self.note(
                    statement,
                    "schema creation at import moved into an autouse fixture: it runs before "
                    f"the {'session' if self._conftest else 'module'}'s tests on their event "
                    "loop",
                )
            run.append(block)
        close()
        AddImportsVisitor.add_needed_import(self.context, "pytest_asyncio")
        return module.with_changes(body=body)

    def _add_lifespan(
        self,
        module: cst.Module,
        body: list[Any],
        position: int,
        statement: cst.SimpleStatementLine,
        assign: cst.Assign,
    ) -> cst.Module:
        AddImportsVisitor.add_needed_import(self.context, "contextlib", "asynccontextmanager")
        yield_line = cst.SimpleStatementLine(body=[cst.Expr(cst.Yield())])
        target = assign.targets[0].target if len(assign.targets) == 1 else None
        handlers = _event_handlers(body, target.value if isinstance(target, cst.Name) else None)
        for where, handler in handlers.pop("positions"):
            body[where] = handler
        lifespan = cst.FunctionDef(
            name=cst.Name("lifespan"),
            params=cst.Parameters(params=[cst.Param(name=cst.Name("app"))]),
            body=cst.IndentedBlock(
                body=[*self.startup, *handlers["startup"], yield_line, *handlers["shutdown"]]
            ),
            decorators=[cst.Decorator(decorator=cst.Name("asynccontextmanager"))],
            asynchronous=cst.Asynchronous(),
        )
        call = assign.value
        assert isinstance(call, cst.Call)
        args = list(call.args)
        if args:
            args[-1] = args[-1].with_changes(
                comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
            )
        args.append(
            cst.Arg(
                keyword=cst.Name("lifespan"),
                value=cst.Name("lifespan"),
                equal=cst.AssignEqual(cst.SimpleWhitespace(""), cst.SimpleWhitespace("")),
            )
        )
        new_assign = assign.with_changes(value=call.with_changes(args=args))
        new_statement = statement.with_changes(body=[new_assign])
        body[position : position + 1] = [lifespan, new_statement]
        return module.with_changes(body=spaced_top_level(body, [lifespan]))


def _event_handlers(body: list[Any], app: str | None) -> dict[str, list[Any]]:
    """The module's ``@app.on_event("startup")``/``("shutdown")`` handlers, which FastAPI
    no longer runs once the app has a lifespan: the calls to put before and after its
    ``yield``, and (``"positions"``) each handler's place with the decorator removed."""
    found: dict[str, list[Any]] = {"startup": [], "shutdown": [], "positions": []}
    if app is None:
        return found
    for where, statement in enumerate(body):
        if not isinstance(statement, cst.FunctionDef):
            continue
        kept = []
        for decorator in statement.decorators:
            event = _on_event(decorator.decorator, app)
            if event is None:
                kept.append(decorator)
                continue
            call: cst.BaseExpression = cst.Call(func=cst.Name(statement.name.value))
            if statement.asynchronous is not None:
                call = cst.Await(call)
            found[event].append(cst.SimpleStatementLine(body=[cst.Expr(call)]))
        if len(kept) != len(statement.decorators):
            found["positions"].append((where, statement.with_changes(decorators=kept)))
    return found


def _on_event(decorator: cst.BaseExpression, app: str) -> str | None:
    """``startup`` for ``@app.on_event("startup")``."""
    if not (isinstance(decorator, cst.Call) and isinstance(decorator.func, cst.Attribute)):
        return None
    func = decorator.func
    if func.attr.value != "on_event" or not (
        isinstance(func.value, cst.Name) and func.value.value == app
    ):
        return None
    if len(decorator.args) != 1 or not isinstance(decorator.args[0].value, cst.SimpleString):
        return None
    event = decorator.args[0].value.evaluated_value
    return event if event in ("startup", "shutdown") else None
