"""Build the project index with Python's ``ast`` (about ten times cheaper than libcst).

Phase one reads each module on its own (``collect_module``): imports, module-level
assignments whose value decides an object's kind, models and relationships, functions
and their calls. Phase two (``resolve``) links modules: it follows imports across the
project and computes object kinds as a fixed point (``SessionLocal = sessionmaker()`` in
``db.py`` makes ``get_db`` in ``deps.py`` a session provider, and so on).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from sqla_upgrade.codemods.discovery import resolve_relative
from sqla_upgrade.codemods.index.model import (
    ANNOTATED,
    ENGINE_NAMES,
    EVENT_REGISTRATION,
    FASTAPI_APPS,
    SCHEMA_METHODS,
    SESSION_TYPES,
    SYNC_SCOPED_SESSIONS,
    SYNC_SESSION_CLASSES,
    SYNC_SESSIONMAKERS,
    TABLE_CONSTRUCTORS,
    TYPE_ALIAS,
    FunctionFacts,
    ModelFacts,
    ModuleFacts,
    ObjectKind,
    ProjectIndex,
    RelationshipFacts,
    looks_like_session,
)

# Callables whose result has a known kind, by qualified name.
CONSTRUCTOR_KINDS: dict[str, ObjectKind] = {
    "sqlalchemy.orm.sessionmaker": ObjectKind.SESSION_FACTORY,
    "sqlalchemy.orm.session.sessionmaker": ObjectKind.SESSION_FACTORY,
    "sqlalchemy.ext.asyncio.async_sessionmaker": ObjectKind.SESSION_FACTORY,
    "sqlalchemy.orm.scoped_session": ObjectKind.SCOPED_SESSION,
    "sqlalchemy.orm.scoping.scoped_session": ObjectKind.SCOPED_SESSION,
    "sqlalchemy.ext.asyncio.async_scoped_session": ObjectKind.SCOPED_SESSION,
    "sqlalchemy.orm.Session": ObjectKind.SESSION,
    "sqlalchemy.orm.session.Session": ObjectKind.SESSION,
    "sqlalchemy.ext.asyncio.AsyncSession": ObjectKind.SESSION,
    # the session an object is attached to
    "sqlalchemy.orm.object_session": ObjectKind.SESSION,
    "sqlalchemy.orm.session.object_session": ObjectKind.SESSION,
    "sqlalchemy.orm.Session.object_session": ObjectKind.SESSION,
    "sqlalchemy.orm.session.Session.object_session": ObjectKind.SESSION,
    "flask_sqlalchemy.SQLAlchemy": ObjectKind.FLASK_SQLALCHEMY,
    "flask_sqlalchemy.extension.SQLAlchemy": ObjectKind.FLASK_SQLALCHEMY,
    # Flask-AppBuilder's subclass (Superset's and Airflow's ``db``)
    "flask_appbuilder.SQLA": ObjectKind.FLASK_SQLALCHEMY,
    "flask_appbuilder.models.sqla.SQLA": ObjectKind.FLASK_SQLALCHEMY,
    "sqlalchemy.create_engine": ObjectKind.ENGINE,
    "sqlalchemy.engine.create_engine": ObjectKind.ENGINE,
    "sqlalchemy.ext.asyncio.create_async_engine": ObjectKind.ENGINE,
    "sqlalchemy.engine_from_config": ObjectKind.ENGINE,
    "sqlalchemy.engine.engine_from_config": ObjectKind.ENGINE,
    "sqlalchemy.ext.asyncio.async_engine_from_config": ObjectKind.ENGINE,
    "sqlalchemy.MetaData": ObjectKind.METADATA,
    "sqlalchemy.schema.MetaData": ObjectKind.METADATA,
}

# Calling an object of the first kind gives one of the second.
CALL_RESULT_KINDS: dict[ObjectKind, ObjectKind] = {
    ObjectKind.SESSION_FACTORY: ObjectKind.SESSION,
    ObjectKind.SCOPED_SESSION: ObjectKind.SESSION,
}

DECLARATIVE_BASE_FACTORIES = {
    "sqlalchemy.ext.declarative.declarative_base",
    "sqlalchemy.ext.declarative.api.declarative_base",
    "sqlalchemy.orm.declarative_base",
    "sqlalchemy.orm.decl_api.declarative_base",
    "sqlalchemy.orm.registry.generate_base",
}
#: class decorators making the class a declarative base (``@as_declarative()``,
#: ``@mapper_registry.as_declarative_base()``)
DECLARATIVE_BASE_DECORATORS = frozenset(
    {
        "sqlalchemy.ext.declarative.as_declarative",
        "sqlalchemy.ext.declarative.api.as_declarative",
        "sqlalchemy.orm.as_declarative",
        "sqlalchemy.orm.decl_api.as_declarative",
    }
)
DECLARATIVE_BASE_CLASSES = {
    "sqlalchemy.orm.DeclarativeBase",
    "sqlalchemy.orm.DeclarativeBaseNoMeta",
    "sqlalchemy.orm.decl_api.DeclarativeBase",
}
#: declarative bases other libraries make with ``declarative_base()`` and export: a class
#: deriving from one is a model of the project (Flask-AppBuilder's, which Superset's and
#: Airflow's web models use)
LIBRARY_DECLARATIVE_BASES = frozenset(
    {
        "flask_appbuilder.Model",
        "flask_appbuilder.models.sqla.Model",
    }
)
TYPEVARS = frozenset({"typing.TypeVar", "typing_extensions.TypeVar"})
RELATIONSHIP_FUNCS = {"relationship", "relation", "dynamic_loader"}
#: SQLAlchemy 1.x's classical mapping function (``registry.map_imperatively`` is its 2.0 form)
CLASSICAL_MAPPERS = frozenset({"sqlalchemy.orm.mapper", "sqlalchemy.orm.mapperlib.mapper"})
ASSOCIATION_PROXY_FUNCS = frozenset(
    {
        "sqlalchemy.ext.associationproxy.association_proxy",
        "sqlalchemy.ext.associationproxy.AssociationProxy",
    }
)


class _Pending:
    """Module-level bindings whose kind depends on other modules."""

    def __init__(self) -> None:
        self.calls: dict[str, str] = {}  # qualname -> qualified callee
        self.aliases: dict[str, str] = {}  # qualname -> qualified name it is bound to
        self.attr_of: dict[str, tuple[str, str]] = {}  # qualname -> (qualified owner, attribute)
        self.providers: dict[str, list[str]] = {}  # function -> callees of what it returns/yields
        self.bases: dict[str, list[str]] = {}  # class -> qualified bases
        #: module-level ``T = TypeVar("T", bound=B)`` -> the qualified bound
        self.typevar_bounds: dict[str, str] = {}
        self.binds: dict[str, str] = {}  # bound MetaData / declarative base -> engine
        #: classes mapped imperatively (``mapper(Package, package_table, properties=...)``,
        #: ``registry.map_imperatively(...)``) -> the relationships of their properties
        self.imperative: dict[str, dict[str, RelationshipFacts]] = {}
        #: class given ``query = session.query_property()`` -> that (scoped) session
        self.query_properties: dict[str, str] = {}
        #: ``Base = declarative_base(cls=Mixin)`` -> the classes given as ``cls=``
        self.declarative_mixins: dict[str, list[str]] = {}
        #: model (``query_class = X``), ``SQLAlchemy(query_class=X)`` object or
        #: ``sessionmaker(query_cls=X)`` factory -> the query class it builds queries with
        self.query_classes: dict[str, str] = {}
        #: every ``query_cls=X`` given to a session, factory or query property anywhere
        #: (also ``session_options={"query_cls": X}``), attributed or not
        self.session_query_classes: set[str] = set()
        #: module-level name bound to a call -> the integer columns that call declares
        #: (``Table("t", md, Column("n", Integer))``: kept if the call builds a table)
        self.integer_columns: dict[str, list[str]] = {}
        #: ``Model.name`` bound to a call of this callee with (relationship, attribute)
        #: literals: an association proxy if the callee resolves to ``association_proxy``
        self.proxies: dict[str, tuple[str, str, str]] = {}
        #: what ``event.listen(target, ...)`` / ``@event.listens_for(target, ...)`` name
        self.event_targets: set[str] = set()
        #: each module's own code outside its functions and classes (a ``__main__``
        #: block: ``run(sessionmaker(bind=engine))``), as a caller handing values on
        self.module_callers: dict[str, FunctionFacts] = {}
        #: modules mapping classes with 1.x's classical ``mapper()`` or a registry's
        #: ``map_imperatively()`` (classical-mapping gives a module a registry of its own
        #: where that cannot change what a mapping resolves)
        self.imperative_modules: set[str] = set()
        #: (owner, target) of ``db.event.listen(target, ...)``: an event target if the
        #: owner is a Flask-SQLAlchemy object (which re-exports ``sqlalchemy.event``)
        self.owned_event_targets: set[tuple[str, str]] = set()
        #: module-level type aliases (``SessionDep = Annotated[Session, ...]``, bound
        #: only so) -> per binding, the types it names (a session alias if one of each
        #: binding's is a session type or a session alias)
        self.type_aliases: dict[str, list[list[str]]] = {}
        #: ``scoped_session(factory)`` -> the factory's name (its own name when the
        #: factory is a ``sessionmaker(...)`` written in place, "" when not static)
        self.scoped_factories: dict[str, str] = {}
        #: a ``sessionmaker(...)`` (its name, or its scoped session's) that stays
        #: synchronous under --target async (custom ``class_``, ``autocommit=True``)
        self.sync_only_factories: set[str] = set()
        #: names given as ``sync_session_class=`` (``async_sessionmaker(sync_session_class=
        #: sync_maker)``): sessionmakers of the synchronous sessions of async ones
        self.sync_session_classes: set[str] = set()
        #: module-level names bound once, to a call: name -> the qualified callee (an
        #: instance of that class if the callee is a project class: ``user = CRUDUser()``)
        self.instances: dict[str, str] = {}
        #: ``app = FastAPI()`` (no ``lifespan=``) in a module running schema statements at
        #: import time -> (the names they are bound to, does the module register
        #: ``@app.on_event(...)`` handlers)
        self.startup_apps: dict[str, tuple[list[str], bool]] = {}


class _ModuleCollector:
    def __init__(self, facts: ModuleFacts, is_package: bool, pending: _Pending) -> None:
        self.facts = facts
        self.is_package = is_package
        self.pending = pending
        self.declarative_bases: set[str] = set()
        self.classes: set[str] = set()
        #: module-level names bound to a call -> the qualified callee
        self.constructed: dict[str, str] = {}
        #: module-level type alias bindings: name -> per binding, the types it names
        self.type_aliases: dict[str, list[list[str]]] = {}

    # -- names ------------------------------------------------------------------------
    def qualify(self, node: ast.expr) -> str | None:
        """The qualified name a Name/Attribute expression refers to, if static."""
        if isinstance(node, ast.Name):
            return self.facts.imports.get(node.id, f"{self.facts.name}.{node.id}")
        if isinstance(node, ast.Attribute):
            owner = self.qualify(node.value)
            return f"{owner}.{node.attr}" if owner else None
        return None

    # -- statements -------------------------------------------------------------------
    def collect(self, tree: ast.Module) -> None:
        for stmt in tree.body:
            self.statement(stmt, scope=self.facts.name, in_function=False)
        nodes = list(ast.walk(tree))  # one walk for the passes over every node
        calls = [node for node in nodes if isinstance(node, ast.Call)]
        self.event_targets(calls)
        self.imperative_mappings(calls)
        self.module_calls(tree)
        bindings = _binding_counts(tree, nodes)
        self.facts.bound_names = {name for name in bindings if name != "*"}
        self.facts.exported = _literal_all(tree)
        for qualname, callee in self.constructed.items():
            if bindings.get(qualname.rpartition(".")[2], 0) <= 1:
                self.pending.instances[qualname] = callee
        for name, types in self.type_aliases.items():
            if bindings.get(name) == len(types):  # every binding of the name is an alias
                self.pending.type_aliases[f"{self.facts.name}.{name}"] = types
        self.startup_app(tree)
        self.facts.foreign_attributes = {
            node.attr
            for node in nodes
            if isinstance(node, ast.Attribute)
            and not (isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"))
        }

    def module_calls(self, tree: ast.Module) -> None:
        """What the module's own code (outside its functions and classes) hands the
        functions it calls, for the inference of session and factory parameters."""
        calls = [node for node in _outside_definitions(tree) if isinstance(node, ast.Call)]
        if not calls:
            return
        caller = FunctionFacts(qualname=f"{self.facts.name}.<module>", line=0, is_async=False)
        caller.handed = self._handed(calls, caller, {}, set(), self.facts.name)
        if caller.handed:
            self.pending.module_callers[self.facts.name] = caller

    def imperative_mappings(self, calls: list[ast.Call]) -> None:
        """``mapper(Package, package_table, properties={"tags": relationship(Tag)})`` and
        ``<registry>.map_imperatively(...)`` anywhere in the module (``calls``: its calls):
        the class is mapped."""
        for node in calls:
            if not node.args:
                continue
            func = node.func
            imperative = isinstance(func, ast.Attribute) and func.attr == "map_imperatively"
            if not imperative and self.qualify(func) not in CLASSICAL_MAPPERS:
                continue
            self.pending.imperative_modules.add(self.facts.name)
            mapped = self.qualify(node.args[0])
            if mapped is None:
                continue
            relationships = self.pending.imperative.setdefault(mapped, {})
            properties = _argument(node, "properties", 2)
            if not isinstance(properties, ast.Dict):
                continue
            for key, value in zip(properties.keys, properties.values, strict=True):
                if not (isinstance(key, ast.Constant) and isinstance(key.value, str)):
                    continue
                if isinstance(value, ast.Call):
                    callee = (self.qualify(value.func) or "").rsplit(".", 1)[-1]
                    if callee in RELATIONSHIP_FUNCS:
                        relationships[key.value] = self.relationship(key.value, value)

    def startup_app(self, tree: ast.Module) -> None:
        """A FastAPI app created at the top of a module that runs ``create_all(engine)``
        (or ``drop_all``, ``reflect``) at import time: schema-run-sync moves those into a
        lifespan handler it gives the app, which a test client must enter."""
        apps = [
            stmt.targets[0].id
            for stmt in tree.body
            if isinstance(stmt, ast.Assign)
            and len(stmt.targets) == 1
            and isinstance(stmt.targets[0], ast.Name)
            and isinstance(stmt.value, ast.Call)
            and self.qualify(stmt.value.func) in FASTAPI_APPS
            and not any(k.arg == "lifespan" for k in stmt.value.keywords)
        ]
        if len(apps) != 1:
            return
        binds = [
            self.qualify(bind) or ""
            for bind in _module_schema_binds(tree.body)
            if isinstance(bind, ast.Name | ast.Attribute)
        ]
        if binds:
            events = any(
                _on_event(decorator, apps[0])
                for stmt in tree.body
                if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef)
                for decorator in stmt.decorator_list
            )
            self.pending.startup_apps[f"{self.facts.name}.{apps[0]}"] = (binds, events)

    def event_targets(self, calls: list[ast.Call]) -> None:
        """The targets of the module's event registrations and the sessionmakers given as
        ``sync_session_class=``, wherever they are (``calls``: the module's calls)."""
        for node in calls:
            target = self.qualify(node.args[0]) if node.args else None
            owner = _event_owner(node.func)
            if target is not None and self.qualify(node.func) in EVENT_REGISTRATION:
                self.pending.event_targets.add(target)
            elif target is not None and owner is not None:
                # ``db.event.listen(...)``: Flask-SQLAlchemy's ``db.event`` is sqlalchemy.event
                qualified_owner = self.qualify(owner)
                if qualified_owner is not None:
                    self.pending.owned_event_targets.add((qualified_owner, target))
            for kw in node.keywords:
                name = self.qualify(kw.value) if kw.arg == "sync_session_class" else None
                if name is not None:
                    self.pending.sync_session_classes.add(name)
                query_cls = _query_cls_argument(kw)
                qualified = self.qualify(query_cls) if query_cls is not None else None
                if qualified is not None:
                    self.pending.session_query_classes.add(qualified)

    def statement(self, stmt: ast.stmt, scope: str, in_function: bool) -> None:
        if isinstance(stmt, ast.Import | ast.ImportFrom):
            if not in_function:
                self.record_import(stmt)
        elif isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef):
            self.function(stmt, scope)
        elif isinstance(stmt, ast.ClassDef):
            self.class_def(stmt, scope)
        elif isinstance(stmt, ast.Assign | ast.AnnAssign) and not in_function:
            self.assignment(stmt, scope)
        else:
            for child in _child_statements(stmt):
                self.statement(child, scope, in_function)

    def record_import(self, stmt: ast.Import | ast.ImportFrom) -> None:
        if isinstance(stmt, ast.Import):
            for alias in stmt.names:
                if alias.asname:
                    self.facts.imports[alias.asname] = alias.name
                else:
                    top = alias.name.split(".")[0]
                    self.facts.imports[top] = top
                if alias.name.split(".")[0] in ("sqlalchemy", "flask_sqlalchemy"):
                    self.facts.uses_sqlalchemy = True
            return
        dotted = "." * stmt.level + (stmt.module or "")
        module = (
            resolve_relative(dotted, self.facts.name, self.is_package) if stmt.level else dotted
        )
        if module.split(".")[0] in ("sqlalchemy", "flask_sqlalchemy"):
            self.facts.uses_sqlalchemy = True
        for alias in stmt.names:
            if alias.name != "*":
                self.facts.imports[alias.asname or alias.name] = f"{module}.{alias.name}"
            elif module not in self.facts.star_imports:
                self.facts.star_imports.append(module)

    def assignment(self, stmt: ast.Assign | ast.AnnAssign, scope: str) -> None:
        targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
        value = stmt.value
        if value is None:
            return
        aliased = self.aliased_types(stmt) if scope == self.facts.name else None
        if aliased is not None:
            name = targets[0]
            assert isinstance(name, ast.Name)
            self.type_aliases.setdefault(name.id, []).append(aliased)
        for target in targets:
            if isinstance(target, ast.Name):
                self.bind(f"{scope}.{target.id}", value)
            elif isinstance(target, ast.Attribute) and target.attr == "query":
                owner = self.qualify(target.value)
                if owner is not None:
                    self.query_property(owner, value)

    def aliased_types(self, stmt: ast.Assign | ast.AnnAssign) -> list[str] | None:
        """The types a type alias names (``X = Annotated[Session, Depends(get_db)]``,
        ``X: TypeAlias = ...``; a plain ``X = Session`` may be a constructor's alias):
        those that make it a session alias if one is a session type (the rule of
        ``analysis.sessions`` for annotations). None when it is no type alias."""
        if isinstance(stmt, ast.Assign):
            value = stmt.value
            if len(stmt.targets) != 1 or not isinstance(stmt.targets[0], ast.Name):
                return None
            if not (isinstance(value, ast.Subscript) and self.qualify(value.value) in ANNOTATED):
                return None
            return self._annotation_types(value)
        if (
            stmt.value is None
            or not isinstance(stmt.target, ast.Name)
            or self.qualify(stmt.annotation) not in TYPE_ALIAS
        ):
            return None
        return self._annotation_types(stmt.value)

    def _annotation_types(self, annotation: ast.expr) -> list[str]:
        """``Session``, ``Optional[Session]``, ``Annotated[Session, ...]``, ``Session |
        None``, ``"Session"``: the qualified names of the types an annotation names."""
        if isinstance(annotation, ast.Constant) and isinstance(annotation.value, str):
            prefix, _, last = annotation.value.strip().rpartition(".")
            if last in ("Session", "AsyncSession", "scoped_session") and (
                not prefix or prefix.endswith(("orm", "asyncio"))
            ):
                return ["sqlalchemy.orm.Session"]
            return []
        if isinstance(annotation, ast.Subscript):
            elements = annotation.slice
            parts = elements.elts if isinstance(elements, ast.Tuple) else [elements]
            found = [self.qualify(annotation.value) or ""]
            for part in parts:
                found += self._annotation_types(part)
            return [name for name in found if name]
        if isinstance(annotation, ast.BinOp):
            return self._annotation_types(annotation.left) + self._annotation_types(
                annotation.right
            )
        name = self.qualify(annotation)
        return [name] if name else []

    def query_property(self, owner: str, value: ast.expr) -> None:
        """``Base.query = db_session.query_property()``: ``Model.query`` of every class
        derived from ``Base`` is a ``Query`` on ``db_session`` (of the class given as
        ``query_property(query_cls=X)``, else of the session's)."""
        if (
            isinstance(value, ast.Call)
            and isinstance(value.func, ast.Attribute)
            and value.func.attr == "query_property"
        ):
            session = self.qualify(value.func.value)
            if session is not None:
                self.pending.query_properties[owner] = session
            query_cls = _argument(value, "query_cls", 0)
            query_class = self.qualify(query_cls) if query_cls is not None else None
            if query_class is not None:
                self.pending.query_classes[owner] = query_class

    def declarative_mixins(self, call: ast.Call) -> list[str]:
        """The classes ``declarative_base(cls=Mixin)`` (or ``cls=(A, B)``) derives from."""
        for keyword in call.keywords:
            if keyword.arg == "cls":
                given = keyword.value
                elements = given.elts if isinstance(given, ast.Tuple) else [given]
                return [name for name in map(self.qualify, elements) if name]
        return []

    def bind(self, qualname: str, value: ast.expr) -> None:
        if isinstance(value, ast.Call) and isinstance(value.func, ast.Call):
            # ``sessionmaker(bind=engine)()``: the factory made and called at once
            maker = self.qualify(value.func.func)
            if maker is not None and CONSTRUCTOR_KINDS.get(maker) in CALL_RESULT_KINDS:
                self.pending.calls[qualname] = "sqlalchemy.orm.Session"
            return
        if isinstance(value, ast.Call):
            callee = self.qualify(value.func)
            if callee is None:
                return
            if callee in DECLARATIVE_BASE_FACTORIES:
                self.declarative_bases.add(qualname)
                self.pending.bases[qualname] = ["<declarative>"]
                mixins = self.declarative_mixins(value)
                if mixins:
                    self.pending.declarative_mixins[qualname] = mixins
            if callee in TYPEVARS:
                bound = self.typevar_bound(value)
                if bound is not None:
                    self.pending.typevar_bounds[qualname] = bound
            bind = _bind_argument(value, callee)
            if bind is not None:
                engine = self.qualify(bind)
                if engine is not None:
                    self.pending.binds[qualname] = engine
            self.pending.calls[qualname] = callee
            self.constructed[qualname] = callee
            self.session_factory(qualname, callee, value)
            self.query_class_argument(qualname, value)
            columns = _table_integer_columns(value)
            if columns:
                self.pending.integer_columns[qualname] = columns
        elif isinstance(value, ast.Name | ast.Attribute):
            target = self.qualify(value)
            if target is not None:
                self.pending.aliases[qualname] = target

    def query_class_argument(self, qualname: str, call: ast.Call) -> None:
        """``SQLAlchemy(query_class=X)``, ``sessionmaker(query_cls=X)``, ``Session(
        query_cls=X)``, ``scoped_session(sessionmaker(query_cls=X))``,
        ``SQLAlchemy(session_options={"query_cls": X})``."""
        factory = _argument(call, "session_factory", 0)
        calls = [call, factory] if isinstance(factory, ast.Call) else [call]
        for made in calls:
            for keyword in made.keywords:
                query_class_node = (
                    keyword.value if keyword.arg == "query_class" else _query_cls_argument(keyword)
                )
                query_class = self.qualify(query_class_node) if query_class_node else None
                if query_class is not None:
                    self.pending.query_classes[qualname] = query_class

    def session_factory(self, qualname: str, callee: str, call: ast.Call) -> None:
        """``SessionLocal = sessionmaker(...)``, ``Session = scoped_session(factory)``:
        what session events on them need under --target async."""
        if callee in SYNC_SESSIONMAKERS and not self._converts_to_async(call):
            self.pending.sync_only_factories.add(qualname)
        if callee not in SYNC_SCOPED_SESSIONS:
            return
        factory = _argument(call, "session_factory", 0)
        if isinstance(factory, ast.Call) and self.qualify(factory.func) in SYNC_SESSIONMAKERS:
            self.pending.scoped_factories[qualname] = qualname
            if not self._converts_to_async(factory):
                self.pending.sync_only_factories.add(qualname)
            return
        name = self.qualify(factory) if factory is not None else None
        self.pending.scoped_factories[qualname] = name or ""

    def _converts_to_async(self, sessionmaker: ast.Call) -> bool:
        """Does async-engine make this ``sessionmaker(...)`` an ``async_sessionmaker``? Not
        with a custom ``class_`` or an ``autocommit`` other than ``False``."""
        for kw in sessionmaker.keywords:
            if kw.arg == "class_" and self.qualify(kw.value) not in SYNC_SESSION_CLASSES:
                return False
            if kw.arg == "autocommit" and not (
                isinstance(kw.value, ast.Constant) and kw.value.value is False
            ):
                return False
        return True

    def function(self, node: ast.FunctionDef | ast.AsyncFunctionDef, scope: str) -> None:
        qualname = f"{scope}.{node.name}"
        facts = FunctionFacts(
            qualname=qualname,
            line=node.lineno,
            is_async=isinstance(node, ast.AsyncFunctionDef),
            params=[
                a.arg for a in (*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs)
            ],
            decorators=[d for d in map(self._decorator_name, node.decorator_list) if d],
            positional=len(node.args.posonlyargs) + len(node.args.args),
            annotations=self._annotations(node.args),
            is_stub=_is_stub(node.body),
        )
        calls: list[ast.Call] = []
        entered: set[str] = set()  # the locals of ``with ... as name``
        local_calls: dict[str, str] = {}
        returned: list[str] = []
        assigned: dict[str, ast.expr] = {}  # first value of each ``name = ...``
        returns: list[ast.Return] = []
        rows_of: list[str | None] = []  # per return statement: the model of a list of rows
        exits: list[ast.Return | ast.Yield] = []
        nodes = list(ast.walk(node))
        for sub in nodes:
            if isinstance(sub, ast.Call):
                callee = self.qualify(sub.func)
                if callee:
                    facts.calls.append(callee)
                calls.append(sub)
            elif isinstance(sub, ast.Assign):
                if len(sub.targets) == 1 and isinstance(sub.targets[0], ast.Name):
                    assigned.setdefault(sub.targets[0].id, sub.value)
                if isinstance(sub.value, ast.Call):
                    callee = self._loaded_model(sub.value) or self.qualify(sub.value.func)
                    for target in sub.targets:
                        if isinstance(target, ast.Name) and callee:
                            local_calls[target.id] = callee
            elif isinstance(sub, ast.withitem) and isinstance(sub.context_expr, ast.Call):
                callee = self.qualify(sub.context_expr.func)
                if isinstance(sub.optional_vars, ast.Name) and callee:
                    local_calls[sub.optional_vars.id] = callee
                    entered.add(sub.optional_vars.id)
            elif isinstance(sub, ast.Return | ast.Yield):
                exits.append(sub)
        # after every binding: a ``return x`` at the top of the body comes before, in the
        # walk, the ``x = ...`` it returns inside a ``try:`` or ``if`` block
        for sub in exits:
            if isinstance(sub, ast.Return):
                returns.append(sub)
                if sub.value is not None and not _is_none(sub.value):
                    rows_of.append(self._listed_model(sub.value, assigned))
            if sub.value is not None and not _is_none(sub.value):
                facts.is_generator = facts.is_generator or isinstance(sub, ast.Yield)
                returned.append(self._returned_callee(sub.value, local_calls))
        facts.self_attributes = _first_parameter_attributes(node, nodes)
        facts.session_holders = _first_parameter_session_holders(node, nodes)
        facts.query_session_param = _query_factory_param(returns, assigned, facts.params)
        if facts.params and facts.query_session_param is None:
            facts.query_session_attr = _query_factory_attr(returns, assigned, facts.params[0])
        facts.returns_self = bool(facts.params and returns) and all(
            isinstance(r.value, ast.Name) and r.value.id == facts.params[0] for r in returns
        )
        facts.returns_cls_row = _returns_cls_row(facts, returns, assigned)
        facts.handed = self._handed(calls, facts, local_calls, entered, scope)
        if any(d.endswith("fixture") for d in facts.decorators):
            facts.gives_test_client = self._gives_test_client(node)
        facts.returns_local = _returned_local_function(node, qualname)
        if not facts.is_generator:
            facts.returns_params, facts.returns_opaque = _returned_params(node, facts.params)
        self.facts.functions[qualname] = facts
        if rows_of and all(rows_of) and len(set(rows_of)) == 1:
            facts.returns_rows = [rows_of[0]]  # type: ignore[list-item]
        if returned:
            self.pending.providers[qualname] = [r for r in returned if r]
            if all(returned):
                facts.returns = sorted(set(returned))
        for stmt in node.body:  # its nested functions, in ``with``/``if``/``try`` blocks too
            self.statement(stmt, qualname, in_function=True)

    def _annotations(self, args: ast.arguments) -> dict[str, str]:
        every = (*args.posonlyargs, *args.args, *args.kwonlyargs)
        found = {a.arg: self.qualify(a.annotation) for a in every if a.annotation is not None}
        return {name: qualname for name, qualname in found.items() if qualname}

    def _handed(
        self,
        calls: list[ast.Call],
        facts: FunctionFacts,
        local_calls: dict[str, str],
        entered: set[str],
        scope: str,
    ) -> list[tuple[str, int | str, tuple[str, str]]]:
        """What each call hands its callee by name (``report(sess, db=s)``), for the
        project-wide inference of session parameters."""
        handed: list[tuple[str, int | str, tuple[str, str]]] = []
        for call in calls:
            callee, shift = self._callee_and_shift(call.func, scope, local_calls)
            if callee is None:
                continue
            slots: list[tuple[int | str, ast.expr]] = []
            for position, arg in enumerate(call.args):
                if isinstance(arg, ast.Starred):
                    break
                slots.append((position + shift, arg))
            slots += [(k.arg, k.value) for k in call.keywords if k.arg is not None]
            for slot, value in slots:
                origin = self._origin(value, facts, local_calls, entered)
                if origin is not None:
                    handed.append((callee, slot, origin))
        return handed

    def _callee_and_shift(
        self, func: ast.expr, scope: str, local_calls: dict[str, str]
    ) -> tuple[str | None, int]:
        """The function a call calls, and how many parameters come before its first
        positional argument (one, ``self``, for a method called on an instance:
        ``self.put(...)`` in its class, ``Repo().put(...)``, ``repo.put(...)`` after
        ``repo = Repo()``; a name that is no method of a class finds no function)."""
        if not isinstance(func, ast.Attribute):
            return self.qualify(func), 0
        owner = func.value
        if isinstance(owner, ast.Name) and owner.id in ("self", "cls"):
            return (f"{scope}.{func.attr}", 1) if scope in self.classes else (None, 0)
        if isinstance(owner, ast.Call):
            made = self.qualify(owner.func)
            return (f"{made}.{func.attr}", 1) if made else (None, 0)
        if isinstance(owner, ast.Name) and owner.id in local_calls:
            return f"{local_calls[owner.id]}.{func.attr}", 1
        return self.qualify(func), 0

    def _origin(
        self, value: ast.expr, facts: FunctionFacts, local_calls: dict[str, str], entered: set[str]
    ) -> tuple[str, str] | None:
        if isinstance(value, ast.Name):
            if value.id in facts.params:
                return ("param", value.id)
            if value.id in local_calls:
                return ("with" if value.id in entered else "call", local_calls[value.id])
        if isinstance(value, ast.Name | ast.Attribute):
            qualname = self.qualify(value)
            return ("name", qualname) if qualname else None
        if isinstance(value, ast.Call):
            callee = self.qualify(value.func)
            return ("call", callee) if callee else None
        return None

    def _gives_test_client(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
        """``with TestClient(app) as c: yield c`` / ``return TestClient(app)``."""
        clients: set[str] = set()
        for sub in ast.walk(node):
            if isinstance(sub, ast.withitem) and self._is_test_client(sub.context_expr):
                if isinstance(sub.optional_vars, ast.Name):
                    clients.add(sub.optional_vars.id)
            elif isinstance(sub, ast.Assign) and self._is_test_client(sub.value):
                clients.update(t.id for t in sub.targets if isinstance(t, ast.Name))
        for sub in ast.walk(node):
            if isinstance(sub, ast.Return | ast.Yield) and sub.value is not None:
                value = sub.value
                if self._is_test_client(value) or (
                    isinstance(value, ast.Name) and value.id in clients
                ):
                    return True
        return False

    def _is_test_client(self, value: ast.expr) -> bool:
        return isinstance(value, ast.Call) and (self.qualify(value.func) or "") in TEST_CLIENTS

    def _returned_callee(self, value: ast.expr, local_calls: dict[str, str]) -> str:
        if isinstance(value, ast.Name) and value.id in local_calls:
            return local_calls[value.id]
        if isinstance(value, ast.Call):
            return self._loaded_model(value) or self.qualify(value.func) or ""
        return ""

    def _listed_model(self, value: ast.expr | None, assigned: dict[str, ast.expr]) -> str | None:
        """``Task`` for ``Task.query.filter(...).all()``, ``session.query(Task)....all()``,
        ``session.scalars(select(Task)...).all()``, ``(await session.scalars(...)).all()``
        (or a name first assigned one)."""
        if isinstance(value, ast.Name) and value.id in assigned:
            value = assigned[value.id]
        if not (isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute)):
            return None
        if value.func.attr not in ("all", "unique") or value.args:
            return None
        node: ast.expr = value.func.value
        while isinstance(node, ast.Await):
            node = node.value
        while isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            if node.func.attr == "scalars" and node.args:
                return self._selected_model(node.args[0])  # session.scalars(select(Task))
            if node.func.attr != "unique":
                break
            node = node.func.value
            while isinstance(node, ast.Await):
                node = node.value
        return self._query_model(node)

    def _query_model(self, node: ast.expr) -> str | None:
        """``Task`` for a legacy Query of it, refined or not: ``Task.query...``,
        ``session.query(Task)...``."""
        while isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            if node.func.attr == "query" and len(node.args) == 1 and not node.keywords:
                return self.qualify(node.args[0])
            if node.func.attr not in QUERY_BUILDERS:
                return None
            node = node.func.value
        if isinstance(node, ast.Attribute) and node.attr == "query":
            return self.qualify(node.value)
        return None

    def _selected_model(self, statement: ast.expr) -> str | None:
        """``Task`` for ``select(Task).where(...)``."""
        while isinstance(statement, ast.Call) and isinstance(statement.func, ast.Attribute):
            statement = statement.func.value
        if not isinstance(statement, ast.Call) or len(statement.args) != 1:
            return None
        callee = self.qualify(statement.func) or ""
        if callee.rpartition(".")[2] != "select":
            return None
        return self.qualify(statement.args[0])

    def _loaded_model(self, call: ast.Call) -> str | None:
        """``Task`` for a call loading one row of it: ``Task.query.get(1)``,
        ``session.query(Task).filter(...).first()``, ``session.get(Task, 1)``,
        ``db.get_or_404(Task, 1)`` (whether ``Task`` is a model is told later)."""
        func = call.func
        if not isinstance(func, ast.Attribute) or func.attr not in ONE_ROW_LOADERS:
            return None
        if func.attr in ROW_BY_KEY_LOADERS and len(call.args) >= 2:
            return self.qualify(call.args[0])  # session.get(Task, 1)
        return self._query_model(func.value)

    def _decorator_name(self, node: ast.expr) -> str | None:
        return self.qualify(node.func if isinstance(node, ast.Call) else node)

    def class_def(self, node: ast.ClassDef, scope: str) -> None:
        qualname = f"{scope}.{node.name}"
        self.classes.add(qualname)
        bases = [b for b in map(self.qualify, map(_generic_origin, node.bases)) if b]
        self.pending.bases[qualname] = bases
        model = ModelFacts(qualname=qualname, bases=bases, line=node.lineno)
        if any(self.declares_base(d) for d in node.decorator_list):
            self.pending.bases[qualname] = ["<declarative>", *bases]
            model.declarative_decorator = True
        for stmt in node.body:
            if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                if stmt.name == "__init__" and not isinstance(stmt, ast.ClassDef):
                    model.has_init = True
                    _record_init_keywords(model, stmt)
                if stmt.name == "__mapper_args__":
                    model.mapper_args = None  # ``@declared_attr``: not known statically
                elif not isinstance(stmt, ast.ClassDef):
                    model.members.append(stmt.name)
                self.statement(stmt, qualname, in_function=False)
            elif isinstance(stmt, ast.Assign | ast.AnnAssign):
                self.class_attribute(model, stmt)
        for stmt in node.body:
            if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef):
                method = self.facts.functions.get(f"{qualname}.{stmt.name}")
                if method is not None:
                    model.instance_attributes.update(method.self_attributes)
        self.class_valued_attributes(model, node)
        self.facts.models[qualname] = model

    def typevar_bound(self, call: ast.Call) -> str | None:
        """The qualified ``bound=`` of ``TypeVar("T", bound=Base)`` (``bound="Base"`` too)."""
        for kw in call.keywords:
            if kw.arg != "bound":
                continue
            value = kw.value
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                try:
                    value = ast.parse(value.value, mode="eval").body
                except SyntaxError:
                    return None
            return self.qualify(value)
        return None

    def class_valued_attributes(self, model: ModelFacts, node: ast.ClassDef) -> None:
        """``def __init__(self, model: Type[ModelType]): self.model = model``: the
        attributes of instances holding the class a ``Type[X]`` parameter names (the
        generic ``CRUDBase`` of FastAPI projects); an attribute assigned anything else
        anywhere in the class is recorded as unknown (None)."""
        for stmt in node.body:
            if not isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            arguments = [*stmt.args.posonlyargs, *stmt.args.args]
            if not arguments:
                continue
            receiver = arguments[0].arg
            typed = {
                a.arg: t
                for a in (*arguments[1:], *stmt.args.kwonlyargs)
                if (t := self._class_type(a.annotation)) is not None
            }
            for sub in ast.walk(stmt):
                targets = sub.targets if isinstance(sub, ast.Assign) else []
                if isinstance(sub, ast.AnnAssign | ast.AugAssign):
                    targets = [sub.target]
                for target in targets:
                    if not (
                        isinstance(target, ast.Attribute)
                        and isinstance(target.value, ast.Name)
                        and target.value.id == receiver
                    ):
                        continue
                    value = sub.value if isinstance(sub, ast.Assign) else None
                    given = (
                        typed.get(value.id)
                        if stmt.name == "__init__" and isinstance(value, ast.Name)
                        else None
                    )
                    known = model.class_valued.get(target.attr, given)
                    model.class_valued[target.attr] = known if known == given else None

    def _class_type(self, annotation: ast.expr | None) -> str | None:
        """``Type[X]``, ``type[X]``, ``typing.Type[X]``: the qualified ``X``."""
        if not isinstance(annotation, ast.Subscript):
            return None
        outer = annotation.value
        if not (
            (isinstance(outer, ast.Name) and outer.id == "type")
            or self.qualify(outer) in ("typing.Type", "typing_extensions.Type")
        ):
            return None
        inner = annotation.slice
        if isinstance(inner, ast.Constant) and isinstance(inner.value, str):
            try:
                inner = ast.parse(inner.value, mode="eval").body
            except SyntaxError:
                return None
        return self.qualify(inner)

    def declares_base(self, decorator: ast.expr) -> bool:
        """``@as_declarative()`` or ``@<registry>.as_declarative_base()``."""
        if not isinstance(decorator, ast.Call):
            return False
        func = decorator.func
        if isinstance(func, ast.Attribute) and func.attr == "as_declarative_base":
            return True
        return self.qualify(func) in DECLARATIVE_BASE_DECORATORS

    def class_attribute(self, model: ModelFacts, stmt: ast.Assign | ast.AnnAssign) -> None:
        targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
        names = [t.id for t in targets if isinstance(t, ast.Name)]
        value = stmt.value
        if "query" in names and value is not None:
            self.query_property(model.qualname, value)
        if "query_class" in names and isinstance(value, ast.Name | ast.Attribute):
            query_class = self.qualify(value)
            if query_class is not None:
                self.pending.query_classes[model.qualname] = query_class
        if (
            "__tablename__" in names
            and isinstance(value, ast.Constant)
            and isinstance(value.value, str)
        ):
            model.table = value.value
        if "__mapper_args__" in names:
            model.mapper_args = _mapper_args(value)
        if not isinstance(value, ast.Call):
            model.members.extend(n for n in names if not n.startswith("__"))
            named = None
            if value is not None:
                named = "None" if _is_none(value) else self.qualify(value)
            for name in names if named else ():
                model.class_values[name] = named  # type: ignore[assignment]
            return
        callee = self.qualify(value.func) or ""
        short = callee.rsplit(".", 1)[-1]
        proxied = _proxied(value)
        if short in RELATIONSHIP_FUNCS:
            for name in names:
                model.relationships[name] = self.relationship(name, value)
        elif short in ("Column", "mapped_column", "column_property", "deferred"):
            model.columns.extend(names)
            if short == "deferred" and value.args and isinstance(value.args[0], ast.Call):
                value = value.args[0]  # ``deferred(Column(...))``: the column it defers
                short = (self.qualify(value.func) or "").rsplit(".", 1)[-1]
            model.foreign_tables |= _foreign_tables(value)
            annotation = stmt.annotation if isinstance(stmt, ast.AnnAssign) else None
            if short in ("Column", "mapped_column") and _integer_column(value, annotation):
                model.integer_columns.extend(names)
        elif proxied is not None:
            for name in names:
                self.pending.proxies[f"{model.qualname}.{name}"] = (callee, *proxied)
        else:
            model.members.extend(n for n in names if not n.startswith("__"))

    def relationship(self, name: str, call: ast.Call) -> RelationshipFacts:
        target = None
        if call.args:
            first = call.args[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                target = first.value
            else:
                target = self.qualify(first)
        facts = RelationshipFacts(name=name, target=target, line=call.lineno)
        for kw in call.keywords:
            value = kw.value
            if kw.arg == "uselist" and isinstance(value, ast.Constant):
                facts.uselist = bool(value.value)
            elif kw.arg == "lazy" and isinstance(value, ast.Constant):
                facts.lazy = str(value.value)
            elif kw.arg == "secondary":
                facts.secondary = True
            elif kw.arg == "back_populates" and isinstance(value, ast.Constant):
                facts.back_populates = str(value.value)
            elif kw.arg == "backref":
                facts.backref = _backref_name(value)
                facts.backref_lazy = _backref_lazy(value)
                facts.backref_cascade = _backref_cascade(value)
            elif kw.arg == "remote_side":
                facts.remote_side = True
            elif kw.arg == "cascade":
                facts.cascade = _literal_text(value)
            elif kw.arg == "viewonly":
                facts.viewonly = not (isinstance(value, ast.Constant) and not value.value)
        return facts


def _mapper_args(value: ast.expr | None) -> dict[str, str] | None:
    """``{"polymorphic_identity": "engineer", "polymorphic_on": type}`` →
    ``{"polymorphic_identity": "engineer", "polymorphic_on": "?"}``; None for anything
    but a dict literal with string keys."""
    if not isinstance(value, ast.Dict):
        return None
    found: dict[str, str] = {}
    for key, item in zip(value.keys, value.values, strict=True):
        if not (isinstance(key, ast.Constant) and isinstance(key.value, str)):
            return None
        is_literal = isinstance(item, ast.Constant) and isinstance(item.value, str | bool)
        found[key.value] = str(item.value) if isinstance(item, ast.Constant) and is_literal else "?"
    return found


def _proxied(call: ast.Call) -> tuple[str, str] | None:
    """The (relationship, attribute) literals of ``association_proxy("kw_links",
    "keyword")`` (positional or by keyword), if the call has that shape."""
    given: dict[str, ast.expr] = dict(zip(("target_collection", "attr"), call.args, strict=False))
    given.update({k.arg: k.value for k in call.keywords if k.arg is not None})
    texts = [given.get(name) for name in ("target_collection", "attr")]
    if all(isinstance(t, ast.Constant) and isinstance(t.value, str) for t in texts):
        return str(texts[0].value), str(texts[1].value)  # type: ignore[union-attr]
    return None


BINDABLE = (
    frozenset({"sqlalchemy.MetaData", "sqlalchemy.schema.MetaData"}) | DECLARATIVE_BASE_FACTORIES
)


def _argument(call: ast.Call, name: str, position: int) -> ast.expr | None:
    for kw in call.keywords:
        if kw.arg == name:
            return kw.value
    if len(call.args) > position and not isinstance(call.args[position], ast.Starred):
        return call.args[position]
    return None


def _bind_argument(call: ast.Call, callee: str) -> ast.expr | None:
    """The engine given to ``MetaData(bind=e)`` / ``MetaData(e)`` / ``declarative_base(bind=e)``."""
    if callee not in BINDABLE:
        return None
    for kw in call.keywords:
        if kw.arg == "bind":
            return kw.value
    if callee in ("sqlalchemy.MetaData", "sqlalchemy.schema.MetaData") and call.args:
        return call.args[0]
    return None


def _query_factory_param(
    returns: list[ast.Return], assigned: dict[str, ast.expr], params: list[str]
) -> str | None:
    """The parameter whose ``.query(...)`` every ``return`` of the function hands back
    (``returns``: its return statements; ``assigned``: the first value of each name it
    assigns alone), nested functions included."""
    found: set[str] = set()
    for ret in returns:
        value = ret.value
        if isinstance(value, ast.Name) and value.id in assigned:
            value = assigned[value.id]
        receiver = _query_receiver(value) if value is not None else None
        if receiver is None or receiver not in params:
            return None
        found.add(receiver)
    return found.pop() if len(found) == 1 else None


def _query_factory_attr(
    returns: list[ast.Return], assigned: dict[str, ast.expr], first: str
) -> str | None:
    """The attribute of the first parameter whose ``.query(...)`` every ``return`` of the
    function hands back (``return self.session.query(User)``)."""
    found: set[str] = set()
    for ret in returns:
        value = ret.value
        if isinstance(value, ast.Name) and value.id in assigned:
            value = assigned[value.id]
        receiver = _query_receiver(value, attributes=True) if value is not None else None
        owner, _, attr = (receiver or "").partition(".")
        if owner != first or not attr:
            return None
        found.add(attr)
    return found.pop() if len(found) == 1 else None


def _is_stub(body: list[ast.stmt]) -> bool:
    """A body doing nothing but ``raise NotImplementedError`` (``pass``, ``...``, a
    docstring): a method its subclasses override."""
    for statement in body:
        if isinstance(statement, ast.Pass):
            continue
        if isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant):
            continue  # a docstring, ``...``
        if isinstance(statement, ast.Raise) and statement.exc is not None:
            exc = statement.exc.func if isinstance(statement.exc, ast.Call) else statement.exc
            if isinstance(exc, ast.Name) and exc.id == "NotImplementedError":
                continue
        return False
    return True


