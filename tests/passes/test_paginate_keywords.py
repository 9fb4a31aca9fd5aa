"""paginate-keywords: a legacy ``Query.paginate()``'s positional arguments become keywords.

Flask-SQLAlchemy 3 takes them as keywords only; the queries query-to-select leaves
legacy (a dynamic relationship's) keep their ``paginate()``.
"""

from __future__ import annotations

import pytest

from tests.harness import check_noop, check_transformed, exec_module

EXT = """
    from flask_sqlalchemy import SQLAlchemy

    db = SQLAlchemy()


    class User(db.Model):
        id = db.Column(db.Integer, primary_key=True)
        posts = db.relationship("Post", lazy="dynamic", order_by="Post.id")


    class Post(db.Model):
        id = db.Column(db.Integer, primary_key=True)
        user_id = db.Column(db.ForeignKey("user.id"))
"""
PROJECT = {"app.ext": EXT}


@pytest.mark.parametrize(
    ("call", "named"),
    [
        ("paginate(page, 20, False)", "paginate(page=page, per_page=20, error_out=False)"),
        ("paginate(page, per_page=5)", "paginate(page=page, per_page=5)"),
        (
            "paginate(1, 2, True, 50)",
            "paginate(page=1, per_page=2, error_out=True, max_per_page=50)",
        ),
    ],
)
def test_positional_arguments_of_a_dynamic_relationship_query(call: str, named: str) -> None:
    check_transformed(
        f"""
        from app.ext import Post


        def page_of(user, page):
            return user.posts.order_by(Post.id.desc()).{call}
        """,
        f"""
        from app.ext import Post


        def page_of(user, page):
            return user.posts.order_by(Post.id.desc()).{named}
        """,
        project=PROJECT,
    )


@pytest.mark.parametrize(
    "code",
    [
        "def f(user, page):\n    return user.posts.paginate(page=page, per_page=5)\n",
        "def f(pager, page):\n    return pager.paginate(page, 3)\n",
        "def f(user, args):\n    return user.posts.paginate(*args)\n",
        "def f(user):\n    return user.posts.paginate(1, 2, True, 50, 1)\n",
    ],
)
def test_keywords_other_receivers_and_odd_arguments_are_untouched(code: str) -> None:
    check_noop(code, project=PROJECT)


def test_without_flask_sqlalchemy_nothing_changes() -> None:
    check_noop(
        """
        def f(user, page):
            return user.posts.paginate(page, 3)
        """
    )


def test_the_named_call_runs_on_flask_sqlalchemy_3() -> None:
    flask = pytest.importorskip("flask")
    source = (
        EXT
        + """

    def titles(user, page):
        return [post.id for post in user.posts.paginate(page, 2, False).items]
    """
    )
    from sqla_upgrade.api import migrate_project
    from tests.harness import _dedent

    migrated = migrate_project({"app.ext": _dedent(source)}, target="2.0")["app.ext"].code
    assert "paginate(page=page, per_page=2, error_out=False)" in migrated
    module = exec_module(migrated)
    app = flask.Flask(__name__)
    app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite://"
    module.db.init_app(app)
    with app.app_context():
        module.db.create_all()
        user = module.User(id=1)
        module.db.session.add_all([user, *(module.Post(id=i, user_id=1) for i in range(1, 6))])
        module.db.session.commit()
        assert module.titles(user, 2) == [3, 4]
        assert module.titles(user, 9) == []
