"""The worker pool: time limits, workers that die, interruptions.

The job functions live at module level so that worker processes can import them.
"""

from __future__ import annotations

import ctypes
import faulthandler
import os
import signal
import threading
import time
from collections import deque
from pathlib import Path

import pytest

from sqla_upgrade.codemods.workers import JobFailure, describe_exit, run_jobs

HANG = 600.0


def square(item: int) -> int:
    return item * item


def hang_on_three(item: int) -> int:
    if item == 3:
        time.sleep(HANG)
    return item


def die_on_two(item: int) -> int:
    if item == 2:
        os.kill(os.getpid(), signal.SIGKILL)
    return item


def segfault_on_one(item: int) -> int:
    if item == 1:
        faulthandler.disable()  # pytest's traceback dump would only add noise
        ctypes.string_at(0)  # reads address 0: SIGSEGV, as a crash in native code would
    return item


def raise_on_zero(item: int) -> int:
    if item == 0:
        raise ValueError("boom")
    return item


def pid_then_hang(job: tuple[str, str]) -> str:
    """``("victim", folder)`` writes its pid and hangs; ``("killer", folder)`` waits for
    that pid and kills the process (another process, as an OOM killer would)."""
    role, folder = job
    pid_file = Path(folder) / "victim.pid"
    if role == "victim":
        pid_file.write_text(str(os.getpid()))
        time.sleep(HANG)
        return "victim survived"
    deadline = time.monotonic() + 30
    while not pid_file.exists() or not pid_file.read_text():
        if time.monotonic() > deadline:
            return "no victim"
        time.sleep(0.01)
    os.kill(int(pid_file.read_text()), signal.SIGKILL)
    return "killed"


def outcomes(*args, **kwargs) -> dict[int, object]:
    return dict(run_jobs(*args, **kwargs))


def test_every_item_gets_its_result() -> None:
    assert outcomes(square, range(20), 2) == {i: i * i for i in range(20)}


def test_a_job_over_the_time_limit_fails_and_the_others_finish() -> None:
    started = time.monotonic()
    results = outcomes(hang_on_three, range(8), 2, timeout=1.0)
    assert time.monotonic() - started < 30
    assert results.pop(3) == JobFailure("timed out after 1 s (--timeout)")
    assert results == {i: i for i in range(8) if i != 3}


def test_a_worker_killed_by_its_job_fails_that_job_only() -> None:
    results = outcomes(die_on_two, range(6), 2)
    failure = results.pop(2)
    assert isinstance(failure, JobFailure)
    assert "killed by SIGKILL" in failure.reason
    assert results == {i: i for i in range(6) if i != 2}


def test_a_crash_in_native_code_fails_that_job_only() -> None:
    results = outcomes(segfault_on_one, range(4), 1)
    failure = results.pop(1)
    assert isinstance(failure, JobFailure) and "SIGSEGV" in failure.reason
    assert results == {0: 0, 2: 2, 3: 3}


def test_a_worker_killed_from_outside_fails_its_job(tmp_path: Path) -> None:
    jobs = [("victim", str(tmp_path)), ("killer", str(tmp_path))]
    results = outcomes(pid_then_hang, jobs, 2)
    assert results[1] == "killed"
    assert isinstance(results[0], JobFailure) and "SIGKILL" in results[0].reason


def test_an_exception_in_a_job_is_reported() -> None:
    results = outcomes(raise_on_zero, range(3), 1)
    assert results[0] == JobFailure("internal error in sqla-upgrade: ValueError: boom")
    assert results[1] == 1


def test_an_interrupted_parent_leaves_no_worker_behind(tmp_path: Path) -> None:
    pid_file = tmp_path / "victim.pid"

    def interrupt_once_the_job_runs() -> None:
        deadline = time.monotonic() + 30
        while not (pid_file.exists() and pid_file.read_text()) and time.monotonic() < deadline:
            time.sleep(0.01)
        os.kill(os.getpid(), signal.SIGINT)

    timer = threading.Thread(target=interrupt_once_the_job_runs)
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        outcomes(pid_then_hang, [("victim", str(tmp_path))], 1)
    timer.join()
    with pytest.raises(ProcessLookupError):
        os.kill(int(pid_file.read_text()), 0)


@pytest.mark.parametrize(
    ("code", "words"),
    [
        (-9, "killed by SIGKILL (out of memory?)"),
        (-11, "killed by SIGSEGV"),
        (1, "exited with code 1"),
    ],
)
def test_describe_exit(code: int, words: str) -> None:
    assert describe_exit(code) == words


def test_an_idle_worker_that_died_is_replaced() -> None:
    from sqla_upgrade.codemods import workers

    pool = workers._Pool(square, 1, None, None, ())
    try:
        idle = pool.workers[0]
        idle.process.kill()
        idle.process.join()
        pending = deque(enumerate([3, 4]))
        results = {}
        while pending or pool.busy():
            pool.feed(pending)
            results.update(pool.collect())
        assert results == {0: 9, 1: 16}
    finally:
        pool.close()


def test_the_default_worker_count_is_the_usable_cores() -> None:
    from sqla_upgrade.codemods.workers import usable_cores

    assert 1 <= usable_cores() <= (os.cpu_count() or 1)


def test_a_run_leaves_the_garbage_collector_as_it_found_it(tmp_path: Path) -> None:
    """The run keeps its long-lived state out of full collections (``gc.freeze``) and
    undoes that when it ends; objects someone else froze stay frozen."""
    import gc

    from sqla_upgrade.codemods.options import Options
    from sqla_upgrade.codemods.runner import run

    (tmp_path / "app.py").write_text("from sqlalchemy import select\ns = select([t.c.id])\n")
    options = Options(target="async", jobs=1, cache_dir=None)
    assert gc.get_freeze_count() == 0
    report = run([tmp_path], options)
    assert report.changed and gc.get_freeze_count() == 0
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        run([tmp_path], options)
        assert 0 < gc.get_freeze_count() <= frozen  # neither unfrozen nor frozen more
    finally:
        gc.unfreeze()
