"""Long-lived services: a run rolls over to new linked files (by size, by
age, or when a file's tables are full) without losing a sample, and the
recorder's caches stay bounded however many code objects a program makes.
"""

from __future__ import annotations

import json

import pytest

from conftest import Runner

ROLLING = """
    import json, threading, time
    import microlog
    from microlog import _microlog

    microlog.start("roll")
    paths = [_microlog.current_path()]

    # Many functions, so that the run defines enough frames and stacks to
    # pass 4 KB even compressed and sampled rarely (format 2.0 stores the
    # samples themselves in well under a byte each).
    # Random names for functions and their files: definitions that do
    # not compress, whichever few of them the fallback samples.
    import os
    fns = []
    for k in range(400):
        tag = os.urandom(16).hex()
        ns = {}
        code = compile(f"def f_{tag}(n):\\n    return sum(j * j for j in "
                       f"range(n))", f"/generated/m_{tag}.py", "exec")
        exec(code, ns)
        fns.append(ns[f"f_{tag}"])

    def work():
        end = time.thread_time() + 1.5
        k = 0
        while time.thread_time() < end:
            fns[k % len(fns)](300)
            k += 1

    threads = [threading.Thread(target=work, name=f"worker-{i}")
               for i in range(3)]
    for t in threads:
        t.start()
    while any(t.is_alive() for t in threads):
        p = _microlog.current_path()
        if p != paths[-1]:
            paths.append(p)
        time.sleep(0.02)
    for t in threads:
        t.join()
    stats = _microlog.stats()
    rec = microlog.stop()
    print(json.dumps({"samples": rec.samples, "files": rec.files,
                      "paths": paths, "stats": stats}))
"""


def chain(runner: Runner, first: str):
    """The files of a run in order, following next_run from the first, each
    with its summary."""
    out, path = [], first
    while path:
        summary = runner.show(path)
        out.append((path, summary))
        path = summary["meta"].get("next_run", "")
        assert len(out) < 1000
    return out


@pytest.mark.parametrize("sampler", ["native", "fallback"])
def test_rollover_by_size_keeps_every_sample(runner, sampler):
    script = runner.script("roll.py", ROLLING)
    out = runner.python([str(script)], env=runner.env(
        MICROLOG_QUIET="1", MICROLOG_ROLLOVER="4KB",
        MICROLOG_SAMPLER=sampler))
    assert out.returncode == 0, out.stderr.decode()
    assert b"microlog:" not in out.stderr, out.stderr.decode()
    got = json.loads(out.stdout)
    files = runner.recordings("roll")
    # 4 threads sampled for 1.5 s of CPU each write well over 4 KB, even
    # compressed (the fallback, bound to the GIL, samples less often).
    assert got["files"] >= 2, got
    assert len(files) == got["files"]
    parts = chain(runner, got["paths"][0])
    assert [str(p) for p, _ in parts] == sorted(
        map(str, files), key=lambda p: [str(q) for q, _ in parts].index(p))
    assert len(parts) == got["files"]
    # Every file is a recording of its own: readable, with the run's META,
    # linked both ways; only the last one ended cleanly.
    for i, (path, summary) in enumerate(parts):
        meta = summary["meta"]
        assert meta["label"] == "roll"
        assert summary["sampler"] == sampler
        if i == 0:
            assert "previous_run" not in meta
        else:
            assert meta["previous_run"] == str(parts[i - 1][0])
            assert int(meta["part"]) == i
        assert summary["complete"] == (i == len(parts) - 1)
    # Not a sample lost between files: the files add up to what was taken.
    assert sum(s["samples"] for _, s in parts) == got["samples"]
    assert got["stats"]["samples"] <= got["samples"]
    # The paths the program saw, in order, are the chain's first ones.
    assert got["paths"] == [str(p) for p, _ in parts][:len(got["paths"])]
    # Threads alive across a switch are defined again, with their names.
    named = [{t["name"] for t in s["threads"]} for _, s in parts[:-1]]
    for names in named[1:]:
        assert {"worker-0", "worker-1", "worker-2"} <= names, named


def test_rollover_setting_is_checked(runner):
    script = runner.script("bad.py", "import microlog; microlog.start()\n")
    out = runner.python([str(script)],
                        env=runner.env(MICROLOG_ROLLOVER="6 parsecs"))
    assert out.returncode != 0
    assert b"MICROLOG_ROLLOVER" in out.stderr


