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
            transport=ASGITransport(app=app), base_url="http://testserver"
        ) as test_client:
            yield test_client

Safety: only in functions that became ``async def``, where the await pass awaited the
client's requests (``httpx`` responses have ``TestClient``'s API); a ``TestClient(...)``
with arguments other than the app gets a TODO instead.
"""

from __future__ import annotations

from typing import Any, ClassVar

import libcst as cst
from libcst.codemod.visitors import AddImportsVisitor, RemoveImportsVisitor
from libcst.metadata import BaseMetadataProvider

from sqla_upgrade.codemods.analysis.async_plan import ScopeTracking
from sqla_upgrade.codemods.analysis.io_calls import TEST_CLIENTS
from sqla_upgrade.codemods.base import ANALYSIS_METADATA
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
            return updated_node
        app = self._app_of(original_node.value)
        if app is None:
            return updated_node
        self.count_rewrite()
        return updated_node.with_changes(value=self._async_client(app))

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
            ],
        )


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
