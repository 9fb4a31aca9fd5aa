"""Building blocks of the end-to-end suite on ``sample_projects/``.

* copy a sample project (without its ``expected_*`` golden folders and caches),
* migrate the copy with ``python -m sqla_upgrade apply`` and check the guarantees
  (exit 0, everything compiles, a second run is a no-op, golden copy unchanged),
* create and drop a fresh PostgreSQL / MariaDB database for one test run,
* run a project's own test suite in a subprocess and read its result line.
"""

from __future__ import annotations

import difflib
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "sample_projects"

PROJECTS = ("flask_blog", "inventory_service", "fastapi_todo")
TARGETS = ("2.0", "async")
DATABASES = ("sqlite", "postgresql", "mariadb")

# environment variable with the admin URL of each server database
SERVER_ENV = {"postgresql": "SQLA_UPGRADE_PG_URL", "mariadb": "SQLA_UPGRADE_MYSQL_URL"}

# drivers of the URL handed to a project's tests (DATABASE_URL)
SYNC_DRIVERS = {"sqlite": "sqlite", "postgresql": "postgresql+psycopg2", "mariadb": "mysql+pymysql"}
ASYNC_DRIVERS = {
    "sqlite": "sqlite+aiosqlite",
    "postgresql": "postgresql+asyncpg",
    "mariadb": "mysql+aiomysql",
}

# Flask-SQLAlchemy apps keep their synchronous URL after the migration: models and
# db.create_all() stay on Flask-SQLAlchemy's engine, and the generated
# init_async_session() derives the asyncio driver for request code from that URL
# (tests/flask_async/ checks which driver it picks).
SYNC_URL_AFTER_ASYNC_MIGRATION = frozenset({"flask_blog"})


def project_takes_async_url(project: str) -> bool:
    return project not in SYNC_URL_AFTER_ASYNC_MIGRATION


# set to 1 to rewrite the existing ``expected_<target>/`` folders with the tool's output
UPDATE_GOLDEN_ENV = "SQLA_UPGRADE_UPDATE_GOLDEN"

APPLY_TIMEOUT = 300
PYTEST_TIMEOUT = 300

_SKIPPED_NAMES = frozenset({"__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache"})


SUMMARY: list[tuple[str, str]] = []


def record(what: str, result: str) -> None:
    """Remember one test run's result line for the summary printed at the end."""
    SUMMARY.append((what, result))


def server_admin_url(database: str) -> str | None:
    """The admin URL of ``database`` (None for SQLite); skip or fail when it is not set."""
    env = SERVER_ENV.get(database)
    if env is None:
        return None
    url = os.environ.get(env, "").strip()
    if not url:
        reason = f"{database}: set {env} to run the end-to-end cases on it"
        if in_ci():
            pytest.fail(
                f"{reason} (CI=true: a missing database server is a failure)", pytrace=False
            )
        pytest.skip(reason)
    return url


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() == "true"


def update_golden() -> bool:
    return os.environ.get(UPDATE_GOLDEN_ENV, "").strip().lower() in ("1", "true", "yes")


def expected_dir(project: str, target: str) -> Path:
    return SAMPLES / project / f"expected_{target}"


# --------------------------------------------------------------------------- trees


def _ignore(folder: str, names: list[str]) -> set[str]:
    skipped = {n for n in names if n in _SKIPPED_NAMES or n.endswith((".pyc", ".pyo"))}
    if Path(folder).resolve() in {(SAMPLES / p).resolve() for p in PROJECTS}:
        skipped |= {n for n in names if n.startswith("expected_")}
    return skipped


def copy_project(project: str, destination: Path) -> Path:
    """A copy of ``sample_projects/<project>`` at ``destination`` (golden folders left out)."""
    shutil.copytree(SAMPLES / project, destination, ignore=_ignore)
    return destination


def copy_tree(source: Path, destination: Path) -> Path:
    shutil.copytree(source, destination, ignore=_ignore)
    return destination


def snapshot(root: Path) -> dict[str, bytes]:
    """Relative POSIX path → bytes of every file under ``root`` (caches left out)."""
    files: dict[str, bytes] = {}
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if any(part in _SKIPPED_NAMES for part in relative.parts):
            continue
        if path.is_file() and not path.name.endswith((".pyc", ".pyo")):
            files[relative.as_posix()] = path.read_bytes()
    return files


