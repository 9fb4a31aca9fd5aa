"""The readiness report as text, Markdown or one self-contained HTML page.

All three render the same document (``readiness.build`` / ``readiness.merge``). The HTML
page has no scripts and no external resources: styles are inline and the charts are
inline SVG, so the file can be mailed or archived as a CI artifact and opened anywhere.
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable
from typing import Any

STATUS_COLOURS = {
    "done": "#2e7d32",
    "manual": "#f9a825",
    "pending": "#ef6c00",
    "failed": "#c62828",
}
KIND_COLOURS = {"rewrites": "#1565c0", "todos": "#f9a825"}
SUMMARY_LABELS = (
    ("files_scanned", "files scanned"),
    ("progress_percent", "% of files with nothing left to migrate"),
    ("legacy_sites", "legacy sites pending"),
    ("rewrites", "automatic rewrites"),
    ("todos", "TODOs left for a person"),
    ("async_functions", "functions that become async"),
    ("lazy_load_risks", "lazy-load risk sites"),
    ("files_failed", "files that failed"),
)
NOT_ASYNC = "The async analysis runs with --target async; this report is for --target 2.0."


def _chain(row: dict[str, Any]) -> str:
    return " → ".join(step.rsplit(".", 1)[-1] if i else step for i, step in enumerate(row["chain"]))


def _where(row: dict[str, Any]) -> str:
    return f"{row['path']}:{row['line']}"


# -- shared section tables ---------------------------------------------------------------------
Table = tuple[str, list[str], list[list[str]], str]  # title, header, rows, text when empty


def _tables(document: dict[str, Any]) -> list[Table]:
    estimate = document["summary"]["estimate"]
    async_note = "" if document["async_plan"] else NOT_ASYNC
    return [
        (
            "Automatic vs manual",
            ["automatic rewrites", "items for a person", "automatic share"],
            [
                [
                    str(estimate["automatic"]),
                    str(estimate["manual"]),
                    f"{estimate['automatic_percent']}%",
                ]
            ],
            "",
        ),
        (
            "Legacy constructs by kind",
            ["kind (pass)", "rewrites", "TODOs", "files"],
            [
                [k["kind"], str(k["rewrites"]), str(k["todos"]), str(k["files"])]
                for k in document["by_kind"]
            ],
            "No legacy constructs left.",
        ),
        (
            "Progress by package",
            ["package", "files", "done", "TODOs only", "pending", "failed", "sites", "progress"],
            [_package_row(p) for p in document["by_package"]],
            "No files.",
        ),
        (
            "Lazy-load risk sites",
            ["where", "read", "relationship", "why", "eager under async"],
            [_risk_row(r) for r in document["lazy_load_risks"]],
            "No relationship read after its session scope was found.",
        ),
        (
            "Relationships that load lazily",
            ["where", "relationship", "lazy", "read in the project"],
            [
                [_where(r), f"{r['model']}.{r['name']}", r["lazy"], _yes_no(r["read"])]
                for r in document["relationships"]
                if r["loads_lazily"]
            ],
            async_note or "None: every relationship read is loaded eagerly under async.",
        ),
        (
            "Longest async propagation chains",
            ["length", "where", "chain down to the I/O"],
            [[str(len(r["chain"])), _where(r), _chain(r)] for r in document["longest_chains"]],
            async_note or "No function becomes async.",
        ),
        (
            "Functions that cannot become async",
            ["where", "function", "why"],
            [[_where(r), r["function"], r["why"]] for r in document["blocked_functions"]],
            async_note or "None.",
        ),
        (
            "TODOs the tool leaves",
            ["where", "pass", "message"],
            [[_where(t), t["pass"], t["message"]] for t in document["todos"]],
            "None.",
        ),
        (
            "Files that failed",
            ["file", "error"],
            [[f["path"], f["error"] or ""] for f in document["files"] if f["status"] == "failed"],
            "None.",
        ),
    ]


def _package_row(package: dict[str, Any]) -> list[str]:
    counts = ("files", "done", "manual", "pending", "failed", "sites")
    return [
        package["package"],
        *(str(package[c]) for c in counts),
        f"{package['progress_percent']}%",
    ]


def _risk_row(risk: dict[str, Any]) -> list[str]:
    relationships = ", ".join(risk["relationships"])
    covered = "yes" if risk["covered"] else "NO"
    return [_where(risk), risk["expression"], relationships, risk["reason"], covered]


def _yes_no(value: bool | None) -> str:
    return "unknown" if value is None else ("yes" if value else "no")


def _summary_lines(document: dict[str, Any]) -> list[tuple[str, str]]:
    summary = document["summary"]
    return [(label, str(summary[key])) for key, label in SUMMARY_LABELS]


# -- text ---------------------------------------------------------------------------------------
def _text_table(header: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(c) for c in column) for column in zip(header, *rows, strict=True)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(header, widths, strict=True)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    lines += [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in rows
    ]
    return lines


def to_text(document: dict[str, Any]) -> str:
    lines = [f"sqla-upgrade readiness report (--target {document['target']})", ""]
    width = max(len(label) for label, _ in _summary_lines(document))
    lines += [f"{label.ljust(width)}  {value}" for label, value in _summary_lines(document)]
    for title, header, rows, empty in _tables(document):
        lines += ["", title, "=" * len(title)]
        lines += _text_table(header, rows) if rows else [empty]
    return "\n".join(lines) + "\n"


# -- Markdown -----------------------------------------------------------------------------------
def _md_cell(value: str) -> str:
    return value.replace("|", "\\|").replace("\n", " ")


def to_markdown(document: dict[str, Any]) -> str:
    lines = [f"# SQLAlchemy migration readiness (`--target {document['target']}`)", ""]
    lines += ["| | |", "|---|---:|"]
    lines += [f"| {label} | {value} |" for label, value in _summary_lines(document)]
    for title, header, rows, empty in _tables(document):
        lines += ["", f"## {title}", ""]
        if not rows:
            lines.append(empty)
            continue
        lines.append("| " + " | ".join(header) + " |")
        lines.append("|" + "---|" * len(header))
        lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


# -- HTML ---------------------------------------------------------------------------------------
CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:2rem;color:#212121;background:#fafafa}
h1{font-size:1.6rem}h2{font-size:1.2rem;margin-top:2rem;border-bottom:2px solid #1565c0}
.cards{display:flex;flex-wrap:wrap;gap:.8rem}
.card{background:#fff;border:1px solid #ddd;border-radius:6px;padding:.7rem 1rem;min-width:9rem}
.card .value{font-size:1.6rem;font-weight:700;color:#1565c0}.card .label{font-size:.8rem;color:#555}
table{border-collapse:collapse;background:#fff;margin-top:.5rem}
th,td{border:1px solid #ddd;padding:.3rem .6rem;text-align:left;font-size:.85rem;vertical-align:top}
th{background:#e3f2fd}td.bad{color:#c62828;font-weight:700}.empty{color:#555;font-style:italic}
.legend span{display:inline-block;margin-right:1rem;font-size:.8rem}
.swatch{display:inline-block;width:.8rem;height:.8rem;margin-right:.3rem;vertical-align:middle}
"""
BAR_HEIGHT = 22
LABEL_WIDTH = 260
CHART_WIDTH = 460


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _cards(document: dict[str, Any]) -> str:
    summary = document["summary"]
    cards = [
        f'<div class="card"><div class="value" id="summary-{key}" data-value="{_e(summary[key])}">'
        f'{_e(summary[key])}</div><div class="label">{_e(label)}</div></div>'
        for key, label in SUMMARY_LABELS
    ]
    return '<div class="cards">' + "".join(cards) + "</div>"


