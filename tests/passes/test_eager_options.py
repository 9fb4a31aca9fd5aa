"""eager-options: loader options on the statements whose objects' relationships are read.

Every case runs the whole async pipeline over a small project (``check_project``): the
models below plus the modules of the case.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from sqla_upgrade.codemods.options import Options
from sqla_upgrade.codemods.runner import run
from tests.harness import check_noop, check_project, check_transformed

MODELS = """
    from sqlalchemy import Column, ForeignKey, Integer, String, Table
    from sqlalchemy.orm import declarative_base, relationship

    Base = declarative_base()

    post_tags = Table(
        "post_tags",
        Base.metadata,
        Column("post_id", ForeignKey("posts.id")),
        Column("tag_id", ForeignKey("tags.id")),
    )


    class User(Base):
        __tablename__ = "users"
        id = Column(Integer, primary_key=True)
        name = Column(String)
        posts = relationship("Post", back_populates="author")


    class Post(Base):
        __tablename__ = "posts"
        id = Column(Integer, primary_key=True)
        title = Column(String)
        user_id = Column(ForeignKey("users.id"))
        author = relationship(User, back_populates="posts")
        comments = relationship("Comment", backref="post")
        tags = relationship("Tag", secondary=post_tags)


    class Comment(Base):
        __tablename__ = "comments"
        id = Column(Integer, primary_key=True)
        post_id = Column(ForeignKey("posts.id"))
        user_id = Column(ForeignKey("users.id"))
        author = relationship(User)


    class Tag(Base):
        __tablename__ = "tags"
        id = Column(Integer, primary_key=True)
        name = Column(String)


    class Category(Base):
        __tablename__ = "categories"
        id = Column(Integer, primary_key=True)
        parent_id = Column(ForeignKey("categories.id"))
        parent = relationship("Category", remote_side=[id], back_populates="children")
        children = relationship("Category", back_populates="parent")
