"""@microlog.timed and @microlog.catch_errors, driven as a user would: a
script runs in a subprocess and its recording is read back with
``microlog dump`` (JSON Lines)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import List

from conftest import TIMEOUT, Runner, microlog_bin

PRELUDE = """
import asyncio, sys, threading, time
import microlog
from microlog._timed import timed, catch_errors, stats
"""


def dump(path: Path, kinds: str = "span,log") -> List[dict]:
    out = subprocess.run([microlog_bin(), "dump", "--kind", kinds,
                          str(path)], capture_output=True, timeout=TIMEOUT)
    assert out.returncode == 0, out.stderr.decode()
    return [json.loads(line) for line in out.stdout.splitlines()]


def run(runner: Runner, body: str, label: str = "t") -> List[dict]:
    script = runner.script("p.py", PRELUDE + textwrap.dedent(body))
    out = runner.python([str(script)], env=runner.env(MICROLOG_QUIET="1"))
    assert out.returncode == 0, out.stderr.decode()
    return dump(runner.only_recording(label))


def spans(records: List[dict], name: str = None) -> List[dict]:
    """The program's spans (microlog's own, "microlog: start" and
    "microlog: end of run", left out), or those of one name."""
    return [r for r in records if r["kind"] == "span"
            and not r["name"].startswith("microlog: ")
            and (name is None or r["name"] == name)]


def test_every_call_kind_is_a_span(runner: Runner):
    records = run(runner, """
        @timed
        def plain(x):
            return x + 1

        class C:
            @timed
            def method(self, x):
                return x

            @staticmethod
            @timed
            def static(x):
                return x

            @timed
            @classmethod
            def klass(cls, x):
                return cls, x

        @timed
        def gen(n):
            for i in range(n):
                yield i
            return "end"

        @timed
        async def coro(x):
            await asyncio.sleep(0.01)
            return x

        @timed
        async def agen(n):
            for i in range(n):
                await asyncio.sleep(0)
                yield i

        async def main():
            assert await coro(3) == 3
            assert [i async for i in agen(3)] == [0, 1, 2]

        with microlog.enabled("t"):
            assert plain(1) == 2
            assert C().method(5) == 5 and C.method(C(), 6) == 6
            assert C.static(7) == 7 and C().static(8) == 8
            assert C.klass(9) == (C, 9) and C().klass(10) == (C, 10)
            assert list(gen(3)) == [0, 1, 2]
            asyncio.run(main())
            threads = [threading.Thread(target=plain, args=(i,))
                       for i in range(3)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
    """)
    # Names are code objects' qualified names (plain names before 3.11).
    names = [s["name"] for s in spans(records)]
    if sys.version_info >= (3, 11):
        assert "C.method" in names
    names = [n.rsplit(".", 1)[-1] for n in names]
    assert names.count("plain") == 4
    assert names.count("method") == 2
    assert names.count("static") == 2
    assert names.count("klass") == 2
    assert names.count("gen") == 1
    assert names.count("coro") == 1
    assert names.count("agen") == 1
    plain_spans = spans(records, "plain")
    assert len({s["thread"] for s in plain_spans}) == 4
    for s in spans(records):
        assert s["file"].endswith("p.py")
        assert s["line"] > 0
        assert s["wall_ns"] > 0
        assert 0 <= s["cpu_ns"] <= s["wall_ns"]
        assert s["exception"] is None and s["args"] == ""
    coro_span = spans(records, "coro")[0]
    assert coro_span["wall_ns"] >= 10_000_000
    # Waiting in the event loop is not the coroutine's CPU time.
    assert coro_span["cpu_ns"] < coro_span["wall_ns"] / 2


def test_arguments_text(runner: Runner):
    records = run(runner, """
        class Bad:
            def __str__(self):
                raise RuntimeError("no")

        @timed(sanitize=lambda s: s.replace("hunter2", "*******"))
        def login(user, password, extra=None):
            return user

        @timed(max_arg_length=4)
        def short(text):
            return text

        @timed(sanitize=str.upper, record_args=False)
        def hidden(secret):
            return secret

        @timed
        def bare(secret):
            return secret

        @timed(record_args=True, max_arg_length=None)
        def odd(value):
            return value

        @timed(sanitize=lambda s: 1 / 0)
        def broken(value):
            return value

        with microlog.enabled("t"):
            login("ann", "hunter2", extra={"k": "hunter2"})
            short("abcdefgh")
            hidden("s3cret")
            bare("s3cret")
            odd(Bad())
            odd("x" * 1000)
            broken("top secret")
    """)
    args = {s["name"]: s["args"] for s in spans(records)}
    login = json.loads(args["login"])
    assert login == {"args": ["ann", "*******"],
                     "kwargs": {"extra": "{'k': '*******'}"}}
    assert json.loads(args["short"]) == {"args": ["abcd..."], "kwargs": {}}
    assert args["hidden"] == "" and args["bare"] == ""
    odd = [json.loads(s["args"]) for s in spans(records, "odd")]
    assert odd[0]["args"] == ["<unserializable>"]
    assert odd[1]["args"] == ["x" * 1000]
    assert json.loads(args["broken"])["args"] == ["<sanitize failed>"]
    assert "top secret" not in json.dumps(records)
    warnings = [r for r in records if r["kind"] == "log"
                and "sanitize raised ZeroDivisionError" in r["text"]]
    assert len(warnings) == 1


def test_exceptions_recorded_and_reraised_unchanged(runner: Runner):
    records = run(runner, """
        import traceback

        class AppError(Exception):
            pass

        def deep():
            raise AppError("token=abc went wrong")

        @timed(sanitize=lambda s: s.replace("abc", "***"))
        def fails():
            deep()

        @timed
        def value_error():
            raise ValueError("plain")

        @timed
        def gen_fails():
            yield 1
            raise KeyError("k")

        @timed
        async def coro_fails():
            await asyncio.sleep(0)
            raise ValueError("async")

        original = AppError("x")

        @timed
        def raises_given():
            raise original

        with microlog.enabled("t"):
            try:
                fails()
            except AppError as e:
                frames = [f.name for f in traceback.extract_tb(e.__traceback__)]
                assert frames[-2:] == ["fails", "deep"], frames
            try:
                raises_given()
            except AppError as e:
                assert e is original
            try:
                value_error()
            except ValueError:
                pass
            try:
                list(gen_fails())
            except KeyError as e:
                frames = [f.name for f in traceback.extract_tb(e.__traceback__)]
                assert frames[-1] == "gen_fails", frames
            try:
                asyncio.run(coro_fails())
            except ValueError as e:
                assert str(e) == "async"
    """)
    exc = {s["name"]: s["exception"] for s in spans(records)}
    assert exc["fails"] == "__main__.AppError: token=*** went wrong"
    assert exc["raises_given"] == "__main__.AppError: x"
    assert exc["value_error"] == "ValueError: plain"
    assert exc["gen_fails"] == "KeyError: 'k'"
    assert exc["coro_fails"] == "ValueError: async"


def test_catch_errors_logs_the_traceback(runner: Runner):
    records = run(runner, """
        def inner():
            raise ValueError("password=hunter2")

        @catch_errors(sanitize=lambda s: s.replace("hunter2", "***"))
        def outer():
            inner()

        @catch_errors
        def twice():
            outer()

        @catch_errors
        def gen():
            yield 1
            raise KeyError("gen")

        @catch_errors
        async def coro():
            raise TypeError("coro")

        @catch_errors
        def fine():
            return 5

        with microlog.enabled("t"):
            caught = []
            for f in (twice, lambda: list(gen()),
                      lambda: asyncio.run(coro())):
                try:
                    f()
                except Exception as e:
                    caught.append(e)
            assert [type(e) for e in caught] == [ValueError, KeyError,
                                                 TypeError]
            assert fine() == 5
    """)
    errors = [r for r in records if r["kind"] == "log"
              and r["source"] == "exception"]
    assert len(errors) == 3, errors  # the ValueError once, not twice
    first = errors[0]
    assert first["level"] == 40
    assert first["text"].startswith("Traceback (most recent call last):")
    assert "ValueError: password=***" in first["text"]
    assert "hunter2" not in first["text"]
    assert 'in inner' in first["text"]
    assert first["stack"][-1].startswith("inner (")
    assert any(f.startswith("outer (") for f in first["stack"])
    assert "KeyError: 'gen'" in errors[1]["text"]
    assert "TypeError: coro" in errors[2]["text"]


def test_call_ids_unique_and_parents(runner: Runner):
    records = run(runner, """
        @timed
        def leaf():
            return 1

        @timed
        def middle():
            return leaf() + leaf()

        @timed
        def gen():
            yield leaf()
            yield middle()

        @timed
        async def child():
            await asyncio.sleep(0.001)
            return leaf()

        @timed
        async def parent():
            return sum(await asyncio.gather(child(), child()))

        @timed
        def top():
            middle()
            sum(gen())
            asyncio.run(parent())
            t = threading.Thread(target=middle)
            t.start()
            t.join()

        with microlog.enabled("t"):
            top()
    """)
    by_id = {s["call_id"]: s for s in spans(records)}
    assert len(by_id) == len(spans(records))
    assert 0 not in by_id

    def parent_name(s):
        p = s["parent_call"]
        return by_id[p]["name"] if p else None

    top = spans(records, "top")[0]
    assert top["parent_call"] == 0
    middles = spans(records, "middle")
    same_thread = [m for m in middles if m["thread"] == top["thread"]]
    other_thread = [m for m in middles if m["thread"] != top["thread"]]
    assert sorted(parent_name(m) for m in same_thread) == ["gen", "top"]
    assert [parent_name(m) for m in other_thread] == [None]
    assert parent_name(spans(records, "gen")[0]) == "top"
    assert parent_name(spans(records, "parent")[0]) == "top"
    # gather() runs the children as tasks, stepped by the event loop, not
    # by parent: the enclosing timed call on the thread is top, which
    # called asyncio.run (docs/TIMED.md). Each child's leaf is its own.
    assert [parent_name(c) for c in spans(records, "child")] == ["top"] * 2
    leaves = spans(records, "leaf")
    assert sorted(parent_name(x) for x in leaves) == sorted(
        ["middle"] * 6 + ["gen"] + ["child"] * 2)


def test_transparent_and_idle_without_recording(runner: Runner):
    script = runner.script("p.py", PRELUDE + textwrap.dedent("""
        import functools, inspect, pickle

        def deco(f):
            @functools.wraps(f)
            def w(*a, **k):
                return f(*a, **k)
            return w

        @timed
        def add(a: int, b: int = 2) -> int:
            "Adds."
            return a + b

        @timed
        @deco
        def wrapped(x):
            return x

        @timed(record_args=True)
        async def co(x):
            return x

        @timed
        def gen():
            yield 1

        class K:
            @timed
            def m(self, x):
                "M."
                return self, x

        assert add(1) == 3 and add(1, b=5) == 6
        assert add.__name__ == "add" and add.__qualname__ == "add"
        assert add.__doc__ == "Adds." and add.__module__ == "__main__"
        assert add.__wrapped__(1) == 3
        assert str(inspect.signature(add)) == "(a: int, b: int = 2) -> int"
        assert str(inspect.signature(K().m)) == "(x)"
        assert K.m.__doc__ == "M." and K().m(1)[1] == 1
        assert inspect.iscoroutinefunction(co)
        assert inspect.isgeneratorfunction(gen)
        assert asyncio.run(co(4)) == 4 and list(gen()) == [1]
        assert pickle.loads(pickle.dumps(add)) is add
        assert wrapped(3) == 3
        assert not microlog.is_running()
        assert [s.hits for s in stats()] == [0] * 5
        print("ok")
    """))
    out = runner.python([str(script)], env=runner.env(MICROLOG_QUIET="1"))
    assert out.returncode == 0, out.stderr.decode()
    assert out.stdout == b"ok\n"
    assert runner.recordings() == []


def test_stats_counters(runner: Runner):
    script = runner.script("p.py", PRELUDE + textwrap.dedent("""
        @timed
        def work(n):
            time.sleep(n)

        @timed
        def gen():
            yield 1
            yield 2

        with microlog.enabled("t"):
            for _ in range(3):
                work(0.01)
            g = gen()
            next(g)
            s = {x.qualname: x for x in stats()}
            assert s["work"].hits == 3 and s["work"].in_flight == 0
            assert s["work"].total_ns >= 30_000_000
            assert s["gen"].hits == 1 and s["gen"].in_flight == 1
            g.close()
            s = {x.qualname: x for x in stats()}
            assert s["gen"].in_flight == 0
            assert s["work"].file.endswith("p.py")
        work(0)  # not recording: not counted
        assert {x.qualname: x.hits for x in stats()}["work"] == 3
        print("ok")
    """))
    out = runner.python([str(script)], env=runner.env(MICROLOG_QUIET="1"))
    assert out.returncode == 0, out.stderr.decode()
    assert out.stdout.endswith(b"ok\n")


def test_cpu_and_memory(runner: Runner):
    records = run(runner, """
        @timed
        def busy():
            end = time.thread_time() + 0.05
            while time.thread_time() < end:
                pass

        @timed
        def sleepy():
            time.sleep(0.05)

        @timed
        def grow():
            global keep
            keep = bytearray(64 << 20)
            for i in range(0, len(keep), 4096):
                keep[i] = 1

        with microlog.enabled("t"):
            busy()
            sleepy()
            grow()
    """)
    busy = spans(records, "busy")[0]
    sleepy = spans(records, "sleepy")[0]
    grow = spans(records, "grow")[0]
    assert busy["cpu_ns"] >= 45_000_000
    assert sleepy["wall_ns"] >= 50_000_000
    assert sleepy["cpu_ns"] < 10_000_000
    assert grow["mem_delta"] >= 60 << 20


def test_cpu_time_with_one_clock_read_per_call(runner: Runner):
    """The thread CPU clock is read at most once per call (a carried-
    forward start, no read for calls under 2 us): interleaved short, busy
    and sleeping calls still get CPU times within their bounds."""
    records = run(runner, """
        @timed
        def short():
            return 1

        @timed
        def busy():
            end = time.thread_time() + 0.002
            while time.thread_time() < end:
                pass

        @timed
        def nap():
            time.sleep(0.001)

        with microlog.enabled("t"):
            for _ in range(200):
                short()
                short()
                busy()
                short()
                nap()
    """)
    for s in spans(records, "short") + spans(records, "busy") + \
            spans(records, "nap"):
        assert 0 <= s["cpu_ns"] <= s["wall_ns"], s
    busy = sorted(s["cpu_ns"] for s in spans(records, "busy"))
    naps = sorted(s["cpu_ns"] for s in spans(records, "nap"))
    # medians: busy used its 2 ms, nap (1 ms asleep) next to nothing
    assert busy[100] >= 1_900_000, busy[100]
    assert naps[100] < 100_000, naps[100]
    # what a carried-forward start may get wrong: at most 20 us
    assert naps[-1] < 400_000, naps[-1]


def test_dump_command(runner: Runner):
    run(runner, """
        @timed
        def f():
            print("hello")

        with microlog.enabled("t"):
            f()
    """)
    path = runner.only_recording("t")
    everything = dump(path, "all")
    kinds = {r["kind"] for r in everything}
    assert {"meta", "string", "frame", "stack", "thread", "span",
            "end"} <= kinds
    default = subprocess.run([microlog_bin(), "dump", str(path)],
                             capture_output=True, timeout=TIMEOUT)
    assert default.returncode == 0
    default_kinds = {json.loads(x)["kind"]
                     for x in default.stdout.splitlines()}
    assert not default_kinds & {"string", "frame", "stack"}
    meta = {r["key"]: r["value"] for r in everything if r["kind"] == "meta"}
    assert meta["label"] == "t"
    helped = subprocess.run([microlog_bin(), "dump", "--help"],
                            capture_output=True, timeout=TIMEOUT)
    assert helped.returncode == 0 and b"JSON Lines" in helped.stdout
    bad = subprocess.run([microlog_bin(), "dump", "--kind", "nope",
                          str(path)], capture_output=True, timeout=TIMEOUT)
    assert bad.returncode == 2 and b"unknown kind 'nope'" in bad.stderr
    missing = subprocess.run([microlog_bin(), "dump", str(path) + ".x"],
                             capture_output=True, timeout=TIMEOUT)
    assert missing.returncode == 2
    garbage = runner.tmp / "garbage.mlog"
    garbage.write_bytes(b"not a recording at all")
    bad_file = subprocess.run([microlog_bin(), "dump", str(garbage)],
                              capture_output=True, timeout=TIMEOUT)
    assert bad_file.returncode == 2 and bad_file.stderr


def test_span_blocks_are_spans_like_timed_calls(runner: Runner):
    records = run(runner, """
        with microlog.span("not recorded"):
            pass
        @timed
        def inner():
            sum(range(10000))
        with microlog.enabled("t"):
            with microlog.span("load", table="users", rows=3):
                inner()
                with microlog.span("nested"):
                    time.sleep(0.01)
            try:
                with microlog.span("fails"):
                    raise KeyError("k")
            except KeyError:
                pass
        with microlog.span("after"):
            pass
    """)
    by = {s["name"].rsplit(".", 1)[-1]: s for s in spans(records)}
    assert set(by) == {"load", "nested", "fails", "inner"}, by
    load = by["load"]
    assert load["args"] == "table='users', rows=3"
    assert load["file"].endswith("p.py") and load["line"] > 0
    assert load["parent_call"] == 0
    assert by["nested"]["parent_call"] == load["call_id"]
    assert by["inner"]["parent_call"] == load["call_id"]
    assert by["nested"]["wall_ns"] >= 10_000_000
    assert by["nested"]["cpu_ns"] < by["nested"]["wall_ns"]
    assert by["fails"]["exception"] == "KeyError: 'k'"
    assert load["exception"] is None
