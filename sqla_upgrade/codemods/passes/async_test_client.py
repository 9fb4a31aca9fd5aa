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

But for one kind of app: one whose module ran ``create_all(engine)`` at import time,
which schema-run-sync moves into a lifespan handler it gives the app (the index's
``startup_apps``). A client outside ``with`` never runs it, so its tests would find no
tables; they enter the lifespan as the import did before them:

    client = AsyncClient(transport=ASGITransport(app=app), ...)


    @pytest_asyncio.fixture(scope="module", loop_scope="session", autouse=True)
    async def app_lifespan():
        async with app.router.lifespan_context(app):
            yield

(``with client: yield`` in a synchronous fixture for a module-level client that stays a
``TestClient``; ``async with app.router.lifespan_context(app): yield AsyncClient(...)``
for a fixture's ``yield``/last ``return``). A lifespan that also runs the module's
``@app.on_event`` handlers, which these tests did not run, and any other client of such
an app outside ``with`` get a TODO.

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
from libcst.metadata import Assignment, BaseMetadataProvider, ParentNodeProvider, ScopeProvider

from sqla_upgrade.codemods.analysis.async_plan import ScopeTracking, plan_of
from sqla_upgrade.codemods.analysis.io_calls import TEST_CLIENTS, IoDetector
from sqla_upgrade.codemods.base import ANALYSIS_METADATA, function_qualname
from sqla_upgrade.codemods.codegen import code_of
from sqla_upgrade.codemods.layout import spaced_top_level
from sqla_upgrade.codemods.names import names_in, qualified_names
from sqla_upgrade.codemods.passes.async_tests import is_test_module


class AsyncTestClientPass(ScopeTracking):
    """TestClient(app) in async tests and fixtures → httpx.AsyncClient(ASGITransport(app))."""

    name = "async-test-client"
    targets = frozenset({"async"})
    stage = 2
    triggers = (b"TestClient",)
    METADATA_DEPENDENCIES: ClassVar[tuple[type[BaseMetadataProvider[Any]], ...]] = ANALYSIS_METADATA

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        #: TestClient calls of a startup app whose lifespan the migrated code enters
        self._entered: set[int] = set()
        #: module-level client statements → the fixture entering their app's lifespan
        self._lifespan_fixtures: dict[int, cst.FunctionDef] = {}
        self._generated: list[cst.FunctionDef] = []

    def visit_Module(self, node: cst.Module) -> None:
        self._module = node
        self._module_names: set[str] | None = None
        self._calls: list[list[cst.Call]] = []

    def _anyio_style(self) -> bool:
        code = code_of(self._module)
        return "mark.anyio" in code and "mark.asyncio" not in code

    def visit_SimpleStatementLine(self, node: cst.SimpleStatementLine) -> None:
        self._calls.append([])

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        spelled = func.attr if isinstance(func, cst.Attribute) else func
        if self._calls and isinstance(spelled, cst.Name) and spelled.value == "TestClient":
            self._calls[-1].append(node)

    def _startup_app(self, app: cst.BaseExpression) -> bool | None:
        """Does ``app`` name a FastAPI app whose lifespan now holds its module's
        import-time schema work (True: and its ``on_event`` handlers; None: it does not)?"""
        found = [self.state.index.startup_app(q) for q in qualified_names(self, app)]
        known = [f for f in found if f is not None]
        return any(known) if known else None

    def _app_of(self, call: cst.BaseExpression) -> cst.BaseExpression | None:
        """``app`` for ``TestClient(app)``; None for anything else."""
        if not isinstance(call, cst.Call) or not qualified_names(self, call.func) & TEST_CLIENTS:
            return None
        keyword = call.args[0].keyword if len(call.args) == 1 else None
        if len(call.args) != 1 or (keyword is not None and keyword.value != "app"):
            self.todo(call, "TestClient options have no direct httpx.AsyncClient equivalent")
            return None
        return call.args[0].value

    def visit_WithItem(self, node: cst.WithItem) -> None:
        self._entered.add(id(node.item))  # ``with TestClient(app)`` runs its lifespan

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
            if self.scopes:
                return updated_node
            converts = self._module_client_converts(original_node)
            self._module_client_lifespan(original_node, converts)
            if converts:
                return self._converted_value(original_node, updated_node)
            return updated_node
        return self._converted_value(original_node, updated_node)

    def _module_client_lifespan(self, assign: cst.Assign, converts: bool) -> None:
        """An autouse fixture entering the lifespan of a startup app for the module-level
        ``client = TestClient(app)``, which does not (see the module docstring)."""
        call = assign.value
        if not isinstance(call, cst.Call) or not qualified_names(self, call.func) & TEST_CLIENTS:
            return
        app = call.args[0].value if call.args and call.args[0].keyword is None else None
        events = self._startup_app(app) if app is not None else None
        if app is None or events is None or len(assign.targets) != 1:
            return
        target = assign.targets[0].target
        if not isinstance(target, cst.Name) or self._entered_later(target):
            self._entered.add(id(call))
            return
        self._entered.add(id(call))
        if not is_test_module(self.state.path):  # pytest collects no fixture there
            self.todo(assign, _NO_LIFESPAN + ": enter it in a fixture of the tests using it")
            return
        if converts and self._anyio_style():
            self.todo(
                assign, _NO_LIFESPAN + "; enter app.router.lifespan_context(app) in a fixture"
            )
            return
        name = self._free_name("app_lifespan")
        fixture = _lifespan_fixture(name, app, target, converts)
        if converts:
            AddImportsVisitor.add_needed_import(self.context, "pytest_asyncio")
        else:
            AddImportsVisitor.add_needed_import(self.context, "pytest")
        if events:
            self.todo(assign, _EVENTS)
        self._lifespan_fixtures[id(assign)] = fixture
        self.count_rewrite()

    def _entered_later(self, name: cst.Name) -> bool:
        """Is the client bound to ``name`` entered by the user's own ``with name:``?"""
        scope = self.get_metadata(ScopeProvider, name, None)
        for binding in scope[name.value] if scope else ():
            for access in binding.references if isinstance(binding, Assignment) else ():
                parent = self.get_metadata(ParentNodeProvider, access.node, None)
                if isinstance(parent, cst.WithItem):
                    return True
        return False

    def _free_name(self, name: str) -> str:
        if self._module_names is None:
            self._module_names = names_in(self._module)
        number = 1
        candidate = name
        while candidate in self._module_names:
            number += 1
            candidate = f"{name}_{number}"
        self._module_names = self._module_names | {candidate}
        return candidate

    def leave_SimpleStatementLine(
        self, original_node: cst.SimpleStatementLine, updated_node: cst.SimpleStatementLine
    ) -> cst.BaseStatement | cst.FlattenSentinel[cst.BaseStatement]:
        calls = self._calls.pop() if self._calls else []
        body = original_node.body
        if len(body) == 1 and id(body[0]) in self._lifespan_fixtures:
            fixture = self._lifespan_fixtures.pop(id(body[0]))
            self._generated.append(fixture)
            return cst.FlattenSentinel([updated_node, fixture])
        wrapped = self._fixture_lifespan(original_node, updated_node)
        if wrapped is not None:
            return wrapped
        for call in calls:
            if id(call) in self._entered or not call.args:
                continue
            if not qualified_names(self, call.func) & TEST_CLIENTS:
                continue
            if self._startup_app(call.args[0].value) is not None:
                self.todo(call, _NO_LIFESPAN + ": enter it (`with TestClient(app) as client:`)")
        return updated_node

    def _fixture_lifespan(
        self, original: cst.SimpleStatementLine, updated: cst.SimpleStatementLine
    ) -> cst.BaseStatement | None:
        """``yield TestClient(app)`` (or its last ``return``) in a fixture that became a
        coroutine, for a startup app: ``async with app.router.lifespan_context(app):
        yield AsyncClient(...)``."""
        if len(original.body) != 1 or not self.in_async_def():
            return None
        statement = original.body[0]
        value: cst.BaseExpression | None = None
        if isinstance(statement, cst.Expr) and isinstance(statement.value, cst.Yield):
            yielded = statement.value.value
            value = yielded if isinstance(yielded, cst.BaseExpression) else None
        elif isinstance(statement, cst.Return):
            value = statement.value
        if not isinstance(value, cst.Call) or not qualified_names(self, value.func) & TEST_CLIENTS:
            return None
        if not value.args or self._startup_app(value.args[0].value) is None:
            return None
        function = self.enclosing_function()
        converted = updated.body[0]
        client = (
            converted.value.value
            if isinstance(converted, cst.Expr) and isinstance(converted.value, cst.Yield)
            else getattr(converted, "value", None)
        )
        if (
            function is None
            or not self._is_fixture(function)
            or not isinstance(client, cst.Call)
            or client.func is value.func  # left a TestClient (options)
            or (isinstance(statement, cst.Return) and not _last_return(function, original))
        ):
            return None
        self._entered.add(id(value))
        self.count_rewrite()
        if self._startup_app(value.args[0].value):
            self.todo(original, _EVENTS)
        yielded_line = cst.SimpleStatementLine(body=[cst.Expr(cst.Yield(client))])
        return cst.With(
            items=[cst.WithItem(item=_lifespan(value.args[0].value))],
            body=cst.IndentedBlock(body=[yielded_line]),
            asynchronous=cst.Asynchronous(),
            leading_lines=updated.leading_lines,
        )

    def _is_fixture(self, function: cst.FunctionDef) -> bool:
        return any(
            qualified_names(self, _called(d.decorator)) & FIXTURES for d in function.decorators
        )

    def leave_Module(self, original_node: cst.Module, updated_node: cst.Module) -> cst.Module:
        if not self._generated:
            return updated_node
        return updated_node.with_changes(
            body=spaced_top_level(list(updated_node.body), self._generated)
        )

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
FIXTURES = frozenset({"pytest.fixture", "_pytest.fixtures.fixture", "pytest_asyncio.fixture"})
_NO_LIFESPAN = (
    "this test client runs no lifespan, and the app's lifespan now creates the schema its "
    "module created at import time"
)
_EVENTS = (
    "the app's lifespan, now entered for these tests so that the schema its module created "
    "at import time exists, also runs its on_event startup/shutdown handlers, which they "
    "did not run before"
)


def _last_return(function: cst.FunctionDef, statement: cst.SimpleStatementLine) -> bool:
    """Is ``statement`` the last statement of ``function``'s body and its only ``return``
    of a value (a generator cannot return one)?"""
    body = function.body.body if isinstance(function.body, cst.IndentedBlock) else ()
    if not body or body[-1] is not statement:
        return False
    returns = [
        n
        for n in _walk_function(function.body)
        if isinstance(n, cst.Return) and n.value is not None
    ]
    return len(returns) == 1


def _walk_function(node: cst.CSTNode) -> list[cst.CSTNode]:
    """``node``'s subtree without nested functions, lambdas and classes."""
    found = [node]
    for child in node.children:
        if not isinstance(child, cst.FunctionDef | cst.Lambda | cst.ClassDef):
            found.extend(_walk_function(child))
    return found


def _lifespan_fixture(
    name: str, app: cst.BaseExpression, client: cst.Name, converts: bool
) -> cst.FunctionDef:
    """The autouse fixture entering ``app``'s lifespan around a test module's tests."""
    entered: cst.BaseExpression
    if converts:
        decorator = cst.parse_expression(
            'pytest_asyncio.fixture(scope="module", loop_scope="session", autouse=True)'
        )
        entered = _lifespan(app)
    else:
        decorator = cst.parse_expression('pytest.fixture(scope="module", autouse=True)')
        entered = client.deep_clone()
    block = cst.With(
        items=[cst.WithItem(item=entered)],
        body=cst.IndentedBlock(body=[cst.SimpleStatementLine(body=[cst.Expr(cst.Yield())])]),
        asynchronous=cst.Asynchronous() if converts else None,
    )
    return cst.FunctionDef(
        name=cst.Name(name),
        params=cst.Parameters(),
        body=cst.IndentedBlock(body=[block]),
        decorators=[cst.Decorator(decorator=decorator)],
        asynchronous=cst.Asynchronous() if converts else None,
    )


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
