import re
from datetime import datetime

from .extensions import db
from sqlalchemy import func, select

followers = db.Table(
    "followers",
    db.Column("follower_id", db.Integer, db.ForeignKey("users.id"), primary_key=True),
    db.Column("followed_id", db.Integer, db.ForeignKey("users.id"), primary_key=True),
)

post_tags = db.Table(
    "post_tags",
    db.Column("post_id", db.Integer, db.ForeignKey("posts.id"), primary_key=True),
    db.Column("tag_id", db.Integer, db.ForeignKey("tags.id"), primary_key=True),
)


def slugify(text):
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return slug[:150] or "post"


class User(db.Model):
    __tablename__ = "users"

    id = db.Column(db.Integer, primary_key=True)
    username = db.Column(db.String(64), unique=True, nullable=False, index=True)
    email = db.Column(db.String(120), unique=True, nullable=False)
    about_me = db.Column(db.String(255))
    joined_at = db.Column(db.DateTime, default=datetime.utcnow)

    posts = db.relationship(
        "Post", backref="author", lazy="dynamic", cascade="all, delete-orphan"
    )
    followed = db.relationship(
        "User",
        secondary=followers,
        primaryjoin=(followers.c.follower_id == id),
        secondaryjoin=(followers.c.followed_id == id),
        backref=db.backref("followers", lazy="dynamic"),
        lazy="dynamic",
    )

    def __repr__(self):
        return "<User %r>" % self.username

    def follow(self, user):
        if user is not self and not self.is_following(user):
            self.followed.append(user)
            return True
        return False

    def unfollow(self, user):
        if self.is_following(user):
            self.followed.remove(user)
            return True
        return False

    def is_following(self, user):
        return self.followed.filter(followers.c.followed_id == user.id).count() > 0

    def followed_posts(self):
        # TODO(sqla-upgrade): Query.union() selects from a subquery of the UNION, which later calls are adapted to: select from union(...).subquery() (aliased(M, it) for entities)
        followed = Post.query.join(
            followers, (followers.c.followed_id == Post.user_id)
        ).filter(followers.c.follower_id == self.id, Post.published == True)  # noqa: E712
        # TODO(sqla-upgrade): this query is an operand of Query.union(), which stays a legacy Query (see its TODO); it stays one with it
        own = Post.query.filter_by(user_id=self.id)
        return followed.union(own).order_by(Post.timestamp.desc(), Post.id.desc())

    @property
    def post_count(self):
        return self.posts.count()

    def to_dict(self, include_email=False):
        data = {
            "id": self.id,
            "username": self.username,
            "about_me": self.about_me,
            "post_count": self.posts.count(),
            "follower_count": self.followers.count(),
            "followed_count": self.followed.count(),
        }
        if include_email:
            data["email"] = self.email
        return data


class Post(db.Model):
    __tablename__ = "posts"

    id = db.Column(db.Integer, primary_key=True)
    title = db.Column(db.String(140), nullable=False)
    slug = db.Column(db.String(160), unique=True, nullable=False)
    body = db.Column(db.Text, nullable=False)
    published = db.Column(db.Boolean, default=True, nullable=False)
    timestamp = db.Column(db.DateTime, index=True, default=datetime.utcnow)
    user_id = db.Column(db.Integer, db.ForeignKey("users.id"), nullable=False)

    comments = db.relationship(
        "Comment",
        backref="post",
        cascade="all, delete-orphan",
        order_by="Comment.id",
    )
    tags = db.relationship(
        "Tag",
        secondary=post_tags,
        backref=db.backref("posts", lazy="dynamic"),
        order_by="Tag.name",
    )

    def __repr__(self):
        return "<Post %r>" % self.slug

    @staticmethod
    def unique_slug(title):
        base = slugify(title)
        slug = base
        n = 2
        while db.session.scalar(select(func.count()).select_from(select(Post).filter_by(slug=slug).subquery())):
            slug = "%s-%d" % (base, n)
            n += 1
        return slug

    @property
    def summary(self):
        if len(self.body) <= 80:
            return self.body
        return self.body[:77].rstrip() + "..."

    @property
    def approved_comments(self):
        return [c for c in self.comments if c.approved]

    def set_tags(self, names):
        self.tags = [Tag.get_or_create(n) for n in names]

    def to_dict(self, with_comments=False):
        data = {
            "id": self.id,
            "title": self.title,
            "slug": self.slug,
            "summary": self.summary,
            "published": self.published,
            "author": self.author.username,
            "author_id": self.author.id,
            "tags": [t.name for t in self.tags],
            "comment_count": len(self.approved_comments),
        }
        if with_comments:
            data["body"] = self.body
            data["comments"] = [c.to_dict() for c in self.approved_comments]
        return data


class Comment(db.Model):
    __tablename__ = "comments"

    id = db.Column(db.Integer, primary_key=True)
    author_name = db.Column(db.String(64), nullable=False)
    body = db.Column(db.Text, nullable=False)
    approved = db.Column(db.Boolean, default=True, nullable=False)
    timestamp = db.Column(db.DateTime, default=datetime.utcnow)
    post_id = db.Column(db.Integer, db.ForeignKey("posts.id"), nullable=False)

    def to_dict(self):
        return {
            "id": self.id,
            "author_name": self.author_name,
            "body": self.body,
            "post": self.post.slug,
        }


class Tag(db.Model):
    __tablename__ = "tags"

    id = db.Column(db.Integer, primary_key=True)
    name = db.Column(db.String(50), unique=True, nullable=False)

    def __repr__(self):
        return "<Tag %r>" % self.name

    @classmethod
    def get_or_create(cls, name):
        name = name.strip().lower()
        tag = db.session.scalars(select(cls).filter_by(name=name).limit(1)).first()
        if tag is None:
            tag = cls(name=name)
            db.session.add(tag)
        return tag
