"""Which ``lazy="dynamic"`` relationships can become ``lazy="write_only"`` under asyncio.

A dynamic relationship is a legacy ``Query``; an AsyncSession runs it only through
``run_sync``. Its native asyncio form is a write-only collection, read with
``select()`` statements. The rewrite is all or nothing per relationship name (use sites
are found by attribute name, as the rest of the tool finds dynamic chains), so every use
of the name in the project must be one the ``dynamic-write-only`` pass rewrites:

- a chain ``obj.rel.filter(...)....all()/first()/one()/one_or_none()/count()`` or a loop
  over ``obj.rel...``, in a function that is async after the migration;
- ``obj.rel.append(x)`` / ``.remove(x)`` / ``.extend(xs)``;
- class-level expressions ``Model.rel`` (``.any()``, ``join(Model.rel)``...).

Anything else (templates reading the name, properties, sync code, the collection passed
to other code, assignment, another relationship or attribute of the same name) keeps the
name on the ``run_sync`` route. Deletes: a write-only collection cannot be loaded, so the
unit of work cannot null the children's foreign keys, delete the association rows or
cascade the delete when its owner is deleted. Those are emulated (``passive_deletes=True``
plus explicit statements before each ``session.delete(owner)``) only where every ORM
delete in the project has a known model and sits in async code, and no cascade or
``merge()`` can reach the owner; otherwise the relationship is kept.

The facts are gathered from each file's stage-one output (``collect_dynamic_uses``) and
decided for the whole project between the stages (``plan_write_only``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

import libcst as cst
from libcst.metadata import BaseMetadataProvider, ParentNodeProvider, PositionProvider

from sqla_upgrade.codemods.analysis.async_plan import ScopeTracking
from sqla_upgrade.codemods.analysis.plans import AsyncPlan, WriteOnlyPlan
from sqla_upgrade.codemods.base import ANALYSIS_METADATA, FileState
from sqla_upgrade.codemods.codegen import code_of
from sqla_upgrade.codemods.index.model import ModelFacts, ProjectIndex, RelationshipFacts
from sqla_upgrade.codemods.names import names_in, qualified_names

# Query methods a dynamic chain may use before its terminal; all exist on Select
CHAIN_METHODS = frozenset(
    {"filter", "filter_by", "where", "order_by", "limit", "offset", "distinct", "join", "outerjoin"}
)
TERMINALS = frozenset({"all", "first", "one", "one_or_none", "count"})
MUTATORS = frozenset({"append", "remove", "extend"})
RELATIONSHIP_CALLS = frozenset({"relationship", "relation", "dynamic_loader"})
BACKREF_CALLS = frozenset({"backref"})


@dataclass
class DeleteSite:
    where: str  # path:line
    model: str | None  # the deleted object's model, when known
    rewritable: bool  # a plain statement in a function, where deletes can be inserted
    method: str = "delete"
    function: str | None = None


@dataclass
class Cascade:
    """The ``cascade=`` of one relationship (or of the backref it declares)."""

    owner: str  # the model declaring it
    name: str
    is_backref: bool
    cascade: str | None  # None: the default; "?" when not a literal
    dynamic_loader: bool = False
    viewonly: bool = False  # takes no part in flushes, deletes included


@dataclass
class DynamicUseFacts:
    #: relationship name → places where it is used in a way the rewrite does not handle
    blockers: dict[str, list[str]] = field(default_factory=dict)
    #: relationship name → functions that read it (these must be async)
    readers: dict[str, set[str]] = field(default_factory=dict)
    deletes: list[DeleteSite] = field(default_factory=list)
    cascades: list[Cascade] = field(default_factory=list)


def write_only_plan(state: FileState) -> WriteOnlyPlan:
    """The project's plan; an empty one when the ``await`` pass, which makes the reading
    functions async (and awaits their callers), is not part of the run."""
    plan = getattr(state.index, "write_only_plan", None)
    options = state.options
    awaited = (not options.only or "await" in options.only) and "await" not in options.skip
    return plan if isinstance(plan, WriteOnlyPlan) and awaited else WriteOnlyPlan()


def deletes_children(cascade: str | None) -> bool:
    parts = {p.strip() for p in (cascade or "").split(",")}
    return bool(parts & {"all", "delete", "delete-orphan"})


def chain_root(node: cst.BaseExpression) -> cst.BaseExpression:
    """``user.posts`` for ``user.posts.filter(...).order_by(...)``."""
    while (
        isinstance(node, cst.Call)
        and isinstance(node.func, cst.Attribute)
        and node.func.attr.value in CHAIN_METHODS
    ):
        node = node.func.value
    return node


def relationship_owner(
    node: cst.BaseExpression, names: frozenset[str]
) -> cst.BaseExpression | None:
    """``user`` for ``user.posts`` when ``posts`` is one of ``names``."""
    if not isinstance(node, cst.Attribute) or node.attr.value not in names:
        return None
    return node.value if isinstance(node.value, cst.Name | cst.Attribute) else None


def model_of(transformer: ScopeTracking, node: cst.BaseExpression, function: Any) -> str | None:
    """The model of the object ``node`` names in ``function``: ``self`` in a model's method,
    a parameter annotated with a model, or a local assigned once from ``User(...)``,
    ``session.get(User, pk)`` (``get_one``, ``get_or_404``) or the scalars of a
    ``select(User)`` statement."""
    index = transformer.state.index
    if not isinstance(node, cst.Name) or function is None:
        return None
    klass = transformer.enclosing_class()
    if node.value == "self" and klass in index.models:
        return klass
    for param in function.params.params:
        if param.name.value == node.value:
            if param.annotation is None:
                return None
            return _single_model(transformer, param.annotation.annotation)
    values = _assigned_values(function, node.value)
    if len(values) != 1:
        return None
    return _produced_model(transformer, values[0])


GETTERS = frozenset({"get", "get_one", "get_or_404"})
SCALARS = frozenset({"scalars", "scalar", "first_or_404", "one_or_404"})
ROW_PICKERS = frozenset({"first", "one", "one_or_none", "scalar_one", "scalar_one_or_none"})


def _produced_model(transformer: ScopeTracking, value: cst.BaseExpression) -> str | None:
    """The model of the one object ``value`` evaluates to, for the forms that tell it."""
    while True:
        if isinstance(value, cst.Await):
            value = value.expression
        elif (
            isinstance(value, cst.Call)
            and isinstance(value.func, cst.Attribute)
            and value.func.attr.value in ROW_PICKERS
            and not value.args
        ):
            value = value.func.value
        else:
            break
    if not isinstance(value, cst.Call):
        return None
    name = _call_name(value.func)
    model = _model_named(transformer, value.func)
    if model is not None:
        return model  # the constructor
    first = value.args[0].value if value.args and value.args[0].keyword is None else None
    if first is None:
        return None
    if name in GETTERS:
        return _model_named(transformer, first)
    if name in SCALARS:
        return _selected_model(transformer, first)
    return None


def _selected_model(transformer: ScopeTracking, statement: cst.BaseExpression) -> str | None:
    """``User`` for ``select(User).where(...).order_by(...)``."""
    while isinstance(statement, cst.Call) and isinstance(statement.func, cst.Attribute):
        statement = statement.func.value
    if not isinstance(statement, cst.Call) or len(statement.args) != 1:
        return None
    names = qualified_names(transformer, statement.func)
    if not any(n == "sqlalchemy.select" or n.endswith(".select") for n in names):
        if _call_name(statement.func) != "select":
            return None
    return _model_named(transformer, statement.args[0].value)


def _model_named(transformer: ScopeTracking, node: cst.BaseExpression) -> str | None:
    index = transformer.state.index
    for qualname in qualified_names(transformer, node):
        model = index.model(qualname)
        if model is not None:
            return model.qualname
    return None


def _assigned_values(function: cst.FunctionDef, name: str) -> list[cst.BaseExpression]:
    found: list[cst.BaseExpression] = []
    rebound = [False]

    class Finder(cst.CSTVisitor):
        def visit_Assign(self, node: cst.Assign) -> None:
            for target in node.targets:
                if isinstance(target.target, cst.Name) and target.target.value == name:
                    found.append(node.value)
                elif name in names_in(target.target):
                    rebound[0] = True

        def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
            if isinstance(node.target, cst.Name) and node.target.value == name:
                if node.value is None:
                    return
                found.append(node.value)

        def visit_For(self, node: cst.For) -> None:
            if name in names_in(node.target):
                rebound[0] = True

        def visit_AugAssign(self, node: cst.AugAssign) -> None:
            if name in names_in(node.target):
                rebound[0] = True

        def visit_NamedExpr(self, node: cst.NamedExpr) -> None:
            if name in names_in(node.target):
                rebound[0] = True

        def visit_AsName(self, node: cst.AsName) -> None:
            if name in names_in(node.name):
                rebound[0] = True

        def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
            return node is function

        def visit_ClassDef(self, node: cst.ClassDef) -> bool:
            return False

    function.visit(Finder())
    return [] if rebound[0] else found


def _single_model(transformer: ScopeTracking, node: cst.CSTNode) -> str | None:
    index = transformer.state.index
    models: set[str] = set()

    class Collector(cst.CSTVisitor):
        def visit_Name(self, name: cst.Name) -> None:
            for qualname in qualified_names(transformer, name):
                model = index.model(qualname)
                if model is not None:
                    models.add(model.qualname)

        def visit_SimpleString(self, string: cst.SimpleString) -> None:
            value = string.evaluated_value
            model = index.model_by_short_name(value) if isinstance(value, str) else None
            if model is not None:  # ``user: "User"``
                models.add(model.qualname)

    node.visit(Collector())
    return next(iter(models)) if len(models) == 1 else None


def _call_name(func: cst.BaseExpression) -> str:
    if isinstance(func, cst.Attribute):
        return func.attr.value
    return func.value if isinstance(func, cst.Name) else ""


def _keyword(call: cst.Call, name: str) -> cst.BaseExpression | None:
    return next((a.value for a in call.args if a.keyword and a.keyword.value == name), None)


def _cascade_literal(call: cst.Call) -> str | None:
    value = _keyword(call, "cascade")
    if value is None:
        return None
    if isinstance(value, cst.SimpleString) and isinstance(value.evaluated_value, str):
        return value.evaluated_value
    return "?"


def dynamic_use(
    node: cst.Attribute, parent_of: Callable[[cst.CSTNode], cst.CSTNode | None]
) -> str | None:
    """How ``obj.rel`` (``node``) is used: ``"read"`` (a query chain ending in a terminal,
    or iterated), ``"mutation"`` (``append``/``remove``/``extend``), None for anything else."""
    parent = parent_of(node)
    if isinstance(parent, cst.Attribute) and parent.attr.value in MUTATORS:
        call = parent_of(parent)
        if isinstance(call, cst.Call) and call.func is parent and len(call.args) == 1:
            argument = call.args[0]
            return "mutation" if not argument.star and argument.keyword is None else None
        return None
    current: cst.CSTNode = node
    while True:
        parent = parent_of(current)
        if not isinstance(parent, cst.Attribute) or parent.value is not current:
            break
        call = parent_of(parent)
        if not (isinstance(call, cst.Call) and call.func is parent):
            return None
        if parent.attr.value in TERMINALS:
            return "read" if not call.args else None
        if parent.attr.value not in CHAIN_METHODS:
            return None
        current = call
    holder = parent_of(current)
    if isinstance(holder, cst.For | cst.CompFor) and holder.iter is current:
        return "read"
    if isinstance(holder, cst.Subscript) and holder.value is current and literal_window(holder):
        return "read"
    if (
        isinstance(holder, cst.ComparisonTarget)
        and holder.comparator is current
        and isinstance(holder.operator, cst.In | cst.NotIn)
    ):
        return "read"
    return None


def literal_window(subscript: cst.Subscript) -> tuple[int, int | None] | None:
    """``(offset, limit)`` of ``q[2]`` (limit 1) or ``q[1:3]`` with non-negative literal
    bounds and no step; None otherwise (a negative index loads every row)."""
    if len(subscript.slice) != 1:
        return None
    element = subscript.slice[0].slice
    if isinstance(element, cst.Index):
        value = _non_negative(element.value)
        return None if value is None else (value, 1)
    if not isinstance(element, cst.Slice) or element.step is not None:
        return None
    lower = 0 if element.lower is None else _non_negative(element.lower)
    upper = None if element.upper is None else _non_negative(element.upper)
    if lower is None or (element.upper is not None and upper is None):
        return None
    return lower, None if upper is None else max(upper - lower, 0)


def _non_negative(node: cst.BaseExpression) -> int | None:
    if isinstance(node, cst.Integer):
        value = node.evaluated_value
        return value if isinstance(value, int) and value >= 0 else None
    return None


class DynamicUseCollector(ScopeTracking):
    """Read-only pass: gathers ``DynamicUseFacts`` from a stage-one tree."""

    name = "dynamic-uses"
    METADATA_DEPENDENCIES: ClassVar[tuple[type[BaseMetadataProvider[Any]], ...]] = ANALYSIS_METADATA

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        from sqla_upgrade.codemods.analysis.io_calls import IoDetector

        super().__init__(*args, **kwargs)
        self.facts = DynamicUseFacts()
        self.names = self.state.index.dynamic_relationships()
        self.io = IoDetector(self)
        self.lambdas = 0

    def _where(self, node: cst.CSTNode) -> str:
        line = self.get_metadata(PositionProvider, node).start.line
        return f"{self.state.path}:{line}"

    def _parent(self, node: cst.CSTNode) -> cst.CSTNode | None:
        return self.get_metadata(ParentNodeProvider, node, None)

    def visit_Lambda(self, node: cst.Lambda) -> None:
        self.lambdas += 1

    def leave_Lambda(self, original_node: cst.Lambda, updated_node: cst.Lambda) -> cst.Lambda:
        self.lambdas -= 1
        return updated_node

    # -- uses of a dynamic relationship's name ----------------------------------------------
    def visit_Attribute(self, node: cst.Attribute) -> None:
        name = node.attr.value
        if name not in self.names:
            return
        problem = self._unsupported(node)
        if problem is not None:
            self.facts.blockers.setdefault(name, []).append(f"{problem} at {self._where(node)}")

    def _unsupported(self, node: cst.Attribute) -> str | None:
        if self._is_model_class(node.value):
            return None  # ``User.posts.any(...)``, ``join(User.posts)``: the same on write_only
        if not isinstance(node.value, cst.Name | cst.Attribute):
            return "used on an expression"
        use = dynamic_use(node, self._parent)
        if use == "mutation":
            return None
        if use is None:
            holder = self._parent(node)
            if isinstance(holder, cst.AssignTarget | cst.AugAssign | cst.Del):
                return "assigned"
            return "used as a value (not a query this tool rewrites)"
        if self.lambdas:
            return "read in a lambda"
        function = self.function_qualname()
        if function is None:
            return "read outside a function"
        self.facts.readers.setdefault(node.attr.value, set()).add(function)
        return None

    def _is_model_class(self, node: cst.BaseExpression) -> bool:
        index = self.state.index
        return any(index.model(q) is not None for q in qualified_names(self, node))

    # -- deletes --------------------------------------------------------------------------
    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if isinstance(func, cst.Attribute) and func.attr.value in ("delete", "merge"):
            if len(node.args) == 1 and self.io.is_session(func.value):
                self._delete_site(node, func.attr.value)
        if self._in_model_body() and _call_name(func) in RELATIONSHIP_CALLS:
            self._declaration(node)

    def _delete_site(self, call: cst.Call, method: str) -> None:
        model = model_of(self, call.args[0].value, self.enclosing_function())
        statement = self._parent(call)
        line = self._parent(statement) if statement is not None else None
        plain = (
            isinstance(statement, cst.Expr)
            and statement.value is call
            and isinstance(line, cst.SimpleStatementLine)
            and len(line.body) == 1
        )
        function = self.function_qualname()
        rewritable = plain and not self.lambdas and function is not None
        self.facts.deletes.append(
            DeleteSite(self._where(call), model, rewritable, method, function)
        )

    def _in_model_body(self) -> bool:
        return (
            self.enclosing_function() is None and self.enclosing_class() in self.state.index.models
        )

    def _declaration(self, call: cst.Call) -> None:
        statement = self._parent(call)
        target = None
        if isinstance(statement, cst.Assign) and len(statement.targets) == 1:
            target = statement.targets[0].target
        elif isinstance(statement, cst.AnnAssign):
            target = statement.target
        if not isinstance(target, cst.Name):
            return
        owner = self.enclosing_class() or ""
        loader = _call_name(call.func) == "dynamic_loader"
        viewonly = _keyword(call, "viewonly")
        self.facts.cascades.append(
            Cascade(
                owner,
                target.value,
                False,
                _cascade_literal(call),
                loader,
                isinstance(viewonly, cst.Name) and viewonly.value == "True",
            )
        )
        backref = _keyword(call, "backref")
        if isinstance(backref, cst.Call) and _call_name(backref.func) in BACKREF_CALLS:
            name = backref.args[0].value if backref.args else None
            if isinstance(name, cst.SimpleString) and isinstance(name.evaluated_value, str):
                self.facts.cascades.append(
                    Cascade(owner, name.evaluated_value, True, _cascade_literal(backref))
                )


def collect_dynamic_uses(wrapper: Any, state: FileState) -> DynamicUseFacts | None:
    """The facts of one stage-one tree; None when the project has no dynamic relationship
    or the file cannot hold any of them."""
    from libcst.codemod import CodemodContext

    names = state.index.dynamic_relationships()
    if not names:
        return None
    code = code_of(wrapper.module)
    if not any(n in code for n in (*names, *RELATIONSHIP_CALLS)):
        return None
    context = CodemodContext(filename=state.path, full_module_name=state.module_name)
    collector = DynamicUseCollector(context, state)
    collector.run_with(wrapper)
    return collector.facts


# -- the project-wide decision ----------------------------------------------------------------
@dataclass
class _Dynamic:
    owner: ModelFacts
    name: str
    relationship: RelationshipFacts
    is_backref: bool
    declaring: str  # the model whose class body declares it (a backref: the other side)


def plan_write_only(
    index: ProjectIndex,
    all_facts: list[DynamicUseFacts],
    async_plan: AsyncPlan,
    unread: list[str] | None = None,
) -> WriteOnlyPlan:
    """``unread``: files of the run that could not be analysed (their uses are unknown)."""
    dynamics, kept = _dynamic_relationships(index)
    if not dynamics:
        return WriteOnlyPlan()
    if unread:
        reason = f"{unread[0]} could not be analysed"
        return WriteOnlyPlan(frozenset(), {name: reason for name in dynamics})
    for name in async_plan.template_reads & dynamics.keys():
        kept.setdefault(name, "read by a template")
    cascades = {(c.owner, c.name, c.is_backref): c for f in all_facts for c in f.cascades}
    for facts in all_facts:
        for name, places in facts.blockers.items():
            kept.setdefault(name, places[0])
        for name, functions in facts.readers.items():
            for function in sorted(functions):
                if not async_plan.is_async(function) and not _already_async(index, function):
                    kept.setdefault(name, f"read in {function}(), which stays synchronous")
    blocked_models = _blocked_models(index, all_facts, cascades, async_plan)
    for name, relationships in dynamics.items():
        for dynamic in relationships:
            cascade = cascades.get((dynamic.declaring, name, dynamic.is_backref))
            if cascade is not None and cascade.dynamic_loader:
                kept.setdefault(name, "declared with dynamic_loader()")
            elif cascade is None or cascade.cascade == "?":
                kept.setdefault(name, "its declaration (cascade) could not be read")
            owner_blocked = blocked_models.get(dynamic.owner.qualname)
            if owner_blocked is not None:
                kept.setdefault(name, owner_blocked)
    names = frozenset(dynamics.keys() - kept.keys())
    return WriteOnlyPlan(names, kept, _pre_deletes(dynamics, names, cascades, all_facts))


def _already_async(index: ProjectIndex, function: str) -> bool:
    facts = index.functions.get(function)
    return facts is not None and facts.is_async


def _dynamic_relationships(index: ProjectIndex) -> tuple[dict[str, list[_Dynamic]], dict[str, str]]:
    """Dynamic relationships by name, and the names that are also something else."""
    dynamics: dict[str, list[_Dynamic]] = {}
    kept: dict[str, str] = {}
    for model in index.models.values():
        for name, relationship in model.relationships.items():
            if relationship.lazy == "dynamic":
                entry = _Dynamic(model, name, relationship, False, model.qualname)
                dynamics.setdefault(name, []).append(entry)
            else:
                kept[name] = f"{model.qualname}.{name} is not lazy='dynamic'"
            if relationship.backref:
                target = index.relationship_target(model, relationship)
                if relationship.backref_lazy == "dynamic" and target is not None:
                    entry = _Dynamic(
                        target, relationship.backref, relationship, True, model.qualname
                    )
                    dynamics.setdefault(relationship.backref, []).append(entry)
                elif relationship.backref_lazy == "dynamic":
                    kept[relationship.backref] = (
                        f"the model of backref {relationship.backref!r} is unknown"
                    )
                else:
                    kept[relationship.backref] = (
                        f"backref {relationship.backref!r} is not lazy='dynamic'"
                    )
    return {n: d for n, d in dynamics.items()}, {n: r for n, r in kept.items() if n in dynamics}


def _blocked_models(
    index: ProjectIndex,
    all_facts: list[DynamicUseFacts],
    cascades: dict[tuple[str, str, bool], Cascade],
    async_plan: AsyncPlan,
) -> dict[str, str]:
    """Models whose write-only collections could not keep what deleting them did."""
    blocked: dict[str, str] = {}
    everything = "*"
    for facts in all_facts:
        for site in facts.deletes:
            key = site.model or everything
            if site.method == "merge":
                blocked.setdefault(key, f"session.merge() at {site.where}")
            elif site.model is None:
                blocked.setdefault(
                    key, f"session.delete() of an object of unknown model at {site.where}"
                )
            elif not site.rewritable:
                blocked.setdefault(
                    key, f"session.delete() not on a line of its own at {site.where}"
                )
            else:
                function = site.function
                if not async_plan.is_async(function) and not _already_async(index, function or ""):
                    blocked.setdefault(key, f"session.delete() in synchronous code at {site.where}")
    for model in index.models.values():
        for name, relationship in model.relationships.items():
            target = index.relationship_target(model, relationship)
            forward = cascades.get((model.qualname, name, False))
            if forward is None:  # declared in a way the collector did not read
                forward = Cascade(model.qualname, name, False, "?")
            if target is None and (forward.cascade == "?" or deletes_children(forward.cascade)):
                blocked.setdefault(
                    everything, f"the target of {model.qualname}.{name}, which cascades, is unknown"
                )
            if deletes_children(forward.cascade) and target is not None:
                blocked.setdefault(
                    target.qualname, f"deleted by the cascade of {model.qualname}.{name}"
                )
            if forward.cascade == "?" and target is not None:
                blocked.setdefault(
                    target.qualname, f"the cascade of {model.qualname}.{name} is unknown"
                )
            backward = cascades.get((model.qualname, relationship.backref or "", True))
            if backward is not None and deletes_children(backward.cascade):
                blocked.setdefault(
                    model.qualname, f"deleted by the cascade of backref {relationship.backref!r}"
                )
        for base in model.bases:
            parent = index.model(base)
            if parent is not None:
                blocked.setdefault(parent.qualname, f"has the mapped subclass {model.qualname}")
                blocked.setdefault(model.qualname, f"inherits the mapped class {parent.qualname}")
    if everything in blocked:
        return {m: blocked[everything] for m in index.models} | blocked
    return blocked


def _pre_deletes(
    dynamics: dict[str, list[_Dynamic]],
    names: frozenset[str],
    cascades: dict[tuple[str, str, bool], Cascade],
    all_facts: list[DynamicUseFacts],
) -> dict[str, list[tuple[str, bool]]]:
    deleted = {s.model for f in all_facts for s in f.deletes if s.model}
    pre: dict[str, list[tuple[str, bool]]] = {}
    for name in sorted(names):
        for dynamic in dynamics[name]:
            if dynamic.owner.qualname not in deleted:
                continue
            cascade = cascades.get((dynamic.declaring, name, dynamic.is_backref))
            if cascade is not None and cascade.viewonly:
                continue
            children = deletes_children(cascade.cascade if cascade else None)
            pre.setdefault(dynamic.owner.qualname, []).append((name, children))
    return pre
