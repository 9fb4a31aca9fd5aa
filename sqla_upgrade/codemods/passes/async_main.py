"""Run an ``if __name__ == "__main__":`` block that does async work in one event loop.

Before::

    if __name__ == "__main__":
        Base.metadata.create_all(engine)
        with Session(engine) as session:
            add(session, 1)
            print(list(ids(session)))

After::

    async def main():
        async with engine.begin() as conn:
            await conn.run_sync(Base.metadata.create_all)
        async with AsyncSession(engine, expire_on_commit=False) as session:
            await add(session, 1)
            print([item async for item in ids(session)])


    if __name__ == "__main__":
        asyncio.run(main())

Safety: one ``asyncio.run()`` per call would give each call its own event loop, which the
pooled connections of a module-level engine cannot cross, and async generators or session
contexts could not be used at all. So a block whose statements will await (calls of
functions that became async, I/O, schema operations, session or connection contexts)
becomes the body of an ``async def`` (``main``, or ``_main`` when that name is taken) run
once with ``asyncio.run()``; the later stage-2 passes then migrate its statements like
those of any async function. Names the block binds that the rest of the module uses stay
module globals (``global`` in the new function). A block that is one call of a function
that became async (``main()``) is left to the await pass (``asyncio.run(main())``).
"""

from __future__ import annotations

from typing import Any, ClassVar

import libcst as cst
from libcst.codemod.visitors import AddImportsVisitor
from libcst.metadata import Assignment, BaseMetadataProvider, GlobalScope, ScopeProvider

from sqla_upgrade.codemods.analysis.async_plan import CallResolver, ScopeTracking, plan_of
from sqla_upgrade.codemods.analysis.io_calls import IoDetector
from sqla_upgrade.codemods.analysis.plans import left_quiet
from sqla_upgrade.codemods.base import ANALYSIS_METADATA
from sqla_upgrade.codemods.codegen import node_code
from sqla_upgrade.codemods.layout import spaced_top_level

RUNNER_NAMES = ("main", "_main", "_async_main")


def is_main_guard(node: cst.If) -> bool:
    test = node.test
    if not isinstance(test, cst.Comparison) or len(test.comparisons) != 1:
        return False
    codes = {node_code(test.left), node_code(test.comparisons[0].comparator)}
    return "__name__" in codes and ("'__main__'" in codes or '"__main__"' in codes)


