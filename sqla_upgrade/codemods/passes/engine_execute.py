"""Replace the removed ``engine.execute()`` / ``engine.scalar()`` with an explicit transaction.

Before::

    engine.execute(users.insert(), [{"name": "ann"}])
    rows = engine.execute(select(users)).fetchall()

After::

    with engine.begin() as conn:
        conn.execute(users.insert(), [{"name": "ann"}])
    with engine.begin() as conn:
        rows = conn.execute(select(users)).fetchall()

Safety: 1.x ``engine.execute()`` ran each statement on its own connection and
autocommitted data changes; ``engine.begin()`` runs the statement in a transaction that
commits at the end of the block, which is the same for one statement. The rewrite is
made only when the result is consumed inside the same statement (``.fetchall()``,
``.scalar()``, ``.rowcount``, a ``for`` loop over it, or discarded; ``engine.scalar()``
always is). A SELECT result kept in a variable (``rows = engine.execute(select(...))``)
and read by the statements that follow in the same block runs them all in
``with engine.connect() as conn:`` (a ``with`` opens no scope; a read needs no commit).
Other kept results (data changes, results returned or read in nested functions, names
bound twice) are left unchanged with a TODO. Raw SQL strings are handled by the ``raw-sql`` pass that follows.
"""

from __future__ import annotations

from typing import Any, ClassVar

import libcst as cst
from libcst.metadata import (
    BaseMetadataProvider,
    ParentNodeProvider,
    ScopeProvider,
)

from sqla_upgrade.codemods.analysis.connectables import ConnectableResolver
from sqla_upgrade.codemods.analysis.sessions import Evidence
from sqla_upgrade.codemods.base import ANALYSIS_METADATA, Pass
from sqla_upgrade.codemods.names import assigned_values, qualified_names
from sqla_upgrade.codemods.passes.connection_autocommit import (
    AUTOCOMMIT_SQL,
    READ_FUNCTIONS,
    SQL_CONSTRUCTORS,
    TEXT,
)

ENGINE_METHODS = frozenset({"execute", "scalar"})
CONSUMERS = frozenset(
    {
        "fetchall",
        "fetchone",
        "fetchmany",
        "first",
        "all",
        "one",
        "one_or_none",
        "scalar",
        "scalar_one",
        "scalar_one_or_none",
        "scalars",
        "mappings",
        "rowcount",
        "inserted_primary_key",
        "lastrowid",
        "keys",
        "returned_defaults",
        "close",
        "unique",
        "columns",
        "tuples",
    }
)
CONSUMING_BUILTINS = frozenset({"list", "tuple", "set", "dict", "sorted", "len"})


