"""Methods a Jinja template calls stay synchronous (``--target async``).

Jinja calls ``{{ user.report_count() }}`` synchronously: as an ``async def`` the method
would hand the template a coroutine (``<coroutine object ...>`` on the page, an ``if``
always true). A project method named like one a template calls (by name: templates are
untyped, as for the properties they read) keeps its ``def``, its synchronous
``db.session`` and a TODO naming the template; templates calling it render through
``render_with_session``, where the queries it runs through its object's session work.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from sqla_upgrade.codemods.notes import Note
from sqla_upgrade.codemods.options import Options
from sqla_upgrade.codemods.runner import run

pytest.importorskip("jinja2")

MODEL_HEAD = """
    from flask import Flask, render_template
    from flask_sqlalchemy import SQLAlchemy

    db = SQLAlchemy()
    app = Flask(__name__)
    app.config["SQLALCHEMY_DATABASE_URI"] = DB_URL
    db.init_app(app)


    class User(db.Model):
        id = db.Column(db.Integer, primary_key=True)
        name = db.Column(db.String(64))
        boss_id = db.Column(db.Integer, db.ForeignKey("user.id"))

        def report_count(self):
            return User.query.filter_by(boss_id=self.id).count()


    @app.route("/user/<int:id>")
    def user(id):
        u = User.query.get_or_404(id)
        return render_template("user.html", user=u)
"""
TEMPLATE = (
    "{{ user.name }}: {% if user.report_count() %}manager of {{ user.report_count() }}"
    "{% else %}no reports{% endif %}\n"
)
TODO = (
    "Jinja calls it synchronously from a template (templates/user.html): it keeps the "
    "synchronous db.session, so objects it loads belong to that session, not to the views' "
    "async_session: relate them to new objects by id, or use `await async_session.merge(obj)` "
    "in the async code"
)
MIGRATED_TAIL = f"""
    class User(db.Model):
        id = db.Column(db.Integer, primary_key=True)
        name = db.Column(db.String(64))
        boss_id = db.Column(db.Integer, db.ForeignKey("user.id"))

        def report_count(self):
            # TODO(sqla-upgrade): {TODO}
            return db.session.scalar(select(func.count()).select_from(select(User).filter_by(boss_id=self.id).subquery()))


    @app.route("/user/<int:id>")
    async def user(id):
        u = await get_or_404(User, id)
        return await render_with_session(render_template, "user.html", user=u)
