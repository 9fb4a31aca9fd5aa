"""What templates (Jinja) beside the code read from the objects the code hands them.

A template reading ``{{ post.author.name }}`` or ``{% for c in post.comments %}`` reads
the ``author`` and ``comments`` relationships as surely as Python code does.

Three questions are answered:

* ``template_attribute_reads(roots)``: every attribute name any template under ``roots``
  reads from any expression, what custom filters and globals return included (the
  project-wide, name-only view the ``eager-relationships`` pass uses; names inside string
  literals are not reads);
* ``template_method_calls(roots)``: every method name any template calls
  (``{% if user.is_following(other) %}``), with the templates calling it: Jinja calls
  methods synchronously, so the async plan keeps project methods of those names
  synchronous (by name, as for properties templates read; Jinja's own ``self.block()``,
  ``loop.cycle()`` are left out, and the names of str, list, dict and set methods count
  only when called on a template variable or an attribute of one, and then only for the
  methods of models: ``{{ user.count() }}`` but not ``request.args.get("page")``, nor a
  repository's ``get``);
* ``template_context_reads(name, roots)``: for one template, as ``render_template(name,
  var=...)`` renders it, the attribute paths read from each context variable
  (``{% for p in posts %}{{ p.author.name }}`` gives ``posts: {("author", "name")}``),
  following ``set``/``with``/loop targets, ``extends`` (blocks overridden by the child),
  ``include``, macros (``import``, ``from ... import``, ``call``) with their parameters
  mapped to the caller's expressions.

Templates are analysed with jinja2's own parser (``Environment().parse``, the
``jinja2.nodes`` AST). jinja2 is an optional dependency (the ``jinja`` extra): without it
``template_attribute_reads`` falls back to a tokenizer-level scan of the tags, which also
counts dotted words inside string literals, and ``template_context_reads`` answers None;
``jinja_missing_notice()`` says so once per run. Both analyses over-approximate: a name
that only looks like a read costs an eager load, never correctness. A template that cannot
be found or parsed, or names another template through an expression, gives None, and the
caller keeps its conservative behaviour; so does reading attributes from what a custom
filter, a global or a method returned when handed the caller's objects (which objects, at
which path, is unknown).

Templates are looked up, like Flask does, in every ``templates`` folder under the roots and
in every folder named by a ``template_folder="..."`` literal in a Python file there
(blueprints); a name found in several folders is analysed in all of them (union). Parsed
templates are cached by path, size and modification time.
"""

from __future__ import annotations

import os
import re
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqla_upgrade.codemods.cache import file_digests
from sqla_upgrade.codemods.discovery import SKIPPED_DIRS

TEMPLATE_SUFFIXES = (".html", ".htm", ".jinja", ".jinja2", ".j2", ".tmpl", ".xml", ".txt")
TAG = re.compile(r"\{\{.*?\}\}|\{%.*?%\}", re.S)
ATTRIBUTE = re.compile(r"\.\s*([A-Za-z_]\w*)")
METHOD_CALL = re.compile(r"\.\s*([A-Za-z_]\w*)\s*\(")
#: ``Blueprint(..., template_folder="tpl")``: relative to the Python file
TEMPLATE_FOLDER = re.compile(r"""template_folder\s*=\s*(['"])([^'"\n]+)\1""")
#: ``Jinja2Templates(directory="templates")``, ``FileSystemLoader("templates")``: relative
#: to the working directory, tried against the file's folder and each root
LOADER_FOLDER = re.compile(
    r"""(?:Jinja2Templates\(\s*directory\s*=|FileSystemLoader\(\s*(?:searchpath\s*=)?)\s*(['"])([^'"\n]+)\1"""
)
MAX_TEMPLATE_BYTES = 2_000_000
MAX_PYTHON_BYTES = 1_000_000
#: attribute paths longer than this are cut (recursive macros and loops stop growing)
MAX_PATH = 8
#: how deep macro calls, includes and recursive loops are followed
MAX_DEPTH = 24

JINJA_MISSING = (
    "jinja2 is not installed: templates were scanned for dotted names instead of parsed "
    "(install sqla-upgrade[jinja] for precise template analysis)"
)

AttrPath = tuple[str, ...]
Origin = tuple[str, AttrPath]
ContextReads = dict[str, frozenset[AttrPath]]


def _jinja() -> Any:
    """The ``jinja2`` module, or None when it is not installed."""
    try:
        import jinja2
        import jinja2.nodes
    except ImportError:
        return None
    return jinja2


def jinja_available() -> bool:
    return _jinja() is not None


