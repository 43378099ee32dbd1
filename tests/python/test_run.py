"""`python -m microlog LABEL ...` runs a program exactly as plain
`python` would, while recording it."""

from __future__ import annotations

import sys

from conftest import Runner

PROGRAM = """
    import os, sys
    print("argv", sys.argv)
    print("main", __name__, __file__ if "__file__" in dir() else None)
    print("path0", sys.path[0])
    sys.stdout.write("no newline")
    sys.stderr.write("to stderr\\n")
    code = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    if code == 99:
        raise ValueError("boom")
    sys.exit(code)
"""


def _plain_and_recorded(runner: Runner, args, cwd=None):
    plain = runner.python(args, cwd=cwd)
    recorded = runner.python(["-m", "microlog", "lbl", *args], cwd=cwd,
                             env=runner.env(MICROLOG_QUIET="true"))
    return plain, recorded


def test_script_behaves_as_plain_python(runner: Runner):
    script = runner.script("sub/prog.py", PROGRAM)
    for code in ("0", "3"):
        plain, rec = _plain_and_recorded(runner, [str(script), code, "x y"])
        assert rec.returncode == plain.returncode == int(code)
        assert rec.stdout == plain.stdout
        assert rec.stderr == plain.stderr
    assert len(runner.recordings("lbl")) == 2


def test_uncaught_exception_output_matches(runner: Runner):
    script = runner.script("prog.py", PROGRAM)
    plain, rec = _plain_and_recorded(runner, [str(script), "99"])
    assert plain.returncode == rec.returncode == 1
    assert rec.stderr == plain.stderr
    assert b"ValueError: boom" in rec.stderr
    assert b"microlog" not in rec.stderr


def test_module_form(runner: Runner):
    runner.script("pkg_mod/__init__.py", "")
    runner.script("pkg_mod/tool.py", PROGRAM)
    plain, rec = _plain_and_recorded(runner, ["-m", "pkg_mod.tool", "4"])
    assert rec.returncode == plain.returncode == 4
    assert rec.stdout == plain.stdout
    assert rec.stderr == plain.stderr


def test_box_printed_at_end(runner: Runner):
    script = runner.script("p.py", "print('hi')")
    out = runner.python(["-m", "microlog", "boxed", str(script)])
    assert out.returncode == 0
    err = out.stderr.decode()
    lines = err.splitlines()
    assert lines[0].startswith("┏") and lines[2].startswith("┗")
    assert "boxed" in lines[1] and " s, " in lines[1]
    assert "http://127.0.0.1:7777/#run=boxed/" in lines[1]
    assert runner.only_recording("boxed").stem in lines[1]


def test_usage_errors(runner: Runner):
    out = runner.python(["-m", "microlog"])
    assert out.returncode == 2 and b"usage:" in out.stderr
    out = runner.python(["-m", "microlog", "lbl", "missing.py"])
    assert out.returncode == 2 and b"No such file" in out.stderr
    out = runner.python(["-m", "microlog", "--help"])
    assert out.returncode == 0 and b"MICROLOG_DIR" in out.stdout


def test_bad_environment_is_a_clear_error(runner: Runner):
    script = runner.script("p.py", "print('hi')")
    for var, value in (("MICROLOG_SAMPLE_DELAY", "fast"),
                       ("MICROLOG_STATUS_DELAY", "-1"),
                       ("MICROLOG_MEMORY_DELAY", "nan"),
                       ("MICROLOG_DISABLE", "maybe")):
        out = runner.python(["-m", "microlog", "x", str(script)],
                            env=runner.env(**{var: value}))
        assert out.returncode == 2, (var, out)
        assert var.encode() in out.stderr
        assert b"Traceback" not in out.stderr
        assert out.stdout == b""


def test_disable_runs_without_recording(runner: Runner):
    script = runner.script("p.py", "print('hi')")
    out = runner.python(["-m", "microlog", "off", str(script)],
                        env=runner.env(MICROLOG_DISABLE="true"))
    assert out.returncode == 0 and out.stdout == b"hi\n"
    assert out.stderr == b""
    assert runner.recordings() == []


def test_program_stacks_start_at_the_script(runner: Runner):
    script = runner.script("p.py", """
        import time
        def spin():
            end = time.perf_counter() + 0.4
            while time.perf_counter() < end:
                pass
        spin()
    """)
    out = runner.python(["-m", "microlog", "roots", str(script)])
    assert out.returncode == 0, out.stderr
    summary = runner.show(runner.only_recording("roots"))
    names = {f["name"] for f in summary["functions"] if f["self"] > 0}
    assert "spin" in names
    launcher = [f for f in summary["functions"]
                if "runpy" in f["file"] or f["file"].endswith("__main__.py")]
    assert all(f["total"] <= 0.05 * summary["samples"] for f in launcher)
    assert summary["meta"]["python"] == ".".join(
        map(str, sys.version_info[:3]))
