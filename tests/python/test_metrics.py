"""Metrics: microlog.metric (sync and async), the built-in asyncio and
@microlog.timed series, failing metrics, and the sampling thread."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path
from typing import Dict, List

from conftest import TIMEOUT, Runner, microlog_bin

QUIET = {"MICROLOG_QUIET": "1", "MICROLOG_STATUS_DELAY": "0.02"}


def dump(path: Path) -> List[dict]:
    out = subprocess.run([microlog_bin(), "dump", str(path)],
                         capture_output=True, timeout=TIMEOUT)
    assert out.returncode == 0, out.stderr.decode()
    return [json.loads(line) for line in out.stdout.splitlines()]


def metric_values(records: List[dict]) -> Dict[str, list]:
    """Series name -> its values, for series of class metric."""
    metric = {r["name"] for r in records
              if r["kind"] == "series" and r["class"] == "metric"}
    out: Dict[str, list] = {name: [] for name in metric}
    for r in records:
        if r["kind"] == "value" and r["series"] in metric:
            out[r["series"]].append(r["value"])
    return out


def run(runner: Runner, source: str, label: str, *args: str) -> List[dict]:
    script = runner.script("prog.py", source)
    argv = ["-m", "microlog", label, str(script)] if "-m" in args \
        else [str(script)]
    out = runner.python(argv, env=runner.env(**QUIET))
    assert out.returncode == 0, out.stderr.decode()
    return dump(runner.only_recording(label))


def test_sync_metrics_decorator_and_call(runner: Runner):
    records = run(runner, """
        import time, microlog
        calls = []

        @microlog.metric("calls", unit="calls")
        def count():
            calls.append(1)
            return len(calls)

        microlog.metric("half", lambda: len(calls) / 2)

        @microlog.metric
        def bare():
            return 7

        time.sleep(0.3)
    """, "m", "-m")
    series = {r["name"]: r for r in records if r["kind"] == "series"
              and r["class"] == "metric"}
    assert series["calls"]["unit"] == "calls"
    values = metric_values(records)
    assert len(values["calls"]) >= 5
    assert values["calls"] == sorted(values["calls"])
    assert values["calls"][0] >= 1
    assert all(isinstance(v, float) for v in values["half"])
    assert set(values["bare"]) == {7}


def test_registered_before_and_across_recordings(runner: Runner):
    script = runner.script("prog.py", """
        import time, microlog
        microlog.metric("early", lambda: 1)   # not recording yet
        for label in ("one", "two"):
            with microlog.enabled(label):
                time.sleep(0.15)
                microlog.metric("late_" + label, lambda: 2)
                time.sleep(0.15)
    """)
    out = runner.python([str(script)], env=runner.env(**QUIET))
    assert out.returncode == 0, out.stderr.decode()
    one = metric_values(dump(runner.only_recording("one")))
    two = metric_values(dump(runner.only_recording("two")))
    assert one["early"] and one["late_one"] and "late_two" not in one
    assert two["early"] and two["late_one"] and two["late_two"]


def test_async_metric_on_program_loop_and_private_loop(runner: Runner):
    records = run(runner, """
        import asyncio, threading, time, microlog

        @microlog.metric("where")
        async def where():
            await asyncio.sleep(0)
            # 1 on the program's loop (main thread), 0 on the private loop
            return int(threading.current_thread() is threading.main_thread())

        async def main():
            await asyncio.sleep(0.4)

        asyncio.run(main())
        # Longer than the 1 s a call on a loop that has just stopped may
        # wait before the metric moves to the private loop.
        time.sleep(1.5)
    """, "a", "-m")
    values = metric_values(records)["where"]
    # (a sample may land between registration and asyncio.run: a 0 first)
    assert 1 in values and values[-1] == 0
    assert 0 in values[values.index(1):]
    # Only a loaded machine makes a call at the hand-over time out; any
    # other failure of the metric is a bug.
    assert not [r for r in records if r["kind"] == "log"
                and r["level"] >= 30 and "where" in r["text"]
                and "did not finish in time" not in r["text"]]


def test_failing_metrics_log_once_and_recording_goes_on(runner: Runner):
    records = run(runner, """
        import time, microlog
        microlog.metric("boom", lambda: 1 / 0)
        microlog.metric("text", lambda: "many")
        microlog.metric("nan", lambda: float("nan"))
        microlog.metric("ok", lambda: 3)
        time.sleep(0.4)
    """, "f", "-m")
    warnings = [r["text"] for r in records if r["kind"] == "log"
                and r["level"] == 30 and r["source"] == "api"]
    assert len(warnings) == 3, warnings
    boom = [w for w in warnings if "`boom`" in w]
    assert len(boom) == 1 and "ZeroDivisionError" in boom[0]
    assert "prog.py" in boom[0]
    assert any("`text`" in w and "not a number" in w for w in warnings)
    assert any("`nan`" in w and "finite" in w for w in warnings)
    values = metric_values(records)
    assert len(values["ok"]) >= 5
    assert "boom" not in values and "text" not in values


def test_builtin_asyncio_tasks(runner: Runner):
    records = run(runner, """
        import asyncio, microlog

        async def idle():
            await asyncio.sleep(0.5)

        async def main():
            tasks = [asyncio.create_task(idle()) for _ in range(25)]
            await asyncio.gather(*tasks)

        asyncio.run(main())
    """, "t", "-m")
    values = metric_values(records)["asyncio.tasks"]
    assert max(values) == 26  # 25 plus main()


def test_no_asyncio_series_without_a_loop(runner: Runner):
    records = run(runner, """
        import time
        time.sleep(0.2)
    """, "n", "-m")
    assert "asyncio.tasks" not in metric_values(records)


def test_builtin_timed_function_series(runner: Runner):
    records = run(runner, """
        import threading, time, microlog

        @microlog.timed
        def work():
            time.sleep(0.02)

        for _ in range(10):
            work()
        t = threading.Thread(target=lambda: [work() for _ in range(3)])
        t.start()
        time.sleep(0.03)
        t.join()
        time.sleep(0.1)
    """, "timed", "-m")
    values = metric_values(records)
    hits = values["timed.work.hits"]
    assert hits[-1] == 13 and hits == sorted(hits)
    assert max(values["timed.work.in_flight"]) <= 1
    assert values["timed.work.in_flight"][-1] == 0
    assert 0.015 < values["timed.work.mean_duration"][-1] < 0.2


def test_sampling_thread_is_quiet_and_never_blocks_exit(runner: Runner):
    script = runner.script("prog.py", """
        import threading, time, microlog

        microlog.metric("stuck", lambda: time.sleep(3600))
        microlog.start("stuck")
        time.sleep(0.1)
        names = [t.name for t in threading.enumerate()]
        assert "microlog-metrics" in names, names
        microlog.stop()
        print("stopped")
    """)
    begin = time.monotonic()
    out = runner.python([str(script)], env=runner.env(**QUIET), timeout=30)
    assert out.returncode == 0, out.stderr.decode()
    assert b"stopped" in out.stdout
    assert time.monotonic() - begin < 15
    summary = runner.show(runner.only_recording("stuck"))
    assert "microlog-metrics" not in [t["name"] for t in summary["threads"]]


def test_metric_arguments_are_checked(runner: Runner):
    script = runner.script("prog.py", """
        import microlog
        for bad in ((123, lambda: 1), ("", lambda: 1), ("x", 5)):
            try:
                microlog.metric(*bad)
            except TypeError as e:
                print("refused", e)
        def f():
            return 1
        assert microlog.metric("ok", f) is f
        assert microlog.metric("ok2", unit="s")(f) is f
    """)
    out = runner.python([str(script)], env=runner.env(**QUIET))
    assert out.returncode == 0, out.stderr.decode()
    assert out.stdout.count(b"refused") == 3
