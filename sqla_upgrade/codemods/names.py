"""Name resolution helpers built on libcst's QualifiedNameProvider.

A pass decides what a name is from its qualified name (``sqlalchemy.select`` however it
was imported), never from its spelling.
"""

from __future__ import annotations

import libcst as cst
from libcst.codemod import ContextAwareTransformer
from libcst.metadata import QualifiedNameProvider


def qualified_names(transformer: ContextAwareTransformer, node: cst.CSTNode) -> set[str]:
    try:
        names = transformer.get_metadata(QualifiedNameProvider, node, set())
    except KeyError:
        return set()
    return {q.name for q in names}


def refers_to(transformer: ContextAwareTransformer, node: cst.CSTNode, targets: set[str]) -> bool:
    return not qualified_names(transformer, node).isdisjoint(targets)
