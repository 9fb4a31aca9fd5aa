import pytest

from inventory.services import NotFound, ServiceError, catalog, reports


@pytest.mark.asyncio(loop_scope="session")
async def test_product_details_reads_relationships(seeded):
    data = await catalog.product_details("T-300")
    assert data == {
        "sku": "T-300",
        "name": "Cordless drill",
        "price": 8900,
        "category": "tools",
        "supplier": "Globex",
        "active": True,
        "substitute": "T-301",
        "stock": [
            {"warehouse": "AMS", "city": "Amsterdam", "quantity": 0, "reorder": True},
            {"warehouse": "BER", "city": "Berlin", "quantity": 3, "reorder": True},
        ],
        "on_hand": 3,
        "movements": 2,
    }
    board = await catalog.product_details("K-200")
    assert board["supplier"] is None and board["substitute"] is None
    assert board["stock"] == [] and board["on_hand"] == 0


@pytest.mark.asyncio(loop_scope="session")
async def test_unknown_product(seeded):
    with pytest.raises(NotFound):
        await catalog.product_details("NOPE")


@pytest.mark.asyncio(loop_scope="session")
async def test_add_product_rejects_duplicates_and_rolls_back(seeded):
    with pytest.raises(ServiceError):
        await catalog.add_product("T-100", "Another hammer", "tools", 100)
    with pytest.raises(NotFound):
        await catalog.add_product("T-999", "Mystery", "mystery", 100, substitute_sku="X-1")
    assert (await catalog.search_products("Mystery"))["total"] == 0
    assert await catalog.category_skus("mystery") == []
    await catalog.add_product("T-400", "Mallet", "tools", 1300, supplier=("Acme", "US"), substitute_sku="T-100")
    assert (await catalog.product_details("T-400"))["substitute"] == "T-100"
    assert (await catalog.product_details("T-400"))["supplier"] == "Acme"


@pytest.mark.asyncio(loop_scope="session")
async def test_search_with_term_and_pagination(seeded):
    rakes = await catalog.search_products("rake")
    assert rakes["total"] == 2
    assert [p["sku"] for p in rakes["items"]] == ["G-200", "G-201"]
    page2 = await catalog.search_products(category="tools", page=2, per_page=2)
    assert page2["total"] == 4
    assert page2["page"] == 2
    assert [p["sku"] for p in page2["items"]] == ["T-300", "T-301"]
    assert page2["items"][0]["supplier"] == "Globex"
    assert (await catalog.search_products("t-1"))["items"][0]["name"] == "Hammer"
    assert (await catalog.search_products(category="tools", page=5, per_page=2))["items"] == []


@pytest.mark.asyncio(loop_scope="session")
async def test_category_skus_and_supplier_countries(seeded):
    assert await catalog.category_skus("garden") == ["G-100", "G-200", "G-201"]
    assert await catalog.supplier_countries() == ["DE", "NL", "US"]
    assert await catalog.supplier_countries("garden") == ["NL"]
    assert await catalog.supplier_countries("kitchen") == ["DE"]


@pytest.mark.asyncio(loop_scope="session")
async def test_reprice_category_bulk_update(seeded):
    assert await catalog.reprice_category("kitchen", 300) == 2
    assert (await catalog.product_details("K-100"))["price"] == 4800
    assert (await catalog.product_details("K-200"))["price"] == 1500
    assert (await catalog.product_details("T-100"))["price"] == 1500
    with pytest.raises(NotFound):
        await catalog.reprice_category("toys", 100)


@pytest.mark.asyncio(loop_scope="session")
async def test_deactivate_unstocked(seeded):
    assert await catalog.deactivate_unstocked() == 1
    assert (await catalog.product_details("K-200"))["active"] is False
    assert (await catalog.search_products("board"))["total"] == 0
    assert await catalog.deactivate_unstocked() == 0
    assert await catalog.reprice_category("kitchen", 100) == 1


@pytest.mark.asyncio(loop_scope="session")
async def test_upsert_warehouse_merges(seeded):
    assert await catalog.upsert_warehouse("LON", "London Heathrow") == "LON"
    assert await catalog.upsert_warehouse("PAR", "Paris") == "PAR"
    assert await reports.warehouse_units() == [
        ("AMS", "Amsterdam", 105),
        ("BER", "Berlin", 63),
        ("LON", "London Heathrow", 0),
        ("NYC", "New York", 38),
        ("PAR", "Paris", 0),
    ]


@pytest.mark.asyncio(loop_scope="session")
async def test_receive_stock(seeded):
    assert await catalog.receive_stock("K-200", "LON", 7) == 7
    assert await catalog.receive_stock("K-200", "LON", 3, reorder_level=2) == 10
    details = await catalog.product_details("K-200")
    assert details["stock"] == [{"warehouse": "LON", "city": "London", "quantity": 10, "reorder": False}]
    assert details["movements"] == 2
    with pytest.raises(NotFound):
        await catalog.receive_stock("K-200", "XXX", 1)
    with pytest.raises(NotFound):
        await catalog.receive_stock("NOPE", "LON", 1)
