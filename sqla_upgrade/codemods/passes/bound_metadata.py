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
from libcst.metadata import (
    Assignment,
    BaseMetadataProvider,
    GlobalScope,
    ParentNodeProvider,
    PositionProvider,
    QualifiedNameProvider,
    ScopeProvider,
)

from sqla_upgrade.codemods.base import Pass
from sqla_upgrade.codemods.codegen import code_of
from sqla_upgrade.codemods.index.builder import BINDABLE
from sqla_upgrade.codemods.index.model import SCHEMA_METHODS, ObjectKind
from sqla_upgrade.codemods.names import qualified_names

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
        b".bind",
    )
    METADATA_DEPENDENCIES: ClassVar[tuple[type[BaseMetadataProvider[Any]], ...]] = (
        PositionProvider,
        QualifiedNameProvider,
        ScopeProvider,
        ParentNodeProvider,
    )

    def visit_Module(self, node: cst.Module) -> None:
        self._uses_sqlalchemy = "sqlalchemy" in code_of(node)
        reads = BindReads()
        node.visit(reads)
        reassigned = {self._bind_owner(target) for target in reads.assigned} - {None}
        #: each read of a binding: the engine it becomes, None when it cannot be named
        self._bind_reads: dict[int, tuple[str, cst.Name] | None] = {}
        #: bindable objects (qualified names) whose binding stays for a read left as is
        self._kept_binds: set[str] = set()
        for read in reads.read:
            self._plan_bind_read(read, reassigned)

    def _plan_bind_read(self, read: cst.Attribute, reassigned: set[str | None]) -> None:
        owner = self._bind_owner(read.value)
        if owner is None:
            if self._is_core_table(read.value):
                self._bind_reads[id(read)] = None
            return
        engine = self.state.index.metadata_binds.get(owner)
        local = self._visible_engine(engine, read) if engine and owner not in reassigned else None
        if local is None:
            self._kept_binds.add(owner)
            self._bind_reads[id(read)] = None
        else:
            self._bind_reads[id(read)] = (engine, local)  # type: ignore[assignment]

    def leave_Attribute(
        self, original_node: cst.Attribute, updated_node: cst.Attribute
    ) -> cst.BaseExpression:
        if id(original_node) not in self._bind_reads:
            return updated_node
        planned = self._bind_reads[id(original_node)]
        if planned is None:
            self.todo(
                original_node,
                "`.bind` was removed with bound metadata in 2.0: use the engine here (None "
                "where the metadata was not bound)",
            )
            return updated_node
        engine, local = planned
        self.count_rewrite()
        if not self._engine_in_scope(engine):
            module_name, _, attr = engine.rpartition(".")
            AddImportsVisitor.add_needed_import(self.context, module_name, attr)
        return local.with_changes(lpar=updated_node.lpar, rpar=updated_node.rpar)

    # -- whose binding a ``.bind`` reads -----------------------------------------------------
    def _bind_owner(self, node: cst.BaseExpression) -> str | None:
        """The MetaData or declarative base (qualified) whose binding ``node.bind`` reads:
        ``metadata``, ``Base.metadata``, ``Model.metadata``, a table of this module,
        ``table.metadata``."""
        index = self.state.index
        for qualname in qualified_names(self, node):
            resolved = index.resolve_alias(qualname)
            if resolved in index.metadata_binds or index.kind_of(resolved) is ObjectKind.METADATA:
                return resolved
        if isinstance(node, cst.Attribute) and node.attr.value == "metadata":
            return self._declared_owner(node.value) or self._table_metadata(node.value)
        return self._table_metadata(node)

    def _declared_owner(self, node: cst.BaseExpression) -> str | None:
        """The declarative base (``Base``, or the one a model derives from) ``node`` names."""
        index = self.state.index
        pending = [index.resolve_alias(q) for q in qualified_names(self, node)]
        seen: set[str] = set()
        while pending:
            qualname = pending.pop()
            if qualname in seen:
                continue
            seen.add(qualname)
            if qualname in index.metadata_binds:
                return qualname
            model = index.model(qualname)
            if model is not None:
                pending.extend(index.resolve_alias(base) for base in model.bases)
        return None

    def _table_metadata(self, node: cst.BaseExpression) -> str | None:
        """The owner of the metadata given to ``Table(name, metadata, ...)`` for a table
        assigned once in this module."""
        if not isinstance(node, cst.Name):
            return None
        scope = self.get_metadata(ScopeProvider, node, None)
        bindings = list(scope[node.value]) if scope is not None else []
        if len(bindings) != 1 or not isinstance(bindings[0], Assignment):
            return None
        target = self.get_metadata(ParentNodeProvider, bindings[0].node, None)
        statement = self.get_metadata(ParentNodeProvider, target, None) if target else None
        if not (isinstance(target, cst.AssignTarget) and isinstance(statement, cst.Assign)):
            return None
        table = statement.value
        if not (isinstance(table, cst.Call) and qualified_names(self, table.func) & TABLE):
            return None
        positional = [a for a in table.args if a.keyword is None and not a.star]
        if len(positional) < 2 or isinstance(positional[1].value, cst.Call):
            return None
        return self._bind_owner(positional[1].value)

    def _is_core_table(self, node: cst.BaseExpression) -> bool:
        tables = self.state.index.core_tables
        index = self.state.index
        return any(index.resolve_alias(q) in tables for q in qualified_names(self, node))

    # -- naming the engine where the binding is read ------------------------------------
    def _visible_engine(self, engine: str, read: cst.CSTNode) -> cst.Name | None:
        """The name the engine has at ``read``, or can get through an import: one
        module-level binding of it, not shadowed there."""
        local = self._engine_name(engine)
        scope = self.get_metadata(ScopeProvider, read, None)
        if scope is None:
            return None
        bindings = list(scope[local])
        if not self._engine_in_scope(engine):
            return cst.Name(local) if not bindings and not self._bound_in_module(local) else None
        if len(bindings) == 1 and isinstance(bindings[0].scope, GlobalScope):
            return cst.Name(local)
        return None

    def _engine_in_scope(self, engine: str) -> bool:
        module_name = engine.rpartition(".")[0]
        return module_name == self.state.module_name or self._imported_as(engine) is not None

    def _engine_name(self, engine: str) -> str:
        module_name, _, attr = engine.rpartition(".")
        if module_name == self.state.module_name:
            return attr
        return self._imported_as(engine) or attr

    def _imported_as(self, engine: str) -> str | None:
        index = self.state.index
        facts = index.modules.get(self.state.module_name)
        if facts is None:
            return None
        for local, imported in facts.imports.items():
            if index.resolve_alias(imported) == index.resolve_alias(engine):
                return local
        return None

    def _bound_in_module(self, name: str) -> bool:
        facts = self.state.index.modules.get(self.state.module_name)
        module = f"{self.state.module_name}."
        return facts is not None and (
            name in facts.imports or any(q == module + name for q in facts.objects)
        )

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
            return self._unbind(original_node, updated_node, names)
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

    def _owner_of_call(self, call: cst.Call) -> str | None:
        """The qualified name ``call`` is assigned to (``metadata = MetaData(...)``)."""
        target = self.get_metadata(ParentNodeProvider, call, None)
        if not (isinstance(target, cst.Assign) and len(target.targets) == 1):
            return None
        names = qualified_names(self, target.targets[0].target)
        return self.state.index.resolve_alias(names.pop()) if len(names) == 1 else None

    def _unbind(self, original: cst.Call, call: cst.Call, names: set[str]) -> cst.Call:
        kept = [a for a in call.args if not (a.keyword is not None and a.keyword.value == "bind")]
        is_metadata = any(n.endswith("MetaData") for n in names)
        if is_metadata and kept and kept[0].keyword is None and not kept[0].star:
            kept = kept[1:]
        if len(kept) == len(call.args):
            return call
        if self._owner_of_call(original) in self._kept_binds:
            self.todo(
                original,
                "its `.bind` is read where the engine cannot be named: bound metadata is "
                "gone in 2.0, use the engine at those reads, then drop the binding here",
            )
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


class BindReads(cst.CSTVisitor):
    """Every ``x.bind`` of a module: the reads, and the targets of ``x.bind = ...``."""

    def __init__(self) -> None:
        self.read: list[cst.Attribute] = []
        self.assigned: list[cst.BaseExpression] = []
        self._targets: set[int] = set()

    def visit_AssignTarget(self, node: cst.AssignTarget) -> None:
        self._targets.add(id(node.target))

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        self._targets.add(id(node.target))

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        self._targets.add(id(node.target))

    def visit_Del(self, node: cst.Del) -> None:
        self._targets.add(id(node.target))

    def visit_Attribute(self, node: cst.Attribute) -> None:
        if node.attr.value != "bind":
            return
        if id(node) in self._targets:
            self.assigned.append(node.value)
        else:
            self.read.append(node)
