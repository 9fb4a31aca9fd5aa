"""Helpers of the differential suite: migrate, execute legacy and migrated code, compare.

A *case* is the source of a module defining ``run(session)``; ``run`` builds a legacy
``Query`` chain and returns what its terminal returns. The case is migrated with
``sqla_upgrade.api.migrate_source`` and both versions are executed against the same
seeded database, each in its own ``Session`` bound to a connection whose transaction is
rolled back afterwards (so bulk UPDATE/DELETE cases always start from the seed).

What is compared (the *outcome* of a run):

* the returned value, normalized: ORM objects become ``(class, identity, column
  values, loaded relationships)`` read from the instance state without triggering
  loads; ``Row`` objects keep their keys (``_fields``); lists stay lists (compared as
  multisets when the chain has no total order); ``Decimal``/``float`` are rounded;
* or, when ``run`` raises, the exception class name;
* for cases that write (bulk ``update()``/``delete()``): the table contents afterwards
  and the in-session state of objects loaded before ``run`` (what
  ``synchronize_session`` decides).

Besides the execution, every migrated source is checked: it compiles, a second
migration changes nothing, and it contains no ``.query(`` unless the tool left a TODO
(then the ``run`` function must be byte-identical to the legacy one, TODO comment lines
aside: a "left for review" case, counted, not a failure).
"""

from __future__ import annotations

import ast
import datetime
import json
import os
import re
import traceback
import types
import warnings
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import inspect, select
from sqlalchemy.engine import Connection, Engine, Row
from sqlalchemy.orm import Session

from .models_src import MODELS_SOURCE, MODULE_NAME, load_models

try:  # the API is being written concurrently; keep the module importable regardless
    from sqla_upgrade.api import MigrationError, migrate_source
except Exception as _import_error:  # pragma: no cover - only while the tree is broken
    IMPORT_ERROR: Exception | None = _import_error
    MigrationError = Exception  # type: ignore[misc,assignment]
    migrate_source = None  # type: ignore[assignment]
else:
    IMPORT_ERROR = None

PROJECT = {MODULE_NAME: MODELS_SOURCE}
UNLOADED = "<unloaded>"
RESULT_COUNT_ERRORS = frozenset({"NoResultFound", "MultipleResultsFound"})


# --------------------------------------------------------------------------- cases
@dataclass(frozen=True)
class Case:
    """One legacy chain to check.

    ``ordered``: the chain has a total order, compare returned lists element by
    element (otherwise as multisets). ``writes``: the chain modifies rows (compare the
    database and the identity map afterwards too).
    """

    source: str
    ordered: bool = True
    writes: bool = False
    name: str = ""
    features: tuple[str, ...] = ()


# --------------------------------------------------------------------------- migration
@dataclass
class MigrationCheck:
    """What migrating one source gave, and the static checks on it."""

    legacy: str
    migrated: str | None = None
    changed: bool = False
    todos: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    left_for_review: bool = False


_MIGRATIONS: dict[str, MigrationCheck] = {}


def migrate(source: str) -> MigrationCheck:
    """Migrate ``source`` (cached per process) and run the static checks on the output."""
    cached = _MIGRATIONS.get(source)
    if cached is None:
        cached = _MIGRATIONS[source] = _migrate_and_check(source)
    return cached


