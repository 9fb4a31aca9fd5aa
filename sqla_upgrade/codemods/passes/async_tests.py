"""Run the user's pytest tests and fixtures that became coroutines with pytest-asyncio.

Before (after the await pass made them async)::

    @pytest.fixture(scope="session")
    async def database():
        await db.init_db()
        yield

    async def test_seed():
        assert await demo.seed()

After::

    @pytest_asyncio.fixture(scope="session", loop_scope="session")
    async def database():
        await db.init_db()
        yield

    @pytest.mark.asyncio(loop_scope="session")
    async def test_seed():
        assert await demo.seed()

Safety: pytest does not run ``async def`` tests by itself; pytest-asyncio (the style most
suites use, and the one used when the suite already marks tests with it) runs them. All
converted tests and fixtures share one session-wide event loop, because an async engine's
pooled connections belong to the loop that opened them. A suite written with the anyio
plugin keeps its ``@pytest.mark.anyio`` style. ``unittest.TestCase`` methods that became
coroutines get a TODO (``IsolatedAsyncioTestCase`` is the replacement). The migrated suite
needs ``pytest-asyncio`` installed; the report says so.

pytest calls its xunit-style hooks (``setup_module``/``teardown_module``,
``setup_function``/``teardown_function``, ``setup_method``/``teardown_method``,
``setup_class``/``teardown_class``) without awaiting, as it runs them inside autouse
fixtures of its own: a pair that became coroutines becomes one autouse
``pytest_asyncio`` fixture named as the setup (a fixture is no xunit hook to pytest),
setup, ``yield``, teardown, with the hook's parameter taken from ``request``
(``setup_function`` skips the methods of test classes, as pytest's does). A hook whose
body returns early or that takes other parameters gets a TODO.
"""

from __future__ import annotations

from typing import Any, ClassVar

import libcst as cst
from libcst.codemod.visitors import AddImportsVisitor, RemoveImportsVisitor
from libcst.metadata import BaseMetadataProvider, PositionProvider, QualifiedNameProvider

from sqla_upgrade.codemods.analysis.async_plan import ScopeTracking, plan_of
from sqla_upgrade.codemods.analysis.chains import keyword
from sqla_upgrade.codemods.codegen import code_of
from sqla_upgrade.codemods.index.model import ObjectKind
from sqla_upgrade.codemods.names import names_in, qualified_names

#: ``yield_fixture`` is pytest's old (deprecated) alias of ``fixture``
FIXTURE = frozenset(
    {
        "pytest.fixture",
        "_pytest.fixtures.fixture",
        "pytest.yield_fixture",
        "_pytest.fixtures.yield_fixture",
    }
)
ASYNC_FIXTURE = frozenset({"pytest_asyncio.fixture", "pytest_asyncio.plugin.fixture"})
TESTCASE = frozenset({"unittest.TestCase", "unittest.case.TestCase"})
ISOLATED = frozenset(
    {"unittest.IsolatedAsyncioTestCase", "unittest.async_case.IsolatedAsyncioTestCase"}
)
ASYNC_HOOKS = {"setUp": "asyncSetUp", "tearDown": "asyncTearDown"}
#: pytest's xunit-style hooks, which it calls without awaiting: the kind (``module``,
#: ``function``: module level; ``method``, ``class``: in a class) → the fixture's scope
#: and the ``request`` attribute the hook's parameter is
XUNIT_KINDS = {
    "module": ("module", "module"),
    "function": ("function", "function"),
    "method": ("function", "function"),
    "class": ("class", "cls"),
}


def is_test_module(path: str) -> bool:
    name = path.replace("\\", "/").rsplit("/", 1)[-1]
    return name.startswith("test_") or name.endswith("_test.py") or name == "conftest.py"


