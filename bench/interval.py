"""Achieved sampling interval with N CPU-bound threads (1 ms asked).

Runs a program with N threads spinning in Python for a few seconds under
microlog, several times for each N (interleaved, so a noisy neighbour hits
every N alike), and prints a table of the median achieved interval per
thread: the time between two samples of one thread, from the recording
(each thread's samples over its life), and the sampler's own mean tick
interval. Usage: python bench/interval.py [--reps 5] [--seconds 2]
[--threads 1,3,8,16] [--sampler native]
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
    args = ap.parse_args()
    counts = [int(x) for x in args.threads.split(",")]
    res = {n: ([], [], []) for n in counts}
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, MICROLOG_DIR=tmp, MICROLOG_QUIET="1",
                   MICROLOG_SAMPLER=args.sampler)
        for _ in range(args.reps):
            for n in counts:
                out = subprocess.run(
                    [sys.executable, "-c", PROGRAM, str(n),
                     str(args.seconds)],
                    env=env, capture_output=True, check=True, text=True)
                got = json.loads(out.stdout.splitlines()[-1])
                per, cpu_ns = per_thread_us(got["path"])
                ticks = got["duration_s"] * 1e6 / got["tick_us"]
                res[n][0].append(per)
                res[n][1].append(got["tick_us"])
                res[n][2].append(cpu_ns / 1e3 / ticks)
                os.unlink(got["path"])
    load = os.getloadavg()[0]
    print(f"| threads | interval per thread us (median of {args.reps}) "
          "| min-max | sampler tick us | sampler CPU per round us |")
    print("|---|---|---|---|---|")
    for n in counts:
        per, tick, cost = res[n]
        print(f"| {n} | {statistics.median(per):.0f} | "
              f"{min(per):.0f}-{max(per):.0f} | "
              f"{statistics.median(tick):.0f} | "
              f"{statistics.median(cost):.1f} |")
    print(f"\nload average at the end: {load:.2f}")


if __name__ == "__main__":
    main()
