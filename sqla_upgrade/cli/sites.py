"""Legacy sites: the statements of a file that the migration would change.

A *site* is one statement of the original file that the run rewrites (or marks with a
TODO), found by diffing the file against its migrated form and mapping every changed
line to the innermost statement that holds it (a compound statement counts by its
header: ``def f(session):``, not its body). Lines the migration only inserts (a TODO
comment, a new helper) form a site of their own, identified by the inserted text.
Import lines that only gain names (``from sqlalchemy import select`` added) are
consequences of other sites, not sites.

Each site carries its statement's normalized text (``ast.unparse``: formatting and
comments do not matter) and its occurrence number among sites with the same text in
the same file, so its fingerprint (``baseline``) survives moved lines and unrelated edits.
"""

from __future__ import annotations

import ast
import copy
import difflib
import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from sqla_upgrade.codemods.notes import TODO_PREFIX
from sqla_upgrade.codemods.results import FileResult

MAX_SHOWN = 120
STATEMENT_LISTS = ("body", "orelse", "finalbody")


@dataclass(frozen=True)
class Site:
    """One legacy construct: where it is, what it says, which of its kind in the file."""

    path: str
    line: int
    text: str  # normalized statement text (or the inserted text)
    kind: str  # "rewrite": the statement changes; "todo": a TODO would be added
    occurrence: int = 0

    @property
    def shown(self) -> str:
        """The first line of the text, shortened for messages."""
        first = self.text.splitlines()[0] if self.text else ""
        return first if len(first) <= MAX_SHOWN else first[: MAX_SHOWN - 1] + "…"

    def fingerprint(self, relative_path: str) -> str:
        """Stable identity: path, text and occurrence, never the line number."""
        key = "\0".join((relative_path, self.kind, self.text, str(self.occurrence)))
        return hashlib.sha256(key.encode("utf-8")).hexdigest()[:24]


def decode(data: bytes) -> str:
    for encoding in ("utf-8-sig", "latin-1"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("utf-8", errors="replace")  # pragma: no cover - latin-1 always decodes


# -- statements of the original file --------------------------------------------------
def _child_statements(stmt: ast.stmt) -> Iterator[ast.stmt]:
    for name in STATEMENT_LISTS:
        yield from getattr(stmt, name, ())
    for handler in getattr(stmt, "handlers", ()):
        yield from handler.body
    for case in getattr(stmt, "cases", ()):
        yield from case.body


def _first_line(stmt: ast.stmt) -> int:
    decorators = getattr(stmt, "decorator_list", ())
    return min([stmt.lineno, *(d.lineno for d in decorators)])


def _is_compound(stmt: ast.stmt) -> bool:
    return any(True for _ in _child_statements(stmt))


def _header_text(stmt: ast.stmt) -> str:
    stub = copy.copy(stmt)
    for name in STATEMENT_LISTS:
        if hasattr(stub, name):
            setattr(stub, name, [ast.Pass()] if name == "body" else [])
    for name in ("handlers", "cases"):
        if hasattr(stub, name):
            setattr(stub, name, [])
    lines = ast.unparse(stub).splitlines()
    cut = next((i for i, line in enumerate(lines) if line.strip() == "pass"), len(lines))
    return "\n".join(lines[:cut])


def statement_text(stmt: ast.stmt) -> str:
    """The statement (a compound statement: its header) as ``ast.unparse`` writes it."""
    try:
        return _header_text(stmt) if _is_compound(stmt) else ast.unparse(stmt)
    except (ValueError, TypeError, AttributeError, RecursionError):  # pragma: no cover
        return f"<statement at line {stmt.lineno}>"


class StatementMap:
    """Which statement of a module holds a given line."""

    def __init__(self, source: str) -> None:
        try:
            self.body: list[ast.stmt] = ast.parse(source).body
        except (SyntaxError, ValueError, RecursionError):
            self.body = []

    def owner(self, line: int) -> ast.stmt | None:
        return self._owner_in(self.body, line)

    def _owner_in(self, statements: Iterable[ast.stmt], line: int) -> ast.stmt | None:
        for stmt in statements:
            end = stmt.end_lineno or stmt.lineno
            if _first_line(stmt) <= line <= end:
                return self._owner_in(_child_statements(stmt), line) or stmt
        return None


def _import_names(stmt: ast.stmt) -> set[tuple[str, str, str | None]]:
    if isinstance(stmt, ast.Import):
        return {("", a.name, a.asname) for a in stmt.names}
    if isinstance(stmt, ast.ImportFrom):
        module = "." * stmt.level + (stmt.module or "")
        return {(module, a.name, a.asname) for a in stmt.names}
    return set()


def _all_imports(source: str) -> set[tuple[str, str, str | None]]:
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError):
        return set()
    found: set[tuple[str, str, str | None]] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            found |= _import_names(node)
    return found


