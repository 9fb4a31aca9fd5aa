"""Template analysis: what each context variable of a Jinja template has read from it."""

from __future__ import annotations

import builtins
import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from sqla_upgrade.cli.app import app
from sqla_upgrade.codemods import templates
from sqla_upgrade.codemods.templates import (
    JINJA_MISSING,
    jinja_missing_notice,
    source_method_calls,
    template_attribute_reads,
    template_context_reads,
    template_method_calls,
)


def project(tmp_path: Path, files: dict[str, str]) -> list[Path]:
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    templates.clear_cache()
    return [tmp_path]


def reads(tmp_path: Path, files: dict[str, str], name: str = "page.html") -> Any:
    roots = project(tmp_path, {f"app/templates/{k}": v for k, v in files.items()})
    return template_context_reads(name, roots)


def test_loop_target_reads_belong_to_the_collection(tmp_path: Path) -> None:
    page = "{% for p in posts %}{{ p.author.name }}{% endfor %}"
    assert reads(tmp_path, {"page.html": page}) == {"posts": {("author", "name")}}


def test_nested_paths_keep_only_the_longest(tmp_path: Path) -> None:
    page = "{{ post.title }} {{ post.author }} {{ post.author.name }} {{ post.author.team.name }}"
    assert reads(tmp_path, {"page.html": page}) == {
        "post": {("title",), ("author", "name"), ("author", "team", "name")}
    }


def test_filters_and_subscripts(tmp_path: Path) -> None:
    page = (
        "{{ post.comments|length }} {{ post.tags[0].name }} {{ post['editor'].email }}"
        "{{ post.likes[1:]|first }}"
    )
    assert reads(tmp_path, {"page.html": page}) == {
        "post": {("comments",), ("tags", "name"), ("editor", "email"), ("likes",)}
    }


def test_attribute_arguments_of_builtin_filters(tmp_path: Path) -> None:
    page = (
        "{{ post.tags|map(attribute='name')|join(', ') }}"
        "{% for c in post.comments|selectattr('author.active')|sort(attribute='created') %}"
        "{{ c.body }}{% endfor %}"
        "{% for g in posts|groupby('author') %}{{ g.grouper.name }}"
        "{% for p in g.list %}{{ p.title }}{% endfor %}{% endfor %}"
    )
    assert reads(tmp_path, {"page.html": page}) == {
        "post": {
            ("tags", "name"),
            ("comments", "author", "active"),
            ("comments", "created"),
            ("comments", "body"),
        },
        "posts": {("author", "name"), ("title",)},
    }


def test_set_with_and_loop_variables(tmp_path: Path) -> None:
    page = (
        "{% set first = posts|first %}{{ first.author.name }}"
        "{% with owner = shop.owner %}{{ owner.email }}{% endwith %}"
        "{% for k, order in orders_by_day.items() %}{{ order.customer.name }}{% endfor %}"
        "{% for p in posts %}{{ loop.index }}{{ loop.previtem.editor }}{% endfor %}"
    )
    assert reads(tmp_path, {"page.html": page}) == {
        "posts": {("author", "name"), ("editor",)},
        "shop": {("owner", "email")},
        "orders_by_day": {("customer", "name")},
    }


def test_names_from_string_literals_and_locals_are_not_reads(tmp_path: Path) -> None:
    page = "{{ url_for('main.post', slug=p) }}{% set x = 'a.b' %}{{ x.upper() }}"
    assert reads(tmp_path, {"page.html": page}) == {"url_for": frozenset(), "p": frozenset()}


def test_include_sees_the_loop_variable(tmp_path: Path) -> None:
    files = {
        "page.html": "{% for post in posts %}{% include '_post.html' %}{% endfor %}",
        "_post.html": "{{ post.author.name }}{% for t in post.tags %}{{ t.name }}{% endfor %}",
    }
    assert reads(tmp_path, files) == {"posts": {("author", "name"), ("tags", "name")}}


def test_include_list_and_ignore_missing(tmp_path: Path) -> None:
    files = {
        "page.html": "{% include ['a.html', 'b.html'] %}{% include 'gone.html' ignore missing %}",
        "b.html": "{{ user.profile.bio }}",
    }
    assert reads(tmp_path, files) == {"user": {("profile", "bio")}}


def test_include_without_context_reads_nothing_from_it(tmp_path: Path) -> None:
    files = {
        "page.html": "{{ user.name }}{% include 'x.html' without context %}",
        "x.html": "{{ user.profile.bio }}",
    }
    assert reads(tmp_path, files) == {"user": {("name",)}}


