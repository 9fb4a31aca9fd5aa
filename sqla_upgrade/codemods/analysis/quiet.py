"""Modules the async analysis reads without libcst: the *quiet* ones.

Most modules of a real repository never touch SQLAlchemy, yet under ``--target async``
each one's stage-one facts feed the project-wide async plan and the await pass looks at
each one, since any of them may call a function that becomes async. A module is quiet
when no stage-one pass wants it and none of the names it uses (its identifiers, not the
words of its strings and comments) can give the I/O detector evidence of a session,
connection, engine, transaction, test client or legacy Query: no fallback name
(``session``, ``db``, ``*session``, ``engine``, ``conn``...), not ``sqlalchemy``, none of
the index's session factories, engines, providers, query factories, test-client
fixtures or dynamic relationships, nor a name another module imports one of them as.
Its facts then hold no I/O, client request or dynamic relationship use, and the plans
read nothing of them but the attribute names it reads (``post.author`` for eager
loading), which ``ast`` gives, and what reaches the functions the plan changes.

What it calls matters only when the callee becomes async. Once the plan is computed,
every quiet module spelling (anywhere, comments and strings included) a word through
which it could reach what the plan changes (the last part of each function made async,
of ``<dynamic>`` names, of holders of functions made async and their slots
(``analysis.function_values``), of the decorators of async functions, of the properties
doing I/O, and the names imports give them) is *promoted*: read with libcst like any other module, and the plan
computed again, until no quiet module is promoted. The others stay quiet: the await pass
leaves them alone (``AsyncPlan.quiet_modules``).

``SQLA_UPGRADE_CHECK_PREFILTERS=1`` reads every quiet module with libcst as well, fails a
module whose full facts hold more than its quiet ones, checks that the plan reached
through promotions is the plan of the full facts, and runs the await pass on the quiet
modules anyway to fail any it would change.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from collections.abc import Callable, Iterable

from sqla_upgrade.codemods.analysis.async_plan import (
    DYNAMIC,
    FileIoFacts,
    plan_async,
)
from sqla_upgrade.codemods.analysis.connectables import CONNECTION_NAMES, ENGINE_NAMES
from sqla_upgrade.codemods.analysis.function_values import SLOT
from sqla_upgrade.codemods.analysis.io_calls import TEST_CLIENTS
from sqla_upgrade.codemods.analysis.plans import AsyncPlan
from sqla_upgrade.codemods.analysis.write_only import RELATIONSHIP_CALLS
from sqla_upgrade.codemods.base import per_object
from sqla_upgrade.codemods.index.model import ProjectIndex, looks_like_session

#: a word of the code: identifiers (UTF-8 ones whole) and the words of strings and comments
WORD = re.compile(rb"[A-Za-z0-9_\x80-\xff]+")
#: packages whose names may give evidence of I/O, however they are imported
EVIDENCE_PACKAGES = frozenset({"sqlalchemy", "flask_sqlalchemy", "sqlmodel"})
FALLBACK_NAMES = ENGINE_NAMES | CONNECTION_NAMES


def words_of(code: bytes) -> set[bytes]:
    return set(WORD.findall(code))


#: functions rendering a template given as source, whose reads only libcst gathers
INLINE_TEMPLATES = frozenset({"render_template_string", "stream_template_string"})


def quiet_facts(
    code: bytes, module_name: str, path: str, index: ProjectIndex
) -> FileIoFacts | None:
    """The facts of a quiet module, or None when it is not quiet (a name it uses could be
    evidence of I/O, its encoding is not UTF-8, or Python cannot parse it)."""
    if not _utf8(code) or module_name in _modules_given_sessions(index):
        return None  # a parameter its callers hand a session is evidence of I/O
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    names, reads = _names_and_reads(tree)
    if not names.isdisjoint(evidence_names(index)) or any(map(_fallback_name, names)):
        return None
    if not (names | reads).isdisjoint(INLINE_TEMPLATES):
        return None  # the reads of the template it renders are gathered with libcst
    dynamic = index.dynamic_relationships()
    if dynamic:
        text = code.decode("utf-8-sig")
        if any(name in text for name in (*dynamic, *RELATIONSHIP_CALLS)):
            return None  # the write-only analysis reads it
    return FileIoFacts(module_name, path, attribute_reads=reads, quiet=True)


def _names_and_reads(tree: ast.AST) -> tuple[set[str], set[str]]:
    """Every identifier the code spells (not the words of its strings and comments), and
    what ``IoFactsCollector`` gathers as ``attribute_reads``: the attribute of every
    ``a.b`` (in any context) and the dotted parts after the first of imported names."""
    names: set[str] = set()
    reads: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            names.add(node.id)
        elif isinstance(node, ast.Attribute):
            reads.add(node.attr)
        elif isinstance(node, ast.arg):
            names.add(node.arg)
        elif isinstance(node, ast.keyword):
            if node.arg is not None:
                names.add(node.arg)
        elif isinstance(node, ast.alias):
            parts = node.name.split(".")
            names.update(parts)
            reads.update(parts[1:])
            if node.asname:
                names.add(node.asname)
        elif isinstance(node, ast.ImportFrom):
            parts = (node.module or "").split(".")
            names.update(parts)
            reads.update(parts[1:])
        else:
            names.update(_other_names(node))
    return names | reads, reads


def _other_names(node: ast.AST) -> list[str]:
    """The identifiers of definitions, ``global``, ``except ... as``, patterns..."""
    found = []
    for field in ("name", "rest"):
        value = getattr(node, field, None)
        if isinstance(value, str):
            found.append(value)
    for field in ("names", "kwd_attrs"):
        values = getattr(node, field, None)
        if isinstance(values, list):
            found.extend(v for v in values if isinstance(v, str))
    return found


def _utf8(code: bytes) -> bool:
    """Are the code's words its identifiers' UTF-8 bytes (as the names they are compared
    with are)?"""
    if code.isascii():
        return True
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(code).readline)
        code.decode(encoding)
    except (SyntaxError, LookupError, UnicodeDecodeError):
        return False
    return encoding in ("utf-8", "utf-8-sig")


def _fallback_name(name: str) -> bool:
    """Would the detectors take ``name`` for a session, an engine or a connection when
    nothing else tells?"""
    lowered = name.lower()
    return looks_like_session(lowered) or lowered in FALLBACK_NAMES


@per_object
def _modules_given_sessions(index: ProjectIndex) -> frozenset[str]:
    """The modules defining a function some caller hands a session or session factory."""
    given = index.session_params | index.assumed_session_params | index.factory_params
    functions = {function for function, _ in given}
    return frozenset(
        module.name
        for module in index.modules.values()
        if not functions.isdisjoint(module.functions)
    )


@per_object
def evidence_names(index: ProjectIndex) -> frozenset[str]:
    """Names whose use may be evidence of I/O, from the index."""
    names = set(EVIDENCE_PACKAGES) | {"TestClient"}
    qualnames: set[str] = set(index.objects) | set(index.query_properties)
    qualnames |= set(index.metadata_binds)
    qualnames |= {
        q
        for q, f in index.functions.items()
        if f.query_session_param or f.query_session_attr or f.gives_test_client
    }
    names |= {q.rpartition(".")[2] for q in qualnames}
    names |= index.dynamic_relationships()
    names |= _imported_as(index, lambda target: target in qualnames or _evidence_package(target))
    return frozenset(names)


def _evidence_package(qualname: str) -> bool:
    return qualname.split(".", 1)[0] in EVIDENCE_PACKAGES or qualname in TEST_CLIENTS


def _imported_as(index: ProjectIndex, wanted: Callable[[str], bool]) -> set[str]:
    """The local names under which any module imports something ``wanted`` (followed
    through re-exports)."""
    return {
        local
        for module in index.modules.values()
        for local, target in module.imports.items()
        if wanted(index.resolve_alias(target))
    }


def promoting_words(
    index: ProjectIndex, plan: AsyncPlan, all_facts: Iterable[FileIoFacts]
) -> frozenset[bytes] | None:
    """Words a quiet module spells when it may reach something ``plan`` changes (None:
    any quiet module may, as some ``<dynamic>`` key has no word)."""
    names: set[str] = set()
    made_async = (
        set(plan.functions)
        | plan.async_properties
        | set(plan.loop_boundaries)
        | plan.mixed_dynamic
        | set(plan.greenlet)
    )
    for qualname in made_async:
        words = _last_words(qualname)
        if words is None:
            return None
        names |= words
    names |= {
        name for q in plan.blocked if not (name := q.rpartition(".")[2]).startswith("__")
    }  # properties doing I/O: a read elsewhere decides whether they can become methods
    for wrapper in plan.awaited_wrapped:
        names.add(wrapper.rpartition(".")[0].rpartition(".")[2])  # the decorator
    names |= {q.rpartition(".")[2] for q in plan.mixed_decorators}
    # a holder of functions made async, handed over by a module importing it
    names |= {q.rpartition(".")[2] for q in plan.async_holders}
    for facts in all_facts:
        for function in facts.functions.values():
            if function.qualname in plan.functions:
                names |= {d.rpartition(".")[2] for d in function.decorators}
    names |= _imported_as(index, lambda target: target.rpartition(".")[2] in names)
    return frozenset(name.encode("utf-8") for name in names)


def _last_words(qualname: str) -> set[str] | None:
    """The words a call of ``qualname`` spells: its last part; for a ``<dynamic>`` name
    the attribute; for a slot (``analysis.function_values``) the holder's name (a
    variable's, a table's, a member's)."""
    name = qualname.removeprefix(DYNAMIC).removeprefix(SLOT).split("[", 1)[0]
    return {name.rpartition(".")[2]}


def plan_with_promotions(
    index: ProjectIndex,
    facts: list[FileIoFacts],
    templates_use: tuple[set[str], dict[str, set[str]]],
    codes: dict[str, bytes],
    read_fully: Callable[[FileIoFacts], FileIoFacts],
) -> AsyncPlan:
    """The async plan, promoting quiet modules (``read_fully``) while any may reach what
    the plan changes, with the paths of the modules left quiet. ``codes``: each quiet
    module's code, by path; ``templates_use``: the attribute names templates read and the
    methods they call (with the templates calling them)."""
    facts = list(facts)
    words: dict[str, set[bytes]] = {}
    while True:
        plan = plan_async(facts, *templates_use)
        promoting = promoting_words(index, plan, facts)
        promoted = False
        for position, module_facts in enumerate(facts):
            if not module_facts.quiet:
                continue
            path = module_facts.path
            if path not in words:
                words[path] = words_of(codes[path])
            if promoting is None or words[path] & promoting:
                facts[position] = read_fully(module_facts)
                promoted = True
        if not promoted:
            plan.quiet_modules = {f.path for f in facts if f.quiet}
            return plan
