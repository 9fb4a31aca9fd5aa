"""Commit data changes made on ``engine.connect()`` connections, as 1.x autocommit did.

Before::

    with engine.connect() as conn:
        conn.execute(users.insert(), rows)
        total = conn.execute(select(func.count()).select_from(users)).scalar()

After::

    with engine.connect() as conn:
        conn.execute(users.insert(), rows)
        conn.commit()
        total = conn.execute(select(func.count()).select_from(users)).scalar()

Safety: SQLAlchemy 1.x committed each INSERT/UPDATE/DELETE/DDL statement run on a
connection outside an explicit transaction; 2.0 rolls the work back when the connection
closes, silently losing it. A ``commit()`` is added right after each statement that
changes data (``insert()``/``update()``/``delete()`` constructs, ``text()`` or driver SQL
starting with a data-changing keyword, also called through their module: ``sa.text()``),
which is the 1.x behaviour. Connections held in a variable (``conn = engine.connect()``
in a function or at the top of a script) follow the same rule. With ``conn.begin()``
transactions (``with conn.begin():``, ``with engine.connect() as conn, conn.begin():``
or ``trans = conn.begin()`` ... ``trans.commit()``), statements outside them still get
their commit, and a ``conn.commit()`` goes before a
``begin()`` that a read may have autobegun a transaction for (2.0's ``begin()`` raises
then; ``commit()`` without a transaction does nothing). Blocks that begin a transaction
inside a branch, or already call ``conn.commit()``, are left alone; a statement whose
kind cannot be told gets a TODO. A statement is told through the variables holding it
(``stmt = select(...)``; ``stmt = stmt.where(...)``) and through a call of a function
of the module (its only definition, undecorated) every path of which returns one.

A connection handed to such a function of the module (``add_entry(conn, msg)``) that
changes data on it with no transaction handling of its own gets the commit after the
call, as 1.x committed each of its statements; a function of another project module,
or a callback the function was given (``def do(self, callable): ...
callable(engine.connect())``, a thread pool running callers' work), gets a TODO; calls
of anything else (library functions, methods) are not followed. A connection opened in
a branch, a loop or a ``try`` block is followed the same way; when its name may also
hold something else (``arg = self.engine`` in the other branch), what would get a commit
gets a TODO.

A connection a function is handed (a parameter named or annotated as one) gets no
commits, which are its caller's to make, but a ``conn.begin()`` after statements run on
it with no transaction ended in between gets a TODO: 1.x autocommitted those
statements, while 2.0 autobegins a transaction at the first one and its ``begin()``
raises (a ``commit()`` first would also end a transaction the caller may have open).
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

import libcst as cst
from libcst.metadata import Assignment, BaseMetadataProvider, ParentNodeProvider, ScopeProvider

from sqla_upgrade.codemods.analysis.connectables import ConnectableResolver
from sqla_upgrade.codemods.analysis.sessions import Evidence
from sqla_upgrade.codemods.base import ANALYSIS_METADATA, Pass, simple_statements
from sqla_upgrade.codemods.codegen import node_code
from sqla_upgrade.codemods.names import assigned_values, qualified_names

#: a call handing the connection to a function (``add_entry(conn, msg)``)
HANDED = "<handed>"
AUTOCOMMIT_SQL = re.compile(
    r"\s*(UPDATE|INSERT|CREATE|DELETE|DROP|ALTER|TRUNCATE|REPLACE|MERGE|GRANT|REVOKE|COMMENT)\b",
    re.I,
)
DML_FUNCTIONS = frozenset(
    {
        "sqlalchemy.insert",
        "sqlalchemy.update",
        "sqlalchemy.delete",
        "sqlalchemy.sql.insert",
        "sqlalchemy.sql.update",
        "sqlalchemy.sql.delete",
        "sqlalchemy.sql.expression.insert",
        "sqlalchemy.sql.expression.update",
        "sqlalchemy.sql.expression.delete",
        "sqlalchemy.dialects.postgresql.insert",
        "sqlalchemy.dialects.sqlite.insert",
        "sqlalchemy.dialects.mysql.insert",
    }
)
READ_FUNCTIONS = frozenset(
    {
        "sqlalchemy.select",
        "sqlalchemy.sql.select",
        "sqlalchemy.sql.expression.select",
        "sqlalchemy.exists",
        "sqlalchemy.sql.exists",
        "sqlalchemy.union",
        "sqlalchemy.union_all",
    }
)
TEXT_KEEPING = frozenset({"bindparams", "columns", "execution_options"})
TEXT = frozenset({"sqlalchemy.text", "sqlalchemy.sql.text", "sqlalchemy.sql.expression.text"})
#: the functions ``_unchain_statement`` stops at when called through their module
SQL_CONSTRUCTORS = DML_FUNCTIONS | READ_FUNCTIONS | TEXT
EXECUTING = frozenset({"execute", "exec_driver_sql"})
TRANSACTION_METHODS = frozenset(
    {"begin", "commit", "rollback", "begin_nested", "execution_options"}
)


class ConnectionAutocommitPass(Pass):
    """with engine.connect() as conn: data changes → followed by conn.commit()."""

    name = "connection-autocommit"
    triggers = (b".connect()", b".begin()")
    METADATA_DEPENDENCIES: ClassVar[tuple[type[BaseMetadataProvider[Any]], ...]] = ANALYSIS_METADATA

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.connectables = ConnectableResolver(self)
        self._commit_after: dict[int, str] = {}
        self._commit_before: dict[int, str] = {}

    def visit_With(self, node: cst.With) -> None:
        for position, item in enumerate(node.items):
            call = item.item
            if not (isinstance(call, cst.Call) and isinstance(call.func, cst.Attribute)):
                continue
            if call.func.attr.value != "connect" or item.asname is None:
                continue
            if not isinstance(item.asname.name, cst.Name):
                continue
            if self.connectables.engine_evidence(call.func.value) not in (
                Evidence.PROOF,
                Evidence.ASSUMED,
            ):
                continue
            conn = item.asname.name.value
            if any(_begins(later.item, conn) for later in node.items[position + 1 :]):
                continue  # ``with engine.connect() as conn, conn.begin():`` one transaction
            self._plan_block(node.body, conn)

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        """``conn = engine.connect()`` held in a variable: the same rule over the function.
        Assigned in a branch, a loop or a ``try`` (or the name also bound to something
        else, such as the engine itself), the statements that would get a commit get a
        TODO instead."""
        planned: set[str] = set()
        for statement in node.body.body:
            conn = self._connection_assigned(statement)
            if conn is not None and conn not in planned:
                planned.add(conn)
                self._plan_block(node.body, conn)
        nested = [
            line
            for statement in node.body.body
            if not isinstance(statement, cst.SimpleStatementLine)
            for line in simple_statements(statement)
        ]
        for statement in nested:
            conn = self._connection_assigned(statement)
            if conn is not None and conn not in planned:
                planned.add(conn)
                only = self._only_connections(statement)
                self._plan_block(node.body, conn, todo_only=not only)
        for param in (*node.params.posonly_params, *node.params.params):
            name = param.name.value
            if name in planned or not self._connection_param(param):
                continue
            for statement, call in _begins_after_statements(node.body, name):
                self.todo(call, BEGIN_AFTER_STATEMENTS, statement)

    def _connection_param(self, param: cst.Param) -> bool:
        """Is ``param`` a connection (annotated ``Connection``, or named like one and not
        the driver's connection a pool listener is handed)?"""
        return self.connectables.connection_evidence(param.name) in (
            Evidence.PROOF,
            Evidence.ASSUMED,
        )

    def visit_Module(self, node: cst.Module) -> None:
        """``conn = engine.connect()`` at the top of a script."""
        for statement in node.body:
            conn = self._connection_assigned(statement)
            if conn is not None:
                self._plan_block(node, conn)

    def _only_connections(self, statement: cst.SimpleStatementLine) -> bool:
        """Is every binding of the name ``statement`` assigns a connection (``conn =
        engine.connect()`` in each branch), never the engine or anything else?"""
        assign = statement.body[0]
        assert isinstance(assign, cst.Assign)
        target = assign.targets[0].target
        scope = self.get_metadata(ScopeProvider, target, None)
        if scope is None or not isinstance(target, cst.Name):
            return False
        for assignment in scope[target.value]:
            if not isinstance(assignment, Assignment):
                return False
            holder = self.get_metadata(ParentNodeProvider, assignment.node, None)
            line = self.get_metadata(ParentNodeProvider, holder, None) if holder else None
            line = self.get_metadata(ParentNodeProvider, line, None) if line else None
            if (
                not isinstance(line, cst.SimpleStatementLine)
                or self._connection_assigned(line) is None
            ):
                return False
        return True

    def _connection_assigned(self, statement: cst.CSTNode) -> str | None:
        if not (isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1):
            return None
        assign = statement.body[0]
        if not (isinstance(assign, cst.Assign) and len(assign.targets) == 1):
            return None
        target, value = assign.targets[0].target, assign.value
        if not (isinstance(target, cst.Name) and isinstance(value, cst.Call)):
            return None
        func = value.func
        if not (isinstance(func, cst.Attribute) and func.attr.value == "connect"):
            return None
        if self.connectables.engine_evidence(func.value) not in (Evidence.PROOF, Evidence.ASSUMED):
            return None
        return target.value

    def _plan_block(
        self, body: cst.BaseSuite | cst.Module, conn: str, *, todo_only: bool = False
    ) -> None:
        executions = _executions(body, conn)
        methods = {m for m, _, _ in executions}
        if methods & {"commit", "rollback", "execution_options"}:
            return  # 2.0-style code (``conn.commit()``) already manages its transactions
        if methods & {"begin", "begin_nested"}:
            if not todo_only:
                self._plan_explicit_transactions(body, conn)
            return
        self._plan_statements(executions, conn, todo_only=todo_only)

    def _plan_explicit_transactions(self, body: cst.BaseSuite | cst.Module, conn: str) -> None:
        """A connection with ``conn.begin()`` transactions: statements outside them
        autocommitted in 1.x, and in 2.0 a statement run before ``begin()`` autobegins a
        transaction that makes ``begin()`` raise, so it is committed first (``commit()``
        without a transaction does nothing). Only straight-line code is followed: from a
        compound statement that starts or ends a transaction on its own on, the block is
        left as it was."""
        # the transactions begun and not yet ended, outermost first (None: not assigned)
        open_transactions: list[str | None] = []
        autobegun = False  # a statement since the last commit may have begun a transaction
        for statement in body.body:
            executions = _executions(statement, conn)
            begins = _begins(statement, conn)
            ended = _ended_transactions(statement, conn, open_transactions)
            if begins and isinstance(statement, cst.SimpleStatementLine | cst.With):
                if autobegun and not open_transactions:
                    self._commit_before[id(statement)] = conn
                autobegun = False
                if isinstance(statement, cst.SimpleStatementLine):
                    open_transactions.extend(_assigned_names(statement) or [None])
            elif begins:
                return
            elif ended is not None:
                if not isinstance(statement, cst.SimpleStatementLine) and not open_transactions:
                    return
                open_transactions = ended
            elif not open_transactions:
                self._plan_statements(executions, conn)
                for method, line, _ in executions:
                    if method in EXECUTING:
                        autobegun = id(line) not in self._commit_after

    def _plan_statements(
        self,
        executions: list[tuple[str, cst.SimpleStatementLine | None, cst.Call | None]],
        conn: str,
        *,
        todo_only: bool = False,
    ) -> None:
        for method, statement, call in executions:
            if call is None or statement is None:
                continue
            if method == HANDED:
                verdict = self._handed_changes_data(call, conn)
                reason = (
                    f"1.x autocommitted the data changes {node_code(call.func)}() makes on this "
                    "connection; add conn.commit() after it if it changes data"
                )
            else:
                verdict = self._changes_data(call)
                reason = (
                    "1.x autocommitted data changes on this connection; add conn.commit() if "
                    "this statement changes data"
                )
            if verdict is None or (verdict and todo_only):
                self.todo(call, reason, statement)
            elif verdict:
                self._commit_after[id(statement)] = conn

    def _handed_changes_data(self, call: cst.Call, conn: str) -> bool | None:
        """``add_entry(conn, msg)``: does the function (the one definition of the name in
        this module) change data on the connection it is handed, with no commit of its
        own? None when it cannot be told: a project function of another module, a
        statement of unknown kind, the connection handed on again. Calls of anything
        else (a library's function, a method) are not followed."""
        func = call.func
        definition = self._only_definition(func) if isinstance(func, cst.Name) else None
        if definition is None:
            if isinstance(func, cst.Name) and self._is_parameter(func):
                return None  # a callback handed in (``def run(fn): fn(engine.connect())``)
            names = qualified_names(self, func)
            return None if names & set(self.state.index.functions) else False
        param = _parameter_for(definition, call, conn)
        if param is None:
            return None
        executions = _executions(definition.body, param)
        methods = {m for m, _, _ in executions}
        if methods & {"commit", "rollback", "begin", "begin_nested", "execution_options"}:
            return False  # it manages the connection's transactions itself
        verdicts = {
            None if method == HANDED else self._changes_data(inner)
            for method, _, inner in executions
            if inner is not None
        }
        if True in verdicts:
            return True
        return None if None in verdicts else False

    def _changes_data(self, call: cst.Call) -> bool | None:
        if not call.args:
            return None
        statement = call.args[0].value
        return self._statement_changes_data(statement)

    def _statement_changes_data(
        self, statement: cst.BaseExpression, following: frozenset[str] = frozenset()
    ) -> bool | None:
        if isinstance(statement, cst.SimpleString | cst.ConcatenatedString | cst.FormattedString):
            return _sql_changes_data(statement)
        head = _sql_head(statement)
        if head is not None:
            return _sql_changes_data(head)
        if isinstance(statement, cst.Name) and statement.value not in following:
            return self._stored_statement_changes_data(statement, following | {statement.value})
        root, methods = self._unchain_statement(statement)
        if isinstance(root, cst.Name) and methods and root.value not in following:
            # ``stmt.order_by(...)``: what ``stmt`` is (``users.insert()``: not a statement)
            stored = self._stored_statement_changes_data(root, following | {root.value})
            if stored is not None:
                return stored
        if isinstance(root, cst.Call):
            names = qualified_names(self, root.func)
            if names & DML_FUNCTIONS:
                return True
            if names & READ_FUNCTIONS:
                return False  # whatever is chained on a SELECT, it stays one
            if names & TEXT and root.args and not methods_change_kind(methods):
                return self._statement_changes_data(root.args[0].value)
            if not methods and isinstance(root.func, cst.Name):
                return self._returned_statement_changes_data(root.func, following)
            return None
        if methods and methods[0] in ("insert", "update", "delete"):
            return True  # ``users.insert().values(...)``
        if methods and methods[0] == "select":
            return False  # ``users.select().where(...)``
        return None

    def _unchain_statement(self, node: cst.BaseExpression) -> tuple[cst.BaseExpression, list[str]]:
        """``_unchain`` stopping at a SQL construct called through its module
        (``sa.text("...").bindparams(x=1)`` → ``(sa.text("..."), ["bindparams"])``)."""
        methods: list[str] = []
        while (
            isinstance(node, cst.Call)
            and isinstance(node.func, cst.Attribute)
            and not qualified_names(self, node.func) & SQL_CONSTRUCTORS
        ):
            methods.append(node.func.attr.value)
            node = node.func.value
        methods.reverse()
        return node, methods

    def _returned_statement_changes_data(
        self, func: cst.Name, following: frozenset[str]
    ) -> bool | None:
        """``conn.execute(users_with_address())``: what every statement the function (the
        one definition the name has) returns says; None when one cannot be told, or the
        function may end without returning one."""
        if func.value in following:
            return None
        definition = self._only_definition(func)
        if definition is None:
            return None
        returned = _returned_values(definition)
        if not returned or None in returned:
            return None
        verdicts = {
            self._statement_changes_data(value, following | {func.value})
            for value in returned
            if value is not None
        }
        if True in verdicts:
            return True
        return False if verdicts == {False} else None

    def _is_parameter(self, name: cst.Name) -> bool:
        """Is ``name`` bound only as a parameter of the function it is read in?"""
        scope = self.get_metadata(ScopeProvider, name, None)
        if scope is None:
            return False
        bindings = [a.node for a in scope[name.value] if isinstance(a, Assignment)]
        return bool(bindings) and all(isinstance(b, cst.Param) for b in bindings)

    def _only_definition(self, func: cst.Name) -> cst.FunctionDef | None:
        scope = self.get_metadata(ScopeProvider, func, None)
        if scope is None:
            return None
        bindings = [a.node for a in scope[func.value] if isinstance(a, Assignment)]
        if len(bindings) != 1 or not isinstance(bindings[0], cst.FunctionDef):
            return None
        definition = bindings[0]
        if definition.asynchronous or definition.decorators:
            return None  # a coroutine, or a decorator's result
        return definition

    def _stored_statement_changes_data(
        self, name: cst.Name, following: frozenset[str]
    ) -> bool | None:
        """``stmt = select(...)`` then ``conn.execute(stmt)``: what every value bound to
        the name says (None when one is not an assignment or cannot be told)."""
        values = assigned_values(self, name)
        if values is None:
            return None
        verdicts = {
            self._statement_changes_data(value, following)
            for value in values
            if not _refines(value, following)
        }
        if True in verdicts:
            return True
        return False if verdicts == {False} else None

    def leave_SimpleStatementLine(
        self, original_node: cst.SimpleStatementLine, updated_node: cst.SimpleStatementLine
    ) -> cst.SimpleStatementLine | cst.FlattenSentinel[cst.SimpleStatementLine]:
        before = self._commit_before.pop(id(original_node), None)
        after = self._commit_after.pop(id(original_node), None)
        if before is None and after is None:
            return updated_node
        lines = [_commit(before)] if before else []
        lines.append(updated_node)
        if after:
            lines.append(_commit(after))
        self.count_rewrite()
        return cst.FlattenSentinel(lines)

    def leave_With(
        self, original_node: cst.With, updated_node: cst.With
    ) -> cst.BaseStatement | cst.FlattenSentinel[cst.BaseStatement]:
        before = self._commit_before.pop(id(original_node), None)
        if before is None:
            return updated_node
        self.count_rewrite()
        return cst.FlattenSentinel([_commit(before), updated_node])


BEGIN_AFTER_STATEMENTS = (
    "2.0 begins a transaction with the first statement run on a connection (autobegin), "
    "so this begin() raises after the statements above it: commit them first "
    "(conn.commit()) when the caller has no transaction of its own open"
)


def _begins_after_statements(
    body: cst.BaseSuite, conn: str
) -> list[tuple[cst.BaseStatement, cst.Call]]:
    """The ``conn.begin()`` calls (statement, call) that some ``conn.execute()`` precedes
    in the function's text with no transaction ended in between: 1.x autocommitted that
    statement and began a new transaction; 2.0 autobegan one at the statement, and its
    ``begin()`` raises. Statements inside ``with conn.begin():`` or between ``t =
    conn.begin()`` and ``t.commit()`` are in a transaction of their own."""
    found: list[tuple[cst.BaseStatement, cst.Call]] = []
    state = {"ran": False, "open": False}
    transactions: set[str] = set()
    current: list[cst.SimpleStatementLine] = []
    begun_by_with: set[int] = set()

    class Finder(cst.CSTVisitor):
        def visit_SimpleStatementLine(self, node: cst.SimpleStatementLine) -> None:
            current.append(node)
            for small in node.body:
                if isinstance(small, cst.Assign) and _begins(small.value, conn):
                    transactions.update(
                        t.target.value for t in small.targets if isinstance(t.target, cst.Name)
                    )

        def leave_SimpleStatementLine(self, original_node: cst.SimpleStatementLine) -> None:
            current.pop()

        def visit_With(self, node: cst.With) -> None:
            for item in node.items:
                if _begins(item.item, conn):
                    if state["ran"] and not state["open"] and isinstance(item.item, cst.Call):
                        found.append((node, item.item))
                    begun_by_with.add(id(item.item))
                    state["open"] = True

        def leave_With(self, original_node: cst.With) -> None:
            if any(_begins(item.item, conn) for item in original_node.items):
                state["open"] = False
                state["ran"] = False

        def visit_Call(self, node: cst.Call) -> None:
            func = node.func
            if not (isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name)):
                return
            owner, method = func.value.value, func.attr.value
            if owner in transactions and method in ("commit", "rollback", "close"):
                state["open"] = state["ran"] = False
            if owner != conn:
                return
            if method in ("commit", "rollback"):
                state["open"] = state["ran"] = False
            elif method == "begin" and id(node) not in begun_by_with:
                if state["ran"] and not state["open"] and current:
                    found.append((current[-1], node))
                state["open"] = True
            elif method in EXECUTING or method in ("scalar", "scalars"):
                if not state["open"]:
                    state["ran"] = True

        def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
            return False

        def visit_Lambda(self, node: cst.Lambda) -> bool:
            return False

    body.visit(Finder())
    return found


