"""The workflow examples in ``docs/ci.md``: valid YAML, and every ``sqla-upgrade`` command in
them is accepted by the command line as written."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import typer
import yaml

from sqla_upgrade.cli.app import app

DOC = Path(__file__).resolve().parent.parent / "docs" / "ci.md"
EXPRESSION = re.compile(r"\$\{\{[^}]*\}\}")


def yaml_blocks() -> list[Any]:
    blocks = re.findall(r"```yaml\n(.*?)```", DOC.read_text(), re.S)
    return [yaml.safe_load(block) for block in blocks]


def commands_in(node: Any) -> list[str]:
    """Every ``sqla-upgrade ...`` command line in the ``run:`` steps under ``node``."""
    if isinstance(node, dict):
        found = []
        for key, value in node.items():
            if key == "run" and isinstance(value, str):
                found += [c for c in value.splitlines() if c.strip().startswith("sqla-upgrade")]
            else:
                found += commands_in(value)
        return found
    if isinstance(node, list):
        return [c for item in node for c in commands_in(item)]
    return []


def test_workflow_runs_check_on_pull_requests_and_apply_on_a_schedule() -> None:
    workflow = next(b for b in yaml_blocks() if isinstance(b, dict) and "jobs" in b)
    triggers = workflow.get("on") or workflow.get(True)  # YAML 1.1 reads `on` as true
    assert "pull_request" in triggers and "schedule" in triggers
    check = " ".join(commands_in(workflow["jobs"]["check"]))
    assert "sqla-upgrade check" in check and "--baseline" in check and "--format github" in check
    migrate = workflow["jobs"]["migrate"]
    assert any(c.startswith("sqla-upgrade apply") for c in commands_in(migrate))
    assert any("create-pull-request" in step.get("uses", "") for step in migrate["steps"])


def test_every_documented_command_parses() -> None:
    command: Any = typer.main.get_command(app)
    lines = [c for block in yaml_blocks() for c in commands_in(block)]
    assert len(lines) >= 6
    for line in lines:
        words = shlex.split(EXPRESSION.sub("1", line))[1:]
        sub = command.commands.get(words[0])
        assert sub is not None, line
        sub.make_context(words[0], [w.replace("*", "1") for w in words[1:]])  # raises if wrong
