"""Read-only visits inside ``fast_visits()`` make exactly libcst's callbacks, in its order,
and the scopes computed that way are libcst's."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import libcst as cst
import pytest
from libcst.codemod import CodemodContext
from libcst.metadata import MetadataWrapper, ScopeProvider
from libcst.metadata.scope_provider import Scope

from sqla_upgrade.codemods.base import FileState, Pass
from sqla_upgrade.codemods.index.model import ProjectIndex
from sqla_upgrade.codemods.metadata import new_wrapper, parents_of
from sqla_upgrade.codemods.options import Options
from sqla_upgrade.codemods.traversal import fast_visits, libcst_visit
from tests.test_metadata import CONSTRUCTS

ROOT = Path(__file__).resolve().parent.parent
EXTRA = """
x = (yield)
async def f():
    return [i async for i in g() if await i]
try:
    pass
except* (A, B) as group:
    raise
finally:
    del x
type Alias[K] = dict[K, "Forward"]
def g[*Ts, **P](a, /, b: "int" = 1, *args: int, c, **kw) -> None: ...
@a.b(c)
@d
class C(metaclass=M, **kw): x: "list[C]"
print(f"{a!r} {b:{c}} {d=}", u"x" "y", rb"z")
if (n := 10) > 5: pass
elif not n: pass
while True: break
else: continue
assert x, "m"
lambda: (yield)
with (a as b, c as d): pass
s[1:2, ::3, ...]
"""


def _sources() -> list[str]:
    own = [path.read_text() for path in sorted((ROOT / "sqla_upgrade").rglob("*.py"))]
    corpora = sorted((ROOT / "tests").rglob("*.py"))
    return [CONSTRUCTS, EXTRA, *own, *(path.read_text() for path in corpora[::4])]


@pytest.fixture(scope="module")
def trees() -> list[cst.Module]:
    return [cst.parse_module(source) for source in _sources()]


class _NotesFieldCallbacks:
    """Notes the field callbacks in ``events``."""

    events: list[tuple[str, int, str]]

    def on_visit_attribute(self, node: cst.CSTNode, attribute: str) -> None:
        self.events.append(("visit-field", id(node), attribute))

    def on_leave_attribute(self, original_node: cst.CSTNode, attribute: str) -> None:
        self.events.append(("leave-field", id(original_node), attribute))


class _Recorder(_NotesFieldCallbacks, cst.CSTVisitor):
    """Notes every callback; skips the children of every third call it sees."""

    def __init__(self) -> None:
        super().__init__()
        self.events = []

    def on_visit(self, node: cst.CSTNode) -> bool:
        self.events.append(("visit", id(node), ""))
        return not isinstance(node, cst.Call) or len(self.events) % 3 != 0

    def on_leave(self, original_node: cst.CSTNode) -> None:
        self.events.append(("leave", id(original_node), ""))


class _Names(cst.CSTVisitor):
    """A visitor with no field hooks (the walk then skips the field callbacks)."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[str] = []

    def visit_Name(self, node: cst.Name) -> None:
        self.seen.append(node.value)

    def visit_Lambda(self, node: cst.Lambda) -> bool:
        return False

    def leave_Attribute(self, original_node: cst.Attribute) -> None:
        self.seen.append(".")


class _CallFuncHooks:
    """``visit_Call_func``/``leave_Call_func`` hooks noting where they were called."""

    seen: list[str]

    def visit_Call_func(self, node: cst.Call) -> None:
        self.seen.append("func(")

    def leave_Call_func(self, node: cst.Call) -> None:
        self.seen.append(")func")


class _FieldHooks(_CallFuncHooks, cst.CSTVisitor):
    def __init__(self) -> None:
        super().__init__()
        self.seen = []

    def visit_Name(self, node: cst.Name) -> None:
        self.seen.append(node.value)


def test_callbacks_come_in_libcsts_order(trees: list[cst.Module]) -> None:
    for tree in trees:
        theirs = _Recorder()
        libcst_visit(tree, theirs)
        ours = _Recorder()
        with fast_visits():
            assert tree.visit(ours) is tree
        assert ours.events == theirs.events


@pytest.mark.parametrize("visitor_type", [_Names, _FieldHooks])
def test_typed_callbacks_are_libcsts(trees: list[cst.Module], visitor_type: type) -> None:
    for tree in trees[:40]:
        theirs = visitor_type()
        libcst_visit(tree, theirs)
        ours = visitor_type()
        with fast_visits():
            tree.visit(ours)
        assert ours.seen == theirs.seen


