"""Names a module gets from ``from .core import *`` (OpenStack's ``keystone.common.sql``
re-exports its ``ModelBase`` and column types that way): the index follows the star
import of a project module to the module binding the name, so models deriving from
``sql.ModelBase`` are models and queries of them are rewritten."""

from __future__ import annotations

from tests.harness import check_transformed

CORE = """\
import sqlalchemy as sql
from sqlalchemy.ext import declarative

ModelBase = declarative.declarative_base()
Column = sql.Column
String = sql.String
"""

PACKAGE = """\
from app.sql.core import *  # noqa
"""

MODELS = """\
from sqlalchemy import orm
from app import sql


class User(sql.ModelBase):
    __tablename__ = "user"
    id = sql.Column(sql.String(64), primary_key=True)
    emails = orm.relationship("Email", lazy="joined")


class Email(sql.ModelBase):
    __tablename__ = "email"
    id = sql.Column(sql.String(64), primary_key=True)
    user_id = sql.Column(sql.String(64), sql.ForeignKey("user.id"))
"""

PROJECT = {"app.sql.core": CORE, "app.sql": PACKAGE, "app.models": MODELS}


def test_a_model_whose_base_comes_through_a_star_import_is_queried_as_an_entity() -> None:
    check_transformed(
        """
        from app import models as model


        def users(session, user_id):
            one = session.query(model.User).get(user_id)
            emails = session.query(model.Email).filter_by(user_id=user_id).all()
            return one, emails, session.query(model.User).all()
        """,
        """
        from app import models as model
        from sqlalchemy import select


        def users(session, user_id):
            one = session.get(model.User, user_id)
            emails = session.scalars(select(model.Email).filter_by(user_id=user_id)).all()
            return one, emails, session.scalars(select(model.User)).unique().all()
        """,
        project=PROJECT,
    )


def test_a_star_import_gives_only_the_names_of_its_all() -> None:
    """``__all__`` leaves ``ModelBase`` out: the star import does not bind it, so the
    package's ``ModelBase`` is unknown and the query is left with its TODO."""
    project = {
        **PROJECT,
        "app.sql.core": CORE + '\n__all__ = ["Column", "String"]\n',
    }
    check_transformed(
        """
        from app import models as model


        def users(session):
            return session.query(model.User).all()
        """,
        """
        from app import models as model


        def users(session):
            # TODO(sqla-upgrade): cannot tell whether model.User is a mapped class or a column expression
            return session.query(model.User).all()
        """,
        project=project,
        todos=["cannot tell whether model.User is a mapped class"],
    )


def test_a_name_the_module_binds_itself_wins_over_its_star_import() -> None:
    project = {
        **PROJECT,
        "app.sql": PACKAGE + "\n\nclass ModelBase:\n    pass\n",
    }
    check_transformed(
        """
        from app import models as model


        def users(session):
            return session.query(model.User).all()
        """,
        """
        from app import models as model


        def users(session):
            # TODO(sqla-upgrade): cannot tell whether model.User is a mapped class or a column expression
            return session.query(model.User).all()
        """,
        project=project,
        todos=["cannot tell whether model.User is a mapped class"],
    )
