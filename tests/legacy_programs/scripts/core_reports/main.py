from sqlalchemy import (
    Column,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    bindparam,
    case,
    cast,
    create_engine,
    exists,
    func,
    literal_column,
    select,
    text,
    union_all,
)

metadata = MetaData()
users = Table(
    "users", metadata, Column("id", Integer, primary_key=True), Column("name", String(20))
)
posts = Table(
    "posts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("uid", Integer, ForeignKey("users.id")),
    Column("title", String(20)),
    Column("score", Integer),
)


def setup(engine):
    metadata.create_all(engine)
    with engine.begin() as conn:
        r = conn.execute(users.insert().values(name="ann"))
        ann = r.inserted_primary_key[0]
        bob = conn.execute(users.insert(), {"name": "bob"}).inserted_primary_key[0]
        conn.execute(
            posts.insert(),
            [
                {"uid": ann, "title": "a1", "score": 3},
                {"uid": ann, "title": "a2", "score": 5},
                {"uid": bob, "title": "b1", "score": 1},
            ],
        )
    return ann, bob


def report(engine):
    with engine.connect() as conn:
        j = users.outerjoin(posts, users.c.id == posts.c.uid)
        q = (
            select([users.c.name, func.count(posts.c.id).label("n")])
            .select_from(j)
            .group_by(users.c.name)
            .order_by(users.c.name)
        )
        print(conn.execute(q).fetchall())
        u = union_all(select([posts.c.title]).where(posts.c.score > 2), select([users.c.name]))
        print(sorted(r[0] for r in conn.execute(u)))
        print(conn.execute(select([exists().where(posts.c.score > 4)])).scalar())
        label = case([(posts.c.score >= 3, "hi")], else_="lo")
        print(conn.execute(select([posts.c.title, label]).order_by(posts.c.id)).fetchall())
        stmt = select([users.c.name]).where(users.c.id.in_(bindparam("ids", expanding=True)))
        print(conn.execute(stmt, {"ids": [1, 2]}).fetchall())
        t = text("SELECT title, score FROM posts WHERE score > :s ORDER BY score").columns(
            title=String, score=Integer
        )
        print([(r.title, r.score) for r in conn.execute(t, s=1)])
        sub = (
            select([posts.c.uid, func.max(posts.c.score).label("best")])
            .group_by(posts.c.uid)
            .alias("best")
        )
        print(
            conn.execute(
                select([users.c.name, sub.c.best])
                .select_from(users.join(sub, sub.c.uid == users.c.id))
                .order_by(users.c.id)
            ).fetchall()
        )
        res = conn.execute(
            select(
                [cast(posts.c.score, String).label("s"), literal_column("1").label("one")]
            ).limit(1)
        )
        print(res.returns_rows, res.keys(), res.fetchone())
        res.close()


def cleanup(engine):
    with engine.connect() as conn:
        with conn.begin():
            print(conn.execute(posts.delete().where(posts.c.score < 2)).rowcount)
        trans = conn.begin()
        conn.execute(users.update().where(users.c.name == "bob").values(name="BOB"))
        trans.commit()
        print(conn.execute(select([users.c.name]).order_by(users.c.id)).fetchall())


if __name__ == "__main__":
    engine = create_engine("sqlite://")
    print(setup(engine))
    report(engine)
    cleanup(engine)