"""


def test_repository_results_read_in_services_get_options() -> None:
    """Objects returned by repository functions and read in another module: loops, nested
    paths, len(), generator expressions, session.get() and a many-to-many collection."""
    check_project(
        {
            "app.models": MODELS,
            "app.repository": """
                from sqlalchemy.orm import Session
                from app.models import Post


                def recent_posts(session: Session):
                    return session.query(Post).order_by(Post.id.desc()).limit(10).all()


                def post_by_id(session: Session, post_id):
                    return session.query(Post).get(post_id)
            """,
            "app.services": """
                from app import repository


                def summary(session):
                    lines = []
                    for post in repository.recent_posts(session):
                        lines.append(f"{post.title} by {post.author.name}: {len(post.comments)}")
                        lines.extend(c.author.name for c in post.comments)
                    return lines


                def tag_names(session, post_id):
                    post = repository.post_by_id(session, post_id)
                    return [t.name for t in post.tags]
            """,
        },
        {
            "app.models": MODELS,
            "app.repository": """
                from sqlalchemy.orm import joinedload, selectinload
                from app.models import Comment, Post
                from sqlalchemy import select
                from sqlalchemy.ext.asyncio import AsyncSession


                async def recent_posts(session: AsyncSession):
                    return (await session.scalars(select(Post).order_by(Post.id.desc()).limit(10).options(
                        joinedload(Post.author),
                        selectinload(Post.comments).joinedload(Comment.author),
                    ))).all()


                async def post_by_id(session: AsyncSession, post_id):
                    return await session.get(Post, post_id, options=[selectinload(Post.tags)])
            """,
            "app.services": """
                from app import repository


                async def summary(session):
                    lines = []
                    for post in await repository.recent_posts(session):
                        lines.append(f"{post.title} by {post.author.name}: {len(post.comments)}")
                        lines.extend(c.author.name for c in post.comments)
                    return lines


                async def tag_names(session, post_id):
                    post = await repository.post_by_id(session, post_id)
                    return [t.name for t in post.tags]
            """,
        },
    )


def test_statement_serving_several_consumers_loads_the_union() -> None:
    """Two callers of one query function read different relationships: the statement loads
    both; indexing a list and a helper given the objects count as reads too."""
    check_project(
        {
            "app.models": MODELS,
            "app.repository": """
                from sqlalchemy import select
                from sqlalchemy.orm import Session
                from app.models import User


                def users(session: Session):
                    return session.scalars(select(User).order_by(User.name)).all()
            """,
            "app.reports": """
                from app.repository import users


                def first_titles(session):
                    found = users(session)
                    return [p.title for p in found[0].posts]


                def commenters(session):
                    return [names(u) for u in users(session)]


                def names(user):
                    return [c.author.name for p in user.posts for c in p.comments]
            """,
        },
        {
            "app.models": MODELS,
            "app.repository": """
                from sqlalchemy import select
                from sqlalchemy.orm import joinedload, selectinload
                from app.models import Comment, Post, User
                from sqlalchemy.ext.asyncio import AsyncSession


                async def users(session: AsyncSession):
                    return (await session.scalars(select(User).order_by(User.name).options(
                        selectinload(User.posts).selectinload(Post.comments).joinedload(Comment.author),
                    ))).all()
            """,
            "app.reports": """
                from app.repository import users


                async def first_titles(session):
                    found = await users(session)
                    return [p.title for p in found[0].posts]


                async def commenters(session):
                    return [names(u) for u in await users(session)]


                def names(user):
                    return [c.author.name for p in user.posts for c in p.comments]
            """,
        },
    )


def test_self_referential_backref_side_and_statement_in_a_variable() -> None:
    """Self-referential parent/children, a relationship declared by a backref on the other
    class, a statement built in a variable, and a helper reading a parameter whose every
    caller is known."""
    check_project(
        {
            "app.models": MODELS,
            "app.tree": """
                from sqlalchemy import select
                from sqlalchemy.orm import Session
                from app.models import Category, Comment


                def describe(category):
                    return category.parent.id if category.parent else None


                def categories(session: Session):
                    found = session.scalars(select(Category)).all()
                    names = [describe(c) for c in found]
                    kids = {c.id: len(c.children) for c in found}
                    return names, kids


                def commented(session: Session):
                    stmt = select(Comment).where(Comment.id > 3)
                    comments = session.execute(stmt).scalars().all()
                    return [c.post.title for c in comments]
            """,
        },
        {
            "app.models": MODELS,
            "app.tree": """
                from sqlalchemy import select
                from sqlalchemy.orm import joinedload, selectinload
                from app.models import Category, Comment
                from sqlalchemy.ext.asyncio import AsyncSession


                def describe(category):
                    return category.parent.id if category.parent else None


                async def categories(session: AsyncSession):
                    found = (await session.scalars(select(Category).options(
                        selectinload(Category.children),
                        joinedload(Category.parent),
                    ))).all()
                    names = [describe(c) for c in found]
                    kids = {c.id: len(c.children) for c in found}
                    return names, kids


                async def commented(session: AsyncSession):
                    stmt = select(Comment).where(Comment.id > 3)
                    comments = (await session.execute(stmt.options(joinedload(Comment.post)))).scalars().all()
                    return [c.post.title for c in comments]
            """,
        },
    )


def test_options_merged_with_existing_ones() -> None:
    """Existing loader options are kept and not repeated: new ones join the statement's
    ``.options(...)`` and ``session.get``'s ``options=[...]``."""
    check_project(
        {
            "app.models": MODELS,
            "app.views": """
                from sqlalchemy import select
                from sqlalchemy.orm import Session, joinedload, selectinload
                from app.models import Comment, Post


                def with_options(session: Session):
                    rows = session.scalars(
                        select(Post).options(joinedload(Post.author)).where(Post.id > 1)
                    ).all()
                    return [(p.author.name, [t.name for t in p.tags]) for p in rows]


                def preloaded(session: Session, post_id):
                    post = session.get(Post, post_id, options=[joinedload(Post.author)])
                    return post.author.name, [c.id for c in post.comments]


                def deeper(session: Session):
                    stmt = select(Post).options(selectinload(Post.comments))
                    return [c.author.name for p in session.scalars(stmt) for c in p.comments]
            """,
        },
        {
            "app.models": MODELS,
            "app.views": """
                from sqlalchemy import select
                from sqlalchemy.orm import defaultload, joinedload, selectinload
                from app.models import Comment, Post
                from sqlalchemy.ext.asyncio import AsyncSession


                async def with_options(session: AsyncSession):
                    rows = (await session.scalars(
                        select(Post).options(joinedload(Post.author), selectinload(Post.tags)).where(Post.id > 1)
                    )).all()
                    return [(p.author.name, [t.name for t in p.tags]) for p in rows]


                async def preloaded(session: AsyncSession, post_id):
                    post = await session.get(Post, post_id, options=[joinedload(Post.author), selectinload(Post.comments)])
                    return post.author.name, [c.id for c in post.comments]


                async def deeper(session: AsyncSession):
                    stmt = select(Post).options(selectinload(Post.comments))
                    return [c.author.name for p in await session.scalars(stmt.options(defaultload(Post.comments).joinedload(Comment.author))) for c in p.comments]
            """,
        },
    )


def test_new_object_refreshed_for_relationships_read_after_flush() -> None:
    """A new object's relationships that were never assigned load lazily once flushed:
    they are refreshed by name; assigned ones and collections started empty are not."""
    check_project(
        {
            "app.models": MODELS,
            "app.writes": """
                from sqlalchemy.orm import Session
                from app.models import Comment, Post, User


                def comment_on(session: Session, post_id, text):
                    comment = Comment(post_id=post_id, author=User(name=text))
                    session.add(comment)
                    session.flush()
                    return comment.post.title, comment.author.name


                def draft(session: Session, title):
                    post = Post(title=title)
                    session.add(post)
                    post.author = User(name="ann")
                    session.flush()
                    return post.author.name, len(post.comments)
            """,
        },
        {
            "app.models": MODELS,
            "app.writes": """
                from app.models import Comment, Post, User
                from sqlalchemy.ext.asyncio import AsyncSession


                async def comment_on(session: AsyncSession, post_id, text):
                    comment = Comment(post_id=post_id, author=User(name=text))
                    session.add(comment)
                    await session.flush()
                    await session.refresh(comment, ["post"])
                    return comment.post.title, comment.author.name


                async def draft(session: AsyncSession, title):
                    post = Post(title=title, comments=[])
                    session.add(post)
                    post.author = User(name="ann")
                    await session.flush()
                    return post.author.name, len(post.comments)
            """,
        },
    )


