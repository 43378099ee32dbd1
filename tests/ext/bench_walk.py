# SPDX-License-Identifier: MIT
"""Prints the cost of one ml_pywalk_sample call (two threads: a parked
thread 30 frames deep, and the main thread blocked in the benchmark),
best of several runs. Usage: python3.X bench_walk.py BUILD_DIR"""

import sys
import threading
import time

sys.path.insert(0, sys.argv[1])
import _walktest as W  # noqa: E402


def nest(ev, ready, n):
    if n <= 1:
        ready.set()
        ev.wait()
        return
    nest(ev, ready, n - 1)


def main():
    ev, ready = threading.Event(), threading.Event()
    # 25 nest frames + Thread.run/_bootstrap_inner/_bootstrap + Event.wait
    # + Condition.wait = 30 frames.
    t = threading.Thread(target=nest, args=(ev, ready, 25))
    t.start()
    ready.wait()
    time.sleep(0.05)
    depth = 0
    f = sys._current_frames()[t.ident]
    while f is not None:
        depth += 1
        f = f.f_back
    runs = [W.bench(20000) for _ in range(5)]
    ev.set()
    t.join()
    print("python %s: thread depth %d, %d frames/sample: %.2f us/sample, "
          "%.2f us/sample with every frame resolved (best of 5)"
          % (sys.version.split()[0], depth, runs[0][2],
             min(r[0] for r in runs), min(r[1] for r in runs)))


if __name__ == "__main__":
    main()
