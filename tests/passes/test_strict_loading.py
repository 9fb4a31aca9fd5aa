"""--strict-loading: relationships still loaded lazily after the migration raise instead."""

from __future__ import annotations

import asyncio
import os
import types
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from sqla_upgrade.api import migrate_source
from sqla_upgrade.cli.app import app
from sqla_upgrade.codemods.analysis import quiet
from sqla_upgrade.codemods.analysis.async_plan import AsyncPlan
from sqla_upgrade.codemods.options import Options
from tests.harness import check_noop, check_transformed


def strict_case(before: str, after: str, **kwargs: Any) -> None:
    check_transformed(before, after, target="async", strict_loading=True, **kwargs)


def strict_noop(code: str, **kwargs: Any) -> None:
    check_noop(code, target="async", strict_loading=True, **kwargs)


MODELS = """
    from sqlalchemy.orm import declarative_base, relationship
    Base = declarative_base()
    class User(Base):
        __tablename__ = "users"
        posts = relationship("Post", back_populates="author")
        drafts = relationship("Post", lazy="dynamic")
        unused = relationship("Post")
        spelled = relationship("Post", lazy="select")
        old_style = relationship("Post", lazy=True)
    class Post(Base):
        __tablename__ = "posts"
        author = relationship(User, back_populates="posts")
        comments = relationship(
            "Comment",
            backref="post",
        )
        tags = relationship("Tag", lazy="joined")
    def titles(user):
        return [p.author for p in user.posts]
"""


def test_relationships_left_lazy_raise_on_sql() -> None:
    strict_case(
        MODELS,
        """
        from sqlalchemy.orm import backref, declarative_base, relationship
        Base = declarative_base()
        class User(Base):
            __tablename__ = "users"
            posts = relationship("Post", back_populates="author", lazy="selectin")
            drafts = relationship("Post", lazy="write_only")
            unused = relationship("Post", lazy="raise_on_sql")
            spelled = relationship("Post", lazy="raise_on_sql")
            old_style = relationship("Post", lazy="raise_on_sql")
        class Post(Base):
            __tablename__ = "posts"
            author = relationship(User, back_populates="posts", lazy="selectin")
            comments = relationship(
                "Comment",
                backref=backref("post", lazy="raise_on_sql"),
                lazy="raise_on_sql",
            )
            tags = relationship("Tag", lazy="joined")
        def titles(user):
            return [p.author for p in user.posts]
        """,
        notes=[
            "User.unused: lazy='raise_on_sql' (--strict-loading): its lazy loads raise",
            "User.spelled: lazy='raise_on_sql'",
            "User.old_style: lazy='raise_on_sql'",
            "Post.comments: lazy='raise_on_sql'",
            "backref 'post' of Post.comments: lazy='raise_on_sql'",
        ],
    )


def test_backref_calls_and_annotated_relationships() -> None:
    strict_case(
        """
        from sqlalchemy.orm import DeclarativeBase, Mapped, backref, relationship
        class Base(DeclarativeBase):
            pass
        class Order(Base):
            __tablename__ = "orders"
            lines: Mapped[list["Line"]] = relationship(backref=backref("order", uselist=False))
            notes: Mapped[list["Note"]] = relationship(backref=backref("about", lazy="select"))
            shown: Mapped[list["Note"]] = relationship(backref=backref("shown_on", lazy="joined"))
        """,
        """
        from sqlalchemy.orm import DeclarativeBase, Mapped, backref, relationship
        class Base(DeclarativeBase):
            pass
        class Order(Base):
            __tablename__ = "orders"
            lines: Mapped[list["Line"]] = relationship(backref=backref("order", uselist=False, lazy="raise_on_sql"), lazy="raise_on_sql")
            notes: Mapped[list["Note"]] = relationship(backref=backref("about", lazy="raise_on_sql"), lazy="raise_on_sql")
            shown: Mapped[list["Note"]] = relationship(backref=backref("shown_on", lazy="joined"), lazy="raise_on_sql")
        """,
        notes=["backref 'order' of Order.lines", "backref 'about' of Order.notes"],
    )


def test_flask_sqlalchemy_models() -> None:
    strict_case(
        """
        from flask_sqlalchemy import SQLAlchemy
        db = SQLAlchemy()
        class Tag(db.Model):
            id = db.Column(db.Integer, primary_key=True)
            posts = db.relationship("Post", backref=db.backref("tag", lazy="dynamic"))
        """,
        """
        from flask_sqlalchemy import SQLAlchemy
        db = SQLAlchemy()
        class Tag(db.Model):
            id = db.Column(db.Integer, primary_key=True)
            posts = db.relationship("Post", backref=db.backref("tag", lazy="dynamic"), lazy="raise_on_sql")
        """,
        notes=["Tag.posts: lazy='raise_on_sql'"],
    )


