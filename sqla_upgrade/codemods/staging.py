"""The two stages of a run and the project-wide analysis between them.

Stage 1 (the sync 2.0 passes) runs file by file. For ``--target async`` every file's
stage-1 output is then read for I/O facts, the async plan is computed over the whole
project (``analysis.async_plan``), and stage 2 (the async passes) runs file by file with
the plan in the index. ``transform_files`` does this in-process for a list of sources;
the runner does the same with worker processes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from sqla_upgrade.codemods import entry_points, templates, transform
from sqla_upgrade.codemods.analysis import quiet as quiet_analysis
from sqla_upgrade.codemods.analysis.async_plan import FileIoFacts, collect_io_facts
from sqla_upgrade.codemods.analysis.eager_loads import eager_plan
from sqla_upgrade.codemods.analysis.plans import AsyncPlan
from sqla_upgrade.codemods.analysis.quiet import plan_with_promotions, quiet_facts
from sqla_upgrade.codemods.analysis.write_only import (
    DynamicUseFacts,
    collect_dynamic_uses,
    plan_write_only,
)
from sqla_upgrade.codemods.base import Pass
from sqla_upgrade.codemods.index.model import ProjectIndex
from sqla_upgrade.codemods.options import Options
from sqla_upgrade.codemods.results import FileResult
from sqla_upgrade.codemods.transform import finish, run_stage, triggered


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
    if not second:
        return run_stage(result, module_name, index, options, first)
    quiet = _quiet_facts(result, module_name, index, first)
    if quiet is not None and not transform.CHECK_PREFILTERS:
        result.facts = (quiet, None)  # never parsed with libcst
        return result
    result = run_stage(result, module_name, index, options, first, _collect_facts)
    if quiet is not None and isinstance(result.facts, tuple):
        _check_quiet_facts(result, quiet)
    return result


def _quiet_facts(
    result: FileResult, module_name: str, index: ProjectIndex, first: list[type[Pass]]
) -> FileIoFacts | None:
    """The facts of a module no stage-one pass wants, when it is quiet (``analysis.quiet``)."""
    if result.error is not None:
        return None
    code = result.current_code
    if any(triggered(p, code, index, result.path) for p in first):
        return None
    return quiet_facts(code, module_name, result.path, index)


def _check_quiet_facts(result: FileResult, quiet: FileIoFacts) -> None:
    """``SQLA_UPGRADE_CHECK_PREFILTERS``: a quiet module's full facts (kept, marked quiet)
    must hold nothing its quiet facts lack."""
    assert isinstance(result.facts, tuple)
    full: FileIoFacts = result.facts[0]
    dynamic_uses: DynamicUseFacts | None = result.facts[1]
    problems = []
    if full.attribute_reads != quiet.attribute_reads:
        problems.append(f"attribute reads {sorted(full.attribute_reads ^ quiet.attribute_reads)}")
    for function in full.functions.values():
        if function.direct_io or function.client_io or function.gives_test_client:
            problems.append(f"I/O in {function.qualname}")
    if dynamic_uses is not None:
        problems.append("dynamic relationship uses")
    if problems:
        result.error = f"internal error in sqla-upgrade: quiet module has {'; '.join(problems)}"
        return
    full.quiet = True


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
    options: Options,
    template_reads: set[str] | None = None,
    template_roots: Sequence[Path] | None = None,
) -> None:
    template_reads = (template_reads or set()) | _inline_template_reads(results)
    template_calls = templates.template_method_calls(template_roots or ())
    index.async_plan = _async_plan(index, results, options, template_reads, template_calls)
    declared = entry_points.declared_entry_points(template_roots or ())
    index.async_plan.entry_points = entry_points.by_project_function(declared, index)
    collected = [r.facts for r in results if isinstance(r.facts, tuple)]
    index.async_plan.read_attributes |= template_reads or set()
    # reading an association proxy reads the relationship (and attribute) it goes through
    index.async_plan.read_attributes |= index.proxied_reads(index.async_plan.read_attributes)
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


def _inline_template_reads(results: list[FileResult]) -> set[str]:
    """What the templates given as source to ``render_template_string`` read."""
    reads: set[str] = set()
    for result in results:
        if isinstance(result.facts, tuple):
            reads |= result.facts[0].template_reads
    return reads


def _async_plan(
    index: ProjectIndex,
    results: list[FileResult],
    options: Options,
    template_reads: set[str],
    template_calls: dict[str, set[str]],
) -> AsyncPlan:
    """The async plan, reading with libcst the quiet modules that may reach what it
    changes (``analysis.quiet``)."""
    by_path = {r.path: r for r in results if isinstance(r.facts, tuple)}
    facts = [r.facts[0] for r in by_path.values()]  # type: ignore[index]
    codes = {f.path: by_path[f.path].current_code for f in facts if f.quiet}
    if transform.CHECK_PREFILTERS:
        return _checked_plan(index, facts, (template_reads, template_calls), codes)

    def read_fully(quiet: FileIoFacts) -> FileIoFacts:
        result = by_path[quiet.path]
        read = run_stage(
            replace(result, facts=None), quiet.module, index, options, [], _collect_facts
        )
        result.error, result.facts = read.error, read.facts
        if not isinstance(read.facts, tuple):
            return FileIoFacts(quiet.module, quiet.path)  # libcst cannot read it: no facts
        return read.facts[0]

    templates_use = (template_reads, template_calls)
    return plan_with_promotions(index, facts, templates_use, codes, read_fully)


def _checked_plan(
    index: ProjectIndex,
    facts: list[FileIoFacts],
    templates_use: tuple[set[str], dict[str, set[str]]],
    codes: dict[str, bytes],
) -> AsyncPlan:
    """``SQLA_UPGRADE_CHECK_PREFILTERS``: the quiet modules' full facts are at hand; the plan
    reached through promotions must be the plan of them all."""
    full = {f.path: replace(f, quiet=False) for f in facts}
    quiet = [
        FileIoFacts(f.module, f.path, attribute_reads=f.attribute_reads, quiet=True)
        if f.quiet
        else f
        for f in facts
    ]
    plan = plan_with_promotions(index, quiet, templates_use, codes, lambda f: full[f.path])
    exact = quiet_analysis.plan_async(list(full.values()), *templates_use)
    if replace(plan, locations={}, quiet_modules=set(), already_async=set()) != replace(
        exact, locations={}, already_async=set()
    ):
        raise AssertionError("the plan reached through promotions differs from the full plan")
    exact.quiet_modules = plan.quiet_modules
    return exact


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
        attach_plan(index, results, options)
    modules = [module for _, _, module in items]
    return [stage_two(r, m, index, options, passes) for r, m in zip(results, modules, strict=True)]
