"""A file's outcome: plain data, importable without libcst (the report of a run whose
every file came from the cache is built without it)."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqla_upgrade.codemods.notes import Note


@dataclass
class FileResult:
    """What happened to one file. ``new`` is None when the file is unchanged or failed."""

    path: str
    old: bytes
    new: bytes | None = None
    notes: list[Note] = field(default_factory=list)
    rewrites: dict[str, int] = field(default_factory=dict)
    error: str | None = None
    stage_code: bytes | None = None  # the code between stages
    facts: object = None  # what the stage's collector gathered

    @property
    def current_code(self) -> bytes:
        """The code the next stage starts from: the stage-one output, else the file's own."""
        return self.stage_code if self.stage_code is not None else self.old

    @property
    def changed(self) -> bool:
        return self.new is not None and self.new != self.old

    @property
    def failed(self) -> bool:
        return self.error is not None

    @property
    def todos(self) -> list[Note]:
        return [n for n in self.notes if n.kind == "todo"]
