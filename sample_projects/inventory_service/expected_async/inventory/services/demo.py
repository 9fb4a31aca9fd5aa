"""Demo data used by `python -m inventory.cli seed`."""
from datetime import datetime, timedelta

from . import catalog, ordering

WAREHOUSES = [("AMS", "Amsterdam"), ("BER", "Berlin"), ("NYC", "New York"), ("LON", "London")]

PRODUCTS = [
    # sku, name, category, price, supplier, substitute
    ("T-100", "Hammer", "tools", 1500, ("Acme", "US"), None),
    ("T-200", "Screwdriver set", "tools", 2500, ("Acme", "US"), None),
    ("T-301", "Budget drill", "tools", 4900, ("Globex", "DE"), None),
    ("T-300", "Cordless drill", "tools", 8900, ("Globex", "DE"), "T-301"),
    ("G-100", "Garden hose", "garden", 3000, ("Initech", "NL"), None),
    ("G-201", "Leaf rake", "garden", 2200, None, None),
    ("G-200", "Rake", "garden", 1800, ("Initech", "NL"), "G-201"),
    ("K-100", "Chef knife", "kitchen", 4500, ("Globex", "DE"), None),
    ("K-200", "Cutting board", "kitchen", 1200, None, None),
]

STOCK = [
    ("T-100", "AMS", 50),
    ("T-100", "BER", 20),
    ("T-200", "AMS", 5),
    ("T-200", "NYC", 30),
    ("T-300", "AMS", 0),
    ("T-300", "BER", 3),
    ("T-301", "AMS", 25),
    ("G-100", "BER", 40),
    ("G-200", "AMS", 2),
    ("G-201", "AMS", 12),
    ("K-100", "NYC", 8),
    ("K-100", "AMS", 15),
]

CUSTOMERS = [
    ("Ann Archer", "ann@example.com", "gold"),
    ("Ben Baker", "ben@example.com", "standard"),
    ("Cat Carter", "cat@example.com", "standard"),
]


def generated_products(count):
    for n in range(1, count + 1):
        yield ("GEN-%04d" % n, "Generated item %d" % n, "bulk", 100, "BER", 1)


async def seed(extra_products=0, now=None):
    now = now or datetime.utcnow()
    long_ago = now - timedelta(days=60)
    for code, city in WAREHOUSES:
        await catalog.upsert_warehouse(code, city)
    for sku, name, category, price, supplier, substitute in PRODUCTS:
        await catalog.add_product(sku, name, category, price, supplier=supplier, substitute_sku=substitute)
    for sku, warehouse, quantity in STOCK:
        await catalog.receive_stock(sku, warehouse, quantity, when=long_ago)
    for name, email, tier in CUSTOMERS:
        await ordering.register_customer(name, email, tier)
    first = await ordering.place_order("ann@example.com", "AMS", [("T-100", 2), ("K-100", 1)])
    second = await ordering.place_order("ben@example.com", "AMS", [("T-301", 1)])
    await ordering.ship_order(second)
    await ordering.place_order(
        "ann@example.com", "BER", [("G-100", 1)], quote=True, created_at=now - timedelta(days=40)
    )
    generated = 0
    if extra_products:
        generated = await catalog.import_products(generated_products(extra_products))
    return {"products": len(PRODUCTS) + generated, "orders": [first, second]}
