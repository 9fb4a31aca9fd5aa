"""``PositionProvider``'s mapping, computed with less overhead per token and per node.

libcst finds positions by generating the module's code with a state that tracks the line
and column: it splits every token with a regular expression, records each node's
syntactic range through a generator-based context manager and builds two
``CodePosition`` and one ``CodeRange`` object per node. Here the same state class is
used with those steps done directly (a token without a line break only moves the
column; a range is recorded by a small context-manager object) and each range kept as
four integers, made a ``CodeRange`` when asked for. The positions are exactly libcst's
(``tests/test_metadata.py`` compares them).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from types import TracebackType

import libcst as cst
from libcst._position import CodePosition, CodeRange
from libcst.metadata import PositionProvider
from libcst.metadata.position_provider import NEWLINE_RE, PositionProvidingCodegenState

#: start line, start column, end line, end column
_Range = tuple[int, int, int, int]


class _SyntacticRange:
    __slots__ = ("_column", "_end_node", "_line", "_node", "_start_node", "_state")

    def __init__(
        self,
        state: _QuickPositionState,
        node: cst.CSTNode,
        start_node: cst.CSTNode | None,
        end_node: cst.CSTNode | None,
    ) -> None:
        self._state = state
        self._node = node
        self._start_node = start_node
        self._end_node = end_node

    def __enter__(self) -> None:
        self._line = self._state.line
        self._column = self._state.column

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        state = self._state
        ranges = state.ranges
        if self._start_node is None:
            start_line, start_column = self._line, self._column
        else:
            start_line, start_column = ranges[self._start_node][:2]
        if self._end_node is None:
            end_line, end_column = state.line, state.column
        else:
            end_line, end_column = ranges[self._end_node][2:]
        ranges[self._node] = (start_line, start_column, end_line, end_column)


class _QuickPositionState(PositionProvidingCodegenState):
    ranges: dict[cst.CSTNode, _Range]

    def before_codegen(self, node: cst.CSTNode) -> None:
        self._stack.append((self.line, self.column))  # type: ignore[arg-type]

    def after_codegen(self, node: cst.CSTNode) -> None:
        line: int
        column: int
        line, column = self._stack.pop()  # type: ignore[misc]
        ranges = self.ranges
        if node not in ranges:  # a syntactic range already recorded is kept
            ranges[node] = (line, column, self.line, self.column)

    def add_token(self, value: str) -> None:
        self.tokens.append(value)
        if "\n" in value or "\r" in value:
            segments = NEWLINE_RE.split(value)
            self.line += len(segments) - 1
            self.column = len(segments[-1])
        else:
            self.column += len(value)

    def record_syntactic_position(  # type: ignore[override]
        self,
        node: cst.CSTNode,
        *,
        start_node: cst.CSTNode | None = None,
        end_node: cst.CSTNode | None = None,
    ) -> _SyntacticRange:
        return _SyntacticRange(self, node, start_node, end_node)


class Positions(Mapping[cst.CSTNode, CodeRange]):
    """Node -> ``CodeRange``, from the ranges kept as integers."""

    def __init__(self, ranges: dict[cst.CSTNode, _Range]) -> None:
        self._ranges = ranges

    def __getitem__(self, node: cst.CSTNode) -> CodeRange:
        start_line, start_column, end_line, end_column = self._ranges[node]
        return CodeRange(CodePosition(start_line, start_column), CodePosition(end_line, end_column))

    def __contains__(self, node: object) -> bool:
        return node in self._ranges

    def __iter__(self) -> Iterator[cst.CSTNode]:
        return iter(self._ranges)

    def __len__(self) -> int:
        return len(self._ranges)


def positions_of(module: cst.Module) -> Positions:
    """Every node of ``module`` mapped to its syntactic range, as ``PositionProvider``."""
    state = _QuickPositionState(
        default_indent=module.default_indent,
        default_newline=module.default_newline,
        provider=PositionProvider(),
    )
    state.ranges = {}
    module._codegen(state)
    return Positions(state.ranges)