def test_without_the_option_nothing_raises() -> None:
    check_transformed(
        MODELS,
        """
        from sqlalchemy.orm import declarative_base, relationship
        Base = declarative_base()
        class User(Base):
            __tablename__ = "users"
            posts = relationship("Post", back_populates="author", lazy="selectin")
            drafts = relationship("Post", lazy="write_only")
            unused = relationship("Post")
            spelled = relationship("Post", lazy="select")
            old_style = relationship("Post", lazy=True)
        class Post(Base):
            __tablename__ = "posts"
            author = relationship(User, back_populates="posts", lazy="selectin")
            comments = relationship(
                "Comment",
                backref="post",
            )
            tags = relationship("Tag", lazy="joined")
        def titles(user):
            return [p.author for p in user.posts]
        """,
        target="async",
    )


def test_target_2_0_is_unaffected() -> None:
    check_noop(MODELS, target="2.0", strict_loading=True)


def test_chosen_strategies_are_kept() -> None:
    strict_noop(
        """
        from sqlalchemy.orm import declarative_base, dynamic_loader, relationship
        Base = declarative_base()
        STRATEGY = "selectin"
        class User(Base):
            __tablename__ = "users"
            a = relationship("Post", lazy="selectin")
            b = relationship("Post", lazy="joined")
            c = relationship("Post", lazy="subquery")
            d = relationship("Post", lazy="immediate")
            e = relationship("Post", lazy="write_only")
            g = relationship("Post", lazy="noload")
            h = relationship("Post", lazy="raise")
            i = relationship("Post", lazy="raise_on_sql")
            j = relationship("Post", lazy=False)
            k = relationship("Post", lazy=None)
            m = relationship("Post", lazy=STRATEGY)
            n = dynamic_loader("Post")
            o = relationship("Post", backref=backref_factory("p"), lazy="selectin")
        """
    )


def test_relationships_outside_mapped_class_bodies_are_left_alone() -> None:
    strict_noop(
        """
        from sqlalchemy.orm import relationship
        class NotAModel:
            posts = relationship("Post")
        def build():
            class Local:
                posts = relationship("Post")
            return relationship("Post"), Local
        properties = {"posts": relationship("Post")}
        """
    )


def test_deliberately_lazy_names_are_left_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    real = quiet.plan_async

    def with_lazy_reads(facts: Any, *templates_use: Any) -> AsyncPlan:
        plan = real(facts, *templates_use)
        plan.lazy_read_names |= {"posts", "post"}
        return plan

    monkeypatch.setattr(quiet, "plan_async", with_lazy_reads)
    strict_case(
        """
        from sqlalchemy.orm import declarative_base, relationship
        Base = declarative_base()
        class User(Base):
            __tablename__ = "users"
            posts = relationship("Post")
            comments = relationship("Comment", backref="post")
        """,
        """
        from sqlalchemy.orm import declarative_base, relationship
        Base = declarative_base()
        class User(Base):
            __tablename__ = "users"
            posts = relationship("Post")
            comments = relationship("Comment", backref="post", lazy="raise_on_sql")
        """,
        notes=["User.comments: lazy='raise_on_sql'"],
    )


# -- at runtime -------------------------------------------------------------------------

LEGACY_PROGRAM = """
import os

from sqlalchemy import Column, ForeignKey, Integer, String, create_engine
from sqlalchemy.orm import declarative_base, relationship, sessionmaker

Base = declarative_base()


class Author(Base):
    __tablename__ = "authors"
    id = Column(Integer, primary_key=True)
    name = Column(String(20))
    books = relationship("Book", back_populates="author", cascade="all, delete-orphan")
    awards = relationship("Award", cascade="all, delete-orphan")


class Book(Base):
    __tablename__ = "books"
    id = Column(Integer, primary_key=True)
    title = Column(String(20))
    author_id = Column(ForeignKey("authors.id"))
    author = relationship(Author, back_populates="books")


class Award(Base):
    __tablename__ = "awards"
    id = Column(Integer, primary_key=True)
    author_id = Column(ForeignKey("authors.id"))


engine = create_engine(os.environ["STRICT_DATABASE_URL"])
Session = sessionmaker(engine)


def main():
    Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)
    lines = []
    with Session() as session:
        session.add(Author(name="ann", books=[Book(title="b1"), Book(title="b2")], awards=[Award()]))
        session.commit()
    with Session() as session:
        for book in session.query(Book).order_by(Book.id).all():
            lines.append(f"{book.title} by {book.author.name}")
    with Session() as session:
        author = session.query(Author).first()
        lines.append(f"{len(author.books)} books")
        try:
            lines.append(f"{len(getattr(author, 'aw' + 'ards'))} awards")
        except Exception as exc:
            lines.append(type(exc).__name__)
        session.delete(author)
        session.commit()
        lines.append(f"{session.query(Award).count()} awards left")
    Base.metadata.drop_all(engine)
    engine.dispose()
    return lines
"""


