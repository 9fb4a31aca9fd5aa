"""Proof by execution for the Query → select() pass.

Every case is a module whose ``run(session)`` holds a legacy ``Query`` chain. It is
migrated with ``migrate_source(target="2.0")``; the legacy and the migrated module are
both executed against the same seeded database (SQLite always, PostgreSQL and MariaDB
when their URLs are given, see ``conftest.py``) and their outcomes must agree: the same
returned values (or the same exception class), and for bulk UPDATE/DELETE the same
table contents and in-session object state afterwards. The migrated source must also
compile, be a fixed point of a second migration, and contain no ``.query(`` unless the
tool left a TODO and the chain untouched ("left for review", counted, not a failure).

* ``test_hand_written``: one explicit chain per mapped method and tricky combination;
  each also checks that the legacy outcome is the one the case was written to exercise
  (so a change of the seed data cannot quietly make a case pointless).
* ``test_generated_chains``: hypothesis-generated chains (``generator.py``), derandomized
  with a bounded number of examples (``SQLA_DIFF_EXAMPLES``, default 300, split across
  the families: one per terminal, plus ``get``, ``dml``, ``subquery``, ``reuse``). The
  cases are generated first, migrated in parallel, then run; all failing cases of a
  family are reported together. Set ``SQLA_DIFF_SHRINK=1`` to stop at the first
  failure and let hypothesis shrink it to a minimal chain instead.
* ``test_oracle``: the comparison itself catches known-wrong 2.0 translations and
  accepts known-right ones (independent of the pass).
* ``test_generator_sanity``: generated legacy chains are valid and varied.

Set ``SQLA_DIFF_REPORT=path.json`` to get every failing case written to a file.
"""

from __future__ import annotations

import os
import textwrap
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings

from .generator import FAMILIES, chains
from .runner import (
    Case,
    CaseResult,
    Outcome,
    check_case,
    classify,
    compare,
    execute,
    migrate_many,
    render_failures,
)

MAX_EXAMPLES = int(os.environ.get("SQLA_DIFF_EXAMPLES", "300"))
SHRINK = os.environ.get("SQLA_DIFF_SHRINK", "") not in ("", "0", "false")

HAND_HEADER = """\
from sqlalchemy import and_, bindparam, desc, distinct, exists, func, literal, not_, or_, text
from sqlalchemy.orm import (
    Session,
    aliased,
    contains_eager,
    joinedload,
    selectinload,
    subqueryload,
)

from diffmodels import Address, Item, Order, User


"""


# --------------------------------------------------------------------------- expectations
Expect = Callable[[Outcome], bool]


def raises(name: str) -> Expect:
    return lambda o: o.error == name


def returns(predicate: Callable[[Any], bool]) -> Expect:
    return lambda o: o.error is None and predicate(o.value)


def n_items(n: int) -> Expect:
    return returns(lambda v: isinstance(v, list) and v[:1] == ["list"] and len(v) - 1 == n)


def equals(value: Any) -> Expect:
    return returns(lambda v: v == value)


def is_object(cls: str) -> Expect:
    return returns(lambda v: isinstance(v, tuple) and v[:2] == ("obj", cls))


def is_row(*fields: str) -> Expect:
    return returns(lambda v: isinstance(v, tuple) and v[0] == "Row" and v[1] == fields)


def loaded(rel: str, n: int) -> Expect:
    """An object whose relationship ``rel`` was loaded with ``n`` members."""

    def check(v: Any) -> bool:
        rels = dict(v[4]) if isinstance(v, tuple) and v[:1] == ("obj",) else {}
        members = rels.get(rel)
        return isinstance(members, tuple) and len(members) == n

    return returns(check)


def first_loaded(rel: str, n: int) -> Expect:
    inner = loaded(rel, n)
    return returns(lambda v: isinstance(v, list) and len(v) > 1 and inner(Outcome(value=v[1])))


def no_relationship_loaded(o: Outcome) -> bool:
    return (
        o.error is None and isinstance(o.value, list) and all(item[4] == () for item in o.value[1:])
    )


# --------------------------------------------------------------------------- cases
@dataclass(frozen=True)
class Hand:
    name: str
    body: str  # the body of run(); or whole module-level code when it defines run()
    expect: Expect | None = None
    params: str = ""
    ordered: bool = True
    writes: bool = False

    def case(self) -> Case:
        body = textwrap.dedent(self.body).strip("\n") + "\n"
        if "def run(" in body:
            source = HAND_HEADER + body
        else:
            source = (
                HAND_HEADER
                + f"def run(session: Session{self.params}):\n"
                + textwrap.indent(body, "    ")
            )
        return Case(source, ordered=self.ordered, writes=self.writes, name=self.name)


