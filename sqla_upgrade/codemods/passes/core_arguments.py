"""Rewrite the 1.x argument forms of Core statements, removed in 2.0, to generative calls.

Before::

    stmt = users.insert(values={"name": "ann"}, inline=True)
    stmt = users.update(users.c.id == 5, values={"name": "bob"})
    stmt = users.delete(users.c.id == 5)
    stmt = users.select(users.c.id > 5, order_by=[users.c.name], limit=10)
    stmt = update(users, users.c.id == 5, values={"name": "bob"})
    users = Table("users", metadata, autoload=True, autoload_with=engine)
    stmt = select(users).apply_labels()
    stmt = select(users).with_only_columns([users.c.id, users.c.name])
    total = conn.execute(users.count(users.c.id > 5)).scalar()

After::

    stmt = users.insert().values({"name": "ann"}).inline()
    stmt = users.update().where(users.c.id == 5).values({"name": "bob"})
    stmt = users.delete().where(users.c.id == 5)
    stmt = users.select().where(users.c.id > 5).order_by(users.c.name).limit(10)
    stmt = update(users).where(users.c.id == 5).values({"name": "bob"})
    users = Table("users", metadata, autoload_with=engine)
    stmt = select(users).set_label_style(LABEL_STYLE_TABLENAME_PLUS_COL)
    stmt = select(users).with_only_columns(users.c.id, users.c.name)
    total = conn.execute(select(func.count()).select_from(users).where(users.c.id > 5)).scalar()

Each 1.x argument becomes the generative call that builds the same statement:
``whereclause`` → ``.where()``, ``values`` → ``.values()`` (``.ordered_values(*values)``
with ``preserve_parameter_order=True``), ``inline=True`` → ``.inline()``,
``prefixes=[..]`` → ``.prefix_with(..)``, ``returning=[..]`` → ``.returning(..)``,
``return_defaults=True`` → ``.return_defaults()``, and for ``select()`` the keywords
select-list maps (``order_by``, ``group_by``, ``from_obj``, ``having``, ``limit``,
``offset``, ``distinct=True``). Any other argument (``bind=``, dialect keywords,
``*args``/``**kwargs``, a value that may be a list or one clause) leaves the call
unchanged with a TODO saying which.

Safety: the function forms (``insert(t, ...)``, ``update(...)``, ``delete(...)``) are
rewritten only where the name resolves to SQLAlchemy's (however imported, the dialect
``insert``s, or a Flask-SQLAlchemy ``db.insert``). For the method forms the receiver
must be a Core table:

* proven (rewritten): a name every binding of which is ``Table(...)``/``table(...)``
  (also ``db.Table``), ``Model.__table__``, ``metadata.tables[...]`` or another proven
  name, or a parameter annotated ``Table``; ``X.__table__``; ``metadata.tables[...]``;
* disproven (never touched): a session by the project's session analysis (also the
  assumed ones: ``session.delete(obj)``), a query (``Model.query``, a name bound to a
  ``.query(...)`` chain), a name bound to anything else that is not a call, a call;
* unknown (an import, a parameter, an attribute): only shapes no ``Session``/``Query``
  (or ``dict``) method accepts are rewritten, in a module that imports SQLAlchemy (or a
  Flask-SQLAlchemy object): ``x.insert(values=..)`` with keywords only,
  ``x.update(<condition>, values=..)`` whose condition is a comparison, an operator or a
  call (``d.update(other, values=..)`` is also a dict's), ``x.update(whereclause=..)``.
  A TODO is left for ``x.update(values=...)`` (``Query.update`` has the same keyword;
  only in such a module), for another ``x.update(arg, values=..)``, and for
  ``x.update(arg)``/``x.delete(arg)``/``x.select(arg)`` whose argument reads ``x.c``, or
  with ``whereclause=``; any other call (``session.delete(obj)``, ``q.update({..})``,
  ``cache.delete(key)``) is left alone. A name bound to the result of an unknown call
  gets the TODO where an unknown one would be rewritten. (The project index records no
  tables, so a table imported from another module is unknown.)

``Table(..., autoload=True, autoload_with=e)`` loses ``autoload`` (``autoload_with`` alone
reflects in 2.0); ``autoload=False`` goes with any ``autoload_with`` (1.x did not reflect
then). ``autoload=True`` without ``autoload_with`` needs an engine: bound-metadata passes
the one the metadata was bound to, or leaves its TODO; when bound-metadata does not run
(or for a ``db.Table``), the TODO is left here. ``apply_labels()`` is rewritten on
``select()`` statements (a chain of ``select()``/``table.select()`` or a name bound only
to one); a query's is left to query-to-select, anything else gets a TODO.

``with_only_columns([a, b])`` (2.0 raises for a list) becomes ``with_only_columns(a, b)``
on a proven ``select()`` (as for ``apply_labels()``); a comprehension, ``t.c`` or a local
bound only to lists is spread with ``*``. Another one-argument value that may be a list
(a parameter, a call of ours) gets a TODO, as does a list given to a receiver not proven a
select (a query's is left to query-to-select).

``j.select(whereclause)`` on a join or an alias of proven tables (``users.join(addresses)``,
``users.alias()``, or a local bound only to one) is rewritten as a table's.

``stmt.append_whereclause(c)`` and 1.x's other in-place ``Select`` mutators
(``append_order_by``, ``append_group_by``, ``append_having``, ``append_column``,
``append_from``, ``append_correlation``, ``append_prefix``) become ``stmt =
stmt.where(c)``, ``stmt = stmt.add_columns(...)``... on a local bound only to ``select()``
chains that is not used before its last mutation (nothing else can share the statement);
otherwise, and for a receiver not proven a select (``append_column`` and ``append_from``,
which tables and other objects have too, only on a proven one), a TODO.

``class_mapper(User).mapped_table`` (also of ``object_mapper(obj)``, ``inspect(User)``,
``User.__mapper__`` or a name bound to one), 1.3's deprecated name removed in 2.0,
becomes ``.persist_selectable``, the same table; ``x.mapped_table`` of anything else
gets a TODO.

``table.count(whereclause)`` (removed) becomes
``select(func.count()).select_from(table).where(whereclause)`` on a proven table whose
``Table(...)`` declares a primary key: 1.x counted the non-NULL values of that key (of
the first column without one), which is every row. The count keeps 1.x's key
(``.label("tbl_row_count")``) unless the row is only read with ``.scalar()``. A table
whose primary key cannot be seen (reflected, imported, ``Model.__table__``), one without a
primary key, other arguments, or ``select``/``func`` bound to something else here leave
the call with a TODO giving the rewrite; ``count()`` on anything not proven a table
(a query, a list) is left alone.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Sequence
from typing import Any

import libcst as cst
from libcst.codemod.visitors import AddImportsVisitor
from libcst.metadata import Assignment, ParentNodeProvider, PositionProvider, ScopeProvider

from sqla_upgrade.codemods.base import ANALYSIS_METADATA, Pass, per_object
from sqla_upgrade.codemods.codegen import code_of
from sqla_upgrade.codemods.index.model import TABLE_CONSTRUCTORS, ObjectKind
from sqla_upgrade.codemods.layout import relaid_arguments
from sqla_upgrade.codemods.names import assigned_values, last_parts, qualified_names
from sqla_upgrade.codemods.passes.bound_metadata import TABLE as BOUND_METADATA_TABLES
from sqla_upgrade.codemods.passes.select_list import (
    KEYWORD_METHODS,
    SELECT_GENERATIVE,
    SELECT_NAMES,
    is_sqlalchemy_select,
    list_to_args,
    method_call,
)
from sqla_upgrade.codemods.pipeline import select_entries

LABEL_STYLE = "LABEL_STYLE_TABLENAME_PLUS_COL"
#: what gives a class's (or an object's) ``Mapper``
MAPPER_FUNCTIONS = frozenset(
    f"{module}.{name}"
    for module in ("sqlalchemy.orm", "sqlalchemy.orm.base", "sqlalchemy.orm.util")
    for name in ("class_mapper", "object_mapper")
) | frozenset({"sqlalchemy.inspect", "sqlalchemy.inspection.inspect"})
NEEDS_ENGINE = "Table(..., autoload=True) needs autoload_with=engine in 2.0"

METADATA_CONSTRUCTORS = frozenset(
    {"sqlalchemy.MetaData", "sqlalchemy.schema.MetaData", "sqlalchemy.sql.schema.MetaData"}
)
STATEMENTS = ("insert", "update", "delete")
#: qualified name of a statement constructor → its kind
FUNCTIONS: dict[str, str] = {
    f"{module}.{spelling}": kind
    for kind in STATEMENTS
    for module in (
        "sqlalchemy",
        "sqlalchemy.sql",
        "sqlalchemy.sql.expression",
        "sqlalchemy.sql.dml",
    )
    for spelling in (kind, kind.capitalize())
} | {
    f"sqlalchemy.dialects.{dialect}.{spelling}": "insert"
    for dialect in ("postgresql", "sqlite", "mysql")
    for spelling in ("insert", "Insert")
}
FUNCTION_ENDINGS = last_parts(FUNCTIONS)
TABLE_CONSTRUCTOR_ENDINGS = last_parts(TABLE_CONSTRUCTORS)
#: the 1.x positional parameters of ``table.<kind>(...)`` (a function form has the table first)
POSITIONAL: dict[str, tuple[str, ...]] = {
    "insert": ("values", "inline"),
    "update": ("whereclause", "values", "inline"),
    "delete": ("whereclause",),
    "select": ("whereclause",),
}
KEYWORDS: dict[str, frozenset[str]] = {
    "insert": frozenset({"values", "inline", "prefixes", "returning", "return_defaults"}),
    "update": frozenset(
        {
            "whereclause",
            "values",
            "inline",
            "prefixes",
            "returning",
            "return_defaults",
            "preserve_parameter_order",
        }
    ),
    "delete": frozenset({"whereclause", "prefixes", "returning"}),
    "select": frozenset({"whereclause", "distinct", *KEYWORD_METHODS}),
}
#: the order the generative calls are written in (all of them commute)
ORDER = (
    "whereclause",
    "values",
    "from_obj",
    "group_by",
    "having",
    "order_by",
    "limit",
    "offset",
    "distinct",
    "inline",
    "prefixes",
    "returning",
    "return_defaults",
)
FLAGS = {"distinct": "distinct", "inline": "inline", "return_defaults": "return_defaults"}
#: methods of a clause that give one clause (``order_by=users.c.id.desc()``)
CLAUSE_METHODS = frozenset(
    {
        "desc",
        "asc",
        "nulls_first",
        "nulls_last",
        "nullsfirst",
        "nullslast",
        "collate",
        "label",
        "join",
        "outerjoin",
        "alias",
    }
)
#: keywords of ``Table(...)`` whose columns (and primary key) come from elsewhere
REFLECTING = frozenset({"autoload", "autoload_with", "extend_existing", "keep_existing"})
PRIMARY_KEY_CONSTRAINTS = frozenset(
    {
        "sqlalchemy.PrimaryKeyConstraint",
        "sqlalchemy.schema.PrimaryKeyConstraint",
        "sqlalchemy.sql.schema.PrimaryKeyConstraint",
    }
)
#: what ``select``/``func`` may already name where ``Table.count()`` is rewritten
SQLALCHEMY_SPELLINGS = {
    "select": frozenset(SELECT_NAMES),
    "func": frozenset(
        {
            "sqlalchemy.func",
            "sqlalchemy.sql.func",
            "sqlalchemy.sql.expression.func",
            "sqlalchemy.sql.functions.func",
        }
    ),
}
#: the key 1.x gave the value of ``Table.count()``
LABELLED = '.label("tbl_row_count")'
MAX_DEPTH = 25
UNKNOWN_FIX_CHARS = 120

#: a call with arguments of one of the statements (method or function form)
_CALL_WITH_ARGS = re.compile(rb"(?:insert|update|delete|select|Insert|Update|Delete)\s*\(\s*[^\s)]")
_VALUES_KEYWORD = re.compile(rb"values\s*=")
#: what a file spells where such a call could be changed: a table constructor or
#: annotation, ``__table__``, ``metadata.tables[...]``, SQLAlchemy's import (function
#: forms), the 1.x-only keywords, a table's columns read in the argument
HINTS = (
    b"Table",
    b"table(",
    b"__table__",
    b".tables[",
    b"sqlalchemy",
    b"whereclause",
    b".c.",
    b".c[",
)


class ColumnsShape(enum.Enum):
    """What the one argument of ``with_only_columns()`` is."""

    LIST = "list"  # ``[a, b]``, ``(a, b)``, a comprehension, ``users.c``
    NAMED_LIST = "named list"  # a local bound only to lists
    COLUMN = "column"  # ``users.c.id``, ``func.count()``: the 2.0 form
    UNKNOWN = "unknown"


class Evidence(enum.Enum):
    """Is an expression a Core table?"""

    PROOF = "proof"
    UNKNOWN = "unknown"  # imported, a parameter, an attribute: nothing says either way
    OPAQUE = "opaque"  # bound to the result of a call whose result is not known
    CONTRARY = "contrary"


def combine(verdicts: list[Evidence]) -> Evidence:
    if not verdicts:
        return Evidence.UNKNOWN
    if Evidence.CONTRARY in verdicts:
        return Evidence.CONTRARY
    if all(v is Evidence.PROOF for v in verdicts):
        return Evidence.PROOF
    return Evidence.OPAQUE if Evidence.OPAQUE in verdicts else Evidence.UNKNOWN


@per_object
def _flask_object_hints(index: Any) -> tuple[bytes, ...]:
    """``db.``: the local names of the project's Flask-SQLAlchemy objects (``db.insert``)."""
    names = {
        qualname.rpartition(".")[2]
        for qualname, kind in index.objects.items()
        if kind is ObjectKind.FLASK_SQLALCHEMY
    }
    for module in index.modules.values():
        for local, imported in module.imports.items():
            if index.kind_of(imported) is ObjectKind.FLASK_SQLALCHEMY:
                names.add(local)
    return tuple(sorted(f"{name}.".encode() for name in names))


