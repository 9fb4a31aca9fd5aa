from ..db import Session, session_scope
from ..models import Product, Warehouse
from ..repositories import products as product_repo
from ..repositories import stock as stock_repo
from . import NotFound, ServiceError


def product_to_dict(product):
    return {
        "sku": product.sku,
        "name": product.name,
        "price": product.price_cents,
        "category": product.category.name,
        "supplier": product.supplier.name if product.supplier else None,
        "active": product.active,
    }


async def add_product(sku, name, category, price_cents, supplier=None, substitute_sku=None):
    async with session_scope() as session:
        if await product_repo.sku_exists(session, sku):
            raise ServiceError("duplicate sku %s" % sku)
        substitute = None
        if substitute_sku:
            substitute = await product_repo.get_by_sku(session, substitute_sku)
            if substitute is None:
                raise NotFound("unknown substitute %s" % substitute_sku)
        if supplier is not None:
            supplier = await product_repo.get_or_create_supplier(session, *supplier)
        product = Product(
            sku=sku,
            name=name,
            price_cents=price_cents,
            category=await product_repo.get_or_create_category(session, category),
            supplier=supplier,
            substitute=substitute,
            stock_levels=[],
        )
        session.add(product)
        await session.flush()
        return product.id


async def set_substitute(sku, substitute_sku):
    async with session_scope() as session:
        product = await product_repo.get_by_sku(session, sku)
        substitute = await product_repo.get_by_sku(session, substitute_sku)
        if product is None or substitute is None:
            raise NotFound("unknown product")
        product.substitute = substitute


async def upsert_warehouse(code, city):
    """Create or rename a warehouse (warehouses are keyed by their code)."""
    async with session_scope() as session:
        warehouse = await session.merge(Warehouse(code=code, city=city))
        return warehouse.code


async def product_details(sku):
    async with session_scope() as session:
        product = await product_repo.get_by_sku(session, sku)
        if product is None:
            raise NotFound("unknown product %s" % sku)
        data = product_to_dict(product)
        data["substitute"] = product.substitute.sku if product.substitute else None
        data["stock"] = [
            {
                "warehouse": level.warehouse.code,
                "city": level.warehouse.city,
                "quantity": level.quantity,
                "reorder": level.needs_reorder,
            }
            for level in product.stock_levels
        ]
        data["on_hand"] = await stock_repo.on_hand(session, product.id)
        data["movements"] = await stock_repo.movement_count(session, product.id)
        return data


async def search_products(term=None, category=None, page=1, per_page=20):
    session = Session()
    try:
        total = await product_repo.count_matching(session, term, category)
        items = await product_repo.search(
            session, term, category, offset=(page - 1) * per_page, limit=per_page
        )
        return {
            "total": total,
            "page": page,
            "items": [product_to_dict(p) for p in items],
        }
    finally:
        await Session.remove()


async def category_skus(category):
    async with session_scope() as session:
        return await product_repo.skus_in_category(session, category)


async def supplier_countries(category=None):
    async with session_scope() as session:
        return await product_repo.supplier_countries(session, category)


async def reprice_category(category_name, delta_cents):
    async with session_scope() as session:
        category = await product_repo.get_category(session, category_name)
        if category is None:
            raise NotFound("unknown category %s" % category_name)
        return await product_repo.reprice_category(session, category, delta_cents)


async def deactivate_unstocked():
    async with session_scope() as session:
        return await product_repo.deactivate_unstocked(session)


async def receive_stock(sku, warehouse_code, quantity, when=None, reorder_level=None):
    async with session_scope() as session:
        product = await product_repo.get_by_sku(session, sku)
        if product is None:
            raise NotFound("unknown product %s" % sku)
        if await stock_repo.warehouse(session, warehouse_code) is None:
            raise NotFound("unknown warehouse %s" % warehouse_code)
        level = await stock_repo.adjust(session, product, warehouse_code, quantity, "receipt", when=when)
        if reorder_level is not None:
            level.reorder_level = reorder_level
        return level.quantity


async def import_products(rows, batch_size=100):
    """Bulk-load generated catalogue rows: (sku, name, category, price_cents, warehouse, qty)."""
    session = Session()
    categories = {}
    count = 0
    try:
        for sku, name, category, price_cents, warehouse_code, quantity in rows:
            if category not in categories:
                categories[category] = await product_repo.get_or_create_category(session, category)
            product = Product(
                sku=sku, name=name, price_cents=price_cents, category=categories[category],
                stock_levels=[]
            )
            session.add(product)
            await session.flush()
            await stock_repo.adjust(session, product, warehouse_code, quantity, "import")
            count += 1
            if count % batch_size == 0:
                await session.commit()
        await session.commit()
    except Exception:
        await session.rollback()
        raise
    finally:
        await session.close()
    return count
