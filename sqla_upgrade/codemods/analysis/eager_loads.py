"""Which relationships each query's objects have read, across functions and modules.

Read-only analysis between the two stages of ``--target async``, over every file's
stage-one code (``select()`` style) with ``ast`` and the project index. Within each
function the ORM objects are followed from the call that produced them (a *producer*):

* ``session.scalars/execute/scalar(select(M)...)``, ``first_or_404``/``one_or_404``/
  ``paginate(select(M)...)`` (the statement inline or in a local variable): the loader
  options go on the statement;
* ``session.get(M, pk)``: the options go into its ``options=`` list;
* ``M(...)`` constructed and added to a session: once the session has flushed, reads of
  relationships never assigned become ``session.refresh(obj, ["rel"])`` before the read;
* ``session.merge(obj)``, ``get_or_404(M, pk)``: the objects cannot be given options; in
  code that becomes async their relationship reads go through ``awaitable_attrs``.

Objects are followed through local variables, loops, comprehensions, indexing, results
(``.all()``, ``.first()``, ``.items``), returns of project functions (in any module) and
their parameters (when every call of the function is known). Each relationship read
``obj.rel`` is resolved to the path from the producer (``post.author.name`` reads
``("author",)``; ``for c in post.comments: c.author`` reads ``("comments", "author")``).

A recursive walk of a self-referential relationship is a path step followed one or more
times (``"children*"``): a loop moving a variable along the relationship, a function
calling itself on what its parameter reaches along it, or functions calling each other so
(the parameters being resolved are kept on a stack: coming back to one further along one
relationship is the walk), and a function's return after such a walk. Its option is
``selectinload(Node.children, recursion_depth=-1)``; a recursion along a relationship to
another class that has none of that name is one step.

A read whose objects come from anything else (a parameter of a view, ``self``, a
template, a function called from outside the project) is *uncovered*: its relationship
name keeps the relationship-level ``lazy="selectin"`` (``eager-relationships``), which
loads it whichever query produced the owner.
"""

from __future__ import annotations

import ast
import pathlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace

from sqla_upgrade.codemods.analysis.hierarchy import Hierarchy
from sqla_upgrade.codemods.analysis.lazy_reads import functions_of
from sqla_upgrade.codemods.discovery import resolve_relative
from sqla_upgrade.codemods.index.model import QUERY_LOADERS, ModelFacts, ProjectIndex
from sqla_upgrade.codemods.templates import template_context_reads

Span = tuple[int, int, int, int]  # line, column, end line, end column (characters)
#: relationship names from a producer's objects; a step ``"children*"`` is a recursive
#: walk: the self-referential relationship followed one or more times
Path = tuple[str, ...]

SELECT_FUNCS = frozenset(
    {
        "sqlalchemy.select",
        "sqlalchemy.future.select",
        "sqlalchemy.sql.select",
        "sqlalchemy.sql.expression.select",
        "sqlalchemy.orm.select",
    }
)
# generative Select methods that keep the selected entity
SELECT_METHODS = frozenset(
    {
        "where",
        "filter",
        "filter_by",
        "order_by",
        "limit",
        "offset",
        "join",
        "outerjoin",
        "join_from",
        "outerjoin_from",
        "options",
        "distinct",
        "group_by",
        "having",
        "execution_options",
        "select_from",
        "correlate",
        "with_for_update",
        "params",
        "slice",
        "fetch",
        "prefix_with",
        "suffix_with",
    }
)
# session methods that run a statement: the shape of what they give
STATEMENT_RUNNERS = {
    "scalars": "objects",
    "scalar": "objects",
    "execute": "rows",
    "first_or_404": "objects",
    "one_or_404": "objects",
    "paginate": "page",
}
#: Flask-SQLAlchemy's query helpers (``db.get_or_404``...), and the functions of these
#: names flask-async-session writes beside ``db``
FLASK_HELPERS = frozenset({"get_or_404", "first_or_404", "one_or_404", "paginate"})
# methods of results that give the same objects (or rows)
RESULT_METHODS = frozenset(
    {
        "all",
        "first",
        "one",
        "one_or_none",
        "unique",
        "fetchall",
        "fetchone",
        "fetchmany",
        "scalar_one",
        "scalar_one_or_none",
        "partitions",
        "tuples",
    }
)
ROWS_TO_OBJECTS = frozenset({"scalars", "scalar", "scalar_one", "scalar_one_or_none"})
PASS_THROUGH_BUILTINS = frozenset(
    {"list", "sorted", "reversed", "tuple", "set", "frozenset", "iter", "next", "enumerate"}
)
SCALAR_BUILTINS = frozenset({"len", "bool", "str", "int", "float", "repr", "isinstance", "print"})
EAGER_OPTIONS = frozenset(
    {"joinedload", "selectinload", "subqueryload", "immediateload", "contains_eager"}
)
LOADER_OPTIONS = EAGER_OPTIONS | {
    "defaultload",
    "lazyload",
    "noload",
    "raiseload",
    "load_only",
    "defer",
    "undefer",
    "selectin_polymorphic",
}
#: strategies that already load a relationship with its parent (or never load it)
EAGER_STRATEGIES = frozenset(
    {"selectin", "joined", "subquery", "immediate", "raise", "raise_on_sql", "noload", "False"}
)
#: strategies under which a relationship never loads: no option is added for a walk
NEVER_LOADED = frozenset({"raise", "raise_on_sql", "noload"})
#: loader options taking ``recursion_depth``
RECURSIVE_LOADERS = frozenset({"selectinload", "immediateload"})
SESSION_IO = frozenset(
    {"flush", "commit", "execute", "scalars", "scalar", "get", "merge", "refresh", "delete"}
)
AWAITABLE_ATTRS = "awaitable_attrs"
RENDER_TEMPLATE = frozenset({"flask.render_template", "flask.templating.render_template"})
#: other ways to render a template: their reads cannot be tied to the code's objects
OTHER_RENDERS = frozenset(
    {
        "render_template_string",
        "stream_template",
        "stream_template_string",
        "get_template",
        "select_template",
        "get_or_select_template",
        "from_string",
        "TemplateResponse",
        "render_to_string",
    }
)
MAX_PATH = 6
MAX_ROUNDS = 5


@dataclass(frozen=True)
class Origin:
    """Where a value's ORM objects come from, and the relationship path walked since."""

    kind: str  # "site" | "fixed" | "param" | "new" | "unknown"
    key: tuple[object, ...] = ()
    model: str | None = None  # qualified name of the model at the producer
    path: Path = ()
    shape: str = "objects"  # "objects" | "rows" | "page"

    def extended(self, step: str) -> Origin:
        if self.path and self.path[-1] == recursive(step):
            return self  # ``children*`` then ``children`` are ``children*``
        return Origin(self.kind, self.key, self.model, (*self.path, step), self.shape)

    def reshaped(self, shape: str) -> Origin:
        return Origin(self.kind, self.key, self.model, self.path, shape)


def recursive(name: str) -> str:
    """The path step for relationship ``name`` followed one or more times."""
    return f"{name}*"


def step_name(step: str) -> str:
    """The relationship a path step follows (``"children*"`` → ``"children"``)."""
    return step[:-1] if step.endswith("*") else step


def is_recursive(step: str) -> bool:
    return step.endswith("*")


def normal_path(path: Path) -> Path:
    """``path`` with each run of one relationship that has a recursive step in it made
    that recursive step: ``("children", "children*")`` → ``("children*",)`` (one or more
    levels stand for two or more: what loads them loads both)."""
    steps: list[str] = []
    for step in path:
        if (
            steps
            and step_name(steps[-1]) == step_name(step)
            and (is_recursive(step) or is_recursive(steps[-1]))
        ):
            steps[-1] = recursive(step_name(step))
        else:
            steps.append(step)
    return tuple(steps)


def path_loads(loaded: Path, path: Path, prefix: bool = False) -> bool:
    """Are the objects at ``path`` those at ``loaded`` (or, with ``prefix``, on the way
    to them)? A recursive step of ``loaded`` stands for one or more of its relationship
    (``path``'s own recursive steps only for one of ``loaded``)."""

    def match(i: int, j: int) -> bool:
        if j == len(path):
            return prefix or i == len(loaded)
        if i == len(loaded):
            return False
        step = loaded[i]
        if not is_recursive(step):
            return path[j] == step and match(i + 1, j + 1)
        return path[j] in (step, step_name(step)) and repeated(i, j + 1)

    def repeated(i: int, j: int) -> bool:  # loaded[i] has matched once or more
        if match(i + 1, j):
            return True
        return j < len(path) and path[j] in (loaded[i], step_name(loaded[i])) and repeated(i, j + 1)

    return match(0, 0)


UNKNOWN = Origin("unknown")
Value = frozenset[Origin]
NOTHING: Value = frozenset()
UNKNOWN_VALUE: Value = frozenset({UNKNOWN})


@dataclass(frozen=True)
class Relationship:
    name: str
    owner: ModelFacts
    target: ModelFacts | None
    collection: bool | None
    lazy: str | None


@dataclass(frozen=True)
class Step:
    """One link of a loader option chain: ``selectinload(Post.comments)``."""

    loader: str  # "selectinload" | "joinedload" | "defaultload" | "selectin_polymorphic"
    owner: str  # local name of the class in the producer's module
    attr: str
    owner_import: tuple[str, str] | None = None  # (module, name) to import first
    #: ``selectin_polymorphic(owner, [classes])`` (``.selectin_polymorphic([classes])``
    #: further down a chain): the subclasses' local names and the imports they need
    classes: tuple[str, ...] = ()
    class_imports: tuple[tuple[str, str], ...] = ()
    #: ``selectinload(Node.children, recursion_depth=-1)``: every level of a
    #: self-referential relationship
    recursive: bool = False


@dataclass
class Producer:
    """A statement run, or a ``session.get()``, whose objects' relationships are read."""

    kind: str  # "statement" | "get"
    path: str  # file
    span: Span
    model: str
    existing: frozenset[Path] = frozenset()  # paths its loader options already name
    needs: set[Path] = field(default_factory=set)
    #: subclasses (qualified names) whose attributes are read on the objects reached
    #: along a path, and those its ``selectin_polymorphic`` options already load
    polymorphic: dict[Path, list[str]] = field(default_factory=dict)
    existing_polymorphic: frozenset[tuple[Path, str]] = frozenset()
    chains: list[tuple[Step, ...]] = field(default_factory=list)  # the options to add

    def loads(self, path: Path) -> bool:
        """Do its loader options load the objects at ``path`` already?"""
        return any(path_loads(existing, path) for existing in self.existing)


@dataclass(frozen=True)
class Refresh:
    """``session.refresh(obj, [names])`` to put before the statement at ``before``."""

    path: str
    before: Span
    variable: str
    session: str
    names: tuple[str, ...]


