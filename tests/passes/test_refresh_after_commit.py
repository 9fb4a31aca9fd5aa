"""refresh-after-commit: objects read after commit() are reloaded, as expiry did."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import create_engine
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine
from sqlalchemy.orm import Session

from sqla_upgrade.api import migrate_project
from tests.harness import _dedent, check_noop, check_project, check_transformed, exec_module

MODELS = {
    "app.models": """
        from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

        class Base(DeclarativeBase):
            pass

        class Post(Base):
            __tablename__ = "posts"
            id: Mapped[int] = mapped_column(primary_key=True)
            title: Mapped[str]
    """
}


def case(before: str, after: str) -> None:
    check_transformed(before, after, target="async", project=MODELS)


def test_fetched_object_read_after_commit_is_refreshed() -> None:
    case(
        """
        from sqlalchemy.ext.asyncio import AsyncSession
        from app.models import Post

        async def rename(session: AsyncSession, post_id, title):
            post = await session.get(Post, post_id)
            post.title = title
            await session.commit()
            return post.title
        """,
        """
        from sqlalchemy.ext.asyncio import AsyncSession
        from app.models import Post

        async def rename(session: AsyncSession, post_id, title):
            post = await session.get(Post, post_id)
            post.title = title
            await session.commit()
            await session.refresh(post)
            return post.title
        """,
    )


def test_new_object_added_then_read_is_refreshed() -> None:
    case(
        """
        from sqlalchemy.ext.asyncio import AsyncSession
        from app.models import Post

        async def create(session: AsyncSession, title):
            post = Post(title=title)
            session.add(post)
            await session.commit()
            return post
        """,
        """
        from sqlalchemy.ext.asyncio import AsyncSession
        from app.models import Post

        async def create(session: AsyncSession, title):
            post = Post(title=title)
            session.add(post)
            await session.commit()
            await session.refresh(post)
            return post
        """,
    )


def test_synchronous_code_is_migrated_then_refreshed() -> None:
    check_project(
        {
            **MODELS,
            "app.service": """
                from sqlalchemy.orm import Session
                from app.models import Post

                def retitle(session: Session, post_id):
                    post = session.get(Post, post_id)
                    post.title = post.title.upper()
                    session.commit()
                    return {"id": post.id, "title": post.title}
            """,
        },
        {
            "app.service": """
                from app.models import Post
                from sqlalchemy.ext.asyncio import AsyncSession

                async def retitle(session: AsyncSession, post_id):
                    post = await session.get(Post, post_id)
                    post.title = post.title.upper()
                    await session.commit()
                    await session.refresh(post)
                    return {"id": post.id, "title": post.title}
            """,
        },
    )


def test_objects_not_read_after_commit_are_left_alone() -> None:
    check_noop(
        """
        from sqlalchemy.ext.asyncio import AsyncSession
        from app.models import Post

        async def rename(session: AsyncSession, post_id, title):
            post = await session.get(Post, post_id)
            post.title = title
            await session.commit()
            return "ok"
        """,
        target="async",
        project=MODELS,
    )


def test_new_object_never_added_is_not_refreshed() -> None:
    check_noop(
        """
        from sqlalchemy.ext.asyncio import AsyncSession
        from app.models import Post

        async def draft(session: AsyncSession, title):
            post = Post(title=title)
            await session.commit()
            return post
        """,
        target="async",
        project=MODELS,
    )


def test_deleted_or_reassigned_objects_are_not_refreshed() -> None:
    check_noop(
        """
        from sqlalchemy.ext.asyncio import AsyncSession
        from app.models import Post

        async def replace(session: AsyncSession, post_id):
            post = await session.get(Post, post_id)
            await session.delete(post)
            await session.commit()
            gone = post.id
            other = await session.get(Post, gone + 1)
            await session.commit()
            other = Post(title="new")
            return other
        """,
        target="async",
        project=MODELS,
    )


def test_lists_and_unknown_objects_are_not_refreshed() -> None:
    check_noop(
        """
        from sqlalchemy import select
        from sqlalchemy.ext.asyncio import AsyncSession
        from app.models import Post

        async def publish(session: AsyncSession, thing):
            posts = (await session.scalars(select(Post))).all()
            thing.touch()
            await session.commit()
            return [p.title for p in posts], thing
        """,
        target="async",
        project=MODELS,
    )


def test_object_that_may_be_none_is_refreshed_only_when_present() -> None:
    case(
        """
        from sqlalchemy import select
        from sqlalchemy.ext.asyncio import AsyncSession
        from app.models import Post

        async def latest(session: AsyncSession, lookup):
            post = (await session.scalars(select(Post).limit(1))).first()
            other = await lookup(session)
            await session.commit()
            return post, other
        """,
        """
        from sqlalchemy import select
        from sqlalchemy.ext.asyncio import AsyncSession
        from app.models import Post

        async def latest(session: AsyncSession, lookup):
            post = (await session.scalars(select(Post).limit(1))).first()
            other = await lookup(session)
            await session.commit()
            if post is not None:
                await session.refresh(post)
            return post, other
        """,
    )


def test_objects_proven_present_are_refreshed_without_a_guard() -> None:
    case(
        """
        from sqlalchemy import select
        from sqlalchemy.ext.asyncio import AsyncSession
        from app.models import Post

        async def touch(session: AsyncSession, given: Post, post_id):
            one = (await session.scalars(select(Post).where(Post.id == post_id))).one()
            checked = await session.get(Post, post_id)
            if checked is None:
                raise LookupError(post_id)
            session.add(given)
            await session.commit()
            return one, checked, given
        """,
        """
        from sqlalchemy import select
        from sqlalchemy.ext.asyncio import AsyncSession
        from app.models import Post

        async def touch(session: AsyncSession, given: Post, post_id):
            one = (await session.scalars(select(Post).where(Post.id == post_id))).one()
            checked = await session.get(Post, post_id)
            if checked is None:
                raise LookupError(post_id)
            session.add(given)
            await session.commit()
            await session.refresh(one)
            await session.refresh(checked)
            await session.refresh(given)
            return one, checked, given
        """,
    )


def test_guarded_refresh_runs_when_nothing_was_found(tmp_path: Path) -> None:
    legacy = _dedent(
        """
        from sqlalchemy import select
        from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

        class Base(DeclarativeBase):
            pass

        class Post(Base):
            __tablename__ = "posts"
            id: Mapped[int] = mapped_column(primary_key=True)
            title: Mapped[str]

        def find_and_commit(session: Session, title):
            post = session.scalars(select(Post).where(Post.title == title)).first()
            session.commit()
            return post and post.title
        """
    )
    migrated = migrate_project({"app.run": legacy}, target="async")["app.run"].code
    assert "if post is not None:" in migrated, migrated
    old = exec_module(legacy)
    engine = create_engine(f"sqlite:///{tmp_path / 'legacy.db'}")
    old.Base.metadata.create_all(engine)
    with Session(engine) as session:
        session.add(old.Post(title="kept"))
        session.commit()
        expected = [old.find_and_commit(session, t) for t in ("kept", "missing")]
    new = exec_module(migrated)

    async def run() -> list[object]:
        async_engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'migrated.db'}")
        async with async_engine.begin() as conn:
            await conn.run_sync(new.Base.metadata.create_all)
        async with AsyncSession(async_engine, expire_on_commit=False) as session:
            session.add(new.Post(title="kept"))
            await session.commit()
            found = [await new.find_and_commit(session, t) for t in ("kept", "missing")]
        await async_engine.dispose()
        return found

    assert asyncio.run(run()) == expected == ["kept", None]


COUNTER = """
    from sqlalchemy import select
    from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

    class Base(DeclarativeBase):
        pass

    class Post(Base):
        __tablename__ = "posts"
        id: Mapped[int] = mapped_column(primary_key=True)
        views: Mapped[int]

    def bump(session: Session, post):
        post.views = Post.views + 1
        session.commit()

    def bump_twice(session: Session, post_id):
        post = session.get(Post, post_id)
        bump(session, post)
        bump(session, post)
        return post.views
