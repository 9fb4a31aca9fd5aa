"""Await I/O, make the functions that now await ``async def``, and await their callers.

Before::

    def get_user(session: Session, user_id):
        return session.scalars(select(User).where(User.id == user_id)).first()

    def show(user_id):
        with SessionLocal() as session:
            user = get_user(session, user_id)
            session.commit()

    if __name__ == "__main__":
        show(1)

After::

    async def get_user(session: AsyncSession, user_id):
        return (await session.scalars(select(User).where(User.id == user_id))).first()

    async def show(user_id):
        async with SessionLocal() as session:
            user = await get_user(session, user_id)
            await session.commit()

    if __name__ == "__main__":
        asyncio.run(show(1))

Safety: which functions become async is decided once for the whole project, before
this pass, by a fixed point over the call graph (``analysis.async_plan``), with the
same I/O detector this pass uses, so every ``await`` lands in an ``async def``.
Only coroutine methods are awaited (``add``, ``expunge``, ``expire`` stay plain).
Results are parenthesised (``(await s.scalars(q)).all()``). A call to an async
generator is iterated with ``async for``; ``@contextmanager`` becomes
``@asynccontextmanager`` and its ``with`` becomes ``async with``. In ``if __name__ ==
"__main__":`` a call to a function that became async is run with ``asyncio.run()``.
Where a coroutine cannot be awaited (a property, ``__init__``, a lambda, module level),
the code is left as it is with a TODO saying what to do.
"""

from __future__ import annotations

from typing import Any, ClassVar

import libcst as cst
from libcst.codemod.visitors import AddImportsVisitor, RemoveImportsVisitor
from libcst.metadata import (
    BaseMetadataProvider,
    ParentNodeProvider,
)

from sqla_upgrade.codemods.analysis.async_plan import (
    DYNAMIC,
    AsyncPlan,
    CallResolver,
    ScopeTracking,
)
from sqla_upgrade.codemods.analysis.io_calls import IoDetector
from sqla_upgrade.codemods.base import ANALYSIS_METADATA
from sqla_upgrade.codemods.names import qualified_names

CONTEXTMANAGER = frozenset({"contextlib.contextmanager"})


def is_main_guard(node: cst.If) -> bool:
    test = node.test
    if not isinstance(test, cst.Comparison) or len(test.comparisons) != 1:
        return False
    left, right = test.left, test.comparisons[0].comparator
    names = {cst.Module([]).code_for_node(left), cst.Module([]).code_for_node(right)}
    return "__name__" in names and ("'__main__'" in names or '"__main__"' in names)


def awaited(expression: cst.BaseExpression, parenthesize: bool) -> cst.Await:
    if parenthesize:
        return cst.Await(expression=expression, lpar=[cst.LeftParen()], rpar=[cst.RightParen()])
    return cst.Await(expression=expression)