def jinja_missing_notice(roots: Sequence[Path]) -> str | None:
    """The run-level notice to show when templates exist but jinja2 is missing."""
    if jinja_available() or not any(True for _ in _template_files(roots)):
        return None
    return JINJA_MISSING


# -- finding and parsing templates --------------------------------------------------------


def _walk(roots: Iterable[Path]) -> Iterator[tuple[Path, list[str], list[str]]]:
    for root in roots:
        if not root.is_dir():
            continue
        for folder, dirs, files in os.walk(root):
            dirs[:] = sorted(d for d in dirs if d not in SKIPPED_DIRS and not d.startswith("."))
            yield Path(folder), dirs, sorted(files)


def _template_files(roots: Iterable[Path]) -> Iterator[Path]:
    for folder, _, files in _walk(roots):
        for file_name in files:
            if file_name.endswith(TEMPLATE_SUFFIXES):
                yield folder / file_name


@lru_cache(maxsize=64)
def _template_folders(roots: tuple[Path, ...]) -> tuple[Path, ...]:
    """Where template names are looked up, in a stable order."""
    found: dict[Path, None] = {}
    for folder, _, files in _walk(roots):
        if folder.name == "templates":
            found[_normal(folder)] = None
        for file_name in files:
            if file_name.endswith(".py"):
                for named in _named_template_folders(folder / file_name, roots):
                    found[_normal(named)] = None
    return tuple(p for p in found if p.is_dir())


def template_inputs(roots: Sequence[Path]) -> list[str]:
    """``path:digest`` of every file the template analysis of ``roots`` could read (the
    templates under them and every file in the template folders), in a stable order."""
    files = set(_template_files(roots))
    for folder in _template_folders(tuple(roots)):
        for base, _, names in _walk([folder]):
            files.update(base / name for name in names)
    return file_digests(sorted(files))


def _normal(path: Path) -> Path:
    return Path(os.path.normpath(path))


def _named_template_folders(python_file: Path, roots: tuple[Path, ...]) -> list[Path]:
    try:
        if python_file.stat().st_size > MAX_PYTHON_BYTES:
            return []
        text = python_file.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    folders = [python_file.parent / m.group(2) for m in TEMPLATE_FOLDER.finditer(text)]
    for match in LOADER_FOLDER.finditer(text):
        folders += [base / match.group(2) for base in (python_file.parent, *roots)]
    return folders


def _read(path: Path) -> str | None:
    try:
        if path.stat().st_size > MAX_TEMPLATE_BYTES:
            return None
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None


def _parse(path: Path) -> Any:
    """The jinja2 AST of ``path`` (None: unreadable, too big or not valid Jinja)."""
    try:
        stat = path.stat()
    except OSError:
        return None
    return _parse_cached(str(path), stat.st_size, stat.st_mtime_ns)


@lru_cache(maxsize=4096)
def _parse_cached(path: str, size: int, mtime_ns: int) -> Any:
    jinja2 = _jinja()
    text = _read(Path(path))
    if jinja2 is None or text is None:
        return None
    try:
        return _environment().parse(text)
    except jinja2.TemplateSyntaxError:
        return None
    except (RecursionError, MemoryError):
        return None


@lru_cache(maxsize=1)
def _environment() -> Any:
    # ``do``, loop controls and ``trans`` (Flask-Babel) are common extensions; parsing
    # with them enabled accepts the templates of projects that use them, and changes
    # nothing for the others (other unknown tags make a template unparsable: None)
    return _jinja().Environment(
        extensions=["jinja2.ext.do", "jinja2.ext.loopcontrols", "jinja2.ext.i18n"]
    )


# -- the project-wide attribute names ------------------------------------------------------


def template_attribute_reads(roots: Sequence[Path]) -> set[str]:
    """Every attribute name a template under ``roots`` reads from a variable."""
    names: set[str] = set()
    parse = jinja_available()
    for path in _template_files(roots):
        tree = _parse(path) if parse else None
        names |= _attribute_names(tree) if tree is not None else _scanned_names(path)
    return names


def _scanned_names(path: Path) -> set[str]:
    text = _read(path)
    if text is None:
        return set()
    return _scanned_text(text)


def _scanned_text(text: str) -> set[str]:
    return {m.group(1) for tag in TAG.findall(text) for m in ATTRIBUTE.finditer(tag)}


def source_attribute_reads(text: str) -> set[str]:
    """Every attribute name the template source ``text`` reads (``render_template_string``
    given a literal), like ``template_attribute_reads`` for a file."""
    if not jinja_available():
        return _scanned_text(text)
    try:
        tree = _environment().parse(text)
    except _jinja().TemplateSyntaxError:
        return _scanned_text(text)
    except (RecursionError, MemoryError):
        return set()
    return _attribute_names(tree)