def test_transformers_and_the_outside_keep_libcsts_visit() -> None:
    tree = cst.parse_module("a = b\n")

    class Rename(cst.CSTTransformer):
        def leave_Name(self, original_node: cst.Name, updated_node: cst.Name) -> cst.Name:
            return updated_node.with_changes(value=updated_node.value.upper())

    with fast_visits(), fast_visits():
        assert tree.visit(Rename()).code == "A = B\n"
    assert cst.CSTNode.visit is libcst_visit
    recorder = _Recorder()
    tree.visit(recorder)  # libcst's own visit again: rebuilds, still the same callbacks
    assert recorder.events[0] == ("visit", id(tree), "")


def _number_scopes(
    scopes: dict[cst.CSTNode, Scope | None], nodes: list[cst.CSTNode]
) -> dict[int, int]:
    numbering: dict[int, int] = {}
    for node in nodes:
        scope = scopes[node]
        while scope is not None and id(scope) not in numbering:
            numbering[id(scope)] = len(numbering)
            scope = scope.parent if scope.parent is not scope else None
    return numbering


def _scope_shape(scope: Scope, numbering: dict[int, int], in_tree: set[int]) -> object:
    def number(other: Scope | None) -> int | None:
        return None if other is None else numbering.get(id(other), -1)

    def identity(node: object) -> object:
        # nodes parsed from string annotations are new objects in every analysis
        if node is None or id(node) in in_tree:
            return id(node)
        return (type(node).__name__, getattr(node, "value", None))

    assignments = sorted(
        (a.name, type(a).__name__, identity(getattr(a, "node", None)), number(a.scope))
        for a in scope.assignments
    )
    accesses = sorted(
        (
            identity(access.node),
            access.is_annotation,
            access.is_type_hint,
            sorted(repr(identity(getattr(r, "node", None))) for r in access.referents),
        )
        for access in scope.accesses
    )
    return (
        type(scope).__name__,
        getattr(scope, "name", None),
        number(scope),
        number(scope.parent) if scope.parent is not scope else "self",
        assignments,
        accesses,
        sorted(getattr(scope, "_globals", ())),
        sorted(getattr(scope, "_nonlocals", ())),
    )


NOT_TYPING = """
def cast(kind, value):
    return value
x: "List[int]" = cast("Foo", other["key"])
T = TypeVar("T")
def f(a: "Forward", b: Dict["K", "V"]) -> "Out":
    return Literal["a"], NewType("N", int)
"""


def test_scopes_are_libcsts(trees: list[cst.Module]) -> None:
    """Also given the code (which lets our scope visitor skip looking for ``typing``'s
    names where the code does not spell ``typing``)."""
    with_code = [cst.parse_module(NOT_TYPING), *trees[1::2]]
    for tree, code in [(t, None) for t in trees[::2]] + [(t, t.bytes) for t in with_code]:
        theirs = MetadataWrapper(tree, unsafe_skip_copy=True).resolve(ScopeProvider)
        ours = new_wrapper(tree, code).resolve(ScopeProvider)
        in_tree = {id(tree), *map(id, parents_of(tree))}
        assert {id(node) for node in ours if id(node) in in_tree} == {
            id(node) for node in theirs if id(node) in in_tree
        }
        assert len(ours) == len(theirs)
        nodes = [node for node in theirs if id(node) in in_tree]
        their_numbers = _number_scopes(dict(theirs), nodes)
        our_numbers = _number_scopes(dict(ours), nodes)
        pairs: dict[int, Scope] = {}
        for node in nodes:
            scope, mine = theirs[node], ours[node]
            if scope is None:
                assert mine is None
                continue
            assert pairs.setdefault(id(scope), mine) is mine
        assert len({id(mine) for mine in pairs.values()}) == len(pairs)
        for node in nodes:
            scope = theirs[node]
            if scope is not None and id(scope) in pairs:
                mine = pairs.pop(id(scope))
                assert _scope_shape(mine, our_numbers, in_tree) == _scope_shape(
                    scope, their_numbers, in_tree
                )


class _Rewriter(_NotesFieldCallbacks, cst.CSTTransformer):
    """Renames, removes and splits, noting every callback on the way."""

    def __init__(self) -> None:
        super().__init__()
        self.events = []

    def on_visit(self, node: cst.CSTNode) -> bool:
        self.events.append(("visit", id(node), ""))
        return not isinstance(node, cst.Lambda)

    def on_leave(self, original_node: Any, updated_node: Any) -> Any:
        self.events.append(("leave", id(original_node), type(updated_node).__name__))
        if isinstance(updated_node, cst.Name) and updated_node.value in {"a", "self"}:
            return updated_node.with_changes(value=updated_node.value.upper())
        if isinstance(updated_node, cst.Pass):
            return cst.RemovalSentinel.REMOVE  # empties lines: the body drops them
        if isinstance(updated_node, cst.Param) and updated_node.annotation is not None:
            return updated_node.with_changes(annotation=None, comma=cst.MaybeSentinel.DEFAULT)
        if (
            isinstance(updated_node, cst.SimpleStatementLine)
            and "split" in cst.Module(body=[updated_node]).code
        ):
            return cst.FlattenSentinel([updated_node, updated_node.deep_clone()])
        if isinstance(updated_node, cst.Decorator):
            return cst.RemovalSentinel.REMOVE
        return updated_node