def test_extends_with_overridden_blocks(tmp_path: Path) -> None:
    files = {
        "base.html": (
            "{{ site.owner.name }}{% block content %}{{ post.editor.name }}{% endblock %}"
            "{% block sidebar %}{{ post.category.name }}{% endblock %}"
        ),
        "page.html": (
            "{% extends 'base.html' %}{% block content %}{{ post.author.name }}{% endblock %}"
        ),
    }
    # the base's own "content" block is replaced, so post.editor is not read
    assert reads(tmp_path, files) == {
        "site": {("owner", "name")},
        "post": {("author", "name"), ("category", "name")},
    }


def test_super_keeps_the_parent_block(tmp_path: Path) -> None:
    files = {
        "base.html": "{% block content %}{{ post.editor.name }}{% endblock %}",
        "mid.html": "{% extends 'base.html' %}{% block content %}{{ super() }}{% endblock %}",
        "page.html": "{% extends 'mid.html' %}{% block content %}{{ super() }}"
        "{{ post.author.name }}{% endblock %}",
    }
    assert reads(tmp_path, files)["post"] == {("editor", "name"), ("author", "name")}


def test_imported_macro_arguments_map_to_the_caller(tmp_path: Path) -> None:
    files = {
        "macros.html": (
            "{% macro card(item, show_owner=True) %}{{ item.title }}"
            "{% if show_owner %}{{ item.owner.name }}{% endif %}{% endmacro %}"
            "{% macro row(order) %}{{ order.customer.email }}{{ varargs }}{% endmacro %}"
        ),
        "page.html": (
            "{% import 'macros.html' as m %}{% from 'macros.html' import row as r %}"
            "{% for p in posts %}{{ m.card(p) }}{% endfor %}{{ r(order=latest) }}"
        ),
    }
    assert reads(tmp_path, files) == {
        "posts": {("title",), ("owner", "name")},
        "latest": {("customer", "email")},
    }


def test_local_macro_and_call_block(tmp_path: Path) -> None:
    page = (
        "{% macro listing(items) %}{% for i in items %}{{ caller(i) }}{% endfor %}{% endmacro %}"
        "{% call(post) listing(posts) %}{{ post.author.name }}{% endcall %}"
        "{{ early(user) }}{% macro early(u) %}{{ u.team.name }}{% endmacro %}"
    )
    assert reads(tmp_path, {"page.html": page}) == {
        "posts": {("author", "name")},
        "user": {("team", "name")},
    }


def test_namespace_attributes(tmp_path: Path) -> None:
    page = (
        "{% set ns = namespace(best=none) %}{% for p in posts %}{% set ns.best = p %}"
        "{% endfor %}{{ ns.best.author.name }}"
    )
    assert reads(tmp_path, {"page.html": page}) == {"posts": {("author", "name")}}


def test_extensions_and_other_statements(tmp_path: Path) -> None:
    files = {
        "forms.html": "{% macro field(f) %}{{ f.label }}{{ user.locale }}{% endmacro %}",
        "page.html": (
            "{% import 'forms.html' as forms with context %}{{ forms.field(form.name) }}"
            "{% trans n=post.comments|length %}{{ n }} comments{% endtrans %}"
            "{% filter upper %}{{ post.author.name }}{% endfilter %}"
            "{% set summary %}{{ post.editor.name }}{% endset %}"
            "{% for p in posts %}{% if p.hidden %}{% continue %}{% endif %}"
            "{% do seen.append(p.author) %}{% endfor %}"
            "{% autoescape false %}{{ post.body }}{% endautoescape %}"
        ),
    }
    assert reads(tmp_path, files) == {
        "form": {("name", "label")},
        "user": {("locale",)},
        "post": {("comments",), ("author", "name"), ("editor", "name"), ("body",)},
        "posts": {("hidden",), ("author",)},
        "seen": {("append",)},
        "gettext": frozenset(),  # what ``trans`` calls
    }


def test_macros_imported_without_context_do_not_read_it(tmp_path: Path) -> None:
    files = {
        "forms.html": "{% macro field(f) %}{{ f.label }}{{ user.locale }}{% endmacro %}",
        "page.html": "{% from 'forms.html' import field %}{{ field(form.name) }}",
    }
    assert reads(tmp_path, files) == {"form": {("name", "label")}}


