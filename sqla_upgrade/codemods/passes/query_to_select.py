"""Rewrite legacy ``Query`` chains to 2.0 ``select()`` executed by the session.

Before::

    users = session.query(User).filter(User.active == True).order_by(User.name).all()
    first = session.query(User).filter_by(name=name).first()
    total = session.query(User).join(User.orders).count()
    q = session.query(User.id, User.name)
    if only_active:
        q = q.filter(User.active == True)
    rows = q.all()
    post = Post.query.get_or_404(post_id)          # Flask-SQLAlchemy

After::

    users = session.scalars(select(User).where(User.active == True).order_by(User.name)).all()
    first = session.scalars(select(User).filter_by(name=name).limit(1)).first()
    total = session.scalar(select(func.count()).select_from(select(User).join(User.orders).subquery()))
    q = select(User.id, User.name)
    if only_active:
        q = q.where(User.active == True)
    rows = session.execute(q).all()
    post = db.get_or_404(Post, post_id)

Safety:

* Sessions are recognised from evidence (the project index, annotations, ``Depends``,
  assignments); a session-like name with no definition is accepted and reported.
* One mapped class reads with ``session.scalars()``, anything else with
  ``session.execute()`` rows. Legacy ``Query`` de-duplicates results holding mapped
  entities: ``.unique()`` is added unless the statement provably yields each entity once.
* ``first()`` keeps its ``LIMIT 1``; ``scalar()`` keeps "one row or error";
  ``count()`` counts the query's own rows through a subquery; ``get()`` keeps its
  options; ``update()``/``delete()`` keep ``synchronize_session`` and return the row count.
* ``query[a:b]`` is legacy ``list(query.slice(a, b))`` and ``query[i]`` is
  ``list(query[i:i + 1])[0]``: the same ``slice()`` on the statement, read with ``.all()``.
  Bounds are taken as the non-negative offsets legacy required; negative literals, steps
  and literal empty slices (legacy returned ``[]`` without a query) are refused.
* A query stored in a variable is rewritten only when every assignment and every use
  of the variable is understood; otherwise the whole chain is left as it is, with a
  TODO. The same holds for a chain containing a method with no exact 2.0 form
  (``from_self``, string joins, ``aliased=True``, ``union``...).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar

import libcst as cst
from libcst.codemod.visitors import AddImportsVisitor
from libcst.metadata import (
    Access,
    Assignment,
    BaseMetadataProvider,
    GlobalScope,
    ParentNodeProvider,
    Scope,
    ScopeProvider,
)

from sqla_upgrade.codemods.analysis.async_plan import CallResolver
from sqla_upgrade.codemods.analysis.chains import (
    EXECUTION_OPTION_BUILDERS,
    FLASK_TERMINALS,
    PARAMS_REFUSAL,
    PARAMS_TERMINALS,
    RENAMED_BUILDERS,
    RESULT_TERMINALS,
    SAME_NAME_BUILDERS,
    SQL_TERMINALS,
    UNMAPPABLE,
    BaseKind,
    Chain,
    Link,
    keyword,
    links_from_top,
    method,
    rebuild,
    split_links,
    with_separators,
)
from sqla_upgrade.codemods.analysis.entities import EntityClassifier, EntityKind
from sqla_upgrade.codemods.analysis.sessions import Evidence, SessionResolver
from sqla_upgrade.codemods.base import ANALYSIS_METADATA, Pass, per_object
from sqla_upgrade.codemods.index.model import (
    SYNC_SCOPED_SESSIONS,
    SYNC_SESSION_CLASSES,
    SYNC_SESSIONMAKERS,
    ObjectKind,
    ProjectIndex,
)
from sqla_upgrade.codemods.names import assigned_values, qualified_names

ITERATING_BUILTINS = frozenset(
    {
        "list",
        "tuple",
        "set",
        "frozenset",
        "sorted",
        "enumerate",
        "iter",
        "zip",
        "dict",
        "any",
        "all",
        "sum",
        "min",
        "max",
    }
)
TRUTH_TODO = (
    "this query is tested for truth (`if query:`), which a Query always passes and a "
    "select() cannot (TypeError): drop the test, or test its rows"
)


def _truth_tested(node: cst.CSTNode, parent: cst.CSTNode | None) -> bool:
    """Is ``node`` the condition of an ``if``/``while``/``assert``/conditional expression,
    an operand of ``and``/``or`` or of ``not``?"""
    if isinstance(parent, cst.If | cst.While | cst.IfExp):
        return parent.test is node
    if isinstance(parent, cst.Assert):
        return parent.test is node
    if isinstance(parent, cst.UnaryOperation):
        return isinstance(parent.operator, cst.Not)
    return isinstance(parent, cst.BooleanOperation)


#: Query methods combining it with other queries (left legacy, with a TODO)
COMPOUND_METHODS = frozenset(
    {"union", "union_all", "intersect", "intersect_all", "except_", "except_all"}
)
SQL_CONSUMER_METHODS = frozenset(
    {
        "in_",
        "not_in",
        "notin_",
        "where",
        "filter",
        "having",
        "join",
        "outerjoin",
        "select_from",
        "any_",
        "all_",
        "contains",
    }
)
JOINED_EAGER = frozenset({"joinedload", "contains_eager", "joinedload_all"})
#: other import paths of the functions the pass writes (the same objects in 2.x)
SAME_FUNCTIONS = {
    "sqlalchemy.select": frozenset(
        {"sqlalchemy.future.select", "sqlalchemy.sql.select", "sqlalchemy.sql.expression.select"}
    ),
    "sqlalchemy.func": frozenset({"sqlalchemy.sql.func", "sqlalchemy.sql.expression.func"}),
}
#: loader options (and ``Load``, whose methods are the same options) that ``options()``
#: arguments are read through; any other argument (``*opts``, ``self.opts()``) may hold
#: a joined eager load of a collection
LOADER_OPTIONS = JOINED_EAGER | frozenset(
    {
        "Load",
        "defaultload",
        "defer",
        "immediateload",
        "lazyload",
        "load_only",
        "noload",
        "options",
        "raiseload",
        "selectin_polymorphic",
        "selectinload",
        "subqueryload",
        "undefer",
        "undefer_group",
        "with_expression",
        "with_loader_criteria",
    }
)
DUPLICATING_BUILDERS = frozenset({"join", "outerjoin", "select_from"})
CRITERIA_BUILDERS = frozenset({"filter", "filter_by", "where"})
LEGACY_MODEL_QUERY_METHODS = frozenset(
    {
        "filter",
        "filter_by",
        "get",
        "get_or_404",
        "all",
        "first",
        "first_or_404",
        "order_by",
        "count",
        "paginate",
        "options",
        "join",
    }
)
JOINS = frozenset({"join", "outerjoin"})
#: decorators after which a method's first parameter is not an instance
PLAIN_METHOD_BREAKERS = frozenset({"builtins.staticmethod", "builtins.classmethod"})
SUBQUERY_METHODS = frozenset({"in_", "not_in", "notin_", "any", "has", "exists", "query"})


QUERY_CLASSES = frozenset({"sqlalchemy.orm.Query", "sqlalchemy.orm.query.Query"})
QUERY_CONSTRUCTOR_REFUSAL = (
    "a Query built with Query(...) has no 2.0 form (and cannot run on an AsyncSession): "
    "build select(...) and run it with session.execute()/scalars()"
)


class Refusal(Exception):
    """The chain cannot be rewritten with the same meaning; the message says why."""


@dataclass
class QueryFacts:
    """What the rewrite of a terminal needs to know about the query it consumes."""

    session: cst.BaseExpression | None  # original node of the session expression
    db: cst.BaseExpression | None = None  # Flask-SQLAlchemy object expression, if any
    entity_kinds: list[EntityKind] = field(default_factory=list)
    duplicates_possible: bool = False
    joined_eager: bool = False
    #: the mapped class's own relationships join-load a collection (``lazy="joined"``)
    joined_by_default: bool = False
    yield_per: bool = False
    single_row: bool = False  # only aggregates: exactly one row
    model: str | None = None  # qualified name of the one mapped class selected, if known
    entity_node: cst.BaseExpression | None = None  # the one mapped class, as written
    #: the class being defined, when the one mapped class is its method's ``cls`` or
    #: ``self``'s (any mapped class derived from it)
    receiver_class: str | None = None
    builders: set[str] = field(default_factory=set)  # Query methods applied so far
    has_criteria: bool = False  # filter()/filter_by() on every path
    #: position of a filter_by() after a join → the joined entity it applies to
    filter_by_entities: dict[int, str] = field(default_factory=dict)
    #: position of a with_parent() naming no relationship attribute → the one relationship
    #: (owner model, name) it can mean
    parent_relationships: dict[int, tuple[str, str]] = field(default_factory=dict)

    @property
    def has_entity(self) -> bool:
        return EntityKind.MAPPER in self.entity_kinds

    @property
    def single_entity(self) -> bool:
        return self.entity_kinds == [EntityKind.MAPPER]

    def unique_needed(self) -> bool:
        if not self.has_entity or self.yield_per:
            return False
        if self.joined_eager or self.joined_by_default:
            return True
        return not self.single_entity or self.duplicates_possible


@dataclass
class VariableInfo:
    facts: QueryFacts
    assignments: list[cst.Assign]


#: what makes a session (or a factory of them) where it is called: its ``query_cls`` is
#: the one given there
SESSION_MAKERS = SYNC_SESSION_CLASSES | SYNC_SESSIONMAKERS | SYNC_SCOPED_SESSIONS


#: Result methods that exist since 1.4 only and give the objects of rows of one entity
OBJECT_READS = frozenset({"scalars", "scalar_one", "scalar_one_or_none", "unique"})


#: Flask-SQLAlchemy's own Query methods, which no other Query method calls: a query class
#: overriding only these builds and runs a query that calls none of them as ``Query`` does
EXPLICIT_QUERY_METHODS = frozenset({"paginate", "get_or_404", "first_or_404", "one_or_404"})


class QueryToSelectPass(Pass):
    """session.query(...)/Model.query chains → select() run by session.execute/scalars/get."""

    name = "query-to-select"
    triggers = (b".query", b"Query(")
    METADATA_DEPENDENCIES: ClassVar[tuple[type[BaseMetadataProvider[Any]], ...]] = ANALYSIS_METADATA

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sessions = SessionResolver(self)
        self.entities = EntityClassifier(
            self, is_query=self.is_query, receiver_class=self._receiver_class
        )
        self.variables: dict[tuple[int, str], VariableInfo] = {}
        self.rejected: dict[tuple[int, str], str] = {}
        self._assumed_reported: set[str] = set()
        self._imports_added: set[str] = set()
        self._plans: dict[int, tuple[Chain, Any]] = {}
        #: ``query[...]`` subscripts whose query became a list: id → keep ``[0]`` (an index)
        self._subscripts: dict[int, bool] = {}
        #: functions of this module returning a query, with the facts of what they return
        self.factories: dict[str, FactoryInfo] = {}

    # -- entry points ---------------------------------------------------------------------
    def visit_Module(self, node: cst.Module) -> None:
        candidates = FactoryAnalysis(self).candidates(node)
        for _ in range(len(candidates) + 2):
            self.factories = dict(candidates)
            self.rejected = {}
            VariableAnalysis(self).run(node)
            # the variables were followed without what the factories return, the first
            # time: those built on a factory's query (``q = factory().filter()``) need it
            known = all(info.facts is not None for info in candidates.values())
            accepted = FactoryAnalysis(self).validate(node)
            if known and accepted.keys() == candidates.keys():
                self.factories = accepted
                return
            kept = accepted if known else self.factories
            candidates = {k: v for k, v in candidates.items() if k in kept}
        self.factories = {}
        self.rejected = {}
        VariableAnalysis(self).run(node)

    def visit_Call(self, node: cst.Call) -> bool:
        if self._constructs_query(node):
            self.todo(node, QUERY_CONSTRUCTOR_REFUSAL)
            return True
        return self._visit_expression(node)

    def _constructs_query(self, node: cst.Call) -> bool:
        """``Query(User, session)``, ``Query(User).with_session(session)``: a legacy Query
        made without ``session.query()``, which no session-based rewrite sees."""
        return bool(qualified_names(self, node.func) & QUERY_CLASSES)

    def visit_Attribute(self, node: cst.Attribute) -> bool:
        return self._visit_expression(node)

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.BaseExpression:
        return self._leave_expression(original_node, updated_node)

    def leave_Attribute(
        self, original_node: cst.Attribute, updated_node: cst.Attribute
    ) -> cst.BaseExpression:
        return self._leave_expression(original_node, updated_node)

    def leave_Subscript(
        self, original_node: cst.Subscript, updated_node: cst.Subscript
    ) -> cst.BaseExpression:
        """``query[2:5]`` / ``query[3]``: the query became the list of the sliced rows."""
        index = self._subscripts.pop(id(original_node), None)
        if index is None:
            return updated_node
        if not index:
            return updated_node.value
        first = cst.SubscriptElement(cst.Index(cst.Integer("0")))
        return updated_node.with_changes(slice=[first])

    def leave_Name(self, original_node: cst.Name, updated_node: cst.Name) -> cst.BaseExpression:
        info = self.variable_of_access(original_node)
        if info is None or self.inside_chain(original_node):
            return updated_node
        if self.iteration_context(original_node):
            self.count_rewrite()
            return self.iterated_result(original_node, info.facts, updated_node)
        return updated_node

    # -- chains ---------------------------------------------------------------------------------
    def _visit_expression(self, original: cst.Call | cst.Attribute) -> bool:
        """Plan the rewrite of a chain from its top; a refused chain is not entered at all,
        so nothing inside it is rewritten either."""
        if self.inside_chain(original):
            return True
        chain = self.find_chain(original)
        if chain is None:
            return True
        try:
            facts = self.chain_facts(chain)
            self._plans[id(original)] = (chain, self.plan(chain, facts))
        except Refusal as refusal:
            self.todo(original, str(refusal))
            return False
        return True

    def _leave_expression(
        self, original: cst.Call | cst.Attribute, updated: cst.Call | cst.Attribute
    ) -> cst.BaseExpression:
        planned = self._plans.pop(id(original), None)
        if planned is None:
            return updated
        chain, plan = planned
        updated_chain = self.find_chain(updated, like=chain)
        if updated_chain is None:
            return updated
        self.count_rewrite()
        return _keep_parentheses(updated, plan(updated_chain))

    def inside_chain(self, node: cst.CSTNode) -> bool:
        parent = self.get_metadata(ParentNodeProvider, node, None)
        if isinstance(parent, cst.Attribute) and parent.value is node:
            return True
        return isinstance(parent, cst.Call) and parent.func is node

    def is_query(self, node: cst.BaseExpression) -> bool:
        """Is ``node`` a legacy query (a chain this pass recognizes), notes aside?"""
        return self.find_chain(node, report=False) is not None

    def find_chain(
        self, top: cst.BaseExpression, like: Chain | None = None, *, report: bool = True
    ) -> Chain | None:
        """The query chain ending at ``top``; with ``like``, the same split on another tree.
        ``report``: note what is assumed or looks legacy but is not followed."""
        innermost, links = links_from_top(top)
        if like is not None:
            return self._split_like(top, innermost, links, like)
        if isinstance(innermost, cst.Name) and self.variable_of_access(innermost) is not None:
            chain = Chain(top=top, base_kind=BaseKind.VARIABLE, base=innermost)
            split_links(chain, links)
            return chain
        if isinstance(innermost, cst.Call) and self.factory_of_call(innermost) is not None:
            chain = Chain(top=top, base_kind=BaseKind.FACTORY, base=innermost)
            split_links(chain, links)
            return chain
        first = links[0].call if links else None
        if first is not None and self.factory_of_call(first) is not None:
            chain = Chain(top=top, base_kind=BaseKind.FACTORY, base=first)
            split_links(chain, links[1:])
            return chain
        for position, link in enumerate(links):
            if link.name != "query":
                continue
            receiver = links[position - 1].node if position else innermost
            found = self._chain_at(top, link, receiver, report)
            if found is not None:
                split_links(found, links[position + 1 :])
                return found
            if report:
                self._note_unknown_model_query(receiver, link, links[position + 1 :])
        return None

    def _note_unknown_model_query(
        self, receiver: cst.BaseExpression, link: Link, rest: list[Link]
    ) -> None:
        """``self.model.query.filter(...)``: legacy-looking, but the model is unknown."""
        if link.call is not None or not rest or rest[0].name not in LEGACY_MODEL_QUERY_METHODS:
            return
        text = cst.Module([]).code_for_node(receiver)
        unknown = self.sessions.unknown_flask_model(receiver)
        if unknown is not None:
            db, where = unknown
            self.todo(
                receiver,
                f"{text} is a model of {db}, a Flask-SQLAlchemy object made in {where}, not "
                f"once at module level: the tool cannot follow its models, so {text}.query "
                f"is left unchanged. Make `{db} = SQLAlchemy()` and the "
                f"models module level (`{db}.init_app(app)` in the factory) and run again",
            )
            return
        last = text.rsplit(".", 1)[-1]
        if not (last[:1].isupper() or last.lower().endswith("model")):
            return  # url.query, request.query: not a class
        self.note(
            receiver,
            f"{text}.query looks like Flask-SQLAlchemy's Model.query, but {text} is not a "
            "model the tool knows; left unchanged",
        )

    def _chain_at(
        self, top: cst.BaseExpression, link: Link, receiver: cst.BaseExpression, report: bool
    ) -> Chain | None:
        if link.call is not None:
            evidence = self.sessions.evidence(receiver)
            if evidence in (Evidence.NONE, Evidence.CONTRARY):
                if report:
                    self._todo_unknown_session(receiver, link)
                return None
            if evidence is Evidence.ASSUMED and report:
                self._report_assumption(receiver)
            return Chain(
                top=top,
                base_kind=BaseKind.SESSION,
                base=link.node,
                session=receiver,
                entities=link.args,
            )
        if self.flask_db_for_model(receiver) is not None or self.query_property_session(receiver):
            entity = None
            if self._instance_of_enclosing_class(receiver):
                entity = _type_of(receiver)
            return Chain(
                top=top,
                base_kind=BaseKind.MODEL,
                base=link.node,
                model=receiver,
                model_entity=entity,
            )
        return None

    def _instance_of_enclosing_class(self, node: cst.BaseExpression) -> bool:
        """``self`` in ``self.query``: the first parameter of a plain method of the class
        being visited (``Model.query`` read through an instance is its class's query)."""
        return self._method_receiver(node) == "instance"

    def _class_of_an_object(self, node: cst.BaseExpression) -> bool:
        """``obj.__class__`` or ``type(obj)`` (the builtin): the class of an object."""
        if isinstance(node, cst.Attribute):
            return node.attr.value == "__class__"
        return (
            isinstance(node, cst.Call)
            and len(node.args) == 1
            and node.args[0].keyword is None
            and not node.args[0].star
            and "builtins.type" in qualified_names(self, node.func)
        )

    def _class_of_enclosing_classmethod(self, node: cst.BaseExpression) -> bool:
        """``cls`` in ``cls.query``: the first parameter of a classmethod of the class
        being visited."""
        return self._method_receiver(node) == "class"

    def _method_receiver(self, node: cst.BaseExpression) -> str | None:
        """ "instance" when ``node`` is the first parameter of a plain method of the class
        it is in, "class" when it is a classmethod's, else None. (Told from the node's
        parents: the chains of stored queries are read before the visit reaches them.)"""
        if not isinstance(node, cst.Name):
            return None
        method = self._method_of(node)
        if method is None or not method[0].params.params:
            return None
        function = method[0]
        kind = "instance"
        for decorator in function.decorators:
            names = qualified_names(self, decorator.decorator)
            if "builtins.classmethod" in names:
                kind = "class"
            elif names & PLAIN_METHOD_BREAKERS:
                return None
        first = function.params.params[0]
        scope = self.get_metadata(ScopeProvider, node, None)
        if first.name.value != node.value or scope is None:
            return None
        return kind if [getattr(a, "node", None) for a in scope[node.value]] == [first] else None

    def _column_of_classmethod_receiver(self, node: cst.BaseExpression) -> bool:
        """``cls.dag_id`` in a classmethod of a model: a column of the model (or of its
        mapped bases) read through the class, as ``DagRun.dag_id``."""
        if not isinstance(node, cst.Attribute) or not self._class_of_enclosing_classmethod(
            node.value
        ):
            return False
        model = self.state.index.model(self._enclosing_model(node))
        if model is None:
            return False
        owners = self.state.index.self_and_bases(model)
        return any(node.attr.value in owner.columns for owner in owners)

    def _method_of(self, node: cst.CSTNode) -> tuple[cst.FunctionDef, cst.ClassDef] | None:
        """The function whose body holds ``node`` and the class it is a method of, when
        it is one (not a function inside a method, nor one outside a class)."""
        function: cst.FunctionDef | None = None
        current: cst.CSTNode | None = node
        while current is not None:
            current = self.get_metadata(ParentNodeProvider, current, None)
            if isinstance(current, cst.FunctionDef):
                if function is not None:
                    return None  # a function inside a method
                function = current
            elif isinstance(current, cst.ClassDef):
                return (function, current) if function is not None else None
        return None

    def _receiver_class(self, node: cst.BaseExpression) -> str | None:
        """The class being defined, when ``node`` is its method's ``cls`` or ``self``."""
        return self._enclosing_class(node) if self._method_receiver(node) else None

    def _split_like(
        self, top: cst.BaseExpression, innermost: cst.BaseExpression, links: list[Link], like: Chain
    ) -> Chain:
        written = sum(not link.implied for link in like.builders)
        skipped = len(links) - written - (like.terminal is not None) - len(like.after)
        skipped -= like.unknown is not None
        chain = Chain(top=top, base_kind=like.base_kind, base=innermost)
        if like.base_kind is BaseKind.FACTORY and skipped == 1:
            chain.base = links[0].node  # ``self.get_query()``, a query factory method
        elif like.base_kind not in (BaseKind.VARIABLE, BaseKind.FACTORY):
            base_link = links[skipped - 1]
            chain.base = base_link.node
            chain.session = links[skipped - 2].node if skipped >= 2 else innermost
            chain.entities = base_link.args
            chain.model = chain.session
            if like.model_entity is not None and chain.model is not None:
                chain.model_entity = _type_of(chain.model)
        split_links(chain, links[skipped:])
        return chain

    def _todo_unknown_session(self, receiver: cst.BaseExpression, link: Link) -> None:
        """``store.query(User)`` on a receiver nothing tells is a session: a legacy query
        of a mapped class all the same (no other library's ``query()`` takes one), left
        with a TODO rather than silently (``check`` would pass on it)."""
        args = link.args
        if not args or args[0].star or args[0].keyword is not None:
            return
        first = args[0].value
        model = self.entities.model_name(first)
        if model is None and isinstance(first, cst.Attribute):
            model = self.entities.model_name(first.value)  # ``User.name``: its column
        if model is None:
            return
        text = cst.Module([]).code_for_node(receiver)
        selected = cst.Module([]).code_for_node(first)
        self.todo(
            receiver,
            f"{text}.query({selected}) is a legacy Query, but nothing tells {text} is a "
            "SQLAlchemy session: annotate it (Session) or bind it from a sessionmaker, and "
            "run again",
        )

    def _report_assumption(self, receiver: cst.BaseExpression) -> None:
        text = cst.Module([]).code_for_node(receiver)
        if text not in self._assumed_reported:
            self._assumed_reported.add(text)
            self.note(receiver, f"assumed {text!r} is a SQLAlchemy session (no definition found)")

    # -- Flask-SQLAlchemy ------------------------------------------------------------------------
    def flask_db_for_model(self, node: cst.BaseExpression) -> str | None:
        """The qualified name of the ``SQLAlchemy()`` object behind ``Model`` (``Model.query``)."""
        name = self.entities.model_name(node) or self._model_of_method_receiver(node)
        if name is None and self._method_receiver(node) == "class":
            # ``cls.query`` in a classmethod of a mixin of Flask-SQLAlchemy models
            klass = self._enclosing_class(node)
            return self.state.index.flask_db_of_mixin(klass) if klass else None
        if name is None:
            return None
        return self._flask_db_of(name, set())

    def _model_of_method_receiver(self, node: cst.BaseExpression) -> str | None:
        """The model being defined, for ``cls`` (a classmethod's) or ``self`` (a method's)."""
        return self._enclosing_model(node) if self._method_receiver(node) else None

    def _enclosing_model(self, node: cst.CSTNode) -> str | None:
        """The model whose body holds ``node``, if any."""
        klass = self._class_holding(node)
        return self.entities.model_name(klass.name) if klass is not None else None

    def _enclosing_class(self, node: cst.CSTNode) -> str | None:
        """The qualified name of the class whose body holds ``node`` (a model or not)."""
        klass = self._class_holding(node)
        if klass is None:
            return None
        return next(iter(sorted(qualified_names(self, klass.name))), None)

    def _class_holding(self, node: cst.CSTNode) -> cst.ClassDef | None:
        current: cst.CSTNode | None = node
        while current is not None:
            current = self.get_metadata(ParentNodeProvider, current, None)
            if isinstance(current, cst.ClassDef):
                return current
        return None

    def _flask_db_of(self, model: str, seen: set[str]) -> str | None:
        index = self.state.index
        facts = index.model(model)
        if facts is None or model in seen:
            return None
        seen.add(model)
        for base in facts.bases:
            resolved = index.resolve_alias(base)
            owner, _, attr = resolved.rpartition(".")
            if attr == "Model" and index.kind_of(owner) is ObjectKind.FLASK_SQLALCHEMY:
                return index.resolve_alias(owner)
            found = self._flask_db_of(resolved, seen)
            if found:
                return found
        return None

    def query_property_session(self, node: cst.BaseExpression) -> str | None:
        """``Model.query`` from ``Base.query = db_session.query_property()``: the qualified
        name of ``db_session``."""
        name = self.entities.model_name(node) or self._model_of_method_receiver(node)
        if name is None and self._method_receiver(node):
            # ``cls.query`` in a mixin (or declarative base) given the query property:
            # whichever mapped class ``cls`` is, its query runs on that session
            name = self._enclosing_class(node)
        return self._query_property_of(name, set()) if name else None

    def _query_property_of(self, qualname: str, seen: set[str]) -> str | None:
        index = self.state.index
        resolved = index.resolve_alias(qualname)
        if resolved in seen:
            return None
        seen.add(resolved)
        if resolved in index.query_properties:
            return index.resolve_alias(index.query_properties[resolved])
        facts = index.model(resolved)
        for base in facts.bases if facts else ():
            found = self._query_property_of(base, seen)
            if found:
                return found
        return None

    def db_expression(self, db_qualname: str) -> cst.BaseExpression:
        """A name for the Flask-SQLAlchemy object in this module, importing it if needed."""
        return self.local_expression(db_qualname, "Flask-SQLAlchemy object")

    def local_expression(self, qualname: str, what: str) -> cst.BaseExpression:
        """A name for the module-level object ``qualname`` in this module, importing it
        if needed."""
        index = self.state.index
        module = index.modules.get(self.state.module_name)
        owner, _, attr = qualname.rpartition(".")
        if module is not None:
            if index.resolve_alias(f"{module.name}.{attr}") == qualname:
                return cst.Name(attr)
            for local, imported in module.imports.items():
                if index.resolve_alias(imported) == qualname:
                    return cst.Name(local)
        if module is not None and attr in module.imports:
            raise Refusal(f"the name {attr!r} is taken here; import the {what}")
        AddImportsVisitor.add_needed_import(self.context, owner, attr)
        return cst.Name(attr)

    # -- facts ----------------------------------------------------------------------------------------
    def chain_facts(self, chain: Chain) -> QueryFacts:
        if chain.unknown is not None:
            name = chain.unknown.name
            reason = UNMAPPABLE.get(name)
            if reason is None:
                raise Refusal(f"Query.{name} is not a Query method the tool can map")
            raise Refusal(reason)
        if chain.base_kind is BaseKind.VARIABLE:
            info = self.variable_of_access(chain.base)
            assert info is not None
            facts = replace(
                info.facts,
                entity_kinds=list(info.facts.entity_kinds),
                builders=set(info.facts.builders),
                filter_by_entities={},
                parent_relationships={},
            )
        elif chain.base_kind is BaseKind.FACTORY:
            assert isinstance(chain.base, cst.Call)
            facts = self.factory_facts(chain.base)
        elif chain.base_kind is BaseKind.MODEL:
            assert chain.model is not None
            db = self.flask_db_for_model(chain.model)
            session = None if db else self.query_property_session(chain.model)
            model = self.entities.model_name(chain.model)
            facts = QueryFacts(
                session=self.local_expression(session, "session") if session else None,
                entity_kinds=[EntityKind.MAPPER],
                model=model or self._enclosing_model(chain.model),
                entity_node=chain.written_model,
                receiver_class=None if model else self._receiver_class(chain.model),
            )
            if db is not None:
                facts.db = _DbMarker(db)  # type: ignore[assignment]
        else:
            facts = self._session_facts(chain)
        self._check_query_class(chain, facts)
        self._apply_builders(chain, facts)
        if facts.single_entity:
            facts.joined_by_default = self._joins_collection_by_default(facts)
        return facts

    def _check_query_class(self, chain: Chain, facts: QueryFacts) -> None:
        """Refuse a query built by a custom query class that overrides ``Query``'s own
        methods or construction (``query_class = SoftDeleteQuery`` whose ``__new__`` adds a
        filter, ``sessionmaker(query_cls=AliveQuery)`` whose ``all()`` drops rows):
        ``select()`` would not do what it does. A session whose origin is unknown (a
        parameter, an attribute) may be one of any factory given a ``query_cls``."""
        index = self.state.index
        if not index.query_classes and not index.session_query_classes:
            return
        model = index.model(facts.model)
        owners = [m.qualname for m in index.self_and_bases(model)] if model is not None else []
        owners += [b for m in (index.self_and_bases(model) if model else ()) for b in m.bases]
        classes: set[str] = set()
        if chain.base_kind is BaseKind.MODEL and chain.model is not None:
            owners.append(self.flask_db_for_model(chain.model) or "")
            session = self.query_property_session(chain.model)
            if session is not None and not self._query_property_class(owners):
                owners.append(session)
        elif facts.db is not None and isinstance(facts.db, cst.BaseExpression):
            owners += sorted(qualified_names(self, facts.db))
        elif chain.base_kind is BaseKind.SESSION and chain.session is not None:
            origins = self._session_origins(chain.session, 0)
            if origins is None:
                classes |= index.session_query_classes
            else:
                owners += sorted(o for o in origins if not o.startswith("class:"))
                classes |= {o[len("class:") :] for o in origins if o.startswith("class:")}
        owners += [db for owner in owners for db in index.flask_db_of_helper(owner)]
        classes |= {
            index.query_classes[index.resolve_alias(owner)]
            for owner in owners
            if index.resolve_alias(owner) in index.query_classes
        }
        used = chain.builder_names() | {
            link.name for link in (chain.terminal, *chain.after, chain.unknown) if link is not None
        }
        for query_class in sorted(classes):
            overrides = index.query_overrides(query_class)
            if (
                chain.terminal is not None
                and set(overrides) <= EXPLICIT_QUERY_METHODS
                and not set(overrides) & used
            ):
                continue  # what it overrides only runs where called, and this query does not
            if overrides:
                raise Refusal(
                    f"queries here are built by {query_class.rpartition('.')[2]}, a custom query "
                    f"class overriding {', '.join(overrides)}; select() would skip what it does"
                )

    def _query_property_class(self, owners: list[str]) -> bool:
        """Does one of ``owners`` (a model and its bases) have a query property given its
        own ``query_cls``?"""
        index = self.state.index
        return any(
            index.resolve_alias(o) in index.query_classes
            and index.resolve_alias(o) in index.query_properties
            for o in owners
        )

    def _session_origins(self, session: cst.BaseExpression, depth: int) -> set[str] | None:
        """Where the session comes from: the module-level sessions, scoped sessions or
        factories it is (or is made by), and ``"class:X"`` for a ``query_cls=X`` given
        where it is made; None when that cannot be told (a parameter, an attribute)."""
        if depth > 5:
            return None
        if isinstance(session, cst.Call):
            made_here = qualified_names(self, session.func) & SESSION_MAKERS
            origins = set() if made_here else self._session_origins(session.func, depth + 1)
            if origins is None:
                return None
            for arg in session.args:
                if arg.keyword is not None and arg.keyword.value == "query_cls":
                    classes = qualified_names(self, arg.value)
                    if not classes:
                        return None
                    origins |= {f"class:{c}" for c in classes}
            return origins
        if not isinstance(session, cst.Name):
            return None
        bridged = self._run_sync_receiver(session)
        if bridged is not None:
            return self._session_origins(bridged, depth + 1)
        index = self.state.index
        names = qualified_names(self, session)
        if any(index.kind_of(n) is not None for n in names):
            return set(names)  # a module-level session, scoped session or factory
        values = self._bound_values(session)
        if not values:
            return None
        found: set[str] = set()
        for value in values:
            origins = self._session_origins(value, depth + 1)
            if origins is None:
                return None
            found |= origins
        return found

    def _run_sync_receiver(self, name: cst.Name) -> cst.BaseExpression | None:
        """``session`` for ``sync_session``, the parameter of the lambda in
        ``session.run_sync(lambda sync_session: ...)``: the synchronous session behind
        ``session``, made as it is."""
        scope = self.get_metadata(ScopeProvider, name, None)
        if scope is None:
            return None
        assignments = list(scope[name.value])
        if len(assignments) != 1:
            return None
        param = getattr(assignments[0], "node", None)
        if not isinstance(param, cst.Param):
            return None
        params = self.get_metadata(ParentNodeProvider, param, None)
        function = self.get_metadata(ParentNodeProvider, params, None) if params else None
        if not isinstance(function, cst.Lambda) or not function.params.params:
            return None
        if function.params.params[0] is not param:
            return None
        arg = self.get_metadata(ParentNodeProvider, function, None)
        call = self.get_metadata(ParentNodeProvider, arg, None) if arg else None
        if not (
            isinstance(arg, cst.Arg)
            and isinstance(call, cst.Call)
            and call.args[0] is arg
            and isinstance(call.func, cst.Attribute)
            and call.func.attr.value == "run_sync"
        ):
            return None
        return call.func.value

    def _bound_values(self, name: cst.Name) -> list[cst.BaseExpression] | None:
        """The values ``name`` is bound to by assignments and ``with value as name``."""
        values = assigned_values(self, name)
        if values is not None:
            return values
        scope = self.get_metadata(ScopeProvider, name, None)
        if scope is None:
            return None
        found: list[cst.BaseExpression] = []
        for assignment in scope[name.value]:
            bound = getattr(assignment, "node", None)
            parent = self.get_metadata(ParentNodeProvider, bound, None) if bound else None
            item = self.get_metadata(ParentNodeProvider, parent, None) if parent else None
            if not (isinstance(parent, cst.AsName) and isinstance(item, cst.WithItem)):
                return None
            found.append(item.item)
        return found

    def _joins_collection_by_default(self, facts: QueryFacts) -> bool:
        """Does the mapped class eager-load a collection with a join by default
        (``relationship(..., lazy="joined")``)? Its rows then need ``unique()``. For a
        method's ``cls``, any mapped class derived from the class being defined."""
        index = self.state.index
        if facts.receiver_class is not None:
            models = index.models_derived_from(facts.receiver_class)
        elif facts.model is None:  # ``self.model``, a mapped class known only as one
            models = list(index.models.values())
        else:
            model = index.model(facts.model)
            models = [model] if model is not None else []
        return any(index.loads_joined_collection(model) for model in models)

    def _check_params(self, chain: Chain, position: int) -> None:
        """``params()`` as the last builder of a session query run by a result method."""
        last = position == len(chain.builders) - 1
        run_here = chain.terminal is not None and chain.terminal.name in PARAMS_TERMINALS
        if not (last and run_here) or chain.base_kind is BaseKind.FACTORY:
            raise Refusal(PARAMS_REFUSAL)

    def _session_facts(self, chain: Chain) -> QueryFacts:
        kinds = [self._entity_kind(arg) for arg in chain.entities]
        facts = QueryFacts(session=chain.session, entity_kinds=kinds)
        if kinds == [EntityKind.MAPPER]:
            entity = chain.entities[0].value
            facts.model = self.entities.model_name(entity)
            facts.entity_node = entity
            if facts.model is None and self._class_of_enclosing_classmethod(entity):
                facts.model = self._enclosing_model(entity)
                facts.receiver_class = self._enclosing_class(entity)
        session = chain.session
        if isinstance(session, cst.Attribute) and session.attr.value == "session":
            if self.sessions.kind(session.value) is ObjectKind.FLASK_SQLALCHEMY:
                facts.db = session.value
        facts.single_row = bool(chain.entities) and all(
            self.entities.is_single_row_aggregate(a.value) for a in chain.entities
        )
        return facts

    def _entity_kind(self, arg: cst.Arg) -> EntityKind:
        if arg.star or arg.keyword is not None:
            raise Refusal("query() with starred or keyword arguments")
        kind = self.entities.classify(arg.value)
        if kind is EntityKind.UNKNOWN and self._class_of_enclosing_classmethod(arg.value):
            # a classmethod's ``cls`` handed to query(): only a mapped class can be
            kind = EntityKind.MAPPER
        if kind is EntityKind.UNKNOWN and self._class_of_an_object(arg.value):
            # ``obj.__class__``, ``type(obj)``: a class, so (handed to query()) a mapped one
            kind = EntityKind.MAPPER
        if kind is EntityKind.UNKNOWN and self._column_of_classmethod_receiver(arg.value):
            kind = EntityKind.COLUMN
        if kind is EntityKind.UNKNOWN:
            text = cst.Module([]).code_for_node(arg.value)
            raise Refusal(f"cannot tell whether {text} is a mapped class or a column expression")
        return kind

    def _apply_builders(self, chain: Chain, facts: QueryFacts) -> None:
        # what legacy filter_by() applies to: the last joined entity, else the first
        # select_from(), else the first selected entity
        stored_query = chain.base_kind is BaseKind.VARIABLE
        ambiguous = stored_query and (
            self._joined_earlier(chain) or facts.entity_kinds != [EntityKind.MAPPER]
        )
        zero = None if stored_query else self._first_entity(chain)
        if stored_query and "params" in facts.builders:
            raise Refusal(PARAMS_REFUSAL)
        labels = self._labels_selected(chain)
        for position, link in enumerate(chain.builders):
            self._check_builder(link, labels)
            if link.name == "with_parent" and self._parent_property(link) is None:
                facts.parent_relationships[position] = self._inferred_parent(facts, link)
            if link.name == "params":
                self._check_params(chain, position)
            if link.name in JOINS:
                zero = self._joined_entity(link)
                ambiguous = True
            elif link.name == "select_from":
                zero = self._plain_entity(link.args[0].value) if link.args else None
                ambiguous = True
            elif (
                link.name == "with_entities"
                and "select_from" not in facts.builders
                and not (facts.builders & JOINS)
            ):
                zero = self._plain_entity(link.args[0].value) if link.args else None
            elif link.name == "filter_by" and (
                ambiguous or facts.entity_kinds != [EntityKind.MAPPER]
            ):
                # 2.x Select.filter_by() looks in every FROM entity: name the entity
                if zero is None:
                    raise Refusal("filter_by() whose entity cannot be named here; use where()")
                self._check_filter_by(link)
                facts.filter_by_entities[position] = zero
            facts.builders.add(link.name)
            if link.name in CRITERIA_BUILDERS:
                facts.has_criteria = True
            if link.name in DUPLICATING_BUILDERS:
                facts.duplicates_possible = True
            elif link.name == "options" and (
                self._has_joined_eager(link) or not all(map(_reads_as_loader_option, link.args))
            ):
                facts.joined_eager = True
            elif link.name == "yield_per":
                facts.yield_per = True
            elif link.name == "with_entities":
                facts.entity_kinds = [self._entity_kind(a) for a in link.args]
                facts.model = None
                facts.single_row = all(
                    self.entities.is_single_row_aggregate(a.value) for a in link.args
                )
            elif link.name in ("add_columns", "add_entity"):
                facts.entity_kinds = [
                    *facts.entity_kinds,
                    *(self._entity_kind(a) for a in link.args),
                ]
                facts.model = None
                facts.single_row = False
            if link.name in ("where", "filter", "having", "order_by", "group_by"):
                if self._mentions_other_entities(link, facts.model):
                    facts.duplicates_possible = True
            if link.name in ("group_by", "having", "limit", "offset", "slice", "distinct"):
                facts.single_row = False
        self._check_with_entities_order(chain)

    def _joined_earlier(self, chain: Chain) -> bool:
        """Was a join (or select_from) added to this stored query above this line?"""
        info = self.variable_of_access(chain.base)
        if info is None:
            return True
        line = self._position(chain.top)[0]
        for assign in info.assignments:
            _, links = links_from_top(assign.value)
            if {link.name for link in links} & (JOINS | {"select_from"}):
                if self._position(assign)[0] < line:
                    return True
        return False

    def _first_entity(self, chain: Chain) -> str | None:
        if chain.base_kind is BaseKind.MODEL and chain.written_model is not None:
            return cst.Module([]).code_for_node(chain.written_model)
        return self._plain_entity(chain.entities[0].value) if chain.entities else None

    def _plain_entity(self, node: cst.BaseExpression) -> str | None:
        """``User`` or ``alias`` for a mapped entity; ``User`` for ``User.name``."""
        kind = self.entities.classify(node) if isinstance(node, cst.Name | cst.Attribute) else None
        if kind is EntityKind.MAPPER:
            return cst.Module([]).code_for_node(node)
        if kind is EntityKind.COLUMN and isinstance(node, cst.Attribute):
            return self._plain_entity(node.value)
        return None

    def _joined_entity(self, link: Link) -> str | None:
        """The entity a join() adds, as it can be written here (``Address``, ``mgr``)."""
        if not link.args:
            return None
        unpacked = self._join_tuple(link)
        chained = self._join_chain(link)
        if unpacked is not None:
            target = unpacked[0].value
        elif chained is not None:
            target = chained[-1].value
        else:
            target = link.args[0].value
        if isinstance(target, cst.Call):  # User.addresses.of_type(alias)
            of_type = target.args[0].value if target.args else None
            if isinstance(of_type, cst.Name | cst.Attribute):
                if self.entities.classify(of_type) is EntityKind.MAPPER:
                    return cst.Module([]).code_for_node(of_type)
            return None
        if isinstance(target, cst.Attribute):
            related = self._relationship_target(target)
            if related is not None:
                return related
        if isinstance(target, cst.Name | cst.Attribute):
            if self.entities.classify(target) is EntityKind.MAPPER:
                return cst.Module([]).code_for_node(target)
        return None

    def _relationship_target(self, attribute: cst.Attribute) -> str | None:
        """``User.addresses`` → the local name of the class the relationship points to."""
        index = self.state.index
        owner = self.entities.entity_model(attribute.value)
        if owner is None:
            return None
        relationship = index.models[owner].relationships.get(attribute.attr.value)
        if relationship is None or relationship.target is None:
            return None
        model = index.model(relationship.target) or index.model_by_short_name(
            relationship.target.rsplit(".", 1)[-1]
        )
        return None if model is None else self._local_name_of(model.qualname)

    def _local_name_of(self, qualname: str) -> str | None:
        """How code in this module can name ``qualname``: ``Todo`` or ``models.Todo``."""
        index = self.state.index
        module = index.modules.get(self.state.module_name)
        owner, _, name = qualname.rpartition(".")
        if owner == self.state.module_name:
            return name
        if module is not None:
            for local, imported in module.imports.items():
                if index.resolve_alias(imported) == qualname:
                    return local
            for local, imported in module.imports.items():
                if imported == owner:  # from . import models / import app.models as models
                    return f"{local}.{name}"
        return None

    def _check_filter_by(self, link: Link) -> None:
        if any(a.keyword is None or a.star for a in link.args):
            raise Refusal("filter_by(**criteria) after a join has no exact 2.x form")

    def _relationship_path(self, node: cst.BaseExpression) -> bool:
        """Is ``node`` a relationship attribute (``User.orders``, ``alias.orders``,
        ``User.orders.of_type(alias)``), as far as the project index tells?"""
        if (
            isinstance(node, cst.Call)
            and isinstance(node.func, cst.Attribute)
            and node.func.attr.value == "of_type"
        ):
            node = node.func.value
        return isinstance(node, cst.Attribute) and self._relationship_target(node) is not None

    def _join_tuple(self, link: Link) -> list[cst.Arg] | None:
        """``join((Address, User.id == Address.user_id))``, the 1.x tuple form, as the
        arguments of ``join(Address, User.id == Address.user_id)``: one tuple of a mapped
        class (or an alias of one) and its ON clause, the only argument but keywords.
        None for the other tuple forms (several tuples, 1.x's reversed ``(prop, target)``)."""
        positional = [a for a in link.args if a.keyword is None]
        if len(positional) != 1 or positional[0].star:
            return None
        pair = positional[0].value
        if not isinstance(pair, cst.Tuple) or len(pair.elements) != 2:
            return None
        if any(isinstance(e, cst.StarredElement) for e in pair.elements):
            return None
        target, onclause = (e.value for e in pair.elements)
        if not isinstance(target, cst.Name | cst.Attribute | cst.Call):
            return None
        if self.entities.classify(target) is not EntityKind.MAPPER:
            return None
        if isinstance(onclause, cst.BaseString | cst.ConcatenatedString):
            return None
        keywords = [a for a in link.args if a.keyword is not None]
        return with_separators([cst.Arg(target), cst.Arg(onclause), *keywords])

    def _join_chain(self, link: Link) -> list[cst.Arg] | None:
        """The relationship paths of legacy ``join(User.orders, Order.items)``: several
        targets, joined one after the other (2.x reads a second argument as the ON
        clause). None for the one-target forms."""
        positional = [a for a in link.args if a.keyword is None and not a.star]
        if len(positional) < 2 or not self._relationship_path(positional[0].value):
            return None
        return positional

    def _check_join_arguments(self, link: Link) -> None:
        positional = [a for a in link.args if a.keyword is None and not a.star]
        if any(a.star for a in link.args):
            raise Refusal(f"{link.name}() with starred arguments")
        if len(positional) < 2:
            return
        if self._join_chain(link) is not None:
            if not all(self._relationship_path(a.value) for a in positional):
                raise Refusal(
                    f"legacy {link.name}() with several targets: write one {link.name}() per target"
                )
        elif len(positional) > 2:
            raise Refusal(
                f"legacy {link.name}() with several targets: write one {link.name}() per target"
            )

    def _labels_selected(self, chain: Chain) -> set[str]:
        """The names the chain's columns are labelled with (``func.count(...).label("n")``,
        written there or kept in a local): ``order_by("n")`` refers to one in 1.x and 2.x
        alike."""
        args = list(chain.entities)
        for link in chain.builders:
            if link.name in ("with_entities", "add_columns"):
                args.extend(link.args)
        labels = set()
        for arg in args:
            value: cst.BaseExpression | None = arg.value
            if isinstance(value, cst.Name):
                value = self.entities.bound_value(value)
            if (
                isinstance(value, cst.Call)
                and isinstance(value.func, cst.Attribute)
                and value.func.attr.value == "label"
                and len(value.args) == 1
                and isinstance(value.args[0].value, cst.SimpleString)
            ):
                name = value.args[0].value.evaluated_value
                if isinstance(name, str):
                    labels.add(name)
        return labels

    def _check_builder(self, link: Link, labels: Collection[str] = ()) -> None:
        if link.name in ("join", "outerjoin"):
            self._check_join_arguments(link)
            for arg in link.args:
                if isinstance(arg.value, cst.BaseString):
                    raise Refusal(
                        "string join targets are gone in 2.0; join on the relationship attribute"
                    )
                if isinstance(arg.value, cst.Tuple) and self._join_tuple(link) is None:
                    raise Refusal("the tuple form of join() is gone in 2.0")
                if arg.keyword is not None and arg.keyword.value in ("aliased", "from_joinpoint"):
                    raise Refusal(f"join(..., {arg.keyword.value}=...) was removed; use aliased()")
        if link.name in ("filter", "where", "order_by", "group_by", "having"):
            for arg in link.args:
                value = arg.value
                if (
                    link.name in ("order_by", "group_by")
                    and isinstance(value, cst.SimpleString)
                    and value.evaluated_value in labels
                ):
                    continue  # the name of a label of the query: 2.x resolves it too
                if isinstance(value, cst.BaseString):
                    raise Refusal(f"a raw SQL string in {link.name}() needs text() in 2.0")
        if link.name == "with_parent" and any(
            a.star or (a.keyword is not None and a.keyword.value != "property") for a in link.args
        ):
            raise Refusal("Query.with_parent() with these arguments cannot be mapped")
        if link.name == "yield_per" and len(link.args) != 1:
            raise Refusal("yield_per() with unexpected arguments")

    @staticmethod
    def _property_argument(link: Link) -> cst.BaseExpression | None:
        """What a ``with_parent()`` call gives for the relationship, if anything."""
        given = [a for a in link.args[1:] if a.keyword is None]
        given += [a for a in link.args if a.keyword is not None and a.keyword.value == "property"]
        return given[0].value if given else None

    def _parent_property(self, link: Link) -> cst.BaseExpression | None:
        """The relationship attribute a ``with_parent()`` call names (None: none, or a
        string, which 2.x's ``with_parent()`` refuses)."""
        given = self._property_argument(link)
        if isinstance(given, cst.BaseString | cst.ConcatenatedString):
            return None
        return given

    def _inferred_parent(self, facts: QueryFacts, link: Link) -> tuple[str, str]:
        """The relationship ``with_parent(instance)`` or ``with_parent(instance, "name")``
        means: legacy Query looked it up on the instance's class among the relationships
        to the query's entity; when the project has exactly one such relationship (of
        that name), the instance's class can only be its owner."""
        what = "Query.with_parent() without the relationship attribute"
        if facts.model is None or facts.builders & {"select_from", "with_entities"}:
            raise Refusal(f"{what}: the queried class cannot be told here")
        given = self._property_argument(link)
        named = given.evaluated_value if isinstance(given, cst.SimpleString) else None
        found = [
            (owner, name)
            for owner, name in self.state.index.relationships_to(facts.model)
            if named is None or name == named
        ]
        if len(found) > 1:
            # legacy Query looked among the relationships of the instance's class
            klass = CallResolver(self).instance_class(link.args[0].value) if link.args else None
            model = self.state.index.model(klass) if klass else None
            if model is not None:
                owners = {facts.qualname for facts in self.state.index.self_and_bases(model)}
                found = [(owner, name) for owner, name in found if owner in owners]
        if len(found) != 1:
            raise Refusal(f"{what}: no single relationship to the queried class; name it")
        return found[0]

    def _check_with_entities_order(self, chain: Chain) -> None:
        names = [link.name for link in chain.builders]
        if "with_entities" not in names:
            return
        last = len(names) - 1 - names[::-1].index("with_entities")
        before = set(names[:last])
        if before & {"add_columns", "add_entity"} or (
            "filter_by" in before and not self._keeps_filter_by_entity(chain, chain.builders[last])
        ):
            raise Refusal("with_entities() after filter_by()/add_columns() has no exact 2.0 form")

    def _keeps_filter_by_entity(self, chain: Chain, link: Link) -> bool:
        """Does ``select(<the entities of with_entities()>)`` resolve ``filter_by()``'s
        keywords on the entity the query did? Both take the last joined entity, else
        the first FROM or column: the same when the first entity given to
        ``with_entities()`` is the query's first entity or one of its columns."""
        if not link.args or any(a.star or a.keyword is not None for a in link.args):
            return False
        first = self._first_entity(chain)
        return first is not None and self._plain_entity(link.args[0].value) == first

    def _has_joined_eager(self, link: Link) -> bool:
        found = False

        class Finder(cst.CSTVisitor):
            def visit_Name(self, node: cst.Name) -> None:
                nonlocal found
                if node.value in JOINED_EAGER:
                    found = True

        for arg in link.args:
            arg.visit(Finder())
        return found

    def _mentions_other_entities(self, link: Link, model: str | None) -> bool:
        other = False
        analysis = self

        class Finder(cst.CSTVisitor):
            def visit_Call(self, node: cst.Call) -> bool:
                # subqueries and EXISTS (in_(), any(), has(), select()) add no FROM entry
                func = node.func
                if isinstance(func, cst.Attribute) and func.attr.value in SUBQUERY_METHODS:
                    func.visit(self)
                    return False
                return not _builds_subquery(node)

            def visit_Attribute(self, node: cst.Attribute) -> bool:
                nonlocal other
                target = node
                while isinstance(target.value, cst.Attribute):
                    target = target.value
                root = target.value
                if isinstance(root, cst.Name):
                    name = analysis.entities.model_name(root)
                    if (name is not None and name != model) or (
                        name is None
                        and analysis.entities._classify_reference(root)
                        in (
                            EntityKind.MAPPER,
                            EntityKind.TABLE,
                        )
                        and root.value[:1].isupper()
                        and not (node.value is root and analysis._unmapped_project_class(root))
                    ):
                        other = True
                return True

        for arg in link.args:
            arg.visit(Finder())
        return other

    def _unmapped_project_class(self, node: cst.Name) -> bool:
        """Is ``node`` a class of the project that is no model: ``Status.DONE`` (of a
        constants class or an enum, compared with a column) adds no FROM entry."""
        index = self.state.index
        for name in qualified_names(self, node):
            resolved = index.resolve_alias(name)
            facts = index.modules.get(resolved.rpartition(".")[0])
            if facts is not None and resolved in facts.models and resolved not in index.models:
                return True
        return False

    # -- query factories --------------------------------------------------------------------
    def factory_of_call(self, call: cst.Call) -> FactoryInfo | None:
        if isinstance(call.func, cst.Attribute):
            info = self._method_factory_of(call.func)
            return info if info is not None and info.facts is not None else None
        for name in qualified_names(self, call.func):
            info = self.factories.get(name)
            if info is not None and info.facts is not None:
                return info
        return None

    def _method_factory_of(self, func: cst.Attribute) -> FactoryInfo | None:
        """The query factory method ``self.get_query`` calls: a method of the class being
        defined, called on the first parameter of one of its plain methods, named as the
        factory names its own."""
        if not self.factories or not isinstance(func.value, cst.Name):
            return None
        if self._method_receiver(func.value) != "instance":
            return None
        klass = self._enclosing_class(func.value)
        for info in self.factories.values():
            if (
                info.session_attr is not None
                and klass in info.classes
                and info.qualname.rpartition(".")[2] == func.attr.value
                and info.session_param == func.value.value
            ):
                return info
        return None

    def factory_facts(self, call: cst.Call) -> QueryFacts:
        """The factory's facts, with the session the caller passes in."""
        info = self.factory_of_call(call)
        assert info is not None and info.facts is not None
        if info.session_attr is not None:  # ``self.session``, the same in every method
            assert isinstance(call.func, cst.Attribute)
            session: cst.BaseExpression | None = cst.Attribute(
                value=call.func.value, attr=cst.Name(info.session_attr)
            )
        else:
            session = _argument(call, info.session_param, info.session_position)
        if session is None or not _stable(session):
            raise Refusal("the session handed to this query factory is not a plain name")
        return replace(
            info.facts,
            session=session,
            entity_kinds=list(info.facts.entity_kinds),
            builders=set(info.facts.builders),
            filter_by_entities={},
            parent_relationships={},
        )

    def _factory_entity(self, chain: Chain) -> cst.BaseExpression | None:
        """The mapped class a query factory's bare ``session.query(Model)`` selects, as
        the caller can write it (a module-level name, or ``self.model`` of the same
        ``self``): ``factory().get(pk)`` is ``session.get(Model, pk)``. None when the
        factory adds anything to its query (legacy ``get()`` refuses criteria) or names
        the class through its own locals."""
        assert isinstance(chain.base, cst.Call)
        info = self.factory_of_call(chain.base)
        facts = info.facts if info is not None else None
        if info is None or facts is None or facts.builders or not facts.single_entity:
            return None
        entity = facts.entity_node
        if isinstance(entity, cst.Name):
            scope = self.get_metadata(ScopeProvider, entity, None)
            bindings = list(scope[entity.value]) if scope is not None else []
            if facts.model is None or not bindings:
                return None
            if all(isinstance(binding.scope, GlobalScope) for binding in bindings):
                return entity.deep_clone()
            return None
        if (
            info.session_attr is not None
            and isinstance(entity, cst.Attribute)
            and isinstance(entity.value, cst.Name)
            and entity.value.value == info.session_param
            and isinstance(chain.base.func, cst.Attribute)
        ):
            return entity.with_changes(value=chain.base.func.value)
        return None

    def returned_by_factory(self, node: cst.CSTNode) -> bool:
        parent = self.get_metadata(ParentNodeProvider, node, None)
        if not isinstance(parent, cst.Return):
            return False
        function = self._enclosing_function(parent)
        if function is None:
            return False
        if f"{self.state.module_name}.{function.name.value}" in self.factories:
            return True
        method = self._method_of(function.body)
        if method is None or method[0] is not function:
            return False
        klass = next(iter(sorted(qualified_names(self, method[1].name))), None)
        return f"{klass}.{function.name.value}" in self.factories

    def _enclosing_function(self, node: cst.CSTNode) -> cst.FunctionDef | None:
        current = self.get_metadata(ParentNodeProvider, node, None)
        while current is not None and not isinstance(current, cst.FunctionDef):
            current = self.get_metadata(ParentNodeProvider, current, None)
        return current

    # -- variables --------------------------------------------------------------------------------------
    def variable_of_access(self, node: cst.CSTNode) -> VariableInfo | None:
        if not isinstance(node, cst.Name):
            return None
        key = self.variable_key(node)
        return self.variables.get(key) if key else None

    def variable_key(self, node: cst.Name) -> tuple[int, str] | None:
        scope = self.get_metadata(ScopeProvider, node, None)
        if scope is None:
            return None
        return (id(scope), node.value)

    # -- contexts -----------------------------------------------------------------------------------------
    def iteration_context(self, node: cst.CSTNode) -> bool:
        parent = self.get_metadata(ParentNodeProvider, node, None)
        if isinstance(parent, cst.For | cst.CompFor) and parent.iter is node:
            return True
        return self._iterating_builtin(node) is not None

    def _iterating_builtin(self, node: cst.CSTNode) -> str | None:
        """``list`` for ``list(<node>)``: the builtin iterating ``node``, if one does."""
        parent = self.get_metadata(ParentNodeProvider, node, None)
        if isinstance(parent, cst.Arg) and parent.value is node and parent.keyword is None:
            call = self.get_metadata(ParentNodeProvider, parent, None)
            if isinstance(call, cst.Call) and call.args and call.args[0] is parent:
                for name in qualified_names(self, call.func):
                    if name.startswith("builtins.") and name[9:] in ITERATING_BUILTINS:
                        return name[9:]
        return None

    def iterated_result(
        self, node: cst.CSTNode, facts: QueryFacts, stmt: cst.BaseExpression
    ) -> cst.BaseExpression:
        """The result a loop or builtin iterates in place of the Query at ``node``: rows
        as a list for ``dict()``, which takes a ``Result`` (it has ``keys()``) for a
        mapping and fails, where a Query gave it its rows as pairs."""
        result = self.result_object(facts, stmt)
        if not facts.single_entity and self._iterating_builtin(node) == "dict":
            result = method(result, "all")
        return result

    def compound_operand_reason(self, node: cst.CSTNode) -> str | None:
        """Why ``q`` in ``other.union(q)`` (``union_all``, ``intersect``...) stays legacy:
        the compound query does (with a TODO of its own)."""
        arg = self.get_metadata(ParentNodeProvider, node, None)
        call = self.get_metadata(ParentNodeProvider, arg, None) if arg else None
        if not (isinstance(arg, cst.Arg) and isinstance(call, cst.Call)):
            return None
        func = call.func
        if isinstance(func, cst.Attribute) and func.attr.value in COMPOUND_METHODS:
            return (
                f"this query is an operand of Query.{func.attr.value}(), which stays a legacy "
                "Query (see its TODO); it stays one with it"
            )
        return None

    def sql_context(self, node: cst.CSTNode) -> bool:
        parent = self.get_metadata(ParentNodeProvider, node, None)
        if not (isinstance(parent, cst.Arg) and parent.value is node):
            return False
        call = self.get_metadata(ParentNodeProvider, parent, None)
        if not isinstance(call, cst.Call):
            return False
        if isinstance(call.func, cst.Attribute) and call.func.attr.value in SQL_CONSUMER_METHODS:
            return True
        return any(n.startswith("sqlalchemy.") for n in qualified_names(self, call.func))

    def assigned_variable(self, node: cst.CSTNode) -> VariableInfo | None:
        parent = self.get_metadata(ParentNodeProvider, node, None)
        if isinstance(parent, cst.Assign) and parent.value is node and len(parent.targets) == 1:
            target = parent.targets[0].target
            if isinstance(target, cst.Name):
                key = self.variable_key(target)
                return self.variables.get(key) if key else None
        return None

    # -- planning ---------------------------------------------------------------------------------------
    def plan(self, chain: Chain, facts: QueryFacts) -> Any:
        """A function building the rewrite on the updated tree, or a Refusal."""
        terminal = chain.terminal
        if terminal is None:
            return self._plan_open(chain, facts)
        if terminal.name in SQL_TERMINALS:
            self._check_sql_terminal(terminal)
            self._check_executed_statement(chain, facts)
            return lambda c: self._reattach(c, self._sql_terminal(c, facts))
        if terminal.name in FLASK_TERMINALS:
            self._check_flask(chain, facts)
        else:
            self._check_result_terminal(chain, facts)
        return lambda c: self._reattach(c, self._result_terminal(c, facts))

    def _plan_open(self, chain: Chain, facts: QueryFacts) -> Any:
        top = chain.top
        subscript = self._subscript_of(top)
        if subscript is not None:
            return self._plan_subscript(subscript, facts)
        if self.iteration_context(top):
            self._need_session(facts)
            return lambda c: self.iterated_result(top, facts, self.statement(c, facts))
        if self.sql_context(top) or self.assigned_variable(top) is not None:
            return lambda c: self.statement(c, facts)
        if self.returned_by_factory(top):
            return lambda c: self.statement(c, facts)
        key = self._assigned_key(top)
        if key is not None and key in self.rejected:
            raise Refusal(self.rejected[key])
        operand = self.compound_operand_reason(top)
        if operand is not None:
            raise Refusal(operand)
        raise Refusal(
            "this Query object is returned or passed on, so its consumers cannot be rewritten "
            "with it; convert it and its consumers together"
        )

    def _subscript_of(self, node: cst.CSTNode) -> cst.Subscript | None:
        parent = self.get_metadata(ParentNodeProvider, node, None)
        if isinstance(parent, cst.Subscript) and parent.value is node and len(parent.slice) == 1:
            return parent
        return None

    def _plan_subscript(self, subscript: cst.Subscript, facts: QueryFacts) -> Any:
        """``query[a:b]`` is ``list(query.slice(a, b))``; ``query[i]`` is
        ``list(query[i:i + 1])[0]`` (legacy ``Query.__getitem__``)."""
        element = subscript.slice[0].slice
        if isinstance(element, cst.Slice):
            if element.step is not None:
                raise Refusal("a Query sliced with a step: slice the list of rows instead")
            bounds = [element.lower, element.upper]
            if any(_negative(b) for b in bounds):
                raise Refusal(
                    "negative Query indexes are not accepted by SQL; order the query the other way"
                )
            lower, upper = bounds
            if (
                isinstance(lower, cst.Integer)
                and isinstance(upper, cst.Integer)
                and upper.evaluated_value <= lower.evaluated_value
            ):
                raise Refusal("an empty slice of a Query runs no query; write [] instead")
        else:
            assert isinstance(element, cst.Index)
            index = element.value
            if _negative(index):
                raise Refusal(
                    "negative Query indexes are not accepted by SQL; order the query the other way"
                )
            bounds = [index, _plus_one(index)]
        if any(b is not None and _calls_something(b) for b in bounds):
            raise Refusal("a Query subscript computed by calls: slice with .slice() instead")
        self._need_session(facts)
        self._subscripts[id(subscript)] = not isinstance(element, cst.Slice)
        args = [cst.Arg(b if b is not None else cst.Name("None")) for b in bounds]

        def rewrite(chain: Chain) -> cst.BaseExpression:
            stmt = self.statement(chain, facts)
            if (bounds[0] is None or _is_zero(bounds[0])) and bounds[1] is not None:
                sliced = method(stmt, "limit", [cst.Arg(bounds[1])])
            else:
                sliced = method(stmt, "slice", with_separators(args))
            return method(self.result_object(facts, sliced), "all")

        return rewrite

    def _assigned_key(self, node: cst.CSTNode) -> tuple[int, str] | None:
        parent = self.get_metadata(ParentNodeProvider, node, None)
        if isinstance(parent, cst.Assign) and len(parent.targets) == 1:
            target = parent.targets[0].target
            if isinstance(target, cst.Name):
                return self.variable_key(target)
        return None

    def _need_session(self, facts: QueryFacts) -> None:
        if facts.session is None and facts.db is None:
            raise Refusal("no session found for this query")

    def _check_executed_statement(self, chain: Chain, facts: QueryFacts) -> None:
        """``session.execute(query.statement)`` of a query of one mapped class: rows each
        holding an object since 1.4, as ``select(User)`` gives them (the rewrite keeps
        that), where 1.3, for which the idiom was written, gave rows of the columns."""
        if chain.terminal is None or chain.terminal.name != "statement" or chain.after:
            return
        if not facts.single_entity or facts.model is None:
            return
        arg = self.get_metadata(ParentNodeProvider, chain.top, None)
        call = self.get_metadata(ParentNodeProvider, arg, None) if arg is not None else None
        if not (isinstance(arg, cst.Arg) and isinstance(call, cst.Call)) or arg.keyword:
            return
        func = call.func
        if not (isinstance(func, cst.Attribute) and func.attr.value in ("execute", "stream")):
            return
        if self.sessions.evidence(func.value) not in (Evidence.PROOF, Evidence.ASSUMED):
            return
        read = self.get_metadata(ParentNodeProvider, call, None)
        if isinstance(read, cst.Attribute) and read.attr.value in OBJECT_READS:
            return  # read as objects: 1.4 code
        model = facts.model.rpartition(".")[2]
        self.todo(
            chain.top,
            f"session.execute(query.statement) gives rows each holding a {model} object (since "
            f"SQLAlchemy 1.4, as select({model}) does; 1.3 gave rows of its columns): use "
            f"session.scalars(...) for the objects, or select({model}.__table__) for rows of "
            "its columns",
        )

    def _check_sql_terminal(self, terminal: Link) -> None:
        if terminal.name == "subquery":
            for arg in terminal.args:
                if arg.keyword is not None and arg.keyword.value in (
                    "with_labels",
                    "reduce_columns",
                ):
                    raise Refusal(f"subquery({arg.keyword.value}=...) has no direct Select form")

    def _check_result_terminal(self, chain: Chain, facts: QueryFacts) -> None:
        self._need_session(facts)
        terminal = chain.terminal
        assert terminal is not None
        name = terminal.name
        builders = chain.builder_names()
        if name == "get":
            if chain.base_kind is BaseKind.VARIABLE or (
                chain.base_kind is BaseKind.FACTORY and self._factory_entity(chain) is None
            ):
                raise Refusal("get() on a stored query: use session.get(Model, pk)")
            if not facts.single_entity:
                raise Refusal("get() on a query that is not of one mapped class")
            extra = builders - {"options", "populate_existing", "with_for_update"}
            locks = [link for link in chain.builders if link.name == "with_for_update"]
            if len(locks) > 1 or any(a.keyword is None or a.star for k in locks for a in k.args):
                extra.add("with_for_update")  # several, or flags given by position
            if extra:
                raise Refusal(f"get() after {', '.join(sorted(extra))}() has no exact 2.0 form")
            if len(terminal.args) != 1:
                raise Refusal("get() with unexpected arguments")
        elif name in ("update", "delete"):
            if chain.base_kind in (BaseKind.VARIABLE, BaseKind.FACTORY):
                if facts.builders - (CRITERIA_BUILDERS | {"execution_options"}) or not (
                    facts.has_criteria and facts.single_entity and facts.entity_node is not None
                ):
                    raise Refusal(
                        f"{name}() on a stored query that is not a plain filtered query of one "
                        f"mapped class: build {name}(Model).where(...) by hand"
                    )
                self._bulk_arguments(terminal)
                return
            if not facts.single_entity or (
                chain.base_kind is BaseKind.SESSION
                and not _is_simple_reference(chain.entities[0].value)
            ):
                raise Refusal(f"bulk {name}() on a query that is not of one mapped class")
            extra = builders - {"filter", "filter_by", "where", "execution_options"}
            if extra:
                raise Refusal(f"bulk {name}() after {', '.join(sorted(extra))}()")
            self._bulk_arguments(terminal)
        elif name in ("all", "one", "one_or_none", "first", "scalar", "count"):
            if terminal.args:
                raise Refusal(f"{name}() with arguments")
        elif name == "value" and len(terminal.args) != 1:
            raise Refusal("value() takes one column")
        elif name == "values" and (
            not terminal.args or any(a.star or a.keyword is not None for a in terminal.args)
        ):
            raise Refusal("values() without columns to select")

    def _check_flask(self, chain: Chain, facts: QueryFacts) -> None:
        if facts.db is None:
            raise Refusal("paginate()/..._or_404() need the Flask-SQLAlchemy object of this query")
        if not facts.single_entity:
            raise Refusal("Flask-SQLAlchemy helpers read one mapped class; this query selects more")
        terminal = chain.terminal
        assert terminal is not None
        if terminal.name == "get_or_404":
            if chain.builder_names() - {"options"} or chain.base_kind is BaseKind.VARIABLE:
                raise Refusal("get_or_404() after other Query methods has no exact 2.0 form")
        if terminal.name == "one_or_404" and facts.unique_needed():
            raise Refusal("one_or_404() on a query that needs de-duplication")
        if terminal.name == "first_or_404" and facts.joined_eager:
            raise Refusal("first_or_404() with joined eager loading of a collection")
        if terminal.name == "paginate" and len(terminal.args) > 4:
            raise Refusal("paginate() with unexpected arguments")

    def _synchronized(self, value: cst.BaseExpression) -> cst.BaseExpression:
        """``synchronize_session=False`` under ``--target async``: ``"fetch"``. The legacy
        session's commit expired every object, so what the statement changed was read
        after it; the async session keeps its objects (``expire_on_commit=False``), so
        the statement updates those it changed itself."""
        if self.state.options.target != "async":
            return value
        if isinstance(value, cst.Name) and value.value == "False":
            return cst.SimpleString('"fetch"')
        return value

    def _bulk_arguments(self, terminal: Link) -> tuple[cst.Arg | None, cst.Arg | None]:
        """The values argument and the synchronize_session argument of update()/delete()."""
        values: cst.Arg | None = None
        sync: cst.Arg | None = None
        positional = [a for a in terminal.args if a.keyword is None]
        keywords = {a.keyword.value: a for a in terminal.args if a.keyword is not None}
        if set(keywords) - {"values", "synchronize_session"} or any(a.star for a in terminal.args):
            raise Refusal(f"{terminal.name}() with arguments that have no 2.0 form")
        if terminal.name == "update":
            if positional:
                values = positional.pop(0)
            values = keywords.get("values", values)
            if values is None:
                raise Refusal("update() without values")
        if positional:
            sync = positional.pop(0)
        sync = keywords.get("synchronize_session", sync)
        if positional:
            raise Refusal(f"{terminal.name}() with unexpected arguments")
        return values, sync

    # -- building -----------------------------------------------------------------------------------
    def name_for(self, name: str, module: str = "sqlalchemy") -> cst.Name:
        if name not in self._imports_added:
            self._imports_added.add(name)
            if not self._imported_already(name, module):
                AddImportsVisitor.add_needed_import(self.context, module, name)
        return cst.Name(name)

    def _imported_already(self, name: str, module: str) -> bool:
        """Does the module bind ``name`` only by imports of that same SQLAlchemy function
        (``from sqlalchemy.future import select``, the 1.4 spelling of 2.0's)?"""
        tree = self.context.module
        scope = self.get_metadata(ScopeProvider, tree, None) if tree is not None else None
        if scope is None or name not in scope:
            return False
        bound = [getattr(a, "node", None) for a in scope[name]]
        if not all(isinstance(node, cst.Import | cst.ImportFrom) for node in bound):
            return False
        same = {f"{module}.{name}", *SAME_FUNCTIONS.get(f"{module}.{name}", ())}
        qualified = scope.get_qualified_names_for(name)
        return bool(qualified) and {q.name for q in qualified} <= same

    def statement(self, chain: Chain, facts: QueryFacts) -> cst.BaseExpression:
        stmt: cst.BaseExpression
        entity_link = self._last_with_entities(chain)
        if chain.base_kind in (BaseKind.VARIABLE, BaseKind.FACTORY):
            stmt = chain.base
        elif chain.base_kind is BaseKind.MODEL:
            assert chain.written_model is not None
            stmt = cst.Call(func=self.name_for("select"), args=[cst.Arg(chain.written_model)])
        else:
            assert isinstance(chain.base, cst.Call)
            stmt = chain.base.with_changes(func=self.name_for("select"))
        if entity_link is not None and entity_link.call is not None:
            if chain.base_kind in (BaseKind.VARIABLE, BaseKind.FACTORY):
                stmt = method(stmt, "with_only_columns", entity_link.args)
            else:
                stmt = cst.Call(func=self.name_for("select"), args=entity_link.args)
        for position, link in enumerate(chain.builders):
            entity = facts.filter_by_entities.get(position)
            relationship = facts.parent_relationships.get(position)
            stmt = (
                self._filter_by_where(link, stmt, entity)
                if entity
                else self._builder(link, stmt, relationship)
            )
        return stmt

    def _filter_by_where(
        self, link: Link, stmt: cst.BaseExpression, entity: str
    ) -> cst.BaseExpression:
        """``filter_by(k=v)`` → ``where(Entity.k == v)`` for the entity the join added."""
        conditions = [
            cst.Arg(
                cst.Comparison(
                    left=cst.Attribute(
                        value=cst.parse_expression(entity), attr=cst.Name(a.keyword.value)
                    ),
                    comparisons=[cst.ComparisonTarget(cst.Equal(), a.value)],
                )
            )
            for a in link.args
            if a.keyword is not None
        ]
        call = link.call
        assert call is not None
        return rebuild(
            Link(link.name, call.with_changes(args=with_separators(conditions))), stmt, "where"
        )

    def _last_with_entities(self, chain: Chain) -> Link | None:
        found = None
        for link in chain.builders:
            if link.name == "with_entities":
                found = link
        return found

    def _builder(
        self,
        link: Link,
        stmt: cst.BaseExpression,
        parent_relationship: tuple[str, str] | None = None,
    ) -> cst.BaseExpression:
        name = link.name
        chained = self._join_chain(link) if name in JOINS else None
        if chained is not None:
            return self._chained_joins(link, stmt, chained)
        unpacked = self._join_tuple(link) if name in JOINS else None
        if unpacked is not None:
            call = link.call
            assert call is not None
            return rebuild(Link(name, call.with_changes(args=unpacked)), stmt)
        if name in SAME_NAME_BUILDERS:
            return rebuild(link, stmt)
        if name in RENAMED_BUILDERS:
            return rebuild(link, stmt, RENAMED_BUILDERS[name])
        if name in EXECUTION_OPTION_BUILDERS:
            value = link.args[0].value if link.args else cst.Name("True")
            call = link.call
            assert call is not None
            option = keyword(EXECUTION_OPTION_BUILDERS[name], value)
            return rebuild(Link(name, call.with_changes(args=[option])), stmt, "execution_options")
        if name == "with_parent":
            args = with_separators(self._with_parent_args(link, parent_relationship))
            condition = cst.Call(func=self.name_for("with_parent", "sqlalchemy.orm"), args=args)
            call = link.call
            assert call is not None
            return rebuild(Link(name, call.with_changes(args=[cst.Arg(condition)])), stmt, "where")
        if name == "with_entities":
            return stmt
        if name == "params":
            return rebuild(link, stmt)
        raise AssertionError(name)

    def _chained_joins(
        self, link: Link, stmt: cst.BaseExpression, targets: list[cst.Arg]
    ) -> cst.BaseExpression:
        """``join(User.orders, Order.items, isouter=True)`` → one join per target, each
        with the keywords (legacy applied them to every join of the chain)."""
        keywords = [a for a in link.args if a.keyword is not None]
        for target in targets:
            args = with_separators(
                [target.with_changes(comma=cst.MaybeSentinel.DEFAULT), *keywords]
            )
            stmt = method(stmt, link.name, args)
        return stmt

    def _with_parent_args(
        self, link: Link, parent_relationship: tuple[str, str] | None
    ) -> list[cst.Arg]:
        args = [a.with_changes(comma=cst.MaybeSentinel.DEFAULT) for a in link.args]
        if parent_relationship is None:
            return args
        owner, relationship = parent_relationship
        attribute = cst.Attribute(
            value=self.local_expression(owner, "mapped class"), attr=cst.Name(relationship)
        )
        return [args[0], cst.Arg(attribute)]

    def session_expression(self, facts: QueryFacts) -> cst.BaseExpression:
        if facts.session is not None:
            return facts.session.deep_clone()
        db = facts.db
        if isinstance(db, _DbMarker):
            return cst.Attribute(value=self.db_expression(db.qualname), attr=cst.Name("session"))
        raise Refusal("no session found for this query")

    def db_object(self, facts: QueryFacts) -> cst.BaseExpression:
        db = facts.db
        if isinstance(db, _DbMarker):
            return self.db_expression(db.qualname)
        assert db is not None
        return db.deep_clone()

    def result_object(self, facts: QueryFacts, stmt: cst.BaseExpression) -> cst.BaseExpression:
        """``session.scalars(stmt)`` / ``session.execute(stmt)``, de-duplicated as legacy did."""
        reader = "scalars" if facts.single_entity else "execute"
        result: cst.BaseExpression = method(self.session_expression(facts), reader, [cst.Arg(stmt)])
        if facts.unique_needed():
            result = method(result, "unique")
        return result

    def _result_terminal(self, chain: Chain, facts: QueryFacts) -> cst.BaseExpression:
        terminal = chain.terminal
        assert terminal is not None
        name = terminal.name
        if name == "get":
            return self._get(chain, facts, terminal)
        if name in ("update", "delete"):
            return self._bulk(chain, facts, terminal)
        if name in FLASK_TERMINALS:
            return self._flask_terminal(chain, facts, terminal)
        stmt = self.statement(chain, facts)
        session = self.session_expression(facts)
        if name == "count":
            counted = method(
                cst.Call(
                    func=self.name_for("select"),
                    args=[cst.Arg(method(self.name_for("func"), "count"))],
                ),
                "select_from",
                [cst.Arg(method(stmt, "subquery"))],
            )
            return method(session, "scalar", [cst.Arg(counted)])
        if name == "scalar":
            if facts.single_row:
                return method(session, "scalar", [cst.Arg(stmt)])
            result: cst.BaseExpression = method(session, "execute", [cst.Arg(stmt)])
            if facts.unique_needed():
                result = method(result, "unique")
            return method(result, "scalar_one_or_none")
        if name == "value":  # the first row, read without LIMIT, as legacy did
            return method(method(session, "scalars", [cst.Arg(stmt)]), "first")
        if name == "values":  # an iterator of rows (tuples, one column or more)
            return method(session, "execute", [cst.Arg(stmt)])
        if name == "first":
            stmt = _limited_to_one(stmt)
            reader = "scalars" if facts.single_entity else "execute"
            first: cst.BaseExpression = method(session, reader, [cst.Arg(stmt)])
            if facts.joined_eager and facts.has_entity:
                first = method(first, "unique")
            return method(first, "first")
        return method(self.result_object(facts, stmt), name)

    def _get(self, chain: Chain, facts: QueryFacts, terminal: Link) -> cst.BaseExpression:
        if chain.base_kind is BaseKind.FACTORY:
            model = self._factory_entity(chain)
        else:
            model = (
                chain.written_model
                if chain.base_kind is BaseKind.MODEL
                else chain.entities[0].value
            )
        assert model is not None
        args = [cst.Arg(model), terminal.args[0].with_changes(comma=cst.MaybeSentinel.DEFAULT)]
        args += self._get_keywords(chain)
        return method(self.session_expression(facts), "get", with_separators(args))

    def _get_keywords(self, chain: Chain) -> list[cst.Arg]:
        """``Session.get()``'s keywords for the query's ``options()`` and
        ``populate_existing()``."""
        found: list[cst.Arg] = []
        options = [a for link in chain.builders if link.name == "options" for a in link.args]
        if options:
            elements: list[cst.BaseElement] = [
                cst.StarredElement(a.value) if a.star == "*" else cst.Element(a.value)
                for a in options
            ]
            found.append(keyword("options", cst.List(elements)))
        if "populate_existing" in chain.builder_names():
            found.append(keyword("populate_existing", cst.Name("True")))
        for link in chain.builders:
            if link.name != "with_for_update":
                continue
            # ``with_for_update(read=True)`` → ``with_for_update={"read": True}``: the flags
            # of Query.with_for_update(); like it, a lock skips the identity map
            flags: cst.BaseExpression = cst.Name("True")
            if link.args:
                flags = cst.Dict(
                    [
                        cst.DictElement(
                            cst.SimpleString(f'"{a.keyword.value}"'),
                            a.value,
                            comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
                            if position < len(link.args) - 1
                            else cst.MaybeSentinel.DEFAULT,
                        )
                        for position, a in enumerate(link.args)
                        if a.keyword is not None
                    ]
                )
            found.append(keyword("with_for_update", flags))
        return found

    def _bulk(self, chain: Chain, facts: QueryFacts, terminal: Link) -> cst.BaseExpression:
        values, sync = self._bulk_arguments(terminal)
        stmt: cst.BaseExpression
        if chain.base_kind in (BaseKind.VARIABLE, BaseKind.FACTORY):
            assert facts.entity_node is not None
            model = facts.entity_node.deep_clone()
            criteria = cst.Attribute(value=chain.base, attr=cst.Name("whereclause"))
            stmt = cst.Call(func=self.name_for(terminal.name), args=[cst.Arg(model)])
            stmt = method(stmt, "where", [cst.Arg(criteria)])
        else:
            written = (
                chain.written_model
                if chain.base_kind is BaseKind.MODEL
                else chain.entities[0].value
            )
            assert written is not None
            stmt = cst.Call(func=self.name_for(terminal.name), args=[cst.Arg(written)])
        for position, link in enumerate(chain.builders):
            stmt = self._builder(link, stmt, facts.parent_relationships.get(position))
        if values is not None:
            stmt = method(
                stmt,
                "values",
                [
                    values.with_changes(
                        keyword=None,
                        equal=cst.MaybeSentinel.DEFAULT,
                        comma=cst.MaybeSentinel.DEFAULT,
                    )
                ],
            )
        if sync is not None:
            option = keyword("synchronize_session", self._synchronized(sync.value))
            stmt = method(stmt, "execution_options", [option])
        executed = method(self.session_expression(facts), "execute", [cst.Arg(stmt)])
        if isinstance(self.get_metadata(ParentNodeProvider, chain.top, None), cst.Expr):
            return executed  # ``q.delete()`` as a statement: the count is not used
        return cst.Attribute(value=executed, attr=cst.Name("rowcount"))

    def _flask_terminal(
        self, chain: Chain, facts: QueryFacts, terminal: Link
    ) -> cst.BaseExpression:
        db = self.db_object(facts)
        name = terminal.name
        if name == "get_or_404":
            model = (
                chain.written_model
                if chain.base_kind is BaseKind.MODEL
                else chain.entities[0].value
            )
            assert model is not None
            args = [cst.Arg(model), *_description_keyword(terminal.args, 1)]
            args += self._get_keywords(chain)  # Flask-SQLAlchemy 3.1 hands them to get()
            return method(db, "get_or_404", with_separators(args))
        stmt = self.statement(chain, facts)
        if name == "first_or_404":
            stmt = _limited_to_one(stmt)
        if name in ("first_or_404", "one_or_404"):
            args = [cst.Arg(stmt), *_description_keyword(terminal.args, 0)]
            return method(db, name, with_separators(args))
        return method(
            db, "paginate", with_separators([cst.Arg(stmt), *_paginate_keywords(terminal.args)])
        )

    def _sql_terminal(self, chain: Chain, facts: QueryFacts) -> cst.BaseExpression:
        terminal = chain.terminal
        assert terminal is not None
        stmt = self.statement(chain, facts)
        if terminal.name == "statement":
            return stmt
        if terminal.name == "as_scalar":
            return rebuild(terminal, stmt, "scalar_subquery")
        if terminal.name == "exists" and self._selects_expressions(chain):
            # legacy Query.exists() selects 1: an aggregate column would make EXISTS true
            one = cst.Call(
                func=self.name_for("literal_column"), args=[cst.Arg(cst.SimpleString('"1"'))]
            )
            args = [cst.Arg(one), keyword("maintain_column_froms", cst.Name("True"))]
            stmt = method(stmt, "with_only_columns", with_separators(args))
        return rebuild(terminal, stmt)

    def _selects_expressions(self, chain: Chain) -> bool:
        """Does the statement select computed expressions (functions, aggregates)?"""
        selected = [a.value for a in chain.entities]
        for link in chain.builders:
            if link.name == "with_entities":
                selected = [a.value for a in link.args]
            elif link.name in ("add_columns", "add_entity"):
                selected.extend(a.value for a in link.args)
        names = {link.name for link in chain.builders}
        return (
            bool(names & {"group_by", "having"})
            or any(not isinstance(value, cst.Name | cst.Attribute) for value in selected)
            or chain.base_kind is BaseKind.VARIABLE
        )

    def _reattach(self, chain: Chain, value: cst.BaseExpression) -> cst.BaseExpression:
        value = _keep_terminal_layout(chain, value)
        for link in chain.after:
            value = rebuild(link, value)
        return value


@dataclass
class _DbMarker:
    """A Flask-SQLAlchemy object known by qualified name, resolved to a local name lazily."""

    qualname: str

    def deep_clone(self) -> _DbMarker:
        return self


def _builds_subquery(call: cst.Call) -> bool:
    """``select(...)...``, ``exists()...``: a nested statement adds no FROM entry."""
    node: cst.BaseExpression = call
    while isinstance(node, cst.Call):
        func = node.func
        if isinstance(func, cst.Name):
            return func.value in ("select", "exists")
        if not isinstance(func, cst.Attribute):
            return False
        node = func.value
    return False


def _negative(node: cst.BaseExpression | None) -> bool:
    return isinstance(node, cst.UnaryOperation) and isinstance(node.operator, cst.Minus)


def _calls_something(node: cst.BaseExpression) -> bool:
    found = False

    class Finder(cst.CSTVisitor):
        def visit_Call(self, node: cst.Call) -> None:
            nonlocal found
            found = True

    node.visit(Finder())
    return found


def _is_zero(node: cst.BaseExpression | None) -> bool:
    return isinstance(node, cst.Integer) and node.evaluated_value == 0


def _plus_one(index: cst.BaseExpression) -> cst.BaseExpression:
    if isinstance(index, cst.Integer):
        return cst.Integer(str(index.evaluated_value + 1))
    return cst.BinaryOperation(
        left=index.deep_clone(),
        operator=cst.Add(
            whitespace_before=cst.SimpleWhitespace(" "), whitespace_after=cst.SimpleWhitespace(" ")
        ),
        right=cst.Integer("1"),
    )


def _keep_terminal_layout(chain: Chain, value: cst.BaseExpression) -> cst.BaseExpression:
    """The terminal call is replaced; the line break and comments before its dot
    (``...)  # noqa\n    .all()``) move to the dot of the outermost new call."""
    terminal = chain.terminal
    if terminal is None:
        return value
    old = terminal.node.func if isinstance(terminal.node, cst.Call) else terminal.node
    if not isinstance(old, cst.Attribute) or not _has_layout(old.dot):
        return value
    target = value.func if isinstance(value, cst.Call) else value
    if not isinstance(target, cst.Attribute) or not isinstance(target.value, cst.Call):
        return value  # session.scalar(stmt): the break would land before the statement
    moved = target.with_changes(dot=old.dot)
    return value.with_changes(func=moved) if isinstance(value, cst.Call) else moved


def _has_layout(dot: cst.Dot) -> bool:
    return not (
        isinstance(dot.whitespace_before, cst.SimpleWhitespace)
        and dot.whitespace_before.value == ""
    )


def _keep_parentheses(old: cst.BaseExpression, new: cst.BaseExpression) -> cst.BaseExpression:
    if old.lpar and not new.lpar:
        return new.with_changes(lpar=old.lpar, rpar=old.rpar)
    return new


def _is_simple_reference(node: cst.BaseExpression) -> bool:
    return isinstance(node, cst.Name | cst.Attribute)


PAGINATE_POSITIONS = ("page", "per_page", "error_out", "max_per_page")


def _type_of(instance: cst.BaseExpression) -> cst.Call:
    return cst.Call(func=cst.Name("type"), args=[cst.Arg(instance)])


def _description_keyword(args: Sequence[cst.Arg], position: int) -> list[cst.Arg]:
    """Flask-SQLAlchemy 2's ``get_or_404(ident, description)`` / ``first_or_404(description)``
    took the message positionally; 3.x's ``db.get_or_404()`` & co. take it by keyword only."""
    return [
        keyword("description", arg.value)
        if index == position and arg.keyword is None and not arg.star
        else arg.with_changes(comma=cst.MaybeSentinel.DEFAULT)
        for index, arg in enumerate(args)
    ]


def _paginate_keywords(args: list[cst.Arg]) -> list[cst.Arg]:
    result = []
    for position, arg in enumerate(args):
        if arg.keyword is None and not arg.star and position < len(PAGINATE_POSITIONS):
            result.append(keyword(PAGINATE_POSITIONS[position], arg.value))
        else:
            result.append(arg.with_changes(comma=cst.MaybeSentinel.DEFAULT))
    return result


#: what a query gives, not a Query: rows, one object, a count, a Pagination
VALUE_TERMINALS = RESULT_TERMINALS | FLASK_TERMINALS
MIXED_VARIABLE_REASON = (
    "this variable holds a Query on some paths and other values (rows, None...) on "
    "others, so its uses cannot be rewritten with it; give the query and the other "
    "values variables of their own"
)


class VariableAnalysis:
    """Decide which local variables hold queries the pass can follow everywhere.

    A variable is accepted when every assignment binds a rewritable open chain and every
    use is understood (a terminal chain, iteration, a SQL argument, or the base of another
    accepted variable). Acceptance is a fixed point: rejecting one variable can reject
    those built from it.
    """

    def __init__(self, query_pass: QueryToSelectPass) -> None:
        self.p = query_pass

    def run(self, module: cst.Module) -> None:
        candidates = self._candidates(module)
        accepted = dict(candidates)
        self.p.variables = {key: VariableInfo(QueryFacts(session=None), []) for key in accepted}
        changed = True
        while changed:
            changed = False
            self.p.variables = {}
            # facts of session/model-based assignments first, then derived ones
            for _ in range(len(accepted) + 1):
                progress = False
                for key, assigns in accepted.items():
                    if key in self.p.variables:
                        continue
                    info = self._info(key, assigns)
                    if info is not None:
                        self.p.variables[key] = info
                        progress = True
                if not progress:
                    break
            for key in list(accepted):
                reason = None
                if key not in self.p.variables:
                    reason = (
                        self.p.rejected.get(key)
                        or "the query stored here is built in a way the tool cannot follow"
                    )
                else:
                    reason = self._uses_problem(key, accepted[key])
                if reason is not None:
                    self.p.rejected[key] = reason
                    del accepted[key]
                    self.p.variables.pop(key, None)
                    changed = True

    def _candidates(self, module: cst.Module) -> dict[tuple[int, str], list[cst.Assign]]:
        found: dict[tuple[int, str], list[cst.Assign]] = {}
        analysis = self

        class Collector(cst.CSTVisitor):
            def visit_Assign(self, node: cst.Assign) -> None:
                if len(node.targets) != 1 or not isinstance(node.targets[0].target, cst.Name):
                    return
                if analysis._could_be_query(node.value):
                    key = analysis.p.variable_key(node.targets[0].target)
                    if key is not None:
                        found.setdefault(key, []).append(node)

        module.visit(Collector())
        candidates = {}
        for key, assigns in found.items():
            if self._all_assignments_are(key, assigns):
                candidates[key] = assigns
            else:
                # a Query on some paths, rows or another value on others (what a first run
                # leaves after rewriting those rows): the same TODO on each run
                self.p.rejected.setdefault(key, MIXED_VARIABLE_REASON)
        return candidates

    def _could_be_query(self, value: cst.BaseExpression) -> bool:
        """Could ``value`` be a Query (not what a query gave: ``Model.query.all()``)? An
        awaited call is judged as the call (``Model.get_all_by(...)`` a first run awaits),
        so that a second run judges the variable as the first did."""
        while isinstance(value, cst.Await):
            value = value.expression
        innermost, links = links_from_top(value)
        if any(link.call is not None and link.name in VALUE_TERMINALS for link in links):
            return False
        names = [link.name for link in links]
        return "query" in names or (isinstance(innermost, cst.Name) and bool(links))

    def _all_assignments_are(self, key: tuple[int, str], assigns: list[cst.Assign]) -> bool:
        target = assigns[0].targets[0].target
        scope: Scope | None = self.p.get_metadata(ScopeProvider, target, None)
        if scope is None:
            return False
        bound = [a for a in scope[key[1]] if isinstance(a, Assignment)]
        assign_targets = {id(a.targets[0].target) for a in assigns}
        return len(bound) == len(assigns) and all(id(a.node) in assign_targets for a in bound)

    def _info(self, key: tuple[int, str], assigns: list[cst.Assign]) -> VariableInfo | None:
        """Facts of the variable: its own derived assignments (``q = q.filter()``) are read
        after the others, with the facts so far standing for the variable itself."""
        own = [a for a in assigns if self._based_on(a, key)]
        roots = [a for a in assigns if not self._based_on(a, key)]
        if not roots:
            return None
        facts_list = self._facts_of(key, roots)
        merged = self._merge(facts_list) if facts_list else None
        if merged is not None and own:
            self.p.variables[key] = VariableInfo(merged, roots)
            derived = self._facts_of(key, own)
            del self.p.variables[key]
            merged = self._merge([merged, *derived]) if derived else None
        if merged is None:
            self.p.rejected.setdefault(
                key,
                "the assignments of this query variable differ in what they select or in "
                "their session, or the session is not a plain name",
            )
            return None
        return VariableInfo(merged, assigns)

    def _based_on(self, assign: cst.Assign, key: tuple[int, str]) -> bool:
        innermost, _ = links_from_top(assign.value)
        return isinstance(innermost, cst.Name) and self.p.variable_key(innermost) == key

    def _facts_of(self, key: tuple[int, str], assigns: list[cst.Assign]) -> list[QueryFacts]:
        facts_list: list[QueryFacts] = []
        for assign in assigns:
            chain = self.p.find_chain(assign.value)
            if chain is None or not chain.is_open:
                if chain is None or chain.unknown is not None or chain.after:
                    value = assign.value
                    while isinstance(value, cst.Await):  # as it was written before
                        value = value.expression
                    code = " ".join(cst.Module([]).code_for_node(value).split())
                    if len(code) > 60:
                        code = code[:57] + "..."
                    self.p.rejected.setdefault(
                        key,
                        f"this query variable is also assigned what is not a query the tool "
                        f"can follow ({code})",
                    )
                return []
            try:
                facts_list.append(self.p.chain_facts(chain))
            except Refusal as refusal:
                self.p.rejected[key] = str(refusal)
                return []
        return facts_list

    def _merge(self, facts_list: list[QueryFacts]) -> QueryFacts | None:
        first = facts_list[0]
        session_code = _code(first.session)
        for facts in facts_list[1:]:
            if facts.entity_kinds != first.entity_kinds or _code(facts.session) != session_code:
                return None
            if facts.model != first.model:
                return None
            if type(facts.db) is not type(first.db):
                return None
        if first.session is not None and not self._stable(first.session):
            return None
        merged = replace(first)
        merged.duplicates_possible = any(f.duplicates_possible for f in facts_list)
        merged.joined_eager = any(f.joined_eager for f in facts_list)
        merged.joined_by_default = any(f.joined_by_default for f in facts_list)
        merged.yield_per = any(f.yield_per for f in facts_list)
        merged.single_row = all(f.single_row for f in facts_list)
        merged.builders = set().union(*(f.builders for f in facts_list))
        merged.has_criteria = all(f.has_criteria for f in facts_list)
        return merged

    def _stable(self, session: cst.BaseExpression) -> bool:
        """Can the session expression be evaluated again where the query is consumed?"""
        node = session
        while isinstance(node, cst.Attribute):
            node = node.value
        return isinstance(node, cst.Name)

    def _uses_problem(self, key: tuple[int, str], assigns: list[cst.Assign]) -> str | None:
        target = assigns[0].targets[0].target
        scope: Scope | None = self.p.get_metadata(ScopeProvider, target, None)
        if scope is None:
            return "unknown scope"
        accesses: Collection[Access] = scope.accesses[key[1]]
        problems: set[str] = set()
        for access in accesses:
            node = access.node
            if not isinstance(node, cst.Name):
                problems.add("the query variable is used in a way the tool cannot follow")
                continue
            problem = self._access_problem(node)
            if problem is not None:
                problems.add(problem)
        # the accesses are a set, in no set order: the TODO must not depend on it
        return min(problems) if problems else None

    def _access_problem(self, node: cst.Name) -> str | None:
        top: cst.CSTNode = node
        while self.p.inside_chain(top):
            parent = self.p.get_metadata(ParentNodeProvider, top, None)
            assert parent is not None
            top = parent
        if top is node:
            if self.p.iteration_context(node) or self.p.sql_context(node):
                return None
            parent = self.p.get_metadata(ParentNodeProvider, node, None)
            if isinstance(parent, cst.Assign | cst.AnnAssign):
                return "the query variable is copied to another name"
            if self.p.returned_by_factory(node):
                return None
            operand = self.p.compound_operand_reason(node)
            if operand is not None:
                return operand
            if _truth_tested(node, parent):
                return TRUTH_TODO
            return "the query object is returned or passed on; its consumers cannot be followed"
        assert isinstance(top, cst.BaseExpression)
        chain = self.p.find_chain(top)
        if chain is None:
            return "the query variable is used in a way the tool cannot follow"
        try:
            facts = self.p.chain_facts(chain)
            if chain.is_open:
                if self.p.assigned_variable(top) is None and not (
                    self.p.iteration_context(top)
                    or self.p.sql_context(top)
                    or self.p.returned_by_factory(top)
                ):
                    key = self.p._assigned_key(top)
                    if key is not None and key in self.p.rejected:
                        return self.p.rejected[key]
                    return "a query built from this variable is returned or passed on"
            else:
                self.p.plan(chain, facts)
        except Refusal as refusal:
            return str(refusal)
        return None


def _code(node: cst.CSTNode | None) -> str:
    return "" if node is None else cst.Module([]).code_for_node(node)


@dataclass
class FactoryInfo:
    """A function of this module that returns a query built on one of its parameters,
    or a method returning one built on an attribute of its instance (``self.session``)."""

    qualname: str
    node: cst.FunctionDef
    session_param: str  # for a method, the name of its first parameter
    session_position: int
    facts: QueryFacts | None = None
    #: for a method: the attribute of the instance holding the session
    session_attr: str | None = None
    #: for a method: its class, and that class's subclasses defined in this module
    classes: frozenset[str] = frozenset()


def _instance_query_attribute(node: cst.FunctionDef, receiver: str) -> str | None:
    """``session`` when every ``return`` of the method gives ``self.session.query(...)``
    (refined or not), directly or through a local first assigned one."""
    returns: list[cst.Return] = []
    assigned: dict[str, cst.BaseExpression] = {}

    class Finder(cst.CSTVisitor):
        def visit_Return(self, ret: cst.Return) -> None:
            returns.append(ret)

        def visit_Assign(self, assign: cst.Assign) -> None:
            if len(assign.targets) == 1 and isinstance(assign.targets[0].target, cst.Name):
                assigned.setdefault(assign.targets[0].target.value, assign.value)

        def visit_FunctionDef(self, inner: cst.FunctionDef) -> bool:
            return inner is node

        def visit_Lambda(self, inner: cst.Lambda) -> bool:
            return False

    node.visit(Finder())
    found: set[str] = set()
    for ret in returns:
        value = ret.value
        if isinstance(value, cst.Name):
            value = assigned.get(value.value)
        if value is None:
            return None
        innermost, links = links_from_top(value)
        if not (
            isinstance(innermost, cst.Name)
            and innermost.value == receiver
            and len(links) >= 2
            and links[0].call is None
            and links[1].name == "query"
            and links[1].call is not None
        ):
            return None
        found.add(links[0].name)
    return found.pop() if len(found) == 1 else None


def _argument(call: cst.Call, name: str, position: int) -> cst.BaseExpression | None:
    for index, arg in enumerate(call.args):
        if arg.star:
            return None
        if (arg.keyword is not None and arg.keyword.value == name) or (
            arg.keyword is None and index == position
        ):
            return arg.value
    return None


def _stable(node: cst.BaseExpression) -> bool:
    while isinstance(node, cst.Attribute):
        node = node.value
    return isinstance(node, cst.Name)


class FactoryAnalysis:
    """Query factories: module-level functions returning a Query on a session parameter,
    called only from this module, and only where the result is consumed (a terminal,
    iteration, or a SQL argument). Their returns become ``select()`` and each call site
    is read with the session it passes."""

    def __init__(self, query_pass: QueryToSelectPass) -> None:
        self.p = query_pass
        self.index = query_pass.state.index
        self.module = query_pass.state.module_name

    def candidates(self, module: cst.Module) -> dict[str, FactoryInfo]:
        found: dict[str, FactoryInfo] = {}
        for statement in module.body:
            if isinstance(statement, cst.ClassDef):
                found.update(self._method_candidates(module, statement))
            if not isinstance(statement, cst.FunctionDef):
                continue
            qualname = f"{self.module}.{statement.name.value}"
            facts = self.index.functions.get(qualname)
            if facts is None or facts.query_session_param is None or self._used_elsewhere(qualname):
                continue
            found[qualname] = FactoryInfo(
                qualname,
                statement,
                facts.query_session_param,
                facts.params.index(facts.query_session_param),
            )
        return found

    def _method_candidates(self, module: cst.Module, node: cst.ClassDef) -> dict[str, FactoryInfo]:
        """Plain methods whose every ``return`` gives a query on an attribute of their
        instance (``return self.session.query(User)``), when nothing but the methods of
        their class, and of its subclasses in this module, can call them."""
        klass = f"{self.module}.{node.name.value}"
        index = self.index
        if index.class_facts(klass) is None or not self._closed_bases(klass):
            return {}
        subclasses = index._subclasses_of(klass)
        if any(not sub.qualname.startswith(self.module + ".") for sub in subclasses):
            return {}  # their methods, elsewhere, may call it
        classes = frozenset({klass, *(sub.qualname for sub in subclasses)})
        defined = [s for s in node.body.body if isinstance(s, cst.FunctionDef)]
        names = [s.name.value for s in defined]
        found: dict[str, FactoryInfo] = {}
        for method_node in defined:
            name = method_node.name.value
            if method_node.decorators or not method_node.params.params or names.count(name) > 1:
                continue
            if any(name in sub.members for sub in subclasses) or self._read_elsewhere(name):
                continue
            receiver = method_node.params.params[0].name.value
            attr = _instance_query_attribute(method_node, receiver)
            if attr is not None:
                found[f"{klass}.{name}"] = FactoryInfo(
                    f"{klass}.{name}", method_node, receiver, -1, None, attr, classes
                )
        return found

    def _closed_bases(self, klass: str) -> bool:
        """Are the class's bases project classes (or ``object``) all the way up? A base
        from elsewhere may call the methods it overrides."""
        pending, seen = [klass], set()
        while pending:
            current = self.index.resolve_alias(pending.pop())
            if current in seen or current in ("builtins.object", "object"):
                continue
            seen.add(current)
            facts = self.index.class_facts(current)
            if facts is None or len(seen) > 50:
                return False
            pending += facts.bases
        return True

    def _read_elsewhere(self, name: str) -> bool:
        """Is ``name`` read on anything but ``self``/``cls`` in another module (a method
        of that name called on an instance, ``super().name``)?"""
        return any(
            name in facts.foreign_attributes
            for module, facts in self.index.modules.items()
            if module != self.module
        )

    def _used_elsewhere(self, qualname: str) -> bool:
        """Is the function imported by another module, or called from outside its own?"""
        importers, callers = _importers_and_callers(self.index)
        if any(name != self.module for name in importers.get(qualname, ())):
            return True
        return any(not q.startswith(self.module + ".") for q in callers.get(qualname, ()))

    def validate(self, module: cst.Module) -> dict[str, FactoryInfo]:
        """The candidates whose returns and call sites all check out (a new dict)."""
        with_facts: dict[str, FactoryInfo] = {}
        for qualname, info in self.p.factories.items():
            info.facts = self._return_facts(info)
            if info.facts is not None:
                with_facts[qualname] = info
        self.p.factories = with_facts
        return {q: i for q, i in with_facts.items() if self._uses_ok(module, q)}

    def _return_facts(self, info: FactoryInfo) -> QueryFacts | None:
        facts_list: list[QueryFacts] = []
        returns: list[cst.Return] = []

        class Finder(cst.CSTVisitor):
            def visit_Return(self, node: cst.Return) -> None:
                returns.append(node)

            def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
                return node is info.node

            def visit_Lambda(self, node: cst.Lambda) -> bool:
                return False

        info.node.visit(Finder())
        for ret in returns:
            value = ret.value
            if value is None:
                return None
            if isinstance(value, cst.Name):
                variable = self.p.variable_of_access(value)
                if variable is None:
                    return None
                facts_list.append(variable.facts)
                continue
            chain = self.p.find_chain(value)
            if chain is None or not chain.is_open or chain.base_kind is not BaseKind.SESSION:
                return None
            try:
                facts_list.append(self.p.chain_facts(chain))
            except Refusal:
                return None
        if not facts_list:
            return None
        for facts in facts_list:
            if info.session_attr is not None:
                session = facts.session
                if not (
                    isinstance(session, cst.Attribute)
                    and session.attr.value == info.session_attr
                    and isinstance(session.value, cst.Name)
                    and session.value.value == info.session_param
                ):
                    return None
            elif not (
                isinstance(facts.session, cst.Name) and facts.session.value == info.session_param
            ):
                return None
            if (
                facts.entity_kinds != facts_list[0].entity_kinds
                or facts.model != facts_list[0].model
            ):
                return None
        merged = replace(facts_list[0], builders=set().union(*(f.builders for f in facts_list)))
        merged.duplicates_possible = any(f.duplicates_possible for f in facts_list)
        merged.joined_eager = any(f.joined_eager for f in facts_list)
        merged.joined_by_default = any(f.joined_by_default for f in facts_list)
        merged.yield_per = any(f.yield_per for f in facts_list)
        merged.single_row = all(f.single_row for f in facts_list)
        merged.has_criteria = all(f.has_criteria for f in facts_list)
        merged.filter_by_entities = {}
        return merged

    def _uses_ok(self, module: cst.Module, qualname: str) -> bool:
        """Every reference to the factory is a call whose query is consumed right there."""
        short = qualname.rsplit(".", 1)[-1]
        if self.p.factories[qualname].session_attr is not None:
            return self._method_uses_ok(module, qualname)
        problems: list[str] = []
        calls: list[cst.Call] = []
        p = self.p

        class Finder(cst.CSTVisitor):
            def visit_Name(self, node: cst.Name) -> None:
                if node.value != short or qualname not in qualified_names(p, node):
                    return
                parent = p.get_metadata(ParentNodeProvider, node, None)
                if isinstance(parent, cst.FunctionDef) and parent.name is node:
                    return
                if not (isinstance(parent, cst.Call) and parent.func is node):
                    problems.append("referenced without a call")
                    return
                calls.append(parent)
                problem = FactoryAnalysis.consumer_problem(p, parent)
                if problem:
                    problems.append(problem)

        module.visit(Finder())
        # with no caller in the project, its callers are elsewhere: keep returning a Query
        return bool(calls) and not problems

    def _method_uses_ok(self, module: cst.Module, qualname: str) -> bool:
        """Every mention of the method's name in this module is a call of it on ``self``
        in a method of its class (or of a subclass) whose query is consumed right there."""
        info = self.p.factories[qualname]
        short = qualname.rsplit(".", 1)[-1]
        problems: list[str] = []
        calls: list[cst.Call] = []
        p = self.p
        factory = self

        class Finder(cst.CSTVisitor):
            def visit_Name(self, node: cst.Name) -> None:
                if node.value != short:
                    return
                parent = p.get_metadata(ParentNodeProvider, node, None)
                if isinstance(parent, cst.FunctionDef) and parent.name is node:
                    return
                if not (isinstance(parent, cst.Attribute) and parent.attr is node):
                    problems.append("referenced by name")
                    return
                if factory.own_method(parent, info):
                    return  # ``self.get_query()`` of another class defining its own
                call = p.get_metadata(ParentNodeProvider, parent, None)
                if not (isinstance(call, cst.Call) and call.func is parent):
                    problems.append("referenced without a call")
                    return
                if p._method_factory_of(parent) is not info:
                    problems.append("called on something else than the instance")
                    return
                calls.append(call)
                problem = FactoryAnalysis.consumer_problem(p, call)
                if problem:
                    problems.append(problem)

        module.visit(Finder())
        return bool(calls) and not problems

    def own_method(self, func: cst.Attribute, info: FactoryInfo) -> bool:
        """``self.name`` in a method of a class other than the factory's (and its
        subclasses), which defines a method of that name itself."""
        p = self.p
        if not isinstance(func.value, cst.Name) or p._method_receiver(func.value) != "instance":
            return False
        klass = p._enclosing_class(func.value)
        if klass is None or klass in info.classes:
            return False
        facts = self.index.class_facts(klass)
        return facts is not None and func.attr.value in facts.members

    @staticmethod
    def consumer_problem(p: QueryToSelectPass, call: cst.Call) -> str | None:
        top: cst.CSTNode = call
        while p.inside_chain(top):
            parent = p.get_metadata(ParentNodeProvider, top, None)
            assert parent is not None
            top = parent
        assert isinstance(top, cst.BaseExpression)
        chain = p.find_chain(top)
        if chain is None or chain.base_kind is not BaseKind.FACTORY or chain.base is not call:
            return "the query is used in a way the tool cannot follow"
        try:
            facts = p.chain_facts(chain)
            if chain.is_open:
                stored = p.assigned_variable(top) is not None  # followed to its uses
                if not (stored or p.iteration_context(top) or p.sql_context(top)):
                    return "the query is stored or passed on"
            else:
                p.plan(chain, facts)
        except Refusal as refusal:
            return str(refusal)
        return None


@per_object
def _importers_and_callers(index: ProjectIndex) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """Qualified name → the modules importing it, and → the functions calling it."""
    importers: dict[str, set[str]] = {}
    for name, module in index.modules.items():
        for imported in module.imports.values():
            importers.setdefault(index.resolve_alias(imported), set()).add(name)
    callers: dict[str, set[str]] = {}
    for qualname, facts in index.functions.items():
        for callee in facts.calls:
            callers.setdefault(callee, set()).add(qualname)
    return importers, callers


def _limited_to_one(stmt: cst.BaseExpression) -> cst.BaseExpression:
    """``stmt.limit(1)``, what ``Query.first()`` ran; ``stmt`` itself when it ends with
    ``.limit(1)`` already (a second one would only repeat it)."""
    if (
        isinstance(stmt, cst.Call)
        and isinstance(stmt.func, cst.Attribute)
        and stmt.func.attr.value == "limit"
        and len(stmt.args) == 1
        and stmt.args[0].keyword is None
        and isinstance(stmt.args[0].value, cst.Integer)
        and stmt.args[0].value.evaluated_value == 1
    ):
        return stmt
    return method(stmt, "limit", [cst.Arg(cst.Integer("1"))])


def _reads_as_loader_option(arg: cst.Arg) -> bool:
    """Is ``arg`` of ``options()`` written as loader options (``selectinload(A.b)``,
    ``orm.defer(A.c)``, ``Load(A).load_only(...)``, chained ``.selectinload(...)``), so
    that ``JOINED_EAGER`` names tell whether it joins? Not ``*opts`` or ``make_opts()``."""
    if arg.star:
        return False
    value = arg.value
    while isinstance(value, cst.Call):
        func = value.func
        if isinstance(func, cst.Name):
            return func.value in LOADER_OPTIONS
        if not isinstance(func, cst.Attribute) or func.attr.value not in LOADER_OPTIONS:
            return False
        if not isinstance(func.value, cst.Call):
            return True  # ``orm.selectinload(...)``, ``sqlalchemy.orm.defer(...)``
        value = func.value
    return False
