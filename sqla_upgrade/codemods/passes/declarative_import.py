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

from typing import Any

import libcst as cst
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
ORM_MODULE = "sqlalchemy.orm"
NEW_MODULE = cst.Attribute(value=cst.Name("sqlalchemy"), attr=cst.Name("orm"))


class DeclarativeImportPass(Pass):
    """Import declarative_base & co. from sqlalchemy.orm instead of sqlalchemy.ext.declarative."""

    name = "declarative-import"
    triggers = (b"sqlalchemy.ext.declarative",)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._moved_out: list[cst.ImportAlias] = []

    def leave_ImportFrom(
        self, original_node: cst.ImportFrom, updated_node: cst.ImportFrom
    ) -> cst.ImportFrom | cst.RemovalSentinel:
        if updated_node.relative or updated_node.module is None:
            return updated_node
        module = get_full_name_for_node(updated_node.module)
        if module != OLD_MODULE:
            return updated_node
        if isinstance(updated_node.names, cst.ImportStar):
            return updated_node
        moved = [a for a in updated_node.names if _plain_name(a) in MOVED_NAMES]
        if not moved:
            return updated_node
        self.count_rewrite(len(moved))
        kept = [a for a in updated_node.names if _plain_name(a) not in MOVED_NAMES]
        if not kept:
            return updated_node.with_changes(module=NEW_MODULE)
        self._moved_out.extend(moved)
        last = kept[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
        return updated_node.with_changes(names=[*kept[:-1], last])

    def leave_SimpleStatementLine(
        self, original_node: cst.SimpleStatementLine, updated_node: cst.SimpleStatementLine
    ) -> cst.SimpleStatementLine | cst.FlattenSentinel[cst.SimpleStatementLine]:
        if not self._moved_out:
            return updated_node
        moved = [a.with_changes(comma=cst.MaybeSentinel.DEFAULT) for a in self._moved_out]
        self._moved_out = []
        names = [
            a.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
            for a in moved[:-1]
        ]
        new_import = cst.ImportFrom(module=NEW_MODULE, names=[*names, moved[-1]])
        return cst.FlattenSentinel([updated_node, cst.SimpleStatementLine(body=[new_import])])


def _plain_name(alias: cst.ImportAlias) -> str:
    return alias.evaluated_name
