"""flask-async-session: Flask-SQLAlchemy request code moves to an AsyncSession.

The whole rewrite of a multi-module app (factory, blueprint, CLI, templates) is proven
on real databases in ``tests/flask_async/``; these cases pin the module-level forms.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from sqla_upgrade.api import Migration
from tests.harness import check_project, exec_module

GOLDEN = Path(__file__).parent / "golden"


def test_app_without_session_io_is_left_alone() -> None:
    modules = {
        "app.ext": """
            from flask_sqlalchemy import SQLAlchemy

            db = SQLAlchemy()


            class Tag(db.Model):
                id = db.Column(db.Integer, primary_key=True)
        """,
        "app.factory": """
            from flask import Flask

            from .ext import db


            def create_app():
                app = Flask(__name__)
                db.init_app(app)
                with app.app_context():
                    db.create_all()
                return app
        """,
    }
    check_project(modules, modules)


def test_flask_app_stays_synchronous_for_target_2_0() -> None:
    modules = {
        "app.views": """
            from app.ext import db

            def save():
                db.session.commit()
        """,
        "app.ext": """
            from flask_sqlalchemy import SQLAlchemy

            db = SQLAlchemy()
        """,
    }
    check_project(modules, modules, target="2.0")


def test_single_module_app_with_template_filter() -> None:
    """``SQLAlchemy(app)``: the helpers, then ``init_async_session(app)``; a template
    filter cannot await, so it keeps the synchronous ``db.session``, which still runs (a
    note, no TODO)."""
    from sqla_upgrade.api import migrate_project
    from tests.harness import _dedent

    before = (GOLDEN / "flask_single_module_before.py.txt").read_text()
    after = (GOLDEN / "flask_single_module_after.py.txt").read_text()
    check_project({"app.ext": before}, {"app.ext": after})
    notes = [n.message for n in migrate_project({"app.ext": _dedent(before)})["app.ext"].notes]
    assert any("keeps the synchronous db.session" in n for n in notes), notes
    assert "init_async_session(app)\n" in after
    assert "    return db.session.get(Tag, tag_id).name\n" in after
    assert "    await async_session.delete(await get_or_404(Tag, id))\n" in after


def test_cli_command_runs_like_an_async_view() -> None:
    check_project(
        {
            "app.ext": """
                from flask_sqlalchemy import SQLAlchemy

                db = SQLAlchemy()
            """,
            "app.cli": """
                import click

                from .ext import db


                def register(app):
                    @app.cli.command("purge")
                    @click.option("--days", default=30)
                    def purge(days):
                        db.session.execute(text("delete from logs"))
                        db.session.commit()
            """,
        },
        {
            "app.cli": """
                import click

                from .ext import async_command, async_session, db


                def register(app):
                    @app.cli.command("purge")
                    @click.option("--days", default=30)
                    @async_command
                    async def purge(days):
                        await async_session.execute(text("delete from logs"))
                        await async_session.commit()
            """,
        },
    )


def test_cli_command_of_an_app_without_flask_sqlalchemy_is_a_plain_click_command() -> None:
    """No Flask-SQLAlchemy object anywhere: no ``@async_command`` (nothing would define
    it); the command runs through ``asyncio.run`` like any click command."""
    from sqla_upgrade.api import migrate_project

    result = migrate_project(
        {
            "app.db": "from sqlalchemy.orm import sessionmaker\nSession = sessionmaker()\n",
            "app.cli": (
                "from flask import Flask\nfrom app.db import Session\n\napp = Flask(__name__)\n\n\n"
                '@app.cli.command("seed")\ndef seed():\n    with Session() as session:\n'
                "        session.commit()\n"
            ),
        },
        target="async",
    )
    code = result["app.cli"].code
    assert '@app.cli.command("seed")\n@run_with_asyncio\nasync def seed():\n' in code
    assert "async_command" not in code
    compile(code, "app.cli", "exec", dont_inherit=True)


def test_cli_command_beside_db_runs_once_like_an_async_view(tmp_path: Path) -> None:
    """``db = SQLAlchemy(app)`` and the command in one module: ``@async_command`` alone
    (wrapping it in ``asyncio.run`` as well fails: the wrapper returns no coroutine), and
    the migrated command deletes the rows as the legacy one did."""
    from sqla_upgrade.api import migrate_project

    database = tmp_path / "app.db"
    legacy = _purging_app(tmp_path, "", '@app.cli.command("purge")\n')
    code = migrate_project({"app.main": legacy}, target="async")["app.main"].code
    assert '@app.cli.command("purge")\n@async_command\nasync def purge():\n' in code
    assert "run_with_asyncio" not in code
    _purges_like_legacy(legacy, code, database)


def test_cli_command_whose_db_import_cannot_take_the_helper_is_todo() -> None:
    """``db`` imported inside ``try:``: no statement to add ``async_command`` to, so the
    command keeps no decorator the module cannot name, and says so."""
    from sqla_upgrade.api import migrate_project

    result = migrate_project(
        {
            "app.ext": "from flask_sqlalchemy import SQLAlchemy\ndb = SQLAlchemy()\n",
            "app.cli": (
                "try:\n    from app.ext import db\nexcept ImportError:\n    db = None\n\n\n"
                "def register(app):\n"
                '    @app.cli.command("purge")\n    def purge():\n'
                "        db.session.commit()\n"
            ),
        },
        target="async",
    )
    code = result["app.cli"].code
    assert "    @async_command\n" not in code and "run_with_asyncio" not in code
    assert [note.message for note in result["app.cli"].todos] == [
        "this CLI command became async: decorate it with `@async_command` (written beside "
        "`db = SQLAlchemy()`) and import it here"
    ]
    compile(code, "app.cli", "exec", dont_inherit=True)


def test_click_command_under_with_appcontext_gets_one_wrapper(tmp_path: Path) -> None:
    """``@click.command()`` + ``@with_appcontext`` next to ``db``: ``@async_command``
    alone (it used to get ``@run_with_asyncio`` too), and it runs."""
    from sqla_upgrade.api import migrate_project

    database = tmp_path / "app.db"
    legacy = (
        _purging_app(
            tmp_path,
            "import click\nfrom flask.cli import with_appcontext\n",
            '@click.command("purge")\n@with_appcontext\n',
        )
        + "\n\napp.cli.add_command(purge)\n"
    )
    code = migrate_project({"app.main": legacy}, target="async")["app.main"].code
    assert '@click.command("purge")\n@with_appcontext\n@async_command\nasync def purge():\n' in code
    assert "run_with_asyncio" not in code
    _purges_like_legacy(legacy, code, database)


def _purging_app(folder: Path, imports: str, decorators: str) -> str:
    """A one-module Flask-SQLAlchemy app (SQLite in ``folder``) whose command ``purge``,
    under ``decorators``, empties ``logs``."""
    return (
        f"{imports}from flask import Flask\nfrom flask_sqlalchemy import SQLAlchemy\n\n"
        f"app = Flask('app', root_path={str(folder)!r})\n"
        f"app.config['SQLALCHEMY_DATABASE_URI'] = 'sqlite:///{folder / 'app.db'}'\n"
        "db = SQLAlchemy(app)\n\n\n"
        f"{decorators}def purge():\n"
        '    db.session.execute(db.text("DELETE FROM logs"))\n    db.session.commit()\n'
    )


def _purges_like_legacy(legacy: str, migrated: str, database: Path) -> None:
    """``flask purge`` of the legacy and of the migrated module empties ``logs``."""
    import sqlite3

    for source in (legacy, migrated):
        with sqlite3.connect(database) as connection:
            connection.execute("DROP TABLE IF EXISTS logs")
            connection.execute("CREATE TABLE logs (id INTEGER)")
            connection.execute("INSERT INTO logs VALUES (1)")
        module = exec_module(source)
        outcome = module.app.test_cli_runner().invoke(args=["purge"])
        assert outcome.exit_code == 0, outcome.exception
        with sqlite3.connect(database) as connection:
            assert connection.execute("SELECT count(*) FROM logs").fetchone() == (0,)


def test_object_loaded_into_g_by_a_hook_is_todo() -> None:
    """Each async hook and view has its own session, closed when it returns: an object a
    hook keeps in ``g`` reaches the view detached. A hook keeping an id is fine."""
    from sqla_upgrade.api import migrate_project

    result = migrate_project(
        {
            "app.ext": "from flask_sqlalchemy import SQLAlchemy\ndb = SQLAlchemy()\n",
            "app.models": (
                "from app.ext import db\n\n\nclass User(db.Model):\n"
                "    id = db.Column(db.Integer, primary_key=True)\n"
            ),
            "app.hooks": (
                "from flask import Blueprint, g, session\nfrom app.models import User\n"
                "bp = Blueprint('bp', __name__)\n\n\n"
                "@bp.before_app_request\ndef load_user():\n"
                "    g.user = User.query.get(1)\n\n\n"
                "@bp.before_app_request\ndef load_admin():\n"
                "    admin = User.query.filter_by(id=2).first()\n"
                "    g.admin = admin\n"
                "    g.user_id = session.get('user_id')\n"
                "    g.count = 1\n"
            ),
        },
        target="async",
    )
    code = result["app.hooks"].code
    todos = [note.message for note in result["app.hooks"].todos]
    assert len(todos) == 2 and all("kept in flask.g" in message for message in todos)
    marker = "    # TODO(sqla-upgrade): an object loaded here by this function's own AsyncSession"
    assert f"{marker}" in code.split("g.user = await async_session.get(User, 1)")[0]
    assert code.count(marker) == 2
    assert "    g.user_id = session.get('user_id')\n" in code  # flask.session: no I/O
    compile(code, "app.hooks", "exec", dont_inherit=True)
    again = migrate_project({n: m.code for n, m in result.items()}, target="async")
    assert again["app.hooks"].code == code


def test_template_given_as_source_counts_as_a_template() -> None:
    """``render_template_string("... user.notes.count() ...")`` with no templates folder:
    the dynamic relationship it queries stays dynamic and the template renders in the
    session's greenlet, as one read from a file would."""
    from sqla_upgrade.api import migrate_project

    result = migrate_project(
        {
            "app.ext": "from flask_sqlalchemy import SQLAlchemy\ndb = SQLAlchemy()\n",
            "app.views": (
                "from flask import render_template_string\nfrom app.ext import db\n\n\n"
                "class User(db.Model):\n    id = db.Column(db.Integer, primary_key=True)\n"
                '    notes = db.relationship("Note", lazy="dynamic")\n\n\n'
                "def show(uid):\n    user = db.get_or_404(User, uid)\n"
                '    return render_template_string("{{ user.notes.count() }}", user=user)\n'
            ),
        },
        target="async",
    )
    code = result["app.views"].code
    assert 'lazy="dynamic"' in code
    assert (
        "    return await render_with_session("
        'render_template_string, "{{ user.notes.count() }}", user=user)\n'
    ) in code
    compile(code, "app.views", "exec", dont_inherit=True)


