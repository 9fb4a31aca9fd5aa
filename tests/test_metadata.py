"""The cheap metadata of ``codemods.metadata`` answers exactly what libcst's providers do."""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from pathlib import Path

import libcst as cst
import pytest
from libcst.codemod import CodemodContext
from libcst.metadata import (
    ExpressionContextProvider,
    MetadataWrapper,
    ParentNodeProvider,
    PositionProvider,
    QualifiedNameProvider,
    ScopeProvider,
)

from sqla_upgrade.codemods.base import FileState, Pass
from sqla_upgrade.codemods.codegen import bytes_of, code_of, remembered_statements
from sqla_upgrade.codemods.index.model import ProjectIndex
from sqla_upgrade.codemods.metadata import expression_contexts, new_wrapper, parents_of
from sqla_upgrade.codemods.names import _resolved_names, last_parts, qualified_names
from sqla_upgrade.codemods.options import Options
from sqla_upgrade.codemods.traversal import fast_visits

CONSTRUCTS = textwrap.dedent(
    '''
    """Docstring."""
    from __future__ import annotations
    import os.path as osp, sys
    from .sibling import thing as other, more
    from sqlalchemy import *

    a = b = c.d[e] = f
    g: int = h
    i += j
    (k := l)
    m, *n = o
    [p, (q, r)] = s
    del t, u.v, w[x]
    for y, z in zip(aa, bb):
        pass
    else:
        cc = 1
    dd = [ee for ff in gg if hh for ii in jj]
    kk = {ll: mm for nn, oo in pp.items()}
    qq = lambda rr, *ss, tt=uu, **vv: rr + ww
    with xx as (yy, zz), aaa as bbb:
        pass
    try:
        pass
    except ValueError as ccc:
        pass

    @decorator(ddd)
    class Eee(Base, metaclass=Meta):
        fff: str
        ggg = hhh

        def method(self, iii: int = jjj, *, kkk) -> lll:
            global mmm
            nonlocal_ = mmm
            return self.nnn[ooo:ppp, qqq]

    async def coroutine(rrr):
        async for sss in rrr:
            await sss
        async with ttt as uuu:
            yield uuu

    match vvv:
        case [www, *xxx]:
            pass
        case {"k": yyy, **zzz}:
            pass
        case Point(x=0, y=aaaa) as bbbb:
            pass

    def generic[T](cccc: T) -> T:
        return cccc

    class Box[U]:
        pass

    print(f"{dddd!r:>{eeee}}", *ffff, **gggg)
    '''
)


def _sources() -> list[str]:
    package = Path(__file__).resolve().parent.parent / "sqla_upgrade"
    own = [path.read_text() for path in sorted(package.rglob("*.py"))]
    return [CONSTRUCTS, *own[::3]]


@pytest.fixture(scope="module")
def trees() -> list[cst.Module]:
    return [cst.parse_module(source) for source in _sources()]


def _libcst(tree: cst.Module, provider: type) -> dict[cst.CSTNode, object]:
    return dict(MetadataWrapper(tree, unsafe_skip_copy=True).resolve(provider))


def test_parents_are_libcsts(trees: list[cst.Module]) -> None:
    for tree in trees:
        ours = parents_of(tree)
        theirs = _libcst(tree, ParentNodeProvider)
        assert ours.keys() == theirs.keys()
        assert all(ours[node] is theirs[node] for node in theirs)


def test_positions_are_libcsts(trees: list[cst.Module]) -> None:
    for tree in trees:
        assert new_wrapper(tree).resolve(PositionProvider) == _libcst(tree, PositionProvider)


def test_generated_code_is_libcsts(trees: list[cst.Module]) -> None:
    for tree in trees:
        assert code_of(tree) == tree.code
        assert bytes_of(tree) == tree.bytes
        for statement in tree.body[:5]:
            assert code_of(tree, statement) == tree.code_for_node(statement)
    latin = cst.parse_module("# -*- coding: latin-1 -*-\nname = 'caf\u00e9'\n")
    assert bytes_of(latin) == latin.bytes


class _RenamesX(cst.CSTTransformer):
    def leave_Name(self, original_node: cst.Name, updated_node: cst.Name) -> cst.Name:
        return updated_node.with_changes(value="y") if updated_node.value == "x" else updated_node


SHARED = "if a:\n    x = 1\nelif b:\n    pass\nelse:\n    def f():\n        return x\nz = 2"