def test_blueprint_template_folder(tmp_path: Path) -> None:
    roots = project(
        tmp_path,
        {
            "app/admin/__init__.py": "bp = Blueprint('admin', __name__, template_folder='tpl')\n",
            "app/admin/tpl/admin/users.html": "{% for u in users %}{{ u.roles }}{% endfor %}",
        },
    )
    assert template_context_reads("admin/users.html", roots) == {"users": {("roles",)}}


def test_unknown_template_gives_none(tmp_path: Path) -> None:
    assert reads(tmp_path, {"page.html": "{{ a.b }}"}, name="other.html") is None
    assert reads(tmp_path, {"page.html": "{% include 'missing.html' %}"}) is None
    assert reads(tmp_path, {"page.html": "{% extends layout %}"}) is None
    assert reads(tmp_path, {"page.html": "{% include '../secret.html' %}"}) is None


def test_syntax_error_gives_none(tmp_path: Path) -> None:
    assert reads(tmp_path, {"page.html": "{% for p in posts %}{{ p.author }}"}) is None
    files = {"page.html": "{% include 'bad.html' %}", "bad.html": "{{ x. }}"}
    assert reads(tmp_path, files) is None


def test_recursion_over_the_data_gives_none(tmp_path: Path) -> None:
    loop = "{% for c in comments recursive %}{{ c.body }}{{ loop(c.replies) }}{% endfor %}"
    assert reads(tmp_path, {"page.html": loop}) is None
    files = {
        "page.html": "{% for c in comments %}{% include '_c.html' %}{% endfor %}",
        "_c.html": "{{ c.body }}{% for c in c.replies %}{% include '_c.html' %}{% endfor %}",
    }
    assert reads(tmp_path, files) is None


def test_parsed_templates_are_cached_until_the_file_changes(tmp_path: Path) -> None:
    roots = project(tmp_path, {"app/templates/page.html": "{{ a.b }}"})
    assert template_context_reads("page.html", roots) == {"a": {("b",)}}
    before = templates._parse_cached.cache_info().hits
    assert template_context_reads("page.html", roots) == {"a": {("b",)}}
    assert templates._parse_cached.cache_info().hits == before + 1
    (tmp_path / "app/templates/page.html").write_text("{{ a.longer_name }}", encoding="utf-8")
    assert template_context_reads("page.html", roots) == {"a": {("longer_name",)}}


def test_attribute_reads_across_the_project(tmp_path: Path) -> None:
    roots = project(
        tmp_path,
        {
            "app/templates/a.html": "{{ url_for('main.post') }}{{ post.author.name }}",
            "app/templates/b.html": "{{ c['body'] }}{{ tags|map(attribute='label')|list }}",
            "app/templates/broken.html": "{{ x.y }}{% endfor %}",
        },
    )
    # the broken template is scanned: "y" only
    assert template_attribute_reads(roots) == {"author", "name", "body", "label", "y"}


def test_method_calls_across_the_project(tmp_path: Path) -> None:
    """Calls of a method on a value, with the templates making them; Jinja's own
    (``self.block()``, ``loop.cycle()``) are left out, and str/list/dict/set methods'
    names but where called on a variable (``d.items()``: the async plan counts it for
    models' methods only); ``request.args.get(...)`` is no project method."""
    roots = project(
        tmp_path,
        {
            "app/templates/a.html": (
                "{% if me.is_following(u) %}{{ u.report_count() }}{% endif %}"
                "{% block t %}{% endblock %}{{ self.t() }}{{ request.args.get('page') }}"
            ),
            "app/templates/b.html": (
                "{% for k, v in d.items() %}{{ loop.cycle('x') }}{{ v.report_count() }}{% endfor %}"
                "{{ 'u.fake()' }}{{ url_for('main.index') }}"
            ),
            "app/templates/broken.html": "{{ x.scanned() }}{% endfor %}",
        },
    )
    assert template_method_calls(roots) == {
        "is_following": {"app/templates/a.html"},
        "report_count": {"app/templates/a.html", "app/templates/b.html"},
        "items": {"app/templates/b.html"},
        "scanned": {"app/templates/broken.html"},
    }


def test_method_calls_of_a_template_source() -> None:
    assert source_method_calls("{{ user.report_count() }}{{ name.upper() }}") == {
        "report_count",
        "upper",
    }
    assert source_method_calls("{{ 'a'.upper() }}{{ (x|list).count(1) }}{{ g.get('y') }}") == set()
    assert source_method_calls("{{ user.report_count() }}{% endfor %}") == {"report_count"}


