"""End-of-run reports: files and sockets left open, and objects that
survived the run."""

from __future__ import annotations

import json
import sys
from typing import Dict

from conftest import Runner
from test_metrics import dump

QUIET = {"MICROLOG_QUIET": "1"}


def reports(runner: Runner, label: str) -> Dict[str, dict]:
    records = dump(runner.only_recording(label))
    found = [r for r in records if r["kind"] == "report"]
    out = {r["report"]: json.loads(r["body"]) for r in found}
    assert len(out) == len(found) == 2, found
    return out


def run(runner: Runner, source: str, label: str, **env: str) -> None:
    script = runner.script("prog.py", source)
    out = runner.python(["-m", "microlog", label, str(script)],
                        env=runner.env(**QUIET, **env))
    assert out.returncode == 0, out.stderr.decode()


def test_plain_fib_reports_nothing(runner: Runner):
    run(runner, """
        import json, logging, re
        def fib(n):
            return n if n < 2 else fib(n - 1) + fib(n - 2)
        RESULTS = [fib(n) for n in range(22)]
        print(RESULTS[-1])
    """, "fib")
    got = reports(runner, "fib")
    # a report that found nothing is written short (docs/METRICS.md)
    assert got["open_files"] == {"count": 0}
    leaks = got["leaks"]
    if leaks == {"count": 0}:
        return
    assert leaks["complete"] is True and leaks["uncollectable"] == []
    # at most the few big ints RESULTS holds: nothing else survived
    assert leaks["count"] <= 10 and leaks["size"] < 1000, leaks
    assert {t["type"] for t in leaks["types"]} <= {"int"}, leaks


def test_open_files_and_sockets_with_their_stacks(runner: Runner):
    run(runner, """
        import os, socket
        def open_log():
            return open("left.txt", "w")
        LOG = open_log()
        with open("closed.txt", "w") as f:
            f.write("x")
        SERVER = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        SERVER.bind(("127.0.0.1", 0))
        SERVER.listen()
        CLIENT = socket.create_connection(SERVER.getsockname())
        CLIENT.close()
        RAW = os.open("raw.bin", os.O_CREAT | os.O_RDWR)
    """, "files")
    body = reports(runner, "files")["open_files"]
    by_kind = {}
    for item in body["open"]:
        by_kind.setdefault(item["kind"], []).append(item)
    files = {item["path"].rsplit("/", 1)[-1]: item
             for item in by_kind["file"]}
    assert set(files) == {"left.txt", "raw.bin"}, body
    assert files["left.txt"]["mode"] == "w"
    assert files["left.txt"]["stack"][0].startswith("open_log (")
    assert files["left.txt"]["stack"][0].endswith("prog.py:4)")
    assert files["raw.bin"]["mode"] == "r+"
    assert files["raw.bin"]["stack"][0].endswith("prog.py:13)")
    [server] = by_kind["socket"]
    assert server["family"] == "AF_INET" and server["type"] == "SOCK_STREAM"
    assert server["laddr"].startswith("127.0.0.1:")
    assert server["raddr"] is None
    assert any(line.endswith("prog.py:8)") for line in server["stack"])


def test_files_opened_before_the_recording_are_not_reported(runner: Runner):
    script = runner.script("prog.py", """
        import microlog
        before = open(__file__)
        microlog.start("pre")
        during = open(__file__)
        microlog.stop()
        after = open(__file__)   # not recording: nothing is tracked
    """)
    out = runner.python([str(script)], env=runner.env(**QUIET))
    assert out.returncode == 0, out.stderr.decode()
    body = reports(runner, "pre")["open_files"]
    assert body["count"] == 1
    assert body["open"][0]["stack"][0].endswith("prog.py:5)")


def test_objects_that_grew_are_reported_by_type(runner: Runner):
    run(runner, """
        import tracemalloc
        tracemalloc.start()

        class Session:
            def __init__(self, n):
                self.n = n

        CACHE = {}

        def remember(n):
            CACHE[n] = Session(n)

        for n in range(500):
            remember(n)
    """, "leak")
    leaks = reports(runner, "leak")["leaks"]
    types = {t["type"]: t for t in leaks["types"]}
    assert types["__main__.Session"]["count"] == 500
    assert types["__main__.Session"]["size"] > 0
    assert leaks["tracemalloc"] is True
    sites = [s["site"].rsplit("/", 1)[-1] for s in leaks["sites"]]
    if sys.version_info[:2] != (3, 11):
        # 3.11's tracemalloc does not find instances with a managed dict
        assert "prog.py:12" in sites, sites
    # module-level definitions (the class, the functions) are not leaks
    assert "type" not in types and "function" not in types


def test_uncollectable_garbage_is_reported(runner: Runner):
    run(runner, """
        import gc
        class Cycle:
            pass
        gc.set_debug(gc.DEBUG_SAVEALL)
        for _ in range(3):
            a, b = Cycle(), Cycle()
            a.other, b.other = b, a
        del a, b
        gc.collect()  # microlog never collects: the program's own does
    """, "garbage")
    leaks = reports(runner, "garbage")["leaks"]
    types = {t["type"]: t["count"] for t in leaks["uncollectable"]}
    assert types["__main__.Cycle"] == 6


