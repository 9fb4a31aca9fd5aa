"""Visits of libcst trees that do not rebuild what they do not change.

libcst's ``CSTNode.visit`` rebuilds every node it passes: for a read-only ``CSTVisitor``,
whose result is the original node anyway (libcst marks it as a to-do: "provide traversal
where children are not replaced"), and for a transformer, even where nothing below the
node changed. Scope analysis visits each module twice that way, every pass once. Inside
``fast_visits()``:

* a ``CSTVisitor`` is walked over the node's fields: the same callbacks (``on_visit``,
  ``on_visit_attribute``, ``on_leave_attribute``, ``on_leave``), in the same order, for the
  same nodes, and nothing is rebuilt;
* a transformer gets the same callbacks in the same order, with the same handling of
  removals and flattening as libcst's visit helpers, but a node none of whose children
  changed is handed to ``on_leave`` as it is (``updated_node is original_node``); a node
  with changed children is rebuilt with ``dataclasses.replace``, which runs the same
  validation as libcst's rebuild. Node types whose ``_visit_and_replace_children`` is not
  the plain form (a few pick fields by their values) are visited by libcst's own code;
* field callbacks (``on_visit_attribute``/``on_leave_attribute``) are skipped for fields
  with no ``visit_<Node>_<field>``/``leave_<Node>_<field>`` hook when the visitor's field
  callbacks are libcst's defaults, or the visitor says its own dispatch only by name
  (``field_hooks_by_name``, as the passes do); libcst's default callbacks then only call
  its no-op stubs;
* a visitor or transformer whose callbacks are libcst's own (which only call its
  ``visit_<Node>``/``leave_<Node>`` handlers and field hooks), or that says it may
  (``skips_unhandled_subtrees``, as the passes do), is not taken into a subtree that
  holds no node of a type it handles: no handler could be called there, and the subtree
  is kept as it is. Which node types a subtree holds is computed once per
  node and kept while the ``fast_visits()`` block lasts (unchanged subtrees are shared by
  the trees the passes make one after the other).

The order of a node type's fields is libcst's own: it is recorded, once per type, by
running the type's ``_visit_and_replace_children`` with a visitor that notes the field
names and does not descend; how each field is visited is read from that method's source.
``tests/test_traversal.py`` checks callbacks, output and errors against libcst's visit,
on the tool's own source and on the test corpora.
"""

from __future__ import annotations

import ast
import dataclasses
import inspect
import textwrap
import weakref
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, Literal

import libcst as cst
from libcst._nodes.base import CSTNode

_libcst_visit = CSTNode.visit
_NO_VALUE = cst.MaybeSentinel.DEFAULT

#: node type -> the fields its ``_visit_and_replace_children`` visits, in that order (types
#: that always visit the same fields)
_FIELD_ORDER: dict[type, tuple[str, ...]] = {}
#: node types whose visited fields depend on the fields' values, and their orders by the
#: types of the values
_CONDITIONAL: set[type] = set()
_CONDITIONAL_ORDER: dict[tuple[type, ...], tuple[str, ...]] = {}
_FIELD_NAMES: dict[type, tuple[str, ...]] = {}
_FieldHooks = Mapping[str, Collection[str]]
#: hooks called by name -> visitor type -> node type name -> fields with
#: ``visit_<Node>_<field>`` or ``leave_<Node>_<field>`` hooks (weakly: a visitor class
#: defined inside a function holds what the function saw)
_FIELD_HOOKS: dict[bool, weakref.WeakKeyDictionary[type, _FieldHooks]] = {
    False: weakref.WeakKeyDictionary(),
    True: weakref.WeakKeyDictionary(),
}


class _FieldRecorder(cst.CSTVisitor):
    """Notes the fields a node's children are visited from, without descending."""

    def __init__(self) -> None:
        super().__init__()
        self.fields: list[str] = []

    def on_visit(self, node: cst.CSTNode) -> bool:
        return False

    def on_visit_attribute(self, node: cst.CSTNode, attribute: str) -> None:
        self.fields.append(attribute)


