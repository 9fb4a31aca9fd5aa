"""The entry points the project being migrated declares in its packaging files.

A launcher outside the project's Python code calls an entry point synchronously: the
console script pip writes for ``[project.scripts]``, PasteDeploy calling a
``paste.app_factory``, a plugin host loading ``[project.entry-points.<group>]``. A
function the async plan makes ``async def`` that is declared there would hand its
launcher a coroutine nobody awaits: the program silently does nothing. The await pass
marks those functions with a TODO (see ``AwaitPass``).

Declarations are read from the packaging files of the project root: the nearest folder at
or above each root given to the tool (a file's folder for a file) holding a
``pyproject.toml``, ``setup.cfg`` or ``setup.py``, the walk up stopping at a repository's
top (a ``.git`` entry). Read are ``[project.scripts]``, ``[project.gui-scripts]``,
``[project.entry-points.<group>]`` and Poetry's ``[tool.poetry.scripts]`` and
``[tool.poetry.plugins.<group>]`` of ``pyproject.toml``; ``[options.entry_points]`` of
``setup.cfg``; and the ``entry_points=`` keyword of the calls in ``setup.py`` (a dict of
groups to a list or a string of ``name = module:attr`` lines, or such an ini-style string;
a dict or list bound by a module-level assignment is followed). ``setup.py`` is parsed,
never run. An entry point naming a module alone (``name = pkg.module``) names no function.
"""

from __future__ import annotations

import ast
import configparser
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqla_upgrade.codemods.cache import file_digests

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

PACKAGING_FILES = ("pyproject.toml", "setup.cfg", "setup.py")
MAX_PACKAGING_BYTES = 2_000_000


@dataclass(frozen=True)
class EntryPoint:
    #: the packaging file's name (``pyproject.toml``)
    file: str
    #: the table or keyword declaring it (``[project.scripts]``, ``entry_points``)
    section: str
    #: its entry-point group, when the section has several (``paste.app_factory``)
    group: str
    name: str
    #: the dotted object it names (``pkg.cli.main`` for ``pkg.cli:main``)
    target: str

    def describe(self) -> str:
        group = f" of {self.group}" if self.group else ""
        return f"`{self.name}`{group} in {self.section} of {self.file}"


def project_roots(roots: Sequence[Path]) -> list[Path]:
    """The folders holding the packaging files of ``roots``' projects, each once."""
    found: list[Path] = []
    for root in roots:
        try:
            folder = root.resolve()
        except OSError:
            continue
        if not folder.is_dir():
            folder = folder.parent
        for candidate in (folder, *folder.parents):
            if any((candidate / name).is_file() for name in PACKAGING_FILES):
                if candidate not in found:
                    found.append(candidate)
                break
            if (candidate / ".git").exists():
                break
    return found


def _packaging_files(roots: Sequence[Path]) -> Iterator[Path]:
    for folder in project_roots(roots):
        for name in PACKAGING_FILES:
            path = folder / name
            if path.is_file():
                yield path


def declaration_inputs(roots: Sequence[Path]) -> list[str]:
    """``path:digest`` of every packaging file ``declared_entry_points(roots)`` reads."""
    return file_digests(_packaging_files(roots))


def declared_entry_points(roots: Sequence[Path]) -> dict[str, list[EntryPoint]]:
    """The dotted objects named by the entry points of ``roots``' projects → those
    entry points. A file that cannot be read or parsed declares nothing."""
    found: dict[str, list[EntryPoint]] = {}
    for path in _packaging_files(roots):
        try:
            if path.stat().st_size > MAX_PACKAGING_BYTES:
                continue
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        readers = {"pyproject.toml": _pyproject, "setup.cfg": _setup_cfg, "setup.py": _setup_py}
        try:
            declared = list(readers[path.name](text))
        except (ValueError, SyntaxError, RecursionError, configparser.Error):
            continue
        for section, group, name, value in declared:
            target = _target(value)
            if target is not None:
                entry = EntryPoint(path.name, section, group, name, target)
                if entry not in found.setdefault(target, []):
                    found[target].append(entry)
    return found


def _target(value: str) -> str | None:
    """``pkg.mod.func`` for ``pkg.mod:func [extra]``; None for a module alone."""
    value = value.split("[", 1)[0].strip()
    module, colon, attribute = value.partition(":")
    module, attribute = module.strip(), attribute.strip()
    if not colon or not module or not attribute:
        return None
    dotted = f"{module}.{attribute}"
    if not all(part.isidentifier() for part in dotted.split(".")):
        return None
    return dotted


#: (section, group, name, value) of each declaration
Declared = Iterator[tuple[str, str, str, str]]


def _pyproject(text: str) -> Declared:
    data = tomllib.loads(text)
    project = data.get("project")
    if isinstance(project, dict):
        for table in ("scripts", "gui-scripts"):
            yield from _table(f"[project.{table}]", "", project.get(table))
        groups = project.get("entry-points")
        if isinstance(groups, dict):
            for group, entries in groups.items():
                yield from _table("[project.entry-points]", str(group), entries)
    tool = data.get("tool")
    poetry = tool.get("poetry") if isinstance(tool, dict) else None
    if isinstance(poetry, dict):
        scripts = poetry.get("scripts")
        if isinstance(scripts, dict):
            for name, value in scripts.items():
                if isinstance(value, dict):  # ``{reference = "pkg:main", type = "console"}``
                    value = value.get("reference") if value.get("type") == "console" else None
                if isinstance(value, str):
                    yield "[tool.poetry.scripts]", "", str(name), value
        plugins = poetry.get("plugins")
        if isinstance(plugins, dict):
            for group, entries in plugins.items():
                yield from _table("[tool.poetry.plugins]", str(group), entries)


