"""Blog models, Flask-SQLAlchemy 2.x style (db.Model, Model.query, lazy="dynamic")."""

import datetime

from extensions import db

post_tags = db.Table(
    "post_tags",
    db.Column("post_id", db.Integer, db.ForeignKey("post.id"), primary_key=True),
    db.Column("tag_id", db.Integer, db.ForeignKey("tag.id"), primary_key=True),
)


class User(db.Model):
    id = db.Column(db.Integer, primary_key=True)
    username = db.Column(db.String(64), unique=True, nullable=False)
    email = db.Column(db.String(120), unique=True, nullable=False)
    posts = db.relationship("Post", backref="author", lazy="dynamic")

    @classmethod
    def by_username(cls, username):
        return cls.query.filter_by(username=username).first()

    @property
    def post_count(self):
        return self.posts.count()

    def __repr__(self):
        return "User(%d, %r)" % (self.id, self.username)


class Post(db.Model):
    id = db.Column(db.Integer, primary_key=True)
    title = db.Column(db.String(120), nullable=False)
    body = db.Column(db.Text, nullable=False, default="")
    published = db.Column(db.Boolean, nullable=False, default=False)
    views = db.Column(db.Integer, nullable=False, default=0)
    created = db.Column(db.DateTime, nullable=False, default=datetime.datetime(2019, 1, 1))
    user_id = db.Column(db.Integer, db.ForeignKey("user.id"), nullable=False)
    tags = db.relationship(
        "Tag", secondary=post_tags, order_by="Tag.name", backref=db.backref("posts", lazy="dynamic")
    )

    def to_dict(self):
        return {
            "id": self.id,
            "title": self.title,
            "author": self.author.username,
            "tags": [tag.name for tag in self.tags],
            "comments": Comment.query.filter_by(post_id=self.id, approved=True).count(),
        }

    def __repr__(self):
        return "Post(%d, %r)" % (self.id, self.title)


class Tag(db.Model):
    id = db.Column(db.Integer, primary_key=True)
    name = db.Column(db.String(32), unique=True, nullable=False)

    def __repr__(self):
        return "Tag(%d, %r)" % (self.id, self.name)


class Comment(db.Model):
    id = db.Column(db.Integer, primary_key=True)
    post_id = db.Column(db.Integer, db.ForeignKey("post.id"), nullable=False)
    body = db.Column(db.String(200), nullable=False)
    approved = db.Column(db.Boolean, nullable=False, default=False)
    post = db.relationship("Post", backref=db.backref("comments", order_by="Comment.id"))

    def __repr__(self):
        return "Comment(%d, %r)" % (self.id, self.body)
