from flask import abort, jsonify, request, url_for

from . import bp
from .errors import error_response
from .. import services
from ..extensions import db
from ..models import Post, User
from sqlalchemy import select


@bp.route("/users", methods=["POST"])
def create_user():
    data = request.get_json() or {}
    try:
        user = services.create_user(
            data.get("username"), data.get("email"), data.get("about_me")
        )
    except services.ValidationError as exc:
        if "taken" in str(exc):
            return error_response(409, str(exc))
        raise
    response = jsonify(user.to_dict(include_email=True))
    response.status_code = 201
    response.headers["Location"] = url_for("api.get_user", id=user.id)
    return response


@bp.route("/users/<int:id>", methods=["GET"])
def get_user(id):
    user = db.session.get(User, id)
    if user is None:
        abort(404)
    return jsonify(user.to_dict())


@bp.route("/users/<int:id>", methods=["DELETE"])
def delete_user(id):
    user = db.get_or_404(User, id)
    db.session.delete(user)
    db.session.commit()
    return "", 204


@bp.route("/users/<username>/followers")
def followers(username):
    user = db.first_or_404(select(User).filter_by(username=username).limit(1))
    return jsonify(
        {
            "username": user.username,
            "count": user.followers.count(),
            "followers": [u.username for u in user.followers.order_by(User.id)],
        }
    )


@bp.route("/users/<username>/following")
def following(username):
    user = db.first_or_404(select(User).filter_by(username=username).limit(1))
    followed = user.followed.order_by(User.id).all()
    return jsonify(
        {
            "username": user.username,
            "count": len(followed),
            "following": [u.username for u in followed],
        }
    )


@bp.route("/users/<username>/follow", methods=["POST"])
def follow(username):
    data = request.get_json() or {}
    target = db.first_or_404(select(User).filter_by(username=username).limit(1))
    follower = db.session.scalars(select(User).filter_by(username=data.get("follower")).limit(1)).first()
    if follower is None:
        return error_response(400, "unknown follower")
    changed = follower.follow(target)
    db.session.commit()
    return jsonify({"changed": changed, "follower_count": target.followers.count()})


@bp.route("/users/<username>/unfollow", methods=["POST"])
def unfollow(username):
    data = request.get_json() or {}
    target = db.first_or_404(select(User).filter_by(username=username).limit(1))
    follower = db.first_or_404(select(User).filter_by(username=data.get("follower")).limit(1))
    changed = follower.unfollow(target)
    db.session.commit()
    return jsonify({"changed": changed, "follower_count": target.followers.count()})


@bp.route("/users/<username>/feed")
def feed(username):
    user = db.first_or_404(select(User).filter_by(username=username).limit(1))
    limit = request.args.get("limit", 10, type=int)
    posts = user.followed_posts().limit(limit).all()
    return jsonify({"items": [p.to_dict() for p in posts]})


@bp.route("/users/<username>/drafts")
def drafts(username):
    user = db.first_or_404(select(User).filter_by(username=username).limit(1))
    drafts = user.posts.filter(Post.published == False).order_by(Post.id).all()  # noqa: E712
    return jsonify({"count": len(drafts), "items": [p.slug for p in drafts]})
