"""``--strict-loading``: relationships left to lazy loading raise instead of loading.

Before (after ``eager-relationships`` made the relationships the project reads eager)::

    class Post(Base):
        author = relationship("User", back_populates="posts", lazy="selectin")
        tags = relationship("Tag", secondary=post_tags)
        comments = relationship("Comment", backref="post", lazy="dynamic")

After, with ``--strict-loading`` (or ``strict-loading = true`` in ``[tool.sqla-upgrade]``)::

    class Post(Base):
        author = relationship("User", back_populates="posts", lazy="selectin")
        tags = relationship("Tag", secondary=post_tags, lazy="raise_on_sql")
        comments = relationship("Comment", backref=backref("post", lazy="raise_on_sql"), lazy="dynamic")

Which relationships: on a mapped class (declared in a class body) whose code the
migration makes asynchronous, every ``relationship()``/``relation()`` and every
``backref(...)``/``backref="name"`` reverse side whose loading strategy is still lazy
loading once the other passes ran: no ``lazy=`` argument, or ``lazy="select"`` /
``lazy=True``. It gets ``lazy="raise_on_sql"``.

Left alone: any other literal strategy (``selectin``, ``joined``, ``subquery``,
``immediate``, ``write_only``, ``dynamic``, ``noload``, ``raise``, ``raise_on_sql``),
strategies given by an expression, ``dynamic_loader()``, relationships whose names the
migration reads through ``awaitable_attrs`` or another deliberate lazy load
(``AsyncPlan.lazy_read_names``), and everything under ``--target 2.0``.

Safety: under an AsyncSession a lazy load that emits SQL raises ``MissingGreenlet``
anyway, except inside ``run_sync`` and other synchronous bridges where it silently runs
blocking I/O. ``raise_on_sql`` makes every such load raise ``InvalidRequestError`` where it
happens, in tests too, so a lazy load the migration left over is found before production.
Loads that need no SQL (a many-to-one already in the identity map), loader options on
statements (``selectinload``...), ``session.refresh(obj, ["rel"])``, flushes and delete
cascades keep working. Reading a relationship by a name the project never spells
(``getattr(obj, name)``, serializers reading every field) now raises: that is the point,
but review such code when you turn the option on.
"""

from __future__ import annotations

from typing import Any, ClassVar

import libcst as cst
from libcst.codemod.visitors import AddImportsVisitor
from libcst.metadata import BaseMetadataProvider, PositionProvider, QualifiedNameProvider

from sqla_upgrade.codemods.analysis.async_plan import ScopeTracking, plan_of
from sqla_upgrade.codemods.analysis.chains import keyword

STRICT = "raise_on_sql"
#: literal ``lazy=`` values that mean lazy loading (the default)
LAZY_LOADING = frozenset({"select", "True"})
RELATIONSHIP_NAMES = frozenset({"relationship", "relation"})


