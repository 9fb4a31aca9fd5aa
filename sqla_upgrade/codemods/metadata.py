"""libcst metadata at a fraction of its usual cost, with the same answers.

Resolving ``ParentNodeProvider``, ``PositionProvider``, ``ScopeProvider`` and
``QualifiedNameProvider`` the usual way walks the whole tree once per provider, eagerly,
for every pass that runs: about nine times libcst's own parse + code generation of the
file. Here:

* every provider a pass declares is resolved only when the pass first asks for it, so a
  pass that finds nothing to look at in a file costs one plain traversal;
* parents come from one walk over the nodes' fields (a dozen times faster than
  ``ParentNodeProvider``'s visitor, which rebuilds every node to list its children);
* expression contexts (load, store, del), which scope analysis needs, come from one walk
  over the nodes' fields following ``ExpressionContextProvider``'s rules;
* qualified names are computed per node on first request from the node's scope, as
  ``QualifiedNameProvider`` does for each node it visits, without visiting them all;
* scopes come from libcst's own scope visitor, run straight over the module (not from
  inside a batched visit of the whole module) and walked without rebuilding the tree
  (``codemods/traversal.py``);
* positions come from libcst's position-tracking code generation with less overhead per
  token and node (``codemods/positions.py``).

The mappings answer exactly what the libcst providers would: same keys, same values.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Collection, Iterator, Mapping
from typing import Any, TypeVar

import libcst as cst
from libcst.metadata import (
    BaseMetadataProvider,
    ExpressionContext,
    ExpressionContextProvider,
    MetadataWrapper,
    ParentNodeProvider,
    PositionProvider,
    QualifiedName,
    QualifiedNameProvider,
    ScopeProvider,
    scope_provider,
)
from libcst.metadata.scope_provider import ScopeVisitor

from sqla_upgrade.codemods.positions import positions_of
from sqla_upgrade.codemods.traversal import child_nodes, fast_visits, handler_name


def parents_of(
    module: cst.Module, known: Mapping[cst.CSTNode, cst.CSTNode] | None = None
) -> dict[cst.CSTNode, cst.CSTNode]:
    """Every node of ``module`` but the module itself, mapped to the node holding it.

    ``known``: the parents of an earlier version of the tree (before a pass changed it).
    Nodes are immutable, so a node already there holds the same subtree as then, whose
    parents are known: only the nodes the pass made are walked. (The result then also
    maps the nodes the pass dropped: ``_Parents`` answers only for those in the tree.)"""
    parents: dict[cst.CSTNode, cst.CSTNode] = {} if known is None else dict(known)
    pending: list[cst.CSTNode] = [module]
    while pending:
        node = pending.pop()
        found = child_nodes(node)
        for child in found:
            parents[child] = node
        if known is None:
            pending += found
        else:
            pending += [child for child in found if child not in known]
    return parents


_LOAD, _STORE, _DEL = ExpressionContext.LOAD, ExpressionContext.STORE, ExpressionContext.DEL
_Pending = list[tuple[Any, ExpressionContext]]


def _assign(node: Any, context: ExpressionContext) -> _Pending:
    return [*((target, _STORE) for target in node.targets), (node.value, context)]


def _rebind(node: Any, context: ExpressionContext) -> _Pending:  # x += 1, (x := 1)
    return [(node.target, _STORE), (node.value, context)]


def _annotated(node: Any, context: ExpressionContext) -> _Pending:
    return [(node.target, _STORE), (node.annotation, context), (node.value, context)]


def _as_name(node: Any, context: ExpressionContext) -> _Pending:
    return [(node.name, _STORE)]


def _comp_for(node: Any, context: ExpressionContext) -> _Pending:
    parts = [(node.target, _STORE), (node.iter, context)]
    return [*parts, *((c, context) for c in node.ifs), (node.inner_for_in, context)]


def _for(node: Any, context: ExpressionContext) -> _Pending:
    parts = [(node.target, _STORE), (node.iter, context), (node.body, context)]
    return [*parts, (node.orelse, context)]


def _del(node: Any, context: ExpressionContext) -> _Pending:
    return [(node.target, _DEL)]


def _param(node: Any, context: ExpressionContext) -> _Pending:
    return [(node.name, _STORE), (node.annotation, context), (node.default, context)]


def _class(node: Any, context: ExpressionContext) -> _Pending:  # type parameters: none
    parts = (*node.bases, *node.keywords, *node.decorators)
    return [(node.name, _STORE), (node.body, context), *((p, context) for p in parts)]


def _function(node: Any, context: ExpressionContext) -> _Pending:  # type parameters: none
    parts = [(node.name, _STORE), (node.params, context), (node.body, context)]
    return [*parts, *((d, context) for d in node.decorators), (node.returns, context)]


def _attribute(node: Any, context: ExpressionContext) -> _Pending:  # its own name: none
    return [(node.value, _LOAD)]


def _subscript(node: Any, context: ExpressionContext) -> _Pending:
    return [(node.value, _LOAD), *((element, _LOAD) for element in node.slice)]


#: the node types ``ExpressionContextProvider`` treats specially: what to visit next, with
#: which context; the others pass their own context to all their children
_PARTS: dict[type, Callable[[Any, ExpressionContext], _Pending]] = {
    cst.Assign: _assign,
    cst.AugAssign: _rebind,
    cst.NamedExpr: _rebind,
    cst.AnnAssign: _annotated,
    cst.AsName: _as_name,
    cst.CompFor: _comp_for,
    cst.For: _for,
    cst.Del: _del,
    cst.Param: _param,
    cst.ClassDef: _class,
    cst.FunctionDef: _function,
    cst.Attribute: _attribute,
    cst.Subscript: _subscript,
}
_GIVEN_CONTEXT = (cst.Name, cst.Attribute, cst.Subscript, cst.Tuple, cst.List, cst.StarredElement)


class Contexts(dict[cst.CSTNode, ExpressionContext]):
    """Expression contexts, and the context each node of the tree was reached with."""

    def __init__(self, known: Contexts | None = None) -> None:
        super().__init__(known or {})
        self.reached: dict[cst.CSTNode, ExpressionContext] = (
            {} if known is None else dict(known.reached)
        )


def expression_contexts(module: cst.Module, known: Contexts | None = None) -> Contexts:
    """What ``ExpressionContextProvider`` gives for ``module``: names, attributes,
    subscripts, tuples, lists and starred elements mapped to load, store or del.

    ``known``: the contexts of an earlier version of the tree. A node that was there
    and is reached with the same context as then holds the same contexts below it, so
    only the nodes a pass made (or moved to another context) are walked."""
    contexts = Contexts(known)
    reached = contexts.reached
    seen = known.reached if known is not None else None
    pending: _Pending = [(module, _LOAD)]
    parts_of = _PARTS
    while pending:
        node, context = pending.pop()
        if node is None:
            continue
        if seen is not None and seen.get(node) is context:
            continue
        reached[node] = context
        kind = type(node)
        if kind in _GIVEN_CONTEXT:
            contexts[node] = context
            if kind is cst.Name:
                continue
        parts = parts_of.get(kind)
        if parts is not None:
            pending += parts(node, context)
        else:
            pending += [(child, context) for child in child_nodes(node)]
    return contexts


ProviderType = type[BaseMetadataProvider[Any]]


class _LazyMapping(Mapping[cst.CSTNode, Any]):
    """A node mapping computed in full on first use."""

    def __init__(
        self,
        compute: Callable[[], Mapping[cst.CSTNode, Any]],
        basis: Mapping[cst.CSTNode, Any] | None = None,
    ) -> None:
        self._compute: Callable[[], Mapping[cst.CSTNode, Any]] | None = compute
        self._values: Mapping[cst.CSTNode, Any] = {}
        #: the mapping of an earlier version of the tree it is to be updated from
        self.basis = basis

    def _mapping(self) -> Mapping[cst.CSTNode, Any]:
        if self._compute is not None:
            self._values = self._compute()
            self._compute = None
            self.basis = None
        return self._values

    @property
    def latest(self) -> Mapping[cst.CSTNode, Any] | None:
        """The mapping when computed, else the one it would be updated from."""
        return self._values if self._compute is None else self.basis

    @property
    def computed(self) -> bool:
        return self._compute is None

    def __getitem__(self, node: cst.CSTNode) -> Any:
        return self._mapping()[node]

    def get(self, node: cst.CSTNode, default: Any = None) -> Any:
        return self._mapping().get(node, default)

    def __contains__(self, node: object) -> bool:
        return node in self._mapping()

    def __iter__(self) -> Iterator[cst.CSTNode]:
        return iter(self._mapping())

    def __len__(self) -> int:
        return len(self._mapping())


class _Parents(_LazyMapping):
    """``ParentNodeProvider``'s mapping, computed on first use, or updated from the one of
    the tree a pass changed into this one (``basis``). An updated mapping also holds the
    nodes the pass dropped, which no pass asks about (a pass sees only its input tree),
    but is iterated, as a walk of the tree would list them, over the tree's nodes only."""

    def __init__(self, module: cst.Module, basis: Mapping[cst.CSTNode, Any] | None) -> None:
        super().__init__(lambda: _updated(parents_of, module, basis), basis)
        self._module = module
        self._updated = basis is not None
        self._in_tree: Mapping[cst.CSTNode, Any] | None = None

    def holds(self, node: object) -> bool:
        """Is ``node`` in the tree (the module included)? (For an updated mapping: or
        one the pass dropped.)"""
        return node is self._module or node in self._mapping()

    def _listed(self) -> Mapping[cst.CSTNode, Any]:
        if not self._updated:
            return self._mapping()
        if self._in_tree is None:
            self._in_tree = parents_of(self._module)
        return self._in_tree

    def __iter__(self) -> Iterator[cst.CSTNode]:
        return iter(self._listed())

    def __len__(self) -> int:
        return len(self._listed())


