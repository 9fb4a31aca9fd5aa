"""``lazy="dynamic"`` relationships → ``lazy="write_only"``, their queries → ``select()``.

Before (after the ``await`` pass ran a dynamic relationship's queries through ``run_sync``)::

    class User(Base):
        posts = relationship("Post", lazy="dynamic", cascade="all, delete-orphan")

    async def show(session: AsyncSession, user_id):
        user = await session.get(User, user_id)
        drafts = await async_object_session(user).run_sync(
            lambda _sync_session: user.posts.filter(Post.draft).order_by(Post.id).all())
        total = await async_object_session(user).run_sync(lambda _sync_session: user.posts.count())
        user.posts.append(Post(title="new"))
        await session.delete(user)

After::

    class User(Base):
        posts = relationship("Post", lazy="write_only", cascade="all, delete-orphan", passive_deletes=True)

    async def show(session: AsyncSession, user_id):
        user = await session.get(User, user_id)
        drafts = (await async_object_session(user).scalars(user.posts.select().where(Post.draft).order_by(Post.id))).all()
        total = await async_object_session(user).scalar(select(func.count()).select_from(user.posts.select().subquery()))
        user.posts.add(Post(title="new"))
        for _dependent in await session.scalars(user.posts.select()):
            await session.delete(_dependent)
        await session.delete(user)

Safety: ``WriteOnlyCollection.select()`` keeps the relationship's criteria and its
``order_by=``, as the dynamic query did; ``.first()`` gets ``LIMIT 1``, ``.count()``
counts the statement's rows, and the statement runs on the owner's session
(``async_object_session(obj)``, the session the dynamic query ran on). Which
relationships are rewritten is decided for the whole project (``analysis.write_only``):
every use of the name must be rewritable, and deleting an owner must keep its meaning;
the unit of work cannot load a write-only collection, so for each ``session.delete(owner)``
the children are deleted (delete cascade) or detached (``remove()``: foreign keys nulled,
association rows deleted) first, as the ORM did after loading the dynamic collection, and
the relationship gets ``passive_deletes=True``. Relationships it cannot prove keep the
``run_sync`` route, with a note naming the use that prevents the rewrite.
"""

from __future__ import annotations

import functools
from typing import Any, ClassVar

import libcst as cst
from libcst.codemod.visitors import AddImportsVisitor, RemoveImportsVisitor
from libcst.metadata import BaseMetadataProvider, ParentNodeProvider, ScopeProvider

from sqla_upgrade.codemods.analysis.async_plan import CallResolver, ScopeTracking
from sqla_upgrade.codemods.analysis.chains import keyword
from sqla_upgrade.codemods.analysis.write_only import (
    CHAIN_METHODS,
    RELATIONSHIP_CALLS,
    TERMINALS,
    WriteOnlyPlan,
    chain_root,
    dynamic_use,
    literal_window,
    model_of,
    relationship_owner,
    write_only_plan,
)
from sqla_upgrade.codemods.base import ANALYSIS_METADATA, in_sync_greenlet
from sqla_upgrade.codemods.names import qualified_names

RENAMED_MUTATORS = {"append": "add", "extend": "add_all"}
DEPENDENT = "_dependent"
WRITE_ONLY = '"write_only"'
DYNAMIC_NOTE = "lazy='dynamic' queries run on the AsyncSession's synchronous session"


#: legacy ``Query`` methods that return a refined query and run nothing
QUERY_BUILDING = CHAIN_METHODS | {
    "options",
    "group_by",
    "having",
    "select_from",
    "execution_options",
    "params",
    "with_entities",
    "add_columns",
}


