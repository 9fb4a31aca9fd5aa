"""Reload the ORM objects a function reads after ``commit()``, as the legacy code did.

A synchronous ``Session`` expires every object on ``commit()`` (``expire_on_commit``),
so the next read of an object reloads it: server defaults and ``onupdate`` values,
triggers' changes and collections in their ``order_by`` order come back from the
database. The async session factories run with ``expire_on_commit=False`` (a read of an
expired attribute would be I/O the code cannot await), so objects keep what the code
assigned. To keep the legacy results, each object that is persistent at the commit and
read after it is refreshed right there, with the query the legacy read would have run.

Before::

    async def rename(post_id, title):
        post = await session.get(Post, post_id)
        post.title = title
        await session.commit()
        return post.to_dict()

After::

    async def rename(post_id, title):
        post = await session.get(Post, post_id)
        post.title = title
        await session.commit()
        await session.refresh(post)
        return post.to_dict()

Safety: only variables whose model class is known (constructed, then ``session.add()``-ed,
or fetched one row at a time: ``session.get``, ``scalars(select(M)).first()``,
``first_or_404``...), not deleted before the commit and read (not re-assigned) after it,
in the same ``async def``. Lists of objects are not refreshed.
"""

from __future__ import annotations

from typing import Any, ClassVar

import libcst as cst
from libcst.metadata import (
    BaseMetadataProvider,
    ParentNodeProvider,
    PositionProvider,
    ScopeProvider,
)

from sqla_upgrade.codemods.analysis.async_plan import CallResolver, ScopeTracking
from sqla_upgrade.codemods.analysis.io_calls import IoDetector
from sqla_upgrade.codemods.base import ANALYSIS_METADATA


