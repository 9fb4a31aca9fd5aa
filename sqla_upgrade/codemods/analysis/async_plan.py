"""Which functions become ``async def``: a fixed point over the project's call graph.

Between the sync stage (2.0 rewrites) and the async stage, every file's stage-one output
is read once by ``IoFactsCollector``: for each function, whether it does I/O on a
session, connection or engine (per ``IoDetector``) and which project functions it calls
(per ``CallResolver``, shared with the await pass). ``plan_async`` then marks functions
async from the I/O up through their callers, across modules, and records why, so the
report can show the chain. Functions that cannot be coroutines (properties, ``__init__``,
``__repr__``...) stop the propagation and are listed as blocked.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar

import libcst as cst
from libcst.metadata import (
    BaseMetadataProvider,
    ClassScope,
    GlobalScope,
    MetadataWrapper,
    ParentNodeProvider,
    PositionProvider,
    ScopeProvider,
)

from sqla_upgrade.codemods.analysis.function_values import (
    ARGPARSE_DEFAULTS,
    OPAQUE,
    SLOT,
    VALUE,
    FunctionValues,
    dispatched_words,
    slot_display,
    table_slot,
    unlocal,
)
from sqla_upgrade.codemods.analysis.io_calls import IoDetector
from sqla_upgrade.codemods.analysis.plans import AsyncPlan
from sqla_upgrade.codemods.base import (
    ANALYSIS_METADATA,
    FileState,
    Pass,
    in_sync_greenlet,
    is_event_listener,
    per_object,
)
from sqla_upgrade.codemods.index.model import ProjectIndex
from sqla_upgrade.codemods.names import assigned_values, qualified_names
from sqla_upgrade.codemods.templates import (
    BUILTIN_METHODS,
    source_attribute_reads,
    source_method_calls,
)

CANNOT_BE_ASYNC = frozenset(
    {
        "__init__",
        "__new__",
        "__repr__",
        "__str__",
        "__eq__",
        "__ne__",
        "__lt__",
        "__le__",
        "__gt__",
        "__ge__",
        "__hash__",
        "__bool__",
        "__len__",
        "__iter__",
        "__next__",
        "__contains__",
        "__getitem__",
        "__setitem__",
        "__getattr__",
        "__del__",
        "__enter__",
        "__exit__",
        "__call__",
        "__init_subclass__",
        "__set_name__",
        "__post_init__",
    }
)
PROPERTY_DECORATORS = frozenset(
    {"builtins.property", "functools.cached_property", "sqlalchemy.ext.hybrid.hybrid_property"}
)
#: decorators of mapped-class methods SQLAlchemy calls synchronously (an attribute set
#: calls a validator, a load calls a reconstructor): as coroutines they would not run
ORM_HOOK_DECORATORS = {
    "sqlalchemy.orm.validates": "SQLAlchemy calls @validates methods synchronously",
    "sqlalchemy.orm.mapper.validates": "SQLAlchemy calls @validates methods synchronously",
    "sqlalchemy.orm.reconstructor": "SQLAlchemy calls @reconstructor methods synchronously",
    "sqlalchemy.orm.mapper.reconstructor": "SQLAlchemy calls @reconstructor methods synchronously",
}

#: third-party decorators registering the function for their framework, which calls it
#: synchronously (a coroutine function would never run: Pyramid renders the coroutine
#: object a view returns, colander binds it as the widget) → who calls it
SYNC_CALLBACK_DECORATORS = {
    **{
        f"pyramid.view.{name}": "Pyramid"
        for name in (
            "view_config",
            "notfound_view_config",
            "forbidden_view_config",
            "exception_view_config",
        )
    },
    "pyramid.events.subscriber": "Pyramid",
    "colander.deferred": "colander",
}


@dataclass
class FunctionIo:
    qualname: str
    line: int
    direct_io: str | None = None  # why: "session.execute() at line 12"
    calls: list[tuple[str, int]] = field(default_factory=list)  # (callee, line)
    blocked: str | None = None  # why it cannot become a coroutine
    is_async: bool = False
    method: str | None = None  # its name, when it is defined directly in a class
    #: defined in a mapped class or a project class a mapped class derives from: an
    #: object templates are handed (a call of a str/list/dict method's name there can be it)
    model_method: bool = False
    gives_test_client: bool = False  # a pytest fixture giving a TestClient
    client_io: str | None = None  # a request through a test client: "client.get() at line 3"
    #: iterates a ``lazy="dynamic"`` relationship: "iterating user.posts at line 4"
    dynamic_io: str | None = None
    decorators: list[str] = field(default_factory=list)  # project decorators applied to it
    #: for the wrapper a decorator returns (``@functools.wraps(func) def wrapper``): the
    #: decorator's qualified name and the parameter holding the decorated function
    wraps: tuple[str, str] | None = None
    #: a plain ``@property`` getter (which may become an async method)
    is_property: bool = False
    #: keeps a legacy Query built on one of its parameters' session in a variable
    #: (``q = session.query(User)``), which no ``await`` can run: (the parameter, its
    #: position); such a function may stay synchronous and be called through ``run_sync``
    stored_query_session: tuple[str, int] | None = None
    #: a method of a class deriving from a library's class (not a model): that class,
    #: whose code may be what calls it (see ``_library_callbacks``)
    library_base: str | None = None


@dataclass
class FileIoFacts:
    module: str
    path: str
    functions: dict[str, FunctionIo] = field(default_factory=dict)
    #: holders of project functions (``analysis.function_values``) → what they hold, by
    #: key for a table (``HANDLERS = {"count": f}``), under ``VALUE`` for a variable
    #: (``f = count_users``) or a member (``m.Job.on_done``): functions, lambdas, OPAQUE
    holders: dict[str, dict[str | None, set[str]]] = field(default_factory=dict)
    #: what a call ``x.name(...)`` on an object of unknown type may reach besides the
    #: project's methods of that name: members (their slots), argparse defaults
    #: (``set_defaults(func=cmd)``)
    by_name: dict[str, set[str]] = field(default_factory=dict)
    #: every attribute name read (``post.author`` → ``author``), for eager loading
    attribute_reads: set[str] = field(default_factory=set)
    #: uses of attributes named like a project property: (name, the property it provably
    #: is, or None when the receiver's type is unknown or the use is not a plain read;
    #: the function reading it, None at module level or in a lambda)
    property_reads: list[tuple[str, str | None, str | None]] = field(default_factory=list)
    #: properties with a setter or deleter
    property_setters: set[str] = field(default_factory=set)
    #: names assigned or annotated in class bodies → the classes (``label: str`` of a
    #: pydantic schema may be read from an ORM object by name, out of our sight)
    class_fields: dict[str, set[str]] = field(default_factory=dict)
    #: attribute names read by the templates given as literals to ``render_template_string``
    template_reads: set[str] = field(default_factory=set)
    #: methods those templates call → where the templates are given
    template_calls: dict[str, set[str]] = field(default_factory=dict)
    #: read without libcst (``analysis.quiet``): only ``attribute_reads`` was gathered
    quiet: bool = False
    #: ``OVERRIDES`` groups its ``self.name(...)`` calls reach → the methods in them
    overrides: dict[str, set[str]] = field(default_factory=dict)


DYNAMIC = "<dynamic>."
#: ``self.name(...)`` in a class some project subclasses of which override ``name``: the
#: group ``OVERRIDES + "m.Base.name"`` holds every method the call may run
OVERRIDES = "<overrides>."
#: calls rendering the template source they are given
#: the helper flask-async-session renders templates with, in ``async_session``'s greenlet
RENDER_HELPER = "render_with_session"
INLINE_TEMPLATE_RENDERS = frozenset(
    {
        "flask.render_template_string",
        "flask.templating.render_template_string",
        "flask.stream_template_string",
        "flask.templating.stream_template_string",
    }
)

# method names that objects of other libraries have too: a call ``x.get()`` on an object
# of unknown type is never assumed to be a project method
COMMON_METHOD_NAMES = frozenset(
    [
        "add",
        "all",
        "append",
        "apply",
        "begin",
        "call",
        "clear",
        "close",
        "commit",
        "connect",
        "copy",
        "count",
        "create",
        "debug",
        "decode",
        "delete",
        "dispatch",
        "dispose",
        "dump",
        "dumps",
        "emit",
        "encode",
        "error",
        "exception",
        "execute",
        "exists",
        "extend",
        "fetch",
        "filter",
        "filter_by",
        "find",
        "first",
        "flush",
        "format",
        "get",
        "handle",
        "head",
        "index",
        "info",
        "insert",
        "items",
        "join",
        "keys",
        "list",
        "load",
        "loads",
        "log",
        "lower",
        "match",
        "merge",
        "one",
        "open",
        "options",
        "patch",
        "pop",
        "post",
        "process",
        "put",
        "query",
        "read",
        "recv",
        "refresh",
        "remove",
        "render",
        "replace",
        "rollback",
        "run",
        "save",
        "scalar",
        "scalars",
        "search",
        "send",
        "set",
        "sort",
        "split",
        "start",
        "stop",
        "strip",
        "sub",
        "to_dict",
        "update",
        "upper",
        "validate",
        "values",
        "warning",
        "write",
    ]
)

WRAPS = frozenset({"functools.wraps"})
#: annotations whose first argument is the annotated type
ANNOTATED = frozenset({"typing.Annotated", "typing_extensions.Annotated"})
OPTIONAL = frozenset({"typing.Optional", "typing_extensions.Optional"})

# calls that fetch one ORM object: by class and key, by statement, from a result
ROW_BY_KEY = frozenset({"get", "get_one", "get_or_404"})
ROW_OF_STATEMENT = frozenset({"first_or_404", "one_or_404", "scalar"})
ONE_ROW = frozenset({"first", "one", "one_or_none", "scalar_one", "scalar_one_or_none"})
#: legacy ``Query`` methods giving one object of the query's entity (or None, or 404)
LEGACY_ONE_ROW = frozenset(
    {"get", "get_or_404", "first", "one", "one_or_none", "first_or_404", "one_or_404"}
)
#: legacy ``Query`` methods whose query still gives objects of its entity
ENTITY_KEEPING_BUILDERS = frozenset(
    {
        "filter",
        "filter_by",
        "where",
        "order_by",
        "options",
        "join",
        "outerjoin",
        "limit",
        "offset",
        "distinct",
        "with_parent",
        "populate_existing",
        "execution_options",
        "group_by",
        "having",
    }
)


def _called_name(func: cst.BaseExpression) -> str | None:
    if isinstance(func, cst.Attribute):
        return func.attr.value
    return func.value if isinstance(func, cst.Name) else None


def plan_of(state: FileState) -> AsyncPlan:
    """The project's async plan (an empty one before it is computed, or for 2.0)."""
    plan = state.index.async_plan
    return plan if isinstance(plan, AsyncPlan) else AsyncPlan()


