"""integer-division: a TODO on ``/`` between integer SQL expressions (2.0 changed it)."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine

from sqla_upgrade.api import migrate_source
from tests.harness import check_noop, check_transformed, exec_module

MODELS = """
from sqlalchemy import Column, Integer, Numeric, String, func, select, update
from sqlalchemy.orm import Mapped, Session, declarative_base, mapped_column

Base = declarative_base()


class Product(Base):
    __tablename__ = "products"
    id = Column(Integer, primary_key=True)
    price_cents = Column("price", Integer, nullable=False)
    stock: Mapped[int] = mapped_column()
    weight = Column(Numeric(10, 2))
    name = Column(String)
"""
TODO = (
    "# TODO(sqla-upgrade): SQLAlchemy 2.0 makes `/` between integers a true division (1.x "
    "used the database's own `/`: integer division on PostgreSQL and SQLite, exact on MySQL "
    "and MariaDB): write `//` where the integer division was meant\n"
)
ONLY = ("integer-division",)


@pytest.mark.parametrize(
    "expression",
    [
        "Product.price_cents * (100 - pct) / 100",
        "func.sum(Product.stock) / func.count(Product.id)",
        "Product.stock / pct",
        "-Product.price_cents / 2",
        "1000 / Product.stock",
    ],
)
def test_integer_divisions_leave_a_todo(expression: str) -> None:
    before = (
        MODELS
        + f"def f(session: Session, pct):\n    return session.execute(select({expression}))\n"
    )
    after = (
        MODELS
        + f"def f(session: Session, pct):\n    {TODO}    return session.execute(select({expression}))\n"
    )
    check_transformed(before, after, only=ONLY, todos=["true division"])


@pytest.mark.parametrize(
    "expression",
    [
        "Product.price_cents / 100.0",  # a float: a true division in 1.x too
        "Product.weight / 2",  # a Numeric column
        "Product.price_cents // 100",  # already 2.0's integer division
        "product.price_cents / 100",  # an instance's value: Python's division
        "len(name) / 2",
        "Product.name / 2",
    ],
)
def test_noop(expression: str) -> None:
    code = MODELS + f"def f(session: Session, product, name):\n    return {expression}\n"
    check_noop(code, only=ONLY)


def test_the_todo_is_right_about_what_changed() -> None:
    """On SQLite: 1.x's ``/`` was integer division, 2.0's is exact, ``//`` keeps 1.x's."""
    code = MODELS + (
        "def f(session: Session):\n"
        "    return session.execute(select(Product.price_cents / 2, Product.price_cents // 2)).one()\n"
    )
    migrated = migrate_source(code, target="2.0")
    assert [n.message.split(" (")[0] for n in migrated.todos] == [
        "SQLAlchemy 2.0 makes `/` between integers a true division"
    ]
    namespace = exec_module(migrated.code)
    engine = create_engine("sqlite://")
    namespace.Base.metadata.create_all(engine)
    with namespace.Session(engine) as session:
        session.add(namespace.Product(id=1, price_cents=7, stock=1))
        session.commit()
        exact, integer = namespace.f(session)
    assert (float(exact), integer) == (3.5, 3)


CORE = """
from sqlalchemy import Column, Integer, MetaData, String, Table, column, func, select, table

metadata = MetaData()
prices = Table("prices", metadata, Column("sku", String, primary_key=True), Column("cents", Integer))
light = table("light", column("id", Integer), column("label", String))


"""


@pytest.mark.parametrize(
    "expression",
    [
        "prices.c.cents * (100 + pct) / 100",
        "func.sum(prices.c.cents) / func.count(prices.c.sku)",
        "prices.columns.cents / 2",
        "light.c.id / pct",
    ],
)
def test_integer_columns_of_core_tables_leave_a_todo(expression: str) -> None:
    code = CORE + f"def f(conn, pct):\n    return conn.execute(select({expression})).all()\n"
    migrated = migrate_source(code, target="2.0")
    assert [n.message.split(" (")[0] for n in migrated.todos] == [
        "SQLAlchemy 2.0 makes `/` between integers a true division"
    ], migrated.code


@pytest.mark.parametrize(
    "expression",
    ["prices.c.cents / 2.0", "prices.c.sku / 2", "light.c.label / pct", "prices.c.cents // 2"],
)
def test_other_columns_of_core_tables_are_left_alone(expression: str) -> None:
    check_noop(CORE + f"def f(conn, pct):\n    return conn.execute(select({expression})).all()\n")
