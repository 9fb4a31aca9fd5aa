"""Load, with the query that produces them, the relationships the code reads later.

Before::

    def recent(session):
        return session.scalars(select(Post).order_by(Post.id.desc())).all()

    # services.py
    for post in repository.recent(session):
        print(post.author.name, len(post.comments))
        for comment in post.comments:
            print(comment.author.name)

After::

    def recent(session):
        return session.scalars(
            select(Post).order_by(Post.id.desc()).options(
                joinedload(Post.author),
                selectinload(Post.comments).joinedload(Comment.author),
            )
        ).all()

``session.get(Post, pk)`` gets ``options=[...]``; an object constructed, added and
flushed in the same function whose unassigned relationship is read afterwards gets
``session.refresh(obj, ["rel"])`` before the read; a relationship read on an object
whose producer cannot take options (``session.merge()``) in code that becomes async is
read with ``await obj.awaitable_attrs.rel`` (the declarative base gets the
``AsyncAttrs`` mixin).

A recursive walk of a self-referential relationship (a function reading
``node.children`` and calling itself, directly or through others, on the children; a
loop ``while node: node = node.parent``) reads every level of it:
``selectinload(Node.children, recursion_depth=-1)`` (SQLAlchemy 2.0) loads them all, and
what the walk reads on each level is chained after it
(``selectinload(Node.children, recursion_depth=-1).joinedload(Node.owner)``). A walk on
objects whose query is not known gets a TODO where it reads the relationship.

A read of an association proxy (``keywords = association_proxy("kw_links",
"keyword")``) reads the relationships it goes through:
``selectinload(Article.kw_links).joinedload(ArticleKeyword.keyword)`` (only the first
when the proxied attribute is a column). A query of a base class of a polymorphic
hierarchy returns subclass objects without their own attributes (joined- or
single-table), so reading one (a column, a relationship, a method) adds
``selectin_polymorphic(Employee, [Engineer])``, or ``.selectin_polymorphic([Engineer])``
down a relationship chain; subclasses whose mapper sets ``polymorphic_load`` (or a base
with ``"with_polymorphic": "*"``) are loaded already. Such a read on objects whose query
is unknown gets a TODO.

Safety: an AsyncSession cannot lazy-load. The reads are found by
``analysis.eager_loads`` (through variables, loops, comprehensions, results, returns and
parameters of project functions in any module); a statement serving several consumers
loads the union of what they read. ``selectinload`` is used for collections (and for
relationships whose direction cannot be told), ``joinedload`` for many-to-one and
one-to-one, so no ``.unique()`` is needed; relationships loaded eagerly anyway are
reached with ``defaultload``. Options already on the statement are kept and not
repeated. Results are the same; only when related rows are fetched changes. Reads whose
producer cannot be determined keep the relationship-level ``lazy="selectin"`` of
``eager-relationships``.
"""

from __future__ import annotations

from typing import Any, ClassVar

import libcst as cst
from libcst.codemod.visitors import AddImportsVisitor
from libcst.metadata import BaseMetadataProvider, CodeRange, PositionProvider

from sqla_upgrade.codemods.analysis.async_plan import ScopeTracking
from sqla_upgrade.codemods.analysis.chains import keyword
from sqla_upgrade.codemods.analysis.eager_loads import (
    AWAITABLE_ATTRS,
    STATEMENT_RUNNERS,
    EagerPlan,
    Producer,
    Refresh,
    Span,
    Step,
)
from sqla_upgrade.codemods.base import per_object
from sqla_upgrade.codemods.codegen import code_of

DECLARATIVE_BASE_CLASSES = frozenset(
    {
        "sqlalchemy.orm.DeclarativeBase",
        "sqlalchemy.orm.DeclarativeBaseNoMeta",
        "sqlalchemy.orm.decl_api.DeclarativeBase",
    }
)
ASYNC_ATTRS = "AsyncAttrs"


def _span(position: CodeRange) -> Span:
    return (position.start.line, position.start.column, position.end.line, position.end.column)


