import pytest

from inventory.services import NotFound, OutOfStock, ServiceError, catalog, ordering, reports


@pytest.mark.asyncio(loop_scope="session")
async def test_order_summary_reads_lines_and_products(seeded):
    first_order = seeded["orders"][0]
    assert await ordering.order_summary(first_order) == {
        "id": first_order,
        "customer": "Ann Archer",
        "warehouse": "Amsterdam",
        "status": "placed",
        "lines": [
            {"sku": "T-100", "name": "Hammer", "category": "tools", "quantity": 2, "total": 3000},
            {"sku": "K-100", "name": "Chef knife", "category": "kitchen", "quantity": 1, "total": 4500},
        ],
        "total": 7500,
    }
    assert (await ordering.order_summary(seeded["orders"][1]))["status"] == "shipped"


@pytest.mark.asyncio(loop_scope="session")
async def test_place_order_takes_stock(seeded):
    order_id = await ordering.place_order("cat@example.com", "BER", [("T-100", 5), ("G-100", 2)])
    summary = await ordering.order_summary(order_id)
    assert summary["customer"] == "Cat Carter"
    assert summary["total"] == 5 * 1500 + 2 * 3000
    stock = {s["warehouse"]: s["quantity"] for s in (await catalog.product_details("T-100"))["stock"]}
    assert stock == {"AMS": 48, "BER": 15}
    assert (await catalog.product_details("G-100"))["on_hand"] == 38
    assert await reports.inactive_customers() == []


@pytest.mark.asyncio(loop_scope="session")
async def test_out_of_stock_suggests_substitute_and_rolls_back(seeded):
    before = (await catalog.product_details("T-300"))["movements"]
    with pytest.raises(OutOfStock) as info:
        await ordering.place_order("ben@example.com", "AMS", [("T-100", 1), ("T-300", 2)])
    assert str(info.value) == "only 0 of T-300 in AMS (try T-301)"
    with pytest.raises(OutOfStock) as info:
        await ordering.place_order("ben@example.com", "BER", [("T-300", 4)])
    assert str(info.value) == "only 3 of T-300 in BER"
    assert (await catalog.product_details("T-300"))["movements"] == before
    assert (await catalog.product_details("T-100"))["on_hand"] == 68
    assert (await ordering.customer_history("ben@example.com"))["orders"] == [
        {"id": seeded["orders"][1], "status": "shipped", "items": 1, "total": 4900}
    ]


@pytest.mark.asyncio(loop_scope="session")
async def test_order_validation_errors(seeded):
    with pytest.raises(NotFound):
        await ordering.place_order("nobody@example.com", "AMS", [("T-100", 1)])
    with pytest.raises(NotFound):
        await ordering.place_order("ann@example.com", "AMS", [("NOPE", 1)])
    with pytest.raises(NotFound):
        await ordering.place_order("ann@example.com", "XXX", [("T-100", 1)])
    with pytest.raises(ServiceError):
        await ordering.place_order("ann@example.com", "AMS", [])
    with pytest.raises(NotFound):
        await ordering.order_summary(999999)
    assert await reports.order_counts() == {"quote": 1, "placed": 1, "shipped": 1, "cancelled": 0, "expired": 0}


@pytest.mark.asyncio(loop_scope="session")
async def test_cancel_order_restocks(seeded):
    order_id = seeded["orders"][0]
    assert await ordering.cancel_order(order_id) == "cancelled"
    assert (await catalog.product_details("T-100"))["on_hand"] == 70
    assert (await catalog.product_details("K-100"))["on_hand"] == 23
    with pytest.raises(ServiceError):
        await ordering.cancel_order(order_id)
    with pytest.raises(ServiceError):
        await ordering.ship_order(order_id)
    with pytest.raises(NotFound):
        await ordering.cancel_order(424242)


@pytest.mark.asyncio(loop_scope="session")
async def test_customer_history(seeded):
    ann = await ordering.customer_history("ann@example.com")
    assert ann["name"] == "Ann Archer"
    assert ann["open"] is True
    assert [(o["status"], o["items"], o["total"]) for o in ann["orders"]] == [
        ("placed", 3, 7500),
        ("quote", 1, 3000),
    ]
    ben = await ordering.customer_history("ben@example.com")
    assert ben["open"] is False
    assert await ordering.customer_history("cat@example.com") == {"name": "Cat Carter", "open": False, "orders": []}
    with pytest.raises(NotFound):
        await ordering.customer_history("nobody@example.com")


@pytest.mark.asyncio(loop_scope="session")
async def test_quotes_do_not_take_stock_and_expire(seeded):
    quote = await ordering.place_order("cat@example.com", "AMS", [("T-300", 50)], quote=True)
    assert (await ordering.order_summary(quote))["status"] == "quote"
    assert (await catalog.product_details("T-300"))["on_hand"] == 3
    assert await ordering.expire_quotes(30) == 1
    assert await ordering.expire_quotes(30) == 0
    assert (await ordering.order_summary(quote))["status"] == "quote"
    assert await reports.order_counts() == {"quote": 1, "placed": 1, "shipped": 1, "cancelled": 0, "expired": 1}
