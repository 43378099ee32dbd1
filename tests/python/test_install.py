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

    # 3.0: definitions without ids, META keys as codes (docs/FORMAT.md).
    major, minor = _microlog.FORMAT_VERSION
    assert (major, minor) == (3, 0)
    assert microlog.FORMAT_VERSION == (major, minor)


def test_extension_reimport_is_isolated() -> None:
    # Multi-phase init: importing the extension again makes a new module
    # object with its own state (a single-phase module would come back as
    # the same cached copy).
    code = (
        "import importlib, sys\n"
        "import microlog._microlog as a\n"
        "del sys.modules['microlog._microlog']\n"
        "b = importlib.import_module('microlog._microlog')\n"
        "assert a is not b, 'the same module object came back'\n"
        "assert a.FORMAT_VERSION == b.FORMAT_VERSION\n"
        "assert b.is_running() is False\n"
        "print(b.FORMAT_VERSION)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True,
                         text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == str(microlog.FORMAT_VERSION)


def test_cli_installed_next_to_python() -> None:
    bindir = os.path.dirname(sys.executable)
    exe = os.path.join(bindir, "microlog")
    if not os.path.exists(exe) and shutil.which("microlog") is None:
        import pytest

        pytest.skip("src/cli not written yet: no microlog executable")
    assert os.access(exe, os.X_OK)