@dataclass
class EagerPlan:
    producers: dict[tuple[str, Span], Producer] = field(default_factory=dict)
    #: relationship reads to make ``await obj.awaitable_attrs.rel``: (file, span of obj.rel)
    awaitable_reads: set[tuple[str, Span]] = field(default_factory=set)
    #: relationship names read through ``awaitable_attrs`` (deliberate, awaited lazy loads)
    awaited_names: set[str] = field(default_factory=set)
    #: declarative bases (qualified names) that need the ``AsyncAttrs`` mixin
    async_attrs_bases: set[str] = field(default_factory=set)
    refreshes: list[Refresh] = field(default_factory=list)
    #: relationship names read where the producer is not known: they stay eager at the
    #: relationship level
    uncovered: set[str] = field(default_factory=set)
    #: (declaring model, relationship name) read where the producer is not known, for
    #: objects whose class is known (an annotated parameter, a new object)
    uncovered_members: set[tuple[str, str]] = field(default_factory=set)
    #: every template render of the project was analysed with its context
    templates_complete: bool = False
    #: relationship names of the project's models
    relationship_names: set[str] = field(default_factory=set)
    #: relationship names the analysed code reads from objects (covered or not)
    seen_reads: set[str] = field(default_factory=set)
    #: relationship names declared as fields of serializers (pydantic schemas...), which
    #: read them from objects with no attribute read in the code
    serialized: set[str] = field(default_factory=set)
    #: (file, span of ``obj.attr``) → why: reads of subclass attributes on objects whose
    #: query cannot be given ``selectin_polymorphic``
    subclass_todos: dict[tuple[str, Span], str] = field(default_factory=dict)
    #: (function, parameter) → the model of the ORM objects every call of the function
    #: (all of them seen) hands the parameter: objects of that one model, loaded or new
    param_models: dict[tuple[str, str], str] = field(default_factory=dict)

    def keeps_relationship_eager(
        self, name: str, read_anywhere: set[str], owner: str | None = None
    ) -> bool:
        """Does relationship ``name`` (of model ``owner``) need ``lazy="selectin"`` on its
        declaration?"""
        if name in self.uncovered or (owner, name) in self.uncovered_members:
            return True
        return name in read_anywhere and name not in self.seen_reads

    def todos_in(self, path: str) -> dict[Span, str]:
        return {span: why for (file, span), why in self.subclass_todos.items() if file == path}

    def options_for(self, path: str, span: Span) -> Producer | None:
        producer = self.producers.get((path, span))
        return producer if producer is not None and producer.chains else None


# -- the model graph ------------------------------------------------------------------


class ModelGraph:
    """Relationships of each model (inherited and backref-declared ones included)."""

    def __init__(self, index: ProjectIndex) -> None:
        self.index = index
        self.backrefs: dict[tuple[str, str], Relationship] = {}
        self.names: set[str] = set()
        for model in index.models.values():
            for relationship in model.relationships.values():
                self.names.add(relationship.name)
                target = index.relationship_target(model, relationship)
                if relationship.backref and target is not None:
                    self.names.add(relationship.backref)
                    self.backrefs[(target.qualname, relationship.backref)] = Relationship(
                        relationship.backref,
                        target,
                        model,
                        self._backref_collection(model, relationship),
                        relationship.backref_lazy,
                    )
        self.hierarchy = Hierarchy(index, set(self.backrefs))
        self.proxy_names = {p for m in index.models.values() for p in m.association_proxies}
        #: names whose reads the analysis follows: relationships, association proxies and
        #: what subclasses declare (which a query of a base class may leave unloaded)
        #: the methods and other members subclasses declare
        self.hierarchy_members: set[str] = set()
        self.tracked = self.names | self.proxy_names
        for model in index.models.values():
            if self.hierarchy.parents(model):
                self.hierarchy_members.update(model.members)
                self.tracked |= {*model.columns, *model.relationships, *model.members}

    def _backref_collection(self, model: ModelFacts, relationship: object) -> bool | None:
        forward = self.index.is_collection(model, relationship)  # type: ignore[arg-type]
        if getattr(relationship, "secondary", False):
            return True
        return None if forward is None else not forward

    def relationship(self, model: ModelFacts, name: str, depth: int = 0) -> Relationship | None:
        facts = model.relationships.get(name)
        if facts is not None:
            return Relationship(
                name,
                model,
                self.index.relationship_target(model, facts),
                self.index.is_collection(model, facts),
                facts.lazy,
            )
        backref = self.backrefs.get((model.qualname, name))
        if backref is not None:
            return backref
        for base in model.bases:
            parent = self.index.model(base)
            if parent is not None and parent is not model and depth < 20:
                found = self.relationship(parent, name, depth + 1)
                if found is not None:
                    return found
        return None

    def proxied_path(
        self, model: ModelFacts, name: str, depth: int = 0
    ) -> tuple[Path, bool] | None:
        """The relationships an association proxy ``name`` of ``model`` reads (``("kw_links",
        "keyword")``), and whether it gives objects (its attribute is a relationship)."""
        proxy = next(
            (
                m.association_proxies[name]
                for m in self.hierarchy.lineage(model)
                if name in m.association_proxies
            ),
            None,
        )
        if proxy is None or depth > MAX_PATH:
            return None
        collection, attr = proxy
        relationship = self.relationship(model, collection)
        if relationship is None:
            return None
        target = relationship.target
        if target is not None and self.relationship(target, attr) is not None:
            return (collection, attr), True
        further = self.proxied_path(target, attr, depth + 1) if target is not None else None
        if further is not None:
            return (collection, *further[0]), further[1]
        return (collection,), False

    def proxied_names(self, name: str) -> set[str]:
        """The relationship names the association proxies called ``name`` read."""
        found: set[str] = set()
        for model in self.index.models.values():
            proxied = self.proxied_path(model, name) if name in model.association_proxies else None
            found.update(proxied[0] if proxied else ())
        return found

    def has_column(self, model: ModelFacts, name: str, depth: int = 0) -> bool:
        if name in model.columns:
            return True
        for base in model.bases:
            parent = self.index.model(base)
            if parent is not None and parent is not model and depth < 20:
                if self.has_column(parent, name, depth + 1):
                    return True
        return False

    def walk(self, model: str | None, path: Path) -> ModelFacts | None:
        """The model reached from ``model`` along relationship ``path`` (a recursive step
        only along a self-referential relationship)."""
        current = self.index.model(model)
        for step in path:
            if current is None:
                return None
            if is_recursive(step):
                relationship = self.self_referential(current, step_name(step))
            else:
                relationship = self.relationship(current, step)
            current = relationship.target if relationship is not None else None
        return current

    def concrete(self, model: str | None, path: Path) -> Path:
        """``path`` from objects of ``model`` with each recursive step along a
        relationship that is not self-referential made one step, when its target has no
        relationship of that name to follow further (a recursion that changes class:
        ``render(folder)`` calling itself on ``folder.items``)."""
        current = self.index.model(model)
        steps: list[str] = []
        for step in path:
            relationship = self.relationship(current, step_name(step)) if current else None
            if (
                is_recursive(step)
                and relationship is not None
                and relationship.target is not relationship.owner
                and relationship.target is not None
                and self.relationship(relationship.target, step_name(step)) is None
            ):
                step = step_name(step)
            steps.append(step)
            current = relationship.target if relationship is not None else None
        return tuple(steps)

    def self_referential(self, model: ModelFacts, name: str) -> Relationship | None:
        """Relationship ``name`` of ``model``, when it relates its class to itself (the
        relationships ``recursion_depth`` loads)."""
        relationship = self.relationship(model, name)
        if relationship is None or relationship.target is not relationship.owner:
            return None
        return relationship

    def recursive_owners(self, name: str) -> list[str]:
        """The models declaring a self-referential relationship ``name``."""
        owners = {
            relationship.owner.qualname
            for model in self.index.models.values()
            if (relationship := self.self_referential(model, name)) is not None
        }
        return sorted(owners)


# -- positions --------------------------------------------------------------------------


class Lines:
    """Character columns for ``ast``'s byte offsets."""

    def __init__(self, source: bytes) -> None:
        self.lines = source.splitlines()

    def column(self, line: int, offset: int) -> int:
        if 0 < line <= len(self.lines):
            return len(self.lines[line - 1][:offset].decode("utf-8", "replace"))
        return offset

    def span(self, node: ast.AST) -> Span:
        line, end_line = getattr(node, "lineno", 0), getattr(node, "end_lineno", 0) or 0
        return (
            line,
            self.column(line, getattr(node, "col_offset", 0)),
            end_line,
            self.column(end_line, getattr(node, "end_col_offset", 0) or 0),
        )


# -- one function -------------------------------------------------------------------------


@dataclass
class ReadEvent:
    path: str
    span: Span
    attr: str
    value: Value
    function: str | None
    proxy_hop: bool = False  # a relationship an association proxy reads after its first


@dataclass
class _NewObject:
    variable: str | None = None
    session: str | None = None
    persistent: bool = False  # flushed: its unloaded relationships load lazily
    maybe_persistent: bool = False  # perhaps autoflushed
    loaded: set[str] = field(default_factory=set)


@dataclass
class _Statement:
    model: str
    existing: frozenset[Path]
    polymorphic: frozenset[tuple[Path, str]] = frozenset()