def _attribute_names(tree: Any) -> set[str]:
    nodes = _jinja().nodes
    names: set[str] = set()
    for node in tree.find_all((nodes.Getattr, nodes.Getitem, nodes.Filter, nodes.Test)):
        if isinstance(node, nodes.Getattr):
            names.add(node.attr)
        elif isinstance(node, nodes.Getitem):
            key = _constant_string(node.arg)
            if key is not None and key.isidentifier():
                names.add(key)
        else:
            for path in _filter_attribute_paths(node):
                names.update(path)
    return names


# -- the project-wide method calls ---------------------------------------------------------


def template_method_calls(roots: Sequence[Path]) -> dict[str, set[str]]:
    """The name of every method a template under ``roots`` calls (``{{ user.report_count()
    }}``: ``report_count``), with the templates calling it (paths relative to their root).
    Jinja calls it synchronously: a coroutine function would hand the template a coroutine."""
    calls: dict[str, set[str]] = {}
    parse = jinja_available()
    for root in roots:
        for path in _template_files([root]):
            tree = _parse(path) if parse else None
            names = _called_method_names(tree) if tree is not None else _scanned_calls(path)
            for name in names:
                calls.setdefault(name, set()).add(path.relative_to(root).as_posix())
    return calls


def source_method_calls(text: str) -> set[str]:
    """The methods the template source ``text`` calls, like ``template_method_calls``."""
    if not jinja_available():
        return _scanned_call_text(text)
    try:
        tree = _environment().parse(text)
    except _jinja().TemplateSyntaxError:
        return _scanned_call_text(text)
    except (RecursionError, MemoryError):
        return set()
    return _called_method_names(tree)


#: what templates call that is no project method: Jinja's ``self.block()``,
#: ``loop.cycle()``, and the methods of the str, list, dict and set values they are given
#: (``request.args.get("page")``, ``name.split()``)
JINJA_RECEIVERS = frozenset({"self", "loop", "super", "caller", "varargs", "kwargs"})
BUILTIN_METHODS = frozenset(
    name for kind in (str, list, dict, set) for name in dir(kind) if not name.startswith("_")
)


#: Flask's template globals: ``request.args.get("page")``, ``session.get("x")``,
#: ``config.get(...)`` call methods of their dicts, never a project method
FLASK_RECEIVERS = frozenset({"request", "session", "config", "g"})


def _called_method_names(tree: Any) -> set[str]:
    """The names of the methods ``tree`` calls; a name of a str, list, dict or set method
    (``get``, ``count``, ``items``, ``update``...) only when called on a variable or an
    attribute of one (``{{ user.count() }}``, which may be a project model's method;
    the async plan keeps it only for models), never on a literal, a filter's or a call's
    result, or Flask's ``request``/``session``/``config``/``g``."""
    nodes = _jinja().nodes
    names: set[str] = set()
    for call in tree.find_all(nodes.Call):
        callee = call.node
        if not isinstance(callee, nodes.Getattr):
            continue
        if isinstance(callee.node, nodes.Name) and callee.node.name in JINJA_RECEIVERS:
            continue
        if callee.attr in BUILTIN_METHODS and not _object_receiver(callee.node, nodes):
            continue
        names.add(callee.attr)
    return names


def _object_receiver(node: Any, nodes: Any) -> bool:
    """Is ``node`` a template variable or an attribute or item of one (not of Jinja's
    or Flask's globals), which can be a project object?"""
    while isinstance(node, nodes.Getattr | nodes.Getitem):
        node = node.node
    return isinstance(node, nodes.Name) and node.name not in JINJA_RECEIVERS | FLASK_RECEIVERS


def _scanned_calls(path: Path) -> set[str]:
    text = _read(path)
    return set() if text is None else _scanned_call_text(text)


def _scanned_call_text(text: str) -> set[str]:
    """Without jinja2 no receiver is known: the names of str, list, dict and set methods
    are left out (``request.args.get(...)`` is in most templates)."""
    found = {m.group(1) for tag in TAG.findall(text) for m in METHOD_CALL.finditer(tag)}
    return found - BUILTIN_METHODS


# -- one template's reads, per context variable --------------------------------------------