class StrictLoadingPass(ScopeTracking):
    """--strict-loading: relationships still loaded lazily → lazy="raise_on_sql"."""

    name = "strict-loading"
    targets = frozenset({"async"})
    stage = 2
    triggers = (b"relationship(", b"relation(", b"backref")
    METADATA_DEPENDENCIES: ClassVar[tuple[type[BaseMetadataProvider[Any]], ...]] = (
        PositionProvider,
        QualifiedNameProvider,
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.deliberately_lazy = plan_of(self.state).lazy_read_names

    def _applies(self) -> bool:
        klass = self.enclosing_class()
        if not self.state.options.strict_loading or klass is None:
            return False
        return self.enclosing_function() is None and klass in self.state.index.models

    def leave_Assign(self, original_node: cst.Assign, updated_node: cst.Assign) -> cst.Assign:
        if len(updated_node.targets) != 1 or not self._applies():
            return updated_node
        target = updated_node.targets[0].target
        value = updated_node.value
        if isinstance(target, cst.Name) and isinstance(value, cst.Call):
            return updated_node.with_changes(value=self._strict(original_node, target.value, value))
        return updated_node

    def leave_AnnAssign(
        self, original_node: cst.AnnAssign, updated_node: cst.AnnAssign
    ) -> cst.AnnAssign:
        value = updated_node.value
        target = updated_node.target
        if not isinstance(value, cst.Call) or not isinstance(target, cst.Name):
            return updated_node
        if not self._applies():
            return updated_node
        return updated_node.with_changes(value=self._strict(original_node, target.value, value))

    def _strict(self, statement: cst.CSTNode, name: str, call: cst.Call) -> cst.Call:
        if _callee_name(call) not in RELATIONSHIP_NAMES:
            return call
        owner = (self.enclosing_class() or "").rpartition(".")[2]
        args = [self._strict_backref(statement, f"{owner}.{name}", arg) for arg in call.args]
        if name not in self.deliberately_lazy:
            args = self._strict_arguments(statement, f"{owner}.{name}", args)
        return call.with_changes(args=args) if args != list(call.args) else call

    def _strict_arguments(
        self, statement: cst.CSTNode, what: str, args: list[cst.Arg]
    ) -> list[cst.Arg]:
        """``args`` of the relationship (or backref) ``what`` with the strict strategy."""
        lazy = next((a for a in args if _keyword(a) == "lazy"), None)
        if lazy is not None and _literal(lazy.value) not in LAZY_LOADING:
            return args
        self.count_rewrite()
        self.note(statement, f"{what}: lazy='{STRICT}' (--strict-loading): its lazy loads raise")
        strict = cst.SimpleString(f'"{STRICT}"')
        if lazy is not None:
            return [a.with_changes(value=strict) if a is lazy else a for a in args]
        return append_argument(args, keyword("lazy", strict))

    def _strict_backref(self, statement: cst.CSTNode, owner: str, arg: cst.Arg) -> cst.Arg:
        """``backref="post"`` → ``backref=backref("post", lazy="raise_on_sql")``, and
        ``backref("post", ...)`` without an eager strategy likewise."""
        if _keyword(arg) != "backref":
            return arg
        value = arg.value
        if isinstance(value, cst.SimpleString):
            name = _literal(value)
            if name is None or name in self.deliberately_lazy:
                return arg
            AddImportsVisitor.add_needed_import(self.context, "sqlalchemy.orm", "backref")
            first = cst.Arg(value, comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
            self.count_rewrite()
            self.note(statement, _backref_note(name, owner))
            strict_call = cst.Call(
                func=cst.Name("backref"),
                args=[first, keyword("lazy", cst.SimpleString(f'"{STRICT}"'))],
            )
            return arg.with_changes(value=strict_call)
        if isinstance(value, cst.Call) and _callee_name(value) == "backref" and value.args:
            name = _literal(value.args[0].value)
            if name is None or name in self.deliberately_lazy:
                return arg
            args = self._strict_arguments(
                statement, f"backref {name!r} of {owner}", list(value.args)
            )
            if args != list(value.args):
                return arg.with_changes(value=value.with_changes(args=args))
        return arg


def _backref_note(name: str, owner: str) -> str:
    return f"backref {name!r} of {owner}: lazy='{STRICT}' (--strict-loading): its lazy loads raise"


def _callee_name(call: cst.Call) -> str | None:
    func = call.func
    if isinstance(func, cst.Attribute):
        return func.attr.value
    return func.value if isinstance(func, cst.Name) else None


def _keyword(arg: cst.Arg) -> str | None:
    return arg.keyword.value if arg.keyword is not None else None


def _literal(node: cst.BaseExpression) -> str | None:
    """A string literal's value, or ``True``/``False``/``None`` spelled as a name."""
    if isinstance(node, cst.SimpleString):
        value = node.evaluated_value
        return value if isinstance(value, str) else None
    if isinstance(node, cst.Name) and node.value in {"True", "False", "None"}:
        return node.value
    return None


def append_argument(args: list[cst.Arg], extra: cst.Arg) -> list[cst.Arg]:
    """``args`` plus ``extra`` at the end, in the layout of the call (one argument per
    line stays one argument per line; a trailing comma stays trailing)."""
    if not args:
        return [extra]
    last = args[-1]
    if isinstance(last.comma, cst.MaybeSentinel):
        joined = last.with_changes(
            comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")),
            whitespace_after_arg=cst.SimpleWhitespace(""),
        )
        return [
            *args[:-1],
            joined,
            extra.with_changes(whitespace_after_arg=last.whitespace_after_arg),
        ]
    between = (
        args[-2].comma if len(args) > 1 else cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
    )
    return [*args[:-1], last.with_changes(comma=between), extra.with_changes(comma=last.comma)]