def _refines(value: cst.BaseExpression, name: str) -> bool:
    """Is ``value`` a method chain on the variable ``name`` (``stmt.where(...)``)?"""
    while isinstance(value, cst.Call) and isinstance(value.func, cst.Attribute):
        value = value.func.value
    return isinstance(value, cst.Name) and value.value == name


class CallResolver:
    """The project function a call resolves to, as the index names it."""

    def __init__(self, transformer: Pass) -> None:
        self.t = transformer
        self.index: ProjectIndex = transformer.state.index
        self._typing: set[int] = set()  # variables being typed (``x = f(x)`` cycles)
        #: the class of each variable (scope, name) typed from outside any other typing
        self._variable_classes: dict[tuple[int, str], str | None] = {}
        self._typing_variables: set[tuple[int, str]] = set()

    def callee(self, call: cst.Call, enclosing_class: str | None) -> str | None:
        func = call.func
        for name in qualified_names(self.t, func):
            resolved = self.index.resolve_alias(unlocal(name, self.t.state.module_name))
            if resolved in self.index.functions:
                return resolved
            constructor = f"{resolved}.__init__"
            if constructor in self.index.functions:
                return None
        if isinstance(func, cst.Attribute):
            return self._method(func, enclosing_class)
        if isinstance(func, cst.Name) and self.is_parameter(func):
            return self.index.fixture_factories().get(func.value)
        return None

    def is_parameter(self, name: cst.Name) -> bool:
        """Is ``name`` bound by a parameter of the function it is used in?"""
        scope = self.t.get_metadata(ScopeProvider, name, None)
        if scope is None:
            return False
        bound = [getattr(a, "node", None) for a in scope[name.value]]
        return bool(bound) and all(isinstance(b, cst.Param) for b in bound)

    def _method(self, func: cst.Attribute, enclosing_class: str | None) -> str | None:
        owner = func.value
        method = func.attr.value
        if isinstance(owner, cst.Name) and owner.value in ("self", "cls") and enclosing_class:
            return self.method_of(enclosing_class, method)
        if (
            isinstance(owner, cst.Call)
            and isinstance(owner.func, cst.Name)
            and owner.func.value == "super"
        ):
            if enclosing_class:
                for base in self._bases(enclosing_class):
                    found = self.method_of(base, method)
                    if found:
                        return found
            return None
        klass = (
            self.instance_class(owner)
            or self._made_or_returned(owner, enclosing_class)
            or self._class_named(owner)  # ``User.create(...)``, inherited from a mixin too
        )
        return self.method_of(klass, method) if klass else None

    def _made_or_returned(
        self, node: cst.BaseExpression, enclosing_class: str | None, depth: int = 0
    ) -> str | None:
        """The class of ``cls()`` in a method of ``enclosing_class``, and of a call of a
        method returning its object (``cls().fill(**kw)``, ``fill`` ending ``return
        self``): the object's class."""
        if not isinstance(node, cst.Call) or depth > 20:
            return None
        func = node.func
        if isinstance(func, cst.Name) and func.value == "cls":
            return enclosing_class
        if not isinstance(func, cst.Attribute):
            return None
        owner = func.value
        if isinstance(owner, cst.Name) and owner.value in ("self", "cls"):
            klass = enclosing_class
        else:
            klass = self.instance_class(owner) or self._made_or_returned(
                owner, enclosing_class, depth + 1
            )
        method = self.method_of(klass, func.attr.value) if klass else None
        facts = self.index.functions.get(method or "")
        return klass if facts is not None and facts.returns_self else None

    def instance_class(self, node: cst.BaseExpression) -> str | None:
        """The project class of ``node`` when a constructor call or annotation says it."""
        if isinstance(node, cst.Call):
            return self._class_named(node.func)
        if isinstance(node, cst.Name | cst.Attribute):
            module_instance = self._module_instance_class(node)
            if module_instance is not None:
                return module_instance
        if not isinstance(node, cst.Name) or id(node) in self._typing:
            return None
        self._typing.add(id(node))
        try:
            return self._variable_class(node)
        finally:
            self._typing.discard(id(node))

    def _module_instance_class(self, node: cst.Name | cst.Attribute) -> str | None:
        """The class of a module-level instance of a project class (``user =
        CRUDUser()``) reached by name, imported or as ``crud.user``."""
        if not self.index.instances:
            return None
        for name in qualified_names(self.t, node):
            klass = None if "<locals>" in name else self.index.instance_class(name)
            if klass is not None:
                return klass
        return None

    def _variable_class(self, node: cst.Name) -> str | None:
        """The one class every binding of the variable gives. A variable met again while
        typing it (``q = q.where(...)`` bound many times) is unknown there: following it
        again would be exponential in its bindings."""
        scope = self.t.get_metadata(ScopeProvider, node, None)
        if scope is None:
            return None
        key = (id(scope), node.value)
        if key in self._variable_classes:
            return self._variable_classes[key]
        if key in self._typing_variables:
            return None
        outermost = not self._typing_variables
        self._typing_variables.add(key)
        try:
            klass = self._class_of_bindings(scope, node)
        finally:
            self._typing_variables.discard(key)
        if outermost:
            self._variable_classes[key] = klass
        return klass

    def _class_of_bindings(self, scope: Any, node: cst.Name) -> str | None:
        classes = set()
        for assignment in scope[node.value]:
            bound = getattr(assignment, "node", None)
            klass = None
            if isinstance(bound, cst.Param) and bound.annotation is not None:
                klass = self._annotated_class(bound.annotation.annotation)
            else:
                parent = self.t.get_metadata(ParentNodeProvider, bound, None) if bound else None
                holder = self.t.get_metadata(ParentNodeProvider, parent, None) if parent else None
                if isinstance(parent, cst.AssignTarget) and isinstance(holder, cst.Assign):
                    klass = self._assigned_class(holder.value)
                elif isinstance(parent, cst.For | cst.CompFor) and parent.target is bound:
                    klass = self.element_class(parent.iter)
            classes.add(klass)
        if len(classes) == 1:
            return classes.pop()
        return None

    def element_class(self, rows: cst.BaseExpression) -> str | None:
        """The model of the objects ``rows`` gives when iterated: a query's objects
        (``session.scalars(select(M)...)``, ``(await ...).all()``), what a project function
        returns a list of, or a name bound only to those."""
        while isinstance(rows, cst.Await):
            rows = rows.expression
        if isinstance(rows, cst.Name):
            if id(rows) in self._typing:
                return None
            self._typing.add(id(rows))
            try:
                return self._bound_rows_class(rows)
            finally:
                self._typing.discard(id(rows))
        if isinstance(rows, cst.Attribute):
            return self._page_items_class(rows) or self._collection_class(rows)
        if not isinstance(rows, cst.Call):
            return None
        name = _called_name(rows.func)
        if name in ("all", "unique") and isinstance(rows.func, cst.Attribute):
            return self.element_class(rows.func.value)
        if name == "scalars" and rows.args:
            return self._selected_class(rows.args[0].value)
        callee = self.callee(rows, None)
        facts = self.index.functions.get(callee or "")
        if facts is None or len(facts.returns_rows) != 1:
            return None
        klass = self.index.resolve_alias(facts.returns_rows[0])
        return klass if self._is_class(klass) else None

    def _page_items_class(self, items: cst.Attribute) -> str | None:
        """``Post`` for ``page.items`` where ``page = db.paginate(select(Post)...)`` (or
        the legacy ``Post.query....paginate(...)``)."""
        if items.attr.value != "items" or not isinstance(items.value, cst.Name):
            return None
        values = assigned_values(self.t, items.value)
        if not values or len(values) != 1:
            return None
        call = values[0]
        while isinstance(call, cst.Await):
            call = call.expression
        if not isinstance(call, cst.Call) or _called_name(call.func) != "paginate":
            return None
        if isinstance(call.func, cst.Attribute):
            legacy = self._legacy_query_class(call.func.value)
            if legacy is not None:
                return legacy
        return self._selected_class(call.args[0].value) if call.args else None

    def _collection_class(self, collection: cst.Attribute) -> str | None:
        """``Membership`` for ``user.memberships`` (or ``self.memberships`` in a method of
        ``User``): the target of a relationship of the owner's known class (iterated, a
        ``lazy="dynamic"`` one gives the same objects)."""
        owner = collection.value
        if not isinstance(owner, cst.Name):
            return None
        klass = self._self_class(owner) or self.instance_class(owner)
        model = self.index.model(klass) if klass else None
        if model is None:
            return None
        facts = self.index.relationship_facts(model, collection.attr.value)
        if facts is None:
            return None
        target = self.index.relationship_target(model, facts)
        return target.qualname if target is not None else None

    def _self_class(self, name: cst.Name) -> str | None:
        """The class of ``self`` in a method of a top-level class of this module."""
        return self._first_parameter_class(name, "self")

    def _cls_class(self, node: cst.BaseExpression) -> str | None:
        """The class of ``cls`` in a classmethod of a top-level class of this module."""
        return self._first_parameter_class(node, "cls")

    def _first_parameter_class(self, node: cst.BaseExpression, spelling: str) -> str | None:
        """The class whose method's first parameter, spelled ``spelling``, ``node`` is
        (the method of a top-level class of this module)."""
        if not isinstance(node, cst.Name) or node.value != spelling:
            return None
        scope = self.t.get_metadata(ScopeProvider, node, None)
        if scope is None or not isinstance(scope.parent, ClassScope):
            return None
        function = getattr(scope, "node", None)
        klass = getattr(scope.parent, "node", None)
        if not isinstance(function, cst.FunctionDef) or not isinstance(klass, cst.ClassDef):
            return None
        params = function.params.params
        if not params or params[0].name.value != spelling:
            return None
        if not isinstance(scope.parent.parent, GlobalScope):
            return None
        return f"{self.t.state.module_name}.{klass.name.value}"

    def _bound_rows_class(self, name: cst.Name) -> str | None:
        values = assigned_values(self.t, name)
        if values is None:
            return None
        classes = {self.element_class(value) for value in values}
        return classes.pop() if len(classes) == 1 else None

    def _assigned_class(self, value: cst.BaseExpression) -> str | None:
        """``Model(...)``, or one ``Model`` row fetched by a query (``session.get(Model,
        ..)``, ``(await s.scalars(select(Model)...)).first()``, ``db.first_or_404(...)``)
        or merged (``session.merge(Model(...))``)."""
        while isinstance(value, cst.Await):
            value = value.expression
        if not isinstance(value, cst.Call):
            return None
        func = value.func
        if not isinstance(func, cst.Attribute):
            found = self._class_named(func) or self._fetched_class(value)
        else:
            found = self._fetched_class(value)
        return found or self._returned_class(value)

    def _returned_class(self, call: cst.Call) -> str | None:
        """The model a project function returns an instance of (``return User(...)``),
        or the class a classmethod returning one object of ``cls`` is called on
        (``Tag.get(id)``, ``cls.get(id)``)."""
        enclosing = (
            self._cls_class(call.func.value) if isinstance(call.func, cst.Attribute) else None
        )
        callee = self.callee(call, enclosing)
        facts = self.index.functions.get(callee or "")
        if facts is not None and facts.returns_cls_row and isinstance(call.func, cst.Attribute):
            return enclosing or self._class_named(call.func.value)
        if facts is None or not facts.returns:
            return None
        classes = {self._class_made_by(self.index.resolve_alias(name)) for name in facts.returns}
        if len(classes) != 1:
            return None
        klass = classes.pop()
        return klass if klass is not None and self._is_class(klass) else None

    def _class_made_by(self, callee: str) -> str | None:
        """The class a call of ``callee`` gives an object of: the class itself, or the
        class of ``Model.get`` where that classmethod (inherited too) returns one object of
        ``cls`` (``return asset`` after ``asset = Entity.get(id)``)."""
        if self._is_class(callee):
            return callee
        owner, _, name = callee.rpartition(".")
        if not owner or not self._is_class(owner):
            return None
        method = self.method_of(owner, name)
        facts = self.index.functions.get(method or "")
        return owner if facts is not None and facts.returns_cls_row else None

    def _fetched_class(self, call: cst.Call) -> str | None:
        name = _called_name(call.func)
        if name in LEGACY_ONE_ROW and isinstance(call.func, cst.Attribute):
            legacy = self._legacy_query_class(call.func.value)
            if legacy is not None:
                return legacy
        if name in ROW_BY_KEY and call.args:
            return self._class_named(call.args[0].value)
        if name in ROW_OF_STATEMENT and call.args:
            return self._selected_class(call.args[0].value)
        if name == "merge" and isinstance(call.func, cst.Attribute) and call.args:
            # ``session.merge(obj)``: the session's copy of ``obj``, of its class
            return self.instance_class(call.args[0].value)
        if name in ONE_ROW and isinstance(call.func, cst.Attribute):
            rows = call.func.value
            while isinstance(rows, cst.Await):
                rows = rows.expression
            if isinstance(rows, cst.Call) and _called_name(rows.func) in ("scalars", "scalar"):
                return self._selected_class(rows.args[0].value) if rows.args else None
        return None

    def _legacy_query_class(self, query: cst.BaseExpression) -> str | None:
        """``User`` for a legacy query of ``User`` objects: ``User.query`` or
        ``session.query(User)``, refined by methods that keep its entity
        (``.filter_by(...).order_by(...)``)."""
        while (
            isinstance(query, cst.Call)
            and isinstance(query.func, cst.Attribute)
            and query.func.attr.value in ENTITY_KEEPING_BUILDERS
        ):
            query = query.func.value
        if isinstance(query, cst.Attribute) and query.attr.value == "query":
            klass = self._class_named(query.value)
        elif (
            isinstance(query, cst.Call)
            and isinstance(query.func, cst.Attribute)
            and query.func.attr.value == "query"
            and len(query.args) == 1
            and query.args[0].keyword is None
            and not query.args[0].star
        ):
            klass = self._class_named(query.args[0].value)
        else:
            return None
        return klass if klass is not None and klass in self.index.models else None

    def _selected_class(self, statement: cst.BaseExpression, depth: int = 0) -> str | None:
        """``User`` for ``select(User).where(...).limit(1)``, or a name bound only to
        such statements (``stmt = select(User)...``, refined or not)."""
        while isinstance(statement, cst.Call) and isinstance(statement.func, cst.Attribute):
            statement = statement.func.value
        if isinstance(statement, cst.Name) and depth < 5:
            values = assigned_values(self.t, statement)
            if not values:
                return None
            found = {
                self._selected_class(value, depth + 1)
                for value in values
                if not _refines(value, statement.value)  # ``stmt = stmt.where(...)``
            }
            return found.pop() if len(found) == 1 else None
        if not isinstance(statement, cst.Call) or len(statement.args) != 1:
            return None
        if _called_name(statement.func) != "select":
            return None
        return self._class_named(statement.args[0].value)

    def _annotated_class(self, annotation: cst.BaseExpression) -> str | None:
        """The project class an annotation gives: ``Repo``, ``Annotated[Repo, ...]``,
        ``Optional[Repo]``, ``Repo | None``."""
        for _ in range(5):  # (``Annotated[Optional[Repo], ...]``)
            inner = self._unwrapped_annotation(annotation)
            if inner is None:
                break
            annotation = inner
        return self._class_named(annotation)

    def _unwrapped_annotation(self, annotation: cst.BaseExpression) -> cst.BaseExpression | None:
        """What ``Annotated[X, ...]`` / ``Optional[X]`` / ``X | None`` / ``None | X``
        annotate (``X``), None for any other annotation."""
        if isinstance(annotation, cst.BinaryOperation) and isinstance(
            annotation.operator, cst.BitOr
        ):
            sides = [annotation.left, annotation.right]
            others = [s for s in sides if not (isinstance(s, cst.Name) and s.value == "None")]
            return others[0] if len(others) == 1 else None
        if not isinstance(annotation, cst.Subscript) or not annotation.slice:
            return None
        wrapper = qualified_names(self.t, annotation.value)
        first = annotation.slice[0].slice
        if not isinstance(first, cst.Index):
            return None
        if wrapper & ANNOTATED or (wrapper & OPTIONAL and len(annotation.slice) == 1):
            return first.value
        return None

    def _class_named(self, node: cst.BaseExpression) -> str | None:
        for name in qualified_names(self.t, node):
            resolved = self.index.resolve_alias(name)
            if self._is_class(resolved):
                return resolved
        return None

    def _is_class(self, qualname: str) -> bool:
        module, _, _ = qualname.rpartition(".")
        facts = self.index.modules.get(module)
        return facts is not None and qualname in facts.models

    def _bases(self, klass: str) -> list[str]:
        module = self.index.modules.get(klass.rpartition(".")[0])
        if module is None or klass not in module.models:
            return []
        return [self.index.resolve_alias(b) for b in module.models[klass].bases]

    def override_group(
        self, call: cst.Call, enclosing_class: str | None, callee: str | None
    ) -> tuple[str, frozenset[str]] | None:
        """``self.get_one(pk)`` in a class whose project subclasses override ``get_one``:
        the call runs whichever method the object's class has, so it is awaited only when
        all of them are async (``OVERRIDES`` + class and name, and those methods; methods
        that only raise ``NotImplementedError`` are left out). None for other calls."""
        func = call.func
        if (
            callee is None
            or enclosing_class is None
            or not isinstance(func, cst.Attribute)
            or not isinstance(func.value, cst.Name)
            or func.value.value not in ("self", "cls")
        ):
            return None
        method = func.attr.value
        overrides = {
            f"{sub}.{method}"
            for sub in _subclasses(self.index).get(enclosing_class, ())
            if f"{sub}.{method}" in self.index.functions
        }
        if not overrides:
            return None
        values = {q for q in {callee, *overrides} if not self.index.functions[q].is_stub}
        if not values:
            return None
        return OVERRIDES + f"{enclosing_class}.{method}", frozenset(values)

    def method_of(self, klass: str, method: str, depth: int = 0) -> str | None:
        candidate = f"{klass}.{method}"
        if candidate in self.index.functions:
            return candidate
        if depth > 20:
            return None
        for base in self._bases(klass):
            found = self.method_of(base, method, depth + 1)
            if found:
                return found
        return None


