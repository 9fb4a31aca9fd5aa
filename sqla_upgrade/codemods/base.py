"""The base class every pass derives from.

A pass is a libcst codemod (``VisitorBasedCodemodCommand``), so imports it needs are
added through ``AddImportsVisitor`` and merged into existing ``from x import`` lines.
On top of that it can:

* ``self.note(node, message)`` — report a diagnostic at the node's position;
* ``self.todo(node, message)`` — report it and put ``# TODO(sqla-upgrade): message``
  above the statement that holds the node (never twice);
* ``self.count_rewrite()`` — count one rewrite for the summary.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, ClassVar, ParamSpec, TypeVar

import libcst as cst
from libcst._metadata_dependent import _UNDEFINED_DEFAULT, LazyValue
from libcst.codemod import (
    Codemod,
    CodemodContext,
    ContextAwareTransformer,
    VisitorBasedCodemodCommand,
)
from libcst.codemod.visitors import AddImportsVisitor, RemoveImportsVisitor
from libcst.metadata import (
    BaseMetadataProvider,
    GlobalScope,
    MetadataWrapper,
    ParentNodeProvider,
    PositionProvider,
    QualifiedNameProvider,
    ScopeProvider,
)

from sqla_upgrade.codemods.imports import ListsNoStubs, QuickImportsRemover, TopImportsAdder
from sqla_upgrade.codemods.index.model import EVENT_REGISTRATION
from sqla_upgrade.codemods.metadata import LazyMetadata, new_wrapper
from sqla_upgrade.codemods.names import import_renames
from sqla_upgrade.codemods.notes import TODO_PREFIX, Note
from sqla_upgrade.codemods.options import Options
from sqla_upgrade.codemods.traversal import handler_name, keeps_callbacks

if TYPE_CHECKING:
    from sqla_upgrade.codemods.index.model import ProjectIndex


@dataclass
class FileState:
    """What the passes running over one file share and report."""

    path: str
    module_name: str
    index: ProjectIndex
    options: Options
    notes: list[Note] = field(default_factory=list)
    rewrites: dict[str, int] = field(default_factory=dict)


#: the metadata most passes resolve: positions, qualified names, scopes, parents
ANALYSIS_METADATA: tuple[type[BaseMetadataProvider[Any]], ...] = (
    PositionProvider,
    QualifiedNameProvider,
    ScopeProvider,
    ParentNodeProvider,
)


class Pass(ListsNoStubs, VisitorBasedCodemodCommand):
    """A transform pass. Subclasses set ``name``, ``targets`` and ``triggers``."""

    name: ClassVar[str] = ""
    #: the targets (``"2.0"``, ``"async"``) whose pipeline includes this pass
    targets: ClassVar[frozenset[str]] = frozenset({"2.0", "async"})
    #: byte strings of which a file must contain at least one to be worth parsing
    triggers: ClassVar[tuple[bytes, ...]] = ()
    #: True for a pass that only rewrites what the user wrote, never what the passes
    #: before it in its stage write (``session.execute(select(...))`` from query-to-select
    #: is nothing for engine-execute): its triggers are looked for in the code the stage
    #: started from, so another pass's output does not make it analyse a file
    triggers_in_stage_input: ClassVar[bool] = False
    #: 1: the sync 2.0 rewrites; 2: the async rewrites, which run after the whole project
    #: went through stage 1 and the async plan was computed from it
    stage: ClassVar[int] = 1
    #: a stage-2 pass that also runs on the modules Alembic runs synchronously (migration
    #: scripts, ``env.py``), which keep their synchronous sessions and engines: only to
    #: mark what became async there
    in_alembic_modules: ClassVar[bool] = False

    @classmethod
    def index_triggers(cls, index: Any) -> tuple[bytes, ...]:
        """More prefilter byte strings, known once the project index (and, in stage 2, the
        async plan) is built: names of the project's own models or relationships."""
        return ()

    @classmethod
    def concerns(cls, code: bytes, path: str, index: Any) -> bool:
        """Could the pass change the file at ``path`` holding ``code``, by what the project
        index and the plans computed between the stages say? True when it may; a pass
        that answers False for a file is not run on it."""
        return True

    METADATA_DEPENDENCIES: ClassVar[tuple[type[BaseMetadataProvider[Any]], ...]] = (
        PositionProvider,
    )

    def __init__(self, context: CodemodContext, state: FileState) -> None:
        plain = _PLAIN_PASSES.get(type(self))
        if plain:
            # libcst's matcher set-up inspects every method of the class, for each
            # instance; a plain pass never consults what it finds
            Codemod.__init__(self, context)
            cst.CSTTransformer.__init__(self)
        else:
            super().__init__(context)
            plain = not (self._extra_visit_funcs or self._extra_leave_funcs or self._matchers)
            _PLAIN_PASSES[type(self)] = plain
        self.state = state
        self._statements: list[cst.CSTNode] = []
        self._pending_todos: dict[int, list[str]] = {}
        #: no matcher decorators (``@m.visit``, ``@m.call_if_inside``...) on this pass: its
        #: nodes are visited without libcst's per-node matcher bookkeeping, which then
        #: always lets every visit through (and costs about a fifth of a pass)
        self._plain_visits = plain
        self.output_wrapper: MetadataWrapper | None = None
        #: the last wrapper ``run_with`` made or was given (over the output tree, or one
        #: the output was made from)
        self.last_wrapper: MetadataWrapper | None = None
        #: id(node) -> its qualified names, for the tree being visited (``names``)
        self.qualified_cache: dict[int, frozenset[str]] = {}
        #: provider -> its mapping, while a visit lasts (``get_metadata``)
        self._mappings: dict[Any, Mapping[cst.CSTNode, Any]] = {}
        self._visited_module: cst.Module | None = None

    @classmethod
    def summary(cls) -> str:
        doc = (cls.__doc__ or "").strip()
        return doc.splitlines()[0] if doc else ""

    # -- reporting -------------------------------------------------------------------
    def _position(self, node: cst.CSTNode) -> tuple[int, int]:
        try:
            pos = self.get_metadata(PositionProvider, node)
        except KeyError:
            return (0, 0)
        return (pos.start.line, pos.start.column + 1)

    def note(self, node: cst.CSTNode, message: str) -> None:
        line, col = self._position(node)
        self.state.notes.append(Note(self.state.path, line, col, self.name, message))

    def todo(self, node: cst.CSTNode, message: str, statement: cst.CSTNode | None = None) -> None:
        """Report ``message`` and mark the statement holding ``node`` (or ``statement``, one
        still to be visited) with a TODO comment."""
        line, col = self._position(node)
        self.state.notes.append(Note(self.state.path, line, col, self.name, message, "todo"))
        holder = statement
        if holder is None and self._statements:
            holder = self._statements[-1]
        if holder is not None:
            messages = self._pending_todos.setdefault(id(holder), [])
            if message not in messages:
                messages.append(message)

    @contextmanager
    def resolve(self, wrapper: MetadataWrapper) -> Iterator[None]:
        """Each declared provider is resolved on ``wrapper`` when the pass first asks for
        it (a pass with nothing to look at in a file resolves nothing)."""
        self.metadata = LazyMetadata(wrapper, self.get_inherited_dependencies())
        self._mappings = {}
        self.qualified_cache = {}
        self._visited_module = wrapper.module
        try:
            yield
        finally:
            self.metadata = {}
            self._mappings = {}
            self.qualified_cache = {}
            self._visited_module = None

    def get_metadata(self, key: Any, node: cst.CSTNode, default: Any = _UNDEFINED_DEFAULT) -> Any:
        """libcst's ``get_metadata`` (same answers and errors), each provider's mapping
        looked up once per visit: passes ask for metadata some thousand times a file."""
        mapping = self._mappings.get(key)
        if mapping is None:
            if key not in self.metadata:
                return super().get_metadata(key, node, default)  # libcst's errors
            mapping = self._mappings[key] = self.metadata[key]
        value = mapping[node] if default is _UNDEFINED_DEFAULT else mapping.get(node, default)
        return value() if isinstance(value, LazyValue) else value

    def import_renames(self) -> frozenset[str]:
        """The names imports bind under another name in the module being visited."""
        module = self._visited_module
        return import_renames(module) if module is not None else frozenset()

    def run_with(self, wrapper: MetadataWrapper) -> cst.Module:
        """Transform ``wrapper.module`` reusing the metadata already resolved on ``wrapper``
        (passes that leave a file alone share one scope analysis), then add/remove imports.
        ``output_wrapper`` is then a wrapper over the returned tree, with what the import
        visitors resolved on it (the scopes the remover needed), when there is one."""
        with self.resolve(wrapper):
            self.context = replace(self.context, wrapper=wrapper)
            tree = self.transform_module_impl(wrapper.module)
        self.output_wrapper = wrapper if tree is wrapper.module else None
        last = wrapper
        for key, visitor in (
            (AddImportsVisitor.CONTEXT_KEY, TopImportsAdder),
            (RemoveImportsVisitor.CONTEXT_KEY, QuickImportsRemover),
        ):
            if key in self.context.scratch:
                visited = new_wrapper(tree, previous=last)
                tree = _run_import_visitor(visitor(self.context), visited)
                self.output_wrapper = visited if tree is visited.module else None
                last = visited
        self.last_wrapper = last
        kept = _without_new_leading_blank_lines(wrapper.module, tree)
        if kept is not tree:
            self.output_wrapper = None
        return kept

    def count_rewrite(self, amount: int = 1) -> None:
        self.state.rewrites[self.name] = self.state.rewrites.get(self.name, 0) + amount

    @property
    def skips_unhandled_subtrees(self) -> bool:
        """May the traversal keep, unvisited, a subtree holding no node this pass has a
        handler for? Yes for a pass whose only callbacks are its handlers, while no TODO
        waits for a statement still to be visited (it is attached when leaving it)."""
        return self._plain_visits and not self._pending_todos and _only_handlers(type(self))

    @property
    def field_hooks_by_name(self) -> bool:
        """Do ``on_visit_attribute``/``on_leave_attribute`` only call this pass's own
        ``visit_<Node>_<field>``/``leave_<Node>_<field>`` methods? (Fast traversals then
        skip the fields that have none.)"""
        return self._plain_visits

    # -- statement tracking for TODO comments -----------------------------------------
    def on_visit(self, node: cst.CSTNode) -> bool:
        if _holds_leading_lines(node):
            self._statements.append(node)
        if not self._plain_visits:
            return super().on_visit(node)
        name = handler_name(type(self), "visit_", type(node))
        return name is None or getattr(self, name)(node) is not False

    def on_visit_attribute(self, node: cst.CSTNode, attribute: str) -> None:
        if not self._plain_visits:
            return super().on_visit_attribute(node, attribute)
        name = handler_name(type(self), "visit_", type(node), attribute)
        if name is not None:
            getattr(self, name)(node)
        return None

    def on_leave_attribute(self, original_node: cst.CSTNode, attribute: str) -> None:
        if not self._plain_visits:
            return super().on_leave_attribute(original_node, attribute)
        name = handler_name(type(self), "leave_", type(original_node), attribute)
        if name is not None:
            getattr(self, name)(original_node)
        return None

    def on_leave(  # type: ignore[override]
        self, original_node: cst.CSTNode, updated_node: cst.CSTNode
    ) -> cst.CSTNode | cst.RemovalSentinel | cst.FlattenSentinel[cst.CSTNode]:
        result: Any = updated_node
        if not self._plain_visits:
            result = super().on_leave(original_node, updated_node)
        elif (name := handler_name(type(self), "leave_", type(original_node))) is not None:
            result = getattr(self, name)(original_node, updated_node)
        if _holds_leading_lines(original_node):
            self._statements.pop()
            messages = self._pending_todos.pop(id(original_node), None)
            if messages and isinstance(result, cst.CSTNode):
                result = add_todo_comments(result, messages)
            elif messages and isinstance(result, cst.FlattenSentinel) and result.nodes:
                first, *rest = result.nodes  # the statement and what a pass put after it
                result = cst.FlattenSentinel([add_todo_comments(first, messages), *rest])
        if isinstance(result, cst.Module) and result.body and result.header:
            result = _without_todos_of_the_header(result)
        return result