class _Walker:
    """Follows one function's objects statement by statement."""

    def __init__(
        self,
        analysis: EagerLoadAnalysis,
        module: str,
        path: str,
        lines: Lines,
        function: str | None,
        params: list[str],
        annotations: dict[str, ast.expr] | None = None,
    ) -> None:
        self.analysis = analysis
        self.module = module
        self.facts = analysis.index.modules[module]
        self.imports = analysis.imports.get(module, self.facts.imports)
        self.path = path
        self.lines = lines
        self.function = function
        self.env: dict[str, Value] = {}
        self.statements: dict[str, _Statement | None] = {}
        for param in params:
            annotation = (annotations or {}).get(param)
            model = self.annotated_model(annotation) if annotation is not None else None
            self.env[param] = frozenset({Origin("param", (function, param), model)})
        self.new_objects: dict[tuple[object, ...], _NewObject] = {}
        self.returned: set[Origin] = set()
        self.current_statement: ast.stmt | None = None
        self.block_statement: ast.stmt | None = None

    # -- names --------------------------------------------------------------------------
    def qualify(self, node: ast.expr) -> str | None:
        if isinstance(node, ast.Name):
            if node.id in self.env or node.id in self.statements:
                return None
            return self.analysis.index.resolve_alias(
                self.imports.get(node.id, f"{self.module}.{node.id}")
            )
        if isinstance(node, ast.Attribute):
            owner = self.qualify(node.value)
            return self.analysis.index.resolve_alias(f"{owner}.{node.attr}") if owner else None
        return None

    def annotated_model(self, annotation: ast.expr) -> str | None:
        """``Post``, ``"Post"``, ``Optional[Post]``, ``Post | None``, ``Mapped[Post]``."""
        if isinstance(annotation, ast.Constant) and isinstance(annotation.value, str):
            try:
                annotation = ast.parse(annotation.value, mode="eval").body
            except SyntaxError:
                return None
        if isinstance(annotation, ast.BinOp) and isinstance(annotation.op, ast.BitOr):
            models = {self.annotated_model(annotation.left), self.annotated_model(annotation.right)}
            models.discard(None)
            return models.pop() if len(models) == 1 else None
        if isinstance(annotation, ast.Subscript) and _short(annotation.value) == "Optional":
            return self.annotated_model(annotation.slice)
        return self.model_named(annotation)

    def names_module(self, node: ast.Name | ast.Attribute) -> bool:
        """Does ``node`` name a module of the project (``from app import crud``)?"""
        if isinstance(node, ast.Name) and node.id not in self.imports:
            return False
        name = self.qualify(node)
        return name is not None and name in self.analysis.index.modules

    def model_named(self, node: ast.expr) -> str | None:
        name = self.qualify(node)
        return name if name is not None and name in self.analysis.index.models else None

    # -- statements -----------------------------------------------------------------------
    def block(self, statements: Iterable[ast.stmt]) -> None:
        for statement in statements:
            outer = self.block_statement
            self.block_statement = statement
            self.statement(statement)
            self.block_statement = outer

    def statement(self, stmt: ast.stmt) -> None:
        if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            for decorator in stmt.decorator_list:
                self.eval(decorator)
            return
        if isinstance(stmt, ast.Assign):
            value = self.eval(stmt.value)
            for target in stmt.targets:
                self.bind(target, value, stmt.value)
        elif isinstance(stmt, ast.AnnAssign):
            if stmt.value is not None:
                self.bind(stmt.target, self.eval(stmt.value), stmt.value)
        elif isinstance(stmt, ast.AugAssign):
            self.eval(stmt.value)
            self.eval_target(stmt.target)
        elif isinstance(stmt, ast.For | ast.AsyncFor):
            items = self.eval(stmt.iter)
            items = frozenset(o.reshaped("objects") if o.shape == "page" else o for o in items)
            self.bind(stmt.target, items, None)
            targets = {n.id for n in ast.walk(stmt.target) if isinstance(n, ast.Name)}
            self.loop(stmt.body, stmt.orelse, targets)
        elif isinstance(stmt, ast.While):
            self.eval(stmt.test)
            self.loop(stmt.body, stmt.orelse)
        elif isinstance(stmt, ast.If):
            self.eval(stmt.test)
            self.branches([stmt.body, stmt.orelse])
        elif isinstance(stmt, ast.With | ast.AsyncWith):
            for item in stmt.items:
                self.eval(item.context_expr)
                if item.optional_vars is not None:
                    self.bind(item.optional_vars, UNKNOWN_VALUE, None)
            self.block(stmt.body)
        elif isinstance(stmt, ast.Try) or type(stmt).__name__ == "TryStar":
            self.block(getattr(stmt, "body", []))
            for handler in getattr(stmt, "handlers", []):
                self.block(handler.body)
            self.block(getattr(stmt, "orelse", []))
            self.block(getattr(stmt, "finalbody", []))
        elif isinstance(stmt, ast.Match):
            self.eval(stmt.subject)
            self.branches([case.body for case in stmt.cases])
        elif isinstance(stmt, ast.Return):
            if stmt.value is not None:
                self.returned |= self.eval(stmt.value)
        elif isinstance(stmt, ast.Delete):
            for target in stmt.targets:
                self.eval_target(target)
        else:
            for child in ast.iter_child_nodes(stmt):
                if isinstance(child, ast.expr):
                    self.eval(child)

    def loop(
        self, body: list[ast.stmt], orelse: list[ast.stmt], targets: Iterable[str] = ()
    ) -> None:
        before = dict(self.env)
        for _ in range(2):  # a second round sees what the first bound
            self.block(body)
            self.env = self.widened(before, _join(before, self.env), set(targets))
        self.block(orelse)

    def widened(
        self, before: dict[str, Value], env: dict[str, Value], targets: set[str]
    ) -> dict[str, Value]:
        """``while node: node = node.parent``: a variable the loop moves along a
        self-referential relationship holds the objects at every level from where it
        started (``parent*``), not just at the levels two rounds reach (``targets``: the
        variables a ``for`` binds to its items, which the loop does not move)."""
        for name, value in env.items():
            earlier = before.get(name, NOTHING)
            if not earlier or value == earlier or name in targets:
                continue
            moved = {o: self.analysis.recursion_of(earlier, o) for o in value - earlier}
            if any(moved.values()):
                env[name] = frozenset(moved.get(o) or o for o in value)
        return env

    def branches(self, blocks: list[list[ast.stmt]]) -> None:
        before = dict(self.env)
        results = []
        for body in blocks:
            self.env = dict(before)
            self.block(body)
            results.append(self.env)
        if len(blocks) == 1 or not blocks[-1]:
            results.append(before)
        joined: dict[str, Value] = {}
        for env in results:
            joined = _join(joined, env)
        self.env = joined

    def bind(self, target: ast.expr, value: Value, source: ast.expr | None) -> None:
        if isinstance(target, ast.Name):
            self.env[target.id] = value
            self.statements[target.id] = self.statement_info(source) if source is not None else None
            for origin in value:
                if origin.kind == "new" and origin.key in self.new_objects:
                    self.new_objects[origin.key].variable = target.id
        elif isinstance(target, ast.Tuple | ast.List):
            for element in target.elts:
                element_value = value
                if any(o.shape == "rows" for o in value):
                    element_value = frozenset(o.reshaped("objects") for o in value)
                self.bind(element, element_value, None)
        elif isinstance(target, ast.Starred):
            self.bind(target.value, value, None)
        elif isinstance(target, ast.Attribute):
            self.eval_target(target)
            self.assigned_attribute(target)
        else:
            self.eval_target(target)

    def eval_target(self, target: ast.expr) -> None:
        """The parts of an assignment target that are read (``a.b`` in ``a.b.c = 1``)."""
        if isinstance(target, ast.Attribute):
            self.eval(target.value)
        elif isinstance(target, ast.Subscript):
            self.eval(target.value)
            self.eval(target.slice)

    def assigned_attribute(self, target: ast.Attribute) -> None:
        if isinstance(target.value, ast.Name):
            for origin in self.env.get(target.value.id, NOTHING):
                state = self.new_objects.get(origin.key) if origin.kind == "new" else None
                if state is not None:
                    state.loaded.add(target.attr)

    # -- statements given to the session ----------------------------------------------------
    def statement_info(self, node: ast.expr | None) -> _Statement | None:
        """The entity and loader options of ``select(M)...`` (inline or in a variable)."""
        options: list[ast.expr] = []
        while isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            if node.func.attr not in SELECT_METHODS:
                return None
            if node.func.attr == "options":
                options.extend(node.args)
            node = node.func.value
        base: _Statement | None = None
        if isinstance(node, ast.Name) and node.id in self.statements:
            base = self.statements[node.id]
        elif isinstance(node, ast.Call) and self.qualify(node.func) in SELECT_FUNCS:
            if len(node.args) == 1 and not node.keywords:
                model = self.model_named(node.args[0])
                base = _Statement(model, frozenset()) if model else None
        if base is None:
            return None
        existing = set(base.existing)
        polymorphic = set(base.polymorphic)
        for option in options:
            existing |= _option_paths(option)
            polymorphic |= self.polymorphic_loads(option)
        return _Statement(base.model, frozenset(existing), frozenset(polymorphic))

    def polymorphic_loads(self, option: ast.expr) -> set[tuple[Path, str]]:
        """(path, subclass) pairs a loader option loads: ``selectin_polymorphic(Employee,
        [Engineer])`` → ``{((), "app.models.Engineer")}``, and
        ``selectinload(Company.staff).selectin_polymorphic([Engineer])`` at ``("staff",)``."""
        found: set[tuple[Path, str]] = set()
        path: Path = ()
        for name, call in _option_steps(option):
            listed = call.args[-1] if call.args else None
            if name == "selectin_polymorphic" and isinstance(listed, ast.List | ast.Tuple):
                models = {self.model_named(e) for e in listed.elts}
                found |= {(path, m) for m in models if m is not None}
            elif name in LOADER_OPTIONS and len(call.args) == 1:
                argument = call.args[0]
                if isinstance(argument, ast.Attribute):
                    path = (*path, _option_step(name, call, argument.attr))
        return found

    # -- expressions --------------------------------------------------------------------------
    def eval(self, node: ast.expr | None) -> Value:
        if node is None:
            return NOTHING
        if isinstance(node, ast.Name):
            if node.id in self.env:
                return self.env[node.id]
            return NOTHING if self.model_named(node) else UNKNOWN_VALUE
        if isinstance(node, ast.Attribute):
            return self.attribute(node)
        if isinstance(node, ast.Call):
            return self.call(node)
        if isinstance(node, ast.Await):
            return self.eval(node.value)
        if isinstance(node, ast.Subscript):
            value = self.eval(node.value)
            self.eval(node.slice)
            return frozenset(o.reshaped("objects") if o.shape == "rows" else o for o in value)
        if isinstance(node, ast.BoolOp):
            return _union(self.eval(v) for v in node.values)
        if isinstance(node, ast.IfExp):
            self.eval(node.test)
            return self.eval(node.body) | self.eval(node.orelse)
        if isinstance(node, ast.ListComp | ast.SetComp | ast.GeneratorExp | ast.DictComp):
            return self.comprehension(node)
        if isinstance(node, ast.List | ast.Tuple | ast.Set):
            return _union(self.eval(e) for e in node.elts)
        if isinstance(node, ast.Starred):
            return self.eval(node.value)
        if isinstance(node, ast.NamedExpr):
            value = self.eval(node.value)
            self.bind(node.target, value, node.value)
            return value
        if isinstance(node, ast.BinOp):
            left, right = self.eval(node.left), self.eval(node.right)
            return left | right if isinstance(node.op, ast.Add) else NOTHING
        if isinstance(node, ast.Lambda):
            self.lambda_body(node, UNKNOWN_VALUE)
            return UNKNOWN_VALUE
        if isinstance(node, ast.Constant | ast.JoinedStr | ast.Compare | ast.UnaryOp):
            for child in ast.iter_child_nodes(node):
                if isinstance(child, ast.expr):
                    self.eval(child)
            return NOTHING
        if isinstance(node, ast.Dict):
            for key in node.keys:
                self.eval(key)
            return _union(self.eval(v) for v in node.values)
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.expr):
                self.eval(child)
        return UNKNOWN_VALUE

    def lambda_body(self, node: ast.Lambda, given: Value) -> None:
        saved_env, saved_statements = dict(self.env), dict(self.statements)
        arguments = node.args
        for argument in (*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs):
            self.env[argument.arg] = given
        for extra in (arguments.vararg, arguments.kwarg):
            if extra is not None:
                self.env[extra.arg] = UNKNOWN_VALUE
        self.eval(node.body)
        self.env, self.statements = saved_env, saved_statements

    def comprehension(
        self, node: ast.ListComp | ast.SetComp | ast.GeneratorExp | ast.DictComp
    ) -> Value:
        saved_env, saved_statements = dict(self.env), dict(self.statements)
        for generator in node.generators:
            self.bind(generator.target, self.eval(generator.iter), None)
            for condition in generator.ifs:
                self.eval(condition)
        if isinstance(node, ast.DictComp):
            self.eval(node.key)
            result = self.eval(node.value)
        else:
            result = self.eval(node.elt)
        self.env, self.statements = saved_env, saved_statements
        return result

    def attribute(self, node: ast.Attribute) -> Value:
        if self.model_named(node.value):
            return NOTHING  # ``Post.author``: a class attribute, no object is read
        owner = node.value
        if isinstance(owner, ast.Name | ast.Attribute) and self.names_module(owner):
            # ``crud.user``: a module's attribute, no relationship of an object; what it
            # holds is unknown
            self.analysis.module_reads.add(node.attr)
            return UNKNOWN_VALUE
        if isinstance(owner, ast.Attribute) and owner.attr == AWAITABLE_ATTRS:
            # ``await obj.awaitable_attrs.rel`` loads ``rel`` itself
            self.analysis.awaited_reads.add(node.attr)
            loaded = self.eval(owner.value)
            return _union(self.analysis.step(origin, node.attr) for origin in loaded)
        value = self.eval(node.value)
        if not isinstance(node.ctx, ast.Load):
            return NOTHING
        self.analysis.record_read(self, node, value)
        return _union(self.analysis.step(origin, node.attr) for origin in value)

    def call(self, node: ast.Call) -> Value:
        func = node.func
        callee = self.qualify(func)
        called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        if callee in RENDER_TEMPLATE:
            arguments = [self.eval(a) for a in node.args]
            keywords = {k.arg: self.eval(k.value) for k in node.keywords}
            self.analysis.render(self, node, node.args, arguments, keywords)
            return NOTHING
        if node.args and self.qualify(node.args[0]) in RENDER_TEMPLATE:
            # ``render_with_session(render_template, "x.html", posts=posts)``: a wrapper
            # calling ``render_template`` with the rest (as ``flask-async-session`` writes)
            arguments = [self.eval(a) for a in node.args[1:]]
            keywords = {k.arg: self.eval(k.value) for k in node.keywords}
            self.analysis.render(self, node, node.args[1:], arguments, keywords)
            return UNKNOWN_VALUE
        through_parameter = isinstance(func, ast.Name) and any(
            o.kind == "param" and o.key[1] == func.id for o in self.env.get(func.id, NOTHING)
        )  # a wrapper's ``render(*args)``: its callers passing render_template are renders
        if (called in OTHER_RENDERS or "render" in called.lower()) and not through_parameter:
            self.analysis.templates_complete = False  # a render whose context is unknown
        known = callee is not None and (
            callee in self.analysis.functions
            or callee in self.analysis.index.models
            or callee == f"{self.module}.{callee.rsplit('.', 1)[-1]}"
        )
        receiver = NOTHING
        if isinstance(func, ast.Attribute) and not known:
            receiver = self.eval(func.value)
            if func.attr in self.analysis.graph.hierarchy_members:
                self.analysis.record_read(self, func, receiver)  # ``e.badge()``: a method
        arguments = [NOTHING if _is_lambda(a) else self.eval(a) for a in node.args]
        keywords = {
            k.arg: NOTHING if _is_lambda(k.value) else self.eval(k.value) for k in node.keywords
        }
        # ``sorted(posts, key=lambda p: p.author.name)``: the lambda gets the other arguments
        given = _union([receiver, *arguments]) or UNKNOWN_VALUE
        for lambda_node in [*node.args, *(k.value for k in node.keywords)]:
            if isinstance(lambda_node, ast.Lambda):
                self.lambda_body(lambda_node, given)
        if called == "getattr" and len(node.args) >= 2 and callee not in self.analysis.functions:
            name = node.args[1]
            if isinstance(name, ast.Constant) and isinstance(name.value, str):
                self.analysis.record_read(self, node, arguments[0], name.value)
                return _union(self.analysis.step(o, name.value) for o in arguments[0])
        if known and self._flask_helper(callee):
            # ``await get_or_404(User, 1)``: the helper flask-async-session writes beside
            # ``db`` is ``db.get_or_404`` (a second run reads its own output)
            assert callee is not None
            produced = self.method_call(node, callee.rsplit(".", 1)[-1], NOTHING, arguments)
            if produced is not None:
                return produced
        if known:
            assert callee is not None
            return self.function_call(node, callee, arguments, keywords)
        if isinstance(func, ast.Attribute):
            produced = self.method_call(node, func.attr, receiver, arguments)
            if produced is not None:
                return produced
        return UNKNOWN_VALUE

    def _flask_helper(self, callee: str | None) -> bool:
        """Is ``callee`` one of the ``db.get_or_404``-like helpers a module defining a
        Flask-SQLAlchemy object holds after flask-async-session?"""
        if callee is None:
            return False
        module, _, name = callee.rpartition(".")
        return name in FLASK_HELPERS and module in self.analysis.index.flask_sqlalchemy_modules()

    def method_call(
        self, node: ast.Call, method: str, receiver: Value, arguments: list[Value]
    ) -> Value | None:
        if method in STATEMENT_RUNNERS and node.args:
            self.session_io(node)
            statement = self.statement_info(node.args[0])
            if statement is None:
                return UNKNOWN_VALUE
            span = self.lines.span(node.args[0])
            producer = Producer("statement", self.path, span, statement.model, statement.existing)
            producer.existing_polymorphic = statement.polymorphic
            self.analysis.add_producer(producer)
            return frozenset(
                {Origin("site", (self.path, span), statement.model, (), STATEMENT_RUNNERS[method])}
            )
        if method in ("get", "get_one") and len(node.args) >= 2:
            self.session_io(node)
            return self.session_get(node)
        if method in ("get_or_404",) and len(node.args) >= 2:
            model = self.model_named(node.args[0])
            return frozenset({Origin("fixed", (method,), model)}) if model else UNKNOWN_VALUE
        if method == "merge" and arguments:
            self.session_io(node)
            merged = {o.model for o in arguments[0]}
            if len(merged) == 1 and None not in merged:
                model = merged.pop()
                path = next(iter(arguments[0])).path
                if self.analysis.graph.walk(model, path) is not None:
                    target = self.analysis.graph.walk(model, path)
                    assert target is not None
                    return frozenset({Origin("fixed", ("merge",), target.qualname)})
            return UNKNOWN_VALUE
        if method == "add" and len(node.args) == 1 and not self._collection(node.func):
            self.added(node, arguments[0])
            return NOTHING
        if method == "refresh" and node.args:
            self.session_io(node)
            self.refreshed(node, arguments[0])
            return NOTHING
        if method in SESSION_IO:
            self.session_io(node)
        if receiver and not (receiver & UNKNOWN_VALUE):
            if method in RESULT_METHODS:
                return receiver
            if method in ROWS_TO_OBJECTS and not node.args:
                return frozenset(o.reshaped("objects") for o in receiver)
        return None

    def _collection(self, func: ast.expr) -> bool:
        """``owner.<relationship>.add(x)``: a write-only collection's ``add`` (as
        ``append()``), not a session's."""
        return (
            isinstance(func, ast.Attribute)
            and isinstance(func.value, ast.Attribute)
            and func.value.attr in self.analysis.graph.names
        )

    def session_get(self, node: ast.Call) -> Value:
        """``session.get(M, pk, options=[...])``: a producer taking options."""
        model = self.model_named(node.args[0])
        if model is None:
            return UNKNOWN_VALUE
        if any(k.arg == "options" and not isinstance(k.value, ast.List) for k in node.keywords):
            return frozenset({Origin("fixed", ("get",), model)})
        options = [
            option
            for k in node.keywords
            if k.arg == "options" and isinstance(k.value, ast.List)
            for option in k.value.elts
        ]
        existing = frozenset(path for option in options for path in _option_paths(option))
        span = self.lines.span(node)
        producer = Producer("get", self.path, span, model, existing)
        producer.existing_polymorphic = frozenset(
            loaded for option in options for loaded in self.polymorphic_loads(option)
        )
        self.analysis.add_producer(producer)
        return frozenset({Origin("site", (self.path, span), model)})

    def function_call(
        self,
        node: ast.Call,
        callee: str,
        arguments: list[Value],
        keywords: dict[str | None, Value],
    ) -> Value:
        short = callee.rsplit(".", 1)[-1]
        if callee not in self.analysis.functions:
            if short in PASS_THROUGH_BUILTINS and arguments:
                return arguments[0]
            if short in SCALAR_BUILTINS:
                return NOTHING
        if callee in self.analysis.index.models:
            return self.constructed(node, callee, keywords)
        facts = self.analysis.functions.get(callee)
        if facts is None:
            return UNKNOWN_VALUE
        self.session_io(node, flushes=False)  # a project function may flush
        starred = any(isinstance(a, ast.Starred) for a in node.args)
        bound = self.analysis.record_call(
            callee, facts.params, arguments, keywords, starred, self.function
        )
        return self.analysis.returned_by(callee, bound, self.function)

    # -- new objects -------------------------------------------------------------------------
    def constructed(self, node: ast.Call, model: str, keywords: dict[str | None, Value]) -> Value:
        key = (self.path, self.lines.span(node))
        state = self.new_objects.setdefault(key, _NewObject())
        state.loaded |= {k for k in keywords if k is not None}
        if None not in keywords and not node.args:
            state.loaded |= self.analysis.initialised_collections(model)
        return frozenset({Origin("new", key, model)})

    def added(self, node: ast.Call, value: Value) -> None:
        assert isinstance(node.func, ast.Attribute)
        session = ast.unparse(node.func.value)
        for origin in value:
            state = self.new_objects.get(origin.key) if origin.kind == "new" else None
            if state is not None:
                state.session = session

    def refreshed(self, node: ast.Call, value: Value) -> None:
        names = _literal_names(node.args[1]) if len(node.args) > 1 else None
        for origin in value:
            state = self.new_objects.get(origin.key) if origin.kind == "new" else None
            if state is not None and names is not None:
                state.loaded |= names

    def session_io(self, node: ast.Call, flushes: bool | None = None) -> None:
        """A call that may flush (autoflush); ``flush()``/``commit()`` surely do."""
        receiver = ast.unparse(node.func.value) if isinstance(node.func, ast.Attribute) else None
        method = node.func.attr if isinstance(node.func, ast.Attribute) else None
        for state in self.new_objects.values():
            if state.session is None:
                continue
            if flushes is not False and method in ("flush", "commit") and receiver == state.session:
                state.persistent = True
            else:
                state.maybe_persistent = True