HAND_CASES: list[Hand] = [
    # ---- all() and filters
    Hand("all_entity", "return session.query(User).filter(User.age > 28).order_by(User.id).all()",
         n_items(7)),
    Hand("filter_by_two_keys",
         'return session.query(User).filter_by(name="bob", active=True).order_by(User.id).all()',
         n_items(2)),
    Hand("filter_operators",
         """
         return (
             session.query(User.id)
             .filter(or_(User.age.is_(None), and_(User.age >= 25, User.age < 31)))
             .filter(User.id.in_([1, 2, 3, 4, 6, 8]), ~User.name.like("f%"))
             .order_by(User.id)
             .all()
         )
         """, n_items(5)),
    Hand("filter_eq_none", "return session.query(User).filter(User.age == None).order_by(User.id).all()",
         n_items(2)),
    Hand("in_empty_list", "return session.query(User).filter(User.id.in_([])).all()", n_items(0)),
    Hand("relationship_any",
         'return session.query(User).filter(User.addresses.any(Address.city == "Lyon")).order_by(User.id).all()',
         n_items(2)),
    Hand("relationship_has",
         "return session.query(Address).filter(Address.user.has(User.active == False)).order_by(Address.id).all()",
         n_items(1)),
    # ---- first()
    Hand("first_entity", "return session.query(User).order_by(User.age.desc(), User.id).first()",
         is_object("User")),
    Hand("first_no_row", "return session.query(User).filter(User.age > 100).first()", equals(None)),
    Hand("first_columns_is_row",
         "return session.query(User.name, User.age).order_by(User.id).first()",
         is_row("name", "age")),
    Hand("first_joinedload_collection",
         "return session.query(User).options(joinedload(User.addresses)).order_by(User.id).first()",
         loaded("addresses", 3)),
    Hand("first_join_fanout",
         "return session.query(User).join(User.addresses).order_by(User.id).first()",
         is_object("User")),
    Hand("first_after_limit_offset",
         "return session.query(User).order_by(User.id).limit(5).offset(2).first()",
         is_object("User")),
    Hand("first_two_entities",
         "return session.query(User, Address).join(User.addresses).order_by(User.id, Address.id).first()",
         is_row("User", "Address")),
    # ---- one() / one_or_none()
    Hand("one_found", "return session.query(User).filter(User.id == 3).one()", is_object("User")),
    Hand("one_no_row", "return session.query(User).filter(User.id == 99).one()",
         raises("NoResultFound")),
    Hand("one_many_rows", "return session.query(User).filter(User.age == 30).one()",
         raises("MultipleResultsFound")),
    Hand("one_join_dedup",
         "return session.query(User).join(User.addresses).filter(User.id == 1).one()",
         is_object("User")),
    Hand("one_columns_join_not_deduplicated",
         "return session.query(User.name).join(User.addresses).filter(User.id == 1).one()",
         raises("MultipleResultsFound")),
    Hand("one_or_none_no_row",
         "return session.query(User).filter(User.id == 99).one_or_none()", equals(None)),
    Hand("one_or_none_many",
         'return session.query(User).filter(User.name.like("%a%")).one_or_none()',
         raises("MultipleResultsFound")),
    # ---- scalar()
    Hand("scalar_count", "return session.query(func.count(User.id)).scalar()", equals(12)),
    Hand("scalar_many_rows_raises",
         "return session.query(User.name).filter(User.age == 30).scalar()",
         raises("MultipleResultsFound")),
    Hand("scalar_no_row", "return session.query(User.name).filter(User.id == 99).scalar()",
         equals(None)),
    Hand("scalar_entity_join_dedup",
         "return session.query(User).join(User.addresses).filter(User.id == 1).scalar()",
         is_object("User")),
    Hand("scalar_first_of_two_columns",
         "return session.query(User.id, User.name).filter(User.id == 4).scalar()", equals(4)),
    Hand("scalar_exists_filter",
         "return session.query(literal(True)).filter(session.query(User).filter(User.age > 60).exists()).scalar()",
         equals(True)),
    # ---- count()
    Hand("count_plain", "return session.query(User).filter(User.active == True).count()",
         equals(8)),
    Hand("count_join_counts_rows", "return session.query(User).join(User.addresses).count()",
         equals(11)),
    Hand("count_distinct_column", "return session.query(User.age).distinct().count()",
         equals(8)),
    Hand("count_group_by",
         "return session.query(User.active, func.count(User.id)).group_by(User.active).count()",
         equals(2)),
    Hand("count_limit_offset",
         "return session.query(User).order_by(User.id).limit(5).offset(10).count()", equals(2)),
    Hand("count_with_joinedload",
         "return session.query(User).options(joinedload(User.addresses)).count()", equals(12)),
    Hand("count_distinct_join_columns",
         "return session.query(User.id).join(User.orders).distinct().count()", equals(7)),
    # ---- get()
    Hand("get_found", "return session.query(User).get(3)", is_object("User")),
    Hand("get_missing", "return session.query(Order).get(99)", equals(None)),
    Hand("get_with_options", "return session.query(User).options(selectinload(User.orders)).get(1)",
         loaded("orders", 3)),
    Hand("get_identity_map",
         """
         u = session.query(User).filter(User.id == 2).one()
         u.name = "changed"
         return session.query(User).get(2).name
         """, equals("changed")),
    Hand("get_populate_existing",
         """
         u = session.query(User).filter(User.id == 2).one()
         u.name = "changed"
         with session.no_autoflush:
             again = session.query(User).populate_existing().get(2)
         return again.name
         """, equals("bob")),
    # ---- de-duplication of entity rows
    Hand("all_join_dedup_entity",
         "return session.query(User).join(User.addresses).order_by(User.id).all()", n_items(7)),
    Hand("all_join_dedup_entity_and_column",
         "return session.query(User, Address.city).join(User.addresses).order_by(User.id, Address.city).all()",
         n_items(9)),
    Hand("all_join_columns_not_deduplicated",
         "return session.query(User.name).join(User.addresses).order_by(User.id, Address.id).all()",
         n_items(11)),
    Hand("join_onclause_dedup",
         """
         return (
             session.query(User)
             .join(Address, User.id == Address.user_id)
             .filter(Address.city == "Lyon")
             .order_by(User.id)
             .all()
         )
         """, n_items(2)),
    Hand("join_many_to_many_dedup",
         "return session.query(Order).join(Order.items).filter(Item.price < 5).order_by(Order.id).all()",
         n_items(5)),
    Hand("distinct_entity_join",
         "return session.query(User).join(User.orders).filter(Order.total >= 100).distinct().order_by(User.id).all()",
         n_items(4)),
    Hand("distinct_column", "return session.query(Address.city).distinct().order_by(Address.city).all()",
         n_items(5)),
    # ---- loader options
    Hand("joinedload_collection_all",
         "return session.query(User).options(joinedload(User.addresses)).order_by(User.id).all()",
         first_loaded("addresses", 3)),
    Hand("selectinload_nested",
         """
         return (
             session.query(User)
             .options(selectinload(User.orders).selectinload(Order.items))
             .filter(User.id < 4)
             .order_by(User.id)
             .all()
         )
         """, first_loaded("orders", 3)),
    Hand("subqueryload_limit",
         "return session.query(User).options(subqueryload(User.orders)).order_by(User.id).limit(2).all()",
         first_loaded("orders", 3)),
    Hand("contains_eager_filtered",
         """
         return (
             session.query(User)
             .join(User.addresses)
             .filter(Address.city == "Paris")
             .options(contains_eager(User.addresses))
             .order_by(User.id)
             .all()
         )
         """, first_loaded("addresses", 2)),
    Hand("enable_eagerloads_false",
         "return session.query(User).options(joinedload(User.addresses)).enable_eagerloads(False).order_by(User.id).all()",
         no_relationship_loaded),
    # ---- iteration
    Hand("iterate_comprehension",
         "return [u.name for u in session.query(User).filter(User.active == True).order_by(User.id)]",
         n_items(8)),
    Hand("list_of_rows",
         "return list(session.query(User.id, User.name).filter(User.id <= 3).order_by(User.id))",
         n_items(3)),
    Hand("for_loop_yield_per_keeps_duplicates",
         """
         out = []
         for user in session.query(User).join(User.addresses).order_by(User.id, Address.id).yield_per(2):
             out.append(user.id)
         return out
         """, n_items(11)),
    Hand("yield_per_all", "return session.query(Order).order_by(Order.id).yield_per(3).all()",
         n_items(10)),
    # ---- exists
    Hand("exists_true",
         "return session.query(session.query(User).filter(User.age > 60).exists()).scalar()",
         equals(True)),
    Hand("exists_false",
         "return session.query(session.query(User).filter(User.age > 100).exists()).scalar()",
         equals(False)),
    Hand("exists_core", 'return session.query(exists().where(Address.city == "Oslo")).scalar()',
         equals(False)),
    Hand("filter_not_exists_correlated",
         """
         return (
             session.query(User)
             .filter(~session.query(Address).filter(Address.user_id == User.id).exists())
             .order_by(User.id)
             .all()
         )
         """, n_items(5)),
    # ---- update / delete
    Hand("update_evaluate",
         'return session.query(User).filter(User.age > 40).update({User.age: User.age + 1}, synchronize_session="evaluate")',
         equals(3), writes=True),
    Hand("update_sync_false_keeps_stale_objects",
         'return session.query(User).filter(User.active == False).update({"name": "inactive"}, synchronize_session=False)',
         equals(4), writes=True),
    Hand("update_fetch_function",
         'return session.query(User).filter(User.name.like("b%")).update({User.name: func.upper(User.name)}, synchronize_session="fetch")',
         equals(2), writes=True),
    Hand("update_default_strategy",
         'return session.query(Order).filter(Order.status == "open").update({Order.status: "pending"})',
         equals(4), writes=True),
    Hand("update_in_nested_query",
         """
         lyon = session.query(Address.user_id).filter(Address.city == "Lyon")
         return session.query(User).filter(User.id.in_(lyon)).update(
             {User.active: False}, synchronize_session="fetch"
         )
         """, equals(2), writes=True),
    Hand("update_evaluate_unevaluable_raises",
         'return session.query(User).filter(User.id.in_(session.query(Address.user_id))).update({"age": 1}, synchronize_session="evaluate")',
         raises("InvalidRequestError"), writes=True),
    Hand("delete_sync_false",
         'return session.query(Address).filter(Address.city == "Paris").delete(synchronize_session=False)',
         equals(4), writes=True),
    Hand("delete_fetch",
         'return session.query(Address).filter(Address.user_id == 5).delete(synchronize_session="fetch")',
         equals(2), writes=True),
    Hand("delete_default_strategy",
         "return session.query(Address).filter(Address.city.is_(None)).delete()",
         equals(2), writes=True),
    Hand("update_split_statements",
         """
         q = session.query(Order)
         if only_open:
             q = q.filter(Order.status == "open")
         n = q.update({"total": Order.total + 1}, synchronize_session="evaluate")
         return n
         """, equals(4), params=", only_open=True", writes=True),
    # ---- subqueries, statements, set operations
    Hand("subquery_aggregate_join",
         """
         sub = (
             session.query(Address.user_id.label("uid"), func.count(Address.id).label("n"))
             .group_by(Address.user_id)
             .subquery()
         )
         return (
             session.query(User.name, sub.c.n)
             .outerjoin(sub, sub.c.uid == User.id)
             .order_by(User.id)
             .all()
         )
         """, n_items(12)),
    Hand("aliased_subquery",
         """
         sub = session.query(User).filter(User.age >= 30).subquery()
         old = aliased(User, sub)
         return session.query(old).order_by(old.id).all()
         """, n_items(7)),
    Hand("scalar_subquery_column",
         """
         n = session.query(func.count(Address.id)).filter(Address.user_id == User.id).scalar_subquery()
         return session.query(User.id, n.label("n")).order_by(User.id).all()
         """, n_items(12)),
    Hand("query_label_column",
         """
         n = session.query(func.count(Order.id)).filter(Order.user_id == User.id).label("n")
         return session.query(User.name, n).order_by(User.id).all()
         """, n_items(12)),
    Hand("in_nested_query",
         """
         big = session.query(Order.user_id).filter(Order.total >= 250)
         return session.query(User).filter(User.id.in_(big)).order_by(User.id).all()
         """, n_items(3)),
    Hand("cte",
         """
         old = session.query(User.id).filter(User.age > 30).cte("old")
         return session.query(User.name).join(old, old.c.id == User.id).order_by(User.id).all()
         """, n_items(4)),
    Hand("statement_rows",
         "return session.execute(session.query(User.id, User.name).filter(User.age > 30).order_by(User.id).statement).all()",
         n_items(4)),
    Hand("statement_entities",
         "return session.execute(session.query(User).filter(User.age > 30).order_by(User.id).statement).scalars().all()",
         n_items(4)),
    Hand("union",
         """
         old = session.query(User).filter(User.age > 50)
         young = session.query(User).filter(User.age < 20)
         return old.union(young).order_by(User.id).all()
         """, n_items(3)),
    # ---- projections
    Hand("with_entities",
         "return session.query(User).filter(User.active == True).with_entities(User.id, User.name).order_by(User.id).all()",
         n_items(8)),
    Hand("add_columns_group_by",
         """
         return (
             session.query(User)
             .outerjoin(User.addresses)
             .add_columns(func.count(Address.id).label("n"))
             .group_by(User.id)
             .order_by(User.id)
             .all()
         )
         """, n_items(12)),
    Hand("group_by_having_label",
         """
         return (
             session.query(User.age, func.count(User.id).label("n"))
             .group_by(User.age)
             .having(func.count(User.id) > 1)
             .order_by(User.age)
             .all()
         )
         """, n_items(3)),
    Hand("group_by_entity",
         """
         return (
             session.query(User, func.count(Order.id))
             .outerjoin(User.orders)
             .group_by(User)
             .order_by(User.id)
             .all()
         )
         """, n_items(12)),
    Hand("self_join_of_type",
         """
         mgr = aliased(User)
         return session.query(User.name, mgr.name).join(User.manager.of_type(mgr)).order_by(User.id).all()
         """, n_items(8)),
    Hand("outerjoin_null_side",
         """
         return (
             session.query(User.id, Address.id)
             .outerjoin(User.addresses)
             .filter(Address.id.is_(None))
             .order_by(User.id)
             .all()
         )
         """, n_items(5)),
    # ---- filter_by after a join: legacy applies it to the last joined entity
    Hand("filter_by_after_join_shared_name",
         "return session.query(User).join(User.addresses).filter_by(id=4).all()", n_items(1)),
    Hand("filter_by_after_join_unique_name",
         'return session.query(User).join(User.addresses).filter_by(city="Rome").all()',
         n_items(1)),
    Hand("filter_by_after_aliased_join",
         """
         mgr = aliased(User)
         return session.query(User).join(mgr, User.manager).filter_by(name="erin").order_by(User.id).all()
         """, n_items(2)),
    # ---- limits
    Hand("slice", "return session.query(User).order_by(User.id).slice(2, 5).all()", n_items(3)),
    Hand("getitem_slice", "return session.query(User).order_by(User.id)[2:4]", n_items(2)),
    Hand("getitem_index", "return session.query(User).order_by(User.id)[3]", is_object("User")),
    Hand("getitem_first", "return session.query(User).order_by(User.id)[0]", is_object("User")),
    Hand("getitem_past_the_end", "return session.query(User).order_by(User.id)[999]",
         raises("IndexError")),
    Hand("getitem_computed_page",
         "return session.query(User).order_by(User.id)[page * size:page * size + size]",
         n_items(2), params=", page=1, size=2"),
    Hand("getitem_open_slices",
         "return session.query(User).order_by(User.id)[:2] + session.query(User).order_by(User.id)[5:]",
         returns(lambda v: isinstance(v, list) and v[:1] == ["list"] and len(v) - 1 > 2)),
    Hand("getitem_joined_collection",
         "return session.query(User).options(joinedload(User.addresses)).order_by(User.id)[0:3]",
         n_items(3)),
    Hand("getitem_index_variable", "return session.query(User.name).order_by(User.name)[i]",
         is_row("name"), params=", i=2"),
    Hand("getitem_on_limited", "return session.query(User).order_by(User.id).offset(1).limit(4)[1:3]",
         n_items(2)),
    # ---- other legacy methods
    Hand("params_bindparam",
         'return session.query(User).filter(User.name == bindparam("n")).params(n="bob").order_by(User.id).all()',
         n_items(2)),
    Hand("params_text_then_count",
         'return session.query(User).filter(text("age > :a")).params(a=28).count()',
         equals(7)),
    Hand("params_dict_first",
         'return session.query(User.id).filter(User.name == bindparam("n")).order_by(User.id).params({"n": "bob"}).first()',
         is_row("id")),
    Hand("params_twice_last_wins",
         'return session.query(User.id).filter(text("name = :n")).params(n="bob").order_by(User.id).params(n="alice").all()',
         returns(lambda v: isinstance(v, list) and v[:1] == ["list"])),
    Hand("params_before_filter_left",
         'return session.query(User).params(n="bob").filter(text("name = :n")).order_by(User.id).all()',
         n_items(2)),
    Hand("params_on_stored_query_left",
         """
         q = session.query(User).filter(text("name = :n")).params(n="bob")
         return q.order_by(User.id).all()
         """, n_items(2)),
    Hand("populate_existing_without_autoflush",
         """
         u = session.query(User).filter(User.id == 1).one()
         u.name = "zzz"
         with session.no_autoflush:
             rows = session.query(User).filter(User.id < 3).populate_existing().order_by(User.id).all()
         return [(r.id, r.name) for r in rows]
         """, returns(lambda v: v[1] == ("tuple", (1, "alice")))),
    Hand("execution_options_populate_existing",
         "return session.query(User).execution_options(populate_existing=True).order_by(User.id).limit(2).all()",
         n_items(2)),
    Hand("with_for_update", "return session.query(User).filter(User.id == 1).with_for_update().one()",
         is_object("User")),
    Hand("value_method", "return session.query(User).filter(User.id == 3).value(User.name)",
         equals("carol")),
    Hand("value_no_row", "return session.query(User).filter(User.id < 0).value(User.name)",
         equals(None)),
    Hand("value_first_of_ordered",
         "return session.query(User).filter(User.age > 20).order_by(User.age.desc(), User.id).value(User.id)",
         returns(lambda v: isinstance(v, int))),
    Hand("value_of_joined_query",
         """
         return (
             session.query(User)
             .join(User.addresses)
             .filter(Address.email.like("%@%"))
             .order_by(Address.id)
             .value(Address.email)
         )
         """, returns(lambda v: isinstance(v, str))),
    Hand("value_of_stored_query",
         """
         q = session.query(User).filter(User.active == True)
         return q.order_by(User.id).value(User.name), q.count()
         """, returns(lambda v: v[0] == "tuple")),
    # ---- query objects in variables
    Hand("split_conditional_filters",
         """
         q = session.query(User)
         if name is not None:
             q = q.filter(User.name == name)
         if min_age is not None:
             q = q.filter(User.age >= min_age)
         q = q.order_by(User.id)
         return q.all()
         """, n_items(2), params=', name="bob", min_age=None'),
    Hand("query_variable_used_twice",
         """
         q = session.query(User).filter(User.active == True)
         total = q.count()
         first = q.order_by(User.id).first()
         return total, first
         """, returns(lambda v: v[0] == "tuple" and v[1][0] == 8)),
    Hand("query_built_in_loop",
         """
         q = session.query(User)
         for name in ["bob", "alice"]:
             q = q.filter(User.name != name)
         return q.order_by(User.id).all()
         """, returns(lambda v: isinstance(v, list))),
    Hand("pagination_count_then_page",
         """
         q = session.query(User).filter(User.age.isnot(None))
         total = q.count()
         page = q.order_by(User.age.desc(), User.id).offset(2).limit(3).all()
         return total, page
         """, returns(lambda v: v[0] == "tuple" and v[1][0] == 10)),
    Hand("repository_class_session_attribute",
         """
         class Repo:
             def __init__(self, session: Session):
                 self.session = session

             def active(self):
                 return self.session.query(User).filter(User.active == True).order_by(User.id).all()


         def run(session: Session):
             return Repo(session).active()
         """, n_items(8)),
    Hand("session_local_alias",
         """
         s = session
         return s.query(User).order_by(User.id).first()
         """, is_object("User")),
    Hand("first_result_tested",
         """
         user = session.query(User).filter(User.name == "zed").first()
         return user is None
         """, equals(True)),
    Hand("next_iter",
         "return next(iter(session.query(User).filter(User.age > 40).order_by(User.id)))",
         is_object("User")),
    Hand("len_all_dedup", "return len(session.query(User).join(User.orders).all())", equals(7)),
    Hand("one_or_none_joinedload_collection",
         "return session.query(User).options(joinedload(User.addresses)).filter(User.id == 1).one_or_none()",
         loaded("addresses", 3)),
    Hand("scalar_joinedload_collection",
         "return session.query(User).options(joinedload(User.orders)).filter(User.id == 1).scalar()",
         loaded("orders", 3)),
    Hand("get_tuple_identity", "return session.query(User).get((3,))", is_object("User")),
    Hand("get_dict_identity", 'return session.query(User).get({"id": 3})', is_object("User")),
    Hand("yield_per_first", "return session.query(Order).order_by(Order.total, Order.id).yield_per(2).first()",
         is_object("Order")),
    Hand("exists_of_aggregate_query",
         "return session.query(session.query(func.count(Address.id)).filter(Address.city == \"Oslo\").exists()).scalar()",
         equals(False)),
    Hand("count_of_aggregate_query",
         "return session.query(func.count(Address.id)).filter(Address.city == \"Oslo\").count()",
         equals(1)),
    Hand("autoflush_disabled",
         """
         u = session.query(User).filter(User.id == 1).one()
         u.age = 99
         return session.query(User.id).filter(User.age == 99).autoflush(False).all()
         """, n_items(0)),
    Hand("only_return_tuples",
         "return session.query(User).only_return_tuples(True).order_by(User.id).limit(2).all()",
         returns(lambda v: v[1][0] == "Row")),
    Hand("yield_per_one_join_not_deduplicated",
         "return session.query(User).join(User.addresses).filter(User.id == 1).yield_per(5).one()",
         raises("MultipleResultsFound")),
    Hand("order_by_none_resets",
         "return session.query(User.id).order_by(User.name).order_by(None).filter(User.id < 4).all()",
         n_items(3), ordered=False),
    Hand("implicit_join_via_filter",
         "return session.query(User).filter(User.id == Address.user_id).order_by(User.id).all()",
         n_items(7)),
    Hand("implicit_join_entity_and_column",
         "return session.query(User, Address.city).filter(User.id == Address.user_id).order_by(User.id, Address.city).all()",
         n_items(9)),
    Hand("update_ordered_values",
         """
         return session.query(User).filter(User.id == 2).update(
             [(User.age, User.age + 1), (User.name, "bobby")],
             update_args={"preserve_parameter_order": True},
             synchronize_session="fetch",
         )
         """, equals(1), writes=True),
    Hand("correlated_count_correlate",
         """
         n = session.query(func.count(Order.id)).filter(Order.user_id == User.id).correlate(User).scalar_subquery()
         return session.query(User.id).filter(n >= 2).order_by(User.id).all()
         """, n_items(2)),
    Hand("with_parent",
         """
         alice = session.query(User).filter(User.id == 1).one()
         return session.query(Address).with_parent(alice, User.addresses).order_by(Address.id).all()
         """, n_items(3)),
    Hand("with_parent_inferred",
         """
         alice = session.query(User).filter(User.id == 1).one()
         return session.query(Address).with_parent(alice).order_by(Address.id).all()
         """, n_items(3)),
    Hand("dict_of_pairs",
         "return dict(session.query(User.id, User.name).filter(User.id < 4))",
         returns(lambda v: v[:1] == ("dict",) and len(v[1]) == 3)),
    Hand("dict_of_stored_pairs",
         """
         q = session.query(User.name, func.count(Address.id)).join(User.addresses).group_by(User.name)
         return dict(q)
         """, returns(lambda v: v[:1] == ("dict",) and len(v[1]) > 1)),
    Hand("union_all_columns",
         """
         a = session.query(User.id).filter(User.age > 50)
         b = session.query(User.id).filter(User.id < 3)
         return a.union_all(b).order_by(User.id).all()
         """, n_items(4)),
    Hand("from_statement_first",
         'return session.query(User).from_statement(text("SELECT * FROM users ORDER BY id")).first()',
         is_object("User")),
    Hand("limit_inside_aliased_subquery",
         """
         sub = session.query(User).order_by(User.age.desc(), User.id).limit(3).subquery()
         top = aliased(User, sub)
         return session.query(top).order_by(top.id).all()
         """, n_items(3)),
    Hand("recursive_cte",
         """
         top = session.query(User.id).filter(User.manager_id.is_(None)).cte(recursive=True)
         top = top.union_all(session.query(User.id).join(top, User.manager_id == top.c.id))
         return session.query(User.name).join(top, top.c.id == User.id).order_by(User.id).all()
         """, n_items(12)),
    Hand("in_distinct_nested_query",
         "return session.query(User.id).filter(User.id.in_(session.query(Address.user_id).distinct())).order_by(User.id).all()",
         n_items(7)),
    Hand("update_relationship_any",
         'return session.query(User).filter(User.addresses.any(Address.city == "Paris")).update({"active": False}, synchronize_session="fetch")',
         equals(3), writes=True),
    Hand("one_after_limit_join",
         "return session.query(User).join(User.addresses).order_by(User.id).limit(2).one()",
         is_object("User")),
    Hand("first_outerjoin_two_entities",
         "return session.query(User, Order).outerjoin(User.orders).filter(User.id > 9).order_by(User.id, Order.id).first()",
         is_row("User", "Order")),
    Hand("count_join_yield_per", "return session.query(User).join(User.addresses).yield_per(2).count()",
         equals(11)),
    Hand("scalar_after_limit", "return session.query(User.id).order_by(User.id).limit(1).scalar()",
         equals(1)),
    Hand("session_parameter_named_db",
         """
         def run(db: Session):
             return db.query(User).filter(User.age > 40).order_by(User.id).all()
         """, n_items(3)),
    Hand("query_from_helper_function",
         """
         def active_users(session: Session):
             return session.query(User).filter(User.active == True)


         def run(session: Session):
             return active_users(session).order_by(User.id).all()
         """, n_items(8)),
]  # fmt: skip