def test_unknown_producer_keeps_relationship_level_eager_loading() -> None:
    """Objects from outside (a view's parameter) keep ``lazy="selectin"`` on the
    relationship; with a typed parameter only that model's relationship does."""
    check_project(
        {
            "app.models": MODELS,
            "app.views": """
                from app.models import Post


                def show(post: Post):
                    return post.author.name


                def anything(thing):
                    return [t.name for t in thing.tags]
            """,
        },
        {
            "app.models": """
                from sqlalchemy import Column, ForeignKey, Integer, String, Table
                from sqlalchemy.orm import declarative_base, relationship

                Base = declarative_base()

                post_tags = Table(
                    "post_tags",
                    Base.metadata,
                    Column("post_id", ForeignKey("posts.id")),
                    Column("tag_id", ForeignKey("tags.id")),
                )


                class User(Base):
                    __tablename__ = "users"
                    id = Column(Integer, primary_key=True)
                    name = Column(String)
                    posts = relationship("Post", back_populates="author")


                class Post(Base):
                    __tablename__ = "posts"
                    id = Column(Integer, primary_key=True)
                    title = Column(String)
                    user_id = Column(ForeignKey("users.id"))
                    author = relationship(User, back_populates="posts", lazy="selectin")
                    comments = relationship("Comment", backref="post")
                    tags = relationship("Tag", secondary=post_tags, lazy="selectin")


                class Comment(Base):
                    __tablename__ = "comments"
                    id = Column(Integer, primary_key=True)
                    post_id = Column(ForeignKey("posts.id"))
                    user_id = Column(ForeignKey("users.id"))
                    author = relationship(User)


                class Tag(Base):
                    __tablename__ = "tags"
                    id = Column(Integer, primary_key=True)
                    name = Column(String)


                class Category(Base):
                    __tablename__ = "categories"
                    id = Column(Integer, primary_key=True)
                    parent_id = Column(ForeignKey("categories.id"))
                    parent = relationship("Category", remote_side=[id], back_populates="children")
                    children = relationship("Category", back_populates="parent")
            """,
            "app.views": """
                from app.models import Post


                def show(post: Post):
                    return post.author.name


                def anything(thing):
                    return [t.name for t in thing.tags]
            """,
        },
    )


def test_merged_objects_read_through_awaitable_attrs() -> None:
    """``session.merge()`` cannot take loader options: in code that becomes async the merged
    object's relationships are read with ``awaitable_attrs``, and the declarative base gets
    the ``AsyncAttrs`` mixin once."""
    check_project(
        {
            "app.models": MODELS,
            "app.restore": """
                from sqlalchemy.orm import Session
                from app.models import Post


                def restore(session: Session, detached: Post):
                    post = session.merge(detached)
                    session.commit()
                    for comment in post.comments:
                        print(comment.author.name)
                    return post.author.name
            """,
        },
        {
            "app.models": """
                from sqlalchemy import Column, ForeignKey, Integer, String, Table
                from sqlalchemy.orm import declarative_base, relationship
                from sqlalchemy.ext.asyncio import AsyncAttrs

                Base = declarative_base(cls=AsyncAttrs)

                post_tags = Table(
                    "post_tags",
                    Base.metadata,
                    Column("post_id", ForeignKey("posts.id")),
                    Column("tag_id", ForeignKey("tags.id")),
                )


                class User(Base):
                    __tablename__ = "users"
                    id = Column(Integer, primary_key=True)
                    name = Column(String)
                    posts = relationship("Post", back_populates="author")


                class Post(Base):
                    __tablename__ = "posts"
                    id = Column(Integer, primary_key=True)
                    title = Column(String)
                    user_id = Column(ForeignKey("users.id"))
                    author = relationship(User, back_populates="posts")
                    comments = relationship("Comment", backref="post")
                    tags = relationship("Tag", secondary=post_tags)


                class Comment(Base):
                    __tablename__ = "comments"
                    id = Column(Integer, primary_key=True)
                    post_id = Column(ForeignKey("posts.id"))
                    user_id = Column(ForeignKey("users.id"))
                    author = relationship(User)


                class Tag(Base):
                    __tablename__ = "tags"
                    id = Column(Integer, primary_key=True)
                    name = Column(String)


                class Category(Base):
                    __tablename__ = "categories"
                    id = Column(Integer, primary_key=True)
                    parent_id = Column(ForeignKey("categories.id"))
                    parent = relationship("Category", remote_side=[id], back_populates="children")
                    children = relationship("Category", back_populates="parent")
            """,
            "app.restore": """
                from app.models import Post
                from sqlalchemy.ext.asyncio import AsyncSession


                async def restore(session: AsyncSession, detached: Post):
                    post = await session.merge(detached)
                    await session.commit()
                    await session.refresh(post)
                    for comment in (await post.awaitable_attrs.comments):
                        print((await comment.awaitable_attrs.author).name)
                    return (await post.awaitable_attrs.author).name
            """,
        },
    )


ASYNC_MODELS = {"app.models": MODELS}


def test_columns_only_never_read_and_built_only_statements_unchanged() -> None:
    check_noop(
        """
        from sqlalchemy import select
        from sqlalchemy.ext.asyncio import AsyncSession
        from app.models import Post


        async def titles(session: AsyncSession):
            return [p.title for p in (await session.scalars(select(Post))).all()]


        async def ids(session: AsyncSession):
            posts = (await session.scalars(select(Post).where(Post.id > 1))).all()
            return {p.id: p.user_id for p in posts}


        def built_only():
            return select(Post).where(Post.title == "x").order_by(Post.author)


        async def joined(session: AsyncSession):
            stmt = select(Post).join(Post.author).where(Post.author.has(name="ann"))
            return [p.title for p in await session.scalars(stmt)]
        """,
        target="async",
        project=ASYNC_MODELS,
    )


