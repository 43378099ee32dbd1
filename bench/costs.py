"""What microlog's hooks cost the program's own threads, per event: one
print, one @timed call, one disabled ``log.debug()``. Each is timed in a
loop recorded and not recorded, the two interleaved and repeated (the
machine is noisy); "added" is the median of the paired differences. Prints
one JSON object (bench.py puts it in its table).

    python bench/costs.py [--reps 7]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import sys
import tempfile
import time

import microlog
from microlog import _timed

DEPTH = 20  # frames above each event, as in a real program
N = 20000

log = logging.getLogger("bench.costs")


def _deep(n: int, fn):
    return _deep(n - 1, fn) if n else fn()


def prints() -> float:
    t = time.perf_counter()
    for i in range(N):
        print("progress", i)
    return time.perf_counter() - t


@_timed.timed
def _span(x):
    return x


def spans() -> float:
    t = time.perf_counter()
    for i in range(N):
        _span(i)
    return time.perf_counter() - t


def disabled_logs() -> float:
    t = time.perf_counter()
    for i in range(N):
        log.debug("value %d", i)
    return time.perf_counter() - t


EVENTS = {"print": prints, "@timed call": spans,
          "disabled log.debug()": disabled_logs}


def main(argv) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=7)
    args = ap.parse_args(argv)
    os.environ["MICROLOG_DIR"] = tempfile.mkdtemp(prefix="ml-costs-")
    os.environ["MICROLOG_QUIET"] = "1"
    logging.basicConfig(level=logging.INFO)
    out = sys.stdout
    sys.stdout = open(os.devnull, "w")  # what the prints go to
    added: dict = {name: [] for name in EVENTS}
    for rep in range(args.reps):
        for recording in ((False, True) if rep % 2 else (True, False)):
            if recording:
                microlog.start("bench-costs")
            got = {name: _deep(DEPTH, fn) for name, fn in EVENTS.items()}
            if recording:
                microlog.stop()
                rec = got
            else:
                plain = got
        for name in EVENTS:
            added[name].append((rec[name] - plain[name]) / N * 1e9)
    sys.stdout.close()
    sys.stdout = out
    json.dump({name: statistics.median(v) for name, v in added.items()},
              sys.stdout)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