def _recorded_order(node: cst.CSTNode) -> tuple[str, ...]:
    recorder = _FieldRecorder()
    node._visit_and_replace_children(recorder)
    return tuple(dict.fromkeys(recorder.fields))


def _visits_conditionally(kind: type) -> bool:
    """Does the type's ``_visit_and_replace_children`` skip or pick fields by their
    values (libcst's ``format_spec`` is visited only when it is not None)?"""
    try:
        source = inspect.getsource(kind._visit_and_replace_children)  # type: ignore[attr-defined]
    except (OSError, TypeError):
        return True
    return " if " in source or "\nif " in source or " for " in source


def field_order(node: cst.CSTNode) -> tuple[str, ...]:
    """The fields libcst visits on ``node``, in its order."""
    kind = type(node)
    order = _FIELD_ORDER.get(kind)
    if order is not None:
        return order
    if kind not in _CONDITIONAL:
        if not _visits_conditionally(kind):
            order = _FIELD_ORDER[kind] = _recorded_order(node)
            return order
        _CONDITIONAL.add(kind)
    # such a type's order is recorded once per combination of its fields' value types
    key = (kind, *(type(getattr(node, name)) for name in _field_names(kind)))
    order = _CONDITIONAL_ORDER.get(key)
    if order is None:
        order = _CONDITIONAL_ORDER[key] = _recorded_order(node)
    return order


def child_nodes(node: cst.CSTNode) -> list[cst.CSTNode]:
    """The node's children, from the fields libcst visits (the ones that hold nodes)."""
    order = _FIELD_ORDER.get(type(node))
    if order is None:
        order = field_order(node)
    found: list[cst.CSTNode] = []
    for name in order:
        value = getattr(node, name)
        if type(value) is tuple or type(value) is list:
            found += value
        elif value is not None and value is not _NO_VALUE:
            found.append(value)
    return found


def _field_names(kind: type) -> tuple[str, ...]:
    names = _FIELD_NAMES.get(kind)
    if names is None:
        names = _FIELD_NAMES[kind] = tuple(f.name for f in dataclasses.fields(kind))
    return names


class _AllFields:
    """Stands for every field of every node type (a visitor that overrides
    ``on_visit_attribute`` or ``on_leave_attribute`` is called for each)."""

    def __contains__(self, name: object) -> bool:
        return True

    def get(self, node_type: str, default: object = None) -> _AllFields:
        return self


_ALL_FIELDS = _AllFields()

#: libcst's visitor base classes, whose ``visit_*``/``leave_*`` stubs do nothing
STUB_CLASSES = frozenset((*cst.CSTVisitor.__mro__, *cst.CSTTransformer.__mro__))
_DEFAULT_FIELD_CALLBACKS = {
    cst.CSTVisitor.on_visit_attribute,
    cst.CSTVisitor.on_leave_attribute,
    cst.CSTTransformer.on_visit_attribute,
    cst.CSTTransformer.on_leave_attribute,
}


def _hooked(name: str, value: object) -> tuple[str, str] | None:
    """(node type, field or "") for a ``visit_<Node>[_<field>]``/``leave_...`` handler
    that is not one of libcst's no-op stubs; None for any other attribute."""
    if not name.startswith(("visit_", "leave_")) or getattr(value, "_is_no_op", False):
        return None
    node_type, _, field_name = name[6:].partition("_")
    return (node_type, field_name) if node_type else None


def _add_hook(hooks: dict[str, set[str]], name: str, value: object) -> None:
    hooked = _hooked(name, value)
    if hooked is not None and hooked[1]:
        hooks.setdefault(hooked[0], set()).add(hooked[1])


