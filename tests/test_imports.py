"""The quick import remover removes exactly what libcst's ``RemoveImportsVisitor`` does (and
the blank lines a removed first import leaves at the top of the module)."""

from __future__ import annotations

import inspect
import textwrap

import libcst as cst
import pytest
from libcst.codemod import CodemodContext
from libcst.codemod.visitors import AddImportsVisitor, RemoveImportsVisitor, _add_imports
from libcst.matchers._visitors import (
    _gather_constructed_leave_funcs,
    _gather_constructed_visit_funcs,
    _gather_matchers,
)

from sqla_upgrade.codemods.base import _run_import_visitor
from sqla_upgrade.codemods.imports import (
    QuickImportsRemover,
    TopImportsAdder,
    _QuickTopImportsGatherer,
    without_blank_first_line,
)
from sqla_upgrade.codemods.metadata import new_wrapper

Removal = tuple[str, str | None, str | None]

CASES: list[tuple[str, list[Removal]]] = [
    (
        "from sqlalchemy import create_engine, text\n\nq = text('select 1')\n",
        [("sqlalchemy", "create_engine", None)],
    ),
    (
        "from sqlalchemy import create_engine\n\nengine = create_engine('sqlite://')\n",
        [("sqlalchemy", "create_engine", None)],
    ),
    (
        "from sqlalchemy import Engine\n\n\ndef f(e: 'Engine') -> None:\n    pass\n",
        [("sqlalchemy", "Engine", None)],
    ),
    (
        "from sqlalchemy import Engine\n\nx: 'list[Engine]' = []\n",
        [("sqlalchemy", "Engine", None)],
    ),
    ("from m import a, b\n\n__all__ = ['a']\n", [("m", "a", None), ("m", "b", None)]),
    ("from m import a  # a is gone\n# a is mentioned\n", [("m", "a", None)]),
    ("import sqlalchemy.orm\n\nS = sqlalchemy.orm.Session\n", [("sqlalchemy.orm", None, None)]),
    ("import sqlalchemy.orm\n\nS = 1\n", [("sqlalchemy.orm", None, None)]),
    ("import sqlalchemy.orm as orm\n\nS = orm.Session\n", [("sqlalchemy.orm", None, "orm")]),
    ("import sqlalchemy.orm as orm\n", [("sqlalchemy.orm", None, "orm")]),
    ("from m import a as b\n\nprint(b)\n", [("m", "a", "b")]),
    ("from m import a as b\n\nprint(a)\n", [("m", "a", "b")]),
    (
        "from sqlalchemy import create_engine\n\n\ndef f(create_engine):\n"
        "    return create_engine\n",
        [("sqlalchemy", "create_engine", None)],
    ),
    (
        "def f():\n    from m import a, b\n    return b\n",
        [("m", "a", None), ("m", "b", None)],
    ),
    ("from __future__ import annotations\n", [("__future__", "annotations", None)]),
    ("from . import x\n", [("", "x", None)]),
    ("from m import *\n", [("m", "a", None)]),
    (
        "from m import (\n    a,  # first\n    b,\n    c,\n)\n\nprint(b)\n",
        [("m", "a", None), ("m", "c", None)],
    ),
    (
        "import os, sys\nimport m.n.o\n\nprint(m.n)\n",
        [("os", None, None), ("m.n.o", None, None)],
    ),
    (
        "from m import match\n\nmatch x:\n    case 1:\n        pass\n",
        [("m", "match", None)],
    ),
    (
        "from m import a\n\nprint(f'{a!r} and a')\n",
        [("m", "a", None)],
    ),
    (
        "from typing import cast\nfrom m import Model\n\ny = cast('Model', None)\n",
        [("m", "Model", None)],
    ),
    ("from m import a, b\n", [("m", "a", None)]),  # b is unused too, but not asked for
    ("from m import a\n\nx.a = f(a=1)\n", [("m", "a", None)]),  # spelled, never used
    ("from m import a\n\n\ndef f(a):\n    return a\n", [("m", "a", None)]),
    ("import m\nfrom m import a\n\nm.a()\n", [("m", "a", None), ("m", None, None)]),
]


def _removed(remover: type[RemoveImportsVisitor], source: str, removals: list[Removal]) -> str:
    context = CodemodContext(full_module_name="pkg.mod")
    for module, obj, alias in removals:
        RemoveImportsVisitor.remove_unused_import(context, module, obj, alias)
    tree = cst.parse_module(textwrap.dedent(source))
    if remover is RemoveImportsVisitor:
        # as libcst's, but for the blank lines a removed first import leaves at the top,
        # which QuickImportsRemover drops (imports.without_blank_first_line)
        removed = RemoveImportsVisitor(context).transform_module(tree)
        return without_blank_first_line(tree, removed).code
    return _run_import_visitor(remover(context), new_wrapper(tree)).code


