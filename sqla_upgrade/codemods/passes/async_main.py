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

A script doing that work at module level (a module no other module of the project
imports, not a package's ``__init__``, a test module nor a web application's module)
has its statements from the first one that will await to the end of the module moved,
in order, into ``async def main()``, run by ``asyncio.run(main())`` where they were::

    Base.metadata.create_all(engine)          async def main():
    session = Session()                  →        global session, user
    user = session.query(User).first()           async with engine.begin() as conn:
    print(user.name)                                  await conn.run_sync(Base.metadata.create_all)
                                                  session = AsyncSession(engine)
                                                  ...

                                              asyncio.run(main())

Every name those statements bind is declared ``global`` in it, so they bind the same
module globals as before, which the functions of the module keep reading. The function
and class definitions among them stay at module level (where the project index knows
them), with the SQLAlchemy objects made without I/O they need (``Base =
declarative_base()``); a definition reading, when defined, what the moved statements
bind leaves the module to the await pass's TODOs, as does moved code with an annotated
module-level name (which cannot be ``global``) or a ``from x import *``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import libcst as cst
from libcst.codemod.visitors import AddImportsVisitor
from libcst.metadata import Assignment, BaseMetadataProvider, GlobalScope, ScopeProvider

from sqla_upgrade.codemods.analysis.async_plan import CallResolver, ScopeTracking, plan_of
from sqla_upgrade.codemods.analysis.io_calls import IoDetector
from sqla_upgrade.codemods.analysis.plans import left_quiet
from sqla_upgrade.codemods.base import ANALYSIS_METADATA
from sqla_upgrade.codemods.codegen import node_code
from sqla_upgrade.codemods.layout import spaced_top_level, without_leading_blank_lines
from sqla_upgrade.codemods.names import last_parts, qualified_names, value_names
from sqla_upgrade.codemods.passes.async_tests import is_test_module

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
    # a ``__main__`` block, or a script's module-level statements (``concerns``)
    triggers = ()
    METADATA_DEPENDENCIES: ClassVar[tuple[type[BaseMetadataProvider[Any]], ...]] = ANALYSIS_METADATA

    @classmethod
    def concerns(cls, code: bytes, path: str, index: Any) -> bool:
        """Not the modules the async analysis left quiet: no statement of theirs awaits;
        of the others, those with a ``__main__`` block or that no project module imports."""
        if left_quiet(index, path):
            return False
        if b"__main__" in code:
            return True
        return path not in index.imported_paths()

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
        if self.tail_start is not None:
            return updated_node  # moved with the module's statements that will await
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
        #: the ids of the statements after ``tail_start`` that stay at module level
        self.tail_hoisted: set[int] = set()
        #: where the module's statements that will await start, in a script whose
        #: statements from there on move into ``async def main()``
        self.tail_start = self._script_tail(node) if self._may_be_script() else None
        if self.tail_start is not None and _makes_a_web_app(node):
            self.tail_start = None  # (a server imports it, inside its own event loop)

    def leave_Module(self, original_node: cst.Module, updated_node: cst.Module) -> cst.Module:
        if self.tail_start is not None:
            return self._run_tail(original_node, updated_node, self.tail_start)
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

    # -- scripts doing their work at module level ---------------------------------------
    def _may_be_script(self) -> bool:
        """A module nothing of the project imports, run for what it does: not a package's
        ``__init__`` nor a test module (pytest imports those)."""
        state = self.state
        path = state.path.replace("\\", "/")
        if path.rpartition("/")[2] == "__init__.py" or is_test_module(path):
            return False
        return state.module_name not in state.index.imported_modules()

    def _script_tail(self, module: cst.Module) -> int | None:
        """The first top-level statement that will await, when more than a ``__main__``
        block will (that block alone is made ``main()`` by ``leave_If``) and the
        statements from there on can move into a function."""
        awaiting = [
            position
            for position, statement in enumerate(module.body)
            if not isinstance(statement, cst.FunctionDef | cst.ClassDef)
            and self._statement_awaits(statement)
        ]
        if not awaiting:
            return None
        guards = [p for p in awaiting if _is_guard(module.body[p])]
        if guards == awaiting:
            return None
        tail = module.body[awaiting[0] :]
        moved = [s for s in tail if not isinstance(s, cst.FunctionDef | cst.ClassDef)]
        if len(moved) == 1 and self._is_async_call(moved[0]):
            return None  # ``main()`` alone: the await pass runs it with asyncio.run()
        if any(_cannot_move(statement) for statement in moved):
            return None
        scope = self.get_metadata(ScopeProvider, tail[0], None)
        if not isinstance(scope, GlobalScope):
            return None
        hoisted = self._hoisted_definitions(scope, tail)
        if hoisted is None:
            return None
        self.tail_hoisted = hoisted
        return awaiting[0]

    def _is_async_call(self, statement: cst.BaseStatement) -> bool:
        """``main(...)``, a call of a project function that became async, alone."""
        if not (isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1):
            return False
        expression = statement.body[0]
        return (
            isinstance(expression, cst.Expr)
            and isinstance(expression.value, cst.Call)
            and self._awaits(expression.value) is True
        )

    def _hoisted_definitions(
        self, scope: GlobalScope, tail: Sequence[cst.BaseStatement]
    ) -> set[int] | None:
        """The ids of the statements of ``tail`` that stay at module level, run before
        the moved ones: its function and class definitions (the project index and the
        async plan know them there), and the assignments of a SQLAlchemy object made by
        a call doing no I/O (``Base = declarative_base()``, ``Session = sessionmaker()``)
        that they need, each bound once. None when a definition reads, when defined,
        something the moved statements bind (moved into ``main()``, the index would not
        see it on the next run, whose migration would then differ)."""
        definitions = [s for s in tail if isinstance(s, cst.FunctionDef | cst.ClassDef)]
        candidates = [*definitions, *(s for s in tail if self._makes_an_object(s, scope))]
        hoisted = {id(s) for s in candidates}
        while True:
            bound = _bound_in(scope, [s for s in tail if id(s) not in hoisted])
            staying = {
                id(s)
                for s in candidates
                if id(s) in hoisted
                and not _bound_in(scope, [s]) & bound
                and not _read_when_run(s) & bound
            }
            if staying == hoisted:
                break
            hoisted = staying
        if any(id(d) not in hoisted for d in definitions):
            return None
        return hoisted

    def _makes_an_object(self, statement: cst.BaseStatement, scope: GlobalScope) -> bool:
        """``name = <a SQLAlchemy factory>(...)``, the module's only binding of ``name``."""
        if not (isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1):
            return False
        assign = statement.body[0]
        if not (
            isinstance(assign, cst.Assign)
            and len(assign.targets) == 1
            and isinstance(assign.targets[0].target, cst.Name)
            and isinstance(assign.value, cst.Call)
        ):
            return False
        if not qualified_names(self, assign.value.func) & OBJECT_FACTORIES:
            return False
        name = assign.targets[0].target.value
        return len([a for a in scope[name] if isinstance(a, Assignment)]) == 1

    def _statement_awaits(self, statement: cst.BaseStatement) -> bool:
        owner = self
        found = False

        class Finder(OwnCodeVisitor):
            def visit_Call(self, call: cst.Call) -> bool:
                nonlocal found
                ending = EVENT_LOOP_RUNNER_ENDINGS
                if qualified_names(owner, call.func, ending=ending) & EVENT_LOOP_RUNNERS:
                    return False  # ``asyncio.run(main())`` runs its own event loop
                if not found and owner._awaits(call) is not None:
                    found = True
                return not found

        statement.visit(Finder())
        return found

    def _run_tail(self, original: cst.Module, updated: cst.Module, start: int) -> cst.Module:
        """The module's statements from ``start`` on, but its function and class
        definitions, moved into ``async def main()`` run by ``asyncio.run(main())``."""
        scope = self.get_metadata(ScopeProvider, original.body[start], None)
        assert isinstance(scope, GlobalScope)
        name = next((n for n in RUNNER_NAMES if n not in scope), None)
        if name is None:
            return updated
        pairs = list(zip(original.body[start:], updated.body[start:], strict=True))
        definitions = [new for old, new in pairs if id(old) in self.tail_hoisted]
        moved_old = [old for old, _ in pairs if id(old) not in self.tail_hoisted]
        moved = [new for old, new in pairs if id(old) not in self.tail_hoisted]
        first = without_leading_blank_lines(moved[0])
        assert isinstance(first, cst.SimpleStatementLine | cst.BaseCompoundStatement)
        body: list[cst.BaseStatement] = [
            _indented(first),
            *(_indented(statement) for statement in moved[1:]),
        ]
        bound = sorted(_bound_in(scope, moved_old))
        if bound:
            names = [cst.NameItem(cst.Name(n)) for n in bound]
            body = [cst.SimpleStatementLine(body=[cst.Global(names=names)]), *body]
        function = cst.FunctionDef(
            name=cst.Name(name),
            params=cst.Parameters(),
            body=cst.IndentedBlock(body=body),
            asynchronous=cst.Asynchronous(),
        )
        run = cst.parse_statement(f"asyncio.run({name}())")
        AddImportsVisitor.add_needed_import(self.context, "asyncio")
        self.count_rewrite()
        kept = [*updated.body[:start], *definitions]
        return updated.with_changes(body=spaced_top_level([*kept, function, run], [function]))


