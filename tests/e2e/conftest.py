"""Fixtures of the end-to-end suite: databases, legacy baselines, migrated copies.

Databases:

* SQLite: always (a new file per test run).
* PostgreSQL: ``SQLA_UPGRADE_PG_URL``, e.g. ``postgresql://postgres@127.0.0.1:5432/test``.
* MariaDB: ``SQLA_UPGRADE_MYSQL_URL``, e.g. ``mysql://root@127.0.0.1:3306/test``.

Every run of a project's tests gets its own freshly created database
(``sqla_e2e_<random>``), dropped at the end. Without a server's URL its cases are skipped
with the reason shown, except with ``CI=true``: then a missing URL is a failure.

The legacy code's results are the oracle: the unmigrated project's tests are run once
per project and database kind and each migrated run must match.

Golden copies: ``sample_projects/<name>/expected_<target>/`` hold the reviewed output of
``sqla-upgrade apply --target <target>`` (the whole migrated tree, no caches). A case
whose migrated tree differs fails with a unified diff. To accept the tool's current
output, run the suite with ``SQLA_UPGRADE_UPDATE_GOLDEN=1``: it rewrites every existing
``expected_*`` folder (create an empty ``expected_async/`` to start one for ``async``).

Speed: the work is subprocesses (``sqla-upgrade apply`` and the projects' own pytest
runs), each with its own copy and database. When the first e2e test starts, the
``e2e`` fixture queues the work of every selected e2e case on a small thread pool
(``SQLA_UPGRADE_E2E_JOBS`` workers, default 2) and each test waits for its own results,
so the runs overlap while the assertions stay in the tests, in order. A task only ever
waits for tasks queued before it (its migration), so the FIFO pool cannot deadlock.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .helpers import SUMMARY
from .scheduler import E2E, jobs


@pytest.fixture(scope="session")
def e2e(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[E2E]:
    runner = E2E(tmp_path_factory.mktemp("sqla_e2e"), jobs())
    try:
        runner.schedule(request.session.items)
        yield runner
    finally:
        runner.pool.shutdown(wait=True, cancel_futures=True)


def pytest_terminal_summary(terminalreporter, exitstatus, config):  # type: ignore[no-untyped-def]
    if not SUMMARY:
        return
    terminalreporter.section("sqla-upgrade e2e: sample project test runs")
    width = max(len(what) for what, _ in SUMMARY)
    for what, result in SUMMARY:
        terminalreporter.write_line(f"{what.ljust(width)}  {result}")
