"""A module's code, generated as ``Module.code`` does with less overhead per node.

libcst's code generation wraps most nodes' output in ``record_syntactic_position``, a
generator-based context manager that does nothing unless positions are being recorded;
here it is one shared no-op context manager. The code is exactly ``Module.code``
(``tests/test_metadata.py`` compares them).
"""

from __future__ import annotations

from contextlib import nullcontext
from typing import Any

import libcst as cst
from libcst._nodes.internal import CodegenState

_NOTHING_TO_RECORD = nullcontext()


class _QuickCodegenState(CodegenState):
    def record_syntactic_position(  # type: ignore[override]
        self, node: cst.CSTNode, **hoisted_from: Any
    ) -> nullcontext[None]:
        return _NOTHING_TO_RECORD


def code_of(module: cst.Module, node: cst.CSTNode | None = None) -> str:
    """``module.code`` (or ``module.code_for_node(node)``)."""
    state = _QuickCodegenState(
        default_indent=module.default_indent, default_newline=module.default_newline
    )
    (module if node is None else node)._codegen(state)
    return "".join(state.tokens)


def bytes_of(module: cst.Module) -> bytes:
    """``module.bytes``."""
    return code_of(module).encode(module.encoding)
