"""refresh-after-commit: objects read after commit() are reloaded, as expiry did."""

from __future__ import annotations

from tests.harness import check_noop, check_project, check_transformed

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
