"""The command line: commands, exit codes, output formats, bad input."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sqla_upgrade.cli.app import app

runner = CliRunner()


def snapshot(folder: Path) -> dict[str, tuple[bytes, int, int]]:
    return {
        str(p.relative_to(folder)): (p.read_bytes(), p.stat().st_mtime_ns, p.stat().st_mode)
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def invoke(*args: str, stdin: str | bytes | None = None):
    return runner.invoke(app, list(args), input=stdin)


def test_diff_prints_and_touches_nothing(legacy_tree: Path) -> None:
    before = snapshot(legacy_tree)
    result = invoke("diff", str(legacy_tree))
    assert result.exit_code == 0, result.output
    assert "+from sqlalchemy.orm import declarative_base" in result.output
    assert "-    return select([t.c.id], t.c.id > 1)" in result.output
    assert snapshot(legacy_tree) == before


def test_check_apply_check_apply(legacy_tree: Path) -> None:
    assert invoke("check", str(legacy_tree)).exit_code == 1
    plain_before = snapshot(legacy_tree)["pkg/plain.py"]
    applied = invoke("apply", str(legacy_tree))
    assert applied.exit_code == 0, applied.output
    models = (legacy_tree / "pkg" / "models.py").read_text()
    assert "select(t.c.id).where(t.c.id > 1)" in models
    assert snapshot(legacy_tree)["pkg/plain.py"] == plain_before
    assert invoke("check", str(legacy_tree)).exit_code == 0
    after_first = snapshot(legacy_tree)
    assert invoke("apply", str(legacy_tree)).exit_code == 0
    assert snapshot(legacy_tree) == after_first


def test_diff_json_lists_files_passes_notes(legacy_tree: Path) -> None:
    (legacy_tree / "pkg" / "todo.py").write_text(
        "from sqlalchemy import select\nstmt = select([t], bind=engine)\n"
    )
    result = invoke("diff", str(legacy_tree), "--format", "json")
    assert result.exit_code == 0
    document = json.loads(result.stdout)
    paths = {Path(f["path"]).name: f for f in document["files"]}
    assert set(paths) == {"models.py", "todo.py"}
    assert paths["models.py"]["rewrites"] == {"declarative-import": 1, "select-list": 1}
    assert paths["todo.py"]["notes"][0]["kind"] == "todo"
    assert document["summary"]["files_changed"] == 2
    assert document["summary"]["todos"] == 1


def test_check_github_annotations(legacy_tree: Path) -> None:
    result = invoke("check", str(legacy_tree), "--format", "github")
    assert result.exit_code == 1
    assert "::error file=" in result.stdout


def test_passes_and_explain() -> None:
    listed = invoke("passes")
    assert listed.exit_code == 0
    names = [line.split()[0] for line in listed.stdout.splitlines()]
    assert names[0] == "declarative-import"
    explained = invoke("explain", "select-list")
    assert explained.exit_code == 0
    assert "Before::" in explained.stdout and "Safety" in explained.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("diff", "--target", "3.0"), "unknown target"),
        (("diff", "--only", "nope"), "unknown pass 'nope'"),
        (("check", "--skip", "select-list,nope"), "unknown pass 'nope'"),
        (("diff", "does/not/exist"), "no such file or directory"),
        (("explain", "nope"), "unknown pass"),
        (("diff", "--jobs", "0"), "--jobs"),
    ],
)
def test_usage_errors_exit_2_with_one_line(
    args: tuple[str, ...], message: str, tmp_path: Path
) -> None:
    os.chdir(tmp_path)
    result = invoke(*args)
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output


def test_bad_files_are_reported_and_others_processed(legacy_tree: Path) -> None:
    pkg = legacy_tree / "pkg"
    (pkg / "py2.py").write_text("from sqlalchemy import select\nprint 'hello'\n")
    (pkg / "binary.py").write_bytes(b"from sqlalchemy import select\nx = '\xff\xfe'\n")
    (pkg / "empty.py").write_bytes(b"")
    (pkg / "dir.py").mkdir()
    (pkg / "dir.py" / "inner.py").write_text("from sqlalchemy import select\ns = select([a])\n")
    readonly = pkg / "readonly.py"
    readonly.write_text("from sqlalchemy import select\ns = select([a])\n")
    readonly.chmod(0o444)
    before = snapshot(legacy_tree)
    diffed = invoke("diff", str(legacy_tree))
    assert diffed.exit_code == 1
    assert "py2.py: error: cannot parse" in diffed.output
    assert "binary.py: error:" in diffed.output
    assert snapshot(legacy_tree) == before
    applied = invoke("apply", str(legacy_tree))
    assert applied.exit_code == 3
    assert "readonly.py: error: cannot write: the file is read-only" in applied.output
    assert "Traceback" not in applied.output
    assert (pkg / "dir.py" / "inner.py").read_text().endswith("s = select(a)\n")
    assert "select(t.c.id)" in (pkg / "models.py").read_text()
    assert readonly.read_text().endswith("select([a])\n")
    assert (pkg / "py2.py").read_bytes() == before["pkg/py2.py"][0]
    assert (pkg / "empty.py").read_bytes() == b""
    checked = invoke("check", str(legacy_tree))
    assert checked.exit_code == 3


def test_bytes_are_faithful(tmp_path: Path) -> None:
    crlf = tmp_path / "crlf.py"
    crlf.write_bytes(b"\xef\xbb\xbffrom sqlalchemy import select\r\ns = select([a])\r\nx = 1")
    crlf.chmod(0o751)
    latin = tmp_path / "latin.py"
    latin.write_bytes(
        b"# -*- coding: latin-1 -*-\nfrom sqlalchemy import select\nname = '\xe9'\ns = select([a])\n"
    )
    assert invoke("apply", str(tmp_path)).exit_code == 0
    assert (
        crlf.read_bytes() == b"\xef\xbb\xbffrom sqlalchemy import select\r\ns = select(a)\r\nx = 1"
    )
    assert stat.S_IMODE(crlf.stat().st_mode) == 0o751
    assert latin.read_bytes().endswith(b"name = '\xe9'\ns = select(a)\n")
    assert not list(tmp_path.glob(".*sqla-upgrade"))


def test_discovery_skips_ignored_and_environment_dirs(tmp_path: Path) -> None:
    legacy = "from sqlalchemy import select\ns = select([a])\n"
    for folder in ("venv", "node_modules", "build", ".git", "generated", "env"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "m.py").write_text(legacy)
    (tmp_path / "env" / "pyvenv.cfg").write_text("")
    (tmp_path / ".gitignore").write_text("generated/\n*_skip.py\n")
    (tmp_path / "a_skip.py").write_text(legacy)
    (tmp_path / "kept.py").write_text(legacy)
    (tmp_path / "loop").symlink_to(tmp_path, target_is_directory=True)
    (tmp_path / "dangling.py").symlink_to(tmp_path / "missing.py")
    result = invoke("diff", str(tmp_path), "--format", "json")
    assert result.exit_code == 0, result.output
    changed = [
        Path(f["path"]).relative_to(tmp_path).as_posix() for f in json.loads(result.stdout)["files"]
    ]
    assert changed == ["kept.py"]


def test_explicit_file_is_always_processed(tmp_path: Path) -> None:
    (tmp_path / ".gitignore").write_text("*.py\n")
    target = tmp_path / "m.py"
    target.write_text("from sqlalchemy import select\ns = select([a])\n")
    assert invoke("check", str(target)).exit_code == 1


def test_stdin_to_stdout() -> None:
    result = invoke("apply", "-", stdin="from sqlalchemy import select\ns = select([a])\n")
    assert result.exit_code == 0
    assert result.stdout == "from sqlalchemy import select\ns = select(a)\n"
    diffed = invoke("diff", "-", stdin="from sqlalchemy import select\ns = select([a])\n")
    assert "+s = select(a)" in diffed.stdout


def test_config_from_pyproject(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.sqla-upgrade]\nskip = ["select-list"]\n')
    (tmp_path / "m.py").write_text("from sqlalchemy import select\ns = select([a])\n")
    assert invoke("check", str(tmp_path)).exit_code == 0
    assert invoke("check", str(tmp_path), "--skip", "case-list").exit_code == 1
    (tmp_path / "pyproject.toml").write_text("[tool.sqla-upgrade]\nwhatever = 1\n")
    bad = invoke("check", str(tmp_path))
    assert bad.exit_code == 2 and "unknown [tool.sqla-upgrade] keys: whatever" in bad.output


def test_parallel_jobs_give_the_same_result(tmp_path: Path) -> None:
    for number in range(12):
        (tmp_path / f"m{number}.py").write_text(
            f"from sqlalchemy import select\ns = select([a{number}])\n"
        )
    serial = json.loads(invoke("diff", str(tmp_path), "--format", "json", "--jobs", "1").stdout)
    parallel = json.loads(invoke("diff", str(tmp_path), "--format", "json", "--jobs", "2").stdout)
    assert serial == parallel
    assert len(serial["files"]) == 12


def test_console_script_as_subprocess(legacy_tree: Path) -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "sqla_upgrade", "check", str(legacy_tree)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 1
    assert "would be changed" in completed.stderr
    version = subprocess.run(
        [sys.executable, "-m", "sqla_upgrade", "--version"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert version.returncode == 0 and version.stdout.startswith("sqla-upgrade ")


def test_piped_diff_is_a_patch_git_applies(tmp_path: Path) -> None:
    """Tabs, form feeds and CRLF line endings reach the patch as they are in the file."""
    source = (
        b"from sqlalchemy import select\r\n"
        b"\x0c\r\n"
        b"def ids(t):\r\n"
        b'\treturn select([t.c.id], t.c.name == "a\tb")\r\n'
    )
    for tree in ("patched", "applied"):
        (tmp_path / tree).mkdir()
        (tmp_path / tree / "legacy.py").write_bytes(source)
    patch = subprocess.run(
        [sys.executable, "-m", "sqla_upgrade", "diff", "--no-cache", "legacy.py"],
        cwd=tmp_path / "patched",
        capture_output=True,
        check=True,
    ).stdout
    assert b"\t" in patch and b"\r\n" in patch and b"\x0c" in patch
    subprocess.run(["git", "apply", "-"], input=patch, cwd=tmp_path / "patched", check=True)
    assert invoke("apply", "--no-cache", str(tmp_path / "applied")).exit_code == 0
    migrated = (tmp_path / "applied" / "legacy.py").read_bytes()
    assert migrated != source
    assert (tmp_path / "patched" / "legacy.py").read_bytes() == migrated
