"""Models of a library's declarative base, and ``cls`` of a classmethod in stored queries."""

from __future__ import annotations

import pytest

from sqla_upgrade.api import migrate_project
from tests.harness import _dedent, check_project

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


COLUMNS = """
    from sqlalchemy import Column, Integer, String, func
    from sqlalchemy.orm import declarative_base

    Base = declarative_base()


    class DagRun(Base):
        __tablename__ = "dag_run"
        id = Column(Integer, primary_key=True)
        dag_id = Column(String)

        @classmethod
        def active_runs(cls, session, dag_ids=None):
            query = session.query(cls.dag_id, func.count("*"))
            if dag_ids is not None:
                query = query.filter(cls.dag_id.in_(dag_ids))
            return dict(query.group_by(cls.dag_id))

        @classmethod
        def counts(cls, session):
            return session.query(cls.dag_id, func.count("*")).group_by(cls.dag_id).all()
"""

COLUMNS_2_0 = (
    COLUMNS.replace("from sqlalchemy import Column", "from sqlalchemy import select, Column")
    .replace(
        'query = session.query(cls.dag_id, func.count("*"))',
        'query = select(cls.dag_id, func.count("*"))',
    )
    .replace("query.filter(cls.dag_id.in_(dag_ids))", "query.where(cls.dag_id.in_(dag_ids))")
    .replace(
        "return dict(query.group_by(cls.dag_id))",
        "return dict(session.execute(query.group_by(cls.dag_id)).all())",
    )
    .replace(
        'return session.query(cls.dag_id, func.count("*")).group_by(cls.dag_id).all()',
        'return session.execute(select(cls.dag_id, func.count("*")).group_by(cls.dag_id)).all()',
    )
)


def test_columns_read_through_a_classmethods_cls_are_columns() -> None:
    """``cls.dag_id`` in a classmethod of a model is a column, as ``DagRun.dag_id``."""
    check_project({"app.models": COLUMNS}, {"app.models": COLUMNS_2_0}, target="2.0")


def test_an_attribute_of_self_handed_to_query_stays_with_a_todo() -> None:
    """``self.dag_id`` is the value of one row, not a column: nothing to tell it by."""
    code = (
        COLUMNS
        + "\n        def mine(self, session):\n            return session.query(self.dag_id).all()\n"
    )
    result = migrate_project({"app.models": _dedent(code)}, target="2.0")
    assert "        return session.query(self.dag_id).all()\n" in result["app.models"].code
    assert any("self.dag_id" in n.message for n in result["app.models"].todos)
