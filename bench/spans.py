"""The @microlog.timed benchmark: nanoseconds per call of a tiny function,
undecorated and timed, with and without a recording, and the cost of the
clocks a span reads. Prints one table.

    python bench/spans.py [--reps 9] [--calls 200000]

Every repetition measures every variant once, in an order that rotates
between repetitions (the machine is shared and noisy); figures are medians
over repetitions, and "added" is the median of the per-repetition
differences to the undecorated function measured in the same state.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time

import microlog
from microlog import _timed


def plain(x):
    return x


@_timed.timed
def timed_bare(x):
    return x


@_timed.timed(record_args=True)
def timed_args(x):
    return x


@_timed.timed
def timed_gen(n):
    yield n


def per_call_ns(fn, calls: int) -> float:
    arg = 12345
    r = range(calls)
    t0 = time.perf_counter_ns()
    for _ in r:
        fn(arg)
    return (time.perf_counter_ns() - t0) / calls


def clock_ns(clock, calls: int) -> float:
    r = range(calls)
    t0 = time.perf_counter_ns()
    for _ in r:
        clock()
    return (time.perf_counter_ns() - t0) / calls


def generator_ns(calls: int) -> float:
    r = range(calls)
    t0 = time.perf_counter_ns()
    for _ in r:
        for _ in timed_gen(1):
            pass
    return (time.perf_counter_ns() - t0) / calls


RECORDING = [
    ("undecorated", lambda n: per_call_ns(plain, n)),
    ("@timed", lambda n: per_call_ns(timed_bare, n)),
    ("@timed(record_args=True)", lambda n: per_call_ns(timed_args, n)),
    ("@timed generator, 1 item", lambda n: generator_ns(n // 10)),
]
IDLE = [
    ("undecorated", lambda n: per_call_ns(plain, n)),
    ("@timed", lambda n: per_call_ns(timed_bare, n)),
    ("time.monotonic_ns()", lambda n: clock_ns(time.monotonic_ns, n)),
    ("time.thread_time_ns()", lambda n: clock_ns(time.thread_time_ns, n)),
]


def rotate(items, k):
    k %= len(items)
    return items[k:] + items[:k]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=9)
    ap.add_argument("--calls", type=int, default=200000)
    args = ap.parse_args()
    os.environ["MICROLOG_DIR"] = tempfile.mkdtemp(prefix="ml-spans-")
    os.environ["MICROLOG_QUIET"] = "1"
    rec = {name: [] for name, _ in RECORDING}
    idle = {name: [] for name, _ in IDLE}
    spans = 0
    for rep in range(args.reps):
        microlog.start("bench-spans")
        for name, run in rotate(RECORDING, rep):
            rec[name].append(run(args.calls))
        microlog.stop()
        spans += args.calls * 2 + args.calls // 10
        for name, run in rotate(IDLE, rep):
            idle[name].append(run(args.calls))

    def added(samples, base):
        return statistics.median(s - b for s, b in zip(samples, base))

    print(f"# @microlog.timed: ns per call\n\n"
          f"{os.cpu_count()} cores ({platform.processor() or '?'}), "
          f"Linux {platform.release()}, Python {platform.python_version()}, "
          f"{args.reps} interleaved repetitions of {args.calls} calls, "
          f"medians; {spans} spans recorded in all.\n")
    print("| state | variant | ns per call | added ns per call |")
    print("|---|---|---|---|")
    base = rec["undecorated"]
    for name, _ in RECORDING:
        extra = "" if name == "undecorated" else f"{added(rec[name], base):.0f}"
        print(f"| recording | {name} | {statistics.median(rec[name]):.0f} "
              f"| {extra} |")
    base = idle["undecorated"]
    for name, _ in IDLE:
        extra = "" if name == "undecorated" else f"{added(idle[name], base):.0f}"
        print(f"| not recording | {name} | "
              f"{statistics.median(idle[name]):.0f} | {extra} |")
    print("\nThe generator row is per generator (created, iterated once, "
          "exhausted). The clock rows are Python calls of the clocks a span "
          "reads; their difference is the thread CPU clock's system call.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
