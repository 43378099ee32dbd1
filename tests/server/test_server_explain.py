"""The Explanation and Tips endpoints and commands (docs/EXPLAIN.md): what
the prompt must and must not contain, the client against a local
OpenAI-compatible server that checks the request, its error paths, the
cache beside the recording, and the rule that a POST spends the key only
when it comes from the server's own page."""

from __future__ import annotations

import http.server
import json
import os
import subprocess
import threading
import time
from pathlib import Path

import pytest

from server_util import Server, microlog_bin, record

PROGRAM = """
    import microlog, time

    @microlog.timed
    def handle(token, size):
        t = time.perf_counter()
        while time.perf_counter() - t < size / 1000:
            pass  # SOURCE_LINE_MARKER

    def main():
        for i in range(30):
            handle("secret-argument-value", 40 if i == 17 else 4)
        try:
            {}["missing"]
        except KeyError:
            microlog.error("lookup failed")
        raise SystemExit(0)

    main()
"""


class FakeModel:
    """An OpenAI-compatible endpoint on 127.0.0.1 that checks requests."""

    def __init__(self, status: int = 200, delay: float = 0.0):
        self.requests = []
        fake = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(
                    int(self.headers["Content-Length"])))
                fake.requests.append((self.path, dict(self.headers), body))
                time.sleep(delay)
                if status == 200:
                    reply = {"choices": [{"message": {
                        "role": "assistant",
                        "content": "## The program\nIt **handles** work."}}]}
                else:
                    reply = {"error": {"message": f"nope {status}"}}
                data = json.dumps(reply).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                try:
                    self.wfile.write(data)
                except OSError:
                    pass

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                                     Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        threading.Thread(target=self.httpd.serve_forever,
                         daemon=True).start()

    def env(self, **extra: str) -> dict:
        e = {k: v for k, v in os.environ.items()
             if not k.startswith("MICROLOG_LLM")}
        e.update(MICROLOG_LLM_URL=self.url, MICROLOG_LLM_MODEL="test-model",
                 MICROLOG_LLM_KEY="sk-test-key-123", **extra)
        return e

    def close(self):
        self.httpd.shutdown()


@pytest.fixture
def recorded(recordings: Path, tmp_path: Path) -> Path:
    out = record(recordings, tmp_path, "explained", PROGRAM)
    assert out.returncode == 0, out.stderr
    [path] = list((recordings / "explained").glob("*.mlog"))
    return path


def explain(path: Path, *args: str, env=None) -> subprocess.CompletedProcess:
    return subprocess.run([microlog_bin(), "explain", *args, str(path)],
                          capture_output=True, text=True, timeout=60,
                          env=env)


def test_prompt_has_the_figures_and_no_values_or_source(recorded: Path):
    out = explain(recorded, "--prompt-only")
    assert out.returncode == 0, out.stderr
    p = out.stdout
    for must in ("handle", "main", "MainThread", "lookup failed",
                 "Errors and warnings", "Timed functions", "explained.py",
                 "## Design"):
        assert must in p, must
    for never in ("secret-argument-value", "SOURCE_LINE_MARKER",
                  "time.perf_counter() -", "python -m microlog"):
        assert never not in p, never


def test_without_a_model_explain_prints_the_prompt_and_how(recorded: Path):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("MICROLOG_LLM")}
    out = explain(recorded, env=env)
    assert out.returncode == 0
    assert "## Design" in out.stdout
    assert "MICROLOG_LLM_URL" in out.stderr and out.stderr.count("\n") == 1


def test_client_request_answer_and_cache(recorded: Path):
    fake = FakeModel()
    try:
        out = explain(recorded, env=fake.env())
        assert out.returncode == 0, out.stderr
        assert "It **handles** work." in out.stdout
        [(path, headers, body)] = fake.requests
        assert path == "/v1/chat/completions"
        assert headers["Authorization"] == "Bearer sk-test-key-123"
        assert body["model"] == "test-model"
        assert [m["role"] for m in body["messages"]] == ["system", "user"]
        assert body["messages"][1]["content"] == explain(
            recorded, "--prompt-only").stdout
        # Paid once: the second time comes from the cache beside the run.
        again = explain(recorded, env=fake.env())
        assert again.stdout == out.stdout and len(fake.requests) == 1
        assert Path(str(recorded) + ".explain.json").exists()
    finally:
        fake.close()


