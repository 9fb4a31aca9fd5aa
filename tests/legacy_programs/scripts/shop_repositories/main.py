from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker

from shop.models import Base
from shop.repo import CustomerRepo, OrderRepo


def run(session):
    customers = CustomerRepo(session)
    orders = OrderRepo(session)
    ann = customers.create("ann@x.org")
    bob = customers.create("bob@x.org")
    o1 = orders.place(ann, [("apple", 3, 2), ("pear", 1, 5)])
    orders.place(bob, [("melon", 2, 7)])
    orders.place(ann, [("fig", 10, 1)])
    print(o1.status, o1.created, o1.total)
    print([(o.id, o.customer.email, o.total) for o in orders.pending()])
    print(orders.ship(o1.id))
    print([o.id for o in orders.pending()])
    print(customers.top(5))
    found = customers.by_email("ann@x.org")
    print(found.total_spent(), len(found.orders), customers.by_email("zed@x.org"))


if __name__ == "__main__":
    engine = create_engine("sqlite://")
    Base.metadata.create_all(engine)
    Session = sessionmaker(bind=engine)
    session = Session()
    run(session)
    session.close()
