"""Quiet modules: read without libcst under ``--target async``, promoted when they may
reach what the async plan changes (``analysis.quiet``)."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

from sqla_upgrade.api import migrate_project
from sqla_upgrade.codemods import staging, transform
from sqla_upgrade.codemods.analysis import quiet
from sqla_upgrade.codemods.analysis.async_plan import collect_io_facts
from sqla_upgrade.codemods.analysis.plans import AsyncPlan
from sqla_upgrade.codemods.base import FileState
from sqla_upgrade.codemods.index.builder import IndexBuilder
from sqla_upgrade.codemods.index.model import ProjectIndex
from sqla_upgrade.codemods.metadata import new_wrapper
from sqla_upgrade.codemods.options import Options
from sqla_upgrade.codemods.passes.async_main import AsyncMainPass
from sqla_upgrade.codemods.passes.awaits import AwaitPass

MODELS = """
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
"""

SERVICE = """
from app.models import User


def get_user(session, user_id):
    return session.get(User, user_id)
"""


def _project(modules: dict[str, str]) -> dict[str, str]:
    return {name: textwrap.dedent(code).lstrip("\n") for name, code in modules.items()}


#: the paths of the modules the last run read quietly in stage one
read_quietly: set[str] = set()


def _migrate(
    monkeypatch: pytest.MonkeyPatch, modules: dict[str, str], check: bool
) -> tuple[dict[str, str], set[str]]:
    """Every module's migrated code, and the paths the plan left quiet."""
    plans: list[AsyncPlan] = []
    real = staging.plan_with_promotions

    def remembered(index: Any, facts: Any, *args: Any) -> Any:
        read_quietly.clear()
        read_quietly.update(f.path for f in facts if f.quiet)
        plan = real(index, facts, *args)
        plans.append(plan)
        return plan

    monkeypatch.setattr(staging, "plan_with_promotions", remembered)
    monkeypatch.setattr(transform, "CHECK_PREFILTERS", check)
    migrated = migrate_project(_project(modules), target="async")
    quiet_paths = plans[-1].quiet_modules if plans else set()
    return {name: m.code for name, m in migrated.items()}, quiet_paths


def migrate(
    monkeypatch: pytest.MonkeyPatch, modules: dict[str, str]
) -> tuple[dict[str, str], set[str]]:
    """``modules`` with ``app.models`` migrated as a run does, checked against a run
    reading every module with libcst (``SQLA_UPGRADE_CHECK_PREFILTERS``: the same plan, no
    quiet module the await pass changes)."""
    modules = {"app.models": MODELS, **modules}
    codes, quiet_paths = _migrate(monkeypatch, modules, check=False)
    checked, checked_quiet = _migrate(monkeypatch, modules, check=True)
    assert codes == checked
    assert quiet_paths == checked_quiet
    for code in codes.values():
        compile(code, "<migrated>", "exec", dont_inherit=True)
    return codes, quiet_paths


# -- which modules are quiet ----------------------------------------------------------------


def _quiet(code: str, index: ProjectIndex | None = None) -> bool:
    source = textwrap.dedent(code).encode()
    return quiet.quiet_facts(source, "app.x", "app/x.py", index or ProjectIndex()) is not None


def test_plain_code_is_quiet() -> None:
    assert _quiet(
        """
        import json

        def dump(rows, out):
            # rows come from the session of the caller; the engine is elsewhere
            out.write(json.dumps([r.name for r in rows], default="session"))
        """
    )


@pytest.mark.parametrize(
    "code",
    [
        "def f(session):\n    return session.get(1)\n",
        "def f(db):\n    db.commit()\n",
        "class A:\n    def f(self):\n        self.db_session.commit()\n",
        "def f(s: UserSession):\n    pass\n",
        "def f(eng):\n    eng.dispose()\n",
        "def f(conn):\n    conn.close()\n",
        "with Connection() as c:\n    pass\n",
        "import sqlalchemy.orm as orm\n",
        "from flask_sqlalchemy import SQLAlchemy\n",
        "client = TestClient(app)\n",
    ],
)
def test_names_that_may_be_evidence_of_io_are_not_quiet(code: str) -> None:
    assert not _quiet(code)


def _index(modules: dict[str, str]) -> ProjectIndex:
    builder = IndexBuilder()
    for name, code in _project(modules).items():
        builder.add(code.encode(), name, name.replace(".", "/") + ".py", False)
    return builder.build()