@pytest.mark.parametrize("status,words", [(401, "refused the key"),
                                          (429, "rate limiting"),
                                          (500, "HTTP 500: nope 500")])
def test_endpoint_errors_are_one_line(recorded: Path, status: int,
                                      words: str):
    fake = FakeModel(status=status)
    try:
        out = explain(recorded, env=fake.env())
        assert out.returncode == 1
        assert words in out.stderr and out.stderr.count("\n") == 1
        assert "sk-test-key-123" not in out.stderr
    finally:
        fake.close()


def test_endpoint_timeout(recorded: Path):
    fake = FakeModel(delay=3)
    try:
        start = time.monotonic()
        out = explain(recorded, env=fake.env(MICROLOG_LLM_TIMEOUT="1"))
        assert out.returncode == 1 and "within 1 s" in out.stderr
        assert time.monotonic() - start < 3
    finally:
        fake.close()


def test_server_explain_endpoint(recordings: Path, recorded: Path):
    fake = FakeModel()
    rid = f"explained/{recorded.stem}"
    env_before = dict(os.environ)
    os.environ.update(fake.env())
    try:
        s = Server(recordings)
    finally:
        os.environ.clear()
        os.environ.update(env_before)
    try:
        got = s.get(f"/api/runs/{rid}/explain")
        assert got["configured"] is True and got["answer"] is None
        assert "## Design" in got["prompt"]
        json_post = {"Content-Type": "application/json"}
        status, _, _ = s.request(f"/api/runs/{rid}/explain", method="POST")
        assert status == 403  # no JSON content type: a form from anywhere
        status, _, _ = s.request(
            f"/api/runs/{rid}/explain", method="POST",
            headers={**json_post, "Origin": "http://evil.example"})
        assert status == 403
        status, _, _ = s.request(f"/api/runs/{rid}/summary", method="POST",
                                 headers=json_post)
        assert status == 405
        status, _, body = s.request(
            f"/api/runs/{rid}/explain", method="POST",
            headers={**json_post, "Origin": s.base})
        assert status == 200, body
        answer = json.loads(body)
        assert "It **handles** work." in answer["answer"]
        assert answer["cached"] is False
        got = s.get(f"/api/runs/{rid}/explain")
        assert got["answer"] == answer["answer"]
        for path in ("explain", "summary", "tips"):
            assert b"sk-test-key-123" not in s.request(
                f"/api/runs/{rid}/{path}")[2]
        assert len(fake.requests) == 1
    finally:
        s.stop()
        fake.close()


def test_server_without_a_model_refuses_post(server: Server,
                                            recorded: Path):
    rid = f"explained/{recorded.stem}"
    got = server.get(f"/api/runs/{rid}/explain")
    assert got["configured"] is False and got["model"] is None
    status, _, body = server.request(f"/api/runs/{rid}/explain",
                                     method="POST",
                                     headers={"Content-Type":
                                              "application/json"})
    assert status == 409 and b"MICROLOG_LLM_URL" in body


def test_tips(server: Server, recorded: Path):
    rid = f"explained/{recorded.stem}"
    tips = server.get(f"/api/runs/{rid}/tips")
    kinds = [o["kind"] for o in tips["observations"]]
    assert "anomaly" in kinds and "error" in kinds
    anomaly = next(o for o in tips["observations"] if o["kind"] == "anomaly")
    assert "handle" in anomaly["text"]
    mods = {m["module"]: m for m in tips["modules"]}
    assert "explained" in mods and mods["explained"]["kind"] == "program"
    for m in tips["modules"]:
        if m["kind"] == "stdlib":
            assert m["links"][0]["url"] == \
                f"https://docs.python.org/3/library/{m['module']}.html"
    text = subprocess.run([microlog_bin(), "tips", str(recorded)],
                          capture_output=True, text=True, timeout=60)
    assert text.returncode == 0 and "handle had" in text.stdout
