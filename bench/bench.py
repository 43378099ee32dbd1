"""The sampler benchmark: runs every workload without microlog, with
microlog at 1 kHz and at 10 kHz, interleaved and repeated, and prints one
table (also written to bench/RESULTS.md).

    python bench/bench.py [--reps 11] [--workloads recursive,threads]
                          [--steady-seconds 30]

Every run goes through bench/probe.py, recorded or not, so both carry the
same runner. Overheads are ratios of runs paired within one repetition (the
machine is shared and noisy), never absolute times from different moments:
each figure is the median of its pairs with a distribution-free 95%
confidence interval (order statistics of the pairs). Beside the wall time
of the whole process, the CPU time of the program's own threads is compared
(microlog's threads read apart, per thread), and microlog's own threads'
CPU is shown per sampler round. Bytes per sample are given for the whole
file of the short runs and at steady state: the marginal bytes per sample
between a run of --steady-seconds / 3 and one of --steady-seconds. The
costs per print, per @timed call and per disabled log call come from
bench/costs.py.
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional

HERE = Path(__file__).resolve().parent
WORKLOADS = ["recursive", "dicts", "threads", "asyncio_tasks", "stdlib",
             "split", "empty"]
# Workloads whose time split is known: {workload: {function: percent}}.
KNOWN_SPLITS = {"split": {"hot": 70.0, "cold": 30.0}}
MODES = {"base": None, "1 kHz": "0.001", "10 kHz": "0.0001"}
TARGETS = {"1 kHz": 1.0, "10 kHz": 3.0}
# Long runs for the steady-state size (1 kHz), and pairs for start-up.
STEADY_WORKLOADS = ["recursive", "threads", "stdlib"]
STARTUP_PAIRS = 21


@dataclass
class Run:
    wall: float          # the whole process
    cpu: float           # the whole process, all threads
    maxrss_kb: int
    program_cpu: float = 0.0   # the program's threads, during the script
    microlog_cpu: float = 0.0  # microlog's threads, during the script
    window: float = 0.0        # wall time of the script itself
    summary: Optional[dict] = None


@dataclass
class Cell:
    runs: List[Run] = field(default_factory=list)


def run_once(python: str, script: Path, delay: Optional[str],
             microlog: str, scratch: Path, seconds: float = 0.0) -> Run:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("MICROLOG_")}
    env.update(MICROLOG_DIR=str(scratch), MICROLOG_QUIET="1",
               PYTHONDONTWRITEBYTECODE="1")
    probe_out = scratch / "probe.json"
    args = [python, str(HERE / "probe.py"), str(probe_out)]
    if delay is not None:
        env["MICROLOG_SAMPLE_DELAY"] = delay
        args += ["--record", "bench"]
    if seconds:
        args += ["--seconds", str(seconds)]
    args.append(str(script))
    start = time.perf_counter()
    proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    stderr = proc.stderr.read().decode(errors="replace")
    proc.stderr.close()
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{script.name} failed ({proc.returncode}):\n"
                         f"{stderr}")
    probe = json.loads(probe_out.read_text())
    run = Run(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss,
              probe["program_cpu_s"], probe["microlog_cpu_s"],
              probe["window_s"])
    if delay is not None:
        [rec] = list(scratch.rglob("*.mlog"))
        out = subprocess.run([microlog, "show", "--json", str(rec)],
                             capture_output=True, check=True)
        run.summary = json.loads(out.stdout)
        run.summary["file_bytes"] = rec.stat().st_size
        rec.unlink()
    return run


def startup_pairs(python: str, scratch: Path, pairs: int) -> List[float]:
    """Milliseconds that ``python -m microlog`` adds to an empty script
    (the command users type, runpy included), per interleaved pair."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("MICROLOG_")}
    env.update(MICROLOG_DIR=str(scratch), MICROLOG_QUIET="1")
    script = str(HERE / "workloads" / "empty.py")
    commands = [[python, script], [python, "-m", "microlog", "bench", script]]
    out = []
    for i in range(pairs + 1):
        times = []
        for cmd in (commands if i % 2 else commands[::-1]):
            t = time.perf_counter()
            subprocess.run(cmd, env=env, check=True,
                           stdout=subprocess.DEVNULL)
            times.append(time.perf_counter() - t)
        if i % 2 == 0:
            times.reverse()
        if i > 0:  # the first pair warms the caches
            out.append(1000 * (times[1] - times[0]))
    for rec in scratch.rglob("*.mlog"):
        rec.unlink()
    return out


