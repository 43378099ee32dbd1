"""Output capture: prints, stderr writes, logging (what the program's
levels let through, or from MICROLOG_LOG_LEVEL on), warnings, uncaught
exceptions and the explicit API become log entries with stacks, while the
program's own output stays byte-identical."""

from __future__ import annotations

import re

import pytest

from conftest import Runner

LOG_API, LOG_STDOUT, LOG_STDERR, LOG_LOGGING = "api", "stdout", "stderr", \
    "logging"
LOG_WARNINGS, LOG_EXCEPTION = "warnings", "exception"


def run_both(runner: Runner, source: str, label: str = "cap"):
    """Runs a script plainly and recorded; returns both results and the
    recording's log entries."""
    script = runner.script(f"{label}.py", source)
    plain = runner.python([str(script)])
    rec = runner.python(["-m", "microlog", label, str(script)],
                        env=runner.env(MICROLOG_QUIET="1"))
    logs = runner.dump(runner.only_recording(label), "log")
    return plain, rec, logs


def texts(logs, source):
    return [e["text"] for e in logs if e["source"] == source]


def test_prints_and_writes_are_logged_with_stacks(runner: Runner):
    plain, rec, logs = run_both(runner, """
        import sys
        def greet():
            print("hello", "world")
            print("two\\nlines")
            sys.stdout.write("no newline yet ")
            sys.stdout.write("done\\n")
            sys.stderr.write("careful\\n")
            print("tail without newline", end="")
        greet()
    """)
    assert rec.returncode == plain.returncode == 0
    assert rec.stdout == plain.stdout and rec.stderr == plain.stderr
    assert texts(logs, LOG_STDOUT) == [
        "hello world", "two\nlines", "no newline yet done",
        "tail without newline"]
    assert texts(logs, LOG_STDERR) == ["careful"]
    hello = logs[0]
    assert hello["level"] == 20
    assert any(frame.startswith("greet ") for frame in hello["stack"])


LOGGING_PROGRAM = """
    import logging
    logging.basicConfig(level=logging.INFO,
                        format="%(levelname)s %(name)s %(message)s")
    log = logging.getLogger("app.db")
    quiet = logging.getLogger("app.quiet")
    quiet.setLevel(logging.ERROR)
    def work():
        log.debug("debug %d", 1)
        log.info("info")
        quiet.warning("quiet warning")
        log.warning("warn %s", "x")
        try:
            1 / 0
        except ZeroDivisionError:
            log.exception("failed")
        logging.critical("root critical")
    work()
"""


def run_logging(runner: Runner, label: str, **env: str):
    script = runner.script(f"{label}.py", LOGGING_PROGRAM)
    plain = runner.python([str(script)])
    rec = runner.python(["-m", "microlog", label, str(script)],
                        env=runner.env(MICROLOG_QUIET="1", **env))
    assert rec.returncode == 0, rec.stderr
    assert rec.stdout == plain.stdout and rec.stderr == plain.stderr
    logs = runner.dump(runner.only_recording(label), "log")
    got = [(e["level"], e["text"].splitlines()[0])
           for e in logs if e["source"] == LOG_LOGGING]
    failed = [e for e in logs if e["text"].startswith("app.db: failed")][0]
    assert "ZeroDivisionError" in failed["text"]
    assert any(f.startswith("work ") for f in failed["stack"])
    # The handler's own stderr output is not logged a second time.
    assert texts(logs, LOG_STDERR) == []
    return got


def test_logging_records_what_the_program_lets_through(runner: Runner):
    assert run_logging(runner, "lv") == [
        (20, "app.db: info"), (30, "app.db: warn x"),
        (40, "app.db: failed"), (50, "root critical")]


def test_logging_below_the_programs_levels_is_a_setting(runner: Runner):
    got = run_logging(runner, "lvdebug", MICROLOG_LOG_LEVEL="debug")
    assert got == [(10, "app.db: debug 1"), (20, "app.db: info"),
                   (30, "app.quiet: quiet warning"), (30, "app.db: warn x"),
                   (40, "app.db: failed"), (50, "root critical")]
    got = run_logging(runner, "lvwarn", MICROLOG_LOG_LEVEL="30")
    assert (30, "app.quiet: quiet warning") in got
    assert (10, "app.db: debug 1") not in got


def test_bad_log_level_names_the_variable(runner: Runner):
    script = runner.script("bad.py", "print('never')")
    out = runner.python(["-m", "microlog", "bad", str(script)],
                        env=runner.env(MICROLOG_LOG_LEVEL="loud"))
    assert out.returncode == 2 and out.stdout == b""
    assert b"MICROLOG_LOG_LEVEL='loud'" in out.stderr


