"""Decide whether an expression is a SQLAlchemy session, from evidence.

Evidence, strongest first:

* the project index says so: ``SessionLocal = sessionmaker(...)`` makes ``SessionLocal()``
  a session; ``Session = scoped_session(...)`` makes ``Session`` one; ``db = SQLAlchemy()``
  makes ``db.session`` one; ``def get_db(): ... yield SessionLocal()`` is a provider;
* a local bound from such an expression (``s = SessionLocal()``, ``with Session() as s``);
* a parameter annotated ``Session``/``scoped_session``/``AsyncSession`` (also through
  ``Annotated``, and through a type alias: ``SessionDep = Annotated[Session,
  Depends(get_db)]`` or ``SessionDep: TypeAlias = ...``, of the module or imported from
  another, which the project index records) or defaulting to
  ``Depends(provider)``;
* ``self.attr`` assigned one of the above in any method of the class;
* an attribute assigned one in the same function (``request.state.db = SessionLocal()``
  in a middleware, then ``request.state.db.close()``), and ``request.state.<name>`` of a
  parameter annotated ``Request`` when every ``<x>.state.<name>`` assigned in the module
  (the middleware's) is one;
* ``object_session(x)``.

A name spelled like a session (``session``, ``db_session``, ``db``...) with no contrary
evidence is accepted as a fallback; the caller reports it as an assumption.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from collections.abc import Set as AbstractSet
from typing import TYPE_CHECKING

import libcst as cst
from libcst.metadata import (
    Assignment,
    ParentNodeProvider,
    QualifiedNameProvider,
    Scope,
    ScopeProvider,
)

from sqla_upgrade.codemods.base import Pass, function_qualname, per_object
from sqla_upgrade.codemods.index.builder import CONSTRUCTOR_KINDS
from sqla_upgrade.codemods.index.model import (
    ANNOTATED,
    SESSION_TYPES,
    TYPE_ALIAS,
    FunctionFacts,
    ObjectKind,
    ProjectIndex,
    looks_like_session,
)
from sqla_upgrade.codemods.names import qualified_names

if TYPE_CHECKING:
    from sqla_upgrade.codemods.analysis.async_plan import CallResolver

SESSION_CONSTRUCTORS = frozenset(
    {
        "sqlalchemy.orm.Session",
        "sqlalchemy.orm.session.Session",
        "sqlalchemy.ext.asyncio.AsyncSession",
    }
)
OBJECT_SESSION = frozenset(
    {
        "sqlalchemy.orm.object_session",
        "sqlalchemy.orm.session.object_session",
        "sqlalchemy.orm.Session.object_session",
        "sqlalchemy.orm.session.Session.object_session",
    }
)
#: calls whose result makes sessions when called (``Session = sessionmaker(bind=engine)``);
#: stage 1 of ``--target async`` writes the async ones, which stage 2 reads
SESSION_FACTORIES = frozenset(
    {
        "sqlalchemy.orm.sessionmaker",
        "sqlalchemy.orm.session.sessionmaker",
        "sqlalchemy.ext.asyncio.async_sessionmaker",
        "sqlalchemy.ext.asyncio.session.async_sessionmaker",
    }
)
#: calls whose result is a session registry: a session itself, and one when called
SCOPED_FACTORIES = frozenset(
    {
        "sqlalchemy.orm.scoped_session",
        "sqlalchemy.orm.scoping.scoped_session",
        "sqlalchemy.ext.asyncio.async_scoped_session",
        "sqlalchemy.ext.asyncio.scoping.async_scoped_session",
    }
)
DEPENDS = frozenset({"fastapi.Depends", "fastapi.params.Depends"})
REQUESTS = frozenset({"starlette.requests.Request", "fastapi.Request", "fastapi.requests.Request"})
MAX_DEPTH = 25  # bindings followed before giving up (x = y; y = x)
#: libraries whose imported names are never SQLAlchemy sessions, however they are
#: spelled (``from flask import session`` is the signed-cookie session): SQLAlchemy itself
#: (its sessions come from calls, which the index records) and web and HTTP libraries
NOT_SQLALCHEMY_SESSIONS = frozenset(
    {
        "sqlalchemy",
        "flask",
        "quart",
        "werkzeug",
        "django",
        "requests",
        "aiohttp",
        "httpx",
        "starlette",
        "fastapi",
        "tornado",
        "sanic",
        "pyramid",
        "bottle",
        "boto3",
        "botocore",
        # other databases' clients and ORMs, whose objects are named like sessions:
        # App Engine's ``from google.appengine.ext import db``, Pony's ``db_session``
        "google",
        "pony",
        "peewee",
        "mongoengine",
        "pymongo",
        "motor",
        "redis",
        "neo4j",
        "cassandra",
        "tortoise",
    }
)
#: how ``unknown_flask_db`` names a Flask-SQLAlchemy object only module-level code makes
#: (bound more than once there)
MADE_AT_MODULE_LEVEL = "module-level code"
SESSION_KINDS = frozenset({ObjectKind.SESSION, ObjectKind.SCOPED_SESSION})
FACTORY_KINDS = frozenset({ObjectKind.SESSION_FACTORY, ObjectKind.SCOPED_SESSION})


class Evidence(enum.Enum):
    PROOF = "proof"
    ASSUMED = "assumed"
    CONTRARY = "contrary"
    NONE = "none"


def combine(verdicts: Iterable[Evidence]) -> Evidence:
    """All bindings must agree: any contrary one wins, then any assumption."""
    result = Evidence.NONE
    for verdict in verdicts:
        if verdict is Evidence.CONTRARY:
            return Evidence.CONTRARY
        if verdict is Evidence.ASSUMED or result is Evidence.NONE:
            result = verdict if result is not Evidence.ASSUMED else result
    return result


class SessionResolver:
    """Session evidence for expressions of one file, through one pass's metadata."""

    def __init__(self, transformer: Pass, *, unknown_flask_sessions: bool = True) -> None:
        self.t = transformer
        self.index = transformer.state.index
        #: is the ``session`` of a Flask-SQLAlchemy object the index does not know (made
        #: in a function) a session? It is one for the 2.0 rewrites; it is not one that
        #: becomes async (False: the I/O detector's, for which its I/O stays synchronous)
        self.unknown_flask_sessions = unknown_flask_sessions
        self._unknown_dbs: dict[tuple[int, str], str | None] = {}
        self._self_attrs: dict[int, dict[str, list[Evidence]]] = {}
        #: attribute chains assigned in a function (``request.state.db``) → the values
        self._assigned_chains: dict[int, dict[str, list[cst.BaseExpression]]] = {}
        self._depth = 0
        #: the evidence for each variable (scope, name) weighed outside any other one's
        self._variables: dict[tuple[int, str], Evidence] = {}
        self._weighing: set[tuple[int, str]] = set()
        #: (class, attribute) → is every ``self.attribute = ...`` a session factory
        self._self_factories: dict[tuple[int, str], bool] = {}
        self._calls: CallResolver | None = None

    # -- qualified names --------------------------------------------------------------
    def qualnames(self, node: cst.CSTNode) -> AbstractSet[str]:
        return qualified_names(self.t, node)

    def kind(self, node: cst.CSTNode) -> ObjectKind | None:
        for qualname in qualified_names(self.t, node, ending=self.index.kind_endings()):
            kind = self.index.kind_of(qualname)
            if kind is not None:
                return kind
        return None

    # -- the question ---------------------------------------------------------------------
    def evidence(self, node: cst.BaseExpression) -> Evidence:
        """How sure we are that ``node`` is a session (guarded against binding cycles)."""
        if self._depth > MAX_DEPTH:
            return Evidence.NONE
        self._depth += 1
        try:
            return self._evidence(node)
        finally:
            self._depth -= 1

    def _evidence(self, node: cst.BaseExpression) -> Evidence:
        if isinstance(node, cst.Name):
            return self._name_evidence(node)
        if isinstance(node, cst.Attribute):
            return self._attribute_evidence(node)
        if isinstance(node, cst.Call):
            if self.produces_session(node) or self.makes_scoped_registry(node):
                return Evidence.PROOF
            return self._call_evidence(node) or Evidence.NONE
        return Evidence.NONE

    def produces_session(self, value: cst.BaseExpression) -> bool:
        """Is ``value`` an expression whose result is a session (``SessionLocal()``, ...)?"""
        if isinstance(value, cst.Call):
            func = value.func
            if self.qualnames(func) & (SESSION_CONSTRUCTORS | OBJECT_SESSION):
                return True
            if isinstance(func, cst.Call) and self.qualnames(func.func) & (
                SESSION_FACTORIES | SCOPED_FACTORIES
            ):
                return True  # ``sessionmaker(bind=engine)()``
            kind = self.kind(func)
            if kind in FACTORY_KINDS:
                return True
            if self._is_flask_session(func):
                return True  # ``db.session()``: the session of Flask-SQLAlchemy's registry
            if kind is None and (self._made_factory(func) or self.factory_param(func)):
                return True
            if kind is ObjectKind.SESSION_PROVIDER:
                return not self.makes_scoped_registry(value)
            # SessionLocal.begin() yields a session from a sessionmaker
            if isinstance(func, cst.Attribute) and func.attr.value in ("begin", "object_session"):
                owner_kind = self.kind(func.value)
                if owner_kind is None and (
                    self._made_factory(func.value) or self.factory_param(func.value)
                ):
                    return True
                return owner_kind in FACTORY_KINDS
            # next(get_db()) on a generator provider
            if self.qualnames(func) & {"builtins.next", "next"} and value.args:
                inner = value.args[0].value
                return (
                    isinstance(inner, cst.Call)
                    and self.kind(inner.func) is ObjectKind.SESSION_PROVIDER
                )
            return False
        return self.evidence(value) is Evidence.PROOF

    def makes_scoped_registry(self, call: cst.Call) -> bool:
        """Is ``call`` one of a project function returning a scoped session
        (``create_session(url)`` returning ``scoped_session(factory)``)? What it gives acts
        as a session; it opens none of its own."""
        scoped = self.index.scoped_providers
        return bool(scoped) and any(
            self.index.resolve_alias(q) in scoped for q in self.qualnames(call.func)
        )

    def _is_flask_session(self, node: cst.BaseExpression) -> bool:
        return (
            isinstance(node, cst.Attribute)
            and node.attr.value == "session"
            and self.kind(node.value) is ObjectKind.FLASK_SQLALCHEMY
        )

    def _call_evidence(self, call: cst.Call, opaque_name: str | None = None) -> Evidence | None:
        """What a call of a project function or method gives, beyond ``produces_session``:
        a session where it is a session provider (resolved only by its method's name:
        assumed), what the call hands the parameters it returns (``get_db_session(
        db_session)`` returning ``session or default``), nothing known where it returns
        values of no known type (for a variable named like a session, ``opaque_name``, the
        name tells then). None where the call is none of these (no evidence of its own)."""
        callees, exact = self._project_callees(call)
        if not callees:
            return None
        if all(self._gives_a_session(q) for q in callees):
            return Evidence.PROOF if exact else Evidence.ASSUMED
        if not exact:
            return None
        facts = self.index.functions[callees[0]]
        verdicts = [self._handed_to(call, facts, param) for param in facts.returns_params]
        combined = combine(verdicts)
        if combined is not Evidence.NONE or verdicts:
            return combined  # NONE: a parameter the call does not give, or given nothing told
        if not self.index.returns_opaque(facts):
            return None
        if opaque_name is None:
            return Evidence.NONE
        # ``session = get_session(context)``: the name tells, where it says session
        # (``db = get_db()`` returning ``g.db`` is as often a DB-API connection)
        if "session" in opaque_name.lower():
            return self._fallback(opaque_name)
        return Evidence.CONTRARY

    def _gives_a_session(self, qualname: str) -> bool:
        facts = self.index.functions.get(qualname)
        return (
            facts is not None
            and not facts.is_generator
            and self.index.objects.get(qualname) is ObjectKind.SESSION_PROVIDER
        )

    def _project_callees(self, call: cst.Call) -> tuple[list[str], bool]:
        """The project functions a call may run, and whether it is told exactly (by
        name, or a method of a known class) or only by the method's name (every project
        method so named, none of the names other libraries' objects commonly have)."""
        from sqla_upgrade.codemods.analysis.async_plan import COMMON_METHOD_NAMES, CallResolver

        if self._calls is None:
            self._calls = CallResolver(self.t)
        try:
            callee = self._calls.callee(call, self._enclosing_class_name(call))
        except KeyError:
            callee = None
        if callee is not None and callee in self.index.functions:
            return [callee], True
        func = call.func
        if not isinstance(func, cst.Attribute):
            return [], False
        name = func.attr.value
        if name in COMMON_METHOD_NAMES or name.startswith("__"):
            return [], False
        functions = self.index.functions
        if any(q in functions for q in self.qualnames(func)) or self.kind(func.value) is not None:
            return [], False
        return sorted(_methods_by_name(self.index).get(name, ())), False

    def _handed_to(self, call: cst.Call, facts: FunctionFacts, param: str) -> Evidence:
        """The evidence of what ``call`` hands ``facts``' parameter ``param``; NONE where it
        hands it nothing (its default)."""
        position = facts.params.index(param)
        func = call.func
        if isinstance(func, cst.Attribute) and _is_method(self.index, facts.qualname):
            if "staticmethod" not in {d.rpartition(".")[2] for d in facts.decorators}:
                position -= 1  # ``self``/``cls`` is the receiver
        for index, arg in enumerate(call.args):
            if arg.star:
                return Evidence.NONE
            if arg.keyword is not None:
                if arg.keyword.value == param:
                    return self._value_evidence(arg.value, "")
            elif index == position and position < facts.positional:
                return self._value_evidence(arg.value, "")
        return Evidence.NONE

    def _enclosing_class_name(self, node: cst.CSTNode) -> str | None:
        """``module.Class`` of the class whose method holds ``node``, if any."""
        klass = self._enclosing(node, cst.ClassDef)
        if not isinstance(klass, cst.ClassDef):
            return None
        names = [klass.name.value]
        holder = self._parent(klass)
        while holder is not None:
            if isinstance(holder, cst.FunctionDef | cst.ClassDef):
                names.append(holder.name.value)
            holder = self._parent(holder)
        return ".".join([self.t.state.module_name, *reversed(names)])

    def local_factory(self, node: cst.BaseExpression) -> bool:
        """Is ``node`` a local name every binding of which is ``sessionmaker(...)``,
        ``async_sessionmaker(...)`` or ``scoped_session(...)`` (a factory made in a
        function, which the project index does not record)?"""
        return self._bound_only_to(node, SESSION_FACTORIES | SCOPED_FACTORIES)

    def factory_param(self, node: cst.BaseExpression) -> bool:
        """Is ``node`` a parameter some caller hands a session factory (the project
        index's inference over the call sites), or one annotated ``sessionmaker``?"""
        if not isinstance(node, cst.Name):
            return False
        assignments = self._assignments(node)
        if not assignments or not all(isinstance(a.node, cst.Param) for a in assignments):
            return False
        for assignment in assignments:
            param = assignment.node
            assert isinstance(param, cst.Param)
            if param.annotation is not None:
                if not self.qualnames(param.annotation.annotation) & SESSION_FACTORIES:
                    return False
                continue
            function = self._enclosing(param, cst.FunctionDef)
            if not isinstance(function, cst.FunctionDef):
                return False
            key = (function_qualname(self.t, function), param.name.value)
            if key not in self.index.factory_params:
                return False
        return True

    def is_factory(self, node: cst.BaseExpression) -> bool:
        """Is ``node`` a session factory: ``sessionmaker(...)``, a name the index, the
        function or its callers make one, or such a ``self`` attribute?"""
        if isinstance(node, cst.Call):
            return bool(self.qualnames(node.func) & SESSION_FACTORIES)
        kind = self.kind(node)
        if kind is not None:
            return kind in FACTORY_KINDS
        return self._made_factory(node) or self.factory_param(node)

    def _made_factory(self, node: cst.BaseExpression) -> bool:
        """A session factory the index does not record: made in a function, kept on
        ``self`` (``self.Session = sessionmaker(...)``, or one handed to ``__init__``) or
        given by a pytest fixture."""
        return self.local_factory(node) or self.self_factory(node) or self._factory_fixture(node)

    def self_factory(self, node: cst.BaseExpression) -> bool:
        """Is ``node`` ``self.name`` where every ``self.name = ...`` of the class assigns a
        session factory (``self.session_factory = session_factory`` in ``__init__``,
        handed one by the callers)?"""
        if not (
            isinstance(node, cst.Attribute)
            and isinstance(node.value, cst.Name)
            and node.value.value == "self"
        ):
            return False
        klass = self._enclosing(node, cst.ClassDef)
        if not isinstance(klass, cst.ClassDef) or self._depth > MAX_DEPTH:
            return False
        key = (id(klass), node.attr.value)
        if key in self._self_factories:
            return self._self_factories[key]
        self._self_factories[key] = False  # ``self.a = self.b; self.b = self.a``: no loop
        values = _self_assigned_values(klass, node.attr.value)
        self._depth += 1
        try:
            found = bool(values) and all(self.is_factory(value) for value in values)
        finally:
            self._depth -= 1
        self._self_factories[key] = found
        return found

    def _factory_fixture(self, node: cst.BaseExpression) -> bool:
        """Is ``node`` a test's (or fixture's) parameter given a pytest fixture of the
        project returning a session factory (``return sessionmaker(bind=engine)``)?"""
        if not isinstance(node, cst.Name) or node.value not in self.index.fixture_kinds:
            return False
        params = [a.node for a in self._assignments(node) or ()]
        return bool(params) and all(
            isinstance(p, cst.Param) and self._fixture_kind(p) in FACTORY_KINDS for p in params
        )

    def _fixture_kind(self, param: cst.Param) -> ObjectKind | None:
        """The kind of what the project's pytest fixture named as ``param`` gives, where
        ``param`` is one of a test function or a fixture (which pytest gives it)."""
        kind = self.index.fixture_kinds.get(param.name.value)
        if kind is None or param.annotation is not None or param.default is not None:
            return None
        function = self._enclosing(param, cst.FunctionDef)
        if not isinstance(function, cst.FunctionDef):
            return None
        if function.name.value.startswith("test"):
            return kind
        for decorator in function.decorators:
            called = decorator.decorator
            if isinstance(called, cst.Call):
                called = called.func
            if any(q.endswith("fixture") for q in self.qualnames(called)):
                return kind
        return None

    def local_scoped_registry(self, node: cst.BaseExpression) -> bool:
        """Is ``node`` a local name bound only to ``scoped_session(...)``, or to calls of
        project functions returning one (``session = create_session(url)``)?"""
        return self._bound_only_to(node, SCOPED_FACTORIES | frozenset(self.index.scoped_providers))

    def _bound_only_to(self, node: cst.BaseExpression, factories: frozenset[str]) -> bool:
        if not isinstance(node, cst.Name):
            return False
        assignments = self._assignments(node)
        if not assignments:
            return False
        for assignment in assignments:
            parent = self._parent(assignment.node)
            statement = self._parent(parent) if isinstance(parent, cst.AssignTarget) else None
            if not isinstance(statement, cst.Assign) or not isinstance(statement.value, cst.Call):
                return False
            called = self.qualnames(statement.value.func)
            if not {self.index.resolve_alias(q) for q in called} & factories:
                return False
        return True

    def _name_evidence(self, node: cst.Name) -> Evidence:
        kind = self.kind(node)
        if kind in SESSION_KINDS:
            return Evidence.PROOF
        if kind is not None:
            return Evidence.CONTRARY
        if self.local_scoped_registry(node):
            return Evidence.PROOF  # a local scoped_session proxies the session's methods
        assignments = self._assignments(node)
        if assignments is None:
            return self._fallback(node.value)
        if assignments and all(
            isinstance(a.node, cst.Import | cst.ImportFrom) for a in assignments
        ):
            return self._imported_evidence(node)
        return self._variable_evidence(node, assignments)

    def _variable_evidence(self, node: cst.Name, assignments: list[Assignment]) -> Evidence:
        """The bindings' evidence combined. A variable met again while weighing it
        (``session = session or make()`` bound many times) tells nothing there: following
        it again would be exponential in its bindings."""
        key = (id(assignments[0].scope), node.value) if assignments else None
        if key is not None and key in self._variables:
            return self._variables[key]
        if key is not None and key in self._weighing:
            return Evidence.NONE
        outermost = not self._weighing
        if key is not None:
            self._weighing.add(key)
        try:
            verdicts = [self._binding_evidence(a, node.value) for a in assignments]
        finally:
            if key is not None:
                self._weighing.discard(key)
        combined = combine(verdicts)
        evidence = self._fallback(node.value) if combined is Evidence.NONE else combined
        if key is not None and outermost:
            self._variables[key] = evidence
        return evidence

    def _imported_evidence(self, node: cst.Name) -> Evidence:
        """An imported name the index knows no kind for: a project module would have told."""
        for qualname in self.qualnames(node):
            module = qualname.rpartition(".")[0]
            if module in self.index.modules or module.split(".")[0] in NOT_SQLALCHEMY_SESSIONS:
                return Evidence.CONTRARY
        return self._fallback(node.value)

    def _assignments(self, node: cst.Name) -> list[Assignment] | None:
        try:
            scope: Scope | None = self.t.get_metadata(ScopeProvider, node)
        except KeyError:
            return None
        if scope is None:
            return None
        found = [a for a in scope[node.value] if isinstance(a, Assignment)]
        return found

    def _binding_evidence(self, assignment: Assignment, name: str) -> Evidence:
        bound = assignment.node
        parent = self._parent(bound)
        if isinstance(bound, cst.Param):
            return self._param_evidence(bound)
        if isinstance(bound, cst.Import | cst.ImportFrom):
            return Evidence.NONE
        if isinstance(parent, cst.AssignTarget):
            statement = self._parent(parent)
            if isinstance(statement, cst.Assign):
                return self._value_evidence(statement.value, name)
        if isinstance(parent, cst.AnnAssign) and parent.value is not None:
            annotated = self._annotation_evidence(parent.annotation.annotation)
            return (
                annotated
                if annotated is not Evidence.NONE
                else self._value_evidence(parent.value, name)
            )
        if isinstance(parent, cst.AsName):
            holder = self._parent(parent)
            if isinstance(holder, cst.WithItem):
                return self._value_evidence(holder.item, name)
            return Evidence.NONE
        if isinstance(parent, cst.For | cst.CompFor) and parent.target is bound:
            # for db in get_db(): iterating a session provider
            iterated = parent.iter
            if (
                isinstance(iterated, cst.Call)
                and self.kind(iterated.func) is ObjectKind.SESSION_PROVIDER
            ):
                return Evidence.PROOF
            return Evidence.NONE
        if isinstance(bound, cst.FunctionDef | cst.ClassDef):
            return Evidence.CONTRARY
        return Evidence.NONE

    def _value_evidence(self, value: cst.BaseExpression, name: str) -> Evidence:
        if isinstance(value, cst.Await):  # what a first run wrote: the call's own evidence
            value = value.expression
        if self.produces_session(value):
            return Evidence.PROOF
        if isinstance(value, cst.Name | cst.Attribute):
            nested = self.evidence(value)
            if nested is not Evidence.NONE:
                return nested
        if isinstance(value, cst.Call) and self._depth <= MAX_DEPTH:
            self._depth += 1
            try:
                returned = self._call_evidence(value, opaque_name=name)
            finally:
                self._depth -= 1
            if returned is not None:
                return returned
        if isinstance(value, cst.Call | cst.BaseString | cst.Dict | cst.List | cst.Integer):
            return Evidence.CONTRARY
        return self._fallback(name)

    def _param_evidence(self, param: cst.Param) -> Evidence:
        if param.annotation is not None:
            annotated = self._annotation_evidence(param.annotation.annotation)
            if annotated is not Evidence.NONE:
                return annotated
        default = param.default
        if (
            isinstance(default, cst.Call)
            and self.qualnames(default.func) & DEPENDS
            and default.args
        ):
            dependency = default.args[0].value
            if self.kind(dependency) is ObjectKind.SESSION_PROVIDER:
                return Evidence.PROOF
        if param.annotation is not None:
            return Evidence.CONTRARY
        fixture = self._fixture_kind(param)
        if fixture in SESSION_KINDS:
            return Evidence.PROOF
        if fixture is not None:
            return Evidence.CONTRARY  # a session factory, an engine
        handed = self._handed_a_session(param)
        if handed == "proof":
            return Evidence.PROOF
        fallback = self._fallback(param.name.value)
        return Evidence.ASSUMED if handed == "assumed" else fallback

    def _handed_a_session(self, param: cst.Param) -> str | None:
        """Do the function's callers hand this parameter a session (the project index's
        inference over the call sites), however it is named? "proof", "assumed" or None."""
        index = self.t.state.index
        if not (index.session_params or index.assumed_session_params):
            return None
        function = self._enclosing(param, cst.FunctionDef)
        if not isinstance(function, cst.FunctionDef):
            return None
        return index.session_param(function_qualname(self.t, function), param.name.value)

    def _annotation_evidence(self, annotation: cst.BaseExpression) -> Evidence:
        if isinstance(annotation, cst.SimpleString):
            text = annotation.evaluated_value
            if not isinstance(text, str):
                return Evidence.NONE
            prefix, _, last = text.strip().rpartition(".")
            if last in ("Session", "AsyncSession", "scoped_session") and (
                not prefix or prefix.endswith(("orm", "asyncio"))
            ):
                return Evidence.PROOF
            return Evidence.CONTRARY
        qualnames = self.qualnames(annotation)
        if qualnames & SESSION_TYPES:
            return Evidence.PROOF
        if qualnames and all(map(self.index.is_session_alias, qualnames)):
            return Evidence.PROOF  # a session alias of the project, imported or not
        if isinstance(annotation, cst.Name):
            return self._alias_evidence(annotation)
        if isinstance(annotation, cst.Subscript):
            # Annotated[Session, Depends(...)], Optional[Session], scoped_session[Session]
            if self.qualnames(annotation.value) & SESSION_TYPES:
                return Evidence.PROOF
            for element in annotation.slice:
                if (
                    isinstance(element.slice, cst.Index)
                    and self._annotation_evidence(element.slice.value) is Evidence.PROOF
                ):
                    return Evidence.PROOF
        if isinstance(annotation, cst.BinaryOperation):  # Session | None
            for side in (annotation.left, annotation.right):
                if self._annotation_evidence(side) is Evidence.PROOF:
                    return Evidence.PROOF
        return Evidence.NONE

    def _alias_evidence(self, name: cst.Name) -> Evidence:
        """``db: SessionDep`` with ``SessionDep = Annotated[Session, Depends(get_db)]``: the
        type every binding of the alias names (all must be type aliases)."""
        assignments = self._assignments(name)
        if not assignments or self._depth > MAX_DEPTH:
            return Evidence.NONE
        values = [self._aliased_type(a) for a in assignments]
        if any(value is None for value in values):
            return Evidence.NONE
        self._depth += 1
        try:
            verdicts = [self._annotation_evidence(v) for v in values if v is not None]
        finally:
            self._depth -= 1
        return Evidence.PROOF if all(v is Evidence.PROOF for v in verdicts) else Evidence.NONE

    def _aliased_type(self, assignment: Assignment) -> cst.BaseExpression | None:
        parent = self._parent(assignment.node)
        statement = self._parent(parent) if isinstance(parent, cst.AssignTarget) else parent
        if isinstance(statement, cst.Assign | cst.AnnAssign):
            return type_alias_value(self.t, statement)
        return None

    def _attribute_evidence(self, node: cst.Attribute) -> Evidence:
        kind = self.kind(node)
        if kind in SESSION_KINDS:
            return Evidence.PROOF
        attr = node.attr.value
        if self._is_flask_session(node):
            return Evidence.PROOF
        if attr == "session" and self.unknown_flask_db(node.value) is not None:
            return Evidence.PROOF if self.unknown_flask_sessions else Evidence.CONTRARY
        if isinstance(node.value, cst.Name) and node.value.value in ("self", "cls"):
            return self._self_attribute_evidence(node)
        if kind is not None:
            return Evidence.CONTRARY
        if attr == "session" and isinstance(node.value, cst.Name) and node.value.value == "db":
            owner = self.evidence(node.value)
            return Evidence.ASSUMED if owner is not Evidence.CONTRARY else Evidence.CONTRARY
        instance = self._instance_attribute_evidence(node)
        if instance is not None:
            return instance
        return self._assigned_attribute_evidence(node)

    def _instance_attribute_evidence(self, node: cst.Attribute) -> Evidence | None:
        """``store.session`` where ``store`` is the module-level instance of a class of
        this module (``store = Store(Session())``): a session where what the class's
        methods assign to ``self.session`` is proven one; None otherwise."""
        if not isinstance(node.value, cst.Name):
            return None
        klass = None
        for qualname in self.qualnames(node.value):
            made = self.index.instance_class(qualname)
            module, _, name = (made or "").rpartition(".")
            if made is not None and module == self.t.state.module_name:
                klass = self._module_class(node, name)
        if klass is None:
            return None
        verdicts = self._class_self_attributes(klass).get(node.attr.value)
        found = combine(verdicts) if verdicts else None
        # only what proves it: outside the class, its name alone tells nothing
        return found if found is Evidence.PROOF else None

    def _module_class(self, node: cst.CSTNode, name: str) -> cst.ClassDef | None:
        module = self._enclosing(node, cst.Module)
        if not isinstance(module, cst.Module):
            return None
        found = [s for s in module.body if isinstance(s, cst.ClassDef) and s.name.value == name]
        return found[0] if len(found) == 1 else None

    def _assigned_attribute_evidence(self, node: cst.Attribute) -> Evidence:
        """``request.state.db`` where the function assigns it a session (a middleware's
        ``request.state.db = SessionLocal()``), or where ``request`` is a parameter
        annotated ``Request`` and the module's functions assign ``<x>.state.db`` only
        sessions (the middleware every request of the app goes through)."""
        chain = _dotted(node)
        function = self._enclosing(node, cst.FunctionDef)
        if chain is None or not isinstance(function, cst.FunctionDef):
            return Evidence.NONE
        values = self._chains_assigned_in(function).get(chain)
        if not values and self._is_request_state(node, function):
            module = self._enclosing(function, cst.Module)
            values = self._request_states_assigned(module).get(node.attr.value)
        if not values:
            return Evidence.NONE
        return combine(self._value_evidence(value, node.attr.value) for value in values)

    def _chains_assigned_in(self, function: cst.FunctionDef) -> dict[str, list[cst.BaseExpression]]:
        found = self._assigned_chains.get(id(function))
        if found is None:
            found = _assigned_attributes(function.body)
            self._assigned_chains[id(function)] = found
        return found

    def _is_request_state(self, node: cst.Attribute, function: cst.FunctionDef) -> bool:
        """``<request>.state.<name>`` on a parameter of ``function`` annotated ``Request``."""
        state = node.value
        if not (isinstance(state, cst.Attribute) and state.attr.value == "state"):
            return False
        root = state.value
        if not isinstance(root, cst.Name):
            return False
        params = function.params
        for param in (*params.posonly_params, *params.params, *params.kwonly_params):
            if param.name.value == root.value:
                annotation = param.annotation
                return annotation is not None and bool(
                    self.qualnames(annotation.annotation) & REQUESTS
                )
        return False

    def _request_states_assigned(
        self, module: cst.CSTNode | None
    ) -> dict[str, list[cst.BaseExpression]]:
        """``<x>.state.<name> = value`` anywhere in the module, by ``name``."""
        if not isinstance(module, cst.Module):
            return {}
        found = self._assigned_chains.get(id(module))
        if found is None:
            found = {}
            for chain, values in _assigned_attributes(module, nested=True).items():
                parts = chain.split(".")
                if len(parts) == 3 and parts[1] == "state":
                    found.setdefault(parts[2], []).extend(values)
            self._assigned_chains[id(module)] = found
        return found

    def _self_attribute_evidence(self, node: cst.Attribute) -> Evidence:
        klass = self._enclosing(node, cst.ClassDef)
        if not isinstance(klass, cst.ClassDef):
            return self._fallback(node.attr.value)
        verdicts = self._class_self_attributes(klass).get(node.attr.value)
        found = combine(verdicts) if verdicts else self._fallback(node.attr.value)
        if found is Evidence.ASSUMED and self._holds_a_session(klass, node.attr.value):
            return Evidence.CONTRARY
        return found

    def _class_self_attributes(self, klass: cst.ClassDef) -> dict[str, list[Evidence]]:
        """The evidence of what the class's methods assign to each ``self.<attr>``."""
        attrs = self._self_attrs.get(id(klass))
        if attrs is None:
            self._self_attrs[id(klass)] = {}  # self.a = self.b; self.b = self.a: no loop
            attrs = self._collect_self_attributes(klass)
            self._self_attrs[id(klass)] = attrs
        return attrs

    def _holds_a_session(self, klass: cst.ClassDef, attr: str) -> bool:
        """Does a method of the class, of a project class it derives from, or of another
        project class deriving from one of those read ``self.<attr>.session``? Then
        ``self.<attr>`` is what holds a session (a Flask-SQLAlchemy ``db``, which a
        sibling datastore class for another library uses as its own database object),
        not one, whatever its name says."""
        holders = _session_holders(self.index)
        if not holders:
            return False
        name = self._enclosing_class_name(klass.body)
        if name is None:
            return False
        from sqla_upgrade.codemods.analysis.function_values import subclasses

        family = {name}
        pending = [name]
        while pending:  # the class and its project bases
            current = pending.pop()
            module = self.index.modules.get(current.rpartition(".")[0])
            facts = module.models.get(current) if module is not None else None
            for base in facts.bases if facts is not None else ():
                resolved = self.index.resolve_alias(base)
                if resolved not in family and len(family) < MAX_DEPTH:
                    family.add(resolved)
                    pending.append(resolved)
        derived = subclasses(self.index)
        for ancestor in list(family):
            family |= derived.get(ancestor, set())
        return any(attr in holders.get(member, ()) for member in family)

    def _collect_self_attributes(self, klass: cst.ClassDef) -> dict[str, list[Evidence]]:
        found: dict[str, list[Evidence]] = {}
        resolver = self

        class Collector(cst.CSTVisitor):
            def visit_Assign(self, node: cst.Assign) -> None:
                for target in node.targets:
                    t = target.target
                    if (
                        isinstance(t, cst.Attribute)
                        and isinstance(t.value, cst.Name)
                        and t.value.value == "self"
                    ):
                        found.setdefault(t.attr.value, []).append(
                            resolver._value_evidence(node.value, t.attr.value)
                        )

            def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
                t = node.target
                if isinstance(t, cst.Name):
                    found.setdefault(t.value, []).append(
                        resolver._annotation_evidence(node.annotation.annotation)
                    )

        klass.body.visit(Collector())
        return {k: [v for v in vs if v is not Evidence.NONE] or vs for k, vs in found.items()}

    def _fallback(self, name: str) -> Evidence:
        return Evidence.ASSUMED if looks_like_session(name) else Evidence.NONE

    # -- tree helpers -------------------------------------------------------------------------
    # -- Flask-SQLAlchemy objects the index does not know ---------------------------------------
    def unknown_flask_db(self, node: cst.BaseExpression) -> str | None:
        """Where ``node``, a name, is made a Flask-SQLAlchemy object the project index
        does not know (only objects bound once at module level are known): ``db =
        SQLAlchemy(app)`` in an app factory, or assigned through ``global db`` there. Its
        bindings are such constructor calls (or ``None``); the answer names the function
        making it (``"create_app()"``), None where it is no such object."""
        if not isinstance(node, cst.Name) or self.kind(node) is not None:
            return None
        assignments = self._assignments(node)
        if not assignments:
            return None
        key = (id(assignments[0].scope), node.value)
        if key not in self._unknown_dbs:
            self._unknown_dbs[key] = self._made_flask_db(assignments)
        return self._unknown_dbs[key]

    def unknown_flask_model(self, node: cst.BaseExpression) -> tuple[str, str] | None:
        """``User`` where it is a class deriving from ``db.Model`` of a Flask-SQLAlchemy
        object the index does not know (both made in an app factory): the name of that
        object and where it is made."""
        if not isinstance(node, cst.Name):
            return None
        assignments = self._assignments(node)
        if not assignments or len(assignments) != 1:
            return None
        klass = assignments[0].node
        if not isinstance(klass, cst.ClassDef):
            return None
        for base in klass.bases:
            value = base.value
            if isinstance(value, cst.Attribute) and value.attr.value == "Model":
                where = self.unknown_flask_db(value.value)
                if where is not None:
                    assert isinstance(value.value, cst.Name)
                    return value.value.value, where
        return None

    def _made_flask_db(self, assignments: list[Assignment]) -> str | None:
        made: str | None = None
        for assignment in assignments:
            target = self._parent(assignment.node)
            statement = self._parent(target) if target is not None else None
            if not (isinstance(target, cst.AssignTarget) and isinstance(statement, cst.Assign)):
                return None
            value = statement.value
            if isinstance(value, cst.Name) and value.value == "None":
                continue
            if not (
                isinstance(value, cst.Call)
                and any(
                    CONSTRUCTOR_KINDS.get(self.index.resolve_alias(q))
                    is ObjectKind.FLASK_SQLALCHEMY
                    for q in self.qualnames(value.func)
                )
            ):
                return None
            function = self._enclosing(statement, cst.FunctionDef)
            if made is None or made == MADE_AT_MODULE_LEVEL:
                made = (
                    f"{function.name.value}()"
                    if isinstance(function, cst.FunctionDef)
                    else MADE_AT_MODULE_LEVEL
                )
        return made

    def _parent(self, node: cst.CSTNode) -> cst.CSTNode | None:
        try:
            return self.t.get_metadata(ParentNodeProvider, node)
        except KeyError:
            return None

    def _enclosing(self, node: cst.CSTNode, kind: type[cst.CSTNode]) -> cst.CSTNode | None:
        current = self._parent(node)
        while current is not None and not isinstance(current, kind):
            current = self._parent(current)
        return current


