"""string-attributes: attribute names given as strings to loader options and joins."""

from __future__ import annotations

import pytest

from sqla_upgrade.api import migrate_source
from tests.harness import check_noop, check_transformed, exec_module

MODELS = """
from sqlalchemy import Column, ForeignKey, Integer, String, Text, select
from sqlalchemy.orm import (
    Session, declarative_base, defer, joinedload, load_only, relationship, selectinload
)

Base = declarative_base()


class User(Base):
    __tablename__ = "users"
    id = Column(Integer, primary_key=True)
    name = Column(String)
    posts = relationship("Post", backref="author")


class Post(Base):
    __tablename__ = "posts"
    id = Column(Integer, primary_key=True)
    title = Column(String)
    body = Column(Text)
    user_id = Column(Integer, ForeignKey("users.id"))
"""


def _check(body_before: str, body_after: str, **kwargs: object) -> None:
    check_transformed(
        MODELS + body_before,
        MODELS + body_after,
        target="2.0",
        only=("string-attributes",),
        **kwargs,  # type: ignore[arg-type]
    )


def test_loader_option_strings_become_the_entitys_attributes() -> None:
    _check(
        """
def f(session: Session):
    return session.query(User).options(joinedload("posts"), load_only("id", "name"))
def g(session: Session):
    return session.query(Post).options(selectinload("author"), defer("body"))
def h():
    return select(Post).options(joinedload("author"))
""",
        """
def f(session: Session):
    return session.query(User).options(joinedload(User.posts), load_only(User.id, User.name))
def g(session: Session):
    return session.query(Post).options(selectinload(Post.author), defer(Post.body))
def h():
    return select(Post).options(joinedload(Post.author))
""",
    )


def test_strings_in_chained_options_are_attributes_of_the_class_loaded_before() -> None:
    _check(
        """
def f(session: Session):
    return session.query(User).options(
        joinedload(User.posts).joinedload("author"), selectinload("posts").load_only("title")
    )
""",
        """
def f(session: Session):
    return session.query(User).options(
        joinedload(User.posts).joinedload(Post.author), selectinload(User.posts).load_only(Post.title)
    )
""",
    )


def test_a_chained_string_on_a_class_without_a_name_here_gets_a_todo() -> None:
    project = {"app.models": MODELS}
    code = (
        "from sqlalchemy.orm import Session, joinedload\nfrom app.models import User\n\n\n"
        "def f(session: Session):\n"
        '    return session.query(User).options(joinedload(User.posts).joinedload("author"))\n'
    )
    migrated = migrate_source(
        code, target="2.0", only=("string-attributes",), project=project, module_name="app.q"
    )
    assert [t.message for t in migrated.todos] == [
        "SQLAlchemy 2.0 takes no attribute names as strings in loader options: "
        "write the attribute (Post.author)"
    ]
    assert 'joinedload("author")' in migrated.code


def test_a_dotted_path_todo_says_how_to_chain_the_options() -> None:
    code = (
        MODELS
        + 'def f(session: Session):\n    return session.query(User).options(joinedload("posts.author"))\n'
    )
    migrated = migrate_source(code, target="2.0", only=("string-attributes",))
    assert [t.message for t in migrated.todos] == [
        "SQLAlchemy 2.0 takes no attribute names as strings in loader options: write the "
        "attribute (joinedload(User.posts).joinedload(<the class of posts>.author))"
    ]


def test_loader_option_strings_on_a_class_the_index_does_not_know_get_a_todo() -> None:
    code = (
        "from sqlalchemy.orm import Session, joinedload\nfrom elsewhere import User\n\n\n"
        "def f(session: Session):\n"
        '    return session.query(User).options(joinedload("addresses")).all()\n'
    )
    migrated = migrate_source(code, target="2.0", only=("string-attributes",))
    assert [t.message for t in migrated.todos] == [
        "SQLAlchemy 2.0 takes no attribute names as strings in loader options: "
        "write the attribute (Model.addresses)"
    ]


def test_a_string_join_from_the_entity_becomes_its_relationship() -> None:
    _check(
        """
def f(session: Session, name):
    return session.query(Post).join("author").filter(User.name == name).all()
""",
        """
def f(session: Session, name):
    return session.query(Post).join(Post.author).filter(User.name == name).all()
""",
    )