def _parameter_for(definition: cst.FunctionDef, call: cst.Call, conn: str) -> str | None:
    """The parameter of ``definition`` that ``call`` hands the connection ``conn`` to."""
    params = definition.params
    for position, arg in enumerate(call.args):
        if not (isinstance(arg.value, cst.Name) and arg.value.value == conn) or arg.star:
            continue
        if arg.keyword is not None:
            known = {p.name.value for p in (*params.params, *params.kwonly_params)}
            return arg.keyword.value if arg.keyword.value in known else None
        positional = [*params.posonly_params, *params.params]
        return positional[position].name.value if position < len(positional) else None
    return None


def _commit(conn: str) -> cst.SimpleStatementLine:
    return cst.SimpleStatementLine(
        body=[cst.Expr(cst.Call(func=cst.Attribute(value=cst.Name(conn), attr=cst.Name("commit"))))]
    )


def _calls_on(statement: cst.CSTNode, names: set[str], methods: frozenset[str]) -> bool:
    """Whether the statement calls ``name.method()`` for one of the names (nested
    functions excluded)."""
    found = False

    class Finder(cst.CSTVisitor):
        def visit_Call(self, node: cst.Call) -> None:
            nonlocal found
            func = node.func
            if (
                isinstance(func, cst.Attribute)
                and isinstance(func.value, cst.Name)
                and func.value.value in names
                and func.attr.value in methods
            ):
                found = True

        def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
            return False

    statement.visit(Finder())
    return found


