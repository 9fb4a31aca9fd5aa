"""Lazy-load risk sites: relationship reads after the session that loaded the object ended.

Read-only analysis for the readiness report, on the original code with ``ast`` and the
project index. Within each function, objects are followed from the session they came
from to the reads of their relationships:

* a session is opened by ``with <session factory / Session / session provider>() as s:``
  or ``s = <the same>()``;
* a name bound inside that block from an expression using ``s`` (or an object loaded
  from it: ``for line in order.lines``) holds a loaded object;
* when the block ends, or ``s.close()`` runs, those objects are detached;
* a function returning such an object hands detached objects to its callers, in any
  module;
* reading ``obj.rel`` on a detached object, where ``rel`` is a relationship of a project
  model that loads lazily, is a risk site: a lazy load with no session
  (``DetachedInstanceError``), and under asyncio one the event loop cannot run
  (``MissingGreenlet``), unless the relationship is loaded eagerly.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from sqla_upgrade.codemods.index.model import ModuleFacts, ObjectKind, ProjectIndex

#: strategies that load a relationship on first access (None: the default, "select")
LAZY_STRATEGIES = frozenset({None, "select", "True", "dynamic"})
SESSION_OPENERS = frozenset(
    {ObjectKind.SESSION_FACTORY, ObjectKind.SCOPED_SESSION, ObjectKind.SESSION_PROVIDER}
)
SESSION_CLASSES = frozenset({"sqlalchemy.orm.Session", "sqlalchemy.orm.session.Session"})


@dataclass(frozen=True)
class LazyRisk:
    path: str
    line: int
    expression: str  # ``order.lines``
    relationships: tuple[str, ...]  # ``Order.lines`` for every model with that relationship
    reason: str


def lazy_relationships(index: ProjectIndex) -> dict[str, list[str]]:
    """Relationship name → ``Model.name`` of every project relationship loading lazily."""
    names: dict[str, list[str]] = {}
    for model in index.models.values():
        short = model.qualname.rsplit(".", 1)[-1]
        for relationship in model.relationships.values():
            if relationship.lazy in LAZY_STRATEGIES:
                names.setdefault(relationship.name, []).append(f"{short}.{relationship.name}")
        for proxy, (collection, _) in model.association_proxies.items():
            # ``keywords = association_proxy("kw_links", "keyword")`` loads ``kw_links``
            through = model.relationships.get(collection)
            if through is not None and through.lazy in LAZY_STRATEGIES:
                names.setdefault(proxy, []).append(f"{short}.{proxy}")
    return names


def functions_of(tree: ast.Module) -> Iterator[tuple[str, ast.FunctionDef | ast.AsyncFunctionDef]]:
    """Every function with its dotted name inside the module (``Class.method``)."""

    def walk(body: Iterable[ast.stmt], prefix: str) -> Iterator[tuple[str, ast.AST]]:
        for node in body:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                yield f"{prefix}{node.name}", node
                yield from walk(node.body, f"{prefix}{node.name}.")
            elif isinstance(node, ast.ClassDef):
                yield from walk(node.body, f"{prefix}{node.name}.")
            else:
                for child in ast.iter_child_nodes(node):
                    if isinstance(child, ast.stmt):
                        yield from walk([child], prefix)
                    elif isinstance(child, ast.ExceptHandler | ast.match_case):
                        yield from walk(child.body, prefix)

    for name, node in walk(tree.body, ""):
        assert isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        yield name, node


def _mentions(node: ast.AST, names: Iterable[str]) -> str | None:
    wanted = set(names)
    for child in ast.walk(node):
        if isinstance(child, ast.Name) and child.id in wanted:
            return child.id
    return None


@dataclass
class _FunctionWalk:
    """Follows one function's statements in order."""

    module: ModuleFacts
    index: ProjectIndex
    relationships: dict[str, list[str]]
    returners: dict[str, str]
    open_sessions: set[str] = field(default_factory=set)
    loaded: dict[str, str] = field(default_factory=dict)  # object name → session name
    detached: dict[str, str] = field(default_factory=dict)  # object name → why
    risks: list[LazyRisk] = field(default_factory=list)
    returns_detached: str | None = None

    # -- names -----------------------------------------------------------------------
    def qualify(self, node: ast.expr) -> str | None:
        if isinstance(node, ast.Name):
            return self.module.imports.get(node.id, f"{self.module.name}.{node.id}")
        if isinstance(node, ast.Attribute):
            owner = self.qualify(node.value)
            return f"{owner}.{node.attr}" if owner else None
        return None

    def opens_session(self, expr: ast.expr) -> bool:
        if not isinstance(expr, ast.Call):
            return False
        name = self.qualify(expr.func)
        if name is None:
            return False
        return (
            self.index.kind_of(name) in SESSION_OPENERS
            or self.index.resolve_alias(name) in SESSION_CLASSES
        )

    def detached_call(self, expr: ast.expr) -> str | None:
        if not isinstance(expr, ast.Call):
            return None
        name = self.qualify(expr.func)
        return self.returners.get(self.index.resolve_alias(name)) if name else None

    # -- statements --------------------------------------------------------------------
    def block(self, statements: Iterable[ast.stmt]) -> None:
        for stmt in statements:
            self.statement(stmt)

    def statement(self, stmt: ast.stmt) -> None:
        if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            return
        for header in _header_parts(stmt):
            self.reads(header)
        if isinstance(stmt, ast.With | ast.AsyncWith):
            self.with_block(stmt)
            return
        if isinstance(stmt, ast.Assign | ast.AnnAssign) and stmt.value is not None:
            targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
            for target in targets:
                self.bind(target, stmt.value)
        elif isinstance(stmt, ast.For | ast.AsyncFor):
            self.bind(stmt.target, stmt.iter)
        elif isinstance(stmt, ast.Return) and stmt.value is not None:
            self.returned(stmt.value)
        elif isinstance(stmt, ast.Expr):
            self.maybe_close(stmt.value)
        for name in ("body", "handlers", "orelse", "finalbody", "cases"):
            for child in getattr(stmt, name, ()):
                if isinstance(child, ast.stmt):
                    self.statement(child)
                else:
                    self.block(getattr(child, "body", ()))

    def with_block(self, stmt: ast.With | ast.AsyncWith) -> None:
        opened = [
            item.optional_vars.id
            for item in stmt.items
            if isinstance(item.optional_vars, ast.Name) and self.opens_session(item.context_expr)
        ]
        self.open_sessions.update(opened)
        self.block(stmt.body)
        for session in opened:
            self.close(session, f"read after the `with` block of line {stmt.lineno} closed")

    def _source(self, value: ast.expr, names: Iterable[str]) -> str | None:
        """The name ``value`` takes objects from: ``session.get(..)``, ``order.lines``."""
        wanted = set(names)
        root = _root_name(value)
        if isinstance(value, ast.Attribute) and root in wanted:
            return root
        if _is_object(value, wanted, self.open_sessions):
            return root if root in wanted else _mentions(value, wanted)
        return None

    def bind(self, target: ast.expr, value: ast.expr) -> None:
        names = _bound_names(target)
        if self.opens_session(value):  # session = Session(): open until session.close()
            self.open_sessions.update(names)
            return
        source = self._source(value, [*self.open_sessions, *self.loaded])
        reason = self.detached_call(value)
        from_detached = self._source(value, self.detached)
        for name in names:
            self.loaded.pop(name, None)
            self.detached.pop(name, None)
            if source is not None:
                self.loaded[name] = self.loaded.get(source, source)
            elif reason is not None:
                self.detached[name] = reason
            elif from_detached is not None:
                self.detached[name] = self.detached[from_detached]

    def returned(self, value: ast.expr) -> None:
        objects = {*self.open_sessions, *self.loaded}
        if self.open_sessions and _is_object(value, objects, self.open_sessions):
            self.returns_detached = "returned from inside its session scope"
        elif _is_object(value, set(self.detached), set()):
            self.returns_detached = "returned after its session closed"

    def maybe_close(self, value: ast.expr) -> None:
        if (
            isinstance(value, ast.Call)
            and isinstance(value.func, ast.Attribute)
            and value.func.attr == "close"
            and isinstance(value.func.value, ast.Name)
        ):
            session = value.func.value.id
            if session in self.open_sessions or session in self.loaded.values():
                self.close(session, f"read after {session}.close() at line {value.lineno}")

    def close(self, session: str, reason: str) -> None:
        self.open_sessions.discard(session)
        for name, source in list(self.loaded.items()):
            if source == session:
                del self.loaded[name]
                self.detached[name] = reason

    def reads(self, node: ast.AST) -> None:
        for child in ast.walk(node):
            if isinstance(child, ast.Attribute) and child.attr in self.relationships:
                reason = self.detached_reason(child.value)
                if reason is not None:
                    self.risks.append(
                        LazyRisk(
                            path=self.module.path,
                            line=child.lineno,
                            expression=ast.unparse(child),
                            relationships=tuple(sorted(self.relationships[child.attr])),
                            reason=reason,
                        )
                    )

    def detached_reason(self, owner: ast.expr) -> str | None:
        """Why ``owner`` holds a detached object (``order``, ``load(i)``), or None."""
        if isinstance(owner, ast.Name):
            return self.detached.get(owner.id)
        return self.detached_call(owner)


