"""Machine-readable output: the JSON schema, GitHub annotations, SARIF."""

from __future__ import annotations

import json
import re
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from typer.testing import CliRunner

from sqla_upgrade.cli.app import app

runner = CliRunner()

# ::level file=F[,line=N][,col=N][,title=T]::message — values escaped per GitHub's rules
ANNOTATION = re.compile(
    r"^::(error|warning|notice) file=[^,:\n]+(,line=\d+)?(,col=\d+)?(,title=[^,:\n]+)?::[^\n]+$"
)


def schema(name: str) -> dict[str, Any]:
    text = resources.files("sqla_upgrade").joinpath(f"schemas/{name}").read_text("utf-8")
    return json.loads(text)


def validate(document: dict[str, Any], name: str) -> None:
    validator = jsonschema.Draft202012Validator(schema(name))
    validator.check_schema(validator.schema)
    errors = sorted(validator.iter_errors(document), key=str)
    assert not errors, "\n".join(e.message for e in errors)


@pytest.fixture
def project(legacy_tree: Path) -> Path:
    pkg = legacy_tree / "pkg"
    (pkg / "todo.py").write_text(
        "from sqlalchemy import select\n\n\ndef q(t):\n    return select([t], bind=engine)\n"
    )
    (pkg / "service.py").write_text(
        "def names(session):\n    return [u.name for u in session.query(User).all()]\n"
    )
    (pkg / "broken.py").write_text("def broken(:\n")
    return legacy_tree


@pytest.mark.parametrize("command", ["diff", "check", "apply"])
@pytest.mark.parametrize("target", ["2.0", "async"])
def test_json_output_follows_the_schema(project: Path, command: str, target: str) -> None:
    result = runner.invoke(app, [command, str(project), "--format", "json", "--target", target])
    assert result.exit_code in (1, 3), result.output
    document = json.loads(result.stdout)
    validate(document, "run-report.schema.json")
    assert document["command"] == command and document["schema_version"] == 1
    paths = {Path(f["path"]).name for f in document["files"]}
    assert {"models.py", "todo.py", "service.py", "broken.py"} <= paths
    if target == "async":
        assert [f["function"] for f in document["async_functions"]] == ["pkg.service.names"]


def test_json_with_baseline_follows_the_schema(project: Path, tmp_path: Path) -> None:
    baseline = tmp_path / "baseline.json"
    runner.invoke(app, ["baseline", str(baseline), str(project / "pkg" / "models.py")])
    result = runner.invoke(
        app, ["check", str(project), "--baseline", str(baseline), "--format", "json"]
    )
    assert result.exit_code == 3  # broken.py
    document = json.loads(result.stdout)
    validate(document, "run-report.schema.json")
    assert document["baseline"]["known"] == 2  # models.py: the import and the select()
    assert {Path(n["path"]).name for n in document["baseline"]["new"]} == {
        "todo.py",
        "service.py",
    }


def test_schema_rejects_undocumented_fields(project: Path) -> None:
    result = runner.invoke(app, ["check", str(project), "--format", "json", "--target", "2.0"])
    document = json.loads(result.stdout)
    document["surprise"] = 1
    validator = jsonschema.Draft202012Validator(schema("run-report.schema.json"))
    assert not validator.is_valid(document)


def test_github_annotations(project: Path) -> None:
    result = runner.invoke(app, ["check", str(project), "--format", "github", "--target", "2.0"])
    assert result.exit_code == 3
    lines = result.stdout.splitlines()
    assert lines and all(ANNOTATION.match(line) for line in lines), lines
    models = project / "pkg" / "models.py"
    assert (
        f"::error file={models},line=1,title=sqla-upgrade::legacy SQLAlchemy code "
        "(`sqla-upgrade apply` rewrites it): "
        "from sqlalchemy.ext.declarative import declarative_base"
    ) in lines
    assert (
        f"::error file={models},line=5,title=sqla-upgrade::legacy SQLAlchemy code "
        "(`sqla-upgrade apply` rewrites it): return select([t.c.id], t.c.id > 1)"
    ) in lines
    todo = [
        line for line in lines if line.startswith(f"::warning file={project / 'pkg' / 'todo.py'}")
    ]
    assert len(todo) == 1 and ",line=5," in todo[0] and "title=sqla-upgrade select-list" in todo[0]
    broken = [line for line in lines if "broken.py" in line]
    assert broken == [
        f"::error file={project / 'pkg' / 'broken.py'}::sqla-upgrade failed: "
        + broken[0].split("failed: ", 1)[1]
    ]


def test_github_annotation_values_are_escaped(tmp_path: Path) -> None:
    odd = tmp_path / "a,b:c%.py"
    odd.write_text("from sqlalchemy import select\ns = select([a])\n")
    result = runner.invoke(app, ["check", str(odd), "--format", "github"])
    assert result.exit_code == 1
    escaped = str(odd).replace("%", "%25").replace(":", "%3A").replace(",", "%2C")
    assert result.stdout.startswith(f"::error file={escaped},line=2,")
    assert all(ANNOTATION.match(line) for line in result.stdout.splitlines())


def test_sarif(project: Path) -> None:
    result = runner.invoke(app, ["check", str(project), "--format", "sarif", "--target", "2.0"])
    assert result.exit_code == 3
    log = json.loads(result.stdout)
    assert log["version"] == "2.1.0"
    run = log["runs"][0]
    rules = {rule["id"] for rule in run["tool"]["driver"]["rules"]}
    assert {r["ruleId"] for r in run["results"]} <= rules
    legacy = [r for r in run["results"] if r["ruleId"] == "legacy-code"]
    assert {
        r["locations"][0]["physicalLocation"]["region"]["startLine"]
        for r in legacy
        if r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].endswith("models.py")
    } == {1, 5}
    assert all(r["partialFingerprints"]["sqlaUpgradeSite/v1"] for r in legacy)
    assert any(r["ruleId"] == "manual-migration" for r in run["results"])
    assert any(r["ruleId"] == "failed" for r in run["results"])


def test_functions_already_async_are_not_listed_as_becoming_async(tmp_path: Path) -> None:
    """A second run over migrated code: nothing becomes async, and the report says so."""
    (tmp_path / "service.py").write_text(
        "from sqlalchemy.orm import Session\n\n\n"
        "def names(session: Session):\n    return session.query(User).all()\n"
    )
    first = runner.invoke(app, ["apply", str(tmp_path), "--format", "json", "--target", "async"])
    assert [f["function"] for f in json.loads(first.stdout)["async_functions"]] == ["service.names"]
    again = runner.invoke(app, ["diff", str(tmp_path), "--format", "json", "--target", "async"])
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout)["async_functions"] == []
