"""Legacy ``join()`` with several relationship targets and ``with_polymorphic()``
entities, found by running legacy chains on SQLAlchemy 1.4 and their migration on 2.x.

* ``query(...).join(User.orders, Order.items)`` joined one target after the other in
  1.x (its first argument is a relationship path, not a class); 2.x's ``join(target,
  onclause)`` reads the second as an ON clause and fails. It becomes one ``join()`` per
  target; the forms 1.x itself read as ``(target, onclause)`` stay as they are.
* ``query(with_polymorphic(Employee, [...]))`` gives objects, like ``query(Employee)``:
  it reads with ``session.scalars()``, not as rows.
"""

from __future__ import annotations

import pytest

from tests.harness import check_noop, check_transformed, exec_module

MODELS = """
from sqlalchemy import Column, ForeignKey, Integer, String, Table
from sqlalchemy.orm import declarative_base, relationship

Base = declarative_base()

order_items = Table(
    "order_items",
    Base.metadata,
    Column("order_id", ForeignKey("orders.id"), primary_key=True),
    Column("item_id", ForeignKey("items.id"), primary_key=True),
)


class User(Base):
    __tablename__ = "users"
    id = Column(Integer, primary_key=True)
    name = Column(String(50))
    orders = relationship("Order", back_populates="user")


class Order(Base):
    __tablename__ = "orders"
    id = Column(Integer, primary_key=True)
    user_id = Column(ForeignKey("users.id"))
    user = relationship("User", back_populates="orders")
    items = relationship("Item", secondary=order_items)


class Item(Base):
    __tablename__ = "items"
    id = Column(Integer, primary_key=True)
    name = Column(String(50))


class Employee(Base):
    __tablename__ = "employees"
    id = Column(Integer, primary_key=True)
    name = Column(String(50))
    type = Column(String(20))
    __mapper_args__ = {"polymorphic_on": type, "polymorphic_identity": "employee"}


class Engineer(Employee):
    __tablename__ = "engineers"
    id = Column(ForeignKey("employees.id"), primary_key=True)
    language = Column(String(20))
    __mapper_args__ = {"polymorphic_identity": "engineer"}
"""

PROJECT = {"app.models": MODELS}
HEADER = (
    "from sqlalchemy.orm import Session, aliased, with_polymorphic\n"
    "from app.models import Employee, Engineer, Item, Order, User\n"
)


def transformed(before: str, after: str, **kwargs: object) -> None:
    check_transformed(
        HEADER + before,
        HEADER + "from sqlalchemy import select\n\n" + after,
        project=PROJECT,
        module_name="app.views",
        **kwargs,  # type: ignore[arg-type]
    )


def untouched(code: str, **kwargs: object) -> None:
    check_noop(HEADER + code, project=PROJECT, module_name="app.views", **kwargs)  # type: ignore[arg-type]


CHAINS = [
    (
        "two_relationships",
        "session.query(User.name, Item.name).join(User.orders, Order.items).all()",
        "session.execute(select(User.name, Item.name).join(User.orders).join(Order.items)).all()",
    ),
    (
        "outerjoin_keywords_on_each",
        "session.query(User.name, Item.name).join(User.orders, Order.items, isouter=True).all()",
        "session.execute(select(User.name, Item.name).join(User.orders, isouter=True).join(Order.items, isouter=True)).all()",
    ),
    (
        "filter_by_after_the_chain_names_its_last_target",
        "session.query(User.id).join(User.orders, Order.items).filter_by(name='x').all()",
        "session.execute(select(User.id).join(User.orders).join(Order.items).where(Item.name == 'x')).all()",
    ),
    (
        "of_type_in_the_chain",
        "session.query(User.id).join(User.orders.of_type(o), o.items).all()",
        "session.execute(select(User.id).join(User.orders.of_type(o)).join(o.items)).all()",
    ),
]