"""


def test_an_attribute_computed_in_sql_is_reloaded_for_the_caller() -> None:
    """``post.views = Post.views + 1`` is expired by the flush, whatever
    ``expire_on_commit`` says: the caller's read of it would load it (MissingGreenlet)."""
    migrated = migrate_project({"app.run": _dedent(COUNTER)}, target="async")["app.run"].code
    assert (
        "    post.views = Post.views + 1\n"
        "    await session.commit()\n"
        "    await session.refresh(post)\n"
    ) in migrated, migrated


def test_an_attribute_computed_in_sql_of_a_local_not_read_again_is_left() -> None:
    check_noop(
        """
        from sqlalchemy.ext.asyncio import AsyncSession
        from app.models import Post

        async def bump(session: AsyncSession, post_id):
            post = await session.get(Post, post_id)
            post.title = Post.title + "!"
            await session.commit()
            return "ok"
        """,
        target="async",
        project=MODELS,
    )


def test_migrated_counter_reads_what_legacy_read(tmp_path: Path) -> None:
    legacy = _dedent(COUNTER)
    migrated = migrate_project({"app.run": legacy}, target="async")["app.run"].code
    old = exec_module(legacy)
    engine = create_engine(f"sqlite:///{tmp_path / 'legacy.db'}")
    old.Base.metadata.create_all(engine)
    with Session(engine) as session:
        session.add(old.Post(id=1, views=5))
        session.commit()
        expected = old.bump_twice(session, 1)
    new = exec_module(migrated)

    async def run() -> object:
        async_engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'migrated.db'}")
        async with async_engine.begin() as conn:
            await conn.run_sync(new.Base.metadata.create_all)
        async with AsyncSession(async_engine, expire_on_commit=False) as session:
            session.add(new.Post(id=1, views=5))
            await session.commit()
            views = await new.bump_twice(session, 1)
        await async_engine.dispose()
        return views

    assert asyncio.run(run()) == expected == 7


