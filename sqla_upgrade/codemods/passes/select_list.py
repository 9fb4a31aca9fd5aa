"""Rewrite the 1.x list form ``select([...])`` to the 2.0 positional form.

Before::

    stmt = select([users.c.id, users.c.name], users.c.active == True)
    stmt = select([User], order_by=[User.name], limit=10)

After::

    stmt = select(users.c.id, users.c.name).where(users.c.active == True)
    stmt = select(User).order_by(User.name).limit(10)

Safety: only calls that resolve to SQLAlchemy's ``select`` (however imported, or a
Flask-SQLAlchemy ``db.select``) are touched. The 1.x keyword arguments map to the
generative methods that build the identical statement; an argument with no exact
equivalent leaves the call unchanged with a TODO. A list held in a variable
(``select(cols)``) cannot be told apart from 2.0 code and is left alone.
"""

from __future__ import annotations

import re
from typing import Any

import libcst as cst
from libcst.metadata import (
    ParentNodeProvider,
    PositionProvider,
    QualifiedNameProvider,
    ScopeProvider,
)

from sqla_upgrade.codemods.base import Pass
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
    names = qualified_names(transformer, func)
    if not names.isdisjoint(SELECT_NAMES):
        return True
    if isinstance(func, cst.Attribute) and func.attr.value == "select":
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


#: ``select(`` whose first argument is a list: ``select([``, ``select(\n    [``,
#: ``select(  # columns\n    [``, ``select(([``
_LIST_SELECT = re.compile(rb"select\s*\((?:\s|#[^\n]*|\()*\[")


class SelectListPass(Pass):
    """select([a, b], whereclause, order_by=...) → select(a, b).where(...).order_by(...); as_scalar()."""

    name = "select-list"
    triggers = (b"select", b".as_scalar()")
    METADATA_DEPENDENCIES = (
        PositionProvider,
        QualifiedNameProvider,
        ScopeProvider,
        ParentNodeProvider,
    )

    @classmethod
    def concerns(cls, code: bytes, path: str, index: Any) -> bool:
        """Only where a ``select(`` opens a list (after any spaces, tabs, newlines,
        comments or parentheses), or ``.as_scalar()`` is called."""
        return b".as_scalar()" in code or _LIST_SELECT.search(code) is not None

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
        if first.star or not isinstance(first.value, cst.List | cst.ListComp):
            return updated_node
        if not is_sqlalchemy_select(self, original_node.func):
            return updated_node
        rewritten = self._rewrite(updated_node)
        if rewritten is None:
            self.todo(original_node, "select() with 1.x arguments that have no exact 2.0 form")
            return updated_node
        self.count_rewrite()
        return rewritten

    def _is_select_as_scalar(self, call: cst.Call) -> bool:
        """``select(...)....as_scalar()``: renamed ``scalar_subquery()`` in 1.4."""
        func = call.func
        if not (isinstance(func, cst.Attribute) and func.attr.value == "as_scalar") or call.args:
            return False
        node = func.value
        while isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute):
            node = node.func.value
        return isinstance(node, cst.Call) and is_sqlalchemy_select(self, node.func)

    def _rewrite(self, call: cst.Call) -> cst.BaseExpression | None:
        columns = list_to_args(call.args[0].value)
        if columns is None:
            return None
        result: cst.BaseExpression = call.with_changes(args=columns)
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
            if keyword not in KEYWORD_METHODS:
                return None
            method, spread = KEYWORD_METHODS[keyword]
            args = self._spread(arg.value) if spread else [cst.Arg(arg.value)]
            if args is None:
                return None
            result = method_call(result, method, args or [cst.Arg(arg.value)])
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