def test_disabled_log_calls_cost_nothing_while_recording(runner: Runner):
    """300,000 log.debug() calls under level INFO: the loop is as fast
    recorded as not (issue 11 asks under 1.1x; the bound here is loose for
    a shared machine), and nothing is recorded for them."""
    script = runner.script("hot.py", """
        import logging, time
        logging.basicConfig(level=logging.INFO)
        log = logging.getLogger("hot")
        def loop():
            for i in range(300_000):
                log.debug("value %d", i)
        times = []
        for _ in range(5):
            t = time.perf_counter()
            loop()
            times.append(time.perf_counter() - t)
        print(sorted(times)[2])
    """)
    plain, rec = [], []
    for _ in range(3):
        out = runner.python([str(script)])
        plain.append(float(out.stdout))
        out = runner.python(["-m", "microlog", "hot", str(script)],
                            env=runner.env(MICROLOG_QUIET="1"))
        assert out.returncode == 0, out.stderr.decode()
        rec.append(float(out.stdout))
    ratio = sorted(r / p for r, p in zip(rec, plain))[1]
    assert ratio < 1.5, (plain, rec)
    for path in runner.recordings("hot"):
        assert [e for e in runner.dump(path, "log")
                if e["source"] == LOG_LOGGING] == []


def test_warnings_logged_once(runner: Runner):
    plain, rec, logs = run_both(runner, """
        import warnings
        def old():
            warnings.warn("old api", DeprecationWarning, stacklevel=2)
        warnings.simplefilter("always")
        old()
    """)
    assert rec.stderr == plain.stderr
    [w] = [e for e in logs if e["source"] == LOG_WARNINGS]
    assert w["text"].startswith("DeprecationWarning: old api")
    assert texts(logs, LOG_STDERR) == []


def test_uncaught_exceptions_main_and_threads(runner: Runner):
    plain, rec, logs = run_both(runner, """
        import threading
        def boom():
            raise KeyError("in thread")
        t = threading.Thread(target=boom, name="worker")
        t.start(); t.join()
        def fail():
            raise ValueError("in main")
        fail()
    """)
    assert rec.returncode == plain.returncode == 1
    assert rec.stderr == plain.stderr
    errors = [e for e in logs if e["source"] == LOG_EXCEPTION]
    assert len(errors) == 2
    assert "KeyError: 'in thread'" in errors[0]["text"]
    assert "worker" in errors[0]["text"]
    assert "ValueError: in main" in errors[1]["text"]
    assert any(f.startswith("fail ") for f in errors[1]["stack"])
    assert texts(logs, LOG_STDERR) == []


def test_explicit_api(runner: Runner):
    script = runner.script("api.py", """
        import microlog
        with microlog.enabled("api"):
            microlog.debug("d", 1)
            microlog.info("**bold** text", [1, 2])
            microlog.warning("w")
            microlog.error("e")
        microlog.info("not recorded")
    """)
    out = runner.python([str(script)], env=runner.env(MICROLOG_QUIET="1"))
    assert out.returncode == 0, out.stderr.decode()
    logs = runner.dump(runner.only_recording("api"), "log")
    assert [(e["level"], e["text"]) for e in logs] == [
        (10, "d 1"), (20, "**bold** text [1, 2]"), (30, "w"), (40, "e")]
    assert all(e["source"] == LOG_API for e in logs)


def test_100k_prints_from_4_threads_in_order(runner: Runner):
    plain, rec, logs = run_both(runner, """
        import threading
        def writer(k):
            for i in range(25000):
                print(f"t{k}-{i}")
        ts = [threading.Thread(target=writer, args=(k,)) for k in range(4)]
        for t in ts: t.start()
        for t in ts: t.join()
    """, label="many")
    assert rec.returncode == 0
    # Threads' prints (text, then newline: two writes) interleave
    # differently from run to run, with or without microlog: compare what
    # was printed, not where.
    assert len(rec.stdout) == len(plain.stdout)
    assert sorted(re.findall(rb"t\d-\d+", rec.stdout)) == sorted(
        re.findall(rb"t\d-\d+", plain.stdout))
    lines = texts(logs, LOG_STDOUT)
    assert len(lines) == 100000
    for k in range(4):
        mine = [int(t.split("-")[1]) for t in lines
                if t.startswith(f"t{k}-")]
        assert mine == list(range(25000))


def test_capture_is_removed_at_stop(runner: Runner):
    script = runner.script("clean.py", """
        import sys, logging, threading, warnings, microlog
        before = (sys.stdout, sys.stderr, sys.excepthook,
                  threading.excepthook, warnings.showwarning,
                  logging.Logger.handle, logging.Logger.isEnabledFor,
                  list(sys.meta_path))
        microlog.start("clean")
        assert sys.stdout is not before[0]
        microlog.stop()
        after = (sys.stdout, sys.stderr, sys.excepthook,
                 threading.excepthook, warnings.showwarning,
                 logging.Logger.handle, logging.Logger.isEnabledFor,
                 list(sys.meta_path))
        assert before == after, (before, after)
        print("clean")
    """)
    out = runner.python([str(script)], env=runner.env(MICROLOG_QUIET="1"))
    assert out.returncode == 0, out.stderr.decode()
    assert out.stdout == b"clean\n"


