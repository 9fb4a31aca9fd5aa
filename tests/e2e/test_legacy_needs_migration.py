"""The sample projects genuinely need the migration to run on asyncio.

Each project's unmigrated tests are run with an async driver URL
(``sqlite+aiosqlite:///...``): the legacy synchronous code has to fail there, while it
passes with the sync driver (the oracle of ``test_sample_projects.py``). This keeps the
samples from silently turning into already-migrated code.
"""

from __future__ import annotations

import pytest

from .helpers import PROJECTS, record
from .scheduler import E2E

# what SQLAlchemy says when synchronous code meets an async driver or session
ASYNC_MARKERS = ("MissingGreenlet", "greenlet_spawn", "AsyncSession", "was never awaited")


@pytest.mark.parametrize("project", PROJECTS)
def test_legacy_code_fails_with_async_driver(project: str, e2e: E2E) -> None:
    baseline = e2e.checked_baseline(project, "sqlite")  # control: passes with the sync driver
    run = e2e.legacy_async(project).result()
    record(f"legacy {project} on sqlite+aiosqlite", run.result_line)
    assert run.returncode not in (0, 5), (
        f"the legacy {project} tests pass on an async driver: the sample no longer needs "
        "the migration\n" + run.describe()
    )
    assert run.passed < baseline.passed, run.describe()
    assert any(marker in run.output for marker in ASYNC_MARKERS), (
        "the legacy tests fail on the async driver, but not for an async reason:\n" + run.describe()
    )
