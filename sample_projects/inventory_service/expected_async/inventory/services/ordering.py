from datetime import datetime, timedelta

from sqlalchemy.orm.exc import NoResultFound

from ..db import session_scope
from ..models import Customer
from ..repositories import orders as order_repo
from ..repositories import products as product_repo
from ..repositories import stock as stock_repo
from . import NotFound, OutOfStock, ServiceError


async def register_customer(name, email, tier="standard"):
    async with session_scope() as session:
        customer = Customer(name=name, email=email, tier=tier, orders=[])
        session.add(customer)
        await session.flush()
        return customer.id


async def _customer(session, email):
    try:
        return await order_repo.find_customer(session, email)
    except NoResultFound:
        raise NotFound("unknown customer %s" % email)


async def _substitute_hint(session, product, warehouse_code, quantity):
    substitute = product.substitute
    if substitute is None:
        return ""
    if await stock_repo.on_hand(session, substitute.id, warehouse_code) >= quantity:
        return " (try %s)" % substitute.sku
    return ""


async def place_order(email, warehouse_code, items, quote=False, created_at=None):
    """items: list of (sku, quantity). Returns the new order id."""
    if not items:
        raise ServiceError("an order needs at least one line")
    async with session_scope() as session:
        customer = await _customer(session, email)
        if await stock_repo.warehouse(session, warehouse_code) is None:
            raise NotFound("unknown warehouse %s" % warehouse_code)
        order = order_repo.create(
            session,
            customer,
            warehouse_code,
            status="quote" if quote else "placed",
            created_at=created_at,
        )
        for sku, quantity in items:
            product = await product_repo.get_by_sku(session, sku)
            if product is None or not product.active:
                raise NotFound("unknown product %s" % sku)
            if not quote:
                available = await stock_repo.on_hand(session, product.id, warehouse_code)
                if available < quantity:
                    raise OutOfStock(
                        "only %d of %s in %s%s"
                        % (
                            available,
                            sku,
                            warehouse_code,
                            await _substitute_hint(session, product, warehouse_code, quantity),
                        )
                    )
                await stock_repo.adjust(session, product, warehouse_code, -quantity, "order")
            order_repo.add_line(order, product, quantity)
        await session.flush()
        return order.id


async def order_summary(order_id):
    async with session_scope() as session:
        order = await order_repo.get(session, order_id)
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


async def _set_status(order_id, allowed, new_status, restock=False):
    async with session_scope() as session:
        order = await order_repo.get(session, order_id)
        if order is None:
            raise NotFound("unknown order %s" % order_id)
        if order.status not in allowed:
            raise ServiceError("cannot change a %s order to %s" % (order.status, new_status))
        if restock:
            for line in order.lines:
                await stock_repo.adjust(session, line.product, order.warehouse_code, line.quantity, "cancel")
        order.status = new_status
        return order.status


async def ship_order(order_id):
    return await _set_status(order_id, ("placed",), "shipped")


async def cancel_order(order_id):
    return await _set_status(order_id, ("placed",), "cancelled", restock=True)


async def customer_history(email):
    async with session_scope() as session:
        customer = await _customer(session, email)
        orders = await order_repo.for_customer(session, customer.id)
        return {
            "name": customer.name,
            "open": await order_repo.has_open_orders(session, customer.id),
            "orders": [
                {"id": o.id, "status": o.status, "items": sum(l.quantity for l in o.lines), "total": o.total_cents}
                for o in orders
            ],
        }


async def expire_quotes(days, now=None):
    now = now or datetime.utcnow()
    async with session_scope() as session:
        return await order_repo.expire_quotes(session, now - timedelta(days=days))