def _begins(statement: cst.CSTNode, conn: str) -> bool:
    return _calls_on(statement, {conn}, frozenset({"begin", "begin_nested"}))


def _ended_transactions(
    statement: cst.CSTNode, conn: str, open_transactions: list[str | None]
) -> list[str | None] | None:
    """The transactions still open after ``statement`` when it ends some (None when it
    ends none): ``conn.commit()`` or ending the outermost one ends all of them, ending a
    nested one (a savepoint) ends it and those begun after it."""
    ending = frozenset({"commit", "rollback"})
    if _calls_on(statement, {conn}, ending):
        return []
    for position, name in enumerate(open_transactions):
        if name is not None and _calls_on(statement, {name}, ending | {"close"}):
            return open_transactions[:position]
    return None


def _assigned_names(statement: cst.SimpleStatementLine) -> list[str]:
    return [
        target.target.value
        for small in statement.body
        if isinstance(small, cst.Assign)
        for target in small.targets
        if isinstance(target.target, cst.Name)
    ]


def _returned_values(definition: cst.FunctionDef) -> list[cst.BaseExpression | None]:
    """The values of the function's ``return`` statements (None for a bare one, or for
    falling off its end; nested functions and classes excluded); empty for a generator."""
    values: list[cst.BaseExpression | None] = []
    generator = False

    class Finder(cst.CSTVisitor):
        def visit_Return(self, node: cst.Return) -> None:
            values.append(node.value)

        def visit_Yield(self, node: cst.Yield) -> None:
            nonlocal generator
            generator = True

        def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
            return False

        def visit_ClassDef(self, node: cst.ClassDef) -> bool:
            return False

        def visit_Lambda(self, node: cst.Lambda) -> bool:
            return False

    definition.body.visit(Finder())
    if generator:
        return []
    if not _ends_with_return(definition.body):
        values.append(None)
    return values