@pytest.fixture(scope="session")
def hand_migrations() -> None:
    """Migrate every hand-written case up front, in parallel (the results are cached)."""
    migrate_many(h.case().source for h in HAND_CASES)


@pytest.mark.parametrize("hand", HAND_CASES, ids=[h.name for h in HAND_CASES])
def test_hand_written(database, hand_migrations, hand: Hand) -> None:
    db, engine = database
    case = hand.case()
    result = check_case(engine, db, case, "hand")
    if hand.expect is not None:
        assert hand.expect(result.legacy), (
            f"the legacy chain no longer exercises what case {hand.name!r} is about: "
            f"{result.legacy.brief()}\n{case.source}"
        )
    assert result.ok, result.report()


def test_hand_written_names_unique() -> None:
    names = Counter(h.name for h in HAND_CASES)
    assert not [n for n, c in names.items() if c > 1]


# --------------------------------------------------------------------------- generated
def _failure_message(failures: list[CaseResult], executed: int) -> str:
    kinds = Counter(classify(p) for r in failures for p in r.problems)
    lines = [f"{len(failures)} of {executed} generated cases failed; problems by kind:"]
    lines += [f"  {count:4d}  {kind}" for kind, count in kinds.most_common()]
    # show a few examples of each kind, shortest sources first
    shown: list[CaseResult] = []
    for kind, _ in kinds.most_common():
        examples = sorted(
            (r for r in failures if any(classify(p) == kind for p in r.problems)),
            key=lambda r: len(r.case.source),
        )
        shown += [r for r in examples[:2] if r not in shown]
    return "\n".join(lines) + "\n\n" + render_failures(shown, limit=30)


