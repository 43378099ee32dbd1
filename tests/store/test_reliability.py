"""Reliability of the central store (issue 13), bounded in time, on
127.0.0.1 only: two servers, many simulated runs (tests/tools/
ml_fleet_sim: real recordings, real senders) streaming for a minute with
every request going to the other server; meanwhile one server is killed
with SIGKILL and restarted, object storage stops answering for 10 s
(SIGSTOP: requests hang until they time out), and PostgreSQL restarts.
Afterwards every run is compacted into one object byte-identical to its
client's file, each run is indexed once, and nothing any sender was told
is stored is missing.

ML_RELIABILITY_RUNS (default 200) and ML_RELIABILITY_SECONDS (default
60) scale it."""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
from pathlib import Path

from store_util import TOKEN, StoreServer, wait_for

RUNS = int(os.environ.get("ML_RELIABILITY_RUNS", "200"))
SECONDS = int(os.environ.get("ML_RELIABILITY_SECONDS", "60"))


def sim_tool(tools_dir: Path) -> str:
    path = tools_dir / "ml_fleet_sim"
    assert path.exists(), f"{path} is not built"
    return str(path)


def troubles(a: StoreServer, s3, pg, log: list) -> None:
    """The faults, spread over the run (an error here fails the test)."""
    try:
        inflict(a, s3, pg, log)
    except BaseException as e:  # noqa: B902 - reported by the test
        log.append(("error", repr(e)))


def inflict(a: StoreServer, s3, pg, log: list) -> None:
    def at(fraction: float) -> None:
        time.sleep(max(0.0, t0 + SECONDS * fraction - time.monotonic()))

    t0 = time.monotonic()
    at(0.15)
    a.kill()
    log.append(("killed A", time.monotonic() - t0))
    time.sleep(2)
    a.start()
    log.append(("restarted A", time.monotonic() - t0))
    at(0.35)
    log.append(("S3 stopped", time.monotonic() - t0))
    s3.pause(10, wait=True)
    log.append(("S3 back", time.monotonic() - t0))
    at(0.7)
    pg.restart()
    log.append(("PostgreSQL restarted", time.monotonic() - t0))


def test_fleet_survives_kills_and_outages(s3_own, pg_own_server, tools_dir,
                                          tmp_path):
    uri = pg_own_server.create_database("reliability")
    a = StoreServer(s3_own, uri, tmp_path / "a")
    b = StoreServer(s3_own, uri, tmp_path / "b")
    # A restarted server comes back on its port: clients keep its URL.
    a.port = a.port
    log: list = []
    fault = threading.Thread(target=troubles,
                             args=(a, s3_own, pg_own_server, log))
    sim = subprocess.Popen(
        [sim_tool(tools_dir), "--servers", f"{a.base},{b.base}", "--token",
         TOKEN, "--runs", str(RUNS), "--seconds", str(SECONDS), "--dir",
         str(tmp_path / "runs"), "--rotate", "--finish-s", "180"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    fault.start()
    out, err = sim.communicate(timeout=SECONDS + 300)
    fault.join()
    try:
        assert all(what != "error" for what, _ in log), log
        assert len(log) == 5, log
        assert sim.returncode == 0, err[-3000:]
        report = json.loads(out)
        runs = report["runs"]
        assert len(runs) == RUNS
        assert all(r["stored"] and r["acked"] == r["size"] for r in runs)
        client = s3_own.s3()

        def objects():
            found = {}
            for page in client.get_paginator("list_objects_v2").paginate(
                    Bucket=s3_own.bucket, Prefix=f"{a.prefix}/run/"):
                for o in page.get("Contents", []):
                    found[o["Key"].rsplit("/", 1)[1][:-5]] = o["Key"]
            return found

        wait_for(lambda: len(objects()) >= RUNS, 300, 2)
        # Each run once in the index, each object the client's file.
        listed = b.runs(label="sim", limit="10000")
        assert sorted(x["id"] for x in listed) == sorted(r["name"]
                                                         for r in runs)
        assert all(x["complete"] for x in listed)
        objects = objects()
        assert len(objects) == RUNS
        for r in runs:
            body = client.get_object(Bucket=s3_own.bucket,
                                     Key=objects[r["run_id"]])["Body"]
            assert body.read() == Path(r["path"]).read_bytes(), r["name"]
        print(f"\nreliability: {RUNS} runs x {SECONDS} s, faults {log}, "
              f"{report['requests']} requests acknowledged, "
              f"{report['failed_requests']} failed and sent again, "
              f"ack p50 {report['ack_p50_us'] / 1000:.0f} ms, "
              f"p99 {report['ack_p99_us'] / 1000:.0f} ms")
    finally:
        a.stop() if a.proc.poll() is None else None
        b.stop()
