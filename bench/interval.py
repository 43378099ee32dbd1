"""Achieved sampling interval with N CPU-bound threads (1 ms asked).

Runs a program with N threads spinning in Python for a few seconds under
microlog, several times for each N (interleaved, so a noisy neighbour hits
every N alike), and prints a table of the median achieved interval per
thread: the time between two samples of one thread, from the recording
(each thread's samples over its life), and the sampler's own mean tick
interval. Usage: python bench/interval.py [--reps 5] [--seconds 2]
[--threads 1,3,8,16] [--sampler native] [--builds before=DIR,after=]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

PROGRAM = r"""
import json, sys, threading, time
import microlog
n, seconds = int(sys.argv[1]), float(sys.argv[2])
microlog.start("interval")
stop = time.monotonic() + seconds
def spin():
    while time.monotonic() < stop:
        sum(i * i for i in range(200))
threads = [threading.Thread(target=spin) for _ in range(n)]
for t in threads:
    t.start()
for t in threads:
    t.join()
rec = microlog.stop()
print(json.dumps({"path": rec.path, "tick_us": rec.achieved_interval_us,
                  "duration_s": rec.duration_s}))
"""


def per_thread_us(path: str):
    """Median over the spinning threads of (life / (samples - 1)), and the
    sampler's CPU time (META sampler_cpu_ns)."""
    out = subprocess.run([os.path.join(os.path.dirname(sys.executable),
                                       "microlog"), "dump", path],
                         capture_output=True, check=True, text=True)
    first, last, count = {}, {}, {}
    cpu_ns = 0
    for line in out.stdout.splitlines():
        r = json.loads(line)
        if r.get("kind") == "meta" and r.get("key") == "sampler_cpu_ns":
            cpu_ns = r["value"]
        if r.get("kind") != "samples":
            continue
        t = r["thread"]
        start = r["time_us"]
        end = start + r.get("span_us", 0)
        first[t] = min(first.get(t, start), start)
        last[t] = max(last.get(t, end), end)
        count[t] = count.get(t, 0) + r["count"]
    vals = [(last[t] - first[t]) / (count[t] - 1) for t in count
            if count[t] > 100]
    return statistics.median(vals) if vals else float("nan"), cpu_ns


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--seconds", type=float, default=2.0)
    ap.add_argument("--threads", default="1,3,8,16")
    ap.add_argument("--sampler", default="native")
    ap.add_argument("--results", default="",
                    help="write the table into this RESULTS.md, in its "
                    "interval-bench section")
    ap.add_argument("--builds", default="installed=",
                    help="NAME=DIR,...: each DIR (holding a microlog "
                    "package) first on PYTHONPATH, '' for the installed "
                    "one; runs of the builds are interleaved")
    args = ap.parse_args()
    counts = [int(x) for x in args.threads.split(",")]
    builds = [b.split("=", 1) for b in args.builds.split(",")]
    res = {(b, n): ([], [], []) for b, _ in builds for n in counts}
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(args.reps):
            for n in counts:
                for name, where in builds:
                    env = dict(os.environ, MICROLOG_DIR=tmp,
                               MICROLOG_QUIET="1",
                               MICROLOG_SAMPLER=args.sampler)
                    if where:
                        env["PYTHONPATH"] = where
                    out = subprocess.run(
                        [sys.executable, "-c", PROGRAM, str(n),
                         str(args.seconds)],
                        env=env, capture_output=True, check=True, text=True)
                    got = json.loads(out.stdout.splitlines()[-1])
                    per, cpu_ns = per_thread_us(got["path"])
                    ticks = got["duration_s"] * 1e6 / got["tick_us"]
                    r = res[(name, n)]
                    r[0].append(per)
                    r[1].append(got["tick_us"])
                    r[2].append(cpu_ns / 1e3 / ticks)
                    os.unlink(got["path"])
    load = os.getloadavg()[0]
    lines = [f"| build | threads | interval per thread us (median of "
             f"{args.reps}) | min-max | sampler tick us | sampler CPU per "
             "round us |", "|---|---|---|---|---|---|"]
    for n in counts:
        for name, _ in builds:
            per, tick, cost = res[(name, n)]
            lines.append(f"| {name} | {n} | {statistics.median(per):.0f} | "
                         f"{min(per):.0f}-{max(per):.0f} | "
                         f"{statistics.median(tick):.0f} | "
                         f"{statistics.median(cost):.1f} |")
    lines.append(f"\nload average at the end: {load:.2f}")
    print("\n".join(lines))
    if args.results:
        write_section(args, lines)


def write_section(args, lines) -> None:
    """The table as the interval-bench section of RESULTS.md."""
    import platform
    import time
    from pathlib import Path
    path = Path(args.results)
    begin, end = "<!-- interval-bench:begin -->", "<!-- interval-bench:end -->"
    cpu = next((line.split(":", 1)[1].strip()
                for line in open("/proc/cpuinfo")
                if line.startswith("model name")), "?")
    section = "\n".join([
        begin, "## Achieved interval with N spinning threads", "",
        f"Run {time.strftime('%Y-%m-%d %H:%M')} on {os.cpu_count()} cores "
        f"({cpu}), Linux {platform.release()}, Python "
        f"{platform.python_version()}, {args.sampler} sampler, 1 ms asked, "
        f"{args.reps} interleaved repetitions of {args.seconds} s "
        f"(`python bench/interval.py --builds {args.builds}`).", "",
        *lines, "",
        "The interval per thread is a thread's life over its samples "
        "(median over the spinning threads, then over repetitions); the "
        "sampler's CPU per round is its thread CPU time over its rounds. "
        "The machine is shared: the interval moves with the load, the CPU "
        "per round much less.", end])
    old = path.read_text() if path.exists() else ""
    if begin in old and end in old:
        text = old[:old.index(begin)] + section + old[old.index(end)
                                                      + len(end):]
    else:
        text = old.rstrip() + "\n\n" + section + "\n"
    path.write_text(text)


if __name__ == "__main__":
    main()
