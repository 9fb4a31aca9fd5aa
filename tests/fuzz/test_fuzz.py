"""Fuzzing: generated modules through ``sqla_upgrade.api``, both targets.

For every generated module (``modules.py``) and target, through ``migrate_source`` (one
module) and ``migrate_project`` (the header as ``app.models``, the segments in
``app.views``):

* no crash: the migration raises nothing (the input is valid Python), except the one
  documented refusal: libcst does not keep some whitespace around form feeds byte for
  byte, and the tool then reports the file instead of rewriting it (``fidelity.py``);
* the output compiles;
* a second run is a no-op, byte for byte;
* every filler block (code around the legacy nodes) appears verbatim in the output.

Budget: in CI the examples are derandomized (a fixed seed) and bounded,
``SQLA_FUZZ_EXAMPLES`` per test (default 40: 160 modules, each migrated twice, a
minute or two on two cores). A longer run by hand, random and shrinking failures::

    SQLA_FUZZ_EXAMPLES=2000 SQLA_FUZZ_RANDOM=1 python -m pytest tests/fuzz -q
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, Phase, given, settings

from sqla_upgrade.api import Migration, MigrationError, migrate_project, migrate_source

from .modules import Module, modules

EXAMPLES = int(os.environ.get("SQLA_FUZZ_EXAMPLES", "40"))
RANDOM = os.environ.get("SQLA_FUZZ_RANDOM", "") not in ("", "0", "false")

FUZZ_SETTINGS = settings(
    max_examples=EXAMPLES,
    derandomize=not RANDOM,
    deadline=None,
    database=None,
    phases=[Phase.explicit, Phase.generate, *([Phase.shrink] if RANDOM else [])],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

TARGETS = ["2.0", "async"]


def _compiles(code: str, name: str) -> None:
    compile(code, name, "exec", dont_inherit=True)


def _check_fillers(module: Module, output: str) -> None:
    for filler in module.fillers:
        assert filler in output, f"filler block changed:\n{filler!r}\noutput:\n{output}"


def _single(module: Module, target: str) -> Migration | None:
    try:
        return migrate_source(
            module.source(), target=target, module_name="app.fuzzed", path="app/fuzzed.py"
        )
    except MigrationError as exc:
        _expected_refusal(module, exc)
        return None


def _expected_refusal(module: Module, exc: MigrationError) -> None:
    """Re-raise unless ``exc`` is the documented form-feed refusal."""
    if "\x0c" not in module.body or "libcst would not keep the whitespace" not in str(exc):
        raise exc


@pytest.mark.parametrize("target", TARGETS)
def test_generated_module(target: str) -> None:
    @FUZZ_SETTINGS
    @given(module=modules())
    def check(module: Module) -> None:
        source = module.source()
        _compiles(source, "<generated>")
        migrated = _single(module, target)
        if migrated is None:
            return
        _compiles(migrated.code, "<migrated>")
        again = migrate_source(
            migrated.code, target=target, module_name="app.fuzzed", path="app/fuzzed.py"
        )
        assert again.code == migrated.code, f"second run changed:\n{migrated.code}"
        _check_fillers(module, migrated.code)

    check()


@pytest.mark.parametrize("target", TARGETS)
def test_generated_project(target: str) -> None:
    @FUZZ_SETTINGS
    @given(module=modules())
    def check(module: Module) -> None:
        sources = module.project()
        for name, code in sources.items():
            _compiles(code, name)
        try:
            migrated = migrate_project(sources, target=target)
        except MigrationError as exc:
            _expected_refusal(module, exc)
            return
        outputs = {name: migration.code for name, migration in migrated.items()}
        for name, code in outputs.items():
            _compiles(code, name)
        again = migrate_project(outputs, target=target)
        for name, migration in again.items():
            assert migration.code == outputs[name], f"second run changed {name}"
        _check_fillers(module, outputs["app.views"])

    check()
