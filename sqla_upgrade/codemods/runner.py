"""Discovery, the index phase, parallel transformation and atomic writes.

Workers only compute results; the parent process alone writes files, in path order.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from sqla_upgrade.codemods import templates
from sqla_upgrade.codemods.base import Pass
from sqla_upgrade.codemods.discovery import SourceFile, discover
from sqla_upgrade.codemods.index.builder import IndexBuilder
from sqla_upgrade.codemods.index.model import ProjectIndex
from sqla_upgrade.codemods.limits import oversized, oversized_result
from sqla_upgrade.codemods.options import Options
from sqla_upgrade.codemods.pipeline import select_passes
from sqla_upgrade.codemods.staging import attach_plan, split_stages, stage_one, stage_two
from sqla_upgrade.codemods.transform import FileResult
from sqla_upgrade.codemods.workers import JobFailure, run_jobs


@dataclass
class RunReport:
    results: list[FileResult] = field(default_factory=list)
    index_failures: dict[str, str] = field(default_factory=dict)
    async_plan: Any = None
    index: ProjectIndex | None = None
    #: run-level messages, each shown once (not tied to a file)
    notices: list[str] = field(default_factory=list)

    @property
    def changed(self) -> list[FileResult]:
        return [r for r in self.results if r.changed]

    @property
    def failed(self) -> list[FileResult]:
        return [r for r in self.results if r.failed]


def read_bytes(path: Path) -> bytes | str:
    """The file's bytes, or a one-line reason it cannot be read."""
    try:
        return path.read_bytes()
    except OSError as exc:
        return f"cannot read: {exc.strerror or exc}"


def build_index(files: list[SourceFile]) -> tuple[ProjectIndex, dict[str, str]]:
    builder = IndexBuilder()
    for source_file in files:
        data = read_bytes(source_file.path)
        if isinstance(data, bytes):
            builder.add(
                data, source_file.module_name, str(source_file.path), source_file.is_package
            )
    return builder.build(), builder.failures


# -- workers -----------------------------------------------------------------------------
_worker: dict[str, object] = {}


def _init_worker(index: ProjectIndex, options: Options, passes: list[type[Pass]]) -> None:
    _worker.update(index=index, options=options, passes=passes)


def _context() -> tuple[ProjectIndex, Options, list[type[Pass]]]:
    index, options, passes = _worker["index"], _worker["options"], _worker["passes"]
    assert isinstance(index, ProjectIndex) and isinstance(options, Options)
    return index, options, passes  # type: ignore[return-value]


def _stage_one_job(source_file: SourceFile) -> FileResult:
    index, options, passes = _context()
    data = read_bytes(source_file.path)
    if isinstance(data, str):
        return FileResult(path=str(source_file.path), old=b"", error=data)
    result = FileResult(path=str(source_file.path), old=data)
    return stage_one(result, source_file.module_name, index, options, passes)


def _stage_two_job(job: tuple[FileResult, str]) -> FileResult:
    index, options, passes = _context()
    result, module_name = job
    return stage_two(result, module_name, index, options, passes)


def _stage_one_failure(source_file: SourceFile, reason: str) -> FileResult:
    return FileResult(path=str(source_file.path), old=b"", error=reason)


def _decided_without_parsing(
    big: dict[str, int], failures: dict[str, str], options: Options, passes: list[type[Pass]]
) -> dict[str, FileResult]:
    """Outcomes of the files no worker gets: those over the size limit, and those Python's
    own parser rejects (never handed to libcst, whose native parser can exhaust its
    stack on some of them, such as thousands of nested brackets)."""
    decided = {path: _unparsable(path, reason) for path, reason in failures.items()}
    for path, size in big.items():
        assert options.max_file_mb is not None
        decided[path] = oversized_result(path, size, options.max_file_mb, passes)
    return decided


def _unparsable(path: str, reason: str) -> FileResult:
    if reason.startswith(("RecursionError", "MemoryError")):
        reason = f"nested too deeply for Python's own parser ({reason})"
    return FileResult(path=path, old=b"", error=f"cannot parse: {reason}")


def _stage_two_failure(job: tuple[FileResult, str], reason: str) -> FileResult:
    return replace(job[0], error=reason, new=None)


def _map(
    func: Callable[[Any], FileResult],
    jobs: list[Any],
    index: ProjectIndex,
    options: Options,
    passes: list[type[Pass]],
    failure: Callable[[Any, str], FileResult],
) -> Generator[FileResult, None, None]:
    """``func`` over ``jobs``, results in job order: in this process when one job at a time
    and no time limit are asked for, else in worker processes (see ``workers``), where a
    job that times out or kills its worker becomes ``failure(job, reason)``."""
    if options.timeout is None and (options.jobs <= 1 or len(jobs) < 2):
        _init_worker(index, options, passes)
        yield from map(func, jobs)
        return
    finished: dict[int, FileResult] = {}
    following = 0
    outcomes = run_jobs(
        func, jobs, options.jobs, options.timeout, _init_worker, (index, options, passes)
    )
    for position, outcome in outcomes:
        if isinstance(outcome, JobFailure):
            outcome = failure(jobs[position], outcome.reason)
        finished[position] = outcome
        while following in finished:
            yield finished.pop(following)
            following += 1


def run(
    paths: list[Path],
    options: Options,
    progress: Callable[[int, int], None] | None = None,
    keep: Callable[[Path], bool] | None = None,
) -> RunReport:
    """Transform every file under ``paths`` (nothing is written here).

    ``keep`` narrows the files transformed and reported (``--shard``, ``--changed-since``);
    the index, and for ``--target async`` the stage-one analysis behind the async plan,
    still cover every file, so each kept file gets exactly its result of a full run.
    """
    passes = select_passes(options.target, options.only, options.skip)
    templates.clear_cache()
    files = discover(paths)
    big = oversized(files, options.max_file_mb)
    index, failures = build_index([f for f in files if str(f.path) not in big])
    report = RunReport(index_failures=failures, index=index)
    two_stages = bool(split_stages(passes)[1])
    kept = [f for f in files if keep is None or keep(f.path)]
    analysed = files if two_stages else kept
    total = len(analysed) + (len(kept) if two_stages else 0)
    done = 0
    results: list[FileResult] = []
    decided = _decided_without_parsing(big, failures, options, passes)
    parsed = [f for f in analysed if str(f.path) not in decided]
    transformed = _map(_stage_one_job, parsed, index, options, passes, _stage_one_failure)
    try:
        for source_file in analysed:
            result = decided.get(str(source_file.path))
            results.append(result if result is not None else next(transformed))
            done += 1
            if progress is not None:
                progress(done, total)
    finally:
        transformed.close()
    if two_stages:
        attach_plan(index, results, templates.template_attribute_reads(paths), paths)
        notice = templates.jinja_missing_notice(paths)
        if notice is not None:
            report.notices.append(notice)
    kept_paths = {f.path for f in kept}
    jobs = [
        (r, f.module_name) for r, f in zip(results, analysed, strict=True) if f.path in kept_paths
    ]
    for result in _map(_stage_two_job, jobs, index, options, passes, _stage_two_failure):
        report.results.append(result)
        if two_stages:
            done += 1
            if progress is not None:
                progress(done, total)
    report.async_plan = index.async_plan
    return report
