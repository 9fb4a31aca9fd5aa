"""Acceptance: `sqla-upgrade apply --target 2.0` on whole legacy programs.

Each directory in ``tests/legacy_programs/`` is a small program written the way 2019 code
is (``session.query``, Flask-SQLAlchemy 2.x ``Model.query``, 1.3-era Core with
``select([...])``, ``engine.execute`` and bound metadata). Its ``main.py`` prints a
deterministic report; ``expected_output.txt`` is what the *original* program prints on
SQLAlchemy 1.4 (with Flask-SQLAlchemy 2.5 / Flask 2.2).

For every program the tool is run on a copy, then:

- ``apply`` exits 0, the migrated files compile, and a second ``apply`` changes nothing;
- no ``.query(``, ``Model.query`` access or ``select([`` is left, nor any
  ``# TODO(sqla-upgrade)`` marker;
- the migrated program, run on this environment's SQLAlchemy 2.x with
  ``LegacyAPIWarning`` turned into an error, prints exactly ``expected_output.txt``.

When ``SQLA_UPGRADE_LEGACY_PYTHON`` names an interpreter with SQLAlchemy 1.4 (see
``tests/legacy_programs/make_legacy_venv.sh``), the original programs are also run with
it, proving the golden files instead of trusting them.
"""

from __future__ import annotations

import difflib
import io
import os
import re
import shutil
import subprocess
import sys
import tokenize
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

PROGRAMS_DIR = Path(__file__).resolve().parent / "legacy_programs"
PROGRAMS = ("plain_orm", "flask_models", "core_13", "recipes", "flask_tracker")
EXPECTED = "expected_output.txt"
LEGACY_PYTHON_ENV = "SQLA_UPGRADE_LEGACY_PYTHON"
TIMEOUT = 300
TODO_MARKER = "# TODO(sqla-upgrade)"

# `python -W error::sqlalchemy.exc.LegacyAPIWarning` is ignored ("invalid module name")
# because -W categories are resolved before site-packages can be imported, so the
# program is run through this wrapper instead.
STRICT_RUNNER = """\
import os, runpy, sys, warnings
from sqlalchemy.exc import LegacyAPIWarning
warnings.filterwarnings("error", category=LegacyAPIWarning)
script = os.path.abspath(sys.argv[1])
sys.argv = sys.argv[1:]
sys.path[0] = os.path.dirname(script)
runpy.run_path(script, run_name="__main__")
"""

# What must not survive the migration (searched in code, comments and strings blanked).
LEGACY_PATTERNS = {
    ".query(": re.compile(r"\.query\s*\("),
    # reading Model.query (defining it with query_property() is still valid 2.0)
    "Model.query access": re.compile(r"\b\w+\.query\b(?!\s*\()(?!\s*=[^=])"),
    "select([": re.compile(r"\bselect\s*\(\s*\["),
}

