"""Writing results: atomic replacement, backups, hard links, stopping between files.

Only the parent process writes, one file at a time, in path order:

* the file is written to a temporary file beside it, flushed to disk, given the
  original's permissions and owner, then renamed over it (``os.replace``): at every
  moment the path holds either the whole old or the whole new content;
* a file whose content changed since it was read is not written (its result fails);
* ``backup``: the old content is first saved as ``NAME.orig`` (``NAME.orig.1``, ... when
  that exists: a backup is never overwritten), beside the file actually written;
* a symlink is written through: its target gets the new content, the link stays a link;
* a file with several hard links: the rename gives this path a new file and the other
  links keep the old content (a note says so); ``preserve_links`` writes such a file in
  place instead (same inode, every link sees the new code), which is not atomic against
  a hard kill or a power cut, only against the signals the caller defers;
* ``stop()`` is asked before each file; once it says so, the remaining files are left
  untouched and listed as not written.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqla_upgrade.codemods.notes import Note
from sqla_upgrade.codemods.results import FileResult

TEMP_SUFFIX = ".sqla-upgrade"
BACKUP_SUFFIX = ".orig"
MAX_BACKUPS = 1000


@dataclass(frozen=True)
class WriteOptions:
    backup: bool = False
    preserve_links: bool = False


@dataclass
class WriteSummary:
    written: list[str] = field(default_factory=list)
    not_written: list[str] = field(default_factory=list)


class WriteError(Exception):
    """One file could not be written; the message is the reason."""


def _reason(exc: OSError) -> str:
    return f"cannot write: {exc.strerror or exc}"


def _temp_beside(real: str) -> tuple[int, str]:
    folder, name = os.path.split(real)
    try:
        return tempfile.mkstemp(prefix=f".{name}.", suffix=TEMP_SUFFIX, dir=folder)
    except OSError as exc:
        raise WriteError(_reason(exc)) from exc


def _fill(fd: int, temp: str, data: bytes, info: os.stat_result) -> None:
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    with contextlib.suppress(OSError):  # before chmod: chown clears setuid/setgid bits
        os.chown(temp, info.st_uid, info.st_gid)
    os.chmod(temp, stat.S_IMODE(info.st_mode))


def replace_atomically(real: str, data: bytes, info: os.stat_result) -> None:
    """Put ``data`` at ``real`` through a temporary file and a rename."""
    fd, temp = _temp_beside(real)
    try:
        _fill(fd, temp, data, info)
        os.replace(temp, real)
    except OSError as exc:
        raise WriteError(_reason(exc)) from exc
    finally:
        with contextlib.suppress(OSError):
            os.unlink(temp)


def write_in_place(real: str, data: bytes) -> None:
    """Overwrite the file's content, keeping its inode (and so its hard links)."""
    try:
        with open(real, "r+b") as handle:
            handle.write(data)
            handle.truncate()
            handle.flush()
            os.fsync(handle.fileno())
    except OSError as exc:
        raise WriteError(_reason(exc)) from exc


def write_backup(real: str, data: bytes, info: os.stat_result) -> str:
    """Save ``data`` as ``real.orig`` (or the first free ``.orig.N``); return its path."""
    fd, temp = _temp_beside(real)
    try:
        _fill(fd, temp, data, info)
        for number in range(MAX_BACKUPS):
            candidate = real + BACKUP_SUFFIX + (f".{number}" if number else "")
            try:
                os.link(temp, candidate)  # fails if the name exists: never overwrite
            except FileExistsError:
                continue
            return candidate
    except OSError as exc:
        raise WriteError(f"cannot write the backup: {exc.strerror or exc}") from exc
    finally:
        with contextlib.suppress(OSError):
            os.unlink(temp)
    raise WriteError(f"cannot write the backup: {MAX_BACKUPS} backups of this file exist")


def _checked_stat(real: str, expected: bytes) -> os.stat_result:
    try:
        info = os.stat(real)
        with open(real, "rb") as handle:
            current = handle.read()
    except OSError as exc:
        raise WriteError(_reason(exc)) from exc
    if not info.st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH):
        raise WriteError("cannot write: the file is read-only")
    if current != expected:
        raise WriteError("cannot write: the file changed on disk since it was read")
    return info


def write_file(path: Path, old: bytes, new: bytes, options: WriteOptions) -> list[str]:
    """Write ``new`` over ``path`` (which must still hold ``old``). Returns notes for the
    user; raises ``WriteError``."""
    real = os.path.realpath(path)
    info = _checked_stat(real, old)
    notes = []
    if options.backup:
        backup = write_backup(real, old, info)
        if not backup.endswith(BACKUP_SUFFIX):
            notes.append(f"backup written to {backup} ({real}{BACKUP_SUFFIX} exists)")
    if info.st_nlink > 1 and options.preserve_links:
        write_in_place(real, new)
        notes.append(f"written in place: its {info.st_nlink} hard links all see the new code")
        return notes
    replace_atomically(real, new, info)
    if info.st_nlink > 1:
        notes.append(
            f"this path had {info.st_nlink} hard links: it now holds a new file and the other "
            "links keep the old content (--preserve-links writes in place)"
        )
    return notes


def write_changes(
    results: list[FileResult],
    options: WriteOptions | None = None,
    stop: Callable[[], bool] | None = None,
) -> WriteSummary:
    """Write every changed result; a failed write turns the result into a failure."""
    chosen = options or WriteOptions()
    summary = WriteSummary()
    written_in_place: dict[tuple[int, int], bytes] = {}
    for result in results:
        if not result.changed or result.new is None:
            continue
        if stop is not None and stop():
            summary.not_written.append(result.path)
            continue
        if _same_file_already_written(result, written_in_place):
            summary.written.append(result.path)
            continue
        try:
            messages = write_file(Path(result.path), result.old, result.new, chosen)
        except WriteError as exc:
            result.error = str(exc)
            result.new = None
            continue
        summary.written.append(result.path)
        result.notes.extend(Note(result.path, 1, 1, "write", message) for message in messages)
        if chosen.preserve_links:
            written_in_place[_inode(result.path)] = result.new
    return summary


def _inode(path: str) -> tuple[int, int]:
    info = os.stat(path)
    return info.st_dev, info.st_ino


def _same_file_already_written(result: FileResult, written: dict[tuple[int, int], bytes]) -> bool:
    """A hard link of a file this run wrote in place, with the same new content."""
    try:
        return written.get(_inode(result.path)) == result.new
    except OSError:
        return False
