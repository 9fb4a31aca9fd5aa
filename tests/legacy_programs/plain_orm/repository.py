"""Data-access helpers. Every function takes the session to use as its first argument."""

from sqlalchemy import func
from sqlalchemy.sql import exists

from models import Address, Order, User


def get_user(session, user_id):
    return session.query(User).get(user_id)


def find_user(session, name):
    return session.query(User).filter_by(name=name).first()


def search_users(session, name_prefix=None, active=None, min_orders=None):
    q = session.query(User)
    if name_prefix:
        q = q.filter(User.name.like(name_prefix + "%"))
    if active is not None:
        q = q.filter(User.active == active)
    if min_orders:
        q = q.join(User.orders).group_by(User.id).having(func.count(Order.id) >= min_orders)
    return q.order_by(User.name).all()


def count_orders(session, user, status=None):
    query = session.query(Order).filter(Order.user_id == user.id)
    if status is not None:
        query = query.filter_by(status=status)
    return query.count()


def user_exists(session, name):
    return session.query(session.query(User).filter(User.name == name).exists()).scalar()


def has_orders_above(session, threshold):
    return session.query(exists().where(Order.amount > threshold)).scalar()


def total_spent(session, user_id):
    return (
        session.query(func.coalesce(func.sum(Order.amount), 0))
        .filter(Order.user_id == user_id)
        .scalar()
    )


def page_of_users(session, page, per_page=2):
    return session.query(User).order_by(User.id).limit(per_page).offset((page - 1) * per_page).all()


def order_totals_by_user(session):
    totals = (
        session.query(Order.user_id, func.sum(Order.amount).label("total"))
        .group_by(Order.user_id)
        .subquery()
    )
    return (
        session.query(User.name, totals.c.total)
        .join(totals, totals.c.user_id == User.id)
        .order_by(totals.c.total.desc(), User.name)
        .all()
    )


def order_counts(session):
    orders = session.query(func.count(Order.id)).filter(Order.user_id == User.id).as_scalar()
    return session.query(User.name, orders).order_by(User.id).all()


def users_by_spending(session, statuses=None):
    if statuses:
        spent = (
            session.query(func.coalesce(func.sum(Order.amount), 0))
            .filter(Order.user_id == User.id, Order.status.in_(statuses))
            .as_scalar()
        )
    else:
        spent = (
            session.query(func.coalesce(func.sum(Order.amount), 0))
            .filter(Order.user_id == User.id)
            .scalar_subquery()
        )
    return session.query(User).order_by(spent.desc(), User.name).all()


def emails_of(session, user):
    emails = []
    for address in (
        session.query(Address).filter(Address.user_id == user.id).order_by(Address.email)
    ):
        emails.append(address.email)
    return emails


def cancel_new_orders(session, user_id):
    return (
        session.query(Order)
        .filter(Order.user_id == user_id, Order.status == "new")
        .update({"status": "cancelled"}, synchronize_session="evaluate")
    )


def purge_cancelled(session):
    return session.query(Order).filter_by(status="cancelled").delete(synchronize_session="fetch")
