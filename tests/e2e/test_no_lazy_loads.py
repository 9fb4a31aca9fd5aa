"""End to end: after ``--target async`` no lazy load happens in the sample projects' tests.

Each migrated project's own test suite runs with the ``sqla_strict_loading`` pytest
plugin (``strict_plugin/``), loaded before the project's models: every relationship and
backref still configured for lazy loading gets ``lazy="raise_on_sql"``, and every lazy
load that would emit SQL is recorded, whatever the relationship's strategy (an expired
``selectin`` relationship, one an eager loader stopped before, one read inside
``run_sync`` where it would not raise ``MissingGreenlet`` but silently block), even if the
code under test catches the error. A test during which one happens fails.

The run must pass exactly as many tests as the legacy code does on the same database,
with no lazy load recorded. SQLite (aiosqlite) always; PostgreSQL (asyncpg) with
``SQLA_UPGRADE_PG_URL``.
"""

from __future__ import annotations

import pytest

from .helpers import PROJECTS, record, server_admin_url, strict_summary
from .scheduler import E2E

STRICT_DATABASES = ("sqlite", "postgresql")

CASES = [
    pytest.param(project, database, id=f"{project}-async-{database}-strict")
    for project in PROJECTS
    for database in STRICT_DATABASES
]


@pytest.mark.parametrize(("project", "database"), CASES)
def test_no_lazy_load_in_migrated_tests(project: str, database: str, e2e: E2E) -> None:
    admin_url = server_admin_url(database)
    migration = e2e.migration(project, "async").result()
    if not migration.applied:
        pytest.fail("\n\n".join(migration.problems), pytrace=False)
    baseline = e2e.checked_baseline(project, database)
    run = e2e.strict_run(project, database, admin_url).result()
    assert run is not None
    summary = strict_summary(run.output)
    loads = (
        f"{summary.lazy_loads} lazy loads ({summary.forced} relationships forced to "
        f"raise_on_sql, kept: {summary.kept})"
        if summary
        else "? lazy loads"
    )
    record(f"{project} --target async on {database}, strict loading", f"{run.result_line}; {loads}")
    if summary is None:
        pytest.fail("the strict-loading plugin did not run:\n" + run.describe(), pytrace=False)
    problems = []
    if summary.lazy_loads:
        problems.append(f"{summary.lazy_loads} lazy loads in the migrated tests")
    if run.returncode != 0 or run.failed or run.passed != baseline.passed:
        problems.append(
            f"with every lazy load refused, the migrated tests do not match the legacy run "
            f"on {database}: legacy {baseline.result_line!r}, migrated {run.result_line!r}"
        )
    if problems:
        pytest.fail("\n".join(problems) + "\n" + run.describe(), pytrace=False)


@pytest.mark.parametrize("project", PROJECTS)
def test_strict_loading_option_keeps_tests_passing(project: str, e2e: E2E) -> None:
    """``apply --target async --strict-loading``: compiles, a second run is a no-op, and
    the project's tests pass as the legacy ones do, on SQLite."""
    migration = e2e.strict_option_migration(project).result()
    if not migration.applied:
        pytest.fail("\n\n".join(migration.problems), pytrace=False)
    baseline = e2e.checked_baseline(project, "sqlite")
    run = e2e.strict_option_run(project, "sqlite", None).result()
    assert run is not None
    record(f"{project} --target async --strict-loading on sqlite", run.result_line)
    problems = list(migration.problems)
    if run.returncode != 0 or run.failed or run.passed != baseline.passed:
        problems.append(
            f"legacy {baseline.result_line!r}, migrated with --strict-loading "
            f"{run.result_line!r}\n" + run.describe()
        )
    if problems:
        pytest.fail("\n\n".join(problems), pytrace=False)