def _subclass_todo(attr: str, subclasses: list[ModelFacts], base: str) -> str:
    names = [s.qualname.rsplit(".", 1)[-1] for s in subclasses]
    listed = ", ".join(names)
    base = base.rsplit(".", 1)[-1]
    return (
        f"{attr} is an attribute of {listed}, which a query of {base} does not load "
        f"(MissingGreenlet under asyncio): give the query of these objects "
        f"options(selectin_polymorphic({base}, [{listed}])), or set "
        f'"polymorphic_load": "selectin" in the __mapper_args__ of {names[0]}'
    )


def _is_lambda(node: ast.expr) -> bool:
    return isinstance(node, ast.Lambda)


def _short(node: ast.expr) -> str:
    if isinstance(node, ast.Attribute):
        return node.attr
    return node.id if isinstance(node, ast.Name) else ""


def _literal_names(node: ast.expr) -> set[str] | None:
    if isinstance(node, ast.List | ast.Tuple) and all(
        isinstance(e, ast.Constant) and isinstance(e.value, str) for e in node.elts
    ):
        return {str(e.value) for e in node.elts if isinstance(e, ast.Constant)}
    return None


def _option_paths(option: ast.expr) -> set[Path]:
    """Relationship paths a loader option names: ``joinedload(A.b).selectinload(B.c)`` →
    ``{("b",), ("b", "c")}`` (``defaultload`` steps only lead to the next;
    ``selectinload(Node.children, recursion_depth=-1)`` names ``("children*",)``)."""
    paths: set[Path] = set()
    path: Path = ()
    for name, call in _option_steps(option):
        if name not in LOADER_OPTIONS or len(call.args) != 1:
            break
        argument = call.args[0]
        if not isinstance(argument, ast.Attribute):
            break
        path = (*path, _option_step(name, call, argument.attr))
        if name in EAGER_OPTIONS or name in ("lazyload", "noload", "raiseload"):
            paths.add(path)
    return paths


