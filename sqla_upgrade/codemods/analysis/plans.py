"""The plans computed between the stages, as plain data (no libcst): the cache restores
them, and the report reads them, in runs that transform nothing."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class AsyncPlan:
    """The outcome: functions to make async (with the reason) and blocked ones."""

    functions: dict[str, str] = field(default_factory=dict)
    blocked: dict[str, str] = field(default_factory=dict)
    locations: dict[str, tuple[str, int]] = field(default_factory=dict)
    #: attribute names (``x.name(...)`` on objects of unknown type) and slots
    #: (``analysis.function_values``) under which both async and sync functions are reached
    mixed_dynamic: set[str] = field(default_factory=set)
    #: holders of project functions (variables, tables, members) → the functions they
    #: hold that become async: handed over elsewhere, their callers get coroutines
    async_holders: dict[str, list[str]] = field(default_factory=dict)
    #: those of them that are tables (``HANDLERS = {"count": count_users}``)
    async_tables: set[str] = field(default_factory=set)
    #: members of project classes (``m.Report.title`` for ``self.title = f``) named like
    #: something async or mixed: through an object of that class, a call of one that is
    #: neither reaches what it holds, not the async ones of that name
    members: set[str] = field(default_factory=set)
    #: attribute names read anywhere in the project (code and templates)
    read_attributes: set[str] = field(default_factory=set)
    #: attribute names read in templates
    template_reads: set[str] = field(default_factory=set)
    #: relationship names the migration reads through a deliberate lazy load
    #: (``awaitable_attrs``...): ``--strict-loading`` leaves their strategy alone
    lazy_read_names: set[str] = field(default_factory=set)
    #: wrapper functions of decorators applied to async functions → the parameter holding
    #: the decorated function, whose calls the wrapper now awaits
    awaited_wrapped: dict[str, str] = field(default_factory=dict)
    #: decorators applied to both async and sync functions → why
    mixed_decorators: dict[str, str] = field(default_factory=dict)
    #: ``@property`` getters doing I/O that become ``async def`` methods: every use in the
    #: project was found (``obj.prop`` → ``await obj.prop()``)
    async_properties: set[str] = field(default_factory=set)
    #: unittest class/module fixtures doing I/O (``setUpClass``...) → why: unittest calls
    #: them synchronously, outside any event loop, so they stay synchronous and run their
    #: body with ``asyncio.run()``
    loop_boundaries: dict[str, str] = field(default_factory=dict)
    #: paths of the modules read without libcst (``analysis.quiet``): nothing in them does
    #: I/O or reaches a function that became async, so the await pass leaves them alone
    quiet_modules: set[str] = field(default_factory=set)
    #: functions of ``functions`` that were ``async def`` already (a re-run, or code
    #: partly migrated by hand): nothing becomes async there
    already_async: set[str] = field(default_factory=set)
    #: functions that stay synchronous, their callers running them on the synchronous
    #: session behind theirs (``await session.run_sync(lambda sync_session: f(sync_session,
    #: ...))``): they keep legacy Query objects in variables, which no ``await`` can run →
    #: (the session parameter, its position, whether it is a method)
    greenlet: dict[str, tuple[str, int, bool]] = field(default_factory=dict)
    #: project functions declared as entry points in the packaging files (console
    #: scripts, ``paste.app_factory``...) → those declarations (``entry_points.EntryPoint``):
    #: their launchers call them synchronously
    entry_points: dict[str, list[Any]] = field(default_factory=dict)

    def is_async(self, qualname: str | None) -> bool:
        return qualname is not None and qualname in self.functions

    def chain(self, qualname: str) -> list[str]:
        """The call chain from ``qualname`` down to the I/O that made it async."""
        steps = [qualname]
        seen = {qualname}
        reason = self.functions.get(qualname, "")
        while reason.startswith("calls "):
            callee = reason[len("calls ") :].split(" ", 1)[0]
            if callee in seen:
                break
            steps.append(callee)
            seen.add(callee)
            reason = self.functions.get(callee, "")
        if reason:
            steps.append(reason)
        return steps


def left_quiet(index: Any, path: str) -> bool:
    """Did the async analysis leave the module at ``path`` quiet (``analysis.quiet``)?
    Nothing in it does I/O or reaches what became async."""
    plan = index.async_plan
    return isinstance(plan, AsyncPlan) and path in plan.quiet_modules


@dataclass
class WriteOnlyPlan:
    #: relationship names rewritten to write_only (every relationship of that name)
    names: frozenset[str] = frozenset()
    #: name → why it stays dynamic
    kept: dict[str, str] = field(default_factory=dict)
    #: model → [(relationship, its delete cascades to the children)] to emulate on delete
    pre_deletes: dict[str, list[tuple[str, bool]]] = field(default_factory=dict)
