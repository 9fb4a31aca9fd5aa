"""Byte fidelity where libcst's own round trip is not exact.

libcst reproduces almost every file byte for byte (``parse_module(src).bytes == src``).
Two exceptions are known (libcst 1.x):

* a file with CR-only line endings (classic Mac OS) loses its final ``\\r``: the run
  puts it back;
* a form feed (``^L``) at the start of a line that begins a statement at module level is
  dropped, and so are blank lines before a form feed that ends the file: such a file is
  reported as failed rather than rewritten without them.

The check only costs anything for files holding a form feed or a bare CR.
"""

from __future__ import annotations

import libcst as cst

from sqla_upgrade.codemods.codegen import bytes_of

FORM_FEED = b"\x0c"


def _has_bare_cr(source: bytes) -> bool:
    return source.count(b"\r") != source.count(b"\r\n")


def _needs_check(source: bytes) -> bool:
    return FORM_FEED in source or _has_bare_cr(source)


def keep_final_newline(source: bytes, code: bytes) -> bytes:
    """``code`` with the final bare CR of ``source`` that libcst drops put back."""
    if source.endswith(b"\r") and not code.endswith((b"\r", b"\n")):
        return code + b"\r"
    return code


def _first_difference(left: bytes, right: bytes) -> int:
    for position, (a, b) in enumerate(zip(left, right, strict=False)):
        if a != b:
            return position
    return min(len(left), len(right))


def round_trip_problem(tree: cst.Module, source: bytes) -> str | None:
    """Why libcst would not give back ``source`` unchanged (after ``keep_final_newline``),
    or None."""
    if not _needs_check(source):
        return None
    again = keep_final_newline(source, bytes_of(tree))
    if again == source:
        return None
    line = source[: _first_difference(source, again)].count(b"\n") + 1
    if FORM_FEED in source:
        return (
            f"libcst would not keep the whitespace of this file byte for byte near line {line} "
            "(a form feed, ^L, that begins a line or ends the file); remove the form feed to "
            "migrate this file"
        )
    return f"libcst would not keep the line endings of this file byte for byte (line {line})"