def test_merged_object_read_after_commit_is_refreshed() -> None:
    """``session.merge(Post(...))`` gives the session's persistent copy, of that class."""
    case(
        """
        from sqlalchemy.ext.asyncio import AsyncSession
        from app.models import Post

        async def save(session: AsyncSession, post_id, title):
            merged = await session.merge(Post(id=post_id, title=title))
            await session.commit()
            return merged.title
        """,
        """
        from sqlalchemy.ext.asyncio import AsyncSession
        from app.models import Post

        async def save(session: AsyncSession, post_id, title):
            merged = await session.merge(Post(id=post_id, title=title))
            await session.commit()
            await session.refresh(merged)
            return merged.title
        """,
    )


def test_merged_objects_not_read_or_of_unknown_class_are_left_alone() -> None:
    check_noop(
        """
        from sqlalchemy.ext.asyncio import AsyncSession
        from app.models import Post

        async def save(session: AsyncSession, post_id, thing, title):
            merged = await session.merge(Post(id=post_id, title=title))
            other = await session.merge(thing)
            await session.commit()
            return other.title
        """,
        target="async",
        project=MODELS,
    )


MERGED = """
    from sqlalchemy import ForeignKey, func, select
    from sqlalchemy.orm import DeclarativeBase, Mapped, Session, column_property, mapped_column

    class Base(DeclarativeBase):
        pass

    class Comment(Base):
        __tablename__ = "comments"
        id: Mapped[int] = mapped_column(primary_key=True)
        post_id: Mapped[int] = mapped_column(ForeignKey("posts.id"))

    class Post(Base):
        __tablename__ = "posts"
        id: Mapped[int] = mapped_column(primary_key=True)
        title: Mapped[str]
        comment_count = column_property(
            select(func.count(Comment.id)).where(Comment.post_id == id).scalar_subquery()
        )

    def save(session: Session, post_id, title):
        merged = session.merge(Post(id=post_id, title=title))
        session.commit()
        return merged.title, merged.comment_count
"""


