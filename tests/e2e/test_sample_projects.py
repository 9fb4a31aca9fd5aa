"""End to end: migrate each sample project and run its own tests on each database.

For every project x target (``2.0``, ``async``) x database (SQLite, PostgreSQL, MariaDB):

1. copy the project (without ``expected_*`` folders and caches) and run
   ``python -m sqla_upgrade apply --target T`` on the copy: exit 0;
2. every ``.py`` file of the output compiles, and a second ``apply`` leaves the tree
   byte-identical;
3. the output equals the reviewed golden copy ``sample_projects/<name>/expected_<T>/``
   when that folder exists (``SQLA_UPGRADE_UPDATE_GOLDEN=1`` rewrites it instead);
4. the project's tests, run on a fresh database (sync drivers for ``2.0``, async drivers
   and ``-W error::RuntimeWarning`` for ``async``, unraisable ones included), pass exactly
   as many tests as the legacy code does on the same kind of database, with no failures;
   an async run's output never shows ``MissingGreenlet``, "coroutine ... was never
   awaited" or "cannot use AsyncToSync in the same thread".

The migration of a project for a target is done once and shared by its three database
cases; its problems are reported by each of them.
"""

from __future__ import annotations

import pytest

from .helpers import DATABASES, PROJECTS, TARGETS, UPDATE_GOLDEN_ENV, record, server_admin_url
from .scheduler import E2E


def _case(project: str, target: str, database: str) -> object:
    return pytest.param(project, target, database, id=f"{project}-{target}-{database}")


CASES = [
    _case(project, target, database)
    for project in PROJECTS
    for target in TARGETS
    for database in DATABASES
]


@pytest.mark.parametrize(("project", "target", "database"), CASES)
def test_migrated_project(project: str, target: str, database: str, e2e: E2E) -> None:
    admin_url = server_admin_url(database)  # skips (or fails in CI) without the server
    migration = e2e.migration(project, target).result()
    if not migration.applied:
        pytest.fail("\n\n".join(migration.problems), pytrace=False)

    baseline = e2e.checked_baseline(project, database)
    run = e2e.migrated_run(project, target, database, admin_url).result()
    assert run is not None
    record(f"{project} --target {target} on {database}", run.result_line)

    failures = list(migration.problems)
    if run.returncode != 0 or run.failed or run.passed != baseline.passed:
        failures.append(
            f"the migrated tests do not match the legacy run on {database}: "
            f"legacy {baseline.result_line!r}, migrated {run.result_line!r}\n" + run.describe()
        )
    markers = run.async_failures() if target == "async" else []
    if markers:
        failures.append(
            f"the migrated async tests on {database} show {', '.join(map(repr, markers))}\n"
            + run.describe()
        )
    if migration.golden_diff:
        failures.append(
            f"the migrated tree differs from sample_projects/{project}/expected_{target}/ "
            f"(the tool's output or the sample changed: review the diff, then accept it "
            f"with {UPDATE_GOLDEN_ENV}=1):\n" + migration.golden_diff
        )
    if failures:
        pytest.fail("\n\n".join(failures), pytrace=False)