@pytest.mark.parametrize(
    ("before", "reason"),
    [
        ('session.query(Post).options(joinedload("author.posts"))', "loader options"),
        ('session.query(Post).options(joinedload("nothing"))', "loader options"),
        ('session.query(Post).options(load_only("author"))', "loader options"),
        ('.join("author")', "the class joined before"),
        ('session.query(Post, User).options(joinedload("author"))', "Model.author"),
    ],
)
def test_strings_that_name_nothing_of_the_entity_leave_a_todo(before: str, reason: str) -> None:
    query = f'session.query(User).join("posts"){before}' if before.startswith(".") else before
    code = MODELS + f"def f(session: Session):\n    return {query}\n"
    migrated = migrate_source(code, target="2.0", only=("string-attributes",))
    assert [note.message for note in migrated.todos] == [
        next(n.message for n in migrated.todos if reason in n.message)
    ]
    assert before in migrated.code


@pytest.mark.parametrize(
    "code",
    [
        'session.query(Post).options(joinedload("*"))',  # a wildcard: still accepted
        "session.query(Post).options(joinedload(Post.author))",
        'things.options(joinedload("author"))',  # no query of a known entity
        'session.query(Post).join(User, User.id == Post.user_id).filter(User.name == "x")',
        'session.query(Post).options(undefer_group("text"))',
    ],
)
def test_noop(code: str) -> None:
    check_noop(
        MODELS
        + f"from sqlalchemy.orm import undefer_group\ndef f(session: Session, things):\n    return {code}\n",
        target="2.0",
        only=("string-attributes",),
    )


def test_migrated_options_and_joins_run_on_sqlalchemy_2() -> None:
    from sqlalchemy import create_engine

    code = MODELS + (
        "def f(session: Session):\n"
        '    posts = session.query(Post).join("author").options(joinedload("author"), load_only("id", "title")).order_by(Post.id).all()\n'
        "    return [(p.title, p.author.name) for p in posts]\n"
    )
    migrated = migrate_source(code, target="2.0").code
    assert 'joinedload("author")' not in migrated and 'join("author")' not in migrated
    namespace = exec_module(migrated)
    engine = create_engine("sqlite://")
    namespace.Base.metadata.create_all(engine)
    with namespace.Session(engine) as session:
        session.add(
            namespace.User(name="ann", posts=[namespace.Post(title="a"), namespace.Post(title="b")])
        )
        session.commit()
        assert namespace.f(session) == [("a", "ann"), ("b", "ann")]


def test_migrated_chained_options_load_the_same_objects() -> None:
    from sqlalchemy import create_engine, event

    code = MODELS + (
        "def f(session: Session):\n"
        '    users = session.query(User).options(selectinload(User.posts).joinedload("author")).all()\n'
        "    return [(p.title, p.author.name) for u in users for p in u.posts]\n"
    )
    migrated = migrate_source(code, target="2.0").code
    assert "joinedload(Post.author)" in migrated
    namespace = exec_module(migrated)
    engine = create_engine("sqlite://")
    namespace.Base.metadata.create_all(engine)
    with namespace.Session(engine) as session:
        session.add(namespace.User(name="ann", posts=[namespace.Post(title="a")]))
        session.commit()
    statements: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    with namespace.Session(engine) as session:
        assert namespace.f(session) == [("a", "ann")]
    assert len(statements) == 2  # users, then posts with their authors joined: no lazy load


DEFERRED = """
from sqlalchemy import Column, Integer, Text
from sqlalchemy.orm import Session, declarative_base, deferred, undefer

Base = declarative_base()


class Page(Base):
    __tablename__ = "pages"
    id = Column(Integer, primary_key=True)
    _body = deferred(Column(Text))
"""


def test_a_deferred_column_named_by_a_string_becomes_the_attribute() -> None:
    """``_body = deferred(Column(Text))`` is a column of the model: ``undefer("_body")``
    becomes ``undefer(Page._body)`` (it was a TODO naming that attribute, which a
    second run of a project then rewrote)."""
    check_transformed(
        DEFERRED
        + "def f(session: Session):\n    return session.query(Page).options(undefer('_body'))\n",
        DEFERRED
        + "def f(session: Session):\n    return session.query(Page).options(undefer(Page._body))\n",
        target="2.0",
        only=("string-attributes",),
    )