@per_object
def _subclasses(index: ProjectIndex) -> dict[str, list[str]]:
    """Each project class → its project subclasses, direct or not."""
    direct: dict[str, set[str]] = {}
    for module in index.modules.values():
        for qualname, facts in module.models.items():
            for base in facts.bases:
                direct.setdefault(index.resolve_alias(base), set()).add(qualname)
    found: dict[str, list[str]] = {}
    for klass in direct:
        order = sorted(direct[klass])
        for current in order:
            for sub in sorted(direct.get(current, ())):
                if sub not in order and sub != klass:
                    order.append(sub)
        found[klass] = order
    return found


class ScopeTracking(Pass):
    """A pass that knows the qualified name of the function or class it is in."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.scopes: list[tuple[str, cst.CSTNode]] = []
        #: the function or class whose decorators are being visited, out of ``scopes``
        self._decorated: list[tuple[str, cst.CSTNode]] = []

    def current_qualname(self) -> str:
        names = [self.state.module_name, *(name for name, _ in self.scopes)]
        return ".".join(names)

    def enclosing_class(self) -> str | None:
        for position in range(len(self.scopes) - 1, -1, -1):
            if isinstance(self.scopes[position][1], cst.ClassDef):
                names = [self.state.module_name, *(n for n, _ in self.scopes[: position + 1])]
                return ".".join(names)
        return None

    def enclosing_function(self) -> cst.FunctionDef | None:
        for _, node in reversed(self.scopes):
            if isinstance(node, cst.FunctionDef):
                return node
            if isinstance(node, cst.ClassDef):
                return None
        return None

    def in_async_def(self) -> bool:
        """Is the enclosing function an ``async def`` (as the tree stands)?"""
        function = self.enclosing_function()
        return function is not None and function.asynchronous is not None

    def function_qualname(self) -> str | None:
        for position in range(len(self.scopes) - 1, -1, -1):
            if isinstance(self.scopes[position][1], cst.FunctionDef):
                names = [self.state.module_name, *(n for n, _ in self.scopes[: position + 1])]
                return ".".join(names)
            if isinstance(self.scopes[position][1], cst.ClassDef):
                return None
        return None

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool | None:
        self.scopes.append((node.name.value, node))
        return True

    def leave_FunctionDef(
        self, original_node: cst.FunctionDef, updated_node: cst.FunctionDef
    ) -> cst.BaseStatement | cst.FlattenSentinel[cst.BaseStatement] | cst.RemovalSentinel:
        self.scopes.pop()
        return updated_node

    def visit_ClassDef(self, node: cst.ClassDef) -> bool | None:
        self.scopes.append((node.name.value, node))
        return True

    def leave_ClassDef(
        self, original_node: cst.ClassDef, updated_node: cst.ClassDef
    ) -> cst.BaseStatement | cst.FlattenSentinel[cst.BaseStatement] | cst.RemovalSentinel:
        self.scopes.pop()
        return updated_node

    # a decorator runs where its function or class is defined, not inside it
    def visit_Decorator(self, node: cst.Decorator) -> bool | None:
        self._decorated.append(self.scopes.pop())
        return True

    def leave_Decorator(
        self, original_node: cst.Decorator, updated_node: cst.Decorator
    ) -> cst.Decorator | cst.RemovalSentinel:
        self.scopes.append(self._decorated.pop())
        return updated_node


# Flask app/blueprint decorators whose functions Jinja calls while rendering (context
# processors are called through ``app.ensure_sync`` and may be async)
FLASK_TEMPLATE_HOOKS = frozenset(
    {
        "template_filter",
        "app_template_filter",
        "template_global",
        "app_template_global",
        "template_test",
        "app_template_test",
    }
)

#: other decorators registering callbacks their framework calls without ``ensure_sync``
#: (so a coroutine function would never run) → who calls them
SYNC_CALLBACK_HOOKS = {
    "url_value_preprocessor": "Flask",
    "app_url_value_preprocessor": "Flask",
    "url_defaults": "Flask",
    "app_url_defaults": "Flask",
    "user_loader": "Flask-Login",
    "request_loader": "Flask-Login",
    "header_loader": "Flask-Login",
}

#: methods that third-party base classes' own code calls synchronously, so a project
#: subclass's override made a coroutine would never run: base class (or package, ending
#: with a dot) → (who calls them, the method names; ``validate_*``: WTForms' inline
#: validators, ``validate_<field>``)
SYNC_FRAMEWORK_METHODS: dict[str, tuple[str, frozenset[str]]] = {
    prefix: (
        "WTForms",
        frozenset(
            {
                "validate_*",
                "validate",
                "pre_validate",
                "post_validate",
                "process",
                "process_data",
                "process_formdata",
                "populate_obj",
                "iter_choices",
                "_value",
                "_choices_generator",
            }
        ),
    )
    for prefix in ("wtforms.", "flask_wtf.")
} | {
    "json.JSONEncoder": ("json", frozenset({"default"})),
    "logging.Handler": ("logging", frozenset({"emit", "handle"})),
    "logging.Filter": ("logging", frozenset({"filter"})),
    "threading.Thread": ("threading", frozenset({"run"})),
}

#: why the functions of an Alembic migration script or ``env.py`` stay synchronous
ALEMBIC_REASON = "Alembic runs migrations synchronously"


def blocked_reason(transformer: Pass, node: cst.FunctionDef) -> str | None:
    name = node.name.value
    if name in CANNOT_BE_ASYNC:
        return f"{name} cannot be a coroutine"
    if _uses_yield_from(node):
        return "a generator using `yield from` cannot be an async generator"
    for decorator in node.decorators:
        target = decorator.decorator
        names = qualified_names(transformer, target)
        if names & PROPERTY_DECORATORS:
            return "a property cannot be awaited"
        called = (
            qualified_names(transformer, target.func) if isinstance(target, cst.Call) else names
        )
        hook = next((ORM_HOOK_DECORATORS[n] for n in called if n in ORM_HOOK_DECORATORS), None)
        if hook is not None:
            return hook
        caller = next(
            (SYNC_CALLBACK_DECORATORS[n] for n in called if n in SYNC_CALLBACK_DECORATORS), None
        )
        if caller is not None:
            spelled = cst.Module([]).code_for_node(
                target.func if isinstance(target, cst.Call) else target
            )
            return f"{caller} calls @{spelled} functions synchronously"
        if isinstance(target, cst.Attribute) and target.attr.value in (
            "setter",
            "deleter",
            "expression",
        ):
            return "a property cannot be awaited"
        hook = decorator_attribute(target)
        if hook in FLASK_TEMPLATE_HOOKS:
            return f"Flask calls @{hook} functions synchronously while rendering a template"
        if hook in SYNC_CALLBACK_HOOKS:
            return f"{SYNC_CALLBACK_HOOKS[hook]} calls @{hook} functions synchronously"
    if is_event_listener(transformer, node):
        return "SQLAlchemy calls event listeners synchronously (with a synchronous connection)"
    framework = _framework_callback(transformer, node)
    if framework is not None:
        return f"{framework} calls {name}() synchronously"
    if _in_query_class(transformer, node):
        return QUERY_CLASS_REASON
    if transformer.state.index.runs_under_alembic(transformer.state.module_name):
        return ALEMBIC_REASON
    return None


QUERY_CLASS_REASON = "a method of a Query class runs on the query's own synchronous session"
#: the legacy query classes a project's own query class derives from
QUERY_CLASSES = frozenset(
    {
        "sqlalchemy.orm.Query",
        "sqlalchemy.orm.query.Query",
        "flask_sqlalchemy.BaseQuery",
        "flask_sqlalchemy.query.Query",
    }
)


def _in_query_class(transformer: Pass, node: cst.FunctionDef) -> bool:
    """Is ``node`` a method of a module-level class deriving from ``Query``?"""
    parent = transformer.get_metadata(ParentNodeProvider, node, None)
    holder = transformer.get_metadata(ParentNodeProvider, parent, None) if parent else None
    if not isinstance(holder, cst.ClassDef):
        return False
    index = transformer.state.index
    pending = [f"{transformer.state.module_name}.{holder.name.value}"]
    seen: set[str] = set()
    while pending:
        qualname = index.resolve_alias(pending.pop())
        if qualname in QUERY_CLASSES:
            return True
        facts = index.class_facts(qualname)
        if qualname in seen or facts is None:
            continue
        seen.add(qualname)
        pending += facts.bases
    return False


def _framework_callback(transformer: Pass, node: cst.FunctionDef) -> str | None:
    """Who calls ``node`` synchronously when it is a method of a class deriving from one
    of ``SYNC_FRAMEWORK_METHODS`` that that class's code calls (``validate_username`` of
    a ``FlaskForm``, ``process_formdata`` of a WTForms field): ``"WTForms"``."""
    name = node.name.value
    candidates = {name, "validate_*"} if name.startswith("validate_") else {name}
    if not any(candidates & methods for _, methods in SYNC_FRAMEWORK_METHODS.values()):
        return None
    parent = transformer.get_metadata(ParentNodeProvider, node, None)
    holder = transformer.get_metadata(ParentNodeProvider, parent, None) if parent else None
    if not isinstance(holder, cst.ClassDef):
        return None
    index = transformer.state.index
    pending = [f"{transformer.state.module_name}.{holder.name.value}"]
    seen: set[str] = set()
    while pending:
        qualname = index.resolve_alias(pending.pop())
        if qualname in seen:
            continue
        seen.add(qualname)
        facts = index.class_facts(qualname)
        if facts is not None:
            pending += facts.bases
            continue
        for base, (caller, methods) in SYNC_FRAMEWORK_METHODS.items():
            matches = qualname.startswith(base) if base.endswith(".") else qualname == base
            if matches and candidates & methods:
                return caller
    return None


#: libraries whose classes' methods the project may make coroutines: the caller awaits
#: them (Flask's views, Starlette's endpoints), the class is plain typing or data, or
#: another pass migrates the class (SQLAlchemy's, unittest's)
ASYNC_CAPABLE_LIBRARIES = frozenset(
    {
        "builtins",
        "typing",
        "typing_extensions",
        "abc",
        "enum",
        "dataclasses",
        "collections",
        "unittest",
        "pytest",
        "sqlalchemy",
        "flask_sqlalchemy",
        "flask",
        "starlette",
        "fastapi",
        "pydantic",
        "asyncio",
    }
)


def library_base(transformer: Pass, node: cst.FunctionDef) -> str | None:
    """The library class a method's class derives from (through the project's classes),
    when the class is no mapped class and the library is none of
    ``ASYNC_CAPABLE_LIBRARIES``: ``authlib...grants.AuthorizationCodeGrant`` for
    ``save_authorization_code`` of ``class Grant(grants.AuthorizationCodeGrant)``."""
    parent = transformer.get_metadata(ParentNodeProvider, node, None)
    holder = transformer.get_metadata(ParentNodeProvider, parent, None) if parent else None
    if not isinstance(holder, cst.ClassDef):
        return None
    index = transformer.state.index
    qualname = f"{transformer.state.module_name}.{holder.name.value}"
    if qualname in index.model_classes():
        return None
    pending, seen = [qualname], set()
    while pending:
        name = index.resolve_alias(pending.pop())
        if name in seen:
            continue
        seen.add(name)
        facts = index.class_facts(name)
        if facts is not None:
            pending += facts.bases
        elif name.split(".")[0] not in ASYNC_CAPABLE_LIBRARIES and "." in name:
            if name.rpartition(".")[0] not in index.modules:  # not an object of the project
                return name
    return None


def decorator_attribute(decorator: cst.BaseExpression) -> str | None:
    """``template_filter`` for ``@app.template_filter("x")`` or ``@bp.app_template_filter``."""
    if isinstance(decorator, cst.Call):
        decorator = decorator.func
    return decorator.attr.value if isinstance(decorator, cst.Attribute) else None


def _uses_yield_from(function: cst.FunctionDef) -> bool:
    found = False

    class Finder(cst.CSTVisitor):
        def visit_Yield(self, node: cst.Yield) -> None:
            nonlocal found
            found = found or isinstance(node.value, cst.From)

        def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
            return node is function

        def visit_Lambda(self, node: cst.Lambda) -> bool:
            return False

    function.visit(Finder())
    return found


@dataclass(frozen=True)
class LambdaSite:
    """Where a lambda sits, which decides how it becomes a local ``async def``.

    ``kind``: ``"name"`` (``f = lambda ...`` in a function, called as ``f(...)`` there),
    ``"attribute"`` (``obj.on_done = lambda ...``, called as ``x.on_done(...)``),
    ``"key"`` (``{"count": lambda ...}``, called as ``d["count"](...)`` or
    ``x.count(...)``), ``"run_sync"`` (the synchronous body of ``run_sync(lambda ...)``),
    or ``"other"`` (handed to code that calls it synchronously: ``sorted(key=...)``,
    ``map``, a third-party callback)."""

    kind: str
    #: the local name, the attribute or the dict key
    name: str = ""
    #: the callee the lambda is handed to, for ``"other"`` (``sorted``)
    callee: str = ""


def lambda_site(transformer: Pass, node: cst.Lambda) -> LambdaSite:
    parent = transformer.get_metadata(ParentNodeProvider, node, None)
    if isinstance(parent, cst.Arg):
        call = transformer.get_metadata(ParentNodeProvider, parent, None)
        if isinstance(call, cst.Call):
            if isinstance(call.func, cst.Attribute) and call.func.attr.value == "run_sync":
                return LambdaSite("run_sync")
            return LambdaSite("other", callee=_code(call.func))
    if isinstance(parent, cst.DictElement) and parent.value is node:
        key = parent.key
        if isinstance(key, cst.SimpleString) and isinstance(key.evaluated_value, str):
            return LambdaSite("key", key.evaluated_value)
    if isinstance(parent, cst.Assign) and len(parent.targets) == 1:
        target = parent.targets[0].target
        if isinstance(target, cst.Name):
            return LambdaSite("name", target.value)
        if isinstance(target, cst.Attribute):
            return LambdaSite("attribute", target.attr.value)
    return LambdaSite("other")


class IoFactsCollector(ScopeTracking):
    """Read-only pass: gathers ``FileIoFacts`` from a stage-one tree."""

    name = "io-facts"
    METADATA_DEPENDENCIES: ClassVar[tuple[type[BaseMetadataProvider[Any]], ...]] = ANALYSIS_METADATA

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.io = IoDetector(self)
        self.calls = CallResolver(self)
        self.values = FunctionValues(self, self.calls)
        self.facts = FileIoFacts(self.state.module_name, self.state.path)
        self._tables: dict[int, str | None] = {}
        #: lambdas being visited: their facts, or None for one whose calls belong to the
        #: enclosing function (the synchronous body of ``run_sync(lambda ...)``)
        self._lambdas: list[FunctionIo | None] = []
        self._lambda_numbers: dict[str, int] = {}

    def _current(self) -> FunctionIo | None:
        for facts in reversed(self._lambdas):
            if facts is not None:
                return facts
        qualname = self.function_qualname()
        return self.facts.functions.get(qualname) if qualname else None

    def visit_Lambda(self, node: cst.Lambda) -> None:
        """A lambda is a function of its own in the call graph (it becomes a local ``async
        def`` when it does I/O); the code that calls it is its caller: the enclosing
        function, or whoever calls the attribute / dict key holding it."""
        site = lambda_site(self, node)
        if site.kind == "run_sync":
            self._lambdas.append(None)
            return
        owner = self._current()
        scope = owner.qualname if owner is not None else self.current_qualname()
        number = self._lambda_numbers.get(scope, 0) + 1
        self._lambda_numbers[scope] = number
        line = self.get_metadata(PositionProvider, node).start.line
        facts = FunctionIo(f"{scope}.<lambda{number}>", line)
        self.facts.functions[facts.qualname] = facts
        if site.kind == "attribute":
            member = lambda_member(self.values, node)
            if member is not None:
                self._record_member(member, {facts.qualname})
        elif site.kind == "key":
            table = lambda_table(self, node)
            if table is not None:
                self._table_slot(table, site.name).add(facts.qualname)
        elif owner is not None:
            owner.calls.append((facts.qualname, line))
        self._lambdas.append(facts)

    def _record_member(self, member: str, values: set[str]) -> None:
        self.facts.holders.setdefault(member, {}).setdefault(VALUE, set()).update(values)
        attr = member.rpartition(".")[2]
        self.facts.by_name.setdefault(attr, set()).add(SLOT + member)

    def _table_slot(self, table: str, key: str) -> set[str]:
        return self.facts.holders.setdefault(table, {}).setdefault(key, set())

    def visit_Module(self, node: cst.Module) -> None:
        """Module-level variables holding project functions (``handler = count_users``),
        which other modules may call (``from m import handler; handler()``)."""
        for statement in node.body:
            if not isinstance(statement, cst.SimpleStatementLine):
                continue
            for small in statement.body:
                target = None
                if isinstance(small, cst.Assign) and len(small.targets) == 1:
                    target = small.targets[0].target
                elif isinstance(small, cst.AnnAssign) and small.value is not None:
                    target = small.target
                if not isinstance(target, cst.Name):
                    continue
                holder = self.values.holder(target)
                if holder is not None and holder.kind == "variable":
                    self._record_variable(holder)

    def _record_variable(self, holder: Any) -> None:
        if holder.qualname not in self.facts.holders:
            self.facts.holders[holder.qualname] = {VALUE: self.values.variable_values(holder)}

    def leave_Lambda(
        self, original_node: cst.Lambda, updated_node: cst.Lambda
    ) -> cst.BaseExpression:
        self._lambdas.pop()
        return updated_node

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool | None:
        super().visit_FunctionDef(node)
        qualname = self.current_qualname()
        line = self.get_metadata(PositionProvider, node).start.line
        in_class = len(self.scopes) > 1 and isinstance(self.scopes[-2][1], cst.ClassDef)
        if _is_property_accessor(node):
            self.facts.property_setters.add(qualname)
            if qualname in self.facts.functions:
                return True  # the getter's facts stay
        self.facts.functions[qualname] = FunctionIo(
            qualname,
            line,
            blocked=blocked_reason(self, node),
            is_async=node.asynchronous is not None,
            method=node.name.value if in_class else None,
            model_method=in_class
            and qualname.rpartition(".")[0] in self.state.index.model_classes(),
            gives_test_client=self._gives_test_client(qualname),
            decorators=self._project_decorators(node),
            wraps=self._wrapped_by(node, qualname),
            is_property=in_class
            and any(
                qualified_names(self, d.decorator) == {"builtins.property"} for d in node.decorators
            ),
            library_base=library_base(self, node) if in_class else None,
        )
        return True

    def visit_ClassDef(self, node: cst.ClassDef) -> bool | None:
        result = super().visit_ClassDef(node)
        qualname = self.current_qualname()
        body = node.body.body if isinstance(node.body, cst.IndentedBlock) else ()
        for statement in body:
            if not isinstance(statement, cst.SimpleStatementLine):
                continue
            for small in statement.body:
                targets: list[cst.BaseExpression] = []
                if isinstance(small, cst.AnnAssign):
                    targets = [small.target]
                elif isinstance(small, cst.Assign):
                    targets = [t.target for t in small.targets]
                for target in targets:
                    if isinstance(target, cst.Name):
                        self.facts.class_fields.setdefault(target.value, set()).add(qualname)
        return result

    def _project_decorators(self, node: cst.FunctionDef) -> list[str]:
        found = []
        for decorator in node.decorators:
            for name in qualified_names(self, decorator.decorator):
                resolved = self.state.index.resolve_alias(name)
                if resolved in self.state.index.functions:
                    found.append(resolved)
        return found

    def _wrapped_by(self, node: cst.FunctionDef, qualname: str) -> tuple[str, str] | None:
        """``("m.timed", "func")`` for ``wrapper`` in ``def timed(func): @wraps(func) def
        wrapper(...): ...; return wrapper``."""
        if not any(
            qualified_names(self, d.decorator.func) & WRAPS
            for d in node.decorators
            if isinstance(d.decorator, cst.Call)
        ):
            return None
        outer = qualname.rpartition(".")[0]
        facts = self.state.index.functions.get(outer)
        if facts is None or facts.returns_local != qualname or not facts.params:
            return None
        return outer, facts.params[0]

    def _gives_test_client(self, qualname: str) -> bool:
        facts = self.state.index.functions.get(qualname)
        return facts is not None and facts.gives_test_client

    def visit_Call(self, node: cst.Call) -> None:
        self._inline_template(node)
        current = self._current()
        if current is None:
            return
        if current.stored_query_session is None:
            current.stored_query_session = self._stored_query_session(node)
        line = self.get_metadata(PositionProvider, node).start.line
        if self.io.is_client_call(node):
            if current.client_io is None:
                current.client_io = f"{_code(node.func)}() at line {line}"
            return
        if current.direct_io is None and (
            self.io.io_call(node)
            or self.io.schema_call(node)
            or self.io.legacy_query_receiver(node) is not None
            or self._bridged_to_sync(node)
        ):
            current.direct_io = f"{_code(node.func)}() at line {line}"
        callee = self.calls.callee(node, self.enclosing_class())
        group = self.calls.override_group(node, self.enclosing_class(), callee)
        if group is not None:
            self.facts.overrides[group[0]] = set(group[1])
            current.calls.append((group[0], line))
            return
        if callee is not None:
            current.calls.append((callee, line))
            return
        slot = self.values.call_slot(node)
        if slot is not None:
            if slot[1] is not None:
                self._record_variable(slot[1])
            current.calls.append((slot[0], line))
            return
        for target in self.values.targets(node, self.enclosing_class(), COMMON_METHOD_NAMES):
            current.calls.append((target, line))

    def _stored_query_session(self, call: cst.Call) -> tuple[str, int] | None:
        """``session.query(...)`` on a parameter of the function, kept in a variable (not
        run where it stands, as ``.all()`` would): the parameter and its position."""
        func = call.func
        if not (isinstance(func, cst.Attribute) and func.attr.value == "query"):
            return None
        session = func.value
        if not isinstance(session, cst.Name) or self._lambdas:
            return None
        top: cst.CSTNode = call
        parent = self.get_metadata(ParentNodeProvider, top, None)
        while isinstance(parent, cst.Attribute | cst.Call) and (
            getattr(parent, "value", None) is top or getattr(parent, "func", None) is top
        ):
            top, parent = parent, self.get_metadata(ParentNodeProvider, parent, None)
        if (
            not isinstance(parent, cst.Assign | cst.AnnAssign)
            or getattr(parent, "value", None) is not top
        ):
            return None
        function = next(
            (node for _, node in reversed(self.scopes) if isinstance(node, cst.FunctionDef)), None
        )
        if function is None or function.decorators:
            return None  # a decorated one (a route, a fixture...) is called by others
        positional = [*function.params.posonly_params, *function.params.params]
        names = [p.name.value for p in positional]
        if session.value not in names or not self.io.is_session(session):
            return None
        return session.value, names.index(session.value)

    def _inline_template(self, call: cst.Call) -> None:
        """``render_template_string("{{ user.notes.count() }}", ...)`` (or the same call
        through ``render_with_session`` after a run): the template's reads and calls count
        as a template file's do."""
        render, source = call.func, call.args[0].value if call.args else None
        if (_called_name(render) or "") == RENDER_HELPER and len(call.args) > 1:
            render, source = call.args[0].value, call.args[1].value
        if not isinstance(source, cst.SimpleString | cst.ConcatenatedString):
            return
        if not (_called_name(render) or "").endswith("template_string"):
            return  # (checked before the qualified names, which cost a look-up)
        if qualified_names(self, render).isdisjoint(INLINE_TEMPLATE_RENDERS):
            return
        text = source.evaluated_value
        if isinstance(text, str):
            self.facts.template_reads |= source_attribute_reads(text)
            where = f"the template given to {_called_name(render)}()"
            for name in source_method_calls(text):
                self.facts.template_calls.setdefault(name, set()).add(where)

    def _bridged_to_sync(self, call: cst.Call) -> bool:
        """A call the await pass runs through ``run_sync`` (not one already inside it)."""
        if in_sync_greenlet(self, call):
            return False
        return (
            self.io.sync_only_call(call) is not None
            or self.io.engine_bridge(call) is not None
            or self.io.sync_session_method(call) is not None
        )

    def visit_Arg(self, node: cst.Arg) -> None:
        """``parser.set_defaults(func=cmd)`` (argparse): ``args.func(...)`` calls ``cmd``."""
        if node.keyword is None or _literal(node.value):
            return
        call = self.get_metadata(ParentNodeProvider, node, None)
        if not (
            isinstance(call, cst.Call)
            and isinstance(call.func, cst.Attribute)
            and call.func.attr.value == ARGPARSE_DEFAULTS
        ):
            return
        values = self.values.values(node.value)
        self.facts.by_name.setdefault(node.keyword.value, set()).update(values)

    def visit_DictElement(self, node: cst.DictElement) -> None:
        """The functions a table holds under each key (lambdas: see visit_Lambda)."""
        key = node.key
        if not (isinstance(key, cst.SimpleString) and isinstance(key.evaluated_value, str)):
            return
        holder = self.get_metadata(ParentNodeProvider, node, None)
        if not isinstance(holder, cst.Dict):
            return
        if id(holder) not in self._tables:
            self._tables[id(holder)] = self.values.table_of_dict(holder)
        table = self._tables[id(holder)]
        if table is None:
            return
        slot = self._table_slot(table, key.evaluated_value)
        if not isinstance(node.value, cst.Lambda):
            slot.update(self.values.values(node.value))

    def visit_Attribute(self, node: cst.Attribute) -> None:
        self.facts.attribute_reads.add(node.attr.value)
        self._stored_member(node)
        name = node.attr.value
        if name not in self._property_names():
            return
        resolved = self._property_read(node)
        current = self._current()
        reader = current.qualname if current is not None and not self._lambdas else None
        self.facts.property_reads.append((name, resolved, reader))
        if resolved is not None and current is not None:
            line = self.get_metadata(PositionProvider, node).start.line
            current.calls.append((resolved, line))

    def _stored_member(self, node: cst.Attribute) -> None:
        """``self.on_done = handler`` in a method of a project class: what the member
        holds (a function of the project; OPAQUE for another value that may be a
        callable, when a project method has the name)."""
        target = self.get_metadata(ParentNodeProvider, node, None)
        if not isinstance(target, cst.AssignTarget) or target.target is not node:
            return
        statement = self.get_metadata(ParentNodeProvider, target, None)
        if not isinstance(statement, cst.Assign) or len(statement.targets) != 1:
            return
        value = statement.value
        if isinstance(value, cst.Lambda) or _literal(value):
            return  # (a lambda: see visit_Lambda)
        values = self.values.values(value)
        if values == {OPAQUE} and node.attr.value not in method_names(self.state.index):
            return
        member = self.values.member_of(node)
        if member is not None:
            self._record_member(member, values)

    def _property_names(self) -> set[str]:
        if not hasattr(self, "_properties"):
            self._properties = property_names(self.state.index)
        return self._properties

    def _property_read(self, node: cst.Attribute) -> str | None:
        """The project property ``node`` reads, when the receiver's class is known and the
        use is a plain read (not assigned, deleted or called)."""
        return resolve_property_read(self, self.calls, node, self.enclosing_class())

    def visit_WithItem(self, node: cst.WithItem) -> None:
        current = self._current()
        if current is not None and current.direct_io is None and self.io.io_context(node.item):
            line = self.get_metadata(PositionProvider, node).start.line
            current.direct_io = f"with {_code(node.item)} at line {line}"

    def visit_For(self, node: cst.For) -> None:
        self._iterated(node.iter)

    def visit_CompFor(self, node: cst.CompFor) -> None:
        self._iterated(node.iter)

    def _iterated(self, rows: cst.BaseExpression) -> None:
        """``for post in user.posts.order_by(...)`` on a ``lazy="dynamic"`` relationship
        runs its query (the await pass runs it through ``run_sync``)."""
        current = self._current()
        if current is None or isinstance(rows, cst.Await):
            return
        if in_sync_greenlet(self, rows):
            return
        if current.dynamic_io is None and self.io.dynamic_relationship_owner(rows) is not None:
            line = self.get_metadata(PositionProvider, rows).start.line
            current.dynamic_io = f"iterating {_code(rows)} at line {line}"


