"""The e2e work, queued on a thread pool: see ``conftest.py``."""

from __future__ import annotations

import itertools
import os
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import pytest

from .helpers import (
    SERVER_ENV,
    STRICT_PLUGIN,
    Migration,
    ProjectRun,
    copy_project,
    copy_tree,
    fresh_database,
    migrate,
    project_takes_async_url,
    record,
    run_project_tests,
    server_admin_url,
    strict_plugin_env,
)

T = TypeVar("T")

JOBS_ENV = "SQLA_UPGRADE_E2E_JOBS"


def jobs() -> int:
    value = os.environ.get(JOBS_ENV, "").strip()
    return max(1, int(value)) if value else 2


def _available_url(database: str) -> tuple[bool, str | None]:
    """(can run, admin URL) without skipping: the tests themselves skip or fail."""
    env = SERVER_ENV.get(database)
    if env is None:
        return True, None
    url = os.environ.get(env, "").strip()
    return bool(url), url or None


class E2E:
    """The e2e work, queued on a thread pool and memoized (one result per key)."""

    def __init__(self, workdir: Path, jobs: int) -> None:
        self.workdir = workdir
        self.pool = ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="sqla-e2e")
        self._lock = threading.Lock()
        self._futures: dict[tuple[str, ...], Future[Any]] = {}
        self._scratch = itertools.count()
        self._recorded: set[tuple[str, ...]] = set()

    def _submit(self, key: tuple[str, ...], func: Callable[..., T], *args: Any) -> Future[T]:
        with self._lock:
            if key not in self._futures:
                self._futures[key] = self.pool.submit(func, *args)
            return self._futures[key]

    def scratch(self, label: str) -> Path:
        with self._lock:
            path = self.workdir / f"{next(self._scratch):03d}-{label}"
        path.mkdir(parents=True)
        return path

    # --- the work

    def _legacy_run(
        self, project: str, database: str, admin_url: str | None, mode: str
    ) -> ProjectRun:
        scratch = self.scratch(f"legacy-{project}-{database}-{mode}")
        tree = copy_project(project, scratch / project)
        with fresh_database(database, admin_url, scratch) as urls:
            return run_project_tests(tree, urls[mode])

    def _migrated_run(
        self,
        migration: Future[Migration],
        target: str,
        database: str,
        admin_url: str | None,
        strict: bool = False,
    ) -> ProjectRun | None:
        result = migration.result()
        if not result.applied:
            return None
        label = f"{result.project}-{target}-{database}" + ("-strict" if strict else "")
        scratch = self.scratch(label)
        tree = copy_tree(result.tree, scratch / result.project)
        mode = "async" if target == "async" and project_takes_async_url(result.project) else "sync"
        # coroutines never awaited fail the run; SQLAlchemy's own SAWarning (a
        # RuntimeWarning subclass the legacy code already emits) stays a warning
        extra = (
            ("-W", "error::RuntimeWarning", "-W", "default::sqlalchemy.exc.SAWarning")
            if target == "async"
            else ()
        )
        env = None
        if strict:
            extra = (*extra, "-p", STRICT_PLUGIN)
            env = strict_plugin_env()
        with fresh_database(database, admin_url, scratch) as urls:
            return run_project_tests(tree, urls[mode], extra_args=extra, extra_env=env)

    # --- what the tests ask for

    def baseline(self, project: str, database: str, admin_url: str | None) -> Future[ProjectRun]:
        """The unmigrated project's tests on ``database`` with the sync driver."""
        key = ("baseline", project, database)
        return self._submit(key, self._legacy_run, project, database, admin_url, "sync")

    def legacy_async(self, project: str) -> Future[ProjectRun]:
        """The unmigrated project's tests on SQLite with the aiosqlite driver."""
        key = ("legacy-async", project)
        return self._submit(key, self._legacy_run, project, "sqlite", None, "async")

    def migration(self, project: str, target: str) -> Future[Migration]:
        key = ("migration", project, target)
        return self._submit(
            key, lambda: migrate(project, target, self.scratch(f"migrate-{target}"))
        )

    def migrated_run(
        self, project: str, target: str, database: str, admin_url: str | None
    ) -> Future[ProjectRun | None]:
        migration = self.migration(project, target)
        key = ("run", project, target, database)
        return self._submit(key, self._migrated_run, migration, target, database, admin_url)

    def strict_option_migration(self, project: str) -> Future[Migration]:
        """``apply --target async --strict-loading``."""
        key = ("migration-strict-option", project)
        return self._submit(
            key,
            lambda: migrate(
                project, "async", self.scratch("migrate-strict-option"), ("--strict-loading",)
            ),
        )

    def strict_option_run(
        self, project: str, database: str, admin_url: str | None
    ) -> Future[ProjectRun | None]:
        """The tests of the ``--strict-loading`` migration (as they are, no plugin)."""
        migration = self.strict_option_migration(project)
        key = ("strict-option-run", project, database)
        return self._submit(key, self._migrated_run, migration, "async", database, admin_url)

    def strict_run(
        self, project: str, database: str, admin_url: str | None
    ) -> Future[ProjectRun | None]:
        """The ``--target async`` migration's tests with every lazy load refused."""
        migration = self.migration(project, "async")
        key = ("strict-run", project, database)
        return self._submit(key, self._migrated_run, migration, "async", database, admin_url, True)

    def schedule(self, items: list[pytest.Item]) -> None:
        """Queue the work of the selected e2e tests, in test order."""
        for item in items:
            callspec = getattr(item, "callspec", None)
            name = getattr(item, "originalname", "")
            if callspec is None or not name.startswith("test_"):
                continue
            params = callspec.params
            if name == "test_migrated_project":
                database = params["database"]
                can_run, admin_url = _available_url(database)
                if can_run:
                    self.baseline(params["project"], database, admin_url)
                    self.migrated_run(params["project"], params["target"], database, admin_url)
            elif name == "test_no_lazy_load_in_migrated_tests":
                database = params["database"]
                can_run, admin_url = _available_url(database)
                if can_run:
                    self.baseline(params["project"], database, admin_url)
                    self.strict_run(params["project"], database, admin_url)
            elif name == "test_strict_loading_option_keeps_tests_passing":
                self.baseline(params["project"], "sqlite", None)
                self.strict_option_run(params["project"], "sqlite", None)
            elif name == "test_legacy_code_fails_with_async_driver":
                self.baseline(params["project"], "sqlite", None)
                self.legacy_async(params["project"])

    # --- results, in the test's thread

    def checked_baseline(self, project: str, database: str) -> ProjectRun:
        """The legacy run on ``database``; fails the test when the legacy tests fail."""
        admin_url = server_admin_url(database)
        run = self.baseline(project, database, admin_url).result()
        self.record(("baseline", project, database), f"legacy {project} on {database}", run)
        if run.returncode != 0 or run.failed or not run.passed:
            pytest.fail(
                f"the legacy {project} tests do not pass on {database} (no baseline):\n"
                + run.describe(),
                pytrace=False,
            )
        return run

    def record(self, key: tuple[str, ...], label: str, run: ProjectRun) -> None:
        if key not in self._recorded:
            self._recorded.add(key)
            record(label, run.result_line)
