"""What the sampler records: attribution, thread states, rates, and the
hard cases (deep recursion, generators, coroutines, thread churn, run-time
code, fork, signals, shutdown)."""

from __future__ import annotations

import pytest

from conftest import Runner, function, thread

HOT_COLD = """
    import time
    T0 = time.perf_counter(), time.process_time()
    def hot(seconds):
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            pass
    def cold(seconds):
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            pass
"""
# How much of a core the program had: on a machine shared with other
# suites it may have been descheduled for a good part of its run.
CORE_SHARE = """
    print((time.process_time() - T0[1]) / (time.perf_counter() - T0[0]))
"""
SPLIT = HOT_COLD + """
    for _ in range(150):
        hot(0.007)
        cold(0.003)
""" + CORE_SHARE


def record(runner: Runner, source: str, label: str = "t", **env):
    """Runs source under python -m microlog; returns the summary of the
    program's own recording (not its multiprocessing children's)."""
    script = runner.script(f"{label}.py", source)
    out = runner.python(["-m", "microlog", label, str(script)],
                        env=runner.env(MICROLOG_QUIET="1", **env))
    assert out.returncode == 0, out.stderr.decode()
    summaries = [runner.show(p) for p in runner.recordings(label)]
    parents = [s for s in summaries if not s["meta"].get("parent_run")]
    assert len(parents) == 1, summaries
    return parents[0], out


# The fallback sampler gets the GIL only when the program lets it go (every
# switch interval): with the default 5 ms its samples alias with SPLIT's
# 10 ms period (measured up to 6 points off). The program here shortens the
# interval to 1 ms and varies the period, so that the fallback's error is
# statistical too (~1,500 samples: sigma 1.2 points).
FALLBACK_SPLIT = HOT_COLD + """
    import random, sys
    sys.setswitchinterval(0.001)
    random.seed(1)
    for _ in range(150):
        u = random.uniform(0.6, 1.4)
        hot(0.007 * u)
        cold(0.003 * u)
""" + CORE_SHARE


def split_share(summary) -> float:
    hot = function(summary, "hot")["self"]
    cold = function(summary, "cold")["self"]
    return 100.0 * hot / (hot + cold)


def test_known_split_is_attributed_within_2_points(runner):
    # 1.5 s at 10 kHz: ~15,000 samples, so the statistical spread of the
    # share (0.4 points) stays well inside the 2 points required. That
    # holds when the program had its core; when other suites took it
    # (measured: 3 to 8 points off at a load of 5 on 2 cores), the sampler's
    # wake-ups are no longer uniform, and only a coarse bound holds.
    summary, out = record(runner, SPLIT, MICROLOG_SAMPLE_DELAY="0.0001")
    had_core = float(out.stdout.decode().split()[-1]) >= 0.9
    share = split_share(summary)
    assert abs(share - 70.0) <= (2.0 if had_core else 10.0), \
        (share, out.stdout)
    assert summary["meta"]["sampler"] == "native"


def test_fallback_split_is_attributed_within_4_points(runner):
    summary, out = record(runner, FALLBACK_SPLIT, MICROLOG_SAMPLER="fallback")
    had_core = float(out.stdout.decode().split()[-1]) >= 0.9
    share = split_share(summary)
    assert abs(share - 70.0) <= (4.0 if had_core else 10.0), \
        (share, out.stdout)
    assert summary["meta"]["sampler"] == "fallback"


def test_sleeping_thread_is_waiting(runner):
    summary, _ = record(runner, """
        import threading, time
        def sleeper():
            time.sleep(0.8)
        def busy():
            end = time.perf_counter() + 0.8
            while time.perf_counter() < end:
                pass
        threads = [threading.Thread(target=sleeper, name="sleeper"),
                   threading.Thread(target=busy, name="busy")]
        for t in threads: t.start()
        for t in threads: t.join()
    """)
    sleeper = thread(summary, "sleeper")
    busy = thread(summary, "busy")
    # 0.8 s at 1 kHz is 800; a loaded machine delays rounds, so what must
    # hold is that the thread was sampled, and waiting.
    assert sleeper["samples"] > 100
    assert sleeper["running"] <= 0.05 * sleeper["samples"]
    assert busy["running"] >= 0.5 * busy["samples"]
    assert sleeper["native_id"] > 0 and busy["native_id"] > 0