def _query_receiver(value: ast.expr, attributes: bool = False) -> str | None:
    """``session`` in ``session.query(...).filter(...)`` (an open chain, no terminal);
    with ``attributes``, ``self.session`` in ``self.session.query(...)`` too."""
    node = value
    while isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        receiver = node.func.value
        if node.func.attr == "query" and isinstance(receiver, ast.Name):
            return receiver.id
        if (
            attributes
            and node.func.attr == "query"
            and isinstance(receiver, ast.Attribute)
            and isinstance(receiver.value, ast.Name)
        ):
            return f"{receiver.value.id}.{receiver.attr}"
        if node.func.attr in ("all", "first", "one", "one_or_none", "scalar", "count", "get"):
            return None
        node = node.func.value
    return None


def _foreign_tables(column: ast.Call) -> set[str]:
    """Tables named by ``ForeignKey("table.column")`` arguments of a column."""
    tables = set()
    for argument in [*column.args, *(k.value for k in column.keywords)]:
        if (
            isinstance(argument, ast.Call)
            and _short_name(argument.func) == "ForeignKey"
            and argument.args
        ):
            target = argument.args[0]
            if isinstance(target, ast.Constant) and isinstance(target.value, str):
                tables.add(target.value.rsplit(".", 1)[0].split(".")[-1])
            elif isinstance(target, ast.Attribute) and isinstance(target.value, ast.Attribute):
                if target.value.attr == "c" and isinstance(target.value.value, ast.Name):
                    tables.add(target.value.value.id)
    return tables