def test_the_index_objects_and_the_names_they_are_imported_as_are_not_quiet() -> None:
    index = _index(
        {
            "app.database": """
            from sqlalchemy import create_engine
            from sqlalchemy.orm import sessionmaker
            SessionLocal = sessionmaker(bind=create_engine("sqlite://"))
            """,
            "app.api": "from app.database import SessionLocal as Maker\n",
        }
    )
    assert not _quiet("from app import database\nx = database.SessionLocal()\n", index)
    assert not _quiet("from app.api import Maker\nx = Maker()\n", index)
    assert _quiet("from app import api\nx = api.other()\n", index)


def test_a_file_in_another_encoding_with_non_ascii_bytes_is_not_quiet() -> None:
    latin = "# -*- coding: latin-1 -*-\ncaf\u00e9 = 1\n".encode("latin-1")
    assert quiet.quiet_facts(latin, "m", "m.py", ProjectIndex()) is None
    utf8 = "caf\u00e9 = 1\n".encode()
    assert quiet.quiet_facts(utf8, "m", "m.py", ProjectIndex()) is not None


def test_code_python_cannot_parse_is_not_quiet() -> None:
    assert quiet.quiet_facts(b"def f(:\n", "m", "m.py", ProjectIndex()) is None


SOURCES = sorted((Path(__file__).parents[1] / "sqla_upgrade" / "codemods").glob("*.py"))


@pytest.mark.parametrize("path", SOURCES[::3], ids=lambda p: p.name)
def test_the_attribute_reads_are_those_libcst_gives(path: Path) -> None:
    """The quiet facts' one fact the plans read, against the libcst collector's."""
    import libcst as cst

    code = path.read_bytes()
    names, reads = quiet._names_and_reads(__import__("ast").parse(code))
    index = ProjectIndex()
    state = FileState(path=str(path), module_name="m", index=index, options=Options())
    facts = collect_io_facts(new_wrapper(cst.parse_module(code)), state)
    assert reads == facts.attribute_reads
    assert reads <= names


@pytest.mark.parametrize("pass_cls", [AwaitPass, AsyncMainPass])
def test_the_await_and_async_main_passes_decline_the_quiet_modules(pass_cls: Any) -> None:
    index = ProjectIndex()
    assert pass_cls.concerns(b"", "app/helpers.py", index)  # no plan yet
    index.async_plan = AsyncPlan(quiet_modules={"app/helpers.py"})
    assert not pass_cls.concerns(b"", "app/helpers.py", index)
    assert pass_cls.concerns(b"", "app/views.py", index)


# -- promotions ----------------------------------------------------------------------------