@per_object
def method_names(index: ProjectIndex) -> frozenset[str]:
    """Names of the project's methods (and other nested functions)."""
    return frozenset(
        qualname.rpartition(".")[2]
        for qualname in index.functions
        if qualname.rpartition(".")[0] not in index.modules
    )


def _literal(value: cst.BaseExpression) -> bool:
    """A value no one calls: ``None``, ``True``, a string, a number, a container..."""
    if isinstance(value, cst.Name):
        return value.value in ("None", "True", "False")
    return isinstance(
        value,
        cst.SimpleString
        | cst.ConcatenatedString
        | cst.FormattedString
        | cst.Integer
        | cst.Float
        | cst.Imaginary
        | cst.List
        | cst.Tuple
        | cst.Set
        | cst.Dict
        | cst.ListComp
        | cst.SetComp
        | cst.DictComp
        | cst.BinaryOperation
        | cst.Comparison
        | cst.UnaryOperation,
    )


def lambda_member(values: FunctionValues, node: cst.Lambda) -> str | None:
    """The member a lambda is stored as (``self.on_done = lambda ...`` in a method)."""
    statement = values.t.get_metadata(ParentNodeProvider, node, None)
    if not isinstance(statement, cst.Assign) or len(statement.targets) != 1:
        return None
    target = statement.targets[0].target
    return values.member_of(target) if isinstance(target, cst.Attribute) else None


