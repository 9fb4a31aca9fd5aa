"""Remove bound metadata (``MetaData(bind=engine)``) and pass the engine where it was used.

Before::

    metadata = MetaData(bind=engine)
    users = Table("users", metadata, autoload=True)
    metadata.create_all()

After::

    metadata = MetaData()
    users = Table("users", metadata, autoload_with=engine)
    metadata.create_all(engine)

Safety: SQLAlchemy 2.0 removed bound metadata, so ``create_all()`` without an engine
raises. The engine the metadata was bound to (found in the project index, across
modules, also for ``declarative_base(bind=engine)`` and ``Base.metadata``) is passed
explicitly, which runs the same DDL on the same engine. A call on metadata whose binding
is unknown is left unchanged with a TODO, as is implicit execution of a Core statement
(``users.insert().execute(...)``, ``select(...).scalar()``), which only bound metadata
made possible.
"""

from __future__ import annotations

from typing import Any, ClassVar

import libcst as cst
from libcst.codemod.visitors import AddImportsVisitor
from libcst.metadata import BaseMetadataProvider, PositionProvider, QualifiedNameProvider

from sqla_upgrade.codemods.base import Pass
from sqla_upgrade.codemods.codegen import code_of
from sqla_upgrade.codemods.index.builder import BINDABLE
from sqla_upgrade.codemods.index.model import ObjectKind
from sqla_upgrade.codemods.names import qualified_names

SCHEMA_METHODS = frozenset({"create_all", "drop_all", "reflect"})
IMPLICIT_EXECUTION = frozenset({"execute", "scalar"})
TABLE_STATEMENTS = frozenset({"select", "insert", "update", "delete", "count"})
CORE_CONSTRUCTORS = frozenset(
    f"{module}.{name}"
    for module in ("sqlalchemy", "sqlalchemy.sql", "sqlalchemy.sql.expression")
    for name in ("select", "insert", "update", "delete")
)
TABLE = frozenset({"sqlalchemy.Table", "sqlalchemy.schema.Table"})