FLASK_HOOKS_EXT = """
    from flask_login import LoginManager
    from flask_sqlalchemy import SQLAlchemy

    db = SQLAlchemy()
    login_manager = LoginManager()


    class User(db.Model):
        id = db.Column(db.Integer, primary_key=True)
        slug = db.Column(db.String(20))
"""


@pytest.mark.parametrize(
    ("decorator", "caller"),
    [
        ("login_manager.user_loader", "Flask-Login calls @user_loader"),
        ("login_manager.request_loader", "Flask-Login calls @request_loader"),
        ("bp.url_value_preprocessor", "Flask calls @url_value_preprocessor"),
        ("bp.app_url_defaults", "Flask calls @app_url_defaults"),
    ],
)
def test_callbacks_called_without_ensure_sync_keep_db_session(decorator: str, caller: str) -> None:
    """Flask-Login's loaders and URL processors are called without ``ensure_sync``: made
    async they would be coroutines nobody awaits (``current_user`` a coroutine). They
    stay synchronous on ``db.session``, with a TODO about the objects they load."""
    hook = f"""
        from flask import Blueprint

        from .ext import User, db, login_manager

        bp = Blueprint("users", __name__)


        @{decorator}
        def load(value):
            return User.query.filter_by(slug=value).first()


        @bp.route("/<slug>", methods=["DELETE"])
        def delete(slug):
            db.session.delete(load(slug))
            db.session.commit()
            return ""
        """
    expected = f"""
        from flask import Blueprint

        from .ext import User, async_session, db, login_manager
        from sqlalchemy import select

        bp = Blueprint("users", __name__)


        @{decorator}
        def load(value):
            # TODO(sqla-upgrade): {caller} functions synchronously: it keeps the synchronous db.session, so objects it loads belong to that session, not to the views' async_session: relate them to new objects by id, or use `await async_session.merge(obj)` in the async code
            return db.session.scalars(select(User).filter_by(slug=value).limit(1)).first()


        @bp.route("/<slug>", methods=["DELETE"])
        async def delete(slug):
            await async_session.delete(load(slug))
            await async_session.commit()
            return ""
        """
    check_project(
        {"app.ext": FLASK_HOOKS_EXT, "app.hooks": hook},
        {"app.hooks": expected},
        todos=[f"{caller} functions synchronously"],
    )


