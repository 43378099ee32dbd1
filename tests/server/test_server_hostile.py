"""What an attacker or a broken client sends: path traversal in every form,
symlinks out of the folder, malformed and huge parameters, regular
expressions with catastrophic backtracking, very long URLs, many
connections at once, other methods, a foreign Host header; and the token
rule. Each gets a 4xx (or 503) and the server keeps serving."""

from __future__ import annotations

import concurrent.futures
import os
import socket
import subprocess
import time
from pathlib import Path

import pytest

from server_util import Server, gen, microlog_bin


def still_serving(server: Server) -> None:
    assert server.get("/api/runs")["dir"]


@pytest.mark.parametrize("path", [
    "/../../../../etc/passwd",
    "//etc/passwd",
    "/%2e%2e/%2e%2e/etc/passwd",
    "/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    "/api/runs/../../etc/passwd/summary",
    "/api/runs/%2e%2e/%2e%2e/summary",
    "/api/runs/gen/..%2f..%2f..%2fetc%2fpasswd/summary",
    "/api/runs/gen/%2e%2e/timeline",
    "/api/runs/.hidden/x/summary",
    "/api/runs/gen/run1/../../x/summary",
    "/api/runs//etc/passwd/summary",
    "/api/runs/gen/run1/source?file=../../../../etc/passwd",
    "/api/runs/gen/run1/source?file=/etc/passwd",
    "/api/runs/gen/run1/source?file=%2Fetc%2Fpasswd",
    "/api/runs/gen/run1/nosuchview",
    "/api/runs/nosuch/run/summary",
    "/api/nothing",
    "/index.html/../../etc/passwd",
    "/app.js%00.html",
])
def test_traversal_is_404(server: Server, recordings: Path, path: str):
    gen(recordings)
    status, _, body = server.request(path)
    assert status in (400, 404), (path, status, body[:200])
    assert b"root:" not in body
    still_serving(server)


def test_symlinks_out_of_the_folder(server: Server, recordings: Path,
                                    tmp_path: Path):
    outside = tmp_path / "outside"
    outside.mkdir()
    gen(outside, "secret", "run")
    (recordings / "linked").symlink_to(outside / "secret")
    (recordings / "real").mkdir()
    (recordings / "real" / "run.mlog").symlink_to(
        outside / "secret" / "run.mlog")
    for rid in ("linked/run", "real/run"):
        status, _, _ = server.request(f"/api/runs/{rid}/summary")
        assert status == 404, rid
        status, _, _ = server.request(f"/api/runs/{rid}/timeline")
        assert status == 404, rid
    assert server.get("/api/runs")["labels"] == [] or all(
        r["id"] not in ("linked/run", "real/run")
        for l in server.get("/api/runs")["labels"] for r in l["runs"])


@pytest.mark.parametrize("query", [
    "timeline?width=0", "timeline?width=99999999", "timeline?width=-5",
    "timeline?width=abc", "timeline?from=-1", "timeline?from=1e9",
    "timeline?from=99999999999999999999999", "timeline?from=10&to=5",
    "timeline?to=0", "timeline?thread=0", "timeline?thread=1,,2",
    "timeline?thread=99", "timeline?thread=" + ",".join(["1"] * 5000),
    "timeline?thread=1;2", "logs?limit=100000", "logs?level=x",
    "span?thread=1", "span?at=5", "span?thread=1,2&at=5",
    "search", "search?q=", "source", "logs?q=(", "logs?q=" + "a" * 600,
    "status?width=16385",
])
def test_bad_parameters_are_400(server: Server, recordings: Path,
                                query: str):
    rid = gen(recordings)
    status, headers, body = server.request(f"/api/runs/{rid}/{query}")
    assert 400 <= status < 500, (query, status, body[:200])
    assert headers["Content-Type"].startswith("application/json")
    assert "error" in __import__("json").loads(body)
    still_serving(server)