class EagerOptionsPass(ScopeTracking):
    """select(M)... → select(M)....options(selectinload(M.rel), ...) for what is read."""

    name = "eager-options"
    targets = frozenset({"async"})
    stage = 2
    triggers = ()  # reads through parameters can be in any file
    METADATA_DEPENDENCIES: ClassVar[tuple[type[BaseMetadataProvider[Any]], ...]] = (
        PositionProvider,
    )

    @classmethod
    def concerns(cls, code: bytes, path: str, index: Any) -> bool:
        """Only files where the eager plan puts options, refreshes, awaited reads or the
        ``AsyncAttrs`` mixin."""
        plan = index.eager_plan
        if not isinstance(plan, EagerPlan):
            return True
        files, bases = _work_of(plan)
        return path in files or any(base in code for base in bases)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        plan = self.state.index.eager_plan
        self.plan = plan if isinstance(plan, EagerPlan) else EagerPlan()
        path = self.state.path
        self.awaitable = {span for file, span in self.plan.awaitable_reads if file == path}
        self.subclass_todos = self.plan.todos_in(path)
        self.refreshes: dict[tuple[int, int], list[Refresh]] = {}
        for refresh in self.plan.refreshes:
            if refresh.path == path:
                self.refreshes.setdefault(refresh.before[:2], []).append(refresh)
        module = self.state.module_name
        self.bases = {
            b.rpartition(".")[2]
            for b in self.plan.async_attrs_bases
            if b.rpartition(".")[0] == module
        }

    def visit_Module(self, node: cst.Module) -> None:
        self.lines = code_of(node).splitlines()

    def _indent_at(self, line: int) -> str:
        """The indentation of source line ``line`` (1-based)."""
        text = self.lines[line - 1] if 0 < line <= len(self.lines) else ""
        return text[: len(text) - len(text.lstrip())]

    def _span_of(self, node: cst.CSTNode) -> Span:
        return _span(self.get_metadata(PositionProvider, node))

    # -- statements and session.get ----------------------------------------------------
    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.BaseExpression:
        func = updated_node.func
        self._todo_at(original_node)
        if not isinstance(func, cst.Attribute) or not original_node.args:
            return updated_node
        self._todo_at(original_node.args[0].value)
        method = func.attr.value
        if method in STATEMENT_RUNNERS:
            first = original_node.args[0]
            producer = self.plan.options_for(self.state.path, self._span_of(first.value))
            if producer is not None and producer.kind == "statement":
                indent = self._indent_at(self.get_metadata(PositionProvider, first.value).end.line)
                statement = _with_options(
                    updated_node.args[0].value, self._options(producer), indent
                )
                args = [updated_node.args[0].with_changes(value=statement), *updated_node.args[1:]]
                self.count_rewrite()
                return updated_node.with_changes(args=args)
        if method in ("get", "get_one"):
            producer = self.plan.options_for(self.state.path, self._span_of(original_node))
            if producer is not None and producer.kind == "get":
                self.count_rewrite()
                indent = self._indent_at(
                    self.get_metadata(PositionProvider, original_node).end.line
                )
                return _get_with_options(updated_node, self._options(producer), indent)
        return updated_node

    def _options(self, producer: Producer) -> list[cst.BaseExpression]:
        options: list[cst.BaseExpression] = []
        for chain in producer.chains:
            option: cst.BaseExpression | None = None
            for step in chain:
                options_import(self, step, first=option is None)
                loader = (
                    cst.Name(step.loader)
                    if option is None
                    else cst.Attribute(value=option, attr=cst.Name(step.loader))
                )
                option = cst.Call(func=loader, args=_step_arguments(step, first=option is None))
            if option is not None:
                options.append(option)
        return options

    def _todo_at(self, node: cst.CSTNode) -> None:
        """The TODO the plan has for a read (or a producer) at ``node``."""
        if self.subclass_todos:
            message = self.subclass_todos.get(self._span_of(node))
            if message is not None:
                self.todo(node, message)

    # -- awaitable_attrs ---------------------------------------------------------------------
    def leave_Attribute(
        self, original_node: cst.Attribute, updated_node: cst.Attribute
    ) -> cst.BaseExpression:
        self._todo_at(original_node)
        if not self.awaitable or self._span_of(original_node) not in self.awaitable:
            return updated_node
        self.count_rewrite()
        awaitable = cst.Attribute(
            value=cst.Attribute(value=updated_node.value, attr=cst.Name(AWAITABLE_ATTRS)),
            attr=updated_node.attr,
        )
        return cst.Await(
            expression=awaitable,
            lpar=[cst.LeftParen()],
            rpar=[cst.RightParen()],
        )

    # -- refresh(obj, ["rel"]) for new objects -------------------------------------------------
    def leave_IndentedBlock(
        self, original_node: cst.IndentedBlock, updated_node: cst.IndentedBlock
    ) -> cst.IndentedBlock:
        body = self._with_refreshes(original_node.body, updated_node.body)
        return updated_node.with_changes(body=body) if body is not None else updated_node

    def leave_Module(self, original_node: cst.Module, updated_node: cst.Module) -> cst.Module:
        body = self._with_refreshes(original_node.body, updated_node.body)
        return updated_node.with_changes(body=body) if body is not None else updated_node

    def _with_refreshes(self, original: Any, updated: Any) -> list[cst.BaseStatement] | None:
        if not self.refreshes or len(original) != len(updated):
            return None
        body: list[cst.BaseStatement] = []
        changed = False
        for before, after in zip(original, updated, strict=True):
            start = self.get_metadata(PositionProvider, before).start
            for refresh in self.refreshes.pop((start.line, start.column), []):
                body.append(_refresh_statement(refresh))
                self.count_rewrite()
                changed = True
            body.append(after)
        return body if changed else None

    # -- the AsyncAttrs mixin ----------------------------------------------------------------------
    def leave_ClassDef(
        self, original_node: cst.ClassDef, updated_node: cst.ClassDef
    ) -> cst.BaseStatement | cst.FlattenSentinel[cst.BaseStatement] | cst.RemovalSentinel:
        top_level = self.enclosing_class() == f"{self.state.module_name}.{original_node.name.value}"
        updated = super().leave_ClassDef(original_node, updated_node)
        if not top_level or original_node.name.value not in self.bases:
            return updated
        assert isinstance(updated, cst.ClassDef)
        names = [_dotted(a.value) for a in updated.bases]
        if any(n.rpartition(".")[2] == ASYNC_ATTRS for n in names):
            return updated
        AddImportsVisitor.add_needed_import(self.context, "sqlalchemy.ext.asyncio", ASYNC_ATTRS)
        self.count_rewrite()
        if not updated.bases and not updated.keywords:  # ``class Base:`` (``@as_declarative()``)
            return updated.with_changes(bases=[cst.Arg(cst.Name(ASYNC_ATTRS))])
        mixin = cst.Arg(
            cst.Name(ASYNC_ATTRS), comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
        )
        return updated.with_changes(bases=[mixin, *updated.bases])

    def leave_Assign(self, original_node: cst.Assign, updated_node: cst.Assign) -> cst.Assign:
        if self.enclosing_function() is not None or self.enclosing_class() is not None:
            return updated_node
        targets = [t.target for t in updated_node.targets]
        value = updated_node.value
        if (
            len(targets) != 1
            or not isinstance(targets[0], cst.Name)
            or targets[0].value not in self.bases
            or not isinstance(value, cst.Call)
        ):
            return updated_node
        if any(a.keyword is not None and a.keyword.value == "cls" for a in value.args):
            if not any(_dotted(a.value).endswith(ASYNC_ATTRS) for a in value.args):
                self.todo(
                    original_node,
                    "relationships of these models are read with awaitable_attrs: "
                    "add sqlalchemy.ext.asyncio.AsyncAttrs to the declarative base's cls",
                )
            return updated_node
        AddImportsVisitor.add_needed_import(self.context, "sqlalchemy.ext.asyncio", ASYNC_ATTRS)
        self.count_rewrite()
        args = list(value.args)
        if args and isinstance(args[-1].comma, cst.MaybeSentinel):
            args[-1] = args[-1].with_changes(
                comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
            )
        args.append(keyword("cls", cst.Name(ASYNC_ATTRS)))
        return updated_node.with_changes(value=value.with_changes(args=args))


