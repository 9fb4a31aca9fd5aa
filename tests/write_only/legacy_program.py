"""A small legacy program on ``lazy="dynamic"`` relationships, run before and after the
migration by ``test_runtime.py``: filters, counts, the relationship's ``order_by``,
``append``/``extend``/``remove``, and deletes of owners with cascades, many-to-many and
self-referential association rows."""

MODELS = """
from sqlalchemy import Column, ForeignKey, Integer, String, Table
from sqlalchemy.orm import backref, declarative_base, relationship

Base = declarative_base()

post_tags = Table(
    "post_tags",
    Base.metadata,
    Column("post_id", ForeignKey("posts.id"), primary_key=True),
    Column("tag_id", ForeignKey("tags.id"), primary_key=True),
)
follows = Table(
    "follows",
    Base.metadata,
    Column("follower_id", ForeignKey("users.id"), primary_key=True),
    Column("followed_id", ForeignKey("users.id"), primary_key=True),
)


class User(Base):
    __tablename__ = "users"
    id = Column(Integer, primary_key=True)
    name = Column(String(20))
    posts = relationship(
        "Post", backref="author", lazy="dynamic", order_by="Post.title", cascade="all, delete-orphan"
    )
    notes = relationship("Note", lazy="dynamic")
    followed = relationship(
        "User",
        secondary=follows,
        primaryjoin=follows.c.follower_id == id,
        secondaryjoin=follows.c.followed_id == id,
        backref=backref("followers", lazy="dynamic"),
        lazy="dynamic",
    )

    def post_count(self):
        return self.posts.count()


class Post(Base):
    __tablename__ = "posts"
    id = Column(Integer, primary_key=True)
    title = Column(String(20))
    score = Column(Integer)
    user_id = Column(ForeignKey("users.id"), nullable=False)
    tags = relationship("Tag", secondary=post_tags, backref=backref("tagged", lazy="dynamic"))


class Note(Base):
    __tablename__ = "notes"
    id = Column(Integer, primary_key=True)
    user_id = Column(ForeignKey("users.id"))


class Tag(Base):
    __tablename__ = "tags"
    id = Column(Integer, primary_key=True)
    name = Column(String(20))
"""

PROGRAM = """
from sqlalchemy.orm import Session

from app.models import Note, Post, Tag, User


def seed(session: Session):
    ann, bob, cy = User(id=1, name="ann"), User(id=2, name="bob"), User(id=3, name="cy")
    session.add_all([ann, bob, cy])
    session.flush()
    for title, score in [("c", 3), ("a", 1), ("b", 2)]:
        ann.posts.append(Post(title=title, score=score))
    bob.posts.extend([Post(title="x", score=5)])
    red = Tag(id=1, name="red")
    session.add(red)
    session.flush()
    first = ann.posts.first()
    first.tags.append(red)
    print("bob's first", bob.posts.first().title)
    xray = bob.posts.filter_by(title="x").one()
    xray.tags.append(red)
    ann.notes.append(Note(id=1))
    ann.followed.extend([bob, cy])
    cy.followed.append(ann)
    session.commit()


def report(session: Session, user_id):
    user = session.get(User, user_id)
    print("count", user.posts.count(), user.post_count())
    print("ordered", [p.title for p in user.posts])
    print("filtered", [p.title for p in user.posts.filter(Post.score > 1)])
    best = user.posts.filter_by(score=2).first()
    print("first", best.title if best else None, [p.title for p in user.posts.limit(1)])
    print("desc", [p.title for p in user.posts.order_by(Post.score.desc()).all()])
    print("limited", [p.title for p in user.posts.offset(1).limit(1)])
    if user.posts.count() > 1:
        print("indexed", user.posts[1].title, [p.title for p in user.posts[1:3]])
    print("sliced", [p.title for p in user.posts.filter(Post.score > 0)[1:]])
    anyone = session.get(Post, 1)
    print("in", anyone in user.posts, anyone not in user.posts.filter(Post.score > 2))
    print("followed", [u.name for u in user.followed.order_by(User.id)])
    print("followers", user.followers.count(), user.followers.filter(User.id > 1).count())
    for post in user.posts:
        print("post", post.title, [t.name for t in post.tags])
    if user.notes.count():
        print("notes", [n.id for n in user.notes.all()])


def tagged(session: Session, tag_id):
    tag = session.get(Tag, tag_id)
    print("tagged", [p.title for p in tag.tagged.order_by(Post.title)])


def change(session: Session, user_id):
    user = session.get(User, user_id)
    user.posts.append(Post(title="d", score=4))
    gone = user.posts.filter_by(title="c").one()
    user.posts.remove(gone)
    user.followed.remove(session.get(User, 3))
    session.commit()


def drop_user(session: Session, user_id):
    user = session.get(User, user_id)
    session.delete(user)
    session.commit()


def drop_tag(session: Session, tag_id):
    tag = session.get(Tag, tag_id)
    session.delete(tag)
    session.commit()
"""
