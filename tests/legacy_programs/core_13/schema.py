"""Tables on a bound MetaData, the SQLAlchemy 1.3 way."""

import os
import tempfile

from sqlalchemy import Boolean, Column, ForeignKey, Integer, MetaData, String, Table, create_engine

DB_DIR = tempfile.mkdtemp(prefix="core13-")
engine = create_engine("sqlite:///" + os.path.join(DB_DIR, "shop.db"))
metadata = MetaData(bind=engine)

users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(50), nullable=False),
    Column("active", Boolean, nullable=False, default=True),
)

products = Table(
    "products",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(50), nullable=False, unique=True),
    Column("price", Integer, nullable=False),
)

orders = Table(
    "orders",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id"), nullable=False),
    Column("product_id", Integer, ForeignKey("products.id"), nullable=False),
    Column("quantity", Integer, nullable=False),
)


def init_db():
    metadata.drop_all()
    metadata.create_all()
    engine.execute("CREATE TABLE audit_log (id INTEGER PRIMARY KEY, message VARCHAR(100) NOT NULL)")


def audit_table():
    return Table("audit_log", metadata, autoload=True)
