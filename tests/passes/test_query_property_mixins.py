"""``query = DBSession.query_property()`` on a mixin (Pyramid/worker style): the mixin is
given to ``declarative_base(cls=Mixin)`` or listed among a model's bases, and its own
classmethods read ``cls.query`` and hand ``cls`` to ``DBSession.query()``."""

from __future__ import annotations

import asyncio
import sys
import types
from pathlib import Path

from sqla_upgrade.api import migrate_project
from tests.harness import _dedent, check_noop, check_project, check_transformed

META = """
    from sqlalchemy import Column, Integer, create_engine, func
    from sqlalchemy.orm import declarative_base, scoped_session, sessionmaker

    engine = create_engine(URL)
    DBSession = scoped_session(sessionmaker(bind=engine))


    class BaseMixin(object):
        query = DBSession.query_property()

        id = Column(Integer, primary_key=True)

        @classmethod
        def get_by_id(cls, id_):
            return cls.query.get(id_)

        @classmethod
        def find_or_create(cls, **kwargs):
            instance = cls.query.filter_by(**kwargs).first()
            if instance is None:
                instance = cls(**kwargs)
                DBSession.add(instance)
                DBSession.flush()
            return instance

        @classmethod
        def count_all(cls):
            return cls.query.count()

        @classmethod
        def newest(cls):
            return DBSession.query(cls).order_by(cls.id.desc()).first()


    Base = declarative_base(cls=BaseMixin)
"""

MODELS = """
    from sqlalchemy import Column, String

    from app.meta import Base, DBSession


    class User(Base):
        __tablename__ = "users"
        name = Column(String(50))

        @classmethod
        def named(cls, name):
            return DBSession.query(cls).filter(cls.name == name).one_or_none()
"""

VIEWS = """
    from app.models import User

    def names():
        return [u.name for u in User.query.order_by(User.name).all()]
"""


def project(url: str = "sqlite://") -> dict[str, str]:
    return {"app.meta": META.replace("URL", repr(url)), "app.models": MODELS, "app.views": VIEWS}


def test_query_property_of_a_declarative_base_mixin_in_2_0() -> None:
    check_project(
        project(),
        {
            "app.meta": """
                from sqlalchemy import select, Column, Integer, create_engine, func
                from sqlalchemy.orm import declarative_base, scoped_session, sessionmaker

                engine = create_engine('sqlite://')
                DBSession = scoped_session(sessionmaker(bind=engine))


                class BaseMixin(object):
                    query = DBSession.query_property()

                    id = Column(Integer, primary_key=True)

                    @classmethod
                    def get_by_id(cls, id_):
                        return DBSession.get(cls, id_)

                    @classmethod
                    def find_or_create(cls, **kwargs):
                        instance = DBSession.scalars(select(cls).filter_by(**kwargs).limit(1)).first()
                        if instance is None:
                            instance = cls(**kwargs)
                            DBSession.add(instance)
                            DBSession.flush()
                        return instance

                    @classmethod
                    def count_all(cls):
                        return DBSession.scalar(select(func.count()).select_from(select(cls).subquery()))

                    @classmethod
                    def newest(cls):
                        return DBSession.scalars(select(cls).order_by(cls.id.desc()).limit(1)).first()


                Base = declarative_base(cls=BaseMixin)
            """,
            "app.models": """
                from sqlalchemy import select, Column, String

                from app.meta import Base, DBSession


                class User(Base):
                    __tablename__ = "users"
                    name = Column(String(50))

                    @classmethod
                    def named(cls, name):
                        return DBSession.scalars(select(cls).where(cls.name == name)).one_or_none()
            """,
            "app.views": """
                from app.models import User
                from app.meta import DBSession
                from sqlalchemy import select

                def names():
                    return [u.name for u in DBSession.scalars(select(User).order_by(User.name)).all()]
            """,
        },
        target="2.0",
    )


def test_query_property_of_a_mixin_among_the_model_bases() -> None:
    check_project(
        {
            "app.db": """
                from sqlalchemy import create_engine
                from sqlalchemy.orm import declarative_base, scoped_session, sessionmaker

                Session = scoped_session(sessionmaker(bind=create_engine("sqlite://")))
                Base = declarative_base()


                class QueryMixin:
                    query = Session.query_property()


                class CrudMixin(QueryMixin):
                    def reload(self):
                        return self.query.get(self.id)
            """,
            "app.models": """
                from sqlalchemy import Column, Integer

                from app.db import Base, CrudMixin


                class Tag(CrudMixin, Base):
                    __tablename__ = "tags"
                    id = Column(Integer, primary_key=True)


                def tags():
                    return Tag.query.all()
            """,
        },
        {
            "app.db": """
                from sqlalchemy import create_engine
                from sqlalchemy.orm import declarative_base, scoped_session, sessionmaker

                Session = scoped_session(sessionmaker(bind=create_engine("sqlite://")))
                Base = declarative_base()


                class QueryMixin:
                    query = Session.query_property()


                class CrudMixin(QueryMixin):
                    def reload(self):
                        return Session.get(type(self), self.id)
            """,
            "app.models": """
                from sqlalchemy import select, Column, Integer

                from app.db import Session, Base, CrudMixin


                class Tag(CrudMixin, Base):
                    __tablename__ = "tags"
                    id = Column(Integer, primary_key=True)


                def tags():
                    return Session.scalars(select(Tag)).all()
            """,
        },
        target="2.0",
    )