class _QualifiedNames(Mapping[cst.CSTNode, Collection[QualifiedName]]):
    """``QualifiedNameProvider``'s mapping, each node's names computed when first asked."""

    def __init__(self, wrapper: MetadataWrapper, parents: _Parents):
        self._wrapper = wrapper
        self._parents = parents
        self._scopes: Mapping[cst.CSTNode, Any] | None = None
        self._names: dict[cst.CSTNode, Collection[QualifiedName]] = {}

    def _holds(self, node: object) -> bool:
        return self._parents.holds(node)

    def __getitem__(self, node: cst.CSTNode) -> Collection[QualifiedName]:
        names = self._names.get(node)
        if names is not None:
            return names
        if not self._holds(node):
            raise KeyError(node)
        if self._scopes is None:
            self._scopes = self._wrapper.resolve(ScopeProvider)
        scope = self._scopes.get(node)
        names = scope.get_qualified_names_for(node) if scope else set()
        self._names[node] = names
        return names

    def get(self, node: cst.CSTNode, default: Any = None) -> Any:
        names = self._names.get(node)
        if names is not None:
            return names
        return self[node] if self._holds(node) else default

    def __contains__(self, node: object) -> bool:
        return self._holds(node)

    def __iter__(self) -> Iterator[cst.CSTNode]:
        yield self._wrapper.module
        yield from self._parents

    def __len__(self) -> int:
        return len(self._parents) + 1