SCALAR_METHODS = frozenset({"count", "scalar", "exists", "scalar_one", "scalar_one_or_none"})


def _root_name(expr: ast.expr) -> str | None:
    while isinstance(expr, ast.Attribute | ast.Call | ast.Subscript):
        expr = expr.func if isinstance(expr, ast.Call) else expr.value
    return expr.id if isinstance(expr, ast.Name) else None


def _is_object(expr: ast.expr, names: set[str], sessions: set[str]) -> bool:
    """Could ``expr`` be mapped objects loaded through ``names`` (sessions and loaded
    objects)? A session method's result or a helper given the session may be; column
    values (``obj.id``), counts and data built from objects are not."""
    if isinstance(expr, ast.Await):
        return _is_object(expr.value, names, sessions)
    if isinstance(expr, ast.Name):
        return expr.id in names
    if isinstance(expr, ast.Tuple | ast.List):
        return any(_is_object(e, names, sessions) for e in expr.elts)
    if not isinstance(expr, ast.Call):
        return False
    func = expr.func
    if isinstance(func, ast.Attribute) and func.attr in SCALAR_METHODS:
        return False
    if isinstance(func, ast.Attribute) and _root_name(func) in names:
        return True
    return any(isinstance(a, ast.Name) and a.id in sessions for a in expr.args)