"""


def _write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def _app(database: str = '"sqlite://"', method: str = "", view: str = "") -> str:
    code = textwrap.dedent(MODEL_HEAD).lstrip("\n").replace("DB_URL", database)
    return code.replace("    def report_count", method + "    def report_count", 1) + view


def _migrate(root: Path) -> tuple[dict[str, str], list[Note]]:
    """The async run over ``root``: path (relative) → code, and the notes; a second run
    must change nothing."""
    report = run([root], Options(target="async"))
    for result in report.results:
        assert result.error is None, result.error
        if result.new is not None:
            (root / result.path).write_bytes(result.new)
    files = {str(Path(r.path).relative_to(root)): (r.new or r.old).decode() for r in report.results}
    for code in files.values():
        compile(code, "migrated", "exec", dont_inherit=True)
    again = run([root], Options(target="async"))
    assert not [r.path for r in again.results if r.changed], "a second run changed the app"
    return files, [note for r in report.results for note in r.notes]


def _todos(notes: list[Note]) -> list[str]:
    return [note.message for note in notes if note.kind == "todo"]


def test_method_a_template_calls_keeps_its_def_and_the_render_gets_the_greenlet(
    tmp_path: Path,
) -> None:
    _write(tmp_path, {"app.py": _app(), "templates/user.html": TEMPLATE})
    files, notes = _migrate(tmp_path)
    app = files["app.py"]
    tail = app[app.index("class User(db.Model):") :]
    assert tail == textwrap.dedent(MIGRATED_TAIL).lstrip("\n")
    assert 'app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite://"\ndb.init_app(app)\n' in app
    assert "init_async_session(app)\n" in app
    assert (tmp_path / "templates/user.html").read_text() == TEMPLATE
    assert _todos(notes) == [TODO]


def test_method_no_template_calls_becomes_async(tmp_path: Path) -> None:
    """The same app with a template reading only columns: the method becomes async and
    the render stays as it was."""
    _write(tmp_path, {"app.py": _app(), "templates/user.html": "{{ user.name }}\n"})
    files, notes = _migrate(tmp_path)
    app = files["app.py"]
    assert "    async def report_count(self):\n        return await async_session.scalar(" in app
    assert '    return render_template("user.html", user=u)\n' in app
    assert not _todos(notes)


def test_builtin_and_jinja_method_names_do_not_keep_a_method(tmp_path: Path) -> None:
    """``request.args.get(...)``, ``d.items()``, ``self.title()`` (a block),
    ``loop.cycle(...)``: not calls of a project method named so."""
    method = "    def get(self, key):\n        return User.query.filter_by(name=key).count()\n\n"
    template = (
        "{% block title %}t{% endblock %}{{ self.title() }}{{ request.args.get('page') }}"
        "{% for k, v in d.items() %}{{ loop.cycle('a', 'b') }}{% endfor %}\n"
    )
    _write(tmp_path, {"app.py": _app(method=method), "templates/user.html": template})
    files, notes = _migrate(tmp_path)
    app = files["app.py"]
    assert "    async def get(self, key):\n" in app
    assert "    async def report_count(self):\n" in app
    assert "render_with_session(render_template" not in app.partition("class User")[2]
    assert not _todos(notes)


def test_method_without_io_a_template_calls_is_left_alone(tmp_path: Path) -> None:
    code = """
        from flask import Flask, render_template

        app = Flask(__name__)


        class User:
            def __init__(self, name):
                self.name = name

            def label(self):
                return self.name.title()


        @app.route("/")
        def index():
            return render_template("user.html", user=User("ann"))
    """
    _write(tmp_path, {"app.py": textwrap.dedent(code), "templates/user.html": "{{ user.label() }}"})
    files, notes = _migrate(tmp_path)
    assert files["app.py"] == textwrap.dedent(code)
    assert not notes


FOLLOW_APP = """
    from flask import Flask, render_template
    from flask_sqlalchemy import SQLAlchemy

    db = SQLAlchemy()
    app = Flask(__name__)
    app.config["SQLALCHEMY_DATABASE_URI"] = DB_URL
    db.init_app(app)


    class Follow(db.Model):
        follower_id = db.Column(db.Integer, db.ForeignKey("user.id"), primary_key=True)
        followed_id = db.Column(db.Integer, db.ForeignKey("user.id"), primary_key=True)


    class User(db.Model):
        id = db.Column(db.Integer, primary_key=True)
        name = db.Column(db.String(64))
        followed = db.relationship("Follow", foreign_keys=[Follow.follower_id], lazy="dynamic")

        def is_following(self, user):
            return self.followed.filter_by(followed_id=user.id).first() is not None


    @app.route("/user/<int:me>/<int:id>")
    def user(me, id):
        viewer = db.get_or_404(User, me)
        u = db.get_or_404(User, id)
        return render_template("user.html", user=u, viewer=viewer)
