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
``@asynccontextmanager`` and its ``with`` becomes ``async with``; code iterating an async
generator synchronously gets an async comprehension (``list(agen())`` →
``[item async for item in agen()]``, ``sum(1 async for ...)`` → ``sum([...])``), ``anext``
for ``next`` and ``aiter`` for ``iter``, or a TODO when unknown code receives it. In ``if
__name__ == "__main__":`` a call to a function that became async is run with
``asyncio.run()`` (a block doing more became ``async def main()`` in the async-main pass).
A lambda that now awaits becomes a local ``async def`` before its statement when its
callers can be found (``f = lambda`` in a function, ``self.cb = lambda``, the values of a
dispatch table); calls through variables, dispatch tables and members holding functions
that became async are awaited, and such a function handed to code that cannot be
followed gets a TODO there (``analysis.function_values``);
``list(map(lambda ...))`` becomes a comprehension. A property every read of which is on an
object of a known class becomes an ``async def`` method (``await obj.prop()``). unittest's
``setUpClass`` & co. run their I/O with ``asyncio.run()``. Calls into code that stays
synchronous get the synchronous session, connection or engine through ``run_sync``.
Where a coroutine cannot be awaited (other properties, ``__init__``, lambdas handed to
synchronous code, module level), the code is left as it is with a TODO saying what to do.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

import libcst as cst
from libcst.codemod.visitors import AddImportsVisitor, RemoveImportsVisitor
from libcst.metadata import (
    Assignment,
    BaseMetadataProvider,
    GlobalScope,
    ParentNodeProvider,
    ScopeProvider,
)

from sqla_upgrade.codemods.analysis.async_plan import (
    QUERY_CLASS_REASON,
    TEMPLATE_CALLED,
    CallResolver,
    LambdaSite,
    ScopeTracking,
    decorator_attribute,
    lambda_member,
    lambda_site,
    lambda_table,
    plan_of,
    resolve_property_read,
)
from sqla_upgrade.codemods.analysis.function_values import SLOT, FunctionValues, table_slot
from sqla_upgrade.codemods.analysis.io_calls import TABLE, EngineBridge, IoDetector, SessionBridge
from sqla_upgrade.codemods.analysis.plans import left_quiet
from sqla_upgrade.codemods.analysis.sessions import OBJECT_SESSION
from sqla_upgrade.codemods.base import (
    ANALYSIS_METADATA,
    add_todo_comments,
    in_sync_greenlet,
    per_object,
)
from sqla_upgrade.codemods.index.model import ProjectIndex
from sqla_upgrade.codemods.layout import spaced_top_level
from sqla_upgrade.codemods.names import names_in, qualified_names
from sqla_upgrade.codemods.passes.async_engine import insert_after_imports
from sqla_upgrade.codemods.passes.flask_async_session import REQUEST_END_HOOKS, flask_cli_command

CONTEXTMANAGER = frozenset({"contextlib.contextmanager"})
CLICK_COMMANDS = frozenset({"click.command", "click.decorators.command", "click.group"})
CLICK_GROUPS = frozenset({"click.group", "click.decorators.group"})
FLASK_APP_CONTEXT = frozenset({"flask.cli.with_appcontext"})
COMMAND_RUNNER = "run_with_asyncio"
COMMAND_RUNNER_CODE = f'''def {COMMAND_RUNNER}(command):
    """Let click call the ``async def`` command: run it with asyncio.run() (added by
    sqla-upgrade)."""

    @functools.wraps(command)
    def run(*args, **kwargs):
        return asyncio.run(command(*args, **kwargs))

    return run
'''
STREAMING = {"scalars": "stream_scalars", "execute": "stream"}
#: builtins calling a ``key=`` function once per item, in order (see _keyed_conversion)
KEYED = {"sorted": "sorted", "min": "min", "max": "max"}
#: builtins iterating an argument synchronously: an async iterable handed to them is
#: materialised first (``list(agen())`` → ``[item async for item in agen()]``)
MATERIALISING = frozenset(
    {
        "list",
        "tuple",
        "set",
        "frozenset",
        "sorted",
        "dict",
        "sum",
        "min",
        "max",
        "any",
        "all",
        "enumerate",
        "zip",
        "map",
        "filter",
        "reversed",
    }
)
#: builtins stepping an iterator → their async counterparts (Python >= 3.10)
ASYNC_STEPPERS = {"next": "anext", "iter": "aiter"}
#: callables whose first argument may be an async iterable (Starlette iterates a
#: ``StreamingResponse``'s content with ``async for`` when it is one)
ASYNC_ITERABLE_TAKERS = frozenset(
    {
        "starlette.responses.StreamingResponse",
        "fastapi.responses.StreamingResponse",
    }
)
#: the variable of the comprehensions materialising an async iterable; it cannot clash:
#: the comprehension's first iterable is evaluated in the enclosing scope
ITEM = "item"


#: what the TODO at a hand-over of a function that became async says
#: a ``for`` statement or a comprehension's ``for`` clause
LoopT = TypeVar("LoopT", cst.For, cst.CompFor)
HANDED_OVER = (
    "calling it from there gives a coroutine, not its result: await those calls (from async "
    "code), or hand over a synchronous function"
)
HANDED_OVER_MANAGER = (
    "calling it from there gives an async context manager: enter it with `async with` (from "
    "async code), or hand over a synchronous one"
)
#: decorators that give the function they decorate back
PLAIN_DECORATORS = frozenset({"builtins.staticmethod", "builtins.classmethod"})


@per_object
def _handed_names(plan: Any) -> frozenset[str]:
    """Last names of the functions that become async and of the holders of them."""
    names = {
        q.rpartition(".")[2]
        for q in plan.functions
        if not q.startswith("<") and q not in plan.already_async
    }
    names |= {q.rpartition(".")[2] for q in plan.async_holders}
    return frozenset(names)


def _decorator_params(index: ProjectIndex, module: str) -> frozenset[str]:
    """The first parameter names of the decorators ``module`` defines."""
    prefix = f"{module}."
    return frozenset(
        index.functions[decorator].params[0]
        for decorator in _decorated_by(index)
        if decorator.startswith(prefix) and index.functions[decorator].params
    )


@per_object
def _decorated_by(index: ProjectIndex) -> dict[str, list[str]]:
    """Project decorators → the project functions they decorate."""
    found: dict[str, list[str]] = {}
    for qualname, facts in index.functions.items():
        for decorator in facts.decorators:
            if decorator in index.functions:
                found.setdefault(decorator, []).append(qualname)
    return found


@per_object
def _imported_modules(index: ProjectIndex) -> frozenset[str]:
    """The project modules some module imports (or imports a name from)."""
    found: set[str] = set()
    for facts in index.modules.values():
        for target in facts.imports.values():
            parts = target.split(".")
            found.update(".".join(parts[:end]) for end in range(1, len(parts) + 1))
    return frozenset(found & index.modules.keys())


def is_main_guard(node: cst.If) -> bool:
    test = node.test
    if not isinstance(test, cst.Comparison) or len(test.comparisons) != 1:
        return False
    left, right = test.left, test.comparisons[0].comparator
    names = {cst.Module([]).code_for_node(left), cst.Module([]).code_for_node(right)}
    return "__name__" in names and ("'__main__'" in names or '"__main__"' in names)


def _streams(statement_code: str) -> bool:
    """Does a statement (as written) ask for a server-side cursor?"""
    return "yield_per" in statement_code or "stream_results" in statement_code


def awaited(expression: cst.BaseExpression, parenthesize: bool) -> cst.Await:
    if parenthesize:
        return cst.Await(expression=expression, lpar=[cst.LeftParen()], rpar=[cst.RightParen()])
    return cst.Await(expression=expression)


def _with_child(
    parent: cst.CSTNode, child: cst.CSTNode, replacement: cst.CSTNode
) -> cst.CSTNode | None:
    """``parent`` with its direct child ``child`` replaced (validated as libcst does);
    None where ``child`` is none of its fields."""
    changes: dict[str, Any] = {}
    for name in parent.__dataclass_fields__:
        value = getattr(parent, name)
        if value is child:
            changes[name] = replacement
        elif isinstance(value, list | tuple) and any(item is child for item in value):
            changes[name] = type(value)(replacement if item is child else item for item in value)
    return parent.with_changes(**changes) if changes else None


ASYNC_GENERATOR_EXPRESSION_TODO = (
    "this generator expression awaits now, which makes it an async generator: what "
    "iterates it must use `async for` (or make it a list comprehension, `[... for ...]`, "
    "where it is consumed whole)"
)

#: session calls that would keep what the view did (a rollback loses it either way)
HOOK_TRANSACTION_CALLS = frozenset({"commit"})


