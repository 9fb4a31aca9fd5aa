"""A Flask-SQLAlchemy ``db`` given a query class overriding ``Query``'s methods
(``SQLAlchemy(query_class=AppQuery)``): its sessions' queries are left with a TODO
under ``--target async`` as under 2.0, and stay so on the next run, where they are built
on the ``async_session`` written beside ``db`` or on the synchronous session of its
``run_sync(lambda sync_session: ...)``; a synchronous function building one keeps
``db.session`` (an ``AsyncSession`` has no ``query()``)."""

from __future__ import annotations

from tests.harness import check_project

EXTENSION = """
    from flask_sqlalchemy import BaseQuery, SQLAlchemy


    class AppQuery(BaseQuery):
        def paginate(self, *, page=1, per_page=25, show_all=False):
            return super().paginate(page=page, per_page=per_page)

        def all(self):
            return [row for row in super().all() if row is not None]


    db = SQLAlchemy(query_class=AppQuery)
"""

MODELS = """
    from app import db


    class Event(db.Model):
        id = db.Column(db.Integer, primary_key=True)
        year = db.Column(db.Integer)
        position = db.Column(db.Integer)
"""

VIEWS = """
    from app import db
    from app.models import Event


    def years():
        query = db.session.query(Event.year, db.func.count()).group_by(Event.year)
        return dict(query)


    def top():
        return db.session.query(db.func.max(Event.position)).filter(Event.id > 3).one()
"""


def test_queries_of_a_custom_query_class_stay_on_the_next_run() -> None:
    check_project(
        {"app": EXTENSION, "app.models": MODELS, "app.views": VIEWS},
        {
            "app.views": """
                from app import async_session, db
                from app.models import Event


                def years():
                    # TODO(sqla-upgrade): queries here are built by AppQuery, a custom query class overriding all, paginate; select() would skip what it does
                    query = db.session.query(Event.year, db.func.count()).group_by(Event.year)
                    return dict(query)


                async def top():
                    # TODO(sqla-upgrade): queries here are built by AppQuery, a custom query class overriding all, paginate; select() would skip what it does
                    return await async_session().run_sync(lambda sync_session: sync_session.query(db.func.max(Event.position)).filter(Event.id > 3).one())
            """,
        },
        todos=["queries here are built by AppQuery"],
    )


PAGINATING = """
    from flask_sqlalchemy import BaseQuery, SQLAlchemy


    class AppQuery(BaseQuery):
        def paginate(self, *, page=1, per_page=25, show_all=False):
            return super().paginate(page=page, per_page=per_page)


    db = SQLAlchemy(query_class=AppQuery)
"""


def test_a_query_class_overriding_only_paginate_builds_other_queries_as_query_does() -> None:
    """``paginate`` runs only where a query calls it: the others are migrated."""
    check_project(
        {
            "app": PAGINATING,
            "app.models": MODELS,
            "app.views": """
                from app import db
                from app.models import Event


                def top():
                    return db.session.query(db.func.max(Event.position)).filter(Event.id > 3).one()


                def page(number):
                    return db.session.query(Event).order_by(Event.year).paginate(page=number)
            """,
        },
        {
            "app.views": """
                from app import db
                from app.models import Event
                from sqlalchemy import select


                def top():
                    return db.session.execute(select(db.func.max(Event.position)).where(Event.id > 3)).one()


                def page(number):
                    # TODO(sqla-upgrade): queries here are built by AppQuery, a custom query class overriding paginate; select() would skip what it does
                    return db.session.query(Event).order_by(Event.year).paginate(page=number)
            """,
        },
        target="2.0",
        todos=["queries here are built by AppQuery"],
    )
