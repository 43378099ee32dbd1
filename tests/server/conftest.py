"""Fixtures of the server tests: a recordings folder and the real server
over it (helpers in server_util.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from server_util import Server


@pytest.fixture
def recordings(tmp_path: Path) -> Path:
    d = tmp_path / "recordings"
    d.mkdir()
    return d


@pytest.fixture
def server(recordings: Path):
    s = Server(recordings)
    yield s
    s.stop()
