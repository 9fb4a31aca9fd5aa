"""JSON views of the blog, as a Flask-SQLAlchemy 2.x app writes them."""

from flask import Blueprint, jsonify, request

from extensions import db
from models import Post, Tag, User

bp = Blueprint("blog", __name__)


@bp.route("/posts/<int:post_id>")
def show_post(post_id):
    post = Post.query.get_or_404(post_id)
    return jsonify(post.to_dict())


@bp.route("/users/<username>/posts")
def user_posts(username):
    user = User.query.filter_by(username=username).first_or_404()
    page = request.args.get("page", 1, type=int)
    pagination = Post.query.filter_by(author=user).order_by(Post.id.desc()).paginate(page, 2, False)
    return jsonify(
        {
            "user": user.username,
            "page": pagination.page,
            "pages": pagination.pages,
            "total": pagination.total,
            "has_next": pagination.has_next,
            "next_num": pagination.next_num,
            "items": [post.title for post in pagination.items],
        }
    )


@bp.route("/tags/<name>")
def tag_posts(name):
    tag = Tag.query.filter_by(name=name).first_or_404()
    posts = tag.posts.filter(Post.published == True).order_by(Post.id).all()
    return jsonify({"tag": tag.name, "posts": [post.id for post in posts]})


@bp.route("/search")
def search():
    query = Post.query.filter(Post.published == True)
    text = request.args.get("q")
    if text:
        query = query.filter(Post.title.contains(text))
    author = request.args.get("author")
    if author:
        query = query.join(User).filter(User.username == author)
    return jsonify({"count": query.count(), "ids": [post.id for post in query.order_by(Post.id)]})


@bp.route("/stats")
def stats():
    rows = (
        db.session.query(User.username, db.func.count(Post.id), db.func.sum(Post.views))
        .outerjoin(Post)
        .group_by(User.id)
        .order_by(User.username)
        .all()
    )
    return jsonify({username: [count, views] for username, count, views in rows})
