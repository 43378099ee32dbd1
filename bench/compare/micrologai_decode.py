"""Decodes a Microlog (PyPI `micrologai`) recording the way its own code
loads it (models.Recording.load: zstd, then pickle) and prints a JSON
summary. Run it with the interpreter of the micrologai virtual environment,
so that `microlog.models` is that package, not this project:

    build/compare-venv-micrologai/bin/python micrologai_decode.py FILE

Microlog 1.x keeps no samples: its sampler thread merges consecutive stacks
and records one Call (start, thread, call site, depth, duration, rounded to
1 ms) per span. The number of distinct sample times that survive in the
spans is therefore a lower bound of the samples it took.
"""

import json
import pickle
import sys
from collections import defaultdict

import zstd  # micrologai's own dependency

from microlog import models  # noqa: F401  (classes for unpickling)


def main(path: str) -> None:
    with open(path, "rb") as f:
        data = zstd.decompress(f.read())  # pylint: disable=c-extension-no-member
    rec = pickle.loads(data)
    times = defaultdict(set)
    inclusive = defaultdict(float)
    for call in rec.calls:
        times[call.thread_id].add(round(call.when, 3))
        times[call.thread_id].add(round(call.when + call.duration, 3))
        short = call.call_site.name.split(".")[-1]
        # Inclusive time of the outermost call only (recursion nests).
        if call.caller_site is None or \
                call.caller_site.name.split(".")[-1] != short:
            inclusive[short] += call.duration
    threads = []
    for tid, ts in times.items():
        span = max(ts) - min(ts) if ts else 0.0
        threads.append({"thread": str(tid), "sample_times": len(ts),
                        "span_s": span})
    json.dump({"calls": len(rec.calls), "markers": len(rec.markers),
               "statuses": len(rec.statuses), "threads": threads,
               "inclusive_s": inclusive}, sys.stdout)


if __name__ == "__main__":
    main(sys.argv[1])