def test_a_module_reaching_nothing_async_stays_quiet_and_unchanged(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    helpers = """
    def slug(title):
        return title.lower().replace(" ", "-")


    if __name__ == "__main__":
        print(slug("Hello world"))
    """
    codes, quiet_paths = migrate(monkeypatch, {"app.service": SERVICE, "app.helpers": helpers})
    assert quiet_paths == {"app/helpers.py"}
    assert codes["app.helpers"] == _project({"h": helpers})["h"]
    assert "async def get_user" in codes["app.service"]


def test_a_quiet_module_calling_what_became_async_is_promoted_and_awaits_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    codes, quiet_paths = migrate(
        monkeypatch,
        {
            "app.service": SERVICE,
            "app.helpers": """
            from app.service import get_user

            def show(s, user_id):
                return get_user(s, user_id).id
            """,
        },
    )
    assert quiet_paths == set() and read_quietly == {"app/helpers.py"}
    assert codes["app.helpers"].endswith(
        "async def show(s, user_id):\n    return (await get_user(s, user_id)).id\n"
    )


def test_a_call_through_a_name_a_re_export_gives_is_promoted(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    codes, quiet_paths = migrate(
        monkeypatch,
        {
            "app.service": SERVICE,
            "app.api": "from app.service import get_user as fetch\n",
            "app.helpers": """
            from app.api import fetch

            def show(s, user_id):
                return fetch(s, user_id)
            """,
            "app.cli": """
            from app.helpers import show

            def main(s):
                print(show(s, 1))
            """,
        },
    )
    assert quiet_paths == set()  # the re-export spells ``get_user``: promoted too
    assert read_quietly == {"app/api.py", "app/helpers.py", "app/cli.py"}
    assert "    return await fetch(s, user_id)\n" in codes["app.helpers"]
    assert "async def main(s):\n    print(await show(s, 1))\n" in codes["app.cli"]


def test_a_call_of_a_function_passed_under_a_name_is_promoted(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    codes, quiet_paths = migrate(
        monkeypatch,
        {
            "app.service": SERVICE
            + "\n\ndef register(parser):\n    parser.set_defaults(func=get_user)\n",
            "app.commands": """
            def dispatch(args, s):
                return args.func(s, 1)
            """,
        },
    )
    assert quiet_paths == set() and read_quietly == {"app/commands.py"}
    assert "    return await args.func(s, 1)\n" in codes["app.commands"]


def test_quiet_modules_calling_or_handing_over_a_table_of_async_functions_are_promoted(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A table of functions that become async, imported by modules that spell none of
    them: the one calling through it awaits, the one handing it over gets a TODO."""
    codes, quiet_paths = migrate(
        monkeypatch,
        {
            "app.service": SERVICE + '\n\nHANDLERS = {"get": get_user}\n',
            "app.commands": """
            from app.service import HANDLERS

            def dispatch(s, action):
                return HANDLERS[action](s, 1)
            """,
            "app.registry": """
            from app.service import HANDLERS

            def install(registry):
                registry.extend(HANDLERS)
            """,
        },
    )
    assert quiet_paths == set() and read_quietly == {"app/commands.py", "app/registry.py"}
    assert "    return await HANDLERS[action](s, 1)\n" in codes["app.commands"]
    assert (
        "HANDLERS holds get_user, async now, and is handed to registry.extend()"
        in (codes["app.registry"])
    )


def test_a_decorator_of_async_functions_defined_in_a_quiet_module_gets_an_async_wrapper(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    codes, quiet_paths = migrate(
        monkeypatch,
        {
            "app.decorators": """
            import functools

            def logged(function):
                @functools.wraps(function)
                def wrapper(*args, **kwargs):
                    print(function.__name__)
                    return function(*args, **kwargs)
                return wrapper
            """,
            "app.service": """
            from app.decorators import logged
            from app.models import User

            @logged
            def get_user(session, user_id):
                return session.get(User, user_id)
            """,
        },
    )
    assert quiet_paths == set() and read_quietly == {"app/decorators.py"}
    assert "    async def wrapper(*args, **kwargs):" in codes["app.decorators"]
    assert "        return await function(*args, **kwargs)" in codes["app.decorators"]


def test_a_quiet_method_of_the_same_name_keeps_calls_on_unknown_objects_unawaited(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    codes, _ = migrate(
        monkeypatch,
        {
            "app.service": """
            from app.models import User

            class Repository:
                def __init__(self, session):
                    self.session = session

                def follow(self, user_id):
                    return self.session.get(User, user_id)

            def run(thing):
                return thing.follow(1)
            """,
            "app.feeds": """
            class Feed:
                def follow(self, url):
                    return url
            """,
        },
    )
    assert read_quietly == {"app/feeds.py"}
    assert "async def follow(self, user_id)" in codes["app.service"]
    assert "some functions or methods called as 'follow' are async now" in codes["app.service"]
    assert "await thing.follow" not in codes["app.service"]


# -- across runs ---------------------------------------------------------------------------

DB = "from sqlalchemy.orm import sessionmaker\n\nmake = sessionmaker()\n"
PLAIN_ADD = "def add(a, b):\n    return a + b\n"
ADD_WITH_IO = (
    "from app.db import make\n\n\n"
    "def add(a, b):\n    s = make()\n    s.commit()\n    return a + b\n"
)
REPORT = "from app.plain import add\n\n\ndef total(a, b):\n    return add(a, b)\n"


def _run_project(project: Path, cache_dir: Path | None, jobs: int) -> dict[str, bytes | None]:
    from sqla_upgrade.codemods.runner import run

    options = Options(target="async", jobs=jobs, cache_dir=cache_dir)
    report = run([project], options)
    assert not report.failed
    return {Path(r.path).name: r.new for r in report.results}


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_cached_quiet_module_is_promoted_when_its_callee_becomes_async(
    tmp_path: Path, jobs: int
) -> None:
    app = tmp_path / "proj" / "app"
    app.mkdir(parents=True)
    for name, code in {"__init__": "", "db": DB, "plain": PLAIN_ADD, "report": REPORT}.items():
        (app / f"{name}.py").write_text(code)
    cache_dir = tmp_path / "cache"
    first = _run_project(app.parent, cache_dir, jobs)
    assert first["report.py"] is None and first["plain.py"] is None
    (app / "plain.py").write_text(ADD_WITH_IO)  # report.py itself is unchanged
    warm = _run_project(app.parent, cache_dir, jobs)
    assert warm == _run_project(app.parent, None, jobs)
    assert warm["report.py"] == (
        b"from app.plain import add\n\n\nasync def total(a, b):\n    return await add(a, b)\n"
    )
