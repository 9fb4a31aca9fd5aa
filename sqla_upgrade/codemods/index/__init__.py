"""The project index: cross-file facts, built once per run and read-only afterwards."""

from sqla_upgrade.codemods.index.builder import IndexBuilder
from sqla_upgrade.codemods.index.model import (
    FunctionFacts,
    ModelFacts,
    ModuleFacts,
    ObjectKind,
    ProjectIndex,
    RelationshipFacts,
)

__all__ = [
    "FunctionFacts",
    "IndexBuilder",
    "ModelFacts",
    "ModuleFacts",
    "ObjectKind",
    "ProjectIndex",
    "RelationshipFacts",
]
