"""Name resolution helpers built on libcst's QualifiedNameProvider.

A pass decides what a name is from its qualified name (``sqlalchemy.select`` however it
was imported), never from its spelling. Names defined in the file itself and relative
imports are made absolute with the file's module name, so they match the project index.
"""

from __future__ import annotations

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

if TYPE_CHECKING:
    from sqla_upgrade.codemods.base import Pass


def qualified_names(transformer: Pass, node: cst.CSTNode) -> set[str]:
    """Absolute qualified names ``node`` may refer to (empty when unknown)."""
    try:
        names: set[QualifiedName] = transformer.get_metadata(
            QualifiedNameProvider,  # type: ignore[arg-type]
            node,
            set(),
        )
    except KeyError:
        return set()
    state = transformer.state
    return {absolute_name(q, state.module_name, state.path.endswith("__init__.py")) for q in names}


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