"""
FOLLOW_TEMPLATE = (
    "{{ user.name }}: {% if viewer.is_following(user) %}followed{% else %}not followed{% endif %}\n"
)


def test_method_querying_a_dynamic_relationship_keeps_it_and_says_where_it_runs(
    tmp_path: Path,
) -> None:
    """``{% if current_user.is_following(user) %}`` (flasky): the dynamic relationship the
    method queries stays dynamic, the query runs in ``render_with_session``'s greenlet;
    a call from the async view (no greenlet there) gets a TODO."""
    view_call = '    flash = "yes" if viewer.is_following(u) else "no"\n'
    app = textwrap.dedent(FOLLOW_APP).replace("DB_URL", '"sqlite://"')
    app = app.replace("    return render_template", view_call + "    return render_template")
    _write(tmp_path, {"app.py": app, "templates/user.html": FOLLOW_TEMPLATE})
    files, notes = _migrate(tmp_path)
    migrated = files["app.py"]
    assert 'lazy="dynamic")\n\n    def is_following(self, user):\n' in migrated
    assert (
        "        return self.followed.filter_by(followed_id=user.id).first() is not None\n"
    ) in migrated
    assert (
        '    return await render_with_session(render_template, "user.html", user=u, '
        "viewer=viewer)\n"
    ) in migrated
    assert _todos(notes) == [
        "this legacy Query needs a synchronous session; it has one while jinja calls it "
        "synchronously from a template (templates/user.html) rendered through "
        "render_with_session; callers in async code need run_sync",
        "is_following() stays synchronous: Jinja calls it synchronously from a template "
        "(templates/user.html); called here, outside run_sync, the queries it runs through its "
        'object\'s session (a lazy="dynamic" relationship, a lazy load) fail with '
        "MissingGreenlet; run it as `await session.run_sync(lambda _: ...)`",
    ]


def test_template_given_as_source_keeps_the_method_it_calls(tmp_path: Path) -> None:
    app = _app().replace(
        'render_template("user.html", user=u)',
        'render_template_string("{{ user.report_count() }}", user=u)',
    )
    app = app.replace("import Flask, render_template\n", "import Flask, render_template_string\n")
    _write(tmp_path, {"app.py": app})
    files, notes = _migrate(tmp_path)
    migrated = files["app.py"]
    assert "    def report_count(self):\n" in migrated
    assert (
        "    return await render_with_session("
        'render_template_string, "{{ user.report_count() }}", user=u)\n'
    ) in migrated
    assert _todos(notes) == [
        TODO.replace(
            "templates/user.html", "the template given to render_template_string() in module app"
        )
    ]


CHECK = """
import sys

sys.path.insert(0, sys.argv[1])
from app import app, db, User, Follow  # noqa: E402

with app.app_context():
    db.create_all()
    db.session.add_all([User(id=1, name="ann"), User(id=2, name="bob"), User(id=3, name="cy")])
    db.session.add_all([Follow(follower_id=1, followed_id=2), Follow(follower_id=3, followed_id=1)])
    db.session.commit()
client = app.test_client()
for url in ("/user/1/2", "/user/2/1", "/user/1/3", "/user/3/1", "/count/1", "/count/3"):
    print(url, client.get(url).data.decode().strip())
"""
COUNT_VIEW = """

@app.route("/count/<int:id>")
def count(id):
    return render_template("count.html", user=db.get_or_404(User, id))
