"""ActiveRecord mixins (``sqlalchemy_mixins`` style): the session on the class, read as
``cls.session`` in classmethods and ``self.session`` in methods; fluent methods
returning ``self`` (``cls().fill(**kw).save()``); ``query`` as a class property."""

from __future__ import annotations

import asyncio

from sqla_upgrade.api import migrate_source
from tests.harness import _dedent, check_noop, check_transformed, exec_module

MIXIN = """
    from sqlalchemy.orm import Session

    class classproperty:
        def __init__(self, fget):
            self.fget = fget

        def __get__(self, obj, owner):
            return self.fget(owner)

    class ActiveRecordMixin:
        session: Session = None

        @classmethod
        def find(cls, pk):
            return cls.session.get(cls, pk)

        def fill(self, **kwargs):
            for name, value in kwargs.items():
                setattr(self, name, value)
            return self

        def save(self):
            self.session.add(self)
            self.session.flush()
            return self

        @classmethod
        def create(cls, **kwargs):
            return cls().fill(**kwargs).save()

        @classmethod
        def destroy(cls, *ids):
            for pk in ids:
                obj = cls.find(pk)
                if obj:
                    cls.session.delete(obj)
            cls.session.flush()
"""

MIGRATED = """
    from sqlalchemy.ext.asyncio import AsyncSession

    class classproperty:
        def __init__(self, fget):
            self.fget = fget

        def __get__(self, obj, owner):
            return self.fget(owner)

    class ActiveRecordMixin:
        session: AsyncSession = None

        @classmethod
        async def find(cls, pk):
            return await cls.session.get(cls, pk)

        def fill(self, **kwargs):
            for name, value in kwargs.items():
                setattr(self, name, value)
            return self

        async def save(self):
            self.session.add(self)
            await self.session.flush()
            return self

        @classmethod
        async def create(cls, **kwargs):
            return await cls().fill(**kwargs).save()

        @classmethod
        async def destroy(cls, *ids):
            for pk in ids:
                obj = await cls.find(pk)
                if obj:
                    await cls.session.delete(obj)
            await cls.session.flush()
"""


def test_class_session_io_and_fluent_calls_are_awaited() -> None:
    check_transformed(MIXIN, MIGRATED, target="async")


def test_legacy_query_of_a_class_property_is_flagged_where_it_runs() -> None:
    before = MIXIN + (
        "\n"
        "        @classproperty\n"
        "        def query(cls):\n"
        "            return cls.session.query(cls)\n"
        "\n"
        "        @classmethod\n"
        "        def every(cls):\n"
        "            return cls.query.all()\n"
    )
    migrated = migrate_source(_dedent(before), target="async", module_name="app.mixins")
    todo = (
        "    # TODO(sqla-upgrade): the query property returns a legacy Query on its object's "
        "session, an AsyncSession now"
    )
    assert todo in migrated.code
    assert "        return cls.query.all()\n" in migrated.code
    assert "def every(cls):" in migrated.code  # not awaited: nothing to await


def test_other_class_attributes_are_no_sessions() -> None:
    check_noop(
        """
        class Cached:
            cache = {}

            @classmethod
            def find(cls, key):
                return cls.cache.get(key)

            def fill(self, **kwargs):
                return self

            @classmethod
            def create(cls, **kwargs):
                return cls().fill(**kwargs)
        """,
        target="async",
    )


MODELS = """
    from sqlalchemy import Column, Integer, String, create_engine
    from sqlalchemy.orm import Session, declarative_base

    Base = declarative_base()

    class User(Base, ActiveRecordMixin):
        __tablename__ = "users"
        id = Column(Integer, primary_key=True)
        name = Column(String)
"""


def test_migrated_active_record_gives_the_same_results() -> None:
    legacy = (
        _dedent(MIXIN)
        + _dedent(MODELS)
        + _dedent(
            """
        def run(url):
            engine = create_engine(url)
            Base.metadata.create_all(engine)
            with Session(engine) as session:
                ActiveRecordMixin.session = session
                ann = User.create(name="ann")
                User.create(name="bob")
                User.destroy(ann.id)
                return [User.find(1), User.find(2).name]
        """
        )
    )
    migrated = migrate_source(legacy, target="async", module_name="app.models")
    assert not migrated.todos, [t.message for t in migrated.todos]
    assert "await User.create(" in migrated.code and "(await User.find(2)).name" in migrated.code
    expected = [None, "bob"]
    assert exec_module(legacy).run("sqlite://") == expected
    assert asyncio.run(exec_module(migrated.code).run("sqlite://")) == expected