def test_cpu_share_weighs_samples(runner):
    # Each sample carries the share of its interval the thread spent on a
    # CPU (format 2.0): a sleeping thread's add up to nothing, a busy one's
    # to what it ran; microlog show gives both.
    summary, _ = record(runner, """
        import threading, time
        def sleeper():
            time.sleep(0.6)
        def busy():
            end = time.perf_counter() + 0.6
            while time.perf_counter() < end:
                pass
        threads = [threading.Thread(target=sleeper, name="sleeper"),
                   threading.Thread(target=busy, name="busy")]
        for t in threads: t.start()
        for t in threads: t.join()
    """)
    sleeper = thread(summary, "sleeper")
    busy = thread(summary, "busy")
    # Every sample but a thread's first has a share.
    assert sleeper["cpu_known"] >= sleeper["samples"] - 1
    assert busy["cpu_known"] >= busy["samples"] - 1
    assert sleeper["cpu_weighted"] <= 0.02 * sleeper["cpu_known"]
    # A loaded machine deschedules the busy thread part of the time.
    assert busy["cpu_weighted"] >= 0.3 * busy["cpu_known"]


def test_default_rate_is_1khz(runner):
    summary, _ = record(runner, SPLIT)
    # What must hold: 1 ms asked, never faster than asked, and the achieved
    # interval recorded is the one the samples show. How close to 1 ms it
    # gets on a busy machine is measured by the benchmark (bench/), not
    # here: a test run shares the machine with other suites.
    assert summary["meta"]["interval_us"] == 1000
    achieved = summary["interval_us"]
    assert 990 <= achieved < 10000, achieved
    main = thread(summary, "MainThread")
    span_us = main["last_us"] - main["first_us"]
    expected = span_us / achieved
    assert abs(main["samples"] - expected) <= 0.05 * expected + 2, \
        (main["samples"], expected)


def test_10khz_works(runner):
    summary, _ = record(runner, SPLIT, MICROLOG_SAMPLE_DELAY="0.0001")
    assert summary["meta"]["interval_us"] == 100
    # A shared 2-core machine: allow for late wake-ups, but 10 kHz must
    # give several times more samples than 1 kHz.
    assert summary["interval_us"] < 300, summary["interval_us"]
    assert summary["samples"] > 4000


def test_status_probes_are_recorded(runner):
    summary, _ = record(runner, SPLIT)
    # cpu, modules and threads at 10 Hz for 1.5 s (45 values) and memory
    # probes at 1 Hz; a loaded machine may delay a few.
    assert summary["status_records"] >= 30


def test_deep_recursion(runner):
    summary, _ = record(runner, """
        import sys, time
        sys.setrecursionlimit(20000)
        def down(n):
            if n == 0:
                end = time.perf_counter() + 0.5
                while time.perf_counter() < end:
                    pass
                return 0
            return down(n - 1) + 1
        assert down(5000) == 5000
    """)
    # What must hold: the 5,000-deep stack is read and its leaf is down.
    # How many rounds fit in 0.5 s depends on the version (3.9 and 3.10
    # read one frame at a time: milliseconds per round at this depth) and
    # on the machine's load: measured by the benchmark, not here.
    down = function(summary, "down")["self"]
    assert down >= 10 and down >= 0.8 * summary["running_samples"], \
        (down, summary["running_samples"])


def test_generators_and_coroutines(runner):
    summary, _ = record(runner, """
        import asyncio, time
        def gen():
            for i in range(300):
                end = time.perf_counter() + 0.001
                while time.perf_counter() < end:
                    pass
                yield i
        async def coro():
            for _ in range(30):
                end = time.perf_counter() + 0.01
                while time.perf_counter() < end:
                    pass
                await asyncio.sleep(0)
        assert sum(gen()) == sum(range(300))
        asyncio.run(coro())
    """)
    assert function(summary, "gen")["self"] > 100
    assert function(summary, "coro")["self"] > 100