_ASSIGNMENT_LIKE: tuple[type, ...] | None = getattr(scope_provider, "_ASSIGNMENT_LIKE_NODES", None)
_COUNTS_ASSIGNMENT: dict[type, bool] = {}


#: the stacks libcst's scope visitor keeps of calls and subscripts (its private names)
_TOP_ATTRIBUTES, _IN_TYPE_HINT = (
    "_ScopeVisitor__top_level_attribute_stack",
    "_ScopeVisitor__in_type_hint_stack",
)


def _keeps_stacks() -> bool:
    visitor = ScopeVisitor(ScopeProvider())
    return all(
        isinstance(getattr(visitor, name, None), list) for name in (_TOP_ATTRIBUTES, _IN_TYPE_HINT)
    )


_KNOWN_STACKS = _keeps_stacks()


class _ScopeVisitor(ScopeVisitor):
    """libcst's scope visitor with its per-node check for assignment-like nodes made by
    node type (an ``isinstance`` against 18 abstract classes per node, otherwise).

    Given the module's code, it also skips what cannot find anything there: libcst looks
    up the qualified names of every call and every ``name[...]`` for ``typing.cast``,
    ``typing.TypeVar``, ``typing.Literal`` and the like (where strings are annotations),
    and no name can resolve to ``typing.``/``typing_extensions.`` in code that does not
    spell ``typing``."""

    def __init__(self, provider: ScopeProvider, code: bytes | None = None) -> None:
        super().__init__(provider)
        self._computed = provider._computed
        self._may_name_typing = not _KNOWN_STACKS or code is None or b"typing" in code

    def visit_Call(self, node: cst.Call) -> bool | None:
        if self._may_name_typing:
            return super().visit_Call(node)
        getattr(self, _TOP_ATTRIBUTES).append(None)
        getattr(self, _IN_TYPE_HINT).append(False)
        return True

    def visit_Subscript(self, node: cst.Subscript) -> bool | None:
        if self._may_name_typing:
            return super().visit_Subscript(node)
        getattr(self, _IN_TYPE_HINT).append(False)
        return True

    def on_visit(self, node: cst.CSTNode) -> bool:
        # libcst's dispatch to ``visit_<Node>``, without calling its no-op stubs
        name = handler_name(type(self), "visit_", type(node))
        return name is None or getattr(self, name)(node) is not False

    def on_leave(self, original_node: cst.CSTNode) -> None:
        self._computed[original_node] = self.scope  # what provider.set_metadata does
        kind = type(original_node)
        counts = _COUNTS_ASSIGNMENT.get(kind)
        if counts is None:
            counts = _COUNTS_ASSIGNMENT[kind] = issubclass(kind, _ASSIGNMENT_LIKE or ())
        if counts:
            self.scope._assignment_count += 1
        name = handler_name(type(self), "leave_", kind)
        if name is not None:
            getattr(self, name)(original_node)


