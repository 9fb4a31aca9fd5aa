"""``--shard K/N``, ``merge-reports`` and ``--changed-since REV``."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from sqla_upgrade.cli.app import app

runner = CliRunner()


def invoke(*args: str) -> Any:
    return runner.invoke(app, list(args))


def json_of(*args: str) -> dict[str, Any]:
    result = invoke(*args)
    assert result.exit_code in (0, 1), result.output
    return json.loads(result.stdout)


@pytest.fixture
def many_files(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    for folder in ("app", "app/sub", "scripts"):
        (root / folder).mkdir(parents=True)
    (root / "app" / "__init__.py").write_text("")
    (root / "app" / "sub" / "__init__.py").write_text("")
    for number in range(9):
        folder = ("app", "app/sub", "scripts")[number % 3]
        (root / folder / f"m{number}.py").write_text(
            f"from sqlalchemy import select\ns{number} = select([t{number}])\n"
        )
    return root


@pytest.fixture
def cross_module(tmp_path: Path) -> Path:
    """Callers and callees in different modules: the async plan spans shards."""
    root = tmp_path / "proj"
    (root / "shop").mkdir(parents=True)
    (root / "shop" / "__init__.py").write_text("")
    (root / "shop" / "repo.py").write_text(
        "def find(session, name):\n    return session.query(User).filter_by(name=name).first()\n"
    )
    (root / "shop" / "service.py").write_text(
        "from shop.repo import find\n\n\ndef greet(session, name):\n"
        "    return 'hi ' + find(session, name).name\n"
    )
    (root / "shop" / "views.py").write_text(
        "from shop.service import greet\n\n\ndef page(session):\n    return greet(session, 'ann')\n"
    )
    return root


def report_paths(*args: str) -> list[str]:
    return [f["path"] for f in json_of("report", *args, "--format", "json")["files"]]


@pytest.mark.parametrize("count", [1, 2, 3, 5])
def test_shards_cover_every_file_exactly_once(many_files: Path, count: int) -> None:
    everything = report_paths(str(many_files), "--target", "2.0", "-j", "1")
    assert len(everything) == 11
    shards = [
        report_paths(str(many_files), "--target", "2.0", "-j", "1", "--shard", f"{k}/{count}")
        for k in range(1, count + 1)
    ]
    flat = [path for shard in shards for path in shard]
    assert sorted(flat) == sorted(everything)  # every file, none twice
    again = report_paths(str(many_files), "--target", "2.0", "-j", "1", "--shard", f"1/{count}")
    assert again == shards[0]  # deterministic


def test_merged_shard_reports_equal_the_full_report(cross_module: Path, tmp_path: Path) -> None:
    full = json_of("report", str(cross_module), "--format", "json", "-j", "1")
    assert full["summary"]["async_functions"] == 3
    parts = []
    for number in (1, 2, 3):
        part = tmp_path / f"shard{number}.json"
        result = invoke(
            "report", str(cross_module), "-j", "1", "--format", "json",
            "--shard", f"{number}/3", "--output", str(part),
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        parts.append(str(part))
    merged = invoke("merge-reports", *parts)
    assert merged.exit_code == 0, merged.output
    assert json.loads(merged.stdout) == full
    html = invoke("merge-reports", *parts, "--format", "html")
    assert html.exit_code == 0 and "<svg" in html.stdout
    twice = invoke("merge-reports", parts[0], parts[0])
    if json.loads(Path(parts[0]).read_text())["files"]:
        assert twice.exit_code == 2 and "more than once" in twice.output


def test_each_shard_gets_the_result_of_a_full_run(cross_module: Path, tmp_path: Path) -> None:
    full = json_of("check", str(cross_module), "--format", "json", "-j", "1")
    diffs = {f["path"]: f for f in json_of("diff", str(cross_module), "--format", "json")["files"]}
    parts = []
    for number in (1, 2):
        shard = json_of("diff", str(cross_module), "--format", "json", "--shard", f"{number}/2")
        for entry in shard["files"]:
            assert entry == diffs[entry["path"]]  # awaits across shards: the global plan
        check = tmp_path / f"check{number}.json"
        check.write_text(
            invoke(
                "check", str(cross_module), "--format", "json", "-j", "1",
                "--shard", f"{number}/2",
            ).stdout
        )  # fmt: skip
        parts.append(str(check))
    merged = json.loads(invoke("merge-reports", *parts).stdout)
    assert merged["summary"] == full["summary"]
    assert merged["files"] == sorted(full["files"], key=lambda f: f["path"])
    assert merged["async_functions"] == full["async_functions"]


@pytest.mark.parametrize("value", ["0/2", "3/2", "x", "1/0", "2"])
def test_bad_shard_is_a_usage_error(many_files: Path, value: str) -> None:
    result = invoke("check", str(many_files), "--shard", value)
    assert result.exit_code == 2 and "--shard" in result.output


def test_merge_rejects_mixed_documents(cross_module: Path, tmp_path: Path) -> None:
    readiness = tmp_path / "r.json"
    check = tmp_path / "c.json"
    invoke("report", str(cross_module), "--format", "json", "-o", str(readiness))
    check.write_text(invoke("check", str(cross_module), "--format", "json").stdout)
    assert invoke("merge-reports", str(readiness), str(check)).exit_code == 2
    assert invoke("merge-reports", str(check), "--format", "html").exit_code == 2
    (tmp_path / "junk.json").write_text("[]")
    assert invoke("merge-reports", str(tmp_path / "junk.json")).exit_code == 2


# -- --changed-since -----------------------------------------------------------------------------
def git(root: Path, *args: str) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.com",
    }
    completed = subprocess.run(
        ["git", *args], cwd=root, env=env, capture_output=True, text=True, check=True
    )
    return completed.stdout


def test_changed_since_limits_the_run_to_changed_files(many_files: Path) -> None:
    git(many_files, "init", "-q", "-b", "main")
    git(many_files, "add", ".")
    git(many_files, "commit", "-q", "-m", "legacy")
    assert (
        json_of("check", str(many_files), "--format", "json", "--changed-since", "main")["files"]
        == []
    )
    git(many_files, "checkout", "-q", "-b", "feature")
    (many_files / "app" / "m0.py").write_text("from sqlalchemy import select\nq = select([x])\n")
    git(many_files, "commit", "-q", "-am", "committed on the branch")
    (many_files / "app" / "sub" / "m1.py").write_text("from sqlalchemy import select\ny = 1\n")
    (many_files / "scripts" / "new.py").write_text(
        "from sqlalchemy import select\nn = select([n])\n"
    )
    (many_files / ".gitignore").write_text("ignored.py\n")
    (many_files / "ignored.py").write_text("from sqlalchemy import select\ni = select([i])\n")
    names = sorted(
        Path(f["path"]).relative_to(many_files).as_posix()
        for f in json_of("report", str(many_files), "--format", "json", "--changed-since", "main")[
            "files"
        ]
    )
    assert names == ["app/m0.py", "app/sub/m1.py", "scripts/new.py"]
    check = invoke("check", str(many_files), "--changed-since", "main", "--format", "json")
    assert check.exit_code == 1
    changed = {Path(f["path"]).name for f in json.loads(check.stdout)["files"]}
    assert changed == {"m0.py", "new.py"}  # m1.py is clean now


def test_changed_since_errors(many_files: Path) -> None:
    outside = invoke("check", str(many_files), "--changed-since", "HEAD")
    assert outside.exit_code == 2 and "git" in outside.output
    git(many_files, "init", "-q")
    git(many_files, "add", ".")
    git(many_files, "commit", "-q", "-m", "x")
    bad = invoke("check", str(many_files), "--changed-since", "no-such-rev")
    assert bad.exit_code == 2 and "Traceback" not in bad.output