def _short_name(node: ast.expr) -> str:
    if isinstance(node, ast.Attribute):
        return node.attr
    return node.id if isinstance(node, ast.Name) else ""


def snake_table_name(class_name: str) -> str:
    """Flask-SQLAlchemy's default table name: ``OrderLine`` → ``order_line``."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", class_name).lower()


def _backref_name(value: ast.expr) -> str | None:
    if isinstance(value, ast.Constant) and isinstance(value.value, str):
        return value.value
    if isinstance(value, ast.Call) and value.args:
        first = value.args[0]
        if isinstance(first, ast.Constant) and isinstance(first.value, str):
            return first.value
    return None


TEST_CLIENTS = frozenset({"fastapi.testclient.TestClient", "starlette.testclient.TestClient"})


def _returned_local_function(
    node: ast.FunctionDef | ast.AsyncFunctionDef, qualname: str
) -> str | None:
    """``f"{qualname}.make"`` when the function defines ``make`` and returns it."""
    local = {s.name for s in node.body if isinstance(s, ast.FunctionDef | ast.AsyncFunctionDef)}
    for statement in node.body:
        if isinstance(statement, ast.Return) and isinstance(statement.value, ast.Name):
            if statement.value.id in local:
                return f"{qualname}.{statement.value.id}"
    return None


def _returned_params(
    node: ast.FunctionDef | ast.AsyncFunctionDef, params: list[str]
) -> tuple[list[str], bool]:
    """The parameters (not ``self``/``cls``) a ``return`` of the function itself (not of a
    function it defines) may give back (``return session``, ``return session or default``,
    ``return a if c else session``), and whether one may give a value of no type the
    index tells (an attribute, a subscript, a method's result: ``return ctx.get("s")``)."""
    found: list[str] = []
    opaque = False
    pending: list[ast.AST] = list(node.body)
    while pending:
        current = pending.pop()
        if isinstance(current, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Lambda):
            continue
        if not isinstance(current, ast.Return) or current.value is None:
            pending.extend(ast.iter_child_nodes(current))
            continue
        values = [current.value]
        while values:
            value = values.pop()
            if isinstance(value, ast.BoolOp):
                values.extend(value.values)
            elif isinstance(value, ast.IfExp):
                values.extend((value.body, value.orelse))
            elif isinstance(value, ast.Name) and value.id in params:
                if value.id not in ("self", "cls") and value.id not in found:
                    found.append(value.id)
            elif isinstance(value, ast.Attribute | ast.Subscript) or (
                isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute)
            ):
                opaque = True
    return sorted(found, key=params.index), opaque


