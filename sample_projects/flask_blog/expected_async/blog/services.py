"""Helpers shared by the HTML views, the JSON API and the CLI."""
from datetime import datetime, timedelta

from sqlalchemy import select, update, func, or_

from .extensions import async_session, db
from .models import Comment, Post, Tag, User, post_tags
from sqlalchemy.ext.asyncio import async_object_session


class ValidationError(Exception):
    pass


def parse_tags(raw):
    if not raw:
        return []
    if isinstance(raw, (list, tuple)):
        names = raw
    else:
        names = raw.split(",")
    seen = []
    for name in names:
        name = name.strip().lower()
        if name and name not in seen:
            seen.append(name)
    return seen


def published_posts():
    # TODO(sqla-upgrade): this Query object is returned or passed on, so its consumers cannot be rewritten with it; convert it and its consumers together
    return Post.query.filter_by(published=True).order_by(
        Post.timestamp.desc(), Post.id.desc()
    )


async def find_user(username):
    return (await async_session.scalars(select(User).filter_by(username=username).limit(1))).first()


async def create_user(username, email, about_me=None):
    username = (username or "").strip()
    email = (email or "").strip()
    if not username or not email:
        raise ValidationError("username and email are required")
    existing = (await async_session.scalars(select(User).where(
        (User.username == username) | (User.email == email)
    ).limit(1))).first()
    if existing is not None:
        raise ValidationError("username or email already taken")
    user = User(username=username, email=email, about_me=about_me)
    async_session.add(user)
    await async_session.commit()
    await async_session.refresh(user)
    return user


async def create_post(author, title, body, tags=None, published=True, timestamp=None):
    title = (title or "").strip()
    body = (body or "").strip()
    if not title or not body:
        raise ValidationError("title and body are required")
    post = Post(
        title=title,
        body=body,
        slug=await Post.unique_slug(title),
        published=published,
        author=author,
        comments=[],
        tags=[],
    )
    if timestamp is not None:
        post.timestamp = timestamp
    async_session.add(post)
    await post.set_tags(parse_tags(tags))
    await async_session.commit()
    await async_session.refresh(post)
    return post


async def add_comment(post, author_name, body):
    author_name = (author_name or "").strip()
    body = (body or "").strip()
    if not author_name or not body:
        raise ValidationError("name and comment are required")
    comment = Comment(author_name=author_name, body=body, post=post)
    if "http://" in body or "https://" in body:
        comment.approved = False
    async_session.add(comment)
    await async_session.commit()
    await async_session.refresh(comment)
    return comment


async def search_posts(term, limit=20):
    pattern = "%" + term + "%"
    return (
        (await async_session.scalars(select(Post).where(Post.published == True)  # noqa: E712
        .where(or_(Post.title.ilike(pattern), Post.body.ilike(pattern)))
        .order_by(Post.id.desc())
        .limit(limit)))
        .all()
    )


async def tag_cloud(limit=10):
    rows = (
        (await async_session.execute(select(Tag.name, func.count(post_tags.c.post_id).label("uses"))
        .join(post_tags, post_tags.c.tag_id == Tag.id)
        .join(Post, Post.id == post_tags.c.post_id)
        .where(Post.published == True)  # noqa: E712
        .group_by(Tag.id, Tag.name)
        .order_by(func.count(post_tags.c.post_id).desc(), Tag.name)
        .limit(limit)))
        .all()
    )
    return [{"name": name, "uses": uses} for name, uses in rows]


async def top_authors(limit=3):
    rows = (
        (await async_session.execute(select(User.username, func.count(Post.id))
        .join(Post, Post.user_id == User.id)
        .group_by(User.id, User.username)
        .order_by(func.count(Post.id).desc(), User.id)
        .limit(limit)))
        .all()
    )
    return [{"username": u, "posts": int(n)} for u, n in rows]


async def site_stats():
    return {
        "users": await async_session.scalar(select(func.count()).select_from(select(User).subquery())),
        "posts": await async_session.scalar(select(func.count()).select_from(select(Post).filter_by(published=True).subquery())),
        "drafts": await async_session.scalar(select(func.count()).select_from(select(Post).filter_by(published=False).subquery())),
        "comments": await async_session.scalar(select(func.count()).select_from(select(Comment).where(Comment.approved == True).subquery())),  # noqa: E712
        "tags": await async_session.scalar(select(func.count()).select_from(select(Tag).subquery())),
        "top_authors": await top_authors(),
    }


async def suggested_users(user, limit=5):
    """Users followed by the people `user` follows, that `user` does not follow yet."""
    already = [u.id for u in await async_object_session(user).run_sync(lambda _sync_session: [*user.followed.all()])] + [user.id]
    candidates = {}
    for friend in await async_object_session(user).run_sync(lambda _sync_session: [*user.followed.order_by(User.id)]):
        for other in await async_object_session(friend).run_sync(lambda _sync_session: [*friend.followed.order_by(User.id)]):
            if other.id not in already:
                candidates[other.username] = candidates.get(other.username, 0) + 1
    ranked = sorted(candidates.items(), key=lambda kv: (-kv[1], kv[0]))
    return [name for name, _ in ranked[:limit]]


async def archive_old_posts(days, now=None):
    now = now or datetime.utcnow()
    cutoff = now - timedelta(days=days)
    count = (await async_session.execute(update(Post).where(
        Post.timestamp < cutoff, Post.published == True  # noqa: E712
    ).values({"published": False}).execution_options(synchronize_session="fetch"))).rowcount
    await async_session.commit()
    return count
