"""Read result rows by column name through ``row._mapping``.

Before::

    for row in conn.execute(select(users)):
        print(row["name"], dict(row), row.keys())

After::

    for row in conn.execute(select(users)):
        print(row._mapping["name"], dict(row._mapping), row._mapping.keys())

Also ``row.has_key(k)`` → ``k in row._mapping``, ``map(dict, rows)`` → ``map(dict,
(row._mapping for row in rows))`` (``[dict(row._mapping) for row in rows]`` inside
``list()``), and ``row[k]`` → ``row._mapping[k]`` where ``k`` iterates a row's or
result's ``keys()`` (or ``items()``).

Safety: SQLAlchemy 2.0 rows behave like named tuples: ``row["name"]`` raises, ``dict(row)``
fails and ``"name" in row`` tests the values. The mapping view keeps the 1.x meaning.
Only names bound to rows of an ``execute()`` result (iterated, or taken with
``fetchone()``/``first()``/``one()``, also through a name every binding of which is a
result) are
rewritten, and only for string or column keys;
integer indexes and attribute access (``row.name``) already work and are left alone.
A key that may be a name or an index (a parameter, a call) gets a TODO. A parameter of a
function of the module is a row when every call of the function, all in this module,
passes one; when only some do, its by-name reads get a TODO.
"""

from __future__ import annotations

from enum import Enum
from typing import Any, ClassVar