EVENT_LOOP_RUNNERS = frozenset({"asyncio.run", "asyncio.runners.run"})
EVENT_LOOP_RUNNER_ENDINGS = last_parts(EVENT_LOOP_RUNNERS)
#: calls making a SQLAlchemy object without I/O, which a script's definitions may need
OBJECT_FACTORIES = frozenset(
    {
        "sqlalchemy.orm.declarative_base",
        "sqlalchemy.ext.declarative.declarative_base",
        "sqlalchemy.orm.registry",
        "sqlalchemy.MetaData",
        "sqlalchemy.schema.MetaData",
        "sqlalchemy.orm.sessionmaker",
        "sqlalchemy.orm.scoped_session",
        "sqlalchemy.ext.asyncio.async_sessionmaker",
        "sqlalchemy.ext.asyncio.async_scoped_session",
        "sqlalchemy.create_engine",
        "sqlalchemy.ext.asyncio.create_async_engine",
    }
)
#: calls making a web application, whose module a server imports in its own event loop
WEB_APPS = ("FastAPI(", "Flask(", "Starlette(", "Quart(", "Sanic(", "web.Application(")


class OwnCodeVisitor(cst.CSTVisitor):
    """A visit of a statement's own code: not the bodies of the functions, classes and
    lambdas it defines (which run at other times, in other scopes)."""

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        return False

    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        return False

    def visit_Lambda(self, node: cst.Lambda) -> bool:
        return False