def test_runtime_code_and_lambdas(runner):
    summary, _ = record(runner, """
        import time
        src = "def made_at_runtime():\\n" \\
              "    end = time.perf_counter() + 0.3\\n" \\
              "    while time.perf_counter() < end:\\n" \\
              "        pass\\n"
        ns = {"time": time}
        exec(src, ns)
        ns["made_at_runtime"]()
        spin = lambda: [None for _ in iter(
            lambda: time.perf_counter() > end, True)]
        end = time.perf_counter() + 0.3
        spin()
    """)
    # 0.3 s each: what must hold is that both are found and named, not
    # how many samples a loaded machine let the sampler take.
    made = function(summary, "made_at_runtime")
    assert made["self"] > 20 and made["file"] == "<string>"
    assert function(summary, "<lambda>")["total"] > 20


def test_thread_churn(runner):
    summary, _ = record(runner, """
        import threading, time
        def work():
            sum(range(2000))
        end = time.perf_counter() + 1.0
        n = 0
        while time.perf_counter() < end:
            batch = [threading.Thread(target=work) for _ in range(20)]
            for t in batch: t.start()
            for t in batch: t.join()
            n += len(batch)
        print(n)
    """)
    assert len(summary["threads"]) >= 10
    assert summary["complete"] is True


def test_fork_child_runs_and_parent_keeps_recording(runner):
    summary, out = record(runner, """
        import os, time, multiprocessing as mp
        def child_work(q):
            q.put(sum(range(100000)))
        pid = os.fork()
        if pid == 0:
            import microlog
            assert not microlog.is_running()
            time.sleep(0.05)
            os._exit(7)
        _, status = os.waitpid(pid, 0)
        assert os.WEXITSTATUS(status) == 7
        ctx = mp.get_context("fork")
        q = ctx.Queue()
        p = ctx.Process(target=child_work, args=(q,))
        p.start(); p.join(timeout=30)
        assert q.get(timeout=30) == sum(range(100000))
        end = time.perf_counter() + 0.3
        while time.perf_counter() < end:
            pass
        print("parent done")
    """)
    assert out.stdout == b"parent done\n"
    assert summary["complete"] is True
    # The parent spins 0.3 s after its forks: still sampled (how often a
    # loaded machine lets it is the benchmark's business).
    assert summary["samples"] > 50
    # The os.fork() child ran unrecorded; the multiprocessing child has its
    # own recording, linked to the parent's.
    assert len(runner.recordings("t")) == 2


def test_forked_child_runs_like_an_unprofiled_child(runner):
    # The child of a bare os.fork() must see no trace of the parent's
    # recording: nothing on its stderr (it once printed an AttributeError
    # from Metrics), the program's own streams and logging, no recorder.
    summary, out = record(runner, """
        import logging, os, sys, threading, time
        logging.basicConfig(level=logging.INFO)
        stdout_before = type(sys.stdout)
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            import microlog
            from microlog import _microlog
            facts = [
                microlog.is_running(), _microlog.is_running(),
                type(sys.stdout).__name__, type(sys.stderr).__name__,
                logging.Logger.handle.__module__,
                logging.Logger.isEnabledFor.__module__,
            ]
            t = threading.Thread(target=lambda: print("child thread"))
            t.start(); t.join()
            logging.getLogger("x").info("child log")
            os.write(w, repr(facts).encode())
            sys.stdout.flush()
            os._exit(7)
        os.close(w)
        _, status = os.waitpid(pid, 0)
        facts = os.read(r, 4096).decode()
        print(facts)
        print(os.WEXITSTATUS(status))
    """)
    lines = out.stdout.decode().splitlines()
    assert lines[0] == "child thread", lines
    facts = eval(lines[1])
    assert facts[:2] == [False, False], facts
    assert "Captured" not in facts[2] and "Captured" not in facts[3], facts
    assert facts[4:] == ["logging", "logging"], facts
    assert lines[2] == "7"
    # The child's only output on stderr is the program's own log line.
    assert out.stderr.decode() == "INFO:x:child log\n", out.stderr.decode()
    assert summary["complete"] is True


