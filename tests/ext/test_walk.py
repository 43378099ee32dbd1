# SPDX-License-Identifier: MIT
"""Drives the _walktest extension: a native sampler thread reads every
Python thread's stack without the GIL while this script runs known code,
and the resolved stacks are compared with the interpreter's own frames.

Usage: python3.X test_walk.py BUILD_DIR   (see run_walk_tests.sh)
"""

import asyncio
import gc
import os
import sys
import threading
import time

sys.path.insert(0, sys.argv[1])
import _walktest as W  # noqa: E402

FAILS = []


def check(cond, what):
    if not cond:
        FAILS.append(what)
        print("FAIL:", what)


def code_name(co):
    return getattr(co, "co_qualname", co.co_name)


def expected_stack(frame, limit=None):
    """Leaf-first (name, file, line) of a frame chain, as the walker should
    report it."""
    out = []
    while frame is not None and (limit is None or len(out) < limit):
        out.append((code_name(frame.f_code), frame.f_code.co_filename,
                    frame.f_lineno))
        frame = frame.f_back
    return out


def parked(target, *args, stack_size=0):
    """Runs target(ev, ready, *args) in a thread and waits until it parks
    on ev; returns (thread, ev)."""
    ev, ready = threading.Event(), threading.Event()
    if stack_size:
        threading.stack_size(stack_size)
    t = threading.Thread(target=target, args=(ev, ready) + args)
    t.start()
    if stack_size:
        threading.stack_size(0)
    ready.wait()
    time.sleep(0.02)  # let it reach the lock acquire inside ev.wait()
    return t, ev


def compare_thread(label, t, limit=None):
    exp = expected_stack(sys._current_frames()[t.ident], limit)
    got = W.stack_of(t.ident)
    check(got is not None, label + ": thread not found")
    if got is None:
        return None
    frames = got["frames"]
    if frames != exp:
        print(label, "expected:", exp[:8], "\n   got:", frames[:8])
        fr = sys._current_frames()[t.ident]
        ids = []
        while fr is not None:
            ids.append(id(fr.f_code))
            fr = fr.f_back
        print("   code ids expected:", [hex(i) for i in ids[:5]],
              "\n   got:", [hex(i) for i in got["codes"][:5]])
    check(frames == exp, label + ": stack differs")
    check(got["native_id"] == t.native_id, label + ": native id %d != %d"
          % (got["native_id"], t.native_id))
    return got


# (a) known recursion f -> g -> h -----------------------------------------
def h(ev, ready):
    ready.set()
    ev.wait()


def g(ev, ready):
    return h(ev, ready)


def f(ev, ready):
    return g(ev, ready)


class K:
    def method(self, ev, ready):
        return f(ev, ready)


def test_known():
    t, ev = parked(K().method)
    got = compare_thread("known", t)
    if got:
        names = [n for n, _, _ in got["frames"]]
        i = names.index("h")
        check(names[i:i + 4] == ["h", "g", "f", "K.method"[
            0 if sys.version_info >= (3, 11) else 2:]],
              "known: f/g/h order %r" % names[i:i + 4])
        check(got["truncated"] == 0, "known: truncated")
        check(got["holds_gil"] == 0, "known: parked thread holds GIL")
    ev.set()
    t.join()
    # The main thread itself, blocked in a C call.
    fr = sys._getframe()
    got = W.stack_of(threading.get_ident())
    exp = expected_stack(fr)
    check(got is not None and got["frames"][1:] == exp[1:]
          and got["frames"][0][:2] == exp[0][:2], "main thread stack")


# (b) deep recursion ------------------------------------------------------
def rec(ev, ready, n):
    if n == 0:
        ready.set()
        ev.wait()
        return
    rec(ev, ready, n - 1)


def test_deep():
    sys.setrecursionlimit(20000)
    t, ev = parked(rec, 5000, stack_size=256 << 20)
    got = compare_thread("deep", t, limit=1024)
    if got:
        check(len(got["frames"]) == 1024, "deep: %d frames" % len(
            got["frames"]))
        check(got["truncated"] == 1, "deep: not truncated")
    ev.set()
    t.join()


# (c) thread churn --------------------------------------------------------
def churn_work(n):
    if n > 0:
        return churn_work(n - 1)
    time.sleep(0.0005)
    return sum(i * i for i in range(50))


