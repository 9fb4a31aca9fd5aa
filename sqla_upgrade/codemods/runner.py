"""Discovery, the index phase, parallel transformation and atomic writes.

Workers only compute results; the parent process alone writes files, in path order.
"""

from __future__ import annotations

import gc
import pickle
from collections.abc import Callable, Generator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqla_upgrade.codemods import entry_points, templates
from sqla_upgrade.codemods.cache import (
    Cache,
    canonical_digest,
    open_cache,
    options_digest,
    sha256,
    tool_digest,
)
from sqla_upgrade.codemods.discovery import SourceFile, discover
from sqla_upgrade.codemods.index.builder import Collected, IndexBuilder, Unparsable, collect_one
from sqla_upgrade.codemods.index.model import ProjectIndex
from sqla_upgrade.codemods.kept_trees import KEPT
from sqla_upgrade.codemods.limits import oversized, oversized_result
from sqla_upgrade.codemods.options import Options
from sqla_upgrade.codemods.pipeline import select_entries
from sqla_upgrade.codemods.registry import PassEntry, load_passes
from sqla_upgrade.codemods.results import FileResult
from sqla_upgrade.codemods.workers import JobFailure, run_jobs

if TYPE_CHECKING:
    from sqla_upgrade.codemods.base import Pass


@dataclass
class RunReport:
    results: list[FileResult] = field(default_factory=list)
    index_failures: dict[str, str] = field(default_factory=dict)
    async_plan: Any = None
    index: ProjectIndex | None = None
    #: run-level messages, each shown once (not tied to a file)
    notices: list[str] = field(default_factory=list)
    cache: Cache | None = None

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


def build_index(
    files: list[SourceFile], cache: Cache | None = None
) -> tuple[ProjectIndex, dict[str, str], str]:
    """The index, the files it could not parse, and a digest of all it was built from
    (this tool and every indexed file's path, module name and bytes)."""
    builder = IndexBuilder()
    keys = []
    for source_file in files:
        data = read_bytes(source_file.path)
        if isinstance(data, bytes):
            key = _index_key(data, source_file)
            keys.append(key)
            builder.add_collected(_collected(data, source_file, key, cache))
    return builder.build(), builder.failures, sha256("index inputs", *keys)


def _index_key(data: bytes, source_file: SourceFile) -> str:
    path, name, package = str(source_file.path), source_file.module_name, source_file.is_package
    return sha256("index", tool_digest(), path, name, str(package), data)


def _collected(data: bytes, source_file: SourceFile, key: str, cache: Cache | None) -> Collected:
    """One module's index facts, from the cache when this content was indexed before."""
    path, name, package = str(source_file.path), source_file.module_name, source_file.is_package
    if cache is None:
        return collect_one(data, name, path, package)
    found = cache.get(key)
    if isinstance(found, Unparsable) or (isinstance(found, tuple) and len(found) == 2):
        return found
    collected = collect_one(data, name, path, package)
    cache.put(key, collected)  # pickled now, before ``build`` links (and edits) the facts
    return collected


