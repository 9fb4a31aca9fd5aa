"""Move declarative imports from ``sqlalchemy.ext.declarative`` to ``sqlalchemy.orm``.

Before::

    from sqlalchemy.ext.declarative import declarative_base, declared_attr

After::

    from sqlalchemy.orm import declarative_base, declared_attr

Safety: only the names that SQLAlchemy 1.4 moved (``declarative_base``,
``declared_attr``, ``as_declarative``, ``has_inherited_table``, ``synonym_for``,
``DeclarativeMeta``) are moved; ``ConcreteBase``, ``DeferredReflection`` and the other
extension classes stay where they are. The objects are the same, so meaning is kept.
"""

from __future__ import annotations

import libcst as cst
from libcst.codemod.visitors import AddImportsVisitor
from libcst.helpers import get_full_name_for_node

from sqla_upgrade.codemods.base import Pass

MOVED_NAMES = frozenset(
    {
        "declarative_base",
        "declared_attr",
        "as_declarative",
        "has_inherited_table",
        "synonym_for",
        "DeclarativeMeta",
    }
)
OLD_MODULE = "sqlalchemy.ext.declarative"


class DeclarativeImportPass(Pass):
    """Import declarative_base & co. from sqlalchemy.orm instead of sqlalchemy.ext.declarative."""

    name = "declarative-import"
    triggers = (b"sqlalchemy.ext.declarative",)

    def leave_ImportFrom(
        self, original_node: cst.ImportFrom, updated_node: cst.ImportFrom
    ) -> cst.ImportFrom | cst.RemovalSentinel:
        if updated_node.relative or updated_node.module is None:
            return updated_node
        if get_full_name_for_node(updated_node.module) != OLD_MODULE:
            return updated_node
        if isinstance(updated_node.names, cst.ImportStar):
            return updated_node
        moved = [a for a in updated_node.names if _plain_name(a) in MOVED_NAMES]
        if not moved:
            return updated_node
        self.count_rewrite(len(moved))
        kept = [a for a in updated_node.names if _plain_name(a) not in MOVED_NAMES]
        if not kept:
            return updated_node.with_changes(module=cst.parse_expression("sqlalchemy.orm"))
        for alias in moved:
            asname = alias.evaluated_alias
            AddImportsVisitor.add_needed_import(
                self.context, "sqlalchemy.orm", alias.evaluated_name, asname
            )
        last = kept[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
        return updated_node.with_changes(names=[*kept[:-1], last])


def _plain_name(alias: cst.ImportAlias) -> str:
    return alias.evaluated_name