def test_code_remembered_per_statement_is_libcsts(trees: list[cst.Module]) -> None:
    """Statements shared by successive trees, at other indentations, newlines or
    indents, after an ``elif``, at the end of a file without a final newline."""
    shared = cst.parse_module(SHARED)
    block = cst.IndentedBlock(body=[shared.body[0]])  # the if statement, indented once more
    nested = cst.Module(body=[cst.ClassDef(name=cst.Name("C"), body=block)])
    variants = [
        shared,
        shared.with_changes(default_newline="\r\n"),
        shared.with_changes(default_indent="\t"),
        cst.Module(body=[*shared.body[1:], *shared.body[:1]]),
        nested,
        shared.visit(_RenamesX()),
    ]
    with fast_visits(), remembered_statements():
        for tree in [*variants, *variants, *trees, *trees]:
            assert code_of(tree) == tree.code
            assert bytes_of(tree) == tree.bytes
            for statement in tree.body[:3]:
                assert code_of(tree, statement) == tree.code_for_node(statement)


def test_expression_contexts_are_libcsts(trees: list[cst.Module]) -> None:
    for tree in trees:
        assert expression_contexts(tree) == _libcst(tree, ExpressionContextProvider)


def test_qualified_names_are_libcsts(trees: list[cst.Module]) -> None:
    for tree in trees[:12]:
        theirs = MetadataWrapper(tree, unsafe_skip_copy=True).resolve(QualifiedNameProvider)
        ours = new_wrapper(tree).resolve(QualifiedNameProvider)
        assert len(ours) == len(theirs)
        for node, names in theirs.items():
            expected = names() if callable(names) else names
            assert set(ours[node]) == set(expected)
            assert ours.get(node) is ours[node]
        stranger = cst.Name("stranger")
        assert stranger not in ours and ours.get(stranger, "none") == "none"
        with pytest.raises(KeyError):
            ours[stranger]


def test_scopes_come_from_libcst_over_the_cheap_contexts(trees: list[cst.Module]) -> None:
    tree = trees[0]
    theirs = _libcst(tree, ScopeProvider)
    ours = new_wrapper(tree).resolve(ScopeProvider)
    for node, scope in theirs.items():
        if scope is None:
            assert ours[node] is None
            continue
        assert type(ours[node]) is type(scope)
        assert sorted(a.name for a in ours[node].assignments) == sorted(
            a.name for a in scope.assignments
        )


class _LooksAtNothing(Pass):
    name = "looks-at-nothing"
    METADATA_DEPENDENCIES = (ScopeProvider, QualifiedNameProvider, ParentNodeProvider)


class _LooksAtCalls(_LooksAtNothing):
    name = "looks-at-calls"

    def visit_Call(self, node: cst.Call) -> None:
        self.get_metadata(QualifiedNameProvider, node.func, set())


def _run(pass_cls: type[Pass], source: str) -> MetadataWrapper:
    state = FileState(path="m.py", module_name="m", index=ProjectIndex(), options=Options())
    wrapper = new_wrapper(cst.parse_module(source))
    pass_cls(CodemodContext(filename="m.py", full_module_name="m"), state).run_with(wrapper)
    return wrapper


def test_a_pass_resolves_only_what_it_asks_for() -> None:
    idle = _run(_LooksAtNothing, "x = f(1)\n")
    assert not idle._metadata[ScopeProvider].computed  # type: ignore[attr-defined]
    busy = _run(_LooksAtCalls, "x = f(1)\n")
    assert busy._metadata[ScopeProvider].computed  # type: ignore[attr-defined]


