"""Remove bound metadata (``MetaData(bind=engine)``) and pass the engine where it was used.

Before::

    metadata = MetaData(bind=engine)
    users = Table("users", metadata, autoload=True)
    metadata.create_all()

After::

    metadata = MetaData()
    users = Table("users", metadata, autoload_with=engine)
    metadata.create_all(engine)

Implicit execution, which only bound metadata made possible, runs on that engine::

    users.insert().execute(name="ann")      →  engine.execute(users.insert(), name="ann")
    select([func.count(users.c.id)]).scalar()  →  engine.scalar(select(...))

and engine-execute, later in the stage, puts each in ``with engine.begin() as conn:``
(1.x autocommitted the data changes it ran).

A binding made directly in a function's body (sqlalchemy-migrate's ``def
upgrade(migrate_engine): meta.bind = migrate_engine`` or ``meta =
MetaData(bind=migrate_engine)``) is used the same way by the statements after it, and a
table's own ``users.create()`` / ``users.drop()`` get the engine too.

Safety: SQLAlchemy 2.0 removed bound metadata, so ``create_all()`` or ``Table.create()``
without an engine raises. The engine the metadata was bound to (found in the project
index, across modules, also for ``declarative_base(bind=engine)`` and ``Base.metadata``,
or bound earlier in the same function to a name bound once) is passed explicitly, which
runs the same DDL on the same engine. A call on metadata whose binding
is unknown is left unchanged with a TODO, as is implicit execution of a Core statement
whose tables (or models) are not all of metadata bound to one engine nameable there.
"""

from __future__ import annotations

from collections.abc import Set as AbstractSet
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
from sqla_upgrade.codemods.codegen import code_of, node_code
from sqla_upgrade.codemods.index.builder import BINDABLE
from sqla_upgrade.codemods.index.model import SCHEMA_METHODS, ObjectKind
from sqla_upgrade.codemods.names import assigned_values, last_parts, qualified_names, value_names

