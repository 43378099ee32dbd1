"""Chrome Trace Event JSON, checked against the Trace Event Format
document (the "JSON Object Format": traceEvents, phases X, i, C, M, times
in microseconds, events on one thread nesting) and against the recording
(`microlog show --json`, `export --format json`)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import HERE, run, show
from test_speedscope import VIEWER, percent

NUMBER = (int, float)


@pytest.fixture(scope="module")
def trace(slowed: Path) -> dict:
    return json.loads(run("export", "--format", "chrome",
                          str(slowed)).stdout)


def check_event(e: dict):
    """The fields the Trace Event Format requires of each phase."""
    assert isinstance(e["name"], str)
    assert e["ph"] in {"X", "i", "C", "M"}
    assert isinstance(e["pid"], int) and isinstance(e["tid"], int)
    assert 0 <= e["tid"] < 2 ** 32 and 0 <= e["pid"] < 2 ** 32
    if e["ph"] != "M":
        assert isinstance(e["ts"], NUMBER) and e["ts"] >= 0
    if e["ph"] == "X":
        assert isinstance(e["dur"], NUMBER) and e["dur"] >= 0
    if e["ph"] == "i":
        assert e["s"] in {"g", "p", "t"}
    if e["ph"] == "C":
        assert e["args"] and all(isinstance(v, NUMBER)
                                 for v in e["args"].values())
    if e["ph"] == "M":
        assert e["name"] in {"process_name", "thread_name",
                             "thread_sort_index", "process_sort_index"}
        assert "name" in e["args"] or "sort_index" in e["args"]
    if "args" in e:
        assert isinstance(e["args"], dict)


def test_schema(trace: dict):
    assert isinstance(trace["traceEvents"], list)
    assert trace.get("displayTimeUnit", "ms") in {"ms", "ns"}
    for e in trace["traceEvents"]:
        check_event(e)


def test_complete_events_nest_on_each_thread(trace: dict):
    by_tid = {}
    for e in trace["traceEvents"]:
        if e["ph"] == "X":
            by_tid.setdefault(e["tid"], []).append(e)
    assert len(by_tid) >= 4  # two threads, their states, timed calls
    for events in by_tid.values():
        events.sort(key=lambda e: (e["ts"], -e["dur"]))
        open_ends = []
        for e in events:
            while open_ends and open_ends[-1] <= e["ts"]:
                open_ends.pop()
            if open_ends:
                assert e["ts"] + e["dur"] <= open_ends[-1], e
            open_ends.append(e["ts"] + e["dur"])


def test_threads_named_and_samples_covered(trace: dict, slowed: Path):
    s = show(slowed)
    names = {e["tid"]: e["args"]["name"] for e in trace["traceEvents"]
             if e["ph"] == "M" and e["name"] == "thread_name"}
    for t in s["threads"]:
        assert names[t["id"]] == t["name"]
        assert names[t["id"] + 2 ** 20] == t["name"] + " state"
    process = [e for e in trace["traceEvents"]
               if e["ph"] == "M" and e["name"] == "process_name"]
    assert process[0]["args"]["name"] == "prog"
    # The roots of the main thread's spans cover the time it was sampled.
    main = next(t for t in s["threads"] if t["name"] == "MainThread")
    roots = [e for e in trace["traceEvents"] if e["ph"] == "X"
             and e["tid"] == main["id"] and e["name"] == "<module>"
             and e["args"]["file"].endswith("prog.py")]
    sampled = main["last_us"] - main["first_us"]
    # Less where the sampler stalled for more than 4 intervals.
    assert 0.75 * sampled <= sum(e["dur"] for e in roots) <= 1.05 * sampled
    crunch = [e for e in trace["traceEvents"]
              if e["ph"] == "X" and e["name"] == "crunch"]
    # One call of 0.9 s of CPU time (more wall time on a busy machine),
    # cut where the sampler stalled if it did.
    assert len(crunch) >= 1
    assert 0.75e6 <= sum(e["dur"] for e in crunch) <= s["duration_s"] * 1e6


def test_states_tell_running_from_waiting(trace: dict, slowed: Path):
    s = show(slowed)
    waiter = next(t for t in s["threads"] if t["name"] == "waiter")
    states = [e for e in trace["traceEvents"]
              if e["ph"] == "X" and e["tid"] == waiter["id"] + 2 ** 20]
    waiting = sum(e["dur"] for e in states if e["name"] == "waiting")
    assert waiting >= 0.25e6  # it sleeps 0.3 s
    assert {e["name"] for e in states} <= {"running", "waiting",
                                           "gil_wait", "unknown"}


def test_logs_counters_and_timed_calls(trace: dict, slowed: Path):
    s = show(slowed)
    ev = trace["traceEvents"]
    logs = [e for e in ev if e["ph"] == "i"]
    assert len(logs) == s["log_records"]
    assert {"work failed", "done"} <= {e["args"]["text"] for e in logs}
    counters = {e["name"] for e in ev if e["ph"] == "C"}
    assert "metric items" in counters and len(counters) >= 3
    timed = [e for e in ev if e["ph"] == "X" and e["name"] == "work"
             and e["cat"] == "timed"]
    assert len(timed) == 6
    assert all(e["tid"] >= 2 ** 21 for e in timed)
    assert sum("exception" in e["args"] for e in timed) == 1


def test_opens_in_speedscope(trace: dict, slowed: Path, tmp_path: Path):
    """A real consumer: speedscope's Trace Event importer, in chromium."""
    assert VIEWER.exists(), "run `npm ci` in tests/export"
    f = tmp_path / "trace.json"
    f.write_text(json.dumps(trace))
    shots = HERE.parents[1] / "build" / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    p = subprocess.run([shutil.which("node"), str(HERE / "speedscope_view.mjs"),
                        str(f), str(shots / "chrome-in-speedscope.png")],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    viewed = json.loads(p.stdout)
    s = show(slowed)
    main = next(t["id"] for t in s["threads"] if t["name"] == "MainThread")
    assert "Importing as Trace Event Format profile" in viewed["console"]
    # speedscope opens the first thread that has events.
    first = min(e["tid"] for e in trace["traceEvents"]
                if e["ph"] == "X" and e["tid"] < 2 ** 20)
    name = next(t["name"] for t in s["threads"] if t["id"] == first)
    assert f"{name} (tid {first})" in " ".join(viewed["toolbar"])
    if first != main:
        pytest.skip("the recorder met another thread before MainThread")
    rows = {r[2].split(" {")[0]: (percent(r[0]), percent(r[1]))
            for r in viewed["table"] if "%" in r[0]
            and r[2].split(" {")[0] in ("crunch", "steady")}
    # The viewer's self shares are the file's: self time (a span's
    # duration less its children's) over the thread's root time.
    spans = [e for e in trace["traceEvents"]
             if e["ph"] == "X" and e["tid"] == main]
    order = {id(e): i for i, e in enumerate(spans)}

    def inside(e, p):
        """p holds e: of two equal intervals the one written first."""
        if p is e or not (p["ts"] <= e["ts"]
                          and e["ts"] + e["dur"] <= p["ts"] + p["dur"]):
            return False
        same = p["ts"] == e["ts"] and p["dur"] == e["dur"]
        return not same or order[id(p)] < order[id(e)]

    root = sum(e["dur"] for e in spans
               if not any(inside(e, p) for p in spans))
    for name in ("crunch", "steady"):
        own = sum(e["dur"] for e in spans if e["name"] == name)
        inner = sum(e["dur"] for e in spans for p in spans
                    if p["name"] == name and inside(e, p))
        assert rows[name][1] == pytest.approx(100 * (own - inner) / root,
                                              abs=1)
        # And near microlog show's share of samples (time and samples
        # part where the sampler stalled on a busy machine).
        f = next(f for f in s["functions"] if f["name"] == name)
        share = 100 * f["self"] / s["running_samples"]
        assert rows[name][1] == pytest.approx(share, abs=15)
