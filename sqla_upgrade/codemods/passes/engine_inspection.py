"""Replace the removed ``Engine`` inspection shortcuts with the inspector.

Before::

    tables = engine.table_names()
    if not engine.has_table("users"):
        metadata.create_all(engine)

After::

    tables = inspect(engine).get_table_names()
    if not inspect(engine).has_table("users"):
        metadata.create_all(engine)

Safety: ``Engine.table_names(schema=None)`` and ``Engine.has_table(name, schema=None)``
were removed in 2.0; ``inspect(engine).get_table_names(schema)`` and
``inspect(engine).has_table(name, schema)`` run the same reflection query on a
connection of the same engine, with the same arguments. ``table_names(connection=c)``
inspects that connection instead. Only receivers proven (or named) to be engines are
rewritten; under ``--target async`` the ``schema-run-sync`` pass then runs the inspection
through a connection's ``run_sync``.
"""

from __future__ import annotations

from typing import Any, ClassVar

import libcst as cst
from libcst.codemod.visitors import AddImportsVisitor
from libcst.metadata import BaseMetadataProvider

from sqla_upgrade.codemods.analysis.chains import with_separators
from sqla_upgrade.codemods.analysis.connectables import ConnectableResolver
from sqla_upgrade.codemods.analysis.sessions import Evidence
from sqla_upgrade.codemods.base import ANALYSIS_METADATA, Pass

#: removed ``Engine`` method → the ``Inspector`` method that replaces it
INSPECTOR_METHODS = {"table_names": "get_table_names", "has_table": "has_table"}


class EngineInspectionPass(Pass):
    """engine.table_names() / engine.has_table(t) → inspect(engine).get_table_names() / ..."""

    name = "engine-inspection"
    triggers = (b".table_names(", b".has_table(")
    METADATA_DEPENDENCIES: ClassVar[tuple[type[BaseMetadataProvider[Any]], ...]] = ANALYSIS_METADATA

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.connectables = ConnectableResolver(self)

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.BaseExpression:
        func = original_node.func
        if not (isinstance(func, cst.Attribute) and func.attr.value in INSPECTOR_METHODS):
            return updated_node
        if self.connectables.engine_evidence(func.value) not in (
            Evidence.PROOF,
            Evidence.ASSUMED,
        ):
            return updated_node
        updated_func = updated_node.func
        assert isinstance(updated_func, cst.Attribute)
        inspected, args = updated_func.value, list(updated_node.args)
        connection = [a for a in args if a.keyword is not None and a.keyword.value == "connection"]
        if connection:
            inspected = connection[0].value
            args = [a for a in args if a is not connection[0]]
        if any(a.star for a in args):
            self.todo(original_node, f"{func.attr.value}() with unpacked arguments was removed")
            return updated_node
        AddImportsVisitor.add_needed_import(self.context, "sqlalchemy", "inspect")
        self.count_rewrite()
        inspector = cst.Call(func=cst.Name("inspect"), args=[cst.Arg(inspected)])
        method = INSPECTOR_METHODS[func.attr.value]
        return updated_node.with_changes(
            func=cst.Attribute(value=inspector, attr=cst.Name(method)),
            args=with_separators(args),
        )
