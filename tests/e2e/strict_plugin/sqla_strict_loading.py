"""pytest plugin (``-p sqla_strict_loading``): a test run in which no lazy load may happen.

Loaded before a project's conftest imports its models, it

* gives ``lazy="raise_on_sql"`` to every relationship (and backref) whose strategy is lazy
  loading (no ``lazy=``, ``"select"``, ``True``); eager, ``dynamic``, ``write_only``,
  ``noload`` and ``raise*`` strategies are kept;
* records every lazy load that would emit SQL, of any relationship whatever its strategy
  (an expired ``selectin`` relationship, one an eager loader stopped before, one read
  through ``run_sync`` where it would silently block), as well as the ``raise_on_sql``
  refusals, even when the code under test catches the exception. Loads the unit of work
  does for itself (flush history, cascades: SQLAlchemy's ``NO_RAISE`` flag) are not lazy
  loads of the code and are not recorded;
* fails the test during which a lazy load happened, and the run for loads outside tests;
* prints ``sqla-strict-loading: N relationships forced to raise_on_sql, ... K lazy loads``.

It hooks SQLAlchemy's lazy loader (``LazyLoader``); if that changes, the plugin stops the
run instead of passing silently.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Generator
from typing import Any

import pytest
from sqlalchemy.orm import RelationshipProperty, strategies
from sqlalchemy.orm.base import PassiveFlag

LAZY_LOADING = ("select", True)
STRICT = "raise_on_sql"

forced: list[RelationshipProperty[Any]] = []
kept: list[RelationshipProperty[Any]] = []
lazy_loads: list[str] = []

_original_init = RelationshipProperty.__init__


def _strict_init(self: RelationshipProperty[Any], *args: Any, **kwargs: Any) -> None:
    lazy = kwargs.get("lazy", "select")
    if lazy in LAZY_LOADING:
        kwargs["lazy"] = STRICT
        forced.append(self)
    else:
        kept.append(self)
    _original_init(self, *args, **kwargs)


# ``LazyLoader`` (SQLAlchemy 2.0) is ``_LazyLoader`` since 2.1
LazyLoader: Any = getattr(strategies, "LazyLoader", None) or getattr(
    strategies, "_LazyLoader", None
)


def _hook(name: str) -> Any:
    original = getattr(LazyLoader, name, None)
    if original is None:
        raise pytest.UsageError(f"sqla_strict_loading: SQLAlchemy's lazy loader has no {name}")
    return original


_original_emit = _hook("_emit_lazyload")
_original_refusal = _hook("_invoke_raise_load")


def _describe(loader: Any, state: Any, how: str) -> str:
    return f"{loader.parent_property} on {type(state.obj()).__name__} ({how})"


def _recording_emit(self: Any, session: Any, state: Any, key: Any, passive: Any, *rest: Any) -> Any:
    # a raise_on_sql loader refuses inside this call: ``_recording_refusal`` records it
    if not passive & PassiveFlag.NO_RAISE and not getattr(self, "_raise_on_sql", False):
        how = f"a lazy load emitting SQL, lazy={self.parent_property.lazy!r}"
        lazy_loads.append(_describe(self, state, how))
    return _original_emit(self, session, state, key, passive, *rest)


def _recording_refusal(self: Any, state: Any, passive: Any, lazy: Any) -> Any:
    lazy_loads.append(_describe(self, state, f"refused by lazy={lazy!r}"))
    return _original_refusal(self, state, passive, lazy)


RelationshipProperty.__init__ = _strict_init  # type: ignore[method-assign]
LazyLoader._emit_lazyload = _recording_emit
LazyLoader._invoke_raise_load = _recording_refusal


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    before = len(lazy_loads)
    result = yield
    during = lazy_loads[before:]
    if during:
        raise AssertionError("lazy loads during the test:\n  " + "\n  ".join(during))
    return result


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if lazy_loads and exitstatus == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: Any) -> None:
    strategies_kept = Counter(str(p.lazy) for p in kept)
    kept_text = ", ".join(f"{n} {lazy}" for lazy, n in sorted(strategies_kept.items()))
    terminalreporter.write_line(
        f"sqla-strict-loading: {len(forced)} relationships forced to {STRICT}, "
        f"kept: {kept_text or 'none'}; {len(lazy_loads)} lazy loads"
    )
    for load in sorted(set(lazy_loads)):
        terminalreporter.write_line(f"sqla-strict-loading: lazy load: {load}")
