"""The positional arguments of a legacy ``Query.paginate()`` become keywords.

Flask-SQLAlchemy 2.x took ``paginate(page, per_page, error_out, max_per_page)``
positionally; 3.x, which the migrated code needs (``db.paginate``, ``db.get_or_404``),
takes keywords only and raises ``TypeError: paginate() takes 1 positional argument``.
``query-to-select`` rewrites ``Model.query...paginate()`` into ``db.paginate(select(...),
page=...)``; the legacy queries it leaves keep their ``paginate()``: a ``lazy="dynamic"``
relationship's query (still a legacy ``Query`` in 2.0), or a chain it could not convert.

Before::

    posts = user.posts.order_by(Post.timestamp.desc()).paginate(page, 20, False)

After::

    posts = user.posts.order_by(Post.timestamp.desc()).paginate(
        page=page, per_page=20, error_out=False
    )

Safety: only in a project using Flask-SQLAlchemy, and only ``.paginate(...)`` with at
most four arguments, none starred, on a chain of calls and attributes that goes through
``.query`` or a ``lazy="dynamic"`` relationship of the project's models.
"""

from __future__ import annotations

from typing import Any

import libcst as cst

from sqla_upgrade.codemods.analysis.chains import keyword
from sqla_upgrade.codemods.base import Pass

#: Flask-SQLAlchemy 2.x ``Query.paginate``'s parameters, in order
POSITIONS = ("page", "per_page", "error_out", "max_per_page")


class PaginateKeywordsPass(Pass):
    """query.paginate(page, 20, False) → query.paginate(page=page, per_page=20, error_out=False)."""

    name = "paginate-keywords"
    triggers = (b".paginate(",)

    @classmethod
    def concerns(cls, code: bytes, path: str, index: Any) -> bool:
        """A project using Flask-SQLAlchemy, whose 3.x ``paginate()`` takes keywords."""
        return bool(index.flask_sqlalchemy_modules())

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.Call:
        func = original_node.func
        if not (isinstance(func, cst.Attribute) and func.attr.value == "paginate"):
            return updated_node
        args = original_node.args
        if not any(a.keyword is None for a in args) or len(args) > len(POSITIONS):
            return updated_node
        if any(a.star for a in args) or not self._legacy_query(func.value):
            return updated_node
        self.count_rewrite()
        return updated_node.with_changes(args=_named(list(updated_node.args)))

    def _legacy_query(self, node: cst.BaseExpression) -> bool:
        """Does the chain ending in ``node`` go through ``.query`` or a dynamic
        relationship (``user.posts.filter(...)``)?"""
        dynamic = self.state.index.dynamic_relationships()
        while isinstance(node, cst.Call | cst.Attribute):
            if isinstance(node, cst.Attribute):
                if node.attr.value == "query" or node.attr.value in dynamic:
                    return True
                node = node.value
            else:
                node = node.func
        return False


def _named(args: list[cst.Arg]) -> list[cst.Arg]:
    named = []
    for position, arg in enumerate(args):
        if arg.keyword is None:
            arg = keyword(POSITIONS[position], arg.value).with_changes(comma=arg.comma)
        named.append(arg)
    return named
