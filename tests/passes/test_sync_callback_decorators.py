"""await: functions a third-party decorator registers for a framework that calls them
synchronously stay synchronous. Pyramid's ``@view_config`` views (Kotti's), its
``@subscriber`` event handlers and colander's ``@colander.deferred`` callbacks made
``async def`` would be coroutines nobody awaits (Pyramid renders the coroutine object);
they keep their body, and the I/O in it gets a TODO."""

from __future__ import annotations

from tests.harness import check_project

MODELS = """
    import sqlalchemy as sa
    from sqlalchemy.orm import declarative_base, scoped_session, sessionmaker

    Base = declarative_base()
    DBSession = scoped_session(sessionmaker(bind=sa.create_engine("sqlite://")))


    class Tag(Base):
        __tablename__ = "tags"
        id = sa.Column(sa.Integer, primary_key=True)
        title = sa.Column(sa.String)
"""

TODO = (
    "# TODO(sqla-upgrade): app.views.tag_titles() is now a coroutine but cannot be awaited "
    "here ({why}); use an async method or run_sync"
)


def test_pyramid_views_and_colander_callbacks_stay_synchronous() -> None:
    check_project(
        {
            "app.models": MODELS,
            "app.views": """
                import colander
                from pyramid.events import NewRequest, subscriber
                from pyramid.view import view_config

                from app.models import DBSession, Tag


                def tag_titles():
                    return [t.title for t in DBSession.query(Tag).all()]


                @view_config(name="tags", renderer="json")
                def tags(context, request):
                    return {"tags": tag_titles()}


                @subscriber(NewRequest)
                def remember_tags(event):
                    event.request.tags = tag_titles()


                @colander.deferred
                def deferred_tags(node, kw):
                    return tag_titles()


                def api_tags():
                    return {"tags": tag_titles()}
            """,
        },
        {
            "app.views": f"""
                import colander
                from pyramid.events import NewRequest, subscriber
                from pyramid.view import view_config

                from app.models import DBSession, Tag
                from sqlalchemy import select


                async def tag_titles():
                    return [t.title for t in (await DBSession.scalars(select(Tag))).all()]


                @view_config(name="tags", renderer="json")
                def tags(context, request):
                    {TODO.format(why="Pyramid calls @view_config functions synchronously")}
                    return {{"tags": tag_titles()}}


                @subscriber(NewRequest)
                def remember_tags(event):
                    {TODO.format(why="Pyramid calls @subscriber functions synchronously")}
                    event.request.tags = tag_titles()


                @colander.deferred
                def deferred_tags(node, kw):
                    {TODO.format(why="colander calls @colander.deferred functions synchronously")}
                    return tag_titles()


                async def api_tags():
                    return {{"tags": await tag_titles()}}
            """,
        },
        todos=["cannot be awaited here (Pyramid calls @view_config functions synchronously)"],
    )