def median_ci(values: List[float]) -> tuple:
    """(median, low, high): the median and a distribution-free confidence
    interval of at least 95% from order statistics (low = high = median
    with fewer than 6 values, where no such interval exists)."""
    v = sorted(values)
    n = len(v)
    med = statistics.median(v)
    # largest k with P(Binomial(n, 1/2) < k) <= 2.5%
    k, tail = 0, 0.0
    while True:
        p = math.comb(n, k) / 2 ** n
        if tail + p > 0.025:
            break
        tail += p
        k += 1
    if k == 0:
        return med, med, med
    return med, v[k - 1], v[n - k]


def fmt_ci(values: List[float], fmt: str = "%+.1f%%") -> str:
    med, lo, hi = median_ci(values)
    if lo == hi:
        return fmt % med
    return f"{fmt % med} [{fmt % lo}, {fmt % hi}]"


def thread_intervals(summary: dict) -> List[float]:
    out = []
    for t in summary["threads"]:
        if t["samples"] > 10:
            out.append((t["last_us"] - t["first_us"]) / (t["samples"] - 1))
    return out


def measure(python: str, microlog: str, workloads: List[str],
            reps: int) -> Dict[str, Dict[str, Cell]]:
    cells = {w: {m: Cell() for m in MODES} for w in workloads}
    modes = list(MODES)
    with tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp)
        for rep in range(reps):
            for w in workloads:
                # Rotate the order so no mode always runs first.
                order = modes[rep % len(modes):] + modes[:rep % len(modes)]
                for m in order:
                    run = run_once(python, HERE / "workloads" / f"{w}.py",
                                   MODES[m], microlog, scratch)
                    cells[w][m].runs.append(run)
            print(f"  repetition {rep + 1}/{reps} done", file=sys.stderr)
    return cells


def pairs(cells: Dict[str, Cell], mode: str, fn) -> List[float]:
    base = cells["base"].runs
    return [fn(r, b) for r, b in zip(cells[mode].runs, base)]


def paired(cells: Dict[str, Cell], mode: str, fn) -> float:
    return statistics.median(pairs(cells, mode, fn))


def wall_pct(r: Run, b: Run) -> float:
    return 100 * (r.wall / b.wall - 1)


def script_wall_pct(r: Run, b: Run) -> float:
    """The script's own wall time, recorded against not: the process's
    start-up and shut-down (microlog's import, start and stop: the fixed
    cost, a target of its own) left out."""
    return 100 * (r.window / b.window - 1)


def program_cpu_pct(r: Run, b: Run) -> float:
    return 100 * (r.program_cpu / b.program_cpu - 1)


def per_round_us(r: Run) -> float:
    """microlog's threads' CPU per sampler round."""
    interval = r.summary["meta"].get("achieved_interval_us") or \
        r.summary["interval_us"]
    rounds = max(1.0, r.window * 1e6 / max(1, interval))
    return r.microlog_cpu * 1e6 / rounds


def bootstrap_median_of_medians(cells, mode: str, fn,
                                iterations: int = 2000) -> tuple:
    """The median over workloads of each workload's median pair, with a
    95% bootstrap interval (pairs resampled within each workload)."""
    per = [pairs(cells[w], mode, fn) for w in cells]
    med = statistics.median(statistics.median(p) for p in per)
    rnd = random.Random(11)
    got = sorted(
        statistics.median(statistics.median(rnd.choices(p, k=len(p)))
                          for p in per) for _ in range(iterations))
    return med, got[int(0.025 * iterations)], got[int(0.975 * iterations)]


def attribution_error(w: str, summary: dict) -> Optional[float]:
    """Largest error, in percentage points, of the self time recorded for
    the functions of a known split."""
    split = KNOWN_SPLITS.get(w)
    if split is None:
        return None
    self_of = {name: 0 for name in split}
    for f in summary["functions"]:
        if f["name"] in self_of:
            self_of[f["name"]] += f["self"]
    total = sum(self_of.values())
    if total == 0:
        return 100.0
    return max(abs(100.0 * self_of[n] / total - pct)
               for n, pct in split.items())


