"""Visits of libcst trees that do not rebuild the tree they visit.

libcst's ``CSTNode.visit`` rebuilds every node it passes, even for a read-only
``CSTVisitor`` whose result is the original node anyway (libcst marks it as a to-do:
"provide traversal where children are not replaced"). Scope analysis visits each module
twice that way (the batched provider visitor and ``ScopeVisitor``), and the collectors of
this tool once more. Inside ``fast_visits()`` a ``CSTVisitor`` is instead walked over the
node's fields: the same callbacks (``on_visit``, ``on_visit_attribute``,
``on_leave_attribute``, ``on_leave``), in the same order, for the same nodes, and nothing
is rebuilt. Transformers are visited by libcst as before.

The order of a node type's fields is libcst's own: it is recorded, once per type, by
running the type's ``_visit_and_replace_children`` with a visitor that notes the field
names and does not descend. ``tests/test_traversal.py`` checks that the callbacks come in
exactly libcst's order, on the tool's own source and on the test corpora.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable, Collection, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import libcst as cst
from libcst._nodes.base import CSTNode

_libcst_visit = CSTNode.visit
_default_on_visit_attribute = cst.CSTVisitor.on_visit_attribute
_default_on_leave_attribute = cst.CSTVisitor.on_leave_attribute

#: node type -> the fields its ``_visit_and_replace_children`` visits, in that order (types
#: that always visit the same fields)
_FIELD_ORDER: dict[type, tuple[str, ...]] = {}
#: node types whose visited fields depend on the fields' values, and their orders by the
#: types of the values
_CONDITIONAL: set[type] = set()
_CONDITIONAL_ORDER: dict[tuple[type, ...], tuple[str, ...]] = {}
_FIELD_NAMES: dict[type, tuple[str, ...]] = {}
#: visitor type -> does it visit read-only (a CSTVisitor)?
_READ_ONLY: dict[type, bool] = {}
_FieldHooks = Mapping[str, Collection[str]]
#: visitor type -> node type name -> fields with ``visit_<Node>_<field>`` or
#: ``leave_<Node>_<field>`` hooks
_FIELD_HOOKS: dict[type, _FieldHooks] = {}


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

#: libcst's visitor base classes, whose ``visit_<Node>_<field>`` stubs do nothing
_STUB_CLASSES = frozenset(cst.CSTVisitor.__mro__)


def _add_hook(hooks: dict[str, set[str]], name: str) -> None:
    if name.startswith(("visit_", "leave_")):
        node_type, _, field_name = name[6:].partition("_")
        if node_type and field_name:
            hooks.setdefault(node_type, set()).add(field_name)


def _class_field_hooks(kind: type[cst.CSTVisitor]) -> _FieldHooks:
    known = _FIELD_HOOKS.get(kind)
    if known is not None:
        return known
    hooks: _FieldHooks
    if (
        kind.on_visit_attribute is not _default_on_visit_attribute
        or kind.on_leave_attribute is not _default_on_leave_attribute
    ):
        hooks = _ALL_FIELDS  # type: ignore[assignment]
    else:
        found: dict[str, set[str]] = {}
        for cls in kind.__mro__:
            if cls not in _STUB_CLASSES:
                for name in vars(cls):
                    _add_hook(found, name)
        hooks = found
    _FIELD_HOOKS[kind] = hooks
    return hooks


def _field_hooks(visitor: cst.CSTVisitor) -> _FieldHooks | None:
    """node type name -> the fields whose visit or leave hook ``visitor`` defines (the
    default ``on_visit_attribute`` only calls those; libcst's own stubs do nothing)."""
    hooks = _class_field_hooks(type(visitor))
    if any(name.startswith(("visit_", "leave_")) for name in vars(visitor)):
        found = {node_type: set(fields) for node_type, fields in hooks.items()}
        for name in vars(visitor):
            _add_hook(found, name)
        return found
    return hooks or None


def _walk(
    node: cst.CSTNode,
    visitor: cst.CSTVisitor,
    on_visit: Callable[[cst.CSTNode], bool],
    on_leave: Callable[[cst.CSTNode], None],
    field_hooks: _FieldHooks | None,
) -> None:
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
                    _walk(item, visitor, on_visit, on_leave, field_hooks)
            elif value is not None and value is not cst.MaybeSentinel.DEFAULT:
                _walk(value, visitor, on_visit, on_leave, field_hooks)
            if hooked is not None and name in hooked:
                visitor.on_leave_attribute(node, name)
    on_leave(node)


def _visit(self: CSTNode, visitor: Any) -> Any:
    kind = type(visitor)
    read_only = _READ_ONLY.get(kind)
    if read_only is None:
        read_only = _READ_ONLY[kind] = isinstance(visitor, cst.CSTVisitor)
    if not read_only:
        return _libcst_visit(self, visitor)
    _walk(self, visitor, visitor.on_visit, visitor.on_leave, _field_hooks(visitor))
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


#: libcst's own ``CSTNode.visit`` (for comparisons)
libcst_visit = _libcst_visit