@pytest.mark.parametrize(("name", "before", "after"), CHAINS, ids=[c[0] for c in CHAINS])
def test_join_chain_becomes_one_join_per_target(name: str, before: str, after: str) -> None:
    prelude = "def f(session: Session):\n    o = aliased(Order)\n    return "
    transformed(prelude + before + "\n", prelude + after + "\n")


KEPT = [
    ("target_and_relationship", "join(Order, User.orders)"),
    ("target_and_onclause", "join(Order, Order.user_id == User.id)"),
    ("alias_and_relationship", "join(o, User.orders)"),
    ("one_relationship", "join(User.orders)"),
]


@pytest.mark.parametrize(("name", "join"), KEPT, ids=[k[0] for k in KEPT])
def test_target_onclause_forms_stay_one_join(name: str, join: str) -> None:
    prelude = "def f(session: Session):\n    o = aliased(Order)\n    return "
    transformed(
        prelude + f"session.query(User.id).{join}.all()\n",
        prelude + f"session.execute(select(User.id).{join}).all()\n",
    )


@pytest.mark.parametrize(
    "join",
    [
        "join(User.orders, Item)",  # a chain ending in a bare class
        "join(User.orders, User.id == Order.user_id)",  # 1.x: a chain, not an ON clause
        "join(Order, Order.items, Item)",  # three targets of mixed kinds
    ],
)
def test_other_legacy_chains_are_left_with_todo(join: str) -> None:
    code = HEADER + f"\ndef f(session: Session):\n    return session.query(User.id).{join}.all()\n"
    expected = (
        HEADER
        + "\ndef f(session: Session):\n"
        + "    # TODO(sqla-upgrade): legacy join() with several targets: write one join() per target\n"
        + f"    return session.query(User.id).{join}.all()\n"
    )
    check_transformed(
        code,
        expected,
        project=PROJECT,
        module_name="app.views",
        todos=["legacy join() with several targets"],
    )


def test_with_polymorphic_entity_reads_objects() -> None:
    transformed(
        "def f(session: Session):\n"
        "    ep = with_polymorphic(Employee, [Engineer])\n"
        "    return session.query(ep).filter(ep.Engineer.language == 'py').all()\n",
        "def f(session: Session):\n"
        "    ep = with_polymorphic(Employee, [Engineer])\n"
        "    return session.scalars(select(ep).where(ep.Engineer.language == 'py')).all()\n",
    )


def test_with_polymorphic_subclass_columns_are_left_with_todo() -> None:
    code = (
        HEADER + "\ndef f(session: Session):\n"
        "    ep = with_polymorphic(Employee, '*')\n"
        "    return session.query(ep.id, ep.Engineer.language).all()\n"
    )
    expected = code.replace(
        "    return session.query(",
        "    # TODO(sqla-upgrade): cannot tell whether ep.Engineer.language is a mapped class"
        " or a column expression\n    return session.query(",
    )
    check_transformed(
        code, expected, project=PROJECT, module_name="app.views", todos=["cannot tell whether"]
    )


RUNTIME = """
def chain(session):
    return sorted(session.query(User.name, Item.name).join(User.orders, Order.items).all())


def chain_filter_by(session):
    return sorted(session.query(User.name).join(User.orders, Order.items).filter_by(name="b").all())


def polymorphic(session):
    ep = with_polymorphic(Employee, [Engineer])
    return [
        (type(e).__name__, e.name)
        for e in session.query(ep).filter(ep.name != "z").order_by(ep.id).all()
    ]
"""


@pytest.mark.parametrize(
    "code",
    [
        # already 2.0: a select's join(target, onclause)
        "def f(session: Session):\n    return session.execute(select(User.id).join(Order, User.orders)).all()\n",
        # Core joins of tables and str/path joins with two arguments
        "def f(users, orders):\n    return users.join(orders, users.c.id == orders.c.user_id)\n",
        "import os\n\ndef f(a, b):\n    return os.path.join(a, b), ', '.join([a, b])\n",
        # a polymorphic selectable, not queried
        "def f():\n    return with_polymorphic(Employee, [Engineer])\n",
    ],
)
def test_lookalikes_are_untouched(code: str) -> None:
    untouched("from sqlalchemy import select\n\n" + code)


