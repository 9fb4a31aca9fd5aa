from datetime import datetime, timedelta

from inventory.services import catalog, maintenance, ordering, reports
import pytest


@pytest.mark.asyncio(loop_scope="session")
async def test_valuation_of_seeded_catalogue(seeded):
    assert await reports.inventory_valuation() == {"products": 9, "units": 206, "value_cents": 582800}


@pytest.mark.asyncio(loop_scope="session")
async def test_valuation_streams_large_catalogue(big_catalog):
    assert big_catalog["products"] == 259
    assert await reports.inventory_valuation() == {"products": 259, "units": 456, "value_cents": 607800}
    assert (await catalog.search_products(category="bulk", page=3, per_page=100))["total"] == 250
    last_page = (await catalog.search_products(category="bulk", page=3, per_page=100))["items"]
    assert [p["sku"] for p in last_page[:2]] == ["GEN-0201", "GEN-0202"]
    assert len(last_page) == 50


@pytest.mark.asyncio(loop_scope="session")
async def test_category_report_with_having(seeded):
    assert await reports.category_report() == [
        {"category": "garden", "products": 3, "total_price": 7000, "cheapest": 1800, "dearest": 3000},
        {"category": "kitchen", "products": 2, "total_price": 5700, "cheapest": 1200, "dearest": 4500},
        {"category": "tools", "products": 4, "total_price": 17800, "cheapest": 1500, "dearest": 8900},
    ]
    assert [r["category"] for r in await reports.category_report(min_products=3)] == ["garden", "tools"]
    assert await reports.category_report(min_products=10) == []


@pytest.mark.asyncio(loop_scope="session")
async def test_low_stock_report(seeded):
    assert await reports.low_stock_report() == [
        ("AMS", "G-200", 2, 10),
        ("AMS", "T-200", 5, 10),
        ("AMS", "T-300", 0, 10),
        ("BER", "T-300", 3, 10),
        ("NYC", "K-100", 8, 10),
    ]
    assert await reports.low_stock_report("NYC") == [("NYC", "K-100", 8, 10)]
    assert await reports.low_stock_report("LON") == []


@pytest.mark.asyncio(loop_scope="session")
async def test_substitutes_report_uses_self_join(seeded):
    assert await reports.substitutes_report() == [
        {"sku": "G-200", "substitute": "G-201", "substitute_name": "Leaf rake", "substitute_on_hand": 12},
        {"sku": "T-300", "substitute": "T-301", "substitute_name": "Budget drill", "substitute_on_hand": 24},
    ]
    await catalog.add_product("K-300", "Paring knife", "kitchen", 900, substitute_sku="K-200")
    assert (await reports.substitutes_report())[1] == {
        "sku": "K-300",
        "substitute": "K-200",
        "substitute_name": "Cutting board",
        "substitute_on_hand": 0,
    }


@pytest.mark.asyncio(loop_scope="session")
async def test_warehouse_units_raw_sql(seeded):
    assert await reports.warehouse_units() == [
        ("AMS", "Amsterdam", 105),
        ("BER", "Berlin", 63),
        ("LON", "London", 0),
        ("NYC", "New York", 38),
    ]


@pytest.mark.asyncio(loop_scope="session")
async def test_sales_since_raw_sql_with_params(seeded):
    assert await reports.sales_since(7) == [("T-301", 1, 4900), ("K-100", 1, 4500), ("T-100", 2, 3000)]
    await ordering.place_order("cat@example.com", "NYC", [("T-200", 3)])
    assert (await reports.sales_since(7))[0] == ("T-200", 3, 7500)
    assert await reports.sales_since(7, now=datetime.utcnow() + timedelta(days=30)) == []


@pytest.mark.asyncio(loop_scope="session")
async def test_top_and_inactive_customers(seeded):
    assert await reports.top_customers() == [
        {"name": "Ann Archer", "email": "ann@example.com", "orders": 1, "spent": 7500},
        {"name": "Ben Baker", "email": "ben@example.com", "orders": 1, "spent": 4900},
    ]
    assert (await reports.top_customers(limit=1))[0]["email"] == "ann@example.com"
    assert await reports.inactive_customers() == ["cat@example.com"]
    await ordering.place_order("ben@example.com", "NYC", [("T-200", 4)])
    assert (await reports.top_customers())[0] == {
        "name": "Ben Baker", "email": "ben@example.com", "orders": 2, "spent": 14900,
    }


@pytest.mark.asyncio(loop_scope="session")
async def test_purge_movements_bulk_delete(seeded):
    assert await maintenance.purge_movements(30) == (12, 3)
    assert await maintenance.purge_movements(30) == (0, 3)
    assert (await catalog.product_details("T-100"))["movements"] == 1


@pytest.mark.asyncio(loop_scope="session")
async def test_empty_database_reports():
    assert await reports.inventory_valuation() == {"products": 0, "units": 0, "value_cents": 0}
    assert await reports.category_report() == []
    assert await reports.warehouse_units() == []
    assert await reports.top_customers() == []
    assert await maintenance.purge_movements(1) == (0, 0)