@pytest.fixture
def without_jinja(monkeypatch: pytest.MonkeyPatch) -> None:
    real_import = builtins.__import__

    def no_jinja(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "jinja2" or name.startswith("jinja2."):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_jinja)
    templates.clear_cache()


def test_without_jinja_the_scan_is_used(tmp_path: Path, without_jinja: None) -> None:
    roots = project(
        tmp_path, {"app/templates/a.html": "{{ url_for('main.post') }}{{ post.author.name }}"}
    )
    assert template_attribute_reads(roots) == {"post", "author", "name"}
    assert template_method_calls(roots) == {}
    assert template_context_reads("a.html", roots) is None
    assert source_method_calls("{{ user.report_count() }}{{ s.strip() }}") == {"report_count"}
    assert jinja_missing_notice(roots) == JINJA_MISSING


def test_notice_only_when_jinja_is_missing_and_templates_exist(tmp_path: Path) -> None:
    roots = project(tmp_path, {"app/templates/a.html": "{{ a.b }}"})
    assert jinja_missing_notice(roots) is None


def test_no_templates_no_notice(tmp_path: Path, without_jinja: None) -> None:
    roots = project(tmp_path, {"app/models.py": "x = 1\n"})
    assert jinja_missing_notice(roots) is None


def test_the_run_says_once_that_jinja_is_missing(tmp_path: Path, without_jinja: None) -> None:
    from tests.test_ci_output import validate

    project(
        tmp_path,
        {
            "app/models.py": "from sqlalchemy.orm import relationship\n",
            "app/templates/a.html": "{{ a.b }}",
            "app/templates/b.html": "{{ c.d }}",
        },
    )
    runner = CliRunner()
    text = runner.invoke(app, ["diff", "--jobs", "1", str(tmp_path)])
    assert text.exit_code == 0, text.output
    assert text.output.count(JINJA_MISSING) == 1
    document = runner.invoke(app, ["diff", "--jobs", "1", "--format", "json", str(tmp_path)])
    report = json.loads(document.stdout)
    assert report["notices"] == [JINJA_MISSING]
    validate(report, "run-report.schema.json")
    two_point_o = runner.invoke(app, ["diff", "--target", "2.0", "--jobs", "1", str(tmp_path)])
    assert JINJA_MISSING not in two_point_o.output  # templates are not read for 2.0


def test_no_notice_with_jinja(tmp_path: Path) -> None:
    project(tmp_path, {"app/templates/a.html": "{{ a.b }}"})
    document = CliRunner().invoke(app, ["diff", "--jobs", "1", "--format", "json", str(tmp_path)])
    assert "notices" not in json.loads(document.stdout)


def test_objects_handed_back_by_unknown_code_have_unknown_paths(tmp_path: Path) -> None:
    # printing what a custom filter, a global or a method returns reads nothing more
    printed = (
        "{{ post.created|datefmt }} {{ moment(post.created) }}"
        "{{ user.posts.count() }} {{ post.title|truncate(10)|upper }}"
    )
    assert reads(tmp_path, {"page.html": printed}) == {
        "post": {("created",), ("title",)},
        "user": {("posts", "count")},
        "moment": frozenset(),
    }
    # attributes of what such code returns: which objects, at which path, is unknown
    for page in (
        "{{ (post|approved_comments)[0].author.name }}",
        "{% for c in post.visible_comments() %}{{ c.author.name }}{% endfor %}",
        "{% set first = helper(posts)|first %}{{ first.author }}",
    ):
        assert reads(tmp_path, {"page.html": page}) is None, page


def test_variables_narrow_the_answer(tmp_path: Path) -> None:
    roots = project(
        tmp_path,
        {
            "app/templates/page.html": (
                "{{ post.author.name }}{{ moment(post.created).fromNow() }}"
                "{{ current_user.avatar(32).url }}"
            )
        },
    )
    # ``moment(post.created)`` was handed ``post``: its result's attributes are unknown
    assert template_context_reads("page.html", roots) is None
    assert template_context_reads("page.html", roots, ["post"]) is None
    plain = project(
        tmp_path / "other",
        {"app/templates/page.html": "{{ post.author.name }}{{ current_user.avatar(32).url }}"},
    )
    assert template_context_reads("page.html", plain) is None
    assert template_context_reads("page.html", plain, ["post", "posts"]) == {
        "post": {("author", "name")}
    }