def _examples(family: str) -> int:
    """The family's share of ``MAX_EXAMPLES``, split by the families' weights."""
    return max(3, round(MAX_EXAMPLES * FAMILIES[family] / sum(FAMILIES.values())))


@pytest.mark.parametrize("family", list(FAMILIES))
def test_generated_chains(database, family: str) -> None:
    db, engine = database
    failures: list[CaseResult] = []
    generated: list[Case] = []
    phases = [Phase.explicit, Phase.generate] + ([Phase.shrink] if SHRINK else [])

    @settings(
        max_examples=_examples(family),
        derandomize=True,
        deadline=None,
        database=None,
        phases=phases,
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.filter_too_much,
            HealthCheck.data_too_large,
        ],
    )
    @given(case=chains(family))
    def check(case: Case) -> None:
        if not SHRINK:  # collect now; migrate in parallel and compare below
            generated.append(case)
            return
        result = check_case(engine, db, case, "generated")
        if not result.ok:
            raise AssertionError(result.report())

    check()
    migrate_many(case.source for case in generated)
    for case in generated:
        result = check_case(engine, db, case, "generated")
        if not result.ok:
            failures.append(result)
    assert not failures, f"[{db}, {family}] " + _failure_message(failures, len(generated))


# --------------------------------------------------------------------------- the oracle
SELECT_HEADER = """\
from sqlalchemy import delete, distinct, func, select, update
from sqlalchemy.orm import Session, joinedload

from diffmodels import Address, User


def run(session: Session):
"""