IMPLICIT_EXECUTION = frozenset({"execute", "scalar"})
TABLE_STATEMENTS = frozenset({"select", "insert", "update", "delete", "count"})
CORE_CONSTRUCTORS = frozenset(
    f"{module}.{name}"
    for module in ("sqlalchemy", "sqlalchemy.sql", "sqlalchemy.sql.expression")
    for name in ("select", "insert", "update", "delete")
)
TABLE = frozenset({"sqlalchemy.Table", "sqlalchemy.schema.Table"})
BINDABLE_OR_TABLE_ENDINGS = last_parts(BINDABLE | TABLE)
#: a Table's own DDL methods, which took the metadata's engine when bound
TABLE_SCHEMA_METHODS = frozenset({"create", "drop"})


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
        b".execute()",
        b".bind",
        b".create()",
        b".drop(",
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
        #: per enclosing function: the metadata bound in its body so far (``meta.bind =
        #: engine``, ``meta = MetaData(bind=engine)``), by name → the engine's name
        self._local_binds: list[dict[str, cst.Name]] = []

    # -- bindings made in a function's body ----------------------------------------------
    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._local_binds.append({})

    def leave_FunctionDef(
        self, original_node: cst.FunctionDef, updated_node: cst.FunctionDef
    ) -> cst.FunctionDef:
        self._local_binds.pop()
        return updated_node

    def leave_SimpleStatementLine(
        self, original_node: cst.SimpleStatementLine, updated_node: cst.SimpleStatementLine
    ) -> cst.SimpleStatementLine:
        """Remember ``meta.bind = engine`` and ``meta = MetaData(bind=engine)`` written
        directly in a function's body, for the statements after them."""
        if not self._local_binds or len(original_node.body) != 1:
            return updated_node
        body = self.get_metadata(ParentNodeProvider, original_node, None)
        function = self.get_metadata(ParentNodeProvider, body, None) if body else None
        statement = original_node.body[0]
        if not isinstance(function, cst.FunctionDef) or not isinstance(statement, cst.Assign):
            return updated_node
        if len(statement.targets) != 1:
            return updated_node
        target = statement.targets[0].target
        engine: cst.BaseExpression | None
        if isinstance(target, cst.Attribute) and target.attr.value == "bind":
            metadata, engine = target.value, statement.value
        elif isinstance(target, cst.Name) and isinstance(statement.value, cst.Call):
            metadata, engine = target, self._bound_engine_argument(statement.value)
        else:
            return updated_node
        if (
            isinstance(metadata, cst.Name)
            and isinstance(engine, cst.Name)
            and self._bound_once(metadata)
            and self._bound_once(engine)
        ):
            self._local_binds[-1][metadata.value] = engine
        return updated_node

    def _bound_engine_argument(self, call: cst.Call) -> cst.BaseExpression | None:
        """``engine`` of ``MetaData(bind=engine)`` / ``MetaData(engine)``."""
        names = qualified_names(self, call.func)
        if not any(n.endswith("MetaData") for n in names & BINDABLE):
            return None
        for position, arg in enumerate(call.args):
            if arg.keyword is not None and arg.keyword.value == "bind":
                return arg.value
            if arg.keyword is None and position == 0 and not arg.star:
                return arg.value
        return None

    def _local_bind(self, metadata: cst.BaseExpression) -> cst.Name | None:
        if not self._local_binds or not isinstance(metadata, cst.Name):
            return None
        return self._local_binds[-1].get(metadata.value)

    def _engine_for(self, metadata: cst.BaseExpression) -> cst.BaseExpression | None:
        """What to pass where ``metadata``'s binding was used: the engine bound earlier in
        the same function, else the one the project index knows."""
        local = self._local_bind(metadata)
        if local is not None:
            return local.deep_clone()
        engine = self._metadata_bind(metadata)
        return self._engine_expression(engine) if engine is not None else None

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
        metadata = self._table_metadata_expression(node)
        return self._bind_owner(metadata) if metadata is not None else None

    def _table_call(self, node: cst.BaseExpression) -> cst.Call | None:
        """The ``Table(...)`` call ``node`` is bound to by its only assignment."""
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
        return table

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
            return self._implicit_execution(original_node, updated_node, func.attr.value)
        names = qualified_names(self, original_node.func, ending=BINDABLE_OR_TABLE_ENDINGS)
        if names & BINDABLE:
            return self._unbind(original_node, updated_node, names)
        if names & TABLE:
            return self._autoload(original_node, updated_node)
        func = original_node.func
        if isinstance(func, cst.Attribute) and func.attr.value in SCHEMA_METHODS:
            return self._schema_call(original_node, updated_node, func)
        if isinstance(func, cst.Attribute) and func.attr.value in TABLE_SCHEMA_METHODS:
            return self._table_schema_call(original_node, updated_node, func)
        return updated_node

    def _implicit_execution(self, original: cst.Call, call: cst.Call, method: str) -> cst.Call:
        """``users.insert().execute(name="ann")`` → ``engine.execute(users.insert(),
        name="ann")``, on the engine the statement's tables were bound to (which
        engine-execute then runs in ``with engine.begin() as conn:``)."""
        statement = call.func.value  # type: ignore[attr-defined]
        engine = self._statement_engine(original.func.value)  # type: ignore[attr-defined]
        if engine is None:
            self.todo(
                original,
                f"implicit execution (`statement.{method}()`) was removed with bound "
                f"metadata: run it as `with engine.begin() as conn: conn.{method}"
                "(statement, ...)`",
            )
            return call
        self.count_rewrite()
        comma = cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
        first = cst.Arg(value=statement, comma=comma if call.args else cst.MaybeSentinel.DEFAULT)
        return call.with_changes(
            func=cst.Attribute(value=engine, attr=cst.Name(method)), args=[first, *call.args]
        )

    def _statement_engine(self, statement: cst.BaseExpression) -> cst.Name | None:
        """The one engine the bound tables and models ``statement`` names were bound to,
        by a name it has here; None where one of them has no known binding, or several."""
        engines: dict[str, cst.Name] = {}
        names = value_names(statement)
        if isinstance(statement, cst.Name):
            # ``q = select(users)`` ... ``q.execute()``: the names its statements read
            names = [
                read
                for value in assigned_values(self, statement) or ()
                for read in value_names(value)
                if read.value != statement.value
            ]
        for name in names:
            metadata = self._table_metadata_expression(name)
            local = self._local_bind(metadata) if metadata is not None else None
            if local is not None:
                engines[local.value] = local
                continue
            if metadata is not None:
                engine = self._metadata_bind(metadata)
            else:
                owner = self._declared_owner(name)
                engine = self.state.index.metadata_binds.get(owner) if owner else None
                if engine is None:
                    continue  # not a table nor a model (a function, a column's name...)
            visible = self._visible_engine(engine, statement) if engine else None
            if visible is None:
                return None
            engines[visible.value] = visible
        if len(engines) != 1:
            return None
        return next(iter(engines.values())).deep_clone()

    def _table_schema_call(
        self, original: cst.Call, call: cst.Call, func: cst.Attribute
    ) -> cst.Call:
        """``users.create()`` / ``users.drop(checkfirst=True)`` on a table of bound
        metadata: 2.0's ``Table.create()`` requires the engine."""
        if any(a.keyword is None or a.keyword.value == "bind" for a in original.args):
            return call
        metadata = self._table_metadata_expression(func.value)
        if metadata is None:
            if self._is_core_table(func.value):
                self.todo(original, f"Table.{func.attr.value}() needs the engine in 2.0")
            return call
        engine = self._engine_for(metadata)
        if engine is None:
            self.todo(original, f"Table.{func.attr.value}() needs the engine in 2.0")
            return call
        return self._with_engine(call, engine)

    def _table_metadata_expression(self, node: cst.BaseExpression) -> cst.BaseExpression | None:
        """The metadata given to ``Table(name, metadata, ...)`` for a table assigned once
        (in this module or the function)."""
        table = self._table_call(node)
        if table is None:
            return None
        positional = [a for a in table.args if a.keyword is None and not a.star]
        if len(positional) < 2 or isinstance(positional[1].value, cst.Call):
            return None
        return positional[1].value

    def _names_core_statement(self, name: cst.Name, depth: int) -> bool:
        """``q = select(...)``, ``q = q.where(...)``, then ``q.execute()``: a name every
        binding of which is a Core statement or refines the name's own one."""
        values = assigned_values(self, name)
        if not values:
            return False
        statements = 0
        for value in values:
            root: cst.BaseExpression = value
            while isinstance(root, cst.Call) and isinstance(root.func, cst.Attribute):
                root = root.func.value
            if isinstance(root, cst.Name) and root.value == name.value and root is not value:
                continue  # ``q = q.where(...)``
            if not self._is_core_statement(value, depth + 1):
                return False
            statements += 1
        return statements > 0

    def _is_core_statement(self, node: cst.BaseExpression, depth: int = 0) -> bool:
        """``select(...)...``, ``users.insert()...``: a Core statement, which only bound
        metadata could execute by itself."""
        if isinstance(node, cst.Name) and depth < 5:
            return self._names_core_statement(node, depth)
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
        return self.state.index.resolve_alias(next(iter(names))) if len(names) == 1 else None

    def _unbind(self, original: cst.Call, call: cst.Call, names: AbstractSet[str]) -> cst.Call:
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
        engine = self._engine_for(func.value)
        if engine is None:
            bound = self._bound_before(original, func.value)
            if bound is not None:
                self.count_rewrite()
                return call.with_changes(args=[cst.Arg(bound), *call.args])
            if self._is_metadata(func.value):
                self.todo(
                    original,
                    f"{func.attr.value}() needs the engine now that bound metadata is gone",
                )
            return call
        return self._with_engine(call, engine)

    def _with_engine(self, call: cst.Call, engine: cst.BaseExpression) -> cst.Call:
        self.count_rewrite()
        first = cst.Arg(engine)
        rest = list(call.args)
        if rest:
            first = first.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
        return call.with_changes(args=[first, *rest])

    def _bound_before(self, call: cst.Call, metadata: cst.BaseExpression) -> cst.Name | None:
        """The engine of ``Base.metadata.bind = engine`` written earlier in the block of
        the statement making ``call`` (``initialize_sql(engine)`` of Pyramid projects),
        when ``engine`` is a name bound once there, so it is the same engine."""
        line: cst.CSTNode | None = call
        while line is not None and not isinstance(line, cst.SimpleStatementLine):
            line = self.get_metadata(ParentNodeProvider, line, None)
        block = self.get_metadata(ParentNodeProvider, line, None) if line else None
        if not isinstance(block, cst.IndentedBlock | cst.Module):
            return None
        spelled = node_code(metadata)
        found: cst.Name | None = None
        for statement in block.body:
            if statement is line:
                return found if found is not None and self._bound_once(found) else None
            if not isinstance(statement, cst.SimpleStatementLine):
                continue
            for small in statement.body:
                if not isinstance(small, cst.Assign):
                    continue
                for target in small.targets:
                    written = target.target
                    if (
                        isinstance(written, cst.Attribute)
                        and written.attr.value == "bind"
                        and node_code(written.value) == spelled
                    ):
                        found = small.value if isinstance(small.value, cst.Name) else None
                    elif node_code(written) in (spelled, spelled.split(".")[0]):
                        found = None  # ``local = MetaData()`` again: a new, unbound one
        return None

    def _bound_once(self, name: cst.Name) -> bool:
        scope = self.get_metadata(ScopeProvider, name, None)
        return scope is not None and len(list(scope[name.value])) == 1

    def _autoload(self, original: cst.Call, call: cst.Call) -> cst.Call:
        autoload = [a for a in call.args if a.keyword is not None and a.keyword.value == "autoload"]
        if not autoload or any(
            a.keyword is not None and a.keyword.value == "autoload_with" for a in call.args
        ):
            return call
        metadata = [a for a in original.args if a.keyword is None][1:2]
        engine = self._engine_for(metadata[0].value) if metadata else None
        if engine is None:
            self.todo(original, "Table(..., autoload=True) needs autoload_with=engine in 2.0")
            return call
        self.count_rewrite()
        replaced = [
            a.with_changes(keyword=cst.Name("autoload_with"), value=engine)
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
