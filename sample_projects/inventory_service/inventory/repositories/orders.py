from sqlalchemy import and_, exists, func

from ..models import Customer, Order, OrderLine

BILLABLE = ("placed", "shipped")


def get(session, order_id):
    return session.query(Order).get(order_id)


def find_customer(session, email):
    """Raises NoResultFound when there is no such customer."""
    return session.query(Customer).filter(Customer.email == email).one()


def create(session, customer, warehouse_code, status="placed", created_at=None):
    order = Order(customer=customer, warehouse_code=warehouse_code, status=status)
    if created_at is not None:
        order.created_at = created_at
    session.add(order)
    return order


def add_line(order, product, quantity):
    line = OrderLine(product=product, quantity=quantity, unit_price_cents=product.price_cents)
    order.lines.append(line)
    return line


def for_customer(session, customer_id, status=None):
    query = session.query(Order).filter(Order.customer_id == customer_id)
    if status:
        query = query.filter_by(status=status)
    return query.order_by(Order.id).all()


def count_by_status(session, status):
    return session.query(Order).filter(Order.status == status).count()


def has_open_orders(session, customer_id):
    return session.query(
        exists().where(and_(Order.customer_id == customer_id, Order.status == "placed"))
    ).scalar()


def totals_subquery(session):
    return (
        session.query(
            OrderLine.order_id.label("order_id"),
            func.sum(OrderLine.quantity * OrderLine.unit_price_cents).label("total"),
        )
        .group_by(OrderLine.order_id)
        .subquery()
    )


def top_customers(session, limit=5):
    totals = totals_subquery(session)
    return (
        session.query(
            Customer.name,
            Customer.email,
            func.count(Order.id).label("orders"),
            func.sum(totals.c.total).label("spent"),
        )
        .join(Order, Order.customer_id == Customer.id)
        .join(totals, totals.c.order_id == Order.id)
        .filter(Order.status.in_(BILLABLE))
        .group_by(Customer.id, Customer.name, Customer.email)
        .order_by(func.sum(totals.c.total).desc(), Customer.id)
        .limit(limit)
        .all()
    )


def customers_without_orders(session):
    return (
        session.query(Customer)
        .filter(~exists().where(Order.customer_id == Customer.id))
        .order_by(Customer.id)
        .all()
    )


def expire_quotes(session, before):
    return (
        session.query(Order)
        .filter(Order.status == "quote", Order.created_at < before)
        .update({Order.status: "expired"}, synchronize_session=False)
    )
