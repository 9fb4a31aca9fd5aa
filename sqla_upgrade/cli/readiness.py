"""The migration-readiness report: how far along a project is, and what is risky.

Every number comes from the run itself: the per-file results (rewrites per pass, TODO
notes, legacy sites, failures), the async plan (functions that become ``async def`` and
why, functions that cannot), the project index (models and relationships) and the
lazy-read analysis (``analysis.lazy_reads``).

The JSON document keeps the raw rows (one per file, TODO, function, relationship, risk)
and the aggregates derived from them (``derive``); ``merge`` concatenates the rows of
several documents (one per ``--shard``) and derives the aggregates again, so merged
shards give the document of a single run.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from sqla_upgrade import __version__
from sqla_upgrade.cli import render
from sqla_upgrade.cli.sites import legacy_sites
from sqla_upgrade.codemods.analysis.lazy_reads import LAZY_STRATEGIES, LazyReadAnalysis
from sqla_upgrade.codemods.analysis.plans import AsyncPlan
from sqla_upgrade.codemods.discovery import module_name
from sqla_upgrade.codemods.index.model import ModelFacts, ObjectKind, ProjectIndex
from sqla_upgrade.codemods.results import FileResult
from sqla_upgrade.codemods.runner import RunReport, read_bytes

REPORT_KIND = "readiness-report"
SCHEMA_VERSION = 1
LONGEST_CHAINS = 10
TOP_LEVEL = "(top level)"
ROW_KEYS = {
    "files": ("path",),
    "todos": ("path", "line", "column", "pass", "message"),
    "async_functions": ("function",),
    "blocked_functions": ("function",),
    "relationships": ("path", "line", "model", "name"),
    "lazy_load_risks": ("path", "line", "expression"),
}


class MergeError(Exception):
    """The documents cannot be merged (different kinds or targets, overlapping files)."""


# -- rows of one run -------------------------------------------------------------------------
def _module_names(index: ProjectIndex | None) -> dict[str, str]:
    if index is None:
        return {}
    return {facts.path: name for name, facts in index.modules.items()}


def _package(module: str, path: str) -> str:
    """The dotted package of a module; for a file outside packages, its folder."""
    if path.endswith("__init__.py"):
        return module
    if "." in module:
        return module.rpartition(".")[0]
    folder = Path(path).parent.name
    return f"{folder}/" if folder else TOP_LEVEL


def _status(result: FileResult) -> str:
    if result.failed:
        return "failed"
    if result.changed:
        return "pending"
    return "manual" if result.todos else "done"


def _file_row(result: FileResult) -> dict[str, Any]:
    module = module_name(Path(result.path))[0]
    return {
        "path": result.path,
        "module": module,
        "package": _package(module, result.path),
        "status": _status(result),
        "sites": len(legacy_sites(result)),
        "rewrites": dict(sorted(result.rewrites.items())),
        "todos": len(result.todos),
        "error": result.error,
    }


def _todo_rows(report: RunReport) -> list[dict[str, Any]]:
    return [
        {
            "path": n.path,
            "line": n.line,
            "column": n.column,
            "pass": n.pass_name,
            "message": n.message,
        }
        for r in report.results
        for n in r.todos
    ]


def _async_rows(report: RunReport) -> list[dict[str, Any]]:
    return [
        {"function": e["function"], "path": e["path"], "line": e["line"], "chain": e["why"]}
        for e in render.async_functions(report)
    ]


def _blocked_rows(plan: AsyncPlan | None, reported: set[str]) -> list[dict[str, Any]]:
    if plan is None:
        return []
    rows = []
    for qualname, why in plan.blocked.items():
        path, line = plan.locations.get(qualname, ("", 0))
        if path in reported:
            rows.append({"function": qualname, "path": path, "line": line, "why": why})
    return rows


def _flask_model(index: ProjectIndex, model: ModelFacts, depth: int = 0) -> bool:
    for base in (index.resolve_alias(b) for b in model.bases):
        owner = base.rpartition(".")[0]
        if base.endswith(".Model") and index.kind_of(owner) is ObjectKind.FLASK_SQLALCHEMY:
            return True
        parent = index.models.get(base)
        if parent is not None and depth < 20 and _flask_model(index, parent, depth + 1):
            return True
    return False


def _relationship_rows(
    index: ProjectIndex, plan: AsyncPlan | None, target: str
) -> list[dict[str, Any]]:
    """Every relationship of the project, with whether the async stage loads it eagerly."""
    reads = plan.read_attributes if plan is not None else None
    rows = []
    for model in index.models.values():
        module = index.modules.get(model.qualname.rpartition(".")[0])
        flask = _flask_model(index, model)
        for relationship in model.relationships.values():
            lazy = relationship.lazy or "select"
            read = None if reads is None else relationship.name in reads
            eager = (
                target == "async"
                and bool(read)
                and relationship.lazy in LAZY_STRATEGIES - {"dynamic"}
                and not flask
            )
            rows.append(
                {
                    "model": model.qualname.rsplit(".", 1)[-1],
                    "name": relationship.name,
                    "path": module.path if module else "",
                    "line": relationship.line,
                    "lazy": lazy,
                    "read": read,
                    "eager_under_async": eager,
                    "loads_lazily": relationship.lazy in LAZY_STRATEGIES and not eager,
                }
            )
    return rows


def _risk_rows(
    report: RunReport, index: ProjectIndex, relationships: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    sources: dict[str, bytes] = {}
    for facts in index.modules.values():
        data = read_bytes(Path(facts.path))
        if isinstance(data, bytes):
            sources[facts.path] = data
    analysis = LazyReadAnalysis(index, sources)
    eager = {f"{r['model']}.{r['name']}": r["eager_under_async"] for r in relationships}
    modules = _module_names(index)
    rows = []
    for result in report.results:
        if result.failed or result.path not in modules:
            continue
        for risk in analysis.risks(modules[result.path], result.old):
            rows.append(
                {
                    "path": result.path,
                    "line": risk.line,
                    "expression": risk.expression,
                    "relationships": list(risk.relationships),
                    "reason": risk.reason,
                    "covered": all(eager.get(name, False) for name in risk.relationships),
                }
            )
    return rows


def build(report: RunReport, target: str) -> dict[str, Any]:
    """The readiness document of one run."""
    index = report.index
    plan = report.async_plan if isinstance(report.async_plan, AsyncPlan) else None
    reported = {r.path for r in report.results}
    relationships = _relationship_rows(index, plan, target) if index is not None else []
    risks = _risk_rows(report, index, relationships) if index is not None else []
    document: dict[str, Any] = {
        "tool": "sqla-upgrade",
        "version": __version__,
        "kind": REPORT_KIND,
        "schema_version": SCHEMA_VERSION,
        "target": target,
        "async_plan": plan is not None,
        "files": [_file_row(r) for r in report.results],
        "todos": _todo_rows(report),
        "async_functions": _async_rows(report),
        "blocked_functions": _blocked_rows(plan, reported),
        "relationships": [r for r in relationships if r["path"] in reported],
        "lazy_load_risks": risks,
    }
    return derive(document)


# -- aggregates ------------------------------------------------------------------------------
def _percent(part: int, whole: int) -> float:
    return round(100.0 * part / whole, 1) if whole else 100.0


def _summary(document: dict[str, Any]) -> dict[str, Any]:
    files = document["files"]
    statuses = Counter(f["status"] for f in files)
    rewrites = sum(sum(f["rewrites"].values()) for f in files)
    uncovered = [r for r in document["lazy_load_risks"] if not r["covered"]]
    manual = (
        len(document["todos"])
        + len(document["blocked_functions"])
        + len(uncovered)
        + statuses["failed"]
    )
    return {
        "files_scanned": len(files),
        "files_done": statuses["done"],
        "files_manual": statuses["manual"],
        "files_pending": statuses["pending"],
        "files_failed": statuses["failed"],
        "progress_percent": _percent(statuses["done"], len(files)),
        "legacy_sites": sum(f["sites"] for f in files),
        "rewrites": rewrites,
        "todos": len(document["todos"]),
        "async_functions": len(document["async_functions"]),
        "blocked_functions": len(document["blocked_functions"]),
        "lazy_relationships": sum(1 for r in document["relationships"] if r["loads_lazily"]),
        "lazy_load_risks": len(document["lazy_load_risks"]),
        "lazy_load_risks_uncovered": len(uncovered),
        "estimate": {
            "automatic": rewrites,
            "manual": manual,
            "automatic_percent": _percent(rewrites, rewrites + manual),
        },
    }


def _by_kind(document: dict[str, Any]) -> list[dict[str, Any]]:
    rewrites: Counter[str] = Counter()
    todos: Counter[str] = Counter(t["pass"] for t in document["todos"])
    files: Counter[str] = Counter()
    for row in document["files"]:
        rewrites.update(row["rewrites"])
        files.update(set(row["rewrites"]))
    return [
        {"kind": kind, "rewrites": rewrites[kind], "todos": todos[kind], "files": files[kind]}
        for kind in sorted(set(rewrites) | set(todos), key=lambda k: (-rewrites[k] - todos[k], k))
    ]


def _by_package(document: dict[str, Any]) -> list[dict[str, Any]]:
    packages: dict[str, dict[str, Any]] = {}
    for row in document["files"]:
        entry = packages.setdefault(
            row["package"],
            {"package": row["package"], "files": 0, "done": 0, "manual": 0, "pending": 0}
            | {"failed": 0, "sites": 0, "rewrites": 0, "todos": 0},
        )
        entry["files"] += 1
        entry[row["status"]] += 1
        entry["sites"] += row["sites"]
        entry["rewrites"] += sum(row["rewrites"].values())
        entry["todos"] += row["todos"]
    for entry in packages.values():
        entry["progress_percent"] = _percent(entry["done"], entry["files"])
    return [packages[name] for name in sorted(packages)]


def _longest_chains(document: dict[str, Any]) -> list[dict[str, Any]]:
    ranked = sorted(document["async_functions"], key=lambda r: (-len(r["chain"]), r["function"]))
    return [
        {"function": r["function"], "path": r["path"], "line": r["line"], "chain": r["chain"]}
        for r in ranked[:LONGEST_CHAINS]
    ]


def _sort_rows(document: dict[str, Any]) -> None:
    for key, fields in ROW_KEYS.items():
        document[key] = sorted(document[key], key=lambda row: tuple(row[f] for f in fields))


def derive(document: dict[str, Any]) -> dict[str, Any]:
    """Sort the rows and (re)compute the aggregates from them."""
    _sort_rows(document)
    document["summary"] = _summary(document)
    document["by_kind"] = _by_kind(document)
    document["by_package"] = _by_package(document)
    document["longest_chains"] = _longest_chains(document)
    return document


def merge(documents: list[dict[str, Any]]) -> dict[str, Any]:
    """One document from several (the shards of one run)."""
    if not documents:
        raise MergeError("nothing to merge")
    first = documents[0]
    for document in documents:
        if document.get("kind") != REPORT_KIND:
            raise MergeError("not all documents are readiness reports")
        if document.get("target") != first.get("target"):
            raise MergeError("the reports were made for different targets")
    merged = {key: first[key] for key in ("tool", "version", "kind", "schema_version", "target")}
    merged["async_plan"] = all(d.get("async_plan") for d in documents)
    for key in ROW_KEYS:
        merged[key] = [row for d in documents for row in d[key]]
    paths = Counter(row["path"] for row in merged["files"])
    twice = sorted(path for path, count in paths.items() if count > 1)
    if twice:
        raise MergeError(f"files reported more than once: {', '.join(twice[:5])}")
    return derive(merged)
