"""The fallback sampler under stress, at 1 kHz: threads that start and end
all the time, finalizers that allocate and print (run by the collector at
any allocation, the sampler's included), forks, and, at the same time, the
recording rolling over to new files and its caches emptied again and
again (releasing code objects can run finalizers too). About 20 s;
ML_STRESS_SECONDS sets how long (scripts/stress-asan.sh runs it for
minutes against an ASan+UBSan build of the extension)."""

from __future__ import annotations

import os

from conftest import Runner
from test_sampler import STRESS

SECONDS = os.environ.get("ML_STRESS_SECONDS", "20")
FORKS = os.environ.get("ML_STRESS_FORKS", "1")


def test_fallback_sampler_under_stress(runner: Runner):
    script = runner.script("stress.py", STRESS)
    out = runner.python(
        ["-m", "microlog", "stress", str(script)],
        env=runner.env(MICROLOG_QUIET="1", MICROLOG_SAMPLER="fallback",
                       MICROLOG_SAMPLE_DELAY="0.001",
                       MICROLOG_ROLLOVER="256KB",
                       MICROLOG_CACHE_ENTRIES="64",
                       ML_STRESS_SECONDS=SECONDS, ML_STRESS_FORKS=FORKS),
        timeout=float(SECONDS) * 4 + 120)
    assert out.returncode == 0, out.stderr.decode()[-4000:]
    assert out.stderr == b"", out.stderr.decode()[-4000:]
    [last] = [line.split() for line in out.stdout.decode().splitlines()
              if line.startswith("threads")]
    assert int(last[1]) > 100, last
    assert int(last[3]) >= 1 or FORKS != "1", last
    files = runner.recordings("stress")
    summaries = [runner.show(p) for p in files]
    # One run in linked files, the last of which ended cleanly; every one
    # of them readable.
    assert sum(s["complete"] for s in summaries) == 1
    assert all(s["sampler"] == "fallback" for s in summaries)
    assert sum(len(s["threads"]) for s in summaries) > 50