@pytest.mark.parametrize(("source", "removals"), CASES)
def test_quick_remover_removes_what_libcst_removes(source: str, removals: list[Removal]) -> None:
    """The same imports removed; only the blank lines libcst leaves at the top of the
    module, where a first import was removed, are not kept."""
    expected = _removed(RemoveImportsVisitor, source, removals)
    if not source.startswith("\n"):
        expected = expected.lstrip("\n") or expected
    assert _removed(QuickImportsRemover, source, removals) == expected


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("from m import a\n\nfrom app import b\n\nb()\n", "from app import b\n\nb()\n"),
        (
            "# header\n\nfrom m import a\n\nfrom app import b\n\nb()\n",
            "# header\n\nfrom app import b\n\nb()\n",
        ),
        (
            '"""Doc."""\nfrom m import a\n\nfrom app import b\n\nb()\n',
            '"""Doc."""\n\nfrom app import b\n\nb()\n',
        ),
        # blank lines the module began with, and those after a first import kept, stay
        ("\n\nfrom m import a\n\nb()\n", "\n\nb()\n"),
        ("import os\nfrom m import a\n\nos.b()\n", "import os\n\nos.b()\n"),
    ],
)
def test_a_removed_first_import_leaves_no_blank_lines_on_top(source: str, expected: str) -> None:
    assert _removed(QuickImportsRemover, source, [("m", "a", None)]) == expected


def test_the_cases_cover_removal_and_keeping() -> None:
    outcomes = [_removed(RemoveImportsVisitor, s, r) == s for s, r in CASES]
    assert any(outcomes) and not all(outcomes)


@pytest.mark.parametrize(
    ("ours", "libcsts"),
    [
        (TopImportsAdder, AddImportsVisitor),
        (QuickImportsRemover, RemoveImportsVisitor),
        (_QuickTopImportsGatherer, _add_imports._GatherTopImportsBeforeStatements),
    ],
)
def test_listing_no_stubs_finds_the_same_matcher_decorators(ours: type, libcsts: type) -> None:
    context = CodemodContext()
    quick, full = ours(context), libcsts(context)
    assert len(dir(quick)) < len(dir(full)) / 5
    assert set(dir(full)) - set(dir(quick)) <= {
        name
        for name in dir(full)
        if getattr(inspect.getattr_static(full, name, None), "_is_no_op", False)
    } | set(dir(object)) | set(dir(cst.MetadataDependent)) | set(vars(cst.CSTTransformer))
    for gather in (
        _gather_matchers,
        _gather_constructed_visit_funcs,
        _gather_constructed_leave_funcs,
    ):
        assert gather(quick) == gather(full) == {}


def test_an_import_named_nowhere_else_is_removed_without_scopes() -> None:
    from libcst.metadata import ScopeProvider

    context = CodemodContext(full_module_name="pkg.mod")
    RemoveImportsVisitor.remove_unused_import(context, "m", "a", None)
    wrapper = new_wrapper(cst.parse_module("from m import a, b\n\nprint(b)\n"))
    assert _run_import_visitor(QuickImportsRemover(context), wrapper).code == (
        "from m import b\n\nprint(b)\n"
    )
    assert not wrapper._metadata[ScopeProvider].computed  # type: ignore[attr-defined]


LEADING_MODELS = """\
from sqlalchemy import Column, Integer
from sqlalchemy.orm import declarative_base

Base = declarative_base()


class User(Base):
    __tablename__ = "users"
    id = Column(Integer, primary_key=True)
"""
LEADING_VIEWS = """\
from sqlalchemy.orm import Session

from app.models import User


def show(session: Session):
    return session.query(User).get(1)
"""


@pytest.mark.parametrize(
    ("header", "expected_start"),
    [
        ("", "from app.models import User\n"),
        ("# views\n", "# views\n\nfrom app.models import User\n"),
        ("\n", "\nfrom app.models import User\n"),
    ],
)
def test_a_removed_first_import_leaves_no_blank_line_at_the_top(
    header: str, expected_start: str
) -> None:
    """``from sqlalchemy.orm import Session`` opened the file and is gone (the session is
    an ``AsyncSession`` now): the file opens with what followed it, not with the blank
    line between them; a comment or blank line the file began with stays."""
    from sqla_upgrade.api import migrate_project

    result = migrate_project({"app.models": LEADING_MODELS, "app.views": header + LEADING_VIEWS})
    code = result["app.views"].code
    assert code.startswith(expected_start), code
    assert "async def show(session: AsyncSession):\n" in code
    again = migrate_project({"app.models": result["app.models"].code, "app.views": code})
    assert again["app.views"].code == code
