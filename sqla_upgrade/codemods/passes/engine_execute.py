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
always is); a result kept in a
variable for later would be read after the connection is returned, so that case is left
unchanged with a TODO. Raw SQL strings are handled by the ``raw-sql`` pass that follows.
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
    METADATA_DEPENDENCIES: ClassVar[tuple[type[BaseMetadataProvider[Any]], ...]] = ANALYSIS_METADATA

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.connectables = ConnectableResolver(self)
        self._pending: dict[int, tuple[cst.Call, str]] = {}

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
        if not self._consumed(call, node):
            self.todo(
                call,
                "engine.execute() was removed and its result is used later: open "
                "`with engine.connect() as conn:` around the uses (and commit data changes)",
            )
            return False
        self._pending[id(call)] = (call, self._connection_name(node))
        return True

    def visit_SimpleStatementLine(self, node: cst.SimpleStatementLine) -> bool:
        return self._visit_statement(node)

    def visit_For(self, node: cst.For) -> bool:
        return self._visit_statement(node)

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.Call:
        pending = self._pending.get(id(original_node))
        if pending is None:
            return updated_node
        func = updated_node.func
        assert isinstance(func, cst.Attribute)
        return updated_node.with_changes(func=func.with_changes(value=cst.Name(pending[1])))

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
        while scope is not None and (name in scope or any(True for _ in scope.accesses[name])):
            counter += 1
            name = f"conn{counter}"
        return name


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
