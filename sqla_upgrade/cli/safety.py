"""What ``apply`` does around writing: the uncommitted-changes check, interruptions."""

from __future__ import annotations

from rich.console import Console

from sqla_upgrade.codemods.interrupts import Interrupted, deferred_signals
from sqla_upgrade.codemods.runner import RunReport
from sqla_upgrade.codemods.vcs import VcsError, uncommitted
from sqla_upgrade.codemods.writer import WriteOptions, write_changes

#: files listed by the uncommitted-changes refusal before "and N more"
LISTED = 20


def uncommitted_message(report: RunReport) -> str | None:
    """Why ``apply`` refuses to write (files with uncommitted git changes), or None."""
    try:
        dirty = uncommitted(result.path for result in report.changed)
    except VcsError as exc:
        return f"cannot check for uncommitted changes ({exc}); pass --allow-dirty to write anyway"
    if not dirty:
        return None
    lines = [f"{len(dirty)} of the files to change have uncommitted changes:"]
    lines += [f"  {entry.path} ({entry.state})" for entry in dirty[:LISTED]]
    if len(dirty) > LISTED:
        lines.append(f"  and {len(dirty) - LISTED} more")
    lines.append("commit or stash them first, or pass --allow-dirty; nothing was written")
    return "\n".join(lines)


def write_report(report: RunReport, options: WriteOptions, stderr: Console) -> int | None:
    """Write the changed files. SIGINT/SIGTERM stop the writing between two files: then
    say what was and was not written and return the exit code; otherwise None."""
    with deferred_signals() as received:
        summary = write_changes(report.results, options, stop=lambda: received() is not None)
    signum = received()
    if signum is None:
        return None
    interrupted = Interrupted(signum)
    stderr.print(
        f"sqla-upgrade: interrupted by {interrupted.signal_name} while writing: "
        f"{len(summary.written)} files written, {len(summary.not_written)} left as they were "
        "(each file holds either its old or its new content)",
        soft_wrap=True,
        markup=False,
    )
    for path in summary.not_written:
        stderr.print(f"{path}: not written (interrupted)", soft_wrap=True, markup=False)
    return interrupted.exit_code
