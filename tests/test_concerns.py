"""Passes decline the files the plans computed between the stages leave alone."""

from __future__ import annotations

from typing import Any

import libcst as cst

from sqla_upgrade.codemods import transform
from sqla_upgrade.codemods.analysis.async_plan import AsyncPlan
from sqla_upgrade.codemods.analysis.eager_loads import EagerPlan, Producer
from sqla_upgrade.codemods.base import Pass
from sqla_upgrade.codemods.index.model import (
    ModelFacts,
    ModuleFacts,
    ProjectIndex,
    RelationshipFacts,
)
from sqla_upgrade.codemods.options import Options
from sqla_upgrade.codemods.passes.eager_options import EagerOptionsPass
from sqla_upgrade.codemods.passes.init_collections import InitCollectionsPass
from sqla_upgrade.codemods.transform import transform_source, triggered


class _Declines(Pass):
    name = "declines"

    @classmethod
    def concerns(cls, code: bytes, path: str, index: Any) -> bool:
        return path != "skip.py"


def test_a_declined_file_is_not_triggered() -> None:
    index = ProjectIndex()
    assert not triggered(_Declines, b"x = 1\n", index, "skip.py")
    assert triggered(_Declines, b"x = 1\n", index, "keep.py")
    assert triggered(_Declines, b"x = 1\n", index)  # no path: no plan to ask


def _index_with_model() -> ProjectIndex:
    index = ProjectIndex()
    orders = RelationshipFacts(name="orders", target="app.models.Order", uselist=True)
    index.models["app.models.User"] = ModelFacts(
        qualname="app.models.User", bases=[], relationships={"orders": orders}
    )
    index.modules["app"] = ModuleFacts(
        name="app", path="app/__init__.py", imports={"Member": "app.models.User"}
    )
    return index


def test_init_collections_wants_a_named_model_and_an_async_plan() -> None:
    index = _index_with_model()
    index.async_plan = AsyncPlan()
    assert not InitCollectionsPass.concerns(b"User(name='x')", "a.py", index)  # nothing async
    index.async_plan.functions["app.views.show"] = "does I/O"
    assert not InitCollectionsPass.concerns(b"User(name='x')", "a.py", index)  # none read
    index.async_plan = AsyncPlan(functions={"app.views.show": "does I/O"})
    index.async_plan.read_attributes.add("orders")
    assert InitCollectionsPass.concerns(b"User(name='x')", "a.py", index)
    assert InitCollectionsPass.concerns(b"from app import Member\nMember()", "b.py", index)
    assert not InitCollectionsPass.concerns(b"print('hello')", "c.py", index)
    index.models["app.models.User"].has_init = True  # its own constructor: left alone
    index.async_plan = AsyncPlan(functions={"app.views.show": "does I/O"})
    index.async_plan.read_attributes.add("orders")
    assert not InitCollectionsPass.concerns(b"User(name='x')", "a.py", index)


def test_eager_options_wants_the_files_its_plan_changes() -> None:
    index = ProjectIndex()
    plan = EagerPlan()
    span = (1, 0, 1, 9)
    plan.producers[("with.py", span)] = Producer("statement", "with.py", span, "m.User")
    plan.producers[("with.py", span)].chains.append(())
    plan.producers[("without.py", span)] = Producer("statement", "without.py", span, "m.User")
    plan.async_attrs_bases.add("app.models.Base")
    index.eager_plan = plan
    assert EagerOptionsPass.concerns(b"", "with.py", index)
    assert not EagerOptionsPass.concerns(b"", "without.py", index)
    assert EagerOptionsPass.concerns(b"class Base(DeclarativeBase):", "models.py", index)
    assert not EagerOptionsPass.concerns(b"x = 1", "other.py", index)


class _Renames(Pass):
    """Renames the names ``old`` to ``new``."""

    old, new = "x", "y"

    def leave_Name(self, original_node: cst.Name, updated_node: cst.Name) -> cst.Name:
        if updated_node.value != self.old:
            return updated_node
        self.count_rewrite()
        return updated_node.with_changes(value=self.new)


class _DeclinesButRenames(_Declines, _Renames):
    name = "declines-but-renames"


def test_the_prefilter_check_catches_a_declined_file_the_pass_changes(monkeypatch) -> None:
    monkeypatch.setattr(transform, "CHECK_PREFILTERS", True)
    index, options = ProjectIndex(), Options(target="2.0")
    kept = transform_source(b"x = 1\n", "keep.py", "keep", index, options, [_DeclinesButRenames])
    assert kept.new == b"y = 1\n"
    declined = transform_source(
        b"x = 1\n", "skip.py", "skip", index, options, [_DeclinesButRenames]
    )
    assert declined.new is None
    assert declined.error is not None and "prefilter of declines-but-renames" in declined.error
    monkeypatch.setattr(transform, "CHECK_PREFILTERS", False)
    quiet = transform_source(b"x = 1\n", "skip.py", "skip", index, options, [_DeclinesButRenames])
    assert quiet.error is None and quiet.new is None


class _WritesExecute(_Renames):
    """Writes ``session.execute(...)``, as query-to-select does."""

    name = "writes-execute"
    old, new = "query", "execute"


class _ReadsExecute(Pass):
    name = "reads-execute"
    triggers = (b".execute(",)
    triggers_in_stage_input = True
    ran: list[str] = []

    def visit_Module(self, node: cst.Module) -> None:
        self.ran.append(self.state.path)


def test_triggers_in_stage_input_ignore_what_earlier_passes_wrote(monkeypatch) -> None:
    monkeypatch.setattr(transform, "CHECK_PREFILTERS", False)  # it runs declined passes
    index, options = ProjectIndex(), Options(target="2.0")
    passes: list[type[Pass]] = [_WritesExecute, _ReadsExecute]
    _ReadsExecute.ran.clear()
    written = transform_source(b"session.query(X)\n", "a.py", "a", index, options, passes)
    assert written.new == b"session.execute(X)\n"
    assert _ReadsExecute.ran == []
    transform_source(b"engine.execute(q)\nsession.query(X)\n", "b.py", "b", index, options, passes)
    assert _ReadsExecute.ran == ["b.py"]
    assert (
        triggered(_ReadsExecute, b"s.execute(x)", index, "c.py", stage_input=b"s.query(x)") is False
    )
    assert triggered(_ReadsExecute, b"s.execute(x)", index, "c.py") is True


def test_flask_async_session_wants_a_flask_sqlalchemy_project() -> None:
    from sqla_upgrade.codemods.index.model import ObjectKind
    from sqla_upgrade.codemods.passes.flask_async_session import FlaskAsyncSessionPass

    plain = ProjectIndex()
    assert not FlaskAsyncSessionPass.concerns(b"session.commit()", "a.py", plain)
    assert FlaskAsyncSessionPass.concerns(b"from flask_sqlalchemy import SQLAlchemy", "a.py", plain)
    assert FlaskAsyncSessionPass.concerns(b"return render_template('a.html')", "a.py", plain)
    flask = ProjectIndex()
    flask.objects["app.ext.db"] = ObjectKind.FLASK_SQLALCHEMY
    assert FlaskAsyncSessionPass.concerns(b"session.commit()", "a.py", flask)
    assert flask.flask_sqlalchemy_modules() == {"app.ext"}
