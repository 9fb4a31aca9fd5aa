"""The read-only facts about a whole project that passes consult.

Built once per run (``index.builder``) before any file is transformed, then handed to
every worker. All names are fully qualified (``package.module.Name``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

#: the async scoped session flask-async-session writes beside ``db = SQLAlchemy()``
FLASK_SESSION_HELPER = "async_session"


class ObjectKind(str, Enum):
    """What a module-level name (or a function's result) is, for SQLAlchemy purposes."""

    SESSION_FACTORY = "session_factory"  # sessionmaker(...): calling it gives a session
    SCOPED_SESSION = (
        "scoped_session"  # scoped_session(...): acts as a session, and calling it gives one
    )
    SESSION = "session"  # Session(...) instance
    SESSION_PROVIDER = "session_provider"  # function returning/yielding a session (get_db)
    FLASK_SQLALCHEMY = "flask_sqlalchemy"  # db = SQLAlchemy(): db.session is a session
    ENGINE = "engine"  # create_engine(...)
    METADATA = "metadata"  # MetaData(...) or Base.metadata


#: names taken for a session's when nothing else tells (a hint, never proof)
SESSION_LIKE_NAMES = frozenset({"session", "db_session", "dbsession", "sess", "db", "dbs"})


def looks_like_session(name: str) -> bool:
    lowered = name.lower()
    return (
        lowered in SESSION_LIKE_NAMES or lowered.endswith("_session") or lowered.endswith("session")
    )


#: what builds a Core table (``Table(...)``, ``table(...)``), by qualified name
TABLE_CONSTRUCTORS = frozenset(
    {
        "sqlalchemy.Table",
        "sqlalchemy.schema.Table",
        "sqlalchemy.sql.schema.Table",
        "sqlalchemy.table",
        "sqlalchemy.sql.table",
        "sqlalchemy.sql.expression.table",
        "sqlalchemy.sql.expression.TableClause",
        "sqlalchemy.sql.selectable.TableClause",
    }
)


#: SQLAlchemy's synchronous session factories, scoped sessions and session class
SYNC_SESSIONMAKERS = frozenset(
    {"sqlalchemy.orm.sessionmaker", "sqlalchemy.orm.session.sessionmaker"}
)
SYNC_SCOPED_SESSIONS = frozenset(
    {"sqlalchemy.orm.scoped_session", "sqlalchemy.orm.scoping.scoped_session"}
)
SYNC_SESSION_CLASSES = frozenset({"sqlalchemy.orm.Session", "sqlalchemy.orm.session.Session"})
#: the types that make a parameter annotated with them a session (``db: Session``)
SESSION_TYPES = frozenset(
    {
        "sqlalchemy.orm.Session",
        "sqlalchemy.orm.session.Session",
        "sqlalchemy.orm.scoped_session",
        "sqlalchemy.orm.scoping.scoped_session",
        "sqlalchemy.ext.asyncio.AsyncSession",
        "sqlalchemy.ext.asyncio.async_scoped_session",
        "flask_sqlalchemy.session.Session",
    }
)
#: what makes a module-level binding a type alias: ``X = Annotated[...]``, ``X: TypeAlias``
ANNOTATED = frozenset({"typing.Annotated", "typing_extensions.Annotated"})
TYPE_ALIAS = frozenset({"typing.TypeAlias", "typing_extensions.TypeAlias"})
#: SQLAlchemy's event registration: a listener runs synchronously, inside the greenlet
#: (the connection or session it is given is a synchronous one)
EVENT_REGISTRATION = frozenset(
    {
        "sqlalchemy.event.listen",
        "sqlalchemy.event.listens_for",
        "sqlalchemy.event.api.listen",
        "sqlalchemy.event.api.listens_for",
    }
)


#: FastAPI's application class, by qualified name
FASTAPI_APPS = frozenset({"fastapi.FastAPI", "fastapi.applications.FastAPI"})
#: the metadata methods running DDL on the engine they are given
SCHEMA_METHODS = frozenset({"create_all", "drop_all", "reflect"})
#: names taken for an engine's when nothing else tells (a hint, never proof)
ENGINE_NAMES = frozenset({"engine", "db_engine", "eng", "migrate_engine"})


# relationship loaders whose attribute is a query, never a loaded list
QUERY_LOADERS = frozenset({"dynamic", "write_only"})
#: the public methods of ``sqlalchemy.orm.Query`` (and Flask-SQLAlchemy's) a custom query
#: class may override
QUERY_METHOD_NAMES = frozenset(
    [
        "add_column",
        "add_columns",
        "add_entity",
        "all",
        "as_scalar",
        "autoflush",
        "column_descriptions",
        "correlate",
        "count",
        "cte",
        "delete",
        "distinct",
        "enable_assertions",
        "enable_eagerloads",
        "except_",
        "except_all",
        "execution_options",
        "exists",
        "filter",
        "filter_by",
        "first",
        "first_or_404",
        "from_self",
        "from_statement",
        "get",
        "get_or_404",
        "group_by",
        "having",
        "instances",
        "intersect",
        "intersect_all",
        "is_single_entity",
        "join",
        "label",
        "limit",
        "merge_result",
        "one",
        "one_or_404",
        "one_or_none",
        "only_return_tuples",
        "options",
        "order_by",
        "outerjoin",
        "paginate",
        "params",
        "populate_existing",
        "prefix_with",
        "reset_joinpoint",
        "scalar",
        "scalar_subquery",
        "select_entity_from",
        "select_from",
        "selectable",
        "set_label_style",
        "slice",
        "statement",
        "subquery",
        "suffix_with",
        "tuples",
        "union",
        "union_all",
        "update",
        "value",
        "values",
        "where",
        "whereclause",
        "with_entities",
        "with_for_update",
        "with_hint",
        "with_labels",
        "with_parent",
        "with_session",
        "with_statement_hint",
        "with_transformation",
        "yield_per",
    ]
)
#: ``lazy=`` values loading with a join (``False`` is 1.x's spelling of ``"joined"``)
JOINED_LAZY = frozenset({"joined", "False"})


def _reverse_direction(forward: bool | None) -> bool | None:
    """Is the backref of a relationship a collection, given whether the relationship is
    one (None: unknown)? A many-to-one's backref is a one-to-many and the reverse."""
    return None if forward is None else not forward


@dataclass
class RelationshipFacts:
    name: str
    target: str | None  # qualified class name where resolvable, else the literal string
    uselist: bool | None = None  # None: decided by the relationship's direction
    lazy: str | None = None
    secondary: bool = False
    back_populates: str | None = None
    backref: str | None = None
    backref_lazy: str | None = None  # ``backref("x", lazy="dynamic")``
    remote_side: bool = False
    line: int = 0
    cascade: str | None = None  # the literal ``cascade=``; None: the default; "?": not literal
    backref_cascade: str | None = None  # ``backref("x", cascade=...)``, as ``cascade``
    viewonly: bool = False


def saves_along(cascade: str | None) -> bool:
    """Does a relationship with this ``cascade=`` (None: the default "save-update, merge";
    "?": not a literal) cascade save-update?"""
    if cascade is None or cascade == "?":
        return True
    parts = {part.strip() for part in cascade.split(",")}
    return bool(parts & {"save-update", "all"})


@dataclass
class ModelFacts:
    qualname: str
    bases: list[str]
    relationships: dict[str, RelationshipFacts] = field(default_factory=dict)
    columns: list[str] = field(default_factory=list)
    #: the columns of an integer type (``Column(Integer)``, ``Mapped[int]``)
    integer_columns: list[str] = field(default_factory=list)
    line: int = 0
    table: str | None = None  # __tablename__, or Flask-SQLAlchemy's default
    foreign_tables: set[str] = field(default_factory=set)  # tables its ForeignKeys point to
    has_init: bool = False  # defines its own __init__
    #: its own ``__init__``'s keyword parameters → the attribute each is assigned to as
    #: it is (``self.topic = topic``), or None when the body does something else with it
    init_keywords: dict[str, str | None] = field(default_factory=dict)
    #: its own ``__init__`` takes ``**kwargs`` (which may reach the default constructor)
    init_takes_kwargs: bool = False
    #: ``keywords = association_proxy("kw_links", "keyword")``: name → (relationship,
    #: attribute of the related class)
    association_proxies: dict[str, tuple[str, str]] = field(default_factory=dict)
    #: the other names its body defines (methods, properties, plain attributes)
    members: list[str] = field(default_factory=list)
    #: the string (or boolean) values of a literal ``__mapper_args__`` dict ("?" for
    #: others); None when ``__mapper_args__`` is not a literal dict
    mapper_args: dict[str, str] | None = field(default_factory=dict)
    #: class-level ``name = other`` of a dotted name (``model = User``) → what it names,
    #: qualified (``"None"`` for ``name = None``)
    class_values: dict[str, str] = field(default_factory=dict)
    #: the attributes its methods assign on their first parameter (``self.model = m``)
    instance_attributes: set[str] = field(default_factory=set)
    #: made a declarative base by its decorator (``@as_declarative()``)
    declarative_decorator: bool = False
    #: instance attributes holding a class: ``self.model = model`` in ``__init__`` for a
    #: parameter ``model: Type[X]`` → the qualified ``X`` (None: assigned otherwise too)
    class_valued: dict[str, str | None] = field(default_factory=dict)


@dataclass
class FunctionFacts:
    qualname: str
    line: int
    is_async: bool
    is_generator: bool = False
    params: list[str] = field(default_factory=list)
    decorators: list[str] = field(default_factory=list)
    calls: list[str] = field(default_factory=list)  # qualified callee names, best effort
    #: returns a legacy Query built on this parameter's session (a "query factory")
    query_session_param: str | None = None
    #: a method returning a legacy Query built on this attribute of its first parameter
    #: (``return self.session.query(User)``: ``"session"``)
    query_session_attr: str | None = None
    #: every ``return`` gives its first parameter back (``return self``: a fluent method)
    returns_self: bool = False
    #: a classmethod returning one object of ``cls`` (``session.get(cls, id)``,
    #: ``cls.query.filter_by(...).first()``, ``cls(**kw)``) or None: called on a class,
    #: it gives an object of that class
    returns_cls_row: bool = False
    #: qualified names of the callables whose results it returns (``return User(...)``)
    returns: list[str] = field(default_factory=list)
    #: the models it returns a list of (``return Task.query.filter(...).all()``)
    returns_rows: list[str] = field(default_factory=list)
    #: a pytest fixture giving a test client (``with TestClient(app) as c: yield c``)
    gives_test_client: bool = False
    #: the nested function it returns (``def make(): ...; return make``), qualified
    returns_local: str | None = None
    #: the parameters whose values it may return (``return session``, ``return session or
    #: default``): its result is what the caller hands them, where the function is no
    #: session provider of its own
    returns_params: list[str] = field(default_factory=list)
    #: it may return a value whose type the index cannot tell (``return context.get(
    #: "session")``, ``return self.session``): what a call of it gives is not known
    returns_opaque: bool = False
    #: how many of ``params`` can be given by position
    positional: int = 0
    #: the attributes it assigns on its first parameter (``self.model = model``)
    self_attributes: list[str] = field(default_factory=list)
    #: the attributes of its first parameter it reads a session of (``self.db.session``:
    #: ``db`` holds a session, a Flask-SQLAlchemy object, and is none)
    session_holders: list[str] = field(default_factory=list)
    #: qualified annotations of its parameters (``db: Session``), where static
    annotations: dict[str, str] = field(default_factory=dict)
    #: the names it hands to the functions it calls (``report(sess)``): (callee, the
    #: parameter's position or keyword, where the value comes from: ``("param", name)``,
    #: ``("call", callee)`` for a local bound to a call's result, ``("with", callee)`` for
    #: one of ``with callee(...) as name``, ``("name", qualname)``)
    handed: list[tuple[str, int | str, tuple[str, str]]] = field(default_factory=list)
    #: its body only raises ``NotImplementedError`` or does nothing (``pass``, ``...``, a
    #: docstring): a method for subclasses to override
    is_stub: bool = False


@dataclass
class ModuleFacts:
    name: str
    path: str
    imports: dict[str, str] = field(default_factory=dict)  # local name -> qualified name
    #: the modules it imports every name of (``from .core import *``), in order
    star_imports: list[str] = field(default_factory=list)
    #: the names it binds at module level (definitions, assignments, imports...)
    bound_names: set[str] = field(default_factory=set)
    #: its ``__all__``, when a literal list or tuple of strings
    exported: frozenset[str] | None = None
    objects: dict[str, ObjectKind] = field(default_factory=dict)  # qualified name -> kind
    models: dict[str, ModelFacts] = field(default_factory=dict)
    functions: dict[str, FunctionFacts] = field(default_factory=dict)
    uses_sqlalchemy: bool = False
    #: the attribute names it reads on anything but a bare ``self`` or ``cls``
    #: (``view.get_query()``, ``super().save``): methods that may be used from outside
    foreign_attributes: set[str] = field(default_factory=set)


@dataclass
class ProjectIndex:
    """Facts for every module of the run, plus the project-wide resolution of them."""

    modules: dict[str, ModuleFacts] = field(default_factory=dict)
    objects: dict[str, ObjectKind] = field(default_factory=dict)
    models: dict[str, ModelFacts] = field(default_factory=dict)
    functions: dict[str, FunctionFacts] = field(default_factory=dict)
    #: bound MetaData objects and declarative bases (1.x ``bind=``) → the engine's name
    metadata_binds: dict[str, str] = field(default_factory=dict)
    #: classes given ``query = session.query_property()`` → that session's name
    query_properties: dict[str, str] = field(default_factory=dict)
    #: declarative bases made with ``declarative_base(cls=Mixin)`` → those classes
    declarative_mixins: dict[str, list[str]] = field(default_factory=dict)
    #: models (``query_class = X``), Flask-SQLAlchemy objects (``query_class=X``) and
    #: session factories (``query_cls=X``) → the query class they build queries with
    query_classes: dict[str, str] = field(default_factory=dict)
    #: every query class given as ``query_cls=`` anywhere in the project (a session made
    #: in a function, an app factory's sessionmaker): what a session of unknown origin
    #: may build its queries with
    session_query_classes: set[str] = field(default_factory=set)
    #: module-level names bound to a Core table (``users = Table("users", metadata, ...)``)
    core_tables: set[str] = field(default_factory=set)
    #: those tables' integer columns (``Column("cents", Integer)``), by table name
    core_integer_columns: dict[str, list[str]] = field(default_factory=dict)
    #: (function, parameter) pairs whose callers hand them a session
    session_params: set[tuple[str, str]] = field(default_factory=set)
    #: those whose callers hand them what only its name says is a session
    assumed_session_params: set[tuple[str, str]] = field(default_factory=set)
    #: (function, parameter) pairs whose callers hand them a session factory
    #: (``sessionmaker(...)``): calling the parameter makes a session
    factory_params: set[tuple[str, str]] = field(default_factory=set)
    #: what the project's event registrations (``event.listen(target, ...)``, and
    #: ``db.event.listen(target, ...)`` through a Flask-SQLAlchemy object) target
    event_targets: set[str] = field(default_factory=set)
    #: modules mapping classes with 1.x's classical ``mapper()`` or ``map_imperatively()``
    imperative_mapping_modules: set[str] = field(default_factory=set)
    #: module-level type aliases of a session type, every binding of which is one
    #: (``SessionDep = Annotated[Session, Depends(get_db)]``, ``X: TypeAlias = ...``)
    session_aliases: set[str] = field(default_factory=set)
    #: functions returning what a project function of no told result type gives
    #: (``return _wrap_session(reader.using(ctx))``, ``_wrap_session`` returning its
    #: parameter): their results are of no told type too (``returns_opaque``)
    opaque_returns: set[str] = field(default_factory=set)
    #: scoped sessions → their factory's name (their own for ``scoped_session(
    #: sessionmaker(...))``, "" when not static)
    scoped_factories: dict[str, str] = field(default_factory=dict)
    #: session providers returning a scoped session (``return scoped_session(factory)``):
    #: calling one gives a scoped session, not a session of its own
    scoped_providers: set[str] = field(default_factory=set)
    #: module-level ``sessionmaker(...)`` calls (by their name, or their scoped session's
    #: when written in place) …
    sync_sessionmakers: set[str] = field(default_factory=set)
    #: … and those of them that stay synchronous under --target async
    sync_only_factories: set[str] = field(default_factory=set)
    #: the sessionmakers given to an async one as ``sync_session_class=`` (synchronous)
    sync_session_classes: set[str] = field(default_factory=set)
    #: FastAPI apps whose module runs schema statements at import time (which
    #: schema-run-sync moves into a lifespan handler it gives the app) → does that module
    #: register ``@app.on_event(...)`` handlers (which the lifespan runs too)
    startup_apps: dict[str, bool] = field(default_factory=dict)
    #: pytest fixtures (by name: what a test's parameter so named is given) giving a
    #: session, a session factory, a scoped session or an engine → that kind; a name whose
    #: fixtures disagree is left out
    fixture_kinds: dict[str, ObjectKind] = field(default_factory=dict)
    #: module-level names bound once to an instance of a project class
    #: (``user = CRUDUser()``) → that class
    instances: dict[str, str] = field(default_factory=dict)
    #: filled between the stages: functions that become async (``AsyncPlan``)
    async_plan: Any = None
    #: filled between the stages: ``lazy="dynamic"`` relationships that become write-only
    write_only_plan: Any = None
    #: filled between the stages: loader options, refreshes and fallbacks (``EagerPlan``)
    eager_plan: Any = None
    #: module-level ``T = TypeVar("T", bound=B)`` → the qualified ``B``
    typevar_bounds: dict[str, str] = field(default_factory=dict)
    #: declarative bases: ``declarative_base()`` results, ``DeclarativeBase`` subclasses,
    #: ``@as_declarative()`` classes
    declarative_bases: set[str] = field(default_factory=set)

    def is_core_table(self, qualname: str) -> bool:
        return self.resolve_alias(qualname) in self.core_tables

    def startup_app(self, qualname: str) -> bool | None:
        """Is ``qualname`` (followed through re-exports) a FastAPI app given a lifespan
        holding what its module ran at import time? True when that lifespan also runs the
        module's ``on_event`` handlers, False when not, None when it is no such app."""
        return self.startup_apps.get(self.resolve_alias(qualname))

    def is_session_alias(self, qualname: str) -> bool:
        """Is ``qualname`` (followed through imports and re-exports) a module-level type
        alias of a session type, so that a parameter annotated with it is a session?"""
        return self.resolve_alias(qualname) in self.session_aliases

    def session_param(self, function: str, param: str) -> str | None:
        """Does some caller of ``function`` hand ``param`` a session (``report(sess)`` with
        ``sess = Session()``), however the parameter is named? "proof", "assumed" (what
        it is handed is taken for a session by its name: ``report(session)``) or None."""
        key = (function, param)
        if key in self.session_params:
            return "proof"
        return "assumed" if key in self.assumed_session_params else None

    def listened_sessionmaker(self, target: str) -> str | None:
        """The ``sessionmaker(...)`` that becomes an ``async_sessionmaker`` behind the
        session factory or scoped session ``target``, by the name it is keyed by: its own,
        or its scoped session's when written in place. None when there is none or it
        cannot be told statically."""
        resolved = self.resolve_alias(target)
        factory = self.scoped_factories.get(resolved, resolved) or None
        if factory is None:
            return None
        factory = self.resolve_alias(factory)
        if factory in self.sync_sessionmakers and factory not in self.sync_only_factories:
            return factory
        return None

    def stays_synchronous(self, target: str) -> bool:
        """Is the sessionmaker behind ``target`` one that --target async keeps sync?"""
        resolved = self.resolve_alias(target)
        factory = self.scoped_factories.get(resolved, resolved)
        return bool(factory) and self.resolve_alias(factory) in self.sync_only_factories

    def listened_sessionmakers(self) -> frozenset[str]:
        """The sessionmakers becoming async whose sessions have event listeners: each is
        given a synchronous ``sync_session_class`` to register them on."""
        return self._derived(
            "listened_sessionmakers",
            lambda: frozenset(
                filter(None, (self.listened_sessionmaker(t) for t in self.event_targets))
            ),
        )

    def instance_class(self, qualname: str) -> str | None:
        """The project class of the module-level instance ``qualname`` (followed through
        re-exports), if it is one."""
        return self.instances.get(self.resolve_alias(qualname))

    def kind_of(self, qualname: str | None) -> ObjectKind | None:
        if qualname is None:
            return None
        resolved = self.resolve_alias(qualname)
        kind = self.objects.get(resolved)
        if kind is None and self._is_flask_session_helper(resolved):
            return ObjectKind.SCOPED_SESSION
        return kind

    def _is_flask_session_helper(self, qualname: str) -> bool:
        """``<module>.async_session`` where the module defines ``db``: the async scoped
        session flask-async-session writes beside it, which the index (built from the
        sources) has not seen yet in the run that writes it."""
        module, _, name = qualname.rpartition(".")
        return name == FLASK_SESSION_HELPER and module in self.flask_sqlalchemy_modules()

    def flask_db_of_helper(self, qualname: str) -> list[str]:
        """The Flask-SQLAlchemy objects whose session ``qualname`` stands for when it is
        the ``async_session`` flask-async-session wrote beside them (its sessions are
        made as ``db.session``'s were, with ``db``'s query class)."""
        resolved = self.resolve_alias(qualname)
        if not self._is_flask_session_helper(resolved):
            return []
        module = resolved.rpartition(".")[0]
        return sorted(
            name
            for name, kind in self.objects.items()
            if kind is ObjectKind.FLASK_SQLALCHEMY and name.rpartition(".")[0] == module
        )

    def flask_db_of_model(self, model: str, depth: int = 0) -> str | None:
        """The Flask-SQLAlchemy object ``model`` (a project model) derives ``db.Model`` of."""
        facts = self.model(model)
        if facts is None or depth > 20:
            return None
        for base in facts.bases:
            resolved = self.resolve_alias(base)
            owner, _, attr = resolved.rpartition(".")
            if attr == "Model" and self.kind_of(owner) is ObjectKind.FLASK_SQLALCHEMY:
                return self.resolve_alias(owner)
            found = self.flask_db_of_model(resolved, depth + 1)
            if found is not None:
                return found
        return None

    def flask_db_of_mixin(self, klass: str) -> str | None:
        """The Flask-SQLAlchemy object whose ``Model.query`` ``cls.query`` is in a
        classmethod of ``klass``, a project class that is no model but a mixin of models
        (``class Project(db.Model, BaseMixin)``): every project class deriving from it is
        a model of that one object, or a class others derive from. Where the mixin (or a
        class between) defines ``query`` itself, each model lists the base giving it
        ``db.Model`` before the one giving it the mixin, so that ``db.Model.query`` comes
        first in its MRO. None otherwise."""
        resolved = self.resolve_alias(klass)
        facts = self.class_facts(resolved)
        if facts is None or resolved in self.models:
            return None
        subclasses = self._subclasses_of(resolved)
        mixins = {resolved} | {s.qualname for s in subclasses if s.qualname not in self.models}
        bases_of_others = {self.resolve_alias(b) for s in subclasses for b in s.bases}
        own_query = any(
            "query" in (self.class_facts(m) or facts).members
            or "query" in (self.class_facts(m) or facts).class_values
            for m in mixins
        )
        found: set[str] = set()
        for sub in subclasses:
            if sub.qualname not in self.models:
                if sub.qualname not in bases_of_others:
                    return None  # a class of its own deriving from it: ``cls`` may be it
                continue
            db = self.flask_db_of_model(sub.qualname)
            if db is None:
                return None
            if own_query and not self._model_query_first(sub, mixins, db):
                return None
            found.add(db)
        return found.pop() if len(found) == 1 else None

    def _model_query_first(self, model: ModelFacts, mixins: set[str], db: str) -> bool:
        """Does ``model`` list the base giving it ``db.Model`` before one giving it one
        of ``mixins``?"""
        for base in model.bases:
            resolved = self.resolve_alias(base)
            if resolved == f"{db}.Model" or (
                resolved in self.models and self.flask_db_of_model(resolved) == db
            ):
                return True
            if resolved in mixins or any(
                s.qualname in mixins for s in self._class_and_bases(resolved)
            ):
                return False
        return False

    def flask_sqlalchemy_in(self, module_name: str) -> bool:
        """Does the module define or import a Flask-SQLAlchemy object (``db``)? Its Flask
        CLI commands then run through the helpers flask-async-session writes beside
        ``db``; elsewhere they are plain click commands."""
        module = self.modules.get(module_name)
        if module is None:
            return False
        return module_name in self.flask_sqlalchemy_modules() or any(
            self.kind_of(target) is ObjectKind.FLASK_SQLALCHEMY
            for target in module.imports.values()
        )

    def objects_of_kind(self, kind: ObjectKind) -> list[str]:
        """The qualified names of the project's objects of ``kind``."""
        return [qualname for qualname, found in self.objects.items() if found is kind]

    def flask_sqlalchemy_modules(self) -> frozenset[str]:
        """The modules that define a Flask-SQLAlchemy object."""
        return self._derived(
            "flask_sqlalchemy_modules",
            lambda: frozenset(
                qualname.rpartition(".")[0]
                for qualname, kind in self.objects.items()
                if kind is ObjectKind.FLASK_SQLALCHEMY
            ),
        )

    def alembic_paths(self) -> frozenset[str]:
        """Files of the modules that import Alembic's runtime (``from alembic import op``,
        ``context``) or Alembic itself: migration scripts and ``env.py``, which Alembic
        runs synchronously, on a synchronous connection of its own; and the modules
        only such modules import (helpers shared by migrations, which run inside them)."""
        return self._derived(
            "alembic_paths",
            lambda: frozenset(self.modules[name].path for name in self._alembic_modules()),
        )

    def _alembic_modules(self) -> set[str]:
        running = {
            name
            for name, module in self.modules.items()
            if any(_from_alembic(target) for target in module.imports.values())
        }
        importers: dict[str, set[str]] = {}
        for name, module in self.modules.items():
            for target in module.imports.values():
                imported = self._project_module_of(target)
                if imported is not None and imported != name:
                    importers.setdefault(imported, set()).add(name)
        # a module making engines or sessions is the application's, wherever it is used
        infrastructure = {
            qualname.rpartition(".")[0]
            for qualname, kind in self.objects.items()
            if kind in _ASYNC_KINDS or kind is ObjectKind.FLASK_SQLALCHEMY
        }
        grown = bool(running)
        while grown:
            grown = False
            for name, users in importers.items():
                if name not in running and name not in infrastructure and users <= running:
                    running.add(name)
                    grown = True
        return running

    def imported_paths(self) -> frozenset[str]:
        """The files of the project modules another project module imports."""
        return self._derived(
            "imported_paths",
            lambda: frozenset(self.modules[name].path for name in self.imported_modules()),
        )

    def imported_modules(self) -> frozenset[str]:
        """The project modules another project module imports (or imports from)."""
        return self._derived("imported_modules", self._imported_modules)

    def _imported_modules(self) -> frozenset[str]:
        found: set[str] = set()
        for name, module in self.modules.items():
            for target in module.imports.values():
                imported = self._project_module_of(target)
                if imported is not None and imported != name:
                    found.add(imported)
        return frozenset(found)

    def _project_module_of(self, qualname: str) -> str | None:
        """The project module ``qualname`` is or is defined in (``app.db.Session`` →
        ``app.db``)."""
        name = qualname
        while name:
            if name in self.modules:
                return name
            name = name.rpartition(".")[0]
        return None

    def runs_under_alembic(self, module_name: str) -> bool:
        module = self.modules.get(module_name)
        return module is not None and module.path in self.alembic_paths()

    def alembic_keeps_sync_io(self, module_name: str) -> bool:
        """Is ``module_name`` run by Alembic with only engines and sessions of its own
        (``op.get_bind()``, ``engine_from_config``), which stay synchronous? Not when it
        imports one of the project's engines or sessions, which become async."""
        return module_name in self._derived("alembic_sync_modules", self._alembic_sync_modules)

    def _alembic_sync_modules(self) -> frozenset[str]:
        alembic = self.alembic_paths()
        return frozenset(
            module.name
            for module in self.modules.values()
            if module.path in alembic
            and not any(self._imports_async_object(target) for target in module.imports.values())
        )

    def _imports_async_object(self, target: str) -> bool:
        """Is ``target`` an engine or session of a module Alembic does not run?"""
        resolved = self.resolve_alias(target)
        if self.objects.get(resolved) not in _ASYNC_KINDS:
            return False
        owner = self.modules.get(resolved.rpartition(".")[0])
        return owner is None or owner.path not in self.alembic_paths()

    def returns_opaque(self, function: FunctionFacts) -> bool:
        """May ``function`` return a value of no type the index tells?"""
        return function.returns_opaque or function.qualname in self.opaque_returns

    def resolve_alias(self, qualname: str) -> str:
        """Follow re-exports (``from .db import Session`` in a package ``__init__``, and
        ``from .core import *`` there for a name the module does not bind itself)."""
        seen: set[str] = set()
        while qualname not in seen:
            seen.add(qualname)
            module, _, attr = qualname.rpartition(".")
            facts = self.modules.get(module)
            if facts is None:
                return qualname
            if attr in facts.imports:
                qualname = facts.imports[attr]
                continue
            star = self._star_source(facts, attr)
            if star is None:
                return qualname
            qualname = f"{star}.{attr}"
        return qualname

    def _star_source(self, facts: ModuleFacts, attr: str) -> str | None:
        """The module of the project whose ``from m import *`` in ``facts`` gives it
        ``attr`` (the last one that does, as at run time); None when the module binds
        the name itself or no star import of a project module exports it."""
        if attr in facts.bound_names:
            return None
        for star in reversed(facts.star_imports):
            if self._exports(star, attr, set()):
                return star
        return None

    def _exports(self, module: str, attr: str, seen: set[str]) -> bool:
        """Does ``from module import *`` bind ``attr`` (its ``__all__``, or its public
        module-level names, its own star imports included)?"""
        facts = self.modules.get(module)
        if facts is None or module in seen:
            return False
        seen.add(module)
        if facts.exported is not None:
            if attr not in facts.exported:
                return False
        elif attr.startswith("_"):
            return False
        if attr in facts.bound_names or attr in facts.imports:
            return True
        return any(self._exports(star, attr, seen) for star in facts.star_imports)

    def model(self, qualname: str | None) -> ModelFacts | None:
        if qualname is None:
            return None
        return self.models.get(self.resolve_alias(qualname))

    def relationship_target(
        self, model: ModelFacts, relationship: RelationshipFacts
    ) -> ModelFacts | None:
        if relationship.target is None:
            return None
        return self.model(relationship.target) or self.model_by_short_name(
            relationship.target.rsplit(".", 1)[-1]
        )

    def is_collection(self, model: ModelFacts, relationship: RelationshipFacts) -> bool | None:
        """Does the relationship hold a list? None when the mapping cannot be told."""
        if relationship.uselist is not None:
            return relationship.uselist
        if relationship.secondary:
            return True
        target = self.relationship_target(model, relationship)
        if target is None:
            return None
        if target is model:  # self-referential: remote_side marks the many-to-one side
            return not relationship.remote_side
        if target.table and target.table in model.foreign_tables:
            return False
        if model.table and model.table in target.foreign_tables:
            return True
        return None

    def collections(self, model: ModelFacts) -> set[str]:
        """Collection relationships of ``model``, including those backrefs give it."""
        found = {
            n
            for n, r in model.relationships.items()
            if self.is_collection(model, r) and r.lazy not in QUERY_LOADERS
        }
        given = self._derived("backref_collections", self._backref_collections)
        target, names = given.get(model.qualname, (model, set()))
        if target is not model:  # not the index's own model object: look through them all
            names = self._backref_collections_of(model)
        return found | names

    def relationship_names(self, model: ModelFacts) -> set[str]:
        """The model's relationships, the backrefs other models give it included."""
        given: dict[str, set[str]] = self._derived("backrefs_given", self._backrefs_given)
        return set(model.relationships) | given.get(model.qualname, set())

    def proxied_reads(self, names: set[str]) -> set[str]:
        """The attributes read through the association proxies named in ``names``
        (``keywords = association_proxy("kw_links", "keyword")``: ``kw_links`` and
        ``keyword``), through proxies of proxies too."""
        proxies: dict[str, set[tuple[str, str]]] = self._derived(
            "association_proxies", self._association_proxies
        )
        found: set[str] = set()
        pending = [n for n in names if n in proxies]
        while pending:
            for collection, attr in proxies.get(pending.pop(), ()):
                for name in (collection, attr):
                    if name not in found and name not in names:
                        found.add(name)
                        pending.append(name)
        return found

    def _association_proxies(self) -> dict[str, set[tuple[str, str]]]:
        found: dict[str, set[tuple[str, str]]] = {}
        for model in self.models.values():
            for name, proxied in model.association_proxies.items():
                found.setdefault(name, set()).add(proxied)
        return found

    def _backrefs_given(self) -> dict[str, set[str]]:
        given: dict[str, set[str]] = {}
        for other in self.models.values():
            for relationship in other.relationships.values():
                target = self.relationship_target(other, relationship)
                if relationship.backref and target is not None:
                    given.setdefault(target.qualname, set()).add(relationship.backref)
        return given

    def _backref_collections(self) -> dict[str, tuple[ModelFacts, set[str]]]:
        """Model qualified name → (the model, the collections other models' backrefs give
        it), found in one look at every relationship instead of one per question."""
        given: dict[str, tuple[ModelFacts, set[str]]] = {}
        for other in self.models.values():
            for relationship in other.relationships.values():
                target = self._backref_collection_target(other, relationship)
                if target is not None:
                    given.setdefault(target.qualname, (target, set()))[1].add(
                        relationship.backref or ""
                    )
        return given

    def _backref_collections_of(self, model: ModelFacts) -> set[str]:
        return {
            relationship.backref or ""
            for other in self.models.values()
            for relationship in other.relationships.values()
            if self._backref_collection_target(other, relationship) is model
        }

    def _backref_collection_target(
        self, owner: ModelFacts, relationship: RelationshipFacts
    ) -> ModelFacts | None:
        """The model ``relationship``'s backref gives a collection to, if it does."""
        if not relationship.backref:
            return None
        target = self.relationship_target(owner, relationship)
        if target is None:
            return None
        forward = self.is_collection(owner, relationship)
        if (relationship.secondary or forward is False) and (
            relationship.backref_lazy not in QUERY_LOADERS
        ):
            return target
        return None

    def kind_endings(self) -> frozenset[str]:
        """The last parts of every qualified name ``kind_of`` knows an object by (a name
        ``qualified_names(..., ending=)`` can skip resolving when it spells none)."""
        return self._derived(
            "kind_endings",
            lambda: (
                self._endings(set(self.objects), lambda q: self.kind_of(q) is not None)
                | {FLASK_SESSION_HELPER}
            ),
        )

    def model_endings(self) -> frozenset[str]:
        """The same for ``model``."""
        return self._derived(
            "model_endings",
            lambda: self._endings(set(self.models), lambda q: self.model(q) is not None),
        )

    def _endings(self, names: set[str], known: Callable[[str], bool]) -> frozenset[str]:
        """Last parts of ``names`` and of the names a module imports one of them under
        (which ``resolve_alias`` follows to it; a star import keeps the name)."""
        endings = {name.rpartition(".")[2] for name in names}
        for module, facts in self.modules.items():
            endings.update(
                local
                for local, target in facts.imports.items()
                if local not in endings and known(f"{module}.{local}")
            )
        return frozenset(endings)

    def _derived(self, key: str, compute: Any) -> Any:
        """A fact computed once from the index (which does not change once built)."""
        cache = self.__dict__.setdefault("_derived_cache", {})
        if key not in cache:
            cache[key] = compute()
        return cache[key]

    def test_client_fixtures(self) -> frozenset[str]:
        """Names of the pytest fixtures that give a (Starlette/FastAPI) test client."""
        return self._derived(
            "test_client_fixtures",
            lambda: frozenset(
                q.rpartition(".")[2] for q, f in self.functions.items() if f.gives_test_client
            ),
        )

    def fixture_factories(self) -> dict[str, str]:
        """Fixture name → the nested function it returns (tests call it by that name)."""
        return self._derived(
            "fixture_factories",
            lambda: {
                q.rpartition(".")[2]: f.returns_local
                for q, f in self.functions.items()
                if f.returns_local is not None and any(d.endswith("fixture") for d in f.decorators)
            },
        )

    def dynamic_relationships(self) -> frozenset[str]:
        """Names of ``lazy="dynamic"`` relationships (backrefs included) of every model."""
        return self._derived("dynamic_relationships", self._dynamic_relationships)

    def relationships_to(self, model: str) -> list[tuple[str, str]]:
        """(owner model, relationship name) of every relationship, backrefs included,
        whose target is the model ``model``."""
        found: dict[str, list[tuple[str, str]]] = self._derived(
            "relationships_to", self._relationships_by_target
        )
        return found.get(model, [])

    def _relationships_by_target(self) -> dict[str, list[tuple[str, str]]]:
        found: dict[str, list[tuple[str, str]]] = {}
        for owner in self.models.values():
            for relationship in owner.relationships.values():
                target = self.relationship_target(owner, relationship)
                if target is None:
                    continue
                found.setdefault(target.qualname, []).append((owner.qualname, relationship.name))
                if relationship.backref:
                    found.setdefault(owner.qualname, []).append(
                        (target.qualname, relationship.backref)
                    )
        return found

    def is_dynamic(self, model: ModelFacts, name: str) -> bool | None:
        """Is the relationship ``name`` of ``model`` (its own, a base's, or a backref
        another model gives it) ``lazy="dynamic"``? None when it has none of that name."""
        for owner in self.self_and_bases(model):
            relationship = owner.relationships.get(name)
            if relationship is not None:
                return relationship.lazy == "dynamic"
        targets = {owner.qualname for owner in self.self_and_bases(model)}
        for other in self.models.values():
            for relationship in other.relationships.values():
                if relationship.backref != name:
                    continue
                target = self.relationship_target(other, relationship)
                if target is not None and target.qualname in targets:
                    return relationship.backref_lazy == "dynamic"
        return None

    def _dynamic_relationships(self) -> frozenset[str]:
        names = set()
        for model in self.models.values():
            for name, relationship in model.relationships.items():
                if relationship.lazy == "dynamic":
                    names.add(name)
                if relationship.backref and relationship.backref_lazy == "dynamic":
                    names.add(relationship.backref)
        return frozenset(names)

    def backref_cascade(self, model: ModelFacts, name: str) -> tuple[ModelFacts, str] | None:
        """The relationship (its model and name) along which SQLAlchemy 1.x cascaded an
        object of ``model`` into a session when its attribute ``name`` was given an object
        in one ("cascade_backrefs", removed in 2.0): the other side of a bidirectional
        relationship whose cascade includes save-update. None when there is none."""
        for owner in self.self_and_bases(model):
            relationship = owner.relationships.get(name)
            if relationship is not None:
                return self._reverse_of(owner, relationship)
        for other in self.models.values():
            for relationship in other.relationships.values():
                if relationship.backref != name or relationship.viewonly:
                    continue
                if self.relationship_target(other, relationship) in self.self_and_bases(model):
                    if saves_along(relationship.cascade):
                        return other, relationship.name
        return None

    def _reverse_of(
        self, owner: ModelFacts, relationship: RelationshipFacts
    ) -> tuple[ModelFacts, str] | None:
        if relationship.viewonly:
            return None
        target = self.relationship_target(owner, relationship)
        if target is None:
            return None
        if relationship.backref:
            if saves_along(relationship.backref_cascade):
                return target, relationship.backref
            return None
        if relationship.back_populates:
            for holder in self.self_and_bases(target):
                reverse = holder.relationships.get(relationship.back_populates)
                if reverse is not None:
                    if reverse.viewonly or not saves_along(reverse.cascade):
                        return None
                    return holder, reverse.name
        return None

    def self_and_bases(self, model: ModelFacts, depth: int = 0) -> list[ModelFacts]:
        found = [model]
        if depth < 20:
            for base in model.bases:
                facts = self.model(base)
                if facts is not None and facts is not model:
                    found.extend(self.self_and_bases(facts, depth + 1))
        return found

    def query_overrides(self, query_class: str) -> list[str]:
        """The methods a project's query class (and its project bases) defines over
        ``Query``'s: any of ``Query``'s method names or a dunder (``__new__``,
        ``__iter__``...); what such a class adds under new names is not among them."""
        found: set[str] = set()
        pending, seen = [self.resolve_alias(query_class)], set()
        while pending:
            qualname = pending.pop()
            if qualname in seen:
                continue
            seen.add(qualname)
            facts = self.class_facts(qualname)
            if facts is None:
                continue
            found |= {m for m in facts.members if m.startswith("_") or m in QUERY_METHOD_NAMES}
            pending += [self.resolve_alias(base) for base in facts.bases]
        return sorted(found)

    def class_attribute_models(self, klass: str, attr: str) -> list[str] | None:
        """The mapped classes ``attr`` read on an instance of the project class ``klass``
        (or of a project subclass) can be, when every binding of it is a class-level
        ``attr = Model`` (``model = User`` in a repository class) in ``klass``, the base it
        inherits it from, or a subclass (``attr = None`` placeholders aside); None when
        any binding is something else (a method assigning ``self.attr``, another value, a
        method of that name) or there is none."""
        owners = self._class_and_bases(klass)
        if not owners:
            return None
        values: list[str] = []
        inherited = next((c for c in owners if attr in c.members or attr in c.class_values), None)
        if inherited is not None:
            values.append(inherited.class_values.get(attr, ""))
        inheriting = {facts.qualname for facts in owners}
        for facts in (*owners, *self._subclasses_of(owners[0].qualname)):
            if attr in facts.instance_attributes:
                return None
            if facts.qualname in inheriting:
                continue
            if attr in facts.class_values:
                values.append(facts.class_values[attr])
            elif attr in facts.members:
                return None
        models = set()
        for value in values:
            if value == "None":
                continue
            model = self.model(value) if value else None
            if model is None:
                return None
            models.add(model.qualname)
        return sorted(models) or None

    def _class_and_bases(self, klass: str) -> list[ModelFacts]:
        """The project class ``klass`` and its project bases, nearest first."""
        found: dict[str, ModelFacts] = {}
        pending = [klass]
        while pending and len(found) < 50:
            facts = self.class_facts(self.resolve_alias(pending.pop(0)))
            if facts is None or facts.qualname in found:
                continue
            found[facts.qualname] = facts
            pending.extend(facts.bases)
        return list(found.values())

    def _subclasses_of(self, klass: str) -> list[ModelFacts]:
        """Every project class deriving from ``klass``, at any depth."""
        direct: dict[str, list[ModelFacts]] = self._derived(
            "direct_subclasses", self._direct_subclasses
        )
        found: dict[str, ModelFacts] = {}
        pending = list(direct.get(klass, ()))
        while pending and len(found) < 500:
            facts = pending.pop()
            if facts.qualname not in found:
                found[facts.qualname] = facts
                pending.extend(direct.get(facts.qualname, ()))
        return list(found.values())

    def _direct_subclasses(self) -> dict[str, list[ModelFacts]]:
        direct: dict[str, list[ModelFacts]] = {}
        for module in self.modules.values():
            for facts in module.models.values():
                for base in facts.bases:
                    direct.setdefault(self.resolve_alias(base), []).append(facts)
        return direct

    def names_mapped_classes(self, qualname: str | None) -> bool:
        """Is the type ``qualname`` one of mapped classes only: a model, a declarative base
        (the models derived from it), or a TypeVar bound to one of those?"""
        if qualname is None:
            return False
        resolved = self.resolve_alias(qualname)
        resolved = self.resolve_alias(self.typevar_bounds.get(resolved, resolved))
        return resolved in self.models or resolved in self.declarative_bases

    def holds_mapped_class(self, klass: str, attr: str) -> bool:
        """Does ``self.attr`` of an instance of the project class ``klass`` (or of a class
        derived from it) hold a mapped class: ``self.model = model`` in ``__init__`` for a
        parameter ``model: Type[ModelType]``, ``ModelType`` bound to the declarative base?"""
        for facts in self._class_and_bases(klass):
            if attr in facts.class_valued:
                return self.names_mapped_classes(facts.class_valued[attr])
        return False

    def model_classes(self) -> frozenset[str]:
        """The mapped classes and the project classes they derive from (mixins, abstract
        bases): the classes of the objects handed to templates."""
        return self._derived("model_classes", self._model_classes)

    def _model_classes(self) -> frozenset[str]:
        found: set[str] = set()
        pending = list(self.models)
        while pending:
            qualname = self.resolve_alias(pending.pop())
            if qualname in found:
                continue
            found.add(qualname)
            facts = self.class_facts(qualname)
            pending += facts.bases if facts is not None else []
        return frozenset(found)

    def class_facts(self, qualname: str) -> ModelFacts | None:
        """What the index read of the project class ``qualname`` (a model or not)."""
        module = self.modules.get(qualname.rpartition(".")[0])
        return module.models.get(qualname) if module is not None else None

    def relationship_facts(self, model: ModelFacts, name: str) -> RelationshipFacts | None:
        """The relationship ``name`` of ``model`` (or of its bases), or the one a backref
        of another model gives it (as a relationship to that model)."""
        for owner in self.self_and_bases(model):
            if name in owner.relationships:
                return owner.relationships[name]
        owners = self.self_and_bases(model)
        for other in self.models.values():
            for relationship in other.relationships.values():
                if (
                    relationship.backref == name
                    and self.relationship_target(other, relationship) in owners
                ):
                    return RelationshipFacts(name=name, target=other.qualname)
        return None

    def models_derived_from(self, qualname: str) -> list[ModelFacts]:
        """The models whose classes derive from the project class ``qualname`` (a model,
        a mixin, or a mixin given to ``declarative_base(cls=...)``), itself included."""
        wanted = self.resolve_alias(qualname)
        known: dict[str, bool] = {}

        def derives(name: str, depth: int) -> bool:
            resolved = self.resolve_alias(name)
            if resolved == wanted:
                return True
            if resolved in known or depth > 50:
                return known.get(resolved, False)
            known[resolved] = False
            facts = self.class_facts(resolved)
            bases = [*(facts.bases if facts else ()), *self.declarative_mixins.get(resolved, ())]
            known[resolved] = any(derives(base, depth + 1) for base in bases)
            return known[resolved]

        return [model for model in self.models.values() if derives(model.qualname, 0)]

    def loads_joined_collection(self, model: ModelFacts) -> bool:
        """Does loading ``model`` join-load a collection by default (``lazy="joined"``
        or ``lazy=False`` on a collection of it or of its bases, a backref's too, or on a
        many-to-one whose target does)? 2.0 then needs ``Result.unique()``, which legacy
        ``Query`` applied itself. A relationship whose direction cannot be told counts as
        a collection (``unique()`` changes nothing for entities loaded once)."""
        known: dict[str, bool] = self._derived("loads_joined_collection", dict)
        if model.qualname not in known:
            known[model.qualname] = self._loads_joined_collection(model)
        return known[model.qualname]

    def _loads_joined_collection(self, model: ModelFacts) -> bool:
        pending, seen = [model], set()
        while pending:
            current = pending.pop()
            if current.qualname in seen:
                continue
            seen.add(current.qualname)
            for target, collection in self._joined_loads(current):
                if collection is not False:
                    return True
                if target is not None:
                    pending.append(target)
        return False

    def _joined_loads(self, model: ModelFacts) -> list[tuple[ModelFacts | None, bool | None]]:
        """(target, is a collection) of the relationships loading ``model`` joins."""
        found: list[tuple[ModelFacts | None, bool | None]] = []
        for owner in self.self_and_bases(model):
            for relationship in owner.relationships.values():
                if relationship.lazy in JOINED_LAZY:
                    target = self.relationship_target(owner, relationship)
                    found.append((target, self.is_collection(owner, relationship)))
        owners = self.self_and_bases(model)
        for other, relationship in self._derived("joined_backrefs", self._joined_backrefs):
            if self.relationship_target(other, relationship) in owners:
                forward = self.is_collection(other, relationship)
                reverse = True if relationship.secondary else _reverse_direction(forward)
                found.append((other, reverse))
        return found

    def _joined_backrefs(self) -> list[tuple[ModelFacts, RelationshipFacts]]:
        """The relationships whose backref is join-loaded (``backref("x", lazy="joined")``)."""
        return [
            (other, relationship)
            for other in self.models.values()
            for relationship in other.relationships.values()
            if relationship.backref and relationship.backref_lazy in JOINED_LAZY
        ]

    def model_by_short_name(self, name: str) -> ModelFacts | None:
        matches = [m for q, m in self.models.items() if q.rsplit(".", 1)[-1] == name]
        return matches[0] if len(matches) == 1 else None


#: the kinds of objects that are async under ``--target async``
_ASYNC_KINDS = frozenset(
    {
        ObjectKind.SESSION_FACTORY,
        ObjectKind.SCOPED_SESSION,
        ObjectKind.SESSION,
        ObjectKind.SESSION_PROVIDER,
        ObjectKind.ENGINE,
    }
)


#: what Alembic's migration scripts and ``env.py`` import from it: the proxies it sets up
#: while it runs them (code that only calls Alembic, ``alembic.command.upgrade(cfg)`` or
#: ``alembic.util.exc.CommandError``, is the application's own)
ALEMBIC_RUNTIME = ("alembic.op", "alembic.context")


def _from_alembic(qualname: str) -> bool:
    return qualname == "alembic" or any(
        qualname == name or qualname.startswith(name + ".") for name in ALEMBIC_RUNTIME
    )
