"""What the ``dynamic-write-only`` pass leaves alone."""

from __future__ import annotations

from tests.harness import check_noop

DYNAMIC_MODULE = """
    from sqlalchemy import Column, ForeignKey, Integer
    from sqlalchemy.orm import Session, declarative_base, relationship

    Base = declarative_base()


    class User(Base):
        __tablename__ = "users"
        id = Column(Integer, primary_key=True)
        posts = relationship("Post", lazy="dynamic")


    class Post(Base):
        __tablename__ = "posts"
        id = Column(Integer, primary_key=True)
        user_id = Column(ForeignKey("users.id"))


    def newest(session: Session, user: User):
        user.posts.append(Post())
        return user.posts.order_by(Post.id.desc()).first(), user.posts.count()
"""


def test_target_2_0_leaves_dynamic_relationships_alone() -> None:
    check_noop(DYNAMIC_MODULE, target="2.0")


def test_reads_outside_async_code_keep_the_relationship_dynamic() -> None:
    """Without the ``await`` pass the function stays synchronous: its reads cannot be
    rewritten, so neither are the declaration and the writes (all or nothing)."""
    check_noop(DYNAMIC_MODULE, target="async", only=("dynamic-write-only",))


def test_relationships_that_are_not_dynamic_are_left_alone() -> None:
    check_noop(
        DYNAMIC_MODULE.replace('lazy="dynamic"', 'lazy="selectin"').replace(
            "user.posts.order_by(Post.id.desc()).first(), user.posts.count()", "user.posts"
        ),
        target="async",
        only=("dynamic-write-only",),
    )


def test_a_module_without_relationships_is_left_alone() -> None:
    check_noop(
        """
        def append(items, x):
            items.posts.append(x)
            items.posts.extend([x])
        """,
        target="async",
        only=("dynamic-write-only",),
    )


def test_a_file_that_cannot_be_analysed_keeps_every_dynamic_relationship(tmp_path) -> None:
    """Its uses of the relationship are unknown: rewriting the declaration could break it."""
    import os
    import subprocess
    import sys
    import textwrap

    (tmp_path / "models.py").write_text(textwrap.dedent(DYNAMIC_MODULE))
    (tmp_path / "broken.py").write_text("def f(:\n    user.posts.count()\n")
    repository = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env = {**os.environ, "PYTHONPATH": repository}
    done = subprocess.run(
        [sys.executable, "-m", "sqla_upgrade", "diff", "--target", "async", str(tmp_path)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert "write_only" not in done.stdout
    assert "broken.py could not be analysed" in done.stderr
    assert "run_sync(lambda _sync_session: user.posts.count())" in done.stdout