def _option_step(loader: str, call: ast.Call, attr: str) -> str:
    """The path step of one loader call: recursive with ``recursion_depth=-1`` (every
    level; a depth of the code's own choosing loads the levels it says: a plain step
    here, which a walk of every level cannot be added to)."""
    depth = next((k.value for k in call.keywords if k.arg == "recursion_depth"), None)
    unlimited = (
        isinstance(depth, ast.UnaryOp)
        and isinstance(depth.op, ast.USub)
        and isinstance(depth.operand, ast.Constant)
        and depth.operand.value == 1
    )
    return recursive(attr) if loader in RECURSIVE_LOADERS and unlimited else attr


def _through_walks(needs: Iterable[Path], existing: Iterable[Path]) -> set[Path]:
    """``needs`` with a relationship that is walked recursively from where a path takes
    it (``("children*",)`` beside ``("children", "owner")``) walked there too: two
    options for one relationship, one recursive, conflict."""
    paths = {normal_path(p) for p in needs}
    walks = {p[: i + 1] for p in {*paths, *existing} for i, s in enumerate(p) if is_recursive(s)}
    changed = True
    while changed:
        changed = False
        for path in list(paths):
            for walk in walks:
                at = len(walk) - 1
                if len(path) > at and path[:at] == walk[:at] and path[at] == step_name(walk[at]):
                    paths.discard(path)
                    paths.add(normal_path((*walk, *path[at + 1 :])))
                    changed = True
                    break
    return paths


def _covers(other: Path, path: Path) -> bool:
    """Does the option loading ``other`` load ``path`` (on its way, or the same objects)?
    (Of two paths covering each other, the one sorting first stands.)"""
    if other == path or not path_loads(other, path, prefix=True):
        return False
    return not path_loads(path, other, prefix=True) or other < path


def _option_steps(option: ast.expr) -> list[tuple[str, ast.Call]]:
    """The calls of a loader option chain, first to last: ``joinedload(A.b).selectinload(
    B.c)`` → ``[("joinedload", ...), ("selectinload", ...)]``."""
    steps: list[tuple[str, ast.Call]] = []
    node = option
    while isinstance(node, ast.Call):
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        steps.append((name, node))
        node = func.value if isinstance(func, ast.Attribute) else None  # type: ignore[assignment]
    return steps[::-1]


def _moved_along(start: Path, path: Path) -> str | None:
    """The relationship ``path`` follows (once or more) beyond ``start``: ``children``
    for ``("children", "author")`` beyond ``("author",)``."""
    if len(path) <= len(start) or path[len(path) - len(start) :] != start:
        return None
    names = {step_name(step) for step in path[: len(path) - len(start)]}
    return names.pop() if len(names) == 1 else None


def _union(values: Iterable[Value]) -> Value:
    result: set[Origin] = set()
    for value in values:
        result |= value
    return frozenset(result)


def _join(first: dict[str, Value], second: dict[str, Value]) -> dict[str, Value]:
    joined = dict(first)
    for name, value in second.items():
        joined[name] = joined.get(name, NOTHING) | value
    return joined


# -- the whole project ----------------------------------------------------------------------


@dataclass
class _FunctionInfo:
    params: list[str]
    traceable: bool  # every call of it is a call the analysis sees


