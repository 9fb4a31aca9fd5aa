"""The result cache: warm runs give the results of cold ones, and any change that can
alter a result (the file, the options, another module's index facts, the tool) misses."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from sqla_upgrade.codemods import runner
from sqla_upgrade.codemods.cache import Cache, canonical_digest
from sqla_upgrade.codemods.options import Options
from sqla_upgrade.codemods.runner import RunReport, run

ROOT = Path(__file__).resolve().parent.parent

MODELS = """\
from sqlalchemy import Column, ForeignKey, Integer, String
from sqlalchemy.orm import declarative_base, relationship

Base = declarative_base()


class User(Base):
    __tablename__ = "users"
    id = Column(Integer, primary_key=True)
    name = Column(String)
    posts = relationship("Post", backref="author")


class Post(Base):
    __tablename__ = "posts"
    id = Column(Integer, primary_key=True)
    user_id = Column(ForeignKey("users.id"))
"""
FACTORY = "from sqlalchemy.orm import sessionmaker\n\nmake = sessionmaker()\n"
NOT_A_FACTORY = "def make():\n    return object()\n"
USE = """\
from app.db import make
from app.models import User


def names():
    s = make()
    return [u.name for u in s.query(User).all()]


def posts_of(user):
    return user.posts
"""
PLAIN = "def add(a, b):\n    return a + b\n"


def _project(root: Path, db: str = FACTORY) -> Path:
    app = root / "proj" / "app"
    app.mkdir(parents=True)
    (app / "__init__.py").write_text("")
    (app / "models.py").write_text(MODELS)
    (app / "db.py").write_text(db)
    (app / "use.py").write_text(USE)
    (app / "plain.py").write_text(PLAIN)
    return root / "proj"


def _outputs(report: RunReport) -> dict[str, tuple[bytes | None, list[str], str | None]]:
    return {Path(r.path).name: (r.new, [str(n) for n in r.notes], r.error) for r in report.results}


def _run(project: Path, cache_dir: Path | None, **changes: object) -> RunReport:
    options = replace(Options(target="2.0", jobs=1, cache_dir=cache_dir), **changes)
    return run([project], options)


@pytest.mark.parametrize("target", ["2.0", "async"])
def test_warm_run_gives_the_cold_results_from_the_cache(tmp_path: Path, target: str) -> None:
    project = _project(tmp_path)
    fresh = _run(project, None, target=target)
    cold = _run(project, tmp_path / "cache", target=target)
    warm = _run(project, tmp_path / "cache", target=target)
    assert _outputs(fresh) == _outputs(cold) == _outputs(warm)
    assert any(r.changed for r in fresh.results)
    assert cold.cache is not None and cold.cache.hits == 0
    assert warm.cache is not None and warm.cache.misses == 0 and warm.cache.hits > 0
    if target == "async":
        assert warm.async_plan is not None
        assert warm.async_plan.functions == fresh.async_plan.functions


def test_an_edited_file_is_transformed_again(tmp_path: Path) -> None:
    project = _project(tmp_path)
    _run(project, tmp_path / "cache")
    use = project / "app" / "use.py"
    use.write_text(USE.replace("s.query(User).all()", "s.query(User).first()"))
    warm = _run(project, tmp_path / "cache")
    assert _outputs(warm) == _outputs(_run(project, None))
    assert b"first()" in (warm.results[-1].new or b"") or any(
        b".first()" in (r.new or b"") for r in warm.results
    )
    assert warm.cache is not None and warm.cache.misses > 0


def test_other_options_miss(tmp_path: Path) -> None:
    project = _project(tmp_path)
    _run(project, tmp_path / "cache")
    async_run = _run(project, tmp_path / "cache", target="async")
    assert _outputs(async_run) == _outputs(_run(project, None, target="async"))
    only = _run(project, tmp_path / "cache", only=("declarative-import",))
    assert _outputs(only) == _outputs(_run(project, None, only=("declarative-import",)))
    assert only.cache is not None and only.cache.misses > 0


def test_jobs_and_timeout_do_not_change_the_key(tmp_path: Path) -> None:
    project = _project(tmp_path)
    _run(project, tmp_path / "cache")
    again = _run(project, tmp_path / "cache", jobs=2, timeout=60.0)
    assert again.cache is not None and again.cache.misses == 0


def test_a_dependency_whose_index_facts_change_invalidates_its_users(tmp_path: Path) -> None:
    project = _project(tmp_path)
    first = _run(project, tmp_path / "cache")
    assert b"select(User)" in (_outputs(first)["use.py"][0] or b"")
    (project / "app" / "db.py").write_text(NOT_A_FACTORY)  # use.py itself is unchanged
    second = _run(project, tmp_path / "cache")
    assert _outputs(second) == _outputs(_run(project, None))
    # no session any more: the query is not rewritten (it is left with a TODO)
    assert b"select(User)" not in (_outputs(second)["use.py"][0] or b"")


def test_a_change_of_the_tool_invalidates_everything(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = _project(tmp_path)
    _run(project, tmp_path / "cache")
    monkeypatch.setattr(runner, "tool_digest", lambda: "another version of the tool")
    again = _run(project, tmp_path / "cache")
    assert again.cache is not None and again.cache.hits == 0


def test_corrupted_entries_are_ignored_and_rewritten(tmp_path: Path) -> None:
    project = _project(tmp_path)
    cache_dir = tmp_path / "cache"
    expected = _outputs(_run(project, cache_dir, target="async"))
    entries = [p for p in cache_dir.rglob("*") if p.is_file() and p.name != ".gitignore"]
    assert entries
    for number, entry in enumerate(entries):
        data = entry.read_bytes()
        if number % 3 == 0:
            entry.write_bytes(data[: len(data) // 2])  # truncated
        elif number % 3 == 1:
            entry.write_bytes(data[:-1] + bytes([data[-1] ^ 0xFF]))  # one bit flipped
        else:
            entry.write_bytes(b"garbage")
    damaged = _run(project, cache_dir, target="async")
    assert _outputs(damaged) == expected
    assert damaged.cache is not None and damaged.cache.hits == 0
    repaired = _run(project, cache_dir, target="async")
    assert _outputs(repaired) == expected
    assert repaired.cache is not None and repaired.cache.misses == 0


def test_cache_get_put_round_trip_and_failures(tmp_path: Path) -> None:
    store = Cache(tmp_path / "c")
    assert store.get("ab" * 32) is None
    store.put("ab" * 32, {"x": [1, 2]})
    assert store.get("ab" * 32) == {"x": [1, 2]}
    assert (tmp_path / "c" / ".gitignore").read_text().strip().endswith("*")
    assert not [p for p in (tmp_path / "c").rglob(".tmp-*")]
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    Cache(blocked).put("cd" * 32, 1)  # cannot write: ignored
    assert Cache(blocked).get("cd" * 32) is None


def test_digests_do_not_depend_on_the_hash_seed() -> None:
    code = (
        "from sqla_upgrade.codemods.cache import canonical_digest;"
        "print(canonical_digest({'a': {'x', 'y', 'z'}, 'b': frozenset({'q', 'r'})}))"
    )
    seen = set()
    for seed in ("1", "2", "3"):
        env = {**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": str(ROOT)}
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
        )
        seen.add(out.stdout.strip())
    assert len(seen) == 1
    assert seen == {canonical_digest({"b": frozenset({"r", "q"}), "a": {"z", "y", "x"}})}


def _cli(project: Path, cache_dir: Path, *extra: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "SQLA_UPGRADE_CACHE_DIR": str(cache_dir)}
    command = [sys.executable, "-m", "sqla_upgrade", "diff", "--jobs", "1", *extra, str(project)]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)


def test_concurrent_runs_share_one_cache_safely(tmp_path: Path) -> None:
    project = _project(tmp_path)
    cache_dir = tmp_path / "cache"
    expected = _cli(project, tmp_path / "unused", "--no-cache").communicate()[0]
    assert not (tmp_path / "unused").exists()  # --no-cache neither reads nor writes
    runs = [_cli(project, cache_dir) for _ in range(3)]
    outputs = [process.communicate()[0] for process in runs]
    assert outputs == [expected] * 3
    assert _cli(project, cache_dir).communicate()[0] == expected
    assert not [p for p in cache_dir.rglob(".tmp-*")]


def test_a_cache_inside_the_project_is_not_scanned(tmp_path: Path) -> None:
    project = _project(tmp_path)
    before = _run(project, None)
    _run(project, project / "cache")
    (project / "cache" / "fake.py").write_text("x = 1\n")  # even a .py file in it is ignored
    after = _run(project, project / "cache")
    assert [r.path for r in after.results] == [r.path for r in before.results]


def test_cache_location_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from sqla_upgrade.cli.app import _cache_dir

    project = tmp_path / "repo"
    (project / "src").mkdir(parents=True)
    (project / "pyproject.toml").write_text('[tool.sqla-upgrade]\ncache-dir = "build/c"\n')
    config = {"cache-dir": "build/c"}
    monkeypatch.setenv("SQLA_UPGRADE_CACHE_DIR", str(tmp_path / "env"))
    assert _cache_dir(tmp_path / "flag", config, [project / "src"]) == tmp_path / "flag"
    assert _cache_dir(None, config, [project / "src"]) == tmp_path / "env"
    monkeypatch.delenv("SQLA_UPGRADE_CACHE_DIR")
    assert _cache_dir(None, config, [project / "src"]) == project.resolve() / "build" / "c"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert _cache_dir(None, {}, [project / "src"]) == tmp_path / "xdg" / "sqla-upgrade"


def test_plans_come_from_the_cache_until_a_template_changes(tmp_path: Path) -> None:
    project = _project(tmp_path)
    templates_folder = project / "app" / "templates"
    templates_folder.mkdir()
    page = templates_folder / "page.html"
    page.write_text("{{ user.name }}\n")
    cache = tmp_path / "cache"
    _run(project, cache, target="async")
    warm = _run(project, cache, target="async")
    assert warm.cache is not None and warm.cache.misses == 0
    assert warm.async_plan is not None and "posts" not in warm.async_plan.template_reads
    page.write_text("{% for post in user.posts %}{{ post.id }}{% endfor %}\n")
    edited = _run(project, cache, target="async")
    fresh = _run(project, None, target="async")
    assert edited.async_plan is not None and fresh.async_plan is not None
    assert "posts" in edited.async_plan.template_reads
    assert edited.async_plan.template_reads == fresh.async_plan.template_reads
    assert edited.async_plan.read_attributes == fresh.async_plan.read_attributes
    assert _outputs(edited) == _outputs(fresh)


def test_async_run_after_an_edit_plans_from_the_cached_facts(tmp_path: Path) -> None:
    """The other files' stage-one results (their facts kept pickled) come from the cache
    and feed the plans computed again."""
    project = _project(tmp_path)
    _run(project, tmp_path / "cache", target="async")
    use = project / "app" / "use.py"
    use.write_text(USE + "\n\ndef first_post(user):\n    return user.posts[0]\n")
    edited = _run(project, tmp_path / "cache", target="async")
    fresh = _run(project, None, target="async")
    assert edited.cache is not None and edited.cache.hits > 0 and edited.cache.misses > 0
    assert edited.async_plan is not None and fresh.async_plan is not None
    assert edited.async_plan.functions == fresh.async_plan.functions
    assert _outputs(edited) == _outputs(fresh)


def test_a_run_answered_from_the_cache_never_imports_libcst(tmp_path: Path) -> None:
    project = _project(tmp_path)
    script = (
        "import sys\n"
        "from sqla_upgrade.cli.app import main\n"
        "sys.argv = ['sqla-upgrade', 'diff', '--target', 'async', '--jobs', '1',\n"
        f"            '--cache-dir', {str(tmp_path / 'cache')!r}, {str(project)!r}]\n"
        "try:\n"
        "    main()\n"
        "except SystemExit:\n"
        "    pass\n"
        "print('libcst' in sys.modules, file=sys.stderr)\n"
    )
    environment = {**os.environ, "PYTHONPATH": str(ROOT)}
    outputs = []
    for _ in range(2):
        completed = subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, env=environment
        )
        outputs.append((completed.stdout, completed.stderr.splitlines()[-1]))
    (cold_diff, cold_imported), (warm_diff, warm_imported) = outputs
    assert "+from sqlalchemy import select" in cold_diff or "select(" in cold_diff
    assert (cold_imported, warm_imported) == ("True", "False")
    assert warm_diff == cold_diff
