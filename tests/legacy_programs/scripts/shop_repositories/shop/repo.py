from sqlalchemy import func

from shop.models import Customer, Line, Order


class CustomerRepo:
    def __init__(self, session):
        self.session = session

    def create(self, email):
        customer = Customer(email=email)
        self.session.add(customer)
        self.session.flush()
        return customer

    def by_email(self, email):
        return self.session.query(Customer).filter(Customer.email == email).one_or_none()

    def top(self, n):
        return (
            self.session.query(Customer.email, func.sum(Line.qty * Line.price).label("spent"))
            .join(Order, Customer.orders)
            .join(Line, Order.lines)
            .group_by(Customer.email)
            .order_by(func.sum(Line.qty * Line.price).desc())
            .limit(n)
            .all()
        )


class OrderRepo:
    def __init__(self, session):
        self.session = session

    def place(self, customer, items):
        order = Order(customer=customer)
        for sku, qty, price in items:
            order.lines.append(Line(sku=sku, qty=qty, price=price))
        self.session.add(order)
        self.session.commit()
        return order

    def pending(self):
        return self.session.query(Order).filter_by(status="new").order_by(Order.id).all()

    def ship(self, order_id):
        order = self.session.query(Order).get(order_id)
        order.status = "shipped"
        self.session.commit()
        return order.status
