"""Tests of an app that became async drive it with ``httpx.AsyncClient``, on the tests' loop.

Starlette's ``TestClient`` runs the app on an event loop of its own, in another thread,
while the migrated async fixtures run on pytest-asyncio's loop: an async engine shared by
both would hand a pooled connection from one loop to the other, which asyncpg and aiomysql
refuse. ``httpx.AsyncClient`` over ``ASGITransport`` runs the app on the test's own loop
(FastAPI's documented way to test async code), and the app's lifespan is entered as
``TestClient``'s ``with`` block did.

Before (fixture and tests after the await pass)::

    @pytest.fixture
    async def client():
        with TestClient(app) as test_client:
            yield test_client

    async def test_health(client):
        assert (await client.get("/health")).status_code == 200

After::

    @pytest.fixture
    async def client():
        async with app.router.lifespan_context(app), AsyncClient(
            transport=ASGITransport(app=app), base_url="http://testserver", follow_redirects=True
        ) as test_client:
            yield test_client

``return TestClient(app)`` and ``yield TestClient(app)`` in such a fixture, and
``client = TestClient(app)`` at a test module's top level (the FastAPI tutorial's style),
become the same ``AsyncClient`` without a lifespan, as ``TestClient`` outside ``with``.

Safety: only in functions that became ``async def``, where the await pass awaited the
client's requests (``httpx`` responses have ``TestClient``'s API); a ``TestClient(...)``
with arguments other than the app gets a TODO instead. A module-level client is converted
only when every use of it is an attribute of it in a function that became a coroutine
and no other module imports it (``IoDetector.module_test_client``); otherwise it stays a
``TestClient`` and its tests stay synchronous (a TODO if only some became coroutines).
"""

from __future__ import annotations

from typing import Any, ClassVar

import libcst as cst
from libcst.codemod.visitors import AddImportsVisitor, RemoveImportsVisitor
from libcst.metadata import Assignment, BaseMetadataProvider, ScopeProvider

from sqla_upgrade.codemods.analysis.async_plan import ScopeTracking, plan_of
from sqla_upgrade.codemods.analysis.io_calls import TEST_CLIENTS, IoDetector
from sqla_upgrade.codemods.base import ANALYSIS_METADATA, function_qualname
from sqla_upgrade.codemods.names import qualified_names