def row(w: str, mode: str, cells: Dict[str, Cell]) -> List[str]:
    runs = cells[mode].runs
    base = cells["base"].runs
    rss = paired(cells, mode, lambda r, b: (r.maxrss_kb - b.maxrss_kb)
                 / 1024)
    intervals = [i for r in runs for i in thread_intervals(r.summary)]
    samples = statistics.median(r.summary["samples"] for r in runs)
    bps = statistics.median(r.summary["file_bytes"]
                            / max(1, r.summary["samples"]) for r in runs)
    mbh = statistics.median(r.summary["file_bytes"] / 1e6 * 3600
                            / max(1e-3, r.summary["duration_s"])
                            for r in runs)
    iv = (f"{statistics.median(intervals):.0f} "
          f"({min(intervals):.0f}-{max(intervals):.0f})"
          if intervals else "-")
    errors = [attribution_error(w, r.summary) for r in runs]
    err = ("-" if errors[0] is None
           else f"{statistics.median(errors):.1f}")
    own = statistics.median(100 * r.microlog_cpu / r.window for r in runs)
    per_round = statistics.median(per_round_us(r) for r in runs)
    return [w, mode, f"{statistics.median(b.wall for b in base):.2f}",
            fmt_ci(pairs(cells, mode, script_wall_pct)),
            fmt_ci(pairs(cells, mode, wall_pct)),
            fmt_ci(pairs(cells, mode, program_cpu_pct)),
            f"{own:.1f}% ({per_round:.1f} us)", iv, f"{samples:.0f}",
            f"{bps:.2f}", f"{mbh:.1f}", f"{rss:+.1f}", err]


HEADER = ["workload", "mode", "base wall s",
          "wall overhead of the script [95% CI]",
          "wall overhead, whole process [95% CI]",
          "program threads' CPU [95% CI]",
          "microlog threads' CPU, % of a core (per round)",
          "interval us per thread (min-max)", "samples",
          "bytes/sample (whole file)", "MB/hour", "RSS added MB",
          "attribution error pp"]


def table(rows: List[List[str]], header: List[str] = HEADER) -> str:
    lines = ["| " + " | ".join(header) + " |",
             "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def steady(python: str, microlog: str, seconds: float,
           workloads: List[str]) -> List[dict]:
    """Whole-file and marginal bytes per sample of long 1 kHz runs."""
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp)
        for w in workloads:
            script = HERE / "workloads" / f"{w}.py"
            short = run_once(python, script, MODES["1 kHz"], microlog,
                             scratch, seconds / 3)
            long = run_once(python, script, MODES["1 kHz"], microlog,
                            scratch, seconds)
            b0, s0 = short.summary["file_bytes"], short.summary["samples"]
            b1, s1 = long.summary["file_bytes"], long.summary["samples"]
            marginal = (b1 - b0) / max(1, s1 - s0)
            rate = (b1 - b0) / max(1e-3, long.summary["duration_s"]
                                   - short.summary["duration_s"])
            out.append({"workload": w, "seconds": long.summary["duration_s"],
                        "samples": s1, "whole": b1 / max(1, s1),
                        "steady": marginal, "mb_hour": rate * 3600 / 1e6})
            print(f"  steady {w} done", file=sys.stderr)
    return out


def costs(python: str) -> Optional[dict]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("MICROLOG_")}
    out = subprocess.run([python, str(HERE / "costs.py")], env=env,
                         capture_output=True, text=True)
    if out.returncode != 0:
        print(f"costs.py failed: {out.stderr}", file=sys.stderr)
        return None
    return json.loads(out.stdout)


def machine() -> str:
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (f"{os.cpu_count()} cores ({model}), {platform.system()} "
            f"{platform.release()}, Python {platform.python_version()}")


