"""Test helpers for passes: exact output, compile(), fixed point, expected notes.

``check_transformed`` and ``check_noop`` run the whole pipeline of a target (or a
subset with ``only=``) over a source snippet, as the CLI would.
"""

from __future__ import annotations

import textwrap
import types
from collections.abc import Mapping, Sequence

from sqla_upgrade.api import Migration, migrate_source
from sqla_upgrade.codemods.options import Options


def _dedent(code: str) -> str:
    return textwrap.dedent(code).lstrip("\n")


def _migrate(
    code: str,
    target: str,
    only: Sequence[str],
    project: Mapping[str, str] | None,
    module_name: str,
    strict_loading: bool = False,
) -> Migration:
    options = Options(target=target, only=tuple(only), strict_loading=strict_loading)
    return migrate_source(
        code,
        target=target,
        only=tuple(only),
        project={k: _dedent(v) for k, v in (project or {}).items()},
        module_name=module_name,
        path=module_name.replace(".", "/") + ".py",
        options=options,
    )


def _message_matches(expected: str, actual: Sequence[str]) -> bool:
    return any(expected in message for message in actual)


def check_transformed(
    before: str,
    after: str,
    *,
    target: str = "2.0",
    only: Sequence[str] = (),
    notes: Sequence[str] = (),
    todos: Sequence[str] = (),
    project: Mapping[str, str] | None = None,
    module_name: str = "app.module",
    strict_loading: bool = False,
) -> Migration:
    """Assert ``before`` becomes exactly ``after``, compiles, and is a fixed point."""
    source, expected = _dedent(before), _dedent(after)
    result = _migrate(source, target, only, project, module_name, strict_loading)
    assert result.code == expected, f"unexpected output:\n{result.code}"
    compile(result.code, "<migrated>", "exec", dont_inherit=True)
    again = _migrate(result.code, target, only, project, module_name, strict_loading)
    assert again.code == result.code, f"second run changed the output:\n{again.code}"
    _check_notes(result, notes, todos)
    return result


def check_noop(
    code: str,
    *,
    target: str = "2.0",
    only: Sequence[str] = (),
    notes: Sequence[str] = (),
    project: Mapping[str, str] | None = None,
    module_name: str = "app.module",
    strict_loading: bool = False,
) -> Migration:
    """Assert the pipeline leaves ``code`` byte-identical."""
    source = _dedent(code)
    result = _migrate(source, target, only, project, module_name, strict_loading)
    assert result.code == source, f"expected no change, got:\n{result.code}"
    assert not result.changed
    _check_notes(result, notes, ())
    return result


def _check_notes(result: Migration, notes: Sequence[str], todos: Sequence[str]) -> None:
    messages = [n.message for n in result.notes if n.kind == "note"]
    todo_messages = [n.message for n in result.todos]
    for expected in notes:
        assert _message_matches(expected, messages), f"missing note {expected!r} in {messages}"
    for expected in todos:
        assert _message_matches(expected, todo_messages), (
            f"missing TODO {expected!r} in {todo_messages}"
        )
    if not todos:
        assert not todo_messages, f"unexpected TODOs: {todo_messages}"


def check_project(
    before: Mapping[str, str],
    after: Mapping[str, str],
    *,
    target: str = "async",
    todos: Sequence[str] = (),
) -> None:
    """Several modules migrated together: exact output per module, compile, fixed point."""
    from sqla_upgrade.api import migrate_project

    sources = {name: _dedent(code) for name, code in before.items()}
    result = migrate_project(sources, target=target)
    for name, expected in after.items():
        actual = result[name].code
        assert actual == _dedent(expected), f"unexpected output for {name}:\n{actual}"
        compile(actual, name, "exec", dont_inherit=True)
    again = migrate_project({n: m.code for n, m in result.items()}, target=target)
    for name, migration in again.items():
        assert migration.code == result[name].code, f"second run changed {name}:\n{migration.code}"
    todo_messages = [n.message for m in result.values() for n in m.todos]
    for expected_todo in todos:
        assert _message_matches(expected_todo, todo_messages), (
            f"missing TODO {expected_todo!r} in {todo_messages}"
        )
    if not todos:
        assert not todo_messages, f"unexpected TODOs: {todo_messages}"


def exec_module(code: str) -> types.SimpleNamespace:
    """Run ``code`` as a module of its own (no ``__future__`` flags inherited) and give
    its globals as attributes, for tests that execute legacy and migrated code."""
    namespace: dict[str, object] = {}
    exec(compile(code, "<module>", "exec", dont_inherit=True), namespace)
    return types.SimpleNamespace(**namespace)