def test_signals_reach_the_program(runner):
    summary, out = record(runner, """
        import signal, time
        hits = []
        signal.signal(signal.SIGALRM, lambda *a: hits.append(1))
        signal.setitimer(signal.ITIMER_REAL, 0.01, 0.01)
        end = time.perf_counter() + 0.5
        while time.perf_counter() < end:
            time.sleep(0.001)
        signal.setitimer(signal.ITIMER_REAL, 0)
        print(len(hits) > 20)
    """)
    assert out.stdout == b"True\n"
    assert summary["samples"] > 300


# Threads that start and end all the time, finalizers that allocate and
# print (run by the collector at any allocation, even one the sampler
# makes), and forks, at 1 kHz. The fallback sampler once died with SIGSEGV
# walking a thread state freed under it. ML_STRESS_SECONDS runs it
# longer (minutes, under ASan: see docs/SAMPLER.md).
STRESS = """
    import gc, os, sys, threading, time, warnings
    # Joined threads may not have left the kernel yet when it forks: 3.12+
    # would warn about them with or without microlog.
    warnings.filterwarnings("ignore", "This process", DeprecationWarning)
    seconds = float(os.environ.get("ML_STRESS_SECONDS", "2"))
    # ASan's allocator is not fork-safe while other threads allocate (its
    # runtime has no fork handlers): scripts/stress-asan.sh turns forks off
    # for its long run.
    with_forks = os.environ.get("ML_STRESS_FORKS", "1") == "1"
    class Noisy:
        def __init__(self):
            self.me = self  # a cycle: only the collector frees it
        def __del__(self):
            [str(i) for i in range(50)]
            print("del")
    def short():
        for _ in range(20):
            Noisy()
        sum(range(500))
    gc.set_threshold(50, 5, 5)
    end = time.perf_counter() + seconds
    n = forks = 0
    while time.perf_counter() < end:
        batch = [threading.Thread(target=short) for _ in range(8)]
        for t in batch: t.start()
        for t in batch: t.join()
        n += len(batch)
        if with_forks and n % 400 == 0:
            pid = os.fork()
            if pid == 0:
                short()
                os._exit(0)
            os.waitpid(pid, 0)
            forks += 1
    print("threads", n, "forks", forks)
"""


@pytest.mark.parametrize("sampler", ["fallback", "auto"])
def test_thread_churn_with_finalizers_and_forks(runner, sampler):
    summary, out = record(runner, STRESS, MICROLOG_SAMPLER=sampler)
    [last] = [line.split() for line in out.stdout.decode().splitlines()
              if line.startswith("threads")]
    assert last[0] == "threads" and int(last[1]) > 100, last
    assert int(last[3]) >= 1, last
    assert out.stderr == b"", out.stderr.decode()
    assert summary["complete"] is True
    assert len(summary["threads"]) > 50


def test_stop_reaches_the_recorder_whatever_a_component_raises(runner):
    script = runner.script("p.py", """
        import microlog
        from microlog import _microlog, _recording
        class Interrupting:
            def start(self, config): pass
            def stop(self, exit_status): raise KeyboardInterrupt
        _recording.register(Interrupting())
        microlog.start("kbd")
        sum(range(100000))
        try:
            microlog.stop()
        except KeyboardInterrupt:
            print("interrupted", _microlog.is_running())
    """)
    out = runner.python([str(script)], env=runner.env(MICROLOG_QUIET="1"))
    assert out.returncode == 0, out.stderr.decode()
    assert out.stdout == b"interrupted False\n"
    summary = runner.show(runner.only_recording("kbd"))
    assert summary["complete"] is True


