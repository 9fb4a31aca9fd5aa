"""Smoke test of the benchmark: it runs on a tiny corpus and reports every field.

No timing is asserted: the machine running the tests is not a benchmark machine.
"""

from __future__ import annotations

import json
from pathlib import Path

from bench.corpus import generate
from bench.run import main


def test_corpus_is_deterministic(tmp_path: Path) -> None:
    first = generate(tmp_path / "a", 30)
    second = generate(tmp_path / "b", 30)
    assert first == second > 0
    names = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*.py"))
    assert names == sorted(p.relative_to(tmp_path / "b") for p in (tmp_path / "b").rglob("*.py"))
    for name in names:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
        compile((tmp_path / "a" / name).read_bytes(), str(name), "exec")


def test_all_sqlalchemy_corpus_has_no_plain_modules(tmp_path: Path) -> None:
    generate(tmp_path, 40, all_sqlalchemy=True)
    assert not list(tmp_path.rglob("plain_*.py"))


def test_bench_reports_json_fields(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    argv = ["--size", "5", "--repeat", "1", "--jobs", "2", "--json", str(out)]
    argv += ["--corpus", str(tmp_path / "corpus"), "--scenarios", "async-1,2.0-1,async-warm"]
    assert main(argv) == 0
    result = json.loads(out.read_text())
    assert result["corpus"]["modules"] > 0 and result["corpus"]["lines"] > 0
    names = [row["name"] for row in result["scenarios"]]
    assert names == ["floor", "async-1", "2.0-1", "async-warm"]
    for row in result["scenarios"]:
        for key in ("seconds", "files_per_second", "lines_per_second", "peak_rss_mb"):
            assert key in row
        assert set(row["seconds"]) == {"min", "median", "max"}
    for row in result["scenarios"][1:]:
        assert set(row["ratio_to_floor"]) == {"min", "median", "max"}
    assert "speedup_over_cold" in result["scenarios"][-1]
