from flask import current_app, jsonify, request, url_for

from . import bp
from .errors import error_response
from .. import services
from ..extensions import async_session, db, get_or_404
from ..models import Comment, Post, Tag, User
from sqlalchemy import select
from sqlalchemy.orm import with_parent


def pagination_dict(pagination, endpoint, **kwargs):
    return {
        "items": [p.to_dict() for p in pagination.items],
        "page": pagination.page,
        "pages": pagination.pages,
        "total": pagination.total,
        "has_next": pagination.has_next,
        "next": url_for(endpoint, page=pagination.next_num, **kwargs)
        if pagination.has_next
        else None,
    }


@bp.route("/posts")
def list_posts():
    page = request.args.get("page", 1, type=int)
    per_page = min(
        request.args.get("per_page", current_app.config["API_PER_PAGE"], type=int), 50
    )
    query = services.published_posts()
    tag = request.args.get("tag")
    if tag:
        query = query.filter(Post.tags.any(Tag.name == tag))
    author = request.args.get("author")
    if author:
        query = query.join(User, Post.user_id == User.id).filter(User.username == author)
    pagination = query.paginate(page=page, per_page=per_page, error_out=False)
    return jsonify(pagination_dict(pagination, "api.list_posts"))


@bp.route("/posts/<int:id>")
async def get_post(id):
    post = await get_or_404(Post, id)
    return jsonify(post.to_dict(with_comments=True))


@bp.route("/posts", methods=["POST"])
async def create_post():
    data = request.get_json() or {}
    author = (await async_session.scalars(select(User).filter_by(username=data.get("author")).limit(1))).first()
    if author is None:
        return error_response(400, "unknown author")
    post = await services.create_post(
        author,
        data.get("title"),
        data.get("body"),
        tags=data.get("tags"),
        published=data.get("published", True),
    )
    response = jsonify(post.to_dict())
    response.status_code = 201
    response.headers["Location"] = url_for("api.get_post", id=post.id)
    return response


@bp.route("/posts/<int:id>", methods=["PATCH"])
async def update_post(id):
    post = await get_or_404(Post, id)
    data = request.get_json() or {}
    if "title" in data:
        post.title = data["title"]
    if "body" in data:
        post.body = data["body"]
    if "published" in data:
        post.published = bool(data["published"])
    if "tags" in data:
        await post.set_tags(services.parse_tags(data["tags"]))
    await async_session.commit()
    await async_session.refresh(post)
    return jsonify(post.to_dict())


@bp.route("/posts/<int:id>/comments")
async def post_comments(id):
    post = await get_or_404(Post, id)
    comments = (
        (await async_session.scalars(select(Comment).where(with_parent(post, Post.comments))
        .filter_by(approved=True)
        .order_by(Comment.id)))
        .all()
    )
    return jsonify([c.to_dict() for c in comments])


@bp.route("/tags")
async def tags():
    return jsonify(await services.tag_cloud(limit=request.args.get("limit", 10, type=int)))


@bp.route("/stats")
async def stats():
    return jsonify(await services.site_stats())


@bp.route("/search")
async def search():
    q = request.args.get("q", "").strip()
    if not q:
        return error_response(400, "missing q")
    return jsonify([p.to_dict() for p in await services.search_posts(q)])