def lambda_table(transformer: Pass, node: cst.Lambda) -> str | None:
    """The table a lambda is a value of (``handlers = {"score": lambda ...}``)."""
    element = transformer.get_metadata(ParentNodeProvider, node, None)
    holder = transformer.get_metadata(ParentNodeProvider, element, None) if element else None
    values = getattr(transformer, "values", None)
    if not isinstance(holder, cst.Dict) or not isinstance(values, FunctionValues):
        return None
    return values.table_of_dict(holder)


@per_object
def property_names(index: ProjectIndex) -> set[str]:
    """Names of the project's methods decorated with something ending in ``property``."""
    return {
        qualname.rpartition(".")[2]
        for qualname, facts in index.functions.items()
        if any(d.endswith("property") for d in facts.decorators)
    }


def resolve_property_read(
    transformer: Pass, calls: CallResolver, node: cst.Attribute, enclosing_class: str | None
) -> str | None:
    parent = transformer.get_metadata(ParentNodeProvider, node, None)
    if isinstance(parent, cst.Call) and parent.func is node:
        return None
    if isinstance(parent, cst.AssignTarget | cst.Del | cst.AugAssign | cst.AnnAssign):
        return None
    owner = node.value
    if isinstance(owner, cst.Name) and owner.value in ("self", "cls"):
        klass = enclosing_class
    else:
        klass = calls.instance_class(owner)
    if klass is None:
        return None
    return calls.method_of(klass, node.attr.value)


