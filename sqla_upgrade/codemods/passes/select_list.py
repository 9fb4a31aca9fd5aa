"""Rewrite the 1.x list form ``select([...])`` to the 2.0 positional form.

Before::

    stmt = select([users.c.id, users.c.name], users.c.active == True)
    stmt = select([User], order_by=[User.name], limit=10)

After::

    stmt = select(users.c.id, users.c.name).where(users.c.active == True)
    stmt = select(User).order_by(User.name).limit(10)

``exists([col], whereclause, from_obj=...)`` (1.x handed its arguments to ``select()``)
becomes ``exists(col).where(whereclause).select_from(...)``; 2.0's ``exists()`` takes one
column, so a list of several (or a comprehension) and the other keywords get a TODO
(``select(a, b)....exists()`` builds the same EXISTS).

Safety: only calls that resolve to SQLAlchemy's ``select``/``exists`` (however imported,
or a Flask-SQLAlchemy ``db.select``) are touched. The 1.x keyword arguments map to the
generative methods that build the identical statement (``use_labels=True`` →
``.set_label_style(LABEL_STYLE_TABLENAME_PLUS_COL)``, ``correlate=False`` →
``.correlate(None)``, their defaults vanish); an argument with no exact equivalent (or a
flag that is not a literal) leaves the call unchanged with a TODO. A list held in a variable
(``cols = []``, ``cols.append(c)``, ``select(cols)``), which 2.0's ``select()`` refuses, is
spread (``select(*cols)``) when every binding of the name is a list (a display naming no
mapped class, a comprehension, ``list(...)``); any other variable is left alone.

A list naming a mapped class (``select([User])``, a model the project index knows, or
``aliased(User)``) selected the class's table columns in 1.3, whatever ran it; from 1.4
on, ``select(User)`` run by a ``Session`` gives rows holding ``User`` objects instead. It is
rewritten only where the statement (through generative calls, or a local variable every
use of which is such an execution) is run by a ``Connection`` or an ``Engine``
(``conn.execute(...)``, ``conn.scalar(...)``), which still give column rows; elsewhere
(a session, a helper's return value, anything not followed) it is left with a TODO to
choose ``select(User.__table__)`` (the 1.x columns) or ``select(User)`` (objects).
"""

from __future__ import annotations

import re
from typing import Any

import libcst as cst
from libcst.codemod.visitors import AddImportsVisitor
from libcst.metadata import (
    Assignment,
    GlobalScope,
    ParentNodeProvider,
    PositionProvider,
    QualifiedNameProvider,
    ScopeProvider,
)

from sqla_upgrade.codemods.analysis.connectables import ConnectableResolver
from sqla_upgrade.codemods.analysis.entities import ALIASED
from sqla_upgrade.codemods.analysis.sessions import Evidence
from sqla_upgrade.codemods.base import Pass
from sqla_upgrade.codemods.codegen import code_of
from sqla_upgrade.codemods.index.model import ObjectKind
from sqla_upgrade.codemods.names import assigned_values, qualified_names

SELECT_NAMES = frozenset(
    {
        "sqlalchemy.select",
        "sqlalchemy.sql.select",
        "sqlalchemy.sql.expression.select",
        "sqlalchemy.sql.selectable.select",
        "sqlalchemy.future.select",
    }
)