def test_already_eager_loaded_relationships_unchanged() -> None:
    check_noop(
        """
        from sqlalchemy import select
        from sqlalchemy.ext.asyncio import AsyncSession
        from sqlalchemy.orm import joinedload, selectinload
        from app.models import Comment, Post


        async def listing(session: AsyncSession):
            stmt = select(Post).options(
                joinedload(Post.author), selectinload(Post.comments).joinedload(Comment.author)
            )
            posts = (await session.scalars(stmt)).all()
            return [(p.author.name, [c.author.name for c in p.comments]) for p in posts]


        async def one(session: AsyncSession, post_id):
            post = await session.get(Post, post_id, options=[selectinload(Post.tags)])
            return [t.name for t in post.tags]
        """,
        target="async",
        project=ASYNC_MODELS,
    )


def test_configured_eager_relationship_is_reached_with_defaultload() -> None:
    check_transformed(
        """
        from sqlalchemy import select
        from sqlalchemy.orm import Session
        from app.models import Team


        def members(session: Session):
            teams = session.scalars(select(Team)).all()
            return [(t.lead.name, [m.team.id for m in t.members]) for t in teams]
        """,
        """
        from sqlalchemy import select
        from sqlalchemy.orm import defaultload, joinedload
        from app.models import Member, Team
        from sqlalchemy.ext.asyncio import AsyncSession


        async def members(session: AsyncSession):
            teams = (await session.scalars(select(Team).options(defaultload(Team.members).joinedload(Member.team)))).all()
            return [(t.lead.name, [m.team.id for m in t.members]) for t in teams]
        """,
        target="async",
        project={
            "app.models": """
                from sqlalchemy import Column, ForeignKey, Integer, String
                from sqlalchemy.orm import declarative_base, relationship
                Base = declarative_base()
                class Team(Base):
                    __tablename__ = "teams"
                    id = Column(Integer, primary_key=True)
                    lead_id = Column(ForeignKey("members.id"))
                    lead = relationship("Member", lazy="joined", foreign_keys=[lead_id])
                    members = relationship("Member", lazy="selectin", foreign_keys="Member.team_id")
                class Member(Base):
                    __tablename__ = "members"
                    id = Column(Integer, primary_key=True)
                    name = Column(String)
                    team_id = Column(ForeignKey("teams.id"))
                    team = relationship(Team, foreign_keys=[team_id])
            """
        },
    )


def test_not_applied_for_target_2_0() -> None:
    check_noop(
        """
        from sqlalchemy import select
        from sqlalchemy.orm import Session
        from app.models import Post


        def authors(session: Session):
            return [p.author.name for p in session.scalars(select(Post)).all()]
        """,
        target="2.0",
        project=ASYNC_MODELS,
    )


def _run_on_files(root: Path, files: dict[str, str]) -> dict[str, str]:
    """The whole async pipeline over a project on disk: path (relative) → migrated code."""
    for name, code in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(code).lstrip("\n"))
    report = run([root], Options(target="async"))
    return {str(Path(r.path).relative_to(root)): (r.new or r.old).decode() for r in report.results}


TEMPLATED_VIEW = """
    from flask import Flask, render_template
    from sqlalchemy import select
    from sqlalchemy.orm import Session
    from blogapp.models import Post

    app = Flask(__name__)


    @app.route("/")
    def index(session: Session):
        posts = session.scalars(select(Post).order_by(Post.id)).all()
        return render_template(TEMPLATE, posts=posts)
"""
TEMPLATES = {
    "blogapp/templates/index.html": """
        {% extends "base.html" %}
        {% block body %}{% for p in posts %}{% include "_post.html" %}{% endfor %}{% endblock %}
    """,
    "blogapp/templates/base.html": "<html>{% block body %}{% endblock %}</html>\n",
    "blogapp/templates/_post.html": """
        <p>{{ p.title }} by {{ p.author.name }}:
        {% for t in p.tags %}{{ t.name }}{% endfor %}</p>
    """,
}


def test_template_reads_through_extends_and_include_become_options(tmp_path: Path) -> None:
    pytest.importorskip("jinja2")
    files = {
        "blogapp/__init__.py": "",
        "blogapp/models.py": MODELS,
        "blogapp/views.py": TEMPLATED_VIEW.replace("TEMPLATE", '"index.html"'),
        **TEMPLATES,
    }
    migrated = _run_on_files(tmp_path, files)
    assert migrated["blogapp/models.py"] == textwrap.dedent(MODELS).lstrip("\n")
    assert migrated["blogapp/views.py"] == textwrap.dedent(
        """
        from flask import Flask, render_template
        from sqlalchemy import select
        from sqlalchemy.orm import joinedload, selectinload
        from blogapp.models import Post
        from sqlalchemy.ext.asyncio import AsyncSession

        app = Flask(__name__)


        @app.route("/")
        async def index(session: AsyncSession):
            posts = (await session.scalars(select(Post).order_by(Post.id).options(
                joinedload(Post.author),
                selectinload(Post.tags),
            ))).all()
            return render_template("index.html", posts=posts)
        """
    ).lstrip("\n")


