"""Each endpoint of docs/API.md against the real server, checked against
`microlog show --json` and against ml_gen's exact counts (its header
comment in tests/tools/ml_gen.c gives them): 4 threads, 2 s at 1 kHz."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path

from server_util import Server, gen, record, show, wait_for

K = 2000  # samples per thread
I = 1000  # interval, us


def test_run_list_and_summary_equal_show(server: Server, recordings: Path):
    rid = gen(recordings)
    runs = server.get("/api/runs")
    assert runs["dir"] == str(recordings.resolve())
    [label] = runs["labels"]
    assert label["label"] == "gen"
    [run] = label["runs"]
    assert run["id"] == rid
    assert run["threads"] == 4
    assert run["duration_us"] == K * I
    assert run["complete"] is True and run["live"] is False
    assert run["bytes"] == (recordings / f"{rid}.mlog").stat().st_size
    summary = server.get(f"/api/runs/{rid}/summary")
    assert summary == show(recordings / f"{rid}.mlog")
    _, headers, _ = server.request(f"/api/runs/{rid}/summary")
    assert headers["X-Microlog-End-Us"] == str(K * I)
    assert headers["X-Microlog-Live"] == "0"


def test_new_recordings_appear_newest_first(server: Server,
                                            recordings: Path):
    assert server.get("/api/runs")["labels"] == []
    gen(recordings, "a", "2026_01_01_00_00_00_1")
    gen(recordings, "a", "2026_01_01_00_00_01_2", "--seed", "2")
    gen(recordings, "b", "x")
    runs = server.get("/api/runs")
    assert [l["label"] for l in runs["labels"]] == ["a", "b"]
    ids = [r["id"] for r in runs["labels"][0]["runs"]]
    assert ids == ["a/2026_01_01_00_00_01_2", "a/2026_01_01_00_00_00_1"]
    only_b = server.get("/api/runs?q=%5Eb%2F")
    assert [l["label"] for l in only_b["labels"]] == ["b"]


def test_timeline_at_full_and_coarse_width(server: Server,
                                           recordings: Path):
    rid = gen(recordings)
    whole = server.get(f"/api/runs/{rid}/timeline?thread=2&width=4000")
    assert whole["bucket_us"] == 512
    [t] = whole["threads"]
    assert t["id"] == 2 and t["name"] == "worker-1"
    names = {int(k): v["name"] for k, v in whole["functions"].items()}
    roots = [s for s in t["spans"] if s[2] == 0]
    assert len(roots) == 1
    start, end, _, fid, running, waiting, gil_wait = roots[0]
    assert gil_wait == 0  # ml_gen writes no GIL waits
    assert (start, end) == (0, K * I)
    assert names[fid] == "worker_loop"
    assert running + waiting == K
    assert running == (K // 100) * 50 + min(K % 100, 50)
    # 50 ms alternating compute / wait under worker_loop.
    leaves = sorted(s for s in t["spans"] if s[2] == 1)
    assert len(leaves) == K // 50
    assert all(s[1] - s[0] == 50 * I for s in leaves)
    assert [names[s[3]] for s in leaves[:2]] == ["compute", "wait"]
    # Zoomed out, a pixel is longer than a leaf: only the root is left,
    # and the answer's size does not depend on the run's length.
    coarse = server.get(f"/api/runs/{rid}/timeline?thread=2&width=10")
    assert coarse["bucket_us"] >= 200000
    assert [s[2] for s in coarse["threads"][0]["spans"]] == [0]


def test_timeline_window_is_snapped_and_cut(server: Server,
                                            recordings: Path):
    rid = gen(recordings)
    tl = server.get(f"/api/runs/{rid}/timeline?thread=2,3&from=100000"
                    "&to=300000&width=400")
    assert tl["bucket_us"] == 512
    assert tl["from"] <= 100000 and tl["from"] % 512 == 0
    assert tl["to"] >= 300000 and tl["to"] % 512 == 0
    assert [t["id"] for t in tl["threads"]] == [2, 3]
    for t in tl["threads"]:
        for s in t["spans"]:
            assert s[1] > tl["from"] and s[0] < tl["to"]


def test_functions_agree_with_show(server: Server, recordings: Path):
    rid = gen(recordings)
    shown = {f["name"]: f for f in show(recordings / f"{rid}.mlog")
             ["functions"]}
    fns = server.get(f"/api/runs/{rid}/functions")
    assert fns["samples"] == 4 * K
    rows = {f["name"]: f for f in fns["functions"]}
    for name, f in shown.items():
        assert rows[name]["running_samples"] == f["total"], name
        assert rows[name]["self_running_samples"] == f["self"], name
    assert rows["worker_loop"]["calls"] == 3
    assert rows["compute"]["calls"] == 3 * K // 100
    assert rows["compute"]["max_us"] == 50 * I
    assert rows["main"]["total_samples"] == K
    assert rows["wait"]["running"] == 0


def test_functions_of_a_range(server: Server, recordings: Path):
    rid = gen(recordings)
    fns = server.get(f"/api/runs/{rid}/functions?from=0&to=100000&thread=2")
    assert fns["exact"] is True
    rows = {f["name"]: f for f in fns["functions"]}
    assert rows["compute"]["self_samples"] == 50
    assert rows["wait"]["self_samples"] == 50
    assert rows["compute"]["calls"] == 1 and rows["wait"]["calls"] == 1
    assert "main" not in rows  # thread 1 is not selected


def test_status_keeps_a_spike(server: Server, recordings: Path):
    rid = gen(recordings)
    st = server.get(f"/api/runs/{rid}/status?width=3")
    series = {s["name"]: s for s in st["series"]}
    assert series["cpu"]["class"] == "status"
    assert series["requests"]["class"] == "metric"
    cpu = series["cpu"]
    assert sum(b[4] for b in cpu["buckets"]) == cpu["stats"]["count"] == 20
    assert max(b[2] for b in cpu["buckets"]) == cpu["stats"]["max"]
    assert min(b[1] for b in cpu["buckets"]) == cpu["stats"]["min"]
    assert len(cpu["buckets"]) <= 4


def test_logs_filters_and_pages(server: Server, recordings: Path):
    rid = gen(recordings)
    logs = server.get(f"/api/runs/{rid}/logs")
    assert logs["total"] == 20
    assert [e["time_us"] for e in logs["entries"]] == \
        sorted(e["time_us"] for e in logs["entries"])
    e = logs["entries"][0]
    assert e["thread_name"] == "MainThread" and e["stack"]
    assert set(e["stack"][0]) == {"function", "file", "line"}
    warnings = server.get(f"/api/runs/{rid}/logs?level=30")
    assert warnings["total"] == 4
    assert all(e["level_name"] == "warning" for e in warnings["entries"])
    page = server.get(f"/api/runs/{rid}/logs?offset=5&limit=3")
    assert [e["index"] for e in page["entries"]] == [5, 6, 7]
    assert page["total"] == 20


def test_span_similar_calls(server: Server, recordings: Path):
    rid = gen(recordings)
    sp = server.get(f"/api/runs/{rid}/span?thread=2&at=60000&depth=1")
    assert sp["function"]["name"] == "wait"
    assert sp["caller"]["name"] == "worker_loop"
    assert (sp["start_us"], sp["end_us"]) == (50000, 100000)
    assert sp["cpu_share"] == 0
    sim = sp["similar"]
    assert sim["count"] == 3 * K // 100
    assert sim["anomalies"] == 0 and sp["anomaly"] is False
    assert sim["median_us"] == 50000
    status, _, _ = server.request(f"/api/runs/{rid}/span?thread=2"
                                  "&at=60000&depth=9")
    assert status == 404


def test_callgraph_flamegraph_search(server: Server, recordings: Path):
    rid = gen(recordings)
    cg = server.get(f"/api/runs/{rid}/callgraph")
    nodes = {n["id"] for n in cg["nodes"]}
    assert {"app", "work", "pool", "threading"} <= nodes
    edges = {(e["from"], e["to"]) for e in cg["edges"]}
    assert ("pool", "threading") in edges and ("app", "work") in edges
    fg = server.get(f"/api/runs/{rid}/flamegraph")
    assert fg["samples"] == 4 * K
    roots = [n for n in fg["nodes"] if n[0] == -1]
    assert sum(n[2] for n in roots) == 4 * K
    for n in fg["nodes"]:
        assert n[0] < fg["nodes"].index(n)  # parents come first
    found = server.get(f"/api/runs/{rid}/search?q=comp")
    assert [f["name"] for f in found["functions"]] == ["compute"]
    assert found["functions"][0]["first_us"] == 0
    assert found["functions"][0]["last_us"] == K * I - 100 * I
    found = server.get(f"/api/runs/{rid}/search?q=step%204%20")
    assert [l["index"] for l in found["logs"]] == [4]
    found = server.get(f"/api/runs/{rid}/search?q=^rss$")
    assert [s["name"] for s in found["series"]] == ["rss"]


def test_recorded_program(server: Server, recordings: Path, tmp_path: Path):
    out = record(recordings, tmp_path, "prog", """
        import logging, threading, time
        logging.basicConfig(level=logging.INFO)
        def busy(n):
            t = time.perf_counter()
            while time.perf_counter() - t < n:
                pass
        def worker():
            busy(0.2)
        th = threading.Thread(target=worker, name="helper")
        th.start()
        print("hello from main")
        logging.warning("careful")
        busy(0.3)
        th.join()
    """)
    assert out.returncode == 0, out.stderr
    link = re.search(r"#run=(\S+)", out.stderr.decode())
    assert link, out.stderr
    rid = link.group(1)
    ids = [r["id"] for l in server.get("/api/runs")["labels"]
           for r in l["runs"]]
    assert rid in ids
    path = recordings / f"{rid}.mlog"
    summary = server.get(f"/api/runs/{rid}/summary")
    assert summary == show(path)
    names = {t["name"] for t in summary["threads"]}
    assert "helper" in names
    logs = server.get(f"/api/runs/{rid}/logs")
    texts = [e["text"] for e in logs["entries"]]
    assert any("hello from main" in t for t in texts)
    assert any("careful" in t for t in texts)
    warn = next(e for e in logs["entries"] if "careful" in e["text"])
    assert warn["stack"][-1]["file"].endswith("prog.py")
    fns = {f["name"]: f for f in
           server.get(f"/api/runs/{rid}/functions")["functions"]}
    assert fns["busy"]["calls"] >= 2
    assert fns["busy"]["running"] > 0.3  # spinning, even on a busy machine
    # The source view serves the script the frames name, nothing else.
    src = warn["stack"][-1]["file"]
    status, headers, body = server.request(
        f"/api/runs/{rid}/source?file={src}")
    assert status == 200 and b"def busy" in body
    assert headers["Content-Type"].startswith("text/plain")
    status, _, _ = server.request(f"/api/runs/{rid}/source?file=/etc/passwd")
    assert status == 404


def test_live_run_grows(server: Server, recordings: Path, tmp_path: Path):
    script = tmp_path / "live.py"
    script.write_text(
        "import time\n"
        "for i in range(60):\n"
        "    print('tick', i, flush=True)\n"
        "    t = time.perf_counter()\n"
        "    while time.perf_counter() - t < 0.05:\n"
        "        pass\n")
    import os
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("MICROLOG")}
    env["MICROLOG_DIR"] = str(recordings)
    proc = subprocess.Popen([sys.executable, "-m", "microlog", "live",
                             str(script)], env=env, cwd=tmp_path,
                            stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        def live_run():
            for l in server.get("/api/runs")["labels"]:
                for r in l["runs"]:
                    if r["live"]:
                        return r["id"]
            return None
        rid = wait_for(live_run)
        status, headers, body = server.request(
            f"/api/runs/{rid}/changes?since=0")
        assert status == 200 and headers["X-Microlog-Live"] == "1"
        first = json.loads(body)
        grown = wait_for(lambda: (
            lambda c: c if c["end_us"] > first["end_us"] + 500000 else None)(
                server.get(f"/api/runs/{rid}/changes?since="
                           f"{first['end_us']}")))
        assert grown["new_logs"] > 0 and grown["logs"] > first["logs"]
        tl = server.get(f"/api/runs/{rid}/timeline")
        assert tl["end_us"] >= grown["end_us"]
    finally:
        proc.wait(timeout=60)
    done = wait_for(lambda: (lambda c: c if c["complete"] else None)(
        server.get(f"/api/runs/{rid}/changes?since=0")))
    assert done["logs"] >= 60
    status, headers, _ = server.request(f"/api/runs/{rid}/summary")
    assert status == 200


def test_stops_cleanly_on_sigint(recordings: Path):
    import signal
    s = Server(recordings)
    assert s.get("/api/runs")["labels"] == []
    s.proc.send_signal(signal.SIGINT)
    assert s.proc.wait(timeout=20) == 0
    assert "stopped" in s.proc.stdout.read()


def test_builtin_page_and_headers(server: Server):
    status, headers, body = server.request("/")
    assert status == 200
    assert headers["Content-Type"].startswith("text/html")
    assert "script-src 'self'" in headers["Content-Security-Policy"]
    assert headers["X-Content-Type-Options"] == "nosniff"
    status, headers, body = server.request("/api/runs")
    assert headers["Cache-Control"] == "no-store"


def test_query_cli_gives_the_server_answer(server: Server, recordings: Path):
    from server_util import microlog_bin
    rid = gen(recordings)
    path = recordings / f"{rid}.mlog"
    for view, params in [("functions", ["from=0", "to=100000"]),
                         ("timeline", ["thread=2", "width=300"]),
                         ("span", ["thread=2", "at=60000", "depth=1"]),
                         ("status", ["width=5"])]:
        out = subprocess.run([microlog_bin(), "query", str(path), view,
                              *params], capture_output=True, timeout=60)
        assert out.returncode == 0, out.stderr
        q = "&".join(params)
        assert json.loads(out.stdout) == server.get(
            f"/api/runs/{rid}/{view}?{q}"), view
    bad = subprocess.run([microlog_bin(), "query", str(path), "timeline",
                          "width=0"], capture_output=True, text=True)
    assert bad.returncode == 2 and "width" in bad.stderr
    none = subprocess.run([microlog_bin(), "query", str(path), "span",
                           "thread=2", "at=60000", "depth=7"],
                          capture_output=True, text=True)
    assert none.returncode == 1


def test_memory_budget_evicts_and_reopens(recordings: Path):
    """With a budget smaller than the indexes of the runs visited in turn,
    indexes are closed and opened again; every answer stays the same."""
    from server_util import tool
    (recordings / "m").mkdir()
    ids = []
    for i in range(4):
        path = recordings / "m" / f"run{i}.mlog"
        subprocess.run([tool("ml_synth"), str(path), "--seconds", "40",
                        "--seed", str(i + 1)], check=True, timeout=60)
        ids.append(f"m/{path.stem}")
    s = Server(recordings, "--memory", "16")
    try:
        first = {rid: s.get(f"/api/runs/{rid}/functions") for rid in ids}
        sizes = [s.get(f"/api/runs/{rid}/changes")["index_bytes"]
                 for rid in ids]
        assert sum(sizes) > 16 << 20, sizes  # they cannot all stay open
        for rid in ids:
            assert s.get(f"/api/runs/{rid}/functions") == first[rid]
    finally:
        s.stop()


def test_summary_of_a_cut_recording_equals_show(server: Server,
                                                recordings: Path):
    rid = gen(recordings, "cut", "run", "--truncate-last")
    summary = server.get(f"/api/runs/{rid}/summary")
    assert summary["truncated_at"] is not None
    assert summary == show(recordings / f"{rid}.mlog")