def _self_assigned_values(klass: cst.ClassDef, attr: str) -> list[cst.BaseExpression]:
    """The values of every ``self.attr = value`` in the class's methods; one that cannot
    be read (``self.attr: T``, ``self.attr += x``, a tuple target) makes the list empty."""
    values: list[cst.BaseExpression] = []
    unknown = False

    def is_target(node: cst.BaseExpression) -> bool:
        return (
            isinstance(node, cst.Attribute)
            and isinstance(node.value, cst.Name)
            and node.value.value == "self"
            and node.attr.value == attr
        )

    class Collector(cst.CSTVisitor):
        def visit_Assign(self, node: cst.Assign) -> None:
            nonlocal unknown
            for target in node.targets:
                if is_target(target.target):
                    values.append(node.value)
                elif isinstance(target.target, cst.Tuple | cst.List):
                    unknown = unknown or any(is_target(e.value) for e in target.target.elements)

        def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
            if is_target(node.target) and node.value is not None:
                values.append(node.value)

        def visit_AugAssign(self, node: cst.AugAssign) -> None:
            nonlocal unknown
            unknown = unknown or is_target(node.target)

    klass.body.visit(Collector())
    return [] if unknown else values


def _is_method(index: ProjectIndex, qualname: str) -> bool:
    owner, _, _ = qualname.rpartition(".")
    module = index.modules.get(owner.rpartition(".")[0])
    return module is not None and owner in module.models