def _makes_a_web_app(module: cst.Module) -> bool:
    code = node_code(module)
    return any(app in code for app in WEB_APPS)


def _is_guard(statement: cst.BaseStatement) -> bool:
    return isinstance(statement, cst.If) and is_main_guard(statement)


def _cannot_move(statement: cst.BaseStatement) -> bool:
    """Does ``statement`` (moved into a function, its names declared global) hold an
    annotated module-level name (``x: int = 1``: an annotated name cannot be global) or a
    ``from x import *`` (not allowed in a function)?"""
    found = False

    class Finder(OwnCodeVisitor):
        def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
            nonlocal found
            found = found or isinstance(node.target, cst.Name)

        def visit_ImportStar(self, node: cst.ImportStar) -> None:
            nonlocal found
            found = True

    statement.visit(Finder())
    return found


def _bound_in(scope: GlobalScope, statements: Sequence[cst.BaseStatement]) -> set[str]:
    """The module-level names ``statements`` bind."""
    inside: set[int] = set()
    for statement in statements:
        inside |= _node_ids(statement)
    return {a.name for a in scope.assignments if isinstance(a, Assignment) and id(a.node) in inside}


def _read_when_run(statement: cst.BaseStatement) -> set[str]:
    """The names a hoisted statement reads when it runs."""
    if isinstance(statement, cst.FunctionDef | cst.ClassDef):
        return _read_when_defined(statement)
    return {name.value for name in value_names(statement)}


def _read_when_defined(definition: cst.FunctionDef | cst.ClassDef) -> set[str]:
    """The names a ``def`` or ``class`` statement reads when it runs: decorators,
    defaults, annotations, bases; a class's body but its methods' bodies."""
    found: set[str] = set()

    class Reads(cst.CSTVisitor):
        def visit_Name(self, node: cst.Name) -> None:
            found.add(node.value)

        def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
            for part in (*node.decorators, node.params, node.returns):
                if part is not None:
                    part.visit(self)
            return False

        def visit_Lambda(self, node: cst.Lambda) -> bool:
            node.params.visit(self)
            return False

    if isinstance(definition, cst.FunctionDef):
        Reads().visit_FunctionDef(definition)
    else:
        definition.visit(Reads())
    return found


def _indented(
    statement: cst.SimpleStatementLine | cst.BaseCompoundStatement,
) -> cst.BaseStatement:
    """A module-level statement whose blank lines above it stay blank (no indentation)
    once it is moved into a function's body."""
    lines: list[cst.EmptyLine] = []
    for line in statement.leading_lines:
        if line.comment is not None:
            lines.append(line)
        elif not lines or lines[-1].comment is not None:
            lines.append(line.with_changes(indent=False))  # one blank line, as in a body
    return statement.with_changes(leading_lines=lines)


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