def test_a_commit_in_an_after_request_hook_is_left_with_a_todo() -> None:
    """ "Commit at the end of the request" no longer commits the view's changes: each async
    view and hook has an ``async_session`` of its own (a rollback there is harmless)."""
    hooks = """
        from flask import Blueprint

        from .ext import User, db

        bp = Blueprint("hooks", __name__)


        @bp.after_app_request
        def commit_session(response):
            if response.status_code < 400:
                db.session.commit()
            else:
                db.session.rollback()
            return response


        @bp.route("/<slug>", methods=["POST"])
        def create(slug):
            db.session.add(User(slug=slug))
            db.session.flush()
            return ""
        """
    expected = """
        from flask import Blueprint

        from .ext import User, async_session, db

        bp = Blueprint("hooks", __name__)


        @bp.after_app_request
        async def commit_session(response):
            if response.status_code < 400:
                # TODO(sqla-upgrade): each async view and request hook now runs with a session of its own: this commit() in an @after_app_request hook no longer commits what the view did (the view's session is removed when the view returns, its changes rolled back); commit in the view
                await async_session.commit()
            else:
                await async_session.rollback()
            return response


        @bp.route("/<slug>", methods=["POST"])
        async def create(slug):
            async_session.add(User(slug=slug))
            await async_session.flush()
            return ""
        """
    check_project(
        {"app.ext": FLASK_HOOKS_EXT, "app.hooks": hooks},
        {"app.hooks": expected},
        todos=["no longer commits what the view did"],
    )