def _legend(colours: dict[str, str], labels: dict[str, str]) -> str:
    spans = [
        f'<span><i class="swatch" style="background:{colour}"></i>{_e(labels[key])}</span>'
        for key, colour in colours.items()
    ]
    return '<div class="legend">' + "".join(spans) + "</div>"


def _stacked_bars(
    chart_id: str,
    rows: list[tuple[str, list[tuple[str, int]], str]],
    colours: dict[str, str],
) -> str:
    """Horizontal stacked bars: one row per (label, [(part, amount)], caption)."""
    height = BAR_HEIGHT * len(rows) + 10
    total_width = LABEL_WIDTH + CHART_WIDTH + 200
    biggest = max((sum(a for _, a in parts) for _, parts, _ in rows), default=0) or 1
    shapes = []
    for number, (label, parts, caption) in enumerate(rows):
        y = 5 + number * BAR_HEIGHT
        shapes.append(
            f'<text x="{LABEL_WIDTH - 8}" y="{y + 15}" text-anchor="end" font-size="12">{_e(label)}</text>'
        )
        x = float(LABEL_WIDTH)
        for part, amount in parts:
            width = CHART_WIDTH * amount / biggest
            if width > 0:
                shapes.append(
                    f'<rect x="{x:.1f}" y="{y + 3}" width="{width:.1f}" height="{BAR_HEIGHT - 6}" '
                    f'fill="{colours[part]}" data-part="{_e(part)}" data-amount="{amount}"/>'
                )
            x += width
        shapes.append(f'<text x="{x + 6:.1f}" y="{y + 15}" font-size="12">{_e(caption)}</text>')
    return (
        f'<svg id="{chart_id}" role="img" width="{total_width}" height="{height}" '
        f'xmlns="http://www.w3.org/2000/svg">' + "".join(shapes) + "</svg>"
    )


