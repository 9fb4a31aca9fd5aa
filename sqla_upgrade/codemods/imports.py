"""libcst's import adder and remover, without their walks that cannot find anything.

``AddImportsVisitor`` only reads and changes a module's leading import statements, yet
walks the whole module twice; ``TopImportsAdder`` visits the leading statements only.

``RemoveImportsVisitor`` first finds every unused import with
``GatherUnusedImportsVisitor``, which walks the module three times with matcher-based
visitors (for ``__all__`` entries and names in string annotations, then for the imports).
``QuickImportsRemover`` finds the same set with one walk over the nodes' fields and the
module's scopes; only when a name it asks about also occurs in a string or a comment
(``__all__``, ``"Session"`` annotations) does it run libcst's ``__all__`` and annotation
gatherers. The removal itself is libcst's, visiting only the nodes that hold an import.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import libcst as cst
from libcst.codemod import CodemodContext
from libcst.codemod.visitors import (
    AddImportsVisitor,
    GatherExportsVisitor,
    GatherNamesFromStringAnnotationsVisitor,
    RemoveImportsVisitor,
    _add_imports,
)
from libcst.metadata import ImportAssignment, ParentNodeProvider, Scope, ScopeProvider

from sqla_upgrade.codemods.codegen import code_of
from sqla_upgrade.codemods.layout import with_blank_lines, without_leading_blank_lines
from sqla_upgrade.codemods.traversal import STUB_CLASSES

#: modules whose imports libcst's gatherer never reports unused
_IGNORED_MODULES = frozenset({"__future__"})


class ListsNoStubs:
    """libcst's matcher set-up, run for every instance of a matcher-decoratable visitor,
    looks for matcher decorators on each attribute ``dir()`` lists: about 1,500 no-op
    ``visit_*``/``leave_*`` stubs, which carry none. ``dir()`` of these visitors leaves
    the stubs out (the same decorators are found: ``tests/test_imports.py``)."""

    def __dir__(self) -> list[str]:
        names = {
            name for cls in type(self).__mro__ if cls not in STUB_CLASSES for name in vars(cls)
        }
        return sorted(names | set(vars(self)))


#: the visitor ``AddImportsVisitor`` gathers the module's leading imports with
_TopImportsGatherer: type | None = getattr(_add_imports, "_GatherTopImportsBeforeStatements", None)


class _QuickTopImportsGatherer(ListsNoStubs, _TopImportsGatherer or object):  # type: ignore[misc]
    """That gatherer, its matcher set-up without the no-op stubs."""


@contextmanager
def _quick_gatherer() -> Iterator[None]:
    """``AddImportsVisitor.visit_Module`` making a ``_QuickTopImportsGatherer``: the
    gatherer's set-up was most of the cost of adding an import."""
    if _TopImportsGatherer is None:
        yield
        return
    setattr(_add_imports, "_GatherTopImportsBeforeStatements", _QuickTopImportsGatherer)  # noqa: B010
    try:
        yield
    finally:
        setattr(_add_imports, "_GatherTopImportsBeforeStatements", _TopImportsGatherer)  # noqa: B010


class TopImportsAdder(ListsNoStubs, AddImportsVisitor):
    """``AddImportsVisitor`` visiting only the module's leading simple statements."""

    def visit_Module(self, node: cst.Module) -> None:
        with _quick_gatherer():
            super().visit_Module(node.with_changes(body=_leading_simple_statements(node)))

    def on_visit(self, node: cst.CSTNode) -> bool:
        super().on_visit(node)
        return isinstance(node, (cst.Module, cst.SimpleStatementLine))

    def leave_Module(self, original_node: cst.Module, updated_node: cst.Module) -> cst.Module:
        self._first_imports = not any(
            isinstance(small, cst.Import | cst.ImportFrom)
            for statement in _leading_simple_statements(updated_node)
            for small in getattr(statement, "body", ())
        )
        return super().leave_Module(original_node, updated_node)

    def _insert_empty_line(self, statements: list[Any]) -> list[Any]:
        """The first statement after the imports is separated from them by a blank line
        (libcst's rule), by two when it is a function or class and the imports are the
        module's first (PEP 8, ``ruff format``; a module that has imports keeps its own
        spacing after them)."""
        statements = super()._insert_empty_line(statements)
        if (
            getattr(self, "_first_imports", False)
            and statements
            and isinstance(statements[0], cst.FunctionDef | cst.ClassDef)
        ):
            return [with_blank_lines(statements[0], 2), *statements[1:]]
        return statements


