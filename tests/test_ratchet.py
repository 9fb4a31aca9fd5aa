"""The ratchet: ``sqla-upgrade baseline`` and ``check --baseline``, and the sites behind it."""

from __future__ import annotations

import json
import os
from pathlib import Path

from typer.testing import CliRunner

from sqla_upgrade.cli.app import app
from sqla_upgrade.cli.sites import legacy_sites
from sqla_upgrade.codemods.transform import FileResult

runner = CliRunner()

SERVICE = """\
from sqlalchemy.orm import Session

from .models import Order, User


def active_users(session: Session):
    return session.query(User).filter(User.active == True).all()


def orders_of(session: Session, user_id):
    return session.query(Order).filter_by(user_id=user_id).order_by(Order.id).all()
"""

# the same legacy code after a colleague's unrelated work: a docstring and a helper
# above, the functions swapped, one of them reformatted and edited around its query
SERVICE_MOVED = '''\
"""Services."""
from sqlalchemy.orm import Session

from .models import Order, User

LIMIT = 10


def helper(value):
    return value * 2


def orders_of(session: Session, user_id):
    return (
        session.query(Order)
        .filter_by(user_id=user_id)
        .order_by(Order.id)
        .all()
    )


def active_users(session: Session):
    # only the active ones
    print("listing")
    return session.query(User).filter(User.active == True).all()
'''

NEW_QUERY = """

def newest_order(session: Session):
    return session.query(Order).order_by(Order.id.desc()).first()
"""


def invoke(*args: str):
    return runner.invoke(app, list(args))


def make_project(root: Path) -> Path:
    package = root / "shop"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "models.py").write_text(
        "from sqlalchemy.orm import DeclarativeBase\n\n\nclass Base(DeclarativeBase):\n    pass\n"
    )
    (package / "service.py").write_text(SERVICE)
    return package


def test_baseline_tolerates_moved_lines_and_flags_one_new_query(tmp_path: Path) -> None:
    package = make_project(tmp_path)
    baseline = tmp_path / "baseline.json"
    written = invoke("baseline", str(baseline), str(package), "--target", "2.0", "-j", "1")
    assert written.exit_code == 0, written.output
    entries = json.loads(baseline.read_text())["entries"]
    assert len(entries) == 2
    assert {e["path"] for e in entries} == {"shop/service.py"}
    assert invoke("check", str(package), "--target", "2.0").exit_code == 1  # legacy remains

    (package / "service.py").write_text(SERVICE_MOVED)
    moved = invoke("check", str(package), "--target", "2.0", "--baseline", str(baseline))
    assert moved.exit_code == 0, moved.output
    assert "0 new legacy sites, 2 known" in moved.output

    (package / "service.py").write_text(SERVICE_MOVED + NEW_QUERY)
    new_line = (
        (SERVICE_MOVED + NEW_QUERY)
        .splitlines()
        .index("    return session.query(Order).order_by(Order.id.desc()).first()")
    )
    flagged = invoke("check", str(package), "--target", "2.0", "--baseline", str(baseline))
    assert flagged.exit_code == 1
    new_lines = [line for line in flagged.output.splitlines() if "[baseline] new" in line]
    assert len(new_lines) == 1
    assert new_lines[0].startswith(f"{package / 'service.py'}:{new_line + 1}:1: [baseline] new")
    assert "session.query(Order).order_by(Order.id.desc()).first()" in new_lines[0]
    assert "1 new legacy sites, 2 known" in flagged.output

    github = invoke(
        "check", str(package), "--target", "2.0", "--baseline", str(baseline), "--format", "github"
    )
    assert github.exit_code == 1
    assert github.stdout.splitlines() == [
        f"::error file={package / 'service.py'},line={new_line + 1},title=sqla-upgrade::"
        "new legacy SQLAlchemy code (`sqla-upgrade apply` rewrites it): "
        "return session.query(Order).order_by(Order.id.desc()).first()"
    ]
    as_json = invoke(
        "check", str(package), "--target", "2.0", "--baseline", str(baseline), "--format", "json"
    )
    document = json.loads(as_json.stdout)
    assert document["baseline"]["known"] == 2
    assert [n["line"] for n in document["baseline"]["new"]] == [new_line + 1]