def test_churn(seconds=2.0):
    W.stop()
    # Restarted in the same read mode (it used to restart the memfd run on
    # process_vm_readv).
    W.start(1024, 0, 1, int(FALLBACK))  # sample back to back
    end = time.monotonic() + seconds
    started = 0
    while time.monotonic() < end:
        ts = [threading.Thread(target=churn_work, args=(10,))
              for _ in range(50)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        started += len(ts)
    st = W.stop()
    print("churn: %.0f threads/s, %d samples, mean %.1f us, max %.0f us,"
          " max threads %d" % (started / seconds, st["samples"],
                               st["mean_us"], st["max_us"],
                               st["max_threads"]))
    check(st["errors"] == 0, "churn: sample errors %d" % st["errors"])
    check(st["resolve_errors"] == 0,
          "churn: resolve errors %d" % st["resolve_errors"])
    check(st["samples"] > 100, "churn: too few samples")
    check(st["max_threads"] > 3, "churn: never saw many threads")
    W.start(1024, 100, 1, int(FALLBACK))


# (d) generators and coroutines -----------------------------------------
def gen_inner(ev, ready):
    ready.set()
    ev.wait()
    yield 1


def gen_outer(ev, ready):
    yield from gen_inner(ev, ready)


def consume(ev, ready):
    for _ in gen_outer(ev, ready):
        pass


async def co_inner(ev, ready):
    ready.set()
    ev.wait()


async def co_outer(ev, ready):
    await co_inner(ev, ready)


def run_asyncio(ev, ready):
    asyncio.run(co_outer(ev, ready))


def run_send(ev, ready):
    c = co_outer(ev, ready)
    try:
        c.send(None)
    except StopIteration:
        pass


def test_gen_coro():
    for label, target in (("generator", consume), ("asyncio", run_asyncio),
                          ("coro-send", run_send)):
        t, ev = parked(target)
        compare_thread(label, t)
        ev.set()
        t.join()


# (e) exec'd code, lambdas, code address reuse ---------------------------
SRC = """
def {name}(ev, ready):
    return (lambda: (ready.set(), ev.wait()))()
"""


def test_exec(n=60):
    ids = set()
    reused = 0
    for i in range(n):
        ns = {}
        exec(compile(SRC.format(name="ex_%d" % i), "<exec-%d>" % i, "exec"),
             ns)
        fn = ns["ex_%d" % i]
        cid = id(fn.__code__)
        reused += cid in ids
        ids.add(cid)
        t, ev = parked(fn)
        compare_thread("exec %d" % i, t)
        ev.set()
        t.join()
        del ns, fn, t
        gc.collect()
    print("exec: %d of %d code objects reused an earlier address"
          % (reused, n))
    # The point of this test: a code object at a freed one's address must
    # be resolved as itself. Without any reuse it tested nothing.
    check(reused > 0, "exec: no code address was reused")


# GIL holder --------------------------------------------------------------
def spin(stop):
    x = 0
    while not stop:
        x += 1


def test_gil():
    stop = []
    t = threading.Thread(target=spin, args=(stop,))
    t.start()
    held = sum(W.stack_of(t.ident)["holds_gil"] for _ in range(50))
    stop.append(1)
    t.join()
    print("gil: spinning thread held the GIL in %d of 50 samples" % held)
    check(held > 0, "gil: spinning thread never seen holding the GIL")


# cost --------------------------------------------------------------------
def nest(ev, ready, n):
    if n <= 1:
        ready.set()
        ev.wait()
        return
    nest(ev, ready, n - 1)


def bench():
    W.stop()
    t, ev = parked(nest, 27)  # + run/_bootstrap_inner/_bootstrap + wait
    exp = len(expected_stack(sys._current_frames()[t.ident]))
    us, us_resolved, frames = W.bench(20000)
    ev.set()
    t.join()
    print("bench: %d-deep thread (+ main): %.2f us/sample, %.2f us with "
          "resolution, %d frames/sample" % (exp, us, us_resolved, frames))


FALLBACK = "--fallback" in sys.argv  # read through the memfd


def main():
    fallback = FALLBACK
    print("python", sys.version.split()[0], "fallback" if fallback else "")
    check(W.saferead_selftest() == 0, "saferead self test")
    W.start(1024, 100, 1, int(fallback))
    test_known()
    test_deep()
    test_gen_coro()
    test_exec(int(os.environ.get("ML_EXEC_ITERS", "60")))
    test_gil()
    test_churn()
    st = W.stop()
    check(st["errors"] == 0, "sample errors %d" % st["errors"])
    # The memfd run must have read through the memfd all along, not
    # switched back to process_vm_readv on the way.
    want = "file" if fallback else "vm"
    check(st["mode"] == want, "read mode %s, not %s" % (st["mode"], want))
    if not fallback and "--no-bench" not in sys.argv:
        bench()
    print("FAILED: %d" % len(FAILS) if FAILS else "OK")
    return 1 if FAILS else 0


if __name__ == "__main__":
    sys.exit(main())
