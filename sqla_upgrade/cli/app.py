"""The ``sqla-upgrade`` command line (Typer)."""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from sqla_upgrade import __version__
from sqla_upgrade.cli import ci_output, render, safety
from sqla_upgrade.cli.config import ConfigError, as_flag, as_name_list, find_pyproject, load_config
from sqla_upgrade.cli.selection import SelectionError, file_filter
from sqla_upgrade.codemods.cache import default_cache_dir
from sqla_upgrade.codemods.discovery import DiscoveryError
from sqla_upgrade.codemods.index.builder import IndexBuilder
from sqla_upgrade.codemods.interrupts import Interrupted, raising_on_signals
from sqla_upgrade.codemods.options import (
    DEFAULT_ASYNC_DRIVERS,
    DEFAULT_MAX_FILE_MB,
    TARGETS,
    Options,
)
from sqla_upgrade.codemods.pipeline import (
    UnknownPassError,
    all_passes,
    find_pass,
    select_entries,
    select_passes,
)
from sqla_upgrade.codemods.results import FileResult
from sqla_upgrade.codemods.runner import RunReport, run
from sqla_upgrade.codemods.workers import usable_cores
from sqla_upgrade.codemods.writer import WriteOptions

EXIT_OK = 0
EXIT_PENDING = 1
EXIT_USAGE = 2
EXIT_FAILED = 3
PROGRESS_THRESHOLD = 40