def _run_import_visitor(visitor: ContextAwareTransformer, wrapper: MetadataWrapper) -> cst.Module:
    """``visitor.transform_module(wrapper.module)`` without the deep copy of the tree
    libcst makes first (nothing else holds the tree), and with the cheap metadata."""
    with visitor.resolve(wrapper):
        visitor.context = replace(visitor.context, wrapper=wrapper)
        return visitor.transform_module_impl(wrapper.module)


_Owners = ParamSpec("_Owners")
_Derived = TypeVar("_Derived")


def per_object(derive: Callable[_Owners, _Derived]) -> Callable[_Owners, _Derived]:
    """``derive`` remembering its result for the last objects it was given (by identity:
    the index and the plans are not hashable, and one run has one of each), so facts a
    prefilter derives from them are computed once per run, not once per file."""
    last: list[tuple[tuple[Any, ...], _Derived]] = []

    def remembered(*owners: _Owners.args, **no_keywords: _Owners.kwargs) -> _Derived:
        assert not no_keywords, "objects are told apart by position"
        if (
            not last
            or len(last[0][0]) != len(owners)
            or any(known is not given for known, given in zip(last[0][0], owners, strict=True))
        ):
            last[:] = [(owners, derive(*owners, **no_keywords))]
        return last[0][1]

    return remembered


