"""Self-check on real code: ``sqla-upgrade diff`` over SQLAlchemy's own source and ours.

SQLAlchemy's installed package is large, real, SQLAlchemy-heavy code nobody wrote for
this tool. Its wheel ships the package with ``sqlalchemy/testing`` (fixtures, the
dialect compliance suite) but not the project's test suite (``test/`` is not in the
wheel), so the package directory is what is checked. Our own source is the second tree.

For each tree and target the command runs as a subprocess with ``--jobs 2`` and must:
not crash (exit 0 or 1, a JSON report, no traceback); fail no file except for the
reasons listed in ``TOLERATED`` (none expected today); and every diff must apply to the
original and give code that compiles. The figures (files, changed, failed, seconds) are
printed at the end of the pytest run.

Time: the passes cost about 10-20 ms of CPU per line, so the whole package (about
250,000 lines) takes far longer than CI allows. The runs cover a fixed, deterministic
subset: ``SUBSETS`` names the folders/files, chosen to be SQLAlchemy-heavy (ORM
``Query`` itself, the ORM and Core test fixtures, declarative and asyncio extensions).
``SQLA_SELFCHECK_FULL=1`` runs the whole package instead (by hand: an hour of CPU).

Deselect locally with ``-m "not selfcheck"``; CI runs it.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy

import sqla_upgrade

from .conftest import FIGURES, Figures

pytestmark = pytest.mark.selfcheck

SQLALCHEMY = Path(sqlalchemy.__file__).resolve().parent
OWN_SOURCE = Path(sqla_upgrade.__file__).resolve().parent
FULL = os.environ.get("SQLA_SELFCHECK_FULL", "") not in ("", "0", "false")

#: the part of SQLAlchemy's package each target covers (relative to the package)
SUBSETS = {
    "2.0": [
        "ext/declarative",
        "ext/horizontal_shard.py",
        "ext/orderinglist.py",
        "ext/serializer.py",
        "orm/dynamic.py",
        "orm/query.py",
        "orm/scoping.py",
        "testing/fixtures",
        "testing/suite/test_results.py",
        "testing/suite/test_select.py",
    ],
    "async": [
        "ext/declarative",
        "ext/horizontal_shard.py",
        "orm/dynamic.py",
        "testing/fixtures",
        "testing/suite/test_results.py",
    ],
}
#: the part of our own source the async run covers (the 2.0 run covers all of it)
OWN_ASYNC_SUBSET = ["cli", "api.py", "codemods/runner.py", "codemods/transform.py"]

#: failure reasons a real tree may legitimately produce (none is expected today)
TOLERATED = ("cannot parse: ", "not transformed: ", "cannot transform: libcst would not keep")
#: seconds one file may take before it is reported as failed (a hang would fail the test)
FILE_TIMEOUT = "300"


def _paths(tree: str, target: str) -> list[Path]:
    if tree == "sqla_upgrade":
        if target == "async" and not FULL:
            return [OWN_SOURCE / part for part in OWN_ASYNC_SUBSET]
        return [OWN_SOURCE]
    if FULL:
        return [SQLALCHEMY]
    return [SQLALCHEMY / part for part in SUBSETS[target]]


def _decode(data: bytes) -> str:
    """As the diff renderer decodes (``cli.render``)."""
    for encoding in ("utf-8-sig", "latin-1"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("utf-8", errors="replace")


HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+\d+(?:,\d+)? @@")


def apply_unified_diff(old: str, diff: str) -> str:
    """The new text a unified diff of ``old`` describes (as ``cli.render`` writes it)."""
    old_lines = old.splitlines(keepends=True)
    new_lines: list[str] = []
    position = 0
    diff_lines = diff.splitlines(keepends=True)
    in_hunks = False
    for index, line in enumerate(diff_lines):
        hunk = HUNK.match(line)
        if hunk:
            in_hunks = True
            start = int(hunk.group(1)) - (0 if hunk.group(2) == "0" else 1)
            new_lines.extend(old_lines[position:start])
            position = start
        elif not in_hunks:
            continue  # the ---/+++ header
        elif line.startswith("\\"):
            if _adds(diff_lines, index):
                new_lines[-1] = new_lines[-1].rstrip("\r\n")
        elif line.startswith("+"):
            new_lines.append(line[1:])
        elif line.startswith("-"):
            position += 1
        elif line.startswith(" "):
            new_lines.append(old_lines[position])
            position += 1
    new_lines.extend(old_lines[position:])
    return "".join(new_lines)


def _adds(diff_lines: list[str], index: int) -> bool:
    """Is the line before a "no newline" marker one of the new file's?"""
    return diff_lines[index - 1].startswith(("+", " "))


def _run(paths: list[Path], target: str) -> tuple[dict, float]:
    started = time.monotonic()
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "sqla_upgrade",
            "diff",
            *map(str, paths),
            "--target",
            target,
            "--jobs",
            "2",
            "--timeout",
            FILE_TIMEOUT,
            "--format",
            "json",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    elapsed = time.monotonic() - started
    assert completed.returncode in (0, 1), completed.stderr[-3000:]
    assert "Traceback" not in completed.stderr, completed.stderr[-3000:]
    return json.loads(completed.stdout), elapsed


@pytest.mark.parametrize("target", ["2.0", "async"])
@pytest.mark.parametrize("tree", ["sqlalchemy", "sqla_upgrade"])
def test_selfcheck(tree: str, target: str) -> None:
    paths = _paths(tree, target)
    report, elapsed = _run(paths, target)
    summary = report["summary"]
    failures = {f["path"]: f["error"] for f in report["files"] if f["error"]}
    FIGURES.append(
        Figures(
            tree,
            target,
            summary["files_scanned"],
            summary["files_changed"],
            len(failures),
            elapsed,
            sum(_lines(p) for p in paths),
        )
    )
    unexpected = {p: e for p, e in failures.items() if not e.startswith(TOLERATED)}
    assert not unexpected, unexpected
    for entry in report["files"]:
        if entry["changed"]:
            new = apply_unified_diff(_decode(Path(entry["path"]).read_bytes()), entry["diff"])
            compile(new, entry["path"], "exec", dont_inherit=True)
    if tree == "sqla_upgrade":
        assert summary["files_changed"] == 0, "the tool's own source holds no legacy code"


def _lines(path: Path) -> int:
    files = [path] if path.is_file() else sorted(path.rglob("*.py"))
    return sum(f.read_bytes().count(b"\n") for f in files)


def test_apply_unified_diff_round_trip() -> None:
    import difflib

    old = "a\nb\nc\nd\ne\nf\ng\nh\ni\nj\n"
    for new in ("a\nB\nc\nd\ne\nf\ng\nh\ni\nj\n", "x\n" + old + "y", "a\nj\n", old.rstrip("\n")):
        lines = difflib.unified_diff(old.splitlines(True), new.splitlines(True), "a", "b")
        diff = "".join(
            line if line.endswith("\n") else line + "\n\\ No newline at end of file\n"
            for line in lines
        )
        assert apply_unified_diff(old, diff) == new