class EngineExecutePass(Pass):
    """engine.execute(...) → with engine.begin() as conn: conn.execute(...)."""

    name = "engine-execute"
    triggers = (b".execute(", b".scalar(")
    # query-to-select writes session.execute/scalar(select(...)): no engine, no string
    triggers_in_stage_input = True
    METADATA_DEPENDENCIES: ClassVar[tuple[type[BaseMetadataProvider[Any]], ...]] = ANALYSIS_METADATA

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.connectables = ConnectableResolver(self)
        self._pending: dict[int, tuple[cst.Call, str]] = {}
        self._renamed: dict[int, str] = {}
        self._held: set[str] = set()
        self._kept_reads: dict[int, tuple[int, str, cst.Call]] = {}

    def _engine_calls(self, statement: cst.CSTNode) -> list[cst.Call]:
        found: list[cst.Call] = []
        resolver = self.connectables

        class Finder(cst.CSTVisitor):
            def visit_Call(self, node: cst.Call) -> None:
                func = node.func
                if isinstance(func, cst.Attribute) and func.attr.value in ENGINE_METHODS:
                    if resolver.engine_evidence(func.value) in (Evidence.PROOF, Evidence.ASSUMED):
                        found.append(node)

            def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
                return False

            def visit_Lambda(self, node: cst.Lambda) -> bool:
                return False

        statement.visit(Finder())
        return found

    def _consumed(self, call: cst.Call, statement: cst.CSTNode) -> bool:
        func = call.func
        if isinstance(func, cst.Attribute) and func.attr.value == "scalar":
            return True  # engine.scalar() returns a value, never a result to read later
        parent = self.get_metadata(ParentNodeProvider, call, None)
        if isinstance(parent, cst.Attribute) and parent.value is call:
            return parent.attr.value in CONSUMERS
        if isinstance(parent, cst.Expr) and isinstance(statement, cst.SimpleStatementLine):
            return True
        if isinstance(parent, cst.For) and parent.iter is call:
            return True
        if isinstance(parent, cst.CompFor) and parent.iter is call:
            # ``[tuple(r) for r in engine.execute(s)]`` reads it all; a generator
            # expression reads it later
            holder = self.get_metadata(ParentNodeProvider, parent, None)
            return isinstance(holder, cst.ListComp | cst.SetComp | cst.DictComp)
        if isinstance(parent, cst.Arg):
            holder = self.get_metadata(ParentNodeProvider, parent, None)
            return (
                isinstance(holder, cst.Call)
                and isinstance(holder.func, cst.Name)
                and holder.func.value in CONSUMING_BUILTINS
            )
        return False

    def _visit_statement(self, node: cst.SimpleStatementLine | cst.For) -> bool:
        target = node if isinstance(node, cst.SimpleStatementLine) else node.iter
        calls = self._engine_calls(target)
        if not calls:
            return True
        if len(calls) > 1 or (isinstance(node, cst.SimpleStatementLine) and len(node.body) > 1):
            self.todo(
                node,
                "engine.execute() was removed; run these statements in `with engine.begin() as conn:`",
            )
            return False
        call = calls[0]
        if not self._consumed(call, node) and self._plan_kept_read(call, node):
            return True
        if not self._consumed(call, node):
            self.todo(
                call,
                "engine.execute() was removed and its result is used later: open "
                "`with engine.connect() as conn:` around the uses (and commit data changes)",
            )
            return False
        self._pending[id(call)] = (call, self._connection_name(node))
        return True

    def _plan_kept_read(self, call: cst.Call, statement: cst.CSTNode) -> bool:
        """``result = engine.execute(select(...))`` read by the statements that follow in
        the same block: those statements run in ``with engine.connect() as conn:`` (a read
        needs no commit; ``with`` opens no scope)."""
        if not (
            isinstance(statement, cst.SimpleStatementLine)
            and len(statement.body) == 1
            and isinstance(statement.body[0], cst.Assign)
            and statement.body[0].value is call
            and len(statement.body[0].targets) == 1
            and isinstance(statement.body[0].targets[0].target, cst.Name)
        ):
            return False
        if not call.args or self._changes_data(call.args[0].value) is not False:
            return False
        name = statement.body[0].targets[0].target.value
        block = self.get_metadata(ParentNodeProvider, statement, None)
        scope = self.get_metadata(ScopeProvider, statement, None)
        if not isinstance(block, cst.IndentedBlock | cst.Module) or scope is None:
            return False
        if len([a for a in scope.assignments[name]]) != 1:
            return False
        body = list(block.body)
        start = body.index(statement)
        last = start
        target = statement.body[0].targets[0].target
        for use in _name_uses(self._scope_owner(statement, scope), name):
            if use is target:
                continue
            position = _top_statement_index(self, use, block, body)
            if position is None or position <= start or _returns_name(body[position], name):
                return False
            last = max(last, position)
        if last == start:
            return False
        conn = self._connection_name(statement)
        self._held.add(conn)  # statements inside the block must open other names
        self._renamed[id(call)] = conn
        self._kept_reads[id(statement)] = (id(body[last]), conn, call)
        return True

    def _scope_owner(self, statement: cst.CSTNode, scope: Any) -> cst.CSTNode:
        """The function (or the module) whose code is the scope."""
        owner = getattr(scope, "node", None)
        if isinstance(owner, cst.CSTNode):
            return owner
        current = statement
        while (parent := self.get_metadata(ParentNodeProvider, current, None)) is not None:
            current = parent
        return current

    def _changes_data(self, node: cst.BaseExpression, depth: int = 0) -> bool | None:
        if isinstance(node, cst.SimpleString):
            text = node.evaluated_value
            return bool(AUTOCOMMIT_SQL.match(text)) if isinstance(text, str) else None
        if isinstance(node, cst.ConcatenatedString):
            return self._changes_data(node.left, depth + 1)
        if isinstance(node, cst.BinaryOperation) and isinstance(
            node.operator, cst.Modulo | cst.Add
        ):
            # ``"SELECT ... %s" % x``, ``"SELECT ..." + x``: the SQL's first word
            return self._changes_data(node.left, depth + 1)
        if (
            isinstance(node, cst.Call)
            and isinstance(node.func, cst.Attribute)
            and node.func.attr.value == "format"
            and isinstance(node.func.value, cst.SimpleString | cst.ConcatenatedString)
        ):
            return self._changes_data(node.func.value, depth + 1)
        if isinstance(node, cst.Name) and depth < 5:
            # ``sql = "SELECT ..."`` then ``engine.execute(sql, ...)``: what every value says
            values = assigned_values(self, node)
            verdicts = {self._changes_data(v, depth + 1) for v in values or ()}
            if True in verdicts:
                return True
            return False if verdicts == {False} else None
        root = node
        while (
            isinstance(root, cst.Call)
            and isinstance(root.func, cst.Attribute)
            and not qualified_names(self, root.func) & SQL_CONSTRUCTORS
        ):
            root = root.func.value
        if isinstance(root, cst.Call) and qualified_names(self, root.func) & READ_FUNCTIONS:
            return False
        if (
            root is node
            and isinstance(root, cst.Call)
            and qualified_names(self, root.func) & TEXT
            and root.args
        ):
            return self._changes_data(root.args[0].value)
        return None

    def leave_IndentedBlock(
        self, original_node: cst.IndentedBlock, updated_node: cst.IndentedBlock
    ) -> cst.IndentedBlock:
        return updated_node.with_changes(body=self._group_kept_reads(original_node, updated_node))

    def leave_Module(self, original_node: cst.Module, updated_node: cst.Module) -> cst.Module:
        return updated_node.with_changes(body=self._group_kept_reads(original_node, updated_node))

    def _group_kept_reads(
        self, original: cst.IndentedBlock | cst.Module, updated: cst.IndentedBlock | cst.Module
    ) -> list[cst.BaseStatement]:
        if not any(id(s) in self._kept_reads for s in original.body):
            return list(updated.body)
        return self._group(list(original.body), list(updated.body))

    def _group(
        self, old: list[cst.BaseStatement], new: list[cst.BaseStatement]
    ) -> list[cst.BaseStatement]:
        grouped: list[cst.BaseStatement] = []
        index = 0
        while index < len(old):
            plan = self._kept_reads.pop(id(old[index]), None)
            if plan is None:
                grouped.append(new[index])
                index += 1
                continue
            last_id, conn, call = plan
            end = next(i for i in range(index, len(old)) if id(old[i]) == last_id)
            # a result kept inside the block whose uses run past it widens the block
            for inner in range(index + 1, len(old)):
                if inner > end:
                    break
                nested = self._kept_reads.get(id(old[inner]))
                if nested is not None:
                    end = max(
                        end, next(i for i in range(inner, len(old)) if id(old[i]) == nested[0])
                    )
            body = [
                new[index].with_changes(leading_lines=[]),
                *self._group(old[index + 1 : end + 1], new[index + 1 : end + 1]),
            ]
            func = call.func
            assert isinstance(func, cst.Attribute)
            connect = cst.Call(
                func=cst.Attribute(value=func.value.deep_clone(), attr=cst.Name("connect"))
            )
            self.count_rewrite()
            grouped.append(
                cst.With(
                    items=[cst.WithItem(item=connect, asname=cst.AsName(name=cst.Name(conn)))],
                    body=cst.IndentedBlock(body=body),
                    leading_lines=getattr(new[index], "leading_lines", ()),
                )
            )
            index = end + 1
        return grouped

    def visit_SimpleStatementLine(self, node: cst.SimpleStatementLine) -> bool:
        return self._visit_statement(node)

    def visit_For(self, node: cst.For) -> bool:
        return self._visit_statement(node)

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.Call:
        pending = self._pending.get(id(original_node))
        conn = pending[1] if pending is not None else self._renamed.pop(id(original_node), None)
        if conn is None:
            return updated_node
        func = updated_node.func
        assert isinstance(func, cst.Attribute)
        return updated_node.with_changes(func=func.with_changes(value=cst.Name(conn)))

    def _wrap(self, original: cst.CSTNode, updated: cst.BaseStatement) -> cst.BaseStatement:
        calls = [c for c in self._engine_calls_pending(original)]
        if not calls:
            return updated
        call, conn = calls[0]
        del self._pending[id(call)]
        func = call.func
        assert isinstance(func, cst.Attribute)
        engine = func.value.deep_clone()
        inner = updated.with_changes(leading_lines=[])
        begin = cst.Call(func=cst.Attribute(value=engine, attr=cst.Name("begin")))
        self.count_rewrite()
        return cst.With(
            items=[cst.WithItem(item=begin, asname=cst.AsName(name=cst.Name(conn)))],
            body=cst.IndentedBlock(body=[inner]),
            leading_lines=getattr(updated, "leading_lines", ()),
        )

    def _engine_calls_pending(self, statement: cst.CSTNode) -> list[tuple[cst.Call, str]]:
        return [p for p in self._pending.values() if _contains(statement, p[0])]

    def leave_SimpleStatementLine(
        self, original_node: cst.SimpleStatementLine, updated_node: cst.SimpleStatementLine
    ) -> cst.BaseStatement:
        return self._wrap(original_node, updated_node)

    def leave_For(self, original_node: cst.For, updated_node: cst.For) -> cst.BaseStatement:
        return self._wrap(original_node, updated_node)

    def _connection_name(self, node: cst.CSTNode) -> str:
        scope = self.get_metadata(ScopeProvider, node, None)
        name = "conn"
        counter = 1
        while name in self._held or (
            scope is not None and (name in scope or any(True for _ in scope.accesses[name]))
        ):
            counter += 1
            name = f"conn{counter}"
        return name


