"""Discovery, the index phase, parallel transformation and atomic writes.

Workers only compute results; the parent process alone writes files, in path order.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqla_upgrade.codemods.base import Pass
from sqla_upgrade.codemods.discovery import SourceFile, discover
from sqla_upgrade.codemods.index.builder import IndexBuilder
from sqla_upgrade.codemods.index.model import ProjectIndex
from sqla_upgrade.codemods.options import Options
from sqla_upgrade.codemods.pipeline import select_passes
from sqla_upgrade.codemods.staging import attach_plan, split_stages, stage_one, stage_two
from sqla_upgrade.codemods.templates import template_attribute_reads
from sqla_upgrade.codemods.transform import FileResult


@dataclass
class RunReport:
    results: list[FileResult] = field(default_factory=list)
    index_failures: dict[str, str] = field(default_factory=dict)
    async_plan: Any = None
    index: ProjectIndex | None = None

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


def _map(
    func: Callable[[Any], FileResult],
    jobs: list[Any],
    index: ProjectIndex,
    options: Options,
    passes: list[type[Pass]],
) -> Iterator[FileResult]:
    if options.jobs <= 1 or len(jobs) < 2:
        _init_worker(index, options, passes)
        yield from map(func, jobs)
        return
    chunk = max(1, min(32, len(jobs) // (options.jobs * 4) or 1))
    with ProcessPoolExecutor(
        max_workers=options.jobs, initializer=_init_worker, initargs=(index, options, passes)
    ) as pool:
        yield from pool.map(func, jobs, chunksize=chunk)


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
    files = discover(paths)
    index, failures = build_index(files)
    report = RunReport(index_failures=failures, index=index)
    two_stages = bool(split_stages(passes)[1])
    kept = [f for f in files if keep is None or keep(f.path)]
    analysed = files if two_stages else kept
    total = len(analysed) + (len(kept) if two_stages else 0)
    done = 0
    results: list[FileResult] = []
    for result in _map(_stage_one_job, analysed, index, options, passes):
        results.append(result)
        done += 1
        if progress is not None:
            progress(done, total)
    if two_stages:
        attach_plan(index, results, template_attribute_reads(paths))
    kept_paths = {f.path for f in kept}
    jobs = [
        (r, f.module_name) for r, f in zip(results, analysed, strict=True) if f.path in kept_paths
    ]
    for result in _map(_stage_two_job, jobs, index, options, passes):
        if result.error is None and result.path in failures:
            result.error = f"cannot parse: {failures[result.path]}"
            result.new = None
        report.results.append(result)
        if two_stages:
            done += 1
            if progress is not None:
                progress(done, total)
    report.async_plan = index.async_plan
    return report


# -- writing -------------------------------------------------------------------------------
def write_atomic(path: Path, data: bytes) -> str | None:
    """Replace the file's content at once, keeping its permissions. Returns an error or None."""
    real = os.path.realpath(path)
    try:
        info = os.stat(real)
    except OSError as exc:
        return f"cannot write: {exc.strerror or exc}"
    if not info.st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH):
        return "cannot write: the file is read-only"
    folder, name = os.path.split(real)
    try:
        fd, temp = tempfile.mkstemp(prefix=f".{name}.", suffix=".sqla-upgrade", dir=folder)
    except OSError as exc:
        return f"cannot write: {exc.strerror or exc}"
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp, stat.S_IMODE(info.st_mode))
        with contextlib.suppress(OSError):
            os.chown(temp, info.st_uid, info.st_gid)
        os.replace(temp, real)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        return f"cannot write: {exc.strerror or exc}"
    return None


def write_changes(report: RunReport) -> None:
    """Write every changed file; a write failure turns the result into a failure."""
    for result in report.results:
        if result.changed and result.new is not None:
            error = write_atomic(Path(result.path), result.new)
            if error is not None:
                result.error = error
                result.new = None