def _class_field_hooks(kind: type, by_name: bool) -> _FieldHooks:
    known = _FIELD_HOOKS[by_name].get(kind)
    if known is not None:
        return known
    hooks: _FieldHooks
    if not by_name and not (
        kind.on_visit_attribute in _DEFAULT_FIELD_CALLBACKS  # type: ignore[attr-defined]
        and kind.on_leave_attribute in _DEFAULT_FIELD_CALLBACKS  # type: ignore[attr-defined]
    ):
        hooks = _ALL_FIELDS  # type: ignore[assignment]
    else:
        found: dict[str, set[str]] = {}
        for cls in kind.__mro__:
            if cls not in STUB_CLASSES:
                for name, value in vars(cls).items():
                    _add_hook(found, name, value)
        hooks = found
    _FIELD_HOOKS[by_name][kind] = hooks
    return hooks


def _field_hooks(visitor: cst.CSTVisitor | cst.CSTTransformer) -> _FieldHooks | None:
    """node type name -> the fields whose visit or leave hook ``visitor`` defines: libcst's
    default ``on_visit_attribute``/``on_leave_attribute`` only call those (its own stubs
    do nothing), and so do those of a visitor whose ``field_hooks_by_name`` is true."""
    by_name = bool(getattr(visitor, "field_hooks_by_name", False))
    hooks = _class_field_hooks(type(visitor), by_name)
    if any(name.startswith(("visit_", "leave_")) for name in vars(visitor)):
        found = {node_type: set(fields) for node_type, fields in hooks.items()}
        for name, value in vars(visitor).items():
            _add_hook(found, name, value)
        return found
    return hooks or None


def _walk(
    node: cst.CSTNode,
    visitor: cst.CSTVisitor,
    on_visit: Callable[[cst.CSTNode], bool],
    on_leave: Callable[[cst.CSTNode], None],
    field_hooks: _FieldHooks | None,
    handled: int | None = None,
) -> None:
    if handled is not None and not _subtree_types(node) & handled:
        return  # libcst's callbacks would call no handler in this subtree
    if on_visit(node):
        kind = type(node)
        order = _FIELD_ORDER.get(kind)
        if order is None:
            order = field_order(node)
        hooked = field_hooks.get(kind.__name__) if field_hooks is not None else None
        for name in order:
            value = getattr(node, name)
            if hooked is not None and name in hooked:
                visitor.on_visit_attribute(node, name)
            if type(value) is tuple or type(value) is list:
                for item in value:
                    _walk(item, visitor, on_visit, on_leave, field_hooks, handled)
            elif value is not None and value is not _NO_VALUE:
                _walk(value, visitor, on_visit, on_leave, field_hooks, handled)
            if hooked is not None and name in hooked:
                visitor.on_leave_attribute(node, name)
    on_leave(node)


# -- transformers ------------------------------------------------------------------------
_REQUIRED, _OPTIONAL, _SENTINEL, _SEQUENCE, _BODY = range(5)
_HELPERS = {
    "visit_required": _REQUIRED,
    "visit_optional": _OPTIONAL,
    "visit_sentinel": _SENTINEL,
    "visit_sequence": _SEQUENCE,
    "visit_body_sequence": _BODY,
}
#: node type -> (field, how libcst visits it) in libcst's order; None: let libcst rebuild
_PLANS: dict[type, tuple[tuple[str, int], ...] | None] = {}
_NODE, _FLATTEN, _REMOVAL, _INVALID = range(4)
_RESULT_KINDS: dict[type, int] = {}


def _helper_field(keyword: ast.keyword) -> tuple[str, int] | Literal[True] | None:
    """``field=visit_xxx(self, "field", self.field, visitor)`` -> (field, how); True for
    ``field=self.field`` (kept as it is); None for anything else."""
    value = keyword.value
    if ast.unparse(value) == f"self.{keyword.arg}":
        return True
    if not (isinstance(value, ast.Call) and isinstance(value.func, ast.Name)):
        return None
    how = _HELPERS.get(value.func.id)
    expected = ["self", repr(keyword.arg), f"self.{keyword.arg}", "visitor"]
    if how is None or value.keywords or [ast.unparse(a) for a in value.args] != expected:
        return None
    return (keyword.arg, how) if keyword.arg is not None else None