class EagerLoadAnalysis:
    """Runs the walkers over every module until function results settle, then resolves
    every relationship read to its producers."""

    def __init__(
        self,
        index: ProjectIndex,
        sources: dict[str, bytes],
        template_roots: Sequence[pathlib.Path] | None = None,
    ) -> None:
        self.index = index
        self.template_roots = list(template_roots or [])
        #: every template render was analysed (else the names templates read stay eager)
        self.templates_complete = True
        self.graph = ModelGraph(index)
        self.sources = sources  # file path → stage-one code
        self.trees: dict[str, tuple[str, ast.Module, Lines]] = {}
        #: each module's imports in its stage-one code (which adds ``select`` & co.)
        self.imports: dict[str, dict[str, str]] = {}
        for module, facts in index.modules.items():
            source = sources.get(facts.path)
            tree = _parse(source) if source is not None else None
            if tree is not None and source is not None:
                self.trees[facts.path] = (module, tree, Lines(source))
                self.imports[module] = {**facts.imports, **_imports(tree, module, facts.path)}
        #: every module of the index was analysed: the calls seen are all the calls
        self.complete = len(self.trees) == len(index.modules)
        self.functions: dict[str, _FunctionInfo] = {}
        self.summaries: dict[str, Value] = {}
        #: the summaries read this round, each with the values it had when read
        self._read: dict[str, set[Value]] = {}
        self.calls: dict[str, list[dict[str, Value]]] = {}
        self.reads: list[ReadEvent] = []
        self.plan = EagerPlan(relationship_names=set(self.graph.names))
        self.async_functions: set[str] = set()
        self._refreshes: dict[tuple[str, Span, str], tuple[tuple[str, ...], str]] = {}
        self.awaited_reads: set[str] = set()  # names read through awaitable_attrs
        #: names read as a module's attributes (``crud.user``): seen, and no relationship's
        self.module_reads: set[str] = set()
        #: the relationships of the recursions cut short while resolving a read
        self._walked: set[str] = set()
        self._queried_models: set[str] | None = None
        #: per file: its classes, and its functions (qualified name, node, annotated
        #: parameters, is it a generator), found once for every round of the walk
        self.classes: dict[str, list[ast.ClassDef]] = {}
        self.function_entries: dict[
            str, list[tuple[str, ast.FunctionDef | ast.AsyncFunctionDef, dict[str, ast.expr], bool]]
        ] = {}

    # -- results of the walk ---------------------------------------------------------------
    def add_producer(self, producer: Producer) -> None:
        self.plan.producers.setdefault((producer.path, producer.span), producer)

    def record_read(
        self,
        walker: _Walker,
        node: ast.AST,
        value: Value,
        attr: str | None = None,
        in_template: bool = False,
    ) -> None:
        """``value.attr`` is read at ``node`` (a template's reads: at its render call,
        where nothing can be awaited)."""
        attr = attr if attr is not None else getattr(node, "attr", "")
        if attr not in self.graph.tracked:
            return
        function = None if in_template else walker.function
        self.reads.append(ReadEvent(walker.path, walker.lines.span(node), attr, value, function))
        for origin in value:
            if origin.kind == "new":
                self._new_object_read(walker, origin, attr)

    def render(
        self,
        walker: _Walker,
        node: ast.Call,
        positional: list[ast.expr],
        arguments: list[Value],
        keywords: dict[str | None, Value],
    ) -> None:
        """``render_template("x.html", posts=posts)``: the template's reads of each
        context variable are reads of what the code passes."""
        name = positional[0] if positional else None
        reads = None
        if isinstance(name, ast.Constant) and isinstance(name.value, str) and self.template_roots:
            reads = template_context_reads(name.value, self.template_roots)
        if reads is None or len(positional) != 1 or None in keywords:
            self.templates_complete = False
            return
        for variable, paths in reads.items():
            value = keywords.get(variable)
            for path in paths:
                if value is None:  # a global or a context processor's: producer unknown
                    self.plan.uncovered.update(step for step in path if step in self.graph.names)
                    continue
                reached = value
                for step in path:
                    self.record_read(walker, node, reached, step, in_template=True)
                    reached = _union(self.step(o, step) for o in reached)

    def _new_object_read(self, walker: _Walker, origin: Origin, attr: str) -> None:
        state = walker.new_objects.get(origin.key)
        model = self.index.model(origin.model)
        if state is None or model is None or self.graph.relationship(model, attr) is None:
            return
        if attr in state.loaded or not (state.persistent or state.maybe_persistent):
            return  # assigned, or still pending (a pending object does not load)
        if not state.persistent:
            self.uncover(attr, model)  # refresh() would fail on a pending object
            return
        statement = walker.block_statement
        if state.variable is None or state.session is None or statement is None:
            self.uncover(attr, model)
            return
        state.loaded.add(attr)
        key = (walker.path, walker.lines.span(statement), state.variable)
        names, _ = self._refreshes.get(key, ((), state.session))
        if attr not in names:
            self._refreshes[key] = ((*names, attr), state.session)

    def record_call(
        self,
        callee: str,
        params: list[str],
        arguments: list[Value],
        keywords: dict[str | None, Value],
        starred: bool = False,
        caller: str | None = None,
    ) -> dict[str, Value]:
        bound: dict[str, Value] = dict(zip(params, arguments, strict=False))
        for keyword_name, value in keywords.items():
            if keyword_name is not None:
                bound[keyword_name] = value
        if None in keywords or len(arguments) > len(params) or starred:
            bound = {p: UNKNOWN_VALUE for p in params}  # ``*args``/``**kwargs``: any parameter
        if caller == callee:  # ``walk(child)`` in ``walk``: every level of the walk
            for param, value in bound.items():
                bound[param] = frozenset(self._walked_further(callee, param, o) for o in value)
        self.calls.setdefault(callee, []).append(bound)
        return bound

    def _walked_further(self, function: str, param: str, origin: Origin) -> Origin:
        """``origin`` (given to ``function``'s ``param`` by ``function`` itself), every
        level of the walk when it is what ``param`` holds along one relationship."""
        if origin.kind != "param" or origin.key != (function, param) or not origin.path:
            return origin
        start = Origin(origin.kind, origin.key, origin.model, (), origin.shape)
        return self.recursion_of(frozenset({start}), origin) or origin

    def recursion_of(self, earlier: Value, origin: Origin) -> Origin | None:
        """``origin`` holds objects of ``earlier`` further along one self-referential
        relationship (a loop or a recursion walking it): the objects at every level of
        that walk (``parent*``); None when it does not."""
        for start in earlier:
            same = (start.kind, start.key, start.model, start.shape) == (
                origin.kind,
                origin.key,
                origin.model,
                origin.shape,
            )
            if not same or start.kind not in ("site", "param", "fixed"):
                continue
            if origin.path[: len(start.path)] != start.path:
                continue
            moved = _moved_along((), origin.path[len(start.path) :])
            if moved is None:
                continue
            if start.kind != "param":  # a parameter's class is known where it is resolved
                model = self.graph.walk(start.model, start.path)
                if model is None or self.graph.self_referential(model, moved) is None:
                    continue
            path = normal_path((*start.path, recursive(moved)))
            return Origin(start.kind, start.key, start.model, path, start.shape)
        return None

    def returned_by(self, callee: str, bound: dict[str, Value], caller: str | None = None) -> Value:
        result: set[Origin] = set()
        for origin in self._summary(callee, recursion=caller == callee):
            if origin.kind == "param" and origin.key[0] == callee:
                argument = bound.get(str(origin.key[1]), UNKNOWN_VALUE)
                for given in argument:
                    result |= self._follow(given, origin.path)
            else:
                result.add(origin)
        return frozenset(result)

    def _summary(self, callee: str, recursion: bool = False) -> Value:
        """What ``callee`` returns, as known now (a function not yet walked this round
        gives the last round's value; a function calling itself, in its first walk, what
        its other returns give), remembered to tell whether the round was final."""
        value = self.summaries.get(callee, NOTHING if recursion else UNKNOWN_VALUE)
        self._read.setdefault(callee, set()).add(value)
        return value

    def _round_was_final(self) -> bool:
        """Did every summary read this round see the value the round ended with? Then
        another round, reading those values, would walk exactly the same way."""
        return all(
            seen == {self.summaries.get(callee, UNKNOWN_VALUE)}
            for callee, seen in self._read.items()
        )

    def _follow(self, origin: Origin, path: Path) -> Value:
        value: Value = frozenset({origin})
        for step in path:
            value = _union(self.step(o, step) for o in value)
        return value

    def step(self, origin: Origin, attr: str) -> Value:
        """What ``obj.attr`` holds for objects of ``origin``."""
        if origin.kind == "unknown":
            return UNKNOWN_VALUE
        if origin.kind == "new":
            return self._from_new_object(origin, attr)
        if origin.shape == "page":
            return frozenset({origin.reshaped("objects")}) if attr == "items" else NOTHING
        if is_recursive(attr):  # a function's summary: what it returns after a walk
            walked = Origin(
                origin.kind, origin.key, origin.model, normal_path((*origin.path, attr))
            )
            if origin.kind == "param":
                return frozenset({walked})
            model = self.graph.walk(origin.model, origin.path)
            if model is not None and self.graph.self_referential(model, step_name(attr)):
                return frozenset({walked})
            if model is None or is_recursive(self.graph.concrete(model.qualname, (attr,))[0]):
                return UNKNOWN_VALUE
            return self.step(origin, step_name(attr))  # a recursion changing class: one step
        if origin.kind == "param":
            if len(origin.path) >= MAX_PATH:
                return UNKNOWN_VALUE
            return frozenset({origin.extended(attr)})
        model = self.graph.walk(origin.model, origin.path)
        if model is None:
            return UNKNOWN_VALUE
        if origin.shape == "rows":
            short = model.qualname.rsplit(".", 1)[-1]
            return frozenset({origin.reshaped("objects")}) if attr == short else UNKNOWN_VALUE
        relationship = self.graph.relationship(model, attr)
        if relationship is not None and len(origin.path) < MAX_PATH:
            return frozenset({origin.extended(attr)})
        if self.graph.has_column(model, attr):
            return NOTHING
        proxied = self.graph.proxied_path(model, attr)
        if proxied is not None:  # ``article.keywords``: the keywords of its links
            path, gives_objects = proxied
            if not gives_objects or len(origin.path) + len(path) > MAX_PATH:
                return NOTHING if not gives_objects else UNKNOWN_VALUE
            return frozenset({Origin(origin.kind, origin.key, origin.model, (*origin.path, *path))})
        return UNKNOWN_VALUE

    def _from_new_object(self, origin: Origin, attr: str) -> Value:
        """Related objects of a new object (assigned, or loaded by ``refresh``) have no
        producer that could take options: awaitable_attrs reads them."""
        model = self.index.model(origin.model)
        relationship = self.graph.relationship(model, attr) if model else None
        if relationship is None or relationship.target is None:
            return NOTHING if model and self.graph.has_column(model, attr) else UNKNOWN_VALUE
        return frozenset(
            {Origin("fixed", ("related to a new object",), relationship.target.qualname)}
        )

    # -- running -------------------------------------------------------------------------------
    def run(self, async_functions: set[str], read_anywhere: set[str]) -> EagerPlan:
        self.async_functions = async_functions
        self.read_anywhere = read_anywhere
        self._collect_functions()
        for _ in range(MAX_ROUNDS):
            self._walk_all()
            if self._round_was_final():
                break
        self._resolve()
        self.plan.param_models = self._param_models()
        self.plan.serialized = self._serialized_fields()
        self.plan.uncovered |= self.plan.serialized
        self.plan.templates_complete = self.templates_complete and bool(self.template_roots)
        for producer in self.plan.producers.values():
            self._plan_options(producer)
        return self.plan

    def _param_models(self) -> dict[tuple[str, str], str]:
        """The parameters every call hands ORM objects of one model (queried, fetched or
        new ones, or reached from them along relationships): every call of the function
        is seen and gives the parameter a value known to hold such objects."""
        found: dict[tuple[str, str], str] = {}
        for function, calls in self.calls.items():
            info = self.functions.get(function)
            if info is None or not info.traceable or not calls:
                continue
            for param in info.params:
                models: set[str | None] = set()
                for bound in calls:
                    value = bound.get(param, UNKNOWN_VALUE)
                    if not value:
                        models.add(None)  # a value holding no ORM object
                    models |= {self._origin_model(origin) for origin in value}
                if len(models) == 1:
                    model = models.pop()
                    if model is not None:
                        found[(function, param)] = model
        return found

    def _origin_model(self, origin: Origin) -> str | None:
        if origin.kind not in ("site", "fixed", "new") or origin.shape != "objects":
            return None
        model = self.graph.walk(origin.model, origin.path)
        return model.qualname if model is not None else None

    def _serialized_fields(self) -> set[str]:
        """Relationship names declared as fields of classes that are not models (pydantic
        schemas, marshmallow ``fields.Nested``, dataclasses): serializers read them from
        objects whose producer the analysis cannot see."""
        names: set[str] = set()
        models_by_name: dict[str, list[str]] = {}
        for qualname in self.index.models:
            models_by_name.setdefault(qualname.rsplit(".", 1)[-1], []).append(qualname)
        for path, (module, _, _) in self.trees.items():
            for node in self.classes[path]:
                if any(q.startswith(f"{module}.") for q in models_by_name.get(node.name, ())):
                    continue
                for statement in node.body:
                    targets: list[ast.expr] = []
                    if isinstance(statement, ast.AnnAssign):
                        targets = [statement.target]
                    elif isinstance(statement, ast.Assign):
                        targets = list(statement.targets)
                    for target in targets:
                        if isinstance(target, ast.Name) and target.id in self.graph.names:
                            names.add(target.id)
        return names

    def _collect_functions(self) -> None:
        escaped: set[str] = set()
        for path, (module, tree, _) in self.trees.items():
            called: set[int] = set()
            loaded: list[ast.Name] = []
            classes: list[ast.ClassDef] = []
            for node in ast.walk(tree):
                if isinstance(node, ast.Call):
                    called.add(id(node.func))
                elif isinstance(node, ast.Name):
                    if isinstance(node.ctx, ast.Load):
                        loaded.append(node)
                elif isinstance(node, ast.ClassDef):
                    classes.append(node)
            self.classes[path] = classes
            for node in loaded:
                if id(node) not in called:
                    name = self.imports[module].get(node.id, f"{module}.{node.id}")
                    escaped.add(self.index.resolve_alias(name))
            may_yield = b"yield" in self.sources[path]
            entries = self.function_entries[path] = []
            for name, node in functions_of(tree):
                qualname = f"{module}.{name}"
                annotated = {
                    a.arg: a.annotation
                    for a in (*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs)
                    if a.annotation is not None
                }
                is_generator = may_yield and any(
                    isinstance(n, ast.Yield | ast.YieldFrom) for n in _own_nodes(node)
                )
                entries.append((qualname, node, annotated, is_generator))
                function = self.index.functions.get(qualname)
                params = function.params if function is not None else []
                is_module_level = "." not in name
                traceable = bool(
                    self.complete
                    and is_module_level
                    and function is not None
                    and not function.decorators
                )
                self.functions[qualname] = _FunctionInfo(params, traceable)
        for qualname in escaped:
            if qualname in self.functions:
                self.functions[qualname].traceable = False

    def _walk_all(self) -> None:
        self.calls = {}
        self.reads = []
        self._refreshes = {}
        self.templates_complete = True
        self.plan.uncovered = set()
        self.plan.uncovered_members = set()
        self._read = {}
        for path, (module, tree, lines) in self.trees.items():
            top = _Walker(self, module, path, lines, None, [])
            top.block(s for s in tree.body if not isinstance(s, ast.ClassDef))
            for qualname, node, annotated, is_generator in self.function_entries[path]:
                params = self.functions[qualname].params
                walker = _Walker(self, module, path, lines, qualname, params, annotated)
                walker.block(node.body)
                returned = frozenset(UNKNOWN if o.kind == "new" else o for o in walker.returned)
                self.summaries[qualname] = UNKNOWN_VALUE if is_generator else returned

    # -- resolution ------------------------------------------------------------------------------
    def _resolve(self) -> None:
        self.plan.seen_reads |= self.awaited_reads | self.module_reads
        self.plan.awaited_names |= self.awaited_reads
        for read in self.reads:
            self.plan.seen_reads.add(read.attr)
            for origin in read.value:
                self._walked = set()
                self._resolve_read(read, origin, (), 0)
        for (path, before, variable), (names, session) in self._refreshes.items():
            self.plan.refreshes.append(Refresh(path, before, variable, session, names))

    def _resolve_read(
        self,
        read: ReadEvent,
        origin: Origin,
        suffix: Path,
        depth: int,
        stack: tuple[tuple[object, object, Path], ...] = (),
    ) -> bool:
        """Make sure ``read`` (``x.rel`` with ``x`` from ``origin``, then ``suffix``) loads
        (``stack``: the parameters followed to get here, each with its path to ``x``).
        False when every way from ``origin`` only came back to a parameter being
        resolved (a recursion entered from nowhere the analysis sees, so far)."""
        if origin.kind == "unknown" or depth > 4:
            self._unknown_read(read, None, suffix)
            return True
        if origin.kind == "param":
            return self._resolve_param_read(read, origin, suffix, depth, stack)
        if origin.kind == "new" or origin.shape != "objects":
            return True  # (a new object's reads are settled during the walk)
        path = self.graph.concrete(origin.model, normal_path((*origin.path, *suffix)))
        model = self.graph.walk(origin.model, path)
        if model is None:
            self._unknown_read(read, None, path)
            return True
        relationship = self.graph.relationship(model, read.attr)
        if relationship is None:
            self._resolve_other_read(read, origin, suffix, depth, model)
            return True
        if relationship.lazy in QUERY_LOADERS:
            return True
        producer = self._producer_of(origin)
        if producer is not None:
            producer.needs.add(normal_path((*path, read.attr)))
            return True
        if self._awaitable(read, model):
            self.plan.awaitable_reads.add((read.path, read.span))
            self.plan.awaited_names.add(read.attr)
            return True
        self.uncover(read.attr, model)
        self._recursion_todo(read, path, model)
        return True

    def _recursion_todo(self, read: ReadEvent, path: Path, model: ModelFacts | None) -> None:
        """``read`` walks its relationship recursively (``path`` has a recursive step of
        it) on objects no loader option can reach: the levels below the first that
        ``lazy="selectin", join_depth=1`` loads would raise ``MissingGreenlet``."""
        if recursive(read.attr) not in path:
            return
        owners = [model.qualname] if model is not None else []
        owners = owners or self.graph.recursive_owners(read.attr)
        owner = owners[0].rsplit(".", 1)[-1] if len(owners) == 1 else "Model"
        self.plan.subclass_todos[(read.path, read.span)] = (
            f"{read.attr} is walked recursively on objects whose query is not known here: "
            f"under asyncio the levels below the first raise MissingGreenlet; give that query "
            f".options(selectinload({owner}.{read.attr}, recursion_depth=-1))"
        )

    def _producer_of(self, origin: Origin) -> Producer | None:
        if origin.kind != "site":
            return None
        file, span = origin.key
        return self.plan.producers.get((str(file), span))  # type: ignore[arg-type]

    def _awaitable(self, read: ReadEvent, model: ModelFacts) -> bool:
        """Can the read become ``await obj.awaitable_attrs.attr``? (Not a later hop of an
        association proxy: ``awaitable_attrs`` loads its first relationship only.)"""
        if read.proxy_hop:
            return False
        return read.function in self.async_functions and self._async_attrs_base(model)

    def _unknown_read(self, read: ReadEvent, model: ModelFacts | None, path: Path = ()) -> None:
        """``read`` is on objects whose producer is not known (or of class ``model``
        only), reached along ``path``: what it reads stays eager where declared, or gets
        a TODO."""
        self._recursion_todo(read, path, model)
        if model is not None and self.graph.relationship(model, read.attr) is not None:
            self.uncover(read.attr, model)
            return
        self.plan.uncovered.add(read.attr)
        self.plan.uncovered |= self.graph.proxied_names(read.attr)
        if read.attr not in self.graph.names and read.attr not in self.graph.proxy_names:
            self._unknown_subclass_read(read, model)

    def _unknown_subclass_read(self, read: ReadEvent, model: ModelFacts | None) -> None:
        """A TODO where a subclass attribute is read on objects that may come from a query
        of a base class, unless in a method of that subclass (``self.engineer_name``)."""
        owners = self.graph.hierarchy.subclass_owners(read.attr, self._queried())
        function = read.function or ""
        if any(function.startswith(f"{o.qualname}.") for o in owners):
            return
        if model is not None and model not in owners and self.graph.has_column(model, read.attr):
            return  # a column of the (unrelated) class the object is known to be of
        if owners:
            base = self.graph.hierarchy.lineage(owners[0])[-1].qualname
            todo = _subclass_todo(read.attr, owners, base)
            self.plan.subclass_todos[(read.path, read.span)] = todo

    def _queried(self) -> set[str]:
        """The models whose objects some query (or relationship) of the project returns."""
        if self._queried_models is None:
            queried = {p.model for p in self.plan.producers.values()}
            for model in self.index.models.values():
                for relationship in model.relationships.values():
                    target = self.index.relationship_target(model, relationship)
                    queried.update([target.qualname] if target is not None else [])
            self._queried_models = queried
        return self._queried_models

    def _resolve_other_read(
        self, read: ReadEvent, origin: Origin, suffix: Path, depth: int, model: ModelFacts
    ) -> None:
        """``x.attr`` where ``attr`` is no relationship of ``x``'s class: an association
        proxy, or an attribute of subclasses the query did not load."""
        proxied = self.graph.proxied_path(model, read.attr)
        if proxied is not None:
            for hop, step in enumerate(proxied[0]):
                self.plan.seen_reads.add(step)
                through = replace(read, attr=step, proxy_hop=read.proxy_hop or hop > 0)
                self._resolve_read(through, origin, (*suffix, *proxied[0][:hop]), depth + 1)
            return
        subclasses = self.graph.hierarchy.unloaded_subclasses(model, read.attr)
        if not subclasses:
            return
        for subclass in subclasses:
            if self.graph.relationship(subclass, read.attr) is not None:
                self.uncover(read.attr, subclass)  # loaded along with the subclass
        producer = self._producer_of(origin)
        if producer is not None:
            loaded = producer.polymorphic.setdefault((*origin.path, *suffix), [])
            loaded += [s.qualname for s in subclasses if s.qualname not in loaded]
        elif (
            self._awaitable(read, model)
            and self.graph.relationship(subclasses[0], read.attr) is None
        ):
            self.plan.awaitable_reads.add((read.path, read.span))  # a column: awaited
        else:
            todo = _subclass_todo(read.attr, subclasses, model.qualname)
            self.plan.subclass_todos[(read.path, read.span)] = todo

    def uncover(self, attr: str, model: ModelFacts | None) -> None:
        """``attr`` is read where no statement loads it: it stays eager where declared."""
        if model is None:
            self.plan.uncovered.add(attr)
            return
        relationship = self.graph.relationship(model, attr)
        if relationship is not None:
            self.plan.uncovered_members.add((relationship.owner.qualname, attr))

    def _resolve_param_read(
        self,
        read: ReadEvent,
        origin: Origin,
        suffix: Path,
        depth: int,
        stack: tuple[tuple[object, object, Path], ...],
    ) -> bool:
        """``read`` on objects reached from a parameter: on what each call passes. A
        call passing what the parameter reached again, further along one relationship
        (a recursion, direct or through other functions), passes every level of it."""
        function, param = origin.key
        info = self.functions.get(str(function))
        calls = self.calls.get(str(function), [])
        tail = normal_path((*origin.path, *suffix))
        annotated = self.graph.walk(origin.model, tail) if origin.model is not None else None
        if info is None or not info.traceable or not calls:
            walked = self._self_recursion(str(function), str(param))
            self._recursion_todo(read, (*tail, *walked), annotated)
            self._unknown_read(read, annotated, tail)
            return True
        outermost = True
        for seen_function, seen_param, seen in reversed(stack):
            if (seen_function, seen_param) != (function, param):
                continue
            outermost = False
            if seen == tail:  # what this parameter reaches is being resolved already
                self._walked.update(step_name(s) for s in tail if is_recursive(s))
                return False
            moved = _moved_along(seen, tail)
            if moved is not None:
                tail = normal_path((recursive(moved), *seen))
                if (function, param, tail) in stack:
                    self._walked.add(moved)
                    return False
                break
        stack = (*stack, (function, param, tail))
        reached = False
        for bound in calls:
            for given in bound.get(str(param), UNKNOWN_VALUE):
                reached = self._resolve_read(read, given, tail, depth + 1, stack) or reached
        if not reached and outermost:
            # called only from the recursion itself: from outside the project
            walked = tuple(recursive(name) for name in sorted(self._walked))
            self._recursion_todo(read, (*tail, *walked), annotated)
            self._unknown_read(read, annotated, tail)
            return True
        return reached

    def _self_recursion(self, function: str, param: str) -> Path:
        """``(children*,)`` when ``function`` calls itself passing what ``param`` holds
        further along relationship ``children``."""
        for bound in self.calls.get(function, []):
            for given in bound.get(param, NOTHING):
                if given.kind == "param" and given.key == (function, param):
                    moved = _moved_along((), given.path)
                    if moved is not None:
                        return (recursive(moved),)
        return ()

    def initialised_collections(self, qualname: str) -> set[str]:
        """The collections ``init-collections`` passes as ``[]`` to ``M(...)``: those read
        somewhere, when the class keeps the default constructor."""
        model = self.index.model(qualname)
        if model is None or self._own_init(model):
            return set()
        return self.index.collections(model) & self.read_anywhere

    def _own_init(self, model: ModelFacts, depth: int = 0) -> bool:
        if model.has_init:
            return True
        parents = [self.index.model(b) for b in model.bases]
        return depth < 20 and any(
            p is not None and p is not model and self._own_init(p, depth + 1) for p in parents
        )

    # -- options -----------------------------------------------------------------------------
    def _eager_anyway(self, relationship: Relationship) -> bool:
        """Loaded with its parent whatever the statement says (configured, or given
        ``lazy="selectin"`` by ``eager-relationships``)."""
        if relationship.lazy in EAGER_STRATEGIES:
            return True
        return self.plan.keeps_relationship_eager(relationship.name, self.read_anywhere)

    def _plan_options(self, producer: Producer) -> None:
        needs = _through_walks(producer.needs, producer.existing)
        needed = {p for p in needs if not producer.loads(p)}
        maximal = sorted(p for p in needed if not any(_covers(o, p) for o in needed))
        module = self.module_of(producer.path)
        polymorphic = self._polymorphic_needs(producer)
        for path in maximal:
            chain = self._chain(producer, module, path) if path not in polymorphic else ()
            if chain is not None and self._conflicting_walk(producer, path):
                chain = None
            if chain is None:
                self.plan.uncovered.update(step_name(step) for step in path)
            elif chain and not any(c[: len(chain)] == chain for c in producer.chains):
                # (a chain cut short where the rest loads anyway may be another's start)
                producer.chains = [c for c in producer.chains if chain[: len(c)] != c]
                producer.chains.append(chain)
        for path, subclasses in polymorphic.items():
            chain = self._polymorphic_chain(producer, module, path, subclasses)
            if chain is not None:
                producer.chains.append(chain)

    def _conflicting_walk(self, producer: Producer, path: Path) -> bool:
        """Does the statement name a relationship ``path`` walks recursively with an option
        of its own (``selectinload(Node.children)``, ``raiseload(...)``)? SQLAlchemy
        refuses a second, recursive one for it: a TODO at the statement instead."""
        for position, step in enumerate(path):
            if is_recursive(step) and (*path[:position], step_name(step)) in producer.existing:
                model = self.graph.walk(producer.model, path[:position])
                owner = model.qualname.rsplit(".", 1)[-1] if model is not None else "Model"
                name = step_name(step)
                self.plan.subclass_todos[(producer.path, producer.span)] = (
                    f"{name} is walked recursively on these objects: every level must load, "
                    f"but the statement's own loader option for {owner}.{name} decides "
                    f"otherwise (MissingGreenlet under asyncio below it): replace it with "
                    f"selectinload({owner}.{name}, recursion_depth=-1)"
                )
                return True
        return False

    def _polymorphic_needs(self, producer: Producer) -> dict[Path, list[str]]:
        """The subclasses to load at each path that its options do not load already."""
        needs = {}
        for path, subclasses in sorted(producer.polymorphic.items()):
            missing = [s for s in subclasses if (path, s) not in producer.existing_polymorphic]
            if missing:
                needs[path] = missing
        return needs

    def _polymorphic_chain(
        self, producer: Producer, module: str | None, path: Path, subclasses: list[str]
    ) -> tuple[Step, ...] | None:
        """``selectin_polymorphic(M, [Sub])``, or ``selectinload(M.rel)...
        .selectin_polymorphic([Sub])`` for the objects at ``path``; None (and a TODO at
        the producer) when a class on the way cannot be named in its module."""
        imports = self.imports.get(module or "", {})
        steps = self._path_steps(producer, module, path)
        reached = self.graph.walk(producer.model, path)
        model = reached.qualname if reached is not None else producer.model
        named = [class_name_in(self.index, module, imports, s) for s in subclasses]
        base = class_name_in(self.index, module, imports, producer.model) if not path else None
        if steps is None or None in named or (not path and base is None):
            self.plan.subclass_todos[(producer.path, producer.span)] = _subclass_todo(
                "what is read", [m for s in subclasses if (m := self.index.model(s))], model
            )
            return None
        owner, owner_import = base if base is not None else ("", None)
        return (
            *steps,
            Step(
                "selectin_polymorphic",
                owner,
                "",
                owner_import,
                tuple(n[0] for n in named if n is not None),
                tuple(n[1] for n in named if n is not None and n[1] is not None),
            ),
        )

    def _path_steps(
        self, producer: Producer, module: str | None, path: Path
    ) -> tuple[Step, ...] | None:
        """The option steps reaching every object at ``path`` (the lazy relationships
        loaded, the others reached with ``defaultload``)."""
        steps: list[Step] = []
        owner = self.index.model(producer.model)
        imports = self.imports.get(module or "", {})
        for position, step in enumerate(path):
            relationship = self._step_relationship(owner, step)
            if relationship is None or relationship.lazy in QUERY_LOADERS:
                return None
            named = class_name_in(self.index, module, imports, relationship.owner.qualname)
            if named is None:
                return None
            lazy = self._lazy_step(producer, path[: position + 1], relationship)
            steps.append(self._loader_step(relationship, step, lazy, named))
            owner = relationship.target
        return tuple(steps)

    def _step_relationship(self, owner: ModelFacts | None, step: str) -> Relationship | None:
        if owner is None:
            return None
        if is_recursive(step):
            return self.graph.self_referential(owner, step_name(step))
        return self.graph.relationship(owner, step)

    def _lazy_step(self, producer: Producer, path: Path, relationship: Relationship) -> bool:
        """Does the last step of ``path`` need a loader? A recursive step does unless the
        statement has one, or the relationship never loads (``raise``, ``noload``):
        ``lazy="selectin", join_depth=1`` loads one level only."""
        if producer.loads(path):
            return False
        if is_recursive(path[-1]):
            return relationship.lazy not in NEVER_LOADED
        return not self._eager_anyway(relationship)

    @staticmethod
    def _loader_step(
        relationship: Relationship,
        step: str,
        lazy: bool,
        named: tuple[str, tuple[str, str] | None],
    ) -> Step:
        """``selectinload(Post.comments)``, ``joinedload(Post.author)``,
        ``selectinload(Node.children, recursion_depth=-1)``, or ``defaultload`` on the
        way to what is loaded."""
        name, needed_import = named
        if is_recursive(step) and (lazy or relationship.lazy not in NEVER_LOADED):
            # (loaded by the statement's own, identical option: repeated, for what follows
            # to be loaded on every level)
            return Step("selectinload", name, relationship.name, needed_import, recursive=True)
        if not lazy:
            return Step("defaultload", name, relationship.name, needed_import)
        loader = "joinedload" if relationship.collection is False else "selectinload"
        return Step(loader, name, relationship.name, needed_import)

    def _chain(self, producer: Producer, module: str | None, path: Path) -> tuple[Step, ...] | None:
        """The option loading ``path`` (() when nothing needs loading; None when the
        classes on the way cannot be named in the producer's module)."""
        relationships: list[Relationship] = []
        owner = self.index.model(producer.model)
        for step in path:
            relationship = self._step_relationship(owner, step)
            if relationship is None:
                return None
            if relationship.lazy in QUERY_LOADERS:
                # a dynamic (or write-only) relationship loads nothing with its parent: its
                # items come from a query of its own, which no option reaches
                path = path[: len(relationships)]
                break
            relationships.append(relationship)
            owner = relationship.target
        if not relationships:
            return ()
        lazy = [self._lazy_step(producer, path[: i + 1], r) for i, r in enumerate(relationships)]
        if not any(lazy):
            return ()
        last = max(i for i, is_lazy in enumerate(lazy) if is_lazy)
        steps = []
        imports = self.imports.get(module or "", {})
        for relationship, step, is_lazy in zip(relationships[: last + 1], path, lazy, strict=False):
            named = class_name_in(self.index, module, imports, relationship.owner.qualname)
            if named is None:
                return None
            steps.append(self._loader_step(relationship, step, is_lazy, named))
        return tuple(steps)

    def module_of(self, path: str) -> str | None:
        entry = self.trees.get(path)
        return entry[0] if entry else None

    def _async_attrs_base(self, model: ModelFacts) -> bool:
        base = self.declarative_base(model)
        if base is None:
            return False
        self.plan.async_attrs_bases.add(base)
        return True

    def declarative_base(self, model: ModelFacts, depth: int = 0) -> str | None:
        """The declarative base a model derives from, unless Flask-SQLAlchemy's ``db.Model``."""
        for base in model.bases:
            resolved = self.index.resolve_alias(base)
            parent = self.index.models.get(resolved)
            if parent is not None:
                if depth < 20:
                    found = self.declarative_base(parent, depth + 1)
                    if found is not None:
                        return found
                continue
            if resolved.endswith(".Model"):
                return None
            module, _, _ = resolved.rpartition(".")
            facts = self.index.modules.get(module)
            if facts is None:
                continue
            declared = facts.models.get(resolved)
            if (
                declared is None
                or declared.declarative_decorator
                or any("DeclarativeBase" in b for b in declared.bases)
            ):
                return resolved
        return None


