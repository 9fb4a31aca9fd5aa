"""A small programmatic API: migrate source text without touching files.

Used by the tests and by anyone embedding the tool::

    from sqla_upgrade.api import migrate_source
    result = migrate_source(code, target="2.0")
    result.code, result.notes
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from sqla_upgrade.codemods.index.builder import IndexBuilder
from sqla_upgrade.codemods.notes import Note
from sqla_upgrade.codemods.options import Options
from sqla_upgrade.codemods.pipeline import select_passes
from sqla_upgrade.codemods.staging import transform_files
from sqla_upgrade.codemods.transform import FileResult, transform_source


class MigrationError(Exception):
    """The source could not be migrated (it does not parse, or the tool failed)."""


@dataclass
class Migration:
    code: str
    changed: bool
    notes: list[Note] = field(default_factory=list)
    rewrites: dict[str, int] = field(default_factory=dict)

    @property
    def todos(self) -> list[Note]:
        return [n for n in self.notes if n.kind == "todo"]


def migrate_source(
    code: str,
    *,
    target: str = "async",
    module_name: str = "module",
    path: str = "module.py",
    project: Mapping[str, str] | None = None,
    only: tuple[str, ...] = (),
    skip: tuple[str, ...] = (),
    options: Options | None = None,
) -> Migration:
    """Migrate ``code``; ``project`` maps other module names to their source for the index."""
    builder = IndexBuilder()
    builder.add(code.encode(), module_name, path, path.endswith("__init__.py"))
    for name, text in (project or {}).items():
        builder.add(text.encode(), name, name.replace(".", "/") + ".py", False)
    if path in builder.failures:  # never hand libcst what Python's parser rejects
        raise MigrationError(f"cannot parse: {builder.failures[path]}")
    run_options = options or Options(target=target, only=only, skip=skip)
    passes = select_passes(run_options.target, run_options.only, run_options.skip)
    result = transform_source(
        code.encode(), path, module_name, builder.build(), run_options, passes
    )
    if result.error:
        raise MigrationError(result.error)
    new = result.new if result.new is not None else result.old
    return Migration(
        code=new.decode(), changed=result.changed, notes=result.notes, rewrites=result.rewrites
    )


def migrate_project(
    modules: Mapping[str, str],
    *,
    target: str = "async",
    only: tuple[str, ...] = (),
    skip: tuple[str, ...] = (),
    options: Options | None = None,
) -> dict[str, Migration]:
    """Migrate several modules together (``{"pkg.mod": source}``), as one project."""
    builder = IndexBuilder()
    items = []
    for name, text in modules.items():
        path = name.replace(".", "/") + ".py"
        builder.add(text.encode(), name, path, False)
        if path in builder.failures:
            raise MigrationError(f"{path}: cannot parse: {builder.failures[path]}")
        items.append((text.encode(), path, name))
    run_options = options or Options(target=target, only=only, skip=skip)
    passes = select_passes(run_options.target, run_options.only, run_options.skip)
    results = transform_files(items, builder.build(), run_options, passes)
    return {name: _migration(result) for name, result in zip(modules, results, strict=True)}


def _migration(result: FileResult) -> Migration:
    if result.error:
        raise MigrationError(f"{result.path}: {result.error}")
    new = result.new if result.new is not None else result.old
    return Migration(
        code=new.decode(), changed=result.changed, notes=result.notes, rewrites=result.rewrites
    )