class AsyncTestClientPass(ScopeTracking):
    """TestClient(app) in async tests and fixtures → httpx.AsyncClient(ASGITransport(app))."""

    name = "async-test-client"
    targets = frozenset({"async"})
    stage = 2
    triggers = (b"TestClient",)
    METADATA_DEPENDENCIES: ClassVar[tuple[type[BaseMetadataProvider[Any]], ...]] = ANALYSIS_METADATA

    def _app_of(self, call: cst.BaseExpression) -> cst.BaseExpression | None:
        """``app`` for ``TestClient(app)``; None for anything else."""
        if not isinstance(call, cst.Call) or not qualified_names(self, call.func) & TEST_CLIENTS:
            return None
        keyword = call.args[0].keyword if len(call.args) == 1 else None
        if len(call.args) != 1 or (keyword is not None and keyword.value != "app"):
            self.todo(call, "TestClient options have no direct httpx.AsyncClient equivalent")
            return None
        return call.args[0].value

    def leave_With(self, original_node: cst.With, updated_node: cst.With) -> cst.BaseStatement:
        if not self.in_async_def():
            return updated_node
        apps = [self._app_of(item.item) for item in original_node.items]
        if not any(app is not None for app in apps):
            return updated_node
        items: list[cst.WithItem] = []
        for app, item in zip(apps, updated_node.items, strict=True):
            if app is None:
                items.append(item)
                continue
            comma = cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
            items.append(cst.WithItem(item=_lifespan(app), comma=comma))
            items.append(item.with_changes(item=self._async_client(app)))
        self.count_rewrite()
        return updated_node.with_changes(items=items, asynchronous=cst.Asynchronous())

    def leave_Assign(self, original_node: cst.Assign, updated_node: cst.Assign) -> cst.Assign:
        if not self.in_async_def():
            if not self.scopes and self._module_client_converts(original_node):
                return self._converted_value(original_node, updated_node)
            return updated_node
        return self._converted_value(original_node, updated_node)

    def leave_Return(
        self, original_node: cst.Return, updated_node: cst.Return
    ) -> cst.Return | cst.RemovalSentinel:
        if not self.in_async_def() or original_node.value is None:
            return updated_node
        return self._converted_value(original_node, updated_node)

    def leave_Yield(self, original_node: cst.Yield, updated_node: cst.Yield) -> cst.BaseExpression:
        value = original_node.value
        if not self.in_async_def() or not isinstance(value, cst.BaseExpression):
            return updated_node
        return self._converted_value(original_node, updated_node)

    def _converted_value(self, original: _Valued, updated: _Valued) -> Any:
        """``x = TestClient(app)``, ``return TestClient(app)``, ``yield TestClient(app)``
        (no lifespan entered, as TestClient does outside a ``with``)."""
        value = original.value
        app = self._app_of(value) if isinstance(value, cst.BaseExpression) else None
        if app is None:
            return updated
        self.count_rewrite()
        return updated.with_changes(value=self._async_client(app))

    def _module_client_converts(self, assign: cst.Assign) -> bool:
        """``client = TestClient(app)`` at the top of a test module whose every user the
        await pass made a coroutine awaiting its requests (see IoDetector.is_test_client);
        a TODO where a user stays synchronous."""
        if len(assign.targets) != 1 or not isinstance(assign.targets[0].target, cst.Name):
            return False
        if not qualified_names(self, _called(assign.value)) & TEST_CLIENTS:
            return False
        target = assign.targets[0].target
        scope = self.get_metadata(ScopeProvider, target, None)
        bindings = [a for a in (scope[target.value] if scope else ()) if isinstance(a, Assignment)]
        detector = IoDetector(self)
        if len(bindings) != 1 or bindings[0].node is not target:
            return False
        if not detector.module_test_client(bindings[0]):
            return False
        users = {detector.user_of(access.node) for access in bindings[0].references}
        plan = plan_of(self.state)
        awaited = [
            isinstance(user, cst.FunctionDef) and plan.is_async(function_qualname(self, user))
            for user in users
        ]
        if all(awaited):
            self.note(
                assign,
                "a client made outside `async with` runs no lifespan (as TestClient outside "
                "`with`): startup work moved into the app's lifespan (create_all) needs a "
                "fixture entering app.router.lifespan_context(app)",
            )
            return True
        if any(awaited):
            self.todo(
                assign,
                "some functions using this test client became coroutines and others did not: "
                "it stays a TestClient, whose requests cannot be awaited",
            )
        return False

    def _async_client(self, app: cst.BaseExpression) -> cst.Call:
        AddImportsVisitor.add_needed_import(self.context, "httpx", "ASGITransport")
        AddImportsVisitor.add_needed_import(self.context, "httpx", "AsyncClient")
        for module in ("fastapi.testclient", "starlette.testclient"):
            RemoveImportsVisitor.remove_unused_import(self.context, module, "TestClient")
        transport = cst.Call(
            func=cst.Name("ASGITransport"),
            args=[cst.Arg(app.deep_clone(), keyword=cst.Name("app"), equal=_equal())],
        )
        return cst.Call(
            func=cst.Name("AsyncClient"),
            args=[
                cst.Arg(transport, keyword=cst.Name("transport"), equal=_equal()),
                cst.Arg(
                    cst.SimpleString('"http://testserver"'),
                    keyword=cst.Name("base_url"),
                    equal=_equal(),
                ),
                # TestClient follows redirects (FastAPI's trailing-slash 307s); httpx does not
                cst.Arg(cst.Name("True"), keyword=cst.Name("follow_redirects"), equal=_equal()),
            ],
        )


_Valued = cst.Assign | cst.Return | cst.Yield


def _called(value: cst.BaseExpression) -> cst.BaseExpression:
    return value.func if isinstance(value, cst.Call) else value


def _lifespan(app: cst.BaseExpression) -> cst.Call:
    """``app.router.lifespan_context(app)``: the startup/shutdown TestClient's ``with`` ran."""
    router = cst.Attribute(value=app.deep_clone(), attr=cst.Name("router"))
    return cst.Call(
        func=cst.Attribute(value=router, attr=cst.Name("lifespan_context")),
        args=[cst.Arg(app.deep_clone())],
    )


def _equal() -> cst.AssignEqual:
    return cst.AssignEqual(
        whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace("")
    )
