"""A Flask-SQLAlchemy app migrated to asyncio answers exactly as the legacy app does.

``legacy/`` is a small Flask-SQLAlchemy 2.x-style shop (app factory, blueprint,
``Model.query`` with ``get_or_404``/``first_or_404``/``paginate``, a ``lazy="dynamic"``
relationship, a template reading a relationship, a Flask CLI command). The test migrates
a copy with ``--target async`` (exact output: ``expected_async/``, rewritten with
``SQLA_UPGRADE_UPDATE_GOLDEN=1``), then drives both apps through Flask's test client and
CLI runner (``drive.py``) on a fresh database of each kind and compares the answers.
Flask runs every async view in a new event loop: the migrated app has to work under
that on aiosqlite, asyncpg and aiomysql.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.helpers import (
    DATABASES,
    compile_errors,
    fresh_database,
    server_admin_url,
    snapshot,
    tree_diff,
    update_golden,
    write_tree,
)

HERE = Path(__file__).resolve().parent
LEGACY = HERE / "legacy"
GOLDEN = HERE / "expected_async"
SYNC_URL_DRIVERS = {
    "sqlite": "sqlite",
    "postgresql": "postgresql+psycopg2",
    "mariadb": "mysql+pymysql",
}
EXPECTED_ASYNC_DRIVER = {"sqlite": "aiosqlite", "postgresql": "asyncpg", "mariadb": "aiomysql"}


def _apply(tree: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sqla_upgrade", "apply", "--target", "async", str(tree)],
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture(scope="module")
def migrated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tree = tmp_path_factory.mktemp("flask_async") / "shop"
    write_tree(snapshot(LEGACY), tree)
    first = _apply(tree)
    assert first.returncode == 0, first.stderr
    assert "] TODO " not in first.stderr, first.stderr
    assert not compile_errors(tree)
    output = snapshot(tree)
    assert _apply(tree).returncode == 0
    assert snapshot(tree) == output, "a second run changed the migrated app"
    if update_golden():
        write_tree(output, GOLDEN)
    difference = tree_diff(snapshot(GOLDEN), output, "expected_async", "actual")
    assert not difference, difference
    return tree


def _drive(project: Path, url: str) -> dict[str, object]:
    run = subprocess.run(
        [sys.executable, "-W", "error::RuntimeWarning", str(HERE / "drive.py"), str(project), url],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    answer: dict[str, object] = json.loads(run.stdout.strip().splitlines()[-1])
    return answer


def test_migrated_views_are_async(migrated: Path) -> None:
    views = (migrated / "shop" / "views.py").read_text()
    assert "async def customer(id):" in views and "await get_or_404(Customer, id)" in views
    assert "init_async_session(app)" in (migrated / "shop" / "__init__.py").read_text()


@pytest.mark.parametrize("database", DATABASES)
def test_migrated_app_answers_as_the_legacy_app(
    database: str, migrated: Path, tmp_path: Path
) -> None:
    admin_url = server_admin_url(database)
    with fresh_database(database, admin_url, tmp_path) as urls:
        url = urls["sync"].replace(urls["sync"].split("://")[0], SYNC_URL_DRIVERS[database], 1)
        legacy = _drive(LEGACY, url)
        after = _drive(migrated, url)
    assert legacy["async_driver"] is None
    assert after["async_driver"] == EXPECTED_ASYNC_DRIVER[database]
    assert after["answers"] == legacy["answers"]