class DynamicWriteOnlyPass(ScopeTracking):
    """lazy="dynamic" relationships → lazy="write_only" with select() at their use sites."""

    name = "dynamic-write-only"
    targets = frozenset({"async"})
    stage = 2
    triggers = (b"dynamic",)
    METADATA_DEPENDENCIES: ClassVar[tuple[type[BaseMetadataProvider[Any]], ...]] = ANALYSIS_METADATA

    @classmethod
    def index_triggers(cls, index: Any) -> tuple[bytes, ...]:
        """``.posts`` for every dynamic relationship ``posts`` (its use sites), and
        ``.delete(`` when deletes of owners are emulated."""
        names = tuple(f".{name}".encode() for name in sorted(index.dynamic_relationships()))
        plan = getattr(index, "write_only_plan", None)
        deletes = (b".delete(",) if isinstance(plan, WriteOnlyPlan) and plan.pre_deletes else ()
        return names + deletes

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.plan = write_only_plan(self.state)
        self.noted: set[str] = set()
        self.lambdas = 0
        self.declarations = {"rewritten": 0, "kept": 0}

    def visit_Lambda(self, node: cst.Lambda) -> None:
        self.lambdas += 1

    def visit_Attribute(self, node: cst.Attribute) -> None:
        """A use of a relationship that stays dynamic which nothing runs on the synchronous
        session, in async code: it would raise ``MissingGreenlet``."""
        name = node.attr.value
        if name in self.plan.names or name not in self.state.index.dynamic_relationships():
            return
        if self.lambdas or not self.in_async_def():
            return
        if not isinstance(node.value, cst.Name | cst.Attribute):
            return
        if any(self.state.index.model(q) for q in qualified_names(self, node.value)):
            return  # ``User.posts`` in a query
        parent = functools.partial(self.get_metadata, ParentNodeProvider, default=None)
        if dynamic_use(node, parent) == "mutation":
            return
        if self._stored_for_the_greenlet(node):
            return
        if self._known_not_dynamic(node.value, name):
            return
        self.todo(
            node,
            f"lazy='dynamic' relationship {name!r} queries the database here, which async "
            f"code cannot do synchronously: run it in `await async_object_session(obj)"
            f".run_sync(lambda _: ...)` or query with `select()`",
        )

    def leave_Lambda(self, original_node: cst.Lambda, updated_node: cst.Lambda) -> cst.Lambda:
        self.lambdas -= 1
        return updated_node

    def _known_not_dynamic(self, receiver: cst.BaseExpression, name: str) -> bool:
        """``user.comments`` where ``user`` is known to be a ``User``, whose ``comments``
        is a relationship that is not dynamic (another model's ``comments`` is)."""
        if not isinstance(receiver, cst.Name):
            return False
        klass = CallResolver(self).instance_class(receiver)
        model = self.state.index.model(klass)
        return model is not None and self.state.index.is_dynamic(model, name) is False

    def _stored_for_the_greenlet(self, node: cst.Attribute) -> bool:
        """``q = self.tasks`` (or ``q = self.tasks.filter_by(done=False)``, refined by
        methods that only build the query) whose every use refines it (``q =
        q.filter(...)``) or runs in ``run_sync``: storing the query runs nothing, the
        await pass ran the rest."""
        stored: cst.CSTNode = node
        while True:
            method = self.get_metadata(ParentNodeProvider, stored, None)
            call = self.get_metadata(ParentNodeProvider, method, None) if method else None
            if not (
                isinstance(method, cst.Attribute)
                and method.value is stored
                and method.attr.value in QUERY_BUILDING
                and isinstance(call, cst.Call)
                and call.func is method
            ):
                break
            stored = call
        target = self.get_metadata(ParentNodeProvider, stored, None)
        if not isinstance(target, cst.Assign) or len(target.targets) != 1:
            return False
        name = target.targets[0].target
        if not isinstance(name, cst.Name):
            return False
        scope = self.get_metadata(ScopeProvider, name, None)
        if scope is None:
            return False
        # the uses of every value the name is given here, nested scopes (the lambda
        # ``run_sync`` runs, a comprehension) included
        accesses = {
            access
            for assignment in scope.assignments[name.value]
            for access in getattr(assignment, "references", ())
        }
        if not accesses:
            return False
        for access in accesses:
            if in_sync_greenlet(self, access.node):
                continue
            if not self._refines(access.node, name.value):
                return False
        return True

    def _refines(self, use: cst.CSTNode, name: str) -> bool:
        """Is ``use`` the root of the value of ``name = name.filter(...)...``?"""
        node: cst.CSTNode = use
        while True:
            parent = self.get_metadata(ParentNodeProvider, node, None)
            if isinstance(parent, cst.Attribute | cst.Call) and (
                getattr(parent, "value", None) is node or getattr(parent, "func", None) is node
            ):
                node = parent
                continue
            break
        if not isinstance(parent, cst.Assign) or len(parent.targets) != 1:
            return False
        target = parent.targets[0].target
        return isinstance(target, cst.Name) and target.value == name

    # -- declarations ---------------------------------------------------------------------
    def leave_Assign(self, original_node: cst.Assign, updated_node: cst.Assign) -> cst.Assign:
        if len(updated_node.targets) != 1:
            return updated_node
        target = updated_node.targets[0].target
        value = self._declaration(original_node, target, updated_node.value)
        return updated_node if value is None else updated_node.with_changes(value=value)

    def leave_AnnAssign(
        self, original_node: cst.AnnAssign, updated_node: cst.AnnAssign
    ) -> cst.AnnAssign:
        if updated_node.value is None:
            return updated_node
        value = self._declaration(original_node, updated_node.target, updated_node.value)
        if value is None:
            return updated_node
        annotation = self._write_only_annotation(original_node.annotation.annotation)
        if annotation is not None:
            updated_node = updated_node.with_changes(
                annotation=updated_node.annotation.with_changes(annotation=annotation)
            )
        return updated_node.with_changes(value=value)

    def _declaration(
        self, statement: cst.CSTNode, target: cst.BaseExpression, value: cst.BaseExpression
    ) -> cst.Call | None:
        """The relationship call with its (and its backref's) dynamic loader rewritten."""
        owner = self.enclosing_class()
        model = self.state.index.models.get(owner or "")
        if model is None or self.enclosing_function() is not None:
            return None
        if not isinstance(target, cst.Name) or not isinstance(value, cst.Call):
            return None
        if _call_name(value.func) not in RELATIONSHIP_CALLS:
            return None
        call = value
        if _lazy(call) == "dynamic":
            self._explain(statement, target.value)
            if target.value in self.plan.names:
                call = self._write_only(call, model.qualname, target.value)
            else:
                self.declarations["kept"] += 1
        backref = _keyword_arg(call, "backref")
        if backref is not None and isinstance(backref.value, cst.Call):
            rewritten = self._backref(statement, model.qualname, target.value, backref.value)
            if rewritten is not None:
                call = call.with_changes(
                    args=[a.with_changes(value=rewritten) if a is backref else a for a in call.args]
                )
        return None if call is value else call

    def _backref(
        self, statement: cst.CSTNode, owner: str, name: str, backref: cst.Call
    ) -> cst.Call | None:
        """``backref("followers", lazy="dynamic")`` → ``lazy="write_only"``."""
        if _lazy(backref) != "dynamic" or not backref.args:
            return None
        first = backref.args[0].value
        if not isinstance(first, cst.SimpleString) or not isinstance(first.evaluated_value, str):
            return None
        backref_name = first.evaluated_value
        self._explain(statement, backref_name)
        if backref_name not in self.plan.names:
            self.declarations["kept"] += 1
            return None
        index = self.state.index
        model = index.models[owner]
        relationship = model.relationships.get(name)
        target = index.relationship_target(model, relationship) if relationship else None
        return self._write_only(backref, target.qualname if target else "", backref_name)

    def _write_only(self, call: cst.Call, owner: str, name: str) -> cst.Call:
        self.count_rewrite()
        self.declarations["rewritten"] += 1
        args = [
            a.with_changes(value=cst.SimpleString(WRITE_ONLY))
            if a.keyword is not None and a.keyword.value == "lazy"
            else a
            for a in call.args
        ]
        on_delete = dict(self.plan.pre_deletes.get(owner, []))
        if name in on_delete and _keyword_arg(call, "passive_deletes") is None:
            args = _append(args, keyword("passive_deletes", cst.Name("True")))
        return call.with_changes(args=args)

    def leave_Module(self, original_node: cst.Module, updated_node: cst.Module) -> cst.Module:
        if self.declarations["rewritten"] and not self.declarations["kept"]:
            # eager-relationships said these dynamic relationships stay on run_sync
            self.state.notes[:] = [
                n
                for n in self.state.notes
                if not (n.pass_name == "eager-relationships" and n.message.startswith(DYNAMIC_NOTE))
            ]
        return updated_node

    def _explain(self, statement: cst.CSTNode, name: str) -> None:
        reason = self.plan.kept.get(name)
        if reason is None or name in self.noted:
            return
        self.noted.add(name)
        self.note(
            statement,
            f"lazy='dynamic' relationship {name!r} keeps running through run_sync, not "
            f"rewritten to lazy='write_only': {reason}",
        )

    def _write_only_annotation(self, annotation: cst.BaseExpression) -> cst.BaseExpression | None:
        """``DynamicMapped[X]`` / ``Mapped[list[X]]`` → ``WriteOnlyMapped[X]``."""
        if not isinstance(annotation, cst.Subscript) or len(annotation.slice) != 1:
            return None
        names = qualified_names(self, annotation.value)
        element = annotation.slice[0].slice
        if not isinstance(element, cst.Index):
            return None
        inner = element.value
        if "sqlalchemy.orm.DynamicMapped" in names:
            item = inner
            RemoveImportsVisitor.remove_unused_import(
                self.context, "sqlalchemy.orm", "DynamicMapped"
            )
        elif "sqlalchemy.orm.Mapped" in names and _is_list_of(self, inner):
            assert isinstance(inner, cst.Subscript)
            item_index = inner.slice[0].slice
            assert isinstance(item_index, cst.Index)
            item = item_index.value
        else:
            return None
        AddImportsVisitor.add_needed_import(self.context, "sqlalchemy.orm", "WriteOnlyMapped")
        return annotation.with_changes(
            value=cst.Name("WriteOnlyMapped"),
            slice=[annotation.slice[0].with_changes(slice=cst.Index(item))],
        )

    # -- reads: await async_object_session(o).run_sync(lambda _sync_session: o.rel...) -----
    def leave_Await(self, original_node: cst.Await, updated_node: cst.Await) -> cst.BaseExpression:
        found = self._dynamic_run_sync(updated_node)
        if found is None:
            return updated_node
        session, body = found
        replacement = self._select_form(original_node, session, body)
        if replacement is None:
            self.todo(
                original_node,
                "this query on a write-only relationship could not be rewritten: "
                "run `select()` from the collection's `.select()`",
            )
            return updated_node
        self.count_rewrite()
        return replacement.with_changes(lpar=updated_node.lpar, rpar=updated_node.rpar)

    def _dynamic_run_sync(
        self, node: cst.Await
    ) -> tuple[cst.BaseExpression, cst.BaseExpression] | None:
        call = node.expression
        if not (
            isinstance(call, cst.Call)
            and isinstance(call.func, cst.Attribute)
            and call.func.attr.value == "run_sync"
            and len(call.args) == 1
            and isinstance(call.args[0].value, cst.Lambda)
        ):
            return None
        session = call.func.value
        if not (
            isinstance(session, cst.Call) and _call_name(session.func) == "async_object_session"
        ):
            return None
        body = call.args[0].value.body
        root = body
        if isinstance(root, cst.List) and len(root.elements) == 1:
            element = root.elements[0]
            root = element.value if isinstance(element, cst.StarredElement) else root
        if isinstance(root, cst.Call) and isinstance(root.func, cst.Attribute):
            if root.func.attr.value in TERMINALS:
                root = root.func.value
        if relationship_owner(chain_root(root), self.plan.names) is None:
            return None
        return session, body

    def _select_form(
        self, original: cst.Await | None, session: cst.BaseExpression, body: cst.BaseExpression
    ) -> cst.BaseExpression | None:
        if isinstance(body, cst.List):
            element = body.elements[0]
            assert isinstance(element, cst.StarredElement)
            iterated = element.value
            if (
                isinstance(iterated, cst.Call)
                and isinstance(iterated.func, cst.Attribute)
                and iterated.func.attr.value == "all"
                and not iterated.args
            ):
                iterated = iterated.func.value  # ``for p in o.rel.all()``
            statement = self._statement(iterated)
            if statement is None:
                return None
            scalars = _await(_method(session, "scalars", statement))
            if original is not None and self._iterated(original):
                return scalars
            return cst.Call(func=cst.Attribute(value=_parenthesized(scalars), attr=cst.Name("all")))
        if not (isinstance(body, cst.Call) and isinstance(body.func, cst.Attribute)):
            return None
        terminal = body.func.attr.value
        statement = self._statement(body.func.value)
        if statement is None or body.args:
            return None
        if terminal == "count":
            AddImportsVisitor.add_needed_import(self.context, "sqlalchemy", "func")
            AddImportsVisitor.add_needed_import(self.context, "sqlalchemy", "select")
            count = cst.Call(
                func=cst.Name("select"),
                args=[
                    cst.Arg(
                        cst.Call(func=cst.Attribute(value=cst.Name("func"), attr=cst.Name("count")))
                    )
                ],
            )
            subquery = cst.Call(func=cst.Attribute(value=statement, attr=cst.Name("subquery")))
            counted = _method(count, "select_from", subquery)
            return _await(_method(session, "scalar", counted))
        if terminal == "first":
            statement = _method(statement, "limit", cst.Integer("1"))
        scalars = _await(_method(session, "scalars", statement))
        return cst.Call(func=cst.Attribute(value=_parenthesized(scalars), attr=cst.Name(terminal)))

    def _statement(self, chain: cst.BaseExpression) -> cst.BaseExpression | None:
        """``o.rel.filter(c).order_by(x)`` → ``o.rel.select().where(c).order_by(x)``."""
        if isinstance(chain, cst.Call) and isinstance(chain.func, cst.Attribute):
            method = chain.func.attr.value
            if method not in CHAIN_METHODS:
                return None
            inner = self._statement(chain.func.value)
            if inner is None:
                return None
            renamed = "where" if method == "filter" else method
            func = chain.func.with_changes(value=inner, attr=cst.Name(renamed))
            return chain.with_changes(func=func)
        if relationship_owner(chain, self.plan.names) is None:
            return None
        bare = chain.with_changes(lpar=[], rpar=[]) if isinstance(chain, cst.Attribute) else chain
        return cst.Call(func=cst.Attribute(value=bare, attr=cst.Name("select")))

    def _iterated(self, node: cst.Await) -> bool:
        parent = self.get_metadata(ParentNodeProvider, node, None)
        return isinstance(parent, cst.For | cst.CompFor) and parent.iter is node

    def _terminal_outside_run_sync(
        self, original: cst.Call, updated: cst.Call
    ) -> cst.BaseExpression:
        """``o.rel.filter(...).first().title`` in async code, which the ``await`` pass left
        alone (the chain goes on after its terminal)."""
        if self.lambdas or not self.in_async_def():
            return updated
        assert isinstance(updated.func, cst.Attribute)
        owner = relationship_owner(chain_root(updated.func.value), self.plan.names)
        if owner is None:
            return updated
        session = cst.Call(
            func=cst.Name("async_object_session"), args=[cst.Arg(owner.deep_clone())]
        )
        replacement = self._select_form(None, session, updated)
        if replacement is None:
            return updated
        AddImportsVisitor.add_needed_import(
            self.context, "sqlalchemy.ext.asyncio", "async_object_session"
        )
        self.count_rewrite()
        return replacement

    def leave_Subscript(
        self, original_node: cst.Subscript, updated_node: cst.Subscript
    ) -> cst.BaseExpression:
        """``o.rel[2]`` → ``(await s.scalars(o.rel.select().offset(2).limit(1))).all()[0]``;
        ``o.rel[1:3]`` → ``(await s.scalars(o.rel.select().offset(1).limit(2))).all()``
        (what the dynamic query's ``__getitem__`` ran)."""
        window = literal_window(original_node)
        if window is None:
            return updated_node
        rows = self._raw_rows(updated_node.value, window)
        if rows is None:
            return updated_node
        self.count_rewrite()
        element = original_node.slice[0].slice
        if isinstance(element, cst.Index):
            return cst.Subscript(
                value=rows, slice=[cst.SubscriptElement(cst.Index(cst.Integer("0")))]
            )
        return rows

    def leave_ComparisonTarget(
        self, original_node: cst.ComparisonTarget, updated_node: cst.ComparisonTarget
    ) -> cst.ComparisonTarget:
        """``x in o.rel.filter(...)`` → ``x in (await s.scalars(...)).all()``."""
        if not isinstance(original_node.operator, cst.In | cst.NotIn):
            return updated_node
        rows = self._raw_rows(updated_node.comparator, None)
        if rows is None:
            return updated_node
        self.count_rewrite()
        return updated_node.with_changes(comparator=rows)

    def _raw_rows(
        self, chain: cst.BaseExpression, window: tuple[int, int | None] | None
    ) -> cst.BaseExpression | None:
        """``(await async_object_session(o).scalars(<statement>)).all()`` for a dynamic
        chain in async code the ``await`` pass left alone."""
        if self.lambdas or not self.in_async_def():
            return None
        owner = relationship_owner(chain_root(chain), self.plan.names)
        statement = self._statement(chain) if owner is not None else None
        if owner is None or statement is None:
            return None
        if window is not None:
            offset, limit = window
            statement = _method(statement, "offset", cst.Integer(str(offset)))
            if limit is not None:
                statement = _method(statement, "limit", cst.Integer(str(limit)))
        AddImportsVisitor.add_needed_import(
            self.context, "sqlalchemy.ext.asyncio", "async_object_session"
        )
        session = cst.Call(
            func=cst.Name("async_object_session"), args=[cst.Arg(owner.deep_clone())]
        )
        scalars = _parenthesized(_await(_method(session, "scalars", statement)))
        return cst.Call(func=cst.Attribute(value=scalars, attr=cst.Name("all")))

    # -- writes: o.rel.append(x) → o.rel.add(x) -------------------------------------------
    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.BaseExpression:
        func = updated_node.func
        if not isinstance(func, cst.Attribute):
            return updated_node
        if func.attr.value in TERMINALS:
            return self._terminal_outside_run_sync(original_node, updated_node)
        if func.attr.value not in RENAMED_MUTATORS:
            return updated_node
        original_func = original_node.func
        assert isinstance(original_func, cst.Attribute)
        collection = original_func.value
        if relationship_owner(collection, self.plan.names) is None or len(updated_node.args) != 1:
            return updated_node
        assert isinstance(collection, cst.Attribute)
        if any(self.state.index.model(q) for q in qualified_names(self, collection.value)):
            return updated_node
        self.count_rewrite()
        return updated_node.with_changes(
            func=func.with_changes(attr=cst.Name(RENAMED_MUTATORS[func.attr.value]))
        )

    # -- deletes: what the unit of work did with the loaded dynamic collection -------------
    def leave_SimpleStatementLine(
        self, original_node: cst.SimpleStatementLine, updated_node: cst.SimpleStatementLine
    ) -> cst.BaseStatement | cst.FlattenSentinel[cst.BaseStatement]:
        found = self._awaited_delete(original_node)
        if found is None:
            return updated_node
        session, deleted = found
        model = model_of(self, deleted, self.enclosing_function())
        actions = self.plan.pre_deletes.get(model or "")
        if not actions:
            return updated_node
        loops: list[cst.BaseStatement] = [
            _dependents_loop(session, deleted, name, children) for name, children in actions
        ]
        self.count_rewrite(len(loops))
        loops[0] = loops[0].with_changes(leading_lines=updated_node.leading_lines)
        return cst.FlattenSentinel([*loops, updated_node.with_changes(leading_lines=[])])

    def _awaited_delete(
        self, line: cst.SimpleStatementLine
    ) -> tuple[cst.BaseExpression, cst.BaseExpression] | None:
        if len(line.body) != 1 or not isinstance(line.body[0], cst.Expr):
            return None
        value = line.body[0].value
        if not isinstance(value, cst.Await) or not isinstance(value.expression, cst.Call):
            return None
        call = value.expression
        func = call.func
        if (
            not isinstance(func, cst.Attribute)
            or func.attr.value != "delete"
            or len(call.args) != 1
        ):
            return None
        return func.value, call.args[0].value