class AwaitPass(ScopeTracking):
    """await coroutine calls; async def where needed; asyncio.run() at __main__."""

    name = "await"
    targets = frozenset({"async"})
    stage = 2
    METADATA_DEPENDENCIES: ClassVar[tuple[type[BaseMetadataProvider[Any]], ...]] = ANALYSIS_METADATA

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        plan = self.state.index.async_plan
        self.plan: AsyncPlan = plan if isinstance(plan, AsyncPlan) else AsyncPlan()
        self.io = IoDetector(self)
        self.calls = CallResolver(self)
        self.main_guard_depth = 0
        self.lambda_depth = 0
        self.async_generators: set[str] = set()

    # -- context ------------------------------------------------------------------------------
    def in_async_function(self) -> bool:
        function = self.enclosing_function()
        if function is None:
            return False
        if function.asynchronous is not None:
            return True
        return self.plan.is_async(self.function_qualname())

    def visit_If(self, node: cst.If) -> None:
        if not self.scopes and is_main_guard(node):
            self.main_guard_depth += 1

    def leave_If(self, original_node: cst.If, updated_node: cst.If) -> cst.BaseStatement:
        if not self.scopes and is_main_guard(original_node):
            self.main_guard_depth -= 1
        return updated_node

    def visit_Lambda(self, node: cst.Lambda) -> None:
        self.lambda_depth += 1

    def leave_Lambda(
        self, original_node: cst.Lambda, updated_node: cst.Lambda
    ) -> cst.BaseExpression:
        self.lambda_depth -= 1
        return updated_node

    # -- functions ------------------------------------------------------------------------------
    def leave_FunctionDef(
        self, original_node: cst.FunctionDef, updated_node: cst.FunctionDef
    ) -> cst.BaseStatement | cst.FlattenSentinel[cst.BaseStatement] | cst.RemovalSentinel:
        qualname = self.current_qualname()
        result = super().leave_FunctionDef(original_node, updated_node)
        if not self.plan.is_async(qualname) or original_node.asynchronous is not None:
            return result
        self.count_rewrite()
        decorators = [
            self._async_decorator(before, after)
            for before, after in zip(original_node.decorators, updated_node.decorators, strict=True)
        ]
        return updated_node.with_changes(asynchronous=cst.Asynchronous(), decorators=decorators)

    def _async_decorator(self, original: cst.Decorator, decorator: cst.Decorator) -> cst.Decorator:
        if qualified_names(self, original.decorator) & CONTEXTMANAGER:
            AddImportsVisitor.add_needed_import(self.context, "contextlib", "asynccontextmanager")
            RemoveImportsVisitor.remove_unused_import(self.context, "contextlib", "contextmanager")
            return decorator.with_changes(decorator=cst.Name("asynccontextmanager"))
        return decorator

    # -- calls ------------------------------------------------------------------------------------
    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.BaseExpression:
        parent = self.get_metadata(ParentNodeProvider, original_node, None)
        if isinstance(parent, cst.Await) or self._runs_in_asyncio(parent):
            return updated_node
        if self.io.schema_call(original_node):
            if self.in_async_function():  # elsewhere schema-run-sync already said why
                self.todo(
                    original_node,
                    "schema operations need `await conn.run_sync(...)` on an async connection",
                )
            return updated_node
        callee = self.calls.callee(original_node, self.enclosing_class())
        if callee is None and isinstance(original_node.func, cst.Attribute):
            attr = original_node.func.attr.value
            if attr in self.plan.mixed_dynamic:
                self.todo(
                    original_node,
                    f"functions passed around as {attr!r} are partly async now: await the async ones",
                )
                return updated_node
            if self.plan.is_async(DYNAMIC + attr) and not self.io.io_call(original_node):
                callee = DYNAMIC + attr
        to_project_async = self.plan.is_async(callee)
        is_io = not to_project_async and self.io.io_call(original_node)
        if not (to_project_async or is_io):
            return updated_node
        if to_project_async and self._is_generator_or_manager(callee, original_node):
            return updated_node
        if self.lambda_depth:
            self.todo(original_node, "a lambda cannot await; turn it into a local async def")
            return updated_node
        if self.in_async_function():
            self.count_rewrite()
            return awaited(updated_node, self._needs_parentheses(original_node, parent))
        if self.enclosing_function() is None and self.main_guard_depth and to_project_async:
            AddImportsVisitor.add_needed_import(self.context, "asyncio")
            self.count_rewrite()
            run = cst.Attribute(value=cst.Name("asyncio"), attr=cst.Name("run"))
            return cst.Call(func=run, args=[cst.Arg(updated_node)])
        self.todo(original_node, self._sync_context_reason(callee if to_project_async else None))
        return updated_node

    def _runs_in_asyncio(self, parent: cst.CSTNode | None) -> bool:
        """Is the call already handed to ``asyncio.run()`` (or another asyncio runner)?"""
        if not isinstance(parent, cst.Arg):
            return False
        holder = self.get_metadata(ParentNodeProvider, parent, None)
        return isinstance(holder, cst.Call) and any(
            n.startswith("asyncio.") for n in qualified_names(self, holder.func)
        )

    def _is_generator_or_manager(self, callee: str | None, call: cst.Call) -> bool:
        """Async generators are iterated, not awaited; async context managers are entered."""
        if callee is None:
            return False
        function = self.state.index.functions.get(callee)
        if function is None:
            return False
        if function.is_generator:
            return True
        return any(d.endswith("contextmanager") for d in function.decorators)

    def _needs_parentheses(self, original: cst.Call, parent: cst.CSTNode | None) -> bool:
        if isinstance(parent, cst.Attribute) and parent.value is original:
            return True
        if isinstance(parent, cst.Subscript) and parent.value is original:
            return True
        return isinstance(parent, cst.Call) and parent.func is original

    def _sync_context_reason(self, callee: str | None) -> str:
        what = f"{callee}() is now a coroutine" if callee else "this call is now a coroutine"
        function = self.function_qualname()
        if function is None:
            return f"{what}; module-level code cannot await it: move it into an async function"
        blocked = self.plan.blocked.get(function)
        if blocked:
            return f"{what} but cannot be awaited here ({blocked.split(',')[0]}); use an async method or run_sync"
        return f"{what} but {function.rsplit('.', 1)[-1]}() stays synchronous; await it from async code"

    # -- with / for ------------------------------------------------------------------------------------
    def leave_With(self, original_node: cst.With, updated_node: cst.With) -> cst.BaseStatement:
        if original_node.asynchronous is not None:
            return updated_node
        contexts = [self._async_context(item.item) for item in original_node.items]
        if not any(contexts):
            return updated_node
        if not all(contexts):
            self.todo(
                original_node,
                "split this with statement: some of its context managers are now async",
            )
            return updated_node
        if not self.in_async_function():
            self.todo(
                original_node,
                "this session/connection context is now async; use it in an async function",
            )
            return updated_node
        self.count_rewrite()
        return updated_node.with_changes(asynchronous=cst.Asynchronous())

    def _async_context(self, item: cst.BaseExpression) -> bool:
        if self.io.io_context(item):
            return True
        if isinstance(item, cst.Call):
            callee = self.calls.callee(item, self.enclosing_class())
            return self.plan.is_async(callee) and self._is_generator_or_manager(callee, item)
        return False

    def leave_For(self, original_node: cst.For, updated_node: cst.For) -> cst.BaseStatement:
        if self._iterates_async_generator(original_node.iter):
            if self.in_async_function():
                self.count_rewrite()
                return updated_node.with_changes(asynchronous=cst.Asynchronous())
            self.todo(
                original_node,
                "this loop iterates an async generator now; use it in an async function",
            )
        return updated_node

    def leave_CompFor(self, original_node: cst.CompFor, updated_node: cst.CompFor) -> cst.CompFor:
        if self._iterates_async_generator(original_node.iter) and self.in_async_function():
            self.count_rewrite()
            return updated_node.with_changes(asynchronous=cst.Asynchronous())
        return updated_node

    def _iterates_async_generator(self, node: cst.BaseExpression) -> bool:
        if not isinstance(node, cst.Call):
            return False
        callee = self.calls.callee(node, self.enclosing_class())
        if not self.plan.is_async(callee):
            return False
        function = self.state.index.functions.get(callee or "")
        return function is not None and function.is_generator
