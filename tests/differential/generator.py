"""Hypothesis strategies producing legacy ``Query`` chains as source text.

Every strategy yields a :class:`~.runner.Case`: the source of a module defining
``run(session: Session)``, whose body builds a legacy chain over the ``diffmodels``
schema and returns what its terminal returns. The chains stay within what legacy
SQLAlchemy accepts (so the comparison is about results, not about errors):

* entities: one model (possibly ``aliased``), several models, model + columns,
  columns, aggregates (``func.count``/``sum``/``max``/..., labels) with
  ``group_by``/``having``; spelled in ``query(...)`` or via ``with_entities`` /
  ``add_columns``;
* joins: relationship attributes, ``(target, relationship)``, ``(target, onclause)``,
  bare targets, aliased targets (``of_type``), ``outerjoin``/``isouter=True``, and
  implicit joins (the target enters the FROM list through a WHERE criterion);
* filters: ``filter`` (several criteria, ``and_``/``or_``/``not_``/``~``, ``in_``,
  ``between``, ``is_(None)``, ``== None``, ``like``, ``in_`` of a nested query,
  correlated ``exists()``, relationship ``any()``/``has()``), ``filter_by`` (on the
  last joined entity, as legacy does);
* ``order_by`` — when the terminal returns several rows in an order, the keys always
  end with a tiebreak that makes the order total (primary keys of every entity in the
  FROM clause; the selected columns under ``distinct``; the grouping columns under
  ``group_by``). Chains without ``order_by`` are compared as multisets and never get
  ``limit``/``offset``/``first()``;
* ``limit``/``offset``/``slice``, ``distinct``, ``options`` (``joinedload``,
  ``selectinload``, ``subqueryload``, ``defaultload(...).x()``, nested,
  ``contains_eager``, ``load_only``, ``defer``), ``yield_per``, ``populate_existing``;
* terminals: ``all()``, ``first()``, ``one()``, ``one_or_none()``, ``scalar()``,
  ``count()``, iteration (comprehension, ``list(q)``, ``for`` loop),
  ``session.query(q.exists()).scalar()``, ``session.execute(q.statement)``;
  ``get(pk)``; bulk ``update()``/``delete()`` with every ``synchronize_session``;
  ``subquery()``/``scalar_subquery()``/``aliased(Model, subquery)`` in an outer query;
  one query object used by several terminals (``count()``, ``first()``, ``all()``);
* layouts: one expression, a parenthesized multi-line chain, or split statements
  (``q = session.query(...)``, ``if flag: q = q.filter(...)``, ``return q.all()``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from hypothesis import strategies as st

from .runner import Case

HEADER = """\
from sqlalchemy import and_, desc, distinct, func, not_, or_
from sqlalchemy.orm import (
    Session,
    aliased,
    contains_eager,
    defaultload,
    defer,
    joinedload,
    load_only,
    selectinload,
    subqueryload,
)

from diffmodels import Address, Item, Order, User


