"""A variable holding a Query on some paths and what a query gave (rows) on another.

The rows' chain is rewritten; the Query chains are left with one TODO, the same on every
run (a first run's rewrite of the rows left a variable that a second run judged
otherwise, adding a second TODO: not idempotent)."""

from __future__ import annotations

from tests.harness import check_project

EXT = """
    from flask_sqlalchemy import SQLAlchemy

    db = SQLAlchemy()


    class Resolver(db.Model):
        id = db.Column(db.Integer, primary_key=True)
        name = db.Column(db.String(20))
"""
LIB = """
    from app.ext import Resolver


    def resolvers(name=None, kind=None):
        if name:
            found = Resolver.query.filter(Resolver.name == name)
        elif kind:
            found = Resolver.query.filter(Resolver.id == kind)
        else:
            found = Resolver.query.all()
        return [r.name for r in found]
"""
MIXED_TODO = (
    "this variable holds a Query on some paths and other values (rows, None...) on "
    "others, so its uses cannot be rewritten with it; give the query and the other "
    "values variables of their own"
)


def _expected(imports: str, asynchronous: str, rows: str) -> str:
    return f"""
        {imports}
        from sqlalchemy import select


        {asynchronous}def resolvers(name=None, kind=None):
            if name:
                # TODO(sqla-upgrade): {MIXED_TODO}
                found = Resolver.query.filter(Resolver.name == name)
            elif kind:
                # TODO(sqla-upgrade): {MIXED_TODO}
                found = Resolver.query.filter(Resolver.id == kind)
            else:
                found = {rows}
            return [r.name for r in found]
    """


def test_a_variable_of_a_query_and_of_rows_keeps_its_query_chains_with_one_todo() -> None:
    check_project(
        {"app.ext": EXT, "app.lib": LIB},
        {
            "app.lib": _expected(
                "from app.ext import db, Resolver",
                "",
                "db.session.scalars(select(Resolver)).all()",
            )
        },
        target="2.0",
        todos=[MIXED_TODO],
    )
    check_project(
        {"app.ext": EXT, "app.lib": LIB},
        {
            "app.lib": _expected(
                "from app.ext import async_session, db, Resolver",
                "async ",
                "(await async_session.scalars(select(Resolver))).all()",
            )
        },
        todos=[MIXED_TODO],
    )


def test_rows_of_a_query_in_a_variable_of_their_own_are_rewritten() -> None:
    lib = """
        from app.ext import Resolver


        def names():
            found = Resolver.query.all()
            return [r.name for r in found]
    """
    expected = """
        from app.ext import db, Resolver
        from sqlalchemy import select


        def names():
            found = db.session.scalars(select(Resolver)).all()
            return [r.name for r in found]
    """
    check_project({"app.ext": EXT, "app.lib": lib}, {"app.lib": expected}, target="2.0")


def test_a_variable_of_a_query_and_of_a_model_methods_rows_gets_the_same_todo() -> None:
    """``found = Descriptor.get_all_by(...)`` (a classmethod giving rows, awaited under
    ``--target async``) on one path, a Query on another: the TODO naming it is the same
    when a second run finds it awaited."""
    ext = """
        from flask_sqlalchemy import SQLAlchemy

        db = SQLAlchemy()


        class Descriptor(db.Model):
            id = db.Column(db.Integer, primary_key=True)
            project_id = db.Column(db.Integer)

            @classmethod
            def get_all_by(cls, **kw):
                return db.session.scalars(db.select(cls).filter_by(**kw)).all()
    """
    lib = """
        from app.ext import Descriptor


        def descriptors(project_id, everything=False):
            if everything:
                found = Descriptor.get_all_by(project_id=project_id)
            else:
                found = Descriptor.query.filter(Descriptor.id > 3)
            return [d.id for d in found]
    """
    todo = (
        "this query variable is also assigned what is not a query the tool can follow "
        "(Descriptor.get_all_by(project_id=project_id))"
    )
    for target, asynchronous, awaited in (("2.0", "", ""), ("async", "async ", "await ")):
        expected = f"""
            from app.ext import Descriptor


            {asynchronous}def descriptors(project_id, everything=False):
                if everything:
                    found = {awaited}Descriptor.get_all_by(project_id=project_id)
                else:
                    # TODO(sqla-upgrade): {todo}
                    found = Descriptor.query.filter(Descriptor.id > 3)
                return [d.id for d in found]
        """
        check_project(
            {"app.ext": ext, "app.lib": lib}, {"app.lib": expected}, target=target, todos=[todo]
        )
