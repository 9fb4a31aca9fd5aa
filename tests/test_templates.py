"""Template analysis: what each context variable of a Jinja template has read from it."""

from __future__ import annotations

import builtins
from pathlib import Path
from typing import Any

import pytest

from sqla_upgrade.codemods import templates
from sqla_upgrade.codemods.templates import (
    JINJA_MISSING,
    jinja_missing_notice,
    template_attribute_reads,
    template_context_reads,
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
    assert template_context_reads("a.html", roots) is None
    assert jinja_missing_notice(roots) == JINJA_MISSING


def test_notice_only_when_jinja_is_missing_and_templates_exist(tmp_path: Path) -> None:
    roots = project(tmp_path, {"app/templates/a.html": "{{ a.b }}"})
    assert jinja_missing_notice(roots) is None


def test_no_templates_no_notice(tmp_path: Path, without_jinja: None) -> None:
    roots = project(tmp_path, {"app/models.py": "x = 1\n"})
    assert jinja_missing_notice(roots) is None