def test_template_named_at_run_time_keeps_relationship_level_loading(tmp_path: Path) -> None:
    files = {
        "blogapp/__init__.py": "",
        "blogapp/models.py": MODELS,
        "blogapp/views.py": TEMPLATED_VIEW.replace("TEMPLATE", "pick_template()"),
        **TEMPLATES,
    }
    migrated = _run_on_files(tmp_path, files)
    assert "options(" not in migrated["blogapp/views.py"]
    models = migrated["blogapp/models.py"]
    assert 'author = relationship(User, back_populates="posts", lazy="selectin")' in models
    assert 'tags = relationship("Tag", secondary=post_tags, lazy="selectin")' in models


def test_lambdas_and_getattr_with_a_literal_name_are_reads() -> None:
    check_transformed(
        """
        from sqlalchemy import select
        from sqlalchemy.orm import Session
        from app.models import Post


        def by_author(session: Session):
            posts = session.scalars(select(Post)).all()
            ordered = sorted(posts, key=lambda p: p.author.name)
            return [len(getattr(p, "comments")) for p in ordered]
        """,
        """
        from sqlalchemy import select
        from sqlalchemy.orm import joinedload, selectinload
        from app.models import Post
        from sqlalchemy.ext.asyncio import AsyncSession


        async def by_author(session: AsyncSession):
            posts = (await session.scalars(select(Post).options(
                joinedload(Post.author),
                selectinload(Post.comments),
            ))).all()
            ordered = sorted(posts, key=lambda p: p.author.name)
            return [len(getattr(p, "comments")) for p in ordered]
        """,
        target="async",
        project=ASYNC_MODELS,
    )


def test_serializer_fields_keep_relationship_level_loading() -> None:
    """A pydantic schema (or marshmallow, dataclass) field named like a relationship is
    read by serialization, where the producer is unknown."""
    check_project(
        {
            "app.models": MODELS,
            "app.schemas": """
                from pydantic import BaseModel


                class PostOut(BaseModel):
                    title: str
                    tags: list[str]
            """,
            "app.views": """
                from sqlalchemy import select
                from sqlalchemy.orm import Session
                from app.models import Post


                def listing(session: Session):
                    posts = session.scalars(select(Post)).all()
                    return [(p.title, len(p.tags)) for p in posts]
            """,
        },
        {
            "app.models": MODELS.replace(
                "secondary=post_tags)", 'secondary=post_tags, lazy="selectin")'
            ),
            "app.views": """
                from sqlalchemy import select
                from app.models import Post
                from sqlalchemy.ext.asyncio import AsyncSession


                async def listing(session: AsyncSession):
                    posts = (await session.scalars(select(Post))).all()
                    return [(p.title, len(p.tags)) for p in posts]
            """,
        },
    )


def test_serializer_fields_read_nowhere_in_the_code_still_load_eagerly() -> None:
    """``response_model=PostOut`` with ``tags: list[str]``: FastAPI reads ``post.tags``
    after the view returned, and no code spells ``.tags``."""
    check_project(
        {
            "app.models": MODELS,
            "app.schemas": """
                from pydantic import BaseModel


                class PostOut(BaseModel):
                    title: str
                    tags: list[str]
            """,
            "app.views": """
                from sqlalchemy.orm import Session
                from app.models import Post


                def show(session: Session, post_id):
                    return session.get(Post, post_id)
            """,
        },
        {
            "app.models": MODELS.replace(
                "secondary=post_tags)", 'secondary=post_tags, lazy="selectin")'
            ),
            "app.views": """
                from app.models import Post
                from sqlalchemy.ext.asyncio import AsyncSession


                async def show(session: AsyncSession, post_id):
                    return await session.get(Post, post_id)
            """,
        },
    )


def test_async_attrs_mixin_joins_a_declarative_base_class() -> None:
    check_project(
        {
            "app.models": """
                from sqlalchemy import ForeignKey
                from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


                class Base(DeclarativeBase):
                    pass


                class User(Base):
                    __tablename__ = "users"
                    id: Mapped[int] = mapped_column(primary_key=True)


                class Post(Base):
                    __tablename__ = "posts"
                    id: Mapped[int] = mapped_column(primary_key=True)
                    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
                    author = relationship(User)
            """,
            "app.restore": """
                from sqlalchemy.orm import Session
                from app.models import Post


                def restore(session: Session, detached: Post):
                    return session.merge(detached).author.id
            """,
        },
        {
            "app.models": """
                from sqlalchemy import ForeignKey
                from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
                from sqlalchemy.ext.asyncio import AsyncAttrs


                class Base(AsyncAttrs, DeclarativeBase):
                    pass


                class User(Base):
                    __tablename__ = "users"
                    id: Mapped[int] = mapped_column(primary_key=True)


                class Post(Base):
                    __tablename__ = "posts"
                    id: Mapped[int] = mapped_column(primary_key=True)
                    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
                    author = relationship(User)
            """,
            "app.restore": """
                from app.models import Post
                from sqlalchemy.ext.asyncio import AsyncSession


                async def restore(session: AsyncSession, detached: Post):
                    return (await (await session.merge(detached)).awaitable_attrs.author).id
            """,
        },
    )


FLASK_APP = """
    from flask import Flask, render_template
    from flask_sqlalchemy import SQLAlchemy

    db = SQLAlchemy()


    class User(db.Model):
        id = db.Column(db.Integer, primary_key=True)
        comments = db.relationship("Comment", backref="author")


    class Post(db.Model):
        id = db.Column(db.Integer, primary_key=True)
        title = db.Column(db.String(20))
        comments = db.relationship("Comment", backref="post")


    class Comment(db.Model):
        id = db.Column(db.Integer, primary_key=True)
        user_id = db.Column(db.Integer, db.ForeignKey("user.id"))
        post_id = db.Column(db.Integer, db.ForeignKey("post.id"))


    def create_app():
        app = Flask(__name__)
        db.init_app(app)

        @app.route("/u/<int:id>")
        def user(id):
            u = User.query.get_or_404(id)
            return render_template("user.html", user=u)

        return app
"""


