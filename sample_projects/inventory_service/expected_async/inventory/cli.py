"""Command line entry point: python -m inventory.cli COMMAND ..."""
import argparse
import sys

from .db import Session, drop_db, init_db
from .services import ServiceError, catalog, demo, maintenance, ordering, reports
import asyncio


def money(cents):
    return "%d.%02d" % divmod(cents, 100)


async def cmd_init_db(args):
    await init_db()
    print("database ready")


async def cmd_drop_db(args):
    await drop_db()
    print("database dropped")


async def cmd_seed(args):
    result = await demo.seed(extra_products=args.products)
    print("seeded %d products, %d orders" % (result["products"], len(result["orders"])))


async def cmd_product(args):
    data = await catalog.product_details(args.sku)
    print("%s %s (%s) %s" % (data["sku"], data["name"], data["category"], money(data["price"])))
    if data["substitute"]:
        print("substitute: %s" % data["substitute"])
    for level in data["stock"]:
        flag = " REORDER" if level["reorder"] else ""
        print("  %s %-10s %4d%s" % (level["warehouse"], level["city"], level["quantity"], flag))
    print("on hand: %d" % data["on_hand"])


async def cmd_search(args):
    result = await catalog.search_products(args.term, args.category, page=args.page, per_page=args.per_page)
    for item in result["items"]:
        print("%-8s %-20s %8s" % (item["sku"], item["name"], money(item["price"])))
    print("%d matching" % result["total"])


def parse_item(value):
    sku, _, qty = value.partition(":")
    return sku, int(qty or 1)


async def cmd_order(args):
    order_id = await ordering.place_order(args.email, args.warehouse, [parse_item(i) for i in args.items])
    summary = await ordering.order_summary(order_id)
    for line in summary["lines"]:
        print("%s x%d %s" % (line["sku"], line["quantity"], money(line["total"])))
    print("order %d total %s" % (order_id, money(summary["total"])))


async def cmd_cancel(args):
    await ordering.cancel_order(args.order_id)
    print("order %d cancelled" % args.order_id)


async def cmd_report(args):
    if args.kind == "valuation":
        data = await reports.inventory_valuation()
        print("%d products, %d units, value %s" % (data["products"], data["units"], money(data["value_cents"])))
    elif args.kind == "categories":
        for row in await reports.category_report(args.min_products):
            print("%s: %d products, %s..%s" % (row["category"], row["products"], money(row["cheapest"]), money(row["dearest"])))
    elif args.kind == "low-stock":
        for code, sku, qty, reorder in await reports.low_stock_report(args.warehouse):
            print("%s %s %d/%d" % (code, sku, qty, reorder))
    elif args.kind == "warehouses":
        for code, city, units in await reports.warehouse_units():
            print("%s %s %d" % (code, city, units))
    elif args.kind == "substitutes":
        for row in await reports.substitutes_report():
            print("%s -> %s (%d on hand)" % (row["sku"], row["substitute"], row["substitute_on_hand"]))
    elif args.kind == "customers":
        for row in await reports.top_customers():
            print("%s %d orders %s" % (row["email"], row["orders"], money(row["spent"])))
        for email in await reports.inactive_customers():
            print("%s no orders" % email)


async def cmd_reprice(args):
    count = await catalog.reprice_category(args.category, args.delta)
    print("repriced %d products" % count)


async def cmd_deactivate(args):
    print("deactivated %d products" % await catalog.deactivate_unstocked())


async def cmd_purge(args):
    deleted, remaining = await maintenance.purge_movements(args.days)
    print("purged %d movements, %d left" % (deleted, remaining))


async def cmd_expire(args):
    print("expired %d quotes" % await ordering.expire_quotes(args.days))


def build_parser():
    parser = argparse.ArgumentParser(prog="inventory", description="Inventory service")
    sub = parser.add_subparsers(dest="command")
    sub.required = True

    sub.add_parser("init-db").set_defaults(func=cmd_init_db)
    sub.add_parser("drop-db").set_defaults(func=cmd_drop_db)

    p = sub.add_parser("seed")
    p.add_argument("--products", type=int, default=0, help="extra generated products")
    p.set_defaults(func=cmd_seed)

    p = sub.add_parser("product")
    p.add_argument("sku")
    p.set_defaults(func=cmd_product)

    p = sub.add_parser("search")
    p.add_argument("term", nargs="?")
    p.add_argument("--category")
    p.add_argument("--page", type=int, default=1)
    p.add_argument("--per-page", type=int, default=20)
    p.set_defaults(func=cmd_search)

    p = sub.add_parser("order")
    p.add_argument("email")
    p.add_argument("warehouse")
    p.add_argument("items", nargs="+", help="SKU:QTY")
    p.set_defaults(func=cmd_order)

    p = sub.add_parser("cancel")
    p.add_argument("order_id", type=int)
    p.set_defaults(func=cmd_cancel)

    p = sub.add_parser("report")
    p.add_argument("kind", choices=["valuation", "categories", "low-stock", "warehouses", "substitutes", "customers"])
    p.add_argument("--warehouse")
    p.add_argument("--min-products", type=int, default=1)
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("reprice")
    p.add_argument("category")
    p.add_argument("delta", type=int, help="price change in cents")
    p.set_defaults(func=cmd_reprice)

    sub.add_parser("deactivate-unstocked").set_defaults(func=cmd_deactivate)

    p = sub.add_parser("purge-movements")
    p.add_argument("--days", type=int, default=30)
    p.set_defaults(func=cmd_purge)

    p = sub.add_parser("expire-quotes")
    p.add_argument("--days", type=int, default=30)
    p.set_defaults(func=cmd_expire)
    return parser


async def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        await args.func(args)
    except ServiceError as exc:
        print("error: %s" % exc, file=sys.stderr)
        return 1
    finally:
        await Session.remove()
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