def test_migrated_code_gives_what_legacy_gave(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys
    import types

    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session

    from sqla_upgrade.api import migrate_source

    migrated = migrate_source(
        HEADER + RUNTIME, target="2.0", project=PROJECT, module_name="app.views"
    ).code
    assert ".query(" not in migrated and "TODO" not in migrated
    models = types.ModuleType("app.models")
    exec(compile(MODELS, "app/models.py", "exec", dont_inherit=True), models.__dict__)
    monkeypatch.setitem(sys.modules, "app", types.ModuleType("app"))
    monkeypatch.setitem(sys.modules, "app.models", models)
    views = exec_module(migrated)
    engine = create_engine("sqlite://")
    models.Base.metadata.create_all(engine)
    with Session(engine) as session:
        a, b = models.Item(name="a"), models.Item(name="b")
        session.add_all(
            [
                models.User(
                    name="u1", orders=[models.Order(items=[a, b]), models.Order(items=[b])]
                ),
                models.User(name="u2", orders=[models.Order(items=[a])]),
                models.User(name="u3"),
                models.Employee(id=1, name="e"),
                models.Engineer(id=2, name="g", language="py"),
            ]
        )
        session.flush()
        # what SQLAlchemy 1.4 gives for the legacy chains
        assert views.chain(session) == [("u1", "a"), ("u1", "b"), ("u1", "b"), ("u2", "a")]
        assert views.chain_filter_by(session) == [("u1",), ("u1",)]
        assert views.polymorphic(session) == [("Employee", "e"), ("Engineer", "g")]


QUERY_TODO = (
    "# TODO(sqla-upgrade): a Query built with Query(...) has no 2.0 form (and cannot run on"
    " an AsyncSession): build select(...) and run it with session.execute()/scalars()\n"
)


@pytest.mark.parametrize(
    "statement",
    ["q = Query(User, session)", "q = Query(User).with_session(session)"],
)
def test_query_constructor_is_left_with_todo(statement: str) -> None:
    code = (
        "from sqlalchemy.orm import Query, Session\n"
        "from app.models import User\n\n\n"
        f"def f(session: Session):\n    {statement}\n    return q\n"
    )
    expected = code.replace(f"    {statement}", f"    {QUERY_TODO}    {statement}")
    check_transformed(
        code, expected, project=PROJECT, module_name="app.views", todos=["a Query built with"]
    )
    # the async target says it too: such a query cannot run on an AsyncSession
    from sqla_upgrade.api import migrate_source

    migrated = migrate_source(code, target="async", project=PROJECT, module_name="app.views")
    assert QUERY_TODO.strip() in migrated.code
    assert any("a Query built with" in n.message for n in migrated.todos)


@pytest.mark.parametrize(
    "code",
    [
        "from sqlalchemy.orm import Query\n\n\nclass UserQuery(Query):\n    pass\n",
        "from sqlalchemy.orm import Query\n\n\ndef f(q):\n    return isinstance(q, Query)\n",
        "from sqlalchemy.orm import sessionmaker, Query\n\nfactory = sessionmaker(query_cls=Query)\n",
        "class Query:\n    pass\n\n\nq = Query()\n",
    ],
)
def test_query_class_uses_are_untouched(code: str) -> None:
    check_noop(code, project=PROJECT, module_name="app.views")


TUPLES = [
    (
        "class_and_onclause",
        "join((Order, Order.user_id == User.id))",
        "join(Order, Order.user_id == User.id)",
    ),
    ("class_and_relationship", "join((Order, User.orders))", "join(Order, User.orders)"),
    ("alias_and_relationship", "outerjoin((o, User.orders))", "outerjoin(o, User.orders)"),
    (
        "keywords_kept",
        "join((Order, User.orders), isouter=True)",
        "join(Order, User.orders, isouter=True)",
    ),
]


@pytest.mark.parametrize(("name", "before", "after"), TUPLES, ids=[t[0] for t in TUPLES])
def test_join_tuple_of_target_and_onclause_is_unpacked(name: str, before: str, after: str) -> None:
    prelude = "def f(session: Session):\n    o = aliased(Order)\n    return "
    transformed(
        prelude + f"session.query(User.id).{before}.all()\n",
        prelude + f"session.execute(select(User.id).{after}).all()\n",
    )


@pytest.mark.parametrize(
    "join",
    [
        "join((User.orders, Order))",  # 1.x's reversed (prop, target) form
        "join((Order, User.orders), (Item, Order.items))",  # several tuples: a chain
        "join((Order, 'orders'))",  # a string ON clause
    ],
)
def test_other_join_tuples_are_left_with_todo(join: str) -> None:
    code = HEADER + f"\ndef f(session: Session):\n    return session.query(User.id).{join}.all()\n"
    expected = code.replace(
        "    return session.query(",
        "    # TODO(sqla-upgrade): the tuple form of join() is gone in 2.0\n    return session.query(",
    )
    check_transformed(
        code, expected, project=PROJECT, module_name="app.views", todos=["the tuple form of join()"]
    )


def test_tuple_join_runs_as_legacy_did(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys
    import types

    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session

    from sqla_upgrade.api import migrate_source

    code = HEADER + (
        "\n\ndef pairs(session):\n"
        "    return sorted(session.query(User.name, Order.id)"
        ".join((Order, Order.user_id == User.id)).filter_by(id=2).all())\n"
    )
    migrated = migrate_source(code, target="2.0", project=PROJECT, module_name="app.views").code
    assert ".query(" not in migrated and "TODO" not in migrated
    models = types.ModuleType("app.models")
    exec(compile(MODELS, "app/models.py", "exec", dont_inherit=True), models.__dict__)
    monkeypatch.setitem(sys.modules, "app", types.ModuleType("app"))
    monkeypatch.setitem(sys.modules, "app.models", models)
    views = exec_module(migrated)
    engine = create_engine("sqlite://")
    models.Base.metadata.create_all(engine)
    with Session(engine) as session:
        session.add_all(
            [
                models.User(id=1, name="u1", orders=[models.Order(id=1), models.Order(id=2)]),
                models.User(id=2, name="u2", orders=[models.Order(id=3)]),
            ]
        )
        session.flush()
        # legacy filter_by() after the join names the joined Order: order 2 of u1
        assert views.pairs(session) == [("u1", 2)]


def test_query_of_a_subquery_reads_its_rows() -> None:
    transformed(
        "def f(session: Session):\n"
        "    sq = session.query(User.id, User.name).filter(User.id > 1).subquery()\n"
        "    c = session.query(Order.user_id).cte('c')\n"
        "    return session.query(sq).order_by(sq.c.id).first(), session.query(c).all()\n",
        "def f(session: Session):\n"
        "    sq = select(User.id, User.name).where(User.id > 1).subquery()\n"
        "    c = select(Order.user_id).cte('c')\n"
        "    return session.execute(select(sq).order_by(sq.c.id).limit(1)).first(), "
        "session.execute(select(c)).all()\n",
    )


def test_query_of_an_unknown_alias_is_left_with_todo() -> None:
    code = (
        HEADER + "\ndef f(session: Session, thing):\n"
        "    sq = thing.subquery()\n"
        "    return session.query(sq).all()\n"
    )
    expected = code.replace(
        "    return session.query(",
        "    # TODO(sqla-upgrade): cannot tell whether sq is a mapped class or a column "
        "expression\n    return session.query(",
    )
    check_transformed(
        code, expected, project=PROJECT, module_name="app.views", todos=["cannot tell whether"]
    )


def test_query_of_a_subquery_runs_as_legacy_did(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys
    import types

    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session

    from sqla_upgrade.api import migrate_source

    code = HEADER + (
        "\n\ndef rows(session):\n"
        "    sq = session.query(User.id, User.name).filter(User.id > 1).subquery()\n"
        "    return session.query(sq).order_by(sq.c.id).first(), session.query(sq).count()\n"
    )
    migrated = migrate_source(code, target="2.0", project=PROJECT, module_name="app.views").code
    assert ".query(" not in migrated and "TODO" not in migrated
    models = types.ModuleType("app.models")
    exec(compile(MODELS, "app/models.py", "exec", dont_inherit=True), models.__dict__)
    monkeypatch.setitem(sys.modules, "app", types.ModuleType("app"))
    monkeypatch.setitem(sys.modules, "app.models", models)
    views = exec_module(migrated)
    engine = create_engine("sqlite://")
    models.Base.metadata.create_all(engine)
    with Session(engine) as session:
        session.add_all([models.User(id=i, name=f"u{i}") for i in (1, 2, 3)])
        session.flush()
        first, count = views.rows(session)
        assert (tuple(first), count) == ((2, "u2"), 2)  # SQLAlchemy 1.4's


def test_order_by_the_name_of_a_label_of_the_query_is_kept() -> None:
    body = (
        "\n\ndef f(session: Session):\n"
        "    n = func.count(Order.id).label('n')\n"
        "    a = session.query(Order.user_id, func.count(Order.id).label('total'))"
        ".group_by(Order.user_id).order_by('total').all()\n"
        "    b = session.query(Order.user_id, n).group_by('n').order_by('n').all()\n"
        "    return a, b\n"
    )
    migrated = (
        body.replace("session.query(", "session.execute(select(")
        .replace(".order_by('total').all()", ".order_by('total')).all()")
        .replace(".order_by('n').all()", ".order_by('n')).all()")
    )
    check_transformed(
        HEADER + "from sqlalchemy import func\n" + body,
        HEADER + "from sqlalchemy import select, func\n" + migrated,
        project=PROJECT,
        module_name="app.views",
    )


@pytest.mark.parametrize(
    "order", ["order_by('users.name desc')", "order_by('total')", "filter('n > 1')"]
)
def test_other_strings_in_a_query_are_left_with_todo(order: str) -> None:
    code = (
        HEADER + "from sqlalchemy import func\n\n\ndef f(session: Session):\n"
        f"    return session.query(User.id, func.count(Order.id).label('n')).{order}.all()\n"
    )
    method = order.split("(")[0]
    expected = code.replace(
        "    return session.query(",
        f"    # TODO(sqla-upgrade): a raw SQL string in {method}() needs text() in 2.0\n"
        "    return session.query(",
    )
    check_transformed(
        code, expected, project=PROJECT, module_name="app.views", todos=["a raw SQL string"]
    )


def test_order_by_a_label_name_runs_as_legacy_did(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys
    import types

    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session

    from sqla_upgrade.api import migrate_source

    code = HEADER + (
        "from sqlalchemy import desc, func\n\n\n"
        "def counts(session):\n"
        "    return session.query(Order.user_id, func.count(Order.id).label('n'))"
        ".group_by(Order.user_id).order_by(desc('n'), 'n').all()\n"
    )
    migrated = migrate_source(code, target="2.0", project=PROJECT, module_name="app.views").code
    assert ".query(" not in migrated and "TODO" not in migrated
    models = types.ModuleType("app.models")
    exec(compile(MODELS, "app/models.py", "exec", dont_inherit=True), models.__dict__)
    monkeypatch.setitem(sys.modules, "app", types.ModuleType("app"))
    monkeypatch.setitem(sys.modules, "app.models", models)
    views = exec_module(migrated)
    engine = create_engine("sqlite://")
    models.Base.metadata.create_all(engine)
    with Session(engine) as session:
        session.add_all(
            [
                models.User(id=1, orders=[models.Order()]),
                models.User(id=2, orders=[models.Order(), models.Order()]),
            ]
        )
        session.flush()
        assert [tuple(r) for r in views.counts(session)] == [(2, 2), (1, 1)]  # 1.4's
