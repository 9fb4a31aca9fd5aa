"""Files too large to parse: decided before any parser sees them.

libcst needs several hundred bytes of memory per byte of source, and the passes take
time that grows faster than the file, so a run sets a size limit (``--max-file-size``).
A file over it is neither indexed nor transformed: when one of the selected passes could
apply to it (its prefilter bytes are there; under ``--target async`` every file, since
the async analysis reads them all) it is reported as failed with its size; otherwise
it is left alone like any file with nothing to migrate.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from sqla_upgrade.codemods.discovery import SourceFile
from sqla_upgrade.codemods.results import FileResult

if TYPE_CHECKING:
    from sqla_upgrade.codemods.base import Pass


def _megabytes(size: float) -> str:
    return f"{size / 1e6:.1f} MB" if size >= 1e5 else f"{size / 1e3:.0f} kB"


def oversized(files: list[SourceFile], limit_mb: float | None) -> dict[str, int]:
    """{path: size} of the files over the limit (None: no limit)."""
    if limit_mb is None:
        return {}
    sizes = {}
    for source_file in files:
        try:
            size = os.stat(source_file.path).st_size
        except OSError:
            continue  # reported when the file is read
        if size > limit_mb * 1e6:
            sizes[str(source_file.path)] = size
    return sizes


def oversized_result(path: str, size: int, limit_mb: float, passes: list[type[Pass]]) -> FileResult:
    """The outcome for a file over the limit: a failure if a pass could apply to it."""
    from sqla_upgrade.codemods.transform import triggered

    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        return FileResult(path=path, old=b"", error=f"cannot read: {exc.strerror or exc}")
    if not any(triggered(pass_cls, data) for pass_cls in passes):
        return FileResult(path=path, old=b"")
    limit = _megabytes(limit_mb * 1e6)
    return FileResult(
        path=path,
        old=b"",
        error=f"not transformed: {_megabytes(size)} is over the size limit of {limit} "
        "(--max-file-size)",
    )
