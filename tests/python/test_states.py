"""Waiting for the GIL is told from other waits: threads parked in an
Event, a Lock, a sleep or select() beside CPU-bound threads show (nearly)
no GIL wait; threads starved of the GIL show it, about as much as they
measure themselves."""

from __future__ import annotations

import json

import pytest

from conftest import Runner

PARKED = """
    import json, os, select, threading, time
    import microlog

    microlog.start("states")
    stop = time.monotonic() + 2.0
    ev = threading.Event()
    lock = threading.Lock()
    lock.acquire()
    r, w = os.pipe()
    over = [0.0, 0.0]  # short waits: time beyond their timeout, in all

    def event(): ev.wait()
    def locked(): lock.acquire()
    def sleeping(): time.sleep(2.2)
    def selecting(): select.select([r], [], [], 5)
    def spin():
        while time.monotonic() < stop:
            sum(i * i for i in range(100))
    def short_waits():
        # Wakes every 2 ms and then needs the GIL, which the spinners
        # hold: it really waits for it, and measures how long.
        while time.monotonic() < stop:
            t0 = time.perf_counter()
            ev.wait(0.002)
            dt = time.perf_counter() - t0
            over[0] += max(0.0, dt - 0.002)
            over[1] += dt

    names = {"event": event, "lock": locked, "sleep": sleeping,
             "select": selecting, "spin1": spin, "spin2": spin,
             "short_waits": short_waits}
    threads = [threading.Thread(target=f, name=n) for n, f in names.items()]
    for t in threads:
        t.start()
    while time.monotonic() < stop + 0.3:
        time.sleep(0.05)
    ev.set()
    lock.release()
    os.write(w, b"x")
    for t in threads:
        t.join()
    microlog.stop()
    print(json.dumps({"short_gil_share": over[0] / over[1]}))
"""


@pytest.mark.skipif(
    __import__("sys").implementation.name != "cpython", reason="CPython")
def test_parked_threads_do_not_wait_for_the_gil(runner: Runner):
    script = runner.script("states.py", PARKED)
    out = runner.python([str(script)], env=runner.env(
        MICROLOG_QUIET="1", MICROLOG_SAMPLER="native"))
    assert out.returncode == 0, out.stderr.decode()
    measured = json.loads(out.stdout)["short_gil_share"]
    summary = runner.show(runner.only_recording("states"))
    share = {}
    for t in summary["threads"]:
        if t["samples"] > 100:
            share[t["name"]] = t["gil_wait"] / t["samples"]
    print({k: round(v, 3) for k, v in share.items()},
          "short_waits measured", round(measured, 3))
    # Parked the whole run (the sleeper wakes once, at the end): at most a
    # few samples around the end.
    for name in ("event", "lock", "sleep", "select"):
        assert share[name] <= 0.02, (name, share)
    # Two CPU-bound threads share the GIL: each waits for it much of the
    # time (half of it on an idle machine).
    for name in ("spin1", "spin2"):
        assert share[name] >= 0.15, (name, share)
    # A thread that wakes often waits for the GIL after every wake-up, as
    # it measures itself; the samples say about as much.
    assert measured >= 0.2, measured
    assert 0.5 * measured <= share["short_waits"] <= measured + 0.15, (
        share["short_waits"], measured)


SHALLOW = """
    import json, threading, time
    import microlog
    from microlog import _microlog

    microlog.start("shallow")
    stop = time.monotonic() + 2.0
    def f(n):
        if n == 0:
            return sum(i * i for i in range(30))
        return f(n - 1) + 1
    def spin():
        # Calls and returns all the time: the stack changes under the
        # sampler's copy of it.
        while time.monotonic() < stop:
            [f(k % 9) for k in range(20)]
    threads = [threading.Thread(target=spin) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stats = _microlog.stats()
    microlog.stop()
    print(json.dumps(stats))
"""


def test_shallow_stacks_are_never_truncated(runner: Runner):
    """A walk that met a frame it could not read (the thread changed its
    stack under the copy) is walked again; one that stays broken is
    recorded under "<unreadable>", never as a stack cut at the depth
    bound."""
    script = runner.script("shallow.py", SHALLOW)
    out = runner.python([str(script)], env=runner.env(
        MICROLOG_QUIET="1", MICROLOG_SAMPLER="native"))
    assert out.returncode == 0, out.stderr.decode()
    stats = json.loads(out.stdout)
    summary = runner.show(runner.only_recording("shallow"))
    by_name = {f["name"]: f["total"] for f in summary["functions"]}
    print(stats, {k: v for k, v in by_name.items() if k.startswith("<")})
    assert "<truncated>" not in by_name
    # Every broken walk is a sample under "<unreadable>" (those until the
    # stats were read, at least); a retry saves nearly all of them.
    unreadable = by_name.get("<unreadable>", 0)
    assert unreadable >= stats["walks_failed"]
    assert unreadable <= 0.005 * summary["samples"] + 2
