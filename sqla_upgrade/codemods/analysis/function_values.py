"""Project functions used as values: where calls through them go, and where they escape.

A function that becomes ``async def`` is still called synchronously by whoever holds it
as a value. ``FunctionValues`` answers, from scopes and qualified names (never from how
a key or attribute is spelled), the questions the async plan and the await pass share:

* *holders*: names whose every binding is known and holds project functions. A
  *variable* (``f = count_users``, ``for f in (a, b)``; module-level or local) or a
  *table*, a name bound once to a dict literal with string keys (``HANDLERS = {"count":
  count_users}``), or a *member*, an attribute a project class stores on its instances
  (``self.on_done = f`` in a method, ``job.on_done = f`` on a ``Job``). A call through
  one (``f()``, ``HANDLERS["count"]()``, ``HANDLERS[name]()``, ``HANDLERS.get(name)()``,
  ``self.on_done()``) goes to a *slot* (``SLOT + "m.HANDLERS['count']"``), async when
  every function it may hold is, mixed (a TODO) when only some are.
* *receivers that cannot hold project functions*: modules, ``sqlalchemy.func`` and other
  SQL expression builders (``db.func`` of Flask-SQLAlchemy, a mapped column), literals,
  values of builtin types (``str(x)``, a name annotated ``list[str]``). A call on one is
  never taken for a call of a project method of the same name (``func.count()``).
* *hand-overs*: the places where a function value leaves what can be followed (handed
  to ``map()``, ``Thread(target=...)`` or any other call, stored on an attribute or in a
  container, returned, a parameter default): the await pass writes a TODO there when the
  function becomes async, as its callers there would get a coroutine.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import libcst as cst
from libcst.helpers import get_full_name_for_node
from libcst.metadata import (
    Assignment,
    ClassScope,
    ComprehensionScope,
    FunctionScope,
    GlobalScope,
    ParentNodeProvider,
    PositionProvider,
    Scope,
    ScopeProvider,
)

from sqla_upgrade.codemods.base import per_object
from sqla_upgrade.codemods.index.model import ObjectKind, ProjectIndex
from sqla_upgrade.codemods.names import assigned_values, qualified_names

if TYPE_CHECKING:
    from sqla_upgrade.codemods.analysis.async_plan import CallResolver, ScopeTracking
    from sqla_upgrade.codemods.analysis.plans import AsyncPlan

#: calls through a holder: ``SLOT + "m.f"`` (a variable or a member ``m.Class.attr``),
#: ``SLOT + "m.T['key']"`` (a table's key), ``SLOT + "m.T[*]"`` (any of its keys),
#: ``SLOT + "m.T[?]"`` (any key, or a default given to ``.get``)
SLOT = "<slot>."
#: a value that is not a project function (``{"name": "x"}``, ``f = print``)
OPAQUE = "<opaque>"
#: the key of a variable's or member's values in ``FileIoFacts.holders``
VALUE = None

#: SQLAlchemy's ``func`` namespaces: ``func.count()`` builds a SQL function
SQL_FUNC = frozenset(
    {
        "sqlalchemy.func",
        "sqlalchemy.sql.func",
        "sqlalchemy.sql.expression.func",
        "sqlalchemy.sql.functions.func",
    }
)
_SQL_BUILDERS = (
    "select",
    "insert",
    "update",
    "delete",
    "text",
    "literal",
    "literal_column",
    "column",
    "table",
    "and_",
    "or_",
    "not_",
    "case",
    "cast",
    "exists",
    "union",
    "union_all",
    "intersect",
    "except_",
    "tuple_",
    "null",
    "true",
    "false",
    "bindparam",
    "desc",
    "asc",
    "distinct",
    "over",
    "type_coerce",
    "extract",
    "between",
    "lateral",
    "values",
    "collate",
    "nulls_first",
    "nulls_last",
    "any_",
    "all_",
)
#: SQL expression constructors: what they give, and what its methods give, is SQL
SQL_BUILDERS = frozenset(
    f"{package}.{name}"
    for package in (
        "sqlalchemy",
        "sqlalchemy.sql",
        "sqlalchemy.sql.expression",
        "sqlalchemy.future",
    )
    for name in _SQL_BUILDERS
)
#: builtins giving a value of a builtin type, whose methods are the type's
BUILTIN_VALUES = frozenset(
    f"builtins.{name}"
    for name in (
        "str",
        "int",
        "float",
        "complex",
        "bytes",
        "bytearray",
        "bool",
        "list",
        "dict",
        "set",
        "tuple",
        "frozenset",
        "len",
        "repr",
        "format",
        "range",
        "sorted",
        "hex",
        "oct",
        "bin",
        "chr",
        "ord",
    )
)
#: annotations of values of a builtin type (a container's methods are its own, whatever
#: it holds)
BUILTIN_ANNOTATIONS = BUILTIN_VALUES | frozenset(
    f"typing.{name}"
    for name in ("List", "Dict", "Set", "FrozenSet", "Tuple", "Text", "DefaultDict", "Counter")
)
LITERALS = (
    cst.SimpleString,
    cst.ConcatenatedString,
    cst.FormattedString,
    cst.Integer,
    cst.Float,
    cst.Imaginary,
    cst.List,
    cst.Tuple,
    cst.Set,
    cst.Dict,
    cst.ListComp,
    cst.SetComp,
    cst.DictComp,
)
#: builtins that look at a function without calling it
INSPECTING = frozenset(
    f"builtins.{name}"
    for name in (
        "callable",
        "id",
        "repr",
        "str",
        "print",
        "isinstance",
        "issubclass",
        "hasattr",
        "getattr",
        "setattr",
        "delattr",
        "hash",
        "type",
        "vars",
        "dir",
        "bool",
        "len",
    )
) | frozenset({"functools.wraps", "functools.update_wrapper"})
#: what awaits the coroutine functions it is given (FastAPI/Starlette dependencies and
#: routes)...
TAKES_COROUTINE_FUNCTIONS = frozenset(
    {
        "fastapi.Depends",
        "fastapi.Security",
        "fastapi.params.Depends",
        "fastapi.params.Security",
        "fastapi.param_functions.Depends",
        "fastapi.param_functions.Security",
        "fastapi.routing.APIRoute",
        "fastapi.routing.APIWebSocketRoute",
        "starlette.routing.Route",
        "starlette.routing.WebSocketRoute",
    }
)
#: ... and the registration methods of the web frameworks' apps, routers and blueprints
#: (Flask runs what they register through ``ensure_sync``) and of background tasks
REGISTERS_COROUTINE_FUNCTIONS = frozenset(
    {
        "add_api_route",
        "add_api_websocket_route",
        "add_event_handler",
        "add_exception_handler",
        "add_route",
        "add_websocket_route",
        "add_task",
        "add_url_rule",
        "before_request",
        "after_request",
        "teardown_request",
        "teardown_appcontext",
        "before_app_request",
        "after_app_request",
        "teardown_app_request",
        "register_error_handler",
        "errorhandler",
        "app_errorhandler",
        "exception_handler",
        "context_processor",
        "app_context_processor",
    }
)
#: FastAPI's ``app.dependency_overrides[get_db] = override``
DEPENDENCY_OVERRIDES = "dependency_overrides"
#: what a table's name may be used for without handing its functions over
TABLE_METHODS = frozenset({"keys", "get", "__contains__"})
#: builtins given a table that only look at its keys
TABLE_KEYS = frozenset(
    f"builtins.{name}" for name in ("len", "sorted", "list", "set", "print", "tuple", "iter")
)
#: argparse: ``parser.set_defaults(func=cmd)`` stores ``cmd`` as the ``func`` attribute of
#: the namespace ``parse_args()`` gives (called as ``args.func(...)``)
ARGPARSE_DEFAULTS = "set_defaults"


@dataclass(frozen=True)
class Holder:
    qualname: str
    kind: str  # "variable", "table"
    name: cst.Name  # a binding of it


@dataclass(frozen=True)
class Dispatch:
    """How the await pass treats a call through a value: the async callee it awaits,
    or why only some of the functions it may reach are async (a TODO)."""

    callee: str | None = None
    mixed: str | None = None


def slot_display(slot: str) -> str:
    return slot.removeprefix(SLOT)


@per_object
def dispatched_words(plan: AsyncPlan) -> frozenset[str]:
    """The words a call the await pass dispatches through a value spells (a holder's or
    member's last name, an attribute dispatched by name): a prefilter."""
    from sqla_upgrade.codemods.analysis.async_plan import DYNAMIC

    words = set()
    for name in [*plan.functions, *plan.mixed_dynamic]:
        if name.startswith(SLOT) or name.startswith(DYNAMIC):
            bare = name.removeprefix(SLOT).removeprefix(DYNAMIC).split("[", 1)[0]
            words.add(bare.rpartition(".")[2])
        elif not name.startswith("<"):
            words.add(name)  # (a mixed attribute name)
    return frozenset(words)


#: methods of common names (never dispatched by name) that serialize a model: called on
#: an object kept in ``g``, one a model has made async gets a TODO
MODEL_SERIALIZERS = frozenset({"to_dict"})
#: Flask's ``g``, which holds the app's own objects
FLASK_G = frozenset({"flask.g", "flask.globals.g"})


@per_object
def async_model_methods(plan: AsyncPlan, index: ProjectIndex) -> dict[str, set[str]]:
    """The methods of mapped models that are async now, by name (``to_dict`` →
    ``{"Project.to_dict"}``)."""
    found: dict[str, set[str]] = {}
    for name in plan.functions:
        owner, _, method = name.rpartition(".")
        if owner in index.models:
            found.setdefault(method, set()).add(f"{owner.rpartition('.')[2]}.{method}")
    return found


@per_object
def project_packages(index: ProjectIndex) -> frozenset[str]:
    """The top-level packages (and modules) of the project's modules."""
    return frozenset(name.split(".", 1)[0] for name in index.modules)


@per_object
def async_method_names(plan: AsyncPlan) -> frozenset[str]:
    """The names of the functions that become async (a prefilter)."""
    return frozenset(name.rpartition(".")[2] for name in plan.functions if not name.startswith("<"))


@per_object
def subclasses(index: ProjectIndex) -> dict[str, set[str]]:
    """Each project class → the project classes derived from it, at any depth."""
    direct: dict[str, set[str]] = {}
    for module in index.modules.values():
        for qualname, facts in module.models.items():
            for base in facts.bases:
                direct.setdefault(index.resolve_alias(base), set()).add(qualname)
    found: dict[str, set[str]] = {}
    for klass in direct:
        pending, seen = [klass], set()
        while pending:
            for child in direct.get(pending.pop(), ()):
                if child not in seen:
                    seen.add(child)
                    pending.append(child)
        found[klass] = seen
    return found


def _called_word(func: cst.BaseExpression) -> str | None:
    """``f`` for ``f()``, ``T`` for ``T[k]()`` / ``m.T[k]()`` / ``T.get(k)()``, ``name``
    for ``x.name()``."""
    if isinstance(func, cst.Subscript):
        func = func.value
    elif (
        isinstance(func, cst.Call)
        and isinstance(func.func, cst.Attribute)
        and func.func.attr.value == "get"
    ):
        func = func.func.value
    if isinstance(func, cst.Name):
        return func.value
    if isinstance(func, cst.Attribute):
        return func.attr.value
    return None


class FunctionValues:
    def __init__(self, transformer: ScopeTracking, calls: CallResolver) -> None:
        self.t = transformer
        self.calls = calls
        self.index: ProjectIndex = transformer.state.index
        self.module = transformer.state.module_name
        self._holders: dict[int, Holder | None] = {}

    # -- what a name refers to --------------------------------------------------------------
    def function_of(self, node: cst.BaseExpression) -> str | None:
        """The project function ``node`` names (``count_users``, ``mod.count_users``,
        ``self.method``, a nested ``def``), not called."""
        if not isinstance(node, cst.Name | cst.Attribute):
            return None
        for name in qualified_names(self.t, node):
            resolved = self.index.resolve_alias(self.unlocal(name))
            if resolved in self.index.functions:
                return resolved
        if isinstance(node, cst.Attribute):
            owner = node.value
            klass = None
            if isinstance(owner, cst.Name) and owner.value in ("self", "cls"):
                klass = self.t.enclosing_class()
            elif isinstance(owner, cst.Name | cst.Call):
                klass = self.calls.instance_class(owner)
            if klass is not None:
                return self.calls.method_of(klass, node.attr.value)
        return None

    def unlocal(self, name: str) -> str:
        return unlocal(name, self.module)

    def project_global(self, node: cst.BaseExpression) -> str | None:
        """The module-level name of another project module ``node`` names (``HANDLERS``
        imported, ``handlers.HANDLERS``) when it is not a function or class."""
        if not isinstance(node, cst.Name | cst.Attribute):
            return None
        if isinstance(node, cst.Name) and self._bound_here(node):
            return None
        for name in qualified_names(self.t, node):
            if "<locals>" in name:
                continue
            resolved = self.index.resolve_alias(name)
            module, _, _ = resolved.rpartition(".")
            facts = self.index.modules.get(module)
            if facts is None or resolved in self.index.functions or resolved in facts.models:
                continue
            if module == self.module:
                continue
            return resolved
        return None

    def _bound_here(self, name: cst.Name) -> bool:
        scope = self.t.get_metadata(ScopeProvider, name, None)
        if scope is None:
            return True
        return any(
            isinstance(a, Assignment) and not isinstance(a.node, cst.Import | cst.ImportFrom)
            for a in scope[name.value]
        )

    # -- holders ------------------------------------------------------------------------------
    def holder(self, name: cst.Name) -> Holder | None:
        """The variable or table ``name`` is (where it is read or bound), when every
        binding of it is known: one dict literal with string keys (a table), or plain
        assignments and loops over literal sequences at least one of which gives a project
        function (a variable). None for anything else (a parameter, an import, a lambda,
        ``+=``, a tuple target...)."""
        key = id(name)
        if key not in self._holders:
            self._holders[key] = None  # (while it is computed: ``f = g; g = f``)
            self._holders[key] = self._holder(name)
        return self._holders[key]

    def _holder(self, name: cst.Name) -> Holder | None:
        scope = self.t.get_metadata(ScopeProvider, name, None)
        if scope is None:
            return None
        assignments = [a for a in scope[name.value] if isinstance(a, Assignment)]
        if not assignments or len(assignments) != len(scope[name.value]):
            return None
        values = []
        for assignment in assignments:
            value = self._bound_value(assignment)
            if value is None:
                return None
            values.append(value)
        owner = assignments[0].scope
        if any(a.scope is not owner for a in assignments) or isinstance(owner, ClassScope):
            return None
        qualname = f"{self.scope_qualname(owner)}.{name.value}"
        if len(values) == 1 and isinstance(values[0], cst.Dict):
            if not _string_keys(values[0]):
                return None
            return Holder(qualname, "table", name)
        found = False
        for value in values:
            if isinstance(value, cst.Dict | cst.Lambda):
                return None
            parts = value.elements if isinstance(value, cst.List | cst.Tuple | cst.Set) else [value]
            for part in parts:
                element = part.value if isinstance(part, cst.BaseElement) else part
                assert isinstance(element, cst.BaseExpression)
                if isinstance(element, cst.Lambda):
                    return None
                found = found or bool(self.values(element, 1) - {OPAQUE})
        return Holder(qualname, "variable", name) if found else None

    def _bound_value(self, assignment: Assignment) -> cst.BaseExpression | None:
        """The value a binding gives: ``x = value``, or the literal sequence of ``for x in
        (a, b)`` (whose elements it gives one after the other)."""
        bound = assignment.node
        if isinstance(bound, cst.Import | cst.ImportFrom):
            return None
        parent = self.t.get_metadata(ParentNodeProvider, bound, None)
        if isinstance(parent, cst.AssignTarget) and parent.target is bound:
            statement = self.t.get_metadata(ParentNodeProvider, parent, None)
            if isinstance(statement, cst.Assign) and len(statement.targets) == 1:
                return statement.value
            return None
        if isinstance(parent, cst.AnnAssign) and parent.target is bound:
            return parent.value
        if isinstance(parent, cst.For | cst.CompFor) and parent.target is bound:
            sequence = parent.iter
            if isinstance(sequence, cst.List | cst.Tuple | cst.Set) and all(
                isinstance(e, cst.Element) for e in sequence.elements
            ):
                return sequence
        return None

    def scope_qualname(self, scope: Scope) -> str:
        names = []
        while not isinstance(scope, GlobalScope):
            if isinstance(scope, FunctionScope | ClassScope):
                names.append(scope.name or "<lambda>")
            elif isinstance(scope, ComprehensionScope):
                names.append("<comprehension>")
            parent = getattr(scope, "parent", None)
            if parent is None or parent is scope:
                break
            scope = parent
        return ".".join([self.module, *reversed(names)])

    def values(self, expr: cst.BaseExpression, depth: int = 0) -> set[str]:
        """The project functions ``expr`` may be (``OPAQUE`` for anything else)."""
        if depth > 6:
            return {OPAQUE}
        if isinstance(expr, cst.IfExp):
            return self.values(expr.body, depth + 1) | self.values(expr.orelse, depth + 1)
        function = self.function_of(expr)
        if function is not None:
            return {function}
        if isinstance(expr, cst.Name):
            holder = self.holder(expr)
            if holder is not None and holder.kind == "variable":
                return self.variable_values(holder, depth + 1)
        return {OPAQUE}

    def variable_values(self, holder: Holder, depth: int = 0) -> set[str]:
        scope = self.t.get_metadata(ScopeProvider, holder.name, None)
        found: set[str] = set()
        for assignment in scope[holder.name.value] if scope is not None else ():
            assert isinstance(assignment, Assignment)
            value = self._bound_value(assignment)
            if isinstance(value, cst.List | cst.Tuple | cst.Set):
                for element in value.elements:
                    found |= self.values(element.value, depth + 1)
            elif value is not None:
                found |= self.values(value, depth + 1)
        return found

    def table_of(self, node: cst.BaseExpression) -> str | None:
        """The table ``node`` names: a local or module-level one, or a module-level name
        of another project module (perhaps a table: the plan knows)."""
        if isinstance(node, cst.Name):
            holder = self.holder(node)
            if holder is not None:
                return holder.qualname if holder.kind == "table" else None
        return self.project_global(node)

    def table_of_dict(self, node: cst.Dict) -> str | None:
        """The table a dict literal is the value of (``HANDLERS = {...}``)."""
        statement = self.t.get_metadata(ParentNodeProvider, node, None)
        if not isinstance(statement, cst.Assign | cst.AnnAssign) or statement.value is not node:
            return None
        targets = (
            [t.target for t in statement.targets]
            if isinstance(statement, cst.Assign)
            else [statement.target]
        )
        if len(targets) != 1 or not isinstance(targets[0], cst.Name):
            return None
        holder = self.holder(targets[0])
        return holder.qualname if holder is not None and holder.kind == "table" else None

    def member_of(self, target: cst.Attribute) -> str | None:
        """``m.Job.on_done`` for ``self.on_done`` stored in a method of ``Job``, or on an
        object known to be a ``Job``."""
        owner = target.value
        if isinstance(owner, cst.Name) and owner.value in ("self", "cls"):
            klass = self.t.enclosing_class()
            if klass is None or self.t.function_qualname() is None:
                return None
        elif isinstance(owner, cst.Name | cst.Call):
            klass = self.calls.instance_class(owner)
        else:
            return None
        return f"{klass}.{target.attr.value}" if klass is not None else None

    # -- calls through values -------------------------------------------------------------------
    def call_slot(self, call: cst.Call) -> tuple[str, Holder | None] | None:
        """The slot a call through a holder goes to (with the local holder, when it is
        one of this module): ``f(...)``, ``T["key"](...)``, ``T[key](...)``,
        ``T.get(key)(...)``, ``mod.f(...)``."""
        func = call.func
        if isinstance(func, cst.Name):
            holder = self.holder(func)
            if holder is not None:
                return (SLOT + holder.qualname, holder) if holder.kind == "variable" else None
            found = self.project_global(func)
            return (SLOT + found, None) if found else None
        if isinstance(func, cst.Attribute):
            found = self.project_global(func)
            return (SLOT + found, None) if found else None
        if isinstance(func, cst.Subscript) and len(func.slice) == 1:
            index = func.slice[0].slice
            if not isinstance(index, cst.Index):
                return None
            table = self.table_of(func.value)
            if table is None:
                return None
            return SLOT + table + _key_suffix(index.value), None
        if (
            isinstance(func, cst.Call)
            and isinstance(func.func, cst.Attribute)
            and func.func.attr.value == "get"
            and func.args
        ):
            table = self.table_of(func.func.value)
            if table is None:
                return None
            if len(func.args) > 1 or func.args[0].keyword is not None:
                return SLOT + table + "[?]", None
            return SLOT + table + _key_suffix(func.args[0].value), None
        return None

    def receiver_classes(self, owner: cst.BaseExpression, klass: str | None) -> list[str]:
        """The project class of a method call's receiver and its bases, when known."""
        found = None
        if isinstance(owner, cst.Name) and owner.value in ("self", "cls"):
            found = klass
        elif isinstance(owner, cst.Name | cst.Call):
            found = self.calls.instance_class(owner)
        if found is None:
            return []
        order = [found]
        for current in order:
            if len(order) > 20:
                break
            for base in self.calls._bases(current):
                if base not in order:
                    order.append(base)
        return order

    def targets(self, call: cst.Call, klass: str | None, common: frozenset[str]) -> list[str]:
        """What the plan's call graph records for a call ``CallResolver`` does not
        resolve: its slot, or for ``x.name(...)`` the members of the receiver's class and
        ``DYNAMIC + name`` (any project method or member of that name), unless the
        receiver cannot hold project functions."""
        from sqla_upgrade.codemods.analysis.async_plan import DYNAMIC

        slot = self.call_slot(call)
        if slot is not None:
            return [slot[0]]
        func = call.func
        if not isinstance(func, cst.Attribute):
            return []
        attr = func.attr.value
        dynamic = attr not in common and not attr.startswith("__")
        classes = self.receiver_classes(func.value, klass)
        if not (classes or dynamic) or self.cannot_hold(func.value):
            return []
        found = [SLOT + f"{c}.{attr}" for c in classes]
        if dynamic:
            found.append(DYNAMIC + attr)
        return found

    def dispatch(self, call: cst.Call, klass: str | None, plan: AsyncPlan) -> Dispatch:
        """How the await pass treats a call ``CallResolver`` does not resolve."""
        from sqla_upgrade.codemods.analysis.async_plan import DYNAMIC

        unresolved = self._unresolved_async_method(call, klass, plan)
        if unresolved is not None:
            return Dispatch(mixed=unresolved)
        common = self._common_model_method(call, klass, plan)
        if common is not None:
            return Dispatch(mixed=common)
        words = dispatched_words(plan)
        if not words or _called_word(call.func) not in words:
            return Dispatch()
        slot = self.call_slot(call)
        if slot is not None:
            name = slot[0]
            if plan.is_async(name):
                return Dispatch(callee=name)
            if name in plan.mixed_dynamic:
                return Dispatch(mixed=_mixed_reason(call, name))
            return Dispatch()
        func = call.func
        if not isinstance(func, cst.Attribute) or self.cannot_hold(func.value):
            return Dispatch()
        attr = func.attr.value
        for klass_name in self.receiver_classes(func.value, klass):
            member = SLOT + f"{klass_name}.{attr}"
            if plan.is_async(member):
                return Dispatch(callee=member)
            if member in plan.mixed_dynamic:
                return Dispatch(mixed=_mixed_member_reason(attr))
            if member.removeprefix(SLOT) in plan.members:
                return Dispatch()  # a member of the class, holding no async function
        if attr in plan.mixed_dynamic:
            return Dispatch(mixed=_mixed_member_reason(attr))
        if plan.is_async(DYNAMIC + attr):
            return Dispatch(callee=DYNAMIC + attr)
        return Dispatch()

    def _common_model_method(
        self, call: cst.Call, klass: str | None, plan: AsyncPlan
    ) -> str | None:
        """``g.project.to_dict()`` while a model's ``to_dict`` is async now: names that
        other libraries' objects have too are never dispatched by name (no ``await`` is
        added), so on an object kept in ``g`` (of a class never known here) the call may
        be left a coroutine: a TODO, for the serializers models are given (``get``,
        ``update``... are dicts' and sessions' too)."""
        func = call.func
        if not isinstance(func, cst.Attribute) or func.attr.value not in MODEL_SERIALIZERS:
            return None
        methods = async_model_methods(plan, self.calls.index).get(func.attr.value)
        if not methods or not self._kept_in_g(func.value):
            return None
        return (
            f"{_code(func)}() may be {' or '.join(sorted(methods))}, async now, on an object "
            "whose class is not known here: await it where it is"
        )

    def _kept_in_g(self, node: cst.BaseExpression) -> bool:
        """``g.project``: an object the app keeps in Flask's ``g``, whose class the
        analysis never knows (what an earlier hook stored there)."""
        return isinstance(node, cst.Attribute) and bool(
            qualified_names(self.t, node.value) & FLASK_G
        )

    def _unresolved_async_method(
        self, call: cst.Call, klass: str | None, plan: AsyncPlan
    ) -> str | None:
        """Why a method call on a receiver of a known project class, which the index
        cannot resolve (a method defined under an ``if`` of the class body, or only by a
        subclass), needs a look: a method of that name of its class, a base or a subclass
        is async now. None when there is none."""
        func = call.func
        if not isinstance(func, cst.Attribute):
            return None
        attr = func.attr.value
        if attr not in async_method_names(plan):
            return None
        classes = self.receiver_classes(func.value, klass)
        if not classes:
            return None
        related = [*classes, *sorted(subclasses(self.index).get(classes[0], ()))]
        found = next((f"{c}.{attr}" for c in related if plan.is_async(f"{c}.{attr}")), None)
        if found is None:
            return None
        return (
            f"{_code(func)}() may call {found}, which is async now, but which method it "
            "calls cannot be told statically: await it where it does"
        )

    # -- receivers that cannot hold project functions ---------------------------------------
    def cannot_hold(self, node: cst.BaseExpression, depth: int = 0) -> bool:
        """Is ``node`` something whose attributes are never project functions: a module,
        a SQL expression (``func``, ``select(...)``, ``db.func``, ``User.name``), a
        literal, a value of a builtin type (``str(x)``, a name annotated ``list[int]`` or
        bound only to such values)?"""
        if isinstance(node, LITERALS):
            return True
        if isinstance(node, cst.Call):
            return self._sql_expression(node) or bool(
                qualified_names(self.t, node.func) & BUILTIN_VALUES
            )
        if isinstance(node, cst.Subscript | cst.BinaryOperation):
            return self._sql_expression(node)
        if not isinstance(node, cst.Name | cst.Attribute):
            return False
        names = qualified_names(self.t, node)
        if names and all(_sql_or_builtin(n) for n in names):
            return True
        if self._flask_sqlalchemy_part(node) or self._mapped_column(node):
            return True
        if isinstance(node, cst.Name):
            if self._module(node) or self._annotated_builtin(node) or self._library_import(node):
                return True
            if depth < 3:
                values = assigned_values(self.t, node)
                if values and all(self.cannot_hold(v, depth + 1) for v in values):
                    return True
        return False

    def _sql_expression(self, node: cst.BaseExpression) -> bool:
        """``func.count()``, ``select(User).where(...)``, ``db.func.sum(...).label("n")``,
        ``User.name.like(...)``: a chain built on a SQL expression constructor."""
        root: cst.BaseExpression = node
        while True:
            if isinstance(root, cst.Call):
                root = root.func
            elif isinstance(root, cst.Subscript) or (
                isinstance(root, cst.Attribute) and not self._sql_root(root)
            ):
                root = root.value
            else:
                break
        return self._sql_root(root)

    def _sql_root(self, node: cst.BaseExpression) -> bool:
        if not isinstance(node, cst.Name | cst.Attribute):
            return False
        names = qualified_names(self.t, node)
        if names and all(n in SQL_BUILDERS or _in_func(n) for n in names):
            return True
        if isinstance(node, cst.Attribute):
            return self._flask_sqlalchemy_part(node) or self._mapped_column(node)
        return False

    def _flask_sqlalchemy_part(self, node: cst.BaseExpression) -> bool:
        """``db.func``, ``db.select``... of a Flask-SQLAlchemy object (not ``db.Model``,
        which the project's models subclass)."""
        if not isinstance(node, cst.Attribute) or node.attr.value == "Model":
            return False
        return any(
            self.index.kind_of(q) is ObjectKind.FLASK_SQLALCHEMY
            for q in qualified_names(self.t, node.value)
        )

    def _mapped_column(self, node: cst.BaseExpression) -> bool:
        """``User.name``: a column or relationship attribute of a model class."""
        if not isinstance(node, cst.Attribute):
            return False
        klass = self.calls._class_named(node.value)
        model = self.index.models.get(klass) if klass else None
        if model is None:
            return False
        return node.attr.value in model.columns or node.attr.value in model.relationships

    def _module(self, node: cst.Name) -> bool:
        """A name bound only by ``import x`` (a module)."""
        scope = self.t.get_metadata(ScopeProvider, node, None)
        if scope is None:
            return False
        bound = [getattr(a, "node", None) for a in scope[node.value]]
        return bool(bound) and all(isinstance(b, cst.Import) for b in bound)

    def _library_import(self, node: cst.Name) -> bool:
        """A name bound only by ``from M import n`` of a module outside the project
        (``from migrate.versioning import api as migrate_api``): a library's module or
        object, whose attributes are its own functions, never the project's. Flask's
        (``g``, ``current_app``) are left out: they hold the app's objects."""
        scope = self.t.get_metadata(ScopeProvider, node, None)
        if scope is None:
            return False
        bound = [getattr(a, "node", None) for a in scope[node.value]]
        if not bound or not all(isinstance(b, cst.ImportFrom) for b in bound):
            return False
        packages = project_packages(self.index)
        for statement in bound:
            assert isinstance(statement, cst.ImportFrom)
            if statement.relative or statement.module is None:
                return False
            top = (get_full_name_for_node(statement.module) or "").split(".", 1)[0]
            if not top or top == "flask" or top in packages:
                return False
        return True

    def _annotated_builtin(self, node: cst.Name) -> bool:
        """A parameter or variable annotated with a builtin type (``str``, ``list[User]``,
        ``dict[str, int] | None``)."""
        scope = self.t.get_metadata(ScopeProvider, node, None)
        if scope is None:
            return False
        assignments = list(scope[node.value])
        if not assignments:
            return False
        for assignment in assignments:
            bound = getattr(assignment, "node", None)
            annotation = None
            if isinstance(bound, cst.Param):
                annotation = bound.annotation
            else:
                parent = self.t.get_metadata(ParentNodeProvider, bound, None) if bound else None
                if isinstance(parent, cst.AnnAssign) and parent.target is bound:
                    annotation = parent.annotation
            if annotation is None or not self._builtin_annotation(annotation.annotation):
                return False
        return True

    def _builtin_annotation(self, node: cst.BaseExpression) -> bool:
        if isinstance(node, cst.Subscript):
            value = node.value
            names = qualified_names(self.t, value)
            if names & {"typing.Optional", "typing.Union"}:
                return all(
                    isinstance(e.slice, cst.Index) and self._builtin_annotation(e.slice.value)
                    for e in node.slice
                )
            return bool(names) and names <= BUILTIN_ANNOTATIONS
        if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.BitOr):
            return self._builtin_annotation(node.left) and self._builtin_annotation(node.right)
        if isinstance(node, cst.Name) and node.value == "None":
            return True
        names = qualified_names(self.t, node)
        return bool(names) and names <= BUILTIN_ANNOTATIONS

    # -- hand-overs ---------------------------------------------------------------------------
    def handover(self, node: cst.BaseExpression, table: bool = False, depth: int = 0) -> str | None:
        """Where the function (or, ``table``, the dict of functions) ``node`` evaluates to
        goes when that cannot be followed: "handed to map()", "stored on obj.cb",
        "returned"...; None when it is called, looked at, or goes where the plan follows
        it (a holder all of whose uses are followed, a member, argparse defaults)."""
        parent = self.t.get_metadata(ParentNodeProvider, node, None)
        while (isinstance(parent, cst.IfExp) and parent.test is not node) or isinstance(
            parent, cst.BooleanOperation
        ):
            node, parent = parent, self.t.get_metadata(ParentNodeProvider, parent, None)
        if parent is None or _binding_context(node, parent):
            return None
        if table:
            own, found = self._table_use(node, parent)
            if own:
                return found
        elif isinstance(parent, cst.Call) and parent.func is node:
            return None
        elif isinstance(parent, cst.Attribute) and parent.value is node:
            return None  # ``f.__name__``, ``task.delay(...)``
        if isinstance(parent, cst.Comparison | cst.ComparisonTarget | cst.UnaryOperation):
            return None
        if isinstance(parent, cst.Expr | cst.FormattedStringExpression):
            return None
        if isinstance(parent, cst.If | cst.While | cst.Assert) and parent.test is node:
            return None
        if isinstance(parent, cst.Index):
            return None  # a key: ``overrides[get_db]``
        if isinstance(parent, cst.Arg):
            return self._argument_use(node, parent, table)
        if isinstance(parent, cst.Assign | cst.AnnAssign) and parent.value is node:
            return self._stored_use(parent, table, depth)
        if isinstance(parent, cst.DictElement) and parent.value is node:
            holder = self.t.get_metadata(ParentNodeProvider, parent, None)
            if isinstance(holder, cst.Dict):
                table_name = self.table_of_dict(holder)
                if table_name is not None:
                    return self._table_uses(holder, depth)
                return self._container_use(holder, "dict", depth)
            return "stored in a dict here"
        if isinstance(parent, cst.Element):
            sequence = self.t.get_metadata(ParentNodeProvider, parent, None)
            if isinstance(sequence, cst.List | cst.Tuple | cst.Set):
                loop = self.t.get_metadata(ParentNodeProvider, sequence, None)
                if (
                    isinstance(loop, cst.For | cst.CompFor)
                    and loop.iter is sequence
                    and isinstance(loop.target, cst.Name)
                ):
                    return self._variable_uses(loop.target, depth)
                kind = {cst.List: "list", cst.Tuple: "tuple", cst.Set: "set"}[type(sequence)]
                return self._container_use(sequence, kind, depth)
        if isinstance(parent, cst.Param) and parent.default is node:
            return "a parameter default here"
        if isinstance(parent, cst.Return):
            return "returned here"
        if isinstance(parent, cst.Yield):
            return "yielded here"
        if isinstance(parent, cst.Lambda):
            return "returned by a lambda here"
        return "handed over here"

    def _table_use(self, node: cst.BaseExpression, parent: cst.CSTNode) -> tuple[bool, str | None]:
        """A table's name used as tables are (``T[k](...)``, ``T.get(k)(...)``, ``k in
        T``, its keys): (True, where its functions go, None when followed); (False, None)
        for any other use, looked at as a value's."""
        if isinstance(parent, cst.Subscript) and parent.value is node:
            grand = self.t.get_metadata(ParentNodeProvider, parent, None)
            if isinstance(grand, cst.Call) and grand.func is parent:
                return True, None
            if _binding_context(parent, grand):
                return True, None  # ``T["k"] = f`` (``f`` is looked at where it is), ``del``
            return True, "read without being called here"
        if isinstance(parent, cst.Attribute) and parent.value is node:
            if parent.attr.value not in TABLE_METHODS:
                return True, f"used through its .{parent.attr.value} here"
            if parent.attr.value != "get":
                return True, None
            call = self.t.get_metadata(ParentNodeProvider, parent, None)
            outer = self.t.get_metadata(ParentNodeProvider, call, None) if call else None
            if isinstance(outer, cst.Call) and outer.func is call:
                return True, None
            return True, "read without being called here"
        if isinstance(parent, cst.Call) and parent.func is node:
            return True, None
        if isinstance(parent, cst.Arg):
            call = self.t.get_metadata(ParentNodeProvider, parent, None)
            if isinstance(call, cst.Call) and qualified_names(self.t, call.func) & TABLE_KEYS:
                return True, None
        if isinstance(parent, cst.For | cst.CompFor) and parent.iter is node:
            return True, None  # its keys
        return False, None

    def _argument_use(self, node: cst.BaseExpression, arg: cst.Arg, table: bool) -> str | None:
        call = self.t.get_metadata(ParentNodeProvider, arg, None)
        if not isinstance(call, cst.Call):
            return "handed over here"
        names = qualified_names(self.t, call.func)
        if names & (INSPECTING | TAKES_COROUTINE_FUNCTIONS) or self._registers(call.func):
            return None
        func = call.func
        if (
            not table
            and arg.keyword is not None
            and isinstance(func, cst.Attribute)
            and func.attr.value == ARGPARSE_DEFAULTS
        ):
            return None  # an argparse namespace's attribute (see argparse_defaults)
        return f"handed to {_code(func)}() here"

    def _registers(self, func: cst.BaseExpression) -> bool:
        """``app.add_url_rule``, ``app.errorhandler(404)`` (called with the function)..."""
        if isinstance(func, cst.Call):
            func = func.func
        return isinstance(func, cst.Attribute) and func.attr.value in REGISTERS_COROUTINE_FUNCTIONS

    def _stored_use(
        self, statement: cst.Assign | cst.AnnAssign, table: bool, depth: int
    ) -> str | None:
        targets = (
            [t.target for t in statement.targets]
            if isinstance(statement, cst.Assign)
            else [statement.target]
        )
        if len(targets) != 1:
            return "stored in several places here"
        target = targets[0]
        if isinstance(target, cst.Name):
            holder = self.holder(target)
            if holder is None or (table and holder.kind != "variable"):
                return f"stored in {target.value}, which the migration cannot follow, here"
            return self._variable_uses(target, depth, table)
        if isinstance(target, cst.Attribute) and not table and self.member_of(target):
            return None  # a member of a project class: its calls are followed
        if (
            isinstance(target, cst.Subscript)
            and isinstance(target.value, cst.Attribute)
            and target.value.attr.value == DEPENDENCY_OVERRIDES
        ):
            return None
        return f"stored in {_code(target)} here"

    def _variable_uses(self, target: cst.Name, depth: int, table: bool = False) -> str | None:
        """The first use of the variable ``target`` binds that hands its value over."""
        return self._first_handover(target, depth, table, "held by")

    def _first_handover(self, target: cst.Name, depth: int, table: bool, held: str) -> str | None:
        """The first read of what ``target`` binds that hands it over, said as ``held``
        ``target``."""
        if depth > 4:
            return None
        scope = self.t.get_metadata(ScopeProvider, target, None)
        if scope is None:
            return None
        for assignment in scope.assignments[target.value]:
            for access in sorted(assignment.references, key=lambda a: self._line(a.node)):
                node = access.node
                if not isinstance(node, cst.Name):
                    continue
                found = self.handover(node, table, depth + 1)
                if found is not None:
                    said = found.replace(" here", "")
                    return f"{held} {target.value}, which is {said} (line {self._line(node)})"
        return None

    def _table_uses(self, table: cst.Dict, depth: int) -> str | None:
        statement = self.t.get_metadata(ParentNodeProvider, table, None)
        assert isinstance(statement, cst.Assign | cst.AnnAssign)
        target = (
            statement.targets[0].target if isinstance(statement, cst.Assign) else statement.target
        )
        assert isinstance(target, cst.Name)
        return self._first_handover(target, depth, True, "in")

    def _container_use(self, container: cst.BaseExpression, kind: str, depth: int) -> str:
        parent = self.t.get_metadata(ParentNodeProvider, container, None)
        if isinstance(parent, cst.Arg):
            call = self.t.get_metadata(ParentNodeProvider, parent, None)
            if isinstance(call, cst.Call):
                return f"in a {kind} handed to {_code(call.func)}() here"
        if isinstance(parent, cst.Assign) and len(parent.targets) == 1:
            return f"in a {kind} stored in {_code(parent.targets[0].target)} here"
        if isinstance(parent, cst.Return):
            return f"in a {kind} returned here"
        return f"in a {kind} here"

    def _line(self, node: cst.CSTNode) -> int:
        position = self.t.get_metadata(PositionProvider, node, None)
        return position.start.line if position is not None else 0