#: calls that give one row (an object, or None) of the query or model they are given
ONE_ROW_LOADERS = frozenset(
    {"get", "get_one", "first", "one", "one_or_none", "get_or_404", "first_or_404", "one_or_404"}
)
#: of those, the ones taking the model and a primary key (``session.get(Task, 1)``)
ROW_BY_KEY_LOADERS = frozenset({"get", "get_one", "get_or_404"})
#: Query methods that keep the entity a query returns
QUERY_BUILDERS = frozenset(
    {
        "filter",
        "filter_by",
        "order_by",
        "options",
        "join",
        "outerjoin",
        "limit",
        "offset",
        "distinct",
        "execution_options",
        "populate_existing",
        "with_for_update",
        "enable_eagerloads",
        "autoflush",
        "params",
        "where",
    }
)


def _event_owner(func: ast.expr) -> ast.expr | None:
    """``db`` of ``db.event.listen`` / ``db.event.listens_for``; None for other calls."""
    if (
        isinstance(func, ast.Attribute)
        and func.attr in ("listen", "listens_for")
        and isinstance(func.value, ast.Attribute)
        and func.value.attr == "event"
    ):
        return func.value.value
    return None


#: methods giving one object of a query (or the session's ``get(cls, id)``)
ONE_OBJECT_METHODS = frozenset(
    {"first", "one", "one_or_none", "get", "get_one", "first_or_404", "get_or_404", "one_or_404"}
)