def test_a_commit_in_a_view_is_not_a_hook_commit() -> None:
    view = """
        from flask import Blueprint

        from .ext import User, db

        bp = Blueprint("views", __name__)


        @bp.route("/<slug>", methods=["POST"])
        def create(slug):
            db.session.add(User(slug=slug))
            db.session.commit()
            return ""
        """
    expected = """
        from flask import Blueprint

        from .ext import User, async_session, db

        bp = Blueprint("views", __name__)


        @bp.route("/<slug>", methods=["POST"])
        async def create(slug):
            async_session.add(User(slug=slug))
            await async_session.commit()
            return ""
        """
    check_project({"app.ext": FLASK_HOOKS_EXT, "app.views": view}, {"app.views": expected})


def test_a_change_to_current_user_saved_by_async_session_is_left_with_a_todo() -> None:
    """``current_user`` comes from the synchronous ``@user_loader`` (``db.session``):
    ``async_session.commit()`` does not save a change made to it."""
    hooks = """
        from flask import Blueprint
        from flask_login import current_user

        from .ext import User, db, login_manager

        bp = Blueprint("users", __name__)


        @login_manager.user_loader
        def load(user_id):
            return db.session.get(User, int(user_id))


        @bp.before_app_request
        def touch():
            current_user.slug = "seen"
            db.session.commit()
        """
    result = migrate_project_sources({"app.ext": FLASK_HOOKS_EXT, "app.hooks": hooks})
    code = result["app.hooks"].code
    assert "async def touch" in code
    messages = [todo.message for todo in result["app.hooks"].todos]
    assert any("current_user was loaded by the synchronous @user_loader" in m for m in messages)


def test_current_user_without_a_user_loader_of_the_project_is_left_alone() -> None:
    hooks = """
        from flask import Blueprint
        from flask_login import current_user

        from .ext import db

        bp = Blueprint("users", __name__)


        @bp.before_app_request
        def touch():
            current_user.slug = "seen"
            db.session.commit()
        """
    result = migrate_project_sources({"app.ext": FLASK_HOOKS_EXT, "app.hooks": hooks})
    assert not [t for t in result["app.hooks"].todos if "current_user" in t.message]


CURRENT_USER_EXT = """
    from flask_login import LoginManager, UserMixin
    from flask_sqlalchemy import SQLAlchemy

    db = SQLAlchemy()
    login_manager = LoginManager()

    readers = db.Table(
        "readers",
        db.Column("post_id", db.ForeignKey("post.id"), primary_key=True),
        db.Column("user_id", db.ForeignKey("user.id"), primary_key=True),
    )


    class User({bases}):
        id = db.Column(db.Integer, primary_key=True)
{user_body}

    class Post(db.Model):
        id = db.Column(db.Integer, primary_key=True)
        author_id = db.Column(db.Integer, db.ForeignKey("user.id"))
        author = db.relationship("User", lazy="joined")
        readers = db.relationship("User", secondary=readers, lazy="selectin")
"""
USER_LOADER = """

        @login_manager.user_loader
        def load_user(user_id):
            return db.session.get(User, int(user_id))
"""
RELATED_TODO = "current_user was loaded by the synchronous @user_loader into db.session: related to"
COMPARED_TODO = "this comparison of instances no longer finds the user among them"