EXISTS_NAMES = frozenset(
    {
        "sqlalchemy.exists",
        "sqlalchemy.sql.exists",
        "sqlalchemy.sql.expression.exists",
        "sqlalchemy.sql.selectable.exists",
    }
)
#: the 1.x ``exists()`` keywords the 2.0 ``Exists`` has a method for
EXISTS_KEYWORDS = {"whereclause": "where", "from_obj": "select_from"}
#: methods of a connection or an engine that run a statement and give its rows/value
EXECUTING = frozenset({"execute", "scalar"})
#: Select methods giving a Select (``apply_labels()`` on a chain of them)
SELECT_GENERATIVE = frozenset(
    {
        "where",
        "filter",
        "filter_by",
        "order_by",
        "group_by",
        "having",
        "limit",
        "offset",
        "distinct",
        "select_from",
        "join",
        "outerjoin",
        "join_from",
        "outerjoin_from",
        "correlate",
        "correlate_except",
        "with_only_columns",
        "add_columns",
        "column",
        "prefix_with",
        "suffix_with",
        "with_hint",
        "with_for_update",
        "options",
        "execution_options",
        "params",
        "set_label_style",
        "apply_labels",
    }
)
#: those of them giving a ``Select`` of the same entities
GENERATIVE = SELECT_GENERATIVE - {"with_only_columns", "add_columns", "column"}
MAX_DEPTH = 10  # variables followed from a statement to where it runs
ENTITY_TODO = (
    "select() of the mapped class `{entity}`: run by a Session, SQLAlchemy 1.3 gave the "
    "table's column rows, 1.4 and 2.0 give rows holding {entity} objects; write "
    "select({entity}.__table__, ...) for the column rows, or select({entity}, ...) for objects"
)

#: ``use_labels=True`` → ``.set_label_style(LABEL_STYLE)``
LABEL_STYLE = "LABEL_STYLE_TABLENAME_PLUS_COL"
# 1.x keyword → (2.0 method, whether a list value is spread into positional args)
KEYWORD_METHODS: dict[str, tuple[str, bool]] = {
    "whereclause": ("where", False),
    "from_obj": ("select_from", True),
    "order_by": ("order_by", True),
    "group_by": ("group_by", True),
    "having": ("having", False),
    "limit": ("limit", False),
    "offset": ("offset", False),
}


def is_sqlalchemy_select(transformer: Pass, func: cst.BaseExpression) -> bool:
    return _is_sqlalchemy_function(transformer, func, "select", SELECT_NAMES)


def is_sqlalchemy_exists(transformer: Pass, func: cst.BaseExpression) -> bool:
    return _is_sqlalchemy_function(transformer, func, "exists", EXISTS_NAMES)


def _is_sqlalchemy_function(
    transformer: Pass, func: cst.BaseExpression, name: str, qualnames: frozenset[str]
) -> bool:
    """SQLAlchemy's function ``name`` (by ``qualnames``), or a Flask-SQLAlchemy ``db.name``."""
    if not qualified_names(transformer, func).isdisjoint(qualnames):
        return True
    if isinstance(func, cst.Attribute) and func.attr.value == name:
        index = transformer.state.index
        owners = qualified_names(transformer, func.value)
        return any(index.kind_of(o) is ObjectKind.FLASK_SQLALCHEMY for o in owners)
    return False


