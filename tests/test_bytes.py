"""Bytes on disk: encodings, BOM, newlines, whitespace, permissions, symlinks, hard links.

Every case goes through ``sqla-upgrade apply`` on a real file and must come out exactly
as expected, compile, and stay as it is on a second ``apply``. ``test_cli.py`` already
covers BOM + CRLF + no final newline + mode 751 together, a latin-1 cookie, read-only
files and undecodable bytes; these cases add the rest.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sqla_upgrade.api import migrate_source
from sqla_upgrade.cli.app import app

runner = CliRunner()

IMPORT = b"from sqlalchemy import select\n"
OLD = b"s = select([a])"
NEW = b"s = select(a)"


def apply(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["apply", "--target", "2.0", *args])
    return result.exit_code, result.output


def lines(*parts: bytes, newline: bytes = b"\n", final: bool = True) -> bytes:
    text = newline.join(parts)
    return text + newline if final else text


# (name, before, after): after is None when the file must be left alone
CASES = [
    ("lf", lines(IMPORT.strip(), OLD), lines(IMPORT.strip(), NEW)),
    (
        "crlf",
        lines(IMPORT.strip(), OLD, newline=b"\r\n"),
        lines(IMPORT.strip(), NEW, newline=b"\r\n"),
    ),
    (
        "cr",
        lines(IMPORT.strip(), OLD, b"x = 1", newline=b"\r"),
        lines(IMPORT.strip(), NEW, b"x = 1", newline=b"\r"),
    ),
    (
        "mixed newlines",
        IMPORT.strip() + b"\r\n" + OLD + b"\nx = 1\r\ny = 2\r",
        IMPORT.strip() + b"\r\n" + NEW + b"\nx = 1\r\ny = 2\r",
    ),
    (
        "no final newline",
        lines(IMPORT.strip(), OLD, final=False),
        lines(IMPORT.strip(), NEW, final=False),
    ),
    (
        "no final newline crlf",
        lines(IMPORT.strip(), OLD, newline=b"\r\n", final=False),
        lines(IMPORT.strip(), NEW, newline=b"\r\n", final=False),
    ),
    (
        "tabs",
        IMPORT + b"def f():\n\tif True:\n\t\t" + OLD + b"\n\treturn None\n",
        IMPORT + b"def f():\n\tif True:\n\t\t" + NEW + b"\n\treturn None\n",
    ),
    (
        "trailing whitespace and blank lines with spaces",
        IMPORT + b"x = 1   \n    \n" + OLD + b"  # note \t\n\n\n",
        IMPORT + b"x = 1   \n    \n" + NEW + b"  # note \t\n\n\n",
    ),
    (
        "form feed on its own line and in indentation",
        IMPORT + b"\x0c\n" + OLD + b"\ndef f():\n\x0c    return 1\n",
        IMPORT + b"\x0c\n" + NEW + b"\ndef f():\n\x0c    return 1\n",
    ),
    ("bom lf", b"\xef\xbb\xbf" + IMPORT + OLD + b"\n", b"\xef\xbb\xbf" + IMPORT + NEW + b"\n"),
    (
        "utf-8-sig cookie with bom",
        b"\xef\xbb\xbf# -*- coding: utf-8-sig -*-\n" + IMPORT + "x = 'ü'\n".encode() + OLD + b"\n",
        b"\xef\xbb\xbf# -*- coding: utf-8-sig -*-\n" + IMPORT + "x = 'ü'\n".encode() + NEW + b"\n",
    ),
    (
        "cp1252 cookie",
        b"# coding: cp1252\n"
        + IMPORT
        + "euro = '€ \u2018quoted\u2019'\n".encode("cp1252")
        + OLD
        + b"\n",
        b"# coding: cp1252\n"
        + IMPORT
        + "euro = '€ \u2018quoted\u2019'\n".encode("cp1252")
        + NEW
        + b"\n",
    ),
    (
        "vim cookie on line 2 after a shebang",
        b"#!/usr/bin/env python\n# vim: set fileencoding=iso-8859-15 :\n"
        + IMPORT
        + "euro = '€'\n".encode("iso-8859-15")
        + OLD
        + b"\n",
        b"#!/usr/bin/env python\n# vim: set fileencoding=iso-8859-15 :\n"
        + IMPORT
        + "euro = '€'\n".encode("iso-8859-15")
        + NEW
        + b"\n",
    ),
    (
        "latin-1 cookie and crlf",
        b"# -*- coding: latin-1 -*-\r\n"
        + IMPORT.strip()
        + b"\r\nname = '\xe9'\r\n"
        + OLD
        + b"\r\n",
        b"# -*- coding: latin-1 -*-\r\n"
        + IMPORT.strip()
        + b"\r\nname = '\xe9'\r\n"
        + NEW
        + b"\r\n",
    ),
    ("empty", b"", None),
    ("only whitespace", b"\n \n\t\n", None),
    ("only a bom", b"\xef\xbb\xbf", None),
]


@pytest.mark.parametrize(("name", "before", "after"), CASES, ids=[c[0] for c in CASES])
def test_bytes_are_kept(tmp_path: Path, name: str, before: bytes, after: bytes | None) -> None:
    path = tmp_path / "m.py"
    path.write_bytes(before)
    stamp = path.stat().st_mtime_ns
    code, output = apply(str(path))
    assert code == 0, output
    if after is None:
        assert path.read_bytes() == before
        assert path.stat().st_mtime_ns == stamp, "an untouched file was rewritten"
        return
    assert path.read_bytes() == after
    compile(after, str(path), "exec", dont_inherit=True)
    written = path.stat().st_mtime_ns
    assert apply(str(path))[0] == 0
    assert path.read_bytes() == after and path.stat().st_mtime_ns == written


def test_todo_comment_fits_a_latin1_file(tmp_path: Path) -> None:
    """Regression: a TODO whose message holds "→" made a latin-1 file an internal error."""
    path = tmp_path / "m.py"
    path.write_bytes(
        b"# -*- coding: latin-1 -*-\nfrom sqlalchemy.orm import Session\nname = '\xe9'\n"
        b"def f(session: Session):\n    return session.query(User).with_labels().all()\n"
    )
    code, output = apply(str(path))
    assert code == 0, output
    content = path.read_bytes()
    assert b"# TODO(sqla-upgrade): Query.with_labels() -> set_label_style(" in content
    assert b"name = '\xe9'" in content
    assert apply(str(path))[0] == 0 and path.read_bytes() == content


def test_form_feed_before_a_statement_is_a_clear_failure(tmp_path: Path) -> None:
    """libcst drops a form feed that begins a statement's line: the file is reported,
    never written without it; a file with nothing to migrate is not affected."""
    legacy = tmp_path / "legacy.py"
    legacy.write_bytes(IMPORT + OLD + b"\n\x0cdef f():\n    pass\n")
    plain = tmp_path / "plain.py"
    plain.write_bytes(b"x = 1\n\x0cdef f():\n    pass\n")
    before = legacy.read_bytes()
    code, output = apply(str(tmp_path))
    assert code == 3
    assert "legacy.py: error: cannot transform: libcst would not keep the whitespace" in output
    assert "plain.py" not in output
    assert legacy.read_bytes() == before


def test_unicode_identifiers_and_strings(tmp_path: Path) -> None:
    path = tmp_path / "m.py"
    before = "from sqlalchemy import select\nñandú = select([tablé.c.ñ])  # ünïcödé\n"
    path.write_text(before, encoding="utf-8")
    assert apply(str(path))[0] == 0
    assert path.read_text(encoding="utf-8") == before.replace(
        "select([tablé.c.ñ])", "select(tablé.c.ñ)"
    )


@pytest.mark.parametrize("mode", [0o600, 0o640, 0o664, 0o755, 0o2755])
def test_permissions_are_kept(tmp_path: Path, mode: int) -> None:
    path = tmp_path / "m.py"
    path.write_bytes(IMPORT + OLD + b"\n")
    path.chmod(mode)
    assert apply(str(path))[0] == 0
    assert path.read_bytes() == IMPORT + NEW + b"\n"
    assert stat.S_IMODE(path.stat().st_mode) == mode


# -- symlinks ------------------------------------------------------------------------------
def test_symlink_and_target_in_the_tree_rewrite_the_target_once(tmp_path: Path) -> None:
    target = tmp_path / "real.py"
    target.write_bytes(IMPORT + OLD + b"\n")
    link = tmp_path / "a_link.py"
    link.symlink_to(target)
    result = runner.invoke(app, ["apply", "--target", "2.0", "--format", "json", str(tmp_path)])
    assert result.exit_code == 0, result.output
    reported = [Path(f["path"]).name for f in json.loads(result.stdout)["files"]]
    assert reported == ["a_link.py"]  # the first name found, once
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert target.read_bytes() == IMPORT + NEW + b"\n"


def test_symlink_to_a_file_outside_the_tree_is_left_alone(tmp_path: Path) -> None:
    outside = tmp_path / "outside.py"
    outside.write_bytes(IMPORT + OLD + b"\n")
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "link.py").symlink_to(outside)
    (tree / "own.py").write_bytes(IMPORT + OLD + b"\n")
    assert apply(str(tree))[0] == 0
    assert outside.read_bytes() == IMPORT + OLD + b"\n"
    assert (tree / "own.py").read_bytes() == IMPORT + NEW + b"\n"
    assert apply(str(tree / "link.py"))[0] == 0, "a symlink named explicitly is followed"
    assert outside.read_bytes() == IMPORT + NEW + b"\n"
    assert (tree / "link.py").is_symlink()


# -- hard links ----------------------------------------------------------------------------
def _linked_pair(tmp_path: Path) -> tuple[Path, Path]:
    first = tmp_path / "tree" / "m.py"
    first.parent.mkdir()
    first.write_bytes(IMPORT + OLD + b"\n")
    other = tmp_path / "other_name.py"
    os.link(first, other)
    return first, other


def test_hard_link_is_broken_by_default_and_the_user_is_told(tmp_path: Path) -> None:
    first, other = _linked_pair(tmp_path)
    code, output = apply(str(first.parent))
    assert code == 0, output
    assert first.read_bytes() == IMPORT + NEW + b"\n"
    assert other.read_bytes() == IMPORT + OLD + b"\n"
    assert first.stat().st_nlink == 1
    assert "had 2 hard links" in output and "--preserve-links" in output


def test_preserve_links_writes_in_place(tmp_path: Path) -> None:
    first, other = _linked_pair(tmp_path)
    inode = first.stat().st_ino
    code, output = apply(str(first.parent), "--preserve-links")
    assert code == 0, output
    assert first.stat().st_ino == inode and first.stat().st_nlink == 2
    assert other.read_bytes() == IMPORT + NEW + b"\n"
    assert "written in place" in output


def test_preserve_links_with_both_links_in_the_tree(tmp_path: Path) -> None:
    first = tmp_path / "a.py"
    first.write_bytes(IMPORT + OLD + b"\n")
    os.link(first, tmp_path / "b.py")
    code, output = apply(str(tmp_path), "--preserve-links")
    assert code == 0, output
    assert (tmp_path / "b.py").read_bytes() == IMPORT + NEW + b"\n"
    assert first.stat().st_nlink == 2


def test_api_keeps_crlf_and_cr() -> None:
    crlf = "from sqlalchemy import select\r\ns = select([a])\r\n"
    assert migrate_source(crlf, target="2.0").code == crlf.replace("select([a])", "select(a)")
