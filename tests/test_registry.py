"""The registry of passes (plain data) agrees with the pass classes it names."""

from __future__ import annotations

import pkgutil

import pytest

import sqla_upgrade.codemods.passes
from sqla_upgrade.codemods.base import Pass
from sqla_upgrade.codemods.pipeline import (
    UnknownPassError,
    find_pass,
    select_entries,
    select_passes,
)
from sqla_upgrade.codemods.registry import REGISTRY, PassEntry


@pytest.mark.parametrize("entry", REGISTRY, ids=lambda entry: entry.name)
def test_every_entry_describes_its_class(entry: PassEntry) -> None:
    pass_cls = entry.load()
    assert issubclass(pass_cls, Pass)
    assert pass_cls.__module__ == f"sqla_upgrade.codemods.passes.{entry.module}"
    assert (pass_cls.name, pass_cls.stage, pass_cls.targets) == (
        entry.name,
        entry.stage,
        entry.targets,
    )


def test_every_pass_module_is_registered_once() -> None:
    modules = {info.name for info in pkgutil.iter_modules(sqla_upgrade.codemods.passes.__path__)}
    assert sorted(entry.module for entry in REGISTRY) == sorted(modules)
    assert len({entry.name for entry in REGISTRY}) == len(REGISTRY)


def test_stage_one_passes_come_first() -> None:
    stages = [entry.stage for entry in REGISTRY]
    assert stages == sorted(stages)


def test_selection_in_pipeline_order() -> None:
    assert [p.name for p in select_passes("2.0")] == [
        e.name for e in REGISTRY if "2.0" in e.targets
    ]
    chosen = select_entries("async", only=("await", "declarative-import"))
    assert [e.name for e in chosen] == ["declarative-import", "await"]
    assert "await" not in [e.name for e in select_entries("async", skip=("await",))]
    assert find_pass("await").name == "await"
    with pytest.raises(UnknownPassError, match="known passes: declarative-import"):
        select_entries("async", only=("no-such-pass",))
