"""Add new objects to the session where SQLAlchemy 1.x put them there through a backref.

Before::

    task = session.get(Task, task_id)     # Task.notes = relationship("Note", backref="task")
    note = Note(task=task, body=body)     # 1.x: the backref cascades note into the session
    session.commit()

After::

    task = session.get(Task, task_id)
    note = Note(task=task, body=body)
    session.add(note)
    session.commit()

Safety: SQLAlchemy 2.0 removed "cascade_backrefs": giving a new object a parent through
one side of a bidirectional relationship no longer puts it into the parent's session, so
the commit silently leaves it out (1.4 did it at once, with a ``RemovedIn20Warning``).
Where a new object (a constructor call of a mapped class, or a local name bound only to
one) is given, by a constructor keyword, an attribute assignment or ``append()``/``add()``
on its relationship, an object the same function loaded from a session (``get``, a
result's ``first()``/``one()``..., ``db.get_or_404``, a loop over a result) or added to
one, and the other side of that relationship cascades save-update, ``session.add(obj)``
is written right after the statement: what 1.4 did at that moment. Nothing is written
when the function adds the object itself (``add``/``add_all``/``merge``) or attaches it
to another object's relationship. When the parent's session cannot be told (a
parameter, ``current_user``, a helper's result), a TODO says what 2.0 no longer does.
An attribute assigned on an object that is not new (a parameter, a loaded row) is left
alone: a persistent object is in its session already.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

import libcst as cst
from libcst.metadata import BaseMetadataProvider, ParentNodeProvider, ScopeProvider

from sqla_upgrade.codemods.analysis.async_plan import CallResolver, ScopeTracking
from sqla_upgrade.codemods.analysis.sessions import Evidence, SessionResolver
from sqla_upgrade.codemods.base import ANALYSIS_METADATA, per_object
from sqla_upgrade.codemods.index.model import ModelFacts, ObjectKind, ProjectIndex, saves_along

#: result and session methods that return rows loaded into the session they ran on
LOADING_METHODS = frozenset(
    {
        "get",
        "get_one",
        "first",
        "one",
        "one_or_none",
        "scalar",
        "scalar_one",
        "scalar_one_or_none",
        "scalars",
        "execute",
        "all",
        "unique",
        "merge",
        "first_or_404",
        "one_or_404",
        "get_or_404",
        "query",
        "filter",
        "filter_by",
        "order_by",
    }
)
#: Flask-SQLAlchemy ``db`` helpers that load through ``db.session``
FLASK_LOADERS = frozenset({"get_or_404", "first_or_404", "one_or_404"})
#: collection methods that give a relationship an object
ATTACHING_METHODS = frozenset({"append", "add", "extend", "insert"})


class BackrefCascadePass(ScopeTracking):
    """Model(parent=loaded) → ..., session.add(obj): 2.0 no longer cascades along backrefs."""

    name = "backref-cascade"
    targets = frozenset({"2.0", "async"})
    stage = 1
    triggers = (b"(",)  # every case constructs the new object: ``Note(``
    METADATA_DEPENDENCIES: ClassVar[tuple[type[BaseMetadataProvider[Any]], ...]] = ANALYSIS_METADATA

    @classmethod
    def concerns(cls, code: bytes, path: str, index: Any) -> bool:
        """Only where a relationship attribute 1.x cascaded along is given a value: spelled
        before ``=`` (a keyword, an assignment) or before ``.`` (``note.tags.append``)."""
        pattern = _cascading_pattern(index)
        return pattern is not None and pattern.search(code) is not None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sessions = SessionResolver(self)
        self.calls = CallResolver(self)
        self.index: ProjectIndex = self.state.index

    # -- statements ---------------------------------------------------------------------
    def leave_SimpleStatementLine(
        self, original_node: cst.SimpleStatementLine, updated_node: cst.SimpleStatementLine
    ) -> cst.SimpleStatementLine | cst.FlattenSentinel[cst.BaseStatement]:
        if self.enclosing_class() is not None and self.enclosing_function() is None:
            return updated_node  # a class body builds no objects worth adding
        if not self._could_attach(original_node):
            return updated_node  # no keyword, attribute or collection of those names
        if len(original_node.body) != 1:
            return self._todo_each(original_node)
        small = original_node.body[0]
        if isinstance(small, cst.Expr) and self._constructed_model(small.value) is not None:
            return self._wrapped(original_node, updated_node, small.value)
        events = self._events(small)
        additions: list[cst.BaseStatement] = []
        for new_name, model, attribute, parent in events:
            if new_name is None:  # ``items = [Item(tag=tag)]``: nowhere to add it from
                if self._parent_session(parent, original_node) is not False:
                    self._leave_todo(original_node, model, attribute)
                continue
            if self._handled(new_name, original_node):
                continue
            session = self._parent_session(parent, original_node)
            if session is False:
                continue
            if not isinstance(session, cst.CSTNode):
                self._leave_todo(original_node, model, attribute)
                continue
            addition = _add_statement(session, cst.Name(new_name))
            if not any(addition.deep_equals(known) for known in additions):
                additions.append(addition)
                self.count_rewrite()
                self.note(
                    original_node,
                    f"SQLAlchemy 2.0 no longer adds {new_name} to the session through "
                    f"{model.qualname.rpartition('.')[2]}.{attribute} (cascade_backrefs was "
                    "removed): added explicitly",
                )
        if additions:  # a TODO the statement takes goes above it, not above these
            return cst.FlattenSentinel([updated_node, *additions])
        return updated_node

    def _could_attach(self, statement: cst.SimpleStatementLine) -> bool:
        """Does the statement spell a keyword, an assigned attribute or a collection named
        like a relationship 1.x cascaded along? (No metadata is needed to tell.)"""
        names = _cascading_strings(self.index)
        found = False

        class Finder(cst.CSTVisitor):
            def visit_Arg(self, node: cst.Arg) -> None:
                nonlocal found
                found = found or (node.keyword is not None and node.keyword.value in names)

            def visit_Attribute(self, node: cst.Attribute) -> None:
                nonlocal found
                found = found or node.attr.value in names

        statement.visit(Finder())
        return found

    def _todo_each(self, statement: cst.SimpleStatementLine) -> cst.SimpleStatementLine:
        for small in statement.body:
            for _, model, attribute, parent in self._events(small):
                if self._parent_session(parent, statement) is not False:
                    self._leave_todo(statement, model, attribute)
        return statement

    def _leave_todo(self, statement: cst.CSTNode, model: ModelFacts, attribute: str) -> None:
        self.todo(
            statement,
            f"SQLAlchemy 2.0 no longer puts a new {model.qualname.rpartition('.')[2]} into the "
            f"session of the {attribute} it is given (cascade_backrefs was removed): "
            "add it with session.add() where it is to be saved",
        )

    def _wrapped(
        self,
        original: cst.SimpleStatementLine,
        updated: cst.SimpleStatementLine,
        call: cst.BaseExpression,
    ) -> cst.SimpleStatementLine:
        """``Note(task=task)`` as a statement → ``session.add(Note(task=task))``."""
        model = self._constructed_model(call)
        assert model is not None and isinstance(call, cst.Call)
        parents = self._cascading_keywords(model, call)
        if not parents:
            return updated
        found = [self._parent_session(parent, original) for _, parent in parents]
        if all(session is False for session in found):
            return updated
        sessions = {self._code(s): s for s in found if isinstance(s, cst.CSTNode)}
        session = next(iter(sessions.values())) if len(sessions) == 1 else None
        unknown = any(not isinstance(s, cst.CSTNode) and s is not False for s in found)
        if session is None or unknown:
            self._leave_todo(original, model, parents[0][0])
            return updated
        expression = updated.body[0]
        assert isinstance(expression, cst.Expr)
        self.count_rewrite()
        added = _add_call(session, expression.value)
        return updated.with_changes(body=[expression.with_changes(value=added)])

    # -- what gives a new object a parent -------------------------------------------------
    def _events(
        self, small: cst.BaseSmallStatement
    ) -> list[tuple[str | None, ModelFacts, str, cst.BaseExpression]]:
        """(the new object's name, or None when it has none; its model; the relationship;
        the parent given) for each way ``small`` gives a new object a parent 1.x cascaded
        along."""
        events: list[tuple[str | None, ModelFacts, str, cst.BaseExpression]] = []
        target = None
        if isinstance(small, cst.Assign) and len(small.targets) == 1:
            target = small.targets[0].target
        if isinstance(target, cst.Name):
            model = self._constructed_model(small.value) if isinstance(small, cst.Assign) else None
            if model is not None and isinstance(small, cst.Assign):
                assert isinstance(small.value, cst.Call)
                for attribute, parent in self._cascading_keywords(model, small.value):
                    events.append((target.value, model, attribute, parent))
        elif isinstance(target, cst.Attribute) and isinstance(target.value, cst.Name):
            assert isinstance(small, cst.Assign)
            model = self._new_object_model(target.value)
            if model is not None and self.index.backref_cascade(model, target.attr.value):
                events.append((target.value.value, model, target.attr.value, small.value))
        elif isinstance(small, cst.Expr):
            attached = self._attached_by_method(small.value)
            if attached is not None:
                events.append(attached)
        for call in _nested_constructor_calls(small):
            model = self._constructed_model(call)
            if model is None or self._added_inline(call):
                continue
            for attribute, parent in self._cascading_keywords(model, call):
                events.append((None, model, attribute, parent))
        return events

    def _attached_by_method(
        self, value: cst.BaseExpression
    ) -> tuple[str | None, ModelFacts, str, cst.BaseExpression] | None:
        """``note.tags.append(tag)`` on a new ``note``."""
        if not (isinstance(value, cst.Call) and isinstance(value.func, cst.Attribute)):
            return None
        if value.func.attr.value not in ATTACHING_METHODS or len(value.args) != 1:
            return None
        relationship = value.func.value
        if not (
            isinstance(relationship, cst.Attribute) and isinstance(relationship.value, cst.Name)
        ):
            return None
        model = self._new_object_model(relationship.value)
        if model is None or not self.index.backref_cascade(model, relationship.attr.value):
            return None
        return (relationship.value.value, model, relationship.attr.value, value.args[0].value)

    def _cascading_keywords(
        self, model: ModelFacts, call: cst.Call
    ) -> list[tuple[str, cst.BaseExpression]]:
        """(the relationship, the parent given) for each keyword of the constructor call
        that sets a relationship 1.x cascaded along; a keyword a custom ``__init__`` does
        something else with leaves a TODO (what it gives the object cannot be told)."""
        init = _custom_init(self.index, model)
        found: list[tuple[str, cst.BaseExpression]] = []
        for arg in call.args:
            if arg.keyword is None or _gives_nothing(arg.value):
                continue
            attribute: str | None = arg.keyword.value
            if init is not None and attribute in init.init_keywords:
                attribute = init.init_keywords[attribute]
                if attribute is None:
                    self._unknown_keyword(call, model, arg.keyword.value)
                    continue
            elif init is not None and not init.init_takes_kwargs:
                continue  # not a keyword of the constructor: the call fails as it is
            if attribute is not None and self.index.backref_cascade(model, attribute):
                found.append((attribute, arg.value))
        return found

    def _unknown_keyword(self, call: cst.Call, model: ModelFacts, keyword: str) -> None:
        """A keyword named like a relationship 1.x cascaded along, taken by a custom
        ``__init__`` that does not merely assign it to that relationship."""
        if self.index.backref_cascade(model, keyword) is None:
            return
        name = model.qualname.rpartition(".")[2]
        self.todo(
            call,
            f"{name}.__init__ takes {keyword}=: if it gives the new {name} a parent of that "
            "relationship, SQLAlchemy 2.0 no longer puts it into the parent's session "
            "(cascade_backrefs was removed): add it with session.add() where it is to be saved",
        )

    def _constructed_model(self, value: cst.BaseExpression) -> ModelFacts | None:
        if not isinstance(value, cst.Call):
            return None
        klass = self.calls.instance_class(value)
        return self.index.models.get(klass) if klass else None

    def _new_object_model(self, name: cst.Name) -> ModelFacts | None:
        """The model of ``name`` when every binding of it is a constructor call."""
        values = self._bound_values(name)
        if not values:
            return None
        models = {id(m): m for m in (self._constructed_model(v) for v in values)}
        if len(models) != 1 or None in [self._constructed_model(v) for v in values]:
            return None
        return next(iter(models.values()))

    def _bound_values(self, name: cst.Name) -> list[cst.BaseExpression] | None:
        """What ``name`` is assigned, or None when it is also bound otherwise."""
        scope = self.get_metadata(ScopeProvider, name, None)
        if scope is None or name.value not in scope:
            return None
        values: list[cst.BaseExpression] = []
        for assignment in scope[name.value]:
            bound = getattr(assignment, "node", None)
            parent = self.get_metadata(ParentNodeProvider, bound, None) if bound else None
            holder = self.get_metadata(ParentNodeProvider, parent, None) if parent else None
            if isinstance(parent, cst.AssignTarget) and isinstance(holder, cst.Assign):
                if parent.target is bound:
                    values.append(_unawaited(holder.value))
                    continue
            if isinstance(parent, cst.For) and parent.target is bound:
                values.append(parent)  # type: ignore[arg-type]
                continue
            return None
        return values

    # -- handled already ------------------------------------------------------------------
    def _added_inline(self, call: cst.Call) -> bool:
        """Is the constructor call an argument of ``session.add()``/``add_all()``?"""
        node: cst.CSTNode | None = call
        for _ in range(4):
            node = self.get_metadata(ParentNodeProvider, node, None) if node else None
            if isinstance(node, cst.Call):
                return self._adds_to_session(node) or _attaches(node, self.index)
        return False

    def _handled(self, name: str, statement: cst.CSTNode) -> bool:
        """Does the function (or module) add ``name`` to a session itself, or give it to
        another object's relationship?"""
        body = self.enclosing_function() or self.get_metadata(ParentNodeProvider, statement, None)
        if body is None:
            return False
        handled = False
        resolver = self

        class Finder(cst.CSTVisitor):
            def visit_Call(self, node: cst.Call) -> None:
                nonlocal handled
                if any(_mentions(arg.value, name) for arg in node.args):
                    if resolver._adds_to_session(node) or _attaches(node, resolver.index):
                        handled = True

            def visit_Assign(self, node: cst.Assign) -> None:
                nonlocal handled
                target = node.targets[0].target if len(node.targets) == 1 else None
                if isinstance(target, cst.Attribute) and _mentions(node.value, name):
                    handled = True  # ``other.note = note``: attached forward

        body.visit(Finder())
        return handled

    def _adds_to_session(self, call: cst.Call) -> bool:
        func = call.func
        if not isinstance(func, cst.Attribute) or func.attr.value not in (
            "add",
            "add_all",
            "merge",
        ):
            return False
        return self.sessions.evidence(func.value) in (Evidence.PROOF, Evidence.ASSUMED)

    # -- the parent's session -------------------------------------------------------------
    def _parent_session(
        self, parent: cst.BaseExpression, statement: cst.CSTNode
    ) -> cst.BaseExpression | bool | None:
        """The session ``parent`` was loaded from (or added to) in this function; False
        when it is an object made here and not added to a session yet (1.x cascaded
        nothing then: adding the parent later cascades to its children in 2.0 too);
        None when that cannot be told."""
        if isinstance(parent, cst.Call | cst.Await):
            return self._loading_session(parent)  # Note(task=session.get(Task, 1))
        if not isinstance(parent, cst.Name):
            return None
        values = self._bound_values(parent)
        if not values:
            return self._parameter_session(parent)
        sessions: dict[str, cst.BaseExpression] = {}
        unsaved = False
        for value in values:
            session: cst.BaseExpression | None
            if isinstance(value, cst.For):
                session = self._loading_session(_unawaited(value.iter))
            elif self._constructed_model(value) is not None:
                session = self._adding_session(parent.value, statement)
                if session is None:
                    unsaved = True
                    continue
            else:
                session = self._loading_session(value)
            if session is None:
                return None
            sessions[self._code(session)] = session
        if unsaved:
            return False if not sessions else None
        return next(iter(sessions.values())) if len(sessions) == 1 else None

    def _parameter_session(self, parent: cst.Name) -> cst.BaseExpression | None:
        """``def add_comment(db, post, ...)``: a parent that is a parameter of a function
        given one session (a parameter too) was loaded from that session, as a handler
        taking the request's session and an object of it is written; None otherwise."""
        scope = self.get_metadata(ScopeProvider, parent, None)
        if scope is None or parent.value not in scope:
            return None
        bindings = [getattr(a, "node", None) for a in scope[parent.value]]
        if len(bindings) != 1 or not isinstance(bindings[0], cst.Param):
            return None
        function = self.get_metadata(ParentNodeProvider, bindings[0], None)
        function = self.get_metadata(ParentNodeProvider, function, None) if function else None
        if not isinstance(function, cst.FunctionDef):
            return None
        every = [*function.params.posonly_params, *function.params.params]
        every += [*function.params.kwonly_params]
        sessions = [
            p.name
            for p in every
            if p.name.value != parent.value
            and self.sessions.evidence(p.name) in (Evidence.PROOF, Evidence.ASSUMED)
        ]
        return cst.Name(sessions[0].value) if len(sessions) == 1 else None

    def _loading_session(self, value: cst.BaseExpression) -> cst.BaseExpression | None:
        value = _unawaited(value)
        for _ in range(12):
            if not (isinstance(value, cst.Call) and isinstance(value.func, cst.Attribute)):
                return None
            method = value.func.attr.value
            receiver = _unawaited(value.func.value)
            if (
                method in FLASK_LOADERS
                and self.sessions.kind(receiver) is ObjectKind.FLASK_SQLALCHEMY
            ):
                return cst.Attribute(value=receiver, attr=cst.Name("session"))
            if method not in LOADING_METHODS:
                return None
            if self.sessions.evidence(receiver) in (Evidence.PROOF, Evidence.ASSUMED):
                return receiver
            value = receiver
        return None

    def _adding_session(self, name: str, statement: cst.CSTNode) -> cst.BaseExpression | None:
        """``session`` of ``session.add(name)`` before ``statement`` in its block."""
        block = self.get_metadata(ParentNodeProvider, statement, None)
        if not isinstance(block, cst.IndentedBlock | cst.Module):
            return None
        for earlier in block.body:
            if earlier is statement:
                return None
            if not isinstance(earlier, cst.SimpleStatementLine):
                continue
            for small in earlier.body:
                call = small.value if isinstance(small, cst.Expr) else None
                if (
                    isinstance(call, cst.Call)
                    and isinstance(call.func, cst.Attribute)
                    and call.func.attr.value == "add"
                    and len(call.args) == 1
                    and _mentions(call.args[0].value, name)
                    and self._adds_to_session(call)
                ):
                    return call.func.value
        return None

    def _code(self, node: cst.CSTNode) -> str:
        return cst.Module([]).code_for_node(node)


