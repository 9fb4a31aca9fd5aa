"""Time sqla-upgrade against the libcst floor on a synthetic legacy corpus.

    python -m bench                      # default corpus, ~2,000 modules / ~300k lines
    python -m bench --all-sqlalchemy     # every module uses SQLAlchemy
    python -m bench --size 500 --repeat 3 --json out.json

Each repetition runs every scenario once, in a fixed order, with a floor run (libcst
parse + codegen of every file, one process) before each tool run: every tool time is
divided by the mean of the floor runs just before and after it, so the ratios stay
meaningful on a machine whose load changes. Every run is its own process; its peak RSS
is that of its largest process (``wait4``).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench.corpus import generate

ROOT = Path(__file__).resolve().parent.parent


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


@dataclass
class Scenario:
    name: str
    target: str | None  # None: the floor
    jobs: int = 1
    warm: bool = False

    def command(self, corpus: Path, cache_dir: Path) -> list[str]:
        if self.target is None:
            return [sys.executable, "-m", "bench.floor", str(corpus)]
        command = [sys.executable, "-m", "sqla_upgrade", "diff", "--target", self.target]
        command += ["--jobs", str(self.jobs)]
        if _tool_has_cache():
            command += ["--cache-dir", str(cache_dir)] if self.warm else ["--no-cache"]
        return [*command, str(corpus)]


@dataclass
class Timing:
    seconds: float
    peak_rss_mb: float
    ratio: float | None = None


@dataclass
class Outcome:
    scenario: Scenario
    timings: list[Timing] = field(default_factory=list)


_CACHE_SUPPORT: list[bool] = []


def _tool_has_cache() -> bool:
    if not _CACHE_SUPPORT:
        help_text = subprocess.run(
            [sys.executable, "-m", "sqla_upgrade", "diff", "--help"],
            capture_output=True,
            text=True,
            env=_environment(),
            cwd=ROOT,
        ).stdout
        _CACHE_SUPPORT.append("--no-cache" in help_text)
    return _CACHE_SUPPORT[0]


def _environment() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env["COLUMNS"] = "200"
    # as installed by pip, with byte-code: not compiled again at every start (machines
    # that set this would otherwise charge the tool, run from the checkout, for that)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def timed_run(command: list[str]) -> Timing:
    """Wall time and peak RSS of ``command``; its output is discarded."""
    start = time.perf_counter()
    process = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=_environment(), cwd=ROOT
    )
    assert process.stderr is not None
    errors = process.stderr.read()
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode not in (0, 1):  # diff exits 1 when it has changes to show
        raise RuntimeError(f"{' '.join(command)} failed:\n{errors.decode(errors='replace')}")
    return Timing(seconds=seconds, peak_rss_mb=usage.ru_maxrss / 1024)


def scenarios(jobs: int, chosen: list[str] | None) -> list[Scenario]:
    every = [
        Scenario("async-1", "async", 1),
        Scenario("2.0-1", "2.0", 1),
        Scenario(f"async-{jobs}", "async", jobs),
        Scenario(f"2.0-{jobs}", "2.0", jobs),
        Scenario("async-warm", "async", 1, warm=True),
    ]
    if jobs == 1:  # the all-cores runs would repeat the one-worker ones
        every = [every[0], every[1], every[4]]
    if chosen:
        every = [s for s in every if s.name in chosen or (s.jobs > 1 and f"{s.target}-N" in chosen)]
    return every


def corpus_stats(corpus: Path) -> tuple[int, int]:
    files = lines = 0
    for path in corpus.rglob("*.py"):
        files += 1
        lines += path.read_bytes().count(b"\n")
    return files, lines


def measure(corpus: Path, chosen: list[Scenario], repeat: int) -> tuple[Outcome, list[Outcome]]:
    floor = Outcome(Scenario("floor", None))
    outcomes = [Outcome(s) for s in chosen]
    with tempfile.TemporaryDirectory(prefix="sqla-bench-cache-") as cache:
        cache_dir = Path(cache)
        if any(s.warm for s in chosen):  # the cold run that fills the cache
            timed_run(next(s for s in chosen if s.warm).command(corpus, cache_dir))
        for _ in range(repeat):
            before = timed_run(floor.scenario.command(corpus, cache_dir))
            floor.timings.append(before)
            for outcome in outcomes:
                timing = timed_run(outcome.scenario.command(corpus, cache_dir))
                after = timed_run(floor.scenario.command(corpus, cache_dir))
                floor.timings.append(after)
                timing.ratio = timing.seconds / ((before.seconds + after.seconds) / 2)
                outcome.timings.append(timing)
                before = after
    return floor, outcomes


def _spread(values: list[float]) -> dict[str, float]:
    return {
        "min": round(min(values), 3),
        "median": round(statistics.median(values), 3),
        "max": round(max(values), 3),
    }


def summarize(
    outcome: Outcome, files: int, lines: int, cold: Outcome | None = None
) -> dict[str, object]:
    seconds = [t.seconds for t in outcome.timings]
    median = statistics.median(seconds)
    summary: dict[str, object] = {
        "name": outcome.scenario.name,
        "target": outcome.scenario.target,
        "jobs": outcome.scenario.jobs,
        "seconds": _spread(seconds),
        "files_per_second": round(files / median, 1),
        "lines_per_second": round(lines / median, 1),
        "ms_per_file": round(1000 * median / files, 3),
        "peak_rss_mb": round(max(t.peak_rss_mb for t in outcome.timings), 1),
    }
    ratios = [t.ratio for t in outcome.timings if t.ratio is not None]
    if ratios:
        summary["ratio_to_floor"] = _spread(ratios)
    if cold is not None and outcome.scenario.warm:
        cold_median = statistics.median(t.seconds for t in cold.timings)
        summary["speedup_over_cold"] = round(cold_median / median, 1)
    return summary


def table(rows: list[dict[str, object]]) -> str:
    header = (
        f"{'scenario':<12} {'median s':>9} {'files/s':>9} {'lines/s':>10} {'ms/file':>8} "
        f"{'RSS MB':>7} {'x floor (min/med/max)':>24} {'note':>12}"
    )
    out = [header, "-" * len(header)]
    for row in rows:
        ratio = row.get("ratio_to_floor")
        ratio_text = (
            f"{ratio['min']:.2f}/{ratio['median']:.2f}/{ratio['max']:.2f}"  # type: ignore[index]
            if isinstance(ratio, dict)
            else "1"
        )
        note = f"{row['speedup_over_cold']}x cold" if "speedup_over_cold" in row else ""
        seconds = row["seconds"]
        assert isinstance(seconds, dict)
        out.append(
            f"{row['name']:<12} {seconds['median']:>9.2f} {row['files_per_second']:>9} "
            f"{row['lines_per_second']:>10} {row['ms_per_file']:>8} {row['peak_rss_mb']:>7} "
            f"{ratio_text:>24} {note:>12}"
        )
    return "\n".join(out)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=2000, help="modules in the corpus")
    parser.add_argument("--repeat", type=int, default=1, help="repetitions of every scenario")
    parser.add_argument("--all-sqlalchemy", action="store_true", help="every module uses it")
    parser.add_argument("--jobs", type=int, default=_cores(), help="workers of the -N runs")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--scenarios",
        help="comma-separated subset: async-1, 2.0-1, async-N, 2.0-N, async-warm",
    )
    parser.add_argument("--corpus", type=Path, help="generate (or reuse) the corpus here")
    parser.add_argument("--json", type=Path, help="also write the results here")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    chosen = scenarios(args.jobs, args.scenarios.split(",") if args.scenarios else None)
    scratch = None
    if args.corpus is None:
        scratch = tempfile.mkdtemp(prefix="sqla-bench-")
        corpus = Path(scratch) / "corpus"
    else:
        corpus = args.corpus
    try:
        if not corpus.exists():
            generate(corpus, args.size, args.all_sqlalchemy, args.seed)
        files, lines = corpus_stats(corpus)
        floor, outcomes = measure(corpus, chosen, args.repeat)
        cold = next((o for o in outcomes if o.scenario.name == "async-1"), None)
        rows = [summarize(floor, files, lines)] + [
            summarize(o, files, lines, cold) for o in outcomes
        ]
        jobs_n = next((o for o in outcomes if o.scenario.name == f"async-{args.jobs}"), None)
        result: dict[str, object] = {
            "corpus": {
                "modules": files,
                "lines": lines,
                "all_sqlalchemy": args.all_sqlalchemy,
                "seed": args.seed,
            },
            "cores": _cores(),
            "load_average": list(os.getloadavg()),
            "repeat": args.repeat,
            "scenarios": rows,
        }
        if cold is not None and jobs_n is not None and args.jobs > 1:
            speedup = statistics.median(t.seconds for t in cold.timings) / statistics.median(
                t.seconds for t in jobs_n.timings
            )
            result["async_speedup_with_jobs"] = round(speedup, 2)
        print(f"corpus: {files} modules, {lines} lines; load average {os.getloadavg()[0]:.2f}")
        print(table(rows))
        if "async_speedup_with_jobs" in result:
            print(f"async, {args.jobs} workers vs 1: {result['async_speedup_with_jobs']}x")
        text = json.dumps(result, indent=2)
        if args.json is not None:
            args.json.write_text(text + "\n")
        else:
            print(text)
    finally:
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)
    return 0