class AwaitPass(ScopeTracking):
    """await coroutine calls; async def where needed; asyncio.run() at __main__."""

    name = "await"
    targets = frozenset({"async"})
    stage = 2
    in_alembic_modules = True
    METADATA_DEPENDENCIES: ClassVar[tuple[type[BaseMetadataProvider[Any]], ...]] = ANALYSIS_METADATA

    @classmethod
    def concerns(cls, code: bytes, path: str, index: Any) -> bool:
        """Not the modules the async analysis left quiet: nothing in them does I/O or
        reaches what became async."""
        return not left_quiet(index, path)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.plan = plan_of(self.state)
        self.io = IoDetector(self)
        self.calls = CallResolver(self)
        self.values = FunctionValues(self, self.calls)
        #: the last names of the functions that become async, and of the holders of them
        #: other modules define (see _check_handover)
        self._handed_names = _handed_names(self.plan)
        #: the first parameters of this module's decorators of functions becoming async
        self._decorator_params = _decorator_params(self.state.index, self.state.module_name)
        self.main_guard_depth = 0
        self._aliases: frozenset[str] | None = None  # see _object_session_aliases
        self.lambda_depth = 0
        self.async_generators: set[str] = set()
        self.needs_command_runner = False
        self._engine_blocks: dict[int, EngineBlock] = {}
        #: lambdas being visited: how each becomes a local ``async def`` (None: it stays)
        self.lambdas: list[LocalAsyncDef | None] = []
        #: statement id → the local ``async def`` functions to write before it
        self._local_defs: dict[int, list[LocalAsyncDef]] = {}
        #: module-level functions the pass writes (from lambdas), spaced in leave_Module
        self._top_level_defs: list[cst.BaseStatement] = []
        #: ids of the names bound by lambdas that became ``async def`` (``f = lambda``)
        self._converted_names: set[int] = set()
        #: ``map(lambda ...)`` calls that become comprehensions, and ``list(...)`` around them
        self._map_calls: dict[int, LocalAsyncDef] = {}
        self._unwrap: set[int] = set()
        #: unittest fixtures whose body becomes an async helper run by asyncio.run()
        self._wrapped_bodies: set[str] = set()
        self._async_property_names = {q.rpartition(".")[2] for q in self.plan.async_properties}

    # -- context ------------------------------------------------------------------------------
    def in_async_function(self) -> bool:
        if self.lambdas and self.lambdas[-1] is not None:
            return True  # the body of a lambda that becomes a local ``async def``
        function = self.enclosing_function()
        if function is None:
            return False
        if function.asynchronous is not None:
            return True
        qualname = self.function_qualname()
        return self.plan.is_async(qualname) or qualname in self._wrapped_bodies

    def visit_If(self, node: cst.If) -> None:
        if not self.scopes and is_main_guard(node):
            self.main_guard_depth += 1

    def leave_If(self, original_node: cst.If, updated_node: cst.If) -> cst.BaseStatement:
        if not self.scopes and is_main_guard(original_node):
            self.main_guard_depth -= 1
        return updated_node

    # -- properties made async methods -------------------------------------------------------
    def leave_Attribute(
        self, original_node: cst.Attribute, updated_node: cst.Attribute
    ) -> cst.BaseExpression:
        """``obj.total`` of a property that became ``async def total(self)`` →
        ``await obj.total()``."""
        if original_node.attr.value in self._handed_names:
            self._check_handover(original_node)
        if original_node.attr.value not in self._async_property_names:
            return updated_node
        resolved = resolve_property_read(self, self.calls, original_node, self.enclosing_class())
        if resolved not in self.plan.async_properties:
            return updated_node
        if not self.in_async_function() or self.lambda_depth:
            self.todo(
                original_node,
                f"{original_node.attr.value} is an async method now: await it from async code",
            )
            return updated_node
        self.count_rewrite()
        parent = self.get_metadata(ParentNodeProvider, original_node, None)
        call = cst.Call(func=updated_node)
        return awaited(call, self._needs_parentheses_around(original_node, parent))

    def _needs_parentheses_around(self, node: cst.CSTNode, parent: cst.CSTNode | None) -> bool:
        if isinstance(parent, cst.Attribute | cst.Subscript) and parent.value is node:
            return True
        if isinstance(parent, cst.Call) and parent.func is node:
            return True
        return self._touches_a_keyword(node, parent)

    def _touches_a_keyword(self, node: cst.CSTNode, parent: cst.CSTNode | None) -> bool:
        """Would ``await node`` touch a keyword no space parts it from (``f()or x``,
        ``not(f())``, ``if(f()):``)? Written so, ``await`` needs parentheses of its own."""
        if parent is None:
            return False
        bare = cst.Await(expression=cst.Name("x"))
        try:
            replaced = _with_child(parent, node, bare)
            if isinstance(parent, cst.ComparisonTarget):  # ``a < f()in b``: the next one's
                holder = self.get_metadata(ParentNodeProvider, parent, None)
                if holder is not None and replaced is not None:
                    _with_child(holder, parent, replaced)
        except cst.CSTValidationError:
            return True
        return False

    # -- lambdas ------------------------------------------------------------------------------
    def visit_Lambda(self, node: cst.Lambda) -> None:
        """A lambda whose body now awaits becomes a local ``async def`` when its callers
        can be found and awaited (see LambdaSite); otherwise its calls get a TODO."""
        conversion = self._lambda_conversion(node)
        self.lambdas.append(conversion)
        if conversion is None:
            self.lambda_depth += 1

    def leave_Lambda(
        self, original_node: cst.Lambda, updated_node: cst.Lambda
    ) -> cst.BaseExpression:
        conversion = self.lambdas.pop()
        if conversion is None:
            self.lambda_depth -= 1
            return updated_node
        if conversion.map_into:
            return updated_node  # the map() call around it becomes a comprehension
        body = cst.SimpleStatementLine(body=[cst.Return(value=updated_node.body)])
        conversion.function = cst.FunctionDef(
            name=cst.Name(conversion.name),
            params=updated_node.params,
            body=cst.IndentedBlock(body=[body]),
            asynchronous=cst.Asynchronous(),
        )
        self._local_defs.setdefault(id(conversion.statement), []).append(conversion)
        self.count_rewrite()
        return cst.Name(conversion.name)

    def _lambda_conversion(self, node: cst.Lambda) -> LocalAsyncDef | None:
        site = lambda_site(self, node)
        if site.kind == "run_sync" or not self._lambda_awaits(node):
            return None
        if site.kind == "other" and site.callee == "map":
            return self._map_conversion(node)
        if site.kind == "other" and site.callee in KEYED:
            return self._keyed_conversion(node)
        statement = self._statements[-1] if self._statements else None
        if (
            site.kind not in ("name", "attribute", "key")
            or self.lambda_depth
            or self.lambdas
            or not isinstance(statement, cst.SimpleStatementLine)
            or self._in_comprehension(node, statement)
        ):
            return None
        if site.kind == "name":
            assign = self.get_metadata(ParentNodeProvider, node, None)
            if self.enclosing_function() is None or len(statement.body) != 1:
                return None
            assert isinstance(assign, cst.Assign)
            target = assign.targets[0].target
            if not isinstance(target, cst.Name) or not self._only_called(target):
                return None
            self._converted_names.add(id(target))
            return LocalAsyncDef(site.name, statement, replaces_statement=True)
        slot = self._lambda_slot(node, site)
        if slot is None or not self.plan.is_async(slot) or slot in self.plan.mixed_dynamic:
            return None
        return LocalAsyncDef(self._fresh_name(f"_{site.name}", statement), statement)

    def _lambda_slot(self, node: cst.Lambda, site: LambdaSite) -> str | None:
        """The slot whose calls call a lambda stored as a member or in a table."""
        if site.kind == "attribute":
            member = lambda_member(self.values, node)
            return SLOT + member if member is not None else None
        if site.kind == "key":
            table = lambda_table(self, node)
            return table_slot(table, site.name) if table is not None else None
        return None

    def _map_conversion(self, node: cst.Lambda) -> LocalAsyncDef | None:
        """``list(map(lambda x: f(x), xs))`` → ``[await f(x) for x in xs]`` (``set``: a set
        comprehension, ``tuple``: ``tuple([...])``); ``for y in map(lambda x: f(x), xs)`` →
        ``async for y in (await f(x) for x in xs)``, as lazy as ``map``. Only for one
        iterable and a lambda of one plain parameter, in async code."""
        params = node.params
        if (
            len(params.params) != 1
            or params.params[0].default is not None
            or params.posonly_params
            or params.kwonly_params
            or not isinstance(params.star_arg, cst.MaybeSentinel)
            or params.star_kwarg is not None
            or not self.in_async_function()
            or self.lambda_depth
            or self.lambdas
        ):
            return None
        arg = self.get_metadata(ParentNodeProvider, node, None)
        call = self.get_metadata(ParentNodeProvider, arg, None) if arg is not None else None
        if not isinstance(call, cst.Call) or "builtins.map" not in qualified_names(self, call.func):
            return None
        if len(call.args) != 2 or any(a.keyword or a.star for a in call.args):
            return None
        if call.args[0].value is not node:
            return None
        consumer = self._map_consumer(call)
        if consumer is None:
            return None
        conversion = LocalAsyncDef("", call, map_into=consumer)
        self._map_calls[id(call)] = conversion
        return conversion

    def _keyed_conversion(self, node: cst.Lambda) -> LocalAsyncDef | None:
        """``sorted(xs, key=lambda x: f(x))`` → ``[pair[1] for pair in sorted([(await f(x),
        x) for x in xs], key=lambda pair: pair[0])]``; ``min``/``max`` → ``min([...],
        key=lambda pair: pair[0])[1]``. The key is computed once per item, in order, and
        only keys are compared, as ``sorted`` does (stable, ``reverse=`` kept)."""
        if not _one_plain_parameter(node) or not self.in_async_function():
            return None
        if self.lambda_depth or self.lambdas:
            return None
        arg = self.get_metadata(ParentNodeProvider, node, None)
        call = self.get_metadata(ParentNodeProvider, arg, None) if arg is not None else None
        if not isinstance(call, cst.Call) or not isinstance(arg, cst.Arg):
            return None
        name = KEYED.get(_code(call.func))
        if name is None or f"builtins.{name}" not in qualified_names(self, call.func):
            return None
        positional = [a for a in call.args if a.keyword is None]
        keywords = {a.keyword.value for a in call.args if a.keyword is not None}
        allowed = {"key", "reverse"} if name == "sorted" else {"key"}
        if len(positional) != 1 or positional[0].star or not keywords <= allowed:
            return None
        if arg.keyword is None or arg.keyword.value != "key":
            return None
        conversion = LocalAsyncDef("", call, map_into=name)
        self._map_calls[id(call)] = conversion
        return conversion

    def _keyed(self, conversion: LocalAsyncDef, updated: cst.Call) -> cst.BaseExpression:
        key_arg = next(a for a in updated.args if a.keyword and a.keyword.value == "key")
        lambda_ = key_arg.value
        assert isinstance(lambda_, cst.Lambda)
        param = lambda_.params.params[0].name
        iterable = next(a for a in updated.args if a.keyword is None).value
        pairs = cst.ListComp(
            elt=cst.Tuple(elements=[cst.Element(lambda_.body), cst.Element(param)]),
            for_in=cst.CompFor(target=param, iter=iterable),
        )
        args = [
            cst.Arg(pairs) if a.keyword is None else a
            for a in updated.args
            if not (a.keyword and a.keyword.value == "key")
        ]
        comma = cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
        args = [a.with_changes(comma=comma) for a in args[:1]] + [
            a.with_changes(comma=comma) for a in args[1:]
        ]
        args.append(
            cst.Arg(
                cst.parse_expression("lambda pair: pair[0]"),
                keyword=cst.Name("key"),
                equal=cst.AssignEqual(cst.SimpleWhitespace(""), cst.SimpleWhitespace("")),
            )
        )
        inner = updated.with_changes(args=args)
        if conversion.map_into == "sorted":
            return cst.ListComp(
                elt=cst.parse_expression("pair[1]"),
                for_in=cst.CompFor(target=cst.Name("pair"), iter=inner),
            )
        return cst.Subscript(value=inner, slice=[cst.SubscriptElement(cst.Index(cst.Integer("1")))])

    def _map_consumer(self, call: cst.Call) -> str | None:
        """``"list"``, ``"set"``, ``"tuple"`` or ``"for"``: what consumes the map whole."""
        parent = self.get_metadata(ParentNodeProvider, call, None)
        if isinstance(parent, cst.For) and parent.iter is call:
            return "for"
        if isinstance(parent, cst.Arg) and not parent.keyword and not parent.star:
            outer = self.get_metadata(ParentNodeProvider, parent, None)
            if isinstance(outer, cst.Call) and len(outer.args) == 1:
                for kind in ("list", "set", "tuple"):
                    if f"builtins.{kind}" in qualified_names(self, outer.func):
                        return kind
        return None

    def _mapped(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression | None:
        """The comprehension replacing a ``map(lambda ...)`` converted in _map_conversion."""
        conversion = self._map_calls.pop(id(original), None)
        if conversion is None:
            return None
        if conversion.map_into in KEYED.values():
            self.count_rewrite()
            return self._keyed(conversion, updated)
        lambda_ = updated.args[0].value
        assert isinstance(lambda_, cst.Lambda)
        target = lambda_.params.params[0].name
        for_in = cst.CompFor(target=target, iter=updated.args[1].value)
        self.count_rewrite()
        if conversion.map_into == "for":
            return cst.GeneratorExp(elt=lambda_.body, for_in=for_in)
        if conversion.map_into == "set":
            produced: cst.BaseExpression = cst.SetComp(elt=lambda_.body, for_in=for_in)
        else:
            produced = cst.ListComp(elt=lambda_.body, for_in=for_in)
        if conversion.map_into in ("list", "set"):
            self._unwrap.add(id(produced))
        return produced

    def _lambda_awaits(self, node: cst.Lambda) -> bool:
        """Does the lambda's body call something this pass awaits?"""
        found = False
        klass = self.enclosing_class()
        detector = self

        class Finder(cst.CSTVisitor):
            def visit_Lambda(self, inner: cst.Lambda) -> bool:
                return inner is node

            def visit_Call(self, call: cst.Call) -> None:
                nonlocal found
                if found:
                    return
                callee = detector.calls.callee(call, klass)
                if callee is None:
                    callee = detector.values.dispatch(call, klass, detector.plan).callee
                found = detector.plan.is_async(callee) or detector.io.io_call(call)

        node.body.visit(Finder())
        return found

    def _only_called(self, target: cst.Name) -> bool:
        """Is every use of the name ``target`` binds a call of it (``f(...)``)?"""
        scope = self.get_metadata(ScopeProvider, target, None)
        if scope is None:
            return False
        assignments = list(scope.assignments[target.value])
        if len(assignments) != 1:
            return False
        accesses = list(assignments[0].references)
        for access in accesses:
            parent = self.get_metadata(ParentNodeProvider, access.node, None)
            if not (isinstance(parent, cst.Call) and parent.func is access.node):
                return False
        return bool(accesses)

    def _in_comprehension(self, node: cst.CSTNode, statement: cst.CSTNode) -> bool:
        holder = self.get_metadata(ParentNodeProvider, node, None)
        while holder is not None and holder is not statement:
            if isinstance(holder, cst.ListComp | cst.SetComp | cst.DictComp | cst.GeneratorExp):
                return True
            holder = self.get_metadata(ParentNodeProvider, holder, None)
        return False

    def _calls_local_async(self, call: cst.Call) -> bool:
        """``f(...)`` of a lambda this pass made a local ``async def f``."""
        func = call.func
        if not isinstance(func, cst.Name):
            return False
        scope = self.get_metadata(ScopeProvider, func, None)
        if scope is None:
            return False
        return any(id(getattr(a, "node", None)) in self._converted_names for a in scope[func.value])

    def leave_Module(self, original_node: cst.Module, updated_node: cst.Module) -> cst.Module:
        if self._top_level_defs:
            body = spaced_top_level(list(updated_node.body), self._top_level_defs)
            updated_node = updated_node.with_changes(body=body)
        if not self.needs_command_runner or any(
            isinstance(s, cst.FunctionDef) and s.name.value == COMMAND_RUNNER
            for s in updated_node.body
        ):
            return updated_node
        AddImportsVisitor.add_needed_import(self.context, "asyncio")
        AddImportsVisitor.add_needed_import(self.context, "functools")
        helper = cst.parse_statement(COMMAND_RUNNER_CODE, config=updated_node.config_for_parsing)
        return insert_after_imports(updated_node, helper)

    # -- functions ------------------------------------------------------------------------------
    def leave_FunctionDef(
        self, original_node: cst.FunctionDef, updated_node: cst.FunctionDef
    ) -> cst.BaseStatement | cst.FlattenSentinel[cst.BaseStatement] | cst.RemovalSentinel:
        qualname = self.current_qualname()
        result = super().leave_FunctionDef(original_node, updated_node)
        mixed = self.plan.mixed_decorators.get(qualname)
        if mixed is not None:
            self.todo(original_node, f"decorator {original_node.name.value}: {mixed}")
        if qualname in self.plan.loop_boundaries and original_node.asynchronous is None:
            return self._run_body_with_asyncio(original_node, updated_node)
        if not self.plan.is_async(qualname) or original_node.asynchronous is not None:
            return result
        self.count_rewrite()
        decorators = [
            self._async_decorator(before, after)
            for before, after in zip(original_node.decorators, updated_node.decorators, strict=True)
            if not (
                qualname in self.plan.async_properties
                and qualified_names(self, before.decorator) == {"builtins.property"}
            )
        ]
        if self._is_click_command(original_node):
            self.needs_command_runner = True
            decorators.append(cst.Decorator(decorator=cst.Name(COMMAND_RUNNER)))
        else:
            self._check_entry_point(original_node, qualname)
        returns = updated_node.returns
        if returns is not None and _yields(original_node):
            returns = returns.with_changes(annotation=self._async_iteration(returns.annotation))
        return updated_node.with_changes(
            asynchronous=cst.Asynchronous(), decorators=decorators, returns=returns
        )

    def _check_entry_point(self, node: cst.FunctionDef, qualname: str) -> None:
        """A function that becomes async and is declared as an entry point in the
        project's packaging files (``entry_points``): its launcher (a console script,
        PasteDeploy, a plugin host) calls it synchronously and would get a coroutine
        nobody awaits. A click command is run by its runner; a Flask CLI command is left
        to the flask-async-session pass, which runs it in its own way."""
        declared = self.plan.entry_points.get(qualname)
        if not declared or (
            self.state.index.flask_sqlalchemy_in(self.state.module_name)
            and flask_cli_command(self, node)
        ):
            return
        name = node.name.value
        where = "; ".join(entry.describe() for entry in declared)
        self.todo(
            node,
            f"{name} is async now but is declared as an entry point ({where}), which its "
            "launcher calls synchronously: the entry point must run it with asyncio.run(), "
            f"through a synchronous function calling asyncio.run({name}(...))",
        )

    def _async_iteration(self, annotation: cst.BaseExpression) -> cst.BaseExpression:
        """The annotation of a generator that became an async generator:
        ``Generator[Session, None, None]`` → ``AsyncGenerator[Session, None]``,
        ``Iterator[X]`` → ``AsyncIterator[X]``, ``Iterable`` → ``AsyncIterable`` (from
        ``typing`` or ``collections.abc``, as the original was)."""
        subscript = annotation if isinstance(annotation, cst.Subscript) else None
        base = subscript.value if subscript is not None else annotation
        if not isinstance(base, cst.Name | cst.Attribute):
            return annotation
        names = qualified_names(self, base)
        if len(names) != 1:
            return annotation
        module, _, kind = next(iter(names)).rpartition(".")
        if module not in ("typing", "collections.abc") or kind not in GENERATOR_TYPES:
            return annotation
        if subscript is not None and kind == "Generator":
            if len(subscript.slice) != 3 or not _is_none(subscript.slice[2].slice):
                return annotation  # a generator returning a value: no async form
            kept = list(subscript.slice[:2])
            kept[-1] = kept[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
            subscript = subscript.with_changes(slice=kept)
        new = f"Async{kind}"
        if isinstance(base, cst.Attribute):
            replaced: cst.BaseExpression = base.with_changes(attr=cst.Name(new))
        else:
            AddImportsVisitor.add_needed_import(self.context, module, new)
            RemoveImportsVisitor.remove_unused_import(self.context, module, kind)
            replaced = cst.Name(new)
        self.count_rewrite()
        return subscript.with_changes(value=replaced) if subscript is not None else replaced

    def _run_body_with_asyncio(
        self, original: cst.FunctionDef, updated: cst.FunctionDef
    ) -> cst.FunctionDef:
        """``setUpClass`` (and ``tearDownClass``, ``setUpModule``, ``tearDownModule``), which
        unittest calls synchronously with no event loop running (also for
        ``IsolatedAsyncioTestCase``, whose loop exists only around each test): its body
        becomes a local ``async def`` run by ``asyncio.run()``; ``super().setUpClass()``
        calls before and after stay outside (zero-argument ``super()`` needs the method)."""
        split = _split_fixture_body(original)
        if split is None:
            if not _wrapped_already(original):
                self.todo(
                    original,
                    f"{original.name.value} does I/O, which is async now: run it with "
                    "asyncio.run() of an async helper (unittest calls it with no event loop "
                    "running)",
                )
            return updated
        assert isinstance(updated.body, cst.IndentedBlock)
        body = list(updated.body.body)
        leading, trailing = split
        middle = body[leading:trailing]
        AddImportsVisitor.add_needed_import(self.context, "asyncio")
        helper_name = self._fresh_name(_snake(original.name.value), original)
        helper = cst.FunctionDef(
            name=cst.Name(helper_name),
            params=cst.Parameters(),
            body=cst.IndentedBlock(body=middle),
            asynchronous=cst.Asynchronous(),
        )
        run = cst.parse_statement(f"asyncio.run({helper_name}())")
        self.count_rewrite()
        self.note(
            original,
            f"{original.name.value} runs its I/O with asyncio.run() on its own event loop: "
            "pooled async connections cannot be reused by the tests' loops (use NullPool "
            "or dispose the engine at its end)",
        )
        new_body = [*body[:leading], helper, run, *body[trailing:]]
        return updated.with_changes(body=updated.body.with_changes(body=new_body))

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool | None:
        result = super().visit_FunctionDef(node)
        qualname = self.current_qualname()
        if qualname in self.plan.loop_boundaries and _split_fixture_body(node) is not None:
            self._wrapped_bodies.add(qualname)  # its body will run in an async helper
        return result

    def _is_click_command(self, node: cst.FunctionDef) -> bool:
        """A click command (``@click.command()``, ``@group.command()``): click calls it
        synchronously. A Flask CLI command next to a Flask-SQLAlchemy object is left to
        the flask-async-session pass (``@async_command`` runs it like a view)."""
        if self.state.index.flask_sqlalchemy_in(self.state.module_name) and flask_cli_command(
            self, node
        ):
            return False
        for decorator in node.decorators:
            target = decorator.decorator
            if isinstance(target, cst.Call):
                target = target.func
            names = qualified_names(self, target)
            if names & CLICK_COMMANDS:
                return True
            if names & FLASK_APP_CONTEXT:
                return True
            if isinstance(target, cst.Attribute) and target.attr.value in ("command", "group"):
                owner = target.value
                if isinstance(owner, cst.Attribute) and owner.attr.value == "cli":
                    return True
                if self._is_click_group(owner):
                    return True
        return False

    def _is_click_group(self, owner: cst.BaseExpression) -> bool:
        """``cli`` in ``@cli.command()``, a function decorated ``@click.group()``."""
        for name in qualified_names(self, owner):
            facts = self.state.index.functions.get(self.state.index.resolve_alias(name))
            if facts is not None and any(d in CLICK_GROUPS for d in facts.decorators):
                return True
        return False

    def _async_decorator(self, original: cst.Decorator, decorator: cst.Decorator) -> cst.Decorator:
        if qualified_names(self, original.decorator) & CONTEXTMANAGER:
            AddImportsVisitor.add_needed_import(self.context, "contextlib", "asynccontextmanager")
            RemoveImportsVisitor.remove_unused_import(self.context, "contextlib", "contextmanager")
            return decorator.with_changes(decorator=cst.Name("asynccontextmanager"))
        return decorator

    # -- calls ------------------------------------------------------------------------------------
    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.BaseExpression:
        mapped = self._mapped(original_node, updated_node)
        if mapped is not None:
            return mapped
        if self._object_session_in_async_code(original_node):
            return self._async_object_session(original_node, updated_node)
        if self._expires_in_async_code(original_node):
            self.todo(
                original_node,
                "an expired attribute is loaded on its next read, which an AsyncSession "
                "cannot do: `await session.refresh(obj)` the objects read afterwards",
            )
            return updated_node
        if len(updated_node.args) == 1 and id(updated_node.args[0].value) in self._unwrap:
            self._unwrap.discard(id(updated_node.args[0].value))  # only the list() around it
            return updated_node.args[0].value  # ``list([...])`` of a converted map()
        parent = self.get_metadata(ParentNodeProvider, original_node, None)
        stepped = self._async_step(original_node, updated_node, parent)
        if stepped is not None:
            return stepped
        if isinstance(parent, cst.Await) or self._runs_in_asyncio(parent):
            return updated_node
        if isinstance(parent, cst.WithItem) and self.io.io_context(original_node):
            return updated_node  # ``async with engine.connect()`` enters it, no await
        if self.io.schema_call(original_node):
            if self._in_run_sync(original_node):
                return updated_node  # ``session.run_sync(lambda s: m.create_all(s.bind))``
            if self.in_async_function():  # elsewhere schema-run-sync already said why
                self.todo(
                    original_node,
                    "schema operations need `await conn.run_sync(...)` on an async connection",
                )
            return updated_node
        sync_session = self.io.sync_session_method(original_node)
        if sync_session is not None and not self._in_run_sync(original_node):
            assert isinstance(original_node.func, cst.Attribute)
            what = f"Session.{original_node.func.attr.value}()"
            return self._run_sync(original_node, updated_node, sync_session, sync_session, what)
        factory = self.io.legacy_factory_method(original_node, self.enclosing_class())
        if factory is not None and not self._inside_chain(original_node):
            self.todo(
                original_node,
                f"{factory} returns a legacy Query on its object's session, an AsyncSession "
                f"now, which has no query(): make {factory} return a select() and run it "
                "here with `await session.scalars(...)` / `await session.execute(...)`",
            )
            return updated_node
        legacy = self.io.legacy_query_receiver(original_node)
        if legacy is not None and not self._inside_chain(original_node):
            receiver, replaced = legacy
            if self._bridged(receiver) or (replaced is None and self._in_run_sync(original_node)):
                return updated_node
            return self._run_sync(original_node, updated_node, receiver, replaced)
        if self._bridge_to_thread(original_node):
            return self._to_thread(original_node, updated_node)
        if isinstance(original_node.func, cst.Attribute) and self._bridged(
            original_node.func.value
        ):
            return updated_node  # ``sync_session.connection()`` in ``run_sync(lambda ...)``
        if not self._in_run_sync(original_node):
            engine_bridge = self.io.engine_bridge(original_node)
            if engine_bridge is not None:
                return self._bridge_engine(original_node, updated_node, engine_bridge)
            session_bridge = self.io.sync_only_call(original_node)
            if session_bridge is not None:
                return self._bridge_session(original_node, updated_node, session_bridge)
        callee = self.calls.callee(original_node, self.enclosing_class())
        group = self.calls.override_group(original_node, self.enclosing_class(), callee)
        if group is not None and group[0] in self.plan.mixed_dynamic:
            assert isinstance(original_node.func, cst.Attribute)
            self.todo(original_node, _mixed_overrides_reason(original_node.func.attr.value))
            return updated_node
        if group is not None and not self.plan.is_async(callee) and self.plan.is_async(group[0]):
            callee = group[0]
        if callee in self.plan.greenlet:
            bridged = self._greenlet_call(original_node, updated_node, callee)
            if bridged is not None:
                return bridged
        if callee is None and self._calls_local_async(original_node):
            callee = "<local async def>"
        self._check_template_kept_call(original_node, callee)
        if callee is None and not self.io.io_call(original_node):
            # a call through a value: a variable, a table, a member, argparse's defaults
            dispatch = self.values.dispatch(original_node, self.enclosing_class(), self.plan)
            if dispatch.mixed is not None:
                self.todo(original_node, dispatch.mixed)
                return updated_node
            callee = dispatch.callee
        if callee is None and self._calls_wrapped_function(original_node):
            return self._await_wrapped(original_node, updated_node)
        to_project_async = self.plan.is_async(callee) or callee == "<local async def>"
        is_io = not to_project_async and self.io.io_call(original_node)
        if not (to_project_async or is_io):
            return updated_node
        if is_io and not self.in_async_function() and self.io.is_client_call(original_node):
            return updated_node  # the app stays synchronous: so do its tests' clients
        if is_io and not self.in_async_function() and self._in_run_sync(original_node):
            return updated_node  # an event listener's synchronous connection or session
        if to_project_async and self._is_generator_or_manager(callee, original_node):
            if self._iterates_async_generator(original_node):
                return self._consumed_generator(original_node, updated_node, parent)
            return updated_node
        if self.lambda_depth:
            self.todo(original_node, self._lambda_reason(original_node))
            return updated_node
        if self.in_async_function():
            self.count_rewrite()
            if is_io:
                self._check_hook_transaction(original_node)
                self._check_buffered_stream(original_node, parent)
            return awaited(updated_node, self._needs_parentheses(original_node, parent))
        if (
            self.enclosing_function() is None
            and to_project_async
            and (self.main_guard_depth or self._script_statement(original_node, parent))
        ):
            AddImportsVisitor.add_needed_import(self.context, "asyncio")
            self.count_rewrite()
            run = cst.Attribute(value=cst.Name("asyncio"), attr=cst.Name("run"))
            return cst.Call(func=run, args=[cst.Arg(updated_node)])
        if is_io and self._keeps_flask_session(original_node):
            return updated_node
        if is_io and self._in_query_class():
            return updated_node  # ``self.session`` of a Query: synchronous, as the query
        self.todo(original_node, self._sync_context_reason(callee if to_project_async else None))
        return updated_node

    def _check_template_kept_call(self, call: cst.Call, callee: str | None) -> None:
        """A method kept synchronous because a template calls it, called from async code:
        the queries it runs through its object's session (a ``lazy="dynamic"``
        relationship, a lazy load) need the greenlet the template gets from
        ``render_with_session``, which this call does not have."""
        reason = self.plan.blocked.get(callee or "", "")
        if not reason.startswith(TEMPLATE_CALLED) or not self.in_async_function():
            return
        if self._in_run_sync(call):
            return
        name = (callee or "").rpartition(".")[2]
        self.todo(
            call,
            f"{name}() stays synchronous: {reason.split(',')[0]}; called here, outside "
            'run_sync, the queries it runs through its object\'s session (a lazy="dynamic" '
            "relationship, a lazy load) fail with MissingGreenlet; run it as "
            "`await session.run_sync(lambda _: ...)`",
        )

    def _check_hook_transaction(self, call: cst.Call) -> None:
        """``db.session.commit()`` in an ``@app.after_request`` (or teardown) hook: each
        async view and hook runs with its own session, removed when it returns, so the
        hook's commit no longer commits what the view did (which is rolled back)."""
        func = call.func
        if not (isinstance(func, cst.Attribute) and func.attr.value in HOOK_TRANSACTION_CALLS):
            return
        function = self.enclosing_function()
        hooks = (
            {decorator_attribute(d.decorator) for d in function.decorators} if function else set()
        )
        hook = next((h for h in hooks if h in REQUEST_END_HOOKS), None)
        if hook is None or not self.io.is_session(func.value):
            return
        self.todo(
            call,
            f"each async view and request hook now runs with a session of its own: this "
            f"commit() in an @{hook} hook no longer commits what the view did (the view's "
            "session is removed when the view returns, its changes rolled back); commit in "
            "the view",
        )

    def _keeps_flask_session(self, call: cst.Call) -> bool:
        """I/O on Flask-SQLAlchemy's ``db.session`` in a function its framework calls
        synchronously (flask-async-session leaves ``db.session`` there): it still runs.
        A template hook's values are for display (a note); what another hook loads
        belongs to ``db.session``, not to the async views' ``async_session`` (a TODO)."""
        function = self.function_qualname()
        blocked = self.plan.blocked.get(function) if function else None
        if not blocked or not self.io.on_flask_session(call):
            return False
        reason = blocked.split(",")[0]
        if "while rendering a template" in reason or not self.plan.functions:
            self.note(call, f"{reason}: it keeps the synchronous db.session")
            return True
        self.todo(
            call,
            f"{reason}: it keeps the synchronous db.session, so objects it loads belong to "
            "that session, not to the views' async_session: relate them to new objects by "
            "id, or use `await async_session.merge(obj)` in the async code",
        )
        return True

    # -- functions made async handed over as values --------------------------------------------
    def _check_handover(self, node: cst.Name | cst.Attribute) -> None:
        """A function that becomes async (or a holder of such functions another module
        defines) handed where its calls cannot be followed (``map(f, xs)``,
        ``Thread(target=f)``, ``obj.cb = f``, ``return f``, ``JOBS = [f]``...): a TODO
        there, as its callers there get a coroutine (``analysis.function_values``)."""
        parent = self.get_metadata(ParentNodeProvider, node, None)
        if isinstance(parent, cst.Call) and parent.func is node:
            return  # a call (of a holder too: ``f()``)
        if isinstance(parent, cst.Attribute) and parent.attr is node:
            return  # (leave_Attribute looks at ``mod.f``)
        function = self.values.function_of(node)
        if function is not None:
            if not self._becomes_async(function):
                return
            where = self.values.handover(node)
            if where == "returned here" and function in self._fixture_factories():
                return  # a factory fixture's function: the tests calling it are followed
            if where is not None:
                name = function.rpartition(".")[2]
                how = HANDED_OVER_MANAGER if self._is_context_manager(function) else HANDED_OVER
                self.todo(node, f"{name} is async now and is {where}: {how}")
            return
        holder = self._imported_holder(node)
        if holder is None:
            return
        where = self.values.handover(node, table=holder in self.plan.async_tables)
        if where is not None:
            held = ", ".join(f.rpartition(".")[2] for f in self.plan.async_holders[holder])
            self.todo(
                node,
                f"{_code(node)} holds {held}, async now, and is {where}: {HANDED_OVER}",
            )

    def _check_decorator_handover(self, node: cst.Name) -> None:
        """``registry[func.__name__] = func`` in a decorator of the project applied to a
        function that becomes async: whoever calls it from that registry gets a
        coroutine (as for the function's own name handed over there)."""
        function = self.enclosing_function()
        if function is None or self.lambda_depth or not function.params.params:
            return
        first = function.params.params[0]
        if first.name.value != node.value:
            return
        scope = self.get_metadata(ScopeProvider, node, None)
        if scope is None or [getattr(a, "node", None) for a in scope[node.value]] != [first]:
            return
        decorated = [
            f
            for f in _decorated_by(self.state.index).get(self.current_qualname(), [])
            if self._becomes_async(f)
        ]
        if not decorated:
            return
        where = self.values.handover(node)
        if where is None or where == "returned here":
            return  # called (awaited by its wrapper), or given back to be bound to its name
        names = ", ".join(sorted(f.rpartition(".")[2] for f in decorated))
        verb = "is" if len(decorated) == 1 else "are"
        self.todo(
            node, f"{names}, decorated here, {verb} async now and {verb} {where}: {HANDED_OVER}"
        )

    def _fixture_factories(self) -> set[str]:
        return set(self.state.index.fixture_factories().values())

    def _becomes_async(self, function: str) -> bool:
        if not self.plan.is_async(function) or function in self.plan.already_async:
            return False
        if function in self.plan.awaited_wrapped:
            return False  # a decorator's wrapper, returned by it (see _plan_decorators)
        facts = self.state.index.functions.get(function)
        if facts is None:
            return True
        # a decorated function's name is bound to what its decorator returns (a click
        # command, a task object...); the decorators of the project's are followed
        return all(
            d in self.state.index.functions or d in PLAIN_DECORATORS or d in CONTEXTMANAGER
            for d in facts.decorators
        )

    def _is_context_manager(self, function: str) -> bool:
        """Is ``function`` a ``@contextmanager`` (an ``@asynccontextmanager`` now)?"""
        facts = self.state.index.functions.get(function)
        return facts is not None and any(d in CONTEXTMANAGER for d in facts.decorators)

    def _imported_holder(self, node: cst.Name | cst.Attribute) -> str | None:
        found = self.values.project_global(node)
        return found if found in self.plan.async_holders else None

    # -- consumers of async generators ---------------------------------------------------------
    def leave_Name(self, original_node: cst.Name, updated_node: cst.Name) -> cst.BaseExpression:
        """``list(rows)`` where every binding of ``rows`` is ``rows = agen(...)``: as for
        the call itself (see _consumed_generator)."""
        if original_node.value in self._handed_names:
            self._check_handover(original_node)
        elif original_node.value in self._decorator_params:
            self._check_decorator_handover(original_node)
        parent = self.get_metadata(ParentNodeProvider, original_node, None)
        if not isinstance(parent, cst.Arg | cst.StarredElement | cst.Assign):
            return updated_node
        if isinstance(parent, cst.Assign) and parent.value is not original_node:
            return updated_node
        if not self._names_async_generator(original_node):
            if self._names_async_generator(original_node, every=False) and (
                self._materialising_consumer(original_node, parent) is not None
            ):
                self.todo(
                    original_node,
                    f"{original_node.value} may be an async generator here: iterate it with "
                    "`async for` when it is one",
                )
            return updated_node
        consumed = self._consumed_generator(original_node, updated_node, parent)
        assert isinstance(consumed, cst.BaseExpression)
        return consumed

    def _names_async_generator(self, node: cst.Name, every: bool = True) -> bool:
        """Is every binding (``every=False``: any) of the local ``node`` a call of a
        generator that became an async generator (``rows = agen(...)``)?"""
        if self.enclosing_function() is None:
            return False
        scope = self.get_metadata(ScopeProvider, node, None)
        if scope is None or isinstance(scope, GlobalScope):
            return False
        assignments = [a for a in scope[node.value] if isinstance(a, Assignment)]
        if not assignments or len(assignments) != len(scope[node.value]):
            return False
        verdicts = [self._binds_async_generator(a) for a in assignments]
        return all(verdicts) if every else any(verdicts)

    def _binds_async_generator(self, assignment: Assignment) -> bool:
        target = self.get_metadata(ParentNodeProvider, assignment.node, None)
        statement = (
            self.get_metadata(ParentNodeProvider, target, None)
            if isinstance(target, cst.AssignTarget)
            else None
        )
        if not isinstance(statement, cst.Assign) or not isinstance(statement.value, cst.Call):
            return False
        return self._iterates_async_generator(statement.value)

    def _consumed_generator(
        self,
        original: cst.Call | cst.Name,
        updated: cst.BaseExpression,
        parent: cst.CSTNode | None,
    ) -> cst.BaseExpression:
        """A call of a project generator that became an async generator, where something
        iterates it synchronously: materialise it with an async comprehension (``list(...)``,
        ``sorted(...)``, ``*agen()``, ``a, b = agen()``), or a TODO when unknown code gets it.
        ``for``/comprehensions (``async for``), ``next``/``iter`` (``anext``/``aiter``)
        and plain bindings (``g = agen()``, ``return agen()``) keep it lazy."""
        consumer = self._materialising_consumer(original, parent)
        if consumer is None:
            return updated
        if not self.in_async_function() or self.lambda_depth:
            self.todo(original, f"{consumer} iterates an async generator now; use it in async code")
            return updated
        if consumer == "unknown":
            callee = self._consumer_name(parent)
            self.todo(
                original,
                f"{callee}() gets an async generator now: iterate it there with `async for`, "
                f"or pass [{ITEM} async for {ITEM} in ...]",
            )
            return updated
        self.count_rewrite()
        item = cst.Name(ITEM)
        for_in = cst.CompFor(target=item, iter=updated, asynchronous=cst.Asynchronous())
        if consumer == "set":
            produced: cst.BaseExpression = cst.SetComp(elt=item, for_in=for_in)
        else:
            produced = cst.ListComp(elt=item, for_in=for_in)
        if consumer in ("list", "set") and self._only_argument(parent):
            self._unwrap.add(id(produced))
        return produced

    def _materialising_consumer(
        self, call: cst.Call | cst.Name, parent: cst.CSTNode | None
    ) -> str | None:
        """What iterates ``call`` synchronously and needs it materialised: a builtin's
        name, ``"unpacking"``, ``"unknown"`` (other code), or None (nothing, or handled
        elsewhere)."""
        if isinstance(parent, cst.StarredElement):
            return "unpacking"
        if isinstance(parent, cst.Assign):
            unpacked = any(isinstance(t.target, cst.Tuple | cst.List) for t in parent.targets)
            return "unpacking" if unpacked else None
        if isinstance(parent, cst.For | cst.CompFor) and parent.iter is call:
            return None
        if not isinstance(parent, cst.Arg):
            return None
        outer = self.get_metadata(ParentNodeProvider, parent, None)
        if not isinstance(outer, cst.Call) or parent.keyword is not None:
            return None
        if parent.star == "*":
            return "unpacking"
        if parent.star:
            return None
        builtin = self._builtin_name(outer)
        if builtin in ASYNC_STEPPERS or builtin in ASYNC_STEPPERS.values():
            return None  # _async_step rewrites ``next``/``iter``; ``anext``/``aiter`` fit
        if builtin in MATERIALISING:
            return builtin
        if self._is_string_join(outer):
            return "join"
        if self._runs_in_asyncio(parent):
            return None
        if outer.args[0] is parent and qualified_names(self, outer.func) & ASYNC_ITERABLE_TAKERS:
            return None
        return "unknown"

    def _only_argument(self, arg: cst.CSTNode | None) -> bool:
        outer = self.get_metadata(ParentNodeProvider, arg, None) if arg is not None else None
        return isinstance(outer, cst.Call) and len(outer.args) == 1

    def _builtin_name(self, call: cst.Call) -> str | None:
        if not isinstance(call.func, cst.Name):
            return None
        name = call.func.value
        return name if f"builtins.{name}" in qualified_names(self, call.func) else None

    def _is_string_join(self, call: cst.Call) -> bool:
        """``", ".join(xs)`` or ``str.join(sep, xs)``."""
        func = call.func
        if not isinstance(func, cst.Attribute) or func.attr.value != "join":
            return False
        owner = func.value
        if isinstance(owner, cst.SimpleString | cst.ConcatenatedString | cst.FormattedString):
            return True
        return "builtins.str" in qualified_names(self, owner)

    def _consumer_name(self, arg: cst.CSTNode | None) -> str:
        outer = self.get_metadata(ParentNodeProvider, arg, None) if arg is not None else None
        return _code(outer.func) if isinstance(outer, cst.Call) else "this code"

    def _async_step(
        self, original: cst.Call, updated: cst.Call, parent: cst.CSTNode | None
    ) -> cst.BaseExpression | None:
        """``next(agen(), default)`` → ``await anext(agen(), default)``; ``iter(agen())``
        → ``aiter(agen())``, for an async generator or an async generator expression."""
        func = original.func
        if not (isinstance(func, cst.Name) and func.value in ASYNC_STEPPERS):
            return None  # (resolving the name of every call would need the scopes)
        builtin = self._builtin_name(original)
        if builtin not in ASYNC_STEPPERS or not original.args or not updated.args:
            return None
        first, first_updated = original.args[0], updated.args[0]
        if first.keyword is not None or first.star:
            return None
        if not self._is_async_iterable(first.value, first_updated.value):
            return None
        if not self.in_async_function() or self.lambda_depth:
            self.todo(original, f"{builtin}() steps an async iterator now; use it in async code")
            return updated
        self.count_rewrite()
        renamed = updated.with_changes(func=cst.Name(ASYNC_STEPPERS[builtin]))
        if builtin == "iter":
            return renamed
        return awaited(renamed, self._needs_parentheses(original, parent))

    def _is_async_iterable(self, original: cst.BaseExpression, updated: cst.BaseExpression) -> bool:
        if isinstance(original, cst.Call | cst.Name) and self._iterates_async_generator(original):
            return True
        return isinstance(updated, cst.GeneratorExp) and _is_async_comprehension(updated)

    def leave_GeneratorExp(
        self, original_node: cst.GeneratorExp, updated_node: cst.GeneratorExp
    ) -> cst.BaseExpression:
        """A generator expression that became async (``async for``, or ``await`` in it)
        handed to a function, which would iterate it synchronously, becomes a list
        comprehension (``sum(1 async for _ in xs)`` → ``sum([1 async for _ in xs])``);
        ``list``/``set`` of it become the comprehension itself; ``next``/``iter`` of it
        become ``anext``/``aiter`` (see _async_step)."""
        if isinstance(original_node.for_in, cst.CompFor) and _is_async_comprehension(original_node):
            return updated_node  # async already in the source
        if not _is_async_comprehension(updated_node):
            return updated_node
        arg = self.get_metadata(ParentNodeProvider, original_node, None)
        outer = self.get_metadata(ParentNodeProvider, arg, None) if arg is not None else None
        if not isinstance(arg, cst.Arg) or not isinstance(outer, cst.Call) or arg.star:
            iterated = isinstance(arg, cst.For | cst.CompFor) and arg.iter is original_node
            if not iterated and _is_async_generator_expression(updated_node):
                # returned, assigned, yielded: whoever iterates it gets an async generator
                self.todo(original_node, ASYNC_GENERATOR_EXPRESSION_TODO)
            return updated_node
        builtin = self._builtin_name(outer)
        if builtin in ASYNC_STEPPERS or self._runs_in_asyncio(arg):
            return updated_node
        self.count_rewrite()
        if builtin == "set" and len(outer.args) == 1:
            produced: cst.BaseExpression = cst.SetComp(
                elt=updated_node.elt, for_in=updated_node.for_in
            )
        else:
            produced = cst.ListComp(elt=updated_node.elt, for_in=updated_node.for_in)
        if builtin in ("list", "set") and len(outer.args) == 1:
            self._unwrap.add(id(produced))
        return produced

    def _lambda_reason(self, call: cst.Call) -> str:
        """Why the lambda around ``call`` stays a lambda, and what to do."""
        holder = self.get_metadata(ParentNodeProvider, call, None)
        while holder is not None and not isinstance(holder, cst.Lambda):
            holder = self.get_metadata(ParentNodeProvider, holder, None)
        site = lambda_site(self, holder) if holder is not None else LambdaSite("other")
        if site.kind == "run_sync":
            return RUN_SYNC_AWAITS
        if site.kind == "other" and site.callee:
            return (
                f"a lambda cannot await and {site.callee}() calls it synchronously: compute the "
                "awaited values before the call (e.g. `values = [await f(x) for x in items]`)"
            )
        slot = self._lambda_slot(holder, site) if isinstance(holder, cst.Lambda) else None
        if slot is not None and slot in self.plan.mixed_dynamic:
            return (
                f"a lambda cannot await; other callables stored as {site.name!r} stay synchronous: "
                "make them all async (local async def) and await their calls"
            )
        return "a lambda cannot await; turn it into a local async def and await its calls"

    def _bridge_to_thread(self, call: cst.Call) -> bool:
        """A blocking call listed in ``bridge-to-thread``, now inside async code."""
        listed = self.state.options.bridge_to_thread
        if not listed or not self.in_async_function() or self.lambda_depth:
            return False
        names = {self.state.index.resolve_alias(n) for n in qualified_names(self, call.func)}
        return bool(names & set(listed))

    def _to_thread(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        """``f(a, b=1)`` → ``await asyncio.to_thread(f, a, b=1)``, off the event loop."""
        AddImportsVisitor.add_needed_import(self.context, "asyncio")
        self.count_rewrite()
        args = [cst.Arg(updated.func, comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))]
        to_thread = cst.Call(
            func=cst.Attribute(value=cst.Name("asyncio"), attr=cst.Name("to_thread")),
            args=[*args, *updated.args]
            if updated.args
            else [args[0].with_changes(comma=cst.MaybeSentinel.DEFAULT)],
        )
        parent = self.get_metadata(ParentNodeProvider, original, None)
        return awaited(to_thread, self._needs_parentheses(original, parent))

    # -- bridges to code that stays synchronous ---------------------------------------------
    def _bridge_session(
        self, original: cst.Call, updated: cst.Call, bridge: SessionBridge
    ) -> cst.BaseExpression:
        """``f(session, x=session.bind)`` → ``await session.run_sync(lambda sync_session:
        f(sync_session, x=sync_session.bind))`` (``sync_conn`` for a connection)."""
        if not self.in_async_function() or self.lambda_depth:
            self.todo(original, "this call needs a synchronous session; run it through run_sync")
            return updated
        param = self._fresh_name("sync_conn" if bridge.connection else "sync_session", original)
        replacements = {}
        for position, arg in enumerate(original.args):
            for value, node in zip(bridge.arguments, bridge.replaced, strict=True):
                if arg.value is value:
                    replacements[position] = _replace_node(value, node, cst.Name(param))
        body = self._sync_call(original, updated, replacements)
        if body is None:
            return updated
        lambda_ = cst.Lambda(params=cst.Parameters(params=[cst.Param(cst.Name(param))]), body=body)
        session = bridge.session.deep_clone()
        run = cst.Call(
            func=cst.Attribute(value=session, attr=cst.Name("run_sync")), args=[cst.Arg(lambda_)]
        )
        self.count_rewrite()
        parent = self.get_metadata(ParentNodeProvider, original, None)
        return awaited(run, self._needs_parentheses(original, parent))

    def _bridge_engine(
        self, original: cst.Call, updated: cst.Call, bridge: EngineBridge
    ) -> cst.BaseExpression:
        """``df = f(q, con=engine)`` → ``async with engine.connect() as conn: df = await
        conn.run_sync(lambda sync_conn: f(q, con=sync_conn))`` (the ``async with`` is added
        around the statement in leave_SimpleStatementLine)."""
        engines = [original.args[p].value for p in bridge.positions]
        how = "`async with engine.connect() as conn: await conn.run_sync(lambda sync_conn: ...)`"
        if not self.in_async_function() or self.lambda_depth:
            self.todo(original, self._engine_outside_async_reason(original, how))
            return updated
        statement = self._statements[-1] if self._statements else None
        # in a lambda becoming a local async def, a connection opened around the statement
        # would be closed before the function runs
        if not isinstance(statement, cst.SimpleStatementLine) or self.lambdas:
            self.todo(
                original,
                f"this call needs a synchronous engine: move it into its own statement, run as {how}",
            )
            return updated
        engine_code = _code(engines[0])
        pending = self._engine_blocks.get(id(statement))
        if any(_code(e) != engine_code for e in engines) or (
            pending is not None and pending.engine_code != engine_code
        ):
            self.todo(original, f"these calls need synchronous engines: run each as {how}")
            return updated
        if pending is None:
            pending = EngineBlock(engines[0], engine_code, self._fresh_name("conn", statement))
            self._engine_blocks[id(statement)] = pending
        param = self._fresh_name("sync_conn", statement)
        handed: cst.BaseExpression = cst.Name(param)
        if bridge.hands_engine:
            handed = cst.Attribute(value=handed, attr=cst.Name("engine"))
        body = self._sync_call(original, updated, dict.fromkeys(bridge.positions, handed))
        if body is None:
            if not pending.calls:
                del self._engine_blocks[id(statement)]
            return updated
        if bridge.opening == "begin":
            pending.opening = "begin"
        pending.calls += 1
        lambda_ = cst.Lambda(params=cst.Parameters(params=[cst.Param(cst.Name(param))]), body=body)
        run = cst.Call(
            func=cst.Attribute(value=cst.Name(pending.name), attr=cst.Name("run_sync")),
            args=[cst.Arg(lambda_)],
        )
        self.count_rewrite()
        parent = self.get_metadata(ParentNodeProvider, original, None)
        return awaited(run, self._needs_parentheses(original, parent))

    def _engine_outside_async_reason(self, call: cst.Call, how: str) -> str:
        if self.enclosing_function() is None and self.io.engine_bridge(call) is not None:
            if qualified_names(self, call.func) & TABLE:
                return (
                    "reflection with autoload_with needs a synchronous connection and nothing "
                    "can await at import time: reflect at startup, in async code, with "
                    "`async with engine.connect() as conn: table = await conn.run_sync(lambda "
                    "sync_conn: Table(..., autoload_with=sync_conn))`, or with a synchronous "
                    "engine (create_engine with the synchronous driver)"
                )
        return f"this call needs a synchronous engine: in async code run it as {how}"

    def _sync_call(
        self, original: cst.Call, updated: cst.Call, replacements: dict[int, cst.BaseExpression]
    ) -> cst.Call | None:
        """``updated`` with the arguments at ``replacements``' positions replaced, to run
        inside a ``run_sync`` lambda; None (and a TODO) when another argument awaits,
        which a lambda cannot."""
        args = []
        for position, arg in enumerate(updated.args):
            if position in replacements:
                args.append(arg.with_changes(value=replacements[position]))
                continue
            if _contains_await(arg.value):
                self.todo(
                    original,
                    "this call must run inside run_sync, but an argument awaits: assign that "
                    "argument to a variable first",
                )
                return None
            args.append(arg)
        if _contains_await(updated.func):
            self.todo(original, "this call must run inside run_sync, but its callee awaits")
            return None
        return updated.with_changes(args=args)

    def _fresh_name(self, base: str, near: cst.CSTNode) -> str:
        """``base`` (or ``base_2``...) unused in the enclosing function and in ``near``."""
        function = self.enclosing_function()
        taken = names_in(function) if function is not None else set()
        taken |= names_in(near)
        taken |= {block.name for block in self._engine_blocks.values()}
        candidate, number = base, 1
        while candidate in taken:
            number += 1
            candidate = f"{base}_{number}"
        return candidate

    def leave_SimpleStatementLine(
        self, original_node: cst.SimpleStatementLine, updated_node: cst.SimpleStatementLine
    ) -> cst.BaseStatement | cst.FlattenSentinel[cst.BaseStatement]:
        statement: cst.BaseStatement = updated_node
        block = self._engine_blocks.pop(id(original_node), None)
        if block is not None:
            opening = cst.Call(
                func=cst.Attribute(value=block.engine.deep_clone(), attr=cst.Name(block.opening))
            )
            statement = cst.With(
                items=[cst.WithItem(item=opening, asname=cst.AsName(name=cst.Name(block.name)))],
                body=cst.IndentedBlock(body=[updated_node.with_changes(leading_lines=[])]),
                asynchronous=cst.Asynchronous(),
                leading_lines=updated_node.leading_lines,
            )
        local_defs = self._local_defs.pop(id(original_node), [])
        if not local_defs:
            return statement
        functions: list[cst.BaseStatement] = [
            d.function for d in local_defs if d.function is not None
        ]
        leading = list(updated_node.leading_lines)
        functions[0] = functions[0].with_changes(leading_lines=leading)
        # TODO comments of this statement: the base class cannot place them on a flattened
        # result, so they go above the statement (or the function replacing it) here
        todos = self._pending_todos.pop(id(original_node), [])
        if any(d.replaces_statement for d in local_defs):
            functions[-1] = _with_todos(functions[-1], todos)
            rest = None
        else:
            rest = _with_todos(statement.with_changes(leading_lines=[]), todos)
        if not self.scopes:  # module level: PEP 8's blank lines around the new functions
            self._top_level_defs.extend(functions)
        return cst.FlattenSentinel([*functions, rest] if rest is not None else functions)

    def _calls_wrapped_function(self, call: cst.Call) -> bool:
        """``func(*args, **kwargs)`` inside a decorator's wrapper that now awaits it."""
        function = self.function_qualname()
        param = self.plan.awaited_wrapped.get(function or "")
        return param is not None and isinstance(call.func, cst.Name) and call.func.value == param

    def _await_wrapped(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        if self.lambda_depth or not self.in_async_function():
            return updated
        self.count_rewrite()
        parent = self.get_metadata(ParentNodeProvider, original, None)
        return awaited(updated, self._needs_parentheses(original, parent))

    def _bridged(self, receiver: cst.BaseExpression) -> bool:
        """Is ``receiver`` the parameter of a ``run_sync(lambda sync_session: ...)``?"""
        if not isinstance(receiver, cst.Name):
            return False
        scope = self.get_metadata(ScopeProvider, receiver, None)
        for assignment in scope[receiver.value] if scope else ():
            param = getattr(assignment, "node", None)
            if not isinstance(param, cst.Param):
                continue
            holder = self.get_metadata(ParentNodeProvider, param, None)
            while holder is not None and not isinstance(holder, cst.Lambda):
                holder = self.get_metadata(ParentNodeProvider, holder, None)
            arg = self.get_metadata(ParentNodeProvider, holder, None) if holder else None
            call = self.get_metadata(ParentNodeProvider, arg, None) if arg else None
            if isinstance(call, cst.Call) and isinstance(call.func, cst.Attribute):
                return call.func.attr.value == "run_sync"
        return False

    def _in_run_sync(self, node: cst.CSTNode) -> bool:
        return in_sync_greenlet(self, node)

    def _object_session_in_async_code(self, call: cst.Call) -> bool:
        """``object_session(obj)`` in code that runs on the event loop: the object's
        session is an AsyncSession there (its synchronous session only inside
        ``run_sync``, where the call stays)."""
        func = call.func
        spelled = func.attr.value if isinstance(func, cst.Attribute) else getattr(func, "value", "")
        if spelled != "object_session" and spelled not in self._object_session_aliases():
            return False  # (checked before the qualified names, which cost a look-up)
        if qualified_names(self, func).isdisjoint(OBJECT_SESSION):
            return False
        return self.in_async_function() and not self._in_run_sync(call)

    def _object_session_aliases(self) -> frozenset[str]:
        """Names ``object_session`` is imported under (``import ... as``) in the module
        (the walk enters only the subtrees holding an import alias)."""
        if self._aliases is None:
            found: set[str] = set()

            class Finder(cst.CSTVisitor):
                def visit_ImportAlias(self, node: cst.ImportAlias) -> None:
                    if node.asname is not None and isinstance(node.asname.name, cst.Name):
                        if cst.Module([]).code_for_node(node.name).endswith("object_session"):
                            found.add(node.asname.name.value)

            wrapper = self.context.wrapper
            if wrapper is not None:
                wrapper.module.visit(Finder())
            self._aliases = frozenset(found)
        return self._aliases

    def _expires_in_async_code(self, call: cst.Call) -> bool:
        """``session.expire_all()`` / ``session.expire(obj)`` in async code."""
        func = call.func
        if not (isinstance(func, cst.Attribute) and func.attr.value in ("expire", "expire_all")):
            return False
        if not self.in_async_function() or self._in_run_sync(call):
            return False
        return self.io.is_session(func.value)

    def _async_object_session(self, original: cst.Call, updated: cst.Call) -> cst.Call:
        """``object_session(obj)`` → ``async_object_session(obj)``."""
        AddImportsVisitor.add_needed_import(
            self.context, "sqlalchemy.ext.asyncio", "async_object_session"
        )
        if isinstance(original.func, cst.Name):  # imported by itself: maybe unused now
            local = original.func.value
            for qualified in qualified_names(self, original.func) & OBJECT_SESSION:
                module, _, attr = qualified.rpartition(".")
                asname = local if local != attr else None
                RemoveImportsVisitor.remove_unused_import(self.context, module, attr, asname)
        self.count_rewrite()
        return updated.with_changes(func=cst.Name("async_object_session"))

    def _inside_chain(self, node: cst.CSTNode) -> bool:
        parent = self.get_metadata(ParentNodeProvider, node, None)
        if isinstance(parent, cst.Attribute) and parent.value is node:
            return True
        return isinstance(parent, cst.Call) and parent.func is node

    def _run_sync(
        self,
        original: cst.Call,
        updated: cst.Call,
        receiver: cst.BaseExpression,
        replaced: cst.CSTNode | None,
        what: str = "this legacy Query",
    ) -> cst.BaseExpression:
        """A legacy query chain kept as it was, or a call into code that is not migrated:
        run it on the sync session behind the AsyncSession,
        ``await session.run_sync(lambda sync_session: ...)``."""
        if not self.in_async_function() or self.lambda_depth:
            self.todo(original, f"{what} needs a synchronous session; {self._how_run_sync()}")
            return updated
        if _awaits(updated) > _awaits(original):
            # ``query(...).filter_by(package=Package.by_name(n))`` of a function made async:
            # the lambda runs synchronously and would get the coroutine, not its result
            self.todo(original, RUN_SYNC_AWAITS)
        run = self._run_sync_call(original, receiver, replaced)
        self.count_rewrite()
        parent = self.get_metadata(ParentNodeProvider, original, None)
        return awaited(run, self._needs_parentheses(original, parent))

    def _how_run_sync(self) -> str:
        function = self.function_qualname()
        reason = self.plan.blocked.get(function or "", "")
        if self.lambda_depth or not reason.startswith(TEMPLATE_CALLED):
            return "run it through run_sync"
        return (
            f"it has one while {reason.split(',')[0][0].lower()}{reason.split(',')[0][1:]} "
            "rendered through render_with_session; callers in async code need run_sync"
        )

    def _greenlet_call(
        self, original: cst.Call, updated: cst.Call, callee: str
    ) -> cst.BaseExpression | None:
        """``report(session, x)`` of a function kept synchronous (its legacy queries kept in
        variables) → ``await session.run_sync(lambda sync_session: report(sync_session,
        x))``; None when the session argument is not written in the call."""
        name, position, is_method = self.plan.greenlet[callee]
        if is_method and isinstance(original.func, cst.Attribute):
            position -= 1  # ``repo.report(session)``: self is the receiver
        given = None
        for index, arg in enumerate(original.args):
            if arg.star:
                return None
            if (arg.keyword is None and index == position) or (
                arg.keyword is not None and arg.keyword.value == name
            ):
                given = arg.value
        if given is None or self._in_run_sync(original):
            return None
        what = f"{callee.rpartition('.')[2]}(), kept synchronous for its legacy Query objects,"
        return self._run_sync(original, updated, given, given, what)

    def _run_sync_call(
        self,
        original: cst.BaseExpression,
        receiver: cst.BaseExpression,
        replaced: cst.CSTNode | None,
    ) -> cst.Call:
        """``session.run_sync(lambda sync_session: <original>)``; a ``lazy="dynamic"``
        chain runs on the session of its object, ``async_object_session(obj)``."""
        if replaced is None:
            AddImportsVisitor.add_needed_import(
                self.context, "sqlalchemy.ext.asyncio", "async_object_session"
            )
            body = original.deep_clone()
            param = "_sync_session"
        else:
            body = _replace_node(original, replaced, cst.Name("sync_session"))
            param = "sync_session"
        lambda_ = cst.Lambda(params=cst.Parameters(params=[cst.Param(cst.Name(param))]), body=body)
        session = receiver.deep_clone()
        if replaced is not None and self.io.is_scoped_registry(receiver):
            session = cst.Call(func=session)  # the registry does not proxy run_sync
        return cst.Call(
            func=cst.Attribute(value=session, attr=cst.Name("run_sync")), args=[cst.Arg(lambda_)]
        )

    def _script_statement(self, call: cst.Call, parent: cst.CSTNode | None) -> bool:
        """``main()`` as a statement of its own at the top of a module no other module
        imports (a script): run like a ``__main__`` block's call."""
        if self.scopes or not isinstance(parent, cst.Expr) or parent.value is not call:
            return False
        line = self.get_metadata(ParentNodeProvider, parent, None)
        holder = self.get_metadata(ParentNodeProvider, line, None) if line else None
        if not isinstance(holder, cst.Module):
            return False
        return self.state.module_name not in _imported_modules(self.state.index)

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
        return self._needs_parentheses_around(original, parent)

    def _in_query_class(self) -> bool:
        function = self.function_qualname()
        return function is not None and self.plan.blocked.get(function, "").startswith(
            QUERY_CLASS_REASON
        )

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
        if self.state.index.alembic_keeps_sync_io(self.state.module_name):
            return updated_node  # Alembic's own synchronous connection
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
        if isinstance(updated_node.iter, cst.GeneratorExp) and not isinstance(
            original_node.iter, cst.GeneratorExp
        ):  # ``map(lambda ...)`` became an async generator expression
            return updated_node.with_changes(asynchronous=cst.Asynchronous())
        if self._became_async_genexp(original_node.iter, updated_node.iter):
            self.count_rewrite()
            return updated_node.with_changes(asynchronous=cst.Asynchronous())
        streamed = self._streamed_loop(original_node, updated_node)
        if streamed is not None:
            return streamed
        owner = self.io.dynamic_relationship_owner(original_node.iter)
        if owner is not None and not isinstance(original_node.iter, cst.Await):
            return self._dynamic_loop(original_node, updated_node, owner)
        if self._iterates_async_generator(original_node.iter):
            if self.in_async_function():
                self.count_rewrite()
                return updated_node.with_changes(asynchronous=cst.Asynchronous())
            self.todo(
                original_node,
                "this loop iterates an async generator now; use it in an async function",
            )
        return updated_node

    def _dynamic_loop(self, original: Any, updated: Any, owner: cst.BaseExpression) -> Any:
        """``for x in user.posts.order_by(...)`` on a ``lazy="dynamic"`` relationship:
        ``for x in await async_object_session(user).run_sync(lambda _: [*user.posts...])``."""
        if not self.in_async_function():
            self.todo(original, "this loop runs a query; run it through run_sync")
            return updated
        listed = cst.List(elements=[cst.StarredElement(value=original.iter.deep_clone())])
        session = cst.Call(func=cst.Name("async_object_session"), args=[cst.Arg(owner)])
        run = self._run_sync_call(listed, session, None)
        self.count_rewrite()
        return updated.with_changes(iter=awaited(run, False))

    def _streamed_loop(self, original: LoopT, updated: LoopT) -> LoopT | None:
        """``for x in await s.scalars(stmt)`` where ``stmt`` streams (``yield_per``,
        ``stream_results``): an AsyncSession streams with ``async for x in await
        s.stream_scalars(stmt)``."""
        if not self._streams(original):
            return None
        call = original.iter
        assert isinstance(call, cst.Call) and isinstance(call.func, cst.Attribute)
        method = STREAMING[call.func.attr.value]
        awaited_iter = updated.iter
        if not isinstance(awaited_iter, cst.Await) or not isinstance(
            awaited_iter.expression, cst.Call
        ):
            return None
        inner = awaited_iter.expression
        assert isinstance(inner.func, cst.Attribute)
        renamed = inner.with_changes(func=inner.func.with_changes(attr=cst.Name(method)))
        if self._reads_relationships(original):
            self.todo(
                original,
                "eager loads of relationships run extra queries while this stream is open, "
                "which MySQL/MariaDB drivers do not allow: buffer the rows or load them per batch",
            )
        else:
            renamed = self._without_eager_loads(renamed)
        self.count_rewrite()
        return updated.with_changes(
            iter=awaited_iter.with_changes(expression=renamed), asynchronous=cst.Asynchronous()
        )

    def _streams(self, original: cst.For | cst.CompFor) -> bool:
        """Does the loop iterate ``session.scalars(stmt)`` (or ``execute``) of a
        ``yield_per`` statement, in code that is async?"""
        call = original.iter
        if not (isinstance(call, cst.Call) and isinstance(call.func, cst.Attribute)):
            return False
        method = STREAMING.get(call.func.attr.value)
        if method is None or not call.args or not self.io.io_call(call):
            return False
        return self._uses_yield_per(call.args[0].value) and self.in_async_function()

    def _check_buffered_stream(self, call: cst.Call, parent: cst.CSTNode | None) -> None:
        """``session.execute(stmt)`` / ``scalars(stmt)`` of a statement asking for a
        server-side cursor (``yield_per``, ``stream_results``), read other than by a loop
        (which streams): AsyncSession.execute() refuses such a statement."""
        if not (isinstance(call.func, cst.Attribute) and call.func.attr.value in STREAMING):
            return
        if not call.args or not self._uses_yield_per(call.args[0].value):
            return
        if isinstance(parent, cst.For | cst.CompFor) and parent.iter is call:
            return  # _streamed_loop turns it into ``async for ... in await s.stream(...)``
        self.todo(
            call,
            "AsyncSession.execute() refuses a statement with yield_per/stream_results (a "
            "server-side cursor): iterate `await session.stream(...)` / `stream_scalars(...)` "
            "with `async for`, or drop the option",
        )

    def _reads_relationships(self, loop: cst.For | cst.CompFor) -> bool:
        """May the rows' relationships be read while or after the loop streams them? Yes
        when the loop reads one on the loop variable (or a method or property of a model,
        which may), or when the row goes anywhere else: handed to a call, yielded,
        returned, stored. Then the relationships the mapper or the eager plan loads
        eagerly must stay loaded (a ``raiseload("*")`` would override them)."""
        if not isinstance(loop.target, cst.Name):
            return True
        scope = self.get_metadata(ScopeProvider, loop.target, None)
        if scope is None:
            return True
        reading = _relationship_reading_names(self.state.index)
        for assignment in scope.assignments[loop.target.value]:
            if getattr(assignment, "node", None) is not loop.target:
                continue
            for access in assignment.references:
                if self._row_use_may_read_relationships(access.node, reading):
                    return True
        return False

    def _row_use_may_read_relationships(self, use: cst.CSTNode, reading: set[str]) -> bool:
        parent = self.get_metadata(ParentNodeProvider, use, None)
        if isinstance(parent, cst.Attribute) and parent.value is use:
            return parent.attr.value in reading
        return not isinstance(parent, cst.Comparison | cst.ComparisonTarget)

    def _without_eager_loads(self, call: cst.Call) -> cst.Call:
        """Streamed rows must not trigger eager-load queries while the cursor is open."""
        AddImportsVisitor.add_needed_import(self.context, "sqlalchemy.orm", "raiseload")
        option = cst.parse_expression('raiseload("*", sql_only=True)')
        first = call.args[0]
        statement = cst.Call(
            func=cst.Attribute(value=first.value, attr=cst.Name("options")), args=[cst.Arg(option)]
        )
        return call.with_changes(args=[first.with_changes(value=statement), *call.args[1:]])

    def _uses_yield_per(self, statement: cst.BaseExpression) -> bool:
        if isinstance(statement, cst.Name):
            scope = self.get_metadata(ScopeProvider, statement, None)
            values = []
            for assignment in scope[statement.value] if scope else ():
                target = getattr(assignment, "node", None)
                parent = self.get_metadata(ParentNodeProvider, target, None) if target else None
                holder = self.get_metadata(ParentNodeProvider, parent, None) if parent else None
                if isinstance(parent, cst.AssignTarget) and isinstance(holder, cst.Assign):
                    values.append(holder.value)
            return any(_streams(cst.Module([]).code_for_node(v)) for v in values)
        return _streams(cst.Module([]).code_for_node(statement))

    def leave_CompFor(self, original_node: cst.CompFor, updated_node: cst.CompFor) -> cst.CompFor:
        owner = self.io.dynamic_relationship_owner(original_node.iter)
        if owner is not None and not isinstance(original_node.iter, cst.Await):
            return self._dynamic_loop(original_node, updated_node, owner)
        comprehension = self.get_metadata(ParentNodeProvider, original_node, None)
        if isinstance(comprehension, cst.CompFor | cst.CompIf):
            comprehension = None  # an inner ``for`` clause
        handed = isinstance(comprehension, cst.GeneratorExp) and isinstance(
            self.get_metadata(ParentNodeProvider, comprehension, None), cst.Arg
        )
        if comprehension is not None and (
            handed or isinstance(comprehension, cst.ListComp | cst.SetComp | cst.DictComp)
        ):
            # ``[u.name for u in await s.scalars(stmt)]`` with ``yield_per``: as a loop's
            # (``list(u.name for u in ...)``: leave_GeneratorExp makes the async generator
            # expression a comprehension of the call)
            streamed = self._streamed_loop(original_node, updated_node)
            if streamed is not None:
                return streamed
        elif comprehension is not None and self._streams(original_node):
            self.todo(
                original_node,
                "AsyncSession.scalars() refuses a yield_per statement (a server-side cursor): "
                "iterate `await session.stream_scalars(...)` with `async for` where this "
                "generator is consumed",
            )
        if self._became_async_genexp(original_node.iter, updated_node.iter) or (
            self._iterates_async_generator(original_node.iter) and self.in_async_function()
        ):
            self.count_rewrite()
            return updated_node.with_changes(asynchronous=cst.Asynchronous())
        return updated_node

    def _became_async_genexp(
        self, original: cst.BaseExpression, updated: cst.BaseExpression
    ) -> bool:
        """``for x in (f(y) for y in agen())``: the generator expression iterated became
        async (an ``async for`` or ``await`` in it), so must the loop over it."""
        if not isinstance(original, cst.GeneratorExp) or not isinstance(updated, cst.GeneratorExp):
            return False
        if _is_async_comprehension(original) or not _is_async_comprehension(updated):
            return False
        return self.in_async_function()

    def _iterates_async_generator(self, node: cst.BaseExpression) -> bool:
        if isinstance(node, cst.Name):
            return self._names_async_generator(node)
        if not isinstance(node, cst.Call):
            return False
        callee = self.calls.callee(node, self.enclosing_class())
        if not self.plan.is_async(callee):
            return False
        function = self.state.index.functions.get(callee or "")
        return function is not None and function.is_generator


def _mixed_overrides_reason(method: str) -> str:
    return (
        f"self.{method}() runs the {method}() of the object's class, async now in some of "
        f"its subclasses and not in others: await it where the object's {method}() is async"
    )


@dataclass
class LocalAsyncDef:
    """A lambda that becomes ``async def <name>(...): return <body>``, written before
    ``statement`` (or instead of it, for ``name = lambda ...``)."""

    name: str
    statement: cst.CSTNode
    replaces_statement: bool = False
    function: cst.FunctionDef | None = None
    #: for a lambda handed to ``map()``: what the map becomes instead (see _map_consumer)
    map_into: str = ""


@dataclass
class EngineBlock:
    """The ``async with engine.<opening>() as <name>:`` a statement gets, for the calls in it
    that need a synchronous connection of ``engine``."""

    engine: cst.BaseExpression
    engine_code: str
    name: str
    opening: str = "connect"
    calls: int = 0


def _code(node: cst.CSTNode) -> str:
    return cst.Module([]).code_for_node(node)


def _with_todos(statement: cst.BaseStatement, todos: list[str]) -> cst.BaseStatement:
    marked = add_todo_comments(statement, todos) if todos else statement
    assert isinstance(marked, cst.BaseStatement)
    return marked


def _one_plain_parameter(node: cst.Lambda) -> bool:
    params = node.params
    return (
        len(params.params) == 1
        and params.params[0].default is None
        and not params.posonly_params
        and not params.kwonly_params
        and isinstance(params.star_arg, cst.MaybeSentinel)
        and params.star_kwarg is None
    )


def _snake(name: str) -> str:
    """``setUpClass`` → ``set_up_class``."""
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name).lstrip("_")


def _is_super_call(statement: cst.CSTNode) -> bool:
    """``super().setUpClass()`` as a statement of its own."""
    if not isinstance(statement, cst.SimpleStatementLine) or len(statement.body) != 1:
        return False
    expression = statement.body[0]
    if not isinstance(expression, cst.Expr) or not isinstance(expression.value, cst.Call):
        return False
    func = expression.value.func
    return (
        isinstance(func, cst.Attribute)
        and isinstance(func.value, cst.Call)
        and isinstance(func.value.func, cst.Name)
        and func.value.func.value == "super"
    )


def _uses_super(node: cst.CSTNode) -> bool:
    return "super" in names_in(node)


def _wrapped_already(function: cst.FunctionDef) -> bool:
    body = function.body.body if isinstance(function.body, cst.IndentedBlock) else ()
    return any(isinstance(s, cst.FunctionDef) and s.asynchronous is not None for s in body)


def _split_fixture_body(function: cst.FunctionDef) -> tuple[int, int] | None:
    """``(leading, trailing)``: the body's statements ``[leading:trailing]`` can move into
    an async helper (the ``super().x()`` calls around them stay); None when they cannot
    (a one-line body, ``super()`` inside, or already moved by an earlier run)."""
    if not isinstance(function.body, cst.IndentedBlock) or _wrapped_already(function):
        return None
    body = list(function.body.body)
    leading = 0
    while leading < len(body) and _is_super_call(body[leading]):
        leading += 1
    trailing = len(body)
    while trailing > leading and _is_super_call(body[trailing - 1]):
        trailing -= 1
    middle = body[leading:trailing]
    if not middle or any(_uses_super(s) for s in middle):
        return None
    return leading, trailing


def _contains_await(node: cst.CSTNode) -> bool:
    found = False

    class Finder(cst.CSTVisitor):
        def visit_Await(self, node: cst.Await) -> None:
            nonlocal found
            found = True

        def visit_Lambda(self, node: cst.Lambda) -> bool:
            return False

    node.visit(Finder())
    return found


GENERATOR_TYPES = frozenset({"Generator", "Iterator", "Iterable"})


def _is_none(node: cst.BaseSlice) -> bool:
    return (
        isinstance(node, cst.Index)
        and isinstance(node.value, cst.Name)
        and (node.value.value == "None")
    )


def _yields(function: cst.FunctionDef) -> bool:
    """Does ``function`` itself (not a function or class inside it) yield?"""
    found = False

    class Finder(cst.CSTVisitor):
        def visit_Yield(self, node: cst.Yield) -> None:
            nonlocal found
            found = True

        def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
            return False

        def visit_ClassDef(self, node: cst.ClassDef) -> bool:
            return False

        def visit_Lambda(self, node: cst.Lambda) -> bool:
            return False

    function.body.visit(Finder())
    return found


def _is_async_generator_expression(node: cst.GeneratorExp) -> bool:
    """Is ``node`` an async generator as Python makes it: an ``async for``, or an
    ``await`` anywhere but in its outermost iterable (evaluated, when the expression is,
    by the function holding it: ``(u.name for u in await session.scalars(...))`` is a
    plain generator)?"""
    first = node.for_in
    if first.asynchronous is not None:
        return True
    parts: list[cst.CSTNode] = [node.elt, *first.ifs]
    if first.inner_for_in is not None:
        parts.append(first.inner_for_in)
    return any(_awaits_in(part) for part in parts)


def _awaits_in(node: cst.CSTNode) -> bool:
    """An ``await`` or ``async for`` in ``node`` (outside nested functions and lambdas)."""
    found = False

    class Finder(cst.CSTVisitor):
        def visit_CompFor(self, comp: cst.CompFor) -> None:
            nonlocal found
            found = found or comp.asynchronous is not None

        def visit_Await(self, await_: cst.Await) -> None:
            nonlocal found
            found = True

        def visit_Lambda(self, lambda_: cst.Lambda) -> bool:
            return False

        def visit_FunctionDef(self, function: cst.FunctionDef) -> bool:
            return False

    node.visit(Finder())
    return found


def _is_async_comprehension(node: cst.GeneratorExp) -> bool:
    """Is ``node`` an async generator expression: an ``async for`` or an ``await`` in it
    (outside nested functions and lambdas)?"""
    return _awaits_in(node)


def _replace_node(
    tree: cst.BaseExpression, target: cst.CSTNode, replacement: cst.BaseExpression
) -> cst.BaseExpression:
    """``tree`` (an original node) with ``target`` swapped for ``replacement``."""

    class Swap(cst.CSTTransformer):
        def on_leave(self, original_node: cst.CSTNode, updated_node: cst.CSTNode) -> Any:
            return replacement if original_node is target else updated_node

    result = tree.visit(Swap())
    assert isinstance(result, cst.BaseExpression)
    return result


@per_object
def _relationship_reading_names(index: ProjectIndex) -> set[str]:
    """The relationships of the project's models (backrefs included), and the other
    members of their classes (methods, properties), which may read relationships."""
    members = {name for model in index.models.values() for name in model.members}
    return _relationship_names(index) | members


def _relationship_names(index: ProjectIndex) -> set[str]:
    """Every relationship name of the project's models, backrefs included."""
    names = {name for model in index.models.values() for name in model.relationships}
    return names | {
        relationship.backref
        for model in index.models.values()
        for relationship in model.relationships.values()
        if relationship.backref
    }


#: a call made async inside what runs synchronously through ``run_sync(lambda ...)``
RUN_SYNC_AWAITS = (
    "the run_sync() lambda runs synchronously and cannot await the coroutine function called "
    "in it: await its value before the run_sync() call and use that value in the lambda"
)


def _awaits(node: cst.CSTNode) -> int:
    """How many ``await`` expressions ``node`` holds."""
    count = 0

    class Counter(cst.CSTVisitor):
        def visit_Await(self, node: cst.Await) -> None:
            nonlocal count
            count += 1

    node.visit(Counter())
    return count