@dataclass(frozen=True)
class Pair:
    name: str
    legacy: str
    other: str
    same: bool  # whether the comparison must accept ``other`` as equivalent
    ordered: bool = True
    writes: bool = False


ORACLE_PAIRS = [
    Pair("dedup_missing",
         "return session.query(User).join(User.addresses).order_by(User.id).all()",
         "return session.scalars(select(User).join(User.addresses).order_by(User.id)).all()",
         same=False),
    Pair("dedup_kept",
         "return session.query(User).join(User.addresses).order_by(User.id).all()",
         "return session.scalars(select(User).join(User.addresses).order_by(User.id)).unique().all()",
         same=True),
    Pair("scalar_lost_its_check",
         "return session.query(User.name).filter(User.age == 30).scalar()",
         "return session.scalar(select(User.name).where(User.age == 30))",
         same=False),
    Pair("scalar_kept_its_check",
         "return session.query(User.name).filter(User.age == 30).scalar()",
         "return session.execute(select(User.name).where(User.age == 30)).scalar_one_or_none()",
         same=True),
    Pair("count_distinct_instead_of_rows",
         "return session.query(User).join(User.addresses).count()",
         "return session.scalar(select(func.count(distinct(User.id))).join(User.addresses))",
         same=False),
    Pair("count_of_rows",
         "return session.query(User).join(User.addresses).count()",
         "return session.scalar(select(func.count()).select_from(select(User).join(User.addresses).subquery()))",
         same=True),
    Pair("rows_became_scalars",
         "return session.query(User.name).order_by(User.id).all()",
         "return session.scalars(select(User.name).order_by(User.id)).all()",
         same=False),
    Pair("label_lost",
         'return session.query(func.count(User.id).label("n")).all()',
         "return session.execute(select(func.count(User.id))).all()",
         same=False),
    Pair("options_dropped",
         "return session.query(User).options(joinedload(User.addresses)).order_by(User.id).all()",
         "return session.scalars(select(User).order_by(User.id)).all()",
         same=False),
    Pair("order_ignored_when_unordered",
         "return session.query(User).all()",
         "return session.scalars(select(User).order_by(User.id.desc())).all()",
         same=True, ordered=False),
    Pair("order_matters_when_ordered",
         "return session.query(User).order_by(User.id).all()",
         "return session.scalars(select(User).order_by(User.id.desc())).all()",
         same=False),
    Pair("filter_by_after_join_2_1",
         "return session.query(User).join(User.addresses).filter_by(id=4).all()",
         "return session.scalars(select(User).join(User.addresses).filter_by(id=4)).unique().all()",
         same=False),
    Pair("synchronize_session_dropped",
         'return session.query(User).filter(User.age > 40).update({"name": "x"}, synchronize_session=False)',
         'return session.execute(update(User).where(User.age > 40).values(name="x")).rowcount',
         same=False, writes=True),
    Pair("synchronize_session_kept",
         'return session.query(User).filter(User.age > 40).update({"name": "x"}, synchronize_session=False)',
         'return session.execute(update(User).where(User.age > 40).values(name="x").execution_options(synchronize_session=False)).rowcount',
         same=True, writes=True),
    Pair("delete_wrong_rows",
         'return session.query(Address).filter(Address.city == "Paris").delete(synchronize_session=False)',
         'return session.execute(delete(Address).where(Address.city == "Lyon").execution_options(synchronize_session=False)).rowcount + 1',
         same=False, writes=True),
]  # fmt: skip


