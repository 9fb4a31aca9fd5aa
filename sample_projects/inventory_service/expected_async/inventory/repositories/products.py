from sqlalchemy import select, update, func, or_
from sqlalchemy.orm import joinedload, selectinload, aliased

from ..models import Category, Product, StockLevel, Supplier


async def get(session, product_id):
    return await session.get(Product, product_id)


async def get_by_sku(session, sku):
    return (await session.scalars(select(Product).filter_by(sku=sku).options(
        selectinload(Product.stock_levels),
        joinedload(Product.substitute),
    ))).one_or_none()


async def sku_exists(session, sku):
    return await session.scalar(select(select(Product).where(Product.sku == sku).exists()))


async def get_category(session, name):
    return (await session.scalars(select(Category).where(Category.name == name).limit(1))).first()


async def get_or_create_category(session, name):
    category = await get_category(session, name)
    if category is None:
        category = Category(name=name, products=[])
        session.add(category)
        await session.flush()
    return category


async def get_or_create_supplier(session, name, country):
    supplier = (await session.scalars(select(Supplier).filter_by(name=name).limit(1))).first()
    if supplier is None:
        supplier = Supplier(name=name, country=country, products=[])
        session.add(supplier)
    return supplier


def search_query(session, term=None, category=None, active_only=True):
    query = select(Product).join(Category, Product.category_id == Category.id)
    if term:
        pattern = "%" + term + "%"
        query = query.where(or_(Product.name.ilike(pattern), Product.sku.ilike(pattern)))
    if category:
        query = query.where(Category.name == category)
    if active_only:
        query = query.where(Product.active == True)  # noqa: E712
    return query


async def search(session, term=None, category=None, offset=0, limit=20):
    return (
        (await session.scalars(search_query(session, term, category)
        .order_by(Product.sku)
        .offset(offset)
        .limit(limit))).unique()
        .all()
    )


async def count_matching(session, term=None, category=None):
    return await session.scalar(select(func.count()).select_from(search_query(session, term, category).subquery()))


async def skus_in_category(session, category):
    rows = (
        (await session.execute(search_query(session, category=category).with_only_columns(Product.sku)
        .order_by(Product.sku)))
        .all()
    )
    return [row.sku for row in rows]


async def category_summary(session, min_products=1):
    return (
        (await session.execute(select(
            Category.name,
            func.count(Product.id).label("products"),
            func.sum(Product.price_cents).label("total_price"),
            func.min(Product.price_cents).label("cheapest"),
            func.max(Product.price_cents).label("dearest"),
        )
        .join(Product, Product.category_id == Category.id)
        .where(Product.active == True)  # noqa: E712
        .group_by(Category.id, Category.name)
        .having(func.count(Product.id) >= min_products)
        .order_by(Category.name)))
        .all()
    )


async def supplier_countries(session, category=None):
    query = select(Supplier.country).join(Product, Product.supplier_id == Supplier.id)
    if category is not None:
        query = query.join(Category).where(Category.name == category)
    return [row[0] for row in (await session.execute(query.distinct().order_by(Supplier.country))).all()]


async def substitutes(session, totals):
    """(product, substitute, substitute units on hand) for every product that has one."""
    Substitute = aliased(Product)
    return (
        (await session.execute(select(Product, Substitute, func.coalesce(totals.c.on_hand, 0))
        .join(Substitute, Product.substitute)
        .outerjoin(totals, totals.c.product_id == Substitute.id)
        .order_by(Product.sku))).unique()
        .all()
    )


def unstocked_query(session):
    stocked = select(StockLevel.product_id).where(StockLevel.quantity > 0).subquery()
    return select(Product).where(
        Product.active == True, ~Product.id.in_(stocked)  # noqa: E712
    )


async def deactivate_unstocked(session):
    return (await session.execute(update(Product).where(unstocked_query(session).whereclause).values({"active": False}).execution_options(synchronize_session="fetch"))).rowcount


async def reprice_category(session, category, delta_cents):
    return (
        (await session.execute(update(Product)
        .where(Product.category_id == category.id, Product.active == True).values({Product.price_cents: Product.price_cents + delta_cents}).execution_options(synchronize_session="fetch")))  # noqa: E712
        .rowcount
    )