def _ends_with_return(body: cst.BaseSuite) -> bool:
    """Does the function body's last statement return (or raise)?"""
    last: cst.CSTNode | None = body.body[-1] if body.body else None
    if isinstance(last, cst.SimpleStatementLine):
        last = last.body[-1]
    return isinstance(last, cst.Return | cst.Raise)


def _refines(value: cst.BaseExpression, following: frozenset[str]) -> bool:
    """``stmt = stmt.where(...)``: a binding built on the name itself says what its other
    bindings say."""
    root, methods = _unchain(value)
    return bool(methods) and isinstance(root, cst.Name) and root.value in following


def _unchain(node: cst.BaseExpression) -> tuple[cst.BaseExpression, list[str]]:
    """``users.select().where(c).limit(3)`` → ``(users, ["select", "where", "limit"])``;
    ``select(t).where(c)`` → ``(select(t), ["where"])``."""
    methods: list[str] = []
    while isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute):
        methods.append(node.func.attr.value)
        node = node.func.value
    methods.reverse()
    return node, methods


def methods_change_kind(methods: list[str]) -> bool:
    """Methods on ``text()`` that keep it the same SQL (``columns()`` makes it a
    ``TextualSelect`` of the same text)."""
    return any(m not in TEXT_KEEPING for m in methods)