def _read_contexts_directly(provider: ScopeProvider) -> None:
    """The scope visitor asks for the expression context of every name through the
    provider's generic metadata look-up (dependency checks, a lazy-value check): a
    third of its time. Answer those from the contexts' dict itself (same values: plain
    ``ExpressionContext`` members, never lazy)."""
    found = provider.metadata.get(ExpressionContextProvider)
    if not isinstance(found, _LazyMapping):
        return
    contexts_get = found._mapping().get
    generic = provider.get_metadata

    def get_metadata(key: Any, node: cst.CSTNode, default: Any = _NO_DEFAULT) -> Any:
        if key is ExpressionContextProvider and default is None:
            return contexts_get(node)
        if default is _NO_DEFAULT:
            return generic(key, node)
        return generic(key, node, default)

    provider.get_metadata = get_metadata  # type: ignore[method-assign]


_NO_DEFAULT = object()


def _scopes(wrapper: MetadataWrapper, code: bytes | None = None) -> Mapping[cst.CSTNode, Any]:
    """``ScopeProvider``'s mapping: its scope visitor run straight over the module (libcst
    runs it from inside a batched visit of the whole module that does nothing else);
    ``code``: the module's code, when known."""
    provider = ScopeProvider()
    with provider.resolve(wrapper), fast_visits():
        _read_contexts_directly(provider)
        visitor = _ScopeVisitor(provider, code) if _ASSIGNMENT_LIKE else ScopeVisitor(provider)
        wrapper.module.visit(visitor)
        visitor.infer_accesses()
    return provider._computed


