"""Helpers of the server tests (fixtures in conftest.py): the real
`microlog serve` on 127.0.0.1, started on a
free port over a temporary recordings folder, stopped with SIGTERM (and
checked to stop cleanly). Recordings come from `python -m microlog` and
from the generators in build/tests/tools (ml_gen's exact counts)."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import urllib.error
import urllib.request
from pathlib import Path
from typing import Dict, Optional, Tuple

import pytest

REPO = Path(__file__).resolve().parents[2]

# tests/wait_util.py, shared with the other server suite; re-exported.
sys.path.insert(0, str(REPO / "tests"))
from wait_util import wait_for  # noqa: E402,F401

TIMEOUT = 60


def microlog_bin() -> str:
    explicit = os.environ.get("MICROLOG_BIN")
    if explicit:
        return explicit
    beside = Path(sys.executable).parent / "microlog"
    if beside.exists():
        return str(beside)
    found = shutil.which("microlog")
    if found is None:
        pytest.fail("the microlog command is not installed")
    return found


def tool(name: str) -> str:
    path = REPO / "build" / "tests" / "tools" / name
    if not path.exists():
        pytest.fail(f"{path} is not built (make build)")
    return str(path)


class Server:
    """One `microlog serve` process and a small HTTP client for it."""

    def __init__(self, folder: Path, *args: str):
        self.folder = folder
        self.proc = subprocess.Popen(
            [microlog_bin(), "serve", "--dir", str(folder), "--port", "0",
             *args],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        m = re.search(r"at (http://[^/]+)/(\S*)", line)
        if m is None:
            self.proc.kill()
            raise AssertionError(f"no URL printed: {line!r} "
                                 f"{self.proc.stderr.read()}")
        self.base = m.group(1)
        self.printed = line.strip()
        self.port = int(self.base.rsplit(":", 1)[1])

    def request(self, path: str, headers: Optional[Dict[str, str]] = None,
                method: str = "GET") -> Tuple[int, Dict[str, str], bytes]:
        req = urllib.request.Request(self.base + path, method=method,
                                     headers=headers or {})
        try:
            with urllib.request.urlopen(req, timeout=TIMEOUT) as r:
                return r.status, dict(r.headers), r.read()
        except urllib.error.HTTPError as e:
            return e.code, dict(e.headers), e.read()

    def get(self, path: str, **kw) -> dict:
        status, _, body = self.request(path, **kw)
        assert status == 200, (path, status, body[:300])
        return json.loads(body)

    def raw(self, data: bytes) -> bytes:
        """Sends bytes as they are and returns what comes back."""
        out = b""
        with socket.create_connection(("127.0.0.1", self.port),
                                      timeout=TIMEOUT) as s:
            try:
                s.sendall(data)
                s.shutdown(socket.SHUT_WR)
            except OSError:
                pass  # the server may answer and close before the end
            try:
                while True:
                    chunk = s.recv(65536)
                    if not chunk:
                        return out
                    out += chunk
            except OSError:
                return out

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                raise
        assert self.proc.returncode == 0, self.proc.stderr.read()


def gen(recordings: Path, label: str = "gen", stamp: str = "run1",
        *args: str) -> str:
    """An ml_gen recording in the folder; returns its run id."""
    (recordings / label).mkdir(exist_ok=True)
    path = recordings / label / f"{stamp}.mlog"
    subprocess.run([tool("ml_gen"), str(path), *args], check=True,
                   timeout=TIMEOUT)
    return f"{label}/{stamp}"


def record(recordings: Path, tmp: Path, label: str, source: str,
           env: Optional[Dict[str, str]] = None) -> subprocess.CompletedProcess:
    """Runs source under python -m microlog into the folder."""
    script = tmp / f"{label}.py"
    script.write_text(textwrap.dedent(source))
    e = {k: v for k, v in os.environ.items() if not k.startswith("MICROLOG")}
    e["MICROLOG_DIR"] = str(recordings)
    e.update(env or {})
    return subprocess.run([sys.executable, "-m", "microlog", label,
                           str(script)], env=e, capture_output=True,
                          timeout=TIMEOUT, cwd=tmp)


def show(path: Path) -> dict:
    out = subprocess.run([microlog_bin(), "show", "--json", str(path)],
                         capture_output=True, timeout=TIMEOUT, check=True)
    return json.loads(out.stdout)