def test_late_imported_logging_is_hooked(runner: Runner):
    script = runner.script("late.py", """
        import sys, microlog
        # Imported after the start, or this tests nothing.
        assert "logging" not in sys.modules, "logging imported already"
        microlog.start("late")
        import logging
        logging.getLogger("late").warning("seen")
        microlog.stop()
    """)
    out = runner.python([str(script)], env=runner.env(MICROLOG_QUIET="1"))
    assert out.returncode == 0, out.stderr.decode()
    logs = runner.dump(runner.only_recording("late"), "log")
    assert [e["text"] for e in logs] == ["late: seen"]


@pytest.mark.parametrize("sampler", ["fallback"])
def test_capture_with_fallback_sampler(runner: Runner, sampler):
    script = runner.script("fb.py", "print('x')")
    out = runner.python(["-m", "microlog", "fb", str(script)],
                        env=runner.env(MICROLOG_QUIET="1",
                                       MICROLOG_SAMPLER=sampler))
    assert out.returncode == 0 and out.stdout == b"x\n"
    logs = runner.dump(runner.only_recording("fb"), "log")
    assert texts(logs, LOG_STDOUT) == ["x"]


def test_multiprocessing_children_record_linked_runs(runner: Runner):
    script = runner.script("mp.py", """
        import multiprocessing as mp, os, sys
        def child(q):
            print("child", os.getpid())
            q.put(sum(range(300000)))
        if __name__ == "__main__":
            for method in ("fork", "spawn"):
                ctx = mp.get_context(method)
                q = ctx.Queue()
                p = ctx.Process(target=child, args=(q,))
                p.start(); p.join(60)
                assert p.exitcode == 0 and q.get(timeout=30)
            print("parent done")
    """)
    out = runner.python(["-m", "microlog", "mp", str(script)],
                        env=runner.env(MICROLOG_QUIET="1"))
    assert out.returncode == 0, out.stderr.decode()
    assert out.stdout.count(b"child") == 2
    runs = runner.recordings("mp")
    assert len(runs) == 3
    summaries = {str(p): runner.show(p) for p in runs}
    parents = [p for p, s in summaries.items() if not s["meta"].get(
        "parent_run")]
    assert len(parents) == 1
    children = [s for p, s in summaries.items() if p not in parents]
    for s in children:
        assert s["meta"]["parent_run"] == parents[0]
        assert s["complete"] is True
    parent_logs = runner.dump(parents[0], "log")
    assert [e["text"] for e in parent_logs] == ["parent done"]


def test_a_finalizer_that_prints_while_a_stack_is_read(runner):
    # Reading a log's stack makes frame objects (3.11+), which can run the
    # collector, whose callbacks and finalizers print, which logs again:
    # that inner log must not find the writer lock taken by the outer one
    # (a deadlock), nor spoil the outer one's stack.
    script = runner.script("p.py", """
        import gc, sys
        from microlog import _microlog
        armed = []
        def loud(phase, info):
            if armed:
                armed.clear()
                print("collected")
        def deep(n):
            if n:
                return deep(n - 1)
            armed.append(1)
            _microlog.log(20, _microlog.LOG_API, "deep")
        gc.callbacks.append(loud)
        gc.set_threshold(1)
        for _ in range(300):
            deep(30)
        gc.set_threshold(700)
        print("end", file=sys.stderr)
    """)
    out = runner.python(["-m", "microlog", "fin", str(script)],
                        env=runner.env(MICROLOG_QUIET="1"), timeout=60)
    assert out.returncode == 0, out.stderr.decode()
    assert out.stderr == b"end\n"
    [path] = runner.recordings("fin")
    logs = runner.dump(path, "log")
    assert sum(1 for r in logs if r.get("text") == "deep") == 300


def test_progress_bar_partial_lines(runner: Runner):
    """A '\\r' progress bar never ends a line: its writes are held per
    thread up to PARTIAL_MAX characters, then become one entry; every
    character is kept, in order, and the cost per write does not grow
    with what is held (the pieces are joined once)."""
    plain, rec, logs = run_both(runner, """
        import sys, time
        from microlog import _capture
        w = sys.stdout.write
        def bar(n):
            t = time.perf_counter()
            for i in range(n):
                w(f"\\r{i:6d} " + "#" * (i % 50))
            return time.perf_counter() - t
        short = min(bar(100) for _ in range(5)) / 100
        long = bar(20_000) / 20_000
        w("\\n")
        print(f"per write {short:.2e} {long:.2e}", file=sys.stderr)
        assert long < 20 * short + 5e-6, (short, long)
    """, "bar")
    assert rec.returncode == 0, rec.stderr
    text = "".join(texts(logs, LOG_STDOUT))
    assert len(text) == len(rec.stdout.decode()) - 1  # less the newline
    assert text == rec.stdout.decode()[:-1]
    assert all(len(t) <= 64 * 1024 + 60 for t in texts(logs, LOG_STDOUT))