def test_a_second_run_over_a_migrated_flask_app_changes_nothing(tmp_path: Path) -> None:
    """The second run reads ``await get_or_404(User, id)``, the helper the first wrote:
    it is ``db.get_or_404``, so the template's ``user.comments`` is still ``User``'s
    (not every relationship called ``comments``)."""
    pytest.importorskip("jinja2")
    files = {
        "shop/__init__.py": FLASK_APP,
        "shop/templates/user.html": "{% for c in user.comments %}{{ c.post.title }}{% endfor %}",
    }
    first = _run_on_files(tmp_path, files)
    assert "await get_or_404(User, id)" in first["shop/__init__.py"]
    assert (
        'comments = db.relationship("Comment", backref="author", lazy="selectin")'
        in (first["shop/__init__.py"])
    )
    for name, code in first.items():
        (tmp_path / name).write_text(code)
    report = run([tmp_path], Options(target="async"))
    changed = [r for r in report.results if r.new is not None and r.new != r.old]
    assert not changed, changed[0].new.decode() if changed and changed[0].new else changed


def test_no_option_goes_through_a_dynamic_relationship(tmp_path: Path) -> None:
    """``selectinload(User.posts)`` on a ``lazy="dynamic"`` relationship raises ("does not
    support object population"): its items come from a query of their own."""
    pytest.importorskip("jinja2")
    app = (
        FLASK_APP.replace(
            'comments = db.relationship("Comment", backref="author")',
            'comments = db.relationship("Comment", backref="author")\n'
            '        posts = db.relationship("Post", backref="writer", lazy="dynamic")',
        )
        .replace(
            "title = db.Column(db.String(20))",
            "title = db.Column(db.String(20))\n"
            '        user_id = db.Column(db.Integer, db.ForeignKey("user.id"))',
        )
        .replace("u = User.query.get_or_404(id)", "u = User.query.filter_by(id=id).first_or_404()")
    )
    files = {
        "shop/__init__.py": app,
        "shop/templates/user.html": "{% for p in user.posts %}{{ p.writer.id }}{% endfor %}",
    }
    migrated = _run_on_files(tmp_path, files)["shop/__init__.py"]
    assert "first_or_404(select(User)" in migrated
    assert "User.posts" not in migrated


def test_a_self_referential_relationship_read_anywhere_loads_one_level_with_a_note() -> None:
    from sqla_upgrade.api import migrate_project

    models = textwrap.dedent(
        """
        from sqlalchemy import Column, ForeignKey, Integer, String
        from sqlalchemy.orm import declarative_base, relationship

        Base = declarative_base()


        class Category(Base):
            __tablename__ = "categories"
            id = Column(Integer, primary_key=True)
            name = Column(String)
            parent_id = Column(ForeignKey("categories.id"))
            children = relationship("Category")
        """
    )
    views = textwrap.dedent(
        """
        from sqlalchemy.orm import Session


        def names(session: Session, category):
            session.commit()
            return [child.name for child in category.children]
        """
    )
    result = migrate_project({"app.models": models, "app.views": views}, target="async")
    code = result["app.models"].code
    assert 'children = relationship("Category", lazy="selectin", join_depth=1)' in code, code
    notes = [n.message for n in result["app.models"].notes]
    assert any("loaded one level deep" in n for n in notes), notes


DECORATED_BASE = """
    from typing import Any

    from sqlalchemy.ext.declarative import as_declarative, declared_attr


    @as_declarative()
    class Base:
        id: Any

        @declared_attr
        def __tablename__(cls) -> str:
            return cls.__name__.lower()
"""

DECORATED_MODELS = """
    from sqlalchemy import Column, ForeignKey, Integer, String
    from sqlalchemy.orm import relationship

    from app.db.base_class import Base


    class User(Base):
        id = Column(Integer, primary_key=True)
        email = Column(String)
        items = relationship("Item", back_populates="owner")


    class Item(Base):
        id = Column(Integer, primary_key=True)
        owner_id = Column(Integer, ForeignKey("user.id"))
        owner = relationship("User", back_populates="items")
"""


def test_models_of_an_as_declarative_base_are_models() -> None:
    """``@as_declarative()`` (full-stack-fastapi-postgresql's ``base_class.py``) makes
    ``Base`` a declarative base: its subclasses are models, and the relationship a
    response schema reads (``owner``, producer unknown) loads eagerly."""
    check_project(
        {
            "app.db.base_class": DECORATED_BASE,
            "app.models": DECORATED_MODELS,
            "app.schemas": """
                from pydantic import BaseModel


                class ItemOut(BaseModel):
                    id: int
                    owner: dict
            """,
            "app.views": """
                from sqlalchemy.orm import Session
                from app.models import Item


                def show(db: Session, item_id: int):
                    return db.query(Item).filter(Item.id == item_id).first()
            """,
        },
        {
            "app.db.base_class": DECORATED_BASE.replace(
                "sqlalchemy.ext.declarative import", "sqlalchemy.orm import"
            ),
            "app.models": DECORATED_MODELS.replace(
                'back_populates="items")', 'back_populates="items", lazy="selectin")'
            ),
            "app.views": """
                from app.models import Item
                from sqlalchemy import select
                from sqlalchemy.ext.asyncio import AsyncSession


                async def show(db: AsyncSession, item_id: int):
                    return (await db.scalars(select(Item).where(Item.id == item_id).limit(1))).first()
            """,
        },
    )