def test_catastrophic_regex_is_stopped(server: Server, recordings: Path):
    rid = gen(recordings)
    start = time.monotonic()
    status, _, body = server.request(
        f"/api/runs/{rid}/search?q=(a%2B)%2B(b%2B)%2B%24x")
    status2, _, _ = server.request(
        f"/api/runs/{rid}/logs?q=(.*a){{20}}")
    assert time.monotonic() - start < 10
    assert status in (200, 422) and status2 in (200, 422)
    status, _, _ = server.request("/api/runs?q=((((((((((x*)*)*)*)*)*)*)*)*)*)y")
    assert status in (200, 422)
    still_serving(server)


def test_long_urls_and_many_parameters(server: Server):
    status, _, _ = server.request("/api/runs?" + "x" * 100000)
    assert status in (400, 414, 431)
    params = "&".join(f"p{i}=1" for i in range(40))
    status, _, _ = server.request("/api/runs?" + params)
    assert status == 400
    still_serving(server)


def test_other_methods_and_garbage(server: Server):
    status, _, _ = server.request("/api/runs", method="POST")
    assert status == 405
    status, _, _ = server.request("/api/runs", method="DELETE")
    assert status == 405
    reply = server.raw(b"GARBAGE\r\n\r\n")
    assert reply == b"" or reply.startswith(b"HTTP/1.1 4")
    reply = server.raw(b"GET /api/runs HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                       b"X-Big: " + b"y" * 200000 + b"\r\n\r\n")
    assert reply == b"" or reply.split(b" ")[1][:1] in (b"4", b"5")
    still_serving(server)


def test_foreign_host_header_refused(server: Server):
    status, _, _ = server.request("/api/runs",
                                  headers={"Host": "evil.example:7777"})
    assert status == 403
    status, _, _ = server.request("/api/runs",
                                  headers={"Host": "localhost:1"})
    assert status == 200


def test_many_connections_at_once(server: Server, recordings: Path):
    rid = gen(recordings)
    # Past 256 open connections the server answers 503 instead of
    # dropping them; below that, everyone is served.
    idle = []
    for _ in range(300):
        try:
            idle.append(socket.create_connection(("127.0.0.1", server.port),
                                                 timeout=5))
        except OSError:
            break

    def one(i: int) -> int:
        return server.request(f"/api/runs/{rid}/timeline?width={100 + i}")[0]

    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        codes = list(pool.map(one, range(100)))
    assert all(c in (200, 503) for c in codes), set(codes)
    assert 503 in codes
    for s in idle:
        s.close()
    time.sleep(0.5)
    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        codes = list(pool.map(one, range(200)))
    assert codes == [200] * 200
    still_serving(server)


def test_non_loopback_needs_a_token(recordings: Path):
    env = {k: v for k, v in os.environ.items() if k != "MICROLOG_TOKEN"}
    out = subprocess.run([microlog_bin(), "serve", "--dir", str(recordings),
                          "--host", "0.0.0.0", "--port", "0"],
                         capture_output=True, text=True, timeout=30, env=env)
    assert out.returncode == 2
    assert out.stderr.count("\n") == 1 and "token" in out.stderr


def test_token_rule(recordings: Path):
    s = Server(recordings, "--token", "s3cret-token")
    try:
        assert s.printed.endswith("?token=s3cret-token")
        status, _, _ = s.request("/api/runs")
        assert status == 401
        status, _, _ = s.request("/api/runs",
                                 headers={"Authorization": "Bearer nope"})
        assert status == 403
        status, _, _ = s.request("/api/runs",
                                 headers={"Cookie": "microlog_token=nope"})
        assert status == 403
        assert s.get("/api/runs", headers={
            "Authorization": "Bearer s3cret-token"})["labels"] == []
        assert s.get("/api/runs", headers={
            "Cookie": "a=b; microlog_token=s3cret-token"})["labels"] == []
        # Opening the printed URL once sets the cookie and drops the token
        # from the address.
        reply = s.raw(b"GET /?token=s3cret-token HTTP/1.1\r\n"
                      b"Host: x\r\nConnection: close\r\n\r\n").decode()
        assert reply.startswith("HTTP/1.1 303")
        assert "Set-Cookie: microlog_token=s3cret-token; HttpOnly; " \
               "SameSite=Strict" in reply
        assert "Location: /\r\n" in reply
        status, _, _ = s.request("/?token=wrong")
        assert status == 403
    finally:
        s.stop()
