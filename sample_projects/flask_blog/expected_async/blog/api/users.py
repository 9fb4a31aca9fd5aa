from flask import abort, jsonify, request, url_for

from . import bp
from .errors import error_response
from .. import services
from ..extensions import async_session, db, first_or_404, get_or_404
from ..models import Post, User
from sqlalchemy import select
from sqlalchemy.ext.asyncio import async_object_session


@bp.route("/users", methods=["POST"])
async def create_user():
    data = request.get_json() or {}
    try:
        user = await services.create_user(
            data.get("username"), data.get("email"), data.get("about_me")
        )
    except services.ValidationError as exc:
        if "taken" in str(exc):
            return error_response(409, str(exc))
        raise
    response = jsonify(await user.to_dict(include_email=True))
    response.status_code = 201
    response.headers["Location"] = url_for("api.get_user", id=user.id)
    return response


@bp.route("/users/<int:id>", methods=["GET"])
async def get_user(id):
    user = await async_session.get(User, id)
    if user is None:
        abort(404)
    return jsonify(await user.to_dict())


@bp.route("/users/<int:id>", methods=["DELETE"])
async def delete_user(id):
    user = await get_or_404(User, id)
    await async_session.delete(user)
    await async_session.commit()
    return "", 204


@bp.route("/users/<username>/followers")
async def followers(username):
    user = await first_or_404(select(User).filter_by(username=username).limit(1))
    return jsonify(
        {
            "username": user.username,
            "count": await async_object_session(user).run_sync(lambda _sync_session: user.followers.count()),
            "followers": [u.username for u in await async_object_session(user).run_sync(lambda _sync_session: [*user.followers.order_by(User.id)])],
        }
    )


@bp.route("/users/<username>/following")
async def following(username):
    user = await first_or_404(select(User).filter_by(username=username).limit(1))
    followed = await async_object_session(user).run_sync(lambda _sync_session: user.followed.order_by(User.id).all())
    return jsonify(
        {
            "username": user.username,
            "count": len(followed),
            "following": [u.username for u in followed],
        }
    )


@bp.route("/users/<username>/follow", methods=["POST"])
async def follow(username):
    data = request.get_json() or {}
    target = await first_or_404(select(User).filter_by(username=username).limit(1))
    follower = (await async_session.scalars(select(User).filter_by(username=data.get("follower")).limit(1))).first()
    if follower is None:
        return error_response(400, "unknown follower")
    changed = await follower.follow(target)
    await async_session.commit()
    await async_session.refresh(target)
    return jsonify({"changed": changed, "follower_count": await async_object_session(target).run_sync(lambda _sync_session: target.followers.count())})


@bp.route("/users/<username>/unfollow", methods=["POST"])
async def unfollow(username):
    data = request.get_json() or {}
    target = await first_or_404(select(User).filter_by(username=username).limit(1))
    follower = await first_or_404(select(User).filter_by(username=data.get("follower")).limit(1))
    changed = await follower.unfollow(target)
    await async_session.commit()
    await async_session.refresh(target)
    return jsonify({"changed": changed, "follower_count": await async_object_session(target).run_sync(lambda _sync_session: target.followers.count())})


@bp.route("/users/<username>/feed")
async def feed(username):
    user = await first_or_404(select(User).filter_by(username=username).limit(1))
    limit = request.args.get("limit", 10, type=int)
    posts = user.followed_posts().limit(limit).all()
    return jsonify({"items": [p.to_dict() for p in posts]})


@bp.route("/users/<username>/drafts")
async def drafts(username):
    user = await first_or_404(select(User).filter_by(username=username).limit(1))
    drafts = await async_object_session(user).run_sync(lambda _sync_session: user.posts.filter(Post.published == False).order_by(Post.id).all())  # noqa: E712
    return jsonify({"count": len(drafts), "items": [p.slug for p in drafts]})