def migrate_many(sources: Iterable[str], jobs: int | None = None) -> None:
    """Fill the cache for ``sources``, migrating in parallel worker processes.

    Migrating is the slow part of a case (two ``migrate_source`` runs, for the
    idempotence check), and it is pure: workers return the checks, the parent caches.
    """
    todo = list(dict.fromkeys(s for s in sources if s not in _MIGRATIONS))
    if not todo:
        return
    jobs = jobs or _default_jobs()
    if jobs <= 1 or len(todo) < 8:
        for source in todo:
            migrate(source)
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if "fork" in methods else None)
    try:
        with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
            chunk = max(1, len(todo) // (jobs * 4))
            for source, check in zip(
                todo, pool.map(_migrate_and_check, todo, chunksize=chunk), strict=True
            ):
                _MIGRATIONS[source] = check
    except Exception:  # no worker processes here: fall back to doing it in-process
        for source in todo:
            migrate(source)


def _default_jobs() -> int:
    configured = os.environ.get("SQLA_DIFF_JOBS")
    if configured:
        return max(1, int(configured))
    return max(1, min(4, os.cpu_count() or 1))


def _migrate_and_check(source: str) -> MigrationCheck:
    check = MigrationCheck(legacy=source)
    if migrate_source is None:
        check.problems.append(f"sqla_upgrade.api cannot be imported: {IMPORT_ERROR!r}")
        return check
    try:
        result = migrate_source(
            source, target="2.0", module_name="chains", path="chains.py", project=PROJECT
        )
    except MigrationError as exc:
        check.problems.append(f"migrate_source raised MigrationError: {exc}")
        return check
    except Exception as exc:
        check.problems.append(
            f"migrate_source crashed: {type(exc).__name__}: {exc}\n{traceback.format_exc()}"
        )
        return check
    check.migrated = result.code
    check.changed = result.changed
    check.todos = [n.message for n in result.todos]
    check.notes = [n.render() for n in result.notes]
    # 1. the output compiles
    try:
        compile(result.code, "chains.py", "exec", dont_inherit=True)
    except SyntaxError as exc:
        check.problems.append(f"migrated output does not compile: {exc}")
        return check
    # 2. idempotence (an unchanged output is the input again: nothing more to learn)
    if result.code != source or result.changed:
        _check_idempotent(check, result.code)
    # 3. no legacy Query left, unless left for review with a TODO and untouched
    if ".query(" in result.code:
        if not check.todos:
            check.problems.append("`.query(` left in the output without a TODO note")
        else:
            where = partially_rewritten(source, result.code)
            if where:
                check.problems.append(
                    "left with a TODO but the legacy chain was partially rewritten "
                    f"(TODOs: {check.todos}): {where}"
                )
            else:
                check.left_for_review = True
    return check


def _check_idempotent(check: MigrationCheck, code: str) -> None:
    try:
        again = migrate_source(
            code, target="2.0", module_name="chains", path="chains.py", project=PROJECT
        )
    except Exception as exc:
        check.problems.append(f"second migration raised {type(exc).__name__}: {exc}")
        return
    if again.changed or again.code != code:
        check.problems.append(
            "not idempotent: a second migration changes the output:\n" + again.code
        )


def partially_rewritten(legacy: str, migrated: str) -> str | None:
    """Where the code left for review differs from the legacy code, or None.

    Imports and comments (the TODO markers) aside, the two modules must be the same
    syntax tree, except for expressions in which every ``session.query(...)`` chain
    still present is an untouched copy of a legacy chain: other chains in the same
    statement (a nested ``in_(session.query(...))``, the outer
    ``session.query(q.exists()).scalar()``) may be rewritten on their own.
    """
    legacy_tree = ast.parse(legacy)
    legacy_chains = {ast.dump(c) for c in query_chains(legacy_tree)}
    old = [s for s in legacy_tree.body if not isinstance(s, ast.Import | ast.ImportFrom)]
    new = [s for s in ast.parse(migrated).body if not isinstance(s, ast.Import | ast.ImportFrom)]
    if len(old) != len(new):
        return "module-level statements added or removed"
    for a, b in zip(old, new, strict=True):
        where = _tree_difference(a, b, legacy_chains)
        if where:
            return where
    return None


def _tree_difference(a: Any, b: Any, legacy_chains: set[str]) -> str | None:
    if isinstance(a, list) or isinstance(b, list):
        if not (isinstance(a, list) and isinstance(b, list)) or len(a) != len(b):
            return f"{_show(a)} became {_show(b)}"
        for x, y in zip(a, b, strict=True):
            where = _tree_difference(x, y, legacy_chains)
            if where:
                return where
        return None
    if not isinstance(a, ast.AST) or not isinstance(b, ast.AST):
        return None if a == b else f"{a!r} became {b!r}"
    if ast.dump(a) == ast.dump(b):
        return None
    if isinstance(a, ast.expr) and isinstance(b, ast.expr):
        # an expression holding whole chains: those still legacy must be untouched copies
        left = [ast.dump(c) for c in query_chains(b)]
        if all(c in legacy_chains for c in left):
            return None
    if type(a) is not type(b):
        return f"{_show(a)} became {_show(b)}"
    for name, value in ast.iter_fields(a):
        where = _tree_difference(value, getattr(b, name), legacy_chains)
        if where:
            return where
    return None


def query_chains(tree: ast.AST) -> list[ast.expr]:
    """The maximal method chains starting at a ``<session>.query(...)`` call."""
    parents: dict[ast.AST, ast.AST] = {}
    for node in ast.walk(tree):
        for child in ast.iter_child_nodes(node):
            parents[child] = node
    found: list[ast.expr] = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "query"
        ):
            top: ast.expr = node
            while True:
                parent = parents.get(top)
                extends = (isinstance(parent, ast.Attribute) and parent.value is top) or (
                    isinstance(parent, ast.Call) and parent.func is top
                )
                if not extends:
                    break
                top = parent  # type: ignore[assignment]
            found.append(top)
    return found


