from sqlalchemy import delete, select, func

from ..models import Product, StockLevel, StockMovement, Warehouse
from sqlalchemy.orm import joinedload


def totals_subquery(session):
    return (
        select(
            StockLevel.product_id.label("product_id"),
            func.sum(StockLevel.quantity).label("on_hand"),
        )
        .group_by(StockLevel.product_id)
        .subquery()
    )


async def get_level(session, product_id, warehouse_code):
    return (
        (await session.scalars(select(StockLevel)
        .filter_by(product_id=product_id, warehouse_code=warehouse_code)))
        .one_or_none()
    )


async def on_hand(session, product_id, warehouse_code=None):
    query = select(func.coalesce(func.sum(StockLevel.quantity), 0)).where(
        StockLevel.product_id == product_id
    )
    if warehouse_code is not None:
        query = query.where(StockLevel.warehouse_code == warehouse_code)
    return int((await session.execute(query)).scalar_one_or_none())


async def adjust(session, product, warehouse_code, delta, reason, when=None):
    level = await get_level(session, product.id, warehouse_code)
    if level is None:
        level = StockLevel(product=product, warehouse_code=warehouse_code, quantity=0)
        session.add(level)
    level.quantity = level.quantity + delta
    movement = StockMovement(
        product=product, warehouse_code=warehouse_code, delta=delta, reason=reason
    )
    if when is not None:
        movement.created_at = when
    session.add(movement)
    await session.flush()
    return level


async def low_stock(session, warehouse_code=None):
    query = (
        select(StockLevel)
        .join(Product, StockLevel.product_id == Product.id)
        .join(Warehouse)
        .where(StockLevel.quantity <= StockLevel.reorder_level)
        .where(Product.active == True)  # noqa: E712
    )
    if warehouse_code:
        query = query.where(Warehouse.code == warehouse_code)
    return (await session.scalars(query.order_by(Warehouse.code, Product.sku).options(joinedload(StockLevel.product)))).unique().all()


async def warehouse(session, code):
    return await session.get(Warehouse, code)


async def movement_count(session, product_id=None):
    query = select(StockMovement)
    if product_id is not None:
        query = query.where(StockMovement.product_id == product_id)
    return await session.scalar(select(func.count()).select_from(query.subquery()))


async def purge_movements(session, before):
    return (
        (await session.execute(delete(StockMovement)
        .where(StockMovement.created_at < before).execution_options(synchronize_session="fetch")))
        .rowcount
    )