#: ``SQLA_UPGRADE_CHECK_PREFILTERS=1`` (the development check of shortcuts) also compares
#: every updated mapping with one computed from scratch
CHECK_UPDATES = os.environ.get("SQLA_UPGRADE_CHECK_PREFILTERS") == "1"
_Mapping = TypeVar("_Mapping", bound=Mapping[cst.CSTNode, Any])


def _updated(
    compute: Callable[[cst.Module, _Mapping | None], _Mapping],
    module: cst.Module,
    known: _Mapping | None,
) -> _Mapping:
    updated = compute(module, known)
    if CHECK_UPDATES and known is not None:
        fresh = compute(module, None)
        shared = shared_nodes(module)  # held in two places: their parent is either one
        wrong = [
            node
            for node, value in fresh.items()
            if updated.get(node) is not value and node not in shared
        ]
        if wrong:
            raise AssertionError(f"{compute.__name__} updated wrongly: {wrong[0]!r:.200}")
    return updated


def shared_nodes(module: cst.Module) -> set[cst.CSTNode]:
    """The nodes found in more than one place of the tree (passes reuse whitespace)."""
    seen: set[cst.CSTNode] = set()
    shared: set[cst.CSTNode] = set()
    pending: list[cst.CSTNode] = [module]
    while pending:
        node = pending.pop()
        for child in child_nodes(node):
            if child in seen:
                shared.add(child)
            else:
                seen.add(child)
                pending.append(child)
    return shared


def _latest(wrapper: MetadataWrapper | None, provider: ProviderType) -> Any:
    """What ``wrapper`` computed for ``provider``, or would have updated it from (still
    right for every node it maps: a tree's nodes never change)."""
    found = wrapper._metadata.get(provider) if wrapper is not None else None
    return found.latest if isinstance(found, _LazyMapping) else None


def new_wrapper(
    module: cst.Module, code: bytes | None = None, previous: MetadataWrapper | None = None
) -> MetadataWrapper:
    """A wrapper over ``module`` itself (no copy) whose parents and qualified names are
    the cheap, lazy equivalents above (``code``: the module's code, when known).
    ``previous``: a wrapper over the tree a pass changed into ``module``, whose parents
    and expression contexts, when computed, are updated rather than computed again."""
    wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
    known_parents = _latest(previous, ParentNodeProvider)
    known_contexts = _latest(previous, ExpressionContextProvider)
    if not isinstance(known_contexts, Contexts):
        known_contexts = None
    parents = _Parents(module, known_parents)
    wrapper._metadata[ParentNodeProvider] = parents
    wrapper._metadata[ExpressionContextProvider] = _LazyMapping(
        lambda: _updated(expression_contexts, module, known_contexts), known_contexts
    )
    wrapper._metadata[ScopeProvider] = _LazyMapping(lambda: _scopes(wrapper, code))
    wrapper._metadata[PositionProvider] = _LazyMapping(lambda: positions_of(module))
    wrapper._metadata[QualifiedNameProvider] = _QualifiedNames(wrapper, parents)
    return wrapper


class LazyMetadata(Mapping[ProviderType, Mapping[cst.CSTNode, Any]]):
    """What a pass sees as ``self.metadata``: each declared provider resolved on
    ``wrapper`` when first asked for."""

    def __init__(self, wrapper: MetadataWrapper, providers: Collection[ProviderType]) -> None:
        self._wrapper = wrapper
        self._providers = frozenset(providers)

    def __getitem__(self, provider: ProviderType) -> Mapping[cst.CSTNode, Any]:
        if provider not in self._providers:
            raise KeyError(provider)
        return self._wrapper.resolve(provider)

    def __contains__(self, provider: object) -> bool:
        return provider in self._providers

    def __iter__(self) -> Iterator[ProviderType]:
        return iter(self._providers)

    def __len__(self) -> int:
        return len(self._providers)