# Sanity: the originals really exercise what the acceptance is about.
LEGACY_FEATURES = {
    "plain_orm": [
        "from sqlalchemy.ext.declarative import declarative_base",
        "sessionmaker(bind=engine)",
        "session.query(User).get(",
        ".filter_by(",
        ".one_or_none()",
        ".with_entities(",
        ".outerjoin(",
        ".having(",
        ".subquery()",
        ".exists()",
        "joinedload(",
        "selectinload(",
        ".yield_per(",
        'synchronize_session="evaluate"',
        'synchronize_session="fetch"',
        "synchronize_session=False",
        ".delete(",
        "q = q.filter(",
        "def find_user(session, name):",
        ".filter(Order.user_id == User.id).as_scalar()",
        ".scalar_subquery()",
    ],
    "flask_models": [
        "db = SQLAlchemy()",
        "class Post(db.Model):",
        "Post.query.get(1)",
        "Post.query.get_or_404(",
        ".first_or_404()",
        ".paginate(page, 2, False)",
        ".paginate(page, 3, False)",
        "cls.query.filter_by(",
        "db.session.query(",
        'lazy="dynamic"',
        "app.app_context()",
        "app.test_client()",
    ],
    "core_13": [
        "select([users.c.id, users.c.name])",
        "select([users], users.c.id > 1)",
        "case(\n        [(",
        "else_=",
        "engine.execute(",
        'conn.execute("',
        'session.execute("',
        "MetaData(bind=engine)",
        "metadata.create_all()",
        "sessionmaker(bind=engine, autocommit=False)",
    ],
    "recipes": [
        "Base.query = db_session.query_property()",
        "cls.query.filter_by(",
        "Author.query.get(2)",
        ".order_by(Book.id)[start : start + size]",
        ".order_by(Book.title)[0]",
        "[:2]",
        "[7:]",
        'conn.execute(events.insert(), kind="seed", detail="authors")',
        'events.insert(), {"kind": "seed", "detail": "books"}, {"kind": "seed", "detail": "done"}',
        "events.select().where(",
        "engine.table_names()",
        'engine.has_table("books")',
    ],
    "flask_tracker": [
        "db = SQLAlchemy()",
        "db.init_app(app)",
        "@app.cli.command(",
        'backref=db.backref("tasks", lazy="dynamic")',
        ".paginate(page, 2, error_out=False)",
        ".first_or_404()",
        "Task.query.get_or_404(task_id)",
        "Comment(task=task, author=author",  # saved by the backref cascade (1.x)
        "render_template(",
        "app.test_client()",
    ],
}


@dataclass
class Migration:
    name: str
    tree: Path
    apply: subprocess.CompletedProcess[str]


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env.pop("SQLALCHEMY_WARN_20", None)
    return env


def _run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args, cwd=cwd, env=_env(), capture_output=True, text=True, timeout=TIMEOUT, check=False
    )


def _copy_program(name: str, dest: Path) -> Path:
    target = dest / name
    shutil.copytree(
        PROGRAMS_DIR / name,
        target,
        ignore=shutil.ignore_patterns("__pycache__", "*.pyc", EXPECTED),
    )
    return target


def _apply(tree: Path) -> subprocess.CompletedProcess[str]:
    return _run(
        [sys.executable, "-m", "sqla_upgrade", "apply", "--target", "2.0", str(tree)],
        cwd=tree.parent,
    )


def _py_files(tree: Path) -> list[Path]:
    return sorted(p for p in tree.rglob("*.py") if "__pycache__" not in p.parts)


def _snapshot(tree: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(tree)): p.read_bytes()
        for p in sorted(tree.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts
    }


def _describe(result: subprocess.CompletedProcess[str]) -> str:
    return (
        f"$ {' '.join(map(str, result.args))}\n"
        f"exit code {result.returncode}\n"
        f"--- stdout ---\n{result.stdout}\n--- stderr ---\n{result.stderr}"
    )


def _code_only(source: str) -> str:
    """The source with comments and string literals (docstrings, SQL) blanked out.

    Offsets and line numbers are kept, so matches can be reported by line.
    """
    blank = {tokenize.COMMENT, tokenize.STRING}
    blank.update(getattr(tokenize, name) for name in ("FSTRING_MIDDLE",) if hasattr(tokenize, name))
    lines = source.splitlines(keepends=True)
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line))
    chars = list(source)
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    except (tokenize.TokenError, SyntaxError):
        return source
    for token in tokens:
        if token.type in blank:
            begin = starts[token.start[0] - 1] + token.start[1]
            end = starts[token.end[0] - 1] + token.end[1]
            for offset in range(begin, end):
                if chars[offset] != "\n":
                    chars[offset] = " "
    return "".join(chars)


def _expected(name: str) -> str:
    return (PROGRAMS_DIR / name / EXPECTED).read_text(encoding="utf-8")


def _output_mismatch(expected: str, actual: str, label: str) -> str:
    diff = difflib.unified_diff(
        expected.splitlines(keepends=True),
        actual.splitlines(keepends=True),
        fromfile=f"{EXPECTED} (original program on SQLAlchemy 1.4)",
        tofile=label,
    )
    return "".join(diff)