def _package_chart(document: dict[str, Any]) -> str:
    rows = [
        (
            p["package"],
            [(status, p[status]) for status in STATUS_COLOURS],
            f"{p['done']}/{p['files']} files done ({p['progress_percent']}%)",
        )
        for p in document["by_package"]
    ]
    labels = {"done": "nothing left", "manual": "TODOs only", "pending": "rewrites pending"}
    labels["failed"] = "failed"
    return _legend(STATUS_COLOURS, labels) + _stacked_bars("chart-packages", rows, STATUS_COLOURS)


def _kind_chart(document: dict[str, Any]) -> str:
    rows = [
        (
            k["kind"],
            [("rewrites", k["rewrites"]), ("todos", k["todos"])],
            f"{k['rewrites']} + {k['todos']} TODO",
        )
        for k in document["by_kind"]
    ]
    legend = _legend(KIND_COLOURS, {"rewrites": "automatic rewrites", "todos": "TODOs"})
    return legend + _stacked_bars("chart-kinds", rows, KIND_COLOURS)


def _html_table(table_id: str, header: list[str], rows: list[list[str]], empty: str) -> str:
    if not rows:
        return f'<p class="empty" id="{table_id}">{_e(empty)}</p>'
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td{_cell_class(c)}>{_e(c)}</td>" for c in row) + "</tr>" for row in rows
    )
    return f'<table id="{table_id}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _cell_class(value: str) -> str:
    return ' class="bad"' if value == "NO" else ""


def _slug(title: str) -> str:
    return "table-" + "-".join(title.lower().replace("-", " ").split())


def to_html(document: dict[str, Any]) -> str:
    title = f"SQLAlchemy migration readiness (--target {document['target']})"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{_e(title)}</title><style>{CSS}</style></head><body>",
        f"<h1>{_e(title)}</h1>",
        f"<p>sqla-upgrade {_e(document['version'])}: {_e(document['summary']['files_scanned'])} files.</p>",
        _cards(document),
    ]
    charts = {"Progress by package": _package_chart, "Legacy constructs by kind": _kind_chart}
    for table_title, header, rows, empty in _tables(document):
        parts.append(f"<h2>{_e(table_title)}</h2>")
        if table_title in charts and rows:
            parts.append(charts[table_title](document))
        parts.append(_html_table(_slug(table_title), header, rows, empty))
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def to_json(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


RENDERERS: dict[str, Callable[[dict[str, Any]], str]] = {
    "text": to_text,
    "json": to_json,
    "markdown": to_markdown,
    "html": to_html,
}