class _ResultCache:
    """Stage-one and final results of files, keyed by everything they depend on."""

    def __init__(
        self, cache: Cache, index: ProjectIndex, index_inputs: str, options: Options
    ) -> None:
        self.cache = cache
        index_digest = self._index_digest(index, index_inputs)
        self.prefix = sha256(tool_digest(), options_digest(options), index_digest)
        self.plan = ""

    def _index_digest(self, index: ProjectIndex, index_inputs: str) -> str:
        """The index's content digest: results depend on the facts, not on the files they
        came from (editing a function's body keeps other files' results). Remembered
        under the index's inputs, since computing it walks the whole index."""
        key = sha256("index digest", index_inputs)
        found = self.cache.get(key)
        if isinstance(found, str):
            return found
        digest = canonical_digest(index)
        self.cache.put(key, digest)
        return digest

    def stage_one_key(self, path: str, module_name: str, data: bytes) -> str:
        return sha256("stage1", self.prefix, path, module_name, data)

    def final_key(self, result: FileResult, module_name: str) -> str:
        first = self.stage_one_key(result.path, module_name, result.old)
        return sha256("final", first, self.plan)

    def plans_key(
        self, results: list[FileResult], analysed: list[SourceFile], roots: list[Path]
    ) -> str:
        """Everything the plans computed between the stages are made of: every file's
        stage-one code and outcome, the index and options (``prefix``), the templates and
        the packaging files the entry points are declared in."""
        parts = ["plans", self.prefix, str(templates.jinja_available()), *map(str, roots)]
        for result, source_file in zip(results, analysed, strict=True):
            code = result.current_code
            parts += [result.path, source_file.module_name, result.error or "", sha256(code)]
        declared = entry_points.declaration_inputs(roots)
        return sha256(*parts, *templates.template_inputs(roots), *declared)

    def restore_plans(self, key: str, index: ProjectIndex) -> bool:
        """Put the plans an earlier run stored under ``key`` in ``index``."""
        found = self.cache.get(key)
        if not (isinstance(found, tuple) and len(found) == 4):
            return False
        index.async_plan, index.write_only_plan, index.eager_plan, self.plan = found
        return True

    def remember_plans(self, key: str, index: ProjectIndex) -> None:
        self.plan = plans_digest(index)
        plans = (index.async_plan, index.write_only_plan, index.eager_plan, self.plan)
        self.cache.put(key, plans)

    def get(self, key: str, data: bytes) -> FileResult | None:
        found = self.cache.get(key)
        return replace(found, old=data) if isinstance(found, FileResult) else None

    def put(self, key: str, result: FileResult) -> None:
        if result.error is None:  # failures (timeouts, crashes...) are never remembered
            self.cache.put(key, replace(result, old=b""))

    def put_stage_one(self, key: str, result: FileResult) -> None:
        """A stage-one result, its facts kept pickled: they are read only when the plans
        are computed, and unpickling them imports the analyses (and libcst)."""
        if result.facts is not None:
            try:
                facts = PickledFacts(pickle.dumps(result.facts, pickle.HIGHEST_PROTOCOL))
            except Exception:  # unpicklable facts: the result is simply not cached
                return
            result = replace(result, facts=facts)
        self.put(key, result)


@dataclass(frozen=True)
class PickledFacts:
    data: bytes

    def load(self) -> object:
        return pickle.loads(self.data)


# -- workers -----------------------------------------------------------------------------
_worker: dict[str, object] = {}


def _init_worker(index: ProjectIndex, options: Options, entries: list[PassEntry]) -> None:
    _worker.update(index=index, options=options, passes=load_passes(entries))


def _context() -> tuple[ProjectIndex, Options, list[type[Pass]]]:
    index, options, passes = _worker["index"], _worker["options"], _worker["passes"]
    assert isinstance(index, ProjectIndex) and isinstance(options, Options)
    return index, options, passes  # type: ignore[return-value]


def _load_transforms(entries: list[PassEntry]) -> None:
    """Import the passes and what runs them (libcst): only once a file needs them, and in
    this process before workers are forked, so that they inherit the imports."""
    load_passes(entries)
    import sqla_upgrade.codemods.staging  # noqa: F401


def _stage_one_job(source_file: SourceFile) -> FileResult:
    from sqla_upgrade.codemods.staging import stage_one

    index, options, passes = _context()
    data = read_bytes(source_file.path)
    if isinstance(data, str):
        return FileResult(path=str(source_file.path), old=b"", error=data)
    result = FileResult(path=str(source_file.path), old=data)
    return stage_one(result, source_file.module_name, index, options, passes)


def _stage_two_job(job: tuple[FileResult, str]) -> FileResult:
    from sqla_upgrade.codemods.staging import stage_two

    index, options, passes = _context()
    result, module_name = job
    return stage_two(result, module_name, index, options, passes)


def _stage_one_failure(source_file: SourceFile, reason: str) -> FileResult:
    return FileResult(path=str(source_file.path), old=b"", error=reason)


def _decided_without_parsing(
    big: dict[str, int], failures: dict[str, str], options: Options, entries: list[PassEntry]
) -> dict[str, FileResult]:
    """Outcomes of the files no worker gets: those over the size limit, and those Python's
    own parser rejects (never handed to libcst, whose native parser can exhaust its
    stack on some of them, such as thousands of nested brackets)."""
    decided = {path: _unparsable(path, reason) for path, reason in failures.items()}
    for path, size in big.items():
        assert options.max_file_mb is not None
        decided[path] = oversized_result(path, size, options.max_file_mb, load_passes(entries))
    return decided