def test_refresh_drops_fixed_entries_and_keeps_files_not_scanned(tmp_path: Path) -> None:
    package = make_project(tmp_path)
    (package / "other.py").write_text(
        "def count(session):\n    return session.query(Order).count()\n"
    )
    baseline = tmp_path / "baseline.json"
    assert invoke("baseline", str(baseline), str(package), "--target", "2.0").exit_code == 0
    assert len(json.loads(baseline.read_text())["entries"]) == 3

    assert invoke("apply", str(package / "service.py"), "--target", "2.0").exit_code == 0
    only_service = invoke("baseline", str(baseline), str(package / "service.py"), "--target", "2.0")
    assert only_service.exit_code == 0, only_service.output
    assert "1 legacy sites recorded (0 added, 2 dropped)" in only_service.output
    entries = json.loads(baseline.read_text())["entries"]
    assert [e["path"] for e in entries] == ["shop/other.py"]  # not scanned: kept

    (package / "other.py").unlink()
    assert invoke("baseline", str(baseline), str(package), "--target", "2.0").exit_code == 0
    assert json.loads(baseline.read_text())["entries"] == []


def test_baseline_paths_do_not_depend_on_the_working_directory(tmp_path: Path) -> None:
    package = make_project(tmp_path)
    baseline = tmp_path / "baseline.json"
    assert invoke("baseline", str(baseline), str(package), "--target", "2.0").exit_code == 0
    first = baseline.read_text()
    previous = os.getcwd()
    try:
        os.chdir(package)
        assert invoke("baseline", "../baseline.json", ".", "--target", "2.0").exit_code == 0
        assert (
            invoke("check", ".", "--target", "2.0", "--baseline", "../baseline.json").exit_code == 0
        )
    finally:
        os.chdir(previous)
    assert baseline.read_text() == first


def test_baseline_errors_are_usage_errors(tmp_path: Path) -> None:
    package = make_project(tmp_path)
    missing = invoke("check", str(package), "--baseline", str(tmp_path / "none.json"))
    assert missing.exit_code == 2 and "no such baseline" in missing.output
    (tmp_path / "bad.json").write_text("{}")
    bad = invoke("check", str(package), "--baseline", str(tmp_path / "bad.json"))
    assert bad.exit_code == 2 and "not a sqla-upgrade baseline" in bad.output
    baseline = tmp_path / "baseline.json"
    assert invoke("baseline", str(baseline), str(package), "--target", "2.0").exit_code == 0
    other = invoke("check", str(package), "--target", "async", "--baseline", str(baseline))
    assert other.exit_code == 2 and "written for --target 2.0" in other.output
    stdin = runner.invoke(app, ["check", "-", "--baseline", str(baseline)], input="x = 1\n")
    assert stdin.exit_code == 2


def test_failed_files_still_fail_the_ratchet(tmp_path: Path) -> None:
    package = make_project(tmp_path)
    baseline = tmp_path / "baseline.json"
    assert invoke("baseline", str(baseline), str(package), "--target", "2.0").exit_code == 0
    (package / "broken.py").write_text("def broken(:\n")
    result = invoke("check", str(package), "--target", "2.0", "--baseline", str(baseline))
    assert result.exit_code == 3
    assert "broken.py: error: cannot parse" in result.output


# -- sites ---------------------------------------------------------------------------------------
def sites_of(old: str, new: str) -> list[tuple[int, str, str]]:
    result = FileResult(path="m.py", old=old.encode(), new=new.encode())
    return [(s.line, s.kind, s.text) for s in legacy_sites(result)]


def test_sites_are_statements_of_the_original_file() -> None:
    old = (
        "from sqlalchemy import Column\n"
        "@decorate\n"
        "def f(session: Session):\n"
        "    x = session.query(A).all()  # comment\n"
        "    return x\n"
    )
    new = (
        "from sqlalchemy import Column, select\n"
        "import asyncio\n"
        "@decorate\n"
        "async def f(session: AsyncSession):\n"
        "    x = (await session.scalars(select(A))).all()  # comment\n"
        "    # TODO(sqla-upgrade): check this\n"
        "    return x\n"
    )
    assert sites_of(old, new) == [
        (2, "rewrite", "@decorate\ndef f(session: Session):"),
        (4, "rewrite", "x = session.query(A).all()"),
        (5, "todo", "# TODO(sqla-upgrade): check this"),
    ]


def test_identical_statements_are_numbered_in_order() -> None:
    old = "a = q.all()\nb = 1\na = q.all()\n"
    new = "a = s.scalars(q).all()\nb = 1\na = s.scalars(q).all()\n"
    result = FileResult(path="m.py", old=old.encode(), new=new.encode())
    sites = legacy_sites(result)
    assert [(s.line, s.occurrence) for s in sites] == [(1, 0), (3, 1)]
    assert len({s.fingerprint("m.py") for s in sites}) == 2
    assert sites[0].fingerprint("m.py") != sites[0].fingerprint("other.py")


def test_unchanged_file_has_no_sites() -> None:
    assert legacy_sites(FileResult(path="m.py", old=b"x = 1\n")) == []
