"""A content-addressed cache of per-file results, so a re-run on an unchanged repo is cheap.

Every entry is named by a SHA-256 key over everything its value depends on:

* the index facts of one module: the file's bytes, path, module name, and the tool itself
  (``tool_digest``: the version, every source file of ``sqla_upgrade``, libcst's and
  Python's versions, so any code change invalidates everything);
* a file's stage-one result: that, plus the options that decide output (``options_digest``)
  and the digest of the whole project index (``canonical_digest``), since a pass may
  consult any module's facts;
* a file's final result: its stage-one key plus the digest of the plans computed between
  the stages (async, eager-loading, write-only; the async plan
  depends on every file's stage-one facts and on the templates).

Entries are written to a temporary file and renamed into place (atomic, so concurrent
runs never see half an entry; two runs writing one key write the same bytes). Each entry
carries a checksum of its payload: a truncated or corrupted entry is ignored and
recomputed. Failures to read or write the cache never fail a run.
"""

from __future__ import annotations

import contextlib
import dataclasses
import enum
import functools
import hashlib
import importlib.util
import os
import pickle
import platform
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from sqla_upgrade.codemods.options import Options

MAGIC = b"sqla-upgrade-cache 1\n"
CHECKSUM_BYTES = 32
#: options that change how a run goes, never what a file becomes
NOT_OUTPUT_OPTIONS = frozenset({"jobs", "timeout", "cache_dir"})


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/sqla-upgrade``, else ``~/.cache/sqla-upgrade``."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "sqla-upgrade"


def sha256(*parts: bytes | str) -> str:
    digest = hashlib.sha256()
    for part in parts:
        data = part.encode("utf-8", "surrogatepass") if isinstance(part, str) else part
        digest.update(len(data).to_bytes(8, "little"))
        digest.update(data)
    return digest.hexdigest()


def file_digests(paths: Iterable[Path]) -> list[str]:
    """``path:digest`` of each file, in the order given (an unreadable one says so)."""
    inputs = []
    for path in paths:
        try:
            content = path.read_bytes()
        except OSError:
            content = b"<unreadable>"
        inputs.append(f"{path}:{sha256(content)}")
    return inputs


@functools.lru_cache(maxsize=1)
def tool_digest() -> str:
    """Digest of this tool's own code and of what it runs on."""
    import sqla_upgrade

    package = Path(sqla_upgrade.__file__).resolve().parent
    parts: list[bytes | str] = [
        sqla_upgrade.__version__,
        _libcst_version(),
        sys.version,
        platform.python_implementation(),
    ]
    for source in sorted(package.rglob("*")):
        if source.suffix in (".py", ".json") and source.is_file():
            parts += [source.relative_to(package).as_posix(), source.read_bytes()]
    return sha256(*parts)


def _libcst_version() -> bytes | str:
    """libcst's version file, read without importing libcst (a run whose every file is
    answered from the cache never needs it)."""
    spec = importlib.util.find_spec("libcst")
    if spec is None or spec.origin is None:
        return "?"
    try:
        return Path(spec.origin).with_name("_version.py").read_bytes()
    except OSError:
        return spec.origin


def canonical(value: Any) -> Any:
    """A form of ``value`` whose ``repr`` is the same in every process (sets and dicts
    sorted, dataclasses by field), for digests that must not depend on hash seeds."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return (
            type(value).__name__,
            tuple((f.name, canonical(getattr(value, f.name))) for f in dataclasses.fields(value)),
        )
    if isinstance(value, enum.Enum):
        return (type(value).__name__, value.value)
    if isinstance(value, dict):
        items = [(repr(canonical(k)), canonical(v)) for k, v in value.items()]
        return ("dict", tuple(sorted(items, key=lambda item: item[0])))
    if isinstance(value, set | frozenset):
        return ("set", tuple(sorted(repr(canonical(v)) for v in value)))
    if isinstance(value, list | tuple):
        return (type(value).__name__, tuple(canonical(v) for v in value))
    if isinstance(value, Path):
        return ("path", str(value))
    return value


def canonical_digest(value: Any) -> str:
    return sha256(repr(canonical(value)))


def options_digest(options: Options) -> str:
    fields = {
        f.name: getattr(options, f.name)
        for f in dataclasses.fields(options)
        if f.name not in NOT_OUTPUT_OPTIONS
    }
    return canonical_digest(fields)


class Cache:
    """Entries under ``root``, two levels deep by key (``ab/abcdef...``)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.hits = 0
        self.misses = 0
        self._marked = False

    def _path(self, key: str) -> Path:
        return self.root / key[:2] / key

    def get(self, key: str) -> Any | None:
        """The value stored under ``key``; None when absent, unreadable or corrupted."""
        try:
            data = self._path(key).read_bytes()
        except OSError:
            self.misses += 1
            return None
        value = _decode(data)
        if value is None:
            self.misses += 1
            with contextlib.suppress(OSError):  # a broken entry is recomputed and rewritten
                self._path(key).unlink()
            return None
        self.hits += 1
        return value[0]

    def put(self, key: str, value: Any) -> None:
        try:
            payload = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception:  # an unpicklable value is simply not cached
            return
        data = MAGIC + hashlib.sha256(payload).digest() + payload
        path = self._path(key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            if not self._marked:
                _mark_ignored(self.root)
                self._marked = True
            handle, temporary = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
            try:
                with os.fdopen(handle, "wb") as out:
                    out.write(data)
                os.replace(temporary, path)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(temporary)
                raise
        except OSError:
            return


def _decode(data: bytes) -> tuple[Any] | None:
    if not data.startswith(MAGIC):
        return None
    checksum = data[len(MAGIC) : len(MAGIC) + CHECKSUM_BYTES]
    payload = data[len(MAGIC) + CHECKSUM_BYTES :]
    if hashlib.sha256(payload).digest() != checksum:
        return None
    try:
        return (pickle.loads(payload),)
    except Exception:
        return None


def _mark_ignored(root: Path) -> None:
    """Keep a cache placed inside a repository out of ``git status``."""
    marker = root / ".gitignore"
    if not marker.exists():
        with contextlib.suppress(OSError):
            marker.write_text("# created by sqla-upgrade: its result cache\n*\n")


def open_cache(options: Options) -> Cache | None:
    return Cache(options.cache_dir) if options.cache_dir is not None else None
