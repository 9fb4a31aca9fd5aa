"""Mapped class inheritance: which subclass attributes a query of a base class leaves
unloaded.

A query of a class of a polymorphic hierarchy (``polymorphic_on`` on its mapper) returns
objects of its subclasses too, with only the columns of the queried class loaded: the
attributes the subclasses add (their own table's columns under joined-table
inheritance, their extra columns under single-table inheritance) load on first access,
which an ``AsyncSession`` cannot do (``MissingGreenlet``). ``selectin_polymorphic(Base,
[Sub, ...])`` loads them with the query, as do ``"polymorphic_load": "selectin"`` or
``"inline"`` on a subclass's ``__mapper_args__`` and ``"with_polymorphic": "*"`` on the
base's.
"""

from __future__ import annotations

from sqla_upgrade.codemods.index.model import ModelFacts, ProjectIndex

#: mapper-level loading of a subclass together with queries of its bases
CONFIGURED_LOADS = frozenset({"selectin", "inline"})
MAX_DEPTH = 20


class Hierarchy:
    """Bases and subclasses of the project's models, and what each class declares."""

    def __init__(self, index: ProjectIndex, backrefs: set[tuple[str, str]]) -> None:
        self.index = index
        self.backrefs = backrefs  # (model, name) of the backrefs other models give it
        self.children: dict[str, list[ModelFacts]] = {}
        for model in index.models.values():
            for parent in self.parents(model):
                self.children.setdefault(parent.qualname, []).append(model)

    def parents(self, model: ModelFacts) -> list[ModelFacts]:
        found = [self.index.model(base) for base in model.bases]
        return [p for p in found if p is not None and p is not model]

    def lineage(self, model: ModelFacts) -> list[ModelFacts]:
        """The model and its mapped ancestors."""
        found: list[ModelFacts] = []
        stack = [model]
        while stack and len(found) < MAX_DEPTH:
            current = stack.pop()
            if current not in found:
                found.append(current)
                stack.extend(self.parents(current))
        return found

    def descendants(self, model: ModelFacts) -> list[ModelFacts]:
        found: list[ModelFacts] = []
        stack = list(reversed(self.children.get(model.qualname, [])))
        while stack and len(found) < MAX_DEPTH * MAX_DEPTH:
            current = stack.pop()
            if current not in found and current is not model:
                found.append(current)
                stack.extend(reversed(self.children.get(current.qualname, [])))
        return found

    def declares(self, model: ModelFacts, name: str) -> bool:
        return (
            name in model.columns
            or name in model.relationships
            or name in model.association_proxies
            or name in model.members
            or (model.qualname, name) in self.backrefs
        )

    def inherits(self, model: ModelFacts, name: str) -> bool:
        """Does ``model`` have attribute ``name`` (its own or an ancestor's)?"""
        return any(self.declares(m, name) for m in self.lineage(model))

    def is_polymorphic(self, model: ModelFacts) -> bool:
        """Can a query of ``model`` return objects of its subclasses? (Yes unless every
        mapper of its lineage has a literal ``__mapper_args__`` without
        ``polymorphic_on``.)"""
        lineage = self.lineage(model)
        return any(m.mapper_args is None or "polymorphic_on" in m.mapper_args for m in lineage)

    def loads_every_subclass(self, model: ModelFacts) -> bool:
        return any(
            (m.mapper_args or {}).get("with_polymorphic") == "*" for m in self.lineage(model)
        )

    def unloaded_subclasses(self, model: ModelFacts, name: str) -> list[ModelFacts]:
        """The subclasses of ``model`` whose attribute ``name`` a query of ``model`` does
        not load, in declaration order; [] when ``model`` itself has it."""
        if self.inherits(model, name) or not self.is_polymorphic(model):
            return []
        if self.loads_every_subclass(model):
            return []
        return [
            sub
            for sub in self.descendants(model)
            if self.inherits(sub, name) and not _loaded_with_bases(sub)
        ]

    def subclass_owners(self, name: str, queried: set[str]) -> list[ModelFacts]:
        """The models declaring ``name`` that a query of one of the classes ``queried``
        (qualified names) returns without it."""
        found = []
        for qualname in queried:
            model = self.index.model(qualname)
            if model is not None:
                found += [s for s in self.unloaded_subclasses(model, name) if s not in found]
        return found


def _loaded_with_bases(model: ModelFacts) -> bool:
    args = model.mapper_args or {}
    return args.get("polymorphic_load") in CONFIGURED_LOADS or args.get("concrete") == "True"
