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
``first_or_404``...), or parameters every call of the function (all of them seen) hands
objects of one model, on which the function reads a mapped attribute (one object, not a
list of them; refreshed under ``if obj in session:``, what the legacy commit expired),
not deleted before the commit and read (not re-assigned) after it, in the same
``async def``. Lists of objects are not refreshed. An object given an
attribute computed in SQL before the commit (``post.views = Post.views + 1``, which the
flush expires even without ``expire_on_commit``) is refreshed when it is read after the
commit or is a parameter, whose caller may read it.
"""

from __future__ import annotations

import functools
from typing import Any, ClassVar

import libcst as cst
from libcst.metadata import (
    BaseMetadataProvider,
    ParentNodeProvider,
    ScopeProvider,
)

from sqla_upgrade.codemods.analysis.async_plan import CallResolver, ScopeTracking
from sqla_upgrade.codemods.analysis.io_calls import IoDetector
from sqla_upgrade.codemods.base import ANALYSIS_METADATA
from sqla_upgrade.codemods.names import qualified_names


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
        self.refreshes: dict[int, list[cst.BaseStatement]] = {}
        #: parameters typed by what every caller hands them (not by an annotation), in
        #: the function being visited: their refresh is guarded by ``obj in session``
        self._handed_objects: set[str] = set()

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
        self._handed_objects = set()
        stale = self._stale_objects(function, original_node)
        if stale:
            self.refreshes[id(updated_node)] = [
                statement
                for name, relationships in stale
                for statement in _refresh(
                    session,
                    name,
                    guarded=self._may_be_none(name, original_node),
                    relationships=relationships,
                    in_session=name in self._handed_objects,
                )
            ]
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

    def _stale_objects(
        self, function: cst.FunctionDef, commit: cst.CSTNode
    ) -> list[tuple[str, list[str]]]:
        """Variables holding one persistent ORM object that are read after ``commit``,
        each with the relationships of its class read on it afterwards."""
        # source order, not positions (which cost a code generation of the whole file);
        # an awaited commit is never in a class body, the one place the walk skips
        before, after = _names(function.body, until=commit)
        # a comprehension's own variables are other variables of the same name
        scope = self.get_metadata(ScopeProvider, commit, None)
        before = [n for n in before if self.get_metadata(ScopeProvider, n, None) is scope]
        after = [n for n in after if self.get_metadata(ScopeProvider, n, None) is scope]
        stale: list[tuple[str, list[str]]] = []
        seen: set[str] = set()
        for name in after:
            if name.value in seen:
                continue  # only the first use after the commit counts
            seen.add(name.value)
            if not self._is_assignment_target(name) and self._persistent_object(name, before):
                stale.append((name.value, self._relationships_read(name, after)))
        for given in self._given_sql_expressions(before):
            if all(given.value != n for n, _ in stale) and (
                given.value in seen or self.calls.is_parameter(given)
            ):
                stale.append((given.value, []))
        return stale

    def _relationships_read(self, first: cst.Name, after: list[cst.Name]) -> list[str]:
        """The relationships of ``first``'s class read on it (``post.comments``) from its
        first use after the commit on, until it is assigned again: ``refresh(post)``
        unloads the ones loaded by then (lazy loading would reload them), so they are
        refreshed by name too."""
        index = self.state.index
        model = index.model(self._object_class(first))
        if model is None:
            return []
        found: list[str] = []
        for name in after[after.index(first) :]:
            if name.value != first.value:
                continue
            if name is not first and self._is_assignment_target(name):
                break
            attribute = self.get_metadata(ParentNodeProvider, name, None)
            if not (isinstance(attribute, cst.Attribute) and attribute.value is name):
                continue
            key = attribute.attr.value
            facts = index.relationship_facts(model, key)
            if facts is None or key in found or facts.lazy in UNREFRESHABLE:
                continue
            found.append(key)
        return found

    def _given_sql_expressions(self, before: list[cst.Name]) -> list[cst.Name]:
        """Of the names used before the commit, those of objects given an attribute
        computed in SQL (``post.views = Post.views + 1``): the flush expires that
        attribute whatever ``expire_on_commit`` says, so its next read, here or in a
        caller handed the object, would load it (MissingGreenlet); legacy code reloaded
        it there."""
        parent = functools.partial(self.get_metadata, ParentNodeProvider, default=None)
        found: list[cst.Name] = []
        for name in before:
            attribute = parent(name)
            if not (isinstance(attribute, cst.Attribute) and attribute.value is name):
                continue
            target = parent(attribute)
            assign = parent(target) if isinstance(target, cst.AssignTarget) else None
            if (
                isinstance(assign, cst.Assign)
                and len(assign.targets) == 1
                and all(f.value != name.value for f in found)
                and self._column_of_a_model_in(assign.value, attribute.attr.value)
            ):
                found.append(name)
        return found

    def _column_of_a_model_in(self, value: cst.BaseExpression, column: str) -> bool:
        """Does ``value`` read ``Model.<column>`` of a model of the project?"""
        models = self.state.index.models
        found = False
        transformer = self

        class Finder(cst.CSTVisitor):
            def visit_Attribute(self, node: cst.Attribute) -> None:
                nonlocal found
                if node.attr.value == column and not found:
                    found = bool(qualified_names(transformer, node.value) & models.keys())

        value.visit(Finder())
        return found

    def _object_class(self, name: cst.Name) -> str | None:
        """The model of the object ``name`` holds: told by its bindings (see
        ``instance_class``), or, for a parameter, by what every call of the function hands
        it (one model's objects) where the function reads one of the model's mapped
        attributes on it (so it holds one object, not a list of them)."""
        klass = self.calls.instance_class(name)
        if klass is not None or not self.calls.is_parameter(name):
            return klass
        plan = self.state.index.eager_plan
        models: dict[tuple[str, str], str] = getattr(plan, "param_models", None) or {}
        function = self.function_qualname()
        if function is None:
            return None
        klass = models.get((function, name.value))
        model = self.state.index.model(klass) if klass else None
        if model is None or not self._reads_mapped_attribute(name, model):
            return None
        self._handed_objects.add(name.value)
        return klass

    def _reads_mapped_attribute(self, name: cst.Name, model: Any) -> bool:
        function = self.enclosing_function()
        if function is None:
            return False
        index = self.state.index
        found = False
        owner = self

        class Reads(cst.CSTVisitor):
            def visit_Attribute(self, node: cst.Attribute) -> None:
                nonlocal found
                if found or not (
                    isinstance(node.value, cst.Name) and node.value.value == name.value
                ):
                    return
                if owner.get_metadata(ScopeProvider, node.value, None) is not owner.get_metadata(
                    ScopeProvider, name, None
                ):
                    return
                key = node.attr.value
                found = index.relationship_facts(model, key) is not None or _has_column(
                    index, model, key
                )

        function.body.visit(Reads())
        return found

    def _persistent_object(self, name: cst.Name, before: list[cst.Name]) -> bool:
        klass = self._object_class(name)
        if klass is None or klass not in self.state.index.models:
            return False
        uses = [n for n in before if n.value == name.value]
        if any(self._argument_of(n, ("delete", "expunge")) for n in uses):
            return False
        if self._constructed(name):
            return any(self._argument_of(n, ("add", "merge")) for n in uses)
        return bool(uses)

    def _may_be_none(self, name: str, commit: cst.SimpleStatementLine) -> bool:
        """Can ``name`` hold ``None`` at the commit (``get()``, ``first()``, a helper's
        result)? Then the refresh is guarded: ``refresh(None)`` raises, an unread
        ``None`` did not."""
        if self._dereferenced_before(name, commit):
            return False
        scope = self.get_metadata(ScopeProvider, commit, None)
        if scope is None or name not in scope:
            return True
        return not all(self._never_none(getattr(a, "node", None)) for a in scope[name])

    def _never_none(self, bound: cst.CSTNode | None) -> bool:
        if bound is None:
            return False
        if isinstance(bound, cst.Param):
            return bound.annotation is not None and not _optional(bound.annotation.annotation)
        target = self.get_metadata(ParentNodeProvider, bound, None)
        holder = self.get_metadata(ParentNodeProvider, target, None) if target else None
        if not isinstance(holder, cst.Assign):
            return False
        value = holder.value.expression if isinstance(holder.value, cst.Await) else holder.value
        if not isinstance(value, cst.Call):
            return False
        if (
            isinstance(value.func, cst.Name | cst.Attribute)
            and _called_name(value.func) in NEVER_NONE
        ):
            return True
        return self.calls.instance_class(value) is not None  # Model(...)

    def _dereferenced_before(self, name: str, commit: cst.SimpleStatementLine) -> bool:
        """Did a statement just before the commit, in its block, read an attribute of
        ``name`` or leave the block when ``name`` is None?"""
        block = self.get_metadata(ParentNodeProvider, commit, None)
        if not isinstance(block, cst.IndentedBlock | cst.Module):
            return False
        for statement in block.body:
            if statement is commit:
                return False
            if isinstance(statement, cst.SimpleStatementLine) and _reads_attribute_of(
                statement, name
            ):
                return True
            if isinstance(statement, cst.If) and _leaves_when_none(statement, name):
                return True
        return False

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
        """Is ``name`` the first argument of ``session.<method>(name)`` (a session's, not
        a write-only collection's ``add``)?"""
        arg = self.get_metadata(ParentNodeProvider, name, None)
        call = self.get_metadata(ParentNodeProvider, arg, None) if arg else None
        return (
            isinstance(arg, cst.Arg)
            and isinstance(call, cst.Call)
            and isinstance(call.func, cst.Attribute)
            and call.func.attr.value in methods
            and bool(call.args)
            and call.args[0] is arg
            and self.io.is_session(call.func.value)
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
            # the refreshes of named attributes already right after it (eager-options',
            # or this pass's on an earlier run)
            named: dict[str, set[str]] = {}
            for existing in statements[position + 1 :]:
                target = _refreshed(existing)
                if target is None:
                    break
                named.setdefault(target[0], set()).update(target[1] or ())
            for planned in refreshes:
                if any(planned.deep_equals(existing) for existing in following):
                    continue
                refresh: cst.BaseStatement | None = planned
                target = _refreshed(planned)
                if target is not None and target[1] is not None:
                    refresh = _without_names(planned, named.get(target[0], set()))
                if refresh is None:
                    continue
                self.count_rewrite()
                body.append(refresh)
        return updated_node.with_changes(body=body)


#: result methods and Flask helpers that return an object or raise, never ``None``
NEVER_NONE = frozenset(
    {"one", "scalar_one", "get_one", "get_or_404", "first_or_404", "one_or_404", "merge"}
)


def _refresh_call(statement: cst.BaseStatement) -> cst.Call | None:
    """The call of ``await session.refresh(obj, ...)`` alone on a line."""
    if not (isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1):
        return None
    expression = statement.body[0]
    if not (isinstance(expression, cst.Expr) and isinstance(expression.value, cst.Await)):
        return None
    call = expression.value.expression
    if not (
        isinstance(call, cst.Call)
        and isinstance(call.func, cst.Attribute)
        and call.func.attr.value == "refresh"
        and call.args
        and isinstance(call.args[0].value, cst.Name)
    ):
        return None
    return call


def _refreshed(statement: cst.BaseStatement) -> tuple[str, list[str] | None] | None:
    """``await session.refresh(obj)`` → ("obj", None); ``await session.refresh(obj,
    ["a", "b"])`` → ("obj", ["a", "b"]); anything else → None."""
    call = _refresh_call(statement)
    if call is None:
        return None
    name = call.args[0].value
    assert isinstance(name, cst.Name)
    if len(call.args) == 1:
        return name.value, None
    listed = call.args[1].value
    if len(call.args) != 2 or not isinstance(listed, cst.List):
        return None
    keys = [
        e.value.evaluated_value for e in listed.elements if isinstance(e.value, cst.SimpleString)
    ]
    if len(keys) != len(listed.elements) or not all(isinstance(k, str) for k in keys):
        return None
    return name.value, [str(k) for k in keys]


def _without_names(statement: cst.BaseStatement, covered: set[str]) -> cst.BaseStatement | None:
    """The refresh of named attributes ``statement`` is, without those ``covered`` by
    another (None when none is left)."""
    call = _refresh_call(statement)
    assert call is not None and isinstance(call.args[1].value, cst.List)
    listed = call.args[1].value
    kept = [
        e
        for e in listed.elements
        if not (isinstance(e.value, cst.SimpleString) and e.value.evaluated_value in covered)
    ]
    if not kept:
        return None
    if len(kept) == len(listed.elements):
        return statement
    kept[-1] = kept[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
    changed = call.with_changes(
        args=[call.args[0], call.args[1].with_changes(value=listed.with_changes(elements=kept))]
    )
    return statement.deep_replace(call, changed)  # type: ignore[return-value]


#: relationship strategies a ``refresh(obj, ["name"])`` cannot load (or need not)
UNREFRESHABLE = frozenset({"dynamic", "write_only", "noload", "raise", "raise_on_sql"})


def _has_column(index: Any, model: Any, name: str, depth: int = 0) -> bool:
    if name in model.columns:
        return True
    for base in model.bases:
        parent = index.model(base)
        if parent is not None and parent is not model and depth < 20:
            if _has_column(index, parent, name, depth + 1):
                return True
    return False


def _refresh(
    session: cst.BaseExpression,
    name: str,
    *,
    guarded: bool,
    relationships: list[str],
    in_session: bool = False,
) -> list[cst.BaseStatement]:
    """``await session.refresh(name)`` (and of the relationships read afterwards), under
    ``if name is not None:`` when ``guarded``, and ``if name in session:`` when
    ``in_session`` (an object handed by the callers, which the legacy commit expired only
    where it was in that session)."""
    calls = [
        cst.Call(
            func=cst.Attribute(value=session.deep_clone(), attr=cst.Name("refresh")),
            args=[cst.Arg(cst.Name(name))],
        )
    ]
    if relationships:
        names = cst.List(
            [
                cst.Element(
                    cst.SimpleString(f'"{key}"'),
                    comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
                    if position < len(relationships) - 1
                    else cst.MaybeSentinel.DEFAULT,
                )
                for position, key in enumerate(relationships)
            ]
        )
        calls.append(
            cst.Call(
                func=cst.Attribute(value=session.deep_clone(), attr=cst.Name("refresh")),
                args=[
                    cst.Arg(
                        cst.Name(name), comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
                    ),
                    cst.Arg(names),
                ],
            )
        )
    refreshes: list[cst.BaseStatement] = [
        cst.SimpleStatementLine(body=[cst.Expr(cst.Await(expression=call))]) for call in calls
    ]
    tests: list[cst.BaseExpression] = []
    if guarded:
        tests.append(
            cst.Comparison(
                left=cst.Name(name),
                comparisons=[
                    cst.ComparisonTarget(operator=cst.IsNot(), comparator=cst.Name("None"))
                ],
            )
        )
    if in_session:
        tests.append(
            cst.Comparison(
                left=cst.Name(name),
                comparisons=[
                    cst.ComparisonTarget(operator=cst.In(), comparator=session.deep_clone())
                ],
            )
        )
    if not tests:
        return refreshes
    test = tests[0]
    for more in tests[1:]:
        test = cst.BooleanOperation(left=test, operator=cst.And(), right=more)
    return [cst.If(test=test, body=cst.IndentedBlock(body=refreshes))]


def _optional(annotation: cst.BaseExpression) -> bool:
    """``Optional[X]``, ``X | None``, ``"X | None"``... (anything mentioning None)."""
    if isinstance(annotation, cst.SimpleString):
        return "None" in annotation.value or "Optional" in annotation.value
    mentions: list[str] = []

    class Finder(cst.CSTVisitor):
        def visit_Name(self, node: cst.Name) -> None:
            mentions.append(node.value)

    annotation.visit(Finder())
    return bool({"None", "Optional", "Any"} & set(mentions))


def _reads_attribute_of(statement: cst.SimpleStatementLine, name: str) -> bool:
    found = False

    class Finder(cst.CSTVisitor):
        def visit_Attribute(self, node: cst.Attribute) -> None:
            nonlocal found
            if isinstance(node.value, cst.Name) and node.value.value == name:
                found = True

        def visit_Lambda(self, node: cst.Lambda) -> bool:
            return False

    statement.visit(Finder())
    return found


def _leaves_when_none(statement: cst.If, name: str) -> bool:
    """``if name is None: raise/return/abort(...)`` (or ``if not name:``)."""
    test = statement.test
    checks_none = (
        isinstance(test, cst.Comparison)
        and isinstance(test.left, cst.Name)
        and test.left.value == name
        and len(test.comparisons) == 1
        and isinstance(test.comparisons[0].operator, cst.Is)
        and isinstance(test.comparisons[0].comparator, cst.Name)
        and test.comparisons[0].comparator.value == "None"
    ) or (
        isinstance(test, cst.UnaryOperation)
        and isinstance(test.operator, cst.Not)
        and isinstance(test.expression, cst.Name)
        and test.expression.value == name
    )
    if not checks_none or not isinstance(statement.body, cst.IndentedBlock):
        return False
    last = statement.body.body[-1] if statement.body.body else None
    if not isinstance(last, cst.SimpleStatementLine) or not last.body:
        return False
    final = last.body[-1]
    if isinstance(final, cst.Raise | cst.Return | cst.Continue | cst.Break):
        return True
    return (
        isinstance(final, cst.Expr)
        and isinstance(final.value, cst.Call)
        and isinstance(final.value.func, cst.Name | cst.Attribute)
        and _called_name(final.value.func) == "abort"
    )


def _called_name(func: cst.Name | cst.Attribute) -> str:
    return func.value if isinstance(func, cst.Name) else func.attr.value


def _names(body: cst.CSTNode, until: cst.CSTNode) -> tuple[list[cst.Name], list[cst.Name]]:
    """Every ``Name`` in ``body`` outside nested functions, classes and lambdas, in source
    order: those up to the end of the statement ``until``, and those after it."""
    before: list[cst.Name] = []
    after: list[cst.Name] = []
    found = before

    class Collector(cst.CSTVisitor):
        def visit_Name(self, node: cst.Name) -> None:
            found.append(node)

        def leave_SimpleStatementLine(self, node: cst.SimpleStatementLine) -> None:
            nonlocal found
            if node is until:
                found = after

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
    return before, after