@per_object
def _session_holders(index: ProjectIndex) -> dict[str, set[str]]:
    """Each project class → the attributes of ``self`` its methods read ``.session`` of."""
    found: dict[str, set[str]] = {}
    for qualname, facts in index.functions.items():
        if facts.session_holders and _is_method(index, qualname):
            found.setdefault(qualname.rpartition(".")[0], set()).update(facts.session_holders)
    return found


@per_object
def _methods_by_name(index: ProjectIndex) -> dict[str, set[str]]:
    """The project's methods (of classes), by their name."""
    found: dict[str, set[str]] = {}
    for qualname in index.functions:
        if _is_method(index, qualname):
            found.setdefault(qualname.rpartition(".")[2], set()).add(qualname)
    return found


def _dotted(node: cst.BaseExpression) -> str | None:
    """``request.state.db`` for an attribute chain on a name; None for anything else."""
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        owner = _dotted(node.value)
        return None if owner is None else f"{owner}.{node.attr.value}"
    return None


def _assigned_attributes(
    body: cst.CSTNode, nested: bool = False
) -> dict[str, list[cst.BaseExpression]]:
    """The attribute chains ``body`` assigns (``request.state.db = ...``) → their values;
    with ``nested``, in the functions it defines too."""
    found: dict[str, list[cst.BaseExpression]] = {}

    class Collector(cst.CSTVisitor):
        def visit_Assign(self, node: cst.Assign) -> None:
            for target in node.targets:
                chain = _dotted(target.target) if isinstance(target.target, cst.Attribute) else None
                if chain is not None:
                    found.setdefault(chain, []).append(node.value)

        def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
            return nested

        def visit_ClassDef(self, node: cst.ClassDef) -> bool:
            return nested

        def visit_Lambda(self, node: cst.Lambda) -> bool:
            return False

    body.visit(Collector())
    return found


def type_alias_value(
    transformer: Pass, statement: cst.Assign | cst.AnnAssign
) -> cst.BaseExpression | None:
    """The type a statement names, when it is a type alias: ``X = Annotated[...]`` or
    ``X: TypeAlias = ...`` (a plain ``X = Session`` may be a constructor's alias)."""
    if isinstance(statement, cst.Assign):
        if len(statement.targets) != 1 or not isinstance(statement.targets[0].target, cst.Name):
            return None
        value = statement.value
        annotated = (
            isinstance(value, cst.Subscript)
            and qualified_names(transformer, value.value) & ANNOTATED
        )
        return value if annotated else None
    if (
        statement.value is not None
        and isinstance(statement.target, cst.Name)
        and qualified_names(transformer, statement.annotation.annotation) & TYPE_ALIAS
    ):
        return statement.value
    return None


METADATA = (ScopeProvider, ParentNodeProvider, QualifiedNameProvider)