def class_name_in(
    index: ProjectIndex, module: str | None, imports: dict[str, str], qualname: str
) -> tuple[str, tuple[str, str] | None] | None:
    """How code of ``module`` names the class ``qualname``: its local name, and the import
    to add first (None when it is bound already); None when the name is taken."""
    facts = index.modules.get(module or "")
    if facts is None:
        return None
    short = qualname.rsplit(".", 1)[-1]
    for local, imported in imports.items():
        if index.resolve_alias(imported) == qualname:
            return local, None
    if f"{module}.{short}" == qualname and qualname in facts.models:
        return short, None
    owner_module = qualname.rpartition(".")[0]
    for local, imported in imports.items():
        if imported == owner_module:  # ``from . import models``: ``models.User``
            return f"{local}.{short}", None
    taken = (
        short in imports
        or f"{module}.{short}" in facts.models
        or f"{module}.{short}" in facts.functions
        or f"{module}.{short}" in facts.objects
    )
    if taken:
        return None
    return short, (owner_module, short)


def _own_nodes(function: ast.AST) -> Iterator[ast.AST]:
    """Nodes of a function, not of the functions and classes nested in it."""
    stack = list(ast.iter_child_nodes(function))
    while stack:
        node = stack.pop()
        yield node
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Lambda):
            stack.extend(ast.iter_child_nodes(node))