class CoreArgumentsPass(Pass):
    """t.insert(values=..)/update(t, cond, values=..)/t.delete(cond) → generative calls; autoload; apply_labels()."""

    name = "core-arguments"
    triggers = (
        b"insert",
        b"update",
        b"delete",
        b"select",
        b"Insert",
        b"Update",
        b"Delete",
        b"autoload",
        b"apply_labels",
        b"with_only_columns",
        b".count(",
        b".append_",
        b"mapped_table",
    )
    METADATA_DEPENDENCIES = ANALYSIS_METADATA

    @classmethod
    def concerns(cls, code: bytes, path: str, index: Any) -> bool:
        """Where ``autoload``, ``apply_labels`` or ``with_only_columns`` is spelled, a
        ``.count(`` is called in a file spelling one of ``HINTS`` (or in a project with Core
        tables), or a statement is called with arguments in a file spelling one of
        ``HINTS`` (or ``values=``, or ``db.``)."""
        if b"autoload" in code or b"apply_labels" in code or b"with_only_columns" in code:
            return True
        if b".mapped_table" in code:
            return True
        if _APPEND_CALL.search(code) is not None:
            return True
        hinted = any(hint in code for hint in HINTS)
        if b".count(" in code and (hinted or (index is not None and index.core_tables)):
            return True
        if _CALL_WITH_ARGS.search(code) is None:
            return False
        if hinted or _VALUES_KEYWORD.search(code):
            return True
        return index is not None and any(h in code for h in _flask_object_hints(index))

    def visit_Module(self, node: cst.Module) -> None:
        from sqla_upgrade.codemods.analysis.sessions import SessionResolver

        self._module = node
        self._weighing: set[frozenset[int]] = set()
        self._sessions = SessionResolver(self)
        index, module_name = self.state.index, self.state.module_name
        facts = index.modules.get(module_name)
        self._sqlalchemy_known: bool | None = (
            True
            if (facts is not None and facts.uses_sqlalchemy)
            or index.flask_sqlalchemy_in(module_name)
            else None
        )
        options = self.state.options
        self._bound_metadata_runs = any(
            entry.name == "bound-metadata"
            for entry in select_entries(options.target, options.only, options.skip)
        )

    @property
    def _uses_sqlalchemy(self) -> bool:
        """Does the module import SQLAlchemy or a Flask-SQLAlchemy object?"""
        if self._sqlalchemy_known is None:
            self._sqlalchemy_known = "sqlalchemy" in code_of(self._module)
        return self._sqlalchemy_known

    # -- dispatch -------------------------------------------------------------------------
    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.BaseExpression:
        func = original_node.func
        if isinstance(func, cst.Attribute) and func.attr.value == "apply_labels":
            return self._apply_labels(original_node, updated_node)
        if isinstance(func, cst.Attribute) and func.attr.value == "with_only_columns":
            return self._with_only_columns(original_node, updated_node)
        if isinstance(func, cst.Attribute) and func.attr.value == "count":
            return self._table_count(original_node, updated_node)
        kind = self._function_kind(func)
        if kind is not None:
            return self._function_form(original_node, updated_node, kind)
        if (
            isinstance(func, cst.Attribute)
            and func.attr.value in (*STATEMENTS, "select")
            and original_node.args
        ):
            return self._method_form(original_node, updated_node, func.attr.value)
        if self._is_table_constructor(func):
            return self._autoload(original_node, updated_node)
        return updated_node

    def _function_kind(self, func: cst.BaseExpression) -> str | None:
        for qualname in qualified_names(self, func, ending=FUNCTION_ENDINGS):
            if qualname in FUNCTIONS:
                return FUNCTIONS[qualname]
        if isinstance(func, cst.Attribute) and func.attr.value in STATEMENTS:
            if self._is_flask_object(func.value):
                return func.attr.value
        return None

    def _is_flask_object(self, node: cst.BaseExpression) -> bool:
        index = self.state.index
        names = qualified_names(self, node, ending=index.kind_endings())
        return any(index.kind_of(q) is ObjectKind.FLASK_SQLALCHEMY for q in names)

    def _is_table_constructor(self, func: cst.BaseExpression) -> bool:
        if qualified_names(self, func, ending=TABLE_CONSTRUCTOR_ENDINGS) & TABLE_CONSTRUCTORS:
            return True
        return (
            isinstance(func, cst.Attribute)
            and func.attr.value in ("Table", "table")
            and self._is_flask_object(func.value)
        )

    # -- insert/update/delete(table, ...) ------------------------------------------------
    def _function_form(self, original: cst.Call, call: cst.Call, kind: str) -> cst.BaseExpression:
        if len(call.args) < 2:
            return call  # the 2.0 form already
        named = _named(call.args, ("table", *POSITIONAL[kind]), KEYWORDS[kind] | {"table"})
        if isinstance(named, str):
            self.todo(original, f"{kind}() with 1.x arguments: {named}")
            return call
        table = named.pop("table", None)
        if table is None:
            return call
        base = call.with_changes(
            args=[table.with_changes(comma=cst.MaybeSentinel.DEFAULT, whitespace_after_arg=_NONE)],
            whitespace_before_args=_NONE,
        )
        return self._rewrite(original, call, base, kind, named)

    # -- table.insert/update/delete/select(...) -------------------------------------------
    def _method_form(self, original: cst.Call, call: cst.Call, kind: str) -> cst.BaseExpression:
        assert isinstance(original.func, cst.Attribute)
        receiver = original.func.value
        evidence = self._table_evidence(receiver)
        if kind == "select" and evidence is not Evidence.PROOF:
            if self._from_clause_evidence(receiver) is Evidence.PROOF:
                evidence = Evidence.PROOF  # a join or alias of proven tables
        if evidence is not Evidence.PROOF:
            shape = _shape(kind, original, receiver)
            if evidence is Evidence.CONTRARY or shape is None:
                return call
            if _values_only_update(kind, original) and not self._uses_sqlalchemy:
                return call  # ``context.update(values=...)`` away from SQLAlchemy
            if shape == "core" and evidence is Evidence.UNKNOWN and self._uses_sqlalchemy:
                pass  # no Session or Query method takes these arguments
            else:
                self._unproven_todo(original, call, kind, shape)
                return call
        named = _named(call.args, POSITIONAL[kind], KEYWORDS[kind])
        if isinstance(named, str):
            self.todo(original, f"{kind}() with 1.x arguments: {named}")
            return call
        base = call.with_changes(args=[], whitespace_before_args=_NONE)
        return self._rewrite(original, call, base, kind, named)

    def _from_clause_evidence(self, node: cst.BaseExpression, depth: int = 0) -> Evidence:
        """Is ``node`` a join or an alias of proven tables (``users.join(addresses)``,
        ``users.alias("u")``, or a local bound only to one), whose 1.x ``select(whereclause)``
        is ``select().where(whereclause)`` as a table's?"""
        if depth > MAX_DEPTH:
            return Evidence.OPAQUE
        if isinstance(node, cst.Name):
            assignments = self._assignments(node)
            if not assignments:
                return Evidence.UNKNOWN
            verdicts = []
            for assignment in assignments:
                value = self._assigned_value(assignment.node)
                verdicts.append(
                    Evidence.UNKNOWN
                    if value is None
                    else self._from_clause_evidence(value, depth + 1)
                )
            return combine(verdicts)
        if not (isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute)):
            return Evidence.OPAQUE
        method = node.func.attr.value
        receiver = node.func.value
        if method in ("join", "outerjoin"):
            if not node.args or node.args[0].keyword is not None:
                return Evidence.OPAQUE
            sides = [receiver, node.args[0].value]
        elif method == "alias":
            sides = [receiver]
        else:
            return Evidence.OPAQUE
        for side in sides:
            found = self._table_evidence(side, depth + 1)
            if found is not Evidence.PROOF:
                found = self._from_clause_evidence(side, depth + 1)
            if found is not Evidence.PROOF:
                return Evidence.OPAQUE
        return Evidence.PROOF

    def _unproven_todo(self, original: cst.Call, call: cst.Call, kind: str, shape: str) -> None:
        assert isinstance(original.func, cst.Attribute)
        receiver = code_of(self._module, original.func.value)
        named = _named(call.args, POSITIONAL[kind], KEYWORDS[kind])
        fix = None
        if not isinstance(named, str):
            chain = self._chain(call.with_changes(args=[], whitespace_before_args=_NONE), named)
            if not isinstance(chain, str):
                fix = " ".join(code_of(self._module, chain).split())
        if fix is None or len(fix) > UNKNOWN_FIX_CHARS:
            fix = f"{receiver}.{kind}() followed by generative calls (.where(), .values()...)"
        also = (
            " (`Query.update(values=...)` looks the same)"
            if _values_only_update(kind, original)
            else ""
        )
        self.todo(
            original,
            f"`{receiver}.{kind}(...)` takes 1.x arguments only if `{receiver}` is a Core "
            f"Table, which cannot be proven here{also}: if it is one, write `{fix}`",
        )

    def _rewrite(
        self,
        original: cst.Call,
        call: cst.Call,
        base: cst.Call,
        kind: str,
        named: dict[str, cst.Arg],
    ) -> cst.BaseExpression:
        if self._loses_comments(call):
            self.todo(original, f"{kind}() with 1.x arguments holding comments: rewrite by hand")
            return call
        chain = self._chain(base, named)
        if isinstance(chain, str):
            self.todo(original, f"{kind}() with 1.x arguments: {chain}")
            return call
        self.count_rewrite()
        return chain

    def _loses_comments(self, call: cst.Call) -> bool:
        """Would comments between the arguments (not inside their values) be dropped?"""
        bare = call.with_changes(
            func=cst.Name("f"), args=[a.with_changes(value=cst.Name("x")) for a in call.args]
        )
        return "#" in code_of(self._module, bare)

    def _chain(self, base: cst.Call, named: dict[str, cst.Arg]) -> cst.BaseExpression | str:
        """The generative calls for ``named`` on ``base``, or why there are none."""
        named = dict(named)
        ordered = False
        preserve = named.pop("preserve_parameter_order", None)
        if preserve is not None:
            flag = _flag(preserve.value)
            if flag is None:
                return "`preserve_parameter_order=` is not a literal True/False"
            ordered = flag
            values = named.get("values")
            if ordered and (values is None or _is_none(values.value)):
                return "`preserve_parameter_order=True` without `values=` orders later .values()"
        result: cst.BaseExpression = base
        for keyword in ORDER:
            arg = named.get(keyword)
            if arg is None or (_is_none(arg.value) and keyword not in ("limit", "offset")):
                continue
            step = self._step(keyword, arg.value, ordered)
            if isinstance(step, str):
                return step
            if step is not None:
                result = method_call(result, step[0], step[1])
        return result

    def _step(
        self, keyword: str, value: cst.BaseExpression, ordered: bool
    ) -> tuple[str, list[cst.Arg]] | str | None:
        """The generative call for one argument; None: the argument does nothing."""
        if keyword == "values":
            if ordered:
                spread = list_to_args(value)
                return ("ordered_values", spread or [cst.Arg(value, star="*")])
            return ("values", [cst.Arg(value)])
        if keyword in FLAGS:
            flag = _flag(value)
            if flag is None:
                return f"`{keyword}=` is not a literal True/False"
            return (FLAGS[keyword], []) if flag else None
        if keyword in ("prefixes", "returning"):
            method = "prefix_with" if keyword == "prefixes" else "returning"
            spread = list_to_args(value)
            if spread is None and keyword == "prefixes" and isinstance(value, cst.Name):
                spread = [cst.Arg(value, star="*")]  # 1.x iterated it
            if spread is None:
                return f"`{keyword}=` is not a literal list"
            return (method, spread) if spread else None
        method, spreads = KEYWORD_METHODS.get(keyword, (keyword, False))
        if keyword == "whereclause":
            method = "where"
        if not spreads:
            return (method, [cst.Arg(value)])
        spread = list_to_args(value)
        if spread is not None:
            return (method, spread) if spread else None
        if self._is_one_clause(value):
            return (method, [cst.Arg(value)])
        return f"`{keyword}=` may be a list or one clause"

    def _is_one_clause(self, value: cst.BaseExpression) -> bool:
        """``users.c.id``, ``users.c.id.desc()``, ``desc(users.c.id)``: one clause."""
        if isinstance(value, cst.Attribute):
            return True
        if not isinstance(value, cst.Call):
            return False
        func = value.func
        if isinstance(func, cst.Attribute) and func.attr.value in CLAUSE_METHODS:
            return True
        return any(q.startswith("sqlalchemy.") for q in qualified_names(self, func))

    # -- is it a table? ---------------------------------------------------------------------
    def _table_evidence(self, node: cst.BaseExpression, depth: int = 0) -> Evidence:
        if depth > MAX_DEPTH:
            return Evidence.OPAQUE
        found = self._own_table_evidence(node, depth)
        if found is Evidence.PROOF or not isinstance(node, cst.Name | cst.Attribute):
            return found
        from sqla_upgrade.codemods.analysis.sessions import Evidence as SessionEvidence

        if self._sessions.evidence(node) in (SessionEvidence.PROOF, SessionEvidence.ASSUMED):
            return Evidence.CONTRARY
        return found

    def _own_table_evidence(self, node: cst.BaseExpression, depth: int) -> Evidence:
        if isinstance(node, cst.Call):
            if self._is_table_constructor(node.func):
                return Evidence.PROOF
            return Evidence.CONTRARY if self._is_query_chain(node) else Evidence.OPAQUE
        if isinstance(node, cst.Attribute):
            if node.attr.value == "__table__" or self._indexed_table(node):
                return Evidence.PROOF
            return Evidence.CONTRARY if _query_like(node.attr.value) else Evidence.UNKNOWN
        if isinstance(node, cst.Subscript):
            tables = node.value
            if (
                isinstance(tables, cst.Attribute)
                and tables.attr.value == "tables"
                and self._is_metadata(tables.value)
            ):
                return Evidence.PROOF
            return Evidence.UNKNOWN
        if isinstance(node, cst.Name):
            assignments = self._assignments(node)
            found = (
                Evidence.UNKNOWN
                if assignments is None
                else combine([self._binding_evidence(a, depth) for a in assignments])
            )
            if found is Evidence.UNKNOWN and self._indexed_table(node):
                return Evidence.PROOF  # imported from the module that builds it
            if found is not Evidence.PROOF and _query_like(node.value):
                return Evidence.CONTRARY
            return found
        return Evidence.CONTRARY  # a literal, an operation...

    def _binding_evidence(self, assignment: Assignment, depth: int) -> Evidence:
        bound = assignment.node
        if isinstance(bound, cst.Import | cst.ImportFrom):
            return Evidence.UNKNOWN
        if isinstance(bound, cst.Param):
            if bound.annotation is None:
                return Evidence.UNKNOWN
            return self._annotation_evidence(bound.annotation.annotation)
        if isinstance(bound, cst.FunctionDef | cst.ClassDef):
            return Evidence.CONTRARY
        value = self._assigned_value(bound)
        if value is None:
            return Evidence.OPAQUE  # a loop variable, ``with ... as``, ``global``...
        return self._table_evidence(value, depth + 1)

    def _indexed_table(self, node: cst.Name | cst.Attribute) -> bool:
        """A module-level table of the project, by the index (``from .models import
        audit`` with ``audit = Table(...)`` in models, or ``models.audit``)."""
        index = self.state.index
        return bool(index.core_tables) and any(
            index.is_core_table(q) for q in qualified_names(self, node)
        )

    def _annotation_evidence(self, annotation: cst.BaseExpression) -> Evidence:
        if isinstance(annotation, cst.SimpleString):
            text = annotation.evaluated_value
            if isinstance(text, str) and text.strip().rpartition(".")[2] == "Table":
                return Evidence.PROOF
            return Evidence.CONTRARY
        if qualified_names(self, annotation) & TABLE_CONSTRUCTORS:
            return Evidence.PROOF
        return Evidence.CONTRARY

    def _is_metadata(self, node: cst.BaseExpression) -> bool:
        """``metadata`` (a MetaData by the index, or bound only to ``MetaData()``),
        ``Base.metadata``, ``db.metadata``."""
        if isinstance(node, cst.Attribute) and node.attr.value == "metadata":
            return True
        index = self.state.index
        if any(index.kind_of(q) is ObjectKind.METADATA for q in qualified_names(self, node)):
            return True
        if not isinstance(node, cst.Name):
            return False
        assignments = self._assignments(node)
        if not assignments:
            return False
        for assignment in assignments:
            value = self._assigned_value(assignment.node)
            if not isinstance(value, cst.Call) or not (
                qualified_names(self, value.func) & METADATA_CONSTRUCTORS
            ):
                return False
        return True

    def _is_query_chain(self, node: cst.BaseExpression) -> bool:
        """``session.query(User).filter(...)``, ``User.query.filter_by(...)``: a Query."""
        while isinstance(node, cst.Call | cst.Attribute):
            if isinstance(node, cst.Attribute):
                if _query_like(node.attr.value):
                    return True
                node = node.value
            else:
                node = node.func
        return isinstance(node, cst.Name) and _query_like(node.value)

    def _assignments(self, node: cst.Name) -> list[Assignment] | None:
        scope = self.get_metadata(ScopeProvider, node, None)
        if scope is None:
            return None
        return [a for a in scope[node.value] if isinstance(a, Assignment)]

    def _assigned_value(self, bound: cst.CSTNode) -> cst.BaseExpression | None:
        """The value of ``bound = value`` / ``bound: T = value``, else None."""
        parent = self.get_metadata(ParentNodeProvider, bound, None)
        if isinstance(parent, cst.AssignTarget) and parent.target is bound:
            statement = self.get_metadata(ParentNodeProvider, parent, None)
            if isinstance(statement, cst.Assign):
                return statement.value
        if isinstance(parent, cst.AnnAssign) and parent.target is bound:
            return parent.value
        return None

    # -- stmt.append_whereclause(c) -----------------------------------------------------------
    # -- mapper.mapped_table ------------------------------------------------------------------
    def leave_Attribute(
        self, original_node: cst.Attribute, updated_node: cst.Attribute
    ) -> cst.BaseExpression:
        """``class_mapper(User).mapped_table`` (1.3's deprecated name, removed in 2.0) →
        ``.persist_selectable``, the same table, on a proven mapper; a TODO elsewhere."""
        if original_node.attr.value != "mapped_table":
            return updated_node
        verdict = self._is_mapper(original_node.value)
        if verdict is None:
            if self._uses_sqlalchemy:
                self.todo(
                    original_node,
                    "Mapper.mapped_table was removed in 2.0: if this is a mapper, use "
                    ".persist_selectable (the same table)",
                )
            return updated_node
        if not verdict:
            return updated_node
        self.count_rewrite()
        return updated_node.with_changes(attr=cst.Name("persist_selectable"))

    def _is_mapper(self, node: cst.BaseExpression, depth: int = 0) -> bool | None:
        """``class_mapper(X)``, ``object_mapper(x)``, ``inspect(X)``, ``X.__mapper__`` or a
        name bound only to one: True; a name bound to something else: False; None when
        it cannot be told."""
        if isinstance(node, cst.Call):
            return bool(qualified_names(self, node.func) & MAPPER_FUNCTIONS) or None
        if isinstance(node, cst.Attribute):
            return True if node.attr.value == "__mapper__" else None
        if isinstance(node, cst.Name) and depth < MAX_DEPTH:
            bound = assigned_values(self, node)
            verdicts = {self._is_mapper(v, depth + 1) for v in bound or ()}
            return verdicts.pop() if len(verdicts) == 1 else None
        return None

    def leave_Expr(self, original_node: cst.Expr, updated_node: cst.Expr) -> cst.BaseSmallStatement:
        """``stmt.append_whereclause(c)`` (1.x mutators of a select(), removed in 2.0) →
        ``stmt = stmt.where(c)``, for a local bound only to select() chains that nothing
        can share yet: every other use of it is another such mutator or comes after them."""
        call = original_node.value
        if not (isinstance(call, cst.Call) and isinstance(call.func, cst.Attribute)):
            return updated_node
        name = call.func.attr.value
        generative = SELECT_MUTATORS.get(name)
        receiver = call.func.value
        if generative is None or not isinstance(receiver, cst.Name):
            return updated_node
        evidence = self._select_evidence(receiver)
        if evidence is Evidence.CONTRARY or (
            evidence is not Evidence.PROOF
            and (not self._uses_sqlalchemy or name not in SELECT_ONLY_MUTATORS)
        ):
            return updated_node  # ``table.append_column(Column(...))`` is a Table's too
        why = None if evidence is Evidence.PROOF else "cannot be proven a select()"
        why = why or self._shared_select(receiver)
        if why is not None:
            self.todo(
                original_node,
                f"Select.{name}() was removed in 2.0 (it changed the statement in place); "
                f"`{receiver.value}` {why}: write `{receiver.value} = "
                f"{receiver.value}.{generative}(...)`",
            )
            return updated_node
        updated_call = updated_node.value
        assert isinstance(updated_call, cst.Call) and isinstance(updated_call.func, cst.Attribute)
        self.count_rewrite()
        return cst.Assign(
            targets=[cst.AssignTarget(cst.Name(receiver.value))],
            value=updated_call.with_changes(
                func=updated_call.func.with_changes(attr=cst.Name(generative))
            ),
        )

    def _shared_select(self, receiver: cst.Name) -> str | None:
        """Why the statement ``receiver`` names may be seen through another name (which
        the in-place mutation changed too, a rebinding would not), or None."""
        assignments = self._assignments(receiver)
        if not assignments:
            return "cannot be followed"
        for assignment in assignments:
            value = self._assigned_value(assignment.node)
            if not isinstance(value, cst.Call):
                return "may be shared with another name"
        scope = self.get_metadata(ScopeProvider, receiver, None)
        if scope is None:
            return "cannot be followed"
        mutations: list[int] = []
        others: list[int] = []
        for access in scope.accesses[receiver.value]:
            node = access.node
            line = self.get_metadata(PositionProvider, node).start.line
            parent = self.get_metadata(ParentNodeProvider, node, None)
            holder = self.get_metadata(ParentNodeProvider, parent, None) if parent else None
            statement = self.get_metadata(ParentNodeProvider, holder, None) if holder else None
            if (
                isinstance(parent, cst.Attribute)
                and parent.value is node
                and parent.attr.value in SELECT_MUTATORS
                and isinstance(holder, cst.Call)
                and isinstance(statement, cst.Expr)
            ):
                mutations.append(line)
            else:  # even ``stmt.subquery()``: 1.x's alias saw the later changes
                others.append(line)
        if mutations and any(line < max(mutations) for line in others):
            return "is used before it is changed (it may be shared)"
        return None

    # -- apply_labels() ---------------------------------------------------------------------
    def _apply_labels(self, original: cst.Call, call: cst.Call) -> cst.BaseExpression:
        assert isinstance(original.func, cst.Attribute) and isinstance(call.func, cst.Attribute)
        if original.args:
            return call
        evidence = self._select_evidence(original.func.value)
        if evidence is Evidence.CONTRARY:
            return call
        if evidence is not Evidence.PROOF:
            receiver = code_of(self._module, original.func.value)
            self.todo(
                original,
                f"apply_labels() was removed in 2.0; `{receiver}` cannot be proven a select(): "
                f"if it is one, write `.set_label_style({LABEL_STYLE})` (from sqlalchemy)",
            )
            return call
        AddImportsVisitor.add_needed_import(self.context, "sqlalchemy", LABEL_STYLE)
        self.count_rewrite()
        return call.with_changes(
            func=call.func.with_changes(attr=cst.Name("set_label_style")),
            args=[cst.Arg(cst.Name(LABEL_STYLE))],
        )

    def _select_evidence(self, node: cst.BaseExpression, depth: int = 0) -> Evidence:
        """Is ``node`` a Core ``select()`` (whose ``apply_labels()`` this pass rewrites)?"""
        if depth > MAX_DEPTH:
            return Evidence.OPAQUE
        if isinstance(node, cst.Call):
            if is_sqlalchemy_select(self, node.func):
                return Evidence.PROOF
            func = node.func
            if self._is_query_chain(node):
                return Evidence.CONTRARY
            if isinstance(func, cst.Attribute):
                if func.attr.value == "select":
                    found = self._table_evidence(func.value, depth + 1)
                    return Evidence.PROOF if found is Evidence.PROOF else Evidence.OPAQUE
                if func.attr.value in SELECT_GENERATIVE:
                    return self._select_evidence(func.value, depth + 1)
            return Evidence.OPAQUE
        if isinstance(node, cst.Name):
            if _query_like(node.value):
                return Evidence.CONTRARY
            assignments = self._assignments(node)
            if not assignments:
                return Evidence.UNKNOWN
            key = frozenset(id(a.node) for a in assignments)
            if key in self._weighing:
                return Evidence.PROOF  # ``stmt = stmt.where(...)``: as the other bindings
            self._weighing.add(key)
            try:
                verdicts = []
                for assignment in assignments:
                    value = self._assigned_value(assignment.node)
                    if value is None:
                        verdicts.append(Evidence.UNKNOWN)
                    else:
                        verdicts.append(self._select_evidence(value, depth + 1))
            finally:
                self._weighing.discard(key)
            return combine(verdicts)
        if isinstance(node, cst.Attribute) and _query_like(node.attr.value):
            return Evidence.CONTRARY
        return Evidence.UNKNOWN

    # -- select.with_only_columns([...]) ----------------------------------------------------
    def _with_only_columns(self, original: cst.Call, call: cst.Call) -> cst.BaseExpression:
        """``stmt.with_only_columns([a, b])`` → ``stmt.with_only_columns(a, b)``: 2.0 raises
        for a list."""
        assert isinstance(original.func, cst.Attribute)
        if len(call.args) != 1 or call.args[0].keyword is not None or call.args[0].star:
            return call  # the 2.0 form, or keywords only
        value = call.args[0].value
        shape = self._columns_shape(value)
        if shape is ColumnsShape.COLUMN:
            return call
        evidence = self._select_evidence(original.func.value)
        if evidence is Evidence.CONTRARY:
            return call
        receiver = code_of(self._module, original.func.value)
        if shape is ColumnsShape.UNKNOWN:
            if evidence is Evidence.PROOF:
                self.todo(
                    original,
                    f"`{code_of(self._module, value)}` may be a list: 2.0's "
                    "with_only_columns() takes the columns positionally "
                    f"(with_only_columns(*{code_of(self._module, value)}) for a list)",
                )
            return call
        spread = _spread_columns(value)
        if evidence is not Evidence.PROOF:
            fix = code_of(self._module, call.with_changes(args=spread))
            self.todo(
                original,
                f"`{receiver}` cannot be proven a select(): if it is one, write `{fix}` "
                "(2.0's with_only_columns() takes the columns positionally)",
            )
            return call
        self.count_rewrite()
        return call.with_changes(args=spread)

    def _columns_shape(self, value: cst.BaseExpression, depth: int = 0) -> ColumnsShape:
        """Is the one argument of ``with_only_columns()`` a list of columns or one column?"""
        if isinstance(value, cst.List | cst.Tuple | cst.ListComp | cst.GeneratorExp):
            return ColumnsShape.LIST
        if isinstance(value, cst.Attribute):
            return ColumnsShape.LIST if value.attr.value == "c" else ColumnsShape.COLUMN
        if isinstance(value, cst.Call):
            return ColumnsShape.COLUMN if self._is_one_clause(value) else ColumnsShape.UNKNOWN
        if not isinstance(value, cst.Name) or depth > MAX_DEPTH:
            return ColumnsShape.UNKNOWN
        bound = assigned_values(self, value)
        shapes = {self._columns_shape(v, depth + 1) for v in bound or ()}
        if len(shapes) != 1:
            return ColumnsShape.UNKNOWN
        shape = shapes.pop()
        return ColumnsShape.NAMED_LIST if shape is ColumnsShape.LIST else shape

    # -- table.count(whereclause) -------------------------------------------------------------
    def _table_count(self, original: cst.Call, call: cst.Call) -> cst.BaseExpression:
        """``users.count(cond)`` → ``select(func.count()).select_from(users).where(cond)``,
        where ``users`` is a Core table declaring a primary key (1.x counted its values)."""
        assert isinstance(original.func, cst.Attribute)
        receiver = original.func.value
        if self._table_evidence(receiver) is not Evidence.PROOF:
            return call  # a query's, a list's or a string's count()
        table = code_of(self._module, receiver)
        condition = _count_condition(call)
        if isinstance(condition, str):
            self.todo(original, f"Table.count() was removed in 2.0 and {condition}")
            return call
        labelled = not self._value_read_with_scalar(original)
        written = f"select(func.count(){LABELLED if labelled else ''}).select_from({table})"
        if condition is not None:
            written += f".where({code_of(self._module, condition)})"
        declared = self._declares_primary_key(receiver)
        blocked = self._names_taken(original, ("select", "func"))
        if declared is not True or blocked:
            why = (
                f"`{blocked}` means something else here"
                if blocked and declared is True
                else f"{table} {'declares no' if declared is False else 'may have no'} "
                "primary key, whose (else the first column's) non-NULL values 1.x counted"
            )
            self.todo(original, f"Table.count() was removed in 2.0: write `{written}` ({why})")
            return call
        for name in ("select", "func"):
            AddImportsVisitor.add_needed_import(self.context, "sqlalchemy", name)
        self.count_rewrite()
        return cst.parse_expression(written).with_changes(lpar=call.lpar, rpar=call.rpar)

    def _value_read_with_scalar(self, count: cst.Call) -> bool:
        """``conn.execute(users.count()).scalar()``: the row's key (1.x labelled the count
        ``tbl_row_count``) is never read."""
        arg = self.get_metadata(ParentNodeProvider, count, None)
        execute = self.get_metadata(ParentNodeProvider, arg, None) if arg else None
        if not (
            isinstance(arg, cst.Arg)
            and isinstance(execute, cst.Call)
            and execute.args[0] is arg
            and isinstance(execute.func, cst.Attribute)
            and execute.func.attr.value == "execute"
        ):
            return False
        scalar = self.get_metadata(ParentNodeProvider, execute, None)
        called = self.get_metadata(ParentNodeProvider, scalar, None) if scalar else None
        return (
            isinstance(scalar, cst.Attribute)
            and scalar.attr.value == "scalar"
            and isinstance(called, cst.Call)
            and called.func is scalar
            and not called.args
        )

    def _declares_primary_key(self, receiver: cst.BaseExpression) -> bool | None:
        """Does the ``Table(...)`` every binding of ``receiver`` is give it a primary key?
        None when that cannot be seen (reflected, imported, built elsewhere)."""
        if not isinstance(receiver, cst.Name):
            return None
        verdicts = set()
        for assignment in self._assignments(receiver) or ():
            value = self._assigned_value(assignment.node)
            if not (isinstance(value, cst.Call) and self._is_table_constructor(value.func)):
                return None
            verdicts.add(self._table_call_primary_key(value))
        return verdicts.pop() if len(verdicts) == 1 else None

    def _table_call_primary_key(self, table: cst.Call) -> bool | None:
        for arg in table.args[2:]:
            keyword = _keyword(arg)
            if arg.star or keyword in REFLECTING:
                return None
            item = arg.value
            if keyword is not None or not isinstance(item, cst.Call):
                continue
            if self._is_primary_key_constraint(item.func):
                return True
            flags = [_flag(a.value) for a in item.args if _keyword(a) == "primary_key"]
            if True in flags:
                return True
            if None in flags:
                return None  # ``primary_key=flag``
        return False

    def _is_primary_key_constraint(self, func: cst.BaseExpression) -> bool:
        if qualified_names(self, func) & PRIMARY_KEY_CONSTRAINTS:
            return True
        return (
            isinstance(func, cst.Attribute)
            and func.attr.value == "PrimaryKeyConstraint"
            and self._is_flask_object(func.value)
        )

    def _names_taken(self, node: cst.CSTNode, names: tuple[str, ...]) -> str | None:
        """The first of ``names`` bound at ``node`` to something else than SQLAlchemy's."""
        scope = self.get_metadata(ScopeProvider, node, None)
        if scope is None:
            return names[0]
        for name in names:
            bound = {q.name for q in scope.get_qualified_names_for(name)}
            if bound and not bound <= SQLALCHEMY_SPELLINGS[name]:
                return name
        return None

    # -- Table(..., autoload=...) ---------------------------------------------------------
    def _autoload(self, original: cst.Call, call: cst.Call) -> cst.Call:
        autoload = [a for a in call.args if _keyword(a) == "autoload"]
        if not autoload:
            return call
        flag = _flag(autoload[0].value)
        if flag is None:
            self.todo(
                original,
                "Table(..., autoload=<expression>): 2.0 reflects exactly when autoload_with= "
                "is given, so pass autoload_with=engine only where it was true",
            )
            return call
        has_engine = any(_keyword(a) == "autoload_with" for a in call.args)
        if flag and not has_engine:
            if self._bound_metadata_runs and qualified_names(self, original.func) & (
                BOUND_METADATA_TABLES
            ):
                return call  # bound-metadata passes the metadata's engine, or leaves a TODO
            self.todo(original, NEEDS_ENGINE)
            return call
        dropped = {"autoload"} if flag else {"autoload", "autoload_with"}
        kept = [a for a in call.args if _keyword(a) not in dropped]
        self.count_rewrite()
        return call.with_changes(args=relaid_arguments(call, kept))


