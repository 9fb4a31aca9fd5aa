"""Legacy ``Query`` chains: decomposition and classification, before any rewrite.

A chain is a base (``session.query(E, ...)``, ``Model.query``, or a variable holding a
query) followed by method calls and attribute accesses. ``decompose`` splits it into
builder links (``filter``, ``join``, ...), an optional terminal (``all()``, ``count()``,
``subquery()``...) and the links after the terminal, which act on its result.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

import libcst as cst

# Query methods whose Select counterpart has the same name and meaning.
SAME_NAME_BUILDERS = frozenset(
    {
        "filter_by",
        "where",
        "join",
        "outerjoin",
        "order_by",
        "group_by",
        "having",
        "limit",
        "offset",
        "slice",
        "distinct",
        "options",
        "select_from",
        "correlate",
        "correlate_except",
        "with_for_update",
        "execution_options",
        "prefix_with",
        "suffix_with",
        "with_hint",
        "with_statement_hint",
        "add_columns",
    }
)
RENAMED_BUILDERS = {"filter": "where", "add_entity": "add_columns"}
# Builders rewritten into execution options on the statement.
EXECUTION_OPTION_BUILDERS = {
    "yield_per": "yield_per",
    "populate_existing": "populate_existing",
    "autoflush": "autoflush",
}
SPECIAL_BUILDERS = frozenset({"with_entities", "with_parent", "params"})
BUILDERS = (
    SAME_NAME_BUILDERS
    | frozenset(RENAMED_BUILDERS)
    | frozenset(EXECUTION_OPTION_BUILDERS)
    | SPECIAL_BUILDERS
)

RESULT_TERMINALS = frozenset(
    {
        "all",
        "first",
        "one",
        "one_or_none",
        "scalar",
        "count",
        "get",
        "update",
        "delete",
        "value",
        "values",
    }
)
FLASK_TERMINALS = frozenset({"get_or_404", "first_or_404", "one_or_404", "paginate"})
SQL_TERMINALS = frozenset(
    {"subquery", "cte", "statement", "scalar_subquery", "as_scalar", "exists", "label"}
)
TERMINALS = RESULT_TERMINALS | FLASK_TERMINALS | SQL_TERMINALS

#: ``Query.params()`` binds its values when the query runs, whatever was added after it;
#: ``Select.params()`` replaces the bound values already in the statement. They agree for
#: the last builder of a query run right there.
PARAMS_REFUSAL = (
    "Query.params() binds values at execution; Select.params() only those already in the "
    "statement: make it the last call before the query runs, or pass the values to "
    "session.execute()"
)
PARAMS_TERMINALS = frozenset({"all", "first", "one", "one_or_none", "scalar", "count"})

# Known Query methods with no exact, general rewrite: the chain is left with a TODO.
UNMAPPABLE = {
    "from_self": "Query.from_self() was removed; rewrite with aliased(Model, stmt.subquery())",
    "select_entity_from": "Query.select_entity_from() was removed; use aliased() on a subquery",
    "reset_joinpoint": "Query.reset_joinpoint() has no 2.0 form; rewrite the joins with aliased()",
    "with_labels": "Query.with_labels() → set_label_style(LABEL_STYLE_TABLENAME_PLUS_COL)",
    "union": (
        "Query.union() selects from a subquery of the UNION, which later calls are adapted "
        "to: select from union(...).subquery() (aliased(M, it) for entities)"
    ),
    "union_all": (
        "Query.union_all() selects from a subquery of the UNION ALL, which later calls are "
        "adapted to: select from union_all(...).subquery() (aliased(M, it) for entities)"
    ),
    "intersect": (
        "Query.intersect() selects from a subquery of the INTERSECT, which later calls are "
        "adapted to: select from intersect(...).subquery() (aliased(M, it) for entities)"
    ),
    "except_": (
        "Query.except_() selects from a subquery of the EXCEPT, which later calls are "
        "adapted to: select from except_(...).subquery() (aliased(M, it) for entities)"
    ),
    "from_statement": "Query.from_statement(): use select(M).from_statement(stmt)",
    "with_polymorphic": "Query.with_polymorphic() was removed; use with_polymorphic()",
    "enable_eagerloads": "Query.enable_eagerloads() has no Select counterpart",
    "enable_assertions": "Query.enable_assertions() has no Select counterpart",
    "merge_result": "Query.merge_result() was removed",
    "instances": "Query.instances() was removed",
    "with_session": "Query.with_session(): execute the statement on that session instead",
    "iterate": "iterating a Query through a helper",
}


class BaseKind(enum.Enum):
    SESSION = "session"  # session.query(...)
    MODEL = "model"  # Model.query (Flask-SQLAlchemy or query_property)
    VARIABLE = "variable"  # a local holding a converted query
    FACTORY = "factory"  # a call to a function of this module that returns a query


@dataclass
class Link:
    name: str
    node: cst.Call | cst.Attribute
    implied: bool = False  # stands for part of another link (value() selects a column)

    @property
    def call(self) -> cst.Call | None:
        return self.node if isinstance(self.node, cst.Call) else None

    @property
    def args(self) -> list[cst.Arg]:
        return list(self.node.args) if isinstance(self.node, cst.Call) else []


@dataclass
class Chain:
    """One chain as written; node fields are the nodes of the tree it was taken from."""

    top: cst.BaseExpression
    base_kind: BaseKind
    base: cst.BaseExpression  # the session.query(...) call, Model.query attribute, or Name
    session: cst.BaseExpression | None = None
    entities: list[cst.Arg] = field(default_factory=list)
    model: cst.BaseExpression | None = None  # for Model.query
    #: the mapped class to write for ``model`` when it is not the class itself
    #: (``type(self)`` for ``self.query`` in a model's method)
    model_entity: cst.BaseExpression | None = None
    builders: list[Link] = field(default_factory=list)
    terminal: Link | None = None
    after: list[Link] = field(default_factory=list)
    unknown: Link | None = None  # first method that is neither builder nor terminal

    @property
    def is_open(self) -> bool:
        """A query object not consumed by a terminal (iterated, stored or passed on)."""
        return self.terminal is None and not self.after and self.unknown is None

    @property
    def written_model(self) -> cst.BaseExpression | None:
        return self.model_entity if self.model_entity is not None else self.model

    def builder_names(self) -> set[str]:
        return {link.name for link in self.builders}


def links_from_top(top: cst.BaseExpression) -> tuple[cst.BaseExpression, list[Link]]:
    """Walk down method calls and attributes; return the innermost node and the links."""
    links: list[Link] = []
    node = top
    while True:
        if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute):
            links.append(Link(node.func.attr.value, node))
            node = node.func.value
        elif isinstance(node, cst.Attribute):
            links.append(Link(node.attr.value, node))
            node = node.value
        else:
            break
    links.reverse()
    return node, links


def split_links(chain: Chain, links: list[Link]) -> None:
    """Sort the links after the base into builders, terminal and what follows."""
    for position, link in enumerate(links):
        if link.name in TERMINALS and (link.call is not None or link.name == "statement"):
            if link.name in ("value", "values"):  # with_entities(columns), then rows of them
                chain.builders.append(Link("with_entities", link.node, implied=True))
            chain.terminal = link
            chain.after = links[position + 1 :]
            return
        if link.name in BUILDERS and link.call is not None:
            chain.builders.append(link)
            continue
        chain.unknown = link
        chain.after = links[position + 1 :]
        return


def rebuild(
    link: Link, value: cst.BaseExpression, new_name: str | None = None
) -> cst.BaseExpression:
    """The link applied to ``value`` instead of its original receiver, whitespace kept."""
    node = link.node
    if isinstance(node, cst.Call):
        func = node.func
        assert isinstance(func, cst.Attribute)
        attr = func.attr if new_name is None else cst.Name(new_name)
        return node.with_changes(func=func.with_changes(value=value, attr=attr))
    attr = node.attr if new_name is None else cst.Name(new_name)
    return node.with_changes(value=value, attr=attr)


def method(value: cst.BaseExpression, name: str, args: list[cst.Arg] | None = None) -> cst.Call:
    return cst.Call(func=cst.Attribute(value=value, attr=cst.Name(name)), args=args or [])


def keyword(name: str, value: cst.BaseExpression) -> cst.Arg:
    return cst.Arg(
        value=value,
        keyword=cst.Name(name),
        equal=cst.AssignEqual(cst.SimpleWhitespace(""), cst.SimpleWhitespace("")),
    )


def with_separators(args: list[cst.Arg]) -> list[cst.Arg]:
    """Args joined by ``, `` where they lack a comma (the last one keeps none)."""
    result = []
    for position, arg in enumerate(args):
        last = position == len(args) - 1
        if last:
            result.append(arg.with_changes(comma=cst.MaybeSentinel.DEFAULT))
        elif isinstance(arg.comma, cst.MaybeSentinel):
            result.append(
                arg.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
            )
        else:
            result.append(arg)
    return result