def _unparsable(path: str, reason: str) -> FileResult:
    if reason.startswith(("RecursionError", "MemoryError")):
        reason = f"nested too deeply for Python's own parser ({reason})"
    return FileResult(path=path, old=b"", error=f"cannot parse: {reason}")


def _stage_two_failure(job: tuple[FileResult, str], reason: str) -> FileResult:
    return replace(job[0], error=reason, new=None)


def _job_cost(job: Any) -> float:
    """About how long a job takes: the size of the code it transforms."""
    if isinstance(job, SourceFile):
        try:
            return float(job.path.stat().st_size)
        except OSError:
            return 0.0
    result = job[0]
    return float(len(result.current_code))


def _map(
    func: Callable[[Any], FileResult],
    jobs: list[Any],
    index: ProjectIndex,
    options: Options,
    entries: list[PassEntry],
    failure: Callable[[Any, str], FileResult],
) -> Generator[FileResult, None, None]:
    """``func`` over ``jobs``, results in job order: in this process when one job at a time
    and no time limit are asked for, else in worker processes (see ``workers``), where a
    job that times out or kills its worker becomes ``failure(job, reason)``."""
    if not jobs:
        return
    _load_transforms(entries)
    if options.timeout is None and (options.jobs <= 1 or len(jobs) < 2):
        _init_worker(index, options, entries)
        KEPT.enabled = True  # both stages of a file run here: stage two reuses its tree
        yield from map(func, jobs)
        return
    finished: dict[int, FileResult] = {}
    following = 0
    outcomes = run_jobs(
        func,
        jobs,
        options.jobs,
        options.timeout,
        _init_worker,
        (index, options, entries),
        cost=_job_cost,
    )
    for position, outcome in outcomes:
        if isinstance(outcome, JobFailure):
            outcome = failure(jobs[position], outcome.reason)
        finished[position] = outcome
        while following in finished:
            yield finished.pop(following)
            following += 1


class _LongLived:
    """Keeps what a run holds for its whole length (the index, the stage-one results, the
    plans) out of the cyclic garbage collector's full collections, which otherwise walk
    all of it again and again while the files are transformed: the cost per file then grew
    with the size of the repository. Done only when nothing else froze objects, and undone
    when the run ends."""

    def __init__(self) -> None:
        self.froze = False

    def keep(self) -> None:
        if self.froze or gc.get_freeze_count() == 0:
            gc.freeze()
            self.froze = True

    def release(self) -> None:
        if self.froze:
            gc.unfreeze()


def run(
    paths: list[Path],
    options: Options,
    progress: Callable[[int, int], None] | None = None,
    keep: Callable[[Path], bool] | None = None,
    on_result: Callable[[FileResult], None] | None = None,
) -> RunReport:
    """Transform every file under ``paths`` (nothing is written here); ``on_result`` is
    called with each file's final result as soon as it is known, in the report's order.

    ``keep`` narrows the files transformed and reported (``--shard``, ``--changed-since``);
    the index, and for ``--target async`` the stage-one analysis behind the async plan,
    still cover every file, so each kept file gets exactly its result of a full run.
    With ``options.cache_dir``, results of unchanged files come from the cache.
    """
    long_lived = _LongLived()
    try:
        return _run(paths, options, progress, keep, on_result, long_lived)
    finally:
        KEPT.clear()
        long_lived.release()


