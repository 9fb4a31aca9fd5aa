from sqlalchemy import func

from ..models import Product, StockLevel, StockMovement, Warehouse


def totals_subquery(session):
    return (
        session.query(
            StockLevel.product_id.label("product_id"),
            func.sum(StockLevel.quantity).label("on_hand"),
        )
        .group_by(StockLevel.product_id)
        .subquery()
    )


def get_level(session, product_id, warehouse_code):
    return (
        session.query(StockLevel)
        .filter_by(product_id=product_id, warehouse_code=warehouse_code)
        .one_or_none()
    )


def on_hand(session, product_id, warehouse_code=None):
    query = session.query(func.coalesce(func.sum(StockLevel.quantity), 0)).filter(
        StockLevel.product_id == product_id
    )
    if warehouse_code is not None:
        query = query.filter(StockLevel.warehouse_code == warehouse_code)
    return int(query.scalar())


def adjust(session, product, warehouse_code, delta, reason, when=None):
    level = get_level(session, product.id, warehouse_code)
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
    session.flush()
    return level


def low_stock(session, warehouse_code=None):
    query = (
        session.query(StockLevel)
        .join(Product, StockLevel.product_id == Product.id)
        .join(Warehouse)
        .filter(StockLevel.quantity <= StockLevel.reorder_level)
        .filter(Product.active == True)  # noqa: E712
    )
    if warehouse_code:
        query = query.filter(Warehouse.code == warehouse_code)
    return query.order_by(Warehouse.code, Product.sku).all()


def warehouse(session, code):
    return session.query(Warehouse).get(code)


def movement_count(session, product_id=None):
    query = session.query(StockMovement)
    if product_id is not None:
        query = query.filter(StockMovement.product_id == product_id)
    return query.count()


def purge_movements(session, before):
    return (
        session.query(StockMovement)
        .filter(StockMovement.created_at < before)
        .delete(synchronize_session="fetch")
    )
