"""Shared fixtures: run Python programs under microlog exactly as a user
would (a subprocess of the interpreter that runs the tests, with the package
installed in its environment) and read recordings back with the
``microlog`` command."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Dict, List, Optional

import pytest

TIMEOUT = 120


def microlog_bin() -> str:
    """The CLI installed next to this interpreter (or MICROLOG_BIN)."""
    explicit = os.environ.get("MICROLOG_BIN")
    if explicit:
        return explicit
    beside = Path(sys.executable).parent / "microlog"
    if beside.exists():
        return str(beside)
    found = shutil.which("microlog")
    if found is None:
        pytest.skip("the microlog command is not installed")
    return found


class Runner:
    """Runs scripts in a scratch directory with recordings kept apart."""

    def __init__(self, tmp: Path):
        self.tmp = tmp
        self.rec_dir = tmp / "recordings"

    def env(self, **extra: str) -> Dict[str, str]:
        env = dict(os.environ)
        for key in list(env):
            if key.startswith("MICROLOG_"):
                del env[key]
        env["MICROLOG_DIR"] = str(self.rec_dir)
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        env.update(extra)
        return env

    def script(self, name: str, source: str) -> Path:
        path = self.tmp / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(source))
        return path

    def python(self, args: List[str], env: Optional[Dict[str, str]] = None,
               timeout: float = TIMEOUT,
               cwd: Optional[Path] = None) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, *args], cwd=cwd or self.tmp,
            env=env if env is not None else self.env(),
            capture_output=True, timeout=timeout)

    def recordings(self, label: Optional[str] = None) -> List[Path]:
        root = self.rec_dir / label if label else self.rec_dir
        return sorted(root.rglob("*.mlog"), key=lambda p: p.stat().st_mtime)

    def only_recording(self, label: str) -> Path:
        found = self.recordings(label)
        assert len(found) == 1, found
        return found[0]

    def dump(self, path: Path, kind: str = "") -> List[dict]:
        """Every record of a recording (microlog dump), optionally of one
        kind."""
        args = [microlog_bin(), "dump", str(path)]
        if kind:
            args[2:2] = ["--kind", kind]
        out = subprocess.run(args, capture_output=True, timeout=TIMEOUT)
        assert out.returncode == 0, out.stderr.decode()
        return [json.loads(line) for line in out.stdout.splitlines()]

    def show(self, path: Path) -> dict:
        out = subprocess.run([microlog_bin(), "show", "--json", str(path)],
                             capture_output=True, timeout=TIMEOUT)
        assert out.returncode == 0, out.stderr.decode()
        return json.loads(out.stdout)


@pytest.fixture
def runner(tmp_path: Path) -> Runner:
    return Runner(tmp_path)


def function(summary: dict, name: str) -> dict:
    """The functions entry called name (summed if several files have it)."""
    found = [f for f in summary["functions"] if f["name"] == name]
    assert found, f"{name} not in {[f['name'] for f in summary['functions']]}"
    return {"self": sum(f["self"] for f in found),
            "total": sum(f["total"] for f in found),
            "file": found[0]["file"]}


def thread(summary: dict, name: str) -> dict:
    found = [t for t in summary["threads"] if t["name"] == name]
    assert found, f"no thread {name} in {summary['threads']}"
    return found[0]
