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

from collections.abc import Callable, Collection, Iterator, Mapping
from typing import Any

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


def parents_of(module: cst.Module) -> dict[cst.CSTNode, cst.CSTNode]:
    """Every node of ``module`` but the module itself, mapped to the node holding it."""
    parents: dict[cst.CSTNode, cst.CSTNode] = {}
    pending: list[cst.CSTNode] = [module]
    while pending:
        node = pending.pop()
        found = child_nodes(node)
        for child in found:
            parents[child] = node
        pending += found
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


def expression_contexts(module: cst.Module) -> dict[cst.CSTNode, ExpressionContext]:
    """What ``ExpressionContextProvider`` gives for ``module``: names, attributes,
    subscripts, tuples, lists and starred elements mapped to load, store or del."""
    contexts: dict[cst.CSTNode, ExpressionContext] = {}
    pending: _Pending = [(module, _LOAD)]
    parts_of = _PARTS
    while pending:
        node, context = pending.pop()
        if node is None:
            continue
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


class _LazyMapping(Mapping[cst.CSTNode, Any]):
    """A node mapping computed in full on first use."""

    def __init__(self, compute: Callable[[], Mapping[cst.CSTNode, Any]]) -> None:
        self._compute: Callable[[], Mapping[cst.CSTNode, Any]] | None = compute
        self._values: Mapping[cst.CSTNode, Any] = {}

    def _mapping(self) -> Mapping[cst.CSTNode, Any]:
        if self._compute is not None:
            self._values = self._compute()
            self._compute = None
        return self._values

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


class _QualifiedNames(Mapping[cst.CSTNode, Collection[QualifiedName]]):
    """``QualifiedNameProvider``'s mapping, each node's names computed when first asked."""

    def __init__(self, wrapper: MetadataWrapper, parents: Mapping[cst.CSTNode, cst.CSTNode]):
        self._wrapper = wrapper
        self._parents = parents
        self._scopes: Mapping[cst.CSTNode, Any] | None = None
        self._names: dict[cst.CSTNode, Collection[QualifiedName]] = {}

    def _holds(self, node: object) -> bool:
        return node is self._wrapper.module or node in self._parents

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


def _scopes(wrapper: MetadataWrapper, code: bytes | None = None) -> Mapping[cst.CSTNode, Any]:
    """``ScopeProvider``'s mapping: its scope visitor run straight over the module (libcst
    runs it from inside a batched visit of the whole module that does nothing else);
    ``code``: the module's code, when known."""
    provider = ScopeProvider()
    with provider.resolve(wrapper), fast_visits():
        visitor = _ScopeVisitor(provider, code) if _ASSIGNMENT_LIKE else ScopeVisitor(provider)
        wrapper.module.visit(visitor)
        visitor.infer_accesses()
    return provider._computed


def new_wrapper(module: cst.Module, code: bytes | None = None) -> MetadataWrapper:
    """A wrapper over ``module`` itself (no copy) whose parents and qualified names are
    the cheap, lazy equivalents above (``code``: the module's code, when known)."""
    wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
    parents = _LazyMapping(lambda: parents_of(module))
    wrapper._metadata[ParentNodeProvider] = parents
    wrapper._metadata[ExpressionContextProvider] = _LazyMapping(lambda: expression_contexts(module))
    wrapper._metadata[ScopeProvider] = _LazyMapping(lambda: _scopes(wrapper, code))
    wrapper._metadata[PositionProvider] = _LazyMapping(lambda: positions_of(module))
    wrapper._metadata[QualifiedNameProvider] = _QualifiedNames(wrapper, parents)
    return wrapper


ProviderType = type[BaseMetadataProvider[Any]]


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