def test_sleeping_code_is_not_counted_as_running(runner):
    # The first sample after a thread goes to sleep used to count as
    # running (its CPU clock had advanced earlier in the interval): 3.3% of
    # this thread's running samples fell in nap().
    summary, _ = record(runner, """
        import threading, time
        def spin(s):
            end = time.thread_time() + s
            while time.thread_time() < end:
                pass
        def cpu20(): spin(0.020)
        def cpu10(): spin(0.010)
        def nap(): time.sleep(0.010)
        def work():
            end = time.perf_counter() + 1.5
            while time.perf_counter() < end:
                cpu20(); cpu10(); nap()
        t = threading.Thread(target=work, name="mix"); t.start(); t.join()
    """)
    mix = thread(summary, "mix")
    cpu = function(summary, "spin")["total"]
    napping = next((f["total"] for f in summary["functions"]
                    if f["name"] == "nap"), 0)
    assert cpu > 500, summary["functions"][:6]
    assert napping <= 0.005 * mix["running"], (napping, mix)


def test_waiting_for_the_gil_is_its_own_state(runner):
    summary, _ = record(runner, """
        import threading, time
        def spin():
            end = time.perf_counter() + 1.0
            while time.perf_counter() < end:
                pass
        ts = [threading.Thread(target=spin, name=f"spin{i}")
              for i in range(3)]
        for t in ts: t.start()
        for t in ts: t.join()
    """)
    for i in range(3):
        t = thread(summary, f"spin{i}")
        # One GIL for three threads: each runs about a third of the time
        # and waits for the GIL the rest, never sleeping.
        assert t["gil_wait"] >= 0.3 * t["samples"], t
        assert t["running"] + t["gil_wait"] >= 0.8 * t["samples"], t
        assert t["running"] >= 0.1 * t["samples"], t


def test_threads_not_started_yet_are_not_phantoms(runner):
    # Before 3.12 a new thread state carries its creator's ids until its
    # thread starts; sampled then, it made a phantom copy of the main
    # thread (same native id, a new thread record).
    summary, _ = record(runner, """
        import threading, time
        def request():
            pass
        end = time.perf_counter() + 1.0
        while time.perf_counter() < end:
            t = threading.Thread(target=request)
            t.start(); t.join()
    """)
    main = thread(summary, "MainThread")
    same = [t for t in summary["threads"]
            if t["native_id"] == main["native_id"]]
    assert same == [main], same


def test_main_thread_of_a_short_run_is_named(runner):
    # The main thread is often first sampled inside microlog's start (it is
    # then not recorded); the name given meanwhile was dropped, and the
    # status thread's next reading with the GIL comes only after a second.
    for i in range(3):
        summary, _ = record(runner, "x = 1\n", label=f"short{i}")
        assert [t["name"] for t in summary["threads"]] == ["MainThread"]


def test_short_lived_threads_have_their_names(runner):
    # Names used to be read every 100 ms only: most request threads of a
    # threaded server were recorded nameless.
    summary, _ = record(runner, """
        import threading, time
        def request():
            end = time.perf_counter() + 0.002
            while time.perf_counter() < end:
                pass
        for i in range(200):
            t = threading.Thread(target=request, name=f"req-{i}")
            t.start(); t.join()
    """)
    others = [t for t in summary["threads"] if t["name"] != "MainThread"]
    assert len(others) > 50, summary["threads"]
    nameless = [t for t in others if not t["name"].startswith("req-")]
    assert nameless == [], nameless


@pytest.mark.parametrize("own_thread", [False, True])
def test_fork_warns_exactly_as_without_microlog(runner, own_thread):
    # From 3.12 os.fork() warns when the process has other threads, counting
    # the kernel's: microlog's own must not make a program warn that would
    # not unrecorded, and a program with threads of its own still warns.
    script = runner.script("f.py", f"""
        import os, threading
        stop = threading.Event()
        if {own_thread}:
            threading.Thread(target=stop.wait).start()
        pid = os.fork()
        if pid == 0:
            os._exit(0)
        os.waitpid(pid, 0)
        stop.set()
    """)
    env = runner.env(MICROLOG_QUIET="1")
    plain = runner.python([str(script)], env=env)
    recorded = runner.python(["-m", "microlog", "f", str(script)], env=env)
    assert plain.returncode == recorded.returncode == 0
    warned = [b"multi-threaded" in out.stderr for out in (plain, recorded)]
    assert warned[0] == warned[1], (plain.stderr, recorded.stderr)