def test_leak_walk_is_bounded_per_object_and_never_collects(runner: Runner):
    """A module holding far more objects than the walk's bounds (one list
    of 300,000 records, one dict of 200,000 entries): each walk stays
    within its time bound, the report says it is incomplete, no growth is
    made up from an unchanged heap, and no collection runs."""
    script = runner.script("prog.py", """
        import gc, json, sys, time
        from microlog import _reports

        class Record:
            def __init__(self, i):
                self.i = i
                self.tags = [i, i + 1]

        RECORDS = [Record(i) for i in range(300_000)]
        INDEX = {i: (i, str(i)) for i in range(200_000)}
        collections = []
        gc.callbacks.append(lambda phase, info: collections.append(phase))
        gc.disable()  # no automatic collection: any seen is the report's

        def main():  # its locals are not reachable from modules
            leaks = _reports.Leaks()
            times = []
            for _ in range(5):  # the bounds are in thread CPU time
                t0 = time.thread_time()
                leaks.start()
                t1 = time.thread_time()
                report = leaks.stop()
                t2 = time.thread_time()
                times.append((t1 - t0, t2 - t1))
            starts = sorted(t for t, _ in times)
            stops = sorted(t for _, t in times)
            print(json.dumps({"start": starts[2], "stop": stops[2],
                              "report": report,
                              "collections": collections}))

        main()
    """)
    out = runner.python([str(script)], env=runner.env(**QUIET))
    assert out.returncode == 0, out.stderr.decode()
    got = json.loads(out.stdout)
    # 5 ms of CPU per walk (median of 5: the machine is shared)
    assert got["start"] < 0.005 and got["stop"] < 0.005, got
    assert got["collections"] == []
    report = got["report"]
    assert report["complete"] is False
    assert report["count"] == 0, report


def test_open_cost_does_not_grow_with_descriptors_open(runner: Runner):
    """With 5,000 sockets open, an open() while recording finds its
    descriptor directly (it scanned all 5,000 before: ~0.8 ms per open),
    and the file is still reported with its stack."""
    run(runner, """
        import resource, socket, time
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 8000), hard))
        import microlog
        def opens(n=200):
            t = time.perf_counter()
            for _ in range(n):
                open(__file__, "rb").close()
            return (time.perf_counter() - t) / n
        def keep():
            return open(__file__, "rb")
        KEPT = keep()  # a low descriptor: first in the report
        SOCKS = [socket.socket() for _ in range(5000)]
        best = min(opens() for _ in range(3))
        assert best < 100e-6, best
    """, "manyfds")
    body = reports(runner, "manyfds")["open_files"]
    kept = [i for i in body["open"] if i["kind"] == "file"]
    assert len(kept) == 1 and kept[0]["path"].endswith("prog.py"), body
    assert kept[0]["stack"][0].startswith("keep (")
    # the sockets opened during the run are reported too, by the socket
    assert body["count"] == 5001


def test_a_wrong_descriptor_guess_still_finds_the_stack(runner: Runner):
    """Another thread's open between the hook's guess and the program's
    open makes the guessed descriptor wrong: the file is then found by
    its identity among the recent opens, with its own stack."""
    script = runner.script("prog.py", """
        import json, sys
        from microlog import _reports
        files = _reports.OpenFiles()
        files.before = _reports._fd_table()
        def opener():
            # the hook saw this open but guessed descriptor 999
            files.on_audit("open", ("guessed.txt", "w"), 999)
            return open("guessed.txt", "w")
        KEPT = opener()
        print(json.dumps(files.stop()))
    """)
    out = runner.python([str(script)], env=runner.env(**QUIET))
    assert out.returncode == 0, out.stderr.decode()
    body = json.loads(out.stdout)
    [item] = [i for i in body["open"] if i["path"].endswith("guessed.txt")]
    assert item["mode"] == "w"
    assert item["stack"][0].startswith("opener (")


def test_recorders_own_descriptors_are_not_reported(runner: Runner):
    """The sampler keeps /proc files of threads that run part of the time
    open, the status thread /proc/self/statm, and a long run opens new
    recording files: none of them is the program's."""
    run(runner, """
        import threading, time
        def part_time():
            end = time.monotonic() + 1.0
            while time.monotonic() < end:
                t = time.thread_time() + 0.0004
                while time.thread_time() < t:
                    pass
                time.sleep(0.0005)
        threads = [threading.Thread(target=part_time) for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    """, "ownfds", MICROLOG_ROLLOVER="4KB")
    records = dump(runner.recordings("ownfds")[-1])
    body = next(json.loads(r["body"]) for r in records
                if r["kind"] == "report" and r["report"] == "open_files")
    assert body == {"count": 0}, body
