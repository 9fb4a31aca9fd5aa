"""Blank lines around the top-level statements passes add or remove, as PEP 8 and
``ruff format`` lay them out: none at a module's top, two around a function or class."""

from __future__ import annotations

from tests.harness import check_noop, check_project, check_transformed


def test_removing_the_first_import_leaves_no_blank_first_line() -> None:
    check_transformed(
        """
        from sqlalchemy.orm import Session

        from app import models


        def names(db: Session):
            return [u.name for u in db.query(models.User).all()]
        """,
        """
        from app import models
        from sqlalchemy import select
        from sqlalchemy.ext.asyncio import AsyncSession


        async def names(db: AsyncSession):
            return [u.name for u in (await db.scalars(select(models.User))).all()]
        """,
        target="async",
        project={
            "app.models": """
                from sqlalchemy import Column, Integer, String
                from sqlalchemy.orm import declarative_base

                Base = declarative_base()


                class User(Base):
                    __tablename__ = "users"
                    id = Column(Integer, primary_key=True)
                    name = Column(String)
            """
        },
    )


def test_a_header_comment_keeps_its_blank_line_when_the_import_under_it_goes() -> None:
    check_transformed(
        """
        # Copyright the authors
        #
        from sqlalchemy.orm import Session

        from app import models


        def names(db: Session):
            return [u.name for u in db.query(models.User).all()]
        """,
        """
        # Copyright the authors
        #

        from app import models
        from sqlalchemy import select
        from sqlalchemy.ext.asyncio import AsyncSession


        async def names(db: AsyncSession):
            return [u.name for u in (await db.scalars(select(models.User))).all()]
        """,
        target="async",
        project={
            "app.models": """
                from sqlalchemy import Column, Integer, String
                from sqlalchemy.orm import declarative_base

                Base = declarative_base()


                class User(Base):
                    __tablename__ = "users"
                    id = Column(Integer, primary_key=True)
                    name = Column(String)
            """
        },
    )


def test_generated_lifespan_has_two_blank_lines_and_keeps_the_schema_comment() -> None:
    check_project(
        {
            "app.db": """
                from sqlalchemy import create_engine
                from sqlalchemy.orm import declarative_base

                engine = create_engine("sqlite:///app.db")
                Base = declarative_base()
            """,
            "app.main": """
                from fastapi import FastAPI

                from app.db import Base, engine
                # the tables, once
                Base.metadata.create_all(bind=engine)
                # the application
                app = FastAPI()
            """,
        },
        {
            "app.main": """
                from fastapi import FastAPI

                from app.db import Base, engine
                from contextlib import asynccontextmanager


                @asynccontextmanager
                async def lifespan(app):
                    # the tables, once
                    async with engine.begin() as conn:
                        await conn.run_sync(Base.metadata.create_all)
                    yield


                # the application
                app = FastAPI(lifespan=lifespan)
            """,
        },
    )


def test_async_main_after_one_blank_line_gets_two() -> None:
    check_transformed(
        """
        from sqlalchemy import create_engine, text
        from sqlalchemy.orm import Session

        engine = create_engine("sqlite://")
        total = 0

        if __name__ == "__main__":
            with Session(engine) as session:
                print(session.execute(text("select 1")).scalar())
        """,
        """
        from sqlalchemy import text
        from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine
        import asyncio

        engine = create_async_engine("sqlite+aiosqlite://")
        total = 0


        async def main():
            async with AsyncSession(engine, expire_on_commit=False) as session:
                print((await session.execute(text("select 1"))).scalar())


        if __name__ == "__main__":
            asyncio.run(main())
        """,
        target="async",
    )


def test_imports_added_above_a_first_function_leave_two_blank_lines() -> None:
    check_project(
        {
            "app.db": """
                from sqlalchemy import create_engine, text
                from sqlalchemy.orm import sessionmaker

                engine = create_engine("sqlite://")
                Session = sessionmaker(bind=engine)


                def ping():
                    with Session() as s:
                        return s.execute(text("select 1")).scalar()
            """,
            "tests.test_ping": """
                def test_ping():
                    from app.db import ping

                    assert ping() == 1
            """,
        },
        {
            "tests.test_ping": """
                import pytest


                @pytest.mark.asyncio(loop_scope="session")
                async def test_ping():
                    from app.db import ping

                    assert await ping() == 1
            """,
        },
    )


def test_user_layout_away_from_the_changes_is_kept() -> None:
    """One blank line before a function the tool does not touch stays one."""
    check_noop(
        """
        import os
        def helper():
            return os.sep
        x = 1
        """,
        target="async",
    )
    check_transformed(
        """
        from sqlalchemy.ext.declarative import declarative_base
        def helper():
            return 1
        Base = declarative_base()
        """,
        """
        from sqlalchemy.orm import declarative_base
        def helper():
            return 1
        Base = declarative_base()
        """,
    )