def _is_property_accessor(node: cst.FunctionDef) -> bool:
    """``@prop.setter`` / ``@prop.deleter``."""
    for decorator in node.decorators:
        target = decorator.decorator
        if isinstance(target, cst.Attribute) and target.attr.value in ("setter", "deleter"):
            return True
    return False


def collect_io_facts(wrapper: MetadataWrapper, state: FileState) -> FileIoFacts:
    from libcst.codemod import CodemodContext

    context = CodemodContext(filename=state.path, full_module_name=state.module_name)
    collector = IoFactsCollector(context, state)
    collector.run_with(wrapper)
    return collector.facts


def plan_async(
    all_facts: list[FileIoFacts],
    template_reads: set[str] | None = None,
    template_calls: Mapping[str, set[str]] | None = None,
) -> AsyncPlan:
    """``template_reads``: the attribute names templates read; ``template_calls``: the
    methods they call → the templates calling them."""
    plan = AsyncPlan()
    functions = {q: f for facts in all_facts for q, f in facts.functions.items()}
    functions = _called_by_templates(functions, _all_template_calls(all_facts, template_calls))
    holders: dict[str, dict[str | None, set[str]]] = {}
    by_name: dict[str, set[str]] = {}
    for facts in all_facts:
        plan.read_attributes |= facts.attribute_reads
        for holder, slots in facts.holders.items():
            for key, values in slots.items():
                holders.setdefault(holder, {}).setdefault(key, set()).update(values)
        for name, values in facts.by_name.items():
            by_name.setdefault(name, set()).update(values)
    for facts in all_facts:
        for qualname, function in facts.functions.items():
            plan.locations[qualname] = (facts.path, function.line)
            if function.is_async:
                plan.already_async.add(qualname)
    groups = _slots(holders)
    for name, values in _dispatch_by_name(functions, by_name).items():
        groups[DYNAMIC + name] = (values, f"every project method or member named {name!r} is async")
    for facts in all_facts:
        for name, values in facts.overrides.items():
            method = name.rpartition(".")[2]
            groups[name] = (values, f"every method {method!r} of its class and subclasses is async")
    functions = _library_callbacks(functions, groups, holders)
    convertible = {
        q
        for q in _convertible_properties(all_facts, functions)
        if q.rpartition(".")[2] not in (template_reads or ())
    }
    candidates = _greenlet_candidates(functions)
    for function in functions.values():
        if function.direct_io is not None and function.qualname not in candidates:
            _mark(plan, function, function.direct_io, convertible)
    if plan.functions:  # the app becomes async: its tests' clients become httpx.AsyncClient
        for function in functions.values():
            if function.gives_test_client:
                _mark(plan, function, "gives a test client, now an httpx.AsyncClient")
            elif function.client_io is not None and function.qualname not in plan.functions:
                _mark(plan, function, function.client_io)
    _propagate(plan, functions, groups, convertible)
    _plan_greenlet_functions(plan, functions, candidates, convertible)
    _propagate(plan, functions, groups, convertible)
    # iterating a dynamic relationship is I/O too; it is the reason given only where no
    # call explains it, so chains name the calls
    for qualname, function in functions.items():
        if function.dynamic_io is not None and qualname not in plan.functions:
            _mark(plan, function, function.dynamic_io, convertible)
    _propagate(plan, functions, groups, convertible)
    _plan_decorators(plan, functions)
    for name, (values, _) in groups.items():
        if values & plan.functions.keys() and not values <= plan.functions.keys():
            plan.mixed_dynamic.add(name.removeprefix(DYNAMIC))
    words = dispatched_words(plan)
    plan.members = {
        value.removeprefix(SLOT)
        for values in by_name.values()
        for value in values
        if value.startswith(SLOT) and value.rpartition(".")[2] in words
    }
    for holder, slots in holders.items():
        held = {
            value
            for values in slots.values()
            for value in values
            if value in plan.functions and value not in plan.already_async
        }
        if held:
            plan.async_holders[holder] = sorted(held)
            if VALUE not in slots:
                plan.async_tables.add(holder)
    return plan


