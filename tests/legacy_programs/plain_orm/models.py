"""Models of a small shop, written the way a 2019 code base declares them."""

from sqlalchemy import Boolean, Column, Date, ForeignKey, Integer, String
from sqlalchemy.ext.declarative import declarative_base
from sqlalchemy.orm import relationship

Base = declarative_base()


class User(Base):
    __tablename__ = "users"

    id = Column(Integer, primary_key=True)
    name = Column(String(50), nullable=False, unique=True)
    fullname = Column(String(100))
    active = Column(Boolean, nullable=False, default=True)

    addresses = relationship(
        "Address", backref="user", order_by="Address.id", cascade="all, delete-orphan"
    )
    orders = relationship("Order", back_populates="user", order_by="Order.id")

    def __repr__(self):
        return "User(%d, %r)" % (self.id, self.name)


class Address(Base):
    __tablename__ = "addresses"

    id = Column(Integer, primary_key=True)
    user_id = Column(Integer, ForeignKey("users.id"), nullable=False)
    email = Column(String(100), nullable=False)

    def __repr__(self):
        return "Address(%d, %r)" % (self.id, self.email)


class Order(Base):
    __tablename__ = "orders"

    id = Column(Integer, primary_key=True)
    user_id = Column(Integer, ForeignKey("users.id"), nullable=False)
    amount = Column(Integer, nullable=False)  # in cents
    status = Column(String(20), nullable=False, default="new")
    placed_on = Column(Date, nullable=False)

    user = relationship("User", back_populates="orders")

    def __repr__(self):
        return "Order(%d, user=%d, %d, %r)" % (self.id, self.user_id, self.amount, self.status)