def template_context_reads(
    template_name: str,
    roots: Sequence[Path],
    variables: Collection[str] | None = None,
) -> ContextReads | None:
    """For each context variable ``template_name`` reads, the attribute paths read from it.

    Keys are the names the template (with what it extends, includes and imports) takes
    from its context (only ``variables``, the names the caller passes, when given);
    values the longest paths read (``("tags", "name")`` for ``post.tags[0].name``; an item
    of a collection is read at the collection's path).

    A value handed to a filter, test, global or method jinja does not define is recorded
    at its own path (what that Python code reads from it is the Python analysis'
    business); if attributes are then read from what such code returns
    (``(post|custom).author``, ``post.get_comments()[0].author``), their paths are
    unknown and the answer is None (with ``variables``: only if one of them is affected).
    None too when jinja2 is missing, or the template (or one it needs) cannot be found,
    parsed or named statically, or recursion over the data makes the paths unbounded.
    """
    if not jinja_available():
        return None
    folders = _template_folders(tuple(roots))
    wanted = None if variables is None else frozenset(variables)
    return _context_reads(template_name, folders, wanted)


def clear_cache() -> None:
    """Forget template folders and parsed templates (a run starts with this; parsed
    templates are also keyed by size and modification time)."""
    _template_folders.cache_clear()
    _parse_cached.cache_clear()


class Unresolvable(Exception):
    """A template the analysis needs cannot be found, parsed or named statically."""


def _context_reads(
    template_name: str, folders: tuple[Path, ...], wanted: frozenset[str] | None
) -> ContextReads | None:
    analysis = _Analysis(folders)
    try:
        analysis.render(template_name, _Scope(context=True))
    except (Unresolvable, RecursionError):
        return None
    result = analysis.result()
    if wanted is None:
        return None if analysis.poisoned else result
    if analysis.poisoned & wanted:
        return None
    return {var: paths for var, paths in result.items() if var in wanted}


@dataclass(frozen=True, eq=False)
class _Macro:
    node: Any
    scope: _Scope
    #: for ``caller``: the ``{% call %}`` block's node and scope
    is_call_block: bool = False


@dataclass
class _Value:
    """What an expression may evaluate to: objects reached from the context, macros, or
    an imported template's namespace."""

    origins: frozenset[Origin] = frozenset()
    macros: tuple[_Macro, ...] = ()
    module: dict[str, _Value] | None = None
    #: context variables whose objects code jinja does not define (a custom filter, a
    #: global, a method) may have handed back, at a path nobody knows
    derived: frozenset[str] = frozenset()

    def __or__(self, other: _Value) -> _Value:
        module = self.module if other.module is None else {**(self.module or {}), **other.module}
        return _Value(
            self.origins | other.origins,
            self.macros + other.macros,
            module,
            self.derived | other.derived,
        )

    def items(self) -> _Value:
        """An item of the collection (or the value itself), read at the same path."""
        return _Value(self.origins, derived=self.derived)

    def sources(self) -> frozenset[str]:
        """The context variables this value may hold objects of."""
        return frozenset(var for var, _ in self.origins) | self.derived


EMPTY = _Value()


@dataclass
class _Scope:
    names: dict[str, _Value] = field(default_factory=dict)
    parent: _Scope | None = None
    #: names not bound here come from the render context
    context: bool = False

    def lookup(self, name: str) -> _Value | None:
        scope: _Scope | None = self
        while scope is not None:
            if name in scope.names:
                return scope.names[name]
            if scope.context:
                return None
            scope = scope.parent
        return EMPTY

    def child(self) -> _Scope:
        return _Scope(parent=self)


# filters that hand back (items of) their input
PASS_THROUGH_FILTERS = frozenset(
    {
        "first",
        "last",
        "random",
        "list",
        "reverse",
        "sort",
        "unique",
        "select",
        "reject",
        "selectattr",
        "rejectattr",
        "batch",
        "slice",
        "default",
        "d",
        "min",
        "max",
        "dictsort",
        "groupby",
    }
)
# filters whose first positional argument names an attribute of the items
ATTRIBUTE_ARGUMENT_FILTERS = frozenset({"selectattr", "rejectattr", "groupby", "attr", "sum"})
# filters that take ``attribute="a.b"``
ATTRIBUTE_KEYWORD_FILTERS = frozenset(
    {"map", "sort", "sum", "min", "max", "unique", "groupby", "join"}
)
NO_ARGUMENT_VIEWS = frozenset({"items", "values", "keys"})
# builtin filters that return text, numbers or markup: nothing to read attributes from
VALUE_FILTERS = frozenset(
    {
        "length",
        "count",
        "string",
        "e",
        "escape",
        "forceescape",
        "safe",
        "striptags",
        "upper",
        "lower",
        "title",
        "capitalize",
        "trim",
        "truncate",
        "wordcount",
        "wordwrap",
        "center",
        "indent",
        "format",
        "replace",
        "int",
        "float",
        "abs",
        "round",
        "filesizeformat",
        "join",
        "sum",
        "tojson",
        "urlencode",
        "urlize",
        "xmlattr",
        "pprint",
    }
)


