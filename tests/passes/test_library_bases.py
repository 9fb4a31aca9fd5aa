"""Models of a library's declarative base, and ``cls`` of a classmethod in stored queries."""

from __future__ import annotations

import pytest

from tests.harness import check_project

BODY = """
    {base}
    from sqlalchemy import Column, ForeignKey, Integer, String
    from sqlalchemy.orm import relationship
    {define}


    class Database(Model):
        __tablename__ = "dbs"
        id = Column(Integer, primary_key=True)
        name = Column(String)


    class Table(Model):
        __tablename__ = "tables"
        id = Column(Integer, primary_key=True)
        name = Column(String)
        database_id = Column(ForeignKey("dbs.id"))
        database = relationship("Database")

        @classmethod
        def get(cls, session, name, database):
            query = session.query(cls).join(Database).filter(cls.name == name)
            query = query.filter(Database.name == database)
            return query.one_or_none()

        @classmethod
        def first_named(cls, session, name):
            return session.query(cls).filter_by(name=name).first()
"""

BODY_2_0 = (
    BODY.replace("from sqlalchemy import Column", "from sqlalchemy import select, Column")
    .replace(
        "query = session.query(cls).join(Database).filter(cls.name == name)",
        "query = select(cls).join(Database).where(cls.name == name)",
    )
    .replace(
        "query = query.filter(Database.name == database)",
        "query = query.where(Database.name == database)",
    )
    .replace("return query.one_or_none()", "return session.scalars(query).unique().one_or_none()")
    .replace(
        "return session.query(cls).filter_by(name=name).first()",
        "return session.scalars(select(cls).filter_by(name=name).limit(1)).first()",
    )
)


@pytest.mark.parametrize(
    "base, define",
    [
        ("from sqlalchemy.orm import declarative_base", "Model = declarative_base()"),
        ("from flask_appbuilder import Model", ""),  # Flask-AppBuilder's (Superset, Airflow)
        ("from flask_appbuilder.models.sqla import Model", ""),
    ],
)
def test_classmethods_query_their_class_through_stored_queries(base: str, define: str) -> None:
    """``cls`` handed to ``query()`` in a classmethod of a model is that model, in a query
    kept in a variable as in one run at once; a class deriving from Flask-AppBuilder's
    ``Model`` (a ``declarative_base()`` of that library) is a model."""
    module = BODY.format(base=base, define=define)
    expected = BODY_2_0.format(base=base, define=define)
    check_project({"app.models": module}, {"app.models": expected}, target="2.0")