def _custom_init(index: ProjectIndex, model: ModelFacts) -> ModelFacts | None:
    """The model (``model`` or a mapped base) whose own ``__init__`` its constructor
    runs, if any."""
    for owner in index.self_and_bases(model):
        if owner.has_init:
            return owner
    return None


def _add_call(session: cst.BaseExpression, obj: cst.BaseExpression) -> cst.Call:
    """``session.add(obj)``."""
    return cst.Call(
        func=cst.Attribute(value=session.deep_clone(), attr=cst.Name("add")), args=[cst.Arg(obj)]
    )


def _add_statement(session: cst.BaseExpression, obj: cst.BaseExpression) -> cst.SimpleStatementLine:
    return cst.SimpleStatementLine(body=[cst.Expr(_add_call(session, obj))])


def _unawaited(value: Any) -> Any:
    while isinstance(value, cst.Await):
        value = value.expression
    return value


def _is_none(value: cst.BaseExpression) -> bool:
    return isinstance(value, cst.Name) and value.value == "None"


def _gives_nothing(value: cst.BaseExpression) -> bool:
    """``None``, or an empty collection literal (``orders=[]``, which init-collections
    writes): no parent object for the backref to cascade along."""
    if isinstance(value, cst.List | cst.Tuple | cst.Set):
        return not value.elements
    return _is_none(value)


