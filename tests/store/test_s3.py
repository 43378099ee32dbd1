"""The S3 client (src/net/ml_s3) through build/tests/tools/ml_s3_tool
against moto's signature-checking S3 server (fixtures in conftest.py).

What passes here passed a real Signature V4 check: a wrong secret is
refused with SignatureDoesNotMatch (test_wrong_secret_is_refused), so the
signatures of every other request were checked and found right, for keys
with spaces, '+', '=', '%', '&', unicode, and for escaped query strings
(list prefixes, continuation tokens). boto3, a second client, reads what
ours wrote and writes what ours lists."""

from __future__ import annotations

import random
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import List, Optional, Tuple

import pytest

from s3_server import S3Server, free_port

TIMEOUT = 60


def tool(tools_dir: Path, srv: S3Server, *args: str,
         data: Optional[bytes] = None,
         **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(tools_dir / "ml_s3_tool"), *args],
                          input=data, capture_output=True,
                          env=srv.env(**env), timeout=TIMEOUT)


def err_line(r: subprocess.CompletedProcess) -> str:
    lines = r.stderr.decode("utf-8", "replace").splitlines()
    assert len(lines) == 1, f"expected one error line: {lines!r}"
    return lines[0]


def put(tools_dir, srv, key: str, data: bytes, *flags: str, **env):
    return tool(tools_dir, srv, "put", *flags, srv.bucket, key, "-",
                data=data, **env)


def get(tools_dir, srv, key: str, *rng: int, **env) -> Tuple[bytes, int]:
    r = tool(tools_dir, srv, "get", srv.bucket, key, *map(str, rng), **env)
    assert r.returncode == 0, r.stderr
    size = int(r.stderr.decode().split("size ", 1)[1])
    return r.stdout, size


def listing(tools_dir, srv, prefix: str, **env) -> List[Tuple[int, str]]:
    r = tool(tools_dir, srv, "list", srv.bucket, prefix, **env)
    assert r.returncode == 0, r.stderr
    out = []
    for line in r.stdout.decode("utf-8").splitlines():
        size, key = line.split("\t", 1)
        out.append((int(size), key))
    return out


# ---- objects ----------------------------------------------------------

@pytest.mark.parametrize("size", [0, 1, 5 * 1024 * 1024])
def test_binary_round_trip(tools_dir, s3, size):
    data = random.Random(size).randbytes(size)
    key = f"{s3.prefix}/blob-{size}"
    r = put(tools_dir, s3, key, data)
    assert r.returncode == 0, r.stderr
    got, total = get(tools_dir, s3, key)
    assert got == data and total == size
    # A second client reads the same bytes.
    body = s3.s3().get_object(Bucket=s3.bucket, Key=key)["Body"].read()
    assert body == data
    r = tool(tools_dir, s3, "head", s3.bucket, key)
    assert r.returncode == 0 and int(r.stdout) == size


def test_ranged_reads(tools_dir, s3):
    data = bytes(range(256)) * 40  # 10240 bytes
    key = f"{s3.prefix}/ranged"
    assert put(tools_dir, s3, key, data).returncode == 0
    n = len(data)
    for off, length, want in [
        (0, 10, data[:10]),
        (5, 1, data[5:6]),
        (1000, 0, data[1000:]),          # to the end
        (n - 3, 10, data[n - 3:]),       # partly past the end
        (n, 5, b""),                     # at the end
        (n + 100, 0, b""),               # far past it
        (0, n + 1000, data),             # longer than the object
        (2**64 - 10, 100, b""),          # a range that would wrap
    ]:
        got, total = get(tools_dir, s3, key, off, length)
        assert got == want, (off, length)
        assert total == n, (off, length)


def test_answer_bounded_by_the_buffer(tools_dir, s3):
    key = f"{s3.prefix}/big"
    assert put(tools_dir, s3, key, b"z" * 1000).returncode == 0
    r = tool(tools_dir, s3, "get", "-m", "100", s3.bucket, key)
    assert r.returncode == 1 and r.stdout == b""
    assert "larger than 100 bytes" in err_line(r)
    # A range that fits is fine.
    r = tool(tools_dir, s3, "get", "-m", "100", s3.bucket, key, "900", "100")
    assert r.returncode == 0 and r.stdout == b"z" * 100


def test_if_none_match(tools_dir, s3):
    key = f"{s3.prefix}/once"
    assert put(tools_dir, s3, key, b"first", "-n").returncode == 0
    r = put(tools_dir, s3, key, b"second", "-n")
    assert r.returncode == 4  # ML_S3_EXISTS
    assert "HTTP 412" in err_line(r)
    assert get(tools_dir, s3, key)[0] == b"first"
    # Without the condition the object is replaced.
    assert put(tools_dir, s3, key, b"third").returncode == 0
    assert get(tools_dir, s3, key)[0] == b"third"