def _bound_names(target: ast.expr) -> list[str]:
    """Names a target rebinds (``a``, ``a, b``); ``d[k] = ..`` and ``o.x = ..`` rebind none."""
    if isinstance(target, ast.Name):
        return [target.id]
    if isinstance(target, ast.Tuple | ast.List):
        return [name for element in target.elts for name in _bound_names(element)]
    if isinstance(target, ast.Starred):
        return _bound_names(target.value)
    return []


def _header_parts(stmt: ast.stmt) -> list[ast.AST]:
    """The parts of a statement evaluated before its nested blocks (all of a simple one)."""
    if not any(hasattr(stmt, n) for n in ("body", "handlers", "cases")):
        return [stmt]
    parts: list[ast.AST] = []
    for name in ("test", "iter", "subject"):
        value = getattr(stmt, name, None)
        if isinstance(value, ast.AST):
            parts.append(value)
    parts.extend(item.context_expr for item in getattr(stmt, "items", ()))
    return parts


def _parse(source: bytes) -> ast.Module | None:
    try:
        return ast.parse(source)
    except (SyntaxError, ValueError, RecursionError):
        return None


class LazyReadAnalysis:
    """Risk sites of some files, knowing which functions of the whole project return
    detached objects."""

    def __init__(self, index: ProjectIndex, sources: dict[str, bytes]) -> None:
        self.index = index
        self.relationships = lazy_relationships(index)
        self.returners: dict[str, str] = {}
        for facts in index.modules.values():
            tree = _parse(sources.get(facts.path, b""))
            if tree is not None:
                self._collect_returners(facts, tree)

    def _walk(self, facts: ModuleFacts, function: ast.AST) -> _FunctionWalk:
        walk = _FunctionWalk(facts, self.index, self.relationships, self.returners)
        walk.block(getattr(function, "body", []))
        return walk

    def _collect_returners(self, facts: ModuleFacts, tree: ast.Module) -> None:
        for name, function in functions_of(tree):
            walk = self._walk(facts, function)
            if walk.returns_detached:
                qualname = f"{facts.name}.{name}"
                self.returners[qualname] = f"returned by {name}() after its session closed"

    def risks(self, module_name: str, source: bytes) -> list[LazyRisk]:
        facts = self.index.modules.get(module_name)
        tree = _parse(source)
        if facts is None or tree is None or not self.relationships:
            return []
        found: dict[tuple[int, str], LazyRisk] = {}
        for _, function in functions_of(tree):
            for risk in self._walk(facts, function).risks:
                found.setdefault((risk.line, risk.expression), risk)
        return [found[key] for key in sorted(found)]
