"""Which files that ``apply`` would write hold work git could not give back.

Like ``cargo fix``, ``apply`` refuses to write a file of a git work tree that has
uncommitted changes (modified, staged, untracked, or ignored by git): after the rewrite,
``git diff`` must show exactly what the tool did, and ``git checkout`` must undo it.
Files outside any git work tree are not checked. The check looks at the file actually
written (a symlink's target), in the work tree (or submodule) that holds it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

#: paths per ``git status`` call (command lines have a length limit)
BATCH = 200


class VcsError(Exception):
    """The check could not be done; the message says why."""


@dataclass(frozen=True)
class DirtyFile:
    path: str  # as the user named it
    state: str  # modified, staged, untracked, ignored by git, ...


def _git(*args: str, cwd: str) -> subprocess.CompletedProcess[bytes]:
    git = shutil.which("git")
    if git is None:
        raise VcsError("git is not installed")
    return subprocess.run(
        [git, "--literal-pathspecs", *args], cwd=cwd, capture_output=True, check=False
    )


def _inside_git_marker(folder: str) -> bool:
    current = Path(folder)
    return any((candidate / ".git").exists() for candidate in (current, *current.parents))


def work_tree(folder: str) -> str | None:
    """The top folder of the git work tree holding ``folder``, or None."""
    try:
        completed = _git("rev-parse", "--show-toplevel", cwd=folder)
    except VcsError:
        if _inside_git_marker(folder):
            raise VcsError(
                f"{folder} looks like a git work tree but git is not installed"
            ) from None
        return None
    if completed.returncode != 0:
        return None
    return os.path.realpath(os.fsdecode(completed.stdout.rstrip(b"\n")))


def _state(code: str) -> str:
    if code == "??":
        return "untracked"
    if code == "!!":
        return "ignored by git"
    index, tree = code[0], code[1]
    if "U" in code or code in ("AA", "DD"):
        return "unmerged"
    if index != " " and tree != " ":
        return "staged and modified"
    return "staged" if index != " " else "modified"


def _parse_status(output: bytes) -> dict[str, str]:
    """``git status --porcelain -z`` output as {path relative to the top: state}."""
    states: dict[str, str] = {}
    fields = output.split(b"\0")
    position = 0
    while position < len(fields):
        entry = fields[position]
        position += 1
        if len(entry) < 4:
            continue
        code, name = entry[:2].decode(), os.fsdecode(entry[3:])
        states[name] = _state(code)
        if code[0] in "RC":
            position += 1  # the rename's or copy's source path
    return states


def _status(top: str, relative: list[str]) -> dict[str, str]:
    states: dict[str, str] = {}
    for start in range(0, len(relative), BATCH):
        completed = _git(
            "status",
            "--porcelain=v1",
            "-z",
            "--untracked-files=all",
            "--ignored=traditional",
            "--",
            *relative[start : start + BATCH],
            cwd=top,
        )
        if completed.returncode != 0:
            message = completed.stderr.decode(errors="replace").strip()
            raise VcsError(f"git status failed in {top}: {message}")
        states.update(_parse_status(completed.stdout))
    return states


def uncommitted(paths: Iterable[str]) -> list[DirtyFile]:
    """The files among ``paths`` that a git work tree holds with uncommitted changes."""
    by_tree: dict[str, list[tuple[str, str]]] = {}
    tops: dict[str, str | None] = {}
    for path in paths:
        real = os.path.realpath(path)
        folder = os.path.dirname(real)
        if folder not in tops:
            tops[folder] = work_tree(folder)
        top = tops[folder]
        if top is not None:
            by_tree.setdefault(top, []).append((path, os.path.relpath(real, top)))
    dirty = []
    for top, entries in by_tree.items():
        states = _status(top, [relative for _, relative in entries])
        for path, relative in entries:
            state = _lookup(states, Path(relative).as_posix())
            if state is not None:
                dirty.append(DirtyFile(path, state))
    return dirty


def _lookup(states: dict[str, str], relative: str) -> str | None:
    """The file's state, or that of a folder holding it (git lists an untracked or
    ignored folder as ``folder/``)."""
    if relative in states:
        return states[relative]
    parts = relative.split("/")
    for end in range(len(parts) - 1, 0, -1):
        folder = "/".join(parts[:end]) + "/"
        if folder in states:
            return states[folder]
    return None
