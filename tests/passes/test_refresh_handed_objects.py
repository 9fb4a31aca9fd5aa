"""refresh-after-commit: a parameter every caller hands one ORM object of one model
(``add_comment(session, issue, text)`` with ``issue = get_issue(session, 1)``), read
after ``commit()``, is refreshed there as the legacy commit expired it, under ``if
issue in session:`` (what that commit expired). Before, only objects typed by their own
bindings or annotations were: a collection changed through a foreign key
(``Comment(issue_id=issue.id)``) kept its stale length, silently.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqla_upgrade.api import migrate_project
from tests.harness import _dedent, check_project, exec_module

MODELS = """
    from sqlalchemy import Column, ForeignKey, Integer, String
    from sqlalchemy.orm import declarative_base, relationship

    Base = declarative_base()


    class Issue(Base):
        __tablename__ = "issues"
        id = Column(Integer, primary_key=True)
        title = Column(String)


    class Comment(Base):
        __tablename__ = "comments"
        id = Column(Integer, primary_key=True)
        issue_id = Column(Integer, ForeignKey("issues.id"))
        text = Column(String)
        issue = relationship(Issue, backref="comments")


    class Tag(Base):
        __tablename__ = "tags"
        id = Column(Integer, primary_key=True)
        title = Column(String)
"""


def test_a_parameter_handed_one_object_of_one_model_is_refreshed_after_commit() -> None:
    check_project(
        {
            "app.models": MODELS,
            "app.lib": """
                from app.models import Comment, Issue, Tag


                def get_issue(session, issue_id):
                    return session.query(Issue).filter(Issue.id == issue_id).first()


                def add_comment(session, issue, text):
                    session.add(Comment(issue_id=issue.id, text=text))
                    session.commit()
                    return len(issue.comments)


                def retitle(session, issues, suffix):
                    for issue in issues:
                        issue.title = issue.title + suffix
                    session.commit()
                    return [issue.title for issue in issues]


                def rename(session, obj, title):
                    obj.title = title
                    session.commit()
                    return obj.title
            """,
            "app.views": """
                from app.lib import add_comment, get_issue, rename, retitle
                from app.models import Issue, Tag


                def comment(session, issue_id, text):
                    issue = get_issue(session, issue_id)
                    return add_comment(session, issue, text)


                def titles(session):
                    retitle(session, session.query(Issue).all(), "!")
                    rename(session, session.query(Issue).first(), "a")
                    return rename(session, session.query(Tag).first(), "b")
            """,
        },
        {
            "app.lib": """
                from app.models import Comment, Issue, Tag
                from sqlalchemy import select
                from sqlalchemy.orm import selectinload


                async def get_issue(session, issue_id):
                    return (await session.scalars(select(Issue).where(Issue.id == issue_id).limit(1).options(selectinload(Issue.comments)))).first()


                async def add_comment(session, issue, text):
                    session.add(Comment(issue_id=issue.id, text=text))
                    await session.commit()
                    if issue in session:
                        await session.refresh(issue)
                        await session.refresh(issue, ["comments"])
                    return len(issue.comments)


                async def retitle(session, issues, suffix):
                    for issue in issues:
                        issue.title = issue.title + suffix
                    await session.commit()
                    return [issue.title for issue in issues]


                async def rename(session, obj, title):
                    obj.title = title
                    await session.commit()
                    return obj.title
            """,
        },
    )


def test_a_parameter_of_a_function_called_from_outside_is_not_refreshed() -> None:
    check_project(
        {
            "app.models": MODELS,
            "app.lib": """
                from app.models import Comment


                def add_comment(session, issue, text):
                    session.add(Comment(issue_id=issue.id, text=text))
                    session.commit()
                    return len(issue.comments)
            """,
        },
        {
            "app.lib": """
                from app.models import Comment


                async def add_comment(session, issue, text):
                    session.add(Comment(issue_id=issue.id, text=text))
                    await session.commit()
                    return len(issue.comments)
            """,
        },
    )


LEGACY = """
    from sqlalchemy import Column, ForeignKey, Integer, String, create_engine
    from sqlalchemy.orm import Session, declarative_base, relationship

    Base = declarative_base()


    class Issue(Base):
        __tablename__ = "issues"
        id = Column(Integer, primary_key=True)
        title = Column(String)


    class Comment(Base):
        __tablename__ = "comments"
        id = Column(Integer, primary_key=True)
        issue_id = Column(Integer, ForeignKey("issues.id"))
        text = Column(String)
        issue = relationship(Issue, backref="comments")


    def get_issue(session, issue_id):
        return session.query(Issue).filter(Issue.id == issue_id).first()


    def add_comment(session, issue, text):
        session.add(Comment(issue_id=issue.id, text=text))
        session.commit()
        return len(issue.comments)


    def retitle(session, issues, suffix):
        for issue in issues:
            issue.title = issue.title + suffix
        session.commit()
        return [issue.title for issue in issues]


    def run(url):
        engine = create_engine(url)
        Base.metadata.create_all(engine)
        session = Session(engine)
        session.add(Issue(id=1, title="a"))
        session.add(Comment(issue_id=1, text="first"))
        session.commit()
        issue = get_issue(session, 1)
        before = len(issue.comments)
        after = add_comment(session, issue, "second")
        renamed = retitle(session, session.query(Issue).all(), "!")
        session.close()
        return before, after, renamed
"""


def test_migrated_handed_objects_read_after_commit_give_the_same_results(tmp_path: Path) -> None:
    legacy = _dedent(LEGACY)
    migrated = migrate_project({"app.work": legacy}, target="async")["app.work"].code
    assert "if issue in session:" in migrated
    old, new = exec_module(legacy), exec_module(migrated)
    expected = old.run(f"sqlite:///{tmp_path / 'legacy.db'}")
    got = asyncio.run(new.run(f"sqlite:///{tmp_path / 'migrated.db'}"))
    assert got == expected == (1, 2, ["a!"])
