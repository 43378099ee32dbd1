"""Load benchmark of the central store (issue 13) on this machine, against
the same real parts as the tests: moto's signature-checking S3 server and
a PostgreSQL 15 in a temporary folder (tests/store/*_server.py).

Measures, per server:
- ingest: simulated runs (tests/tools/ml_fleet_sim: real recordings and
  senders) streaming to one server; chunks and MB per second stored, S3
  PUTs per second (one segment object per PUT), acknowledgement latency
  p50/p99 as the senders saw it;
- live delay: a real `python -m microlog` program streams to server A; a
  viewer polls server B; the time from the client's file growing to B
  showing those bytes, p50/p95;
- search: GET /api/runs with label, host, text, time and offset filters
  over 100,000 runs in the index, p50/p95;
- open: a finished one-hour recording (tests/tools/ml_synth) uploaded,
  compacted, then opened by a server that never saw it (cold: object
  fetched with ranged GETs, index built) and again (warm).
Prints a table and replaces the store section of bench/RESULTS.md.

    .venv/bin/python bench/store_bench.py [--runs 400] [--seconds 30]
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "store"))

from pg_server import PgServer  # noqa: E402
from s3_server import S3Server  # noqa: E402
from store_util import (TOKEN, StoreServer, microlog_bin,  # noqa: E402
                        recording_env, wait_for)

TOOLS = REPO / "build" / "tests" / "tools"
RESULTS = REPO / "bench" / "RESULTS.md"
BEGIN = "<!-- store-bench:begin -->"
END = "<!-- store-bench:end -->"


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * p / 100))]


def bench_ingest(s3, pg, tmp: Path, runs: int, seconds: int,
                 flush_ms: int) -> dict:
    srv = StoreServer(s3, pg.create_database("ingest"), tmp / "ingest",
                      prefix="ingest")
    try:
        sim = subprocess.Popen(
            [str(TOOLS / "ml_fleet_sim"), "--servers", srv.base, "--token",
             TOKEN, "--runs", str(runs), "--seconds", str(seconds),
             "--flush-ms", str(flush_ms), "--dir", str(tmp / "sim")],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        # The steady middle of the run: after every run has started, before
        # any has ended.
        time.sleep(seconds * 0.25)
        before, t0 = srv.get("/api/store"), time.monotonic()
        time.sleep(seconds * 0.5)
        after, wall = srv.get("/api/store"), time.monotonic() - t0
        out, err = sim.communicate(timeout=seconds + 600)
        assert sim.returncode == 0, err[-2000:]
        report = json.loads(out)
        d = {k: after[k] - before[k] for k in after}
        return {
            "runs": runs, "seconds": seconds, "flush_ms": flush_ms,
            "offered_chunks_per_s": runs * 1000 / flush_ms,
            "chunks_per_s": d["chunks"] / wall,
            "mb_per_s": d["bytes"] / wall / 1e6,
            "puts_per_s": d["segments"] / wall,
            "requests_per_s": d["requests"] / wall,
            "ack_p50_ms": report["ack_p50_us"] / 1000,
            "ack_p99_ms": report["ack_p99_us"] / 1000,
            "failed_requests": report["failed_requests"],
        }
    finally:
        srv.stop()


LIVE_PROGRAM = """
import time
end = time.time() + {seconds}
x = 0
while time.time() < end:
    x += 1