_ONLY_HANDLERS: dict[type, bool] = {}


def _only_handlers(pass_cls: type) -> bool:
    """Are ``Pass``'s the callbacks of ``pass_cls`` (which then only calls handlers)?"""
    found = _ONLY_HANDLERS.get(pass_cls)
    if found is None:
        found = _ONLY_HANDLERS[pass_cls] = keeps_callbacks(pass_cls, Pass)
    return found


#: pass classes without matcher decorators (True) or with them (False)
_PLAIN_PASSES: dict[type, bool] = {}
_STATEMENT_TYPES: dict[type, bool] = {}


def _holds_leading_lines(node: cst.CSTNode) -> bool:
    kind = type(node)
    holds = _STATEMENT_TYPES.get(kind)
    if holds is None:  # once per node type: isinstance on the abstract base is slow
        holds = issubclass(kind, cst.SimpleStatementLine | cst.BaseCompoundStatement)
        _STATEMENT_TYPES[kind] = holds
    return holds


#: typographic characters of our own messages, spelled in ASCII in TODO comments so that
#: a comment fits any source encoding (a latin-1 file has no "→")
ASCII_SPELLING = str.maketrans(
    {"→": "->", "←": "<-", "\u2014": "-", "\u2013": "-", "\u2026": "..."}
)


