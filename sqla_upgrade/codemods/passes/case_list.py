"""Rewrite the 1.x list form of ``case()`` to positional ``when`` tuples.

Before::

    case([(User.age < 18, "minor"), (User.age < 65, "adult")], else_="senior")

After::

    case((User.age < 18, "minor"), (User.age < 65, "adult"), else_="senior")

Safety: only calls resolving to SQLAlchemy's ``case`` whose first argument (or
``whens=``) is a literal list are rewritten; the dictionary form with ``value=`` is
already valid 2.0 and untouched. A list held in a variable becomes ``*whens``, which
SQLAlchemy 2.0 accepts with the same meaning. A when written as a two-element list
(``case([[cond, value]])``, which 1.x took) becomes a tuple: 2.0 would read a list
first argument as the whole 1.x list of whens.
"""

from __future__ import annotations

import libcst as cst
from libcst.metadata import PositionProvider, QualifiedNameProvider

from sqla_upgrade.codemods.base import Pass
from sqla_upgrade.codemods.index.model import ObjectKind
from sqla_upgrade.codemods.names import qualified_names
from sqla_upgrade.codemods.passes.select_list import list_to_args

CASE_NAMES = frozenset(
    {
        "sqlalchemy.case",
        "sqlalchemy.sql.case",
        "sqlalchemy.sql.expression.case",
        "sqlalchemy.sql.elements.Case",
    }
)


class CaseListPass(Pass):
    """case([(cond, value), ...], else_=x) → case((cond, value), ..., else_=x)."""

    name = "case-list"
    triggers = (b"case(",)
    METADATA_DEPENDENCIES = (PositionProvider, QualifiedNameProvider)

    def _is_case(self, func: cst.BaseExpression) -> bool:
        if not qualified_names(self, func).isdisjoint(CASE_NAMES):
            return True
        if isinstance(func, cst.Attribute) and func.attr.value == "case":
            owners = qualified_names(self, func.value)
            index = self.state.index
            return any(index.kind_of(o) is ObjectKind.FLASK_SQLALCHEMY for o in owners)
        return False

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.Call:
        whens_at = _whens_position(updated_node)
        if whens_at is None or not self._is_case(original_node.func):
            return updated_node
        whens = updated_node.args[whens_at]
        spread = list_to_args(whens.value)
        if spread is None:
            return updated_node
        spread = [arg.with_changes(value=_pair_tuple(arg.value)) for arg in spread]
        if spread:
            spread[-1] = spread[-1].with_changes(comma=whens.comma)
        others = [a for i, a in enumerate(updated_node.args) if i != whens_at]
        self.count_rewrite()
        return updated_node.with_changes(args=[*spread, *others])


def _pair_tuple(when: cst.BaseExpression) -> cst.BaseExpression:
    """``[cond, value]`` (a when written as a list, which 1.x took) → ``(cond, value)``:
    2.0 reads a list first argument as the whole 1.x list of whens."""
    if not isinstance(when, cst.List) or len(when.elements) != 2:
        return when
    if any(isinstance(e, cst.StarredElement) for e in when.elements):
        return when
    return cst.Tuple(
        elements=when.elements,
        lpar=[cst.LeftParen(whitespace_after=when.lbracket.whitespace_after)],
        rpar=[cst.RightParen(whitespace_before=when.rbracket.whitespace_before)],
    )


def _whens_position(call: cst.Call) -> int | None:
    for position, arg in enumerate(call.args):
        is_whens = (arg.keyword is None and position == 0 and not arg.star) or (
            arg.keyword is not None and arg.keyword.value == "whens"
        )
        if is_whens and isinstance(arg.value, cst.List | cst.ListComp):
            return position
    return None