def current_user_ext(*, mixin: bool = True, user_body: str = "") -> str:
    bases = "UserMixin, db.Model" if mixin else "db.Model"
    return CURRENT_USER_EXT.replace("{bases}", bases).replace("{user_body}", user_body)


def test_current_user_related_to_objects_of_async_session_is_left_with_a_todo() -> None:
    """Handed to an object of ``async_session`` (a new one, a relationship, a collection,
    the session), the user the synchronous ``@user_loader`` loaded into ``db.session``
    makes the flush fail: "already attached to session"."""
    views = (
        """
        from flask import Blueprint
        from flask_login import current_user

        from .ext import Post, User, db, login_manager

        bp = Blueprint("views", __name__)
        """
        + USER_LOADER
        + """

        @bp.route("/posts", methods=["POST"])
        def create():
            db.session.add(Post(author=current_user))
            db.session.commit()
            return ""


        @bp.route("/posts/<int:id>", methods=["POST"])
        def claim(id):
            post = db.get_or_404(Post, id)
            post.author = current_user
            post.readers.append(current_user)
            db.session.add_all([current_user])
            db.session.commit()
            return ""
        """
    )
    expected = """
        from flask import Blueprint
        from flask_login import current_user

        from .ext import Post, User, async_session, db, get_or_404, login_manager

        bp = Blueprint("views", __name__)


        @login_manager.user_loader
        def load_user(user_id):
            # TODO(sqla-upgrade): Flask-Login calls @user_loader functions synchronously: it keeps the synchronous db.session, so objects it loads belong to that session, not to the views' async_session: relate them to new objects by id, or use `await async_session.merge(obj)` in the async code
            return db.session.get(User, int(user_id))


        @bp.route("/posts", methods=["POST"])
        async def create():
            # TODO(sqla-upgrade): current_user was loaded by the synchronous @user_loader into db.session: related to an object of async_session it makes that session's flush fail (already attached to session). Relate the user `await async_session.merge(current_user)` gives, or set the foreign key to current_user.id
            async_session.add(Post(author=current_user, readers=[]))
            await async_session.commit()
            return ""


        @bp.route("/posts/<int:id>", methods=["POST"])
        async def claim(id):
            post = await get_or_404(Post, id)
            # TODO(sqla-upgrade): current_user was loaded by the synchronous @user_loader into db.session: related to an object of async_session it makes that session's flush fail (already attached to session). Relate the user `await async_session.merge(current_user)` gives, or set the foreign key to current_user.id
            post.author = current_user
            # TODO(sqla-upgrade): current_user was loaded by the synchronous @user_loader into db.session: related to an object of async_session it makes that session's flush fail (already attached to session). Relate the user `await async_session.merge(current_user)` gives, or set the foreign key to current_user.id
            post.readers.append(current_user)
            # TODO(sqla-upgrade): current_user was loaded by the synchronous @user_loader into db.session: related to an object of async_session it makes that session's flush fail (already attached to session). Relate the user `await async_session.merge(current_user)` gives, or set the foreign key to current_user.id
            async_session.add_all([current_user])
            await async_session.commit()
            return ""
        """
    check_project(
        {"app.ext": current_user_ext(), "app.views": views},
        {"app.views": expected},
        todos=[RELATED_TODO, "Flask-Login calls @user_loader"],
    )


def test_current_user_read_by_key_or_merged_is_left_alone() -> None:
    """SQL comparisons (``filter_by(author=current_user)``, ``Post.author ==
    current_user``, ``with_parent``) take the user's key, ``current_user.id`` is a value,
    ``merge`` gives the session's own copy, ``login_user`` and a plain list keep the
    object to themselves, and a ``UserMixin`` user compares by ``get_id()``."""
    views = (
        """
        from flask import Blueprint, abort
        from flask_login import current_user, login_user
        from sqlalchemy import select
        from sqlalchemy.orm import with_parent

        from .ext import Post, User, db, login_manager

        bp = Blueprint("views", __name__)
        """
        + USER_LOADER
        + """

        @bp.route("/posts/<int:id>", methods=["POST"])
        def claim(id):
            post = db.get_or_404(Post, id)
            if post.author != current_user or current_user in post.readers:
                abort(403)
            mine = db.session.scalars(select(Post).filter_by(author=current_user)).all()
            theirs = db.session.scalars(select(Post).where(Post.author != current_user)).all()
            read = db.session.scalars(select(User).where(with_parent(current_user, Post.readers))).all()
            post.author_id = current_user.id
            post.readers.append(db.session.merge(current_user))
            seen = []
            seen.append(current_user)
            login_user(current_user)
            db.session.commit()
            return str((len(mine), len(theirs), len(read), current_user is None))
        """
    )
    result = migrate_project_sources({"app.ext": current_user_ext(), "app.views": views})
    code = result["app.views"].code
    assert "async def claim" in code and "(await async_session.merge(current_user))" in code
    messages = [t.message for t in result["app.views"].todos]
    assert [m for m in messages if "current_user" in m] == [], messages


