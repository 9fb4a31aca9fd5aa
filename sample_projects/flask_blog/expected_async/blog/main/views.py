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
from ..extensions import async_session, db, first_or_404, get_or_404, render_with_session
from ..models import Post, Tag, User
from sqlalchemy import select
from sqlalchemy.ext.asyncio import async_object_session


@bp.app_context_processor
async def inject_sidebar():
    return {"popular_tags": await services.tag_cloud(limit=5)}


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
async def post(slug):
    post = await first_or_404(select(Post).filter_by(slug=slug).limit(1))
    if not post.published and request.args.get("preview") != "1":
        abort(404)
    related = []
    if post.tags:
        related = (
            (await async_session.scalars(select(Post).where(Post.tags.any(Tag.id.in_([t.id for t in post.tags])))
            .where(Post.id != post.id, Post.published == True)  # noqa: E712
            .order_by(Post.id.desc())
            .limit(3)))
            .all()
        )
    return await render_with_session(render_template, "post.html", post=post, related=related)


@bp.route("/post/<slug>/comment", methods=["POST"])
async def comment(slug):
    post = await first_or_404(select(Post).filter_by(slug=slug, published=True).limit(1))
    try:
        comment = await services.add_comment(
            post, request.form.get("author_name"), request.form.get("body")
        )
    except services.ValidationError as exc:
        flash(str(exc))
        return await render_with_session(render_template, "post.html", post=post, related=[]), 400
    if comment.approved:
        flash("Your comment has been published.")
    else:
        flash("Your comment is awaiting moderation.")
    return redirect(url_for("main.post", slug=post.slug))


@bp.route("/post/new", methods=["GET", "POST"])
async def new_post():
    if request.method == "POST":
        author = await services.find_user(request.form.get("author", ""))
        if author is None:
            flash("Unknown author.")
            return await render_with_session(render_template, "new_post.html", form=request.form), 400
        try:
            post = await services.create_post(
                author,
                request.form.get("title"),
                request.form.get("body"),
                tags=request.form.get("tags"),
                published=request.form.get("draft") != "on",
            )
        except services.ValidationError as exc:
            flash(str(exc))
            return await render_with_session(render_template, "new_post.html", form=request.form), 400
        flash("Post created.")
        if not post.published:
            return redirect(url_for("main.post", slug=post.slug, preview=1))
        return redirect(url_for("main.post", slug=post.slug))
    return await render_with_session(render_template, "new_post.html", form={})


@bp.route("/post/<int:post_id>/delete", methods=["POST"])
async def delete_post(post_id):
    post = await get_or_404(Post, post_id)
    username = post.author.username
    await async_session.delete(post)
    await async_session.commit()
    flash("Post deleted.")
    return redirect(url_for("main.user", username=username))


@bp.route("/user/<username>")
async def user(username):
    user = await first_or_404(select(User).filter_by(username=username).limit(1))
    posts = await async_object_session(user).run_sync(lambda _sync_session: (
        user.posts.filter_by(published=True)
        .order_by(Post.timestamp.desc(), Post.id.desc())
        .limit(current_app.config["POSTS_PER_PAGE"])
        .all()
    ))
    followers = await async_object_session(user).run_sync(lambda _sync_session: user.followers.order_by(User.username).all())
    return await render_with_session(
        render_template, "user.html",
        user=user,
        posts=posts,
        followers=followers,
        suggestions=await services.suggested_users(user),
    )


@bp.route("/user/<username>/feed")
async def feed(username):
    user = await first_or_404(select(User).filter_by(username=username).limit(1))
    posts = user.followed_posts().limit(current_app.config["FEED_SIZE"]).all()
    return await render_with_session(render_template, "feed.html", user=user, posts=posts)


@bp.route("/follow/<username>", methods=["POST"])
async def follow(username):
    target = await first_or_404(select(User).filter_by(username=username).limit(1))
    follower = (await async_session.scalars(select(User).filter_by(username=request.form.get("follower", "")).limit(1))).first()
    if follower is None:
        abort(400)
    if await follower.follow(target):
        await async_session.commit()
        flash("You are now following %s." % username)
    else:
        flash("Nothing to do.")
    return redirect(url_for("main.user", username=username))


@bp.route("/unfollow/<username>", methods=["POST"])
async def unfollow(username):
    target = await first_or_404(select(User).filter_by(username=username).limit(1))
    follower = (await async_session.scalars(select(User).filter_by(username=request.form.get("follower", "")).limit(1))).first()
    if follower is None:
        abort(400)
    if await follower.unfollow(target):
        await async_session.commit()
        flash("You are no longer following %s." % username)
    return redirect(url_for("main.user", username=username))


@bp.route("/tag/<name>")
async def tag(name):
    tag = await first_or_404(select(Tag).filter_by(name=name).limit(1))
    posts = await async_object_session(tag).run_sync(lambda _sync_session: (
        tag.posts.filter(Post.published == True)  # noqa: E712
        .order_by(Post.id.desc())
        .all()
    ))
    return await render_with_session(render_template, "tag.html", tag=tag, posts=posts)


@bp.route("/search")
async def search():
    q = request.args.get("q", "").strip()
    results = await services.search_posts(q) if q else []
    return await render_with_session(render_template, "search.html", q=q, posts=results)
