from datetime import datetime

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import backref, relationship

from .db import Base


class Category(Base):
    __tablename__ = "categories"

    id = Column(Integer, primary_key=True)
    name = Column(String(50), unique=True, nullable=False)

    def __repr__(self):
        return "<Category %s>" % self.name


class Supplier(Base):
    __tablename__ = "suppliers"

    id = Column(Integer, primary_key=True)
    name = Column(String(100), unique=True, nullable=False)
    country = Column(String(2), nullable=False)


class Warehouse(Base):
    __tablename__ = "warehouses"

    code = Column(String(10), primary_key=True)
    city = Column(String(50), nullable=False)


class Product(Base):
    __tablename__ = "products"

    id = Column(Integer, primary_key=True)
    sku = Column(String(32), unique=True, nullable=False)
    name = Column(String(100), nullable=False)
    price_cents = Column(Integer, nullable=False)
    active = Column(Boolean, default=True, nullable=False)
    created_at = Column(DateTime, default=datetime.utcnow)
    category_id = Column(Integer, ForeignKey("categories.id"), nullable=False)
    supplier_id = Column(Integer, ForeignKey("suppliers.id"))
    substitute_id = Column(Integer, ForeignKey("products.id"))

    category = relationship(Category, backref=backref("products", order_by="Product.sku", lazy="selectin"), lazy="selectin")
    supplier = relationship(Supplier, backref=backref("products", lazy="selectin"), lazy="selectin")
    substitute = relationship("Product", remote_side=[id])

    def __repr__(self):
        return "<Product %s>" % self.sku

    @property
    def price(self):
        return self.price_cents / 100.0


class StockLevel(Base):
    __tablename__ = "stock_levels"
    __table_args__ = (UniqueConstraint("product_id", "warehouse_code"),)

    id = Column(Integer, primary_key=True)
    product_id = Column(Integer, ForeignKey("products.id"), nullable=False)
    warehouse_code = Column(String(10), ForeignKey("warehouses.code"), nullable=False)
    quantity = Column(Integer, nullable=False, default=0)
    reorder_level = Column(Integer, nullable=False, default=10)

    product = relationship(Product, backref=backref("stock_levels", order_by="StockLevel.warehouse_code"))
    warehouse = relationship(Warehouse, backref="stock_levels", lazy="selectin")

    @property
    def needs_reorder(self):
        return self.quantity <= self.reorder_level


class StockMovement(Base):
    __tablename__ = "stock_movements"

    id = Column(Integer, primary_key=True)
    product_id = Column(Integer, ForeignKey("products.id"), nullable=False)
    warehouse_code = Column(String(10), ForeignKey("warehouses.code"), nullable=False)
    delta = Column(Integer, nullable=False)
    reason = Column(String(50), nullable=False)
    created_at = Column(DateTime, default=datetime.utcnow, nullable=False)

    product = relationship(Product)


class Customer(Base):
    __tablename__ = "customers"

    id = Column(Integer, primary_key=True)
    name = Column(String(100), nullable=False)
    email = Column(String(120), unique=True, nullable=False)
    tier = Column(String(10), nullable=False, default="standard")


class Order(Base):
    __tablename__ = "orders"

    STATUSES = ("quote", "placed", "shipped", "cancelled", "expired")

    id = Column(Integer, primary_key=True)
    customer_id = Column(Integer, ForeignKey("customers.id"), nullable=False)
    warehouse_code = Column(String(10), ForeignKey("warehouses.code"), nullable=False)
    status = Column(String(20), nullable=False, default="placed")
    created_at = Column(DateTime, default=datetime.utcnow, nullable=False)

    customer = relationship(Customer, backref=backref("orders", order_by="Order.id", lazy="selectin"))
    warehouse = relationship(Warehouse, lazy="selectin")
    lines = relationship(
        "OrderLine", backref="order", cascade="all, delete-orphan", order_by="OrderLine.id", lazy="selectin"
    )

    @property
    def total_cents(self):
        return sum(line.total_cents for line in self.lines)


class OrderLine(Base):
    __tablename__ = "order_lines"

    id = Column(Integer, primary_key=True)
    order_id = Column(Integer, ForeignKey("orders.id"), nullable=False)
    product_id = Column(Integer, ForeignKey("products.id"), nullable=False)
    quantity = Column(Integer, nullable=False)
    unit_price_cents = Column(Integer, nullable=False)

    product = relationship(Product)

    @property
    def total_cents(self):
        return self.quantity * self.unit_price_cents
