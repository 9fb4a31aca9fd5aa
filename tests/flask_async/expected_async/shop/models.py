from .ext import db
from sqlalchemy.ext.asyncio import async_object_session
from sqlalchemy import func, select


class Customer(db.Model):
    id = db.Column(db.Integer, primary_key=True)
    name = db.Column(db.String(50), unique=True, nullable=False)
    orders = db.relationship("Order", backref="customer", lazy="write_only")

    async def order_count(self):
        return await async_object_session(self).scalar(select(func.count()).select_from(self.orders.select().subquery()))

    async def big_orders(self, minimum):
        return (await async_object_session(self).scalars(self.orders.select().where(Order.total >= minimum).order_by(Order.id))).all()


class Order(db.Model):
    id = db.Column(db.Integer, primary_key=True)
    total = db.Column(db.Integer, nullable=False)
    customer_id = db.Column(db.Integer, db.ForeignKey("customer.id"), nullable=False)