def test_transformers_get_libcsts_callbacks_and_output(trees: list[cst.Module]) -> None:
    extra = cst.parse_module(
        "@decorated\ndef f(a: int, b=1, *c: str):\n    pass\n    split(a)\n    if a:\n"
        "        pass\n    return lambda a: a\n"
    )
    for tree in [extra, *trees[:60]]:
        theirs = _Rewriter()
        expected = libcst_visit(tree, theirs)
        ours = _Rewriter()
        with fast_visits():
            got = tree.visit(ours)
        assert got.code == expected.code
        assert ours.events == theirs.events


def test_a_transformer_that_changes_nothing_keeps_every_node(trees: list[cst.Module]) -> None:
    class Nothing(cst.CSTTransformer):
        def on_visit(self, node: cst.CSTNode) -> bool:  # not libcst's: taken everywhere
            return super().on_visit(node)

    class NoHandlers(cst.CSTTransformer):
        pass

    rebuilt_by_libcst = (cst.ImportFrom, cst.FormattedStringExpression, cst.TypeParam)

    class Finds(cst.CSTVisitor):
        found = False

        def on_visit(self, node: cst.CSTNode) -> bool:
            self.found = self.found or isinstance(node, rebuilt_by_libcst)
            return not self.found

    def holds_rebuilt(statement: cst.CSTNode) -> bool:
        finder = Finds()
        statement.visit(finder)
        return finder.found

    with fast_visits():
        for tree in trees[:20]:
            assert tree.visit(NoHandlers()) is tree  # no subtree holds anything it handles
            new = tree.visit(Nothing())
            assert new.code == tree.code
            for old, kept in zip(tree.body, new.body, strict=True):
                assert (kept is old) is not holds_rebuilt(old)
    edited = cst.parse_module("x = 1\ny = 2\n")

    class Two(cst.CSTTransformer):
        def leave_Integer(self, original_node: cst.Integer, updated_node: cst.Integer) -> Any:
            return (
                updated_node.with_changes(value="3") if updated_node.value == "2" else updated_node
            )

    with fast_visits():
        new = edited.visit(Two())
    assert new.code == "x = 1\ny = 3\n"
    assert new.body[0] is edited.body[0] and new.body[1] is not edited.body[1]


@pytest.mark.parametrize(
    ("source", "removed"),
    [("x = y\n", cst.Name), ("f(a)\n", cst.Arg), ("def f(a): pass\n", cst.Parameters)],
)
def test_removing_what_cannot_be_removed_fails_as_in_libcst(
    source: str, removed: type[cst.CSTNode]
) -> None:
    class Remove(cst.CSTTransformer):
        def on_leave(self, original_node: Any, updated_node: Any) -> Any:
            if type(original_node) is removed:
                return cst.RemovalSentinel.REMOVE
            return updated_node

    outcomes = []
    for fast in (False, True):
        tree = cst.parse_module(source)
        try:
            if fast:
                with fast_visits():
                    outcomes.append(tree.visit(Remove()).code)
            else:
                outcomes.append(libcst_visit(tree, Remove()).code)
        except TypeError:
            outcomes.append("TypeError")
    assert outcomes[0] == outcomes[1]


def test_a_transformers_field_hooks_are_called_as_in_libcst(trees: list[cst.Module]) -> None:
    class Calls(_CallFuncHooks, cst.CSTTransformer):
        def __init__(self) -> None:
            super().__init__()
            self.seen = []

        def leave_Name(self, original_node: cst.Name, updated_node: cst.Name) -> cst.Name:
            self.seen.append(original_node.value)
            return updated_node.with_changes(value=f"{updated_node.value}_")

    for tree in trees[:30]:
        theirs = Calls()
        expected = libcst_visit(tree, theirs).code
        ours = Calls()
        with fast_visits():
            assert tree.visit(ours).code == expected
        assert ours.seen == theirs.seen


