"""``store.query(User)`` where nothing tells ``store`` is a session (GNU Mailman's
``@dbconnection`` methods are handed ``store`` by their decorator): a legacy query of a
mapped class all the same, so it gets a TODO saying how to let the tool migrate it
(annotate ``store: Session``) instead of being left silently, which let ``check`` pass
on a code base full of legacy queries. ``query()`` of something else on such a receiver
(another library's) is left alone."""

from __future__ import annotations

from tests.harness import check_noop, check_transformed

MODELS = """
    import sqlalchemy as sa
    from sqlalchemy.orm import declarative_base

    Base = declarative_base()


    class User(Base):
        __tablename__ = "users"
        id = sa.Column(sa.Integer, primary_key=True)
        name = sa.Column(sa.String)
"""

PROJECT = {"app.models": MODELS}

TODO = (
    "# TODO(sqla-upgrade): store.query({selected}) is a legacy Query, but nothing tells "
    "store is a SQLAlchemy session: annotate it (Session) or bind it from a sessionmaker, "
    "and run again"
)


def test_a_query_of_a_model_on_an_unknown_receiver_gets_a_todo() -> None:
    check_transformed(
        """
        from sqlalchemy.orm import Session

        from app.models import User


        def first(store, uid):
            return store.query(User).filter_by(id=uid).first()


        def names(store):
            return store.query(User.name).all()


        def annotated(store: Session, uid):
            return store.query(User).filter_by(id=uid).first()
        """,
        f"""
        from sqlalchemy.orm import Session

        from app.models import User
        from sqlalchemy import select


        def first(store, uid):
            {TODO.format(selected="User")}
            return store.query(User).filter_by(id=uid).first()


        def names(store):
            {TODO.format(selected="User.name")}
            return store.query(User.name).all()


        def annotated(store: Session, uid):
            return store.scalars(select(User).filter_by(id=uid).limit(1)).first()
        """,
        project=PROJECT,
        todos=["store.query(User) is a legacy Query, but nothing tells store is a"],
    )


def test_other_query_methods_on_unknown_receivers_are_left_alone() -> None:
    check_noop(
        """
        from app.models import User


        def search(es, index, text):
            return es.query(index, text).first()


        def params(request):
            return request.query("page")
        """,
        project=PROJECT,
    )


def test_a_query_variable_reassigned_from_a_helper_says_so() -> None:
    """Keystone's ``refs = session.query(M); refs = sql.filter_limit_query(M, refs, hints)``:
    the TODO names the assignment that is not a query (it said the assignments "differ
    in what they select or in their session", which they do not)."""
    check_transformed(
        """
        from app import util
        from app.models import User


        def names(session, hints):
            users = session.query(User)
            users = util.limited(User, users, hints)
            return [u.name for u in users]
        """,
        """
        from app import util
        from app.models import User


        def names(session, hints):
            # TODO(sqla-upgrade): this query variable is also assigned what is not a query the tool can follow (util.limited(User, users, hints))
            users = session.query(User)
            users = util.limited(User, users, hints)
            return [u.name for u in users]
        """,
        project={**PROJECT, "app.util": "def limited(model, query, hints):\n    return query\n"},
        todos=["this query variable is also assigned what is not a query"],
    )