def _mentions(value: cst.BaseExpression, name: str) -> bool:
    """Is ``value`` the name, or a list, tuple or set literal holding it?"""
    if isinstance(value, cst.Name):
        return value.value == name
    if isinstance(value, cst.List | cst.Tuple | cst.Set):
        return any(_mentions(element.value, name) for element in value.elements)
    return False


def _attaches(call: cst.Call, index: ProjectIndex) -> bool:
    """``owner.rel.append(x)`` and the like on a relationship of another object (named
    like one of the project's relationships: a plain list attribute cascades nothing)."""
    func = call.func
    return (
        isinstance(func, cst.Attribute)
        and func.attr.value in ATTACHING_METHODS
        and isinstance(func.value, cst.Attribute)
        and func.value.attr.value in _relationship_names(index)
    )


@per_object
def _relationship_names(index: ProjectIndex) -> frozenset[str]:
    names: set[str] = set()
    for model in index.models.values():
        for name, relationship in model.relationships.items():
            names.add(name)
            if relationship.backref:
                names.add(relationship.backref)
    return frozenset(names)


def _nested_constructor_calls(small: cst.BaseSmallStatement) -> list[cst.Call]:
    """Calls in ``small`` other than the value of a plain ``name = Model(...)``."""
    top: cst.CSTNode | None = None
    if isinstance(small, cst.Assign) and len(small.targets) == 1:
        if isinstance(small.targets[0].target, cst.Name):
            top = small.value
    calls: list[cst.Call] = []

    class Finder(cst.CSTVisitor):
        def visit_Call(self, node: cst.Call) -> None:
            if node is not top and any(arg.keyword is not None for arg in node.args):
                calls.append(node)

        def visit_Lambda(self, node: cst.Lambda) -> bool:
            return False

    small.visit(Finder())
    return calls


@per_object
def _cascading_strings(index: ProjectIndex) -> frozenset[str]:
    return frozenset(name.decode() for name in _cascading_names(index))


@per_object
def _cascading_pattern(index: ProjectIndex) -> re.Pattern[bytes] | None:
    names = sorted(_cascading_names(index))
    if not names:
        return None
    alternatives = b"|".join(re.escape(name) for name in names)
    return re.compile(rb"\b(?:" + alternatives + rb")\s*(?:=(?!=)|\.)")


@per_object
def _cascading_names(index: ProjectIndex) -> set[bytes]:
    """The attribute names along which 1.x may have cascaded a new object into a session
    (a prefilter: ``ProjectIndex.backref_cascade`` decides): relationships with a
    cascading other side, and the backrefs of relationships that cascade save-update.
    One look at every relationship (asking ``backref_cascade`` of every model for every
    backref would look at every relationship again for each)."""
    names: set[bytes] = set()
    for model in index.models.values():
        for name, relationship in model.relationships.items():
            if index.backref_cascade(model, name) is not None:
                names.add(name.encode())
            backref = relationship.backref
            if backref and not relationship.viewonly and saves_along(relationship.cascade):
                names.add(backref.encode())
    return names