class _Reshapes(cst.CSTTransformer):
    """Changes a tree the ways passes do: calls wrapped (``await f()``), names renamed,
    statements dropped, an expression read before moved to a target (load → store)."""

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def leave_Call(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        self.calls += 1
        return cst.Await(updated) if self.calls % 3 == 0 else updated

    def leave_Name(self, original: cst.Name, updated: cst.Name) -> cst.Name:
        return updated.with_changes(value="renamed") if len(updated.value) == 3 else updated

    def leave_Pass(self, original: cst.Pass, updated: cst.Pass) -> cst.RemovalSentinel:
        return cst.RemovalSentinel.REMOVE

    def leave_Expr(self, original: cst.Expr, updated: cst.Expr) -> cst.BaseSmallStatement:
        if isinstance(updated.value, cst.Name | cst.Attribute):
            return cst.Assign([cst.AssignTarget(updated.value)], cst.Integer("0"))
        return updated


def _changed(tree: cst.Module) -> cst.Module:
    with fast_visits():  # unchanged nodes are kept, as in a run
        return tree.visit(_Reshapes())


def _answers(mapping: object) -> dict[cst.CSTNode, object]:
    assert isinstance(mapping, Mapping)
    return {node: mapping[node] for node in mapping}


@pytest.mark.parametrize("computed_before", [True, False])
def test_mappings_updated_after_a_change_are_a_fresh_walks(
    trees: list[cst.Module], computed_before: bool
) -> None:
    """Parents and expression contexts updated from the tree a pass changed (computed
    there, or only inherited by it) answer as a walk of the new tree: the same nodes, the
    same values; the nodes the pass dropped are not listed."""
    for tree in trees:
        before = new_wrapper(tree)
        if computed_before:
            before.resolve(ParentNodeProvider).get(tree)
            before.resolve(ExpressionContextProvider).get(tree)
        middle = new_wrapper(_changed(tree), previous=before)  # nothing resolved on it
        after = new_wrapper(_changed(middle.module), previous=middle)
        parents = after.resolve(ParentNodeProvider)
        walked = parents_of(after.module)
        assert _answers(parents) == walked
        assert len(parents) == len(walked)
        contexts = after.resolve(ExpressionContextProvider)
        fresh = expression_contexts(after.module)
        assert {node: contexts[node] for node in fresh} == fresh
        dropped = {node for node in parents_of(tree) if node not in walked}
        names = after.resolve(QualifiedNameProvider)
        assert not dropped & {*parents} and not dropped & {*names}
        assert len(names) == len(walked) + 1
    assert sum(_changed(tree) is not tree for tree in trees) > len(trees) // 2


class _AsksForNames(_LooksAtNothing):
    """Asks for every node's qualified names, with and without ``ending``."""

    name = "asks-for-names"

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.answers: list[tuple[frozenset[str], frozenset[str], frozenset[str]]] = []

    def on_visit(self, node: cst.CSTNode) -> bool:
        if isinstance(node, cst.Name | cst.Attribute | cst.Call | cst.Subscript | cst.Decorator):
            full = _resolved_names(self, node)
            assert qualified_names(self, node) == full  # cached, the same
            for name in full:
                assert name in qualified_names(self, node, ending=last_parts({name}))
            elsewhere = qualified_names(self, node, ending=frozenset({"no_such_name"}))
            self.answers.append((full, elsewhere, self.import_renames()))
        return super().on_visit(node)


RENAMING = textwrap.dedent(
    """
    import flask.templating as tpl, os
    from sqlalchemy import select as sel, orm
    from .models import User as U

    def f():
        from flask import render_template as rt
        if True:
            import json as j
        return rt(tpl.render_template(sel(U), j.dumps(os.sep)), orm.Session()[0])
    """
)


@pytest.mark.parametrize("index", range(4))
def test_qualified_names_skipped_for_an_ending_are_none_it_has(
    trees: list[cst.Module], index: int
) -> None:
    """``qualified_names(..., ending=)`` loses no name that ends so: a name ends as it is
    spelled unless an import renames it, and every renaming import is known."""
    source = RENAMING if index == 0 else code_of(trees[index * 7])
    state = FileState(path="p/m.py", module_name="p.m", index=ProjectIndex(), options=Options())
    wrapper = new_wrapper(cst.parse_module(source))
    visitor = _AsksForNames(CodemodContext(filename="p/m.py", full_module_name="p.m"), state)
    visitor.run_with(wrapper)
    assert visitor.answers
    for full, elsewhere, _ in visitor.answers:
        assert elsewhere <= full
    if index == 0:
        assert visitor.answers[0][2] == {"tpl", "sel", "U", "rt", "j"}
        assert any("flask.render_template" in full for full, _, _ in visitor.answers)
        assert any("p.models.User" in full for full, _, _ in visitor.answers)


def test_a_pass_gets_metadata_as_libcst_gives_it() -> None:
    source = "import os\nx = os.path.join(y)\n"
    state = FileState(path="m.py", module_name="m", index=ProjectIndex(), options=Options())
    wrapper = new_wrapper(cst.parse_module(source))
    visitor = _LooksAtNothing(CodemodContext(filename="m.py", full_module_name="m"), state)
    call = wrapper.module.body[1].body[0].value  # type: ignore[attr-defined]
    with visitor.resolve(wrapper):
        assert visitor.get_metadata(ParentNodeProvider, call) is wrapper.module.body[1].body[0]  # type: ignore[attr-defined]
        assert visitor.get_metadata(ParentNodeProvider, cst.Name("z"), None) is None
        with pytest.raises(KeyError):
            visitor.get_metadata(ParentNodeProvider, cst.Name("z"))
        with pytest.raises(KeyError, match="not declared"):
            visitor.get_metadata(ExpressionContextProvider, call)
    with pytest.raises(KeyError):
        visitor.get_metadata(ParentNodeProvider, call)  # outside a visit
