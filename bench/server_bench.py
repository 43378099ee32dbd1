"""Benchmark of `microlog serve` on a realistic hour-long recording.

Generates one hour at 1 kHz with 4 threads (14.4 million samples; stacks
10 to 60 deep, see tests/tools/ml_synth.c) and measures, on this machine:
the cold first answer for the whole-run timeline at 1,600 px (a fresh
server, no index), the latency of timeline / status / functions answers
for 100 random windows and widths (median and worst), the size of the
whole-run timeline answer, the server's RSS with the recording open, and
timeline requests per second from 8 concurrent clients. Prints a table and
replaces the server section of bench/RESULTS.md.

    .venv/bin/python bench/server_bench.py [--seconds 3600] [--reps 3]
"""

from __future__ import annotations

import argparse
import datetime
import http.client
import json
import os
import platform
import random
import re
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SYNTH = REPO / "build" / "tests" / "tools" / "ml_synth"
RESULTS = REPO / "bench" / "RESULTS.md"
BEGIN = "<!-- server-bench:begin -->"
END = "<!-- server-bench:end -->"


def microlog_bin() -> str:
    beside = Path(sys.executable).parent / "microlog"
    return str(beside if beside.exists() else REPO / "build" / "microlog")


class Server:
    def __init__(self, folder: Path):
        self.proc = subprocess.Popen(
            [microlog_bin(), "serve", "--dir", str(folder), "--port", "0"],
            stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        self.port = int(re.search(r":(\d+)/", line).group(1))

    def conn(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)

    def rss_mb(self) -> float:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text() \
                .splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=30)


def timed_get(conn: http.client.HTTPConnection, path: str):
    t = time.perf_counter()
    conn.request("GET", path)
    r = conn.getresponse()
    body = r.read()
    elapsed = time.perf_counter() - t
    assert r.status == 200, (path, r.status, body[:200])
    return elapsed, body


def machine() -> str:
    cpu = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    return f"{os.cpu_count()} cores, {cpu}, {platform.system()} " \
           f"{platform.release()}"


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=3600)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    folder = REPO / "build" / "bench-server"
    run_dir = folder / "synth"
    run_dir.mkdir(parents=True, exist_ok=True)
    path = run_dir / f"hour_{int(args.seconds)}.mlog"
    if not path.exists():
        subprocess.run([str(SYNTH), str(path), "--seconds",
                        str(args.seconds)], check=True)
    rid = f"synth/{path.stem}"
    base = f"/api/runs/{rid}"
    size_mb = path.stat().st_size / 1e6

    cold = []
    for _ in range(args.reps):
        s = Server(folder)
        try:
            t, body = timed_get(s.conn(), f"{base}/timeline?width=1600")
            cold.append(t)
            whole_bytes = len(body)
        finally:
            s.stop()

    s = Server(folder)
    results = {}
    try:
        c = s.conn()
        timed_get(c, f"{base}/timeline?width=1600")
        end = json.loads(timed_get(c, f"{base}/changes")[1])["end_us"]
        rng = random.Random(1)
        for view in ("timeline", "status", "functions"):
            times = []
            for _ in range(100):
                span = int(end * 10 ** rng.uniform(-4.5, 0))
                start = rng.randint(0, max(0, end - span))
                width = rng.choice([400, 800, 1200, 1600, 2400])
                q = f"from={start}&to={start + span}&width={width}"
                times.append(timed_get(c, f"{base}/{view}?{q}")[0])
            results[view] = times
        rss = s.rss_mb()

        # 8 concurrent clients, random windows, for 5 seconds.
        stop = time.monotonic() + 5
        counts = [0] * 8

        def client(i: int) -> None:
            conn = s.conn()
            r = random.Random(i)
            while time.monotonic() < stop:
                span = int(end * 10 ** r.uniform(-4, 0))
                start = r.randint(0, max(0, end - span))
                timed_get(conn, f"{base}/timeline?from={start}"
                                f"&to={start + span}&width=1600")
                counts[i] += 1

        threads = [threading.Thread(target=client, args=(i,))
                   for i in range(8)]
        t0 = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        rps = sum(counts) / (time.monotonic() - t0)
    finally:
        s.stop()

    def ms(v: float) -> str:
        return f"{v * 1000:.1f} ms"

    rows = [
        ("whole-run timeline at 1,600 px, cold (median of "
         f"{args.reps})", ms(statistics.median(cold)), "< 1 s",
         statistics.median(cold) < 1.0),
    ]
    for view in ("timeline", "status", "functions"):
        t = results[view]
        rows.append((f"{view}, 100 random windows: median / worst",
                     f"{ms(statistics.median(t))} / {ms(max(t))}",
                     "< 50 ms", max(t) < 0.05))
    # The worst case for the index: stacks that never repeat.
    walk_dir = folder / "walk"
    walk_dir.mkdir(exist_ok=True)
    walk = walk_dir / f"hour_{int(args.seconds)}.mlog"
    if not walk.exists():
        subprocess.run([str(SYNTH), str(walk), "--seconds", str(args.seconds),
                        "--random-walk"], check=True)
    s = Server(folder)
    try:
        walk_cold, _ = timed_get(
            s.conn(), f"/api/runs/walk/{walk.stem}/timeline?width=1600")
        walk_rss = s.rss_mb()
    finally:
        s.stop()
    rows += [
        ("whole-run timeline answer size", f"{whole_bytes / 1e6:.2f} MB",
         "< 1 MB", whole_bytes < 1e6),
        ("server RSS with the recording open", f"{rss:.0f} MB", "< 200 MB",
         rss < 200),
        ("timeline requests/s, 8 concurrent clients", f"{rps:.0f}", "-",
         None),
        ("worst case (stacks never repeat, --random-walk, "
         f"{walk.stat().st_size / 1e6:.0f} MB): cold whole-run timeline",
         ms(walk_cold), "< 1 s", walk_cold < 1.0),
        ("worst case: server RSS", f"{walk_rss:.0f} MB", "< 200 MB",
         walk_rss < 200),
    ]
    date = datetime.date.today().isoformat()
    lines = [
        BEGIN,
        "## `microlog serve` on an hour-long recording",
        "",
        f"`make bench-server` on {date}, {machine()}; recording: "
        f"{args.seconds:.0f} s at 1 kHz, 4 threads "
        f"({int(args.seconds * 4000):,} samples, {size_mb:.0f} MB, "
        "tests/tools/ml_synth.c: threads replay a pool of 300 recorded "
        "tasks, as programs repeat themselves). Latencies are measured by "
        "the client over a kept-alive connection on 127.0.0.1; the machine "
        "is shared, so single figures vary by tens of percent.",
        "",
        "| measure | value | goal | met |",
        "| --- | --- | --- | --- |",
    ]
    for name, value, goal, met in rows:
        mark = "-" if met is None else ("yes" if met else "**no**")
        lines.append(f"| {name} | {value} | {goal} | {mark} |")
    lines.append(END)
    table = "\n".join(lines)
    print(table)
    if not args.no_write:
        text = RESULTS.read_text() if RESULTS.exists() else ""
        if BEGIN in text and END in text:
            text = text[:text.index(BEGIN)] + table + \
                text[text.index(END) + len(END):]
        else:
            text = text.rstrip() + "\n\n" + table + "\n"
        RESULTS.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
