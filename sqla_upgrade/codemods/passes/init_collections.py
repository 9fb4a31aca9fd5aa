"""Start new objects with their empty collections, so reading them never lazy-loads.

Before::

    order = Order(customer=customer, status="placed")
    session.add(order)
    ...                       # a query autoflushes the new order
    order.lines.append(line)  # AsyncSession: MissingGreenlet (lazy load of lines)

After::

    order = Order(customer=customer, status="placed", lines=[])

Safety: a new object has no related rows yet, so its collections are empty; passing the
empty list says so up front, exactly what a lazy load would have found, and the
collection then counts as loaded after the object is flushed. Only the collections the
project reads (in code or templates) are added, only for mapped classes using the
default constructor (no own ``__init__``) and only when the call does not already pass
them or ``**kwargs``. Relationships whose direction cannot be told are left alone.
"""

from __future__ import annotations

from typing import Any, ClassVar

import libcst as cst
from libcst.metadata import (
    BaseMetadataProvider,
    ParentNodeProvider,
    PositionProvider,
    QualifiedNameProvider,
)

from sqla_upgrade.codemods.analysis.async_plan import AsyncPlan, plan_of
from sqla_upgrade.codemods.analysis.chains import keyword
from sqla_upgrade.codemods.base import Pass, per_object
from sqla_upgrade.codemods.index.model import ModelFacts, ProjectIndex
from sqla_upgrade.codemods.layout import relaid_arguments
from sqla_upgrade.codemods.names import qualified_names


class InitCollectionsPass(Pass):
    """Model(...) of a new object → Model(..., collection=[]) for collections read later."""

    name = "init-collections"
    targets = frozenset({"async"})
    stage = 2
    triggers = ()
    METADATA_DEPENDENCIES: ClassVar[tuple[type[BaseMetadataProvider[Any]], ...]] = (
        PositionProvider,
        QualifiedNameProvider,
        ParentNodeProvider,
    )

    @classmethod
    def concerns(cls, code: bytes, path: str, index: Any) -> bool:
        """Only where something became async and a model is named (a constructor call
        spells the class, or a name it was imported or re-exported under)."""
        plan = index.async_plan
        if not isinstance(plan, AsyncPlan):
            return any(name in code for name in _model_names(index, None))
        if not plan.functions:
            return False
        return any(name in code for name in _model_names(index, plan))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.plan = plan_of(self.state)
        self._collections: dict[str, set[str]] = {}
        self._merged: set[str] = set()

    def _model(self, func: cst.BaseExpression) -> ModelFacts | None:
        index = self.state.index
        for name in qualified_names(self, func, ending=index.model_endings()):
            model = index.model(name)
            if model is not None:
                return model
        return None

    def _empty_collections(self, model: ModelFacts) -> set[str]:
        if model.qualname not in self._collections:
            index = self.state.index
            self._collections[model.qualname] = index.collections(model) & self.plan.read_attributes
        return self._collections[model.qualname]

    def visit_Module(self, node: cst.Module) -> None:
        self._merged = _merged_names(node)

    def _merged_here(self, call: cst.Call) -> bool:
        """Objects given to ``merge()`` are copies of stored rows, not new objects: an
        empty collection would replace the stored one."""
        parent = self.get_metadata(ParentNodeProvider, call, None)
        if isinstance(parent, cst.Arg):
            holder = self.get_metadata(ParentNodeProvider, parent, None)
            if isinstance(holder, cst.Call) and _is_merge(holder):
                return True
        if isinstance(parent, cst.Assign) and len(parent.targets) == 1:
            target = parent.targets[0].target
            return isinstance(target, cst.Name) and target.value in self._merged
        return not isinstance(parent, cst.Assign | cst.Arg)

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.Call:
        if not self.plan.functions:
            return updated_node  # nothing in the project became async
        model = self._model(original_node.func)
        if model is None or model.has_init or self._inherits_init(model):
            return updated_node
        if self._merged_here(original_node):
            return updated_node
        if any(a.star == "**" or (a.keyword is None and a.star == "") for a in original_node.args):
            return (
                updated_node  # **kwargs, or a positional argument: not the default constructor call
            )
        given = {a.keyword.value for a in original_node.args if a.keyword is not None}
        missing = sorted(self._empty_collections(model) - given)
        if not missing:
            return updated_node
        self.count_rewrite(len(missing))
        extra = [keyword(name, cst.List([])) for name in missing]
        return updated_node.with_changes(
            args=relaid_arguments(updated_node, [*updated_node.args, *extra])
        )

    def _inherits_init(self, model: ModelFacts) -> bool:
        return _inherits_init(self.state.index, model)


def _inherits_init(index: ProjectIndex, model: ModelFacts) -> bool:
    for base in model.bases:
        facts = index.model(base)
        if facts is not None and (facts.has_init or _inherits_init(index, facts)):
            return True
    return False


def _filled(index: ProjectIndex, plan: AsyncPlan | None, model: ModelFacts | None) -> bool:
    """Could a constructor call of ``model`` get collections (without a plan: any model)?"""
    if model is None:
        return False
    if plan is None:
        return True
    if model.has_init or _inherits_init(index, model):
        return False
    return bool(index.collections(model) & plan.read_attributes)


@per_object
def _model_names(index: ProjectIndex, plan: AsyncPlan | None) -> set[bytes]:
    """The names the models the pass could fill in go by anywhere in the project."""
    names = {
        qualname.rpartition(".")[2].encode()
        for qualname, model in index.models.items()
        if _filled(index, plan, model)
    }
    for facts in index.modules.values():
        for local, target in facts.imports.items():
            if _filled(index, plan, index.model(target)):
                names.add(local.encode())
    return names


def _is_merge(call: cst.Call) -> bool:
    return isinstance(call.func, cst.Attribute) and call.func.attr.value == "merge"


def _merged_names(module: cst.Module) -> set[str]:
    """Names passed to ``x.merge(name)`` anywhere in the module."""
    names: set[str] = set()

    class Finder(cst.CSTVisitor):
        def visit_Call(self, node: cst.Call) -> None:
            if _is_merge(node):
                for arg in node.args:
                    if isinstance(arg.value, cst.Name):
                        names.add(arg.value.value)

    module.visit(Finder())
    return names
