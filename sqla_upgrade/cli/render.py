"""Rendering of run results: coloured diffs, notes, the summary table, JSON, annotations."""

from __future__ import annotations

import difflib
import json
from collections import Counter
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from sqla_upgrade import __version__
from sqla_upgrade.codemods.results import FileResult
from sqla_upgrade.codemods.runner import RunReport


def _decode(data: bytes) -> str:
    for encoding in ("utf-8-sig", "latin-1"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("utf-8", errors="replace")


def _lines(text: str) -> list[str]:
    """``text`` split after each ``\\n`` only: ``str.splitlines`` also splits at form
    feeds, ``\\r`` and other separators, which would put line breaks into the patch
    that are not in the file."""
    lines = text.split("\n")
    last = lines.pop()
    return [line + "\n" for line in lines] + ([last] if last else [])


def unified_diff(result: FileResult) -> str:
    """The change as a patch that ``git apply`` and ``patch`` take: every line of the
    files as it is, tabs and carriage returns included."""
    if result.new is None:
        return ""
    old = _lines(_decode(result.old))
    new = _lines(_decode(result.new))
    shown = result.path.lstrip("/")
    lines = difflib.unified_diff(old, new, f"a/{shown}", f"b/{shown}")
    return "".join(
        line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines
    )


def _diff_style(line: str) -> str:
    if line.startswith(("+++", "---")):
        return "bold"
    if line.startswith("+"):
        return "green"
    if line.startswith("-"):
        return "red"
    return "cyan" if line.startswith("@@") else ""


def _print_lines(console: Console, lines: list[tuple[str, str]]) -> None:
    """Print ``(line, style)`` pairs in one call: rich's overhead per call is most of the
    cost of printing a line."""
    if not lines:
        return
    if not (console.is_terminal or console.color_system is not None):
        # a pipe or a file gets the plain lines: rich would only measure and split them
        console.file.write("".join(f"{line}\n" for line, _ in lines))
        return
    text = Text()
    for number, (line, style) in enumerate(lines):
        if number:
            text.append("\n")
        text.append(line, style=style)
    console.print(text, soft_wrap=True, highlight=False)


def print_diff(console: Console, result: FileResult) -> None:
    """The patch, coloured on a terminal; elsewhere (a pipe, a file) written as it is,
    since rich would expand tabs and drop carriage returns."""
    patch = unified_diff(result)
    if console.is_terminal or console.color_system is not None:
        _print_lines(console, [(line, _diff_style(line)) for line in patch.splitlines()])
    elif patch:
        console.file.write(patch)


def print_notes(console: Console, report: RunReport) -> None:
    lines = [(f"note: {notice}", "dim") for notice in report.notices]
    for result in report.results:
        for note in result.notes:
            lines.append((note.render(), "yellow" if note.kind == "todo" else "dim"))
        if result.error:
            lines.append((f"{result.path}: error: {result.error}", "bold red"))
    _print_lines(console, lines)


def summary_counts(report: RunReport) -> dict[str, Any]:
    rewrites: Counter[str] = Counter()
    for result in report.results:
        rewrites.update(result.rewrites)
    return {
        "files_scanned": len(report.results),
        "files_changed": len(report.changed),
        "files_failed": len(report.failed),
        "todos": sum(len(r.todos) for r in report.results),
        "rewrites": dict(sorted(rewrites.items())),
    }


def print_summary(console: Console, report: RunReport, verb: str) -> None:
    counts = summary_counts(report)
    table = Table(title=f"sqla-upgrade {verb}", show_header=True, header_style="bold")
    table.add_column("what")
    table.add_column("count", justify="right")
    table.add_row("files scanned", str(counts["files_scanned"]))
    table.add_row(f"files {verb}", str(counts["files_changed"]))
    table.add_row("files failed", str(counts["files_failed"]))
    table.add_row("TODOs left for review", str(counts["todos"]))
    for name, amount in counts["rewrites"].items():
        table.add_row(f"rewrites: {name}", str(amount))
    console.print(table)


SCHEMA_VERSION = 1


def report_json(report: RunReport, command: str, target: str, with_diff: bool) -> str:
    return json.dumps(report_document(report, command, target, with_diff), indent=2)


def report_document(
    report: RunReport, command: str, target: str, with_diff: bool
) -> dict[str, Any]:
    """The JSON document of a run (``schemas/run-report.schema.json``)."""
    files = []
    for result in report.results:
        if not (result.changed or result.failed or result.notes):
            continue
        entry: dict[str, Any] = {
            "path": result.path,
            "changed": result.changed,
            "error": result.error,
            "rewrites": result.rewrites,
            "notes": [n.to_json() for n in result.notes],
        }
        if with_diff:
            entry["diff"] = unified_diff(result)
        files.append(entry)
    document = {
        "tool": "sqla-upgrade",
        "version": __version__,
        "schema_version": SCHEMA_VERSION,
        "command": command,
        "target": target,
        "summary": summary_counts(report),
        "files": files,
        "async_functions": async_functions(report),
    }
    if report.notices:
        document["notices"] = list(report.notices)
    return document


def async_functions(report: RunReport) -> list[dict[str, Any]]:
    """Every function the run makes async, with the call chain down to the I/O."""
    plan = report.async_plan
    if plan is None:
        return []
    entries = []
    reported = {r.path for r in report.results}  # a shard lists the functions of its files
    for qualname in sorted(plan.functions):
        if qualname.startswith("<") or qualname in plan.already_async:
            continue
        path, line = plan.locations.get(qualname, ("", 0))
        if path not in reported:
            continue
        entries.append(
            {"function": qualname, "path": path, "line": line, "why": plan.chain(qualname)}
        )
    return entries


def print_async_functions(console: Console, report: RunReport) -> None:
    entries = async_functions(report)
    if not entries:
        return
    console.print(Text(f"{len(entries)} functions become async:", style="bold"), highlight=False)
    lines = []
    for entry in entries:
        chain = " → ".join(entry["why"][1:])
        line = f"{entry['path']}:{entry['line']}: {entry['function'].rsplit('.', 1)[-1]} ← {chain}"
        lines.append((line, "dim"))
    _print_lines(console, lines)