def _read_plan(kind: type) -> tuple[tuple[str, int], ...] | None:
    """How ``kind._visit_and_replace_children`` visits and rebuilds, read from its source
    when it is the plain form (every field either visited by one of libcst's helpers or
    passed on, into a node of the same type); None otherwise."""
    try:
        source = textwrap.dedent(inspect.getsource(kind._visit_and_replace_children))  # type: ignore[attr-defined]
    except (OSError, TypeError):
        return None
    function = ast.parse(source).body[0]
    body = [
        statement
        for statement in getattr(function, "body", [])
        if not (isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant))
    ]
    if len(body) != 1 or not isinstance(body[0], ast.Return):
        return None
    built = body[0].value
    if isinstance(built, ast.Name) and built.id == "self":  # a leaf: nothing to visit
        return ()
    if not isinstance(built, ast.Call) or built.args:
        return None
    if ast.unparse(built.func) not in (kind.__name__, "self.__class__"):
        return None
    init_fields = {f.name for f in dataclasses.fields(kind) if f.init}
    if {keyword.arg for keyword in built.keywords} != init_fields:
        return None
    plan = []
    for keyword in built.keywords:
        step = _helper_field(keyword)
        if step is None:
            return None
        if step is not True:
            plan.append(step)
    return tuple(plan)


def _result_kind(result: object) -> int:
    kind = type(result)
    known = _RESULT_KINDS.get(kind)
    if known is None:
        if isinstance(result, cst.CSTNode):
            known = _NODE
        elif isinstance(result, cst.FlattenSentinel):
            known = _FLATTEN
        elif isinstance(result, cst.RemovalSentinel):
            known = _REMOVAL
        else:
            known = _INVALID
        _RESULT_KINDS[kind] = known
    return known


def _one_child(
    value: Any,
    how: int,
    visitor: cst.CSTTransformer,
    hooks: _FieldHooks | None,
    handled: int | None,
) -> Any:
    if value is None and how == _OPTIONAL:
        return None
    if value is _NO_VALUE and how == _SENTINEL:
        return value
    if handled is not None and _kept_unvisited(value, visitor, handled):
        return value
    result = _transform(value, visitor, hooks, handled)
    kind = _result_kind(result)
    if kind == _FLATTEN:
        raise TypeError(
            f"a FlattenSentinel cannot replace a {type(value).__name__}: its parent does "
            "not hold a sequence there"
        )
    if kind == _REMOVAL:
        if how == _REQUIRED:
            raise TypeError(
                f"a RemovalSentinel cannot replace a {type(value).__name__}: its parent "
                "does not allow removing it"
            )
        return None if how == _OPTIONAL else _NO_VALUE
    return result


def _child_sequence(
    value: Any,
    body: bool,
    visitor: cst.CSTTransformer,
    hooks: _FieldHooks | None,
    handled: int | None,
) -> Any:
    children: list[cst.CSTNode] = []
    for child in value:
        if handled is not None and _kept_unvisited(child, visitor, handled):
            children.append(child)
            continue
        result = _transform(child, visitor, hooks, handled)
        kind = _result_kind(result)
        if kind == _REMOVAL:
            continue
        if kind == _FLATTEN:
            for item in result:
                # a body drops what a removal inside the statement left empty
                if not (body and not child._is_removable() and item._is_removable()):
                    children.append(item)
        elif not (body and not child._is_removable() and result._is_removable()):
            children.append(result)
    if (
        type(value) is tuple
        and len(children) == len(value)
        and all(new is old for new, old in zip(children, value, strict=True))
    ):
        return value
    return tuple(children)


