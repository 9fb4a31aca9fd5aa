"""``sqla-upgrade report``: every format, numbers from the real analysis, and the HTML page
rendered by a real headless Chromium (a missing browser fails under CI=true)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from typer.testing import CliRunner

from sqla_upgrade.cli.app import app
from sqla_upgrade.cli.report_render import KIND_COLOURS, STATUS_COLOURS
from tests.test_ci_output import schema

runner = CliRunner()

MODELS = """\
from sqlalchemy import Column, ForeignKey, Integer, create_engine
from sqlalchemy.orm import declarative_base, relationship, sessionmaker

Base = declarative_base()
engine = create_engine("sqlite://")
Session = sessionmaker(bind=engine)


class Customer(Base):
    __tablename__ = "customer"
    id = Column(Integer, primary_key=True)


class Order(Base):
    __tablename__ = "orders"
    id = Column(Integer, primary_key=True)
    customer_id = Column(ForeignKey("customer.id"))
    customer = relationship("Customer")
    lines = relationship("Line", back_populates="order", lazy="dynamic")
    notes = relationship("Note")


class Line(Base):
    __tablename__ = "line"
    id = Column(Integer, primary_key=True)
    order_id = Column(ForeignKey("orders.id"))
    order = relationship("Order", back_populates="lines", lazy="joined")


class Note(Base):
    __tablename__ = "note"
    id = Column(Integer, primary_key=True)
    order_id = Column(ForeignKey("orders.id"))
"""
SERVICE = """\
from .models import Order, Session


def get_order(order_id):
    with Session() as session:
        return session.query(Order).get(order_id)


def customer_of(order_id):
    with Session() as session:
        order = session.query(Order).get(order_id)
    return order.customer


def union_of(session):
    return session.query(Order).union(session.query(Order)).all()
"""
VIEWS = """\
from shop.service import get_order


def show(order_id):
    order = get_order(order_id)
    return [line.id for line in order.lines]