def _imports(tree: ast.Module, module: str, path: str) -> dict[str, str]:
    """Local name → qualified name for the module-level imports of ``tree``."""
    found: dict[str, str] = {}
    is_package = path.endswith("__init__.py")
    for statement in tree.body:
        if isinstance(statement, ast.Import):
            for alias in statement.names:
                local = alias.asname or alias.name.split(".")[0]
                found[local] = alias.name if alias.asname else local
        elif isinstance(statement, ast.ImportFrom):
            dotted = "." * statement.level + (statement.module or "")
            source = resolve_relative(dotted, module, is_package) if statement.level else dotted
            for alias in statement.names:
                if alias.name != "*":
                    found[alias.asname or alias.name] = f"{source}.{alias.name}"
    return found


def _parse(source: bytes) -> ast.Module | None:
    try:
        return ast.parse(source)
    except (SyntaxError, ValueError, RecursionError):
        return None


def eager_plan(
    index: ProjectIndex,
    sources: dict[str, bytes],
    async_functions: set[str],
    read_anywhere: set[str],
    template_roots: Sequence[pathlib.Path] | None = None,
) -> EagerPlan:
    """The loader options, refreshes and fallbacks of a project (``sources``: file path →
    stage-one code; ``read_anywhere``: attribute names read in any code or template;
    ``template_roots``: where its templates are looked up)."""
    analysis = EagerLoadAnalysis(index, sources, template_roots)
    return analysis.run(async_functions, read_anywhere)