def test_current_user_compared_with_objects_of_async_session_is_left_with_a_todo() -> None:
    """A user class comparing as an instance (``get_id`` of its own, no ``UserMixin``,
    no ``__eq__``): the ``db.session`` user is not the ``async_session`` author."""
    user_body = """
        is_authenticated = True

        def get_id(self):
            return str(self.id)
"""
    views = (
        """
        from flask import Blueprint, abort
        from flask_login import current_user

        from .ext import Post, User, db, login_manager

        bp = Blueprint("views", __name__)
        """
        + USER_LOADER
        + """

        @bp.route("/posts/<int:id>", methods=["DELETE"])
        def delete(id):
            post = db.get_or_404(Post, id)
            if post.author != current_user:
                abort(403)
            db.session.delete(post)
            db.session.commit()
            return ""


        def can_read(post):
            return current_user in post.readers or current_user is None
        """
    )
    result = migrate_project_sources(
        {"app.ext": current_user_ext(mixin=False, user_body=user_body), "app.views": views}
    )
    code = result["app.views"].code
    todo = (
        "    # TODO(sqla-upgrade): current_user was loaded by the synchronous @user_loader into "
        "db.session; objects async_session loads are other instances of the same rows, so "
        "this comparison of instances no longer finds the user among them: compare primary "
        "keys (`x.id == current_user.id`)\n"
    )
    assert todo + "    if post.author != current_user:\n" in code, code
    assert todo + "    return current_user in post.readers or current_user is None\n" in code
    again = migrate_project_sources(
        {"app.ext": current_user_ext(mixin=False, user_body=user_body), "app.views": code}
    )
    assert again["app.views"].code == code
    with_eq = (
        user_body
        + """
        def __eq__(self, other):
            return isinstance(other, User) and self.id == other.id
"""
    )
    result = migrate_project_sources(
        {"app.ext": current_user_ext(mixin=False, user_body=with_eq), "app.views": views}
    )
    assert not [t for t in result["app.views"].todos if COMPARED_TODO in t.message]


def test_current_user_in_code_keeping_db_session_is_left_alone() -> None:
    """A template filter stays on ``db.session``: its objects and ``current_user`` are of
    one session."""
    views = (
        """
        from flask import Blueprint
        from flask_login import current_user

        from .ext import Post, User, db, login_manager

        bp = Blueprint("views", __name__)
        """
        + USER_LOADER
        + """

        @bp.app_template_filter()
        def claim(id):
            post = db.session.get(Post, id)
            post.author = current_user
            db.session.commit()
            return ""


        @bp.route("/")
        def index():
            db.session.commit()
            return ""
        """
    )
    result = migrate_project_sources({"app.ext": current_user_ext(), "app.views": views})
    assert "    post.author = current_user\n" in result["app.views"].code
    assert not [t for t in result["app.views"].todos if "current_user was" in t.message]


def migrate_project_sources(sources: dict[str, str]) -> dict[str, Migration]:
    from sqla_upgrade.api import migrate_project
    from tests.harness import _dedent

    return migrate_project({name: _dedent(code) for name, code in sources.items()})


def test_a_view_that_stays_synchronous_keeps_db_session() -> None:
    """Flask calls a synchronous view outside any event loop, where ``async_session``
    (scoped to the running task) raises "no running event loop"; a helper it may share
    with async views is renamed as before."""
    views = """
        from flask import Blueprint

        from .ext import User, db

        bp = Blueprint("views", __name__)


        def stage(user):
            db.session.add(user)


        @bp.route("/<slug>", methods=["PUT"])
        def put(slug):
            db.session.add(User(slug=slug))
            return "queued"


        @bp.route("/<slug>", methods=["POST"])
        def create(slug):
            stage(User(slug=slug))
            db.session.commit()
            return ""
        """
    expected = """
        from flask import Blueprint

        from .ext import User, async_session, db

        bp = Blueprint("views", __name__)


        def stage(user):
            async_session.add(user)


        @bp.route("/<slug>", methods=["PUT"])
        def put(slug):
            db.session.add(User(slug=slug))
            return "queued"


        @bp.route("/<slug>", methods=["POST"])
        async def create(slug):
            stage(User(slug=slug))
            await async_session.commit()
            return ""
        """
    check_project({"app.ext": FLASK_HOOKS_EXT, "app.views": views}, {"app.views": expected})