def _returns_cls_row(
    facts: FunctionFacts, returns: list[ast.Return], assigned: dict[str, ast.expr]
) -> bool:
    """A classmethod whose every return gives one object of ``cls``, or None (at least
    one the object): ``cls(**kw)``, ``session.get(cls, id)``, ``cls.query.get(id)``,
    ``cls.query.filter_by(...).first()``, ``session.query(cls)...one()``,
    ``session.scalars(select(cls)...).first()``, or a local first bound to one of them."""
    if "classmethod" not in {d.rpartition(".")[2] for d in facts.decorators} or not facts.params:
        return False
    cls = facts.params[0]
    values = [r.value for r in returns if r.value is not None and not _is_none(r.value)]
    return bool(values) and all(_one_object_of(value, cls, assigned) for value in values)


def _one_object_of(value: ast.expr, cls: str, assigned: dict[str, ast.expr]) -> bool:
    if isinstance(value, ast.Name) and value.id in assigned and value.id != cls:
        value = assigned[value.id]
    while isinstance(value, ast.Await):
        value = value.value
    if not isinstance(value, ast.Call):
        return False
    func = value.func
    if isinstance(func, ast.Name):
        return func.id == cls  # ``cls(**kw)``
    if not isinstance(func, ast.Attribute) or func.attr not in ONE_OBJECT_METHODS:
        return False
    if func.attr in ("get", "get_one", "get_or_404") and value.args:
        first = value.args[0]
        if isinstance(first, ast.Name) and first.id == cls:
            return True  # ``session.get(cls, id)``, ``db.get_or_404(cls, id)``
    node: ast.expr = func.value
    while isinstance(node, ast.Await):
        node = node.value
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        if node.func.attr in ("scalars", "execute") and node.args:
            return _selects_only(node.args[0], cls) and node.func.attr == "scalars"
    while isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        if node.func.attr == "query":
            args = node.args
            return len(args) == 1 and isinstance(args[0], ast.Name) and args[0].id == cls
        if node.func.attr not in QUERY_BUILDERS:
            return False
        node = node.func.value
    return (
        isinstance(node, ast.Attribute)
        and node.attr == "query"
        and isinstance(node.value, ast.Name)
        and node.value.id == cls
    )