app = typer.Typer(
    name="sqla-upgrade",
    help="Migrate legacy synchronous SQLAlchemy code to SQLAlchemy 2.0 and asyncio.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


class OutputFormat(str, Enum):
    text = "text"
    json = "json"


class CheckFormat(str, Enum):
    text = "text"
    json = "json"
    github = "github"
    sarif = "sarif"


class UsageError(Exception):
    """A wrong option or path: one line on stderr, exit code 2."""


PathsArg = Annotated[
    list[Path] | None,
    typer.Argument(help="Files or directories (default: the current directory); - for stdin."),
]
TargetOpt = Annotated[
    str | None, typer.Option("--target", help="async (default) or 2.0 (sync select() style).")
]
OnlyOpt = Annotated[str | None, typer.Option("--only", help="Run only these passes (comma list).")]
SkipOpt = Annotated[str | None, typer.Option("--skip", help="Skip these passes (comma list).")]
JobsOpt = Annotated[
    int | None, typer.Option("--jobs", "-j", help="Worker processes (default: all cores).")
]
ShardOpt = Annotated[
    str | None,
    typer.Option("--shard", metavar="K/N", help="Process only shard K of N (CI matrices)."),
]
ChangedSinceOpt = Annotated[
    str | None,
    typer.Option(
        "--changed-since", metavar="REV", help="Process only files changed since git REV."
    ),
]
TimeoutOpt = Annotated[
    float | None,
    typer.Option("--timeout", help="Seconds a file may take; then it is reported as failed."),
]
StrictLoadingOpt = Annotated[
    bool | None,
    typer.Option(
        "--strict-loading/--no-strict-loading",
        help='async: relationships still loaded lazily get lazy="raise_on_sql".',
    ),
]
MaxSizeOpt = Annotated[
    float,
    typer.Option("--max-file-size", help="Megabytes; larger files are reported, not parsed."),
]

NoCacheOpt = Annotated[
    bool, typer.Option("--no-cache", help="Neither read nor write the result cache.")
]
CacheDirOpt = Annotated[
    Path | None,
    typer.Option(
        "--cache-dir",
        metavar="DIR",
        help="Result cache location (default: $SQLA_UPGRADE_CACHE_DIR, else cache-dir in "
        "pyproject.toml, else ~/.cache/sqla-upgrade).",
    ),
]


def _stderr() -> Console:
    return Console(stderr=True, highlight=False)


def _build_options(
    paths: list[Path],
    target: str | None,
    only: str | None,
    skip: str | None,
    jobs: int | None,
    timeout: float | None = None,
    max_file_size: float = DEFAULT_MAX_FILE_MB,
    strict_loading: bool | None = None,
    no_cache: bool = False,
    cache_dir: Path | None = None,
) -> Options:
    try:
        config = load_config(paths)
    except ConfigError as exc:
        raise UsageError(str(exc)) from exc
    chosen_target = target or config.get("target", "async")
    if chosen_target not in TARGETS:
        raise UsageError(f"unknown target {chosen_target!r} (choose from: {', '.join(TARGETS)})")
    try:
        only_names = (
            as_name_list(only, "only") if only else as_name_list(config.get("only", []), "only")
        )
        skip_names = (
            as_name_list(skip, "skip") if skip else as_name_list(config.get("skip", []), "skip")
        )
        select_entries(chosen_target, only_names, skip_names)
    except (ConfigError, UnknownPassError) as exc:
        raise UsageError(str(exc)) from exc
    chosen_jobs = jobs if jobs is not None else config.get("jobs", usable_cores())
    if not isinstance(chosen_jobs, int) or chosen_jobs < 1:
        raise UsageError("--jobs must be a whole number of at least 1")
    if timeout is not None and not timeout > 0:
        raise UsageError("--timeout must be a number of seconds above 0")
    if not max_file_size > 0:
        raise UsageError("--max-file-size must be a number of megabytes above 0")
    drivers = dict(DEFAULT_ASYNC_DRIVERS)
    drivers.update(config.get("async-drivers", {}))
    try:
        strict = (
            strict_loading
            if strict_loading is not None
            else as_flag(config.get("strict-loading", False), "strict-loading")
        )
    except ConfigError as exc:
        raise UsageError(str(exc)) from exc
    return Options(
        target=chosen_target,
        only=only_names,
        skip=skip_names,
        jobs=chosen_jobs,
        roots=tuple(p for p in paths if str(p) != "-"),
        async_drivers=drivers,
        sync_callables=as_name_list(config.get("sync-callables", []), "sync-callables"),
        bridge_to_thread=as_name_list(config.get("bridge-to-thread", []), "bridge-to-thread"),
        timeout=timeout,
        max_file_mb=max_file_size,
        strict_loading=strict,
        cache_dir=None if no_cache else _cache_dir(cache_dir, config, paths),
    )


def _cache_dir(chosen: Path | None, config: dict[str, Any], paths: list[Path]) -> Path:
    """``--cache-dir``, else ``$SQLA_UPGRADE_CACHE_DIR``, else ``cache-dir`` in the
    configuration (relative to its ``pyproject.toml``), else the user's cache folder."""
    if chosen is not None:
        return chosen
    if os.environ.get("SQLA_UPGRADE_CACHE_DIR"):
        return Path(os.environ["SQLA_UPGRADE_CACHE_DIR"])
    configured = config.get("cache-dir")
    if configured is not None:
        if not isinstance(configured, str) or not configured:
            raise UsageError("[tool.sqla-upgrade] cache-dir must be a folder name")
        pyproject = find_pyproject(paths)
        base = pyproject.parent if pyproject is not None else Path.cwd()
        return base / configured
    return default_cache_dir()


def _run_stdin(options: Options) -> RunReport:
    from sqla_upgrade.codemods.transform import transform_source

    source = sys.stdin.buffer.read()
    builder = IndexBuilder()
    builder.add(source, "__stdin__", "<stdin>", False)
    passes = select_passes(options.target, options.only, options.skip)
    result = transform_source(source, "<stdin>", "__stdin__", builder.build(), options, passes)
    return RunReport(results=[result])


def _run_with_progress(
    paths: list[Path],
    options: Options,
    keep: Callable[[Path], bool] | None = None,
    on_result: Callable[[FileResult], None] | None = None,
) -> RunReport:
    """With a progress bar on a terminal; ``on_result`` (results as they come) only
    without one, where nothing else draws on the screen."""
    stderr = _stderr()
    if not stderr.is_terminal:
        return run(paths, options, keep=keep, on_result=on_result)
    with Progress(
        TextColumn("[bold]sqla-upgrade"),
        BarColumn(),
        MofNCompleteColumn(),
        console=stderr,
        transient=True,
    ) as progress:
        task = progress.add_task("files", total=None)

        def advance(done: int, total: int) -> None:
            if total > PROGRESS_THRESHOLD:
                progress.update(task, completed=done, total=total)

        return run(paths, options, progress=advance, keep=keep)


def _execute(
    command: str,
    paths: list[Path] | None,
    shard: str | None = None,
    changed_since: str | None = None,
    on_result: Callable[[FileResult], None] | None = None,
    **kwargs: Any,
) -> tuple[RunReport, Options, bool]:
    chosen = paths or [Path(".")]
    from_stdin = [str(p) for p in chosen] == ["-"]
    if "-" in [str(p) for p in chosen] and not from_stdin:
        raise UsageError("- (stdin) cannot be combined with other paths")
    options = _build_options(chosen, **kwargs)
    if from_stdin:
        if shard or changed_since:
            raise UsageError("--shard and --changed-since need paths, not - (stdin)")
        return _run_stdin(options), options, True
    try:
        keep = file_filter(shard, changed_since, chosen)
        report = _run_with_progress(chosen, options, keep, on_result)
    except (DiscoveryError, SelectionError) as exc:
        raise UsageError(str(exc)) from exc
    return report, options, False


def _guard(func: Any) -> Any:
    """Turn usage errors into one line on stderr and exit code 2."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        try:
            with raising_on_signals():
                code = func(*args, **kwargs)
        except UsageError as exc:
            _stderr().print(f"sqla-upgrade: error: {exc}", soft_wrap=True, markup=False)
            raise typer.Exit(EXIT_USAGE) from None
        except Interrupted as exc:
            message = f"sqla-upgrade: interrupted by {exc.signal_name}; no file was written"
            _stderr().print(message, soft_wrap=True, markup=False)
            raise typer.Exit(exc.exit_code) from None
        raise typer.Exit(code)

    return wrapper


def _text_output(
    report: RunReport, verb: str, show_diff: bool, shown: set[str] | None = None
) -> None:
    """Diffs (but those in ``shown``, printed as they came), notes, summary."""
    out = Console(highlight=False)
    if show_diff:
        for result in report.changed:
            if shown is None or result.path not in shown:
                render.print_diff(out, result)
    err = _stderr()
    render.print_notes(err, report)
    render.print_async_functions(err, report)
    render.print_summary(err, report, verb)


@app.command()
@_guard
def diff(
    paths: PathsArg = None,
    target: TargetOpt = None,
    only: OnlyOpt = None,
    skip: SkipOpt = None,
    jobs: JobsOpt = None,
    timeout: TimeoutOpt = None,
    max_file_size: MaxSizeOpt = DEFAULT_MAX_FILE_MB,
    strict_loading: StrictLoadingOpt = None,
    no_cache: NoCacheOpt = False,
    cache_dir: CacheDirOpt = None,
    output_format: Annotated[OutputFormat, typer.Option("--format")] = OutputFormat.text,
    shard: ShardOpt = None,
    changed_since: ChangedSinceOpt = None,
) -> int:
    """Show the changes as a unified diff; write nothing."""
    shown: set[str] = set()
    out = Console(highlight=False)

    def show(result: FileResult) -> None:  # each diff as soon as its file is done
        if result.changed:
            render.print_diff(out, result)
            shown.add(result.path)

    streamed = show if output_format is OutputFormat.text else None
    report, options, _ = _execute(
        "diff",
        paths,
        shard,
        changed_since,
        streamed,
        target=target,
        only=only,
        skip=skip,
        jobs=jobs,
        timeout=timeout,
        max_file_size=max_file_size,
        strict_loading=strict_loading,
        no_cache=no_cache,
        cache_dir=cache_dir,
    )
    if output_format is OutputFormat.json:
        typer.echo(render.report_json(report, "diff", options.target, with_diff=True))
    else:
        _text_output(report, "changed", show_diff=True, shown=shown)
    return EXIT_PENDING if report.failed else EXIT_OK


@app.command()
@_guard
def apply(
    paths: PathsArg = None,
    target: TargetOpt = None,
    only: OnlyOpt = None,
    skip: SkipOpt = None,
    jobs: JobsOpt = None,
    timeout: TimeoutOpt = None,
    max_file_size: MaxSizeOpt = DEFAULT_MAX_FILE_MB,
    strict_loading: StrictLoadingOpt = None,
    no_cache: NoCacheOpt = False,
    cache_dir: CacheDirOpt = None,
    output_format: Annotated[OutputFormat, typer.Option("--format")] = OutputFormat.text,
    shard: ShardOpt = None,
    changed_since: ChangedSinceOpt = None,
    allow_dirty: Annotated[
        bool, typer.Option("--allow-dirty", help="Write files with uncommitted git changes too.")
    ] = False,
    backup: Annotated[
        bool, typer.Option("--backup", help="Keep each changed file's old content as NAME.orig.")
    ] = False,
    preserve_links: Annotated[
        bool,
        typer.Option("--preserve-links", help="Write hard-linked files in place (not atomic)."),
    ] = False,
) -> int:
    """Write the changes in place (stdin: write the result to stdout)."""
    report, options, from_stdin = _execute(
        "apply",
        paths,
        shard,
        changed_since,
        target=target,
        only=only,
        skip=skip,
        jobs=jobs,
        timeout=timeout,
        max_file_size=max_file_size,
        strict_loading=strict_loading,
        no_cache=no_cache,
        cache_dir=cache_dir,
    )
    if from_stdin:
        result = report.results[0]
        sys.stdout.buffer.write(result.new if result.new is not None else result.old)
        sys.stdout.flush()
        render.print_notes(_stderr(), report)
        return EXIT_FAILED if report.failed else EXIT_OK
    refusal = None if allow_dirty else safety.uncommitted_message(report)
    if refusal is not None:
        raise UsageError(refusal)
    interrupted = safety.write_report(report, WriteOptions(backup, preserve_links), _stderr())
    if interrupted is not None:
        return interrupted
    if output_format is OutputFormat.json:
        typer.echo(render.report_json(report, "apply", options.target, with_diff=False))
    else:
        _text_output(report, "changed", show_diff=False)
    return EXIT_FAILED if report.failed else EXIT_OK


@app.command()
@_guard
def check(
    paths: PathsArg = None,
    target: TargetOpt = None,
    only: OnlyOpt = None,
    skip: SkipOpt = None,
    jobs: JobsOpt = None,
    timeout: TimeoutOpt = None,
    max_file_size: MaxSizeOpt = DEFAULT_MAX_FILE_MB,
    strict_loading: StrictLoadingOpt = None,
    no_cache: NoCacheOpt = False,
    cache_dir: CacheDirOpt = None,
    output_format: Annotated[CheckFormat, typer.Option("--format")] = CheckFormat.text,
    shard: ShardOpt = None,
    changed_since: ChangedSinceOpt = None,
    baseline: Annotated[
        Path | None,
        typer.Option("--baseline", metavar="FILE", help="Fail only on sites not in FILE."),
    ] = None,
) -> int:
    """Exit 1 while legacy code remains (changes pending), 3 if a file failed."""
    report, options, from_stdin = _execute(
        "check",
        paths,
        shard,
        changed_since,
        target=target,
        only=only,
        skip=skip,
        jobs=jobs,
        timeout=timeout,
        max_file_size=max_file_size,
        strict_loading=strict_loading,
        no_cache=no_cache,
        cache_dir=cache_dir,
    )
    if baseline is not None:
        if from_stdin:
            raise UsageError("--baseline needs paths, not - (stdin)")
        return commands.check_against_baseline(report, options, baseline, output_format.value)
    if output_format is CheckFormat.json:
        typer.echo(render.report_json(report, "check", options.target, with_diff=False))
    elif output_format is CheckFormat.github:
        for line in ci_output.github_annotations(report):
            typer.echo(line)
    elif output_format is CheckFormat.sarif:
        typer.echo(ci_output.sarif_document(report))
    else:
        err = _stderr()
        for result in report.changed:
            err.print(f"{result.path}: would be changed", soft_wrap=True, markup=False)
        _text_output(report, "to change", show_diff=False)
    if report.failed:
        return EXIT_FAILED
    return EXIT_PENDING if report.changed else EXIT_OK


@app.command()
def passes() -> None:
    """List the passes in pipeline order."""
    for pass_cls in all_passes():
        targets = ",".join(sorted(pass_cls.targets))
        typer.echo(f"{pass_cls.name:<24} [{targets}] {pass_cls.summary()}")


@app.command()
def explain(pass_name: Annotated[str, typer.Argument(metavar="PASS")]) -> None:
    """Show what a pass rewrites, with before/after and its safety rules."""
    try:
        pass_cls = find_pass(pass_name)
    except UnknownPassError as exc:
        _stderr().print(f"sqla-upgrade: error: {exc}", soft_wrap=True, markup=False)
        raise typer.Exit(EXIT_USAGE) from None
    module = sys.modules[pass_cls.__module__]
    typer.echo(f"{pass_cls.name}: {pass_cls.summary()}\n")
    typer.echo((module.__doc__ or "").strip())


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"sqla-upgrade {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version_callback, is_eager=True, help="Show the version."
        ),
    ] = False,
) -> None:
    """Migrate legacy synchronous SQLAlchemy code to SQLAlchemy 2.0 and asyncio."""


def main() -> None:
    app()


# the ratchet, readiness report and merge commands register themselves on ``app``
from sqla_upgrade.cli import commands  # noqa: E402