@per_object
def _work_of(plan: EagerPlan) -> tuple[set[str], set[bytes]]:
    """The paths of the files where ``plan`` puts options, awaited reads or refreshes, and
    the names of the bases it gives ``AsyncAttrs``."""
    files = {path for (path, _), producer in plan.producers.items() if producer.chains}
    files |= {path for path, _ in plan.awaitable_reads}
    files |= {refresh.path for refresh in plan.refreshes}
    files |= {path for path, _ in plan.subclass_todos}
    bases = {base.rpartition(".")[2].encode() for base in plan.async_attrs_bases}
    return files, bases


def options_import(transformer: EagerOptionsPass, step: Step, first: bool = True) -> None:
    """The imports a step of an option chain needs: its loader, and the classes it names
    (``.selectin_polymorphic([...])`` down a chain is a method only)."""
    if first or step.loader != "selectin_polymorphic":
        AddImportsVisitor.add_needed_import(transformer.context, "sqlalchemy.orm", step.loader)
    needed = [step.owner_import] if step.owner_import is not None and step.owner else []
    for module, name in [*needed, *step.class_imports]:
        AddImportsVisitor.add_needed_import(transformer.context, module, name)


def _step_arguments(step: Step, first: bool) -> list[cst.Arg]:
    """``(Post.comments)``; ``(Employee, [Engineer])`` for ``selectin_polymorphic``, and
    ``([Engineer])`` down a chain."""
    if step.loader != "selectin_polymorphic":
        owner = cst.parse_expression(step.owner)
        attribute = cst.Arg(cst.Attribute(value=owner, attr=cst.Name(step.attr)))
        if not step.recursive:
            return [attribute]
        depth = cst.UnaryOperation(operator=cst.Minus(), expression=cst.Integer("1"))
        return [attribute.with_changes(comma=_comma()), keyword("recursion_depth", depth)]
    classes = [cst.Element(cst.parse_expression(name), comma=_comma()) for name in step.classes]
    classes[-1] = classes[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
    listed = cst.Arg(cst.List(classes))
    return (
        [cst.Arg(cst.parse_expression(step.owner), comma=_comma()), listed] if first else [listed]
    )


def _dotted(node: cst.BaseExpression) -> str:
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        return f"{_dotted(node.value)}.{node.attr.value}"
    return ""


def _comma() -> cst.Comma:
    return cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))