def targets(cells, start: Optional[List[float]],
            steady_rows: List[dict]) -> List[str]:
    """The targets against this run's figures."""
    work = [w for w in cells if w != "empty"]
    if not work:
        return []
    cells = {w: cells[w] for w in work}

    def boot(mode: str, fn) -> tuple:
        return bootstrap_median_of_medians(cells, mode, fn)

    worst_interval = max(
        abs(statistics.median(i for r in cells[w]["1 kHz"].runs
                              for i in thread_intervals(r.summary))
            / 1000 - 1) * 100 for w in work)
    bps = statistics.median(r.summary["file_bytes"]
                            / max(1, r.summary["samples"])
                            for w in work for r in cells[w]["1 kHz"].runs)
    rss = max(paired(cells[w], m, lambda r, b: (r.maxrss_kb - b.maxrss_kb)
                     / 1024) for w in work for m in ("1 kHz", "10 kHz"))
    found = []
    for mode, limit in (("1 kHz", 1.0), ("10 kHz", 3.0)):
        for what, fn in (("script wall", script_wall_pct),
                         ("whole-process wall", wall_pct),
                         ("program threads' CPU", program_cpu_pct)):
            med, lo, hi = boot(mode, fn)
            found.append((f"{what} overhead at {mode} (median of "
                          "workloads)", f"<= {limit:g}%",
                          f"{med:+.1f}% [{lo:+.1f}%, {hi:+.1f}%]",
                          "yes" if hi <= limit else
                          "no" if lo > limit else "not resolved"))
    found.append(("achieved interval at 1 kHz, worst workload",
                  "within 5%", f"{worst_interval:.1f}% off",
                  "yes" if worst_interval <= 5 else "no"))
    found.append(("bytes per sample at 1 kHz (median, whole file of the "
                  "short runs)", "< 1", f"{bps:.2f}",
                  "yes" if bps < 1 else "no"))
    if steady_rows:
        st = statistics.median(r["steady"] for r in steady_rows)
        found.append(("bytes per sample at 1 kHz, steady state (median)",
                      "< 1 (goal 0.5)", f"{st:.2f}",
                      "yes" if st < 1 else "no"))
    found.append(("peak RSS added, worst run", "< 10 MB", f"{rss:+.1f} MB",
                  "yes" if rss < 10 else "no"))
    if start:
        med, lo, hi = median_ci(start)
        found.append(("start-up and shut-down cost (empty script)",
                      "< 10 ms", f"{med:.1f} ms [{lo:.1f}, {hi:.1f}]",
                      "yes" if hi < 10 else
                      "no" if lo >= 10 else "not resolved"))
    lines = ["| target | goal | this run | met |", "|---|---|---|---|"]
    for name, goal, value, met in found:
        lines.append(f"| {name} | {goal} | {value} | {met} |")
    return lines