class AsyncTestsPass(ScopeTracking):
    """pytest tests/fixtures that became async → pytest-asyncio marks and fixtures."""

    name = "async-tests"
    targets = frozenset({"async"})
    stage = 2
    triggers = (b"async def",)
    METADATA_DEPENDENCIES: ClassVar[tuple[type[BaseMetadataProvider[Any]], ...]] = (
        PositionProvider,
        QualifiedNameProvider,
    )

    @classmethod
    def concerns(cls, code: bytes, path: str, index: Any) -> bool:
        """Only test modules and ``conftest.py``."""
        return is_test_module(path)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.plan = plan_of(self.state)
        self.enabled = is_test_module(self.state.path)
        self.anyio_style = False
        self._direct_testcases: set[str] = set()
        self.async_testcases: set[str] = set()
        #: xunit hooks (``setup_method``...) this migration made coroutines
        self.async_hooks: set[str] = set()

    def visit_Module(self, node: cst.Module) -> None:
        code = code_of(node)
        self.anyio_style = "mark.anyio" in code and "mark.asyncio" not in code

    def leave_FunctionDef(
        self, original_node: cst.FunctionDef, updated_node: cst.FunctionDef
    ) -> cst.BaseStatement | cst.FlattenSentinel[cst.BaseStatement] | cst.RemovalSentinel:
        qualname = self.current_qualname()
        klass = self.enclosing_class()
        result = super().leave_FunctionDef(original_node, updated_node)
        if not self.enabled or original_node.asynchronous is None:
            return result
        if not self.plan.is_async(qualname):  # only what this migration made async
            return result
        if klass is not None and self._is_testcase(klass, ISOLATED):
            return result  # unittest runs its coroutines already
        if klass is not None and self._is_testcase(klass, TESTCASE):
            return self._testcase_method(original_node, updated_node, klass, result)
        if _xunit_kind(original_node.name.value, klass is not None) and not self.anyio_style:
            if any(
                qualified_names(self, _decorator_target(d)) & (FIXTURE | ASYNC_FIXTURE)
                for d in original_node.decorators
            ):
                return result
            reason = _unconvertible(original_node, klass is not None)
            if reason is not None:
                self.todo(
                    original_node,
                    f"{original_node.name.value} is a coroutine now, which pytest calls "
                    f"without awaiting; make it an autouse pytest_asyncio fixture ({reason})",
                )
                return result
            self.async_hooks.add(qualname)  # made a fixture by the module or class
            return result
        decorators = list(updated_node.decorators)
        originals = list(original_node.decorators)
        for position, decorator in enumerate(originals):
            names = qualified_names(self, _decorator_target(decorator))
            if names & ASYNC_FIXTURE:
                return result
            if names & FIXTURE:
                if self.anyio_style:
                    return result
                decorators[position] = self._async_fixture(decorators[position])
                self.count_rewrite()
                return updated_node.with_changes(decorators=decorators)
        if original_node.name.value.startswith("test") and not _has_async_mark(originals):
            self.count_rewrite()
            return updated_node.with_changes(decorators=[*decorators, self._mark()])
        return result

    def _testcase_method(
        self, original: cst.FunctionDef, updated: cst.FunctionDef, klass: str, result: Any
    ) -> Any:
        """``setUp``/``tearDown`` → ``asyncSetUp``/``asyncTearDown``; the class becomes an
        ``IsolatedAsyncioTestCase`` (in leave_ClassDef)."""
        name = original.name.value
        if name in ("setUpClass", "tearDownClass") or klass not in self._direct_testcases:
            self.todo(
                original,
                f"{name} is a coroutine now: unittest has no async form for it here; "
                "move the work into asyncSetUp/asyncTearDown of an IsolatedAsyncioTestCase",
            )
            return result
        self.async_testcases.add(klass)
        renamed = ASYNC_HOOKS.get(name)
        self.count_rewrite()
        return updated.with_changes(name=cst.Name(renamed)) if renamed else updated

    def visit_ClassDef(self, node: cst.ClassDef) -> bool | None:
        result = super().visit_ClassDef(node)
        qualname = self.current_qualname()
        if any(qualified_names(self, b.value) & TESTCASE for b in node.bases):
            self._direct_testcases.add(qualname)
        return result

    def leave_ClassDef(
        self, original_node: cst.ClassDef, updated_node: cst.ClassDef
    ) -> cst.BaseStatement | cst.FlattenSentinel[cst.BaseStatement] | cst.RemovalSentinel:
        qualname = self.current_qualname()
        result = super().leave_ClassDef(original_node, updated_node)
        if self.async_hooks and isinstance(updated_node.body, cst.IndentedBlock):
            body = self._xunit_fixtures(list(updated_node.body.body), qualname, True)
            updated_node = updated_node.with_changes(body=updated_node.body.with_changes(body=body))
            result = updated_node
        if qualname not in self.async_testcases:
            return result
        bases = [
            self._isolated_base(before, after)
            for before, after in zip(original_node.bases, updated_node.bases, strict=True)
        ]
        scoped = self._hooks_scoped_session(original_node)
        if scoped is not None:
            self.todo(
                original_node,
                f"setUp/tearDown use {scoped}, which is scoped by asyncio.current_task now, "
                "and IsolatedAsyncioTestCase runs asyncSetUp, each test and asyncTearDown in "
                "a task of its own (Python 3.11+): each gets its own session, so what "
                "asyncSetUp adds is not in the test's session and asyncTearDown does not "
                "close the test's; share one session explicitly or close it in each",
            )
        self.note(
            original_node,
            "IsolatedAsyncioTestCase runs each test on a new event loop: pooled async "
            "connections cannot move between loops (dispose the engine in asyncTearDown)",
        )
        return updated_node.with_changes(bases=bases)

    def leave_Module(self, original_node: cst.Module, updated_node: cst.Module) -> cst.Module:
        if not self.async_hooks:
            return updated_node
        body = self._xunit_fixtures(list(updated_node.body), self.state.module_name, False)
        return updated_node.with_changes(body=body)

    def _xunit_fixtures(
        self, body: list[Any], prefix: str, in_class: bool
    ) -> list[cst.BaseStatement]:
        """``setup_method``/``teardown_method`` (and ``_function``, ``_module``,
        ``_class``) that became coroutines: pytest calls them without awaiting, so each
        pair becomes one autouse fixture of that name (pytest runs its xunit hooks as
        such fixtures), the setup before its ``yield``, the teardown after; a hook's
        parameter (``method``, ``module``, ``cls``) comes from ``request``."""
        hooks = {
            s.name.value: s
            for s in body
            if isinstance(s, cst.FunctionDef) and _xunit_kind(s.name.value, in_class)
        }
        for kind, (scope, attribute) in XUNIT_KINDS.items():
            setup, teardown = hooks.get(f"setup_{kind}"), hooks.get(f"teardown_{kind}")
            pair = [f for f in (setup, teardown) if f is not None]
            if not any(f"{prefix}.{f.name.value}" in self.async_hooks for f in pair):
                continue
            if any(_unconvertible(f, in_class) for f in pair):
                pair = [f for f in pair if f"{prefix}.{f.name.value}" in self.async_hooks]
                setup = setup if setup in pair else None
                teardown = teardown if teardown in pair else None
            fixture = self._xunit_fixture(pair[0], setup, teardown, scope, attribute, in_class)
            self.count_rewrite()
            body = [
                fixture if s is pair[0] else s for s in body if s is not pair[-1] or s is pair[0]
            ]
        return body

    def _xunit_fixture(
        self,
        first: cst.FunctionDef,
        setup: cst.FunctionDef | None,
        teardown: cst.FunctionDef | None,
        scope: str,
        attribute: str,
        in_class: bool,
    ) -> cst.FunctionDef:
        needs_request = scope == "function" and not in_class
        statements: list[cst.BaseStatement] = []
        bound: set[str] = set()  # the hooks' parameters, taken from ``request``
        if needs_request:
            # as pytest's own: setup_function is no hook of the methods of test classes
            statements.append(
                cst.parse_statement("if request.instance is not None:\n    yield\n    return\n")
            )
        for hook in (setup, teardown):
            if hook is teardown:
                statements.append(cst.SimpleStatementLine(body=[cst.Expr(cst.Yield())]))
            if hook is None:
                continue
            params = list(hook.params.params)[1 if in_class and attribute != "cls" else 0 :]
            name = params[0].name.value if params else None
            if name and name not in bound and (name in names_in(hook.body) or attribute == "cls"):
                needs_request = True
                bound.add(name)
                statements.append(cst.parse_statement(f"{name} = request.{attribute}"))
            assert isinstance(hook.body, cst.IndentedBlock)
            statements.extend(hook.body.body)
        parameters = [cst.Param(cst.Name("self"))] if in_class else []
        if needs_request:
            parameters.append(cst.Param(cst.Name("request")))
        arguments = [] if scope == "function" else [f'scope="{scope}"']
        arguments += ["autouse=True", 'loop_scope="session"']
        AddImportsVisitor.add_needed_import(self.context, "pytest_asyncio")
        decorator = cst.parse_expression(f"pytest_asyncio.fixture({', '.join(arguments)})")
        return first.with_changes(
            decorators=[cst.Decorator(decorator=decorator)],
            params=cst.Parameters(params=parameters),
            body=cst.IndentedBlock(body=statements),
            asynchronous=cst.Asynchronous(),
        )

    def _hooks_scoped_session(self, klass: cst.ClassDef) -> str | None:
        """The project's scoped session (becoming an ``async_scoped_session``) that the
        class's ``setUp`` or ``tearDown`` uses, as written, if any."""
        index = self.state.index
        found: list[str] = []
        transformer = self

        class Uses(cst.CSTVisitor):
            def visit_Name(self, node: cst.Name) -> None:
                for name in qualified_names(transformer, node):
                    if index.kind_of(name) is ObjectKind.SCOPED_SESSION and not (
                        index.stays_synchronous(name)
                    ):
                        found.append(node.value)

        for statement in klass.body.body:
            if isinstance(statement, cst.FunctionDef) and statement.name.value in ASYNC_HOOKS:
                statement.body.visit(Uses())
        return found[0] if found else None

    def _isolated_base(self, original: cst.Arg, base: cst.Arg) -> cst.Arg:
        if not qualified_names(self, original.value) & TESTCASE:
            return base
        if isinstance(base.value, cst.Attribute):
            return base.with_changes(
                value=base.value.with_changes(attr=cst.Name("IsolatedAsyncioTestCase"))
            )
        AddImportsVisitor.add_needed_import(self.context, "unittest", "IsolatedAsyncioTestCase")
        RemoveImportsVisitor.remove_unused_import(self.context, "unittest", "TestCase")
        return base.with_changes(value=cst.Name("IsolatedAsyncioTestCase"))

    def _is_testcase(self, klass: str, bases: frozenset[str]) -> bool:
        module = self.state.index.modules.get(klass.rpartition(".")[0])
        facts = module.models.get(klass) if module else None
        return facts is not None and any(b in bases for b in facts.bases)

    def _async_fixture(self, decorator: cst.Decorator) -> cst.Decorator:
        AddImportsVisitor.add_needed_import(self.context, "pytest_asyncio")
        target = decorator.decorator
        func = cst.Attribute(value=cst.Name("pytest_asyncio"), attr=cst.Name("fixture"))
        args = list(target.args) if isinstance(target, cst.Call) else []
        if args:
            args[-1] = args[-1].with_changes(
                comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
            )
        args.append(keyword("loop_scope", cst.SimpleString('"session"')))
        return decorator.with_changes(decorator=cst.Call(func=func, args=args))

    def _mark(self) -> cst.Decorator:
        AddImportsVisitor.add_needed_import(self.context, "pytest")
        if self.anyio_style:
            mark = cst.parse_expression("pytest.mark.anyio")
            return cst.Decorator(decorator=mark)
        mark = cst.parse_expression('pytest.mark.asyncio(loop_scope="session")')
        return cst.Decorator(decorator=mark)


