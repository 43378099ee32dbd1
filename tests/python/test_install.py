"""The installed package: the extension imports, the command is on PATH."""

import os
import re
import shutil
import subprocess
import sys

import microlog


def test_version() -> None:
    assert re.fullmatch(r"\d+\.\d+\.\d+", microlog.__version__)


def test_extension_format_version() -> None:
    from microlog import _microlog

    major, minor = _microlog.FORMAT_VERSION
    assert major >= 1 and minor >= 0
    assert microlog.FORMAT_VERSION == (major, minor)


def test_extension_reimport_is_isolated() -> None:
    # Multi-phase init: a fresh interpreter imports it cleanly too.
    out = subprocess.run(
        [sys.executable, "-c", "import microlog; print(microlog.FORMAT_VERSION)"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    assert out.strip() == str(microlog.FORMAT_VERSION)


def test_cli_installed_next_to_python() -> None:
    bindir = os.path.dirname(sys.executable)
    exe = os.path.join(bindir, "microlog")
    if not os.path.exists(exe) and shutil.which("microlog") is None:
        import pytest

        pytest.skip("src/cli not written yet: no microlog executable")
    assert os.access(exe, os.X_OK)