def _library_callbacks(
    functions: dict[str, FunctionIo],
    groups: dict[str, tuple[set[str], str]],
    holders: dict[str, dict[str | None, set[str]]],
) -> dict[str, FunctionIo]:
    """A method of a class deriving from a library's class that no project code calls,
    names or holds (``save_authorization_code`` of an Authlib grant, ``on_model_change``
    of a Flask-Admin view) is the library's to call, synchronously: as a coroutine it
    would never run (its commit silently lost). It stays synchronous."""
    called: set[str] = set()
    for function in functions.values():
        for callee, _ in function.calls:
            called.add(callee)
            called |= groups.get(callee, (set(), ""))[0]
    for slots in holders.values():
        for values in slots.values():
            called |= values
    kept = dict(functions)
    for qualname, function in functions.items():
        base = function.library_base
        if base is None or function.blocked or function.is_async or function.is_property:
            continue
        if qualname in called or function.method is None or function.method.startswith("__"):
            continue
        reason = (
            f"{base} (a library's class) calls it synchronously: no project code calls "
            f"{function.method}()"
        )
        kept[qualname] = replace(function, blocked=reason)
    return kept


def _all_template_calls(
    all_facts: list[FileIoFacts], template_calls: Mapping[str, set[str]] | None
) -> dict[str, set[str]]:
    """The methods template files and ``render_template_string`` literals call."""
    found = {name: set(where) for name, where in (template_calls or {}).items()}
    for facts in all_facts:
        for name, where in facts.template_calls.items():
            found.setdefault(name, set()).update(f"{w} in module {facts.module}" for w in where)
    return found


