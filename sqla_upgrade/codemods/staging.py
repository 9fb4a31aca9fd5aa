"""The two stages of a run and the project-wide analysis between them.

Stage 1 (the sync 2.0 passes) runs file by file. For ``--target async`` every file's
stage-1 output is then read for I/O facts, the async plan is computed over the whole
project (``analysis.async_plan``), and stage 2 (the async passes) runs file by file with
the plan in the index. ``transform_files`` does this in-process for a list of sources;
the runner does the same with worker processes.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqla_upgrade.codemods.analysis.async_plan import FileIoFacts, collect_io_facts, plan_async
from sqla_upgrade.codemods.analysis.eager_loads import eager_plan
from sqla_upgrade.codemods.analysis.write_only import (
    DynamicUseFacts,
    collect_dynamic_uses,
    plan_write_only,
)
from sqla_upgrade.codemods.base import Pass
from sqla_upgrade.codemods.index.model import ProjectIndex
from sqla_upgrade.codemods.options import Options
from sqla_upgrade.codemods.results import FileResult
from sqla_upgrade.codemods.transform import finish, run_stage


def split_stages(passes: list[type[Pass]]) -> tuple[list[type[Pass]], list[type[Pass]]]:
    return [p for p in passes if p.stage == 1], [p for p in passes if p.stage == 2]


def stage_one(
    result: FileResult,
    module_name: str,
    index: ProjectIndex,
    options: Options,
    passes: list[type[Pass]],
) -> FileResult:
    first, second = split_stages(passes)
    collect = _collect_facts if second else None
    return run_stage(result, module_name, index, options, first, collect)


def _collect_facts(wrapper: Any, state: Any) -> tuple[FileIoFacts, DynamicUseFacts | None]:
    return collect_io_facts(wrapper, state), collect_dynamic_uses(wrapper, state)


def stage_two(
    result: FileResult,
    module_name: str,
    index: ProjectIndex,
    options: Options,
    passes: list[type[Pass]],
) -> FileResult:
    _, second = split_stages(passes)
    if second:
        result = run_stage(result, module_name, index, options, second)
    return finish(result)


def attach_plan(
    index: ProjectIndex,
    results: list[FileResult],
    template_reads: set[str] | None = None,
    template_roots: Sequence[Path] | None = None,
) -> None:
    collected = [r.facts for r in results if isinstance(r.facts, tuple)]
    index.async_plan = plan_async([io for io, _ in collected], template_reads or set())
    index.async_plan.read_attributes |= template_reads or set()
    index.async_plan.template_reads = set(template_reads or ())
    dynamic_uses = [uses for _, uses in collected if uses is not None]
    unread = sorted(r.path for r in results if r.error is not None)
    index.write_only_plan = plan_write_only(index, dynamic_uses, index.async_plan, unread)
    sources = {r.path: r.stage_code or r.old for r in results if r.error is None}
    index.eager_plan = eager_plan(
        index,
        sources,
        set(index.async_plan.functions),
        index.async_plan.read_attributes,
        template_roots,
    )
    index.async_plan.lazy_read_names |= index.eager_plan.awaited_names
    if not index.eager_plan.templates_complete:
        # some template is rendered where its reads cannot be tied to the objects passed
        index.eager_plan.uncovered |= template_reads or set()
    for result in results:
        result.facts = None


def transform_files(
    items: list[tuple[bytes, str, str]],
    index: ProjectIndex,
    options: Options,
    passes: list[type[Pass]],
) -> list[FileResult]:
    """Both stages over ``(source, path, module_name)`` items, in this process."""
    results = [
        stage_one(FileResult(path=path, old=source), module, index, options, passes)
        for source, path, module in items
    ]
    if split_stages(passes)[1]:
        attach_plan(index, results)
    modules = [module for _, _, module in items]
    return [stage_two(r, m, index, options, passes) for r, m in zip(results, modules, strict=True)]