def _selects_only(statement: ast.expr, cls: str) -> bool:
    """``select(cls)``, refined (``.where(...)``, ``.order_by(...)``)."""
    while isinstance(statement, ast.Call) and isinstance(statement.func, ast.Attribute):
        statement = statement.func.value
    return (
        isinstance(statement, ast.Call)
        and isinstance(statement.func, ast.Name)
        and statement.func.id == "select"
        and len(statement.args) == 1
        and isinstance(statement.args[0], ast.Name)
        and statement.args[0].id == cls
    )


def _binding_counts(tree: ast.Module, nodes: list[ast.AST]) -> dict[str, int]:
    """How many times the module binds each name at module level (assignments, imports,
    definitions, loop or ``with`` targets...); twice more for a name a function declares
    ``global`` (``nodes``: all of the module's nodes)."""
    counts: dict[str, int] = {}

    def bound(name: str, times: int = 1) -> None:
        counts[name] = counts.get(name, 0) + times

    pending: list[ast.AST] = [tree]  # a stack, not recursion: expressions nest deeply
    while pending:
        for child in ast.iter_child_nodes(pending.pop()):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                bound(child.name)
                continue  # its body is a scope of its own
            if isinstance(child, ast.Lambda):
                continue
            if isinstance(child, ast.Name) and isinstance(child.ctx, ast.Store | ast.Del):
                bound(child.id)
            elif isinstance(child, ast.alias):
                bound((child.asname or child.name).split(".")[0])
            elif isinstance(child, ast.ExceptHandler | ast.MatchAs | ast.MatchStar):
                if child.name:
                    bound(child.name)
            elif isinstance(child, ast.MatchMapping) and child.rest:
                bound(child.rest)
            pending.append(child)
    for node in nodes:
        if isinstance(node, ast.Global):
            for name in node.names:
                bound(name, 2)
    return counts


def _literal_all(tree: ast.Module) -> frozenset[str] | None:
    """The names of the module's ``__all__ = [...]`` (or a tuple), when it is bound once
    at module level to literal strings; None otherwise (a star import then takes its
    public names)."""
    found: frozenset[str] | None = None
    for stmt in tree.body:
        if isinstance(stmt, ast.Assign):
            targets, value = stmt.targets, stmt.value
        elif isinstance(stmt, ast.AnnAssign | ast.AugAssign):
            targets, value = [stmt.target], None
        else:
            continue
        if not any(isinstance(t, ast.Name) and t.id == "__all__" for t in targets):
            continue
        if found is not None or not isinstance(value, ast.List | ast.Tuple):
            return None
        names = [e.value for e in value.elts if isinstance(e, ast.Constant)]
        if len(names) != len(value.elts) or not all(isinstance(n, str) for n in names):
            return None
        found = frozenset(str(n) for n in names)
    return found


def _generic_origin(base: ast.expr) -> ast.expr:
    """``CRUDBase`` for a base written ``CRUDBase[User]`` (a generic class given its type
    arguments is that class as a base), the base itself otherwise."""
    return base.value if isinstance(base, ast.Subscript) else base


def _is_none(value: ast.expr) -> bool:
    return isinstance(value, ast.Constant) and value.value is None


def _literal_text(value: ast.expr) -> str:
    """A string literal's text, "?" for anything else."""
    if isinstance(value, ast.Constant) and isinstance(value.value, str):
        return value.value
    return "?"


def _backref_cascade(value: ast.expr) -> str | None:
    if isinstance(value, ast.Call):
        for keyword in value.keywords:
            if keyword.arg == "cascade":
                return _literal_text(keyword.value)
    return None


def _backref_lazy(value: ast.expr) -> str | None:
    if isinstance(value, ast.Call):
        for keyword in value.keywords:
            if keyword.arg == "lazy" and isinstance(keyword.value, ast.Constant):
                return str(keyword.value.value)
    return None


def _query_cls_argument(keyword: ast.keyword) -> ast.expr | None:
    """X of ``query_cls=X`` or ``session_options={"query_cls": X}``."""
    if keyword.arg == "query_cls":
        return keyword.value
    if keyword.arg == "session_options" and isinstance(keyword.value, ast.Dict):
        for key, value in zip(keyword.value.keys, keyword.value.values, strict=True):
            if isinstance(key, ast.Constant) and key.value == "query_cls":
                return value
    return None


def _module_schema_binds(body: list[ast.stmt]) -> Iterable[ast.expr]:
    """The bind arguments of the ``metadata.create_all(engine)`` statements (and
    ``drop_all``, ``reflect``) a module runs at import time (outside functions and
    classes)."""
    for stmt in body:
        if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            continue
        if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call):
            call = stmt.value
            if isinstance(call.func, ast.Attribute) and call.func.attr in SCHEMA_METHODS:
                bind = _argument(call, "bind", 0)
                if bind is not None:
                    yield bind
        yield from _module_schema_binds(list(_child_statements(stmt)))


def _on_event(decorator: ast.expr, app: str) -> bool:
    """``@app.on_event("startup")`` (or ``"shutdown"``)."""
    return (
        isinstance(decorator, ast.Call)
        and isinstance(decorator.func, ast.Attribute)
        and decorator.func.attr == "on_event"
        and isinstance(decorator.func.value, ast.Name)
        and decorator.func.value.id == app
    )


def _child_statements(stmt: ast.stmt) -> Iterable[ast.stmt]:
    for field_name in ("body", "orelse", "finalbody"):
        yield from getattr(stmt, field_name, ())
    for handler in getattr(stmt, "handlers", ()):
        yield from handler.body
    for case in getattr(stmt, "cases", ()):
        yield from case.body


def collect_module(
    source: bytes, module_name: str, path: str, is_package: bool, pending: _Pending
) -> ModuleFacts:
    """Facts of one module. Raises ``SyntaxError``/``ValueError`` on unparsable input."""
    tree = ast.parse(source, filename=path)
    facts = ModuleFacts(name=module_name, path=path)
    _ModuleCollector(facts, is_package, pending).collect(tree)
    return facts


@dataclass(frozen=True)
class Unparsable:
    path: str
    reason: str


#: one module's facts and the bindings they leave for ``build`` to resolve, or why not
Collected = tuple[ModuleFacts, _Pending] | Unparsable


def collect_one(source: bytes, module_name: str, path: str, is_package: bool) -> Collected:
    """One module's index facts on their own, so that they can be cached by content."""
    pending = _Pending()
    try:
        facts = collect_module(source, module_name, path, is_package, pending)
    except (SyntaxError, ValueError, RecursionError) as exc:
        return Unparsable(path, f"{type(exc).__name__}: {exc}")
    return facts, pending


