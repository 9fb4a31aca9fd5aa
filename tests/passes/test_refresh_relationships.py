"""refresh-after-commit: ``session.refresh(obj)`` reloads the columns and *unloads* the
relationships loaded lazily (they stay "lazily loaded"), so a relationship read on the
object after the commit (``len(page.comments)``, which the legacy session reloaded after
expiry) failed with ``MissingGreenlet``. Those relationships are refreshed by name too."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sqla_upgrade.api import migrate_project
from tests.harness import _dedent, check_project

MODELS = """
    from sqlalchemy import Column, ForeignKey, Integer, String, create_engine
    from sqlalchemy.orm import declarative_base, relationship, scoped_session, sessionmaker

    engine = create_engine(URL)
    DBSession = scoped_session(sessionmaker(bind=engine))
    Base = declarative_base()


    class Author(Base):
        __tablename__ = "authors"
        id = Column(Integer, primary_key=True)
        name = Column(String(20))


    class Page(Base):
        __tablename__ = "pages"
        id = Column(Integer, primary_key=True)
        name = Column(String(20))
        author_id = Column(ForeignKey("authors.id"))
        author = relationship("Author")
        comments = relationship("Comment", order_by="Comment.id.desc()")
        edits = relationship("Comment", lazy="dynamic", viewonly=True)


    class Comment(Base):
        __tablename__ = "comments"
        id = Column(Integer, primary_key=True)
        page_id = Column(ForeignKey("pages.id"))
"""

SERVICES = """
    from app.models import Author, Comment, DBSession, Page


    def new_page():
        author = Author(name="ann")
        DBSession.add(author)
        DBSession.flush()
        front = Page(name="x", author_id=author.id)
        DBSession.add(front)
        DBSession.commit()
        return front.id, front.author.name, len(front.comments)


    def rename(page_id):
        page = DBSession.query(Page).get(page_id)
        page.comments.append(Comment())
        page.comments.append(Comment())
        page.name = "y"
        DBSession.commit()
        return page.name, [c.id for c in page.comments]


    def maybe(page_id):
        page = DBSession.query(Page).filter_by(id=page_id).first()
        if page:
            page.name = "z"
        DBSession.commit()
        return page and len(page.comments)


    def only_columns(page_id):
        page = DBSession.query(Page).get(page_id)
        page.name = "w"
        DBSession.commit()
        renamed = page.name, page.edits.count()
        page = DBSession.query(Page).get(page_id + 1)
        return renamed, page.comments
"""


def project(url: str = "sqlite://") -> dict[str, str]:
    return {"app.models": MODELS.replace("URL", repr(url)), "app.services": SERVICES}


def test_relationships_read_after_the_commit_are_refreshed_by_name() -> None:
    check_project(
        project(),
        {
            "app.services": """
                from app.models import Author, Comment, DBSession, Page
                from sqlalchemy import func, select
                from sqlalchemy.orm import selectinload
                from sqlalchemy.ext.asyncio import async_object_session


                async def new_page():
                    author = Author(name="ann")
                    DBSession.add(author)
                    await DBSession.flush()
                    front = Page(name="x", author_id=author.id, comments=[])
                    DBSession.add(front)
                    await DBSession.commit()
                    await DBSession.refresh(front)
                    await DBSession.refresh(front, ["comments"])
                    await DBSession.refresh(front, ["author"])
                    return front.id, front.author.name, len(front.comments)


                async def rename(page_id):
                    page = await DBSession.get(Page, page_id, options=[selectinload(Page.comments)])
                    page.comments.append(Comment())
                    page.comments.append(Comment())
                    page.name = "y"
                    await DBSession.commit()
                    await DBSession.refresh(page)
                    await DBSession.refresh(page, ["comments"])
                    return page.name, [c.id for c in page.comments]


                async def maybe(page_id):
                    page = (await DBSession.scalars(select(Page).filter_by(id=page_id).limit(1).options(selectinload(Page.comments)))).first()
                    if page:
                        page.name = "z"
                    await DBSession.commit()
                    if page is not None:
                        await DBSession.refresh(page)
                        await DBSession.refresh(page, ["comments"])
                    return page and len(page.comments)


                async def only_columns(page_id):
                    page = await DBSession.get(Page, page_id)
                    page.name = "w"
                    await DBSession.commit()
                    await DBSession.refresh(page)
                    renamed = page.name, await async_object_session(page).scalar(select(func.count()).select_from(page.edits.select().subquery()))
                    page = await DBSession.get(Page, page_id + 1, options=[selectinload(Page.comments)])
                    return renamed, page.comments
            """,
        },
    )


PROGRAM = """
import sys
sys.path.insert(0, sys.argv[1])
RUN
"""

LEGACY_RUN = """
from app.models import Base, DBSession, engine
from app import services
Base.metadata.create_all(engine)
print(services.new_page()); DBSession.remove()
print(services.rename(1)); DBSession.remove()
print(services.maybe(1), services.maybe(5)); DBSession.remove()
"""

ASYNC_RUN = """
import asyncio
from app.models import Base, DBSession, engine
from app import services

async def main():
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    print(await services.new_page()); await DBSession.remove()
    print(await services.rename(1)); await DBSession.remove()
    print(await services.maybe(1), await services.maybe(5)); await DBSession.remove()
    await engine.dispose()

asyncio.run(main())
"""


def _run(python: str, sources: dict[str, str], directory: Path, run: str) -> str:
    for name, code in sources.items():
        path = directory / (name.replace(".", "/") + ".py")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(code)
    (directory / "app" / "__init__.py").write_text("")
    done = subprocess.run(
        [python, "-c", PROGRAM.replace("RUN", run), str(directory)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_migrated_reads_after_commit_give_what_expiry_gave(tmp_path: Path) -> None:
    legacy = {n: _dedent(c) for n, c in project(f"sqlite:///{tmp_path / 'l.db'}").items()}
    expected = "(1, 'ann', 0)\n('y', [2, 1])\n2 None\n"
    legacy_python = os.environ.get("SQLA_UPGRADE_LEGACY_PYTHON")
    if legacy_python:
        assert _run(legacy_python, legacy, tmp_path / "legacy", LEGACY_RUN) == expected
    url = f"sqlite:///{tmp_path / 'm.db'}"
    sources = {n: _dedent(c) for n, c in project(url).items()}
    migrated = migrate_project(sources, target="async")
    code = {name: m.code for name, m in migrated.items()}
    assert _run(sys.executable, code, tmp_path / "migrated", ASYNC_RUN) == expected