import libcst as cst
from libcst.metadata import (
    Assignment,
    BaseMetadataProvider,
    ClassScope,
    GlobalScope,
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
#: expressions that bind more loosely than ``in`` (parenthesized as its left operand)
LOOSER_THAN_IN = (
    cst.BooleanOperation,
    cst.Comparison,
    cst.IfExp,
    cst.Lambda,
    cst.NamedExpr,
    cst.UnaryOperation,
    cst.Yield,
)
#: where a comparison may stand without parentheses
TAKES_A_COMPARISON = (
    cst.Arg,
    cst.Assign,
    cst.AnnAssign,
    cst.Return,
    cst.Expr,
    cst.If,
    cst.While,
    cst.Assert,
    cst.BooleanOperation,
    cst.Element,
    cst.DictElement,
    cst.CompIf,
)


class KeyKind(Enum):
    NAME = "name"  # a column name (or Column): read through ``row._mapping``
    INDEX = "index"  # an integer position: works on 2.0 rows as is
    UNKNOWN = "unknown"


class ParamEvidence(Enum):
    NONE = "none"
    SOME_CALLS = "some"
    EVERY_CALL = "every"


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
        self._params: dict[int, ParamEvidence] = {}

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
        if isinstance(node, cst.Subscript) and _one_index(node):
            return self._is_rows_value(node.value)  # ``conn.execute(q).fetchall()[0]``
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
            elif isinstance(bound, cst.Param):
                if self._param_evidence(bound) is not ParamEvidence.EVERY_CALL:
                    return False
            else:
                return False
        return True

    # -- parameters of the module's functions --------------------------------------------------
    def _param_evidence(self, param: cst.Param) -> ParamEvidence:
        """Do the calls of the function ``param`` belongs to pass it a row? EVERY_CALL needs
        the function called only by name, only in this module, each call giving a row."""
        if id(param) not in self._params:
            self._params[id(param)] = ParamEvidence.NONE
            self._params[id(param)] = self._weigh_param(param)
        return self._params[id(param)]

    def _weigh_param(self, param: cst.Param) -> ParamEvidence:
        function = self._function_of(param)
        if function is None:
            return ParamEvidence.NONE
        calls, used_otherwise = self._calls_of(function)
        given = [self._argument_for(call, function, param) for call in calls]
        rows = [value is not None and self._is_row(value) for value in given]
        if not any(rows):
            return ParamEvidence.NONE
        if all(rows) and not used_otherwise and not self._reachable_elsewhere(function):
            return ParamEvidence.EVERY_CALL
        return ParamEvidence.SOME_CALLS

    def _function_of(self, param: cst.Param) -> cst.FunctionDef | None:
        """The plain function (no decorator, not a method) taking ``param`` by position
        or keyword."""
        parameters = self.get_metadata(ParentNodeProvider, param, None)
        function = self.get_metadata(ParentNodeProvider, parameters, None) if parameters else None
        if not isinstance(parameters, cst.Parameters) or not isinstance(function, cst.FunctionDef):
            return None
        if function.decorators or param not in (*parameters.posonly_params, *parameters.params):
            return None
        scope = self.get_metadata(ScopeProvider, function, None)
        if scope is None or isinstance(scope, ClassScope):
            return None
        return function

    def _calls_of(self, function: cst.FunctionDef) -> tuple[list[cst.Call], bool]:
        """The calls of ``function`` by its name, and whether the name is also used
        otherwise (handed on as a value, rebound)."""
        scope = self.get_metadata(ScopeProvider, function, None)
        bindings = list(scope[function.name.value]) if scope is not None else []
        if len(bindings) != 1 or getattr(bindings[0], "node", None) is not function:
            return [], True
        calls: list[cst.Call] = []
        used_otherwise = False
        for reference in bindings[0].references:
            parent = self.get_metadata(ParentNodeProvider, reference.node, None)
            if isinstance(parent, cst.Call) and parent.func is reference.node:
                calls.append(parent)
            else:
                used_otherwise = True
        return calls, used_otherwise

    def _argument_for(
        self, call: cst.Call, function: cst.FunctionDef, param: cst.Param
    ) -> cst.BaseExpression | None:
        if any(arg.star for arg in call.args):
            return None
        for arg in call.args:
            if arg.keyword is not None and arg.keyword.value == param.name.value:
                return arg.value
        parameters = function.params
        position = [*parameters.posonly_params, *parameters.params].index(param)
        positional = [arg for arg in call.args if arg.keyword is None]
        return positional[position].value if position < len(positional) else None

    def _reachable_elsewhere(self, function: cst.FunctionDef) -> bool:
        """Could another module call ``function``? Nested functions cannot be imported; a
        module-level one is reachable once another module imports or calls it."""
        scope = self.get_metadata(ScopeProvider, function, None)
        if not isinstance(scope, GlobalScope):
            return False
        index = self.state.index
        qualname = f"{self.state.module_name}.{function.name.value}"
        for module_name, module in index.modules.items():
            if module_name == self.state.module_name:
                continue
            if any(
                index.resolve_alias(imported) == qualname for imported in module.imports.values()
            ):
                return True
            for facts in module.functions.values():
                if any(index.resolve_alias(callee) == qualname for callee in facts.calls):
                    return True
        return False

    def _some_calls_give_rows(self, node: cst.BaseExpression) -> bool:
        """``node`` names a parameter some calls of its function give a row to."""
        if not isinstance(node, cst.Name):
            return False
        scope = self.get_metadata(ScopeProvider, node, None)
        bindings = [a.node for a in scope[node.value] if isinstance(a, Assignment)] if scope else []
        return any(
            isinstance(bound, cst.Param) and self._param_evidence(bound) is not ParamEvidence.NONE
            for bound in bindings
        )

    # -- what a subscript key is ---------------------------------------------------------------
    def _key_kind(self, key: cst.BaseExpression) -> KeyKind:
        if _is_key(key) or isinstance(key, cst.FormattedString):
            return KeyKind.NAME
        if _is_index(key):
            return KeyKind.INDEX
        if isinstance(key, cst.Name):
            return self._name_key_kind(key)
        return KeyKind.UNKNOWN

    def _name_key_kind(self, key: cst.Name) -> KeyKind:
        """A variable key: a name when every binding takes the keys of a row or result
        (``for k in row.keys()``, ``for k, v in row.items()``) or a string; an index when
        every binding is an integer or counts through ``range()``."""
        scope = self.get_metadata(ScopeProvider, key, None)
        assignments = list(scope[key.value]) if scope is not None else []
        kinds = {self._binding_key_kind(a) for a in assignments}
        if len(kinds) == 1:
            return kinds.pop()
        return KeyKind.UNKNOWN

    def _binding_key_kind(self, assignment: Any) -> KeyKind:
        bound = getattr(assignment, "node", None)
        if not isinstance(assignment, Assignment) or bound is None:
            return KeyKind.UNKNOWN
        parent = self.get_metadata(ParentNodeProvider, bound, None)
        if isinstance(parent, cst.For | cst.CompFor) and parent.target is bound:
            return self._iterated_key_kind(parent.iter, "keys")
        element = parent
        holder = self.get_metadata(ParentNodeProvider, element, None) if element else None
        loop = self.get_metadata(ParentNodeProvider, holder, None) if holder else None
        if (
            isinstance(element, cst.Element)
            and isinstance(holder, cst.Tuple)
            and isinstance(loop, cst.For | cst.CompFor)
            and loop.target is holder
            and len(holder.elements) == 2
            and holder.elements[0] is element
        ):
            return self._iterated_key_kind(loop.iter, "items")
        statement = self.get_metadata(ParentNodeProvider, parent, None) if parent else None
        if isinstance(parent, cst.AssignTarget) and isinstance(statement, cst.Assign):
            if isinstance(statement.value, cst.SimpleString | cst.ConcatenatedString):
                return KeyKind.NAME
            if _is_index(statement.value):
                return KeyKind.INDEX
        return KeyKind.UNKNOWN

    def _iterated_key_kind(self, iterated: cst.BaseExpression, method: str) -> KeyKind:
        if (
            isinstance(iterated, cst.Call)
            and isinstance(iterated.func, cst.Name)
            and qualified_names(self, iterated.func) & {"builtins.range"}
        ):
            return KeyKind.INDEX if method == "keys" else KeyKind.UNKNOWN
        if not (
            isinstance(iterated, cst.Call)
            and isinstance(iterated.func, cst.Attribute)
            and iterated.func.attr.value == method
            and not iterated.args
        ):
            return KeyKind.UNKNOWN
        owner = iterated.func.value
        if isinstance(owner, cst.Attribute) and owner.attr.value == "_mapping":
            owner = owner.value
        if self._is_row(owner) or (method == "keys" and self._is_result(owner)):
            return KeyKind.NAME
        return KeyKind.UNKNOWN

    def _bound_to(self, node: cst.Name, test: Any) -> bool:
        """Is every binding of the name a plain assignment of a value passing ``test``
        (``res = conn.execute(q)`` once, or again for each statement a function runs)?"""
        scope = self.get_metadata(ScopeProvider, node, None)
        if scope is None:
            return False
        assignments = list(scope[node.value])
        if not assignments:
            return False
        for assignment in assignments:
            if not isinstance(assignment, Assignment):
                return False
            parent = self.get_metadata(ParentNodeProvider, assignment.node, None)
            statement = self.get_metadata(ParentNodeProvider, parent, None) if parent else None
            if not (
                isinstance(parent, cst.AssignTarget)
                and isinstance(statement, cst.Assign)
                and test(statement.value)
            ):
                return False
        return True

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
        if not isinstance(element, cst.Index):
            return updated_node
        if self._is_row(original_node.value):
            kind = self._key_kind(element.value)
            if kind is KeyKind.NAME:
                return updated_node.with_changes(value=self._mapping(updated_node.value))
            if kind is KeyKind.UNKNOWN:
                self.todo(
                    original_node,
                    "2.0 rows take only integer indexes: if this key is a column name, "
                    "read it as `row._mapping[key]`",
                )
        elif _is_key(element.value) and self._some_calls_give_rows(original_node.value):
            self.todo(
                original_node,
                "a call of this module passes a result row here, other callers may not: "
                "2.0 rows are read by name through `row._mapping[...]`",
            )
        return updated_node

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.BaseExpression:
        func = original_node.func
        if self._is_has_key(original_node):
            return self._has_key_to_in(original_node, updated_node)
        if self._is_dict_map_of_rows(original_node):
            return self._dicts_of_rows(original_node, updated_node)
        if self._is_list_of_dict_map(original_node):
            return self._list_of_dicts(updated_node)
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

    def _is_has_key(self, call: cst.Call) -> bool:
        return (
            isinstance(call.func, cst.Attribute)
            and call.func.attr.value == "has_key"
            and len(call.args) == 1
            and call.args[0].keyword is None
            and not call.args[0].star
            and self._is_row(call.func.value)
        )

    def _has_key_to_in(self, original: cst.Call, call: cst.Call) -> cst.BaseExpression:
        """``row.has_key(k)`` → ``k in row._mapping``: both ask the result's keymap."""
        func = call.func
        assert isinstance(func, cst.Attribute)
        key = call.args[0].value
        if isinstance(key, LOOSER_THAN_IN):
            key = key.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])
        comparison = cst.Comparison(
            left=key,
            comparisons=[
                cst.ComparisonTarget(operator=cst.In(), comparator=self._mapping(func.value))
            ],
        )
        if call.lpar:
            return comparison.with_changes(lpar=call.lpar, rpar=call.rpar)
        parent = self.get_metadata(ParentNodeProvider, original, None)
        if isinstance(parent, TAKES_A_COMPARISON):
            return comparison
        return comparison.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])

    def _is_dict_map_of_rows(self, call: cst.Call) -> bool:
        """``map(dict, rows)``: ``dict()`` of each row."""
        return (
            len(call.args) == 2
            and all(arg.keyword is None and not arg.star for arg in call.args)
            and bool(qualified_names(self, call.func) & {"builtins.map"})
            and bool(qualified_names(self, call.args[0].value) & {"builtins.dict"})
            and self._is_rows(call.args[1].value)
        )

    def _is_list_of_dict_map(self, call: cst.Call) -> bool:
        return (
            len(call.args) == 1
            and call.args[0].keyword is None
            and not call.args[0].star
            and isinstance(call.args[0].value, cst.Call)
            and bool(qualified_names(self, call.func) & {"builtins.list"})
            and self._is_dict_map_of_rows(call.args[0].value)
        )

    def _dicts_of_rows(self, original: cst.Call, call: cst.Call) -> cst.Call:
        """``map(dict, rows)`` → ``map(dict, (row._mapping for row in rows))``, as lazy;
        inside ``list()`` the list builds ``[dict(row._mapping) for row in rows]``."""
        parent = self.get_metadata(ParentNodeProvider, original, None)
        holder = self.get_metadata(ParentNodeProvider, parent, None) if parent else None
        if isinstance(holder, cst.Call) and self._is_list_of_dict_map(holder):
            return call
        mappings = cst.GeneratorExp(
            elt=self._mapping(cst.Name("row")),
            for_in=_for_row_in(call.args[1].value),
        )
        return call.with_changes(args=[call.args[0], call.args[1].with_changes(value=mappings)])

    def _list_of_dicts(self, call: cst.Call) -> cst.ListComp:
        inner = call.args[0].value
        assert isinstance(inner, cst.Call)
        return cst.ListComp(
            elt=cst.Call(func=inner.args[0].value, args=[cst.Arg(self._mapping(cst.Name("row")))]),
            for_in=_for_row_in(inner.args[1].value),
            lpar=call.lpar,
            rpar=call.rpar,
        )

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


def _for_row_in(rows: cst.BaseExpression) -> cst.CompFor:
    return cst.CompFor(target=cst.Name("row"), iter=rows)


def _is_index(node: cst.BaseExpression) -> bool:
    if isinstance(node, cst.UnaryOperation) and isinstance(node.operator, cst.Minus | cst.Plus):
        node = node.expression
    return isinstance(node, cst.Integer)


def _is_key(node: cst.BaseExpression) -> bool:
    if isinstance(node, cst.SimpleString | cst.ConcatenatedString):
        return True
    # users.c.name: a Column object used as key
    return (
        isinstance(node, cst.Attribute)
        and isinstance(node.value, cst.Attribute)
        and node.value.attr.value == "c"
    )


def _one_index(node: cst.Subscript) -> bool:
    """``rows[0]``, not ``rows[1:]``."""
    return len(node.slice) == 1 and isinstance(node.slice[0].slice, cst.Index)
