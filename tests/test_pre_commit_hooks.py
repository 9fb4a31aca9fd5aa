"""The ``.pre-commit-hooks.yaml`` hooks, run by the real ``pre-commit`` in a temporary repository.

pre-commit clones the hook repository (a git copy of this checkout's sources, so the test
covers uncommitted work too), builds its own virtualenv and ``pip install``s the tool into
it, exactly as for a user; only PyPI is reached, for the tool's dependencies.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
HOOK_SOURCES = ("pyproject.toml", "README.md", ".pre-commit-hooks.yaml", "sqla_upgrade")
LEGACY = "from sqlalchemy import select\n\n\ndef ids(t):\n    return select([t.c.id])\n"
TIMEOUT = 900


def git(folder: Path, *args: str) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.com",
    }
    done = subprocess.run(
        ["git", *args], cwd=folder, env=env, capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def hook_repository(folder: Path) -> str:
    """A git repository with this checkout's sources; returns its commit."""
    folder.mkdir()
    for name in HOOK_SOURCES:
        source = ROOT / name
        if source.is_dir():
            ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
            shutil.copytree(source, folder / name, ignore=ignore)
        else:
            shutil.copy2(source, folder / name)
    git(folder, "init", "-q")
    git(folder, "add", ".")
    git(folder, "commit", "-q", "-m", "hooks")
    return git(folder, "rev-parse", "HEAD")


def pre_commit(project: Path, cache: Path, hook: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PRE_COMMIT_HOME": str(cache), "PRE_COMMIT_COLOR": "never"}
    return subprocess.run(
        [sys.executable, "-m", "pre_commit", "run", hook, "--all-files"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_pre_commit_hooks_run_for_real(tmp_path: Path) -> None:
    revision = hook_repository(tmp_path / "hooks")
    project = tmp_path / "project"
    project.mkdir()
    (project / "legacy.py").write_text(LEGACY)
    (project / "clean.py").write_text("print('fine')\n")
    (project / ".pre-commit-config.yaml").write_text(
        "repos:\n"
        f"  - repo: {tmp_path / 'hooks'}\n"
        f"    rev: {revision}\n"
        "    hooks:\n"
        "      - id: sqla-upgrade-check\n"
        "        args: [--target, '2.0']\n"
        "      - id: sqla-upgrade-apply\n"
        "        args: [--target, '2.0']\n"
    )
    git(project, "init", "-q")
    git(project, "add", ".")
    cache = tmp_path / "cache"

    checked = pre_commit(project, cache, "sqla-upgrade-check")
    output = checked.stdout + checked.stderr
    assert checked.returncode == 1, output
    assert "sqla-upgrade check" in output and "Failed" in output
    assert "legacy.py: would be changed" in output
    assert (project / "legacy.py").read_text() == LEGACY

    applied = pre_commit(project, cache, "sqla-upgrade-apply")
    output = applied.stdout + applied.stderr
    assert applied.returncode == 1, output
    assert "files were modified by this hook" in output
    assert (project / "legacy.py").read_text().endswith("return select(t.c.id)\n")
    assert (project / "clean.py").read_text() == "print('fine')\n"

    git(project, "add", ".")
    for hook in ("sqla-upgrade-check", "sqla-upgrade-apply"):
        again = pre_commit(project, cache, hook)
        assert again.returncode == 0, again.stdout + again.stderr
        assert "Passed" in again.stdout
