"""Output for CI systems: GitHub Actions workflow commands and SARIF 2.1.0.

Both list the run's legacy sites (``sites``) at their line in the original file, TODOs
and notes the passes left, and files that failed. With a baseline only the new sites
are listed: what a pull request must not add.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from sqla_upgrade import __version__
from sqla_upgrade.cli.sites import Site, legacy_sites
from sqla_upgrade.codemods.notes import TODO_PREFIX
from sqla_upgrade.codemods.runner import RunReport

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
RULES = {
    "legacy-code": "Legacy SQLAlchemy code that sqla-upgrade rewrites",
    "manual-migration": "Legacy SQLAlchemy code sqla-upgrade cannot migrate with the same meaning",
    "note": "A remark of an sqla-upgrade pass",
    "failed": "A file sqla-upgrade could not process",
}


def site_message(site: Site) -> str:
    if site.kind == "todo":
        reason = site.text.removeprefix(TODO_PREFIX.strip()).strip()
        return f"legacy SQLAlchemy code to migrate by hand: {reason}"
    return f"legacy SQLAlchemy code (`sqla-upgrade apply` rewrites it): {site.shown}"


def _escape_property(value: str) -> str:
    return (
        value.replace("%", "%25")
        .replace("\r", "%0D")
        .replace("\n", "%0A")
        .replace(":", "%3A")
        .replace(",", "%2C")
    )


def _escape_data(value: str) -> str:
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _command(
    level: str, path: str, message: str, line: int = 0, column: int = 0, title: str = ""
) -> str:
    properties = [f"file={_escape_property(path)}"]
    if line:
        properties.append(f"line={line}")
    if column:
        properties.append(f"col={column}")
    if title:
        properties.append(f"title={_escape_property(title)}")
    return f"::{level} {','.join(properties)}::{_escape_data(message)}"


def github_annotations(report: RunReport, new_sites: Iterable[Site] | None = None) -> list[str]:
    """``::error``/``::warning``/``::notice`` lines; only ``new_sites`` when given."""
    lines = [_command("error", r.path, f"sqla-upgrade failed: {r.error}") for r in report.failed]
    if new_sites is not None:
        lines += [
            _command("error", s.path, "new " + site_message(s), s.line, title="sqla-upgrade")
            for s in new_sites
        ]
        return lines
    for result in report.results:
        for site in legacy_sites(result):
            if site.kind != "todo":  # TODO sites are reported by their note below
                lines.append(
                    _command(
                        "error", site.path, site_message(site), site.line, title="sqla-upgrade"
                    )
                )
        for note in result.notes:
            level = "warning" if note.kind == "todo" else "notice"
            title = f"sqla-upgrade {note.pass_name}"
            lines.append(_command(level, note.path, note.message, note.line, note.column, title))
    return lines


# -- SARIF ----------------------------------------------------------------------------------
def _uri(path: str) -> str:
    """The path relative to the working directory (the repository root in CI)."""
    relative = os.path.relpath(os.path.abspath(path))
    chosen = os.path.abspath(path) if relative.startswith("..") else relative
    return Path(chosen).as_posix()


def _location(path: str, line: int, column: int = 0) -> dict[str, Any]:
    region: dict[str, int] = {"startLine": max(line, 1)}
    if column:
        region["startColumn"] = column
    return {"physicalLocation": {"artifactLocation": {"uri": _uri(path)}, "region": region}}


def _site_result(site: Site) -> dict[str, Any]:
    return {
        "ruleId": "manual-migration" if site.kind == "todo" else "legacy-code",
        "level": "error",
        "message": {"text": site_message(site)},
        "locations": [_location(site.path, site.line)],
        "partialFingerprints": {"sqlaUpgradeSite/v1": site.fingerprint(_uri(site.path))},
    }


def sarif_document(report: RunReport, new_sites: Iterable[Site] | None = None) -> str:
    """A SARIF 2.1.0 log (for code-scanning uploads)."""
    results: list[dict[str, Any]] = [
        {
            "ruleId": "failed",
            "level": "error",
            "message": {"text": f"sqla-upgrade failed: {r.error}"},
            "locations": [_location(r.path, 1)],
        }
        for r in report.failed
    ]
    sites = (
        list(new_sites)
        if new_sites is not None
        else [s for r in report.results for s in legacy_sites(r)]
    )
    results += [_site_result(s) for s in sites]
    if new_sites is None:
        results += [
            {
                "ruleId": "note",
                "level": "note",
                "message": {"text": f"[{n.pass_name}] {n.message}"},
                "locations": [_location(n.path, n.line, n.column)],
            }
            for r in report.results
            for n in r.notes
            if n.kind != "todo"
        ]
    driver = {
        "name": "sqla-upgrade",
        "version": __version__,
        "rules": [{"id": k, "shortDescription": {"text": v}} for k, v in RULES.items()],
    }
    log = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{"tool": {"driver": driver}, "results": results}],
    }
    return json.dumps(log, indent=2)