def tree_diff(
    expected: dict[str, bytes],
    actual: dict[str, bytes],
    expected_label: str,
    actual_label: str,
    max_lines: int = 600,
) -> str:
    """A unified diff of two snapshots; empty when they are byte-identical."""
    out: list[str] = []
    for name in sorted(set(expected) | set(actual)):
        if expected.get(name) == actual.get(name):
            continue
        if name not in expected:
            out.append(f"only in {actual_label}: {name}\n")
        elif name not in actual:
            out.append(f"only in {expected_label}: {name}\n")
        old, new = expected.get(name, b""), actual.get(name, b"")
        old_text = old.decode("utf-8", errors="replace")
        new_text = new.decode("utf-8", errors="replace")
        lines = list(
            difflib.unified_diff(
                old_text.splitlines(keepends=True),
                new_text.splitlines(keepends=True),
                f"{expected_label}/{name}",
                f"{actual_label}/{name}",
            )
        )
        if not lines and name in expected and name in actual:  # same text, other bytes
            out.append(f"{name}: bytes differ ({len(old)} vs {len(new)} bytes), text identical\n")
        for line in lines:
            out.append(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n")
    text = "".join(out)
    lines = text.splitlines(keepends=True)
    if len(lines) > max_lines:
        text = "".join(lines[:max_lines]) + f"... ({len(lines) - max_lines} more diff lines)\n"
    return text


def write_tree(files: dict[str, bytes], root: Path) -> None:
    """Replace ``root`` with exactly ``files``."""
    if root.exists():
        shutil.rmtree(root)
    for name, data in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def compile_errors(root: Path) -> list[str]:
    errors = []
    for path in sorted(root.rglob("*.py")):
        try:
            compile(path.read_bytes(), str(path), "exec", dont_inherit=True)
        except (SyntaxError, ValueError) as exc:
            errors.append(f"{path.relative_to(root)}: {type(exc).__name__}: {exc}")
    return errors


# --------------------------------------------------------------------------- migration


def subprocess_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    for name in ("PYTEST_ADDOPTS", "PYTEST_CURRENT_TEST", "DATABASE_URL"):
        env.pop(name, None)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env["NO_COLOR"] = "1"
    env["COLUMNS"] = "200"
    env.update(extra)
    return env


def _run(
    args: list[str], cwd: Path, env: dict[str, str], timeout: int
) -> subprocess.CompletedProcess[str]:
    """``subprocess.run``; a timeout becomes exit code -1 with the output so far."""
    try:
        return subprocess.run(
            args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
        )
    except subprocess.TimeoutExpired as exc:

        def text(data: bytes | str | None) -> str:
            return data.decode(errors="replace") if isinstance(data, bytes) else data or ""

        stderr = text(exc.stderr) + f"\n*** killed after {timeout}s (timeout)\n"
        return subprocess.CompletedProcess(args, -1, text(exc.stdout), stderr)


def run_apply(
    target: str, tree: Path, options: tuple[str, ...] = ()
) -> subprocess.CompletedProcess[str]:
    args = [sys.executable, "-m", "sqla_upgrade", "apply", "--target", target, *options, str(tree)]
    return _run(args, tree.parent, subprocess_env(), APPLY_TIMEOUT)


@dataclass
class Migration:
    """What migrating one copy of a project produced, and what went wrong."""

    project: str
    target: str
    tree: Path
    applied: bool = False
    problems: list[str] = field(default_factory=list)
    golden_diff: str = ""
    log: str = ""


def _output(proc: subprocess.CompletedProcess[str]) -> str:
    return f"--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}"


def migrate(project: str, target: str, workdir: Path, options: tuple[str, ...] = ()) -> Migration:
    """Copy ``project`` under ``workdir``, migrate it and check the tool's guarantees
    (``options``: more ``apply`` options; the golden copy is then not compared)."""
    tree = copy_project(project, workdir / project)
    result = Migration(project, target, tree)
    first = run_apply(target, tree, options)
    result.log = _output(first)
    if first.returncode != 0:
        result.problems.append(
            f"`sqla-upgrade apply --target {target}` exited {first.returncode}\n{_output(first)}"
        )
        return result
    result.applied = True
    errors = compile_errors(tree)
    if errors:
        result.problems.append("migrated files do not compile:\n" + "\n".join(errors))
    migrated = snapshot(tree)
    second = run_apply(target, tree, options)
    if second.returncode != 0:
        result.problems.append(
            f"second `apply --target {target}` exited {second.returncode}\n{_output(second)}"
        )
    again = snapshot(tree)
    if again != migrated:
        result.problems.append(
            "a second run is not a no-op:\n" + tree_diff(migrated, again, "first-run", "second-run")
        )
        write_tree(migrated, tree)  # test the first run's output
    golden = expected_dir(project, target)
    if golden.is_dir() and not options:
        if update_golden():
            write_tree(migrated, golden)
        else:
            result.golden_diff = tree_diff(
                snapshot(golden), migrated, f"expected_{target}", "actual"
            )
    return result


# --------------------------------------------------------------------------- databases


def _sqlite_parent(workdir: Path) -> Path:
    shm = Path("/dev/shm")
    if shm.is_dir() and os.access(shm, os.W_OK | os.X_OK):
        return shm
    return workdir


@contextmanager
def fresh_database(kind: str, admin_url: str | None, workdir: Path) -> Iterator[dict[str, str]]:
    """A database of ``kind`` used by one test run: URLs ``{"sync": ..., "async": ...}``.

    SQLite: a new file in a new folder on ``/dev/shm`` (else under ``workdir``). Servers: ``CREATE DATABASE sqla_e2e_<random>``
    through an autocommit connection to ``admin_url``, dropped when the block ends.
    """
    if kind == "sqlite":
        # on a tmpfs when there is one: SQLite's fsync per commit dominates otherwise
        folder = Path(tempfile.mkdtemp(prefix="sqla_e2e_", dir=_sqlite_parent(workdir)))
        path = folder / "db.sqlite"
        try:
            yield {"sync": f"sqlite:///{path}", "async": f"sqlite+aiosqlite:///{path}"}
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        return

    from sqlalchemy.engine import make_url

    assert admin_url, kind
    url = make_url(admin_url)
    name = f"sqla_e2e_{secrets.token_hex(6)}"
    if kind == "postgresql":
        import psycopg2

        params = {
            "host": url.host or "127.0.0.1",
            "port": url.port or 5432,
            "user": url.username or "postgres",
            "dbname": url.database or "postgres",
        }
        if url.password:
            params["password"] = url.password

        def admin(sql: str) -> None:
            connection = psycopg2.connect(**params)
            try:
                connection.autocommit = True
                with connection.cursor() as cursor:
                    cursor.execute(sql)
            finally:
                connection.close()

        create = f'CREATE DATABASE "{name}"'
        # a throwaway database: commits need not wait for the WAL flush
        setup = f'ALTER DATABASE "{name}" SET synchronous_commit TO off'
        drop = f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'
    elif kind == "mariadb":
        import pymysql

        mysql_params = {
            "host": url.host or "127.0.0.1",
            "port": url.port or 3306,
            "user": url.username or "root",
            "password": url.password or "",
            "autocommit": True,
        }

        def admin(sql: str) -> None:
            connection = pymysql.connect(**mysql_params)
            try:
                with connection.cursor() as cursor:
                    cursor.execute(sql)
            finally:
                connection.close()

        create = f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4"
        setup = ""
        drop = f"DROP DATABASE IF EXISTS `{name}`"
    else:
        raise ValueError(kind)

    admin(create)
    try:
        if setup:
            admin(setup)
        base = url.set(database=name)
        yield {
            mode: base.set(drivername=drivers[kind]).render_as_string(hide_password=False)
            for mode, drivers in (("sync", SYNC_DRIVERS), ("async", ASYNC_DRIVERS))
        }
    finally:
        admin(drop)


# --------------------------------------------------------------------------- test runs

#: the pytest plugin that forces ``raise_on_sql`` and records every lazy load
STRICT_PLUGIN_DIR = Path(__file__).resolve().parent / "strict_plugin"
STRICT_PLUGIN = "sqla_strict_loading"
_STRICT_SUMMARY = re.compile(
    r"^sqla-strict-loading: (\d+) relationships forced to raise_on_sql, kept: (.*); "
    r"(\d+) lazy loads$",
    re.M,
)


@dataclass
class StrictSummary:
    forced: int
    kept: str
    lazy_loads: int


def strict_summary(output: str) -> StrictSummary | None:
    """The plugin's summary line in a test run's output (None: the plugin did not run)."""
    match = _STRICT_SUMMARY.search(output)
    if match is None:
        return None
    return StrictSummary(int(match.group(1)), match.group(2), int(match.group(3)))


def strict_plugin_env() -> dict[str, str]:
    paths = [str(STRICT_PLUGIN_DIR), *filter(None, [os.environ.get("PYTHONPATH", "")])]
    return {"PYTHONPATH": os.pathsep.join(paths)}


_COUNT = re.compile(r"(\d+) (passed|failed|errors?|skipped|xfailed|xpassed|deselected)\b")
_SUMMARY = re.compile(r"^(?:no tests ran|\d+ \w+.*) in [\d.]+s\b")


@dataclass
class ProjectRun:
    returncode: int
    counts: dict[str, int]
    output: str
    url: str

    @property
    def passed(self) -> int:
        return self.counts.get("passed", 0)

    @property
    def failed(self) -> int:
        return self.counts.get("failed", 0) + self.counts.get("error", 0)

    @property
    def result_line(self) -> str:
        for line in reversed(self.output.splitlines()):
            if _SUMMARY.match(line.strip("= ")):
                return line.strip("= ")
        return f"(no pytest result line; exit code {self.returncode})"

    def describe(self, limit: int = 12000) -> str:
        tail = self.output[-limit:]
        return f"DATABASE_URL={self.url}\nexit code {self.returncode}: {self.result_line}\n{tail}"


def parse_counts(output: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for line in reversed(output.splitlines()):
        stripped = line.strip("= ")
        if _SUMMARY.match(stripped):
            for number, word in _COUNT.findall(stripped):
                key = "error" if word.startswith("error") else word
                counts[key] = counts.get(key, 0) + int(number)
            break
    return counts


def run_project_tests(
    tree: Path,
    database_url: str,
    *,
    extra_args: tuple[str, ...] = (),
    extra_env: dict[str, str] | None = None,
) -> ProjectRun:
    """``python -m pytest -q`` in ``tree`` with ``DATABASE_URL`` set (a fresh interpreter)."""
    args = [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", *extra_args]
    env = subprocess_env(DATABASE_URL=database_url, **(extra_env or {}))
    proc = _run(args, tree, env, PYTEST_TIMEOUT)
    output = proc.stdout + ("\n--- stderr\n" + proc.stderr if proc.stderr.strip() else "")
    return ProjectRun(proc.returncode, parse_counts(proc.stdout), output, database_url)
