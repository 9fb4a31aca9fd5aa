"""Functions declared as entry points that become async get a TODO (``--target async``).

A console script (``[project.scripts]``), a PasteDeploy ``paste.app_factory`` or any entry
point of ``pyproject.toml``, ``setup.cfg`` or ``setup.py`` is called synchronously by its
launcher: made ``async def``, the function hands it a coroutine nobody awaits and the
program silently does nothing. Such a function says so in a TODO (and the report).
"""

from __future__ import annotations

import textwrap
from pathlib import Path

from sqla_upgrade.codemods.notes import Note
from sqla_upgrade.codemods.options import Options
from sqla_upgrade.codemods.runner import run

CLI = """
    from sqlalchemy import create_engine, text
    from sqlalchemy.orm import Session

    engine = create_engine("sqlite://")


    def main():
        with Session(engine) as session:
            print(session.execute(text("select 1")).scalar())


    def version():
        print("1.0")
"""
TODO_PREFIX = "# TODO(sqla-upgrade): "


def _todo(name: str, where: str) -> str:
    return (
        f"{name} is async now but is declared as an entry point ({where}), which its launcher "
        "calls synchronously: the entry point must run it with asyncio.run(), through a "
        f"synchronous function calling asyncio.run({name}(...))"
    )


def _migrated_cli(todo: str | None) -> str:
    comment = f"{TODO_PREFIX}{todo}\n" if todo else ""
    return (
        textwrap.dedent(
            """
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

    engine = create_async_engine("sqlite+aiosqlite://")


    COMMENTasync def main():
        async with AsyncSession(engine, expire_on_commit=False) as session:
            print((await session.execute(text("select 1"))).scalar())


    def version():
        print("1.0")
"""
        )
        .lstrip("\n")
        .replace("COMMENT", comment)
    )


def _write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"))


def _migrate(root: Path, *paths: str) -> tuple[dict[str, str], list[Note]]:
    """The async run over ``paths`` of ``root`` (all of it by default): path (relative)
    → code, and the notes; each file compiles and a second run changes nothing."""
    roots = [root / p for p in paths] or [root]
    report = run(roots, Options(target="async"))
    for result in report.results:
        assert result.error is None, result.error
        if result.new is not None:
            Path(result.path).write_bytes(result.new)
    files = {
        Path(r.path).relative_to(root).as_posix(): (r.new or r.old).decode() for r in report.results
    }
    for code in files.values():
        compile(code, "migrated", "exec", dont_inherit=True)
    again = run(roots, Options(target="async"))
    assert not [r.path for r in again.results if r.changed], "a second run changed the code"
    return files, [note for r in report.results for note in r.notes]


def _todos(notes: list[Note]) -> list[str]:
    return [note.message for note in notes if note.kind == "todo"]


def test_a_console_script_of_pyproject_gets_the_todo(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "pyproject.toml": """
                [project]
                name = "tool"
                version = "1"

                [project.scripts]
                tool-count = "tool.cli:main"
                tool-version = "tool.cli:version"
            """,
            "src/tool/__init__.py": "",
            "src/tool/cli.py": CLI,
        },
    )
    todo = _todo("main", "`tool-count` in [project.scripts] of pyproject.toml")
    files, notes = _migrate(tmp_path, "src")
    assert files["src/tool/cli.py"] == _migrated_cli(todo)
    assert _todos(notes) == [todo]


def test_an_entry_point_group_of_pyproject_through_a_re_export(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "pyproject.toml": """
                [project]
                name = "tool"

                [project.gui-scripts]
                tool-gui = "tool:version"

                [project.entry-points."tool.plugins"]
                count = "tool:main [extra]"
            """,
            "tool/__init__.py": "from .cli import main, version\n",
            "tool/cli.py": CLI,
        },
    )
    todo = _todo("main", "`count` of tool.plugins in [project.entry-points] of pyproject.toml")
    files, notes = _migrate(tmp_path, "tool")
    assert files["tool/cli.py"] == _migrated_cli(todo)
    assert _todos(notes) == [todo]


def test_an_entry_point_of_setup_cfg(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "setup.cfg": """
                [metadata]
                name = tool

                [options.entry_points]
                console_scripts =
                    tool-version = tool.cli:version
                    tool-count = tool.cli:main
            """,
            "tool/__init__.py": "",
            "tool/cli.py": CLI,
        },
    )
    todo = _todo("main", "`tool-count` of console_scripts in [options.entry_points] of setup.cfg")
    files, notes = _migrate(tmp_path)
    assert files["tool/cli.py"] == _migrated_cli(todo)
    assert _todos(notes) == [todo]


def test_a_paste_app_factory_of_setup_py(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "setup.py": """
                from setuptools import setup

                ENTRY_POINTS = {
                    "paste.app_factory": ["main = tool:main"],
                    "console_scripts": "tool-version = tool.cli:version",
                }

                setup(name="tool", entry_points=ENTRY_POINTS)
            """,
            "tool/__init__.py": "from tool.cli import main\n",
            "tool/cli.py": CLI,
        },
    )
    todo = _todo("main", "`main` of paste.app_factory in entry_points of setup.py")
    files, notes = _migrate(tmp_path, "tool")
    assert files["tool/cli.py"] == _migrated_cli(todo)
    assert _todos(notes) == [todo]
    assert "setup.py" not in files  # above the root given: read, never migrated


