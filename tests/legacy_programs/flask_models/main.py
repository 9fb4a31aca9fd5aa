"""A Flask-SQLAlchemy 2.x blog: seeds a database, queries it in an app context and through views."""

import datetime
import json
import os
import tempfile

from flask import Flask
from sqlalchemy import func
from werkzeug.exceptions import NotFound

import views
from extensions import db
from models import Comment, Post, Tag, User


def create_app(database_uri):
    app = Flask(__name__)
    app.config["SQLALCHEMY_DATABASE_URI"] = database_uri
    app.config["SQLALCHEMY_TRACK_MODIFICATIONS"] = False
    db.init_app(app)
    app.register_blueprint(views.bp)
    return app


def seed():
    tags = {name: Tag(name=name) for name in ("python", "sql", "flask", "misc")}
    users = [
        User(username=name, email=name + "@example.com") for name in ("ann", "bob", "cid", "dee")
    ]
    db.session.add_all(users)
    titles = [
        ("Hello SQL", 0, True, ["sql", "misc"]),
        ("Flask tips", 0, True, ["flask", "python"]),
        ("Draft on joins", 1, False, ["sql"]),
        ("Python 3.8", 1, True, ["python"]),
        ("Queries in Flask", 0, True, ["flask", "sql"]),
        ("Another draft", 2, False, []),
        ("SQL window functions", 1, True, ["sql"]),
        ("Weekend notes", 0, False, ["misc"]),
    ]
    for n, (title, author, published, tag_names) in enumerate(titles, start=1):
        post = Post(
            title=title,
            body="Body of %s" % title,
            published=published,
            views=n * 10 % 35,
            created=datetime.datetime(2019, 3, n, 12, 0),
            author=users[author],
            tags=[tags[name] for name in tag_names],
        )
        db.session.add(post)
        for k in range(n % 3):
            db.session.add(
                Comment(post=post, body="comment %d on %d" % (k, n), approved=k % 2 == 0)
            )
    db.session.commit()


def report():
    print("== Model.query")
    print(User.query.order_by(User.username).all())
    print(Post.query.filter_by(published=True).order_by(Post.id).all())
    print(Post.query.get(1), Post.query.get(99))
    print(Post.query.filter(Post.title.like("%SQL%")).order_by(Post.created.desc()).first())
    print(Post.query.count(), Post.query.filter_by(published=False).count())
    print(Tag.query.filter(Tag.name.in_(["sql", "flask"])).order_by(Tag.name).all())
    print(User.by_username("bob"), User.by_username("nobody"))
    print(Post.query.order_by(Post.views.desc(), Post.id).limit(3).all())
    print(
        Post.query.with_entities(Post.id, Post.views)
        .filter(Post.views > 20)
        .order_by(Post.id)
        .all()
    )
    print(
        Comment.query.join(Post)
        .filter(Post.user_id == 1, Comment.approved == True)
        .order_by(Comment.id)
        .all()
    )

    print("== 404 helpers")
    print(Post.query.get_or_404(2))
    try:
        Post.query.get_or_404(42)
    except NotFound:
        print("post 42: 404")
    try:
        Post.query.get_or_404(43, "no post 43")
    except NotFound as exc:
        print("post 43:", exc.description)
    try:
        User.query.filter_by(username="zed").first_or_404("no zed")
    except NotFound as exc:
        print("user zed:", exc.description)
    print(User.query.filter_by(username="cid").first_or_404())
    try:
        User.query.filter_by(username="zed").first_or_404()
    except NotFound:
        print("user zed: 404")

    print("== pagination")
    for page in (1, 2, 3, 4):
        pagination = Post.query.order_by(Post.id).paginate(page, 3, False)
        print(
            page,
            pagination.items,
            pagination.total,
            pagination.pages,
            pagination.has_prev,
            pagination.has_next,
            pagination.prev_num,
            pagination.next_num,
        )

    print("== dynamic relationships")
    ann = User.query.filter_by(username="ann").one()
    print(ann.post_count, ann.posts.filter_by(published=True).order_by(Post.id).all())
    sql = Tag.query.filter_by(name="sql").one()
    print(sql.posts.count(), [post.title for post in sql.posts.order_by(Post.title)])

    print("== db.session.query")
    print(db.session.query(func.count(Post.id)).filter(Post.published == True).scalar())
    print(
        db.session.query(User.username, func.count(Post.id))
        .outerjoin(Post)
        .group_by(User.username)
        .order_by(User.username)
        .all()
    )
    print(
        db.session.query(Post.title)
        .join(Post.tags)
        .filter(Tag.name == "flask")
        .order_by(Post.title)
        .all()
    )
    print(db.session.query(User).filter(User.posts.any(Post.views > 20)).order_by(User.id).all())

    print("== changes")
    print(
        Post.query.filter(Post.published == False).update(
            {Post.views: Post.views + 100}, synchronize_session=False
        )
    )
    print(Comment.query.filter_by(approved=False).delete())
    db.session.commit()
    print(db.session.query(Post.id, Post.views).order_by(Post.id).all())
    print(Comment.query.order_by(Comment.id).all())


def call_views(app):
    client = app.test_client()
    urls = [
        "/posts/1",
        "/posts/5",
        "/posts/77",
        "/users/ann/posts",
        "/users/ann/posts?page=2",
        "/users/ann/posts?page=9",
        "/users/nobody/posts",
        "/tags/sql",
        "/tags/nope",
        "/search",
        "/search?q=SQL",
        "/search?q=Flask&author=ann",
        "/stats",
    ]
    for url in urls:
        response = client.get(url)
        body = json.dumps(response.get_json(), sort_keys=True) if response.is_json else "-"
        print(url, response.status_code, body)


def main():
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app("sqlite:///" + os.path.join(tmp, "blog.db"))
        with app.app_context():
            db.create_all()
            seed()
            report()
        print("== views")
        call_views(app)
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


if __name__ == "__main__":
    main()
