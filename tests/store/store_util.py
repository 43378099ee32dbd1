"""The central store's servers for tests: `microlog serve --store s3://...
--db postgresql://...` on 127.0.0.1 over the test's moto (s3_server.py)
and PostgreSQL (pg_server.py), and small HTTP helpers.

    srv = StoreServer(s3, pg_uri, tmp_path)       # a free port
    srv.get("/api/runs")                          # JSON, token included
    srv.kill(); srv.start()                       # SIGKILL, same port
    srv.stop()                                    # SIGTERM, exit 0
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Dict, List, Optional, Tuple

REPO = Path(__file__).resolve().parents[2]

# tests/wait_util.py, shared with the other server suite; re-exported.
sys.path.insert(0, str(REPO / "tests"))
from wait_util import wait_for  # noqa: E402,F401

TOKEN = "store-test-token"
TIMEOUT = 60


def microlog_bin() -> str:
    explicit = os.environ.get("MICROLOG_BIN")
    if explicit:
        return explicit
    build = Path(os.environ.get("BUILD", "build"))
    built = (REPO / build if not build.is_absolute() else build) / "microlog"
    if built.exists():
        return str(built)
    beside = Path(sys.executable).parent / "microlog"
    if beside.exists():
        return str(beside)
    found = shutil.which("microlog")
    assert found, "the microlog command is not built (make build)"
    return found


class StoreServer:
    """One `microlog serve --store` process."""

    def __init__(self, s3, pg_uri: str, tmp: Path, *args: str,
                 prefix: Optional[str] = None, port: int = 0,
                 token: str = TOKEN) -> None:
        self.s3 = s3
        self.pg_uri = pg_uri
        self.prefix = prefix if prefix is not None else s3.prefix
        self.args = list(args)
        self.token = token
        self.tmp = tmp
        self.port = port
        self.proc: Optional[subprocess.Popen] = None
        self.start()

    @property
    def store_url(self) -> str:
        return f"s3://{self.s3.bucket}/{self.prefix}"

    def cache_dir(self) -> Path:
        """The server's local copies of the runs it showed."""
        return self.cache

    def start(self) -> "StoreServer":
        cache = self.tmp / f"cache-{time.monotonic_ns()}"
        cache.mkdir(parents=True)
        self.cache = cache
        cmd = [microlog_bin(), "serve", "--store", self.store_url, "--db",
               self.pg_uri, "--port", str(self.port), "--token", self.token,
               "--cache", str(cache), "--connections", "1024", *self.args]
        self.proc = subprocess.Popen(cmd, env=self.s3.env(),
                                     stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        m = re.search(r"at (http://[^/]+)/", line)
        if m is None:
            self.proc.kill()
            raise AssertionError(f"no URL printed: {line!r} "
                                 f"{self.proc.stderr.read()}")
        self.base = m.group(1)
        self.port = int(self.base.rsplit(":", 1)[1])
        return self

    def request(self, path: str, data: Optional[bytes] = None,
                headers: Optional[Dict[str, str]] = None,
                token: Optional[str] = None,
                method: Optional[str] = None) -> Tuple[int, Dict, bytes]:
        h = {"Authorization": f"Bearer {token or self.token}"}
        h.update(headers or {})
        req = urllib.request.Request(self.base + path, data=data, headers=h,
                                     method=method)
        try:
            with urllib.request.urlopen(req, timeout=TIMEOUT) as r:
                return r.status, dict(r.headers), r.read()
        except urllib.error.HTTPError as e:
            return e.code, dict(e.headers), e.read()

    def get(self, path: str) -> dict:
        status, _, body = self.request(path)
        assert status == 200, (path, status, body[:300])
        return json.loads(body)

    def runs(self, **filters: str) -> List[dict]:
        q = "&".join(f"{k}={v}" for k, v in filters.items())
        tree = self.get("/api/runs" + (f"?{q}" if q else ""))
        return [r for label in tree["labels"] for r in label["runs"]]

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=20)

    def stop(self) -> str:
        """SIGTERM; returns stderr, after checking a clean exit."""
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=40)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                raise
        err = self.proc.stderr.read()
        assert self.proc.returncode == 0, err
        return err


def recording_env(recordings: Path, **extra: str) -> Dict[str, str]:
    """The environment of a recorded program (no inherited MICROLOG_*)."""
    e = {k: v for k, v in os.environ.items()
         if not k.startswith("MICROLOG") and not k.startswith("AWS_")}
    e["MICROLOG_DIR"] = str(recordings)
    e.update(extra)
    return e


def only_recording(recordings: Path) -> Path:
    files = sorted(recordings.rglob("*.mlog"))
    assert len(files) == 1, files
    return files[0]