def _without_new_leading_blank_lines(before: cst.Module, after: cst.Module) -> cst.Module:
    """``after`` beginning with no more blank lines than ``before`` did: the blank line
    that followed a first statement removed (an unused import ``from sqlalchemy.orm
    import Session``) does not start the file."""
    if not after.body or not before.body or len(after.header) != len(before.header):
        return after
    if any(line.comment is not None for line in (*before.header, *after.header)):
        return after  # the file opens with a comment, then whatever was there
    if after.body[0] is before.body[0]:
        return after
    kept = _leading_blank_lines(before.body[0])
    first = after.body[0]
    blank = _leading_blank_lines(first)
    if blank <= kept:
        return after
    lines = list(getattr(first, "leading_lines", ()))[blank - kept :]
    return after.with_changes(body=[first.with_changes(leading_lines=lines), *after.body[1:]])


def _leading_blank_lines(statement: cst.CSTNode) -> int:
    """How many blank lines (no comment) ``statement`` begins with."""
    count = 0
    for line in getattr(statement, "leading_lines", ()):
        if line.comment is not None:
            break
        count += 1
    return count


def todo_comment_text(message: str) -> str:
    return TODO_PREFIX + " ".join(message.translate(ASCII_SPELLING).split())


def _without_todos_of_the_header(module: cst.Module) -> cst.Module:
    """A TODO put above the first statement is read back as the module's header: one
    added there again on a later run is dropped."""
    header = {line.comment.value for line in module.header if line.comment is not None}
    first = module.body[0]
    leading = list(first.leading_lines)
    kept = [
        line
        for line in leading
        if line.comment is None
        or not line.comment.value.startswith(TODO_PREFIX)
        or line.comment.value not in header
    ]
    if len(kept) == len(leading):
        return module
    return module.with_changes(body=[first.with_changes(leading_lines=kept), *module.body[1:]])