def test_an_ini_string_of_setup_py_and_a_method(tmp_path: Path) -> None:
    cli = textwrap.dedent(CLI).lstrip("\n") + textwrap.dedent(
        """


        class Commands:
            @staticmethod
            def count():
                main()
        """
    )
    _write(
        tmp_path,
        {
            "setup.py": '''
                import setuptools

                setuptools.setup(
                    name="tool",
                    entry_points="""
                        [console_scripts]
                        tool-count = tool.cli:Commands.count
                    """,
                )
            ''',
            "tool/__init__.py": "",
            "tool/cli.py": cli,
        },
    )
    todo = _todo("count", "`tool-count` of console_scripts in entry_points of setup.py")
    files, notes = _migrate(tmp_path, "tool")
    expected = _migrated_cli(None) + textwrap.dedent(
        f"""


        class Commands:
            {TODO_PREFIX}{todo}
            @staticmethod
            async def count():
                await main()
        """
    )
    assert files["tool/cli.py"] == expected
    assert _todos(notes) == [todo]


def test_an_entry_point_that_stays_synchronous_is_left_alone(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "pyproject.toml": """
                [project.scripts]
                tool-version = "tool.cli:version"
            """,
            "tool/__init__.py": "",
            "tool/cli.py": CLI,
        },
    )
    files, notes = _migrate(tmp_path)
    assert files["tool/cli.py"] == _migrated_cli(None)
    assert not _todos(notes)


def test_a_function_of_the_same_name_in_another_module_is_left_alone(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "pyproject.toml": """
                [project.scripts]
                tool = "tool.other:main"
                tool-module = "tool.cli"
            """,
            "tool/__init__.py": "",
            "tool/other.py": "def main():\n    print('other')\n",
            "tool/cli.py": CLI,
        },
    )
    files, notes = _migrate(tmp_path)
    assert files["tool/cli.py"] == _migrated_cli(None)
    assert files["tool/other.py"] == "def main():\n    print('other')\n"
    assert not _todos(notes)


def test_a_click_command_declared_as_a_script_runs_itself(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "pyproject.toml": """
                [project.scripts]
                tool = "tool.cli:main"
            """,
            "tool/__init__.py": "",
            "tool/cli.py": "import click\n"
            + textwrap.dedent(CLI).replace("def main", "@click.command()\ndef main"),
        },
    )
    files, notes = _migrate(tmp_path)
    assert "@run_with_asyncio\nasync def main():" in files["tool/cli.py"]
    assert not _todos(notes)


def test_an_unreadable_packaging_file_declares_nothing(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "pyproject.toml": "[project.scripts\ntool = 'tool.cli:main'\n",
            "setup.py": "setup(entry_points=\n",
            "tool/__init__.py": "",
            "tool/cli.py": CLI,
        },
    )
    files, notes = _migrate(tmp_path, "tool")
    assert files["tool/cli.py"] == _migrated_cli(None)
    assert not _todos(notes)


def test_a_cached_run_sees_an_edited_declaration(tmp_path: Path) -> None:
    project = tmp_path / "project"
    _write(
        project,
        {
            "pyproject.toml": '[project.scripts]\ntool = "tool.cli:version"\n',
            "tool/__init__.py": "",
            "tool/cli.py": CLI,
        },
    )
    options = Options(target="async", cache_dir=tmp_path / "cache")
    first = run([project / "tool"], options)
    assert not [n for r in first.results for n in r.notes if n.kind == "todo"]
    (project / "pyproject.toml").write_text('[project.scripts]\ntool = "tool.cli:main"\n')
    second = run([project / "tool"], options)
    todo = _todo("main", "`tool` in [project.scripts] of pyproject.toml")
    assert [n.message for r in second.results for n in r.notes if n.kind == "todo"] == [todo]


def test_a_module_of_a_namespace_package_is_found_by_its_path(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "pyproject.toml": """
                [project.scripts]
                tool-count = "tool.cli:main"
            """,
            "src/tool/cli.py": CLI,
            "src/other/commands.py": CLI,
        },
    )
    todo = _todo("main", "`tool-count` in [project.scripts] of pyproject.toml")
    files, notes = _migrate(tmp_path, "src/tool", "src/other")
    assert files["src/tool/cli.py"] == _migrated_cli(todo)
    assert files["src/other/commands.py"] == _migrated_cli(None)
    assert _todos(notes) == [todo]


def test_a_project_folder_that_is_a_package_itself(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "proj/setup.cfg": """
                [options.entry_points]
                console_scripts = tool-count = tool.cli:main
            """,
            "proj/__init__.py": "",
            "proj/tool/__init__.py": "",
            "proj/tool/cli.py": CLI,
        },
    )
    todo = _todo("main", "`tool-count` of console_scripts in [options.entry_points] of setup.cfg")
    files, notes = _migrate(tmp_path, "proj")
    assert files["proj/tool/cli.py"] == _migrated_cli(todo)
    assert _todos(notes) == [todo]