def _leading_simple_statements(module: cst.Module) -> list[cst.BaseStatement]:
    leading: list[cst.BaseStatement] = []
    for statement in module.body:
        if not isinstance(statement, cst.SimpleStatementLine):
            break
        leading.append(statement)
    return leading


def _supported() -> bool:
    """Does this libcst's remover keep its unused imports where ``QuickImportsRemover``
    puts them? (Otherwise libcst's own gatherer runs.)"""
    try:
        remover = RemoveImportsVisitor(CodemodContext())
    except Exception:  # pragma: no cover - a libcst that cannot be built this way
        return False
    return isinstance(getattr(remover, "_unused_imports", None), dict)


_SUPPORTED = _supported()


class QuickImportsRemover(ListsNoStubs, RemoveImportsVisitor):
    """``RemoveImportsVisitor`` that finds the unused imports without libcst's three
    matcher-based walks (same set of imports)."""

    _holders: set[cst.CSTNode] | None = None

    def visit_Module(self, node: cst.Module) -> None:
        if not _SUPPORTED:
            super().visit_Module(node)
            return
        finder = _UnusedImports(self, node)
        self._unused_imports = dict(finder.unused())
        self._holders = finder.import_holders()

    def on_visit(self, node: cst.CSTNode) -> bool:
        """Only into the nodes that hold an import (the remover changes nothing else)."""
        visit_children = super().on_visit(node)
        holders = self._holders
        return visit_children and (holders is None or node in holders)

    def leave_Module(self, original_node: cst.Module, updated_node: cst.Module) -> cst.Module:
        """No blank line left at the top of a module whose first statement, an import,
        was removed: the blank lines that separated it from the next one go with it."""
        return without_blank_first_line(original_node, updated_node)


def without_blank_first_line(original: cst.Module, updated: cst.Module) -> cst.Module:
    """``updated`` (``original`` with statements removed) without the blank lines before
    its first statement when that statement was not the first one of ``original`` (and
    the module's header does not end on a comment, which they keep apart from it)."""
    if not original.body or not updated.body or updated.body[0] is original.body[0]:
        return updated
    header = updated.header
    if header and header[-1].comment is not None:
        return updated
    first = without_leading_blank_lines(updated.body[0])
    if first is updated.body[0]:
        return updated
    assert isinstance(first, cst.BaseStatement)
    return updated.with_changes(body=[first, *updated.body[1:]])