#: how many templates a blocked reason names
NAMED_TEMPLATES = 3
#: why a method a template calls stays synchronous (a blocked reason starts so)
TEMPLATE_CALLED = "Jinja calls it synchronously from a template"


def _called_by_templates(
    functions: dict[str, FunctionIo], template_calls: dict[str, set[str]]
) -> dict[str, FunctionIo]:
    """Methods named like one a template calls (``{{ user.report_count() }}``; templates are
    untyped, so by name, as for the properties templates read) stay synchronous: Jinja
    calls them synchronously, and a coroutine would render as ``<coroutine ...>``."""
    if not template_calls:
        return functions
    kept = dict(functions)
    for qualname, function in functions.items():
        where = template_calls.get(function.method or "")
        if not where or function.is_property or function.is_async or function.blocked:
            continue
        if function.method in BUILTIN_METHODS and not function.model_method:
            # ``{{ d.items() }}``, ``{{ user.count() }}``: a str/list/dict/set method's name
            # called on a template's object is a model's method only where a model has it
            # (the objects templates are handed); a repository's ``get`` is not one
            continue
        named = "; ".join(sorted(where)[:NAMED_TEMPLATES])
        if len(where) > NAMED_TEMPLATES:
            named += f" and {len(where) - NAMED_TEMPLATES} more"
        reason = f"{TEMPLATE_CALLED} ({named})"
        kept[qualname] = replace(function, blocked=reason)
    return kept


def _slots(
    holders: dict[str, dict[str | None, set[str]]],
) -> dict[str, tuple[set[str], str]]:
    """What a call through each slot may reach, and why it is async when all of it is."""
    found: dict[str, tuple[set[str], str]] = {}
    for holder, slots in holders.items():
        if VALUE in slots:
            found[SLOT + holder] = (slots[VALUE], f"every function {holder} holds is async")
            continue
        every: set[str] = set()
        for key, values in slots.items():
            assert key is not None
            slot = table_slot(holder, key)
            found[slot] = (values, f"every function stored in {slot_display(slot)} is async")
            every |= values
        found[SLOT + holder + "[*]"] = (every, f"every function stored in {holder} is async")
        found[SLOT + holder + "[?]"] = (every | {OPAQUE}, "")
    return found


def _dispatch_by_name(
    functions: dict[str, FunctionIo], by_name: dict[str, set[str]]
) -> dict[str, set[str]]:
    """What ``x.name(...)`` on an object of unknown type may call: the project's methods
    and members named so, and argparse defaults; names that other libraries' objects
    commonly have too are left out (never dispatched)."""
    found: dict[str, set[str]] = {}
    for qualname, function in functions.items():
        if function.method is not None:
            found.setdefault(function.method, set()).add(qualname)
    for name, values in by_name.items():
        found.setdefault(name, set()).update(values)
    return {
        name: values
        for name, values in found.items()
        if name not in COMMON_METHOD_NAMES and not name.startswith("__")
    }


def _greenlet_candidates(functions: dict[str, FunctionIo]) -> set[str]:
    """Functions keeping a legacy Query of their parameter's session in a variable that
    could stay synchronous, run by their callers through ``session.run_sync(...)``: not
    async already, not decorated (``stored_query_session`` is only given undecorated
    ones: a framework's route, a fixture... is called by others), not blocked."""
    return {
        qualname
        for qualname, function in functions.items()
        if function.stored_query_session is not None
        and not function.is_async
        and function.blocked is None
        and "<lambda" not in qualname
    }


def _plan_greenlet_functions(
    plan: AsyncPlan,
    functions: dict[str, FunctionIo],
    candidates: set[str],
    convertible: set[str],
) -> None:
    """A candidate that calls nothing async stays synchronous (its session calls run on
    the synchronous session ``run_sync`` gives it) and its callers become async; one that
    does become async as it would have (its stored queries keep their TODOs)."""
    for qualname in sorted(candidates):
        function = functions[qualname]
        if qualname in plan.functions or qualname in plan.blocked:
            continue
        stored = function.stored_query_session
        assert stored is not None
        plan.greenlet[qualname] = (*stored, function.method is not None)
    for function in functions.values():
        if function.qualname in plan.functions or function.qualname in plan.greenlet:
            continue
        for callee, line in function.calls:
            if callee in plan.greenlet:
                reason = f"calls {callee} (line {line}), run on the synchronous session by run_sync"
                _mark(plan, function, reason, convertible)
                break


def _propagate(
    plan: AsyncPlan,
    functions: dict[str, FunctionIo],
    groups: dict[str, tuple[set[str], str]],
    convertible: set[str],
) -> None:
    """Make async, to a fixed point, what calls a function already async."""
    changed = True
    while changed:
        changed = False
        for qualname, function in functions.items():
            if qualname in plan.functions or qualname in plan.blocked:
                continue
            if qualname in plan.loop_boundaries or qualname in plan.greenlet:
                continue
            for callee, line in function.calls:
                if callee in plan.functions:
                    _mark(plan, function, f"calls {callee} (line {line})", convertible)
                    changed = True
                    break
        for name, (values, reason) in groups.items():
            if name not in plan.functions and values and values <= plan.functions.keys():
                plan.functions[name] = reason
                changed = True


def _plan_decorators(plan: AsyncPlan, functions: dict[str, FunctionIo]) -> None:
    """A decorator of the project applied only to functions that became async gets an
    async wrapper that awaits them; applied to both kinds, it gets a TODO."""
    users: dict[str, set[str]] = {}
    for qualname, function in functions.items():
        for decorator in function.decorators:
            users.setdefault(decorator, set()).add(qualname)
    for qualname, function in functions.items():
        if function.wraps is None:
            continue
        decorator, param = function.wraps
        decorated = users.get(decorator, set())
        if any(functions[f].is_async for f in decorated):
            continue  # already used on coroutines: it knows how to wrap them
        async_ones = decorated & plan.functions.keys()
        if not async_ones:
            continue
        if async_ones == decorated and function.blocked is None:
            plan.functions[qualname] = f"wraps async functions ({sorted(async_ones)[0]})"
            plan.awaited_wrapped[qualname] = param
        else:
            plan.mixed_decorators[decorator] = (
                "it decorates both async and sync functions now; give it an async wrapper "
                "for the async ones"
            )


#: unittest fixtures called synchronously with no event loop running
LOOP_BOUNDARIES = frozenset({"setUpClass", "tearDownClass", "setUpModule", "tearDownModule"})


def _mark(
    plan: AsyncPlan, function: FunctionIo, reason: str, convertible: set[str] | None = None
) -> None:
    name = function.qualname.rpartition(".")[2]
    if name in LOOP_BOUNDARIES and not function.is_async and function.blocked is None:
        plan.loop_boundaries[function.qualname] = reason
    elif function.qualname in (convertible or ()):
        plan.functions[function.qualname] = f"{reason} (a property made an async method)"
        plan.async_properties.add(function.qualname)
    elif function.blocked is not None:
        plan.blocked[function.qualname] = f"{function.blocked}, but it {_lower(reason)}"
    else:
        plan.functions[function.qualname] = reason


def _convertible_properties(
    all_facts: list[FileIoFacts], functions: dict[str, FunctionIo]
) -> set[str]:
    """Plain ``@property`` getters without setter or deleter, read at least once, every use
    of which is a read on a receiver of a known class, in a function that can become
    async: these can become ``async def`` methods with their reads rewritten to ``await
    obj.prop()``. A use that cannot be proven (unknown receiver, module level, a lambda,
    an assignment) keeps the property, as a read in a template does (checked by the
    caller), and so does a field of that name in another class (a pydantic or marshmallow
    schema reads attributes by name)."""
    setters = {q for facts in all_facts for q in facts.property_setters}
    fields: dict[str, set[str]] = {}
    for facts in all_facts:
        for name, classes in facts.class_fields.items():
            fields.setdefault(name, set()).update(classes)
    reads: dict[str, list[tuple[str | None, str | None]]] = {}
    for facts in all_facts:
        for name, resolved, reader in facts.property_reads:
            reads.setdefault(name, []).append((resolved, reader))
    found = {
        qualname
        for qualname, function in functions.items()
        if function.is_property
        and qualname not in setters
        and not fields.get(qualname.rpartition(".")[2], set()) - {qualname.rpartition(".")[0]}
        and any(resolved == qualname for resolved, _ in reads.get(qualname.rpartition(".")[2], []))
        and all(resolved is not None for resolved, _ in reads.get(qualname.rpartition(".")[2], []))
    }

    def can_await(reader: str | None) -> bool:
        if reader is None or reader not in functions:
            return False
        return functions[reader].blocked is None or reader in found

    changed = True
    while changed:  # a property read by one that stays a property stays too
        changed = False
        for qualname in sorted(found):
            uses = reads.get(qualname.rpartition(".")[2], [])
            if not all(can_await(reader) for resolved, reader in uses if resolved == qualname):
                found.discard(qualname)
                changed = True
    return found


def _lower(reason: str) -> str:
    return reason if reason.startswith("calls") else f"does I/O: {reason}"


def _code(node: cst.CSTNode) -> str:
    return cst.Module([]).code_for_node(node)
