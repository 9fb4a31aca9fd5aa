"""Memory and size: huge files, deep nesting, long chains fail clearly; the run goes on.

The command runs in a subprocess under a small wrapper that reports the peak resident
memory of the largest process of the run (``ru_maxrss`` of its children: the command
and, with ``--jobs``, its workers), so the bounds below are measured, not assumed.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from sqla_upgrade.api import MigrationError, migrate_source

WRAPPER = """
import resource, subprocess, sys
completed = subprocess.run(sys.argv[1:], capture_output=True)
sys.stdout.write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) + "\\n")
sys.stdout.write(completed.stdout.decode())
sys.stderr.write(completed.stderr.decode())
sys.exit(completed.returncode)
"""

LEGACY = "from sqlalchemy import select\ns = select([t.c.id])\n"
#: peak memory allowed for a run over the tree of ``huge_tree`` (it measures about 60 MB)
MEMORY_BOUND_MB = 300


def run_measured(*args: str) -> tuple[int, dict, float]:
    """Exit code, JSON report and peak memory in MB of ``sqla-upgrade ARGS --format json``."""
    completed = subprocess.run(
        [sys.executable, "-c", WRAPPER, sys.executable, "-m", "sqla_upgrade", *args],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    peak_kb, _, stdout = completed.stdout.partition("\n")
    assert "Traceback" not in completed.stderr, completed.stderr
    return completed.returncode, json.loads(stdout), int(peak_kb) / 1024


def errors(report: dict) -> dict[str, str]:
    return {Path(f["path"]).name: f["error"] for f in report["files"] if f["error"]}


def changed(report: dict) -> set[str]:
    return {Path(f["path"]).name for f in report["files"] if f["changed"]}


@pytest.fixture(scope="module")
def huge_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 10 MB legacy file, a 100,000-line legacy file, a 10 MB data file, a normal one."""
    folder = tmp_path_factory.mktemp("huge")
    block = "def get_{i}(session):\n    return session.query(User).filter(User.id == {i}).first()\n"
    lines = "from sqlalchemy import select\n" + "".join(block.format(i=i) for i in range(50_000))
    (folder / "lines_100k.py").write_text(lines)
    (folder / "legacy_10mb.py").write_text(lines * (10_000_000 // len(lines) + 1))
    data = "".join(
        f"VALUE_{i} = {{'id': {i}, 'name': 'n{i}', 'tags': ['a', 'b']}}\n" for i in range(200_000)
    )
    (folder / "data_10mb.py").write_text(data)
    (folder / "normal.py").write_text(LEGACY)
    return folder


def test_huge_files_are_reported_with_bounded_memory(huge_tree: Path) -> None:
    assert (huge_tree / "legacy_10mb.py").stat().st_size > 10_000_000
    assert (huge_tree / "lines_100k.py").read_text().count("\n") >= 100_000
    for target in ("2.0", "async"):
        code, report, peak_mb = run_measured(
            "diff", str(huge_tree), "--target", target, "--jobs", "2", "--format", "json"
        )
        assert code == 1, report
        failed = errors(report)
        for name in ("legacy_10mb.py", "lines_100k.py"):
            assert failed[name].startswith("not transformed: "), failed
            assert failed[name].endswith(" MB is over the size limit of 1.0 MB (--max-file-size)")
        if target == "2.0":  # nothing to migrate in it: left alone
            assert "data_10mb.py" not in failed
        else:  # the async analysis reads every file
            assert "data_10mb.py" in failed
        assert changed(report) == {"normal.py"}
        assert peak_mb < MEMORY_BOUND_MB, f"{target}: peak {peak_mb:.0f} MB"


def test_a_raised_size_limit_lets_a_file_through(tmp_path: Path) -> None:
    big = tmp_path / "big.py"
    big.write_text(LEGACY + "".join(f"x_{i} = {i}\n" for i in range(1_000)))  # about 12 kB
    code, report, _ = run_measured("diff", str(big), "--max-file-size", "0.01", "--format", "json")
    assert code == 1 and errors(report)["big.py"].endswith(
        "over the size limit of 10 kB (--max-file-size)"
    )
    code, report, _ = run_measured("diff", str(big), "--max-file-size", "0.1", "--format", "json")
    assert code == 0 and changed(report) == {"big.py"}


def nested_parentheses(depth: int) -> str:
    return "x = " + "(" * depth + "1" + ")" * depth + "\n"


def long_sum(terms: int) -> str:
    return "x = " + " + ".join(["a"] * terms) + "\n"


def query_chain(links: int) -> str:
    filters = "".join(f".filter(User.id > {i})" for i in range(links))
    return f"def f(session):\n    return session.query(User){filters}.all()\n"


def test_deep_nesting_fails_clearly_and_the_run_goes_on(tmp_path: Path) -> None:
    """5,000 nested brackets crash libcst's native parser (a segfault): Python rejects the
    file first and libcst never sees it. A sum of 1,500 terms is valid Python but too deep
    for libcst's visitors; a chain of 300 calls too. Neither is a RecursionError."""
    (tmp_path / "brackets.py").write_text(LEGACY + nested_parentheses(5_000))
    (tmp_path / "long_sum.py").write_text(LEGACY + long_sum(1_500))
    (tmp_path / "long_chain.py").write_text(LEGACY + query_chain(300))
    (tmp_path / "fine_chain.py").write_text(LEGACY + query_chain(40))
    (tmp_path / "normal.py").write_text(LEGACY)
    for target in ("2.0", "async"):
        code, report, peak_mb = run_measured(
            "diff", str(tmp_path), "--target", target, "--jobs", "1", "--format", "json"
        )
        assert code == 1
        failed = errors(report)
        assert failed["brackets.py"].startswith("cannot parse: SyntaxError: too many nested")
        for name in ("long_sum.py", "long_chain.py"):
            assert failed[name].startswith("cannot transform: expressions nested too deeply")
        assert changed(report) == {"fine_chain.py", "normal.py"}
        assert peak_mb < MEMORY_BOUND_MB, f"{target}: peak {peak_mb:.0f} MB"


def test_api_rejects_what_python_cannot_parse_before_libcst() -> None:
    with pytest.raises(MigrationError, match="too many nested parentheses"):
        migrate_source(nested_parentheses(5_000), target="async")
    with pytest.raises(MigrationError, match="nested too deeply"):
        migrate_source(LEGACY + long_sum(1_500), target="2.0")


def _calls_counted(monkeypatch: pytest.MonkeyPatch, owner: type, name: str) -> list[int]:
    """A one-item list counting the calls of ``owner.name`` from now on."""
    calls = [0]
    original = getattr(owner, name)

    def counted(*args: object) -> object:
        calls[0] += 1
        return original(*args)

    monkeypatch.setattr(owner, name, counted)
    return calls


def _migrated_async(source: str) -> str:
    result = migrate_source(source, target="async", module_name="app.queries")
    compile(result.code, "<migrated>", "exec", dont_inherit=True)
    return result.code


def test_a_variable_rebound_many_times_is_typed_in_linear_work(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # ``q = q.where(...)`` bound 30 times: typing ``q`` followed every binding's ``q``
    # again, exponential in the bindings (a real Core module never finished)
    from sqla_upgrade.codemods.analysis import async_plan

    typed = _calls_counted(monkeypatch, async_plan.CallResolver, "_class_of_bindings")
    rebinds = "".join(f"    q = q.where(t.c.x{i} == a)\n" for i in range(30))
    source = (
        "import sqlalchemy as sa\n\n\ndef f(conn, t, a):\n    q = sa.select(t)\n"
        + rebinds
        + "    return conn.execute(q).fetchall()\n"
    )
    assert "async def f" in _migrated_async(source)
    assert typed[0] < 200


def test_a_session_rebound_many_times_is_weighed_in_linear_work(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from sqla_upgrade.codemods.analysis import sessions

    weighed = _calls_counted(monkeypatch, sessions.SessionResolver, "_binding_evidence")
    rebinds = "".join("    session = session or make()\n    conn = conn\n" for _ in range(25))
    source = (
        "from sqlalchemy.orm import Session\n\n\ndef f(session: Session, conn, make):\n"
        + rebinds
        + "    conn.execute('select 1')\n    return session.query(User).all()\n"
    )
    assert "async def f" in _migrated_async(source)
    assert weighed[0] < 2000