def _database_urls() -> list[str]:
    urls = ["sqlite:///{tmp}/strict.db"]
    pg = os.environ.get("SQLA_UPGRADE_PG_URL", "").strip()
    if pg:
        # the legacy program's synchronous driver (psycopg2), mapped to asyncpg
        urls.append("postgresql+psycopg2://" + pg.split("://", 1)[1])
    return urls


@pytest.mark.parametrize("url", _database_urls(), ids=lambda u: u.split(":")[0])
def test_strict_loading_at_runtime(
    url: str, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Eagerly loaded relationships still read; a relationship read by a computed name
    (no analysis sees it) raises where it is read instead of loading; cascades work."""
    monkeypatch.setenv("STRICT_DATABASE_URL", url.format(tmp=tmp_path))
    legacy = types.ModuleType("legacy_strict_program")
    exec(compile(LEGACY_PROGRAM, "legacy", "exec"), legacy.__dict__)
    expected = legacy.main()
    legacy.engine.dispose()
    assert expected == [
        "b1 by ann",
        "b2 by ann",
        "2 books",
        "1 awards",
        "0 awards left",
    ]
    options = Options(target="async", strict_loading=True)
    migrated = migrate_source(LEGACY_PROGRAM, options=options, module_name="strict_program")
    assert 'awards = relationship("Award", cascade="all, delete-orphan", lazy="raise_on_sql")' in (
        migrated.code
    )
    module = types.ModuleType("strict_program")
    exec(compile(migrated.code, "migrated", "exec"), module.__dict__)
    lines = asyncio.run(module.main())
    assert lines == [*expected[:3], "InvalidRequestError", "0 awards left"]


# -- the option --------------------------------------------------------------------------

CLI_MODELS = """\
from sqlalchemy.orm import declarative_base, relationship
Base = declarative_base()
class User(Base):
    __tablename__ = "users"
    posts = relationship("Post")
"""
STRICT_LINE = 'posts = relationship("Post", lazy="raise_on_sql")'


def _cli_project(tmp_path: Path, config: str = "") -> Path:
    (tmp_path / "models.py").write_text(CLI_MODELS)
    (tmp_path / "pyproject.toml").write_text(f"[tool.sqla-upgrade]\n{config}")
    return tmp_path


def _invoke(*args: str) -> Any:
    return CliRunner().invoke(app, list(args))


def test_cli_option_on_diff_check_and_apply(tmp_path: Path) -> None:
    project = _cli_project(tmp_path)
    plain = _invoke("diff", "--jobs", "1", str(project))
    assert plain.exit_code == 0 and STRICT_LINE not in plain.output
    strict = _invoke("diff", "--jobs", "1", "--strict-loading", str(project))
    assert strict.exit_code == 0 and f"+    {STRICT_LINE}" in strict.output
    assert _invoke("check", "--jobs", "1", str(project)).exit_code == 0
    assert _invoke("check", "--jobs", "1", "--strict-loading", str(project)).exit_code == 1
    applied = _invoke("apply", "--jobs", "1", "--allow-dirty", "--strict-loading", str(project))
    assert applied.exit_code == 0, applied.output
    assert STRICT_LINE in (project / "models.py").read_text()
    assert _invoke("check", "--jobs", "1", "--strict-loading", str(project)).exit_code == 0


def test_config_key_and_its_override(tmp_path: Path) -> None:
    project = _cli_project(tmp_path, "strict-loading = true\n")
    assert f"+    {STRICT_LINE}" in _invoke("diff", "--jobs", "1", str(project)).output
    off = _invoke("diff", "--jobs", "1", "--no-strict-loading", str(project))
    assert off.exit_code == 0 and STRICT_LINE not in off.output
    (project / "pyproject.toml").write_text('[tool.sqla-upgrade]\nstrict-loading = "yes"\n')
    bad = _invoke("diff", str(project))
    assert bad.exit_code == 2 and "strict-loading must be true or false" in bad.output