def _xunit_kind(name: str, in_class: bool) -> str | None:
    """``method`` for ``setup_method`` in a class, ``module`` for ``teardown_module`` at
    module level; None for any other function."""
    for phase in ("setup_", "teardown_"):
        kind = name[len(phase) :] if name.startswith(phase) else None
        if kind in XUNIT_KINDS and (kind in ("method", "class")) == in_class:
            return kind
    return None


def _unconvertible(hook: cst.FunctionDef, in_class: bool) -> str | None:
    """Why the hook's body cannot move into a fixture as it is, if it cannot."""
    found: list[str] = []

    class Finder(cst.CSTVisitor):
        def visit_Return(self, node: cst.Return) -> None:
            found.append("it returns early")

        def visit_Yield(self, node: cst.Yield) -> None:
            found.append("it yields")

        def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
            return False

        def visit_Lambda(self, node: cst.Lambda) -> bool:
            return False

    hook.body.visit(Finder())
    decorators = [cst.Module([]).code_for_node(d.decorator) for d in hook.decorators]
    if any(d not in ("classmethod", "staticmethod") for d in decorators):
        found.append("it is decorated")
    if "staticmethod" in decorators:
        found.append("it is a static method")
    params = hook.params
    if params.star_arg is not cst.MaybeSentinel.DEFAULT or params.kwonly_params:
        found.append("it takes other parameters")
    if len(params.params) > (2 if in_class else 1):
        found.append("it takes other parameters")
    return found[0] if found else None


def _decorator_target(decorator: cst.Decorator) -> cst.BaseExpression:
    target = decorator.decorator
    return target.func if isinstance(target, cst.Call) else target


def _has_async_mark(decorators: list[cst.Decorator]) -> bool:
    for decorator in decorators:
        code = cst.Module([]).code_for_node(_decorator_target(decorator))
        if code.endswith(("mark.asyncio", "mark.anyio")):
            return True
    return False
