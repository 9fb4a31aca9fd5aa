"""orm-synonyms: ``relation()`` and ``eagerload()``, removed in 2.0, become
``relationship()`` and ``joinedload()``; an alias or a name taken keeps the old spelling
bound to the new function."""

from __future__ import annotations

from tests.harness import check_noop, check_project, check_transformed, exec_module


def test_relation_and_eagerload_are_renamed_with_their_imports() -> None:
    check_transformed(
        """
        import sqlalchemy as sa
        from sqlalchemy import orm
        from sqlalchemy.orm import backref, eagerload, relation
        from app.models import Base


        class Post(Base):
            __tablename__ = "posts"
            user = relation("User", backref=backref("posts"))
            editor = orm.relation("User")
            reviewer = sa.orm.relation("User")


        def options():
            return [eagerload(Post.user), orm.eagerload(Post.editor)]
        """,
        """
        import sqlalchemy as sa
        from sqlalchemy import orm
        from sqlalchemy.orm import joinedload, relationship, backref
        from app.models import Base


        class Post(Base):
            __tablename__ = "posts"
            user = relationship("User", backref=backref("posts"))
            editor = orm.relationship("User")
            reviewer = sa.orm.relationship("User")


        def options():
            return [joinedload(Post.user), orm.joinedload(Post.editor)]
        """,
        only=("orm-synonyms",),
    )


def test_relation_next_to_an_imported_relationship_is_dropped_from_the_import() -> None:
    check_transformed(
        """
        from sqlalchemy.orm import relation, relationship
        from app.models import Base


        class Post(Base):
            __tablename__ = "posts"
            user = relation("User")
            editor = relationship("User")
        """,
        """
        from sqlalchemy.orm import relationship
        from app.models import Base


        class Post(Base):
            __tablename__ = "posts"
            user = relationship("User")
            editor = relationship("User")
        """,
        only=("orm-synonyms",),
    )


def test_an_alias_keeps_its_name() -> None:
    check_transformed(
        """
        from sqlalchemy.orm import relation as rel, eagerload as joinedload

        user = rel("User")
        option = joinedload("user")
        """,
        """
        from sqlalchemy.orm import relationship as rel, joinedload

        user = rel("User")
        option = joinedload("user")
        """,
        only=("orm-synonyms",),
    )


def test_a_name_taken_in_the_module_keeps_the_old_spelling() -> None:
    check_transformed(
        """
        from sqlalchemy.orm import relation


        def describe(relationship):
            return relation("User", backref=relationship)
        """,
        """
        from sqlalchemy.orm import relationship as relation


        def describe(relationship):
            return relation("User", backref=relationship)
        """,
        only=("orm-synonyms",),
    )


def test_a_synonym_other_modules_import_from_this_one_keeps_its_name() -> None:
    check_project(
        {
            "app.base": """
                from sqlalchemy.orm import declarative_base, relation

                Base = declarative_base()
            """,
            "app.models": """
                from sqlalchemy import Column, ForeignKey, Integer
                from app.base import Base, relation


                class User(Base):
                    __tablename__ = "users"
                    id = Column(Integer, primary_key=True)


                class Post(Base):
                    __tablename__ = "posts"
                    id = Column(Integer, primary_key=True)
                    user_id = Column(Integer, ForeignKey("users.id"))
                    user = relation(User)
            """,
        },
        {
            "app.base": """
                from sqlalchemy.orm import declarative_base, relationship as relation

                Base = declarative_base()
            """,
            "app.models": """
                from sqlalchemy import Column, ForeignKey, Integer
                from app.base import Base, relation


                class User(Base):
                    __tablename__ = "users"
                    id = Column(Integer, primary_key=True)


                class Post(Base):
                    __tablename__ = "posts"
                    id = Column(Integer, primary_key=True)
                    user_id = Column(Integer, ForeignKey("users.id"))
                    user = relation(User)
            """,
        },
        target="2.0",
    )


def test_other_relations_are_left_alone() -> None:
    check_noop(
        """
        from app.graph import relation


        def link(a, b, relation_name="relation"):
            kind = relation(a, b)
            return kind.relation
        """
    )


def test_migrated_models_run_on_sqlalchemy_2() -> None:
    migrated = check_transformed(
        """
        from sqlalchemy import Column, ForeignKey, Integer, String, create_engine
        from sqlalchemy.orm import Session, declarative_base, eagerload, relation

        Base = declarative_base()


        class User(Base):
            __tablename__ = "users"
            id = Column(Integer, primary_key=True)
            name = Column(String)


        class Post(Base):
            __tablename__ = "posts"
            id = Column(Integer, primary_key=True)
            user_id = Column(Integer, ForeignKey("users.id"))
            user = relation(User, backref="posts")


        engine = create_engine("sqlite://")
        Base.metadata.create_all(engine)
        with Session(engine) as session:
            session.add(Post(user=User(name="ann")))
            session.commit()
            post = session.query(Post).options(eagerload(Post.user)).one()
            NAME = post.user.name
        """,
        """
        from sqlalchemy import select, Column, ForeignKey, Integer, String, create_engine
        from sqlalchemy.orm import joinedload, relationship, Session, declarative_base

        Base = declarative_base()


        class User(Base):
            __tablename__ = "users"
            id = Column(Integer, primary_key=True)
            name = Column(String)


        class Post(Base):
            __tablename__ = "posts"
            id = Column(Integer, primary_key=True)
            user_id = Column(Integer, ForeignKey("users.id"))
            user = relationship(User, backref="posts")


        engine = create_engine("sqlite://")
        Base.metadata.create_all(engine)
        with Session(engine) as session:
            session.add(Post(user=User(name="ann")))
            session.commit()
            post = session.scalars(select(Post).options(joinedload(Post.user))).unique().one()
            NAME = post.user.name
        """,
    )
    assert exec_module(migrated.code).NAME == "ann"
