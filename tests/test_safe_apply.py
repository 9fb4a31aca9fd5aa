"""Safe ``apply``: uncommitted git changes, backups, interruptions, dead workers, time limits.

The interruption tests run the real command in a subprocess. A ``sitecustomize`` module
put on its ``PYTHONPATH`` (so worker processes load it too, whatever the start method)
plants hooks: a file containing ``# HOOK: sleep`` hangs in the transform, ``# HOOK: pid``
writes its worker's pid to a file then hangs, and the writer can be told to signal its
own process, or to announce each write and slow down, after a given number of files.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sqla_upgrade.cli.app import app
from sqla_upgrade.codemods.options import Options
from sqla_upgrade.codemods.runner import run
from sqla_upgrade.codemods.writer import write_changes

LEGACY = "from sqlalchemy import select\ns = select([t.c.{name}])\n"
MIGRATED = "from sqlalchemy import select\ns = select(t.c.{name})\n"

HOOKS = textwrap.dedent(
    """
    import os, signal, time
    from pathlib import Path

    from sqla_upgrade.codemods import staging, writer

    _run_stage = staging.run_stage
    _replace = writer.replace_atomically
    _writes = []


    def run_stage(result, *args, **kwargs):
        source = result.stage_code if result.stage_code is not None else result.old
        if b"# HOOK: sleep" in source:
            time.sleep(600)
        if b"# HOOK: pid" in source:
            Path(os.environ["HOOK_PID_FILE"]).write_text(str(os.getpid()))
            time.sleep(600)
        return _run_stage(result, *args, **kwargs)


    def replace_atomically(real, data, info):
        _replace(real, data, info)
        _writes.append(real)
        after = int(os.environ.get("HOOK_SIGNAL_AFTER", "0"))
        if after and len(_writes) == after:
            os.kill(os.getpid(), getattr(signal, os.environ["HOOK_SIGNAL"]))
        announce = os.environ.get("HOOK_ANNOUNCE")
        if announce and len(_writes) >= int(os.environ["HOOK_ANNOUNCE_AFTER"]):
            Path(announce).write_text(str(len(_writes)))
            time.sleep(0.2)


    staging.run_stage = run_stage
    writer.replace_atomically = replace_atomically
    """
)

runner = CliRunner()


def invoke(*args: str):
    return runner.invoke(app, list(args))


def make_files(folder: Path, count: int) -> dict[Path, tuple[bytes, bytes]]:
    """``count`` legacy files; maps each to its (old, new) content."""
    folder.mkdir(parents=True, exist_ok=True)
    files = {}
    for number in range(count):
        path = folder / f"m{number:03}.py"
        old = LEGACY.format(name=f"c{number}").encode()
        path.write_bytes(old)
        files[path] = (old, MIGRATED.format(name=f"c{number}").encode())
    return files


def assert_each_old_or_new(files: dict[Path, tuple[bytes, bytes]]) -> tuple[int, int]:
    old_count = new_count = 0
    for path, (old, new) in files.items():
        content = path.read_bytes()
        assert content in (old, new), f"{path} is neither old nor new: {content!r}"
        old_count += content == old
        new_count += content == new
    folder = next(iter(files)).parent
    assert not list(folder.glob(".*.sqla-upgrade")), "temporary files left behind"
    return old_count, new_count


# -- git --------------------------------------------------------------------------------
def git(folder: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args],
        cwd=folder,
        check=True,
        capture_output=True,
    )


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    folder = tmp_path / "repo"
    make_files(folder, 4)
    (folder / ".gitignore").write_text("generated_*.py\n")
    git(folder, "init", "-q")
    git(folder, "add", ".")
    git(folder, "commit", "-qm", "legacy")
    return folder


def test_clean_work_tree_is_written(repo: Path) -> None:
    result = invoke("apply", str(repo))
    assert result.exit_code == 0, result.output
    assert (repo / "m000.py").read_text() == MIGRATED.format(name="c0")


def test_uncommitted_changes_refuse_apply_and_list_the_files(repo: Path) -> None:
    (repo / "m001.py").write_text(LEGACY.format(name="edited"))
    (repo / "m002.py").write_text(LEGACY.format(name="staged"))
    git(repo, "add", "m002.py")
    (repo / "new.py").write_text(LEGACY.format(name="new"))
    (repo / "generated_x.py").write_text(LEGACY.format(name="gen"))
    (repo / "plain.py").write_text("x = 1\n")  # dirty but not to be changed: no matter
    before = {p: p.read_bytes() for p in repo.glob("*.py")}
    result = invoke("apply", str(repo), str(repo / "generated_x.py"))
    assert result.exit_code == 2
    output = result.output
    assert "4 of the files to change have uncommitted changes" in output
    assert "m001.py (modified)" in output
    assert "m002.py (staged)" in output
    assert "new.py (untracked)" in output
    assert "generated_x.py (ignored by git)" in output
    assert "m000.py" not in output and "plain.py" not in output
    assert "--allow-dirty" in output
    assert {p: p.read_bytes() for p in repo.glob("*.py")} == before


def test_allow_dirty_writes_anyway(repo: Path) -> None:
    (repo / "m001.py").write_text(LEGACY.format(name="edited"))
    result = invoke("apply", str(repo), "--allow-dirty")
    assert result.exit_code == 0, result.output
    assert (repo / "m001.py").read_text() == MIGRATED.format(name="edited")


def test_symlink_is_checked_where_it_points(repo: Path, tmp_path: Path) -> None:
    (repo / "m003.py").write_text(LEGACY.format(name="edited"))
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "link.py").symlink_to(repo / "m003.py")
    result = invoke("apply", str(outside / "link.py"))
    assert result.exit_code == 2
    assert "link.py (modified)" in result.output


def test_files_outside_git_are_not_checked(tmp_path: Path) -> None:
    make_files(tmp_path / "plain", 2)
    assert invoke("apply", str(tmp_path / "plain")).exit_code == 0


# -- backups ----------------------------------------------------------------------------
def test_backup_keeps_the_old_content_and_never_overwrites(tmp_path: Path) -> None:
    files = make_files(tmp_path, 2)
    (tmp_path / "m000.py.orig").write_bytes(b"an older backup")
    os.chmod(tmp_path / "m001.py", 0o640)
    result = invoke("apply", str(tmp_path), "--backup")
    assert result.exit_code == 0, result.output
    first, second = files
    assert (tmp_path / "m000.py.orig").read_bytes() == b"an older backup"
    assert (tmp_path / "m000.py.orig.1").read_bytes() == files[first][0]
    assert "m000.py.orig exists" in result.output
    assert (tmp_path / "m001.py.orig").read_bytes() == files[second][0]
    assert (tmp_path / "m001.py.orig").stat().st_mode & 0o777 == 0o640
    assert first.read_bytes() == files[first][1]
    assert invoke("apply", str(tmp_path), "--backup").exit_code == 0
    assert not (tmp_path / "m001.py.orig.1").exists(), "an unchanged file got a backup"


def test_a_file_edited_during_the_run_is_not_overwritten(tmp_path: Path) -> None:
    files = make_files(tmp_path, 2)
    report = run([tmp_path], Options(target="2.0"))
    edited = next(iter(files))
    edited.write_text("# edited by the user meanwhile\n")
    write_changes(report.results)
    assert edited.read_text() == "# edited by the user meanwhile\n"
    failure = next(r for r in report.results if r.path == str(edited))
    assert failure.error == "cannot write: the file changed on disk since it was read"


# -- interruptions, dead workers, time limits (real subprocesses) ------------------------
def cli_process(args: list[str], hooks_dir: Path, **env: str) -> subprocess.Popen[str]:
    hooks_dir.mkdir(exist_ok=True)
    (hooks_dir / "sitecustomize.py").write_text(HOOKS)
    environment = {**os.environ, **env}
    environment["PYTHONPATH"] = os.pathsep.join(
        [str(hooks_dir), str(Path(__file__).resolve().parent.parent)]
    )
    return subprocess.Popen(
        [sys.executable, "-m", "sqla_upgrade", *args],
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for(condition, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.02)


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_sigint_while_writing_stops_between_files(tmp_path: Path, jobs: str) -> None:
    files = make_files(tmp_path / "proj", 30)
    process = cli_process(
        ["apply", str(tmp_path / "proj"), "--target", "2.0", "--jobs", jobs],
        tmp_path / "hooks",
        HOOK_SIGNAL="SIGINT",
        HOOK_SIGNAL_AFTER="5",
    )
    _, stderr = process.communicate(timeout=300)
    assert process.returncode == 128 + signal.SIGINT, stderr
    old, new = assert_each_old_or_new(files)
    assert (old, new) == (25, 5)
    assert "interrupted by SIGINT while writing: 5 files written, 25 left" in stderr
    assert "Traceback" not in stderr


def test_sigterm_from_outside_while_writing(tmp_path: Path) -> None:
    files = make_files(tmp_path / "proj", 30)
    announce = tmp_path / "written"
    process = cli_process(
        ["apply", str(tmp_path / "proj"), "--target", "2.0", "--jobs", "2"],
        tmp_path / "hooks",
        HOOK_ANNOUNCE=str(announce),
        HOOK_ANNOUNCE_AFTER="3",
    )
    wait_for(announce.exists)
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=300)
    assert process.returncode == 128 + signal.SIGTERM, stderr
    old, new = assert_each_old_or_new(files)
    assert 3 <= new < 30 and old + new == 30
    assert "interrupted by SIGTERM while writing" in stderr


@pytest.mark.parametrize("sent", [signal.SIGINT, signal.SIGTERM])
def test_signal_while_transforming_writes_nothing(tmp_path: Path, sent: int) -> None:
    files = make_files(tmp_path / "proj", 6)
    (tmp_path / "proj" / "slow.py").write_text(LEGACY.format(name="slow") + "# HOOK: pid\n")
    pid_file = tmp_path / "worker.pid"
    process = cli_process(
        ["apply", str(tmp_path / "proj"), "--target", "2.0", "--jobs", "2"],
        tmp_path / "hooks",
        HOOK_PID_FILE=str(pid_file),
    )
    wait_for(lambda: pid_file.exists() and pid_file.read_text())
    process.send_signal(sent)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 128 + sent, stderr
    assert assert_each_old_or_new(files) == (6, 0)
    assert f"interrupted by {signal.Signals(sent).name}; no file was written" in stderr
    wait_for(lambda: not _alive(int(pid_file.read_text())), 10)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}").exists() and "zombie" not in _proc_state(pid)


def _proc_state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/status").read_text().lower()
    except OSError:
        return "zombie"


def test_a_killed_worker_fails_its_file_and_the_others_are_written(tmp_path: Path) -> None:
    files = make_files(tmp_path / "proj", 6)
    victim = tmp_path / "proj" / "victim.py"
    victim.write_text(LEGACY.format(name="victim") + "# HOOK: pid\n")
    pid_file = tmp_path / "worker.pid"
    process = cli_process(
        ["apply", str(tmp_path / "proj"), "--target", "2.0", "--jobs", "2", "--format", "json"],
        tmp_path / "hooks",
        HOOK_PID_FILE=str(pid_file),
    )
    wait_for(lambda: pid_file.exists() and pid_file.read_text())
    os.kill(int(pid_file.read_text()), signal.SIGKILL)
    stdout, stderr = process.communicate(timeout=300)
    assert process.returncode == 3, stderr
    report = json.loads(stdout)
    failed = {Path(f["path"]).name: f["error"] for f in report["files"] if f["error"]}
    assert failed == {
        "victim.py": "the worker process was killed by SIGKILL (out of memory?) while "
        "transforming this file"
    }
    assert assert_each_old_or_new(files) == (0, 6)
    assert victim.read_text().startswith(LEGACY.format(name="victim"))


@pytest.mark.parametrize("target", ["2.0", "async"])
def test_timeout_turns_a_hanging_file_into_a_failure(tmp_path: Path, target: str) -> None:
    files = make_files(tmp_path / "proj", 4)
    (tmp_path / "proj" / "slow.py").write_text(LEGACY.format(name="slow") + "# HOOK: sleep\n")
    started = time.monotonic()
    process = cli_process(
        ["apply", str(tmp_path / "proj"), "--target", target, "--jobs", "1", "--timeout", "2"],
        tmp_path / "hooks",
    )
    _, stderr = process.communicate(timeout=300)
    assert time.monotonic() - started < 120
    assert process.returncode == 3, stderr
    assert "slow.py: error: timed out after 2 s (--timeout)" in stderr
    assert assert_each_old_or_new(files) == (0, 4)


def test_timeout_must_be_positive(tmp_path: Path) -> None:
    result = invoke("diff", str(tmp_path), "--timeout", "0")
    assert result.exit_code == 2 and "--timeout" in result.output


def _children(pid: int) -> list[int]:
    found = []
    for stat_file in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat_file.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == pid:
            found.append(int(stat_file.parent.name))
    return found


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")
def test_workers_exit_when_the_parent_is_killed(tmp_path: Path) -> None:
    make_files(tmp_path / "proj", 3)
    (tmp_path / "proj" / "slow.py").write_text(LEGACY.format(name="slow") + "# HOOK: pid\n")
    pid_file = tmp_path / "worker.pid"
    process = cli_process(
        ["diff", str(tmp_path / "proj"), "--target", "2.0", "--jobs", "2"],
        tmp_path / "hooks",
        HOOK_PID_FILE=str(pid_file),
    )
    wait_for(lambda: pid_file.exists() and pid_file.read_text())
    busy = int(pid_file.read_text())
    others = [pid for pid in _children(process.pid) if pid != busy]
    assert others, "the second worker is gone already"
    process.kill()
    process.wait()  # not communicate(): the busy worker still holds the output pipes
    try:
        wait_for(lambda: not any(_alive(pid) for pid in others), 20)
    finally:
        os.kill(busy, signal.SIGKILL)
        for stream in (process.stdout, process.stderr):
            assert stream is not None
            stream.close()