def _show(node: Any) -> str:
    if isinstance(node, list):
        return "[" + ", ".join(_show(n) for n in node) + "]"
    if isinstance(node, ast.AST):
        text = ast.unparse(node)
        return repr(text if len(text) < 160 else text[:160] + "...")
    return repr(node)


# --------------------------------------------------------------------------- execution
@dataclass
class Outcome:
    """What running ``run(session)`` gave, normalized."""

    value: Any = None
    error: str | None = None  # exception class name
    error_message: str = ""
    after: Any = None  # database + identity-map state, for cases that write

    def brief(self) -> str:
        if self.error is not None:
            return f"raises {self.error}: {self.error_message[:300]}"
        return short_repr(self.value)


def short_repr(value: Any, limit: int = 1500) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + " ..."


def load_module(source: str, name: str) -> types.ModuleType:
    load_models()
    module = types.ModuleType(name)
    module.__file__ = f"<{name}>"
    exec(compile(source, f"{name}.py", "exec", dont_inherit=True), module.__dict__)
    return module


def execute(engine: Engine, source: str, case: Case, name: str) -> Outcome:
    """Run ``source``'s ``run(session)`` on ``engine`` in a transaction rolled back after."""
    models = load_models()
    outcome = Outcome()
    try:
        module = load_module(source, name)
    except Exception as exc:
        return Outcome(error=f"import:{type(exc).__name__}", error_message=str(exc))
    connection = engine.connect()
    transaction = connection.begin()
    session = Session(bind=connection, autoflush=True)
    try:
        preloaded: list[Any] = []
        if case.writes:
            for cls in (models.User, models.Address, models.Order, models.Item):
                preloaded.extend(
                    session.execute(select(cls).order_by(*inspect(cls).primary_key)).scalars()
                )
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                value = module.run(session)
                outcome.value = normalize(value)
        except Exception as exc:
            outcome.error = type(exc).__name__
            outcome.error_message = str(exc).split("\n")[0]
        else:
            if case.writes:
                outcome.after = {
                    "identity_map": [normalize_state(obj) for obj in preloaded],
                    "database": snapshot(connection),
                }
    finally:
        try:
            session.close()
        finally:
            if transaction.is_active:
                transaction.rollback()
            connection.close()
    return outcome


def snapshot(connection: Connection) -> dict[str, list[tuple[Any, ...]]]:
    metadata = load_models().Base.metadata
    data = {}
    for table in metadata.sorted_tables:
        rows = connection.execute(select(table).order_by(*table.primary_key.columns)).all()
        data[table.name] = [tuple(normalize(v) for v in row) for row in rows]
    return data


# --------------------------------------------------------------------------- normalizing
def _is_mapped_instance(value: Any) -> bool:
    return hasattr(type(value), "__mapper__") and not isinstance(value, type)


def _num(value: float | Decimal) -> tuple[str, float]:
    return ("num", round(float(value), 6))