"""


def _pages(project: Path) -> str:
    done = subprocess.run(
        [sys.executable, "-W", "error::RuntimeWarning", "-c", CHECK, str(project)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_templates_calling_methods_render_the_same_on_aiosqlite(tmp_path: Path) -> None:
    """The legacy app and the migrated one (aiosqlite, async views) answer the same
    pages, ``if`` branches included."""
    pytest.importorskip("aiosqlite")
    pytest.importorskip("asgiref")
    legacy, migrated = tmp_path / "legacy", tmp_path / "migrated"
    for root in (legacy, migrated):
        _write(
            root,
            {
                "app.py": _follow_app_with_counts(root),
                "templates/user.html": FOLLOW_TEMPLATE,
                "templates/count.html": TEMPLATE,
            },
        )
    expected = _pages(legacy)
    assert "bob: followed" in expected and "ann: not followed" in expected
    assert "manager of 1" in expected and "no reports" in expected
    files, _ = _migrate(migrated)
    assert "async def user(me, id):" in files["app.py"]
    assert _pages(migrated) == expected


def _follow_app_with_counts(root: Path) -> str:
    app = textwrap.dedent(FOLLOW_APP).replace("DB_URL", repr(f"sqlite:///{root}/app.db"))
    method = (
        "    def report_count(self):\n"
        "        return Follow.query.filter_by(followed_id=self.id).count()\n\n"
    )
    app = app.replace("    def is_following", method + "    def is_following")
    return app + COUNT_VIEW


# -- methods named like str/list/dict/set methods ----------------------------------------
def _count_app(database: str = '"sqlite://"') -> str:
    return _app(database).replace("def report_count(self):", "def count(self):")


COUNT_TEMPLATE = (
    "{{ user.name }}: {% if user.count() %}manager of {{ user.count() }}"
    "{% else %}no reports{% endif %} {{ request.args.get('x', '') }}\n"
)


def test_a_model_method_named_like_a_list_method_a_template_calls_stays_synchronous(
    tmp_path: Path,
) -> None:
    """``{{ user.count() }}`` with ``User.count`` querying: ``count`` is a list and str
    method's name too, but called on a template variable it may be the model's, which
    keeps its ``def`` (``request.args.get(...)`` still calls no project method)."""
    _write(tmp_path, {"app.py": _count_app(), "templates/user.html": COUNT_TEMPLATE})
    files, notes = _migrate(tmp_path)
    app = files["app.py"]
    assert "        def count(self):\n            # TODO(sqla-upgrade): Jinja calls it" in (
        "    " + app.replace("\n", "\n    ")
    )
    assert 'await render_with_session(render_template, "user.html", user=u)' in app
    assert _todos(notes) == [TODO]


def test_other_classes_methods_named_so_still_become_async(tmp_path: Path) -> None:
    """A repository's ``get`` (no model's method) becomes async though templates call
    ``get`` on their variables (``{{ prefs.get("theme") }}``, a dict); so does a model's
    method of such a name no template calls on a variable (``{{ [1].count(1) }}``)."""
    repository = (
        "\n\nclass Users:\n    def get(self, id):\n        return User.query.get(id)\n\n\n"
        "users = Users()\n\n\n"
        '@app.route("/prefs/<int:id>")\n'
        "def prefs(id):\n"
        '    return render_template("prefs.html", prefs={"theme": users.get(id).name})\n'
    )
    code = _app(method="    def index(self):\n        return User.query.count()\n\n") + repository
    _write(
        tmp_path,
        {
            "app.py": code,
            "templates/user.html": "{{ user.name }} {{ [1].index(1) }} {{ 'a b'|title }}\n",
            "templates/prefs.html": "{{ prefs.get('theme') }} {{ prefs.items()|list }}\n",
        },
    )
    files, notes = _migrate(tmp_path)
    app = files["app.py"]
    assert "    async def get(self, id):\n" in app
    assert "    async def index(self):\n" in app
    assert not _todos(notes)


def test_a_mixin_method_of_a_model_counts_as_the_models(tmp_path: Path) -> None:
    code = _count_app().replace(
        "class User(db.Model):",
        "class Counted:\n    def count(self):\n        return User.query.filter_by("
        "boss_id=self.id).count()\n\n\nclass User(Counted, db.Model):",
    )
    head, _, tail = code.rpartition("    def count(self):\n")
    code = head + tail.partition("\n")[2]  # the model's own count() goes
    _write(tmp_path, {"app.py": code, "templates/user.html": COUNT_TEMPLATE})
    files, notes = _migrate(tmp_path)
    assert "class Counted:\n    def count(self):\n" in files["app.py"]
    assert _todos(notes) == [TODO]


COUNT_CHECK = """
import sys

sys.path.insert(0, sys.argv[1])
from app import app, db, User  # noqa: E402

with app.app_context():
    db.create_all()
    db.session.add_all([User(id=1, name="ann"), User(id=2, name="bob", boss_id=1)])
    db.session.commit()
client = app.test_client()
for url in ("/user/1", "/user/2"):
    print(url, client.get(url).data.decode().strip())
"""


def test_a_template_calling_a_model_count_renders_the_same_on_aiosqlite(tmp_path: Path) -> None:
    pytest.importorskip("aiosqlite")
    pytest.importorskip("asgiref")
    legacy, migrated = tmp_path / "legacy", tmp_path / "migrated"
    pages = []
    for root in (legacy, migrated):
        _write(
            root,
            {
                "app.py": _count_app(repr(f"sqlite:///{root}/app.db")),
                "templates/user.html": COUNT_TEMPLATE,
            },
        )
        if root is migrated:
            _migrate(root)
        done = subprocess.run(
            [sys.executable, "-W", "error::RuntimeWarning", "-c", COUNT_CHECK, str(root)],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        pages.append(done.stdout)
    assert "ann: manager of 1" in pages[0] and "bob: no reports" in pages[0]
    assert pages[1] == pages[0]
