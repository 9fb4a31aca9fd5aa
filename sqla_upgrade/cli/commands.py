"""Team-workflow commands: ``baseline``, ``report``, ``merge-reports``, and the ratchet
behind ``check --baseline``. They register themselves on the Typer ``app``."""

from __future__ import annotations

import json
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer

from sqla_upgrade.cli import baseline, ci_output, render, report_render
from sqla_upgrade.cli.app import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_PENDING,
    ChangedSinceOpt,
    JobsOpt,
    OnlyOpt,
    PathsArg,
    ShardOpt,
    SkipOpt,
    TargetOpt,
    UsageError,
    _execute,
    _guard,
    _stderr,
    app,
)
from sqla_upgrade.cli.sites import Site
from sqla_upgrade.codemods.options import Options
from sqla_upgrade.codemods.runner import RunReport


class ReportFormat(str, Enum):
    text = "text"
    json = "json"
    markdown = "markdown"
    html = "html"


OutputOpt = Annotated[
    Path | None, typer.Option("--output", "-o", help="Write to this file instead of stdout.")
]


def _emit(text: str, output: Path | None) -> None:
    if output is None:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
        sys.stdout.flush()
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"{output}: cannot write: {exc.strerror or exc}") from exc


def _print_failures(report: RunReport) -> None:
    err = _stderr()
    for result in report.failed:
        err.print(f"{result.path}: error: {result.error}", soft_wrap=True, markup=False)


# -- check --baseline ---------------------------------------------------------------------------
def _load_baseline(file: Path, target: str) -> baseline.Baseline:
    try:
        known = baseline.load(file)
        baseline.check_target(known, target, file)
    except baseline.BaselineError as exc:
        raise UsageError(str(exc)) from exc
    return known


def _text_ratchet(report: RunReport, comparison: baseline.Comparison, file: Path) -> None:
    err = _stderr()
    _print_failures(report)
    for site in comparison.new:
        message = ci_output.site_message(site)
        err.print(
            f"{site.path}:{site.line}:1: [baseline] new {message}", soft_wrap=True, markup=False
        )
    err.print(
        f"{len(comparison.new)} new legacy sites, {comparison.known} known from {file}, "
        f"{len(comparison.fixed)} fixed since it was written"
        + (f" (drop them: sqla-upgrade baseline {file})" if comparison.fixed else ""),
        soft_wrap=True,
        markup=False,
    )


def check_against_baseline(report: RunReport, options: Options, file: Path, output: str) -> int:
    """``check --baseline FILE``: exit 1 only for sites the baseline does not hold."""
    comparison = baseline.compare(report, _load_baseline(file, options.target), file)
    new_sites: list[Site] = comparison.new
    if output == "json":
        document = render.report_document(report, "check", options.target, with_diff=False)
        document["baseline"] = comparison.to_json(file)
        typer.echo(json.dumps(document, indent=2))
    elif output == "github":
        for line in ci_output.github_annotations(report, new_sites):
            typer.echo(line)
    elif output == "sarif":
        typer.echo(ci_output.sarif_document(report, new_sites))
    else:
        _text_ratchet(report, comparison, file)
    if report.failed:
        return EXIT_FAILED
    return EXIT_PENDING if new_sites else EXIT_OK


# -- baseline -------------------------------------------------------------------------------------
@app.command("baseline")
@_guard
def baseline_command(
    file: Annotated[Path, typer.Argument(metavar="FILE", help="The baseline file to write.")],
    paths: PathsArg = None,
    target: TargetOpt = None,
    only: OnlyOpt = None,
    skip: SkipOpt = None,
    jobs: JobsOpt = None,
    shard: ShardOpt = None,
    changed_since: ChangedSinceOpt = None,
) -> int:
    """Write or refresh the baseline of known legacy sites (fixed ones drop out)."""
    if paths and "-" in [str(p) for p in paths]:
        raise UsageError("baseline needs paths, not - (stdin)")
    report, options, _ = _execute(
        "baseline", paths, shard, changed_since, target=target, only=only, skip=skip, jobs=jobs
    )
    previous = None
    if file.exists():
        previous = _load_baseline_for_refresh(file, options.target)
    refreshed = baseline.refresh(report, previous, file)
    try:
        baseline.write(file, options.target, refreshed.entries)
    except OSError as exc:
        raise UsageError(f"{file}: cannot write: {exc.strerror or exc}") from exc
    _print_failures(report)
    _stderr().print(
        f"{file}: {len(refreshed.entries)} legacy sites recorded "
        f"({refreshed.added} added, {refreshed.dropped} dropped)",
        soft_wrap=True,
        markup=False,
    )
    return EXIT_FAILED if report.failed else EXIT_OK


