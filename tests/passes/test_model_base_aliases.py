"""Models derived from a module-level alias of ``db.Model`` or of a declarative base
(``BaseModel: DeclarativeMeta = db.Model``, then ``class User(BaseModel)``): they are
models, their ``Model.query`` chains are migrated like those of ``class User(db.Model)``."""

from __future__ import annotations

from tests.harness import check_noop, check_project

EXTENSION = """
    from flask_sqlalchemy import SQLAlchemy

    db = SQLAlchemy()
"""

MODELS = """
    from sqlalchemy.ext.declarative import DeclarativeMeta

    from app import db

    BaseModel: DeclarativeMeta = db.Model


    class User(BaseModel):
        id = db.Column(db.Integer, primary_key=True)
        name = db.Column(db.String(50))

        @classmethod
        def named(cls, name):
            return cls.query.filter_by(name=name).first()
"""

VIEWS = """
    from app import db
    from app.models import BaseModel, User

    Model = BaseModel


    class Post(Model):
        id = db.Column(db.Integer, primary_key=True)


    def one(user_id):
        return User.query.get(user_id)


    def posts():
        return Post.query.all()
"""


def project() -> dict[str, str]:
    return {"app": EXTENSION, "app.models": MODELS, "app.views": VIEWS}


def test_models_derived_from_an_alias_of_db_model_in_2_0() -> None:
    check_project(
        project(),
        {
            "app.models": """
                from sqlalchemy.orm import DeclarativeMeta

                from app import db
                from sqlalchemy import select

                BaseModel: DeclarativeMeta = db.Model


                class User(BaseModel):
                    id = db.Column(db.Integer, primary_key=True)
                    name = db.Column(db.String(50))

                    @classmethod
                    def named(cls, name):
                        return db.session.scalars(select(cls).filter_by(name=name).limit(1)).first()
            """,
            "app.views": """
                from app import db
                from app.models import BaseModel, User
                from sqlalchemy import select

                Model = BaseModel


                class Post(Model):
                    id = db.Column(db.Integer, primary_key=True)


                def one(user_id):
                    return db.session.get(User, user_id)


                def posts():
                    return db.session.scalars(select(Post)).all()
            """,
        },
        target="2.0",
    )


def test_models_derived_from_an_alias_of_db_model_async() -> None:
    check_project(
        project(),
        {
            "app.views": """
                from app import async_session, db
                from app.models import BaseModel, User
                from sqlalchemy import select

                Model = BaseModel


                class Post(Model):
                    id = db.Column(db.Integer, primary_key=True)


                async def one(user_id):
                    return await async_session.get(User, user_id)


                async def posts():
                    return (await async_session.scalars(select(Post))).all()
            """,
        },
    )


def test_a_class_derived_from_an_alias_of_another_class_is_no_model() -> None:
    check_noop(
        """
        from app.helpers import Searchable

        Base = Searchable


        class Index(Base):
            pass


        def hits():
            return Index.query.all()
        """,
        project={"app.helpers": "class Searchable:\n    query = None\n"},
    )