_NONE = cst.SimpleWhitespace("")


#: 1.x Select methods changing it in place → the generative method building the same
SELECT_MUTATORS = {
    "append_whereclause": "where",
    "append_having": "having",
    "append_order_by": "order_by",
    "append_group_by": "group_by",
    "append_column": "add_columns",
    "append_from": "select_from",
    "append_correlation": "correlate",
    "append_prefix": "prefix_with",
}
#: the ones no other SQLAlchemy object has (``Table.append_column()`` is still 2.0's)
SELECT_ONLY_MUTATORS = frozenset(
    {
        "append_whereclause",
        "append_having",
        "append_order_by",
        "append_group_by",
        "append_correlation",
    }
)
_APPEND_CALL = re.compile(
    rb"\.append_(whereclause|having|order_by|group_by|column|from|correlation|prefix)\("
)


def _query_like(name: str) -> bool:
    """``query``, ``User.query``, ``base_query``: a legacy Query, by its name."""
    return name.lower().endswith("query")


def _keyword(arg: cst.Arg) -> str | None:
    return arg.keyword.value if arg.keyword is not None else None


def _flag(value: cst.BaseExpression) -> bool | None:
    if isinstance(value, cst.Name) and value.value in ("True", "False"):
        return value.value == "True"
    return None


