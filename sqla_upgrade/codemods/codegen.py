"""A module's code, generated as ``Module.code`` does with less overhead per node.

libcst's code generation wraps most nodes' output in ``record_syntactic_position``, a
generator-based context manager that does nothing unless positions are being recorded;
here it is one shared no-op context manager.

Inside ``remembered_statements()`` (one stage of one file: the passes run one after the
other, each keeping the statements it does not change) the tokens of every statement are
kept, by the statement and the indentation it was generated at, and reused when the same
statement is generated again at the same indentation: a pass that changes one function
costs the code generation of that function, not of the module. The code is exactly
``Module.code`` (``tests/test_metadata.py`` compares them).
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from typing import Any

import libcst as cst
from libcst._nodes.base import CSTNode
from libcst._nodes.internal import CodegenState

_NOTHING_TO_RECORD = nullcontext()
_libcst_codegen = CSTNode._codegen

#: id(statement) -> (statement, (indentation, default indent, default newline), tokens)
_STATEMENT_TOKENS: dict[int, tuple[CSTNode, tuple[str, str, str], list[str]]] = {}
_remembering = 0


class _QuickCodegenState(CodegenState):
    def record_syntactic_position(  # type: ignore[override]
        self, node: cst.CSTNode, **hoisted_from: Any
    ) -> nullcontext[None]:
        return _NOTHING_TO_RECORD


_EMPTY_MODULE = cst.Module(body=[])


@functools.cache
def _statement_types() -> tuple[type, ...]:
    """The concrete statement node types (libcst's ``_codegen`` is theirs by
    inheritance, so setting and deleting their own restores it)."""
    return tuple(
        value
        for value in vars(cst).values()
        if isinstance(value, type)
        and issubclass(value, CSTNode)
        and issubclass(value, cst.SimpleStatementLine | cst.BaseCompoundStatement)
        and "_codegen" not in vars(value)
        and not getattr(value, "__abstractmethods__", None)
    )


def _remembered_codegen(self: CSTNode, state: CodegenState, **kwargs: Any) -> None:
    if kwargs or type(state) is not _QuickCodegenState:  # elif, position recording
        _libcst_codegen(self, state, **kwargs)
        return
    where = ("".join(state.indent_tokens), state.default_indent, state.default_newline)
    known = _STATEMENT_TOKENS.get(id(self))
    if known is not None and known[0] is self and known[1] == where:
        state.tokens.extend(known[2])
        return
    start = len(state.tokens)
    _libcst_codegen(self, state)
    _STATEMENT_TOKENS[id(self)] = (self, where, state.tokens[start:])


@contextmanager
def remembered_statements() -> Iterator[None]:
    """Within the block, the code of statements generated before is reused."""
    global _remembering
    _remembering += 1
    try:
        yield
    finally:
        _remembering -= 1
        if _remembering == 0:
            _STATEMENT_TOKENS.clear()


def node_code(node: cst.CSTNode) -> str:
    """The code of ``node`` alone (as an empty module's ``code_for_node``)."""
    return code_of(_EMPTY_MODULE, node)


def code_of(module: cst.Module, node: cst.CSTNode | None = None) -> str:
    """``module.code`` (or ``module.code_for_node(node)``)."""
    state = _QuickCodegenState(
        default_indent=module.default_indent, default_newline=module.default_newline
    )
    if not _remembering:
        (module if node is None else node)._codegen(state)
        return "".join(state.tokens)
    statement_types = _statement_types()
    for kind in statement_types:
        kind._codegen = _remembered_codegen  # type: ignore[attr-defined]
    try:
        (module if node is None else node)._codegen(state)
    finally:
        for kind in statement_types:
            del kind._codegen  # type: ignore[attr-defined]
    return "".join(state.tokens)


def bytes_of(module: cst.Module) -> bytes:
    """``module.bytes``."""
    return code_of(module).encode(module.encoding)