def _kept_unvisited(node: cst.CSTNode, visitor: cst.CSTTransformer, handled: int) -> bool:
    """``_transform``'s first test, made by the parent (a third of the nodes a pass would
    enter are whitespace and punctuation it keeps: the call is saved)."""
    known = _SUBTREE_TYPES.get(id(node))
    mask = known[1] if known is not None and known[0] is node else _subtree_types(node)
    return not mask & handled and getattr(visitor, "skips_unhandled_subtrees", True)


def _transform(
    node: cst.CSTNode,
    visitor: cst.CSTTransformer,
    field_hooks: _FieldHooks | None,
    handled: int | None = None,
) -> Any:
    """libcst's ``CSTNode.visit`` for a transformer, keeping every node none of whose
    children changed (libcst rebuilds each node it passes); with ``handled`` (the mask of
    the node types the visitor handles), subtrees holding none of them are kept unvisited
    while the visitor allows it."""
    if (
        handled is not None
        and not _subtree_types(node) & handled
        and getattr(visitor, "skips_unhandled_subtrees", True)
    ):
        return node
    updated = node
    if visitor.on_visit(node):
        kind = type(node)
        try:
            plan = _PLANS[kind]
        except KeyError:
            plan = _PLANS[kind] = _read_plan(kind)
        if plan is None:
            updated = node._visit_and_replace_children(visitor)
        else:
            changes: dict[str, Any] | None = None
            hooked = field_hooks.get(kind.__name__) if field_hooks is not None else None
            for name, how in plan:
                value = getattr(node, name)
                if hooked is not None and name in hooked:
                    visitor.on_visit_attribute(node, name)
                if how >= _SEQUENCE:
                    new = _child_sequence(value, how == _BODY, visitor, field_hooks, handled)
                else:
                    new = _one_child(value, how, visitor, field_hooks, handled)
                if hooked is not None and name in hooked:
                    visitor.on_leave_attribute(node, name)
                if new is not value:
                    if changes is None:
                        changes = {}
                    changes[name] = new
            if changes is not None:
                updated = dataclasses.replace(node, **changes)
    result = visitor.on_leave(node, updated)
    if _result_kind(result) == _INVALID:
        raise cst.CSTValidationError(
            "Expected a node of type CSTNode or a RemovalSentinel, "
            f"but got a return value of {type(result).__name__}"
        )
    return result


# -- subtrees a transformer has nothing to do in -----------------------------------------
#: node type name -> its bit in the masks below
_TYPE_BITS: dict[str, int] = {}
#: id(node) -> (node, mask of the node types in its subtree), while ``fast_visits`` lasts
_SUBTREE_TYPES: dict[int, tuple[cst.CSTNode, int]] = {}
_HANDLED: weakref.WeakKeyDictionary[type, int] = weakref.WeakKeyDictionary()


def _type_bit(name: str) -> int:
    bit = _TYPE_BITS.get(name)
    if bit is None:
        bit = _TYPE_BITS[name] = 1 << len(_TYPE_BITS)
    return bit


def _subtree_types(node: cst.CSTNode) -> int:
    known = _SUBTREE_TYPES.get(id(node))
    if known is not None and known[0] is node:
        return known[1]
    mask = _type_bit(type(node).__name__)
    for child in child_nodes(node):
        mask |= _subtree_types(child)
    _SUBTREE_TYPES[id(node)] = (node, mask)
    return mask


def _handled_names(names: Iterable[tuple[str, object]]) -> int:
    mask = 0
    for name, value in names:
        hooked = _hooked(name, value)
        if hooked is not None:
            mask |= _type_bit(hooked[0])
    return mask


_CALLBACKS = ("on_visit", "on_leave", "on_visit_attribute", "on_leave_attribute")
_ONLY_HANDLERS: weakref.WeakKeyDictionary[type, bool] = weakref.WeakKeyDictionary()


