"""The ordered registry of passes, and the choice of passes for a run."""

from __future__ import annotations

from sqla_upgrade.codemods.base import Pass
from sqla_upgrade.codemods.passes import ALL_PASSES


class UnknownPassError(ValueError):
    """``--only``/``--skip``/``explain`` named a pass that does not exist."""


def all_passes() -> list[type[Pass]]:
    """Every pass, in pipeline order."""
    return list(ALL_PASSES)


def find_pass(name: str) -> type[Pass]:
    for pass_cls in ALL_PASSES:
        if pass_cls.name == name:
            return pass_cls
    known = ", ".join(p.name for p in ALL_PASSES)
    raise UnknownPassError(f"unknown pass {name!r} (known passes: {known})")


def select_passes(
    target: str, only: tuple[str, ...] = (), skip: tuple[str, ...] = ()
) -> list[type[Pass]]:
    """The passes a run executes, in pipeline order."""
    for name in (*only, *skip):
        find_pass(name)
    chosen = [p for p in ALL_PASSES if target in p.targets]
    if only:
        chosen = [p for p in chosen if p.name in only]
    return [p for p in chosen if p.name not in skip]