class RefreshAfterCommitPass(ScopeTracking):
    """await session.refresh(obj) after commit() for objects read afterwards."""

    name = "refresh-after-commit"
    targets = frozenset({"async"})
    stage = 2
    triggers = (b"commit",)
    METADATA_DEPENDENCIES: ClassVar[tuple[type[BaseMetadataProvider[Any]], ...]] = ANALYSIS_METADATA

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.io = IoDetector(self)
        self.calls = CallResolver(self)
        # id of an updated commit statement → the refresh statements to put after it
        self.refreshes: dict[int, list[cst.SimpleStatementLine]] = {}

    # -- commits --------------------------------------------------------------------------------
    def leave_SimpleStatementLine(
        self, original_node: cst.SimpleStatementLine, updated_node: cst.SimpleStatementLine
    ) -> cst.SimpleStatementLine:
        session = self._committed_session(original_node)
        function = self.enclosing_function()
        if session is None or function is None:
            return updated_node
        if function.asynchronous is None:
            return updated_node
        names = self._stale_objects(function, original_node)
        if names:
            self.refreshes[id(updated_node)] = [_refresh(session, name) for name in names]
        return updated_node

    def _committed_session(self, statement: cst.SimpleStatementLine) -> cst.BaseExpression | None:
        """``session`` for the statement ``await session.commit()``."""
        if len(statement.body) != 1 or not isinstance(statement.body[0], cst.Expr):
            return None
        value = statement.body[0].value
        if not isinstance(value, cst.Await) or not isinstance(value.expression, cst.Call):
            return None
        func = value.expression.func
        if not (isinstance(func, cst.Attribute) and func.attr.value == "commit"):
            return None
        return func.value if self.io.is_session(func.value) else None

    def _stale_objects(self, function: cst.FunctionDef, commit: cst.CSTNode) -> list[str]:
        """Variables holding one persistent ORM object that are read after ``commit``."""
        end = self.get_metadata(PositionProvider, commit).end
        commit_at = (end.line, end.column)
        before: list[cst.Name] = []
        after: list[cst.Name] = []
        for name in _names(function.body):
            position = self.get_metadata(PositionProvider, name, None)
            if position is None:
                continue
            start = (position.start.line, position.start.column)
            (before if start < commit_at else after).append(name)
        stale: list[str] = []
        seen: set[str] = set()
        for name in after:
            if name.value in seen:
                continue  # only the first use after the commit counts
            seen.add(name.value)
            if not self._is_assignment_target(name) and self._persistent_object(name, before):
                stale.append(name.value)
        return stale

    def _persistent_object(self, name: cst.Name, before: list[cst.Name]) -> bool:
        klass = self.calls.instance_class(name)
        if klass is None or klass not in self.state.index.models:
            return False
        uses = [n for n in before if n.value == name.value]
        if any(self._argument_of(n, ("delete", "expunge")) for n in uses):
            return False
        if self._constructed(name):
            return any(self._argument_of(n, ("add", "merge")) for n in uses)
        return bool(uses)

    def _constructed(self, name: cst.Name) -> bool:
        """Is ``name`` assigned ``Model(...)`` (a new object) rather than fetched?"""
        scope = self.get_metadata(ScopeProvider, name, None)
        if scope is None:
            return False
        for assignment in scope[name.value]:
            bound = getattr(assignment, "node", None)
            parent = self.get_metadata(ParentNodeProvider, bound, None) if bound else None
            holder = self.get_metadata(ParentNodeProvider, parent, None) if parent else None
            if isinstance(holder, cst.Assign) and isinstance(holder.value, cst.Call):
                if self.calls.instance_class(holder.value) is not None:
                    return True
        return False

    def _argument_of(self, name: cst.Name, methods: tuple[str, ...]) -> bool:
        """Is ``name`` the first argument of ``session.<method>(name)``?"""
        arg = self.get_metadata(ParentNodeProvider, name, None)
        call = self.get_metadata(ParentNodeProvider, arg, None) if arg else None
        return (
            isinstance(arg, cst.Arg)
            and isinstance(call, cst.Call)
            and isinstance(call.func, cst.Attribute)
            and call.func.attr.value in methods
            and bool(call.args)
            and call.args[0] is arg
        )

    def _is_assignment_target(self, name: cst.Name) -> bool:
        parent = self.get_metadata(ParentNodeProvider, name, None)
        return isinstance(parent, cst.AssignTarget | cst.AugAssign | cst.For) and (
            getattr(parent, "target", None) is name
        )

    # -- insertion --------------------------------------------------------------------------------
    def leave_IndentedBlock(
        self, original_node: cst.IndentedBlock, updated_node: cst.IndentedBlock
    ) -> cst.IndentedBlock:
        if not self.refreshes:
            return updated_node
        body: list[cst.BaseStatement] = []
        statements = list(updated_node.body)
        for position, statement in enumerate(statements):
            body.append(statement)
            refreshes = self.refreshes.pop(id(statement), [])
            following = statements[position + 1 : position + 1 + len(refreshes)]
            for refresh in refreshes:
                if any(refresh.deep_equals(existing) for existing in following):
                    continue
                self.count_rewrite()
                body.append(refresh)
        return updated_node.with_changes(body=body)


def _refresh(session: cst.BaseExpression, name: str) -> cst.SimpleStatementLine:
    call = cst.Call(
        func=cst.Attribute(value=session.deep_clone(), attr=cst.Name("refresh")),
        args=[cst.Arg(cst.Name(name))],
    )
    return cst.SimpleStatementLine(body=[cst.Expr(cst.Await(expression=call))])


def _names(body: cst.CSTNode) -> list[cst.Name]:
    """Every ``Name`` in ``body`` outside nested functions, classes and lambdas."""
    found: list[cst.Name] = []

    class Collector(cst.CSTVisitor):
        def visit_Name(self, node: cst.Name) -> None:
            found.append(node)

        def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
            return False

        def visit_ClassDef(self, node: cst.ClassDef) -> bool:
            return False

        def visit_Lambda(self, node: cst.Lambda) -> bool:
            return False

        def visit_Arg(self, node: cst.Arg) -> bool:
            node.value.visit(self)  # ``f(post=x)``: the keyword is not a use
            return False

        def visit_Attribute(self, node: cst.Attribute) -> bool:
            node.value.visit(self)  # ``post.title``: ``post`` is a use, ``title`` is not
            return False

    body.visit(Collector())
    return found
