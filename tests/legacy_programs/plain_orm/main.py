"""Seeds a shop database and prints a report, SQLAlchemy 1.3/1.4 style (session.query everywhere)."""

import datetime

from sqlalchemy import create_engine, desc, func
from sqlalchemy.orm import joinedload, selectinload, sessionmaker

import repository
from models import Address, Base, Order, User

engine = create_engine("sqlite://")
Session = sessionmaker(bind=engine)

PEOPLE = [
    ("ann", "Ann Archer", True),
    ("bob", "Bob Baker", True),
    ("cid", "Cid Carter", False),
    ("dee", "Dee Dixon", True),
    ("eve", "Eve Evans", True),
    ("bea", "Bea Brown", True),
]
AMOUNTS = [1200, 250, 9900, 40, 15000, 700, 330, 4500, 80, 2600, 120]
STATUSES = ["new", "paid", "shipped", "new", "paid"]


def seed(session):
    for i, (name, fullname, active) in enumerate(PEOPLE, start=1):
        user = User(id=i, name=name, fullname=fullname, active=active)
        user.addresses = [Address(email="%s@example.com" % name)]
        if i % 2 == 0:
            user.addresses.append(Address(email="%s@old.example" % name))
        session.add(user)
    for n, amount in enumerate(AMOUNTS, start=1):
        session.add(
            Order(
                id=n,
                user_id=[1, 2, 1, 4, 2, 5, 1, 2, 4, 5, 3][n - 1],
                amount=amount,
                status=STATUSES[n % len(STATUSES)],
                placed_on=datetime.date(2019, 1 + n % 12, n),
            )
        )
    session.commit()


def orders_report(session, only_paid=False, newest_first=False):
    q = session.query(Order)
    if only_paid:
        q = q.filter(Order.status == "paid")
    if newest_first:
        q = q.order_by(Order.placed_on.desc())
    else:
        q = q.order_by(Order.placed_on)
    print(q.count(), q.first(), q.all())


def report(session):
    print("== lookups")
    print(session.query(User).order_by(User.id).all())
    print(session.query(User).filter(User.active == True).order_by(User.name).all())
    print(session.query(User).filter_by(name="bob").one())
    print(session.query(User.id, User.name).filter_by(name="ann").one())
    print(session.query(User).filter_by(name="zed").one_or_none())
    print(session.query(User).order_by(User.name.desc()).first())
    print(session.query(User).filter(User.name == "nobody").first())
    print(session.query(User).get(3), session.query(User).get(42))
    print(repository.get_user(session, 4), repository.find_user(session, "eve"))

    print("== counting")
    print(session.query(User).count())
    print(session.query(User).join(User.orders).count())
    print(session.query(User).join(User.orders).distinct().count())
    print(session.query(Order).filter(Order.amount > 1000).count())
    print(
        session.query(func.count(Order.id)).scalar(), session.query(func.max(Order.amount)).scalar()
    )
    print(session.query(User.fullname).filter(User.id == 2).scalar())
    print(repository.total_spent(session, 1), repository.total_spent(session, 6))

    print("== paging")
    for page in (1, 2, 3, 4):
        print(page, repository.page_of_users(session, page))
    print(session.query(Order).order_by(Order.amount.desc()).limit(3).offset(2).all())

    print("== columns and rows")
    print(session.query(User.id, User.name).filter(User.id < 4).order_by(User.id).all())
    for name, email in (
        session.query(User.name, Address.email).join(User.addresses).order_by(Address.email)
    ):
        print(name, email)
    print(
        session.query(User).filter(User.active == False).with_entities(User.id, User.fullname).all()
    )
    print(session.query(Order.status).distinct().order_by(Order.status).all())

    print("== joins and groups")
    rows = (
        session.query(User.name, func.count(Order.id), func.sum(Order.amount))
        .outerjoin(User.orders)
        .group_by(User.name)
        .order_by(User.name)
        .all()
    )
    for row in rows:
        print(row)
    big_spenders = (
        session.query(Order.user_id, func.sum(Order.amount).label("total"))
        .group_by(Order.user_id)
        .having(func.sum(Order.amount) > 3000)
        .order_by(desc("total"))
        .all()
    )
    print(big_spenders)
    print(repository.order_totals_by_user(session))
    print(session.query(User).join(User.orders).filter(Order.amount > 200).order_by(User.id).all())
    for user, status in (
        session.query(User, Order.status).join(User.orders).order_by(User.id, Order.status)
    ):
        print(user, status)
    print(
        session.query(User)
        .join(Order)
        .filter(Order.status == "paid")
        .distinct()
        .order_by(User.id)
        .all()
    )

    print("== subqueries and exists")
    print(repository.user_exists(session, "ann"), repository.user_exists(session, "zed"))
    print(repository.has_orders_above(session, 10000), repository.has_orders_above(session, 20000))
    paid_buyers = session.query(Order.user_id).filter(Order.status == "paid")
    print(session.query(User.name).filter(User.id.in_(paid_buyers)).order_by(User.name).all())
    counts = (
        session.query(Order.user_id, func.count("*").label("n")).group_by(Order.user_id).subquery()
    )
    print(
        session.query(User.name, counts.c.n)
        .outerjoin(counts, User.id == counts.c.user_id)
        .order_by(User.id)
        .all()
    )
    print(repository.order_counts(session))
    print(repository.users_by_spending(session))
    print(repository.users_by_spending(session, statuses=["new"]))

    print("== eager loading")
    for user in session.query(User).options(joinedload(User.addresses)).order_by(User.id):
        print(user, user.addresses)
    users = (
        session.query(User)
        .options(selectinload(User.orders))
        .filter(User.id <= 3)
        .order_by(User.id)
        .all()
    )
    for user in users:
        print(user, [order.amount for order in user.orders])
    for order in (
        session.query(Order)
        .options(joinedload(Order.user))
        .filter(Order.amount < 300)
        .order_by(Order.id)
    ):
        print(order, order.user)

    print("== streaming")
    total = 0
    for order in session.query(Order).order_by(Order.id).yield_per(3):
        total += order.amount
    print(total)

    print("== queries built step by step")
    print(repository.search_users(session))
    print(repository.search_users(session, name_prefix="b"))
    print(repository.search_users(session, active=True, min_orders=2))
    ann = repository.find_user(session, "ann")
    print(
        repository.count_orders(session, ann), repository.count_orders(session, ann, status="paid")
    )
    print(repository.emails_of(session, repository.get_user(session, 2)))
    orders_report(session)
    orders_report(session, only_paid=True, newest_first=True)


