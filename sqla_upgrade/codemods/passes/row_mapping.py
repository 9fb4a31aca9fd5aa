"""Read result rows by column name through ``row._mapping``.

Before::

    for row in conn.execute(select(users)):
        print(row["name"], dict(row), row.keys())

After::

    for row in conn.execute(select(users)):
        print(row._mapping["name"], dict(row._mapping), row._mapping.keys())

Safety: SQLAlchemy 2.0 rows behave like named tuples: ``row["name"]`` raises, ``dict(row)``
fails and ``"name" in row`` tests the values. The mapping view keeps the 1.x meaning.
Only names bound to rows of an ``execute()`` result (iterated, or taken with
``fetchone()``/``first()``/``one()``, also through a name bound once to the result) are
rewritten, and only for string or column keys;
integer indexes and attribute access (``row.name``) already work and are left alone.
"""

from __future__ import annotations

from typing import Any, ClassVar

import libcst as cst
from libcst.metadata import (
    Assignment,
    BaseMetadataProvider,
    ParentNodeProvider,
    ScopeProvider,
)

from sqla_upgrade.codemods.analysis.connectables import ConnectableResolver
from sqla_upgrade.codemods.analysis.sessions import Evidence
from sqla_upgrade.codemods.base import ANALYSIS_METADATA, Pass
from sqla_upgrade.codemods.names import qualified_names

EXECUTING = frozenset({"execute", "exec_driver_sql"})
ONE_ROW = frozenset({"fetchone", "first", "one", "one_or_none"})
ALL_ROWS = frozenset({"fetchall", "all", "fetchmany"})
MAPPING_METHODS = frozenset({"keys", "items", "values"})
KNOWN = (Evidence.PROOF, Evidence.ASSUMED)


