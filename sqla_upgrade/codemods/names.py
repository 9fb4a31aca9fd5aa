"""Name resolution helpers built on libcst's QualifiedNameProvider.

A pass decides what a name is from its qualified name (``sqlalchemy.select`` however it
was imported), never from its spelling. Names defined in the file itself and relative
imports are made absolute with the file's module name, so they match the project index.
"""

from __future__ import annotations

from collections.abc import Iterable
from collections.abc import Set as AbstractSet
from typing import TYPE_CHECKING

import libcst as cst
from libcst.metadata import (
    ParentNodeProvider,
    QualifiedName,
    QualifiedNameProvider,
    QualifiedNameSource,
    ScopeProvider,
)

from sqla_upgrade.codemods.discovery import resolve_relative
from sqla_upgrade.codemods.traversal import child_nodes

if TYPE_CHECKING:
    from sqla_upgrade.codemods.base import Pass


def qualified_names(
    transformer: Pass, node: cst.CSTNode, *, ending: AbstractSet[str] | None = None
) -> frozenset[str]:
    """Absolute qualified names ``node`` may refer to (empty when unknown).

    ``ending``: the last parts of the names the caller looks for (``last_parts``). When
    ``node`` cannot refer to any of them, the answer is the empty set, found without
    resolving the module's scopes: a name's qualified names end with the name as spelled
    (``a.b.c`` with ``c``; a call's or a subscript's with those of what is called or
    subscripted), unless an import renames it (``import x as y``)."""
    if ending is not None and not _may_name(transformer, node, ending):
        return frozenset()
    cache = transformer.qualified_cache
    names = cache.get(id(node))
    if names is None:
        names = cache[id(node)] = _resolved_names(transformer, node)
    return names


def last_parts(names: Iterable[str]) -> frozenset[str]:
    """What ``qualified_names(..., ending=)`` takes for finding ``names``."""
    return frozenset(name.rpartition(".")[2] for name in names)


def _resolved_names(transformer: Pass, node: cst.CSTNode) -> frozenset[str]:
    try:
        found: set[QualifiedName] = transformer.get_metadata(QualifiedNameProvider, node, set())
    except KeyError:
        return frozenset()
    state = transformer.state
    package = state.path.endswith("__init__.py")
    return frozenset(absolute_name(q, state.module_name, package) for q in found)


def _may_name(transformer: Pass, node: cst.CSTNode, ending: AbstractSet[str]) -> bool:
    spelled = spelled_ends(node)
    if spelled is None:
        return True
    last, root = spelled
    return last in ending or root in ending or last in transformer.import_renames()


def spelled_ends(node: cst.CSTNode) -> tuple[str, str] | None:
    """The last and the first part of the dotted name libcst reads ``node`` as (``c``
    and ``a`` for ``a.b.c``, ``a.b(x).c[0]`` or ``@a.b.c``); None when it reads no name.
    A qualified name ends with the last part, or is ``builtins.<first part>`` for a
    builtin (``builtins.str`` for ``str.join``; ``None`` stands for a first part that is no
    name: ``builtins.None`` for ``", ".join``)."""
    last: str | None = None
    while True:
        if isinstance(node, cst.Name):
            return (last or node.value, node.value)
        if isinstance(node, cst.Attribute):
            last = last or node.attr.value
            node = node.value
        elif isinstance(node, cst.Call):
            node = node.func
        elif isinstance(node, cst.Subscript):
            node = node.value
        elif isinstance(node, cst.Decorator):
            node = node.decorator
        else:
            return None if last is None else (last, "None")


def import_renames(module: cst.Module) -> frozenset[str]:
    """The names imports bind under another name (``import x as y``, ``from m import x
    as y``) anywhere in ``module`` (the passes that leave a tree alone share one walk)."""
    global _LAST_RENAMES
    if _LAST_RENAMES is not None and _LAST_RENAMES[0] is module:
        return _LAST_RENAMES[1]
    renames = _import_renames(module)
    _LAST_RENAMES = (module, renames)
    return renames


_LAST_RENAMES: tuple[cst.Module, frozenset[str]] | None = None


def _import_renames(module: cst.Module) -> frozenset[str]:
    found: set[str] = set()
    stack: list[cst.CSTNode] = [module]
    while stack:
        node = stack.pop()
        kind = type(node)
        if kind is cst.Import or kind is cst.ImportFrom:
            names = node.names  # type: ignore[attr-defined]
            if not isinstance(names, cst.ImportStar):
                found.update(
                    alias.asname.name.value
                    for alias in names
                    if alias.asname is not None and isinstance(alias.asname.name, cst.Name)
                )
        elif kind in _HOLDING_STATEMENTS:
            stack.extend(c for c in child_nodes(node) if type(c) in _HOLDING_IMPORTS)
    return frozenset(found)


#: the nodes statements are found in (a statement is never inside an expression)
_HOLDING_STATEMENTS: frozenset[type] = frozenset(
    {
        cst.Module,
        cst.IndentedBlock,
        cst.SimpleStatementSuite,
        cst.SimpleStatementLine,
        cst.If,
        cst.Else,
        cst.For,
        cst.While,
        cst.Try,
        cst.TryStar,
        cst.ExceptHandler,
        cst.ExceptStarHandler,
        cst.Finally,
        cst.With,
        cst.FunctionDef,
        cst.ClassDef,
        cst.Match,
        cst.MatchCase,
    }
)
_HOLDING_IMPORTS = _HOLDING_STATEMENTS | {cst.Import, cst.ImportFrom}


def absolute_name(name: QualifiedName, module: str, is_package: bool) -> str:
    if name.source is QualifiedNameSource.LOCAL and "<locals>" not in name.name:
        return f"{module}.{name.name}"
    if name.source is QualifiedNameSource.IMPORT and name.name.startswith("."):
        return resolve_relative(name.name, module, is_package)
    return name.name


def names_in(node: cst.CSTNode) -> set[str]:
    """Every identifier spelled anywhere in ``node`` (nested scopes included)."""
    names: set[str] = set()

    class Collector(cst.CSTVisitor):
        def visit_Name(self, node: cst.Name) -> None:
            names.add(node.value)

    node.visit(Collector())
    return names


def value_names(node: cst.CSTNode) -> list[cst.Name]:
    """The names ``node`` reads values of (not the attribute names after a dot)."""
    found: list[cst.Name] = []

    class Names(cst.CSTVisitor):
        def visit_Attribute(self, attribute: cst.Attribute) -> bool:
            attribute.value.visit(self)
            return False

        def visit_Name(self, name: cst.Name) -> None:
            found.append(name)

    node.visit(Names())
    return found


def assigned_values(
    transformer: Pass, name: cst.Name, *, skip_imports: bool = False
) -> list[cst.BaseExpression] | None:
    """The values of the plain assignments (``name = value``) binding ``name`` where it
    is read; None when a binding is anything else (a parameter, a loop, ``+=``, an
    import unless ``skip_imports``) or the scope is unknown."""
    scope = transformer.get_metadata(ScopeProvider, name, None)
    if scope is None:
        return None
    values: list[cst.BaseExpression] = []
    for assignment in scope[name.value]:
        bound = getattr(assignment, "node", None)
        if skip_imports and isinstance(bound, cst.Import | cst.ImportFrom):
            continue
        target = transformer.get_metadata(ParentNodeProvider, bound, None) if bound else None
        holder = transformer.get_metadata(ParentNodeProvider, target, None) if target else None
        if not (isinstance(target, cst.AssignTarget) and isinstance(holder, cst.Assign)):
            return None
        if target.target is not bound:
            return None
        values.append(holder.value)
    return values