def unlocal(name: str, module: str) -> str:
    """``m.outer.inner`` for ``outer.<locals>.inner`` (a nested ``def``, as the index and
    the plan name it)."""
    if "<locals>" not in name:
        return name
    return f"{module}.{name.replace('.<locals>', '')}"


def _binding_context(node: cst.CSTNode, parent: cst.CSTNode | None) -> bool:
    """Is ``node`` where a name is bound, imported, declared or deleted, not a value?"""
    if isinstance(parent, cst.AssignTarget | cst.For | cst.CompFor | cst.WithItem):
        return getattr(parent, "target", None) is node or (
            isinstance(parent, cst.WithItem)
            and parent.asname is not None
            and parent.asname.name is node
        )
    if isinstance(parent, cst.AnnAssign | cst.AugAssign):
        return parent.target is node
    if isinstance(parent, cst.Param):
        return parent.name is node
    if isinstance(parent, cst.FunctionDef | cst.ClassDef):
        return parent.name is node
    return isinstance(
        parent,
        cst.ImportAlias
        | cst.AsName
        | cst.Global
        | cst.Nonlocal
        | cst.NameItem
        | cst.Del
        | cst.Annotation
        | cst.Decorator
        | cst.Import
        | cst.ImportFrom,
    )


def _string_keys(table: cst.Dict) -> bool:
    return all(
        isinstance(e, cst.DictElement)
        and isinstance(e.key, cst.SimpleString)
        and isinstance(e.key.evaluated_value, str)
        for e in table.elements
    )


def _key_suffix(key: cst.BaseExpression) -> str:
    if isinstance(key, cst.SimpleString) and isinstance(key.evaluated_value, str):
        return f"[{key.evaluated_value!r}]"
    return "[*]"


def table_slot(table: str, key: str) -> str:
    return SLOT + f"{table}[{key!r}]"


def _sql_or_builtin(name: str) -> bool:
    return (
        name in SQL_FUNC or _in_func(name) or name in SQL_BUILDERS or name.startswith("builtins.")
    )


def _in_func(name: str) -> bool:
    return any(name.startswith(f"{namespace}.") for namespace in SQL_FUNC) or name in SQL_FUNC


def _mixed_reason(call: cst.Call, slot: str) -> str:
    if slot.endswith("]"):
        return "some functions stored in this dict are async now and some are not: await the async ones"
    return (
        f"{_code(call.func)} may be one of several functions, some async now and some not: "
        "await its calls where it is an async one"
    )


def _mixed_member_reason(attr: str) -> str:
    return (
        f"some functions or methods called as {attr!r} are async now and some are not: "
        "await the async ones"
    )


def _code(node: cst.CSTNode) -> str:
    return cst.Module([]).code_for_node(node)