def _dependents_loop(
    session: cst.BaseExpression, owner: cst.BaseExpression, name: str, delete: bool
) -> cst.For:
    """``for _dependent in await s.scalars(owner.rel.select()): await s.delete(_dependent)``
    (delete cascade) or ``owner.rel.remove(_dependent)`` (null the foreign key / delete the
    association row), what the unit of work did after loading the dynamic collection."""
    collection = cst.Attribute(value=owner.deep_clone(), attr=cst.Name(name))
    rows = cst.Call(func=cst.Attribute(value=collection, attr=cst.Name("select")))
    iterated = _await(_method(session.deep_clone(), "scalars", rows))
    if delete:
        action: cst.BaseExpression = _await(
            _method(session.deep_clone(), "delete", cst.Name(DEPENDENT))
        )
    else:
        action = _method(collection.deep_clone(), "remove", cst.Name(DEPENDENT))
    body = cst.IndentedBlock(body=[cst.SimpleStatementLine(body=[cst.Expr(action)])])
    return cst.For(target=cst.Name(DEPENDENT), iter=iterated, body=body)


def _method(receiver: cst.BaseExpression, name: str, argument: cst.BaseExpression) -> cst.Call:
    return cst.Call(
        func=cst.Attribute(value=receiver, attr=cst.Name(name)), args=[cst.Arg(argument)]
    )