def list_to_args(value: cst.BaseExpression) -> list[cst.Arg] | None:
    """``[a, b]`` → args ``a, b``; ``[x for x in y]`` → ``*[x for x in y]``."""
    if isinstance(value, cst.List | cst.Tuple):
        args = [cst.Arg(value=e.value, comma=e.comma) for e in value.elements]
        if args and any(isinstance(e, cst.StarredElement) for e in value.elements):
            return [
                cst.Arg(value=e.value, star="*", comma=e.comma)
                if isinstance(e, cst.StarredElement)
                else cst.Arg(value=e.value, comma=e.comma)
                for e in value.elements
            ]
        if args:
            args[-1] = args[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
        return args
    if isinstance(value, cst.ListComp):
        return [cst.Arg(value=value, star="*")]
    return None


def method_call(base: cst.BaseExpression, method: str, args: list[cst.Arg]) -> cst.Call:
    return cst.Call(func=cst.Attribute(value=base, attr=cst.Name(method)), args=args)


#: ``select(``/``exists(`` whose first argument is a list: ``select([``,
#: ``select(\n    [``, ``select(  # columns\n    [``, ``select(([``
_LIST_SELECT = re.compile(rb"(?:select|exists)\s*\((?:\s|#[^\n]*|\()*\[")

#: ``select(cols)`` / ``select(cols, whereclause)``: a name, maybe bound to a list
_NAMED_SELECT = re.compile(rb"\bselect\s*\(\s*([A-Za-z_]\w*)\s*[,)]")


class SelectListPass(Pass):
    """select([a, b], whereclause, order_by=...) → select(a, b).where(...).order_by(...); as_scalar()."""

    name = "select-list"
    triggers = (b"select", b"exists", b".as_scalar()")
    METADATA_DEPENDENCIES = (
        PositionProvider,
        QualifiedNameProvider,
        ScopeProvider,
        ParentNodeProvider,
    )

    @classmethod
    def concerns(cls, code: bytes, path: str, index: Any) -> bool:
        """Only where a ``select(``/``exists(`` opens a list (after any spaces, tabs, newlines,
        comments or parentheses), or ``.as_scalar()`` is called."""
        if b".as_scalar()" in code or _LIST_SELECT.search(code) is not None:
            return True
        # ``cols = [...]`` ... ``select(cols)``
        return any(
            re.search(rb"\b" + re.escape(m.group(1)) + rb"\s*=\s*(?:\[|list\()", code)
            for m in _NAMED_SELECT.finditer(code)
        )

    def visit_Module(self, node: cst.Module) -> None:
        self._module = node
        self._connectables = ConnectableResolver(self)

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.BaseExpression:
        if self._is_select_as_scalar(original_node):
            func = updated_node.func
            assert isinstance(func, cst.Attribute)
            self.count_rewrite()
            return updated_node.with_changes(
                func=func.with_changes(attr=cst.Name("scalar_subquery"))
            )
        if not updated_node.args or updated_node.args[0].keyword is not None:
            return updated_node
        first = updated_node.args[0]
        if first.star:
            return updated_node
        if isinstance(first.value, cst.Name) and self._names_list(first.value):
            # ``cols = [...]; cols.append(c); select(cols)``: 2.0's select() refuses a list
            if not is_sqlalchemy_select(self, original_node.func):
                return updated_node
            columns: list[cst.Arg] | None = [cst.Arg(value=first.value, star="*")]
        elif isinstance(first.value, cst.List | cst.ListComp):
            if is_sqlalchemy_exists(self, original_node.func):
                return self._exists(original_node, updated_node)
            if not is_sqlalchemy_select(self, original_node.func):
                return updated_node
            columns = None
        else:
            return updated_node
        rewritten = self._rewrite(updated_node, columns)
        if rewritten is None:
            self.todo(original_node, "select() with 1.x arguments that have no exact 2.0 form")
            return updated_node
        entity = self._mapped_class_selected(original_node)
        if entity is not None and not self._run_by_connection(original_node):
            self.todo(original_node, ENTITY_TODO.format(entity=entity))
            return updated_node
        self.count_rewrite()
        return rewritten

    # -- exists([...]) ----------------------------------------------------------------------
    def _exists(self, original: cst.Call, call: cst.Call) -> cst.BaseExpression:
        rewritten = self._rewrite_exists(call)
        if isinstance(rewritten, str):
            self.todo(original, f"exists() with 1.x arguments: {rewritten}")
            return call
        self.count_rewrite()
        return rewritten

    def _rewrite_exists(self, call: cst.Call) -> cst.BaseExpression | str:
        """``exists([col], cond, from_obj=t)`` → ``exists(col).where(cond).select_from(t)``,
        or why it cannot be written so."""
        columns = call.args[0].value
        if not (
            isinstance(columns, cst.List)
            and len(columns.elements) == 1
            and not isinstance(columns.elements[0], cst.StarredElement)
        ):
            return (
                "2.0's exists() takes one column; write select(<the columns>)....exists() "
                "for the same EXISTS"
            )
        result: cst.BaseExpression = call.with_changes(args=[cst.Arg(columns.elements[0].value)])
        rest = call.args[1:]
        if rest and rest[0].keyword is None and not rest[0].star:
            result = method_call(result, "where", [cst.Arg(rest[0].value)])
            rest = rest[1:]
        for arg in rest:
            keyword = arg.keyword.value if arg.keyword is not None else None
            if keyword not in EXISTS_KEYWORDS or arg.star:
                return (
                    f"`{keyword or arg.star or 'a positional argument'}` has no 2.0 exists() form"
                )
            args = self._spread(arg.value) if keyword == "from_obj" else [cst.Arg(arg.value)]
            if args is None:
                return "`from_obj=` may be a list or one clause"
            if args:
                result = method_call(result, EXISTS_KEYWORDS[keyword], args)
        return result

    # -- select([User]) run by a Session ----------------------------------------------------
    def _mapped_class_selected(self, call: cst.Call) -> str | None:
        """The source of a mapped class (``User``, ``aliased(User)``) in the list."""
        columns = call.args[0].value
        if not isinstance(columns, cst.List):
            return None
        for element in columns.elements:
            value = element.value
            if self._is_mapped_class(value):
                return code_of(self._module, value)
        return None

    def _is_mapped_class(self, node: cst.BaseExpression) -> bool:
        if isinstance(node, cst.Call):
            return bool(qualified_names(self, node.func) & ALIASED)
        if not isinstance(node, cst.Name | cst.Attribute):
            return False
        index = self.state.index
        return any(index.model(q) is not None for q in qualified_names(self, node))

    def _run_by_connection(self, statement: cst.BaseExpression, depth: int = 0) -> bool:
        """Is ``statement`` only run by a connection or an engine: the first argument of
        its ``execute()``/``scalar()``, after generative calls, or kept in a local whose
        every use is so?"""
        if depth > MAX_DEPTH:
            return False
        node = self._through_generative_calls(statement)
        parent = self.get_metadata(ParentNodeProvider, node, None)
        if isinstance(parent, cst.Arg):
            return self._is_connection_execution(node, parent)
        if isinstance(parent, cst.Assign) and parent.value is node:
            return self._assigned_statement_run_by_connection(parent, depth)
        return False

    def _through_generative_calls(self, node: cst.BaseExpression) -> cst.BaseExpression:
        """``select(...)`` → the outermost ``select(...).where(...).order_by(...)``."""
        while True:
            attribute = self.get_metadata(ParentNodeProvider, node, None)
            if not (
                isinstance(attribute, cst.Attribute)
                and attribute.value is node
                and attribute.attr.value in GENERATIVE
            ):
                return node
            call = self.get_metadata(ParentNodeProvider, attribute, None)
            if not (isinstance(call, cst.Call) and call.func is attribute):
                return node
            node = call

    def _is_connection_execution(self, node: cst.BaseExpression, arg: cst.Arg) -> bool:
        call = self.get_metadata(ParentNodeProvider, arg, None)
        if not (
            isinstance(call, cst.Call)
            and call.args
            and call.args[0] is arg
            and arg.keyword is None
            and isinstance(call.func, cst.Attribute)
            and call.func.attr.value in EXECUTING
        ):
            return False
        receiver = call.func.value
        sure = (Evidence.PROOF, Evidence.ASSUMED)
        if self._connectables.sessions.evidence(receiver) in sure:
            return False
        return (
            self._connectables.connection_evidence(receiver) in sure
            or self._connectables.engine_evidence(receiver) in sure
        )

    def _assigned_statement_run_by_connection(self, assign: cst.Assign, depth: int) -> bool:
        """``stmt = select([User])`` then only ``conn.execute(stmt)`` (also through
        ``stmt = stmt.where(...)``)."""
        if len(assign.targets) != 1 or not isinstance(assign.targets[0].target, cst.Name):
            return False
        target = assign.targets[0].target
        scope = self.get_metadata(ScopeProvider, target, None)
        if scope is None or isinstance(scope, GlobalScope):
            return False  # a module-level statement may be imported and run anywhere
        uses = [
            access.node
            for assignment in scope.assignments[target.value]
            if isinstance(assignment, Assignment) and assignment.node is target
            for access in assignment.references
        ]
        return bool(uses) and all(
            isinstance(use, cst.Name) and self._run_by_connection(use, depth + 1) for use in uses
        )

    def _is_select_as_scalar(self, call: cst.Call) -> bool:
        """``select(...)....as_scalar()``: renamed ``scalar_subquery()`` in 1.4."""
        func = call.func
        if not (isinstance(func, cst.Attribute) and func.attr.value == "as_scalar") or call.args:
            return False
        node = func.value
        while isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute):
            node = node.func.value
        return isinstance(node, cst.Call) and is_sqlalchemy_select(self, node.func)

    def _names_list(self, name: cst.Name) -> bool:
        """Is ``name`` bound only to lists (displays, comprehensions, ``list(...)``), none
        naming a mapped class?"""
        bound = assigned_values(self, name)
        if not bound:
            return False
        for value in bound:
            if isinstance(value, cst.List):
                if any(self._is_mapped_class(element.value) for element in value.elements):
                    return False
            elif isinstance(value, cst.Call) and isinstance(value.func, cst.Name):
                if "builtins.list" not in qualified_names(self, value.func):
                    return False
            elif not isinstance(value, cst.ListComp):
                return False
        return True

    def _rewrite(
        self, call: cst.Call, columns: list[cst.Arg] | None = None
    ) -> cst.BaseExpression | None:
        if columns is None:
            columns = list_to_args(call.args[0].value)
        if columns is None:
            return None
        result: cst.BaseExpression = call.with_changes(args=columns)
        labelled = False
        rest = call.args[1:]
        if rest and rest[0].keyword is None and not rest[0].star:
            result = method_call(result, "where", [cst.Arg(rest[0].value)])
            rest = rest[1:]
        for arg in rest:
            if arg.keyword is None or arg.star:
                return None
            keyword = arg.keyword.value
            if keyword == "distinct":
                if not (isinstance(arg.value, cst.Name) and arg.value.value == "True"):
                    return None
                result = method_call(result, "distinct", [])
                continue
            if keyword in ("use_labels", "correlate"):
                flag = arg.value.value if isinstance(arg.value, cst.Name) else None
                if flag not in ("True", "False"):
                    return None
                if keyword == "use_labels" and flag == "True":
                    labelled = True
                    style = [cst.Arg(cst.Name(LABEL_STYLE))]
                    result = method_call(result, "set_label_style", style)
                elif keyword == "correlate" and flag == "False":  # no auto-correlation
                    result = method_call(result, "correlate", [cst.Arg(cst.Name("None"))])
                continue
            if keyword not in KEYWORD_METHODS:
                return None
            method, spread = KEYWORD_METHODS[keyword]
            args = self._spread(arg.value) if spread else [cst.Arg(arg.value)]
            if args is None:
                return None
            result = method_call(result, method, args or [cst.Arg(arg.value)])
        if labelled:
            AddImportsVisitor.add_needed_import(self.context, "sqlalchemy", LABEL_STYLE)
        return result

    def _spread(self, value: cst.BaseExpression) -> list[cst.Arg] | None:
        """The arguments of ``from_obj=``/``order_by=``/``group_by=``, which took one
        clause or a list of them: a list's elements; one clause as it is; a local name
        bound only to lists spread with ``*``; None when that cannot be told."""
        listed = list_to_args(value)
        if listed is not None:
            return listed
        if not isinstance(value, cst.Name):
            return [cst.Arg(value)]  # a table, a join, a column, desc(...): one clause
        bound = assigned_values(self, value, skip_imports=True)  # []: imported
        if bound is None:
            return None
        if bound and all(isinstance(v, cst.List | cst.Tuple | cst.ListComp) for v in bound):
            return [cst.Arg(value=value, star="*")]
        if all(isinstance(v, cst.Call | cst.Attribute | cst.Subscript) for v in bound):
            return [cst.Arg(value)]  # imported (a table), or assigned one clause
        return None
