"""pytest fixtures of a real PostgreSQL for the store's tests, to import
from a conftest.py (`from pg_fixtures import *`):

- pg_server: one server for the session (tests must not restart it);
- pg_uri: the URI of a new empty database on it, per test;
- pg_own_server: a server of the test's own, which it may restart or
  crash (PgServer in pg_server.py);
- catalog_tool: the path of the built ml_catalog_tool;
- catalog: a CatalogTool, one long-lived `ml_catalog_tool URI repl`
  process on pg_uri (one catalog handle, so its pool's reconnection is
  what a test of a restart exercises).
"""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from pathlib import Path
from typing import Any, Iterator

import pytest

from pg_server import PgServer

ROOT = Path(__file__).resolve().parents[2]

__all__ = [
    "CatalogTool",
    "catalog",
    "catalog_tool",
    "pg_own_server",
    "pg_server",
    "pg_uri",
]


def tool_path() -> Path:
    """$ML_CATALOG_TOOL, or ml_catalog_tool in $BUILD (build/)."""
    env = os.environ.get("ML_CATALOG_TOOL")
    if env:
        return Path(env)
    build = Path(os.environ.get("BUILD", "build"))
    if not build.is_absolute():
        build = ROOT / build
    return build / "tests" / "tools" / "ml_catalog_tool"


class CatalogTool:
    """ml_catalog_tool on one database: run() starts a process per
    command; call() sends the command to a long-lived repl process."""

    def __init__(self, path: Path, uri: str) -> None:
        self.path = path
        self.uri = uri
        self.proc: subprocess.Popen[str] | None = None

    def run(self, *args: str, timeout: float = 120) -> Any:
        r = subprocess.run(
            [str(self.path), self.uri, *args],
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        out = r.stdout.strip().splitlines()
        assert out, f"no output from {args}: {r.stderr}"
        return json.loads(out[-1])

    def call(self, *args: str) -> Any:
        if self.proc is None:
            self.proc = subprocess.Popen(
                [str(self.path), self.uri, "repl"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
        assert self.proc.stdin and self.proc.stdout
        self.proc.stdin.write(json.dumps(list(args)) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        assert line, f"ml_catalog_tool repl ended on {args}"
        return json.loads(line)

    def ok(self, *args: str) -> Any:
        """call() that must not fail."""
        out = self.call(*args)
        assert not (isinstance(out, dict) and "error" in out), out
        return out

    def close(self) -> None:
        if self.proc is not None:
            assert self.proc.stdin
            self.proc.stdin.close()
            rc = self.proc.wait(timeout=30)
            self.proc = None
            # A sanitizer's report (leak, race) makes it non-zero.
            assert rc == 0, f"ml_catalog_tool repl exited with {rc}"


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    with PgServer() as pg:
        yield pg


@pytest.fixture
def pg_uri(pg_server: PgServer) -> str:
    return pg_server.create_database("t" + uuid.uuid4().hex[:12])


@pytest.fixture
def pg_own_server() -> Iterator[PgServer]:
    with PgServer() as pg:
        yield pg


@pytest.fixture(scope="session")
def catalog_tool() -> Path:
    path = tool_path()
    if not path.exists():
        pytest.fail(f"{path} is not built (make build)")
    return path


@pytest.fixture
def catalog(catalog_tool: Path, pg_uri: str) -> Iterator[CatalogTool]:
    t = CatalogTool(catalog_tool, pg_uri)
    yield t
    t.close()