def _top_statement_index(
    p: Pass, node: cst.CSTNode, block: cst.CSTNode, body: list[cst.BaseStatement]
) -> int | None:
    """Index in ``body`` of the statement of ``block`` holding ``node`` (None when it is
    in a nested function or outside the block)."""
    current: cst.CSTNode | None = node
    while current is not None:
        if isinstance(current, cst.FunctionDef | cst.Lambda | cst.ClassDef):
            return None  # run later, maybe after the connection is closed
        parent = p.get_metadata(ParentNodeProvider, current, None)
        if parent is block:
            return next((i for i, s in enumerate(body) if s is current), None)
        current = parent
    return None


def _name_uses(owner: cst.CSTNode, name: str) -> list[cst.Name]:
    """Every ``name`` in the scope's code, nested scopes (comprehensions, functions)
    included, which scope accesses alone would miss."""
    uses: list[cst.Name] = []

    class Finder(cst.CSTVisitor):
        def visit_Name(self, node: cst.Name) -> None:
            if node.value == name:
                uses.append(node)

        def visit_Attribute(self, node: cst.Attribute) -> bool:
            node.value.visit(self)
            return False

        def visit_Arg(self, node: cst.Arg) -> bool:
            node.value.visit(self)
            return False

    owner.visit(Finder())
    return uses


def _returns_name(statement: cst.CSTNode, name: str) -> bool:
    """Whether the statement hands the result on (``return result``, ``yield result``)."""
    found = False

    class Finder(cst.CSTVisitor):
        def visit_Return(self, node: cst.Return) -> None:
            nonlocal found
            found = found or (isinstance(node.value, cst.Name) and node.value.value == name)

        def visit_Yield(self, node: cst.Yield) -> None:
            nonlocal found
            found = found or (isinstance(node.value, cst.Name) and node.value.value == name)

    statement.visit(Finder())
    return found


def _contains(tree: cst.CSTNode, target: cst.CSTNode) -> bool:
    found = False

    class Finder(cst.CSTVisitor):
        def on_visit(self, node: cst.CSTNode) -> bool:
            nonlocal found
            if node is target:
                found = True
            return not found

    tree.visit(Finder())
    return found
