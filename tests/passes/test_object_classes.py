"""``session.query(obj.__class__)`` and ``session.query(type(obj))``: generic library code
(SQLAlchemy-Continuum's version fetchers) queries the class of an object it is handed.
That is a class, so handed to ``query()`` a mapped one: the query selects an entity
(``session.scalars``), and with no model known every model's joined collections decide
``unique()``. A ``type`` that is not the builtin stays unknown, with its TODO."""

from __future__ import annotations

from tests.harness import check_transformed, exec_module

LEGACY = """
    import sqlalchemy as sa
    from sqlalchemy.orm import declarative_base

    Base = declarative_base()


    class Version(Base):
        __tablename__ = "versions"
        id = sa.Column(sa.Integer, primary_key=True)
        tx = sa.Column(sa.Integer)


    def previous(session, obj):
        return (
            session.query(obj.__class__)
            .filter(obj.__class__.tx < obj.tx)
            .order_by(sa.desc(obj.__class__.tx))
            .first()
        )


    def same_tx(session, obj):
        return session.query(type(obj)).filter_by(tx=obj.tx).count()


    def by_pk(session, obj, pk):
        return session.query(type(obj)).get(pk)


    def every(session, obj, type):
        return session.query(type(obj)).all()
"""

MIGRATED = """
    import sqlalchemy as sa
    from sqlalchemy.orm import declarative_base
    from sqlalchemy import func, select

    Base = declarative_base()


    class Version(Base):
        __tablename__ = "versions"
        id = sa.Column(sa.Integer, primary_key=True)
        tx = sa.Column(sa.Integer)


    def previous(session, obj):
        return (
            session.scalars(select(obj.__class__)
            .where(obj.__class__.tx < obj.tx)
            .order_by(sa.desc(obj.__class__.tx)).limit(1))
            .first()
        )


    def same_tx(session, obj):
        return session.scalar(select(func.count()).select_from(select(type(obj)).filter_by(tx=obj.tx).subquery()))


    def by_pk(session, obj, pk):
        return session.get(type(obj), pk)


    def every(session, obj, type):
        # TODO(sqla-upgrade): cannot tell whether type(obj) is a mapped class or a column expression
        return session.query(type(obj)).all()
"""


def test_the_class_of_an_object_is_queried_as_an_entity() -> None:
    check_transformed(LEGACY, MIGRATED, todos=["cannot tell whether type(obj) is a mapped class"])


def test_the_class_of_an_object_is_still_unique_where_some_model_joins_a_collection() -> None:
    check_transformed(
        """
        from sqlalchemy import Column, ForeignKey, Integer
        from sqlalchemy.orm import declarative_base, relationship

        Base = declarative_base()


        class Parent(Base):
            __tablename__ = "parents"
            id = Column(Integer, primary_key=True)
            children = relationship("Child", lazy="joined")


        class Child(Base):
            __tablename__ = "children"
            id = Column(Integer, primary_key=True)
            parent_id = Column(ForeignKey("parents.id"))


        def siblings(session, obj):
            return session.query(obj.__class__).all()
        """,
        """
        from sqlalchemy import select, Column, ForeignKey, Integer
        from sqlalchemy.orm import declarative_base, relationship

        Base = declarative_base()


        class Parent(Base):
            __tablename__ = "parents"
            id = Column(Integer, primary_key=True)
            children = relationship("Child", lazy="joined")


        class Child(Base):
            __tablename__ = "children"
            id = Column(Integer, primary_key=True)
            parent_id = Column(ForeignKey("parents.id"))


        def siblings(session, obj):
            return session.scalars(select(obj.__class__)).unique().all()
        """,
    )


def test_migrated_queries_of_the_class_of_an_object_give_the_legacy_results() -> None:
    import textwrap

    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session

    def run(code: str) -> tuple[object, ...]:
        module = exec_module(textwrap.dedent(code))
        engine = create_engine("sqlite://")
        module.Base.metadata.create_all(engine)
        with Session(engine) as session:
            session.add_all([module.Version(id=i, tx=i) for i in range(1, 8)])
            session.commit()
            obj = session.get(module.Version, 6)
            earlier = module.previous(session, obj)
            return (
                earlier.id,
                module.same_tx(session, obj),
                module.by_pk(session, obj, 4).id,
            )

    assert run(MIGRATED) == run(LEGACY) == (5, 1, 4)
