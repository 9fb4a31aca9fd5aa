from datetime import datetime, timedelta

from sqlalchemy import select, text

from ..db import Session, session_scope
from ..models import Product
from ..repositories import orders as order_repo
from ..repositories import products as product_repo
from ..repositories import stock as stock_repo
from sqlalchemy.orm import raiseload

WAREHOUSE_UNITS_SQL = """
    SELECT w.code AS code, w.city AS city, COALESCE(SUM(s.quantity), 0) AS units
    FROM warehouses w
    LEFT OUTER JOIN stock_levels s ON s.warehouse_code = w.code
    GROUP BY w.code, w.city
    ORDER BY w.code
"""

SALES_SQL = """
    SELECT p.sku AS sku, SUM(l.quantity) AS units, SUM(l.quantity * l.unit_price_cents) AS revenue
    FROM order_lines l
    JOIN orders o ON o.id = l.order_id
    JOIN products p ON p.id = l.product_id
    WHERE o.status IN ('placed', 'shipped') AND o.created_at >= :since
    GROUP BY p.sku
    ORDER BY revenue DESC, p.sku
"""


async def inventory_valuation():
    """Walk the whole catalogue (streamed) and value the stock on hand."""
    try:
        # TODO(sqla-upgrade): cannot tell whether stock_repo.totals_subquery(Session) is a mapped class or a column expression
        on_hand = dict(await Session().run_sync(lambda sync_session: sync_session.query(stock_repo.totals_subquery(Session)).all()))
        products = units = value = 0
        query = (
            select(Product)
            .where(Product.active == True)  # noqa: E712
            .order_by(Product.id)
            .execution_options(yield_per=100)
        )
        async for product in await Session.stream_scalars(query.options(raiseload("*", sql_only=True))):
            qty = int(on_hand.get(product.id) or 0)
            products += 1
            units += qty
            value += qty * product.price_cents
        return {"products": products, "units": units, "value_cents": value}
    finally:
        await Session.remove()


async def category_report(min_products=1):
    async with session_scope() as session:
        return [
            {
                "category": row.name,
                "products": row.products,
                "total_price": int(row.total_price),
                "cheapest": row.cheapest,
                "dearest": row.dearest,
            }
            for row in await product_repo.category_summary(session, min_products)
        ]


async def low_stock_report(warehouse_code=None):
    async with session_scope() as session:
        return [
            (level.warehouse.code, level.product.sku, level.quantity, level.reorder_level)
            for level in await stock_repo.low_stock(session, warehouse_code)
        ]


async def substitutes_report():
    async with session_scope() as session:
        totals = stock_repo.totals_subquery(session)
        return [
            {
                "sku": product.sku,
                "substitute": substitute.sku,
                "substitute_name": substitute.name,
                "substitute_on_hand": int(units),
            }
            for product, substitute, units in await product_repo.substitutes(session, totals)
        ]


async def warehouse_units():
    async with session_scope() as session:
        result = await session.execute(text(WAREHOUSE_UNITS_SQL))
        return [(row.code, row.city, int(row.units)) for row in result]


async def sales_since(days, now=None):
    since = (now or datetime.utcnow()) - timedelta(days=days)
    async with session_scope() as session:
        rows = (await session.execute(text(SALES_SQL), {"since": since})).fetchall()
        return [(row.sku, int(row.units), int(row.revenue)) for row in rows]


async def top_customers(limit=5):
    async with session_scope() as session:
        return [
            {"name": r.name, "email": r.email, "orders": r.orders, "spent": int(r.spent)}
            for r in await order_repo.top_customers(session, limit)
        ]


async def inactive_customers():
    async with session_scope() as session:
        return [c.email for c in await order_repo.customers_without_orders(session)]


async def order_counts():
    async with session_scope() as session:
        return {
            status: await order_repo.count_by_status(session, status)
            for status in ("quote", "placed", "shipped", "cancelled", "expired")
        }