def _joined(args: list[cst.Arg]) -> list[cst.Arg]:
    return [a.with_changes(comma=_comma()) for a in args[:-1]] + args[-1:]


def _with_options(
    statement: cst.BaseExpression, options: list[cst.BaseExpression], indent: str
) -> cst.BaseExpression:
    """``statement`` with ``options`` added to its outermost ``.options(...)`` call, or
    to a new one at its end."""
    node = statement
    while isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute):
        if node.func.attr.value == "options":
            merged = _joined([*node.args, *(cst.Arg(o) for o in options)])
            return _replace(statement, node, node.with_changes(args=merged))
        node = node.func.value
    owner = statement
    if isinstance(statement, cst.Await | cst.BinaryOperation | cst.BooleanOperation):
        owner = statement.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])
    call = cst.Call(
        func=cst.Attribute(value=owner, attr=cst.Name("options")),
        args=_joined([cst.Arg(o) for o in options]),
    )
    return _one_per_line(call, indent) if _long(options) else call


def _long(options: list[cst.BaseExpression]) -> bool:
    """Several options, or a long one: one per line reads better."""
    return len(options) > 1 or len(cst.Module([]).code_for_node(options[0])) > 60


def _line_break(indent: str) -> cst.ParenthesizedWhitespace:
    return cst.ParenthesizedWhitespace(
        first_line=cst.TrailingWhitespace(), indent=False, last_line=cst.SimpleWhitespace(indent)
    )


def _one_per_line(call: cst.Call, indent: str) -> cst.Call:
    """``f(a, b)`` → ``f(`` / ``a,`` / ``b,`` / ``)``, one indentation step in from the
    line the call ends on."""
    inner = _line_break(indent + "    ")
    args = [a.with_changes(comma=cst.Comma(whitespace_after=inner)) for a in call.args]
    args[-1] = args[-1].with_changes(comma=cst.Comma(whitespace_after=_line_break(indent)))
    return call.with_changes(whitespace_before_args=inner, args=args)


def _replace(root: cst.BaseExpression, old: cst.CSTNode, new: cst.CSTNode) -> cst.BaseExpression:
    if root is old:
        assert isinstance(new, cst.BaseExpression)
        return new
    assert isinstance(root, cst.Call) and isinstance(root.func, cst.Attribute)
    inner = _replace(root.func.value, old, new)
    return root.with_changes(func=root.func.with_changes(value=inner))


def _get_with_options(call: cst.Call, options: list[cst.BaseExpression], indent: str) -> cst.Call:
    """``session.get(M, pk)`` → ``session.get(M, pk, options=[...])``, merged into a
    literal ``options=[...]`` already there."""
    args = list(call.args)
    for position, arg in enumerate(args):
        if arg.keyword is not None and arg.keyword.value == "options":
            assert isinstance(arg.value, cst.List)
            elements = [*arg.value.elements, *(cst.Element(o) for o in options)]
            elements = [e.with_changes(comma=_comma()) for e in elements[:-1]] + [
                elements[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
            ]
            args[position] = arg.with_changes(value=arg.value.with_changes(elements=elements))
            return call.with_changes(args=args)
    if _long(options):
        inner = _line_break(indent + "    ")
        elements = [cst.Element(o, comma=cst.Comma(whitespace_after=inner)) for o in options]
        elements[-1] = elements[-1].with_changes(
            comma=cst.Comma(whitespace_after=_line_break(indent))
        )
        listed = cst.List(elements, lbracket=cst.LeftSquareBracket(whitespace_after=inner))
    else:
        listed = cst.List(
            [cst.Element(o, comma=_comma()) for o in options[:-1]] + [cst.Element(options[-1])]
        )
    if isinstance(args[-1].comma, cst.MaybeSentinel):
        args[-1] = args[-1].with_changes(comma=_comma())
    args.append(keyword("options", listed))
    return call.with_changes(args=args)


def _refresh_statement(refresh: Refresh) -> cst.SimpleStatementLine:
    names = cst.List(
        [cst.Element(cst.SimpleString(f'"{n}"'), comma=_comma()) for n in refresh.names[:-1]]
        + [cst.Element(cst.SimpleString(f'"{refresh.names[-1]}"'))]
    )
    session = cst.parse_expression(refresh.session)
    call = cst.Call(
        func=cst.Attribute(value=session, attr=cst.Name("refresh")),
        args=[cst.Arg(cst.Name(refresh.variable), comma=_comma()), cst.Arg(names)],
    )
    return cst.SimpleStatementLine([cst.Expr(call)])