def bulk_changes(session):
    print("== bulk update / delete")
    bob = session.query(User).filter_by(name="bob").one()
    n = (
        session.query(User)
        .filter(User.name.in_(["bob", "bea"]))
        .update({"active": False}, synchronize_session="evaluate")
    )
    print(n, bob.active)
    big_order = session.query(Order).get(3)
    print(
        session.query(Order)
        .filter(Order.status == "new", Order.amount > 5000)
        .update({Order.status: "stale"})
    )
    print(big_order.status)
    bea = repository.find_user(session, "bea")
    idle = session.query(User).filter(~User.id.in_(session.query(Order.user_id)))
    print(
        idle.update({User.fullname: User.fullname + " (idle)"}, synchronize_session=False),
        bea.fullname,
    )
    session.commit()
    print(session.query(User.name, User.fullname, User.active).order_by(User.id).all())
    print(repository.cancel_new_orders(session, 2), repository.cancel_new_orders(session, 4))
    print(
        session.query(Order)
        .filter(Order.amount < 100, Order.status != "cancelled")
        .update({"status": "cancelled"}, synchronize_session="fetch")
    )
    print(
        session.query(Address)
        .filter(Address.email.like("%@old.example"))
        .delete(synchronize_session="fetch")
    )
    print(repository.purge_cancelled(session))
    print(session.query(Order).filter(Order.user_id == 3).delete())
    session.commit()
    print(session.query(Address.email).order_by(Address.id).all())
    print(session.query(Order).order_by(Order.id).all())


def given_a_loaded_parent(session):
    print("== new objects given a loaded parent (saved through the backref)")
    ann = session.query(User).filter_by(name="ann").one()
    Address(user=ann, email="ann@new.example")
    order = Order(id=20, amount=5, status="new", placed_on=datetime.date(2019, 6, 1))
    order.user = ann
    session.commit()
    print(session.query(Address.email).filter(Address.user_id == ann.id).all())
    print(session.query(Order.id).filter(Order.user_id == ann.id).order_by(Order.id).all())


def main():
    Base.metadata.create_all(engine)
    session = Session()
    seed(session)
    report(session)
    bulk_changes(session)
    given_a_loaded_parent(session)
    session.close()


if __name__ == "__main__":
    main()
