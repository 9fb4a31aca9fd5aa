from datetime import datetime, timedelta

from sqlalchemy.orm.exc import NoResultFound

from ..db import session_scope
from ..models import Customer
from ..repositories import orders as order_repo
from ..repositories import products as product_repo
from ..repositories import stock as stock_repo
from . import NotFound, OutOfStock, ServiceError


def register_customer(name, email, tier="standard"):
    with session_scope() as session:
        customer = Customer(name=name, email=email, tier=tier)
        session.add(customer)
        session.flush()
        return customer.id


def _customer(session, email):
    try:
        return order_repo.find_customer(session, email)
    except NoResultFound:
        raise NotFound("unknown customer %s" % email)


def _substitute_hint(session, product, warehouse_code, quantity):
    substitute = product.substitute
    if substitute is None:
        return ""
    if stock_repo.on_hand(session, substitute.id, warehouse_code) >= quantity:
        return " (try %s)" % substitute.sku
    return ""


def place_order(email, warehouse_code, items, quote=False, created_at=None):
    """items: list of (sku, quantity). Returns the new order id."""
    if not items:
        raise ServiceError("an order needs at least one line")
    with session_scope() as session:
        customer = _customer(session, email)
        if stock_repo.warehouse(session, warehouse_code) is None:
            raise NotFound("unknown warehouse %s" % warehouse_code)
        order = order_repo.create(
            session,
            customer,
            warehouse_code,
            status="quote" if quote else "placed",
            created_at=created_at,
        )
        for sku, quantity in items:
            product = product_repo.get_by_sku(session, sku)
            if product is None or not product.active:
                raise NotFound("unknown product %s" % sku)
            if not quote:
                available = stock_repo.on_hand(session, product.id, warehouse_code)
                if available < quantity:
                    raise OutOfStock(
                        "only %d of %s in %s%s"
                        % (
                            available,
                            sku,
                            warehouse_code,
                            _substitute_hint(session, product, warehouse_code, quantity),
                        )
                    )
                stock_repo.adjust(session, product, warehouse_code, -quantity, "order")
            order_repo.add_line(order, product, quantity)
        session.flush()
        return order.id


def order_summary(order_id):
    with session_scope() as session:
        order = order_repo.get(session, order_id)
        if order is None:
            raise NotFound("unknown order %s" % order_id)
        return {
            "id": order.id,
            "customer": order.customer.name,
            "warehouse": order.warehouse.city,
            "status": order.status,
            "lines": [
                {
                    "sku": line.product.sku,
                    "name": line.product.name,
                    "category": line.product.category.name,
                    "quantity": line.quantity,
                    "total": line.total_cents,
                }
                for line in order.lines
            ],
            "total": order.total_cents,
        }


def _set_status(order_id, allowed, new_status, restock=False):
    with session_scope() as session:
        order = order_repo.get(session, order_id)
        if order is None:
            raise NotFound("unknown order %s" % order_id)
        if order.status not in allowed:
            raise ServiceError("cannot change a %s order to %s" % (order.status, new_status))
        if restock:
            for line in order.lines:
                stock_repo.adjust(session, line.product, order.warehouse_code, line.quantity, "cancel")
        order.status = new_status
        return order.status


def ship_order(order_id):
    return _set_status(order_id, ("placed",), "shipped")


def cancel_order(order_id):
    return _set_status(order_id, ("placed",), "cancelled", restock=True)


def customer_history(email):
    with session_scope() as session:
        customer = _customer(session, email)
        orders = order_repo.for_customer(session, customer.id)
        return {
            "name": customer.name,
            "open": order_repo.has_open_orders(session, customer.id),
            "orders": [
                {"id": o.id, "status": o.status, "items": sum(l.quantity for l in o.lines), "total": o.total_cents}
                for o in orders
            ],
        }


def expire_quotes(days, now=None):
    now = now or datetime.utcnow()
    with session_scope() as session:
        return order_repo.expire_quotes(session, now - timedelta(days=days))