def normalize(value: Any, depth: int = 0) -> Any:
    """A comparable, hashable-ish image of a returned value."""
    if value is None or isinstance(value, bool | str | bytes):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float | Decimal):
        return _num(value)
    if isinstance(value, datetime.date | datetime.datetime | datetime.time):
        return value.isoformat()
    if _is_mapped_instance(value):
        return normalize_instance(value, depth)
    if isinstance(value, Row):
        fields = tuple(value._fields)
        named = tuple(
            (key, normalize(value._mapping[key], depth)) for key in fields if fields.count(key) == 1
        )
        return ("Row", fields, tuple(normalize(v, depth) for v in value), named)
    if isinstance(value, tuple):
        return ("tuple", tuple(normalize(v, depth) for v in value))
    if isinstance(value, list):
        return ["list", *(normalize(v, depth) for v in value)]
    if isinstance(value, dict):
        return ("dict", tuple(sorted((repr(k), normalize(v, depth)) for k, v in value.items())))
    if isinstance(value, set | frozenset):
        return ("set", tuple(sorted(repr(normalize(v, depth)) for v in value)))
    # anything else (a Result, a Query, a generator...) is returned as its type name:
    # legacy chains always return materialized values, so this shows up as a difference
    return ("object", type(value).__module__ + "." + type(value).__qualname__)


def normalize_instance(obj: Any, depth: int = 0) -> Any:
    state = inspect(obj)
    mapper = state.mapper
    identity = state.identity
    if depth >= 2:
        return ("obj", mapper.class_.__name__, identity)
    columns = tuple(
        (attr.key, normalize(state.dict[attr.key]) if attr.key in state.dict else UNLOADED)
        for attr in mapper.column_attrs
    )
    relationships = []
    for rel in mapper.relationships:
        if rel.key not in state.dict:
            continue
        loaded = state.dict[rel.key]
        if loaded is None:
            relationships.append((rel.key, None))
        elif _is_mapped_instance(loaded):
            relationships.append((rel.key, normalize_instance(loaded, depth + 1)))
        else:
            members = [normalize_instance(o, depth + 1) for o in loaded]
            relationships.append((rel.key, tuple(sorted(members, key=repr))))
    return ("obj", mapper.class_.__name__, identity, columns, tuple(relationships))


def normalize_state(obj: Any) -> Any:
    """An object's in-session state, without loading anything (after bulk DML)."""
    state = inspect(obj)
    flags = tuple(
        name
        for name in ("transient", "pending", "persistent", "deleted", "detached")
        if getattr(state, name)
    )
    values = tuple(
        (attr.key, normalize(state.dict[attr.key]) if attr.key in state.dict else UNLOADED)
        for attr in state.mapper.column_attrs
    )
    return (state.mapper.class_.__name__, state.identity, flags, values)


def unordered(value: Any) -> Any:
    """For chains without a total order: top-level lists compared as multisets."""
    if isinstance(value, list) and value[:1] == ["list"]:
        return ["list(unordered)", *sorted(value[1:], key=lambda v: repr(_values_only(v)))]
    if isinstance(value, tuple) and value[:1] == ("tuple",):  # run() returned a tuple
        return ("tuple", tuple(unordered(v) for v in value[1]))
    return value


def _values_only(value: Any) -> Any:
    if isinstance(value, tuple) and value[:1] == ("Row",):
        return ("Row", tuple(_values_only(v) for v in value[2]))
    if isinstance(value, list):
        return [_values_only(v) for v in value]
    if isinstance(value, tuple):
        return tuple(_values_only(v) for v in value)
    return value


def equivalent(legacy: Any, migrated: Any) -> bool:
    """Equal, except that a migrated ``Row`` may carry more keys than the legacy one.

    Legacy ``Query`` rows hide the keys of unlabeled SQL functions and repeat
    duplicated names (``("name", "name")``), where ``select()`` rows have ``max`` or
    ``name_1``. Code written against the legacy row cannot have used those keys, so they
    are tolerated; every key a legacy row offers unambiguously must still give the same
    value, and all values must be equal position by position.
    """
    if isinstance(legacy, tuple) and legacy[:1] == ("Row",):
        if not (isinstance(migrated, tuple) and migrated[:1] == ("Row",)):
            return False
        lv, mv = legacy[2], migrated[2]
        if len(lv) != len(mv) or not all(map(equivalent, lv, mv)):
            return False
        named = dict(migrated[3])
        return all(k in named and equivalent(v, named[k]) for k, v in legacy[3])
    if isinstance(legacy, list | tuple):
        return (
            type(legacy) is type(migrated)
            and len(legacy) == len(migrated)
            and all(map(equivalent, legacy, migrated))
        )
    return bool(legacy == migrated)


