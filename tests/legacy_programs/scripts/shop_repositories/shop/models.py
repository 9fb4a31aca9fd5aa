import datetime

from sqlalchemy import Column, DateTime, ForeignKey, Integer, String
from sqlalchemy.ext.declarative import declarative_base
from sqlalchemy.orm import relationship

Base = declarative_base()


class Customer(Base):
    __tablename__ = "customers"
    id = Column(Integer, primary_key=True)
    email = Column(String(80), unique=True, nullable=False)
    orders = relationship("Order", back_populates="customer", cascade="all, delete-orphan")

    def total_spent(self):
        return sum(o.total for o in self.orders)


class Order(Base):
    __tablename__ = "orders"
    id = Column(Integer, primary_key=True)
    customer_id = Column(Integer, ForeignKey("customers.id"), nullable=False)
    created = Column(DateTime, default=datetime.datetime(2020, 1, 1))
    status = Column(String(10), default="new", server_default="new")
    customer = relationship("Customer", back_populates="orders")
    lines = relationship("Line", back_populates="order", lazy="joined")

    @property
    def total(self):
        return sum(l.qty * l.price for l in self.lines)


class Line(Base):
    __tablename__ = "lines"
    id = Column(Integer, primary_key=True)
    order_id = Column(Integer, ForeignKey("orders.id"))
    sku = Column(String(10))
    qty = Column(Integer)
    price = Column(Integer)
    order = relationship("Order", back_populates="lines")