def test_statement_right_after_db_is_set_apart_from_the_helpers() -> None:
    """``login_manager = LoginManager()`` on the line after ``db = SQLAlchemy()`` follows
    the helpers written between them after two blank lines (its comment stays with it)."""
    views = """
        from flask import Blueprint

        from .ext import User, db

        bp = Blueprint("views", __name__)


        @bp.route("/<int:id>")
        def show(id):
            return db.get_or_404(User, id).slug
        """
    for between, kept in (("", ""), ("# Flask-Login\n    ", "# Flask-Login\n")):
        ext = FLASK_HOOKS_EXT.replace(
            "db = SQLAlchemy()\n    login_manager", f"db = SQLAlchemy()\n    {between}login_manager"
        )
        result = migrate_project_sources({"app.ext": ext, "app.views": views})
        code = result["app.ext"].code
        assert f"        total=total,\n    )\n\n\n{kept}login_manager = LoginManager()\n" in code
        again = migrate_project_sources({"app.ext": code, "app.views": result["app.views"].code})
        assert again["app.ext"].code == code


def test_a_collection_of_current_user_changed_in_async_code_is_left_with_a_todo() -> None:
    """``current_user.saved.append(post)`` changes the ``db.session`` user (and pulls the
    ``async_session`` post into that session): ``async_session.commit()`` saves none of
    it. A list of the user's values is nobody's collection."""
    user_body = """
        saved = db.relationship("Post", secondary=readers)
"""
    views = (
        """
        from flask import Blueprint
        from flask_login import current_user

        from .ext import Post, User, db, login_manager

        bp = Blueprint("views", __name__)
        """
        + USER_LOADER
        + """

        @bp.route("/save/<int:id>", methods=["POST"])
        def save(id):
            post = db.get_or_404(Post, id)
            current_user.saved.append(post)
            names = []
            names.append(current_user.id)
            db.session.commit()
            return str(names)
        """
    )
    result = migrate_project_sources(
        {"app.ext": current_user_ext(user_body=user_body), "app.views": views}
    )
    code = result["app.views"].code
    todo = (
        "    # TODO(sqla-upgrade): current_user was loaded by the synchronous @user_loader into "
        "db.session: committing async_session does not save this change. Change the user "
        "`await async_session.merge(current_user)` gives instead\n"
    )
    assert todo + "    current_user.saved.append(post)\n" in code, code
    assert code.count("# TODO(sqla-upgrade): current_user") == 1, code


@pytest.mark.parametrize(
    "before, after",
    [
        (  # wrapped under its parenthesis: the names go where they sort, the lines stay
            "from .ext import (babel, cache,\n                  db, mail)",
            "from .ext import (async_session, babel, cache,\n"
            "                  db, init_async_session, mail)",
        ),
        (  # one per line, with a trailing comma
            "from .ext import (\n    babel,\n    db,\n    mail,\n)",
            "from .ext import (\n    async_session,\n    babel,\n    db,\n"
            "    init_async_session,\n    mail,\n)",
        ),
        (  # not in order: the names go last
            "from .ext import mail, db",
            "from .ext import mail, db, async_session, init_async_session",
        ),
    ],
)
def test_helpers_join_the_import_of_db_in_its_own_layout(before: str, after: str) -> None:
    ext = """
        from flask_sqlalchemy import SQLAlchemy

        db = SQLAlchemy()
        babel = cache = mail = None
    """
    app = """
        from flask import Flask
        {imports}


        def create_app():
            app = Flask(__name__)
            db.init_app(app)
            return app


        def purge():
            db.session.execute(text("delete from logs"))
            db.session.commit()
    """
    expected = """
        from flask import Flask
        {imports}


        def create_app():
            app = Flask(__name__)
            db.init_app(app)
            init_async_session(app)
            return app


        async def purge():
            await async_session.execute(text("delete from logs"))
            await async_session.commit()
    """
    indent = "\n        "
    check_project(
        {"app.ext": ext, "app.app": app.format(imports=before.replace("\n", indent))},
        {"app.app": expected.format(imports=after.replace("\n", indent))},
    )


