"""SIGINT and SIGTERM: stop cleanly while computing, finish the file while writing.

While files are only being read and transformed, a signal raises ``Interrupted`` (the
worker processes are killed on the way out, nothing has been written). While files are
being written, a signal is only recorded: the file being written is finished, and the
writer stops before the next one. Either way every file is fully old or fully new.

Handlers can only be installed in the main thread; elsewhere both context managers
leave the handlers as they are.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

HANDLED_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Interrupted(BaseException):
    """The run was stopped by a signal (a BaseException, like KeyboardInterrupt, so that
    the per-file ``except Exception`` guards let it through)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum

    @property
    def signal_name(self) -> str:
        return signal.Signals(self.signum).name

    @property
    def exit_code(self) -> int:
        """128 + the signal number, as shells report a process ended by a signal."""
        return 128 + self.signum


def _in_main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


@contextmanager
def _handlers(handler: Callable[[int, FrameType | None], Any]) -> Iterator[None]:
    if not _in_main_thread():
        yield
        return
    previous = {signum: signal.signal(signum, handler) for signum in HANDLED_SIGNALS}
    try:
        yield
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)


def _raise(signum: int, frame: FrameType | None) -> None:
    raise Interrupted(signum)


@contextmanager
def raising_on_signals() -> Iterator[None]:
    """SIGINT and SIGTERM raise ``Interrupted`` inside the block."""
    with _handlers(_raise):
        yield


@contextmanager
def deferred_signals() -> Iterator[Callable[[], int | None]]:
    """SIGINT and SIGTERM are recorded inside the block; the callable returns the first
    one received, or None."""
    received: list[int] = []

    def record(signum: int, frame: FrameType | None) -> None:
        received.append(signum)

    with _handlers(record):
        yield lambda: received[0] if received else None
