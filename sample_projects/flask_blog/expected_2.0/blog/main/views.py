from flask import (
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)

from . import bp
from .. import services
from ..extensions import db
from ..models import Post, Tag, User
from sqlalchemy import select


@bp.app_context_processor
def inject_sidebar():
    return {"popular_tags": services.tag_cloud(limit=5)}


@bp.route("/")
def index():
    page = request.args.get("page", 1, type=int)
    pagination = services.published_posts().paginate(
        page=page, per_page=current_app.config["POSTS_PER_PAGE"], error_out=False
    )
    return render_template(
        "index.html", posts=pagination.items, pagination=pagination
    )


@bp.route("/post/<slug>")
def post(slug):
    post = db.first_or_404(select(Post).filter_by(slug=slug).limit(1))
    if not post.published and request.args.get("preview") != "1":
        abort(404)
    related = []
    if post.tags:
        related = (
            db.session.scalars(select(Post).where(Post.tags.any(Tag.id.in_([t.id for t in post.tags])))
            .where(Post.id != post.id, Post.published == True)  # noqa: E712
            .order_by(Post.id.desc())
            .limit(3))
            .all()
        )
    return render_template("post.html", post=post, related=related)


@bp.route("/post/<slug>/comment", methods=["POST"])
def comment(slug):
    post = db.first_or_404(select(Post).filter_by(slug=slug, published=True).limit(1))
    try:
        comment = services.add_comment(
            post, request.form.get("author_name"), request.form.get("body")
        )
    except services.ValidationError as exc:
        flash(str(exc))
        return render_template("post.html", post=post, related=[]), 400
    if comment.approved:
        flash("Your comment has been published.")
    else:
        flash("Your comment is awaiting moderation.")
    return redirect(url_for("main.post", slug=post.slug))


@bp.route("/post/new", methods=["GET", "POST"])
def new_post():
    if request.method == "POST":
        author = services.find_user(request.form.get("author", ""))
        if author is None:
            flash("Unknown author.")
            return render_template("new_post.html", form=request.form), 400
        try:
            post = services.create_post(
                author,
                request.form.get("title"),
                request.form.get("body"),
                tags=request.form.get("tags"),
                published=request.form.get("draft") != "on",
            )
        except services.ValidationError as exc:
            flash(str(exc))
            return render_template("new_post.html", form=request.form), 400
        flash("Post created.")
        if not post.published:
            return redirect(url_for("main.post", slug=post.slug, preview=1))
        return redirect(url_for("main.post", slug=post.slug))
    return render_template("new_post.html", form={})


@bp.route("/post/<int:post_id>/delete", methods=["POST"])
def delete_post(post_id):
    post = db.get_or_404(Post, post_id)
    username = post.author.username
    db.session.delete(post)
    db.session.commit()
    flash("Post deleted.")
    return redirect(url_for("main.user", username=username))


@bp.route("/user/<username>")
def user(username):
    user = db.first_or_404(select(User).filter_by(username=username).limit(1))
    posts = (
        user.posts.filter_by(published=True)
        .order_by(Post.timestamp.desc(), Post.id.desc())
        .limit(current_app.config["POSTS_PER_PAGE"])
        .all()
    )
    followers = user.followers.order_by(User.username).all()
    return render_template(
        "user.html",
        user=user,
        posts=posts,
        followers=followers,
        suggestions=services.suggested_users(user),
    )


@bp.route("/user/<username>/feed")
def feed(username):
    user = db.first_or_404(select(User).filter_by(username=username).limit(1))
    posts = user.followed_posts().limit(current_app.config["FEED_SIZE"]).all()
    return render_template("feed.html", user=user, posts=posts)


@bp.route("/follow/<username>", methods=["POST"])
def follow(username):
    target = db.first_or_404(select(User).filter_by(username=username).limit(1))
    follower = db.session.scalars(select(User).filter_by(username=request.form.get("follower", "")).limit(1)).first()
    if follower is None:
        abort(400)
    if follower.follow(target):
        db.session.commit()
        flash("You are now following %s." % username)
    else:
        flash("Nothing to do.")
    return redirect(url_for("main.user", username=username))


@bp.route("/unfollow/<username>", methods=["POST"])
def unfollow(username):
    target = db.first_or_404(select(User).filter_by(username=username).limit(1))
    follower = db.session.scalars(select(User).filter_by(username=request.form.get("follower", "")).limit(1)).first()
    if follower is None:
        abort(400)
    if follower.unfollow(target):
        db.session.commit()
        flash("You are no longer following %s." % username)
    return redirect(url_for("main.user", username=username))


@bp.route("/tag/<name>")
def tag(name):
    tag = db.first_or_404(select(Tag).filter_by(name=name).limit(1))
    posts = (
        tag.posts.filter(Post.published == True)  # noqa: E712
        .order_by(Post.id.desc())
        .all()
    )
    return render_template("tag.html", tag=tag, posts=posts)


@bp.route("/search")
def search():
    q = request.args.get("q", "").strip()
    results = services.search_posts(q) if q else []
    return render_template("search.html", q=q, posts=results)