def _is_none(value: cst.BaseExpression) -> bool:
    return isinstance(value, cst.Name) and value.value == "None"


def _named(
    args: Sequence[cst.Arg],
    positional: tuple[str, ...],
    keywords: frozenset[str],
) -> dict[str, cst.Arg] | str:
    """The arguments by their 1.x parameter names, or why they cannot be mapped."""
    named: dict[str, cst.Arg] = {}
    left = list(positional)
    for arg in args:
        if arg.star:
            return f"`{arg.star}` arguments cannot be mapped"
        name = _keyword(arg)
        if name is None:
            if not left:
                return "too many positional arguments"
            name = left.pop(0)
        if name in named:
            return f"`{name}` is given twice"
        if name == "bind":
            return "`bind=` (execution by bound metadata) was removed: execute on a connection"
        if name not in keywords:
            return f"`{name}=` has no exact 2.0 equivalent here"
        named[name] = arg
    return named


def _shape(kind: str, call: cst.Call, receiver: cst.BaseExpression) -> str | None:
    """How a call on a receiver not proven a table looks: "core" (arguments only a Core
    table's method takes), "ambiguous" (1.x Core arguments, or a session's/query's), or
    None (nothing says it is SQLAlchemy's 1.x form: ``session.delete(obj)``)."""
    keywords = {_keyword(a) for a in call.args}
    positional = [a for a in call.args if a.keyword is None]
    if any(a.star for a in call.args) or keywords & {"synchronize_session", "update_args"}:
        return None
    if kind == "insert":
        if not positional and "values" in keywords and keywords <= KEYWORDS["insert"]:
            return "core"
        return None
    if kind == "update":
        if not keywords <= KEYWORDS["update"] | {None} or len(positional) > 1:
            return None
        if "whereclause" in keywords:
            return "core"
        if positional and "values" in keywords:
            # ``d.update(other, values=x)`` is also a dict's: only a clause-like condition
            return "core" if _condition_like(positional[0].value) else "ambiguous"
        if positional:
            return "ambiguous" if _reads_columns_of(positional[0].value, receiver) else None
        return "ambiguous" if "values" in keywords else None
    if "whereclause" in keywords:
        # no Session or Query method takes ``whereclause=``; 1.x FromClause.select() did
        return "core" if not positional and keywords <= KEYWORDS[kind] else "ambiguous"
    if len(positional) == 1 and _reads_columns_of(positional[0].value, receiver):
        return "ambiguous"
    return None