"""
CI_ENV = "CI"


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("report") / "proj"
    (root / "shop").mkdir(parents=True)
    (root / "tools").mkdir()
    (root / "shop" / "__init__.py").write_text("")
    (root / "shop" / "models.py").write_text(MODELS)
    (root / "shop" / "service.py").write_text(SERVICE)
    (root / "shop" / "views.py").write_text(VIEWS)
    (root / "tools" / "clean.py").write_text("print('nothing to do')\n")
    (root / "tools" / "broken.py").write_text("def broken(:\n")
    return root


def report(root: Path, output_format: str) -> str:
    result = runner.invoke(app, ["report", str(root), "--format", output_format, "-j", "1"])
    assert result.exit_code == 0, result.output
    return result.stdout


@pytest.fixture(scope="module")
def document(shop: Path) -> dict[str, Any]:
    return json.loads(report(shop, "json"))


def test_json_report_follows_its_schema(document: dict[str, Any]) -> None:
    jsonschema.Draft202012Validator(schema("readiness-report.schema.json")).validate(document)


def test_numbers_come_from_the_run(shop: Path, document: dict[str, Any]) -> None:
    diff = runner.invoke(app, ["diff", str(shop), "--format", "json", "-j", "1"])
    run = json.loads(diff.stdout)
    summary = document["summary"]
    assert summary["files_scanned"] == run["summary"]["files_scanned"] == 6
    assert summary["rewrites"] == sum(run["summary"]["rewrites"].values())
    assert summary["todos"] == run["summary"]["todos"] > 0
    assert summary["files_failed"] == 1 and summary["files_pending"] == 3
    assert summary["files_done"] == 2  # tools/clean.py and shop/__init__.py
    assert summary["progress_percent"] == round(100 * 2 / 6, 1)
    kinds = {k["kind"]: k for k in document["by_kind"]}
    assert {name: k["rewrites"] for name, k in kinds.items() if k["rewrites"]} == run["summary"][
        "rewrites"
    ]
    functions = [f["function"] for f in document["async_functions"]]
    assert functions == [f["function"] for f in run["async_functions"]]
    assert document["longest_chains"][0]["function"] == "shop.views.show"
    assert document["longest_chains"][0]["chain"][:2] == [
        "shop.views.show",
        "shop.service.get_order",
    ]
    packages = {p["package"]: p for p in document["by_package"]}
    assert packages["shop"]["files"] == 4 and packages["shop"]["pending"] == 3
    assert packages["tools/"]["failed"] == 1 and packages["tools/"]["done"] == 1


def test_lazy_load_risks(document: dict[str, Any]) -> None:
    risks = {
        (Path(r["path"]).name, r["line"], r["expression"]): r for r in document["lazy_load_risks"]
    }
    assert set(risks) == {("service.py", 12, "order.customer"), ("views.py", 6, "order.lines")}
    assert risks[("service.py", 12, "order.customer")]["covered"] is True  # selectin under async
    assert risks[("views.py", 6, "order.lines")]["covered"] is False  # lazy="dynamic"
    assert "returned by get_order()" in risks[("views.py", 6, "order.lines")]["reason"]
    lazy = {(r["model"], r["name"]) for r in document["relationships"] if r["loads_lazily"]}
    assert lazy == {("Order", "lines"), ("Order", "notes")}  # dynamic; never read
    summary = document["summary"]
    assert summary["lazy_load_risks"] == 2 and summary["lazy_load_risks_uncovered"] == 1
    estimate = summary["estimate"]
    assert estimate["automatic"] == summary["rewrites"]
    assert estimate["manual"] == summary["todos"] + summary["blocked_functions"] + 1 + 1


def test_text_and_markdown(shop: Path, document: dict[str, Any]) -> None:
    text = report(shop, "text")
    assert f"legacy sites pending                     {document['summary']['legacy_sites']}" in text
    assert "Longest async propagation chains" in text and "shop.views.show → get_order" in text
    markdown = report(shop, "markdown")
    assert markdown.startswith("# SQLAlchemy migration readiness")
    assert "| kind (pass) | rewrites | TODOs | files |" in markdown
    assert re.search(
        r"\| views\.py:6 \| order\.lines \|", markdown.replace(str(shop / "shop") + "/", "")
    )


def test_target_2_0_says_the_async_sections_need_async(shop: Path) -> None:
    result = runner.invoke(app, ["report", str(shop), "--target", "2.0", "--format", "markdown"])
    assert result.exit_code == 0
    assert "The async analysis runs with --target async" in result.stdout


def test_html_is_one_self_contained_file(shop: Path, tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    result = runner.invoke(app, ["report", str(shop), "--format", "html", "-o", str(page)])
    assert result.exit_code == 0 and result.stdout == ""
    html = page.read_text()
    assert html.startswith("<!DOCTYPE html>") and html.rstrip().endswith("</html>")
    assert "<script" not in html
    assert not re.search(r"""(src|href)\s*=|url\(|@import""", html)
    assert html.count("<svg") == 2


# -- a real browser ------------------------------------------------------------------------------
def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    reason = "headless Chromium is not installed (apt-get install chromium)"
    if os.environ.get(CI_ENV, "").strip().lower() == "true":
        pytest.fail(f"{reason}; CI=true: a missing browser is a failure", pytrace=False)
    pytest.skip(reason)


def run_chromium(binary: str, page: Path, *args: str) -> subprocess.CompletedProcess[str]:
    with tempfile.TemporaryDirectory() as profile:
        return subprocess.run(
            [
                binary,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                f"--user-data-dir={profile}",
                *args,
                page.as_uri(),
            ],
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )


def rgb(colour: str) -> tuple[int, int, int]:
    return (int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16))


def test_html_report_in_headless_chromium(
    shop: Path, document: dict[str, Any], tmp_path: Path
) -> None:
    from PIL import Image

    binary = chromium()
    page = tmp_path / "report.html"
    assert (
        runner.invoke(app, ["report", str(shop), "--format", "html", "-o", str(page)]).exit_code
        == 0
    )

    dom = run_chromium(binary, page, "--dump-dom")
    assert dom.returncode == 0, dom.stderr[-2000:]
    for key in ("files_scanned", "legacy_sites", "rewrites", "todos", "lazy_load_risks"):
        value = document["summary"][key]
        assert re.search(rf'id="summary-{key}" data-value="{value}">{value}<', dom.stdout), key
    assert 'id="chart-packages"' in dom.stdout and 'id="chart-kinds"' in dom.stdout
    assert len(re.findall(r"<rect ", dom.stdout)) >= 4
    assert "order.lines" in dom.stdout and "shop.views.show → get_order" in dom.stdout

    shot = tmp_path / "report.png"
    taken = run_chromium(binary, page, f"--screenshot={shot}", "--window-size=1280,1600")
    assert taken.returncode == 0 and shot.is_file(), taken.stderr[-2000:]
    with Image.open(shot) as image:
        pixels = image.convert("RGB")
        assert pixels.size == (1280, 1600)
        colours = pixels.getcolors(maxcolors=1 << 24) or []
    assert len(colours) >= 20  # text, cards, tables, bars: far from a blank page
    present = {colour for _, colour in colours}
    for chart_colour in (
        STATUS_COLOURS["done"],
        STATUS_COLOURS["pending"],
        KIND_COLOURS["rewrites"],
    ):
        assert rgb(chart_colour) in present, chart_colour
    background = max(colours)[0] / (1280 * 1600)
    assert background < 0.97  # something besides the background fills the page