class _UnusedImports:
    """The imports of ``module`` nothing in it uses, as ``GatherUnusedImportsVisitor``
    decides: not named in ``__all__``, not in a string annotation, no reference in the
    scope the import binds in."""

    def __init__(self, remover: RemoveImportsVisitor, module: cst.Module) -> None:
        self.remover = remover
        self.module = module
        self.parents = remover.context.wrapper.resolve(ParentNodeProvider)  # type: ignore[union-attr]
        self.nodes = list(self.parents)
        self.spelled = Counter(n.value for n in self.nodes if type(n) is cst.Name)
        self._code: str | None = None
        self._textual: dict[str, int] = {}
        self._strings: set[str] | None = None

    def unused(self) -> Iterator[tuple[cst.ImportAlias, cst.Import | cst.ImportFrom]]:
        """The unused imports among those the remover may remove (it asks about no
        other); the scopes are resolved only for a name spelled more than once."""
        requested = self._requested_names()
        for statement in self.nodes:
            if not _considered(statement):
                continue
            assert isinstance(statement, (cst.Import, cst.ImportFrom))
            assert not isinstance(statement.names, cst.ImportStar)
            for alias in statement.names:
                if alias.evaluated_name not in requested:
                    continue
                if self._spelled_only_here(alias):
                    yield alias, statement
                    continue
                scope = self.remover.get_metadata(ScopeProvider, statement, None)
                if scope is not None and not self._in_use(scope, alias):
                    yield alias, statement

    def _requested_names(self) -> set[str]:
        """The names of the imports the remover was asked to remove (modules, objects)."""
        remover = self.remover
        names = set(remover.unused_module_imports)
        for pairs in remover.unused_obj_imports.values():
            names.update(name for name, _ in pairs)
        return names

    def _spelled_only_here(self, alias: cst.ImportAlias) -> bool:
        """Is the name the import binds written nowhere else, not even in a string or a
        comment (so nothing can use it)?"""
        bound = alias.asname.name if alias.asname is not None else alias.name
        if not isinstance(bound, cst.Name):
            return False
        return self.spelled[bound.value] == 1 and self._textual_count(bound.value) == 1

    def import_holders(self) -> set[cst.CSTNode]:
        """The module and every node with an import statement somewhere inside it."""
        parents = self.parents
        holders: set[cst.CSTNode] = {self.module}
        for node in self.nodes:
            if isinstance(node, (cst.Import, cst.ImportFrom)):
                holder = parents.get(node)
                while holder is not None and holder not in holders:
                    holders.add(holder)
                    holder = parents.get(holder)
        return holders

    def _in_use(self, scope: Scope, alias: cst.ImportAlias) -> bool:
        bound = alias.asname.name if alias.asname is not None else alias.name
        for name in _dotted_prefixes(bound):
            if self._named_in_a_string(name):
                return True
            if any(
                isinstance(assignment, ImportAssignment) and assignment.references
                for assignment in scope[name]
            ):
                return True
        return False

    def _named_in_a_string(self, dotted: str) -> bool:
        """Is ``dotted`` an ``__all__`` entry or a name in a string annotation? Answered
        without libcst's gatherers when each of its words occurs in the code only as
        names (so in no string at all)."""
        if all(self._textual_count(word) == self.spelled[word] for word in dotted.split(".")):
            return False
        if self._strings is None:
            self._strings = self._names_in_strings()
        return dotted in self._strings

    def _textual_count(self, word: str) -> int:
        count = self._textual.get(word)
        if count is None:
            if self._code is None:
                self._code = code_of(self.module)
            pattern = rf"(?<![\w]){re.escape(word)}(?![\w])"
            count = self._textual[word] = len(re.findall(pattern, self._code))
        return count

    def _names_in_strings(self) -> set[str]:
        context = self.remover.context
        exports = GatherExportsVisitor(context)
        self.module.visit(exports)
        annotations = GatherNamesFromStringAnnotationsVisitor(context)
        self.module.visit(annotations)
        return set(exports.explicit_exported_objects) | set(annotations.names)


def _blank_lead(statement: cst.BaseStatement) -> int:
    """How many blank lines (no comment) begin the lines leading ``statement``."""
    count = 0
    for line in getattr(statement, "leading_lines", ()):
        if line.comment is not None:
            break
        count += 1
    return count


def _considered(node: cst.CSTNode) -> bool:
    """The imports ``GatherUnusedImportsVisitor`` weighs: every ``import``, and every
    ``from`` import of a named module (not ``__future__``) that is not ``*``."""
    if isinstance(node, cst.Import):
        return True
    if not isinstance(node, cst.ImportFrom) or isinstance(node.names, cst.ImportStar):
        return False
    module = node.module
    return module is not None and not (
        isinstance(module, cst.Name) and module.value in _IGNORED_MODULES
    )


def _dotted_prefixes(node: cst.BaseExpression) -> list[str]:
    """``a.b.c`` → ``["a.b.c", "a.b", "a"]``; a name → itself."""
    parts: list[str] = []
    while isinstance(node, cst.Attribute):
        parts.append(node.attr.value)
        node = node.value
    if not isinstance(node, cst.Name):
        return []
    parts.append(node.value)
    parts.reverse()
    return [".".join(parts[:end]) for end in range(len(parts), 0, -1)]