def test_async_attrs_mixin_joins_an_as_declarative_base() -> None:
    base = """
        from sqlalchemy.orm import registry

        mapper_registry = registry()


        @mapper_registry.as_declarative_base()
        class Base:
            pass
    """
    models = """
        from sqlalchemy import Column, ForeignKey, Integer
        from sqlalchemy.orm import relationship
        from app.base import Base


        class User(Base):
            __tablename__ = "users"
            id = Column(Integer, primary_key=True)


        class Post(Base):
            __tablename__ = "posts"
            id = Column(Integer, primary_key=True)
            user_id = Column(ForeignKey("users.id"))
            author = relationship(User)
    """
    check_project(
        {
            "app.base": base,
            "app.models": models,
            "app.restore": """
                from sqlalchemy.orm import Session
                from app.models import Post


                def restore(session: Session, detached: Post):
                    return session.merge(detached).author.id
            """,
        },
        {
            "app.base": """
                from sqlalchemy.orm import registry
                from sqlalchemy.ext.asyncio import AsyncAttrs

                mapper_registry = registry()


                @mapper_registry.as_declarative_base()
                class Base(AsyncAttrs):
                    pass
            """,
            "app.models": models,
            "app.restore": """
                from app.models import Post
                from sqlalchemy.ext.asyncio import AsyncSession


                async def restore(session: AsyncSession, detached: Post):
                    return (await (await session.merge(detached)).awaitable_attrs.author).id
            """,
        },
    )


def test_a_class_under_another_decorator_is_no_declarative_base() -> None:
    """Only SQLAlchemy's decorators make a base: ``relationship`` attributes of a class
    derived from a plain decorated class are not a model's."""
    check_noop(
        """
        import functools

        from sqlalchemy.orm import relationship


        @functools.total_ordering
        class Base:
            pass


        class Item(Base):
            owner = relationship("User")


        class ItemOut:
            owner: dict
        """,
        target="async",
    )


ENCODED_MODELS = """
    from sqlalchemy import Column, ForeignKey, Integer, String
    from sqlalchemy.orm import declarative_base, relationship

    Base = declarative_base()


    class User(Base):
        __tablename__ = "users"
        id = Column(Integer, primary_key=True)
        email = Column(String)
        items = relationship("Item", back_populates="owner")


    class Item(Base):
        __tablename__ = "items"
        id = Column(Integer, primary_key=True)
        owner_id = Column(ForeignKey("users.id"))
        owner = relationship("User", back_populates="items")
"""

ENCODED_SCHEMAS = """
    from pydantic import BaseModel


    class ItemOut(BaseModel):
        id: int
        owner: dict


    class UserOut(BaseModel):
        id: int
        items: list
"""


def test_jsonable_encoder_of_a_model_excludes_the_relationships_made_eager() -> None:
    """``jsonable_encoder(obj)`` encodes what an ORM object has loaded: with ``Item.owner``
    and ``User.items`` eager it would encode them too, and recurse between them. A model
    known from the annotation (the model, a TypeVar bound to the base) excludes them; a
    pydantic schema is left alone; an object of unknown class gets a TODO."""
    check_project(
        {
            "app.models": ENCODED_MODELS,
            "app.schemas": ENCODED_SCHEMAS,
            "app.crud": """
                from typing import Optional, TypeVar

                from fastapi.encoders import jsonable_encoder
                from pydantic import BaseModel
                from sqlalchemy.orm import Session

                from app.models import Base, User

                ModelType = TypeVar("ModelType", bound=Base)
                SchemaType = TypeVar("SchemaType", bound=BaseModel)


                def update(db: Session, db_obj: ModelType, obj_in: SchemaType):
                    obj_data = jsonable_encoder(db_obj)
                    for field in obj_data:
                        setattr(db_obj, field, jsonable_encoder(obj_in).get(field))
                    db.commit()
                    return db_obj


                def me(current_user: Optional[User]):
                    return jsonable_encoder(current_user)


                def first_user(db: Session):
                    user = db.query(User).first()
                    return jsonable_encoder(user)
            """,
        },
        {
            "app.crud": """
                from typing import Optional, TypeVar

                from fastapi.encoders import jsonable_encoder
                from pydantic import BaseModel

                from app.models import Base, User
                from sqlalchemy import select
                from sqlalchemy.ext.asyncio import AsyncSession

                ModelType = TypeVar("ModelType", bound=Base)
                SchemaType = TypeVar("SchemaType", bound=BaseModel)


                async def update(db: AsyncSession, db_obj: ModelType, obj_in: SchemaType):
                    obj_data = jsonable_encoder(db_obj, exclude={"items", "owner"})
                    for field in obj_data:
                        setattr(db_obj, field, jsonable_encoder(obj_in).get(field))
                    await db.commit()
                    return db_obj


                def me(current_user: Optional[User]):
                    return jsonable_encoder(current_user, exclude={"items"})


                async def first_user(db: AsyncSession):
                    user = (await db.scalars(select(User).limit(1))).first()
                    # TODO(sqla-upgrade): jsonable_encoder(user) encodes every attribute an ORM object has loaded: the relationships now loaded eagerly (Item.owner, User.items) are encoded too, and a back_populates pair recurses without end; exclude them
                    return jsonable_encoder(user)
            """,
        },
        todos=["jsonable_encoder(user) encodes every attribute"],
    )


