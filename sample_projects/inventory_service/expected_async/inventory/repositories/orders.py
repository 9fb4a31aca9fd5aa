from sqlalchemy import select, update, and_, exists, func

from ..models import Customer, Order, OrderLine
from sqlalchemy.orm import defaultload, joinedload

BILLABLE = ("placed", "shipped")


async def get(session, order_id):
    return await session.get(Order, order_id, options=[
        joinedload(Order.customer),
        defaultload(Order.lines).joinedload(OrderLine.product),
    ])


async def find_customer(session, email):
    """Raises NoResultFound when there is no such customer."""
    return (await session.scalars(select(Customer).where(Customer.email == email))).one()


def create(session, customer, warehouse_code, status="placed", created_at=None):
    order = Order(customer=customer, warehouse_code=warehouse_code, status=status, lines=[])
    if created_at is not None:
        order.created_at = created_at
    session.add(order)
    return order


def add_line(order, product, quantity):
    line = OrderLine(product=product, quantity=quantity, unit_price_cents=product.price_cents)
    order.lines.append(line)
    return line


async def for_customer(session, customer_id, status=None):
    query = select(Order).where(Order.customer_id == customer_id)
    if status:
        query = query.filter_by(status=status)
    return (await session.scalars(query.order_by(Order.id))).all()


async def count_by_status(session, status):
    return await session.scalar(select(func.count()).select_from(select(Order).where(Order.status == status).subquery()))


async def has_open_orders(session, customer_id):
    return (await session.execute(select(
        exists().where(and_(Order.customer_id == customer_id, Order.status == "placed"))
    ))).scalar_one_or_none()


def totals_subquery(session):
    return (
        select(
            OrderLine.order_id.label("order_id"),
            func.sum(OrderLine.quantity * OrderLine.unit_price_cents).label("total"),
        )
        .group_by(OrderLine.order_id)
        .subquery()
    )


async def top_customers(session, limit=5):
    totals = totals_subquery(session)
    return (
        (await session.execute(select(
            Customer.name,
            Customer.email,
            func.count(Order.id).label("orders"),
            func.sum(totals.c.total).label("spent"),
        )
        .join(Order, Order.customer_id == Customer.id)
        .join(totals, totals.c.order_id == Order.id)
        .where(Order.status.in_(BILLABLE))
        .group_by(Customer.id, Customer.name, Customer.email)
        .order_by(func.sum(totals.c.total).desc(), Customer.id)
        .limit(limit)))
        .all()
    )


async def customers_without_orders(session):
    return (
        (await session.scalars(select(Customer)
        .where(~exists().where(Order.customer_id == Customer.id))
        .order_by(Customer.id)))
        .all()
    )


async def expire_quotes(session, before):
    return (
        (await session.execute(update(Order)
        .where(Order.status == "quote", Order.created_at < before).values({Order.status: "expired"}).execution_options(synchronize_session="fetch")))
        .rowcount
    )