class IndexBuilder:
    """Collect modules one by one, then ``build()`` the resolved index."""

    def __init__(self) -> None:
        self.pending = _Pending()
        self.index = ProjectIndex()
        self.failures: dict[str, str] = {}

    def add(self, source: bytes, module_name: str, path: str, is_package: bool) -> None:
        self.add_collected(collect_one(source, module_name, path, is_package))

    def add_collected(self, collected: Collected) -> None:
        """Add what ``collect_one`` found in one module (possibly in an earlier run)."""
        if isinstance(collected, Unparsable):
            self.failures[collected.path] = collected.reason
            return
        facts, pending = collected
        for name in vars(pending):
            getattr(self.pending, name).update(getattr(pending, name))
        self.index.modules[facts.name] = facts
        self.index.functions.update(facts.functions)

    def build(self) -> ProjectIndex:
        self._substitute_base_aliases()
        self.index.metadata_binds = dict(self.pending.binds)
        self.index.query_properties = self._query_properties()
        self.index.declarative_mixins = dict(self.pending.declarative_mixins)
        self.index.query_classes = dict(self.pending.query_classes)
        self.index.session_query_classes = set(self.pending.session_query_classes)
        self.index.event_targets = set(self.pending.event_targets)
        self.index.imperative_mapping_modules = set(self.pending.imperative_modules)
        self.index.scoped_factories = dict(self.pending.scoped_factories)
        self.index.sync_session_classes = {
            self.index.resolve_alias(name) for name in self.pending.sync_session_classes
        }
        self.index.sync_only_factories = (
            set(self.pending.sync_only_factories) | self.index.sync_session_classes
        )
        self.index.sync_sessionmakers = {
            name
            for name, callee in self.pending.calls.items()
            if self.index.resolve_alias(callee) in SYNC_SESSIONMAKERS
        } | {name for name, factory in self.pending.scoped_factories.items() if factory == name}
        self._resolve_objects()
        self.index.opaque_returns = self._opaque_returns()
        self.index.fixture_kinds = self._fixture_kinds()
        self.index.event_targets |= {
            target
            for owner, target in self.pending.owned_event_targets
            if self._kind(owner) is ObjectKind.FLASK_SQLALCHEMY
        }
        self._resolve_models()
        self.index.typevar_bounds = dict(self.pending.typevar_bounds)
        self.index.declarative_bases = {
            self.index.resolve_alias(name)
            for name in self.pending.bases
            if self._is_declarative_base(name)
        }
        self.index.instances = self._project_instances()
        self.index.session_aliases = self._session_aliases()
        self._resolve_session_params()
        self.index.core_tables = {
            name for name, callee in self.pending.calls.items() if self._builds_table(callee)
        }
        self.index.startup_apps = {
            app: events
            for app, (binds, events) in self.pending.startup_apps.items()
            if any(self._engine_like(bind) for bind in binds)
        }
        self.index.core_integer_columns = {
            name: columns
            for name, columns in self.pending.integer_columns.items()
            if name in self.index.core_tables
        }
        return self.index

    def _query_properties(self) -> dict[str, str]:
        """Classes given ``query = session.query_property()`` -> that session, with every
        class inheriting it: ``query`` set on a mixin reaches the declarative base made with
        ``declarative_base(cls=Mixin)`` and the classes derived from the mixin, so
        ``cls.query`` in the mixin's own classmethods is found too."""
        owners = dict(self.pending.query_properties)
        resolve = self.index.resolve_alias
        found: dict[str, str | None] = {}

        def session_of(qualname: str, depth: int = 0) -> str | None:
            resolved = resolve(qualname)
            if resolved in owners:
                return owners[resolved]
            if resolved in found or depth > 50:
                return found.get(resolved)
            found[resolved] = None
            bases = self.pending.bases.get(resolved, [])
            bases = bases + self.pending.declarative_mixins.get(resolved, [])
            for base in bases:
                session = session_of(base, depth + 1)
                if session is not None:
                    found[resolved] = session
                    break
            return found[resolved]

        for name in [*self.pending.bases, *self.pending.declarative_mixins]:
            session = session_of(name)
            if session is not None:
                owners.setdefault(resolve(name), session)
        return owners

    def _project_instances(self) -> dict[str, str]:
        """Module-level names bound once to an instance of a project class → the class."""
        found = {}
        for name, callee in self.pending.instances.items():
            klass = self.index.resolve_alias(callee)
            if self.index.class_facts(klass) is not None:
                found[name] = klass
        return found

    def _session_aliases(self) -> set[str]:
        """The type aliases each binding of which names a session type or another
        session alias (``SessionDep = Annotated[Session, ...]``, an alias of it...)."""
        found: set[str] = set()
        changed = True
        while changed:
            changed = False
            for alias, bindings in self.pending.type_aliases.items():
                if alias not in found and all(self._names_a_session(b, found) for b in bindings):
                    found.add(alias)
                    changed = True
        return found

    def _names_a_session(self, types: list[str], aliases: set[str]) -> bool:
        resolved = {self.index.resolve_alias(name) for name in types}
        return bool(resolved & (SESSION_TYPES | aliases))

    def _engine_like(self, qualname: str) -> bool:
        """An engine of the index, a Flask-SQLAlchemy object's ``engine``, or a name taken
        for an engine's (as ``analysis.connectables`` does)."""
        owner, _, attr = qualname.rpartition(".")
        if self._kind(qualname) is ObjectKind.ENGINE:
            return True
        if attr == "engine" and self._kind(owner) is ObjectKind.FLASK_SQLALCHEMY:
            return True
        return attr in ENGINE_NAMES and self._kind(qualname) is None

    def _kind(self, qualname: str) -> ObjectKind | None:
        resolved = self.index.resolve_alias(qualname)
        return self.index.objects.get(resolved) or CONSTRUCTOR_KINDS.get(resolved)

    def _resolve_objects(self) -> None:
        objects = self.index.objects
        changed = True
        while changed:
            changed = False
            for name, callee in self.pending.calls.items():
                kind = self._call_result_kind(callee)
                if kind is not None and objects.get(name) != kind:
                    objects[name] = kind
                    changed = True
            for name, target in self.pending.aliases.items():
                kind = self._kind(target)
                if kind is not None and objects.get(name) != kind:
                    objects[name] = kind
                    changed = True
            for name, callees in self.pending.providers.items():
                if name in objects:
                    continue
                kinds = [self._call_result_kind(c) for c in callees]
                if ObjectKind.SESSION in kinds:
                    objects[name] = ObjectKind.SESSION_PROVIDER
                    changed = True
                elif kinds and all(k is ObjectKind.SCOPED_SESSION for k in kinds):
                    # ``return scoped_session(factory)``: what a call gives acts as a
                    # session (and has the registry's ``remove()``)
                    objects[name] = ObjectKind.SESSION_PROVIDER
                    self.index.scoped_providers.add(name)
                    changed = True

    def _opaque_returns(self) -> set[str]:
        """The functions returning the result of a call of a project function that may
        return a value of no told type, or one of its parameters (what the inner call is
        handed there is not followed): ``def session_for_read(): return _wrap_session(
        reader.using(ctx))`` with ``def _wrap_session(sess): ...; return sess``. Session
        providers and generators are left out (their results are told)."""
        functions = self.index.functions
        opaque: set[str] = set()

        def told(facts: FunctionFacts) -> bool:
            return (
                facts.is_generator
                or self.index.objects.get(facts.qualname) is ObjectKind.SESSION_PROVIDER
            )

        changed = True
        while changed:
            changed = False
            for qualname, facts in functions.items():
                if qualname in opaque or facts.returns_opaque or told(facts):
                    continue
                for callee in self.pending.providers.get(qualname, []):
                    inner = functions.get(self.index.resolve_alias(callee))
                    if inner is None or inner is facts or told(inner):
                        continue
                    if inner.returns_opaque or inner.returns_params or inner.qualname in opaque:
                        opaque.add(qualname)
                        changed = True
                        break
        return opaque

    def _fixture_kinds(self) -> dict[str, ObjectKind]:
        """What each pytest fixture returns or yields, where every value it gives is the
        result of a call of one kind: ``return sessionmaker(bind=engine)`` (a factory),
        ``yield SessionLocal()``, ``s = session_factory(); yield s`` through another
        fixture's factory (a session), ``return create_engine(...)`` (an engine). A name
        whose fixtures (overriding one another) do not all give the same is left out."""
        fixtures = {
            q: f
            for q, f in self.index.functions.items()
            if any(d.endswith("fixture") for d in f.decorators)
        }
        by_name: dict[str, ObjectKind] = {}
        kinds: dict[str, ObjectKind | None] = {}
        for _ in range(10):  # fixtures of fixtures, a few levels deep
            for qualname, facts in fixtures.items():
                given = {self._given_kind(c, facts, qualname, by_name) for c in facts.returns}
                kinds[qualname] = given.pop() if len(given) == 1 and facts.returns else None
            names: dict[str, set[ObjectKind | None]] = {}
            for qualname, kind in kinds.items():
                names.setdefault(qualname.rpartition(".")[2], set()).add(kind)
            found: dict[str, ObjectKind] = {}
            for name, given_kinds in names.items():
                only = next(iter(given_kinds)) if len(given_kinds) == 1 else None
                if only is not None:
                    found[name] = only
            if found == by_name:
                break
            by_name = found
        return by_name

    def _given_kind(
        self, callee: str, facts: FunctionFacts, fixture: str, fixtures: dict[str, ObjectKind]
    ) -> ObjectKind | None:
        """The kind of what calling ``callee`` gives in the fixture ``fixture``."""
        owner, _, name = callee.rpartition(".")
        if name in facts.params and fixture.startswith(owner + "."):
            # a fixture parameter called: ``session_factory()``
            factory = fixtures.get(name)
            return CALL_RESULT_KINDS.get(factory) if factory is not None else None
        kind = self._call_result_kind(callee)
        allowed = (
            ObjectKind.SESSION_FACTORY,
            ObjectKind.SCOPED_SESSION,
            ObjectKind.SESSION,
            ObjectKind.ENGINE,
        )
        return kind if kind in allowed else None

    def _builds_table(self, callee: str) -> bool:
        """``Table``/``table`` of SQLAlchemy, or ``db.Table`` of Flask-SQLAlchemy."""
        resolved = self.index.resolve_alias(callee)
        if resolved in TABLE_CONSTRUCTORS:
            return True
        owner, _, attr = resolved.rpartition(".")
        return attr in ("Table", "table") and self._kind(owner) is ObjectKind.FLASK_SQLALCHEMY

    def _resolve_session_params(self) -> None:
        """A parameter is a session when a caller hands it one: a local bound to a
        session factory's result, a scoped session, ``db.session``, or a parameter that
        is itself a session (by this inference or its annotation). A parameter handed one
        only taken for a session by its name (``session``, ``db``) is assumed to be one,
        as that parameter is."""
        functions = self.index.functions
        proven = self.index.session_params
        assumed = self.index.assumed_session_params
        factories = self.index.factory_params
        changed = True
        while changed:
            changed = False
            for caller in [*functions.values(), *self.pending.module_callers.values()]:
                for callee, slot, origin in caller.handed:
                    target, slot = self._handed_target(callee, slot)
                    param = _param_at(target, slot) if target is not None else None
                    if target is None or param is None or param in target.annotations:
                        continue
                    key = (target.qualname, param)
                    if key not in factories and self._handed_factory(caller, origin):
                        factories.add(key)
                        changed = True
                    if key in proven:
                        continue
                    verdict = self._handed_session(caller, origin)
                    if verdict == "proof":
                        proven.add(key)
                        assumed.discard(key)
                        changed = True
                    elif verdict == "assumed" and key not in assumed:
                        assumed.add(key)
                        changed = True

    def _handed_session(self, function: FunctionFacts, origin: tuple[str, str]) -> str | None:
        """ "proof" when ``origin`` is a session, "assumed" when only a name says so."""
        kind, name = origin
        if kind == "param":
            annotation = function.annotations.get(name)
            if annotation is not None:
                is_session = self._kind(annotation) is ObjectKind.SESSION
                return "proof" if is_session or self.index.is_session_alias(annotation) else None
            key = (function.qualname, name)
            if key in self.index.session_params:
                return "proof"
            if key in self.index.assumed_session_params or looks_like_session(name):
                return "assumed"
            return None
        if kind in ("call", "with"):
            if self._call_result_kind(name) is ObjectKind.SESSION:
                return "proof"  # Session(), SessionLocal(), with Session() as s
            provider = kind == "with" and self._kind(name) is ObjectKind.SESSION_PROVIDER
            return "proof" if provider else None  # with session_scope() as s
        if self._is_flask_session(name):
            return "proof"
        if self._kind(name) in (ObjectKind.SESSION, ObjectKind.SCOPED_SESSION):
            return "proof"
        return None

    def _handed_target(
        self, callee: str, slot: int | str
    ) -> tuple[FunctionFacts | None, int | str]:
        """The function a call hands a value to, and the value's slot in its parameters:
        a project class called (``Repo(Session)``) hands it to its ``__init__``, after
        ``self``."""
        resolved = self.index.resolve_alias(callee)
        target = self.index.functions.get(resolved)
        if target is None and resolved in self.pending.bases:  # a class of the project
            target = self.index.functions.get(f"{resolved}.__init__")
            if isinstance(slot, int):
                slot += 1
        return target, slot

    def _handed_factory(self, function: FunctionFacts, origin: tuple[str, str]) -> bool:
        """Is ``origin`` a session factory: ``sessionmaker(...)`` (bound to a local or
        module-level name), or a parameter that is one (by this inference or its
        annotation)?"""
        kind, name = origin
        if kind == "param":
            annotation = function.annotations.get(name)
            if annotation is not None:
                return self._kind(annotation) is ObjectKind.SESSION_FACTORY
            return (function.qualname, name) in self.index.factory_params
        if kind == "call":
            return self._call_result_kind(name) is ObjectKind.SESSION_FACTORY
        return kind == "name" and self._kind(name) is ObjectKind.SESSION_FACTORY

    def _call_result_kind(self, callee: str) -> ObjectKind | None:
        resolved = self.index.resolve_alias(callee)
        if resolved in CONSTRUCTOR_KINDS:
            return CONSTRUCTOR_KINDS[resolved]
        kind = self.index.objects.get(resolved)
        if kind in CALL_RESULT_KINDS:
            return CALL_RESULT_KINDS[kind]
        if kind is ObjectKind.SESSION_PROVIDER:
            facts = self.index.functions.get(resolved)
            # calling a generator provider (a FastAPI dependency) gives a generator
            if facts is None or facts.is_generator:
                return None
            if resolved in self.index.scoped_providers:
                return ObjectKind.SCOPED_SESSION
            return ObjectKind.SESSION
        if self._subclasses_flask_sqlalchemy(resolved):
            return ObjectKind.FLASK_SQLALCHEMY  # ``class SQLAlchemy(_BaseSQLAlchemy)``
        if self._is_flask_session(resolved):
            return ObjectKind.SESSION  # ``db.session()``: the registry's session
        return None

    def _is_flask_session(self, qualname: str) -> bool:
        """``<a Flask-SQLAlchemy object>.session``."""
        owner, _, attr = qualname.rpartition(".")
        return attr == "session" and self._kind(owner) is ObjectKind.FLASK_SQLALCHEMY

    def _subclasses_flask_sqlalchemy(self, qualname: str, depth: int = 0) -> bool:
        """Is ``qualname`` a project class deriving from Flask-SQLAlchemy's extension?"""
        for base in self.pending.bases.get(qualname, []) if depth < 20 else []:
            resolved = self.index.resolve_alias(base)
            if CONSTRUCTOR_KINDS.get(resolved) is ObjectKind.FLASK_SQLALCHEMY:
                return True
            if self._subclasses_flask_sqlalchemy(resolved, depth + 1):
                return True
        return False

    def _substitute_base_aliases(self) -> None:
        """A class derived from a module-level name bound to another class
        (``BaseModel: DeclarativeMeta = db.Model``, ``Base = other.Base``) derives from
        that class: its bases name what the alias is bound to, here and in its facts."""

        def follow(base: str) -> str:
            seen: set[str] = set()
            resolved = self.index.resolve_alias(base)
            while (
                resolved in self.pending.aliases
                and resolved not in self.pending.bases
                and resolved not in seen
            ):
                seen.add(resolved)
                resolved = self.index.resolve_alias(self.pending.aliases[resolved])
            return resolved if seen else base

        substituted: dict[str, list[str]] = {}
        for qualname, bases in self.pending.bases.items():
            followed = [follow(b) for b in bases]
            if followed != bases:
                substituted[qualname] = followed
        self.pending.bases.update(substituted)
        for module in self.index.modules.values():
            for qualname, model in module.models.items():
                if qualname in substituted:
                    model.bases = [b for b in substituted[qualname] if b != "<declarative>"]

    def _resolve_models(self) -> None:
        """A model is a class whose bases lead to a declarative base or ``db.Model``."""
        is_model: dict[str, bool] = {}

        def check(qualname: str, depth: int = 0) -> bool:
            resolved = self.index.resolve_alias(qualname)
            if resolved in is_model:
                return is_model[resolved]
            if depth > 50:
                return False
            is_model[resolved] = False
            bases = self.pending.bases.get(resolved, [])
            result = any(_is_model_base(self, b) or check(b, depth + 1) for b in bases)
            is_model[resolved] = result
            return result

        imperative = {self.index.resolve_alias(q): r for q, r in self.pending.imperative.items()}
        for module in self.index.modules.values():
            for qualname, model in module.models.items():
                if qualname in imperative:
                    for name, relationship in imperative[qualname].items():
                        model.relationships.setdefault(name, relationship)
                    self.index.models[qualname] = model
                    self._qualify_relationship_targets(module, model)
                    continue
                if check(qualname) and not self._is_declarative_base(qualname):
                    self.index.models[qualname] = model
                    if model.table is None and self._is_flask_model(qualname):
                        model.table = snake_table_name(qualname.rsplit(".", 1)[-1])
                    self._qualify_relationship_targets(module, model)
        self._resolve_association_proxies()

    def _resolve_association_proxies(self) -> None:
        """``keywords = association_proxy("kw_links", "keyword")`` where the callee
        resolves to SQLAlchemy's; any other call of that shape is a plain member."""
        for name, (callee, relationship, attr) in self.pending.proxies.items():
            owner, _, proxy = name.rpartition(".")
            model = self.index.models.get(owner)
            if model is None:
                continue
            if self.index.resolve_alias(callee) in ASSOCIATION_PROXY_FUNCS:
                model.association_proxies[proxy] = (relationship, attr)
            elif proxy not in model.members:
                model.members.append(proxy)

    def _is_flask_model(self, qualname: str, depth: int = 0) -> bool:
        for base in self.pending.bases.get(qualname, []):
            resolved = self.index.resolve_alias(base)
            owner, _, attr = resolved.rpartition(".")
            if attr == "Model" and self._kind(owner) is ObjectKind.FLASK_SQLALCHEMY:
                return True
            if depth < 20 and self._is_flask_model(resolved, depth + 1):
                return True
        return False

    def _is_declarative_base(self, qualname: str) -> bool:
        bases = self.pending.bases.get(qualname, [])
        return "<declarative>" in bases or any(b in DECLARATIVE_BASE_CLASSES for b in bases)

    def _qualify_relationship_targets(self, module: ModuleFacts, model: ModelFacts) -> None:
        for rel in model.relationships.values():
            if rel.target and "." not in rel.target:
                local = f"{module.name}.{rel.target}"
                if local in module.models:
                    rel.target = local