def add_todo_comments(statement: cst.CSTNode, messages: list[str]) -> cst.CSTNode:
    """Put one TODO comment per message above ``statement``, skipping ones already there."""
    leading: list[cst.EmptyLine] = list(getattr(statement, "leading_lines", ()))
    present = {line.comment.value for line in leading if line.comment is not None}
    added = [
        cst.EmptyLine(indent=True, comment=cst.Comment(text))
        for text in map(todo_comment_text, messages)
        if text not in present
    ]
    if not added:
        return statement
    return statement.with_changes(leading_lines=[*leading, *added])


def in_sync_greenlet(transformer: Pass, node: cst.CSTNode) -> bool:
    """Is ``node`` in code SQLAlchemy runs synchronously, inside its greenlet: the body of
    ``x.run_sync(lambda ...: <here>)``, or an event listener (``@event.listens_for(...)``,
    or a module-level function given to ``event.listen``), or an Alembic migration script
    or ``env.py`` using only connections of its own? (needs ParentNodeProvider)"""
    if transformer.state.index.alembic_keeps_sync_io(transformer.state.module_name):
        return True
    holder = transformer.get_metadata(ParentNodeProvider, node, None)
    while holder is not None:
        if isinstance(holder, cst.Lambda) and _run_sync_argument(transformer, holder):
            return True
        if isinstance(holder, cst.FunctionDef) and (
            is_event_listener(transformer, holder) or _runs_in_greenlet(transformer, holder)
        ):
            return True
        holder = transformer.get_metadata(ParentNodeProvider, holder, None)
    return False


def function_qualname(transformer: Pass, function: cst.FunctionDef) -> str:
    """``module.Class.method`` (the project index's name for it; needs ParentNodeProvider)."""
    names = [function.name.value]
    holder = transformer.get_metadata(ParentNodeProvider, function, None)
    while holder is not None:
        if isinstance(holder, cst.FunctionDef | cst.ClassDef):
            names.append(holder.name.value)
        holder = transformer.get_metadata(ParentNodeProvider, holder, None)
    return ".".join([transformer.state.module_name, *reversed(names)])


def _runs_in_greenlet(transformer: Pass, function: cst.FunctionDef) -> bool:
    """Is ``function`` one the async plan keeps synchronous, called through ``run_sync``?"""
    plan = transformer.state.index.async_plan
    greenlet: dict[str, object] = getattr(plan, "greenlet", None) or {}
    return bool(greenlet) and function_qualname(transformer, function) in greenlet


def _run_sync_argument(transformer: Pass, function: cst.Lambda) -> bool:
    arg = transformer.get_metadata(ParentNodeProvider, function, None)
    call = transformer.get_metadata(ParentNodeProvider, arg, None) if arg else None
    return (
        isinstance(call, cst.Call)
        and isinstance(call.func, cst.Attribute)
        and call.func.attr.value == "run_sync"
    )


def is_event_listener(transformer: Pass, function: cst.FunctionDef) -> bool:
    """Is ``function`` registered as a SQLAlchemy event listener, by its decorator or by
    ``event.listen(target, "name", function)`` at the module's top level?"""
    from sqla_upgrade.codemods.names import qualified_names

    for decorator in function.decorators:
        target = decorator.decorator
        if isinstance(target, cst.Call) and _spelled_listen(target.func):
            if not qualified_names(transformer, target.func).isdisjoint(EVENT_REGISTRATION):
                return True
    return function.name.value in _listened_names(transformer) or id(
        function
    ) in _listened_functions(transformer)


def _spelled_listen(func: cst.BaseExpression) -> bool:
    """``listen``/``listens_for`` however reached (checked before the qualified names)."""
    name = func.attr.value if isinstance(func, cst.Attribute) else getattr(func, "value", "")
    return isinstance(name, str) and name.startswith("listen")