@pytest.mark.parametrize("pair", ORACLE_PAIRS, ids=[p.name for p in ORACLE_PAIRS])
def test_oracle(database, pair: Pair) -> None:
    """The comparison tells known-wrong translations from right ones (pass-independent)."""
    _, engine = database
    legacy = SELECT_HEADER + "    " + pair.legacy + "\n"
    other = SELECT_HEADER + "    " + pair.other + "\n"
    case = Case(legacy, ordered=pair.ordered, writes=pair.writes, name=pair.name)
    a = execute(engine, legacy, case, "oracle_legacy")
    b = execute(engine, other, case, "oracle_other")
    differences = compare(a, b, pair.ordered)
    if pair.same:
        assert not differences, differences
    else:
        assert differences, f"not told apart: {a.brief()} / {b.brief()}"


# --------------------------------------------------------------------------- generator
def test_generator_sanity(database) -> None:
    """Generated legacy chains compile, mostly run, and cover every terminal."""
    db, engine = database
    if db != "sqlite":
        pytest.skip("checked once, on SQLite")
    features: Counter[str] = Counter()
    invalid: list[tuple[Case, Outcome]] = []
    total = sum(_sanity_family(engine, family, features, invalid) for family in FAMILIES)
    assert len(invalid) <= total * 0.05, "\n\n".join(
        f"{o.brief()}\n{c.source}" for c, o in invalid[:5]
    )
    terminals = {f.split(":", 1)[1] for f in features if f.startswith("terminal:")}
    expected = {
        "all",
        "first",
        "one",
        "one_or_none",
        "scalar",
        "count",
        "get",
        "exists",
        "update",
        "delete",
        "iter_comp",
        "list",
        "for_loop",
        "statement",
        "reuse",
    }
    assert expected <= terminals, expected - terminals
    for feature in ("join", "outerjoin", "join:aliased", "filter_by", "options", "distinct",
                    "limit", "yield_per", "with_entities", "group_by:1", "layout:split",
                    "conditional", "select:mixed", "select:aggregate"):  # fmt: skip
        assert features[feature] > 0, f"the generator never produced {feature!r}"


def _sanity_family(
    engine, family: str, features: Counter[str], invalid: list[tuple[Case, Outcome]]
) -> int:
    count = 0

    @settings(
        max_examples=15,
        derandomize=True,
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=chains(family))
    def check(case: Case) -> None:
        nonlocal count
        count += 1
        compile(case.source, "chains.py", "exec")
        features.update(case.features)
        outcome = execute(engine, case.source, case, "sanity")
        if outcome.error not in (None, "NoResultFound", "MultipleResultsFound"):
            invalid.append((case, outcome))

    check()
    return count