def _spread_columns(value: cst.BaseExpression) -> list[cst.Arg]:
    """``[a, b]`` → ``a, b``; a comprehension, ``users.c`` or a list's name → ``*value``."""
    listed = list_to_args(value)
    return listed if listed is not None else [cst.Arg(value, star="*")]


def _count_condition(call: cst.Call) -> cst.BaseExpression | str | None:
    """The WHERE clause of ``table.count(whereclause)`` (None: none), or what else the
    call is given."""
    if not call.args:
        return None
    if (
        len(call.args) > 1
        or call.args[0].star
        or _keyword(call.args[0]) not in (None, "whereclause")
    ):
        return "its other arguments have no exact 2.0 form"
    value = call.args[0].value
    return None if _is_none(value) else value


def _values_only_update(kind: str, call: cst.Call) -> bool:
    """``x.update(values=...)``: also ``Query.update``'s (and a dict's) spelling."""
    return kind == "update" and all(_keyword(a) == "values" for a in call.args)


def _condition_like(value: cst.BaseExpression) -> bool:
    """``users.c.id == 5``, ``and_(...)``, ``~x``, ``a & b``: a SQL condition's shape."""
    return isinstance(
        value,
        cst.Comparison | cst.UnaryOperation | cst.BinaryOperation | cst.Call | cst.Attribute,
    )


def _reads_columns_of(value: cst.BaseExpression, receiver: cst.BaseExpression) -> bool:
    """Does ``value`` read ``receiver.c`` (``users.delete(users.c.id == 5)``)?"""
    found = False

    class Finder(cst.CSTVisitor):
        def visit_Attribute(self, node: cst.Attribute) -> bool:
            nonlocal found
            if node.attr.value == "c" and node.value.deep_equals(receiver):
                found = True
            return not found

    value.visit(Finder())
    return found
