"""Chrome Trace Event JSON, checked against the Trace Event Format
document (the "JSON Object Format": traceEvents, phases X, i, C, M, times
in microseconds, events on one thread nesting) and against the recording
(`microlog show --json`, `export --format json`)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import run, show

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
    # The roots of the main thread's spans hold all its sampled stacks.
    main = next(t for t in s["threads"] if t["name"] == "MainThread")
    roots = [e for e in trace["traceEvents"] if e["ph"] == "X"
             and e["tid"] == main["id"] and e["name"] == "<module>"]
    assert sum(e["args"]["samples"] for e in roots) >= main["samples"] - 5
    crunch = [e for e in trace["traceEvents"]
              if e["ph"] == "X" and e["name"] == "crunch"]
    assert len(crunch) == 1 and 0.8e6 <= crunch[0]["dur"] <= 1.3e6


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