def compare(legacy: Outcome, migrated: Outcome, ordered: bool) -> list[str]:
    """Differences between the two outcomes (empty when they agree)."""
    diffs: list[str] = []
    if legacy.error is not None or migrated.error is not None:
        if legacy.error != migrated.error:
            diffs.append(
                f"outcome differs: legacy {legacy.error or 'returns'}, "
                f"migrated {migrated.error or 'returns'}\n"
                f"  legacy   {legacy.brief()}\n  migrated {migrated.brief()}"
            )
        return diffs
    lv, mv = legacy.value, migrated.value
    if not ordered:
        lv, mv = unordered(lv), unordered(mv)
    if not equivalent(lv, mv):
        diffs.append(
            f"returned values differ{'' if ordered else ' (compared unordered)'}:\n"
            f"  legacy   {short_repr(lv)}\n  migrated {short_repr(mv)}"
        )
    if legacy.after != migrated.after:
        la, ma = legacy.after or {}, migrated.after or {}
        for key in sorted(set(la) | set(ma)):
            if la.get(key) != ma.get(key):
                diffs.append(
                    f"state after run differs ({key}):\n"
                    f"  legacy   {short_repr(_changed_only(la.get(key), ma.get(key)))}\n"
                    f"  migrated {short_repr(_changed_only(ma.get(key), la.get(key)))}"
                )
    return diffs


def _changed_only(mine: Any, other: Any) -> Any:
    """Only the entries that differ, to keep state diffs readable."""
    if isinstance(mine, list) and isinstance(other, list) and len(mine) == len(other):
        return [m for m, o in zip(mine, other, strict=True) if m != o]
    if isinstance(mine, dict) and isinstance(other, dict):
        return {k: _changed_only(v, other.get(k)) for k, v in mine.items() if v != other.get(k)}
    return mine


# --------------------------------------------------------------------------- checking
@dataclass
class CaseResult:
    case: Case
    db: str
    migration: MigrationCheck
    legacy: Outcome
    migrated: Outcome | None
    problems: list[str]
    tolerated_row_keys: bool = False  # equal, except for extra keys on migrated rows

    @property
    def ok(self) -> bool:
        return not self.problems

    def report(self) -> str:
        lines = [f"=== [{self.db}] {self.case.name or 'case'} ==="]
        lines.append("--- legacy source:")
        lines.append(self.case.source.rstrip())
        if self.migration.migrated is not None and self.migration.migrated != self.case.source:
            lines.append("--- migrated source:")
            lines.append(self.migration.migrated.rstrip())
        elif self.migration.migrated is not None:
            lines.append("--- migrated source: (unchanged)")
        if self.migration.notes:
            lines.append("--- notes: " + "; ".join(self.migration.notes))
        lines.append(f"--- legacy outcome:   {self.legacy.brief()}")
        if self.migrated is not None:
            lines.append(f"--- migrated outcome: {self.migrated.brief()}")
        lines.append("--- problems:")
        lines.extend("  * " + p for p in self.problems)
        return "\n".join(lines)


def check_case(engine: Engine, db: str, case: Case, kind: str = "hand") -> CaseResult:
    """Migrate, run both versions, compare. Never raises for a wrong migration."""
    migration = migrate(case.source)
    problems = list(migration.problems)
    legacy = execute(engine, case.source, case, "chains_legacy")
    migrated = None
    tolerated = False
    if migration.migrated is not None:
        migrated = execute(engine, migration.migrated, case, "chains_migrated")
        differences = compare(legacy, migrated, case.ordered)
        problems.extend(differences)
        tolerated = not differences and legacy.value != migrated.value
    result = CaseResult(case, db, migration, legacy, migrated, problems, tolerated)
    STATS.record(result, kind)
    return result