def _await(expression: cst.BaseExpression) -> cst.Await:
    return cst.Await(expression=expression)


def _parenthesized(node: cst.Await) -> cst.Await:
    return node.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])


def _call_name(func: cst.BaseExpression) -> str:
    if isinstance(func, cst.Attribute):
        return func.attr.value
    return func.value if isinstance(func, cst.Name) else ""


def _keyword_arg(call: cst.Call, name: str) -> cst.Arg | None:
    return next((a for a in call.args if a.keyword is not None and a.keyword.value == name), None)


def _lazy(call: cst.Call) -> str | None:
    arg = _keyword_arg(call, "lazy")
    if arg is None or not isinstance(arg.value, cst.SimpleString):
        return None
    value = arg.value.evaluated_value
    return value if isinstance(value, str) else None


def _is_list_of(transformer: ScopeTracking, node: cst.BaseExpression) -> bool:
    if not isinstance(node, cst.Subscript) or len(node.slice) != 1:
        return False
    if not isinstance(node.slice[0].slice, cst.Index):
        return False
    if isinstance(node.value, cst.Name) and node.value.value == "list":
        return True
    return bool(qualified_names(transformer, node.value) & {"typing.List", "builtins.list"})


def _append(args: list[cst.Arg], extra: cst.Arg) -> list[cst.Arg]:
    """``args`` plus ``extra`` at the end, keeping a one-argument-per-line layout."""
    if not args:
        return [extra]
    last = args[-1]
    if isinstance(last.comma, cst.MaybeSentinel):
        separated = last.with_changes(
            comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")),
            whitespace_after_arg=cst.SimpleWhitespace(""),
        )
        return [
            *args[:-1],
            separated,
            extra.with_changes(whitespace_after_arg=last.whitespace_after_arg),
        ]
    between = (
        args[-2].comma if len(args) > 1 else cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
    )
    return [*args[:-1], last.with_changes(comma=between), extra.with_changes(comma=last.comma)]