def _run(
    paths: list[Path],
    options: Options,
    progress: Callable[[int, int], None] | None,
    keep: Callable[[Path], bool] | None,
    on_result: Callable[[FileResult], None] | None,
    long_lived: _LongLived,
) -> RunReport:
    entries = select_entries(options.target, options.only, options.skip)
    templates.clear_cache()
    files = discover(paths)
    big = oversized(files, options.max_file_mb)
    cache = open_cache(options)
    index, failures, index_inputs = build_index([f for f in files if str(f.path) not in big], cache)
    long_lived.keep()
    report = RunReport(index_failures=failures, index=index, cache=cache)
    results_cache = _ResultCache(cache, index, index_inputs, options) if cache else None
    two_stages = any(entry.stage == 2 for entry in entries)
    kept = [f for f in files if keep is None or keep(f.path)]
    analysed = files if two_stages else kept
    total = len(analysed) + (len(kept) if two_stages else 0)
    done = 0
    results: list[FileResult] = []
    decided = _decided_without_parsing(big, failures, options, entries)
    parsed = [f for f in analysed if str(f.path) not in decided]
    remembered = _stage_one_hits(parsed, results_cache)
    missing = [f for f in parsed if str(f.path) not in remembered]
    transformed = _map(_stage_one_job, missing, index, options, entries, _stage_one_failure)
    try:
        for source_file in analysed:
            result = decided.get(str(source_file.path)) or remembered.get(str(source_file.path))
            if result is None:
                result = next(transformed)
                if results_cache is not None:
                    path, name = str(source_file.path), source_file.module_name
                    key = results_cache.stage_one_key(path, name, result.old)
                    results_cache.put_stage_one(key, result)
            results.append(result)
            done += 1
            if progress is not None:
                progress(done, total)
    finally:
        transformed.close()
    if two_stages:
        _plan_between_stages(index, results, analysed, paths, options, results_cache)
        long_lived.keep()
        notice = templates.jinja_missing_notice(paths)
        if notice is not None:
            report.notices.append(notice)
    if results_cache is not None and not two_stages:
        results_cache.plan = plans_digest(index)
    kept_paths = {f.path for f in kept}
    jobs = [
        (r, f.module_name) for r, f in zip(results, analysed, strict=True) if f.path in kept_paths
    ]
    for result in _final_results(jobs, index, options, entries, results_cache):
        report.results.append(result)
        if on_result is not None:
            on_result(result)
        if two_stages:
            done += 1
            if progress is not None:
                progress(done, total)
    report.async_plan = index.async_plan
    return report


def _plan_between_stages(
    index: ProjectIndex,
    results: list[FileResult],
    analysed: list[SourceFile],
    roots: list[Path],
    options: Options,
    results_cache: _ResultCache | None,
) -> None:
    """The async, write-only and eager plans into ``index``: from the cache when an
    earlier run had the same inputs, else computed (and remembered)."""
    key = results_cache.plans_key(results, analysed, roots) if results_cache else ""
    if results_cache is not None and results_cache.restore_plans(key, index):
        for result in results:
            result.facts = None  # as attach_plan leaves them
        return
    from sqla_upgrade.codemods.staging import attach_plan

    for result in results:
        if isinstance(result.facts, PickledFacts):
            result.facts = result.facts.load()
    attach_plan(index, results, options, templates.template_attribute_reads(roots), roots)
    if results_cache is not None:
        results_cache.remember_plans(key, index)


def plans_digest(index: ProjectIndex) -> str:
    """What stage two reads of the plans computed between the stages."""
    return canonical_digest((index.async_plan, index.eager_plan, index.write_only_plan))


def _stage_one_hits(
    parsed: list[SourceFile], results_cache: _ResultCache | None
) -> dict[str, FileResult]:
    if results_cache is None:
        return {}
    hits = {}
    for source_file in parsed:
        data = read_bytes(source_file.path)
        if isinstance(data, bytes):
            key = results_cache.stage_one_key(str(source_file.path), source_file.module_name, data)
            found = results_cache.get(key, data)
            if found is not None:
                hits[str(source_file.path)] = found
    return hits


def _final_results(
    jobs: list[tuple[FileResult, str]],
    index: ProjectIndex,
    options: Options,
    entries: list[PassEntry],
    results_cache: _ResultCache | None,
) -> Generator[FileResult, None, None]:
    """Stage two and the final checks of every job, in job order; remembered results
    come from the cache, the others from (worker) processes."""
    remembered: dict[int, FileResult] = {}
    keys: dict[int, str] = {}
    if results_cache is not None:
        for position, (result, module_name) in enumerate(jobs):
            if result.error is None:
                keys[position] = results_cache.final_key(result, module_name)
                found = results_cache.get(keys[position], result.old)
                if found is not None:
                    remembered[position] = found
    missing = [job for position, job in enumerate(jobs) if position not in remembered]
    computed = _map(_stage_two_job, missing, index, options, entries, _stage_two_failure)
    try:
        for position in range(len(jobs)):
            found = remembered.pop(position, None)
            if found is None:
                found = next(computed)
                if results_cache is not None and position in keys:
                    results_cache.put(keys[position], found)
            yield found
    finally:
        computed.close()