def _sql_head(value: cst.BaseExpression) -> cst.BaseExpression | None:
    """The literal SQL starts with in ``"..." % x``, ``"..." + x``, ``"...".format(x)``."""
    if isinstance(value, cst.BinaryOperation) and isinstance(value.operator, cst.Modulo | cst.Add):
        left = value.left
        if isinstance(left, cst.SimpleString | cst.ConcatenatedString | cst.FormattedString):
            return left
        return _sql_head(left)
    if (
        isinstance(value, cst.Call)
        and isinstance(value.func, cst.Attribute)
        and value.func.attr.value == "format"
        and isinstance(value.func.value, cst.SimpleString | cst.ConcatenatedString)
    ):
        return value.func.value
    return None


def _sql_changes_data(value: cst.BaseExpression) -> bool | None:
    if isinstance(value, cst.SimpleString):
        text = value.evaluated_value
        return bool(AUTOCOMMIT_SQL.match(text)) if isinstance(text, str) else None
    if isinstance(value, cst.ConcatenatedString):
        return _sql_changes_data(value.left)
    if isinstance(value, cst.FormattedString):
        head = value.parts[0] if value.parts else None
        if isinstance(head, cst.FormattedStringText):
            return bool(AUTOCOMMIT_SQL.match(head.value))
    return None


def _executions(
    body: cst.CSTNode, conn: str
) -> list[tuple[str, cst.SimpleStatementLine | None, cst.Call | None]]:
    """(method, statement, call) for every ``conn.method(...)`` in the block."""
    found: list[tuple[str, cst.SimpleStatementLine | None, cst.Call | None]] = []
    current: list[cst.SimpleStatementLine] = []

    class Finder(cst.CSTVisitor):
        def visit_SimpleStatementLine(self, node: cst.SimpleStatementLine) -> None:
            current.append(node)

        def leave_SimpleStatementLine(self, original_node: cst.SimpleStatementLine) -> None:
            current.pop()

        def visit_Call(self, node: cst.Call) -> None:
            func = node.func
            if (
                isinstance(func, cst.Attribute)
                and isinstance(func.value, cst.Name)
                and func.value.value == conn
            ):
                method = func.attr.value
                if method in TRANSACTION_METHODS:
                    found.append((method, None, None))
                elif current and method in EXECUTING:
                    found.append((method, current[-1], node))
            elif current and any(
                isinstance(arg.value, cst.Name) and arg.value.value == conn for arg in node.args
            ):
                found.append((HANDED, current[-1], node))

        def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
            return False

    body.visit(Finder())
    return found