MANY_CODES = """
    import json, resource, sys, time
    import microlog
    from microlog import _microlog

    sys.setswitchinterval(0.0002)  # lets the fallback sampler in often
    microlog.start("codes")
    def rss_kb():
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * 4

    seen = []
    start = time.time()
    i = 0
    while time.time() - start < DURATION:
        # A new code object (and a new file name) every call: a program
        # that exec()s generated code, as template engines do.
        src = f"def f_{i}():\\n    return sum(range(2000))\\n"
        ns = {}
        exec(compile(src, f"gen_{i}.py", "exec"), ns)
        ns[f"f_{i}"]()
        i += 1
        if i % 500 == 0:
            seen.append((time.time() - start, _microlog.stats(), rss_kb()))
    rec = microlog.stop()
    print(json.dumps({"made": i, "seen": seen, "samples": rec.samples,
                      "files": rec.files}))
"""


@pytest.mark.parametrize("sampler", ["native", "fallback"])
def test_caches_stay_bounded_with_endless_code_objects(runner, sampler):
    limit = 256
    script = runner.script(
        "codes.py", MANY_CODES.replace("DURATION", "4.0"))
    out = runner.python([str(script)], env=runner.env(
        MICROLOG_QUIET="1", MICROLOG_SAMPLER=sampler,
        MICROLOG_SAMPLE_DELAY="0.0002",
        MICROLOG_CACHE_ENTRIES=str(limit)))
    assert out.returncode == 0, out.stderr.decode()
    got = json.loads(out.stdout)
    stats = [s for _, s, _ in got["seen"]]
    assert stats, got
    # Emptied when full: never far above the limit (a round adds at most
    # one stack's worth), and it did fill up and empty many times.
    assert max(s["cached_codes"] for s in stats) <= 2 * limit, stats[-1]
    assert max(s["cached_places"] for s in stats) <= 8 * limit + 64
    assert stats[-1]["evictions"] >= 2, stats[-1]
    # The current file's tables are bounded too (16 times the limit), by
    # going on in a new file.
    assert max(s["definitions"] for s in stats) <= 16 * limit + 4096
    assert got["files"] >= 2
    # Memory: what the second half of the run added is small against what
    # keeping every code object would cost (measured: ~1 KB each).
    half = [rss for t, _, rss in got["seen"] if t >= 2.0]
    if len(half) >= 2:
        print("made", got["made"], "rss kB", half[0], "->", half[-1])
        assert half[-1] - half[0] < 8 * 1024


def test_rollover_values():
    from microlog import _config
    parse = _config.from_environment
    c = parse({})
    assert (c.rollover_bytes, c.rollover_seconds) == (1 << 30, 86400.0)
    for raw, want in [("512MB", (512_000_000, 0.0)), ("1GiB", (1 << 30, 0.0)),
                      ("6h", (0, 6 * 3600.0)), ("30min", (0, 1800.0)),
                      ("24h,1GiB", (1 << 30, 86400.0)),
                      ("2d, 64KiB", (65536, 2 * 86400.0)),
                      ("off", (0, 0.0)), ("0", (0, 0.0))]:
        c = parse({"MICROLOG_ROLLOVER": raw})
        assert (c.rollover_bytes, c.rollover_seconds) == want, raw
    for bad in ["6 parsecs", "1KB", "-5h", "0.5s", "6h,7h", "MB"]:
        with pytest.raises(_config.ConfigError, match="MICROLOG_ROLLOVER"):
            parse({"MICROLOG_ROLLOVER": bad})
    assert parse({"MICROLOG_CACHE_ENTRIES": "1000"}).cache_entries == 1000
    with pytest.raises(_config.ConfigError, match="MICROLOG_CACHE_ENTRIES"):
        parse({"MICROLOG_CACHE_ENTRIES": "10"})


RELEASED = """
    import gc, json, sys, weakref
    import microlog

    microlog.start("released")
    refs = []
    for i in range(2000):
        ns = {}
        exec(compile(f"def f():\\n    print('call {i}')\\n", f"gen_{i}.py",
                     "exec"), ns)
        ns["f"]()  # a log entry with its stack: the code is interned
        refs.append(weakref.ref(ns["f"].__code__))
        del ns
    gc.collect()
    alive = sum(r() is not None for r in refs)
    microlog.stop()
    sys.stderr.write(json.dumps({"alive": alive}) + "\\n")
"""


def test_log_interner_lets_code_objects_go(runner):
    """The stacks of logs are interned with references to their code
    objects: past MICROLOG_CACHE_ENTRIES code objects those are dropped, so
    a program that makes code all the time does not keep it all alive."""
    script = runner.script("released.py", RELEASED)
    out = runner.python([str(script)], env=runner.env(
        MICROLOG_QUIET="1", MICROLOG_CACHE_ENTRIES="64"))
    assert out.returncode == 0, out.stderr.decode()
    alive = json.loads(out.stderr.decode().splitlines()[-1])["alive"]
    assert alive <= 2 * 64, alive