def _constant_string(node: Any) -> str | None:
    nodes = _jinja().nodes
    if isinstance(node, nodes.Const) and isinstance(node.value, str):
        return str(node.value)
    return None


def _dotted(text: str) -> AttrPath:
    return tuple(part for part in text.split(".") if part and not part.isdigit())


def _filter_attribute_paths(node: Any) -> list[AttrPath]:
    """Attribute paths a filter or test reads from the items of its input."""
    paths: list[AttrPath] = []
    if node.name in ATTRIBUTE_ARGUMENT_FILTERS and node.args:
        text = _constant_string(node.args[0])
        if text is not None:
            paths.append(_dotted(text))
    if node.name in ATTRIBUTE_KEYWORD_FILTERS:
        for kw in node.kwargs:
            text = _constant_string(kw.value)
            if kw.key == "attribute" and text is not None:
                paths.append(_dotted(text))
    return [p for p in paths if p]


def _extend(origins: frozenset[Origin], path: AttrPath) -> frozenset[Origin]:
    extended = frozenset((var, old + path) for var, old in origins)
    if any(len(p) > MAX_PATH for _, p in extended):
        # recursion over the data (a recursive loop or macro, a template including
        # itself): no fixed set of eager loads covers it
        raise Unresolvable
    return extended


class _Analysis:
    def __init__(self, folders: tuple[Path, ...]) -> None:
        self.folders = folders
        self.reads: dict[str, set[AttrPath]] = {}
        #: variables whose objects attributes were read from after code jinja does not
        #: define handed them back (their paths are unknown)
        self.poisoned: set[str] = set()
        self.depth = 0
        self._seen_calls: set[tuple[int, int, int, frozenset[Origin]]] = set()

    # -- templates --------------------------------------------------------------------
    def result(self) -> ContextReads:
        return {var: frozenset(_longest(paths)) for var, paths in sorted(self.reads.items())}

    def trees(self, name_node: Any, ignore_missing: bool = False) -> list[Any]:
        """The parsed templates a statement names (a literal, or a list of literals)."""
        nodes = _jinja().nodes
        names: list[str | None]
        if isinstance(name_node, (nodes.List, nodes.Tuple)):
            names = [_constant_string(item) for item in name_node.items]
        else:
            names = [_constant_string(name_node)]
        if not names or None in names:
            raise Unresolvable
        trees = [t for name in names if name is not None for t in self.load(name)]
        if not trees and not ignore_missing:
            raise Unresolvable
        return trees

    def load(self, template_name: str) -> list[Any]:
        parts = template_name.replace("\\", "/").split("/")
        if any(part == ".." for part in parts):
            raise Unresolvable
        trees = []
        for folder in self.folders:
            path = folder.joinpath(*[p for p in parts if p and p != "."])
            if path.is_file():
                tree = _parse(path)
                if tree is None:
                    raise Unresolvable
                trees.append(tree)
        return trees

    def render(self, template_name: str, scope: _Scope) -> None:
        trees = self.load(template_name)
        if not trees:
            raise Unresolvable
        for tree in trees:
            self.render_tree(tree, scope, {})

    def render_tree(self, tree: Any, scope: _Scope, overrides: dict[str, list[Any]]) -> None:
        """``tree`` rendered in ``scope``; ``overrides``: block bodies of templates that
        extend it, most derived first."""
        nodes = _jinja().nodes
        with self.deeper():
            blocks = {b.name: b for b in tree.find_all(nodes.Block)}
            chain = {name: [*overrides.get(name, []), block] for name, block in blocks.items()}
            parents = [n for n in tree.body if isinstance(n, nodes.Extends)]
            local = _Scope(parent=scope)
            local_overrides = {**overrides, **chain}
            self.body(tree.body, local, local_overrides)
            for extends in parents:
                for parent in self.trees(extends.template):
                    self.render_tree(parent, local, local_overrides)

    def deeper(self) -> _Depth:
        return _Depth(self)

    # -- statements -------------------------------------------------------------------
    def body(self, statements: list[Any], scope: _Scope, blocks: dict[str, list[Any]]) -> None:
        nodes = _jinja().nodes
        for statement in statements:
            # a macro can be called above its definition
            if isinstance(statement, nodes.Macro):
                self.stmt_Macro(statement, scope, blocks)
        for statement in statements:
            self.statement(statement, scope, blocks)

    def statement(self, node: Any, scope: _Scope, blocks: dict[str, list[Any]]) -> None:
        nodes = _jinja().nodes
        handler = getattr(self, f"stmt_{type(node).__name__}", None)
        if handler is not None:
            handler(node, scope, blocks)
            return
        for child in node.iter_child_nodes():
            if isinstance(child, nodes.Expr):
                self.expr(child, scope)
            else:
                self.statement(child, scope, blocks)

    def stmt_Extends(self, node: Any, scope: _Scope, blocks: dict[str, list[Any]]) -> None:
        """Followed by ``render_tree`` once the child's own statements are read."""

    def stmt_Block(self, node: Any, scope: _Scope, blocks: dict[str, list[Any]]) -> None:
        chain = blocks.get(node.name, [node])
        self.block_chain(chain, scope, blocks)

    def block_chain(self, chain: list[Any], scope: _Scope, blocks: dict[str, list[Any]]) -> None:
        """The most derived block of ``chain``, and the ones its ``super()`` reaches."""
        nodes = _jinja().nodes
        for block in chain:
            self.body(block.body, scope.child(), blocks)
            calls_super = any(
                isinstance(call.node, nodes.Name) and call.node.name == "super"
                for call in block.find_all(nodes.Call)
            )
            if not calls_super:
                return

    def stmt_For(self, node: Any, scope: _Scope, blocks: dict[str, list[Any]]) -> None:
        items = self.expr(node.iter, scope)
        inner = scope.child()
        self.bind(node.target, items, inner)
        inner.names["loop"] = _loop_variable(items)
        if node.test is not None:
            self.expr(node.test, inner)
        if node.recursive:
            self.recursive_loop(node, items, scope, blocks)
        else:
            self.body(node.body, inner, blocks)
        self.body(node.else_, scope.child(), blocks)

    def recursive_loop(
        self, node: Any, items: _Value, scope: _Scope, blocks: dict[str, list[Any]]
    ) -> None:
        """``{% for c in cs recursive %}...{{ loop(c.children) }}``: the body again with
        the items each ``loop(...)`` call passes, until no new path appears."""
        nodes = _jinja().nodes
        pending = items.origins
        done: set[Origin] = set()
        while fresh := pending - done:
            done |= fresh
            inner = scope.child()
            current = _Value(frozenset(fresh), derived=items.derived)
            self.bind(node.target, current, inner)
            inner.names["loop"] = _loop_variable(current)
            self.body(node.body, inner, blocks)
            pending = frozenset()
            for call in node.find_all(nodes.Call):
                if isinstance(call.node, nodes.Name) and call.node.name == "loop":
                    for arg in call.args:
                        pending |= self.expr(arg, inner).origins

    def stmt_If(self, node: Any, scope: _Scope, blocks: dict[str, list[Any]]) -> None:
        self.expr(node.test, scope)
        self.body(node.body, scope, blocks)
        for elif_ in node.elif_:
            self.stmt_If(elif_, scope, blocks)
        self.body(node.else_, scope, blocks)

    def stmt_Assign(self, node: Any, scope: _Scope, blocks: dict[str, list[Any]]) -> None:
        self.bind(node.target, self.expr(node.node, scope), scope)

    def stmt_AssignBlock(self, node: Any, scope: _Scope, blocks: dict[str, list[Any]]) -> None:
        self.body(node.body, scope.child(), blocks)
        if node.filter is not None:
            self.expr(node.filter, scope)
        self.bind(node.target, EMPTY, scope)

    def stmt_With(self, node: Any, scope: _Scope, blocks: dict[str, list[Any]]) -> None:
        inner = scope.child()
        for target, value in zip(node.targets, node.values, strict=False):
            self.bind(target, self.expr(value, scope), inner)
        self.body(node.body, inner, blocks)

    def stmt_Macro(self, node: Any, scope: _Scope, blocks: dict[str, list[Any]]) -> None:
        scope.names[node.name] = _Value(macros=(_Macro(node, scope),))

    def stmt_CallBlock(self, node: Any, scope: _Scope, blocks: dict[str, list[Any]]) -> None:
        caller = _Value(macros=(_Macro(node, scope, is_call_block=True),))
        self.call(node.call, scope, caller)

    def stmt_Include(self, node: Any, scope: _Scope, blocks: dict[str, list[Any]]) -> None:
        included = scope if node.with_context else _Scope(context=False)
        for tree in self.trees(node.template, node.ignore_missing):
            self.render_tree(tree, included, {})

    def stmt_Import(self, node: Any, scope: _Scope, blocks: dict[str, list[Any]]) -> None:
        scope.names[node.target] = _Value(module=self.module(node, scope))

    def stmt_FromImport(self, node: Any, scope: _Scope, blocks: dict[str, list[Any]]) -> None:
        module = self.module(node, scope)
        for name in node.names:
            imported, alias = name if isinstance(name, tuple) else (name, name)
            scope.names[alias] = module.get(imported, EMPTY)

    def module(self, node: Any, scope: _Scope) -> dict[str, _Value]:
        """The macros (and top-level ``set`` names) of an imported template; its other
        statements run too, in a scope of its own."""
        namespace: dict[str, _Value] = {}
        for tree in self.trees(node.template):
            own = _Scope(parent=scope if node.with_context else None)
            with self.deeper():
                self.body(tree.body, own, {})
            namespace.update(own.names)
        return namespace

    # -- names ------------------------------------------------------------------------
    def bind(self, target: Any, value: _Value, scope: _Scope) -> None:
        nodes = _jinja().nodes
        if isinstance(target, nodes.Name):
            scope.names[target.name] = value
        elif isinstance(target, (nodes.Tuple, nodes.List)):
            # unpacking: each name may hold any part of the value
            for item in target.items:
                self.bind(item, value, scope)
        elif isinstance(target, nodes.NSRef):
            namespace = scope.lookup(target.name)
            if namespace is not None and namespace.module is not None:
                namespace.module[target.attr] = namespace.module.get(target.attr, EMPTY) | value

    def read(self, origins: frozenset[Origin]) -> None:
        for var, path in origins:
            self.reads.setdefault(var, set()).add(path)

    def name(self, name: str, scope: _Scope) -> _Value:
        bound = scope.lookup(name)
        if bound is not None:
            return bound
        origin = frozenset({(name, ())})
        self.read(origin)
        return _Value(origin)

    # -- expressions ------------------------------------------------------------------
    def expr(self, node: Any, scope: _Scope) -> _Value:
        nodes = _jinja().nodes
        handler = getattr(self, f"expr_{type(node).__name__}", None)
        if handler is not None:
            value: _Value = handler(node, scope)
            return value
        for child in node.iter_child_nodes():
            if isinstance(child, nodes.Expr):
                self.expr(child, scope)
            elif isinstance(child, (nodes.Keyword, nodes.Pair)):
                for part in child.iter_child_nodes():
                    self.expr(part, scope)
        return EMPTY

    def expr_Name(self, node: Any, scope: _Scope) -> _Value:
        return self.name(node.name, scope)

    def expr_Getattr(self, node: Any, scope: _Scope) -> _Value:
        owner = self.expr(node.node, scope)
        return self.attribute(owner, node.attr)

    def attribute(self, owner: _Value, attr: str) -> _Value:
        if owner.module is not None and attr in owner.module:
            return owner.module[attr]
        if owner.derived:
            # ``(post|custom).author``: read from objects reached no one knows how
            self.poisoned |= owner.derived
            return _Value(derived=owner.derived)
        origins = _extend(owner.origins, (attr,))
        self.read(origins)
        return _Value(origins)

    def expr_Getitem(self, node: Any, scope: _Scope) -> _Value:
        owner = self.expr(node.node, scope)
        key = _constant_string(node.arg)
        if key is not None:
            return self.attribute(owner, key)
        self.expr(node.arg, scope)
        # ``posts[0]``, ``posts[1:]``: an item of the collection, read at its path
        return owner.items()

    def expr_CondExpr(self, node: Any, scope: _Scope) -> _Value:
        self.expr(node.test, scope)
        value = self.expr(node.expr1, scope)
        return value | self.expr(node.expr2, scope) if node.expr2 is not None else value

    def expr_Or(self, node: Any, scope: _Scope) -> _Value:
        return self.expr(node.left, scope) | self.expr(node.right, scope)

    expr_And = expr_Or

    def expr_List(self, node: Any, scope: _Scope) -> _Value:
        value = EMPTY
        for item in node.items:
            value = value | self.expr(item, scope)
        return value

    expr_Tuple = expr_List

    def expr_Filter(self, node: Any, scope: _Scope) -> _Value:
        subject = self.expr(node.node, scope) if node.node is not None else EMPTY
        arguments = self.arguments(node, scope)
        for path in _filter_attribute_paths(node):
            self.read(_extend(subject.origins, path))
        if node.name == "groupby" and node.args:
            return self.groups(subject, node.args[0])
        paths = _filter_attribute_paths(node)
        if node.name in {"map", "attr"} and paths:
            return self.attribute_path(subject, paths[0])
        if node.name in PASS_THROUGH_FILTERS:
            extra = arguments[0] if node.name in {"default", "d"} and arguments else EMPTY
            return subject.items() | extra
        if node.name in VALUE_FILTERS:
            return EMPTY
        return _opaque(subject, *arguments)

    def attribute_path(self, owner: _Value, path: AttrPath) -> _Value:
        value = owner.items()
        for attr in path:
            value = self.attribute(value, attr)
        return value

    def groups(self, subject: _Value, attribute: Any) -> _Value:
        """``posts|groupby("author")``: ``(grouper, list)`` pairs, read as ``g.grouper``,
        ``g.list`` or unpacked."""
        text = _constant_string(attribute)
        grouper = self.attribute_path(subject, _dotted(text)) if text else EMPTY
        pairs = {"grouper": grouper, "list": subject.items()}
        return _Value(subject.origins | grouper.origins, module=pairs, derived=subject.derived)

    def expr_Test(self, node: Any, scope: _Scope) -> _Value:
        self.expr(node.node, scope)
        self.arguments(node, scope)
        return EMPTY

    def arguments(self, node: Any, scope: _Scope) -> list[_Value]:
        values = [self.expr(arg, scope) for arg in node.args]
        values += [self.expr(kw.value, scope) for kw in node.kwargs]
        for extra in (node.dyn_args, node.dyn_kwargs):
            if extra is not None:
                values.append(self.expr(extra, scope))
        return values

    def expr_Call(self, node: Any, scope: _Scope) -> _Value:
        return self.call(node, scope, None)

    def call(self, node: Any, scope: _Scope, caller: _Value | None) -> _Value:
        nodes = _jinja().nodes
        callee_node = node.node
        if (
            isinstance(callee_node, nodes.Getattr)
            and callee_node.attr in NO_ARGUMENT_VIEWS
            and not node.args
            and not node.kwargs
        ):
            # ``d.items()``: the same objects, not an attribute called ``items``
            return self.expr(callee_node.node, scope).items()
        if isinstance(callee_node, nodes.Name) and callee_node.name == "namespace":
            if scope.lookup("namespace") is None:
                return _Value(module={kw.key: self.expr(kw.value, scope) for kw in node.kwargs})
        callee = self.expr(callee_node, scope)
        if not callee.macros:
            # a global, a method: what it returns may hold the objects it was given
            return _opaque(callee, *self.arguments(node, scope))
        for macro in callee.macros:
            self.enter_macro(macro, node, scope, caller)
        return EMPTY

    def enter_macro(self, macro: _Macro, call: Any, scope: _Scope, caller: _Value | None) -> None:
        """The macro's body with its parameters bound to the call's arguments."""
        positional = [self.expr(arg, scope) for arg in call.args]
        keywords = {kw.key: self.expr(kw.value, scope) for kw in call.kwargs}
        extra = EMPTY
        for dynamic in (call.dyn_args, call.dyn_kwargs):
            if dynamic is not None:
                extra = extra | self.expr(dynamic, scope)
        node = macro.node
        passed = frozenset(o for v in (*positional, *keywords.values()) for o in v.origins)
        key = (id(node), id(macro.scope), id(caller.macros[0]) if caller else 0, passed)
        if key in self._seen_calls:
            return
        self._seen_calls.add(key)
        inner = macro.scope.child()
        params = [arg.name for arg in node.args]
        defaults = dict(zip(params[len(params) - len(node.defaults) :], node.defaults, strict=True))
        for position, param in enumerate(params):
            if position < len(positional):
                value = positional[position]
            elif param in keywords:
                value = keywords.pop(param)
            elif param in defaults:
                value = self.expr(defaults[param], macro.scope)
            else:
                value = EMPTY
            inner.names[param] = value | extra
        rest = EMPTY
        for value in [*positional[len(params) :], *keywords.values()]:
            rest = rest | value
        inner.names["varargs"] = rest
        inner.names["kwargs"] = rest
        if caller is not None:
            inner.names["caller"] = caller
        with self.deeper():
            self.body(node.body, inner, {})


def _opaque(*inputs: _Value) -> _Value:
    """What code jinja does not define returns when given ``inputs``."""
    return _Value(derived=frozenset(var for value in inputs for var in value.sources()))


def _loop_variable(items: _Value) -> _Value:
    """``loop``: ``loop.previtem``/``loop.nextitem`` are items too."""
    return _Value(module={"previtem": items, "nextitem": items})


class _Depth:
    def __init__(self, analysis: _Analysis) -> None:
        self.analysis = analysis

    def __enter__(self) -> None:
        self.analysis.depth += 1
        if self.analysis.depth > MAX_DEPTH:
            raise Unresolvable

    def __exit__(self, *exc: object) -> None:
        self.analysis.depth -= 1


def _longest(paths: set[AttrPath]) -> set[AttrPath]:
    """Paths that are not a prefix of another one (the empty path is dropped)."""
    return {p for p in paths if p and not any(len(q) > len(p) and q[: len(p)] == p for q in paths)}
