"""Worker processes that survive what a single file can do to them.

``run_jobs`` hands one job at a time to each worker process and watches it:

* a job that takes longer than the time limit has its worker killed and becomes a
  ``JobFailure`` ("timed out"); a fresh worker takes the next job;
* a worker that dies (killed, out of memory, a crash in native code) turns its job into
  a ``JobFailure`` that says how it died; a fresh worker takes the next job;
* when the parent is interrupted (an exception such as ``KeyboardInterrupt`` reaches the
  generator) every worker is killed before the exception goes on.

Workers ignore SIGINT: a Ctrl-C in the terminal reaches the whole process group, and
only the parent decides what an interruption means. Results come back in completion
order, as ``(position, outcome)``.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from typing import Any

#: how long a worker may take to stop once asked, before it is killed
STOP_GRACE_SECONDS = 2.0
#: how often an idle worker checks that its parent still lives
PARENT_CHECK_SECONDS = 1.0


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity, as containers and ``taskset``
    restrict it), the default number of workers."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # not Linux
        return os.cpu_count() or 1


@dataclass(frozen=True)
class JobFailure:
    """A job that produced no result: why."""

    reason: str


def _next_message(conn: Connection, parent: int) -> Any:
    """The parent's next message; None once the parent is gone (even killed outright)."""
    while not conn.poll(PARENT_CHECK_SECONDS):
        if os.getppid() != parent:
            return None
    try:
        return conn.recv()
    except (EOFError, OSError):
        return None


def _worker_main(
    conn: Connection,
    parent_end: Connection,
    func: Callable[[Any], Any],
    initializer: Callable[..., None] | None,
    initargs: tuple[Any, ...],
) -> None:
    parent_end.close()  # a forked child holds a copy: only the parent may keep it open
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    parent = os.getppid()
    if initializer is not None:
        initializer(*initargs)
    while True:
        message = _next_message(conn, parent)
        if message is None:
            return
        position, item = message
        try:
            outcome = func(item)
        except Exception as exc:  # the job function should not raise; report, go on
            outcome = JobFailure(f"internal error in sqla-upgrade: {type(exc).__name__}: {exc}")
        conn.send((position, outcome))


def describe_exit(exitcode: int | None) -> str:
    """Words for how a worker process ended."""
    if exitcode is not None and exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = f"signal {-exitcode}"
        hint = " (out of memory?)" if name == "SIGKILL" else ""
        return f"killed by {name}{hint}"
    return f"exited with code {exitcode}"


class _Worker:
    """One worker process and the job it is running, if any."""

    def __init__(self, context: Any, target_args: tuple[Any, ...]) -> None:
        parent_end, child_end = context.Pipe()
        self.conn: Connection = parent_end
        self.process: BaseProcess = context.Process(
            target=_worker_main, args=(child_end, parent_end, *target_args), daemon=True
        )
        self.process.start()
        child_end.close()
        self.position: int | None = None
        self.deadline: float | None = None

    def assign(self, position: int, item: Any, timeout: float | None) -> None:
        self.position = position
        self.deadline = time.monotonic() + timeout if timeout else None
        self.conn.send((position, item))

    def finish(self) -> int:
        position = self.position
        assert position is not None
        self.position = None
        self.deadline = None
        return position

    def kill(self) -> None:
        if self.process.is_alive():
            self.process.kill()
        self.process.join()
        self.conn.close()

    def stop(self) -> None:
        with contextlib.suppress(OSError):
            self.conn.send(None)
        self.process.join(STOP_GRACE_SECONDS)
        self.kill()


class _Pool:
    def __init__(
        self,
        func: Callable[[Any], Any],
        workers: int,
        timeout: float | None,
        initializer: Callable[..., None] | None,
        initargs: tuple[Any, ...],
    ) -> None:
        self.context = multiprocessing.get_context()
        self.target_args = (func, initializer, initargs)
        self.timeout = timeout
        self.workers = [self._spawn() for _ in range(workers)]

    def _spawn(self) -> _Worker:
        return _Worker(self.context, self.target_args)

    def replace(self, worker: _Worker) -> None:
        worker.kill()
        self.workers[self.workers.index(worker)] = self._spawn()

    def busy(self) -> list[_Worker]:
        return [w for w in self.workers if w.position is not None]

    def feed(self, pending: deque[tuple[int, Any]]) -> None:
        for worker in list(self.workers):
            if worker.position is None and pending:
                position, item = pending.popleft()
                try:
                    worker.assign(position, item, self.timeout)
                except OSError:  # the idle worker died: a fresh one takes the job
                    worker.position = None
                    pending.appendleft((position, item))
                    self.replace(worker)

    def wait_time(self) -> float | None:
        deadlines = [w.deadline for w in self.busy() if w.deadline is not None]
        return max(0.0, min(deadlines) - time.monotonic()) if deadlines else None

    def collect(self) -> Iterator[tuple[int, Any]]:
        """Wait for one event at least (when a job runs); yield the jobs that ended."""
        busy = self.busy()
        if not busy:  # every idle worker had died: fresh ones take the jobs next round
            return
        wait([*(w.conn for w in busy), *(w.process.sentinel for w in busy)], self.wait_time())
        now = time.monotonic()
        for worker in busy:
            if worker.conn.poll():
                yield from self._receive(worker)
            elif not worker.process.is_alive():
                reason = f"the worker process was {describe_exit(worker.process.exitcode)}"
                yield worker.finish(), JobFailure(f"{reason} while transforming this file")
                self.replace(worker)
            elif worker.deadline is not None and now >= worker.deadline:
                yield worker.finish(), JobFailure(f"timed out after {self.timeout:g} s (--timeout)")
                self.replace(worker)

    def _receive(self, worker: _Worker) -> Iterator[tuple[int, Any]]:
        try:
            position, outcome = worker.conn.recv()
        except (EOFError, OSError):
            worker.process.join()
            reason = f"the worker process was {describe_exit(worker.process.exitcode)}"
            yield worker.finish(), JobFailure(f"{reason} while transforming this file")
            self.replace(worker)
            return
        worker.finish()
        yield position, outcome

    def close(self) -> None:
        """Idle workers are asked to stop, busy ones (on an interruption) are killed."""
        for worker in self.workers:
            if worker.position is None:
                worker.stop()
            else:
                worker.kill()


def run_jobs(
    func: Callable[[Any], Any],
    items: Iterable[Any],
    workers: int,
    timeout: float | None = None,
    initializer: Callable[..., None] | None = None,
    initargs: tuple[Any, ...] = (),
    cost: Callable[[Any], float] | None = None,
) -> Iterator[tuple[int, Any]]:
    """Run ``func`` over ``items`` in ``workers`` processes; yield ``(position, outcome)``
    as jobs end, where ``outcome`` is ``func``'s result or a ``JobFailure``. With
    ``cost``, the costliest jobs start first, so the last ones to end are short."""
    numbered = list(enumerate(items))
    if cost is not None:
        numbered.sort(key=lambda job: -cost(job[1]))
    pending = deque(numbered)
    if not pending:
        return
    pool = _Pool(func, max(1, min(workers, len(pending))), timeout, initializer, initargs)
    try:
        while pending or pool.busy():
            pool.feed(pending)
            ended = list(pool.collect())
            pool.feed(pending)  # before the caller handles the results: no worker waits
            yield from ended
    finally:
        pool.close()
