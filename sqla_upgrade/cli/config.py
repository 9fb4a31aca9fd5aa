"""Read ``[tool.sqla-upgrade]`` from the target repository's ``pyproject.toml``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib


class ConfigError(Exception):
    """The configuration file is unreadable or holds a wrong value."""


KNOWN_KEYS = {
    "target",
    "only",
    "skip",
    "jobs",
    "async-drivers",
    "sync-callables",
    "bridge-to-thread",
    "strict-loading",
    "cache-dir",
}


def find_pyproject(paths: list[Path]) -> Path | None:
    """The nearest ``pyproject.toml`` at or above the first path (or the cwd)."""
    start = paths[0] if paths and str(paths[0]) != "-" else Path.cwd()
    folder = start.resolve()
    if not folder.is_dir():
        folder = folder.parent
    for candidate in (folder, *folder.parents):
        pyproject = candidate / "pyproject.toml"
        if pyproject.is_file():
            return pyproject
        if (candidate / ".git").exists():
            return None
    return None


def load_config(paths: list[Path]) -> dict[str, Any]:
    pyproject = find_pyproject(paths)
    if pyproject is None:
        return {}
    try:
        data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{pyproject}: cannot read configuration: {exc}") from exc
    section = data.get("tool", {}).get("sqla-upgrade", {})
    if not isinstance(section, dict):
        raise ConfigError(f"{pyproject}: [tool.sqla-upgrade] must be a table")
    unknown = sorted(set(section) - KNOWN_KEYS)
    if unknown:
        raise ConfigError(f"{pyproject}: unknown [tool.sqla-upgrade] keys: {', '.join(unknown)}")
    return section


def as_flag(value: Any, key: str) -> bool:
    if isinstance(value, bool):
        return value
    raise ConfigError(f"[tool.sqla-upgrade] {key} must be true or false")


def as_name_list(value: Any, key: str) -> tuple[str, ...]:
    if isinstance(value, str):
        return tuple(v.strip() for v in value.split(",") if v.strip())
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise ConfigError(f"[tool.sqla-upgrade] {key} must be a list of strings")