def _table(section: str, group: str, entries: Any) -> Declared:
    if isinstance(entries, dict):
        for name, value in entries.items():
            if isinstance(value, str):
                yield section, group, str(name), value


def _setup_cfg(text: str) -> Declared:
    parser = configparser.ConfigParser(interpolation=None, delimiters=("=",))
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(text)
    if not parser.has_section("options.entry_points"):
        return
    for group, lines in parser.items("options.entry_points"):
        for name, value in _ini_lines(lines):
            yield "[options.entry_points]", group, name, value


def _ini_lines(text: str) -> Iterator[tuple[str, str]]:
    """``name = value`` lines (``[group]`` headers and comments skipped)."""
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";", "[")):
            continue
        name, equals, value = line.partition("=")
        if equals:
            yield name.strip(), value.strip()


def _setup_py(text: str) -> Declared:
    tree = ast.parse(text)
    bound: dict[str, ast.expr] = {}
    for statement in tree.body:
        if isinstance(statement, ast.Assign) and len(statement.targets) == 1:
            target = statement.targets[0]
            if isinstance(target, ast.Name):
                bound[target.id] = statement.value
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        for keyword in node.keywords:
            if keyword.arg == "entry_points":
                yield from _setup_entry_points(_followed(keyword.value, bound), bound)


def _followed(node: ast.expr, bound: dict[str, ast.expr]) -> ast.expr:
    seen: set[str] = set()
    while isinstance(node, ast.Name) and node.id in bound and node.id not in seen:
        seen.add(node.id)
        node = bound[node.id]
    return node


def _setup_entry_points(node: ast.expr, bound: dict[str, ast.expr]) -> Declared:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        yield from _ini_groups(node.value)  # ``"[console_scripts]\\ntool = pkg:main"``
        return
    pairs: list[tuple[ast.expr, ast.expr]]
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "dict":
        pairs = [(ast.Constant(k.arg), k.value) for k in node.keywords if k.arg is not None]
    elif isinstance(node, ast.Dict):
        pairs = [(k, v) for k, v in zip(node.keys, node.values, strict=True) if k is not None]
    else:
        return
    for key, value in pairs:
        if not (isinstance(key, ast.Constant) and isinstance(key.value, str)):
            continue
        value = _followed(value, bound)
        if isinstance(value, ast.Constant) and isinstance(value.value, str):
            lines = [value.value]
        elif isinstance(value, ast.List | ast.Tuple):
            lines = [
                item.value
                for item in (_followed(e, bound) for e in value.elts)
                if isinstance(item, ast.Constant) and isinstance(item.value, str)
            ]
        else:
            continue
        for line in lines:
            for name, target in _ini_lines(line):
                yield "entry_points", key.value, name, target


def _ini_groups(text: str) -> Declared:
    group = None
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("[") and line.endswith("]"):
            group = line[1:-1].strip()
            continue
        if group is not None:
            for name, value in _ini_lines(line):
                yield "entry_points", group, name, value


def by_project_function(
    declared: dict[str, list[EntryPoint]], index: Any
) -> dict[str, list[EntryPoint]]:
    """``declared`` keyed by the project functions the entry points name, re-exports
    followed (``pkg:main`` for ``from .cli import main`` in ``pkg/__init__.py`` names
    ``pkg.cli.main``); entry points naming nothing of the project are left out. A module
    the run names otherwise than the declaration does (a namespace package without
    ``__init__.py``: ``cli`` for ``tool/cli.py``) is found by its file's path."""
    found: dict[str, list[EntryPoint]] = {}
    by_path = _modules_by_path(index)
    for target, entries in declared.items():
        parts = target.split(".")
        # the longest leading module of the project, then its attribute (re-exports
        # followed) and the attributes of that (``Class.method``)
        for end in range(len(parts) - 1, 0, -1):
            modules = _modules_named(parts[:end], index, by_path)
            for module in modules:
                head = index.resolve_alias(f"{module}.{parts[end]}")
                qualname = ".".join([head, *parts[end + 1 :]])
                if qualname in index.functions:
                    found.setdefault(qualname, []).extend(entries)
            if modules:
                break
    return found


def _modules_by_path(index: Any) -> dict[tuple[str, ...], list[str]]:
    """Each module's file path as the parts of a dotted name (``("src", "tool", "cli")``
    for ``src/tool/cli.py``, the package's folder for an ``__init__.py``) → modules."""
    found: dict[tuple[str, ...], list[str]] = {}
    for name, facts in index.modules.items():
        path = Path(facts.path)
        parts = path.with_suffix("").parts
        if path.name == "__init__.py":
            parts = parts[:-1]
        found.setdefault(tuple(parts), []).append(name)
    return found


def _modules_named(
    dotted: list[str], index: Any, by_path: dict[tuple[str, ...], list[str]]
) -> list[str]:
    """The project modules a declaration's ``pkg.module`` names: the one so named, else
    those whose file path ends in ``pkg/module``."""
    name = ".".join(dotted)
    if name in index.modules:
        return [name]
    size = len(dotted)
    tail = tuple(dotted)
    return sorted(m for parts, ms in by_path.items() if parts[-size:] == tail for m in ms)
