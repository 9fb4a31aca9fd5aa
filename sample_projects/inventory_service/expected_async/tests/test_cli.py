import pytest

from inventory import cli


async def run(capsys, *argv):
    code = await cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out.splitlines(), err


@pytest.mark.asyncio(loop_scope="session")
async def test_seed_and_product(capsys):
    code, out, _ = await run(capsys, "seed", "--products", "5")
    assert code == 0
    assert out == ["seeded 14 products, 2 orders"]
    code, out, _ = await run(capsys, "product", "T-300")
    assert code == 0
    assert out == [
        "T-300 Cordless drill (tools) 89.00",
        "substitute: T-301",
        "  AMS Amsterdam     0 REORDER",
        "  BER Berlin        3 REORDER",
        "on hand: 3",
    ]


@pytest.mark.asyncio(loop_scope="session")
async def test_unknown_product_is_an_error(capsys, seeded):
    code, out, err = await run(capsys, "product", "NOPE")
    assert code == 1
    assert out == []
    assert err.strip() == "error: unknown product NOPE"


@pytest.mark.asyncio(loop_scope="session")
async def test_search_command(capsys, seeded):
    code, out, _ = await run(capsys, "search", "--category", "tools", "--per-page", "2")
    assert code == 0
    assert [line.split()[0] for line in out[:-1]] == ["T-100", "T-200"]
    assert out[-1] == "4 matching"
    _, out, _ = await run(capsys, "search", "drill")
    assert out[-1] == "2 matching"


@pytest.mark.asyncio(loop_scope="session")
async def test_order_command(capsys, seeded):
    code, out, _ = await run(capsys, "order", "cat@example.com", "NYC", "T-200:2", "K-100")
    assert code == 0
    assert out[0] == "T-200 x2 50.00"
    assert out[1] == "K-100 x1 45.00"
    assert out[2].endswith("total 95.00")
    order_id = int(out[2].split()[1])
    code, out, _ = await run(capsys, "cancel", str(order_id))
    assert out == ["order %d cancelled" % order_id]
    code, out, err = await run(capsys, "order", "cat@example.com", "AMS", "T-300:1")
    assert code == 1
    assert "only 0 of T-300 in AMS (try T-301)" in err


@pytest.mark.asyncio(loop_scope="session")
async def test_report_commands(capsys, seeded):
    _, out, _ = await run(capsys, "report", "valuation")
    assert out == ["9 products, 206 units, value 5828.00"]
    _, out, _ = await run(capsys, "report", "categories", "--min-products", "3")
    assert out == ["garden: 3 products, 18.00..30.00", "tools: 4 products, 15.00..89.00"]
    _, out, _ = await run(capsys, "report", "low-stock", "--warehouse", "AMS")
    assert out == ["AMS G-200 2/10", "AMS T-200 5/10", "AMS T-300 0/10"]
    _, out, _ = await run(capsys, "report", "warehouses")
    assert out == ["AMS Amsterdam 105", "BER Berlin 63", "LON London 0", "NYC New York 38"]
    _, out, _ = await run(capsys, "report", "substitutes")
    assert out == ["G-200 -> G-201 (12 on hand)", "T-300 -> T-301 (24 on hand)"]
    _, out, _ = await run(capsys, "report", "customers")
    assert out == [
        "ann@example.com 1 orders 75.00",
        "ben@example.com 1 orders 49.00",
        "cat@example.com no orders",
    ]


@pytest.mark.asyncio(loop_scope="session")
async def test_maintenance_commands(capsys, seeded):
    assert (await run(capsys, "reprice", "tools", "100"))[1] == ["repriced 4 products"]
    assert (await run(capsys, "deactivate-unstocked"))[1] == ["deactivated 1 products"]
    assert (await run(capsys, "purge-movements", "--days", "30"))[1] == ["purged 12 movements, 3 left"]
    assert (await run(capsys, "expire-quotes", "--days", "30"))[1] == ["expired 1 quotes"]
    _, out, _ = await run(capsys, "product", "T-100")
    assert out[0] == "T-100 Hammer (tools) 16.00"
    code, _, err = await run(capsys, "reprice", "toys", "5")
    assert code == 1 and "unknown category toys" in err


@pytest.mark.asyncio(loop_scope="session")
async def test_init_db_is_idempotent(capsys):
    assert (await run(capsys, "init-db"))[1] == ["database ready"]
    assert (await run(capsys, "init-db"))[1] == ["database ready"]


@pytest.mark.asyncio(loop_scope="session")
async def test_bad_arguments_exit_with_usage_error(capsys):
    with pytest.raises(SystemExit) as info:
        await cli.main(["report", "nonsense"])
    assert info.value.code == 2
    with pytest.raises(SystemExit):
        await cli.main([])