def report(cells, reps: int, start: Optional[List[float]],
           steady_rows: List[dict], cost: Optional[dict]) -> str:
    rows = [row(w, m, cells[w]) for w in cells if w != "empty"
            for m in MODES if m != "base"]
    steady_table = table(
        [[r["workload"], f"{r['seconds']:.0f}", f"{r['samples']}",
          f"{r['whole']:.2f}", f"{r['steady']:.2f}", f"{r['mb_hour']:.1f}"]
         for r in steady_rows],
        ["workload (1 kHz)", "run s", "samples", "bytes/sample whole file",
         "bytes/sample steady state", "MB/hour steady"]) \
        if steady_rows else ""
    cost_lines = []
    if cost:
        cost_lines = [
            "| event (20 frames deep) | added per event |",
            "|---|---|",
            *(f"| {k} | {v / 1000:.2f} us |" if abs(v) >= 1000
              else f"| {k} | {v:.0f} ns |" for k, v in cost.items())]
    lines = [
        "# Sampler benchmark",
        "",
        f"Run {datetime.datetime.now():%Y-%m-%d %H:%M} on {machine()}, "
        f"{reps} interleaved repetitions (`make bench`).",
        "",
        table(rows),
        "",
        "Each run is paired with the unprofiled run of the same repetition; "
        "figures are the median of the pairs with a distribution-free 95% "
        "confidence interval in brackets. The script's wall overhead is "
        "that of the script itself (the time from its first line to its "
        "end, the fixed start-up and shut-down cost left out: that has its "
        "own target below); the whole process's includes it (8 ms of a 1 s "
        "run is +0.8%); the program threads' CPU is the CPU time the process "
        "used while the script ran less that of microlog's own threads "
        "(sampler, status, metrics), read per thread from "
        "/proc/self/task/*/schedstat: what recording costs the program "
        "itself (hooks, interference). microlog's threads' CPU is given as "
        "a share of one core and per sampler round. The interval is the "
        "mean time between two samples of one thread (requested: 1000 us, "
        "100 us). RSS added is the difference of peak resident memory. "
        "Bytes per sample here are the whole file over the samples of a "
        "run of 1-2 s, the run's fixed cost (names, files, first stacks, "
        "metadata: 3-5 KB) included; MB per hour is the rate of such a "
        "run.",
        "",
        "## Size of long runs",
        "",
        steady_table,
        "",
        "Steady state is the marginal cost: (bytes of the long run - bytes "
        "of a run a third as long) / (their difference in samples). The "
        "script is run again and again within one recording.",
        "",
        "## Costs per event",
        "",
        *cost_lines,
        "",
        "From bench/costs.py: each loop recorded and not, interleaved, "
        "median of the paired differences.",
        "",
        "## Targets",
        "",
        *targets(cells, start, steady_rows),
        "",
        "A target is met when its whole confidence interval is within the "
        "goal, missed when the whole interval is outside it, and not "
        "resolved otherwise (more repetitions or a quieter machine "
        "decide). Start-up is measured with the commands users type "
        f"(`python -m microlog` vs `python`, {STARTUP_PAIRS} interleaved "
        "pairs of the empty script); the workloads' runs all go through "
        "bench/probe.py, which starts microlog the way `python -m "
        "microlog` does without runpy's import (about 2.5 ms).",
    ]
    return "\n".join(lines) + "\n"


def main(argv: List[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=11)
    parser.add_argument("--workloads", default=",".join(WORKLOADS))
    parser.add_argument("--steady-seconds", type=float, default=30.0,
                        help="length of the long runs (0: none)")
    parser.add_argument("--python", default=sys.executable)
    parser.add_argument("--microlog", default=str(
        Path(sys.executable).parent / "microlog"))
    parser.add_argument("--results", default=str(HERE / "RESULTS.md"),
                        help="where to write the table ('' for nowhere)")
    args = parser.parse_args(argv)
    workloads = [w for w in args.workloads.split(",") if w]
    unknown = set(workloads) - set(WORKLOADS)
    if unknown:
        parser.error(f"unknown workloads: {', '.join(sorted(unknown))}")
    if not shutil.which(args.microlog):
        parser.error(f"no microlog command at {args.microlog}")
    started = time.monotonic()
    measured = [w for w in workloads if w != "empty"]
    cells = measure(args.python, args.microlog, measured, args.reps)
    start = None
    if "empty" in workloads:
        with tempfile.TemporaryDirectory() as tmp:
            start = startup_pairs(args.python, Path(tmp), STARTUP_PAIRS)
    steady_rows = []
    if args.steady_seconds > 0:
        steady_rows = steady(args.python, args.microlog,
                             args.steady_seconds,
                             [w for w in STEADY_WORKLOADS if w in workloads])
    cost = costs(args.python)
    text = report(cells, args.reps, start, steady_rows, cost)
    text += (f"\n(`make bench` took {(time.monotonic() - started) / 60:.1f}"
             " minutes.)\n")
    print(text)
    if args.results:
        write_results(Path(args.results), text)
    return 0


# bench/server_bench.py, bench/interval.py and bench/store_bench.py keep
# their own sections of RESULTS.md between these, and comparisons made by
# hand (a format change measured before and after) are kept as "notes".
SECTIONS = ("notes", "server-bench", "interval-bench", "store-bench")


def write_results(path: Path, text: str) -> None:
    """Writes the sampler's tables, keeping the other benches' sections."""
    old = path.read_text() if path.exists() else ""
    for name in SECTIONS:
        begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
        if begin in old and end in old:
            section = old[old.index(begin):old.index(end) + len(end)]
            text = text.rstrip() + "\n\n" + section + "\n"
    path.write_text(text)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