@pytest.mark.parametrize(
    "ext",
    [
        # the application's own subclass of the extension (redash's, for pool options)
        """
        from flask_sqlalchemy import SQLAlchemy as _BaseSQLAlchemy


        class SQLAlchemy(_BaseSQLAlchemy):
            def apply_pool_defaults(self, app, options):
                return options


        db = SQLAlchemy()
        """,
        # Flask-AppBuilder's subclass (Superset's ``db``)
        """
        from flask_appbuilder import SQLA

        db = SQLA()
        """,
    ],
)
def test_a_subclass_of_the_extension_is_flask_sqlalchemy(ext: str) -> None:
    """``db`` made by a subclass of ``flask_sqlalchemy.SQLAlchemy`` is a Flask-SQLAlchemy
    object: views use ``async_session`` (its ``db.session`` was taken for a plain
    session by its name, awaited although it stays synchronous)."""
    from sqla_upgrade.api import migrate_project
    from tests.harness import _dedent

    views = """
        from .ext import db


        def purge():
            db.session.execute(text("delete from logs"))
            db.session.commit()
    """
    result = migrate_project({"app.ext": _dedent(ext), "app.views": _dedent(views)})
    migrated = result["app.views"].code
    assert "from .ext import async_session, db" in migrated
    assert "    await async_session.commit()\n" in migrated
    assert "async_session = async_scoped_session(" in result["app.ext"].code


def test_helpers_come_from_the_module_defining_db_not_a_package_re_exporting_it() -> None:
    """``from app import db`` where ``app/__init__.py`` re-exports the ``db`` of
    ``app.extensions`` (Superset's layout): ``async_session`` is written beside ``db``,
    so it is imported from there (``from app import async_session`` failed on import)."""
    check_project(
        {
            "app": "from app.extensions import db\n",
            "app.extensions": """
                from flask_sqlalchemy import SQLAlchemy

                db = SQLAlchemy()
            """,
            "app.views": """
                from app import db


                def purge():
                    db.session.execute(text("delete from logs"))
                    db.session.commit()
            """,
        },
        {
            "app": "from app.extensions import db\n",
            "app.views": """
                from app import db
                from app.extensions import async_session


                async def purge():
                    await async_session.execute(text("delete from logs"))
                    await async_session.commit()
            """,
        },
    )


def test_a_session_taken_from_the_registry_is_awaited_in_the_same_run() -> None:
    """``session = db.session()`` (the registry called for its session) becomes
    ``async_session()``: an AsyncSession, whose I/O is awaited in the run that writes it,
    also where a ``@contextmanager`` yields it (the first run left ``session.commit()``
    unawaited, a coroutine never run: the commit lost; the second run awaited it)."""
    check_project(
        {
            "app": "from app.extensions import db\n",
            "app.extensions": """
                from flask_sqlalchemy import SQLAlchemy

                db = SQLAlchemy()
            """,
            "app.tasks": """
                from contextlib import contextmanager

                from app import db


                @contextmanager
                def session_scope():
                    session = db.session()
                    try:
                        yield session
                        session.commit()
                    finally:
                        session.close()


                def purge():
                    session = db.session()
                    session.execute(text("delete from logs"))
                    session.commit()


                def log(message):
                    with session_scope() as session:
                        session.add(Log(message=message))
                        session.flush()
            """,
        },
        {
            "app.tasks": """
                from contextlib import asynccontextmanager

                from app import db
                from app.extensions import async_session


                @asynccontextmanager
                async def session_scope():
                    session = async_session()
                    try:
                        yield session
                        await session.commit()
                    finally:
                        await session.close()


                async def purge():
                    session = async_session()
                    await session.execute(text("delete from logs"))
                    await session.commit()


                async def log(message):
                    async with session_scope() as session:
                        session.add(Log(message=message))
                        await session.flush()
            """,
        },
    )


def test_a_session_taken_from_the_registry_keeps_its_queries_for_target_2_0() -> None:
    """For ``--target 2.0`` ``db.session()`` is a session as ``db.session`` is: its
    queries are rewritten, nothing is awaited."""
    check_project(
        {
            "app": """
                from flask_sqlalchemy import SQLAlchemy

                db = SQLAlchemy()


                class User(db.Model):
                    id = db.Column(db.Integer, primary_key=True)


                def users():
                    session = db.session()
                    return session.query(User).all()
            """,
        },
        {
            "app": """
                from flask_sqlalchemy import SQLAlchemy
                from sqlalchemy import select

                db = SQLAlchemy()


                class User(db.Model):
                    id = db.Column(db.Integer, primary_key=True)


                def users():
                    session = db.session()
                    return session.scalars(select(User)).all()
            """,
        },
        target="2.0",
    )