def _import_lines(source: str) -> set[int]:
    lines: set[int] = set()
    for stmt in StatementMap(source).body:
        if isinstance(stmt, ast.Import | ast.ImportFrom):
            lines.update(range(stmt.lineno, (stmt.end_lineno or stmt.lineno) + 1))
    return lines


# -- sites of one file ------------------------------------------------------------------
@dataclass
class _FileDiff:
    old_lines: list[str]
    new_lines: list[str]
    owners: StatementMap
    kept_imports: set[tuple[str, str, str | None]]
    new_import_lines: set[int]


def _raw_sites(diff: _FileDiff, path: str) -> list[Site]:
    sites: list[Site] = []
    seen: set[int] = set()
    matcher = difflib.SequenceMatcher(None, diff.old_lines, diff.new_lines, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        changed = [_changed_line_site(diff, path, line, seen) for line in range(i1 + 1, i2 + 1)]
        sites.extend(site for site in changed if site is not None)
        sites.extend(_inserted_sites(diff, path, (i1, i2), (j1, j2), tag == "insert"))
    return sites


def _changed_line_site(diff: _FileDiff, path: str, line: int, seen: set[int]) -> Site | None:
    stmt = diff.owners.owner(line)
    if stmt is None:
        text = diff.old_lines[line - 1].strip()
        return Site(path, line, text, "rewrite") if text else None
    if id(stmt) in seen:
        return None
    seen.add(id(stmt))
    if _import_names(stmt) and _import_names(stmt) <= diff.kept_imports:
        return None  # the import only gained names
    return Site(path, _first_line(stmt), statement_text(stmt), "rewrite")


def _inserted_sites(
    diff: _FileDiff,
    path: str,
    old_span: tuple[int, int],
    new_span: tuple[int, int],
    new_code_is_site: bool,
) -> list[Site]:
    """TODO comments added (at the statement below them), and code added where no
    changed statement explains it (at the chunk)."""
    i1, i2 = old_span
    last = max(len(diff.old_lines), 1)
    sites: list[Site] = []
    code: list[str] = []
    rewritten = 0  # new lines of the chunk above this one that are not TODO comments
    for number in range(new_span[0] + 1, new_span[1] + 1):
        text = diff.new_lines[number - 1].strip()
        if text.startswith(TODO_PREFIX.strip()):
            below = max(1, min(i1 + 1 + rewritten, i2 + 1, last))
            sites.append(Site(path, below, text, "todo"))
            continue
        rewritten += 1
        if text and number not in diff.new_import_lines:
            code.append(text)
    if code and new_code_is_site:
        sites.append(Site(path, max(1, min(i1 + 1, last)), "\n".join(code), "rewrite"))
    return sites


def _number(sites: list[Site]) -> list[Site]:
    counts: dict[str, int] = {}
    numbered = []
    for site in sorted(sites, key=lambda s: (s.line, s.kind, s.text)):
        key = f"{site.kind}\0{site.text}"
        numbered.append(
            Site(site.path, site.line, site.text, site.kind, occurrence=counts.get(key, 0))
        )
        counts[key] = counts.get(key, 0) + 1
    return numbered


def legacy_sites(result: FileResult) -> list[Site]:
    """The sites of one file (none when it would not change or failed)."""
    if not result.changed or result.new is None:
        return []
    old_text, new_text = decode(result.old), decode(result.new)
    diff = _FileDiff(
        old_lines=old_text.splitlines(),
        new_lines=new_text.splitlines(),
        owners=StatementMap(old_text),
        kept_imports=_all_imports(new_text),
        new_import_lines=_import_lines(new_text),
    )
    sites = _raw_sites(diff, result.path)
    if not sites:  # changed, yet nothing to pin it on: the file as a whole
        sites = [Site(result.path, 1, "<file>", "rewrite")]
    return _number(sites)
