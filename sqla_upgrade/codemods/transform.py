"""Run the pipeline over one file's bytes; never raises for a bad file."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import replace

import libcst as cst
from libcst.codemod import CodemodContext
from libcst.metadata import MetadataWrapper

from sqla_upgrade.codemods.base import FileState, Pass
from sqla_upgrade.codemods.codegen import bytes_of, code_of, remembered_statements
from sqla_upgrade.codemods.fidelity import keep_final_newline, round_trip_problem
from sqla_upgrade.codemods.index.model import ProjectIndex
from sqla_upgrade.codemods.kept_trees import KEPT
from sqla_upgrade.codemods.metadata import new_wrapper
from sqla_upgrade.codemods.options import Options
from sqla_upgrade.codemods.results import FileResult
from sqla_upgrade.codemods.traversal import fast_visits

#: why a file whose syntax tree exceeds Python's recursion limit in libcst fails
TOO_DEEP = (
    "expressions nested too deeply for libcst (Python's recursion limit); "
    "split the longest expression or chain of calls"
)


def triggered(
    pass_cls: type[Pass],
    code: bytes,
    index: ProjectIndex | None = None,
    path: str | None = None,
    stage_input: bytes | None = None,
) -> bool:
    """Does ``code`` hold one of the byte strings the pass needs (its prefilter), including
    those the pass derives from the project index, and (given the file's ``path``) does
    the pass say the file concerns it? ``stage_input``: the code the stage started from,
    where the triggers of a pass that only rewrites user code are looked for."""
    if path is not None and index is not None:
        if not runs_on(pass_cls, index, path):
            return False
        if not pass_cls.concerns(code, path, index):
            return False
    if not pass_cls.triggers:
        return True
    if stage_input is not None and pass_cls.triggers_in_stage_input:
        code = stage_input
    if any(t in code for t in pass_cls.triggers):
        return True
    return index is not None and any(t in code for t in pass_cls.index_triggers(index))


def runs_on(pass_cls: type[Pass], index: ProjectIndex, path: str) -> bool:
    """Not a decision of the prefilters: the async passes leave Alembic's modules
    synchronous (but for ``in_alembic_modules`` ones)."""
    return pass_cls.stage == 1 or pass_cls.in_alembic_modules or path not in index.alembic_paths()


#: run every pass a prefilter declines anyway and fail when it would have changed the file
#: (a development check of the prefilters: ``triggers``, ``index_triggers``, ``concerns``)
CHECK_PREFILTERS = os.environ.get("SQLA_UPGRADE_CHECK_PREFILTERS") == "1"


def _declined_pass_changes(pass_cls: type[Pass], tree: cst.Module, state: FileState) -> bool:
    scratch = replace(state, notes=[], rewrites={})
    context = CodemodContext(filename=state.path, full_module_name=state.module_name)
    new_tree = pass_cls(context, scratch).run_with(new_wrapper(tree))
    return bool(scratch.notes or scratch.rewrites) or code_of(new_tree) != code_of(tree)


def _apply_passes(
    tree: cst.Module,
    source: bytes,
    state: FileState,
    passes: list[type[Pass]],
    wrapper: MetadataWrapper | None = None,
) -> tuple[cst.Module, bytes, bool, MetadataWrapper | None, MetadataWrapper | None]:
    """Run the passes in order; the final tree, its code, whether a pass changed it, a
    wrapper over it if one was made, and one over the tree the last change was made from.
    Metadata (scopes, qualified names...) is computed once and shared by consecutive
    passes until one of them changes the tree; parents and expression contexts are then
    updated for what the pass made. ``wrapper``: one over ``tree`` already, with what was
    resolved on it."""
    code = source
    changed = False
    previous: MetadataWrapper | None = None  # over the tree the last change was made from
    for pass_cls in passes:
        if not triggered(pass_cls, code, state.index, state.path, source):
            checked = CHECK_PREFILTERS and runs_on(pass_cls, state.index, state.path)
            if checked and _declined_pass_changes(pass_cls, tree, state):
                raise AssertionError(f"the prefilter of {pass_cls.name} declined a file it changes")
            continue
        if wrapper is None:
            wrapper = new_wrapper(tree, code, previous)
        before = (sum(state.rewrites.values()), len(state.notes))
        context = CodemodContext(filename=state.path, full_module_name=state.module_name)
        transformer = pass_cls(context, state)
        new_tree = transformer.run_with(wrapper)
        if (sum(state.rewrites.values()), len(state.notes)) != before:
            changed = True
            tree = new_tree
            wrapper = transformer.output_wrapper  # what the import visitors resolved
            previous = transformer.last_wrapper
            code = bytes_of(tree)
    return tree, code, changed, wrapper, previous


def _compile_error(code: bytes, path: str) -> str | None:
    try:
        compile(code, path, "exec", dont_inherit=True)
    except (SyntaxError, ValueError) as exc:
        return f"{type(exc).__name__}: {exc}"
    except (RecursionError, MemoryError) as exc:
        return f"{type(exc).__name__}: nested too deeply for Python's compiler"
    return None


def _parse(source: bytes) -> cst.Module | str:
    try:
        return cst.parse_module(source)
    except cst.ParserSyntaxError as exc:
        return f"cannot parse: line {exc.raw_line}, column {exc.raw_column}: {exc.message}"
    except (UnicodeDecodeError, LookupError, SyntaxError) as exc:
        return f"cannot decode: {exc}"
    except RecursionError:
        return f"cannot parse: {TOO_DEEP}"


@fast_visits()
@remembered_statements()
def run_stage(
    result: FileResult,
    module_name: str,
    index: ProjectIndex,
    options: Options,
    passes: list[type[Pass]],
    collect: Callable[[MetadataWrapper, FileState], object] | None = None,
) -> FileResult:
    """Run ``passes`` over the file's current code (``result.stage_code``), in place
    (libcst's read-only visits and unchanged nodes not rebuilt: ``fast_visits``).

    ``collect`` is called with the stage's output tree (when the file was parsed) and its
    return value is kept in ``result.facts`` for the project-wide analysis between stages.
    """
    source = result.current_code
    kept = KEPT.take(result.path, source)  # the tree stage one ended with, if kept
    wanted = CHECK_PREFILTERS or any(triggered(p, source, index, result.path) for p in passes)
    if result.error is not None or not (wanted or (collect is not None and collect_wanted(source))):
        return result
    tree = kept.module if kept is not None else _parse(source)
    if isinstance(tree, str):
        result.error = tree
        return result
    state = FileState(path=result.path, module_name=module_name, index=index, options=options)
    try:
        wrapper = previous = None
        changed = False
        code = source
        if wanted:
            parsed = tree
            tree, code, changed, wrapper, previous = _apply_passes(
                tree, source, state, passes, kept
            )
            if changed and (problem := round_trip_problem(parsed, source)) is not None:
                result.error = f"cannot transform: {problem}"
                return result
        result.stage_code = keep_final_newline(source, code) if changed else source
        if collect is not None:
            wrapper = wrapper or new_wrapper(tree, code, previous)
            result.facts = collect(wrapper, state)
            if code == result.stage_code:
                KEPT.keep(result.path, code, wrapper)
    except RecursionError:
        result.error = f"cannot transform: {TOO_DEEP}"
        return result
    except UnicodeEncodeError as exc:
        result.error = f"cannot transform: the new code does not fit the file's encoding ({exc})"
        return result
    except Exception as exc:  # a bug of ours must not take other files down
        result.error = f"internal error in sqla-upgrade: {type(exc).__name__}: {exc}"
        return result
    result.notes = sorted({*result.notes, *state.notes})
    for name, amount in state.rewrites.items():
        result.rewrites[name] = result.rewrites.get(name, 0) + amount
    return result


def collect_wanted(source: bytes) -> bool:
    """Could this file hold facts the async analysis needs (I/O on sessions, engines)?"""
    return any(t in source for t in COLLECT_TRIGGERS)


COLLECT_TRIGGERS: tuple[bytes, ...] = (b"",)  # every file: any may call a function that turns async


def finish(result: FileResult) -> FileResult:
    """Check the final code compiles and set ``result.new`` when the file changed."""
    new = result.stage_code
    if result.error is not None or new is None or new == result.old:
        return result
    broken = _compile_error(new, result.path)
    if broken is not None:
        original_broken = _compile_error(result.old, result.path)
        result.error = (
            f"does not compile: {original_broken}"
            if original_broken
            else f"internal error in sqla-upgrade: output does not compile ({broken}); not written"
        )
        return result
    result.new = new
    return result


def transform_source(
    source: bytes,
    path: str,
    module_name: str,
    index: ProjectIndex,
    options: Options,
    passes: list[type[Pass]],
) -> FileResult:
    """All stages over one file, with only this file's facts between the stages."""
    from sqla_upgrade.codemods.staging import transform_files

    return transform_files([(source, path, module_name)], index, options, passes)[0]