def test_delete(tools_dir, s3):
    key = f"{s3.prefix}/gone"
    assert put(tools_dir, s3, key, b"x").returncode == 0
    assert tool(tools_dir, s3, "delete", s3.bucket, key).returncode == 0
    assert tool(tools_dir, s3, "head", s3.bucket, key).returncode == 3
    # Deleting what is not there is success (S3's rule).
    assert tool(tools_dir, s3, "delete", s3.bucket, key).returncode == 0


def test_missing_key_is_not_found(tools_dir, s3):
    r = tool(tools_dir, s3, "get", s3.bucket, f"{s3.prefix}/never")
    assert r.returncode == 3
    assert "HTTP 404 NoSuchKey" in err_line(r)
    r = tool(tools_dir, s3, "head", s3.bucket, f"{s3.prefix}/never")
    assert r.returncode == 3
    assert "HTTP 404" in err_line(r)
    r = tool(tools_dir, s3, "list", "no-such-bucket-here")
    assert r.returncode == 3
    assert "NoSuchBucket" in err_line(r)


# ---- listing ----------------------------------------------------------

# Keys that need percent-encoding in the path and, as prefixes, in the
# signed query string.
ODD_NAMES = ["a b", "a+b", "a=b", "a%20b", "a&b<c>\"'", "caf\u00e9 \u00fc",
             "\u65e5\u672c", "tilde~dot.dash-", "deep/er/key"]


def test_list_odd_keys_under_a_slash_prefix(tools_dir, s3):
    base = f"{s3.prefix}/dir/sub/"
    keys = [base + n for n in ODD_NAMES]
    for i, k in enumerate(keys):
        r = put(tools_dir, s3, k, b"x" * i)
        assert r.returncode == 0, (k, r.stderr)
        assert get(tools_dir, s3, k)[0] == b"x" * i
    # A neighbour that shares the prefix without its last '/'.
    assert put(tools_dir, s3, f"{s3.prefix}/dir/subother", b"").returncode == 0
    want = sorted(((i, k) for i, k in enumerate(keys)),
                  key=lambda e: e[1].encode("utf-8"))
    assert listing(tools_dir, s3, base) == want
    # Prefixes with characters to escape select exactly their keys.
    for part in ["a b", "a+", "a=", "a%", "a&b<", "caf\u00e9 ",
                 "\u65e5"]:
        got = [k for _, k in listing(tools_dir, s3, base + part)]
        assert got == sorted((k for k in keys if k.startswith(base + part)),
                             key=lambda k: k.encode("utf-8")), part
    # boto3 lists what we wrote, under the same names.
    page = s3.s3().list_objects_v2(Bucket=s3.bucket, Prefix=base)
    assert sorted(o["Key"] for o in page["Contents"]) == sorted(keys)


def _fill(srv: S3Server, prefix: str, n: int) -> List[str]:
    c = srv.s3()  # boto3 clients are thread-safe; moto serves in threads
    keys = [f"{prefix}{i:05d}" for i in range(n)]
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda k: c.put_object(Bucket=srv.bucket, Key=k,
                                             Body=b"ab"), keys))
    return keys


def test_list_over_1000_keys_follows_continuation(tools_dir, s3):
    keys = _fill(s3, f"{s3.prefix}/many/", 1005)
    got = listing(tools_dir, s3, f"{s3.prefix}/many/")
    assert got == [(2, k) for k in keys]  # two pages of moto's 1000


def test_list_small_pages(tools_dir, s3):
    # Tokens are opaque and may need escaping in the signed query.
    keys = _fill(s3, f"{s3.prefix}/p a+ge/", 23)
    got = listing(tools_dir, s3, f"{s3.prefix}/p a+ge/",
                  MICROLOG_S3_MAX_KEYS="5")
    assert got == [(2, k) for k in keys]
    assert listing(tools_dir, s3, f"{s3.prefix}/nothing-here/") == []


def test_threads_share_one_client(tools_dir, s3):
    # 4 threads, one ml_s3 and its pool of curl handles.
    r = tool(tools_dir, s3, "threads", s3.bucket, s3.prefix, "4", "15")
    assert r.returncode == 0, r.stderr
    assert r.stdout == b"ok 60\n"
    assert len(listing(tools_dir, s3, s3.prefix + "/")) == 60


# ---- refusals and failures -------------------------------------------

