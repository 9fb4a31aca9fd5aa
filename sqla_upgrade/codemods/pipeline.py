"""The choice of passes for a run, from the ordered registry (``registry.REGISTRY``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqla_upgrade.codemods.registry import REGISTRY, PassEntry, load_passes

if TYPE_CHECKING:
    from sqla_upgrade.codemods.base import Pass


class UnknownPassError(ValueError):
    """``--only``/``--skip``/``explain`` named a pass that does not exist."""


def all_passes() -> list[type[Pass]]:
    """Every pass, in pipeline order."""
    return load_passes(REGISTRY)


def find_entry(name: str) -> PassEntry:
    for entry in REGISTRY:
        if entry.name == name:
            return entry
    known = ", ".join(entry.name for entry in REGISTRY)
    raise UnknownPassError(f"unknown pass {name!r} (known passes: {known})")


def find_pass(name: str) -> type[Pass]:
    return find_entry(name).load()


def select_entries(
    target: str, only: tuple[str, ...] = (), skip: tuple[str, ...] = ()
) -> list[PassEntry]:
    """The registry entries of the passes a run executes, in pipeline order."""
    for name in (*only, *skip):
        find_entry(name)
    chosen = [entry for entry in REGISTRY if target in entry.targets]
    if only:
        chosen = [entry for entry in chosen if entry.name in only]
    return [entry for entry in chosen if entry.name not in skip]


def select_passes(
    target: str, only: tuple[str, ...] = (), skip: tuple[str, ...] = ()
) -> list[type[Pass]]:
    """The passes a run executes, in pipeline order."""
    return load_passes(select_entries(target, only, skip))
