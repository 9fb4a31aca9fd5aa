"""Diagnostics a pass emits while transforming a file."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Literal

TODO_PREFIX = "# TODO(sqla-upgrade): "

NoteKind = Literal["note", "todo"]


@dataclass(frozen=True, order=True)
class Note:
    """One diagnostic, printed as ``path:line:col: [pass] message``."""

    path: str
    line: int
    column: int
    pass_name: str
    message: str
    kind: NoteKind = "note"

    def render(self) -> str:
        marker = "TODO " if self.kind == "todo" else ""
        return f"{self.path}:{self.line}:{self.column}: [{self.pass_name}] {marker}{self.message}"

    def to_json(self) -> dict[str, object]:
        return asdict(self)
