"""The central store end to end (issue 13, docs/STORE.md): recorded
programs stream to `microlog serve --store --db` servers over a real
signature-checking S3 server (moto) and a real PostgreSQL; runs are
listed, viewed, followed live from another server, compacted into objects
byte-identical to the client's file, completed by `microlog upload`,
saved straight to a bucket, and removed by retention."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from store_util import (TOKEN, StoreServer, microlog_bin, only_recording,
                        recording_env, wait_for)

PROGRAM = """
import threading, time
def work(n):
    t = time.time() + n
    x = 0
    while time.time() < t:
        x += 1
def spin():
    work({seconds})
threads = [threading.Thread(target=spin, name=f"w{{i}}") for i in range(2)]
for t in threads: t.start()
spin()
for t in threads: t.join()
print("done")
"""


def record(tmp: Path, label: str, env: dict, seconds: float = 2.0,
           wait: bool = True):
    script = tmp / f"{label}.py"
    script.write_text(PROGRAM.format(seconds=seconds))
    cmd = [sys.executable, "-m", "microlog", label, str(script)]
    if not wait:
        return subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, cwd=tmp)
    return subprocess.run(cmd, env=env, capture_output=True, timeout=120,
                          cwd=tmp)


def object_bytes(s3, key: str) -> bytes:
    return s3.s3().get_object(Bucket=s3.bucket, Key=key)["Body"].read()


def keys(s3, prefix: str):
    out = []
    for page in s3.s3().get_paginator("list_objects_v2").paginate(
            Bucket=s3.bucket, Prefix=prefix):
        out += [o["Key"] for o in page.get("Contents", [])]
    return out


def compacted_key(s3, prefix: str, run_id: str) -> str:
    found = [k for k in keys(s3, f"{prefix}/run/") if run_id in k]
    return found[0] if found else ""


def run_id_of(path: Path) -> str:
    out = subprocess.run([microlog_bin(), "show", "--json", str(path)],
                         capture_output=True, check=True, timeout=60)
    return json.loads(out.stdout)["meta"]["run_id"]


@pytest.fixture
def store(s3, pg_uri, tmp_path):
    srv = StoreServer(s3, pg_uri, tmp_path)
    yield srv
    srv.stop()


def test_streamed_run_is_listed_viewed_and_compacted(store, s3, tmp_path):
    recordings = tmp_path / "rec"
    env = recording_env(recordings, MICROLOG_SERVER=store.base,
                        MICROLOG_TOKEN=TOKEN)
    r = record(tmp_path, "fleet", env)
    assert r.returncode == 0, r.stderr
    assert b"not all of the run" not in r.stderr, r.stderr
    path = only_recording(recordings)
    local = path.read_bytes()
    name = f"fleet/{path.stem}"
    runs = wait_for(lambda: [x for x in store.runs() if x["id"] == name])
    assert runs[0]["bytes"] == len(local)
    # The views answer from the store's copy as from the local file.
    summary = store.get(f"/api/runs/{name}/summary")
    local_summary = json.loads(subprocess.run(
        [microlog_bin(), "show", "--json", str(path)], capture_output=True,
        check=True).stdout)
    assert summary["threads"] == local_summary["threads"]
    # Compacted into one object, byte-identical to the client's file.
    run_id = run_id_of(path)
    key = wait_for(lambda: compacted_key(s3, store.prefix, run_id))
    assert object_bytes(s3, key) == local
    # The segments it came from are deleted only after a grace period,
    # and the run is still served (now from its object).
    assert store.get(f"/api/runs/{name}/summary")["threads"]


def test_live_run_followed_from_another_server(s3, pg_uri, tmp_path):
    a = StoreServer(s3, pg_uri, tmp_path / "a")
    b = StoreServer(s3, pg_uri, tmp_path / "b")
    try:
        recordings = tmp_path / "rec"
        env = recording_env(recordings, MICROLOG_SERVER=a.base,
                            MICROLOG_TOKEN=TOKEN)
        proc = record(tmp_path, "live", env, seconds=8, wait=False)
        path = wait_for(lambda: next(iter(recordings.rglob("*.mlog")), None))
        name = f"live/{path.stem}"
        # B never received a byte of it: it learns from the index and
        # follows the notifications.
        wait_for(lambda: any(x["id"] == name for x in b.runs()), 10)
        seen = []

        def grows():
            status, headers, body = b.request(f"/api/runs/{name}/changes")
            if status == 200:
                seen.append((json.loads(body)["end_us"],
                             headers.get("X-Microlog-Live")))
            return len({e for e, _ in seen}) >= 3

        wait_for(grows, 10, 0.5)
        assert any(live == "1" for _, live in seen), seen
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
        # After the end, B's copy is the whole file.
        local = path.read_bytes()
        wait_for(lambda: b.get(f"/api/runs/{name}/changes")["bytes"]
                 == len(local), 20, 0.5)
    finally:
        a.stop()
        b.stop()


def test_killed_run_completed_by_upload(store, s3, tmp_path):
    recordings = tmp_path / "rec"
    # A server that is not there: the program must not care.
    env = recording_env(recordings, MICROLOG_SERVER="http://127.0.0.1:9",
                        MICROLOG_TOKEN=TOKEN)
    proc = record(tmp_path, "killed", env, seconds=30, wait=False)
    wait_for(lambda: any(p.stat().st_size > 3000
                         for p in recordings.rglob("*.mlog")), 30)
    time.sleep(1.5)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    path = only_recording(recordings)
    # upload refuses files written in the last 5 s (its program may still
    # be sending them: test_upload_refuses_what_it_should): this one was
    # killed, so make it look as it will 5 s from now instead of waiting.
    old = time.time() - 6
    os.utime(path, (old, old))
    up = subprocess.run([microlog_bin(), "upload", str(path)],
                        env={**os.environ, "MICROLOG_SERVER": store.base,
                             "MICROLOG_TOKEN": TOKEN},
                        capture_output=True, text=True, timeout=120)
    assert up.returncode == 0, up.stderr
    assert f"stored as killed/{path.stem}" in up.stdout
    # Again: nothing left to send, still success.
    again = subprocess.run([microlog_bin(), "upload", str(path)],
                           env={**os.environ, "MICROLOG_SERVER": store.base,
                                "MICROLOG_TOKEN": TOKEN},
                           capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr
    run_id = run_id_of(path)
    key = wait_for(lambda: compacted_key(s3, store.prefix, run_id))
    stored = object_bytes(s3, key)
    local = path.read_bytes()
    # A killed program may leave its last chunk unfinished: the store has
    # every whole chunk, byte for byte.
    assert local.startswith(stored) and len(local) - len(stored) < 300000


def test_upload_refuses_what_it_should(store, tmp_path):
    recordings = tmp_path / "rec"
    r = record(tmp_path, "plain", recording_env(recordings), seconds=0.5)
    assert r.returncode == 0
    path = only_recording(recordings)
    env = {**os.environ, "MICROLOG_SERVER": store.base}
    env.pop("MICROLOG_TOKEN", None)
    no_token = subprocess.run([microlog_bin(), "upload", "--force",
                               str(path)], env=env, capture_output=True,
                              text=True, timeout=60)
    assert no_token.returncode == 1
    assert "401" in no_token.stderr
    wrong = subprocess.run([microlog_bin(), "upload", "--force", "--token",
                            "nope", str(path)], env=env, capture_output=True,
                           text=True, timeout=60)
    assert wrong.returncode == 1 and "403" in wrong.stderr
    live = subprocess.run([microlog_bin(), "upload", str(path)],
                          env={**env, "MICROLOG_TOKEN": TOKEN},
                          capture_output=True, text=True, timeout=60)
    assert live.returncode == 1 and "still being written" in live.stderr
    nowhere = subprocess.run([microlog_bin(), "upload", str(path)],
                             env={k: v for k, v in env.items()
                                  if k != "MICROLOG_SERVER"},
                             capture_output=True, text=True, timeout=60)
    assert nowhere.returncode == 2 and "nowhere to send" in nowhere.stderr


def ingest(store, body: bytes, **headers: str):
    h = {"Content-Type": "application/octet-stream",
         "X-Microlog-Run": "0190f0f0-1234-7abc-8def-0123456789ab",
         "X-Microlog-Name": "hostile/run1", "X-Microlog-Offset": "0"}
    h.update({k.replace("_", "-"): v for k, v in headers.items()})
    return store.request("/api/ingest", data=body, headers=h,
                         method="POST")


def test_ingest_refuses_hostile_uploads(store):
    status, _, body = ingest(store, b"not a recording at all")
    assert status == 400 and b"not a recording" in body
    status, _, _ = ingest(store, b"", X_Microlog_Run="../../etc")
    assert status == 400
    status, _, _ = ingest(store, b"", X_Microlog_Name="../x")
    assert status == 400
    status, _, _ = ingest(store, b"", X_Microlog_Offset="-1")
    assert status == 400
    status, _, _ = ingest(store, b"x" * (17 << 20))
    assert status == 413
    status, _, _ = store.request("/api/ingest", data=b"", method="POST",
                                 token="wrong")
    assert status == 403
    req = __import__("urllib.request").request.Request(
        store.base + "/api/ingest", data=b"", method="POST")
    try:
        __import__("urllib.request").request.urlopen(req, timeout=30)
        code = 200
    except __import__("urllib.error").error.HTTPError as e:
        code = e.code
    assert code == 401
    # The server kept serving.
    assert store.get("/api/runs")["store"] == "central"


def test_direct_to_bucket_found_by_a_server(s3, pg_uri, tmp_path):
    recordings = tmp_path / "rec"
    env = recording_env(recordings, **s3.env(),
                        MICROLOG_S3_ROOT=f"s3://{s3.bucket}/{s3.prefix}",
                        MICROLOG_S3_REGION="us-east-1")
    r = record(tmp_path, "direct", env)
    assert r.returncode == 0, r.stderr
    assert b"not all of the run" not in r.stderr, r.stderr
    path = only_recording(recordings)
    found = [k for k in keys(s3, f"{s3.prefix}/direct/")
             if k.endswith(".mlog")]
    assert len(found) == 1
    assert object_bytes(s3, found[0]) == path.read_bytes()
    assert not keys(s3, f"{s3.prefix}/direct/parts/")
    srv = StoreServer(s3, pg_uri, tmp_path)
    try:
        name = f"direct/{path.stem}"
        wait_for(lambda: any(x["id"] == name for x in srv.runs()), 30)
        assert srv.get(f"/api/runs/{name}/summary")["threads"]
    finally:
        srv.stop()


def test_retention_removes_object_then_index(s3, pg_uri, tmp_path):
    # 10 s: the run is compacted (about 2 s after its end, even with the
    # TSan server) well before it expires; checked every 5 s (half of it).
    srv = StoreServer(s3, pg_uri, tmp_path, "--retention", "10s")
    try:
        recordings = tmp_path / "rec"
        env = recording_env(recordings, MICROLOG_SERVER=srv.base,
                            MICROLOG_TOKEN=TOKEN)
        assert record(tmp_path, "old", env, seconds=0.5).returncode == 0
        path = only_recording(recordings)
        run_id = run_id_of(path)
        wait_for(lambda: compacted_key(s3, srv.prefix, run_id), 30)
        wait_for(lambda: not compacted_key(s3, srv.prefix, run_id), 60, 1)
        wait_for(lambda: not srv.runs(), 20, 0.5)
    finally:
        srv.stop()


def test_wrong_secret_is_a_clear_error(s3, pg_uri, tmp_path):
    env = s3.env(AWS_SECRET_ACCESS_KEY="wrong" + s3.secret_key[5:])
    proc = subprocess.run(
        [microlog_bin(), "serve", "--store", f"s3://{s3.bucket}/x", "--db",
         pg_uri, "--port", "0", "--cache", str(tmp_path)],
        env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert "SignatureDoesNotMatch" in proc.stderr, proc.stderr


def test_rolled_over_files_are_runs_of_their_own(store, s3, tmp_path):
    """A long run goes on in new linked files (MICROLOG_ROLLOVER): each is
    sent as it is written and stored as a run of its own, byte for
    byte."""
    recordings = tmp_path / "rec"
    env = recording_env(recordings, MICROLOG_SERVER=store.base,
                        MICROLOG_TOKEN=TOKEN, MICROLOG_ROLLOVER="4KB")
    r = record(tmp_path, "rolled", env, seconds=4)
    assert r.returncode == 0, r.stderr
    assert b"not all of the run" not in r.stderr, r.stderr
    files = sorted(recordings.rglob("*.mlog"))
    assert len(files) >= 2, files
    names = {f"rolled/{p.stem}" for p in files}
    wait_for(lambda: names <= {x["id"] for x in store.runs()})
    # Each file whole in the store (its copy on the server is its bytes).
    for path in files:
        name = f"rolled/{path.stem}"
        wait_for(lambda: store.get(f"/api/runs/{name}/changes")["bytes"]
                 == path.stat().st_size, 30, 0.5)
        copy = next(store.cache_dir().rglob(f"{path.stem}.mlog"))
        assert copy.read_bytes() == path.read_bytes()
