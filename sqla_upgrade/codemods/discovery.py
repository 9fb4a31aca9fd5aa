"""Find the Python files a run covers.

Directories are walked without following symlinked directories (so link loops cannot
trap the walk), skipping virtualenvs, VCS folders, build output and whatever the
``.gitignore`` files along the way exclude. Files named explicitly are always taken.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

SKIPPED_DIRS = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        ".tox",
        ".nox",
        ".venv",
        "venv",
        ".eggs",
        "__pycache__",
        "node_modules",
        "site-packages",
        "build",
        "dist",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
        ".sqla-upgrade-cache",
    }
)


class DiscoveryError(Exception):
    """A path given by the user cannot be used."""


@dataclass(frozen=True)
class SourceFile:
    path: Path  # as the user will see it
    module_name: str
    is_package: bool


@dataclass(frozen=True)
class _IgnoreRule:
    regex: re.Pattern[str]
    negated: bool
    dir_only: bool


class _GitIgnore:
    """The rules of one ``.gitignore`` file, matched against paths relative to its folder."""

    def __init__(self, rules: list[_IgnoreRule]) -> None:
        self.rules = rules

    @classmethod
    def load(cls, folder: Path) -> _GitIgnore | None:
        try:
            text = (folder / ".gitignore").read_text(encoding="utf-8", errors="replace")
        except OSError:
            return None
        rules = [rule for line in text.splitlines() if (rule := _parse_rule(line))]
        return cls(rules) if rules else None

    def verdict(self, relative: str, is_dir: bool) -> bool | None:
        """True: ignored; False: re-included; None: no rule speaks of it."""
        result = None
        for rule in self.rules:
            if rule.dir_only and not is_dir:
                continue
            if rule.regex.fullmatch(relative):
                result = not rule.negated
        return result


def _parse_rule(line: str) -> _IgnoreRule | None:
    line = line.rstrip("\n").rstrip() if not line.endswith("\\ ") else line
    if not line or line.startswith("#"):
        return None
    negated = line.startswith("!")
    if negated:
        line = line[1:]
    dir_only = line.endswith("/")
    line = line.rstrip("/")
    anchored = "/" in line
    line = line.lstrip("/")
    if not line:
        return None
    body = _glob_to_regex(line)
    regex = body if anchored else f"(?:.*/)?{body}"
    return _IgnoreRule(re.compile(regex), negated, dir_only)


def _glob_to_regex(pattern: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
            continue
        if pattern.startswith("/**", i) and i + 3 == len(pattern):
            out.append("/.*")
            i += 3
            continue
        if pattern.startswith("**", i):
            out.append(".*")
            i += 2
            continue
        if char == "*":
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "[":
            end = pattern.find("]", i + 1)
            if end == -1:
                out.append(re.escape(char))
            else:
                out.append("[" + pattern[i + 1 : end].replace("!", "^", 1) + "]")
                i = end
        elif char == "\\" and i + 1 < len(pattern):
            i += 1
            out.append(re.escape(pattern[i]))
        else:
            out.append(re.escape(char))
        i += 1
    return "".join(out)


def module_name(path: Path) -> tuple[str, bool]:
    """Dotted module name from the enclosing packages, and whether it is a package."""
    resolved = path.resolve()
    is_package = resolved.name == "__init__.py"
    parts = [] if is_package else [resolved.stem]
    folder = resolved.parent
    while (folder / "__init__.py").is_file() and folder.parent != folder:
        parts.insert(0, folder.name)
        folder = folder.parent
    if not parts:
        parts = [folder.name or "__root__"]
    return ".".join(p.replace("-", "_") for p in parts), is_package


def _source_file(path: Path) -> SourceFile:
    name, is_package = module_name(path)
    return SourceFile(path=path, module_name=name, is_package=is_package)


def _walk(root: Path) -> Iterator[Path]:
    ignores: list[tuple[Path, _GitIgnore]] = []
    root_ignore = _GitIgnore.load(root)
    if root_ignore:
        ignores.append((root, root_ignore))
    yield from _walk_dir(root, ignores)


def _ignored(path: Path, is_dir: bool, ignores: list[tuple[Path, _GitIgnore]]) -> bool:
    verdict = False
    for folder, rules in ignores:
        relative = path.relative_to(folder).as_posix()
        answer = rules.verdict(relative, is_dir)
        if answer is not None:
            verdict = answer
    return verdict


def _walk_dir(folder: Path, ignores: list[tuple[Path, _GitIgnore]]) -> Iterator[Path]:
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError:
        return
    for entry in entries:
        path = folder / entry.name
        try:
            is_dir = entry.is_dir(follow_symlinks=False)
            is_file = entry.is_file(follow_symlinks=True)
        except OSError:
            continue
        if is_dir:
            if entry.name in SKIPPED_DIRS or _is_virtualenv(path):
                continue
            if _ignored(path, True, ignores):
                continue
            local = _GitIgnore.load(path)
            yield from _walk_dir(path, [*ignores, (path, local)] if local else ignores)
        elif is_file and entry.name.endswith(".py") and not _ignored(path, False, ignores):
            yield path


def _is_virtualenv(path: Path) -> bool:
    return (path / "pyvenv.cfg").is_file()


def _inside(real: str, folders: list[str]) -> bool:
    return any(os.path.commonpath([real, folder]) == folder for folder in folders)


def discover(paths: list[Path]) -> list[SourceFile]:
    """Every Python file under ``paths``, deduplicated by real path, in a stable order.

    A symlinked file found in a folder counts where it points: once, and only when that
    is inside one of ``paths`` (a file elsewhere is third-party and never modified).
    """
    found: list[SourceFile] = []
    seen: set[str] = set()
    folders = [os.path.realpath(p) for p in paths if p.is_dir()]
    for path in paths:
        if not os.path.lexists(path):
            raise DiscoveryError(f"{path}: no such file or directory")
        if path.is_dir():
            candidates = [c for c in _walk(path) if _inside(os.path.realpath(c), folders)]
        elif path.is_file():
            candidates = [path]
        else:
            raise DiscoveryError(f"{path}: not a regular file or directory")
        for candidate in candidates:
            real = os.path.realpath(candidate)
            if real not in seen:
                seen.add(real)
                found.append(_source_file(candidate))
    return found


def resolve_relative(dotted: str, module: str, is_package: bool) -> str:
    """The absolute module a relative import (``..x.y``) in ``module`` names."""
    level = len(dotted) - len(dotted.lstrip("."))
    parts = module.split(".")
    if not is_package:
        parts = parts[:-1]
    if level > 1:
        parts = parts[: max(0, len(parts) - (level - 1))]
    rest = dotted[level:]
    return ".".join([*parts, rest] if rest else parts)