class AsyncMainPass(ScopeTracking):
    """The body of a ``__main__`` block that will await → ``async def main()``."""

    name = "async-main"
    targets = frozenset({"async"})
    stage = 2
    triggers = (b"__main__",)
    METADATA_DEPENDENCIES: ClassVar[tuple[type[BaseMetadataProvider[Any]], ...]] = ANALYSIS_METADATA

    @classmethod
    def concerns(cls, code: bytes, path: str, index: Any) -> bool:
        """Not the modules the async analysis left quiet: no statement of theirs awaits."""
        return not left_quiet(index, path)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.plan = plan_of(self.state)
        self.io = IoDetector(self)
        self.calls = CallResolver(self)

    def leave_If(
        self, original_node: cst.If, updated_node: cst.If
    ) -> cst.BaseStatement | cst.FlattenSentinel[cst.BaseStatement]:
        if self.scopes or not is_main_guard(original_node) or original_node.orelse is not None:
            return updated_node
        awaiting = self._awaiting_calls(original_node.body)
        if not awaiting or self._one_async_call(original_node.body, awaiting):
            return updated_node
        scope = self.get_metadata(ScopeProvider, original_node, None)
        if not isinstance(scope, GlobalScope):
            return updated_node
        name = next((n for n in RUNNER_NAMES if n not in scope), None)
        if name is None:
            return updated_node
        AddImportsVisitor.add_needed_import(self.context, "asyncio")
        self.count_rewrite()
        body = _statements(updated_node.body)
        shared = self._module_globals(original_node, scope)
        if shared:
            names = [cst.NameItem(cst.Name(n)) for n in shared]
            body = [cst.SimpleStatementLine(body=[cst.Global(names=names)]), *body]
        function = cst.FunctionDef(
            name=cst.Name(name),
            params=cst.Parameters(),
            body=cst.IndentedBlock(body=body),
            asynchronous=cst.Asynchronous(),
            leading_lines=updated_node.leading_lines,
        )
        self.generated.append(function)
        run = cst.parse_statement(f"asyncio.run({name}())")
        guard = updated_node.with_changes(
            body=cst.IndentedBlock(body=[run]),
            leading_lines=[cst.EmptyLine(), cst.EmptyLine()],
        )
        return cst.FlattenSentinel([function, guard])

    def _awaiting_calls(self, block: cst.BaseSuite) -> list[tuple[cst.Call, bool]]:
        """The calls in ``block`` that will await, each with whether it is a plain call of
        a project function that became async (what ``asyncio.run(f())`` can run alone)."""
        found: list[tuple[cst.Call, bool]] = []
        owner = self

        class Finder(cst.CSTVisitor):
            def visit_Call(self, call: cst.Call) -> None:
                kind = owner._awaits(call)
                if kind is not None:
                    found.append((call, kind))

        block.visit(Finder())
        return found

    def _awaits(self, call: cst.Call) -> bool | None:
        callee = self.calls.callee(call, None)
        if self.plan.is_async(callee):
            function = self.state.index.functions.get(callee or "")
            if function is None or function.is_generator:
                return False
            return not any(d.endswith("contextmanager") for d in function.decorators)
        if self.io.io_call(call) or self.io.io_context(call) or self.io.schema_call(call):
            return False
        return None

    def _one_async_call(self, block: cst.BaseSuite, awaiting: list[tuple[cst.Call, bool]]) -> bool:
        """``main()`` / ``sys.exit(main())`` alone: the await pass runs it with asyncio.run()."""
        statements = _statements(block)
        return len(statements) == 1 and len(awaiting) == 1 and awaiting[0][1]

    def visit_Module(self, node: cst.Module) -> None:
        self.module_node = node
        self.generated: list[cst.FunctionDef] = []

    def leave_Module(self, original_node: cst.Module, updated_node: cst.Module) -> cst.Module:
        if not self.generated:
            return updated_node
        return updated_node.with_changes(
            body=spaced_top_level(list(updated_node.body), self.generated)
        )

    def _module_globals(self, block: cst.If, scope: GlobalScope) -> list[str]:
        """Names the block binds that code outside it reads or binds (the name resolves,
        there, to a binding inside the block)."""
        inside = _node_ids(block.body)
        bound_inside = {
            a.name for a in scope.assignments if isinstance(a, Assignment) and id(a.node) in inside
        }
        shared: set[str] = set()
        owner = self

        class Collector(cst.CSTVisitor):
            def visit_If(self, node: cst.If) -> bool:
                return node is not block

            def visit_Name(self, node: cst.Name) -> None:
                if node.value not in bound_inside or node.value in shared:
                    return
                where = owner.get_metadata(ScopeProvider, node, None)
                if where is not None and any(
                    id(a.node) in inside for a in where[node.value] if isinstance(a, Assignment)
                ):
                    shared.add(node.value)

        self.module_node.visit(Collector())
        return sorted(shared)


def _node_ids(node: cst.CSTNode) -> set[int]:
    found: set[int] = set()

    class Collector(cst.CSTVisitor):
        def on_visit(self, node: cst.CSTNode) -> bool:
            found.add(id(node))
            return True

    node.visit(Collector())
    return found


def _statements(block: cst.BaseSuite) -> list[cst.BaseStatement]:
    if isinstance(block, cst.IndentedBlock):
        return list(block.body)
    assert isinstance(block, cst.SimpleStatementSuite)
    return [cst.SimpleStatementLine(body=block.body)]
