"""Replace the ORM synonyms SQLAlchemy 2.0 removed: ``relation`` and ``eagerload``.

Before::

    from sqlalchemy.orm import eagerload, relation

    user = relation(User, backref="posts")
    session.query(Post).options(eagerload(Post.user))

After::

    from sqlalchemy.orm import joinedload, relationship

    user = relationship(User, backref="posts")
    session.query(Post).options(joinedload(Post.user))

Importing either name fails on 2.0 (an ``ImportError`` as the models are imported).

Safety: 1.4's ``relation()`` and ``eagerload()`` only call ``relationship()`` and
``joinedload()`` with the arguments they are given, so meaning is kept. References
resolving to the synonym are renamed (``orm.relation`` too); a name imported under an
alias (``relation as rel``) keeps its alias. Where the new name is spelled in the module
for something else, or other modules import the synonym from this one (or all its
names), the import becomes ``relationship as relation`` and the references stay.
"""

from __future__ import annotations

from typing import Any, ClassVar

import libcst as cst
from libcst.codemod.visitors import AddImportsVisitor, RemoveImportsVisitor
from libcst.helpers import get_full_name_for_node
from libcst.metadata import BaseMetadataProvider, ParentNodeProvider, QualifiedNameProvider

from sqla_upgrade.codemods.base import Pass
from sqla_upgrade.codemods.names import qualified_names

ORM = "sqlalchemy.orm"
#: removed synonym → what it called
SYNONYMS = {"relation": "relationship", "eagerload": "joinedload"}