class RowMappingPass(Pass):
    """row["col"] / dict(row) / row.keys() on result rows → row._mapping[...]."""

    name = "row-mapping"
    triggers = (b"execute(",)
    METADATA_DEPENDENCIES: ClassVar[tuple[type[BaseMetadataProvider[Any]], ...]] = ANALYSIS_METADATA

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.connectables = ConnectableResolver(self)
        self.sessions = self.connectables.sessions
        self._row_names: dict[tuple[int, str], bool] = {}

    # -- what is a row --------------------------------------------------------------------
    def _is_result(self, node: cst.BaseExpression) -> bool:
        """``x.execute(...)`` on a connection, engine or session (not ``.scalars()``), or a
        name bound once to one (``result = conn.execute(...)``)."""
        if isinstance(node, cst.Name):
            return self._bound_to(node, self._is_execute_call)
        return self._is_execute_call(node)

    def _is_execute_call(self, node: cst.BaseExpression) -> bool:
        if not (isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute)):
            return False
        if node.func.attr.value not in EXECUTING:
            return False
        owner = node.func.value
        return (
            self.connectables.connection_evidence(owner) in KNOWN
            or self.connectables.engine_evidence(owner) in KNOWN
            or self.sessions.evidence(owner) in KNOWN
        )

    def _is_rows(self, node: cst.BaseExpression) -> bool:
        if self._is_result(node):
            return True
        if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute):
            return node.func.attr.value in ALL_ROWS and self._is_result(node.func.value)
        if isinstance(node, cst.Name):
            return self._bound_to(node, self._is_rows_value)
        return False

    def _is_rows_value(self, value: cst.BaseExpression) -> bool:
        return (
            isinstance(value, cst.Call)
            and isinstance(value.func, cst.Attribute)
            and (value.func.attr.value in ALL_ROWS and self._is_result(value.func.value))
        )

    def _is_row(self, node: cst.BaseExpression) -> bool:
        if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute):
            return node.func.attr.value in ONE_ROW and self._is_result(node.func.value)
        if isinstance(node, cst.Subscript) and isinstance(node.value, cst.Name):
            return self._is_rows(node.value)
        if isinstance(node, cst.Name):
            scope = self.get_metadata(ScopeProvider, node, None)
            if scope is None:
                return False
            key = (id(scope), node.value)
            if key not in self._row_names:
                self._row_names[key] = False
                self._row_names[key] = self._all_bindings_are_rows(node)
            return self._row_names[key] or self._nearest_binding_is_row(node, scope)
        return False

    def _nearest_binding_is_row(self, node: cst.Name, scope: Any) -> bool:
        """A name rebound in straight-line code (``r = ...scalar()``, later
        ``r = ...fetchone()``): the last statement before the use, in the use's own block,
        that binds the name decides. Uses inside loops are left alone, since a later
        binding in the loop can reach them."""
        bindings = {id(a.node) for a in scope[node.value] if isinstance(a, Assignment)}
        statement: cst.CSTNode = node
        parent = self.get_metadata(ParentNodeProvider, statement, None)
        while parent is not None and not isinstance(parent, cst.Module | cst.IndentedBlock):
            if isinstance(parent, cst.For | cst.While | cst.CompFor | cst.FunctionDef):
                return False
            statement, parent = parent, self.get_metadata(ParentNodeProvider, parent, None)
        if parent is None or self._inside_loop(parent):
            return False
        siblings: list[cst.CSTNode] = list(parent.body)
        for earlier in reversed(siblings[: siblings.index(statement)]):
            if _binds_any(earlier, bindings):
                return self._assigns_row(earlier, node.value)
        return False

    def _inside_loop(self, block: cst.CSTNode) -> bool:
        current = self.get_metadata(ParentNodeProvider, block, None)
        while current is not None and not isinstance(current, cst.FunctionDef | cst.Module):
            if isinstance(current, cst.For | cst.While):
                return True
            current = self.get_metadata(ParentNodeProvider, current, None)
        return False

    def _assigns_row(self, statement: cst.CSTNode, name: str) -> bool:
        if not (isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1):
            return False
        assign = statement.body[0]
        return (
            isinstance(assign, cst.Assign)
            and len(assign.targets) == 1
            and isinstance(assign.targets[0].target, cst.Name)
            and assign.targets[0].target.value == name
            and self._is_row(assign.value)
        )

    def _all_bindings_are_rows(self, node: cst.Name) -> bool:
        scope = self.get_metadata(ScopeProvider, node, None)
        assignments = [a for a in scope[node.value] if isinstance(a, Assignment)] if scope else []
        if not assignments:
            return False
        for assignment in assignments:
            bound = assignment.node
            parent = self.get_metadata(ParentNodeProvider, bound, None)
            if isinstance(parent, cst.For | cst.CompFor) and parent.target is bound:
                if not self._is_rows(parent.iter):
                    return False
            elif isinstance(parent, cst.AssignTarget):
                statement = self.get_metadata(ParentNodeProvider, parent, None)
                if not (isinstance(statement, cst.Assign) and self._is_row(statement.value)):
                    return False
            else:
                return False
        return True

    def _bound_to(self, node: cst.Name, test: Any) -> bool:
        scope = self.get_metadata(ScopeProvider, node, None)
        assignments = [a for a in scope[node.value] if isinstance(a, Assignment)] if scope else []
        if len(assignments) != 1:
            return False
        parent = self.get_metadata(ParentNodeProvider, assignments[0].node, None)
        statement = self.get_metadata(ParentNodeProvider, parent, None) if parent else None
        return (
            isinstance(parent, cst.AssignTarget)
            and isinstance(statement, cst.Assign)
            and test(statement.value)
        )

    # -- rewrites --------------------------------------------------------------------------------
    def _mapping(self, row: cst.BaseExpression) -> cst.Attribute:
        self.count_rewrite()
        return cst.Attribute(value=row, attr=cst.Name("_mapping"))

    def leave_Subscript(
        self, original_node: cst.Subscript, updated_node: cst.Subscript
    ) -> cst.BaseExpression:
        if len(original_node.slice) != 1:
            return updated_node
        element = original_node.slice[0].slice
        if not isinstance(element, cst.Index) or not _is_key(element.value):
            return updated_node
        if not self._is_row(original_node.value):
            return updated_node
        return updated_node.with_changes(value=self._mapping(updated_node.value))

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.BaseExpression:
        func = original_node.func
        if (
            isinstance(func, cst.Attribute)
            and func.attr.value in MAPPING_METHODS
            and not original_node.args
            and self._is_row(func.value)
        ):
            new_func = updated_node.func
            assert isinstance(new_func, cst.Attribute)
            return updated_node.with_changes(
                func=new_func.with_changes(value=self._mapping(new_func.value))
            )
        if (
            len(original_node.args) == 1
            and qualified_names(self, func) & {"builtins.dict"}
            and self._is_row(original_node.args[0].value)
        ):
            arg = updated_node.args[0]
            return updated_node.with_changes(
                args=[arg.with_changes(value=self._mapping(arg.value))]
            )
        return updated_node

    def leave_Comparison(
        self, original_node: cst.Comparison, updated_node: cst.Comparison
    ) -> cst.BaseExpression:
        if len(original_node.comparisons) != 1 or not _is_key(original_node.left):
            return updated_node
        target = original_node.comparisons[0]
        if not isinstance(target.operator, cst.In | cst.NotIn) or not self._is_row(
            target.comparator
        ):
            return updated_node
        new_target = updated_node.comparisons[0]
        return updated_node.with_changes(
            comparisons=[new_target.with_changes(comparator=self._mapping(new_target.comparator))]
        )


def _binds_any(statement: cst.CSTNode, bindings: set[int]) -> bool:
    found = False

    class Finder(cst.CSTVisitor):
        def on_visit(self, node: cst.CSTNode) -> bool:
            nonlocal found
            found = found or id(node) in bindings
            return not found

    statement.visit(Finder())
    return found


def _is_key(node: cst.BaseExpression) -> bool:
    if isinstance(node, cst.SimpleString | cst.ConcatenatedString):
        return True
    # users.c.name: a Column object used as key
    return (
        isinstance(node, cst.Attribute)
        and isinstance(node.value, cst.Attribute)
        and node.value.attr.value == "c"
    )