# --------------------------------------------------------------------------- statistics
@dataclass
class Stats:
    """Counters printed by ``conftest.pytest_terminal_summary``."""

    executed: Counter[str] = field(default_factory=Counter)  # (db/kind) -> cases executed
    distinct_sources: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    failed: Counter[str] = field(default_factory=Counter)
    left_for_review: Counter[str] = field(default_factory=Counter)
    legacy_raised: Counter[str] = field(default_factory=Counter)
    legacy_invalid: Counter[str] = field(default_factory=Counter)
    problem_kinds: Counter[str] = field(default_factory=Counter)
    tolerated_row_keys: Counter[str] = field(default_factory=Counter)
    review_reasons: Counter[str] = field(default_factory=Counter)  # TODO text -> cases
    generated_terminals: Counter[str] = field(default_factory=Counter)  # first database only
    _terminals_db: str | None = None
    failures: list[CaseResult] = field(default_factory=list)
    skipped_dbs: dict[str, str] = field(default_factory=dict)

    def record(self, result: CaseResult, kind: str) -> None:
        key = f"{result.db}/{kind}"
        if kind == "generated":
            self._terminals_db = self._terminals_db or result.db
            if result.db == self._terminals_db:
                self.generated_terminals.update(
                    f.split(":", 1)[1] for f in result.case.features if f.startswith("terminal:")
                )
        self.executed[key] += 1
        self.distinct_sources[key].add(result.case.source)
        if result.migration.left_for_review:
            self.left_for_review[key] += 1
            if result.db == "sqlite":
                self.review_reasons.update(set(result.migration.todos))
        if result.tolerated_row_keys:
            self.tolerated_row_keys[key] += 1
        if result.legacy.error is not None:
            self.legacy_raised[key] += 1
            if result.legacy.error not in RESULT_COUNT_ERRORS:
                self.legacy_invalid[key] += 1
        if not result.ok:
            self.failed[key] += 1
            self.failures.append(result)
            for problem in result.problems:
                self.problem_kinds[f"{result.db}: {classify(problem)}"] += 1

    def summary_lines(self) -> list[str]:
        lines = []
        for key in sorted(self.executed):
            lines.append(
                f"{key}: {self.executed[key]} cases executed "
                f"({len(self.distinct_sources[key])} distinct), "
                f"{self.failed[key]} failed, {self.left_for_review[key]} left for review "
                f"(TODO), legacy raised in {self.legacy_raised[key]} "
                f"({self.legacy_invalid[key]} other than NoResultFound/MultipleResultsFound), "
                f"{self.tolerated_row_keys[key]} equal but for extra row keys"
            )
        if self.generated_terminals:
            lines.append(
                "generated cases by terminal: "
                + ", ".join(f"{t}={n}" for t, n in sorted(self.generated_terminals.items()))
            )
        for db, reason in sorted(self.skipped_dbs.items()):
            lines.append(f"{db}: skipped ({reason})")
        if self.review_reasons:
            lines.append("TODO reasons of the cases left for review (SQLite runs):")
            for reason, count in self.review_reasons.most_common(12):
                lines.append(f"  {count:5d}  {reason}")
        if self.problem_kinds:
            lines.append("problem kinds:")
            for kind, count in self.problem_kinds.most_common():
                lines.append(f"  {count:5d}  {kind}")
        return lines

    def write_report(self, path: str) -> None:
        data = {
            "summary": self.summary_lines(),
            "failures": [
                {
                    "db": r.db,
                    "name": r.case.name,
                    "features": list(r.case.features),
                    "legacy_source": r.case.source,
                    "migrated_source": r.migration.migrated,
                    "todos": r.migration.todos,
                    "legacy_outcome": r.legacy.brief(),
                    "migrated_outcome": r.migrated.brief() if r.migrated else None,
                    "problems": r.problems,
                }
                for r in self.failures
            ],
        }
        with open(path, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=2, default=repr)


def classify(problem: str) -> str:
    """A short category for the summary table."""
    first = problem.split("\n")[0]
    first = re.sub(r"\(TODOs: .*\)", "", first)
    first = re.sub(r"(migrate_source crashed: \w+).*", r"\1", first)
    first = re.sub(r"(does not compile).*", r"\1", first)
    return first[:120].rstrip(": ")


STATS = Stats()


def report_path() -> str | None:
    return os.environ.get("SQLA_DIFF_REPORT") or None


def render_failures(results: Iterable[CaseResult], limit: int = 25) -> str:
    results = list(results)
    parts = [r.report() for r in results[:limit]]
    if len(results) > limit:
        parts.append(f"... and {len(results) - limit} more failing cases")
    return "\n\n".join(parts)