class OrmSynonymsPass(Pass):
    """relation() → relationship(), eagerload() → joinedload() (removed in 2.0)."""

    name = "orm-synonyms"
    triggers = (b"relation", b"eagerload")
    METADATA_DEPENDENCIES: ClassVar[tuple[type[BaseMetadataProvider[Any]], ...]] = (
        ParentNodeProvider,
        QualifiedNameProvider,
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        #: the synonyms imported by their own name whose references are renamed
        self._renamed: set[str] = set()
        #: those imported by their own name that keep it (``relationship as relation``)
        self._kept: set[str] = set()

    # -- deciding -----------------------------------------------------------------------
    def visit_Module(self, node: cst.Module) -> None:
        imported = {
            alias.name.value
            for stmt in _import_froms(node)
            for alias in _aliases(stmt)
            if alias.asname is None
            and isinstance(alias.name, cst.Name)
            and alias.name.value in SYNONYMS
        }
        taken = self._taken_names(node)
        for old in imported:
            new = SYNONYMS[old]
            if self._imported_from_here(old) or new in taken:
                self._kept.add(old)
            else:
                self._renamed.add(old)

    def _taken_names(self, module: cst.Module) -> set[str]:
        """The new names spelled in ``module`` for anything but what sqlalchemy.orm
        exports under them (attribute names after a dot and keywords are no spelling)."""
        new_names = set(SYNONYMS.values())
        spelled: list[cst.Name] = []
        taken: set[str] = set()

        class Names(cst.CSTVisitor):
            def visit_Attribute(self, node: cst.Attribute) -> bool:
                node.value.visit(self)
                return False

            def visit_Arg(self, node: cst.Arg) -> bool:
                node.value.visit(self)
                return False

            def visit_ImportFrom(self, node: cst.ImportFrom) -> bool:
                for alias in _aliases(node):
                    bound = alias.asname.name if alias.asname is not None else alias.name
                    if isinstance(bound, cst.Name) and bound.value in new_names:
                        if not (_from_orm(node) and _plain(alias, bound.value)):
                            taken.add(bound.value)
                return False

            def visit_Import(self, node: cst.Import) -> bool:
                for alias in node.names:
                    bound = alias.asname.name if alias.asname is not None else None
                    if isinstance(bound, cst.Name) and bound.value in new_names:
                        taken.add(bound.value)
                return False

            def visit_Name(self, node: cst.Name) -> None:
                if node.value in new_names:
                    spelled.append(node)

        module.visit(Names())
        for name in spelled:
            if qualified_names(self, name) != {f"{ORM}.{name.value}"}:
                taken.add(name.value)
        return taken

    def _imported_from_here(self, old: str) -> bool:
        """Do other modules import ``old`` from this one, or every name of it?"""
        module = self.state.module_name
        index = self.state.index
        if index is None:
            return False
        for facts in index.modules.values():
            if facts.name == module:
                continue
            if module in facts.star_imports or f"{module}.{old}" in facts.imports.values():
                return True
        return False

    # -- imports ------------------------------------------------------------------------
    def leave_ImportFrom(
        self, original_node: cst.ImportFrom, updated_node: cst.ImportFrom
    ) -> cst.ImportFrom:
        if not _from_orm(updated_node) or isinstance(updated_node.names, cst.ImportStar):
            return updated_node
        names = []
        changed = False
        for alias in updated_node.names:
            old = alias.name.value if isinstance(alias.name, cst.Name) else ""
            if old not in SYNONYMS or (alias.asname is None and old in self._renamed):
                names.append(alias)
                continue
            new = cst.Name(SYNONYMS[old])
            if alias.asname is None:
                asname = cst.AsName(name=cst.Name(old))
                alias = alias.with_changes(name=new, asname=asname)
            elif _as_name(alias) == SYNONYMS[old]:
                alias = alias.with_changes(name=new, asname=None)
            else:
                alias = alias.with_changes(name=new)
            names.append(alias)
            changed = True
            self.count_rewrite()
        return updated_node.with_changes(names=names) if changed else updated_node

    # -- references ---------------------------------------------------------------------
    def leave_Name(self, original_node: cst.Name, updated_node: cst.Name) -> cst.Name:
        old = original_node.value
        if old not in self._renamed or self._in_import(original_node):
            return updated_node
        parent = self.get_metadata(ParentNodeProvider, original_node, None)
        if isinstance(parent, cst.Attribute) and parent.attr is original_node:
            return updated_node
        if qualified_names(self, original_node) != {f"{ORM}.{old}"}:
            return updated_node
        self.count_rewrite()
        return updated_node.with_changes(value=SYNONYMS[old])

    def leave_Attribute(
        self, original_node: cst.Attribute, updated_node: cst.Attribute
    ) -> cst.Attribute:
        old = original_node.attr.value
        if old not in SYNONYMS or self._in_import(original_node):
            return updated_node
        if f"{ORM}.{old}" not in qualified_names(self, original_node):
            return updated_node
        if get_full_name_for_node(original_node.value) is None:
            return updated_node
        self.count_rewrite()
        return updated_node.with_changes(attr=cst.Name(SYNONYMS[old]))

    def _in_import(self, node: cst.CSTNode) -> bool:
        parent = self.get_metadata(ParentNodeProvider, node, None)
        while parent is not None and not isinstance(parent, cst.BaseSmallStatement):
            parent = self.get_metadata(ParentNodeProvider, parent, None)
        return isinstance(parent, cst.Import | cst.ImportFrom)

    def leave_Module(self, original_node: cst.Module, updated_node: cst.Module) -> cst.Module:
        for old in sorted(self._renamed):
            AddImportsVisitor.add_needed_import(self.context, ORM, SYNONYMS[old])
            RemoveImportsVisitor.remove_unused_import(self.context, ORM, old)
        return updated_node


def _from_orm(node: cst.ImportFrom) -> bool:
    return (
        not node.relative and node.module is not None and get_full_name_for_node(node.module) == ORM
    )


def _import_froms(module: cst.Module) -> list[cst.ImportFrom]:
    found: list[cst.ImportFrom] = []

    class Imports(cst.CSTVisitor):
        def visit_ImportFrom(self, node: cst.ImportFrom) -> None:
            if _from_orm(node):
                found.append(node)

    module.visit(Imports())
    return found


def _aliases(node: cst.ImportFrom) -> list[cst.ImportAlias]:
    return [] if isinstance(node.names, cst.ImportStar) else list(node.names)


def _as_name(alias: cst.ImportAlias) -> str | None:
    if alias.asname is None or not isinstance(alias.asname.name, cst.Name):
        return None
    return alias.asname.name.value


def _plain(alias: cst.ImportAlias, name: str) -> bool:
    """``from sqlalchemy.orm import name`` (or ``name as name``)."""
    return isinstance(alias.name, cst.Name) and alias.name.value == name