"""


def bench_live(s3, pg, tmp: Path, seconds: int = 20) -> dict:
    uri = pg.create_database("live")
    a = StoreServer(s3, uri, tmp / "la", prefix="live")
    b = StoreServer(s3, uri, tmp / "lb", prefix="live")
    try:
        rec = tmp / "live-rec"
        script = tmp / "live.py"
        script.write_text(LIVE_PROGRAM.format(seconds=seconds))
        env = recording_env(rec, MICROLOG_SERVER=a.base,
                            MICROLOG_TOKEN=TOKEN)
        proc = subprocess.Popen([sys.executable, "-m", "microlog", "live",
                                 str(script)], env=env,
                                stderr=subprocess.DEVNULL)
        path = wait_for(lambda: next(iter(rec.rglob("*.mlog")), None), 20,
                        0.01)
        name = f"live/{path.stem}"
        grew = []  # (time the local file reached size, size)
        seen = []  # (time the viewer on B saw bytes, bytes)
        stop = threading.Event()

        def watch_file():
            last = -1
            while not stop.is_set():
                size = path.stat().st_size
                if size != last:
                    grew.append((time.monotonic(), size))
                    last = size
                time.sleep(0.005)

        t = threading.Thread(target=watch_file)
        t.start()
        while proc.poll() is None:
            status, _, body = b.request(f"/api/runs/{name}/changes")
            if status == 200:
                seen.append((time.monotonic(), json.loads(body)["bytes"]))
            time.sleep(0.05)
        stop.set()
        t.join()
        delays = []
        for when, size in grew[1:]:
            later = [s for s in seen if s[1] >= size and s[0] >= when]
            if later:
                delays.append(later[0][0] - when)
        return {"events": len(delays), "p50_s": pct(delays, 50),
                "p95_s": pct(delays, 95), "max_s": max(delays)}
    finally:
        a.stop()
        b.stop()


def bench_search(s3, pg, tmp: Path, n: int = 100000) -> dict:
    uri = pg.create_database("search")
    srv = StoreServer(s3, uri, tmp / "search", prefix="search")
    try:
        subprocess.run([str(TOOLS / "ml_catalog_tool"), uri, "load", str(n),
                        "1000"], check=True, capture_output=True,
                       timeout=1200)
        total = srv.get("/api/runs?limit=1")["total"]
        queries = ["limit=100", "label=label07&limit=100",
                   "host=host-13&limit=100", "text=run-00123&limit=100",
                   "text=RUN&limit=100",
                   "since=1760000000000000&until=1760086400000000&limit=100",
                   "label=label03&text=-0004&limit=100",
                   "offset=5000&limit=100"]
        times = []
        for _ in range(10):
            for q in queries:
                t0 = time.monotonic()
                srv.get(f"/api/runs?{q}")
                times.append(time.monotonic() - t0)
        return {"runs": total, "queries": len(times),
                "p50_ms": pct(times, 50) * 1000,
                "p95_ms": pct(times, 95) * 1000}
    finally:
        srv.stop()


def bench_open(s3, pg, tmp: Path, seconds: int) -> dict:
    uri = pg.create_database("open")
    srv = StoreServer(s3, uri, tmp / "open", prefix="open")
    try:
        folder = tmp / "hour" / "hour"
        folder.mkdir(parents=True)
        path = folder / "synthetic.mlog"
        subprocess.run([str(TOOLS / "ml_synth"), str(path), "--seconds",
                        str(seconds)], check=True, timeout=1200)
        os.utime(path, (time.time() - 60, time.time() - 60))
        subprocess.run([microlog_bin(), "upload", str(path)], check=True,
                       env={**os.environ, "MICROLOG_SERVER": srv.base,
                            "MICROLOG_TOKEN": TOKEN}, timeout=1200,
                       capture_output=True)
        name = "hour/synthetic"
        wait_for(lambda: any(r["id"] == name and r["complete"]
                             for r in srv.runs()), 600, 1)
        time.sleep(3)  # the compaction job
        cold_srv = StoreServer(s3, uri, tmp / "open2", prefix="open")
        try:
            q = f"/api/runs/{name}/timeline?width=1600"
            t0 = time.monotonic()
            cold_srv.get(q)
            cold = time.monotonic() - t0
            t0 = time.monotonic()
            cold_srv.get(q)
            warm = time.monotonic() - t0
        finally:
            cold_srv.stop()
        return {"seconds": seconds, "mb": path.stat().st_size / 1e6,
                "cold_s": cold, "warm_ms": warm * 1000}
    finally:
        srv.stop()


def table(r: dict, machine: str) -> str:
    i, lv, s, o = r["ingest"], r["live"], r["search"], r["open"]
    rows = [
        ("chunks ingested per second (one server, steady middle half; "
         f"{i['offered_chunks_per_s']:.0f} offered)",
         f"{i['chunks_per_s']:.0f}", ">= 2,000"),
        ("MB per second stored", f"{i['mb_per_s']:.2f}", ""),
        ("S3 PUTs per second", f"{i['puts_per_s']:.2f}", "<= 1"),
        ("upload requests per second", f"{i['requests_per_s']:.0f}", ""),
        ("acknowledgement p50 / p99",
         f"{i['ack_p50_ms']:.0f} / {i['ack_p99_ms']:.0f} ms", "p99 < 3 s"),
        ("live delay client flush -> viewer on another server, p50 / p95",
         f"{lv['p50_s']:.2f} / {lv['p95_s']:.2f} s ({lv['events']} flushes)",
         "p95 < 3 s"),
        (f"run search, {s['runs']:,} runs in the index, p50 / p95",
         f"{s['p50_ms']:.1f} / {s['p95_ms']:.1f} ms", "p95 < 100 ms"),
        (f"open a finished {o['seconds'] // 60}-minute run "
         f"({o['mb']:.1f} MB) on a fresh server, cold / warm",
         f"{o['cold_s']:.2f} s / {o['warm_ms']:.0f} ms", ""),
    ]
    out = [BEGIN, "", f"## Central store (`make bench-store`)", "",
           f"{machine}. {i['runs']} simulated runs for {i['seconds']} s, a "
           f"chunk every {i['flush_ms']} ms each, against moto (S3, "
           "signatures checked) and PostgreSQL 15 on the same machine; "
           "the simulator, moto, PostgreSQL and the server share its 2 "
           "cores.", "", "| figure | measured | goal |", "| --- | --- | --- |"]
    out += [f"| {a} | {b} | {c} |" for a, b, c in rows]
    out += ["", END]
    return "\n".join(out)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=500)
    ap.add_argument("--seconds", type=int, default=30)
    ap.add_argument("--flush-ms", type=int, default=100)
    ap.add_argument("--hour", type=int, default=3600)
    ap.add_argument("--no-write", action="store_true")
    ap.add_argument("--only-ingest", action="store_true")
    a = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="store-bench-"))
    s3 = S3Server(tmp / "moto").start()
    pg = PgServer()  # started
    try:
        r = {"ingest": bench_ingest(s3, pg, tmp, a.runs, a.seconds,
                                    a.flush_ms)}
        if a.only_ingest:
            print(json.dumps(r, indent=1))
            return
        r.update({"live": bench_live(s3, pg, tmp),
                  "search": bench_search(s3, pg, tmp),
                  "open": bench_open(s3, pg, tmp, a.hour)})
    finally:
        s3.stop()
        pg.close()
    load = os.getloadavg()[0]
    machine = (f"{datetime.date.today()}, {platform.node()} "
               f"({os.cpu_count()} cores, load {load:.1f} at the end)")
    text = table(r, machine)
    print(text)
    print(json.dumps(r, indent=1))
    if not a.no_write:
        old = RESULTS.read_text()
        if BEGIN in old:
            head, rest = old.split(BEGIN, 1)
            old = head + rest.split(END, 1)[1].lstrip("\n")
        RESULTS.write_text(old.rstrip("\n") + "\n\n" + text + "\n")


if __name__ == "__main__":
    main()