def test_wrong_secret_is_refused(tools_dir, s3):
    """Proves the server checks our signatures at all."""
    key = f"{s3.prefix}/k"
    last = s3.secret_key[-1]
    wrong = s3.secret_key[:-1] + ("B" if last == "A" else "A")
    for args in [("put", s3.bucket, key, "-"), ("get", s3.bucket, key),
                 ("list", s3.bucket, s3.prefix)]:
        r = tool(tools_dir, s3, *args, data=b"x",
                 AWS_SECRET_ACCESS_KEY=wrong)
        assert r.returncode == 1, args
        line = err_line(r)
        assert line.startswith("ml_s3_tool: HTTP 403 SignatureDoesNotMatch: "),\
            line
    r = tool(tools_dir, s3, "get", s3.bucket, key,
             AWS_ACCESS_KEY_ID="AKIAUNKNOWNKEY000000")
    assert r.returncode == 1
    assert "HTTP 403 InvalidAccessKeyId" in err_line(r)
    # HEAD answers have no body: the status alone.
    r = tool(tools_dir, s3, "head", s3.bucket, key,
             AWS_SECRET_ACCESS_KEY="wrong")
    assert r.returncode == 1
    assert "HTTP 403 Forbidden" in err_line(r)


def test_session_token_is_sent_and_signed(tools_dir, s3):
    creds = s3.session_credentials()
    key = f"{s3.prefix}/temporary"
    assert put(tools_dir, s3, key, b"t", **creds).returncode == 0
    assert get(tools_dir, s3, key, **creds)[0] == b"t"
    token = creds["AWS_SESSION_TOKEN"]
    bad = dict(creds, AWS_SESSION_TOKEN=("y" if token[0] == "x" else "x")
               + token[1:])
    r = put(tools_dir, s3, key, b"t", **bad)
    assert r.returncode == 1
    assert "InvalidToken" in err_line(r)


def test_configuration_errors(tools_dir, s3):
    r = tool(tools_dir, s3, "list", s3.bucket, AWS_ACCESS_KEY_ID="")
    assert r.returncode == 1
    assert "AWS_ACCESS_KEY_ID" in err_line(r)
    r = tool(tools_dir, s3, "list", s3.bucket,
             MICROLOG_S3_PATH_STYLE="maybe")
    assert r.returncode == 1
    assert "MICROLOG_S3_PATH_STYLE" in err_line(r)
    r = tool(tools_dir, s3, "list", "Bad_Bucket")
    assert r.returncode == 1
    assert "invalid bucket name" in err_line(r)


def test_virtual_host_style(tools_dir, s3):
    # curl resolves *.localhost to 127.0.0.1 itself, so BUCKET.localhost
    # reaches moto, which takes the bucket from the Host header.
    env = {"AWS_ENDPOINT_URL_S3": f"http://localhost:{s3.port}",
           "MICROLOG_S3_PATH_STYLE": "false"}
    key = f"{s3.prefix}/v h+"
    assert put(tools_dir, s3, key, b"virtual", **env).returncode == 0
    assert get(tools_dir, s3, key, **env)[0] == b"virtual"
    assert [k for _, k in listing(tools_dir, s3, s3.prefix, **env)] == [key]


def test_create_bucket(tools_dir, s3):
    assert tool(tools_dir, s3, "mkbucket", "second-bucket").returncode == 0
    # Already ours: success.
    assert tool(tools_dir, s3, "mkbucket", "second-bucket").returncode == 0
    names = [b["Name"] for b in s3.s3().list_buckets()["Buckets"]]
    assert "second-bucket" in names


def test_create_bucket_in_a_region(tools_dir, s3):
    # Outside us-east-1 the request carries a LocationConstraint.
    r = tool(tools_dir, s3, "mkbucket", "eu-bucket", AWS_REGION="eu-west-1")
    assert r.returncode == 0, r.stderr
    loc = s3.s3().get_bucket_location(Bucket="eu-bucket")
    assert loc["LocationConstraint"] == "eu-west-1"


def test_server_down_is_one_line_within_the_timeout(tools_dir, s3):
    port = free_port()  # nothing listens there
    t = time.monotonic()
    r = tool(tools_dir, s3, "get", s3.bucket, "k",
             AWS_ENDPOINT_URL_S3=f"http://127.0.0.1:{port}",
             MICROLOG_S3_TIMEOUT_MS="2000")
    assert time.monotonic() - t < 5
    assert r.returncode == 1
    assert f"cannot reach http://127.0.0.1:{port}/" in err_line(r)


def test_hung_server_times_out_then_recovers(tools_dir, s3_own):
    srv = s3_own
    assert put(tools_dir, srv, "k", b"v").returncode == 0
    resumer = srv.pause(4)
    t = time.monotonic()
    r = tool(tools_dir, srv, "get", srv.bucket, "k",
             MICROLOG_S3_TIMEOUT_MS="1000")
    took = time.monotonic() - t
    resumer.join()
    assert r.returncode == 1
    assert "within 1000 ms" in err_line(r)
    assert 0.9 < took < 3.5
    assert get(tools_dir, srv, "k")[0] == b"v"


def test_restart_keeps_key_and_bucket(tools_dir, s3_own):
    srv = s3_own
    key_id, port = srv.access_key, srv.port
    srv.restart(0.5)
    assert (srv.access_key, srv.port) == (key_id, port)
    assert put(tools_dir, srv, "after", b"ok").returncode == 0
    assert get(tools_dir, srv, "after")[0] == b"ok"