def test_visitor_classes_made_on_the_fly_are_not_kept() -> None:
    """A visitor class defined in a function holds what the function saw (a whole tree,
    say): the traversal's caches must not keep it alive."""
    import gc
    import weakref

    def visit_once(tree: cst.Module, transform: bool) -> weakref.ref[type]:
        base: type = cst.CSTTransformer if transform else cst.CSTVisitor

        class OnTheFly(base):  # type: ignore[misc, valid-type]
            def visit_Name(self, node: cst.Name) -> None:
                assert tree is not None

        with fast_visits():
            tree.visit(OnTheFly())
        return weakref.ref(OnTheFly)

    for transform in (False, True):
        kept = visit_once(cst.parse_module("a = b\n"), transform)
        gc.collect()
        assert kept() is None


class _CallRenamer(cst.CSTTransformer):
    """Renames every called ``f`` to ``g``, noting the nodes it is taken into."""

    skips_unhandled_subtrees = True

    def __init__(self) -> None:
        super().__init__()
        self.entered: list[str] = []

    def on_visit(self, node: cst.CSTNode) -> bool:
        self.entered.append(type(node).__name__)
        return super().on_visit(node)

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.Call:
        if isinstance(updated_node.func, cst.Name) and updated_node.func.value == "f":
            return updated_node.with_changes(func=cst.Name("g"))
        return updated_node


SKIPPED = "import os\nx = [1, 2, (3, 4)]\n\n\ndef h(a, b=2):\n    return a + b\n\n\nprint(f(x))\n"


def test_a_transformer_is_not_taken_where_it_handles_nothing() -> None:
    module = cst.parse_module(SKIPPED)
    renamer = _CallRenamer()
    with fast_visits():
        changed = module.visit(renamer)
    expected = module.visit(_CallRenamer())  # libcst's own visit: every node
    assert changed.code == expected.code == SKIPPED.replace("print(f(x))", "print(g(x))")
    assert set(renamer.entered) <= {"Module", "SimpleStatementLine", "Expr", "Call", "Name", "Arg"}
    assert "Import" not in renamer.entered and "FunctionDef" not in renamer.entered
    kept = dict(zip(("import", "assign", "def"), changed.body, strict=False))
    assert all(new is old for new, old in zip(kept.values(), module.body, strict=False))


def test_a_transformer_that_asks_visits_everything_again() -> None:
    """``skips_unhandled_subtrees`` is read where a subtree would be skipped: a visitor
    that stops allowing it (a pass waiting to comment a statement) is taken everywhere."""
    module = cst.parse_module(SKIPPED)
    renamer = _CallRenamer()
    renamer.skips_unhandled_subtrees = False
    with fast_visits():
        module.visit(renamer)
    assert "Import" in renamer.entered and "FunctionDef" in renamer.entered


class _MarksLastStatements(Pass):
    """Asks for a TODO above the last statement of every function, from the function:
    a statement still to be visited, holding nothing the pass handles."""

    name = "marks-last-statements"

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        body = node.body.body
        self.todo(node, f"look at {node.name.value}", statement=body[-1])
        self.count_rewrite()


def test_a_pass_waiting_to_comment_a_statement_is_taken_into_it() -> None:
    source = "def f():\n    x = 1\n    return x\n\n\ndef g():\n    pass\n"
    state = FileState(path="m.py", module_name="m", index=ProjectIndex(), options=Options())
    transformer = _MarksLastStatements(CodemodContext(filename="m.py"), state)
    assert transformer.skips_unhandled_subtrees
    with fast_visits():
        changed = transformer.run_with(new_wrapper(cst.parse_module(source)))
    assert changed.code == (
        "def f():\n    x = 1\n    # TODO(sqla-upgrade): look at f\n    return x\n\n\n"
        "def g():\n    # TODO(sqla-upgrade): look at g\n    pass\n"
    )
    assert transformer.skips_unhandled_subtrees  # every TODO placed: skipping again


def test_only_visitors_with_libcsts_callbacks_skip_subtrees() -> None:
    from sqla_upgrade.codemods.traversal import _handled_types

    class Handlers(cst.CSTVisitor):
        def visit_Call(self, node: cst.Call) -> None: ...

    class Callbacks(Handlers):
        def on_visit(self, node: cst.CSTNode) -> bool:
            return True

    assert _handled_types(Handlers()) is not None
    assert _handled_types(Callbacks()) is None
    assert _handled_types(_Rewriter()) is None
    assert _handled_types(_CallRenamer()) is not None
    module = cst.parse_module(SKIPPED)
    calls: list[str] = []

    class Calls(cst.CSTVisitor):
        def visit_Call(self, node: cst.Call) -> None:
            calls.append(cst.Module(body=[]).code_for_node(node.func))

    with fast_visits():
        module.visit(Calls())
    assert calls == ["print", "f"]
