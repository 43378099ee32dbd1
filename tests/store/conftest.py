"""Fixtures of the central store's tests (tests/store).

How to run: `make test` runs them in its `store` stage; by hand, after
`make` (which builds build/tests/tools and puts moto into .venv):

    .venv/bin/python -m pytest -q tests/store
    ML_TOOLS_DIR=build-asan/tests/tools .venv/bin/python -m pytest tests/store

Fixtures:
  s3_server  (session) the shared moto server (s3_server.S3Server): one
             signature-checking S3 endpoint with a user, key and bucket
  s3         (function) the same server: .endpoint, .bucket, .access_key,
             .secret_key, .env() for ml_s3_config_from_env, .s3() a boto3
             client; plus .prefix, a key prefix of the test's own
  s3_own     (function) a server of the test's own, for tests that stop,
             pause or restart it
  tools_dir  the built test tools (ML_TOOLS_DIR, default build/tests/tools)
  PostgreSQL fixtures come from pg_fixtures.py (a real server in a
  temporary folder).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

try:
    from s3_server import S3Server
except ImportError as e:  # moto or boto3 missing from the venv
    raise pytest.UsageError(
        f"the store tests need moto and boto3 ({e}): run make venv, which "
        f"installs tests/store/requirements.txt") from e

from pg_fixtures import *  # noqa: F401,F403,E402

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def tools_dir() -> Path:
    d = Path(os.environ.get("ML_TOOLS_DIR", REPO / "build" / "tests" /
                            "tools"))
    if not (d / "ml_s3_tool").exists():
        pytest.fail(f"{d}/ml_s3_tool is not built (make build)")
    return d


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory):
    srv = S3Server(tmp_path_factory.mktemp("moto")).start()
    yield srv
    srv.stop()


@pytest.fixture
def s3(s3_server: S3Server, request) -> S3Server:
    # A prefix per test, so tests sharing the bucket never see each
    # other's keys.
    s3_server.prefix = re.sub(r"[^A-Za-z0-9_.-]", "_", request.node.name)
    return s3_server


@pytest.fixture
def s3_own(tmp_path: Path):
    srv = S3Server(tmp_path / "moto").start()
    srv.prefix = "own"
    yield srv
    srv.stop()
