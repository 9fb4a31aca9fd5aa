"""Run the pipeline over one file's bytes; never raises for a bad file."""

from __future__ import annotations

from dataclasses import dataclass, field

import libcst as cst
from libcst.codemod import CodemodContext

from sqla_upgrade.codemods.base import FileState, Pass
from sqla_upgrade.codemods.index.model import ProjectIndex
from sqla_upgrade.codemods.notes import Note
from sqla_upgrade.codemods.options import Options


@dataclass
class FileResult:
    """What happened to one file. ``new`` is None when the file is unchanged or failed."""

    path: str
    old: bytes
    new: bytes | None = None
    notes: list[Note] = field(default_factory=list)
    rewrites: dict[str, int] = field(default_factory=dict)
    error: str | None = None

    @property
    def changed(self) -> bool:
        return self.new is not None and self.new != self.old

    @property
    def failed(self) -> bool:
        return self.error is not None

    @property
    def todos(self) -> list[Note]:
        return [n for n in self.notes if n.kind == "todo"]


def _triggered(pass_cls: type[Pass], code: bytes) -> bool:
    return not pass_cls.triggers or any(t in code for t in pass_cls.triggers)


def _apply_passes(
    tree: cst.Module, source: bytes, state: FileState, passes: list[type[Pass]]
) -> tuple[cst.Module, bool]:
    code = source
    changed = False
    for pass_cls in passes:
        if not _triggered(pass_cls, code):
            continue
        before = (sum(state.rewrites.values()), len(state.notes))
        context = CodemodContext(filename=state.path, full_module_name=state.module_name)
        tree = pass_cls(context, state).transform_module(tree)
        if (sum(state.rewrites.values()), len(state.notes)) != before:
            changed = True
            code = tree.bytes
    return tree, changed


def _compile_error(code: bytes, path: str) -> str | None:
    try:
        compile(code, path, "exec", dont_inherit=True)
    except (SyntaxError, ValueError) as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


def transform_source(
    source: bytes,
    path: str,
    module_name: str,
    index: ProjectIndex,
    options: Options,
    passes: list[type[Pass]],
) -> FileResult:
    result = FileResult(path=path, old=source)
    if not any(_triggered(p, source) for p in passes):
        return result
    try:
        tree = cst.parse_module(source)
    except cst.ParserSyntaxError as exc:
        result.error = f"cannot parse: line {exc.raw_line}, column {exc.raw_column}: {exc.message}"
        return result
    except (UnicodeDecodeError, LookupError, SyntaxError) as exc:
        result.error = f"cannot decode: {exc}"
        return result
    except RecursionError:
        result.error = "cannot parse: nesting too deep"
        return result
    state = FileState(path=path, module_name=module_name, index=index, options=options)
    try:
        tree, changed = _apply_passes(tree, source, state, passes)
        new = tree.bytes if changed else source
    except RecursionError:
        result.error = "cannot transform: nesting too deep"
        return result
    except Exception as exc:  # a bug of ours must not take other files down
        result.error = f"internal error in sqla-upgrade: {type(exc).__name__}: {exc}"
        return result
    result.notes = sorted(state.notes)
    result.rewrites = dict(state.rewrites)
    if new == source:
        return result
    broken = _compile_error(new, path)
    if broken is not None:
        original_broken = _compile_error(source, path)
        result.error = (
            f"does not compile: {original_broken}"
            if original_broken
            else f"internal error in sqla-upgrade: output does not compile ({broken}); not written"
        )
        return result
    result.new = new
    return result