@pytest.fixture(scope="module")
def migrated(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Migration]:
    """Runs `apply --target 2.0` once per program on a private copy."""
    cache: dict[str, Migration] = {}

    def get(name: str) -> Migration:
        if name not in cache:
            tree = _copy_program(name, tmp_path_factory.mktemp(f"migrated-{name}"))
            cache[name] = Migration(name, tree, _apply(tree))
        return cache[name]

    return get


@pytest.fixture(scope="module")
def legacy_python() -> str:
    python = os.environ.get(LEGACY_PYTHON_ENV)
    if not python:
        pytest.skip(
            f"{LEGACY_PYTHON_ENV} is not set: the golden outputs are not re-proven on "
            "SQLAlchemy 1.4 (create an interpreter with "
            "tests/legacy_programs/make_legacy_venv.sh DIR and export "
            f"{LEGACY_PYTHON_ENV}=DIR/bin/python)"
        )
    probe = subprocess.run(
        [python, "-c", "import sqlalchemy, flask_sqlalchemy; print(sqlalchemy.__version__)"],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert probe.returncode == 0, f"{LEGACY_PYTHON_ENV}={python} is unusable:\n{probe.stderr}"
    version = probe.stdout.strip()
    assert version.startswith("1.4."), (
        f"{LEGACY_PYTHON_ENV}={python} has SQLAlchemy {version}, not 1.4"
    )
    return python


# --- the programs themselves ------------------------------------------------------------


@pytest.mark.parametrize("name", PROGRAMS)
def test_original_program_uses_the_legacy_apis(name: str) -> None:
    source = "\n".join(p.read_text(encoding="utf-8") for p in _py_files(PROGRAMS_DIR / name))
    missing = [feature for feature in LEGACY_FEATURES[name] if feature not in source]
    assert not missing, f"{name} no longer exercises: {missing}"
    assert _expected(name).strip(), f"{name}/{EXPECTED} is empty"


def test_strict_runner_turns_legacy_api_warnings_into_errors(tmp_path: Path) -> None:
    script = tmp_path / "uses_query_get.py"
    script.write_text(
        "from sqlalchemy import Column, Integer, create_engine\n"
        "from sqlalchemy.orm import Session, declarative_base\n"
        "Base = declarative_base()\n"
        "class T(Base):\n"
        "    __tablename__ = 't'\n"
        "    id = Column(Integer, primary_key=True)\n"
        "engine = create_engine('sqlite://')\n"
        "Base.metadata.create_all(engine)\n"
        "print(Session(engine).query(T).get(1))\n"
    )
    result = _run([sys.executable, "-c", STRICT_RUNNER, str(script)], cwd=tmp_path)
    assert result.returncode != 0, _describe(result)
    assert "LegacyAPIWarning" in result.stderr, _describe(result)


# --- the migration ----------------------------------------------------------------------


@pytest.mark.parametrize("name", PROGRAMS)
def test_apply_succeeds(name: str, migrated: Callable[[str], Migration]) -> None:
    migration = migrated(name)
    assert migration.apply.returncode == 0, _describe(migration.apply)
    original = {p.name: p.read_bytes() for p in _py_files(PROGRAMS_DIR / name)}
    after = {p.name: p.read_bytes() for p in _py_files(migration.tree)}
    assert after != original, f"apply changed nothing in {name}\n{_describe(migration.apply)}"


@pytest.mark.parametrize("name", PROGRAMS)
def test_migrated_code_compiles(name: str, migrated: Callable[[str], Migration]) -> None:
    failures = []
    for path in _py_files(migrated(name).tree):
        try:
            compile(path.read_text(encoding="utf-8"), str(path), "exec", dont_inherit=True)
        except SyntaxError as exc:
            failures.append(f"{path.name}:{exc.lineno}: {exc.msg}")
    assert not failures, "migrated code does not compile:\n" + "\n".join(failures)


@pytest.mark.parametrize("name", PROGRAMS)
def test_second_apply_changes_nothing(
    name: str, migrated: Callable[[str], Migration], tmp_path: Path
) -> None:
    tree = tmp_path / name
    shutil.copytree(migrated(name).tree, tree)
    before = _snapshot(tree)
    result = _apply(tree)
    after = _snapshot(tree)
    changed = sorted(path for path in before if before[path] != after.get(path))
    diffs = "".join(
        "".join(
            difflib.unified_diff(
                before[path].decode("utf-8", "replace").splitlines(keepends=True),
                after.get(path, b"").decode("utf-8", "replace").splitlines(keepends=True),
                fromfile=f"{path} (first apply)",
                tofile=f"{path} (second apply)",
            )
        )
        for path in changed
    )
    assert not changed, f"a second apply changed {changed}:\n{diffs}"
    assert result.returncode == 0, _describe(result)


@pytest.mark.parametrize("name", PROGRAMS)
def test_no_legacy_query_api_left(name: str, migrated: Callable[[str], Migration]) -> None:
    tree = migrated(name).tree
    found: dict[tuple[str, int, str], int] = {}
    lines: dict[str, list[str]] = {}
    for path in _py_files(tree):
        source = path.read_text(encoding="utf-8")
        code = _code_only(source)
        where = str(path.relative_to(tree))
        lines[where] = source.splitlines()
        for label, pattern in LEGACY_PATTERNS.items():
            for match in pattern.finditer(code):
                key = (where, code.count("\n", 0, match.start()) + 1, label)
                found[key] = found.get(key, 0) + 1
    leftovers = [
        f"{where}:{lineno}: [{label}{f' x{count}' if count > 1 else ''}] "
        f"{lines[where][lineno - 1].strip()}"
        for (where, lineno, label), count in sorted(found.items())
    ]
    assert not leftovers, "legacy API left after migration:\n" + "\n".join(leftovers)


@pytest.mark.parametrize("name", PROGRAMS)
def test_no_todo_left(name: str, migrated: Callable[[str], Migration]) -> None:
    tree = migrated(name).tree
    todos = []
    for path in _py_files(tree):
        lines = path.read_text(encoding="utf-8").splitlines()
        for index, line in enumerate(lines):
            if TODO_MARKER in line:
                statement = next(
                    (
                        later.strip()
                        for later in lines[index + 1 :]
                        if later.strip() and TODO_MARKER not in later
                    ),
                    "",
                )
                todos.append(
                    f"{path.relative_to(tree)}:{index + 1}: {line.strip()}\n    above: {statement}"
                )
    assert not todos, f"{len(todos)} TODO(s) left by the migration:\n" + "\n".join(todos)


@pytest.mark.parametrize("name", PROGRAMS)
def test_migrated_program_prints_the_same_on_sqlalchemy_2(
    name: str, migrated: Callable[[str], Migration]
) -> None:
    tree = migrated(name).tree
    result = _run([sys.executable, "-c", STRICT_RUNNER, "main.py"], cwd=tree)
    expected = _expected(name)
    mismatch = _output_mismatch(
        expected, result.stdout, "migrated program on this SQLAlchemy 2.x (LegacyAPIWarning=error)"
    )
    assert result.returncode == 0, (
        f"the migrated {name} failed (exit code {result.returncode})\n"
        f"--- stderr ---\n{result.stderr}\n--- stdout vs expected ---\n{mismatch}"
    )
    assert result.stdout == expected, f"the migrated {name} prints something else:\n{mismatch}"


# --- the golden files -------------------------------------------------------------------


@pytest.mark.parametrize("name", PROGRAMS)
def test_original_program_prints_expected_output_on_sqlalchemy_14(
    name: str, legacy_python: str, tmp_path: Path
) -> None:
    tree = _copy_program(name, tmp_path)
    result = _run([legacy_python, "main.py"], cwd=tree)
    expected = _expected(name)
    mismatch = _output_mismatch(expected, result.stdout, f"original program on {legacy_python}")
    assert result.returncode == 0, (
        f"the original {name} failed on SQLAlchemy 1.4\n--- stderr ---\n{result.stderr}"
    )
    assert result.stdout == expected, f"{EXPECTED} of {name} is stale:\n{mismatch}"
