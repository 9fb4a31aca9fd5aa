"""Acceptance: legacy scripts migrated with both targets print what they printed.

Each directory in ``tests/legacy_programs/scripts/`` is a small program as legacy code
runs one: plain scripts doing their work at module level (Core first, then the ORM; a
store object kept in a module global), a ``__main__`` block handing a session factory
to the functions, repositories keeping their session, a scoped session with a
``query_property``, a library of functions handed the scoped session a factory function
returns. ``expected_output.txt`` is what the original prints on SQLAlchemy
1.4.

For every program and target (``2.0``, ``async``) the tool is run on a copy, then:
``apply`` exits 0, no ``# TODO(sqla-upgrade)`` is left, ``check`` finds nothing more to
change, and the migrated program, run on this environment's SQLAlchemy 2.x (async:
aiosqlite), prints exactly ``expected_output.txt``. With ``SQLA_UPGRADE_LEGACY_PYTHON``
(see ``tests/legacy_programs/make_legacy_venv.sh``) the originals are run too, proving
the golden files.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPTS_DIR = Path(__file__).resolve().parent / "legacy_programs" / "scripts"
SCRIPTS = sorted(p.name for p in SCRIPTS_DIR.iterdir() if (p / "main.py").is_file())
EXPECTED = "expected_output.txt"
TIMEOUT = 300
ROOT = Path(__file__).resolve().parents[1]


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def _run(args: list[str], cwd: Path, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        args, cwd=cwd, env=env or _env(), capture_output=True, text=True, timeout=TIMEOUT
    )
    assert done.returncode == 0, f"$ {' '.join(args)}\n{done.stdout}\n{done.stderr}"
    return done.stdout


def _copy(name: str, dest: Path) -> Path:
    target = dest / name
    shutil.copytree(
        SCRIPTS_DIR / name,
        target,
        ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.db", EXPECTED, "ruff.toml"),
    )
    return target


def test_there_are_scripts() -> None:
    assert len(SCRIPTS) >= 5


@pytest.mark.parametrize("target", ["2.0", "async"])
@pytest.mark.parametrize("name", SCRIPTS)
def test_migrated_script_prints_the_legacy_output(name: str, target: str, tmp_path: Path) -> None:
    tree = _copy(name, tmp_path)
    tool = [sys.executable, "-m", "sqla_upgrade"]
    _run([*tool, "apply", "--no-cache", "--target", target, "."], cwd=tree)
    sources = {p: p.read_text() for p in tree.rglob("*.py")}
    for path, code in sources.items():
        compile(code, str(path), "exec", dont_inherit=True)
        assert "# TODO(sqla-upgrade)" not in code, f"{path.name}:\n{code}"
    _run([*tool, "check", "--no-cache", "--target", target, "."], cwd=tree)
    output = _run([sys.executable, "main.py"], cwd=tree)
    assert output == (SCRIPTS_DIR / name / EXPECTED).read_text()


@pytest.mark.parametrize("name", SCRIPTS)
def test_the_golden_output_is_the_legacy_programs(name: str, tmp_path: Path) -> None:
    legacy = os.environ.get("SQLA_UPGRADE_LEGACY_PYTHON")
    if not legacy:
        pytest.skip("SQLA_UPGRADE_LEGACY_PYTHON is not set")
    tree = _copy(name, tmp_path)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    output = _run([legacy, "main.py"], cwd=tree, env=env)
    assert output == (SCRIPTS_DIR / name / EXPECTED).read_text()
