"""Narrowing a run to some of its files: ``--shard K/N`` and ``--changed-since REV``.

Both only choose which files are transformed and reported; the project index (and the
async plan) still cover every file under PATHS, so a file's result is the one a full
run gives it.

Shards: a file belongs to shard ``1 + sha256(path) mod N``, its path taken relative to
the current directory (absolute when outside it). The assignment depends on nothing
but the path, so every job of a CI matrix agrees on it without talking to the others,
and adding a file never moves another one to a different shard.

Changed files: the files that differ between the merge base of REV and ``HEAD`` and
the working tree (committed on the branch, staged or not), plus untracked files git
does not ignore.
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
from collections.abc import Callable
from pathlib import Path

SHARD = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")
GIT_TIMEOUT = 120


class SelectionError(Exception):
    """A wrong ``--shard`` or ``--changed-since`` value, or git failed."""


def parse_shard(value: str) -> tuple[int, int]:
    """``"2/5"`` → ``(2, 5)``; shards are numbered from 1."""
    match = SHARD.match(value)
    if not match:
        raise SelectionError(f"--shard must look like K/N (e.g. 1/4), not {value!r}")
    number, count = int(match.group(1)), int(match.group(2))
    if count < 1 or not 1 <= number <= count:
        raise SelectionError(f"--shard {value}: K must be between 1 and N")
    return number, count


def shard_key(path: Path) -> str:
    absolute = os.path.abspath(path)
    relative = os.path.relpath(absolute, os.getcwd())
    chosen = absolute if relative.startswith("..") else relative
    return Path(chosen).as_posix()


def shard_of(path: Path, count: int) -> int:
    """The shard (1..count) a file belongs to."""
    digest = hashlib.sha256(shard_key(path).encode("utf-8")).digest()
    return 1 + int.from_bytes(digest[:8], "big") % count


def _git(args: list[str], cwd: Path) -> str:
    try:
        completed = subprocess.run(
            ["git", *args],
            cwd=cwd,
            capture_output=True,
            text=True,
            check=False,
            timeout=GIT_TIMEOUT,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise SelectionError(f"cannot run git: {exc}") from exc
    if completed.returncode != 0:
        message = completed.stderr.strip().splitlines()
        raise SelectionError(f"git {' '.join(args)}: {message[-1] if message else 'failed'}")
    return completed.stdout


def changed_files(revision: str, start: Path) -> set[str]:
    """Real paths of the files changed since ``revision`` in the repository around ``start``."""
    folder = start if start.is_dir() else start.parent
    top = Path(_git(["rev-parse", "--show-toplevel"], folder).strip())
    _git(["rev-parse", "--verify", "--quiet", f"{revision}^{{commit}}"], top)
    try:
        base = _git(["merge-base", revision, "HEAD"], top).strip()
    except SelectionError:
        base = revision
    names = _git(["diff", "--name-only", "--no-renames", "-z", base, "--"], top).split("\0")
    names += _git(["ls-files", "--others", "--exclude-standard", "-z"], top).split("\0")
    return {os.path.realpath(top / name) for name in names if name}


def file_filter(
    shard: str | None, changed_since: str | None, paths: list[Path]
) -> Callable[[Path], bool] | None:
    """The predicate choosing a run's files, or None for all of them."""
    if shard is None and changed_since is None:
        return None
    shard_number, shard_count = parse_shard(shard) if shard is not None else (1, 1)
    changed = changed_files(changed_since, paths[0]) if changed_since is not None else None

    def keep(path: Path) -> bool:
        if changed is not None and os.path.realpath(path) not in changed:
            return False
        return shard_of(path, shard_count) == shard_number

    return keep