"""

# --------------------------------------------------------------------------- schema
# column name -> type tag ("?" suffix: nullable)
COLUMNS: dict[str, list[tuple[str, str]]] = {
    "User": [
        ("id", "int"),
        ("name", "str"),
        ("age", "int?"),
        ("active", "bool"),
        ("manager_id", "int?"),
    ],
    "Address": [("id", "int"), ("user_id", "int"), ("email", "str"), ("city", "str?")],
    "Order": [("id", "int"), ("user_id", "int"), ("total", "int?"), ("status", "str")],
    "Item": [("id", "int"), ("name", "str"), ("price", "num?")],
}

LITERALS: dict[tuple[str, str], list[str]] = {
    ("User", "id"): ["1", "2", "3", "5", "7", "11", "12", "99"],
    ("User", "name"): ['"bob"', '"alice"', '"carol"', '"erin"', '"zed"'],
    ("User", "age"): ["19", "25", "30", "41", "60"],
    ("User", "manager_id"): ["1", "2", "5"],
    ("Address", "id"): ["1", "2", "4", "7", "11", "42"],
    ("Address", "user_id"): ["1", "2", "5", "7"],
    ("Address", "email"): ['"bob@example.org"', '"alice@home.example"', '"nobody@x.org"'],
    ("Address", "city"): ['"Paris"', '"Lyon"', '"Rome"', '"Oslo"'],
    ("Order", "id"): ["1", "2", "5", "6", "10", "77"],
    ("Order", "user_id"): ["1", "2", "5"],
    ("Order", "total"): ["0", "75", "100", "250"],
    ("Order", "status"): ['"open"', '"shipped"', '"cancelled"'],
    ("Item", "id"): ["1", "2", "4", "6", "50"],
    ("Item", "name"): ['"widget"', '"gadget"', '"gizmo"', '"nothing"'],
    ("Item", "price"): ["1", "2.5", "10", "50"],
}
LIKE_PATTERNS: dict[tuple[str, str], list[str]] = {
    ("User", "name"): ['"b%"', '"%a%"', '"%e"'],
    ("Address", "email"): ['"%example.org"', '"alice%"', '"%work%"'],
    ("Address", "city"): ['"P%"', '"%o%"'],
    ("Order", "status"): ['"%e%"', '"o%"'],
    ("Item", "name"): ['"g%"', '"%et"'],
}
PREFIXES: dict[tuple[str, str], list[str]] = {
    ("User", "name"): ['"b"', '"al"'],
    ("Address", "email"): ['"alice"', '"bob"'],
    ("Address", "city"): ['"L"'],
    ("Order", "status"): ['"s"'],
    ("Item", "name"): ['"g"'],
}


@dataclass(frozen=True)
class Rel:
    owner: str
    attr: str
    target: str
    collection: bool
    onclause: str | None  # "{a}" = owner expression, "{b}" = target expression


RELS = [
    Rel("User", "addresses", "Address", True, "{a}.id == {b}.user_id"),
    Rel("User", "orders", "Order", True, "{a}.id == {b}.user_id"),
    Rel("User", "manager", "User", False, "{a}.manager_id == {b}.id"),
    Rel("User", "reports", "User", True, "{b}.manager_id == {a}.id"),
    Rel("Address", "user", "User", False, "{a}.user_id == {b}.id"),
    Rel("Order", "user", "User", False, "{a}.user_id == {b}.id"),
    Rel("Order", "items", "Item", True, None),
    Rel("Item", "orders", "Order", True, None),
]
# pairs a bare ``.join(Target)`` can infer the ON clause for (one foreign key path)
BARE_JOINABLE = {("User", "Address"), ("User", "Order"), ("Address", "User"), ("Order", "User")}

# relationship comparators (EXISTS subqueries that correlate to everything but their target)
RELATIONSHIP_CRITERIA: dict[str, list[str]] = {
    "User": [
        '{e}.addresses.any(Address.city == "Paris")',
        "{e}.orders.any()",
        "~{e}.orders.any(Order.total > 100)",
        "{e}.manager.has(User.active == True)",
        "{e}.reports.any()",
    ],
    "Address": ["{e}.user.has(User.age > 30)", "~{e}.user.has(User.active == True)"],
    "Order": ["{e}.items.any(Item.price > 5)", '{e}.user.has(User.name.like("%a%"))'],
    "Item": ['{e}.orders.any(Order.status == "open")', "~{e}.orders.any()"],
}

NESTED_MODEL = re.compile(r"session\.query\((\w+)")

NUMERIC_AGGREGATES = {"User": ["age"], "Address": [], "Order": ["total"], "Item": ["price"]}


@dataclass(frozen=True)
class Ent:
    expr: str  # how the code names it: "User" or an alias variable
    model: str

    def col(self, name: str) -> str:
        return f"{self.expr}.{name}"


@dataclass(frozen=True)
class Selected:
    """One element of the projection."""

    text: str
    kind: str  # "entity" | "column" | "aggregate"
    ent: Ent | None = None
    column: str | None = None  # for columns: the column expression (without label)


def chance(draw: st.DrawFn, n: int) -> bool:
    """True about once in ``n`` draws.

    Hypothesis favours the smallest choice (its shrink target) far above uniform,
    so the rare outcome is put at the top of the range, not at 0.
    """
    return draw(st.integers(1, n)) == n


# --------------------------------------------------------------------------- filters
@st.composite
def column_of(draw: st.DrawFn, ents: list[Ent]) -> tuple[Ent, str, str]:
    ent = draw(st.sampled_from(ents))
    name, typ = draw(st.sampled_from(COLUMNS[ent.model]))
    return ent, name, typ


def _literal(draw: st.DrawFn, ent: Ent, name: str) -> str:
    return draw(st.sampled_from(LITERALS[(ent.model, name)]))


@st.composite
def atom(draw: st.DrawFn, ents: list[Ent], allow_nested: bool = True) -> str:
    """One boolean criterion over the columns of ``ents``."""
    if allow_nested and chance(draw, 10):
        return draw(nested_criterion(ents))
    if allow_nested and chance(draw, 8):
        ent = draw(st.sampled_from(ents))
        return draw(st.sampled_from(RELATIONSHIP_CRITERIA[ent.model])).format(e=ent.expr)
    ent, name, typ = draw(column_of(ents))
    col = ent.col(name)
    base = typ.rstrip("?")
    nullable = typ.endswith("?")
    choices: list[str] = []
    if base == "bool":
        choices = [
            f"{col} == True",
            f"{col} == False",
            f"{col}.is_(True)",
            col,
            f"not_({col})",
            f"{col} != True",
        ]
    elif base in ("int", "num"):
        lit = _literal(draw, ent, name)
        lit2 = _literal(draw, ent, name)
        op = draw(st.sampled_from(["==", "!=", "<", "<=", ">", ">="]))
        many = draw(
            st.lists(
                st.sampled_from(LITERALS[(ent.model, name)]), min_size=1, max_size=3, unique=True
            )
        )
        lo, hi = sorted([lit, lit2], key=float)
        choices = [
            f"{col} {op} {lit}",
            f"{col}.in_([{', '.join(many)}])",
            f"{col}.between({lo}, {hi})",
            f"~{col}.in_([{', '.join(many)}])",
            f"{col}.not_in([{', '.join(many)}])",
        ]
    else:  # str
        lit = _literal(draw, ent, name)
        many = draw(
            st.lists(
                st.sampled_from(LITERALS[(ent.model, name)]), min_size=1, max_size=3, unique=True
            )
        )
        choices = [f"{col} == {lit}", f"{col} != {lit}", f"{col}.in_([{', '.join(many)}])"]
        if (ent.model, name) in LIKE_PATTERNS:
            pat = draw(st.sampled_from(LIKE_PATTERNS[(ent.model, name)]))
            choices += [f"{col}.like({pat})", f"{col}.ilike({pat})", f"~{col}.like({pat})"]
        if (ent.model, name) in PREFIXES:
            prefix = draw(st.sampled_from(PREFIXES[(ent.model, name)]))
            choices.append(f"{col}.startswith({prefix})")
    if nullable:
        choices += [
            f"{col}.is_(None)",
            f"{col}.isnot(None)",
            f"{col}.is_not(None)",
            f"{col} == None",
            f"{col} != None",
        ]
    return draw(st.sampled_from(choices))


@st.composite
def nested_criterion(draw: st.DrawFn, ents: list[Ent]) -> str:
    """A criterion holding a nested legacy query (IN subquery, correlated EXISTS)."""
    options = []
    for ent in ents:
        if ent.model == "User":
            inner_filter = draw(atom([Ent("Address", "Address")], allow_nested=False))
            options.append(
                f"{ent.col('id')}.in_(session.query(Address.user_id).filter({inner_filter}))"
            )
            options.append(
                f"session.query(Order).filter(Order.user_id == {ent.col('id')})"
                f".filter({draw(atom([Ent('Order', 'Order')], allow_nested=False))}).exists()"
            )
            options.append(
                f"~session.query(Address).filter(Address.user_id == {ent.col('id')}).exists()"
            )
        elif ent.model in ("Address", "Order"):
            inner_filter = draw(atom([Ent("User", "User")], allow_nested=False))
            options.append(
                f"{ent.col('user_id')}.in_(session.query(User.id).filter({inner_filter}))"
            )
    if not options:
        return draw(atom(ents, allow_nested=False))
    return draw(st.sampled_from(options))


@st.composite
def criterion(draw: st.DrawFn, ents: list[Ent]) -> str:
    shape = draw(st.integers(0, 9))
    if shape <= 5:
        return draw(atom(ents))
    a = draw(atom(ents))
    b = draw(atom(ents))
    if shape <= 7:
        return f"or_({a}, {b})"
    if shape == 8:
        return f"and_({a}, {b})"
    return f"not_(or_({a}, {b}))"


@st.composite
def filter_call(draw: st.DrawFn, ents: list[Ent], by_target: Ent) -> str:
    shape = draw(st.integers(0, 9))
    if shape <= 6:
        return f".filter({draw(criterion(ents))})"
    if shape <= 7:
        return f".filter({draw(atom(ents))}, {draw(atom(ents))})"
    # filter_by applies to the last joined entity (or the first entity)
    names = [n for n, _ in COLUMNS[by_target.model]]
    keys = draw(st.lists(st.sampled_from(names), min_size=1, max_size=2, unique=True))
    args = ", ".join(
        f"{k}={_literal(draw, by_target, k) if (by_target.model, k) in LITERALS else 'True'}"
        for k in keys
    )
    return f".filter_by({args})"


# --------------------------------------------------------------------------- chain model
@dataclass
class Chain:
    """A legacy query chain under construction (``steps`` are method-call texts)."""

    base: Ent
    aliases: list[str] = field(default_factory=list)  # statements defining aliases
    ents: list[Ent] = field(default_factory=list)  # FROM entities, base first
    joins: list[tuple[Ent, Rel, Ent]] = field(default_factory=list)  # (target, rel, owner)
    steps: list[tuple[str, bool]] = field(default_factory=list)  # (text, may be conditional)
    features: list[str] = field(default_factory=list)
    bare_join: bool = False  # a join whose left side legacy infers from the FROM list


def _alias_name(chain: Chain, model: str) -> str:
    n = 2 + sum(1 for e in chain.ents if e.model == model)
    prefix = {"User": "U", "Address": "A", "Order": "O", "Item": "I"}[model]
    return f"{prefix}{n}"


@st.composite
def join_step(draw: st.DrawFn, chain: Chain) -> None:
    candidates = [(ent, rel) for ent in chain.ents for rel in RELS if rel.owner == ent.model]
    if not candidates:
        return
    owner, rel = draw(st.sampled_from(candidates))
    target_taken = any(e.model == rel.target for e in chain.ents)
    if not target_taken and rel.onclause and chance(draw, 6):
        # an implicit join: the target enters the FROM list through a WHERE criterion
        target = Ent(rel.target, rel.target)
        onclause = rel.onclause.format(a=owner.expr, b=target.expr)
        chain.steps.append((f".filter({onclause})", False))
        chain.ents.append(target)
        chain.features.append("join:implicit")
        return
    method = draw(st.sampled_from(["join", "join", "outerjoin", "join+isouter"]))
    isouter = method == "join+isouter"
    method = "join" if isouter else method
    if target_taken:
        alias = _alias_name(chain, rel.target)
        named = draw(st.booleans())
        chain.aliases.append(
            f'{alias} = aliased({rel.target}, name="{alias.lower()}")'
            if named
            else f"{alias} = aliased({rel.target})"
        )
        target = Ent(alias, rel.target)
        forms = [
            f"{target.expr}, {owner.expr}.{rel.attr}",
            f"{owner.expr}.{rel.attr}.of_type({target.expr})",
        ]
        if rel.onclause:
            forms.append(f"{target.expr}, " + rel.onclause.format(a=owner.expr, b=target.expr))
        chain.features.append("join:aliased")
    else:
        target = Ent(rel.target, rel.target)
        forms = [
            f"{owner.expr}.{rel.attr}",
            f"{owner.expr}.{rel.attr}",
            f"{target.expr}, {owner.expr}.{rel.attr}",
        ]
        if rel.onclause:
            forms.append(f"{target.expr}, " + rel.onclause.format(a=owner.expr, b=target.expr))
        if (
            len(chain.ents) == 1
            and (owner.model, rel.target) in BARE_JOINABLE
            and owner.expr == owner.model
        ):
            forms.append(target.expr)
    form = draw(st.sampled_from(forms))
    chain.bare_join = chain.bare_join or form == target.expr
    kw = ", isouter=True" if isouter else ""
    chain.steps.append((f".{method}({form}{kw})", False))
    chain.ents.append(target)
    chain.joins.append((target, rel, owner))
    chain.features.append(f"{method}{'(isouter)' if isouter else ''}")


def _by_target(chain: Chain) -> Ent:
    return chain.joins[-1][0] if chain.joins else chain.base


@st.composite
def build_from(draw: st.DrawFn, chain: Chain, max_joins: int = 2) -> None:
    """Joins and filters, interleaved, in call order."""
    n_joins = draw(st.integers(0, max_joins))
    n_filters = draw(st.integers(0, 3))
    order = draw(st.permutations(["j"] * n_joins + ["f"] * n_filters))
    for kind in order:
        if kind == "j":
            draw(join_step(chain))
        else:
            call = draw(filter_call(chain.ents, _by_target(chain)))
            chain.steps.append((call, True))
            chain.features.append("filter_by" if call.startswith(".filter_by") else "filter")
    # a nested query over a table that the outer FROM holds unaliased would be
    # auto-correlated away entirely ("returned no FROM clauses"): drop such filters
    plain = {e.model for e in chain.ents if e.expr == e.model}
    chain.steps = [
        (text, conditional)
        for text, conditional in chain.steps
        if not plain.intersection(NESTED_MODEL.findall(text))
    ]


# --------------------------------------------------------------------------- projection
@st.composite
def projection(draw: st.DrawFn, chain: Chain) -> list[Selected]:
    kind = draw(
        st.sampled_from(
            [
                "entity",
                "entity",
                "entity",
                "entities",
                "mixed",
                "columns",
                "columns",
                "aggregate",
                "aggregate",
            ]
        )
    )
    if kind == "entities" and len(chain.ents) < 2:
        kind = "entity"
    if kind == "mixed" and len(chain.ents) < 2 and draw(st.booleans()):
        kind = "entity"
    chain.features.append(f"select:{kind}")
    base = chain.base
    if kind == "entity":
        return [Selected(base.expr, "entity", base)]
    if kind == "entities":
        others = draw(
            st.lists(st.sampled_from(chain.ents[1:]), min_size=1, max_size=2, unique=True)
        )
        return [Selected(base.expr, "entity", base)] + [
            Selected(e.expr, "entity", e) for e in others
        ]
    if kind == "mixed":
        items = [Selected(base.expr, "entity", base)]
        for _ in range(draw(st.integers(1, 2))):
            ent, name, _ = draw(column_of(chain.ents))
            items.append(Selected(ent.col(name), "column", ent, ent.col(name)))
        return _dedupe(items)
    if kind == "columns":
        name, _ = draw(st.sampled_from(COLUMNS[base.model]))
        items = [_column_item(draw, base, name)]
        for _ in range(draw(st.integers(0, 2))):
            ent, name, _ = draw(column_of(chain.ents))
            items.append(_column_item(draw, ent, name))
        return _dedupe(items)
    # aggregate
    groups: list[Selected] = []
    for _ in range(draw(st.sampled_from([1, 2, 0]))):
        ent, name, _ = draw(column_of(chain.ents))
        groups.append(_column_item(draw, ent, name, label_ok=False))
    groups = _dedupe(groups)
    aggs: list[Selected] = []
    for i in range(draw(st.integers(1, 2))):
        ent = draw(st.sampled_from(chain.ents))
        numeric = NUMERIC_AGGREGATES[ent.model]
        forms = [
            f"func.count({ent.col('id')})",
            "func.count()",
            f"func.count(distinct({ent.col(COLUMNS[ent.model][1][0])}))",
            f"func.max({ent.col('id')})",
        ]
        for col in numeric:
            forms += [
                f"func.sum({ent.col(col)})",
                f"func.max({ent.col(col)})",
                f"func.min({ent.col(col)})",
                f"func.avg({ent.col(col)})",
            ]
        text = draw(st.sampled_from(forms))
        if draw(st.booleans()):
            text = f'{text}.label("agg{i}")'
        aggs.append(Selected(text, "aggregate"))
    chain.features.append(f"group_by:{len(groups)}")
    return groups + aggs


def _column_item(draw: st.DrawFn, ent: Ent, name: str, label_ok: bool = True) -> Selected:
    text = ent.col(name)
    if label_ok and chance(draw, 5):
        text = f'{text}.label("{ent.expr.lower()}_{name}")'
    return Selected(text, "column", ent, ent.col(name))


def _dedupe(items: list[Selected]) -> list[Selected]:
    seen: set[str] = set()
    out = []
    for item in items:
        key = item.column or item.text
        if key not in seen:
            seen.add(key)
            out.append(item)
    return out


# --------------------------------------------------------------------------- chains
TERMINALS_MANY = ["all", "all", "all", "iter_comp", "list", "for_loop", "statement"]
TERMINALS_ONE = ["first", "one", "one_or_none", "scalar"]
ALL_SELECT_TERMINALS = (*TERMINALS_MANY, *TERMINALS_ONE, "count", "exists")


@dataclass
class Built:
    """A chain ready to be rendered: its pieces and what the comparison may assume."""

    aliases: list[str]
    head: str
    steps: list[tuple[str, bool]]
    terminal: str
    ordered: bool
    features: list[str]
    writes: bool = False
    terminal_args: str = ""


@st.composite
def select_chain(draw: st.DrawFn, terminals: tuple[str, ...] = ()) -> Built:
    model = draw(st.sampled_from(["User", "User", "User", "Address", "Order", "Item"]))
    aliased_base = chance(draw, 8)
    chain = Chain(base=Ent(model, model))
    if aliased_base:
        chain.base = Ent(f"{model[0]}1", model)
        chain.aliases.append(f"{chain.base.expr} = aliased({model})")
        chain.features.append("aliased-base")
    chain.ents.append(chain.base)
    terminal = draw(st.sampled_from(terminals or ALL_SELECT_TERMINALS))
    chain.features.append(f"terminal:{terminal}")
    draw(build_from(chain))
    base = chain.base

    # a primary-key filter makes one()/scalar() interesting (0 or 1 entity, maybe many rows)
    if terminal in ("one", "one_or_none", "scalar") and not chance(draw, 3):
        pk = draw(st.sampled_from(LITERALS[(base.model, "id")]))
        chain.steps.append((f".filter({base.col('id')} == {pk})", True))
        chain.features.append("filter:pk")

    items = draw(projection(chain))
    has_entity = any(i.kind == "entity" for i in items)
    aggregate = any(i.kind == "aggregate" for i in items)
    groups = [i for i in items if i.kind == "column"] if aggregate else []

    # how the projection is spelled
    head_items = ", ".join(i.text for i in items)
    spelled = "query"
    if not aggregate and len(items) >= 1 and chance(draw, 6):
        spelled = "with_entities"
    elif len(items) >= 2 and items[0].kind == "entity" and chance(draw, 3):
        spelled = "add_columns"
    if spelled == "query":
        head = f"session.query({head_items})"
    elif spelled == "with_entities":
        head = f"session.query({base.expr})"
        chain.steps.append((f".with_entities({head_items})", False))
        chain.features.append("with_entities")
    else:
        head = f"session.query({items[0].text})"
        rest = ", ".join(i.text for i in items[1:])
        chain.steps.insert(0, (f".add_columns({rest})", False))
        chain.features.append("add_columns")
    foreign = any(i.ent is not None and i.ent != base for i in items)
    if (aggregate and (chain.joins or items[0].kind == "aggregate")) or (
        foreign and (chain.bare_join or len(chain.joins) > 1)
    ):
        chain.steps.insert(0, (f".select_from({base.expr})", False))
        chain.features.append("select_from")

    # group_by / having
    if aggregate and groups:
        chain.steps.append((f".group_by({', '.join(g.column or g.text for g in groups)})", False))
        if chance(draw, 3):
            ent = draw(st.sampled_from(chain.ents))
            cond = draw(
                st.sampled_from(
                    [
                        f"func.count({ent.col('id')}) > 1",
                        f"func.count({ent.col('id')}) >= 2",
                        "func.count() < 3",
                    ]
                )
            )
            chain.steps.append((f".having({cond})", False))
            chain.features.append("having")

    # (EXISTS replaces the columns by "1": DISTINCT + ORDER BY would fail on PostgreSQL)
    distinct = not aggregate and terminal != "exists" and chance(draw, 6)
    single_row = aggregate and not groups

    # ordering
    want_order = terminal == "first" or (terminal != "exists" and not chance(draw, 4))
    ordered = single_row
    if want_order and not single_row:
        keys = _order_keys(draw, chain, items, aggregate, groups, distinct)
        if keys:
            chain.steps.append((f".order_by({', '.join(keys)})", False))
            chain.features.append("order_by")
            ordered = True
    if terminal == "first" and not ordered:
        terminal = "all"
    if distinct:
        chain.steps.append((".distinct()", False))
        chain.features.append("distinct")

    # limit / offset / slice (only on a total order)
    if ordered and not single_row and chance(draw, 3):
        shape = draw(st.sampled_from(["limit", "both", "slice", "offset"]))
        if shape == "limit":
            chain.steps.append((f".limit({draw(st.integers(0, 5))})", False))
        elif shape == "offset":
            chain.steps.append((f".offset({draw(st.integers(0, 4))})", False))
        elif shape == "both":
            chain.steps.append(
                (f".limit({draw(st.integers(1, 4))}).offset({draw(st.integers(1, 3))})", False)
            )
        else:
            a = draw(st.integers(0, 3))
            chain.steps.append((f".slice({a}, {a + draw(st.integers(0, 3))})", False))
        chain.features.append(shape)

    # loader options
    yield_per = terminal in (*TERMINALS_MANY, *TERMINALS_ONE) and chance(draw, 8)
    base_selected = bool(items) and items[0].kind == "entity" and spelled != "with_entities"
    options_odds = 2 if terminal not in ("count", "exists") else 6
    if base_selected and not distinct and chance(draw, options_odds):
        opts = draw(loader_options(chain, yield_per))
        if opts:
            chain.steps.append((f".options({', '.join(opts)})", False))
            chain.features.append("options")
    if yield_per:
        chain.steps.append((f".yield_per({draw(st.integers(1, 3))})", False))
        chain.features.append("yield_per")
    if has_entity and chance(draw, 8):
        chain.steps.append((".populate_existing()", False))
        chain.features.append("populate_existing")

    return Built(
        aliases=chain.aliases,
        head=head,
        steps=chain.steps,
        terminal=terminal,
        ordered=ordered,
        features=chain.features,
    )


def _direction(draw: st.DrawFn, expr: str) -> str:
    return draw(st.sampled_from([expr, expr, f"{expr}.desc()", f"desc({expr})", f"{expr}.asc()"]))


def _order_keys(
    draw: st.DrawFn,
    chain: Chain,
    items: list[Selected],
    aggregate: bool,
    groups: list[Selected],
    distinct: bool,
) -> list[str]:
    keys: list[str] = []
    if aggregate:
        pool = [g.column or g.text for g in groups]
        pool += [i.text.split(".label(")[0] for i in items if i.kind == "aggregate"]
        for expr in draw(st.lists(st.sampled_from(pool), max_size=2, unique=True)):
            keys.append(_direction(draw, expr))
        tiebreak = [g.column or g.text for g in groups]
    elif distinct:
        selected: list[str] = []
        for i in items:
            if i.kind == "entity" and i.ent is not None:
                selected += [i.ent.col(n) for n, _ in COLUMNS[i.ent.model]]
            elif i.column:
                selected.append(i.column)
        for expr in draw(st.lists(st.sampled_from(selected), max_size=2, unique=True)):
            keys.append(_direction(draw, expr))
        tiebreak = [i.column for i in items if i.kind == "column" and i.column]
        tiebreak += [i.ent.col("id") for i in items if i.kind == "entity" and i.ent]
    else:
        pool = [e.col(n) for e in chain.ents for n, _ in COLUMNS[e.model]]
        for expr in draw(st.lists(st.sampled_from(pool), max_size=2, unique=True)):
            keys.append(_direction(draw, expr))
        tiebreak = [e.col("id") for e in chain.ents]
    used = {
        k.split(".desc()")[0].split(".asc()")[0].removeprefix("desc(").rstrip(")") for k in keys
    }
    keys += [t for t in tiebreak if t not in used]
    return keys


@st.composite
def loader_options(draw: st.DrawFn, chain: Chain, yield_per: bool) -> list[str]:
    base = chain.base
    rels = [r for r in RELS if r.owner == base.model]
    opts: list[str] = []
    chosen = draw(st.lists(st.sampled_from(rels), min_size=1, max_size=2, unique=True))
    for rel in chosen:
        loaders = (
            ["selectinload"]
            if yield_per and rel.collection
            else ["joinedload", "selectinload", "subqueryload", "joinedload", "selectinload"]
        )
        if not yield_per and chance(draw, 6):
            loaders = ["defaultload"]  # only meaningful with a nested option below
        if yield_per:
            loaders = [x for x in loaders if x != "subqueryload"] or ["selectinload"]
        loader = draw(st.sampled_from(loaders))
        text = f"{loader}({base.expr}.{rel.attr})"
        nested = [r for r in RELS if r.owner == rel.target and r.target != base.model]
        if nested and (loader == "defaultload" or chance(draw, 4)):
            sub = draw(st.sampled_from(nested))
            sub_loader = (
                "selectinload"
                if yield_per
                else draw(st.sampled_from(["joinedload", "selectinload"]))
            )
            text += f".{sub_loader}({rel.target}.{sub.attr})"
        opts.append(text)
    # contains_eager for a plain join along a relationship of the base
    for target, rel, owner in chain.joins:
        if (
            owner == base
            and rel not in chosen
            and target.expr == target.model
            and not yield_per
            and chance(draw, 3)
        ):
            opts.append(f"contains_eager({base.expr}.{rel.attr})")
            break
    if chance(draw, 7):
        cols = [n for n, _ in COLUMNS[base.model] if n != "id"]
        col = draw(st.sampled_from(cols))
        opts.append(
            draw(st.sampled_from([f"load_only({base.expr}.{col})", f"defer({base.expr}.{col})"]))
        )
    return list(dict.fromkeys(opts))


# --------------------------------------------------------------------------- other shapes
@st.composite
def get_chain(draw: st.DrawFn) -> Built:
    model = draw(st.sampled_from(["User", "User", "Address", "Order", "Item"]))
    pk = draw(st.sampled_from(LITERALS[(model, "id")]))
    steps: list[tuple[str, bool]] = []
    features = ["terminal:get"]
    if draw(st.booleans()):
        rel = draw(st.sampled_from([r for r in RELS if r.owner == model]))
        loader = draw(st.sampled_from(["joinedload", "selectinload"]))
        steps.append((f".options({loader}({model}.{rel.attr}))", False))
        features.append("options")
    if chance(draw, 4):
        steps.append((".populate_existing()", False))
        features.append("populate_existing")
    return Built([], f"session.query({model})", steps, "get", True, features, terminal_args=pk)


@st.composite
def dml_chain(draw: st.DrawFn) -> Built:
    kind = draw(st.sampled_from(["update", "update", "delete"]))
    model = draw(
        st.sampled_from(
            ["User", "Address", "Order", "Item"]
            if kind == "update"
            else ["Address", "Address", "Order"]
        )
    )
    ent = Ent(model, model)
    steps: list[tuple[str, bool]] = []
    features = [f"terminal:{kind}", f"dml:{model}"]
    for _ in range(draw(st.integers(0 if kind == "update" else 1, 2))):
        if chance(draw, 5):
            names = [n for n, t in COLUMNS[model] if (model, n) in LITERALS]
            key = draw(st.sampled_from(names))
            steps.append((f".filter_by({key}={_literal(draw, ent, key)})", True))
        else:
            steps.append((f".filter({draw(criterion([ent]))})", True))
    if kind == "delete" and model == "Order":
        # orders with items cannot be deleted on databases enforcing foreign keys
        steps.append((".filter(~Order.items.any())", True))
    sync = draw(st.sampled_from(["", "False", '"evaluate"', '"fetch"', '"auto"']))
    sync_arg = f"synchronize_session={sync}" if sync else ""
    features.append(f"sync:{sync or 'default'}")
    if kind == "delete":
        return Built(
            [],
            f"session.query({model})",
            steps,
            "delete",
            True,
            features,
            writes=True,
            terminal_args=sync_arg,
        )
    values = draw(update_values(model))
    args = values + (f", {sync_arg}" if sync_arg else "")
    return Built(
        [],
        f"session.query({model})",
        steps,
        "update",
        True,
        features,
        writes=True,
        terminal_args=args,
    )


@st.composite
def update_values(draw: st.DrawFn, model: str) -> str:
    options = {
        "User": [
            ("age", "User.age + 1"),
            ("age", "None"),
            ("name", '"renamed"'),
            ("active", "False"),
            ("name", "func.upper(User.name)"),
            ("age", "40"),
        ],
        "Address": [("city", '"Nice"'), ("city", "None"), ("email", '"x@y.z"')],
        "Order": [("total", "Order.total * 2"), ("status", '"archived"'), ("total", "0")],
        "Item": [("price", "Item.price + 1"), ("name", '"renamed"')],
    }[model]
    chosen = draw(
        st.lists(st.sampled_from(options), min_size=1, max_size=2, unique_by=lambda kv: kv[0])
    )
    by_attr = draw(st.booleans())
    pairs = [(f"{model}.{k}" if by_attr else f'"{k}"', v) for k, v in chosen]
    return "{" + ", ".join(f"{k}: {v}" for k, v in pairs) + "}"


@st.composite
def subquery_case(draw: st.DrawFn) -> Case:
    """Queries used as building blocks: ``subquery()``, ``scalar_subquery()``, aliased."""
    shape = draw(st.sampled_from(["agg_join", "aliased_sub", "scalar_col", "in_query"]))
    features = [f"subquery:{shape}"]
    lines: list[str] = []
    if shape == "agg_join":
        child, fk = draw(st.sampled_from([("Address", "user_id"), ("Order", "user_id")]))
        inner_filter = ""
        if draw(st.booleans()):
            inner_filter = f".filter({draw(atom([Ent(child, child)], allow_nested=False))})"
        agg = draw(
            st.sampled_from(
                [
                    f"func.count({child}.id)",
                    "func.sum(Order.total)" if child == "Order" else f"func.max({child}.id)",
                ]
            )
        )
        lines.append(
            f'sub = session.query({child}.{fk}.label("uid"), {agg}.label("n"))'
            f"{inner_filter}.group_by({child}.{fk}).subquery()"
        )
        join = draw(st.sampled_from(["join", "outerjoin"]))
        outer_filter = ""
        if draw(st.booleans()):
            outer_filter = draw(
                st.sampled_from(
                    [
                        ".filter(sub.c.n > 1)",
                        ".filter(sub.c.n.is_(None))",
                        f".filter({draw(atom([Ent('User', 'User')]))})",
                    ]
                )
            )
        order = draw(st.sampled_from(["User.id", "sub.c.n.desc(), User.id"]))
        entity = draw(st.sampled_from(["User.name, sub.c.n", "User, sub.c.n"]))
        terminal = draw(st.sampled_from(["all()", "first()", "count()"]))
        lines.append(
            f"return session.query({entity}).{join}(sub, sub.c.uid == User.id)"
            f"{outer_filter}.order_by({order}).{terminal}"
        )
        features.append(f"terminal:{terminal[:-2]}")
    elif shape == "aliased_sub":
        cond = draw(atom([Ent("User", "User")], allow_nested=False))
        lines.append(f"sub = session.query(User).filter({cond}).subquery()")
        lines.append("U2 = aliased(User, sub)")
        extra = draw(
            st.sampled_from(
                ["", ".filter(U2.active == True)", ".join(U2.addresses)", ".outerjoin(U2.orders)"]
            )
        )
        terminal = draw(st.sampled_from(["all()", "count()", "first()"]))
        order = (
            "U2.id"
            if "join" not in extra
            else ("U2.id, Address.id" if "addresses" in extra else "U2.id, Order.id")
        )
        lines.append(f"return session.query(U2){extra}.order_by({order}).{terminal}")
        features.append(f"terminal:{terminal[:-2]}")
    elif shape == "scalar_col":
        child = draw(st.sampled_from(["Address", "Order"]))
        method = draw(st.sampled_from(["scalar_subquery()", "as_scalar()"]))
        agg = draw(st.sampled_from([f"func.count({child}.id)", f"func.max({child}.id)"]))
        lines.append(f"n = session.query({agg}).filter({child}.user_id == User.id).{method}")
        use = draw(st.sampled_from(["column", "filter"]))
        if use == "column":
            lines.append('return session.query(User.id, n.label("n")).order_by(User.id).all()')
        else:
            lines.append("return session.query(User).filter(n > 1).order_by(User.id).all()")
        features.append(f"scalar_subquery:{use}")
    else:
        cond = draw(atom([Ent("Address", "Address")], allow_nested=False))
        lines.append(f"ids = session.query(Address.user_id).filter({cond})")
        negate = draw(st.booleans())
        test = "~User.id.in_(ids)" if negate else "User.id.in_(ids)"
        terminal = draw(st.sampled_from(["all()", "count()"]))
        lines.append(f"return session.query(User).filter({test}).order_by(User.id).{terminal}")
        features.append(f"terminal:{terminal[:-2]}")
    body = "".join(f"    {line}\n" for line in lines)
    source = HEADER + "def run(session: Session):\n" + body
    return Case(source, ordered=True, name="generated:subquery", features=tuple(features))


# --------------------------------------------------------------------------- rendering
def terminal_expr(q: str, built: Built) -> tuple[list[str], str]:
    """(statements before the return, returned expression) for the terminal on ``q``."""
    t = built.terminal
    if t in ("all", "first", "one", "one_or_none", "scalar", "count"):
        return [], f"{q}.{t}()"
    if t == "get":
        return [], f"{q}.get({built.terminal_args})"
    if t in ("update", "delete"):
        return [], f"{q}.{t}({built.terminal_args})"
    if t == "iter_comp":
        return [], f"[row for row in {q}]"
    if t == "list":
        return [], f"list({q})"
    if t == "for_loop":
        return ["out = []", f"for row in {q}:", "    out.append(row)"], "out"
    if t == "exists":
        return [], f"session.query({q}.exists()).scalar()"
    if t == "statement":
        return [], f"session.execute({q}.statement).all()"
    if t == "reuse":  # one query object, several terminals (pagination-style code)
        first = f"{q}.first()" if built.ordered else "None"
        return [f"total = {q}.count()", f"first = {first}", f"rows = {q}.all()"], (
            "total, first, rows"
        )
    raise AssertionError(t)


@st.composite
def render(draw: st.DrawFn, built: Built) -> Case:
    layouts = ["inline", "inline", "multiline", "split", "split", "var"]
    if built.terminal == "reuse":  # the query object is used several times
        layouts = ["var", "split"]
    layout = draw(st.sampled_from(layouts))
    has_conditional = any(cond for _, cond in built.steps)
    flag_default = draw(st.booleans())
    lines: list[str] = list(built.aliases)
    params = ""
    features = [*built.features, f"layout:{layout}"]
    if layout in ("inline", "multiline", "var"):
        chain_text = built.head + "".join(s for s, _ in built.steps)
        if layout == "multiline":
            inner = "\n".join(
                ["(", f"    {built.head}", *[f"    {s}" for s, _ in built.steps], ")"]
            )
            chain_text = inner
        if layout == "var":
            lines.append(f"q = {chain_text}")
            q = "q"
        else:
            q = chain_text
        before, expr = terminal_expr(q, built)
        lines += before
        lines.append(f"return {expr}")
    else:
        lines.append(f"q = {built.head}")
        for text, conditional in built.steps:
            if conditional and has_conditional and chance(draw, 3):
                lines.append("if flag:")
                lines.append(f"    q = q{text}")
                params = f", flag={flag_default}"
                features.append("conditional")
            else:
                lines.append(f"q = q{text}")
        before, expr = terminal_expr("q", built)
        lines += before
        if draw(st.booleans()):
            lines.append(f"return {expr}")
        else:
            lines.append(f"result = {expr}")
            lines.append("return result")
    body = "".join(f"    {line}\n" if line else "\n" for line in "\n".join(lines).split("\n"))
    # the session parameter goes by many names in real code
    name = draw(st.sampled_from(["session", "session", "db", "sess", "s"]))
    if name != "session":
        body = re.sub(r"\bsession\b", name, body)
        features.append("session-name")
    source = HEADER + f"def run({name}: Session{params}):\n" + body
    ordered = built.ordered
    return Case(
        source, ordered=ordered, writes=built.writes, name="generated", features=tuple(features)
    )


# Families of cases and their share of the examples (the default 300 examples are split
# by these weights). The hypothesis test runs one family at a time: hypothesis does not
# sample uniformly, and a bounded number of derandomized examples drawn from one big
# ``one_of`` can miss whole terminals. The select families are named by their terminal.
FAMILIES: dict[str, int] = {
    "all": 40,
    "iter_comp": 12,  # [row for row in q]
    "list": 12,  # list(q)
    "for_loop": 12,
    "statement": 16,  # session.execute(q.statement).all()
    "first": 20,
    "one": 12,
    "one_or_none": 12,
    "scalar": 16,
    "count": 24,
    "exists": 14,  # session.query(q.exists()).scalar()
    "reuse": 20,  # q = ...; q.count(); q.first(); q.all()
    "get": 18,
    "dml": 48,  # update() / delete()
    "subquery": 24,  # subquery(), scalar_subquery(), aliased(Model, subquery), in_(query)
}
SELECT_FAMILIES = frozenset(ALL_SELECT_TERMINALS) | {"reuse"}


@st.composite
def chains(draw: st.DrawFn, family: str | None = None) -> Case:
    """A legacy chain case of ``family`` (any family when None)."""
    if family is None:
        family = draw(st.sampled_from([f for f, w in FAMILIES.items() for _ in range(w // 2)]))
    if family in SELECT_FAMILIES:
        return draw(render(draw(select_chain((family,)))))
    if family == "get":
        return draw(render(draw(get_chain())))
    if family == "dml":
        return draw(render(draw(dml_chain())))
    if family == "subquery":
        return draw(subquery_case())
    raise ValueError(f"unknown family {family!r}")