class BoundMetadataPass(Pass):
    """MetaData(bind=e) → MetaData(); metadata.create_all() → metadata.create_all(e)."""

    name = "bound-metadata"
    # a bound MetaData/declarative base is built by a call spelling the name imported
    # from SQLAlchemy (``bind=`` alone is also every ``sessionmaker(bind=engine)``, and
    # ``MetaData(engine)`` binds without it)
    triggers = (
        b"MetaData",
        b"declarative_base",
        b"generate_base",
        b"create_all(",
        b"drop_all(",
        b"reflect(",
        b"autoload",
        b").execute(",
        b").scalar(",
    )
    METADATA_DEPENDENCIES: ClassVar[tuple[type[BaseMetadataProvider[Any]], ...]] = (
        PositionProvider,
        QualifiedNameProvider,
    )

    def visit_Module(self, node: cst.Module) -> None:
        self._uses_sqlalchemy = "sqlalchemy" in code_of(node)

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.BaseExpression:
        func = original_node.func
        if (
            isinstance(func, cst.Attribute)
            and func.attr.value in IMPLICIT_EXECUTION
            and self._is_core_statement(func.value)
        ):
            self.todo(
                original_node,
                f"implicit execution (`statement.{func.attr.value}()`) was removed with bound "
                f"metadata: run it as `with engine.begin() as conn: conn.{func.attr.value}"
                "(statement, ...)`",
            )
            return updated_node
        names = qualified_names(self, original_node.func)
        if names & BINDABLE:
            return self._unbind(updated_node, names)
        if names & TABLE:
            return self._autoload(original_node, updated_node)
        func = original_node.func
        if isinstance(func, cst.Attribute) and func.attr.value in SCHEMA_METHODS:
            return self._schema_call(original_node, updated_node, func)
        return updated_node

    def _is_core_statement(self, node: cst.BaseExpression) -> bool:
        """``select(...)...``, ``users.insert()...``: a Core statement, which only bound
        metadata could execute by itself."""
        methods: list[str] = []
        while isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute):
            methods.append(node.func.attr.value)
            node = node.func.value
        if isinstance(node, cst.Call):
            return bool(qualified_names(self, node.func) & CORE_CONSTRUCTORS)
        return (
            bool(methods)
            and methods[-1] in TABLE_STATEMENTS
            and isinstance(node, cst.Name | cst.Attribute)
            and self._uses_sqlalchemy
        )

    def _unbind(self, call: cst.Call, names: set[str]) -> cst.Call:
        kept = [a for a in call.args if not (a.keyword is not None and a.keyword.value == "bind")]
        is_metadata = any(n.endswith("MetaData") for n in names)
        if is_metadata and kept and kept[0].keyword is None and not kept[0].star:
            kept = kept[1:]
        if len(kept) == len(call.args):
            return call
        self.count_rewrite()
        if kept:
            kept[-1] = kept[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
        return call.with_changes(args=kept)

    def _metadata_bind(self, node: cst.BaseExpression) -> str | None:
        """The engine bound to the metadata ``node`` names (``metadata``, ``Base.metadata``)."""
        binds = self.state.index.metadata_binds
        index = self.state.index
        for qualname in qualified_names(self, node):
            resolved = index.resolve_alias(qualname)
            if resolved in binds:
                return binds[resolved]
            owner, _, attr = resolved.rpartition(".")
            if attr == "metadata" and index.resolve_alias(owner) in binds:
                return binds[index.resolve_alias(owner)]
        return None

    def _is_metadata(self, node: cst.BaseExpression) -> bool:
        kind = None
        for qualname in qualified_names(self, node):
            kind = kind or self.state.index.kind_of(qualname)
        if kind is ObjectKind.METADATA:
            return True
        return isinstance(node, cst.Attribute) and node.attr.value == "metadata"

    def _schema_call(self, original: cst.Call, call: cst.Call, func: cst.Attribute) -> cst.Call:
        has_bind = any(a.keyword is None or a.keyword.value == "bind" for a in original.args)
        if has_bind:
            return call
        engine = self._metadata_bind(func.value)
        if engine is None:
            if self._is_metadata(func.value):
                self.todo(
                    original,
                    f"{func.attr.value}() needs the engine now that bound metadata is gone",
                )
            return call
        self.count_rewrite()
        first = cst.Arg(self._engine_expression(engine))
        rest = list(call.args)
        if rest:
            first = first.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
        return call.with_changes(args=[first, *rest])

    def _autoload(self, original: cst.Call, call: cst.Call) -> cst.Call:
        autoload = [a for a in call.args if a.keyword is not None and a.keyword.value == "autoload"]
        if not autoload or any(
            a.keyword is not None and a.keyword.value == "autoload_with" for a in call.args
        ):
            return call
        metadata = [a for a in original.args if a.keyword is None][1:2]
        engine = self._metadata_bind(metadata[0].value) if metadata else None
        if engine is None:
            self.todo(original, "Table(..., autoload=True) needs autoload_with=engine in 2.0")
            return call
        self.count_rewrite()
        replaced = [
            a.with_changes(keyword=cst.Name("autoload_with"), value=self._engine_expression(engine))
            if a is autoload[0]
            else a
            for a in call.args
        ]
        return call.with_changes(args=replaced)

    def _engine_expression(self, engine: str) -> cst.BaseExpression:
        module_name, _, attr = engine.rpartition(".")
        index = self.state.index
        facts = index.modules.get(self.state.module_name)
        if module_name == self.state.module_name:
            return cst.Name(attr)
        if facts is not None:
            for local, imported in facts.imports.items():
                if index.resolve_alias(imported) == index.resolve_alias(engine):
                    return cst.Name(local)
        AddImportsVisitor.add_needed_import(self.context, module_name, attr)
        return cst.Name(attr)
