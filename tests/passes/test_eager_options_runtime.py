"""Migrated code loads what it reads: no lazy load at run time, same results as legacy.

A small legacy project (models, a repository, services reading relationships of what the
repository returns, writes) is migrated to ``--target async``. The legacy code runs on a
synchronous ``Session``; the migrated code runs on an ``AsyncSession`` (aiosqlite, and
asyncpg when ``SQLA_UPGRADE_PG_URL`` is set) with every relationship the tool left lazy
switched to ``lazy="raise_on_sql"``, so any lazy load left over raises. Both must return
the same values.
"""

from __future__ import annotations

import asyncio
import importlib
import os
import re
import sys
import textwrap
import types
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine
from sqlalchemy.orm import Session

from sqla_upgrade.api import migrate_project

LEGACY = {
    "shop.models": """
        from sqlalchemy import Column, ForeignKey, Integer, String, Table
        from sqlalchemy.orm import declarative_base, relationship

        Base = declarative_base()

        post_tags = Table(
            "eo_post_tags",
            Base.metadata,
            Column("post_id", ForeignKey("eo_posts.id")),
            Column("tag_id", ForeignKey("eo_tags.id")),
        )


        class User(Base):
            __tablename__ = "eo_users"
            id = Column(Integer, primary_key=True)
            name = Column(String(50))
            posts = relationship("Post", back_populates="author", order_by="Post.id")


        class Post(Base):
            __tablename__ = "eo_posts"
            id = Column(Integer, primary_key=True)
            title = Column(String(50))
            user_id = Column(ForeignKey("eo_users.id"))
            author = relationship(User, back_populates="posts")
            comments = relationship("Comment", backref="post", order_by="Comment.id")
            tags = relationship("Tag", secondary=post_tags, order_by="Tag.id")


        class Comment(Base):
            __tablename__ = "eo_comments"
            id = Column(Integer, primary_key=True)
            body = Column(String(50))
            post_id = Column(ForeignKey("eo_posts.id"))
            user_id = Column(ForeignKey("eo_users.id"))
            author = relationship(User)


        class Tag(Base):
            __tablename__ = "eo_tags"
            id = Column(Integer, primary_key=True)
            name = Column(String(50))


        class Category(Base):
            __tablename__ = "eo_categories"
            id = Column(Integer, primary_key=True)
            name = Column(String(50))
            parent_id = Column(ForeignKey("eo_categories.id"))
            parent = relationship("Category", remote_side=[id], back_populates="children")
            children = relationship("Category", back_populates="parent", order_by="Category.id")
    """,
    "shop.repository": """
        from sqlalchemy.orm import Session, joinedload
        from shop.models import Category, Comment, Post, User


        def recent_posts(session: Session):
            return session.query(Post).order_by(Post.id.desc()).all()


        def post_by_id(session: Session, post_id):
            return session.query(Post).get(post_id)


        def users(session: Session):
            return session.query(User).options(joinedload(User.posts)).order_by(User.id).all()


        def categories(session: Session):
            return session.query(Category).order_by(Category.id).all()


        def comments(session: Session):
            return session.query(Comment).filter(Comment.id > 1).order_by(Comment.id).all()
    """,
    "shop.services": """
        from shop import repository


        def summary(session):
            lines = []
            for post in repository.recent_posts(session):
                lines.append(f"{post.title} by {post.author.name}: {len(post.comments)}")
                lines.extend(f"  {c.body} ({c.author.name})" for c in post.comments)
            return lines


        def tag_names(session, post_id):
            post = repository.post_by_id(session, post_id)
            return [t.name for t in post.tags]


        def authors(session):
            return [(u.name, [describe(p) for p in u.posts]) for u in repository.users(session)]


        def describe(post):
            return f"{post.title}: {', '.join(t.name for t in post.tags)}"


        def tree(session):
            return [
                (c.name, c.parent.name if c.parent else None, [k.name for k in c.children])
                for c in repository.categories(session)
            ]


        def commented(session):
            return [(c.body, c.post.title, c.post.author.name) for c in repository.comments(session)]
    """,
    "shop.writes": """
        from sqlalchemy.orm import Session
        from shop.models import Comment, Post, User


        def comment_on(session: Session, post_id, body):
            comment = Comment(post_id=post_id, body=body, author=User(name="zed"))
            session.add(comment)
            session.flush()
            return comment.post.title, comment.author.name, len(comment.post.comments)


        def retitle(session: Session, post_id, title):
            post = session.merge(Post(id=post_id, title=title))
            return post.title, post.author.name, [c.body for c in post.comments]
    """,
}

CALLS: list[tuple[str, str, tuple[Any, ...]]] = [
    ("shop.services", "summary", ()),
    ("shop.services", "tag_names", (1,)),
    ("shop.services", "authors", ()),
    ("shop.services", "tree", ()),
    ("shop.services", "commented", ()),
    ("shop.writes", "comment_on", (2, "new")),
    ("shop.writes", "retitle", (1, "renamed")),
]


def _sources() -> dict[str, str]:
    return {name: textwrap.dedent(code).lstrip("\n") for name, code in LEGACY.items()}


#: relationships read with ``await obj.awaitable_attrs.rel``: an explicit, awaited load
AWAITED = {("Post", "author"), ("Post", "comments")}


