from sqlalchemy import (
    Column,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    bindparam,
    create_engine,
    desc,
    func,
    select,
    text,
)
from sqlalchemy.ext.declarative import declarative_base
from sqlalchemy.orm import Session, relationship, subqueryload

engine = create_engine("sqlite://")
metadata = MetaData(bind=engine)
items = Table(
    "items",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(20)),
    Column("qty", Integer),
)
metadata.create_all()
items.insert().execute(name="a", qty=1)
items.insert().execute([{"name": "b", "qty": 2}, {"name": "c", "qty": 3}])
print(select([items.c.name]).order_by(items.c.id).execute().fetchall())
print(select([func.max(items.c.qty)]).scalar())
conn = engine.connect()
r = conn.execute(items.select().where(items.c.qty > bindparam("q")), q=1)
print([(row["name"], row.qty) for row in r])
print(conn.execute("select name from items where qty = ?", 2).fetchone()[0])
print(conn.execute(text("select count(*) from items")).scalar())
res = conn.execute(items.update().where(items.c.name == "a").values(qty=10))
print(res.rowcount)
print(conn.execute(select([items.c.qty]).where(items.c.name == "a")).scalar())
trans = conn.begin()
conn.execute(items.delete().where(items.c.name == "c"))
trans.rollback()
print(conn.execute(select([func.count(items.c.id)])).scalar())
sub = select([items.c.id]).where(items.c.qty > 1).alias("s")
print(conn.execute(select([func.count()]).select_from(sub)).scalar())
print(
    conn.execute(select([items.c.name], items.c.qty >= 2, order_by=[desc(items.c.name)])).fetchall()
)
sq = select([func.max(items.c.qty)]).as_scalar()
print(conn.execute(select([items.c.name]).where(items.c.qty == sq)).fetchall())
conn.close()

Base = declarative_base()


class User(Base):
    __tablename__ = "users"
    id = Column(Integer, primary_key=True)
    name = Column(String(20))
    posts = relationship("Post", back_populates="author", order_by="Post.id")


class Post(Base):
    __tablename__ = "posts"
    id = Column(Integer, primary_key=True)
    title = Column(String(20))
    author_id = Column(Integer, ForeignKey("users.id"))
    author = relationship("User", back_populates="posts")


Base.metadata.create_all(engine)
s = Session(bind=engine)
s.add_all(
    [
        User(name="u1", posts=[Post(title="p1"), Post(title="p2")]),
        User(name="u2", posts=[Post(title="p3")]),
        User(name="u3"),
    ]
)
s.commit()
for u, p in s.query(User, Post).join(Post).order_by(Post.id):
    print(u.name, p.title)
print([u.name for u in s.query(User).outerjoin(User.posts).filter(Post.id == None)])
print(
    [
        (u.name, len(u.posts))
        for u in s.query(User).options(subqueryload(User.posts)).order_by(User.id)
    ]
)
print(
    s.query(User).order_by(User.id)[1].name, [u.name for u in s.query(User).order_by(User.id)[0:2]]
)
print([u.name for u in s.query(User).order_by(User.id).slice(1, 3)])
print(s.query(User.name).filter(User.id == 1).scalar())
print(s.query(Post).with_parent(s.query(User).get(1), "posts").count())
ids = s.query(Post.author_id).filter(Post.title.like("p%"))
print([u.name for u in s.query(User).filter(User.id.in_(ids)).order_by(User.id)])
print(
    s.query(func.count(Post.id), Post.author_id)
    .group_by(Post.author_id)
    .having(func.count(Post.id) > 1)
    .all()
)
print([u.name for u in s.query(User).order_by(User.id).limit(2).offset(1)])
print(s.query(User).filter(User.name.in_(["u1", "u2"])).filter_by(id=2).one().name)
q = s.query(User).filter(User.name != "u3")
print(q.count(), [u.name for u in q.order_by(desc(User.name))])
print(
    s.query(Post.title)
    .join(Post.author)
    .filter(User.name == "u1")
    .order_by(Post.title.desc())
    .first()
)
print([p.title for p in s.query(Post).yield_per(1).order_by(Post.id)])
print(s.query(User.id, User.name).order_by(User.id).all()[0].name)
print(s.query(Post).filter(Post.id > 1).update({Post.title: Post.title + "!"}))
print(sorted(t for (t,) in s.query(Post.title)))
s.query(Post).filter(Post.title == "p3!").delete()
print(s.query(Post).count(), len(s.query(User).get(2).posts))
s.commit()
