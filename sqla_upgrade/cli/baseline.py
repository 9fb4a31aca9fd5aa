"""The ratchet: a baseline file of known legacy sites, so CI fails only on new ones.

The baseline is a JSON file meant to be committed::

    {"sqla-upgrade-baseline": 1, "target": "async",
     "entries": [{"fingerprint": "…", "path": "app/views.py", "code": "users = …"}]}

``path`` is relative to the folder holding the baseline file, so the file means the same
whichever directory the command runs from. Line numbers are not stored: a fingerprint
(``Site.fingerprint``) survives moved lines, and leaving lines out keeps the file from
changing when unrelated code moves. ``sqla-upgrade baseline`` rewrites the file from the
current sites: fixed entries drop out; entries of files the run did not cover (another
``--shard``, not ``--changed-since``, failed to parse) are kept while the file exists.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqla_upgrade.cli.sites import Site, legacy_sites
from sqla_upgrade.codemods.runner import RunReport

FORMAT_KEY = "sqla-upgrade-baseline"
FORMAT_VERSION = 1


class BaselineError(Exception):
    """The baseline file cannot be read or does not fit this run."""


@dataclass(frozen=True)
class Entry:
    fingerprint: str
    path: str
    code: str

    def to_json(self) -> dict[str, str]:
        return {"fingerprint": self.fingerprint, "path": self.path, "code": self.code}


@dataclass
class Baseline:
    target: str
    entries: list[Entry] = field(default_factory=list)

    @property
    def fingerprints(self) -> set[str]:
        return {e.fingerprint for e in self.entries}


@dataclass
class Comparison:
    """Sites of the run measured against a baseline."""

    new: list[Site]
    known: int
    fixed: list[Entry]

    def to_json(self, baseline_file: Path) -> dict[str, Any]:
        return {
            "file": str(baseline_file),
            "new": [
                {"path": s.path, "line": s.line, "kind": s.kind, "code": s.shown} for s in self.new
            ],
            "known": self.known,
            "fixed": len(self.fixed),
        }


def relative_path(path: str, base: Path) -> str:
    """``path`` relative to ``base``, with forward slashes."""
    absolute = os.path.abspath(path)
    try:
        return Path(os.path.relpath(absolute, base.resolve())).as_posix()
    except ValueError:  # another drive on Windows
        return Path(absolute).as_posix()


def current_entries(report: RunReport, base: Path) -> dict[str, list[tuple[Entry, Site]]]:
    """The run's sites as baseline entries, by the scanned file's relative path."""
    scanned: dict[str, list[tuple[Entry, Site]]] = {}
    for result in report.results:
        if result.failed:
            continue
        relative = relative_path(result.path, base)
        pairs = scanned.setdefault(relative, [])
        for site in legacy_sites(result):
            pairs.append((Entry(site.fingerprint(relative), relative, site.shown), site))
    return scanned


def load(file: Path) -> Baseline:
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BaselineError(
            f"{file}: no such baseline (create it with `sqla-upgrade baseline`)"
        ) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BaselineError(f"{file}: cannot read the baseline: {exc}") from exc
    if not isinstance(data, dict) or data.get(FORMAT_KEY) != FORMAT_VERSION:
        raise BaselineError(f"{file}: not a sqla-upgrade baseline (version {FORMAT_VERSION})")
    try:
        entries = [Entry(e["fingerprint"], e["path"], e.get("code", "")) for e in data["entries"]]
        return Baseline(target=str(data["target"]), entries=entries)
    except (KeyError, TypeError) as exc:
        raise BaselineError(f"{file}: malformed baseline entry: {exc}") from exc


def check_target(baseline: Baseline, target: str, file: Path) -> None:
    if baseline.target != target:
        raise BaselineError(
            f"{file} was written for --target {baseline.target}, this run is --target {target}"
        )


def compare(report: RunReport, baseline: Baseline, file: Path) -> Comparison:
    base = file.resolve().parent
    scanned = current_entries(report, base)
    known_prints = baseline.fingerprints
    current_prints = {e.fingerprint for pairs in scanned.values() for e, _ in pairs}
    new = [
        site for pairs in scanned.values() for e, site in pairs if e.fingerprint not in known_prints
    ]
    known = sum(1 for pairs in scanned.values() for e, _ in pairs if e.fingerprint in known_prints)
    fixed = [
        e for e in baseline.entries if e.path in scanned and e.fingerprint not in current_prints
    ]
    return Comparison(new=new, known=known, fixed=fixed)


@dataclass
class Refresh:
    entries: list[Entry]
    added: int
    dropped: int


def refresh(report: RunReport, previous: Baseline | None, file: Path) -> Refresh:
    """The new entries: the run's sites, plus old entries of files the run did not cover."""
    base = file.resolve().parent
    scanned = current_entries(report, base)
    entries = [e for pairs in scanned.values() for e, _ in pairs]
    old = previous.entries if previous else []
    kept = [e for e in old if e.path not in scanned and (base / e.path).is_file()]
    entries = sorted({*entries, *kept}, key=lambda e: (e.path, e.code, e.fingerprint))
    old_prints = {e.fingerprint for e in old}
    new_prints = {e.fingerprint for e in entries}
    return Refresh(
        entries=entries,
        added=len(new_prints - old_prints),
        dropped=len(old_prints - new_prints),
    )


def write(file: Path, target: str, entries: list[Entry]) -> None:
    document = {
        FORMAT_KEY: FORMAT_VERSION,
        "target": target,
        "entries": [e.to_json() for e in entries],
    }
    file.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