def test_merged_object_with_a_column_property_reads_what_legacy_read(tmp_path: Path) -> None:
    """The flush of the merged change expires the SQL-computed ``column_property``: read
    after the commit without a refresh it would lazy-load (MissingGreenlet)."""
    legacy = _dedent(MERGED)
    migrated = migrate_project({"app.run": legacy}, target="async")["app.run"].code
    assert "    await session.refresh(merged)\n" in migrated, migrated
    old = exec_module(legacy)
    engine = create_engine(f"sqlite:///{tmp_path / 'legacy.db'}")
    old.Base.metadata.create_all(engine)
    with Session(engine) as session:
        session.add_all([old.Post(id=1, title="a"), old.Comment(id=1, post_id=1)])
        session.commit()
        expected = old.save(session, 1, "b")
    new = exec_module(migrated)

    async def run() -> object:
        async_engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'migrated.db'}")
        async with async_engine.begin() as conn:
            await conn.run_sync(new.Base.metadata.create_all)
        async with AsyncSession(async_engine, expire_on_commit=False) as session:
            session.add_all([new.Post(id=1, title="a"), new.Comment(id=1, post_id=1)])
            await session.commit()
            found = await new.save(session, 1, "b")
        await async_engine.dispose()
        return found

    assert asyncio.run(run()) == expected == ("b", 1)


def test_a_comprehension_variable_is_not_the_functions_variable_of_that_name() -> None:
    """``post`` of ``[post.title for post in ...]`` after the commit is the
    comprehension's own variable: the function's ``post`` (a string here) is not
    refreshed (``refresh("a")`` raised UnmappedInstanceError)."""
    check_noop(
        """
        from sqlalchemy import select
        from sqlalchemy.ext.asyncio import AsyncSession
        from app.models import Post

        async def titles(session: AsyncSession):
            for post in ("a", "b"):
                session.add(Post(title=post))
            await session.commit()
            return [post.title for post in await session.scalars(select(Post))]
        """,
        target="async",
        project=MODELS,
    )


def test_an_object_added_to_a_dynamic_relationship_migrates_the_same_on_a_second_run() -> None:
    """``team.players.append(player)`` becomes ``team.players.add(player)`` (write-only):
    that ``add`` is not a session's, so the second run neither refreshes ``player`` after
    the commit nor loads its backref eagerly, as the first did not."""
    models = """
        from sqlalchemy import Column, ForeignKey, Integer, String
        from sqlalchemy.orm import declarative_base, relationship

        Base = declarative_base()


        class Team(Base):
            __tablename__ = "teams"
            id = Column(Integer, primary_key=True)
            name = Column(String)
            players = relationship("Player", backref="team", lazy="dynamic")


        class Player(Base):
            __tablename__ = "players"
            id = Column(Integer, primary_key=True)
            team_id = Column(ForeignKey("teams.id"))
    """
    check_project(
        {
            "app.models": models,
            "app.views": """
                from sqlalchemy.orm import Session
                from app.models import Player, Team


                def join(session: Session, team_id):
                    team = session.get(Team, team_id)
                    player = Player()
                    team.players.append(player)
                    session.commit()
                    return player.team.name
            """,
        },
        {
            "app.views": """
                from app.models import Player, Team
                from sqlalchemy.ext.asyncio import AsyncSession


                async def join(session: AsyncSession, team_id):
                    team = await session.get(Team, team_id)
                    player = Player()
                    team.players.add(player)
                    await session.commit()
                    return player.team.name
            """,
        },
    )