def test_cls_of_a_mixin_gets_unique_when_a_derived_model_joins_a_collection() -> None:
    check_project(
        {
            "app.db": """
                from sqlalchemy import Column, ForeignKey, Integer, create_engine
                from sqlalchemy.orm import declarative_base, relationship, scoped_session, sessionmaker

                Session = scoped_session(sessionmaker(bind=create_engine("sqlite://")))


                class Mixin:
                    @classmethod
                    def every(cls):
                        return Session.query(cls).all()


                Base = declarative_base(cls=Mixin)


                class Parent(Base):
                    __tablename__ = "parents"
                    id = Column(Integer, primary_key=True)
                    children = relationship("Child", lazy="joined")


                class Child(Base):
                    __tablename__ = "children"
                    id = Column(Integer, primary_key=True)
                    parent_id = Column(ForeignKey("parents.id"))
            """,
        },
        {
            "app.db": """
                from sqlalchemy import select, Column, ForeignKey, Integer, create_engine
                from sqlalchemy.orm import declarative_base, relationship, scoped_session, sessionmaker

                Session = scoped_session(sessionmaker(bind=create_engine("sqlite://")))


                class Mixin:
                    @classmethod
                    def every(cls):
                        return Session.scalars(select(cls)).unique().all()


                Base = declarative_base(cls=Mixin)


                class Parent(Base):
                    __tablename__ = "parents"
                    id = Column(Integer, primary_key=True)
                    children = relationship("Child", lazy="joined")


                class Child(Base):
                    __tablename__ = "children"
                    id = Column(Integer, primary_key=True)
                    parent_id = Column(ForeignKey("parents.id"))
            """,
        },
        target="2.0",
    )


def test_query_property_of_a_mixin_is_removed_under_async() -> None:
    result = migrate_project(
        {name: _dedent(code) for name, code in project().items()}, target="async"
    )
    meta = result["app.meta"].code
    assert "query_property" not in meta
    assert "return await DBSession.get(cls, id_)" in meta
    assert "(await DBSession.scalars(select(cls).filter_by(**kwargs).limit(1))).first()" in meta
    assert "DBSession.scalars(select(cls).where(cls.name == name))" in result["app.models"].code
    assert not [todo for m in result.values() for todo in m.todos]


def test_cls_query_of_a_class_without_a_query_property_is_left_alone() -> None:
    check_noop(
        """
        from urllib.parse import urlsplit


        class Link:
            query = ""

            @classmethod
            def parts(cls):
                return cls.query.split("&")

            def first(self):
                return self.query.first()
        """,
        target="async",
    )


def test_cls_that_is_no_classmethod_receiver_is_still_refused() -> None:
    todo = "# TODO(sqla-upgrade): cannot tell whether cls is a mapped class or a column expression"
    check_transformed(
        """
        from app.db import Session


        class Finder:
            @staticmethod
            def rows(cls):
                return Session.query(cls).all()

            @classmethod
            def rebound(cls, other):
                cls = other
                return Session.query(cls).all()


        def rows(cls):
            return Session.query(cls).all()
        """,
        f"""
        from app.db import Session


        class Finder:
            @staticmethod
            def rows(cls):
                {todo}
                return Session.query(cls).all()

            @classmethod
            def rebound(cls, other):
                cls = other
                {todo}
                return Session.query(cls).all()


        def rows(cls):
            {todo}
            return Session.query(cls).all()
        """,
        target="2.0",
        todos=["cannot tell whether cls is a mapped class"],
    )


def test_migrated_mixin_program_gives_the_same_results(tmp_path: Path) -> None:
    seed = (
        "\n\ndef seed():\n"
        "    DBSession.add_all([User(name='b'), User(name='a')])\n"
        "    DBSession.commit()\n"
    )
    url = f"sqlite:///{tmp_path / 'legacy.db'}"
    legacy = {name: _dedent(code) for name, code in project(url).items()}
    legacy["app.views"] = "from app.meta import DBSession\n" + legacy["app.views"] + seed
    old = _package(legacy)
    old.meta.Base.metadata.create_all(old.meta.engine)
    old.views.seed()
    User = old.models.User
    expected = (
        old.views.names(),
        User.get_by_id(1).name,
        User.find_or_create(name="a").id,
        User.find_or_create(name="c").id,
        User.count_all(),
        User.newest().name,
        User.named("b").id,
    )
    old.meta.DBSession.remove()

    migrated_meta = legacy["app.meta"].replace("legacy.db", "migrated.db")
    migrated = migrate_project({**legacy, "app.meta": migrated_meta}, target="async")
    new = _package({name: m.code for name, m in migrated.items()})

    async def run() -> tuple[object, ...]:
        async with new.meta.engine.begin() as conn:
            await conn.run_sync(new.meta.Base.metadata.create_all)
        await new.views.seed()
        User = new.models.User
        got = (
            await new.views.names(),
            (await User.get_by_id(1)).name,
            (await User.find_or_create(name="a")).id,
            (await User.find_or_create(name="c")).id,
            await User.count_all(),
            (await User.newest()).name,
            (await User.named("b")).id,
        )
        await new.meta.DBSession.remove()
        await new.meta.engine.dispose()
        return got

    assert asyncio.run(run()) == expected == (["a", "b"], "b", 2, 3, 3, "c", 1)


def _package(sources: dict[str, str]) -> types.SimpleNamespace:
    """Execute ``app.meta``, ``app.models`` and ``app.views`` (importing each other)."""
    modules: dict[str, types.ModuleType] = {}
    names = ("app.meta", "app.models", "app.views")
    try:
        for name in names:
            module = types.ModuleType(name)
            sys.modules[name] = module
            modules[name] = module
            exec(compile(sources[name], name, "exec", dont_inherit=True), module.__dict__)
    finally:
        for name in modules:
            del sys.modules[name]
    return types.SimpleNamespace(**{name.split(".")[1]: modules[name] for name in names})
