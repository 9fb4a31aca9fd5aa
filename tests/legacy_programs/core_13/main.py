"""A 1.3-era Core script: bound metadata, engine.execute, select([...]) and raw SQL strings."""

import shutil

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import sessionmaker

from schema import DB_DIR, audit_table, engine, init_db, orders, products, users

Session = sessionmaker(bind=engine, autocommit=False)


def seed():
    engine.execute(
        users.insert(),
        [
            {"id": 1, "name": "ann", "active": True},
            {"id": 2, "name": "bob", "active": True},
            {"id": 3, "name": "cid", "active": True},
            {"id": 4, "name": "dee", "active": False},
        ],
    )
    conn = engine.connect()
    conn.execute(
        products.insert(),
        [
            {"id": 1, "name": "widget", "price": 250},
            {"id": 2, "name": "gadget", "price": 1999},
            {"id": 3, "name": "doohickey", "price": 75},
            {"id": 4, "name": "gizmo", "price": 640},
        ],
    )
    conn.execute(
        orders.insert(),
        [
            {"user_id": 1, "product_id": 1, "quantity": 3},
            {"user_id": 1, "product_id": 2, "quantity": 1},
            {"user_id": 2, "product_id": 3, "quantity": 10},
            {"user_id": 3, "product_id": 1, "quantity": 0},
            {"user_id": 2, "product_id": 4, "quantity": 2},
            {"user_id": 3, "product_id": 2, "quantity": 1},
        ],
    )
    conn.execute("UPDATE products SET price = price + 1 WHERE name = 'widget'")
    conn.close()


def report():
    print("== select([...])")
    print(engine.execute(select([users.c.id, users.c.name]).order_by(users.c.id)).fetchall())
    for row in engine.execute(select([users], users.c.id > 1).order_by(users.c.name.desc())):
        print(row.id, row["name"], row.active)
    print(engine.execute(select([products.c.name], order_by=[products.c.price])).fetchall())
    print(engine.execute(select([func.count()]).select_from(users)).scalar())

    conn = engine.connect()
    s = select(
        [users.c.name, products.c.name.label("product"), orders.c.quantity],
        and_(users.c.id == orders.c.user_id, products.c.id == orders.c.product_id),
        order_by=[orders.c.id],
    )
    for row in conn.execute(s):
        print(row)

    j = users.join(orders).join(products)
    spent = (
        select([users.c.name, func.sum(orders.c.quantity * products.c.price).label("spent")])
        .select_from(j)
        .group_by(users.c.name)
        .order_by(users.c.name)
    )
    for name, total in conn.execute(spent):
        print(name, total)

    band = case(
        [(products.c.price >= 1000, "expensive"), (products.c.price >= 100, "regular")],
        else_="cheap",
    )
    print(
        conn.execute(
            select([products.c.name, band.label("band")]).order_by(products.c.id)
        ).fetchall()
    )

    n_orders = select([func.count(orders.c.id)]).where(orders.c.user_id == users.c.id).as_scalar()
    print(conn.execute(select([users.c.name, n_orders.label("n")]).order_by(users.c.id)).fetchall())

    buyers = select([orders.c.user_id]).where(orders.c.quantity > 0)
    print(
        conn.execute(
            select([users.c.name], users.c.id.in_(buyers)).order_by(users.c.name)
        ).fetchall()
    )
    print(
        conn.execute(
            select([users.c.name], or_(users.c.active == False, users.c.name == "ann")).order_by(
                users.c.id
            )
        ).fetchall()
    )

    print("== raw SQL strings")
    print(engine.execute("SELECT name FROM products WHERE price > 100 ORDER BY name").fetchall())
    print(conn.execute("SELECT count(*) FROM orders").scalar())
    for row in conn.execute("SELECT name, price FROM products ORDER BY price DESC LIMIT 2"):
        print(row["name"], row["price"])
    conn.close()


def changes():
    print("== changes")
    conn = engine.connect()
    result = conn.execute(users.update().where(users.c.name == "cid").values(active=False))
    print(result.rowcount)
    print(engine.execute(orders.delete().where(orders.c.quantity == 0)).rowcount)
    conn.execute("UPDATE orders SET quantity = quantity * 2 WHERE product_id = 3")
    conn.close()
    print(engine.execute(select([users.c.name, users.c.active]).order_by(users.c.id)).fetchall())
    print(engine.execute(select([orders.c.id, orders.c.quantity]).order_by(orders.c.id)).fetchall())

    audit = audit_table()
    engine.execute(audit.insert(), [{"message": "prices checked"}, {"message": "orders cleaned"}])
    print(engine.execute(select([audit.c.message]).order_by(audit.c.id)).fetchall())

    session = Session()
    print(session.execute("SELECT name, active FROM users ORDER BY id").fetchall())
    session.execute("UPDATE users SET name = upper(name) WHERE active = 0")
    print(session.execute(select([func.count()]).select_from(orders)).scalar())
    session.commit()
    print(session.execute(select([users.c.name]).order_by(users.c.id)).fetchall())
    session.close()
    print(engine.execute("SELECT group_concat(name, ',') FROM users").scalar())


def transactions():
    print("== transactions")
    conn = engine.connect()
    r = conn.execute(select([func.count()]).select_from(orders)).scalar()
    print(r)
    r = conn.execute(select([users.c.name]).where(users.c.id == 1)).fetchone()
    print(r["name"], list(r.keys()))
    trans = conn.begin()
    conn.execute(products.update().where(products.c.id == 4).values(price=700))
    trans.commit()
    result = conn.execute(select([products.c.name, products.c.price]).where(products.c.id == 4))
    row = result.fetchone()
    print(row["name"], row[products.c.price])
    conn.execute(products.insert(), {"id": 5, "name": "thing", "price": 5})
    with conn.begin():
        conn.execute(products.update().where(products.c.id == 5).values(price=6))
    conn.execute(products.update().where(products.c.id == 5).values(price=7))
    conn.close()
    rows = engine.execute(select([products]).where(products.c.id >= 4).order_by(products.c.id))
    for row in rows:
        print(dict(row))


def main():
    try:
        init_db()
        seed()
        report()
        changes()
        transactions()
    finally:
        engine.dispose()
        shutil.rmtree(DB_DIR, ignore_errors=True)


if __name__ == "__main__":
    main()
