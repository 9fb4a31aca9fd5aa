from datetime import datetime, timedelta

import click

from . import services
from .extensions import async_command, async_session, db
from .models import Comment, Post, Tag, User
from sqlalchemy import func, select

SEED_USERS = [
    ("alice", "alice@example.com", "Writes about databases."),
    ("bob", "bob@example.com", "Python and coffee."),
    ("carol", "carol@example.com", None),
    ("dave", "dave@example.com", "Lurker."),
]

SEED_POSTS = [
    # author, title, body, tags, published, days ago
    ("alice", "Indexing basics", "Why every foreign key deserves an index.", "databases, performance", True, 30),
    ("alice", "Query plans explained", "Reading EXPLAIN output line by line, with examples from real workloads.", "databases", True, 20),
    ("bob", "Pythonic loops", "Iterate over things, not indexes.", "python", True, 15),
    ("bob", "Packaging in 2019", "setup.py, wheels and you.", "python, packaging", True, 10),
    ("carol", "Hello world", "My very first post.", "", True, 8),
    ("alice", "Connection pooling", "Pools, overflow and timeouts.", "databases, performance", True, 5),
    ("bob", "Draft: async thoughts", "Not ready yet.", "python", False, 3),
    ("carol", "Gardening with SQL", "Tomatoes grow in rows and columns.", "databases, fun", True, 2),
]

SEED_COMMENTS = [
    ("Indexing basics", "bob", "Great intro!"),
    ("Indexing basics", "carol", "What about partial indexes?"),
    ("Pythonic loops", "alice", "enumerate() is your friend."),
    ("Pythonic loops", "spammer", "Buy now at http://spam.example"),
    ("Gardening with SQL", "dave", "Ha!"),
]

SEED_FOLLOWS = [
    ("alice", "bob"),
    ("bob", "alice"),
    ("carol", "alice"),
    ("carol", "bob"),
    ("dave", "carol"),
]


async def seed_database(now=None):
    now = now or datetime.utcnow()
    users = {}
    for username, email, about in SEED_USERS:
        user = (await async_session.scalars(select(User).filter_by(username=username).limit(1))).first()
        if user is None:
            user = User(username=username, email=email, about_me=about)
            async_session.add(user)
        users[username] = user
    await async_session.flush()

    created = 0
    for author, title, body, tags, published, days_ago in SEED_POSTS:
        if (await async_session.scalars(select(Post).filter_by(title=title).limit(1))).first() is not None:
            continue
        await services.create_post(
            users[author],
            title,
            body,
            tags=tags,
            published=published,
            timestamp=now - timedelta(days=days_ago),
        )
        created += 1

    for title, name, body in SEED_COMMENTS:
        post = (await async_session.scalars(select(Post).filter_by(title=title))).one()
        exists = await async_session.scalar(select(func.count()).select_from(select(Comment).filter_by(post_id=post.id, author_name=name).subquery()))
        if not exists:
            await services.add_comment(post, name, body)

    for follower, followed in SEED_FOLLOWS:
        await users[follower].follow(users[followed])
    await async_session.commit()
    return created


def register(app):
    @app.cli.command("init-db")
    def init_db():
        """Create all tables."""
        db.create_all()
        click.echo("Initialized the database.")

    @app.cli.command("seed")
    @async_command
    async def seed():
        """Fill the database with demo users, posts, comments and tags."""
        created = await seed_database()
        click.echo(
            "Seeded %d posts; %d users, %d tags in total."
            % (created, await async_session.scalar(select(func.count()).select_from(select(User).subquery())), await async_session.scalar(select(func.count()).select_from(select(Tag).subquery())))
        )

    @app.cli.command("archive")
    @click.option("--days", default=365, type=int, help="Archive posts older than this.")
    @async_command
    async def archive(days):
        """Unpublish posts older than DAYS days."""
        count = await services.archive_old_posts(days)
        click.echo("Archived %d posts." % count)

    @app.cli.command("stats")
    @async_command
    async def stats():
        """Print site statistics."""
        data = await services.site_stats()
        for key in ("users", "posts", "drafts", "comments", "tags"):
            click.echo("%s: %d" % (key, data[key]))
        for row in data["top_authors"]:
            click.echo("top author: %s (%d)" % (row["username"], row["posts"]))