def _load_baseline_for_refresh(file: Path, target: str) -> baseline.Baseline | None:
    try:
        previous = baseline.load(file)
    except baseline.BaselineError as exc:
        raise UsageError(str(exc)) from exc
    return previous if previous.target == target else None  # another target: start afresh


# -- report ---------------------------------------------------------------------------------------
@app.command("report")
@_guard
def report_command(
    paths: PathsArg = None,
    target: TargetOpt = None,
    only: OnlyOpt = None,
    skip: SkipOpt = None,
    jobs: JobsOpt = None,
    output_format: Annotated[ReportFormat, typer.Option("--format")] = ReportFormat.text,
    output: OutputOpt = None,
    shard: ShardOpt = None,
    changed_since: ChangedSinceOpt = None,
) -> int:
    """Migration-readiness report: what is left, what is risky, what is automatic."""
    from sqla_upgrade.cli import readiness  # with the analyses it reads (libcst)

    if paths and "-" in [str(p) for p in paths]:
        raise UsageError("report needs paths, not - (stdin)")
    report, options, _ = _execute(
        "report", paths, shard, changed_since, target=target, only=only, skip=skip, jobs=jobs
    )
    document = readiness.build(report, options.target)
    _emit(report_render.RENDERERS[output_format.value](document), output)
    return EXIT_OK


# -- merge-reports -------------------------------------------------------------------------------
def _read_document(file: Path) -> dict[str, Any]:
    try:
        document = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UsageError(f"{file}: cannot read a JSON report: {exc}") from exc
    if not isinstance(document, dict) or document.get("tool") != "sqla-upgrade":
        raise UsageError(f"{file}: not a sqla-upgrade JSON report")
    return document


def merge_run_documents(documents: list[dict[str, Any]]) -> dict[str, Any]:
    """Combine ``diff``/``apply``/``check --format json`` documents of shards."""
    first = documents[0]
    for document in documents:
        if document.get("command") != first.get("command") or document.get("target") != first.get(
            "target"
        ):
            raise UsageError("the reports come from different commands or targets")
    merged = {k: first[k] for k in ("tool", "version", "schema_version", "command", "target")}
    merged["summary"] = _merged_summary([d["summary"] for d in documents])
    merged["files"] = sorted((f for d in documents for f in d["files"]), key=lambda f: f["path"])
    merged["async_functions"] = sorted(
        (f for d in documents for f in d["async_functions"]), key=lambda f: f["function"]
    )
    if all("baseline" in d for d in documents):
        merged["baseline"] = _merged_baseline([d["baseline"] for d in documents])
    return merged


def _merged_summary(summaries: list[dict[str, Any]]) -> dict[str, Any]:
    rewrites: dict[str, int] = {}
    for summary in summaries:
        for name, amount in summary["rewrites"].items():
            rewrites[name] = rewrites.get(name, 0) + amount
    merged: dict[str, Any] = {
        key: sum(s[key] for s in summaries)
        for key in ("files_scanned", "files_changed", "files_failed", "todos")
    }
    merged["rewrites"] = dict(sorted(rewrites.items()))
    return merged


def _merged_baseline(parts: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "file": parts[0]["file"],
        "new": sorted(
            (n for p in parts for n in p["new"]), key=lambda n: (n["path"], n["line"], n["code"])
        ),
        "known": sum(p["known"] for p in parts),
        "fixed": sum(p["fixed"] for p in parts),
    }


@app.command("merge-reports")
@_guard
def merge_reports(
    files: Annotated[list[Path], typer.Argument(metavar="FILES...", help="JSON reports.")],
    output_format: Annotated[ReportFormat, typer.Option("--format")] = ReportFormat.json,
    output: OutputOpt = None,
) -> int:
    """Combine the JSON reports of shards (readiness reports, or check/diff/apply JSON)."""
    from sqla_upgrade.cli import readiness

    documents = [_read_document(f) for f in files]
    if all(d.get("kind") == readiness.REPORT_KIND for d in documents):
        try:
            merged = readiness.merge(documents)
        except readiness.MergeError as exc:
            raise UsageError(str(exc)) from exc
        _emit(report_render.RENDERERS[output_format.value](merged), output)
        return EXIT_OK
    if any(d.get("kind") == readiness.REPORT_KIND for d in documents):
        raise UsageError("cannot merge readiness reports with check/diff/apply reports")
    if output_format is not ReportFormat.json:
        raise UsageError("check/diff/apply reports merge to JSON only (--format json)")
    _emit(json.dumps(merge_run_documents(documents), indent=2), output)
    return EXIT_OK