def _global_function(transformer: Pass, name: cst.Name) -> bool:
    """Is ``name`` (in a function) bound only to a module-level function?"""
    try:
        scope = transformer.get_metadata(ScopeProvider, name, None)
    except KeyError:
        return False
    if scope is None:
        return False
    assignments = list(scope[name.value])
    return bool(assignments) and all(
        isinstance(getattr(a, "node", None), cst.FunctionDef) and isinstance(a.scope, GlobalScope)
        for a in assignments
    )


def _registrations(transformer: Pass) -> list[tuple[cst.Call, cst.Name]]:
    """The module's ``event.listen(target, "name", function)`` calls given a name as the
    function, with that name (remembered for the pass's visit)."""
    found = transformer.__dict__.get("_registrations")
    if found is not None:
        return found
    from sqla_upgrade.codemods.names import qualified_names

    registrations: list[tuple[cst.Call, cst.Name]] = []
    wrapper = transformer.context.wrapper
    module = wrapper.module if wrapper is not None else None

    class Registrations(cst.CSTVisitor):
        def visit_Call(self, call: cst.Call) -> None:
            if len(call.args) < 3 or not _spelled_listen(call.func):
                return
            listener = call.args[2].value
            if not isinstance(listener, cst.Name):
                return
            if qualified_names(transformer, call.func).isdisjoint(EVENT_REGISTRATION):
                return
            registrations.append((call, listener))

    if module is not None:
        module.visit(Registrations())
    transformer.__dict__["_registrations"] = registrations
    return registrations


def _listened_functions(transformer: Pass) -> frozenset[int]:
    """The functions (node ids), nested ones too, that ``event.listen(target, "name",
    function)`` calls anywhere in the module register, by the scope of the name given
    (``def set_up(engine): def on_connect(...): ...; event.listen(engine, "connect",
    on_connect)``)."""
    found = transformer.__dict__.get("_listened_functions")
    if found is not None:
        return found
    ids: set[int] = set()
    for _, listener in _registrations(transformer):
        try:
            scope = transformer.get_metadata(ScopeProvider, listener, None)
        except KeyError:
            continue
        if scope is None:
            continue
        for assignment in scope[listener.value]:
            node = getattr(assignment, "node", None)
            if isinstance(node, cst.FunctionDef):
                ids.add(id(node))
    transformer.__dict__["_listened_functions"] = frozenset(ids)
    return transformer.__dict__["_listened_functions"]


def _listened_names(transformer: Pass) -> frozenset[str]:
    """The functions the module's ``event.listen(target, "name", function)`` calls
    register: at the top level, or in a function registering a module-level one."""
    found = transformer.__dict__.get("_listened")
    if found is not None:
        return found
    wrapper = transformer.context.wrapper
    body = wrapper.module.body if wrapper is not None else ()
    top_level = {
        id(small.value)
        for statement in body
        if isinstance(statement, cst.SimpleStatementLine)
        for small in statement.body
        if isinstance(small, cst.Expr)
    }
    functions = {
        statement.name.value for statement in body if isinstance(statement, cst.FunctionDef)
    }
    names: set[str] = set()
    for call, listener in _registrations(transformer):
        # at the top level any function so named; in a function (``includeme``,
        # ``wire_sqlalchemy``) a module-level function the name is bound to there
        if id(call) in top_level or (
            listener.value in functions and _global_function(transformer, listener)
        ):
            names.add(listener.value)
    transformer.__dict__["_listened"] = frozenset(names)
    return transformer.__dict__["_listened"]


def simple_statements(node: cst.CSTNode) -> list[cst.SimpleStatementLine]:
    """The simple statements in ``node``, nested blocks included (not those of nested
    functions or classes)."""
    found: list[cst.SimpleStatementLine] = []

    class Finder(cst.CSTVisitor):
        def visit_SimpleStatementLine(self, node: cst.SimpleStatementLine) -> bool:
            found.append(node)
            return False

        def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
            return False

        def visit_ClassDef(self, node: cst.ClassDef) -> bool:
            return False

    node.visit(Finder())
    return found
