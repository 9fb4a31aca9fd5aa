"""Idioms of older code bases: Model.query through query_property(), Query slicing,
keyword parameters to Connection.execute(), and Engine inspection shortcuts."""

import shutil

from sqlalchemy import func, select

from database import DB_DIR, Author, Book, db_session, engine, events, init_db


def seed():
    for name, titles in (
        ("le guin", ["Earthsea", "The Dispossessed", "Lathe"]),
        ("herbert", ["Dune", "Children of Dune"]),
        ("banks", ["Excession", "Look to Windward", "Matter", "Surface Detail"]),
    ):
        author = Author(name=name)
        db_session.add(author)
        for position, title in enumerate(titles):
            db_session.add(Book(title=title, year=1960 + 7 * len(title) + position, author=author))
    db_session.commit()
    with engine.connect() as conn:
        conn.execute(events.insert(), kind="seed", detail="authors")
        conn.execute(
            events.insert(), {"kind": "seed", "detail": "books"}, {"kind": "seed", "detail": "done"}
        )


def page(number, size=3):
    start = (number - 1) * size
    return Book.query.order_by(Book.id)[start : start + size]


def report():
    print("== Model.query")
    print([a.name for a in Author.query.order_by(Author.name).all()])
    print(Author.by_name("banks").id, Author.query.get(2).name)
    print(Book.query.filter(Book.year > 2000).count())
    print("== slices")
    print([b.title for b in page(1)], [b.title for b in page(3)], page(9))
    print(Book.query.order_by(Book.title)[0].title, Book.query.order_by(Book.id)[4].title)
    print([b.title for b in Book.query.order_by(Book.id)[:2]])
    print([b.title for b in Book.query.order_by(Book.id)[7:]])
    print([row.title for row in db_session.query(Book.title).order_by(Book.year.desc())[1:3]])
    try:
        Book.query.order_by(Book.id)[99]
    except IndexError:
        print("no book 99")
    print("== connection parameters")
    with engine.connect() as conn:
        rows = conn.execute(events.select().where(events.c.kind == "seed").order_by(events.c.id))
        print([(r.id, r.detail) for r in rows])
        total = conn.execute(select([func.count()]).select_from(events)).scalar()
        print(total)
    print("== inspection")
    print(sorted(engine.table_names()), engine.has_table("books"), engine.has_table("nope"))


if __name__ == "__main__":
    try:
        init_db()
        seed()
        report()
    finally:
        db_session.remove()
        engine.dispose()
        shutil.rmtree(DB_DIR, ignore_errors=True)
