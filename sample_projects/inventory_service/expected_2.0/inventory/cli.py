"""Command line entry point: python -m inventory.cli COMMAND ..."""
import argparse
import sys

from .db import Session, drop_db, init_db
from .services import ServiceError, catalog, demo, maintenance, ordering, reports


def money(cents):
    return "%d.%02d" % divmod(cents, 100)


def cmd_init_db(args):
    init_db()
    print("database ready")


def cmd_drop_db(args):
    drop_db()
    print("database dropped")


def cmd_seed(args):
    result = demo.seed(extra_products=args.products)
    print("seeded %d products, %d orders" % (result["products"], len(result["orders"])))


def cmd_product(args):
    data = catalog.product_details(args.sku)
    print("%s %s (%s) %s" % (data["sku"], data["name"], data["category"], money(data["price"])))
    if data["substitute"]:
        print("substitute: %s" % data["substitute"])
    for level in data["stock"]:
        flag = " REORDER" if level["reorder"] else ""
        print("  %s %-10s %4d%s" % (level["warehouse"], level["city"], level["quantity"], flag))
    print("on hand: %d" % data["on_hand"])


def cmd_search(args):
    result = catalog.search_products(args.term, args.category, page=args.page, per_page=args.per_page)
    for item in result["items"]:
        print("%-8s %-20s %8s" % (item["sku"], item["name"], money(item["price"])))
    print("%d matching" % result["total"])


def parse_item(value):
    sku, _, qty = value.partition(":")
    return sku, int(qty or 1)


def cmd_order(args):
    order_id = ordering.place_order(args.email, args.warehouse, [parse_item(i) for i in args.items])
    summary = ordering.order_summary(order_id)
    for line in summary["lines"]:
        print("%s x%d %s" % (line["sku"], line["quantity"], money(line["total"])))
    print("order %d total %s" % (order_id, money(summary["total"])))


def cmd_cancel(args):
    ordering.cancel_order(args.order_id)
    print("order %d cancelled" % args.order_id)


def cmd_report(args):
    if args.kind == "valuation":
        data = reports.inventory_valuation()
        print("%d products, %d units, value %s" % (data["products"], data["units"], money(data["value_cents"])))
    elif args.kind == "categories":
        for row in reports.category_report(args.min_products):
            print("%s: %d products, %s..%s" % (row["category"], row["products"], money(row["cheapest"]), money(row["dearest"])))
    elif args.kind == "low-stock":
        for code, sku, qty, reorder in reports.low_stock_report(args.warehouse):
            print("%s %s %d/%d" % (code, sku, qty, reorder))
    elif args.kind == "warehouses":
        for code, city, units in reports.warehouse_units():
            print("%s %s %d" % (code, city, units))
    elif args.kind == "substitutes":
        for row in reports.substitutes_report():
            print("%s -> %s (%d on hand)" % (row["sku"], row["substitute"], row["substitute_on_hand"]))
    elif args.kind == "customers":
        for row in reports.top_customers():
            print("%s %d orders %s" % (row["email"], row["orders"], money(row["spent"])))
        for email in reports.inactive_customers():
            print("%s no orders" % email)


def cmd_reprice(args):
    count = catalog.reprice_category(args.category, args.delta)
    print("repriced %d products" % count)


def cmd_deactivate(args):
    print("deactivated %d products" % catalog.deactivate_unstocked())


def cmd_purge(args):
    deleted, remaining = maintenance.purge_movements(args.days)
    print("purged %d movements, %d left" % (deleted, remaining))


def cmd_expire(args):
    print("expired %d quotes" % ordering.expire_quotes(args.days))


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


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        args.func(args)
    except ServiceError as exc:
        print("error: %s" % exc, file=sys.stderr)
        return 1
    finally:
        Session.remove()
    return 0


if __name__ == "__main__":
    sys.exit(main())