#: SQLAlchemy's integer types, by the name they are spelled with (``db.Integer`` too)
INTEGER_TYPES = frozenset(
    {"Integer", "BigInteger", "SmallInteger", "INTEGER", "BIGINT", "SMALLINT"}
)


def _table_integer_columns(call: ast.Call) -> list[str]:
    """The names of the integer columns among a table constructor's arguments
    (``Column("cents", Integer)``, ``column("id", Integer)``)."""
    found = []
    for arg in call.args[1:]:
        if not (isinstance(arg, ast.Call) and arg.args):
            continue
        func = arg.func
        spelled = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
        first = arg.args[0]
        if spelled not in ("Column", "column") or not isinstance(first, ast.Constant):
            continue
        if isinstance(first.value, str) and _integer_column(arg, None):
            found.append(first.value)
    return found


def _integer_column(call: ast.Call, annotation: ast.expr | None) -> bool:
    """``Column(Integer)``, ``Column("n", BigInteger())``, ``mapped_column(Integer)``, or
    ``x: Mapped[int] = mapped_column(...)`` with no type given."""
    for arg in call.args[:2]:
        kind = arg.func if isinstance(arg, ast.Call) else arg
        spelled = kind.attr if isinstance(kind, ast.Attribute) else getattr(kind, "id", None)
        if spelled in INTEGER_TYPES:
            return True
        if not (isinstance(arg, ast.Constant) and isinstance(arg.value, str)):
            return False  # another type, or a ForeignKey(...) first: its type is the other's
    return (
        isinstance(annotation, ast.Subscript)
        and isinstance(annotation.slice, ast.Name)
        and annotation.slice.id == "int"
    )


def _param_at(function: FunctionFacts, slot: int | str) -> str | None:
    if isinstance(slot, str):
        return slot if slot in function.params else None
    return function.params[slot] if slot < function.positional else None


def _is_model_base(builder: IndexBuilder, qualname: str) -> bool:
    resolved = builder.index.resolve_alias(qualname)
    if resolved in ("<declarative>", *DECLARATIVE_BASE_CLASSES, *LIBRARY_DECLARATIVE_BASES):
        return True
    owner, _, attr = resolved.rpartition(".")
    if attr == "Model" and builder._kind(owner) is ObjectKind.FLASK_SQLALCHEMY:
        return True
    return builder._is_declarative_base(resolved)


def _first_parameter_attributes(
    node: ast.FunctionDef | ast.AsyncFunctionDef, nodes: list[ast.AST]
) -> list[str]:
    """The attributes the function assigns on its first parameter (``self.model = m``,
    ``self.a, self.b = ...``, ``self.n += 1``), nested functions included (``nodes``:
    all of its nodes)."""
    positional = (*node.args.posonlyargs, *node.args.args)
    if not positional:
        return []
    first = positional[0].arg
    found: set[str] = set()
    for sub in nodes:
        if isinstance(sub, ast.Attribute) and isinstance(sub.ctx, ast.Store | ast.Del):
            if isinstance(sub.value, ast.Name) and sub.value.id == first:
                found.add(sub.attr)
    return sorted(found)


def _first_parameter_session_holders(
    node: ast.FunctionDef | ast.AsyncFunctionDef, nodes: list[ast.AST]
) -> list[str]:
    """The attributes ``x`` of the first parameter the function reads ``.session`` of
    (``self.db.session.commit()``; ``nodes``: all of the function's nodes)."""
    positional = (*node.args.posonlyargs, *node.args.args)
    if not positional:
        return []
    first = positional[0].arg
    found: set[str] = set()
    for sub in nodes:
        if isinstance(sub, ast.Attribute) and sub.attr == "session":
            holder = sub.value
            if (
                isinstance(holder, ast.Attribute)
                and isinstance(holder.value, ast.Name)
                and holder.value.id == first
            ):
                found.add(holder.attr)
    return sorted(found)


def _record_init_keywords(model: ModelFacts, init: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
    """What a custom ``__init__`` does with each keyword it takes: a parameter the body
    only assigns as it is to one attribute of ``self`` sets that attribute."""
    arguments = init.args
    params = [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs]
    names = [p.arg for p in params[1:]] if params else []
    model.init_takes_kwargs = arguments.kwarg is not None
    assigned: dict[str, set[str]] = {name: set() for name in names}
    plain_uses: dict[str, int] = dict.fromkeys(names, 0)
    for node in ast.walk(init):
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Name):
            for target in node.targets:
                if (
                    isinstance(target, ast.Attribute)
                    and isinstance(target.value, ast.Name)
                    and params
                    and target.value.id == params[0].arg
                    and node.value.id in assigned
                ):
                    assigned[node.value.id].add(target.attr)
                    plain_uses[node.value.id] -= 1
        elif isinstance(node, ast.Name) and node.id in plain_uses:
            plain_uses[node.id] += 1
    for name in names:
        attributes = assigned[name]
        only_assigned = len(attributes) == 1 and plain_uses[name] == 0
        model.init_keywords[name] = next(iter(attributes)) if only_assigned else None


def _outside_definitions(tree: ast.Module) -> Iterator[ast.AST]:
    """The nodes of the module's own code: not in its functions, classes or lambdas."""
    pending: list[ast.AST] = list(tree.body)
    while pending:
        node = pending.pop()
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Lambda):
            continue
        yield node
        pending.extend(ast.iter_child_nodes(node))
