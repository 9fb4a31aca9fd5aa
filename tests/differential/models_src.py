"""The schema and seed data the differential suite runs every chain against.

``MODELS_SOURCE`` is the text of a module named ``diffmodels``. It is given to
``migrate_source(project={"diffmodels": MODELS_SOURCE})`` so the tool's index knows the
mapped classes, and it is executed once into a real module registered in
``sys.modules`` so that both the legacy and the migrated code can
``from diffmodels import User, ...`` and share the very same mapped classes.

The seed data is built to expose the places where a naive rewrite changes meaning:

* one-to-many joins multiply rows (user 1 has three addresses, two of them in the
  same city, so ``(User, Address.city)`` rows repeat: legacy ``Query`` de-duplicates
  rows holding an entity, ``select()`` does not);
* NULLs in nullable columns (``age``, ``city``, ``total``, ``price``, ``manager_id``);
* ties in ordering columns (ages 30/25, totals 100/250, prices 2.50, two users named
  "bob", "alice"/"Alice" which collide under MariaDB's case-insensitive collation);
* users without addresses or orders (outer joins, ``count()`` of joins), an item that
  is in no order, a self-referential manager hierarchy.
"""

from __future__ import annotations

import sys
import types
from decimal import Decimal

MODULE_NAME = "diffmodels"

MODELS_SOURCE = """\
from sqlalchemy import Boolean, Column, ForeignKey, Integer, Numeric, String, Table
from sqlalchemy.orm import declarative_base, relationship

Base = declarative_base()

order_items = Table(
    "order_items",
    Base.metadata,
    Column("order_id", Integer, ForeignKey("orders.id"), primary_key=True),
    Column("item_id", Integer, ForeignKey("items.id"), primary_key=True),
)


class User(Base):
    __tablename__ = "users"

    id = Column(Integer, primary_key=True, autoincrement=False)
    name = Column(String(50), nullable=False)
    age = Column(Integer, nullable=True)
    active = Column(Boolean, nullable=False, default=True)
    manager_id = Column(Integer, ForeignKey("users.id"), nullable=True)

    manager = relationship("User", remote_side=[id], back_populates="reports")
    reports = relationship("User", back_populates="manager")
    addresses = relationship("Address", back_populates="user")
    orders = relationship("Order", back_populates="user")


class Address(Base):
    __tablename__ = "addresses"

    id = Column(Integer, primary_key=True, autoincrement=False)
    user_id = Column(Integer, ForeignKey("users.id"), nullable=False)
    email = Column(String(100), nullable=False)
    city = Column(String(50), nullable=True)

    user = relationship("User", back_populates="addresses")


class Order(Base):
    __tablename__ = "orders"

    id = Column(Integer, primary_key=True, autoincrement=False)
    user_id = Column(Integer, ForeignKey("users.id"), nullable=False)
    total = Column(Integer, nullable=True)
    status = Column(String(20), nullable=False)

    user = relationship("User", back_populates="orders")
    items = relationship("Item", secondary=order_items, back_populates="orders")


class Item(Base):
    __tablename__ = "items"

    id = Column(Integer, primary_key=True, autoincrement=False)
    name = Column(String(50), nullable=False)
    price = Column(Numeric(10, 2), nullable=True)

    orders = relationship("Order", secondary=order_items, back_populates="items")
"""

# (id, name, age, active, manager_id)
USERS = [
    (1, "alice", 30, True, None),
    (2, "bob", 25, True, 1),
    (3, "carol", 30, False, 1),
    (4, "dave", None, True, 2),
    (5, "erin", 41, True, 2),
    (6, "frank", 25, False, None),
    (7, "bob", 52, True, 5),
    (8, "heidi", None, False, 5),
    (9, "ivan", 30, True, 1),
    (10, "judy", 19, True, None),
    (11, "mallory", 63, False, None),
    (12, "Alice", 35, True, 9),
]

# (id, user_id, email, city)
ADDRESSES = [
    (1, 1, "alice@home.example", "Paris"),
    (2, 1, "alice@work.example", "Paris"),
    (3, 1, "alice@old.example", "Lyon"),
    (4, 2, "bob@example.org", "Paris"),
    (5, 2, "bob2@example.org", None),
    (6, 3, "carol@example.org", "Berlin"),
    (7, 5, "erin@example.org", "Lyon"),
    (8, 5, "erin@work.example", "Lyon"),
    (9, 7, "bob7@example.org", None),
    (10, 9, "ivan@example.org", "Rome"),
    (11, 12, "alice12@example.org", "Paris"),
]

# (id, user_id, total, status)
ORDERS = [
    (1, 1, 100, "open"),
    (2, 1, 250, "shipped"),
    (3, 1, 100, "shipped"),
    (4, 2, 75, "open"),
    (5, 3, 250, "cancelled"),
    (6, 5, 300, "shipped"),
    (7, 5, 20, "open"),
    (8, 7, 100, "shipped"),
    (9, 9, 0, "open"),
    (10, 10, None, "cancelled"),
]

# (id, name, price)
ITEMS = [
    (1, "widget", Decimal("2.50")),
    (2, "gadget", Decimal("10.00")),
    (3, "doohickey", Decimal("2.50")),
    (4, "gizmo", None),
    (5, "sprocket", Decimal("99.99")),
    (6, "unused", Decimal("1.00")),
]

# (order_id, item_id)
ORDER_ITEMS = [
    (1, 1), (1, 2), (2, 1), (2, 3), (3, 2), (4, 1), (5, 4),
    (6, 1), (6, 2), (6, 3), (7, 5), (8, 2), (9, 1),
]  # fmt: skip


def load_models() -> types.ModuleType:
    """The ``diffmodels`` module, executed once and registered in ``sys.modules``."""
    module = sys.modules.get(MODULE_NAME)
    if module is not None and getattr(module, "__diff_source__", None) == MODELS_SOURCE:
        return module
    module = types.ModuleType(MODULE_NAME)
    module.__file__ = f"<{MODULE_NAME}>"
    module.__diff_source__ = MODELS_SOURCE  # type: ignore[attr-defined]
    exec(compile(MODELS_SOURCE, f"{MODULE_NAME}.py", "exec"), module.__dict__)
    sys.modules[MODULE_NAME] = module
    return module


def seed(connection) -> None:  # type: ignore[no-untyped-def]
    """Create the schema and insert the seed rows (inside the caller's transaction)."""
    from sqlalchemy import insert

    models = load_models()
    metadata = models.Base.metadata
    metadata.drop_all(connection)
    metadata.create_all(connection)
    tables = metadata.tables
    user_rows = [
        {"id": i, "name": n, "age": a, "active": act, "manager_id": None}
        for i, n, a, act, _ in USERS
    ]
    connection.execute(insert(tables["users"]), user_rows)
    for i, _, _, _, manager in USERS:
        if manager is not None:
            connection.execute(
                tables["users"].update().where(tables["users"].c.id == i).values(manager_id=manager)
            )
    connection.execute(
        insert(tables["addresses"]),
        [{"id": i, "user_id": u, "email": e, "city": c} for i, u, e, c in ADDRESSES],
    )
    connection.execute(
        insert(tables["orders"]),
        [{"id": i, "user_id": u, "total": t, "status": s} for i, u, t, s in ORDERS],
    )
    connection.execute(
        insert(tables["items"]), [{"id": i, "name": n, "price": p} for i, n, p in ITEMS]
    )
    connection.execute(
        insert(tables["order_items"]), [{"order_id": o, "item_id": i} for o, i in ORDER_ITEMS]
    )