def keeps_callbacks(kind: type, base: type) -> bool:
    """Are the visitor type's ``on_visit``/``on_leave`` and field callbacks ``base``'s?"""
    return all(getattr(kind, name) is getattr(base, name) for name in _CALLBACKS)


def _only_handlers(kind: type) -> bool:
    """Are the visitor type's callbacks libcst's own (which only call the handlers)?"""
    return keeps_callbacks(
        kind, cst.CSTVisitor if issubclass(kind, cst.CSTVisitor) else cst.CSTTransformer
    )


_HANDLERS: dict[tuple[type, str, type, str], str | None] = {}


def handler_name(owner: type, prefix: str, kind: type, attribute: str = "") -> str | None:
    """The name of ``owner``'s own handler (``visit_Call``, ``leave_Arg_value``...) of
    nodes of type ``kind``, or None when there is none or only libcst's no-op stub (which
    libcst's batched visitors skip the same way). Found once per visitor class: looking
    the method up for every node is a good part of a traversal."""
    key = (owner, prefix, kind, attribute)
    try:
        return _HANDLERS[key]
    except KeyError:
        pass
    name = f"{prefix}{kind.__name__}_{attribute}" if attribute else f"{prefix}{kind.__name__}"
    method = getattr(owner, name, None)
    found = name if method is not None and not getattr(method, "_is_no_op", False) else None
    _HANDLERS[key] = found
    return found


def _handled_types(visitor: cst.CSTVisitor | cst.CSTTransformer) -> int | None:
    """The mask of the node types ``visitor`` has handlers for, when it skips subtrees
    without them (None: it visits everything): a visitor whose callbacks are libcst's
    own, or one that says it may (``skips_unhandled_subtrees``)."""
    kind = type(visitor)
    only_handlers = _ONLY_HANDLERS.get(kind)
    if only_handlers is None:
        only_handlers = _ONLY_HANDLERS[kind] = _only_handlers(kind)
    if not (only_handlers or getattr(visitor, "skips_unhandled_subtrees", False)):
        return None
    mask = _HANDLED.get(kind)
    if mask is None:
        mask = 0
        for cls in kind.__mro__:
            if cls not in STUB_CLASSES:
                mask |= _handled_names(vars(cls).items())
        _HANDLED[kind] = mask
    return mask | _handled_names(vars(visitor).items())


def _visit(self: CSTNode, visitor: Any) -> Any:
    if not isinstance(visitor, cst.CSTVisitor):
        return _transform(self, visitor, _field_hooks(visitor), _handled_types(visitor))
    hooks = _field_hooks(visitor)
    _walk(self, visitor, visitor.on_visit, visitor.on_leave, hooks, _handled_types(visitor))
    return self


_depth = 0


@contextmanager
def fast_visits() -> Iterator[None]:
    """Within the block, read-only visits of libcst nodes do not rebuild them."""
    global _depth
    if _depth == 0:
        CSTNode.visit = _visit  # type: ignore[method-assign]
    _depth += 1
    try:
        yield
    finally:
        _depth -= 1
        if _depth == 0:
            CSTNode.visit = _libcst_visit  # type: ignore[method-assign]
            _SUBTREE_TYPES.clear()


#: libcst's own ``CSTNode.visit`` (for comparisons)
libcst_visit = _libcst_visit


def _hash_nodes_natively() -> None:
    """libcst nodes are equal only to themselves and hash by identity, through a Python
    method (``return id(self)``) that every dict and set of nodes calls: millions of
    calls a run. ``object.__hash__`` hashes by identity too, without the call. Set once
    for good: a dict filled under one hash function cannot be read under another."""
    libcst_hash = CSTNode.__hash__
    kinds: list[type] = [CSTNode]
    while kinds:
        kind = kinds.pop()
        if kind.__dict__.get("__hash__") is libcst_hash:
            kind.__hash__ = object.__hash__  # type: ignore[assignment]
        kinds.extend(kind.__subclasses__())


_hash_nodes_natively()