def _strict(models: str) -> str:
    """Every relationship the migration left loading lazily raises on a lazy load, but
    those read through ``awaitable_attrs`` (an AsyncSession raises ``MissingGreenlet`` on
    any other lazy load of them anyway)."""
    lines = []
    klass = ""
    for line in models.splitlines():
        if line.startswith("class "):
            klass = line[len("class ") :].split("(")[0]
        name = line.strip().split(" ")[0]
        exempt = (klass, name) in AWAITED
        if "relationship(" in line and "lazy=" not in line and not exempt:
            line = re.sub(r"\)\s*$", ', lazy="raise_on_sql")', line)
        line = re.sub(r'backref="(\w+)"', r'backref=backref("\1", lazy="raise_on_sql")', line)
        lines.append(line)
    return "from sqlalchemy.orm import backref\n" + "\n".join(lines) + "\n"


def _load(root: Path, sources: dict[str, str]) -> dict[str, types.ModuleType]:
    """Import ``sources`` (module name → code) from ``root``, without leaving them in
    ``sys.modules`` (the legacy and migrated projects share module names)."""
    for name, code in sources.items():
        path = root.joinpath(*name.split(".")).with_suffix(".py")
        path.parent.mkdir(parents=True, exist_ok=True)
        (path.parent / "__init__.py").touch()
        path.write_text(code)
    sys.path.insert(0, str(root))
    try:
        return {name: importlib.import_module(name) for name in sources}
    finally:
        sys.path.remove(str(root))
        for name in [m for m in sys.modules if m == "shop" or m.startswith("shop.")]:
            del sys.modules[name]


def _seed(session: Session, models: types.ModuleType) -> None:
    ann, bob = models.User(name="ann"), models.User(name="bob")
    red, blue = models.Tag(name="red"), models.Tag(name="blue")
    first = models.Post(id=1, title="first", author=ann, tags=[red, blue])
    second = models.Post(id=2, title="second", author=bob, tags=[blue])
    first.comments = [
        models.Comment(body="c1", author=bob),
        models.Comment(body="c2", author=ann),
    ]
    second.comments = [models.Comment(body="c3", author=ann)]
    root = models.Category(id=1, name="root")
    child = models.Category(id=2, name="child", parent=root)
    models.Category(id=3, name="leaf", parent=child)
    session.add_all([first, second, root])
    session.commit()


def _databases() -> Iterator[Any]:
    yield pytest.param("sqlite", id="sqlite")
    yield pytest.param(
        "postgresql",
        id="postgresql",
        marks=pytest.mark.skipif(
            not os.environ.get("SQLA_UPGRADE_PG_URL"), reason="SQLA_UPGRADE_PG_URL not set"
        ),
    )


def _urls(kind: str, tmp_path: Path) -> tuple[str, str, dict[str, Any], dict[str, Any], str]:
    """Sync URL, async URL, their connect_args, and the PostgreSQL schema (or "")."""
    if kind == "sqlite":
        file = tmp_path / "shop.db"
        return f"sqlite:///{file}", f"sqlite+aiosqlite:///{file}", {}, {}, ""
    url = make_url(os.environ["SQLA_UPGRADE_PG_URL"])
    schema = f"eager_options_{uuid.uuid4().hex[:8]}"
    sync = url.set(drivername="postgresql+psycopg2").render_as_string(hide_password=False)
    async_ = url.set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)
    return (
        sync,
        async_,
        {"options": f"-csearch_path={schema}"},
        {"server_settings": {"search_path": schema}},
        schema,
    )


def _run_legacy(engine: Any, modules: dict[str, types.ModuleType]) -> list[Any]:
    results = []
    for module, function, args in CALLS:
        with Session(engine) as session:
            results.append(getattr(modules[module], function)(session, *args))
            session.rollback()
    return results


async def _run_migrated(
    url: str, connect_args: dict[str, Any], modules: dict[str, types.ModuleType]
) -> list[Any]:
    engine = create_async_engine(url, connect_args=connect_args)
    results = []
    try:
        for module, function, args in CALLS:
            async with AsyncSession(engine, expire_on_commit=False) as session:
                call: Callable[..., Any] = getattr(modules[module], function)
                results.append(await call(session, *args))
                await session.rollback()
    finally:
        await engine.dispose()
    return results


@pytest.mark.parametrize("kind", list(_databases()))
def test_migrated_code_never_lazy_loads_and_returns_what_legacy_did(
    kind: str, tmp_path: Path
) -> None:
    sources = _sources()
    migrated = {name: m.code for name, m in migrate_project(sources, target="async").items()}
    # merge() and refresh() cannot take options
    awaited = set(re.findall(r"awaitable_attrs\.(\w+)", migrated["shop.writes"]))
    assert awaited == {name for _, name in AWAITED}
    assert ".options(" in migrated["shop.repository"]
    migrated["shop.models"] = _strict(migrated["shop.models"])
    legacy_modules = _load(tmp_path / "legacy", sources)
    migrated_modules = _load(tmp_path / "migrated", migrated)

    sync_url, async_url, sync_args, async_args, schema = _urls(kind, tmp_path)
    engine = create_engine(sync_url, connect_args=sync_args)
    if schema:
        with create_engine(sync_url).begin() as connection:
            connection.execute(text(f"CREATE SCHEMA {schema}"))
    try:
        models = legacy_modules["shop.models"]
        models.Base.metadata.create_all(engine)
        with Session(engine) as session:
            _seed(session, models)
        expected = _run_legacy(engine, legacy_modules)
        actual = asyncio.run(_run_migrated(async_url, async_args, migrated_modules))
    finally:
        engine.dispose()
        if schema:
            with create_engine(sync_url).begin() as connection:
                connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    assert actual == expected
