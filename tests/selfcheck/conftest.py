"""The self-check's figures, printed at the end of the pytest run."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Figures:
    tree: str
    target: str
    files: int
    changed: int
    failed: int
    seconds: float
    lines: int


FIGURES: list[Figures] = []


def pytest_terminal_summary(terminalreporter, exitstatus, config):  # type: ignore[no-untyped-def]
    if not FIGURES:
        return
    terminalreporter.section("sqla-upgrade self-check on real code (diff, --jobs 2)")
    for row in FIGURES:
        terminalreporter.write_line(
            f"{row.tree:<13} --target {row.target:<5}  {row.files:>4} files "
            f"({row.lines:>6} lines)  {row.changed:>4} changed  {row.failed:>3} failed  "
            f"{row.seconds:6.1f} s"
        )
