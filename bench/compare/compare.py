"""Side-by-side comparison of microlog with the profilers users would pick
instead: Microlog 1.x (PyPI micrologai), py-spy, Austin, echion,
pyinstrument, Scalene, yappi and VizTracer (`make compare`).

    python bench/compare/compare.py [--reps 3] [--workloads split,threads]
                                    [--tools microlog,py-spy]

The peers are installed from PyPI into build/compare-venv (micrologai, whose
package is also called `microlog`, into build/compare-venv-micrologai), both
made from the interpreter of the project's .venv; never into the project.

Every workload of the sampler benchmark (bench/workloads) runs under every
tool, interleaved with unprofiled runs of the same script: each block of
`--base-every` tool runs is preceded by an unprofiled run, and each tool
run is paired with that one. The tool order rotates with the repetition.
Figures are medians over repetitions of paired ratios; the machine is
shared and noisy. Samples, sizes and the attribution error come from each
tool's own output, decoded here.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Tuple

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

import bench  # noqa: E402  (the sampler benchmark: workloads, splits)
import tools as T  # noqa: E402

PEER_VENV = ROOT / "build" / "compare-venv"
MICROLOGAI_VENV = ROOT / "build" / "compare-venv-micrologai"
RAW_RESULTS = ROOT / "build" / "compare" / "results.json"
GNU_TIME = "/usr/bin/time" if os.access("/usr/bin/time", os.X_OK) else ""
# Workloads that run for a fixed wall time whatever the overhead.
TIME_BOUNDED = {"split"}

# What each tool's output keeps (bytes per sample only compare like with
# like): "timeline" keeps every sample (or span) in time order.
OUTPUT_KIND = {
    "microlog": "timeline (every sample, chunked zstd)",
    "Microlog 1.x (micrologai)": "spans (merged stacks, pickle + zstd)",
    "py-spy": "aggregated (collapsed stacks with counts)",
    "austin": "timeline (every sample, MOJO)",
    "echion": "timeline (every sample, MOJO)",
    "pyinstrument": "aggregated (call tree JSON)",
    "scalene": "aggregated (per line/function JSON)",
    "yappi": "aggregated (per function pstat)",
    "viztracer": "full trace (every call, JSON)",
}


# --------------------------------------------------------------- install

def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def base_python(project_python: str) -> str:
    out = subprocess.run([project_python, "-c",
                          "import sys; print(sys._base_executable)"],
                         capture_output=True, text=True, check=True)
    return out.stdout.strip()


def make_venv(path: Path, python: str) -> Optional[str]:
    if (path / "bin" / "python").exists():
        return None
    log(f"creating {path.relative_to(ROOT)} from {python}")
    out = subprocess.run([python, "-m", "venv", str(path)],
                         capture_output=True, text=True)
    if out.returncode != 0:
        return "venv failed: " + out.stderr.strip()[-200:]
    return None


def pip_version(venv: Path, package: str) -> Optional[str]:
    out = subprocess.run([str(venv / "bin" / "python"), "-c",
                          "import importlib.metadata as m, sys; "
                          "print(m.version(sys.argv[1]))", package],
                         capture_output=True, text=True)
    return out.stdout.strip() if out.returncode == 0 else None


def pip_install(venv: Path, spec: str) -> Optional[str]:
    log(f"pip install {spec} into {venv.relative_to(ROOT)}")
    out = subprocess.run([str(venv / "bin" / "python"), "-m", "pip",
                          "install", "-q", "--disable-pip-version-check",
                          "--prefer-binary", spec],
                         capture_output=True, text=True)
    if out.returncode != 0:
        lines = [ln for ln in out.stderr.splitlines() if ln.strip()]
        return "pip install failed: " + (lines[-1] if lines else "?")[-200:]
    return None


def install(selected: List[T.Tool], project_python: str
            ) -> Tuple[Dict[str, Optional[str]], Dict[str, str]]:
    """Returns {tool: None or why it cannot run} and {tool: version}."""
    python = base_python(project_python)
    status: Dict[str, Optional[str]] = {}
    versions: Dict[str, str] = {}
    venv_error = {}
    for venv in (PEER_VENV, MICROLOGAI_VENV):
        if any(t.venv == ("peers" if venv == PEER_VENV else "micrologai")
               for t in selected):
            venv_error[venv] = make_venv(venv, python)
    for tool in selected:
        if tool.venv == "project":
            status[tool.name] = None
            out = subprocess.run([project_python, "-c",
                                  "import microlog; print(getattr(microlog,"
                                  " '__version__', '?'))"],
                                 capture_output=True, text=True)
            versions[tool.name] = out.stdout.strip() or "?"
            continue
        venv = PEER_VENV if tool.venv == "peers" else MICROLOGAI_VENV
        if venv_error.get(venv):
            status[tool.name] = venv_error[venv]
            continue
        package = tool.packages[0]
        why = None
        if pip_version(venv, package) is None:
            why = pip_install(venv, package)
        note_file = venv / f".compare-note-{package}"
        if why is None:
            why = tool.check(venv / "bin")
            for spec in getattr(tool, "fallbacks", []) if why else []:
                first = f"{package} {pip_version(venv, package)}: {why}"
                if pip_install(venv, spec) is None and \
                        tool.check(venv / "bin") is None:
                    note_file.write_text(first)
                    why = None
                    break
            if why is None and note_file.exists():
                versions[tool.name + " note"] = note_file.read_text()
        status[tool.name] = why
        versions[tool.name] = pip_version(venv, package) or "-"
    return status, versions


# ------------------------------------------------------------------ runs

@dataclass
class Run:
    wall: float
    cpu: float
    maxrss_kb: int
    error: Optional[str] = None
    parsed: Optional[T.Parsed] = None


def run_once(argv: List[str], extra_env: Dict[str, str], cwd: Path,
             timeout: float) -> Run:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("MICROLOG_", "PYTHON"))}
    env.update(PYTHONDONTWRITEBYTECODE="1")
    env.update(extra_env)
    # A child's ru_maxrss starts at the RSS of the process it was forked
    # from (the high-water mark survives exec), so peak RSS is taken by
    # GNU time, a small process, not from this harness's wait4.
    rss_file = cwd / ".maxrss"
    if GNU_TIME:
        argv = [GNU_TIME, "-q", "-f", "%M", "-o", str(rss_file), "--"] + argv
    start = time.perf_counter()
    try:
        proc = subprocess.Popen(argv, env=env, cwd=cwd,
                                stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE,
                                start_new_session=True)
    except OSError as e:
        return Run(0, 0, 0, error=f"cannot start: {e}")
    timed_out = []

    def kill():
        timed_out.append(True)
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # the group we started
        except ProcessLookupError:
            pass

    timer = threading.Timer(timeout, kill)
    timer.start()
    stderr_chunks: List[bytes] = []
    reader = threading.Thread(target=lambda: stderr_chunks.append(
        proc.stderr.read()))
    reader.start()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    timer.cancel()
    reader.join(5)
    proc.returncode = os.waitstatus_to_exitcode(status)
    proc.stderr.close()
    maxrss = usage.ru_maxrss
    if GNU_TIME:
        try:
            maxrss = int(rss_file.read_text().split()[-1])
            rss_file.unlink()
        except (OSError, ValueError, IndexError):
            pass
    run = Run(wall, usage.ru_utime + usage.ru_stime, maxrss)
    if timed_out:
        run.error = f"timed out after {timeout:.0f} s"
    elif proc.returncode != 0:
        text = b"".join(stderr_chunks).decode(errors="replace")
        lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
        reason = " ".join(lines[-3:])
        for words in (("ptrace", "permission", "glibc", "\u274c"),
                      ("error", "cannot", "failed", "panicked")):
            told = [ln for ln in lines if any(w in ln.lower()
                                              for w in words)]
            if told:  # the telling line, if there is one
                reason = told[0]
                break
        run.error = f"exit {proc.returncode}: {reason[:160]}"
    return run


@dataclass
class Cell:
    pairs: List[Tuple[Run, Run]] = field(default_factory=list)
    errors: List[str] = field(default_factory=list)
    attempts: int = 0


def measure(selected: List[T.Tool], status: Dict[str, Optional[str]],
            workloads: List[str], reps: int, base_every: int,
            timeout: float, project_python: str, microlog_cli: str
            ) -> Tuple[Dict[str, Dict[str, Cell]], List[float]]:
    runnable = [t for t in selected if status.get(t.name) is None]
    cells = {w: {t.name: Cell() for t in selected} for w in workloads}
    base_noise: List[float] = []
    given_up = set()
    started = time.monotonic()
    for rep in range(reps):
        k = rep % max(1, len(runnable))
        order = runnable[k:] + runnable[:k]
        for w in workloads:
            script = ROOT / "bench" / "workloads" / f"{w}.py"
            want = tuple(bench.KNOWN_SPLITS.get(w, {}))
            base: Optional[Run] = None
            for i, tool in enumerate(order):
                if i % base_every == 0:
                    with tempfile.TemporaryDirectory() as tmp:
                        new = run_once([project_python, str(script)], {},
                                       Path(tmp), timeout)
                    if new.error:
                        raise SystemExit(f"{w}.py failed unprofiled: "
                                         f"{new.error}")
                    if base is not None and w != "empty":
                        base_noise.append(100 * abs(new.wall / base.wall - 1))
                    base = new
                if (w, tool.name) in given_up:
                    continue
                cell = cells[w][tool.name]
                cell.attempts += 1
                with tempfile.TemporaryDirectory() as tmp:
                    ctx = T.Ctx(project_python, PEER_VENV / "bin",
                                MICROLOGAI_VENV / "bin", microlog_cli,
                                Path(tmp))
                    argv, env = tool.command(ctx, script)
                    run = run_once(argv, env, Path(tmp), timeout)
                    ctx.wall = run.wall
                    if run.error is None and w == "empty":
                        # Only the fixed cost counts; many tools write
                        # nothing for a script that does nothing.
                        run.parsed = T.Parsed(T.dir_bytes(Path(tmp)))
                    elif run.error is None:
                        try:
                            if isinstance(tool, T.VizTracer):
                                run.parsed = tool.parse(ctx, want)
                            else:
                                run.parsed = tool.parse(ctx)
                        except (T.ToolError, ValueError, KeyError,
                                OSError) as e:
                            run.error = f"output unreadable: {e}"[:200]
                if run.error:
                    cell.errors.append(run.error)
                    log(f"  {tool.name} on {w}: {run.error}")
                    if "timed out" in run.error:
                        given_up.add((w, tool.name))
                else:
                    cell.pairs.append((run, base))
        log(f"repetition {rep + 1}/{reps} done "
            f"({time.monotonic() - started:.0f} s)")
    return cells, base_noise


# ----------------------------------------------------------------- stats

def med(values) -> Optional[float]:
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def thread_rates(p: T.Parsed) -> List[float]:
    """Samples per second of each thread with at least 10 samples (of any
    thread with 2, if none has 10)."""
    for least in (10, 2):
        rates = [t.samples / t.seconds for t in p.threads
                 if t.samples >= least and t.seconds > 0]
        if rates:
            return rates
    return []


def split_error(w: str, p: T.Parsed) -> Optional[float]:
    split = bench.KNOWN_SPLITS.get(w)
    if not split:
        return None
    got = {n: p.inclusive.get(n, 0.0) for n in split}
    total = sum(got.values())
    if total <= 0:
        return 100.0
    return max(abs(100 * got[n] / total - pct) for n, pct in split.items())


@dataclass
class Stats:
    n: int
    base_wall: Optional[float]
    wall: Optional[float]  # ratio profiled / unprofiled
    cpu: Optional[float]
    rss_mb: Optional[float]
    rate: Optional[float]
    rate_lo: Optional[float]
    rate_hi: Optional[float]
    lower_bound: bool
    samples: Optional[float]
    bytes_per_sample: Optional[float]
    mb_per_hour: Optional[float]
    attribution: Optional[float]
    startup_ms: Optional[float]
    errors: List[str]
    attempts: int


def stats(w: str, cell: Cell) -> Stats:
    pairs = cell.pairs
    runs = [r for r, _ in pairs]
    all_rates = [x for r in runs for x in thread_rates(r.parsed)]
    det = bool(runs) and runs[0].parsed.samples is None
    bps = [r.parsed.out_bytes / r.parsed.samples for r in runs
           if r.parsed.samples]
    return Stats(
        n=len(pairs),
        base_wall=med(b.wall for _, b in pairs),
        wall=med(r.wall / b.wall for r, b in pairs),
        cpu=med(r.cpu / b.cpu for r, b in pairs if b.cpu > 0),
        rss_mb=med((r.maxrss_kb - b.maxrss_kb) / 1024 for r, b in pairs),
        rate=None if det else med(med(thread_rates(r.parsed))
                                  for r in runs),
        rate_lo=min(all_rates) if all_rates else None,
        rate_hi=max(all_rates) if all_rates else None,
        lower_bound=any(t.lower_bound for r in runs
                        for t in r.parsed.threads),
        samples=None if det else med(r.parsed.samples for r in runs),
        bytes_per_sample=med(bps) if bps else None,
        mb_per_hour=med(r.parsed.out_bytes / 1e6 * 3600 / r.wall
                        for r in runs),
        attribution=med(split_error(w, r.parsed) for r in runs),
        startup_ms=med(1000 * (r.wall - b.wall) for r, b in pairs),
        errors=cell.errors, attempts=cell.attempts)


# ---------------------------------------------------------------- report

def fmt(v: Optional[float], spec: str, suffix: str = "") -> str:
    return "-" if v is None else f"{v:{spec}}{suffix}"


def pct(ratio: Optional[float]) -> str:
    return "-" if ratio is None else f"{100 * (ratio - 1):+.1f}%"


def why_cell(s: Stats, status: Optional[str]) -> str:
    if status:
        return f"not run: {status}"
    if s.attempts == 0:
        return "not run"
    if s.errors:
        distinct = sorted(set(s.errors))
        return (f"{len(s.errors)}/{s.attempts} runs failed: "
                + "; ".join(distinct)[:220])
    return ""


def rate_text(s: Stats) -> str:
    if s.rate is None:
        return "-"
    ge = ">=" if s.lower_bound else ""
    return f"{ge}{s.rate:.0f} ({s.rate_lo:.0f}-{s.rate_hi:.0f})"


HEADER = ["workload", "tool", "runs", "base wall s", "wall overhead",
          "extra CPU", "samples/s per thread, median (min-max)",
          "samples", "bytes/sample", "MB/hour", "RSS added MB",
          "attribution error pp", "notes"]


def md_table(header: List[str], rows: List[List[str]]) -> str:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(c.replace("|", "/") for c in r) + " |"
            for r in rows]
    return "\n".join(out)


def detail_rows(all_stats, selected, status, workloads) -> List[List[str]]:
    rows = []
    for w in workloads:
        if w == "empty":
            continue
        for t in selected:
            s = all_stats[w][t.name]
            rows.append([w, t.name, str(s.n), fmt(s.base_wall, ".2f"),
                         pct(s.wall), pct(s.cpu), rate_text(s),
                         fmt(s.samples, ".0f"),
                         fmt(s.bytes_per_sample, ".1f"),
                         fmt(s.mb_per_hour, ".1f"), fmt(s.rss_mb, "+.1f"),
                         fmt(s.attribution, ".1f"),
                         why_cell(s, status.get(t.name))])
    return rows


@dataclass
class Headline:
    tool: str
    wall: Optional[float]
    wall_worst: Optional[float]
    worst_workload: str
    cpu: Optional[float]
    rate: Optional[float]
    lower_bound: bool
    bps: Optional[float]
    mbh: Optional[float]
    rss: Optional[float]
    attribution: Optional[float]
    startup: Optional[float]
    ran: str


def headlines(all_stats, selected, workloads) -> List[Headline]:
    out = []
    real = [w for w in workloads if w != "empty"]
    for t in selected:
        ss = {w: all_stats[w][t.name] for w in real}
        ok = {w: s for w, s in ss.items() if s.n}
        # Time-bounded workloads (split.py spins for fixed times) only show
        # the fixed cost in wall and CPU time: not in those medians.
        timed = {w: s for w, s in ok.items() if w not in TIME_BOUNDED}
        walls = {w: s.wall for w, s in timed.items() if s.wall is not None}
        worst = max(walls, key=walls.get) if walls else ""
        split = [ok[w].attribution for w in ok if w in bench.KNOWN_SPLITS]
        empty = all_stats.get("empty", {}).get(t.name)
        out.append(Headline(
            t.name, med(walls.values()), walls.get(worst), worst,
            med(s.cpu for s in timed.values()),
            med(s.rate for s in ok.values()),
            any(s.lower_bound for s in ok.values()),
            med(s.bytes_per_sample for s in ok.values()),
            med(s.mb_per_hour for s in ok.values()),
            med(s.rss_mb for s in ok.values()),
            med(split), empty.startup_ms if empty and empty.n else None,
            f"{len(ok)}/{len(real)}"))
    return out


def ratio(v: Optional[float]) -> str:
    return "-" if v is None else f"{v:.2f}x"


def headline_table(hs: List[Headline]) -> str:
    header = ["tool", "wall time, median (worst)", "CPU time, median",
              "samples/s per thread at 1 kHz", "bytes/sample", "MB/hour",
              "RSS added MB", "split.py error pp", "start-up ms",
              "workloads run"]
    rows = []
    for h in hs:
        rate = "-" if h.rate is None else \
            f"{'>=' if h.lower_bound else ''}{h.rate:.0f}"
        worst = "" if h.wall_worst is None else \
            f" ({ratio(h.wall_worst)} {h.worst_workload})"
        rows.append([h.tool, ratio(h.wall) + worst, ratio(h.cpu), rate,
                     fmt(h.bps, ".1f"), fmt(h.mbh, ".1f"),
                     fmt(h.rss, "+.1f"), fmt(h.attribution, ".1f"),
                     fmt(h.startup, ".0f"), h.ran])
    return md_table(header, rows)


def not_ahead(hs: List[Headline]) -> List[str]:
    """Figures where a peer does as well as or better than microlog."""
    me = next((h for h in hs if h.tool == "microlog"), None)
    if me is None:
        return ["microlog was not measured in this run."]
    lines = []

    def check(label, key, lower_better=True, unit="", digits=2,
              only=lambda h: True, slack=0.0):
        mine = getattr(me, key)
        if mine is None:
            return
        better = []
        for h in hs:
            v = getattr(h, key)
            if h is me or v is None or not only(h):
                continue
            if (v <= mine + slack) if lower_better else (v >= mine - slack):
                better.append(f"{h.tool} {v:.{digits}f}{unit}")
        if better:
            lines.append(f"- {label}: microlog {mine:.{digits}f}{unit}; "
                         f"as good or better: {', '.join(better)}.")

    check("Wall time (median ratio over workloads)", "wall", unit="x")
    check("CPU time (median ratio over workloads)", "cpu", unit="x")
    check("Achieved samples/s per thread", "rate", lower_better=False,
          digits=0)
    check("Output bytes per sample (timeline formats only)", "bps",
          digits=1, only=lambda h: OUTPUT_KIND.get(h.tool, "")
          .startswith("timeline"))
    check("Output bytes per sample (any format, incl. aggregated)", "bps",
          digits=1, only=lambda h: not OUTPUT_KIND.get(h.tool, "")
          .startswith("timeline"))
    check("Output MB per hour", "mbh", digits=1)
    check("Peak RSS added (MB)", "rss", digits=1, slack=0.05)
    check("Attribution error on split.py (pp)", "attribution", digits=1)
    check("Start-up and shut-down cost (ms, empty script)", "startup",
          digits=0)
    return lines or ["- On every headline figure microlog measured ahead "
                     "of every peer in this run."]


def report(all_stats, selected, status, versions, workloads, reps,
           base_every, base_noise, elapsed) -> str:
    now = datetime.datetime.now()
    hs = headlines(all_stats, selected, workloads)
    settings = []
    for t in selected:
        v = versions.get(t.name, "-")
        note = versions.get(t.name + " note")
        setting = t.setting + (f" ({note}; used {v})" if note else "")
        settings.append([t.name, v, setting,
                         OUTPUT_KIND.get(t.name, ""),
                         status.get(t.name) or "ran"])
    lines = [
        "# Comparison with other Python profilers",
        "",
        f"Run {now:%Y-%m-%d %H:%M} on {bench.machine()}; {reps} "
        f"repetitions; every {base_every} tool runs an unprofiled run of the "
        f"same script, each tool run paired with the unprofiled run before "
        f"it; tool order rotated per repetition; figures are medians of "
        f"paired ratios (`make compare`, {elapsed / 60:.0f} min).",
        "",
        "## Headline",
        "",
        "Ratios are profiled / unprofiled run of the same script, paired "
        "run by run (1.00x = no overhead); wall and CPU: median over the "
        "workloads "
        f"{', '.join(w for w in workloads if w not in TIME_BOUNDED | {'empty'})}"
        " (split.py spins for fixed times, so it only shows the fixed cost),"
        " with the worst workload in brackets; the other columns: median "
        "over all workloads run. Samples per second are per thread (1000 "
        "requested); `-` for deterministic tracers. Start-up is the added "
        "wall time on an empty script.",
        "",
        headline_table(hs),
        "",
        f"Noise floor: two unprofiled runs of the same script in one "
        f"repetition differ by {fmt(med(base_noise), '.1f')}% (median; "
        f"max {fmt(max(base_noise) if base_noise else None, '.1f')}%), so "
        "wall and CPU differences below a few percent are not "
        "significant.",
        "",
        "### Where microlog is not ahead",
        "",
        *not_ahead(hs),
        "",
        "## Settings",
        "",
        md_table(["tool", "version", "setting", "output", "status"],
                 settings),
        "",
        "## Per workload",
        "",
        md_table(HEADER, detail_rows(all_stats, selected, status,
                                     workloads)),
        "",
        "## Method",
        "",
        "- Wall time and CPU time (user + system of the whole process tree "
        "the harness starts, from `os.wait4`, which includes the children "
        "each tool waits for) are compared with the unprofiled run paired "
        "with each run. Extra CPU includes the profiler's own threads and "
        "processes.",
        "- RSS added is the difference of peak RSS (`ru_maxrss` of the "
        "process tree, taken by GNU time so that the harness's own size "
        "does not leak into it): for tools running in a separate process "
        "(py-spy, Austin) that is the larger of the profiler's and the "
        "target's peak, not their sum.",
        "- Samples per second per thread: samples of each thread with at "
        "least 10 samples divided by the time they cover: microlog from "
        "its thread first/last sample times; Austin and echion from the "
        "sum of their MOJO time metrics (each is the time since that "
        "thread's previous sample); pyinstrument and Scalene from their "
        "own duration (Scalene: its CPU samples of Python stacks, one per "
        "timer signal on the main thread, over its elapsed time; echion's "
        "per-task stacks of one sampling pass count as one sample); "
        "py-spy's raw output has no times, so its counts "
        "are divided by the whole run's wall time (slightly "
        "underestimated). Microlog 1.x keeps merged spans, not samples: "
        "the distinct sample times left in its spans are a lower bound "
        "(`>=`).",
        "- Bytes per sample and MB per hour are the size of everything the "
        "tool wrote, per sample it reports and per hour of the profiled "
        "run. Aggregated outputs (py-spy raw, pyinstrument, Scalene, "
        "yappi) do not keep a timeline, so their bytes per sample are not "
        "comparable with timeline formats.",
        "- Attribution error: split.py spends 70% of its time in hot() and "
        "30% in cold() (both spin on time.perf_counter); from each tool's "
        "own output the inclusive time (sample counts or time) of hot and "
        "cold is taken, and the error is the largest difference from "
        "70/30 in percentage points. Inclusive time equals self time here "
        "apart from time.perf_counter, which some tools report as a "
        "separate C function.",
        "- Every peer runs the workload with build/compare-venv/bin/python "
        "(Microlog 1.x with its own venv's python), made from the same "
        "interpreter as .venv; unprofiled runs use .venv/bin/python.",
    ]
    return "\n".join(lines) + "\n"


ALIASES = {"micrologai": "Microlog 1.x (micrologai)",
           "microlog1": "Microlog 1.x (micrologai)"}


def main(argv: List[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--workloads", default=",".join(bench.WORKLOADS))
    parser.add_argument("--tools", default=",".join(
        t.name for t in T.TOOLS), help="comma-separated: microlog, "
        "micrologai, py-spy, austin, echion, pyinstrument, scalene, yappi, "
        "viztracer")
    parser.add_argument("--base-every", type=int, default=2,
                        help="an unprofiled run before every N tool runs")
    parser.add_argument("--timeout", type=float, default=120,
                        help="seconds before a run is killed")
    parser.add_argument("--python", default=sys.executable,
                        help="the project's interpreter (.venv)")
    parser.add_argument("--microlog", default=str(
        Path(sys.executable).parent / "microlog"))
    parser.add_argument("--results", default=str(HERE.parent /
                                                 "COMPARISON.md"),
                        help="where to write the report ('' for nowhere)")
    args = parser.parse_args(argv)
    workloads = [w for w in args.workloads.split(",") if w]
    unknown = set(workloads) - set(bench.WORKLOADS)
    if unknown:
        parser.error(f"unknown workloads: {', '.join(sorted(unknown))}")
    by_name = {t.name.lower(): t for t in T.TOOLS}
    selected = []
    for name in (n.strip().lower() for n in args.tools.split(",")):
        if not name:
            continue
        tool = by_name.get(ALIASES.get(name, name).lower())
        if tool is None:
            parser.error(f"unknown tool {name}")
        selected.append(tool)
    if not shutil.which(args.microlog):
        parser.error(f"no microlog command at {args.microlog}")
    started = time.monotonic()
    status, versions = install(selected, args.python)
    for t in selected:
        log(f"{t.name} {versions.get(t.name, '-')}: "
            f"{status.get(t.name) or 'ready'}")
    cells, noise = measure(selected, status, workloads, args.reps,
                           max(1, args.base_every), args.timeout,
                           args.python, args.microlog)
    all_stats = {w: {t: stats(w, c) for t, c in cw.items()}
                 for w, cw in cells.items()}
    elapsed = time.monotonic() - started
    text = report(all_stats, selected, status, versions, workloads,
                  args.reps, max(1, args.base_every), noise, elapsed)
    print(text)
    if args.results:
        Path(args.results).write_text(text)
    RAW_RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RAW_RESULTS.write_text(json.dumps({
        w: {t: [{"wall": r.wall, "cpu": r.cpu, "maxrss_kb": r.maxrss_kb,
                 "base_wall": b.wall, "base_cpu": b.cpu,
                 "base_maxrss_kb": b.maxrss_kb,
                 "out_bytes": r.parsed.out_bytes,
                 "samples": r.parsed.samples,
                 "threads": [vars(x) for x in r.parsed.threads],
                 "split_error": split_error(w, r.parsed)}
                for r, b in c.pairs] + [{"error": e} for e in c.errors]
            for t, c in cw.items()} for w, cw in cells.items()},
        indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
