"""``session = sessionmaker(bind=engine)()``: a factory made and called at once gives a
session, at module level (the index) and inside functions (session evidence)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqla_upgrade.api import migrate_project
from tests.harness import _dedent, check_transformed, exec_module

LEGACY = """
    from sqlalchemy import Column, Integer, create_engine, select
    from sqlalchemy.orm import declarative_base, sessionmaker

    Base = declarative_base()

    class Item(Base):
        __tablename__ = "items"
        id = Column(Integer, primary_key=True)

    def run(url):
        engine = create_engine(url)
        Base.metadata.create_all(engine)
        session = sessionmaker(bind=engine)()
        session.add_all([Item(id=2), Item(id=1)])
        session.commit()
        found = [item.id for item in session.query(Item).order_by(Item.id)]
        session.close()
        return found, session_count(engine)

    def session_count(engine):
        other = sessionmaker(bind=engine)()
        try:
            return other.query(Item).count()
        finally:
            other.close()
"""


def test_called_factory_at_module_level_is_a_session() -> None:
    check_transformed(
        """
        from sqlalchemy import Column, Integer, create_engine
        from sqlalchemy.orm import declarative_base, sessionmaker
        engine = create_engine("sqlite://")
        session = sessionmaker(bind=engine)()
        Base = declarative_base()
        class Item(Base):
            __tablename__ = "items"
            id = Column(Integer, primary_key=True)

        def first_id():
            return session.query(Item.id).first()
        """,
        """
        from sqlalchemy import select, Column, Integer, create_engine
        from sqlalchemy.orm import declarative_base, sessionmaker
        engine = create_engine("sqlite://")
        session = sessionmaker(bind=engine)()
        Base = declarative_base()
        class Item(Base):
            __tablename__ = "items"
            id = Column(Integer, primary_key=True)

        def first_id():
            return session.execute(select(Item.id).limit(1)).first()
        """,
    )


def test_called_factory_becomes_an_async_session_with_its_bind() -> None:
    check_transformed(
        """
        from sqlalchemy import Column, Integer, create_engine
        from sqlalchemy.orm import declarative_base, sessionmaker
        engine = create_engine("sqlite://")
        Base = declarative_base()
        class Item(Base):
            __tablename__ = "items"
            id = Column(Integer, primary_key=True)

        def count():
            session = sessionmaker(bind=engine)()
            return session.query(Item).count()
        """,
        """
        from sqlalchemy import func, select, Column, Integer
        from sqlalchemy.orm import declarative_base
        from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

        engine = create_async_engine("sqlite+aiosqlite://")
        Base = declarative_base()
        class Item(Base):
            __tablename__ = "items"
            id = Column(Integer, primary_key=True)

        async def count():
            session = async_sessionmaker(bind=engine, expire_on_commit=False)()
            return await session.scalar(select(func.count()).select_from(select(Item).subquery()))
        """,
        target="async",
    )


def test_migrated_called_factories_give_the_same_results(tmp_path: Path) -> None:
    legacy = _dedent(LEGACY)
    migrated = migrate_project({"app.items": legacy}, target="async")["app.items"].code
    old, new = exec_module(legacy), exec_module(migrated)
    expected = old.run(f"sqlite:///{tmp_path / 'legacy.db'}")
    got = asyncio.run(new.run(f"sqlite:///{tmp_path / 'migrated.db'}"))
    assert got == expected == ([1, 2], 2)
