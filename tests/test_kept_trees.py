"""Stage two reuses the tree stage one ended with when both run in one process."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from sqla_upgrade.codemods import kept_trees, transform
from sqla_upgrade.codemods.kept_trees import KeptTrees
from sqla_upgrade.codemods.options import Options
from sqla_upgrade.codemods.runner import run

SAMPLES = Path(__file__).resolve().parent.parent / "sample_projects"


def _outcomes(project: Path, jobs: int = 1) -> dict[str, tuple[bytes | None, str | None, list]]:
    report = run([project], Options(target="async", jobs=jobs, cache_dir=None))
    root = str(project)
    return {
        r.path.removeprefix(root): (r.new, r.error, [(n.line, n.message) for n in r.notes])
        for r in report.results
    }


def _parses(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []
    parse = transform._parse

    def counted(source: bytes) -> object:
        calls.append(len(source))
        return parse(source)

    monkeypatch.setattr(transform, "_parse", counted)
    return calls


@pytest.mark.parametrize("project", ["flask_blog", "inventory_service"])
def test_kept_trees_give_the_results_of_parsing_again(
    project: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    copy = tmp_path / project
    shutil.copytree(SAMPLES / project, copy)
    parses = _parses(monkeypatch)
    kept = _outcomes(copy)
    kept_parses = len(parses)
    monkeypatch.setattr(kept_trees.KEPT, "budget", 0)
    parses.clear()
    parsed_again = _outcomes(copy)
    assert kept == parsed_again
    assert any(new is not None for new, _, _ in kept.values())
    assert kept_parses < len(parses)  # stage two parsed none of the kept files


def test_store_keeps_within_its_budget_and_checks_the_code() -> None:
    store = KeptTrees(budget=10)
    store.keep("a.py", b"12345", "tree a")  # not enabled: nothing kept
    assert store.take("a.py", b"12345") is None
    store.enabled = True
    store.keep("a.py", b"12345", "tree a")
    store.keep("b.py", b"123456", "tree b")  # over the budget
    assert store.take("b.py", b"123456") is None
    assert store.take("a.py", b"other code") is None  # and forgotten
    assert store.take("a.py", b"12345") is None
    store.keep("a.py", b"12345", "tree a")
    store.keep("b.py", b"12345", "tree b")
    assert store.take("b.py", b"12345") == "tree b"
    assert store.take("a.py", b"12345") == "tree a"
    store.clear()
    assert not store.enabled


def test_a_run_leaves_no_tree_kept(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(
        "from sqlalchemy.orm import Session\n\n\ndef f(s: Session):\n    s.commit()\n"
    )
    report = run([tmp_path], Options(target="async", jobs=1, cache_dir=None))
    assert report.changed
    assert not kept_trees.KEPT._kept and not kept_trees.KEPT.enabled