def test_jsonable_encoder_where_no_relationship_becomes_eager_is_unchanged() -> None:
    """No schema or code reads a relationship: nothing loads differently, so what
    ``jsonable_encoder`` encodes is what it was."""
    check_project(
        {
            "app.models": ENCODED_MODELS,
            "app.views": """
                from fastapi.encoders import jsonable_encoder
                from sqlalchemy.orm import Session

                from app.models import User


                def show(db: Session, user_id: int):
                    return jsonable_encoder(db.query(User).get(user_id))


                def echo(current_user: User):
                    return jsonable_encoder(current_user)
            """,
        },
        {
            "app.models": ENCODED_MODELS,
            "app.views": """
                from fastapi.encoders import jsonable_encoder

                from app.models import User
                from sqlalchemy.ext.asyncio import AsyncSession


                async def show(db: AsyncSession, user_id: int):
                    return jsonable_encoder(await db.get(User, user_id))


                def echo(current_user: User):
                    return jsonable_encoder(current_user)
            """,
        },
    )


def test_jsonable_encoder_excluding_a_name_another_model_has_as_a_column_gets_a_todo() -> None:
    """``exclude=`` works by name: a TypeVar standing for every model cannot exclude
    ``owner`` when one of them has a column of that name."""
    models = ENCODED_MODELS + textwrap.indent(
        textwrap.dedent(
            """

            class Pet(Base):
                __tablename__ = "pets"
                id = Column(Integer, primary_key=True)
                owner = Column(String)
            """
        ),
        "    ",
    )
    check_project(
        {
            "app.models": models,
            "app.schemas": ENCODED_SCHEMAS,
            "app.crud": """
                from typing import TypeVar

                from fastapi.encoders import jsonable_encoder

                from app.models import Base

                ModelType = TypeVar("ModelType", bound=Base)


                def encode(db_obj: ModelType):
                    return jsonable_encoder(db_obj)
            """,
        },
        {
            "app.crud": """
                from typing import TypeVar

                from fastapi.encoders import jsonable_encoder

                from app.models import Base

                ModelType = TypeVar("ModelType", bound=Base)


                def encode(db_obj: ModelType):
                    # TODO(sqla-upgrade): jsonable_encoder(db_obj) encodes every attribute an ORM object has loaded: the relationships now loaded eagerly (Item.owner, User.items) are encoded too, and a back_populates pair recurses without end; exclude them (Pet.owner is no relationship made eager)
                    return jsonable_encoder(db_obj)
            """,
        },
        todos=["Pet.owner is no relationship made eager"],
    )


def test_a_module_attribute_named_like_a_relationship_is_no_read_of_it() -> None:
    """``crud.user.get(...)`` (``from app import crud``; ``crud/__init__.py`` binds
    ``user = CRUDUser(User)``) reads the module's ``user``, not a relationship
    ``AuditLog.user``: that one stays lazy."""
    models = """
        from sqlalchemy import Column, ForeignKey, Integer
        from sqlalchemy.orm import declarative_base, relationship

        Base = declarative_base()


        class User(Base):
            __tablename__ = "users"
            id = Column(Integer, primary_key=True)


        class AuditLog(Base):
            __tablename__ = "audit"
            id = Column(Integer, primary_key=True)
            user_id = Column(ForeignKey("users.id"))
            user = relationship(User)
    """
    check_project(
        {
            "app.models": models,
            "app.crud": """
                from sqlalchemy.orm import Session

                from app.models import User


                class CRUDUser:
                    def get(self, db: Session, id: int):
                        return db.query(User).get(id)


                user = CRUDUser()
            """,
            "app.views": """
                from sqlalchemy.orm import Session

                from app import crud


                def show(db: Session, user_id: int):
                    return crud.user.get(db, user_id).id
            """,
        },
        {
            "app.models": models,
            "app.views": """
                from app import crud
                from sqlalchemy.ext.asyncio import AsyncSession


                async def show(db: AsyncSession, user_id: int):
                    return (await crud.user.get(db, user_id)).id
            """,
        },
    )


def test_jsonable_encoder_of_schemas_dicts_and_lists_of_models() -> None:
    """Provably no ORM object (a dict, a schema built here) is left alone where
    relationships became eager; a list of models excludes for each of them."""
    check_project(
        {
            "app.models": ENCODED_MODELS,
            "app.schemas": ENCODED_SCHEMAS,
            "app.views": """
                from typing import List

                from fastapi.encoders import jsonable_encoder

                from app.models import Item
                from app.schemas import ItemOut


                def payload(data: dict, items: List[Item]):
                    out = ItemOut(id=1, owner={})
                    return jsonable_encoder(data), jsonable_encoder(out), jsonable_encoder(items)
            """,
        },
        {
            "app.views": """
                from typing import List

                from fastapi.encoders import jsonable_encoder

                from app.models import Item
                from app.schemas import ItemOut


                def payload(data: dict, items: List[Item]):
                    out = ItemOut(id=1, owner={})
                    return jsonable_encoder(data), jsonable_encoder(out), jsonable_encoder(items, exclude={"owner"})
            """,
        },
    )
