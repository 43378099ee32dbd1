"""The Python API: start/stop/enabled/is_running and the environment."""

from __future__ import annotations

import pytest

from conftest import Runner


def test_enabled_start_stop_is_running(runner: Runner):
    script = runner.script("p.py", """
        import microlog, time
        assert not microlog.is_running()
        with microlog.enabled("ctx") as path:
            assert microlog.is_running()
            time.sleep(0.05)
        assert not microlog.is_running()
        assert microlog.stop() is None
        p1 = microlog.start("manual")
        time.sleep(0.05)
        r1 = microlog.stop()
        p2 = microlog.start("manual")
        r2 = microlog.stop()
        assert p1 != p2 and r1.path == p1 and r2.path == p2
        assert r1.samples > 0 and r1.bytes > 0 and r1.sampler in (
            "native", "fallback")
        print(path, r1.url)
    """)
    out = runner.python([str(script)], env=runner.env(MICROLOG_QUIET="1"))
    assert out.returncode == 0, out.stderr.decode()
    assert len(runner.recordings("ctx")) == 1
    assert len(runner.recordings("manual")) == 2
    for path in runner.recordings():
        summary = runner.show(path)
        assert summary["complete"] is True


def test_start_twice_is_an_error(runner: Runner):
    script = runner.script("p.py", """
        import microlog
        microlog.start("a")
        try:
            microlog.start("b")
        except RuntimeError as e:
            print("refused:", e)
        microlog.stop()
    """)
    out = runner.python([str(script)], env=runner.env(MICROLOG_QUIET="1"))
    assert out.returncode == 0, out.stderr.decode()
    assert b"refused: microlog: already recording" in out.stdout


def test_disabled_api_is_a_no_op(runner: Runner):
    script = runner.script("p.py", """
        import microlog
        with microlog.enabled("x") as path:
            assert path is None
            assert not microlog.is_running()
        assert microlog.start("y") is None
        assert microlog.stop() is None
    """)
    out = runner.python([str(script)],
                        env=runner.env(MICROLOG_DISABLE="TRUE"))
    assert out.returncode == 0, out.stderr.decode()
    assert runner.recordings() == []


def test_bad_setting_raises_config_error(runner: Runner):
    script = runner.script("p.py", """
        import microlog
        try:
            microlog.start("x")
        except microlog.ConfigError as e:
            print(e)
    """)
    out = runner.python([str(script)],
                        env=runner.env(MICROLOG_SAMPLE_DELAY="0"))
    assert out.returncode == 0, out.stderr.decode()
    assert b"MICROLOG_SAMPLE_DELAY='0'" in out.stdout


def test_unique_names_in_the_same_second(runner: Runner):
    script = runner.script("p.py", """
        import microlog
        for _ in range(5):
            microlog.start("same")
            microlog.stop()
    """)
    out = runner.python([str(script)], env=runner.env(MICROLOG_QUIET="1"))
    assert out.returncode == 0, out.stderr.decode()
    assert len(runner.recordings("same")) == 5


def test_label_is_a_safe_directory(runner: Runner):
    script = runner.script("p.py", """
        import microlog
        microlog.start("../../etc/evil label")
        microlog.stop()
    """)
    out = runner.python([str(script)], env=runner.env(MICROLOG_QUIET="1"))
    assert out.returncode == 0, out.stderr.decode()
    [path] = runner.recordings()
    assert runner.rec_dir in path.parents
    assert runner.show(path)["label"] == "../../etc/evil label"


def test_stop_at_exit_without_stop(runner: Runner):
    script = runner.script("p.py", """
        import microlog, threading, time
        microlog.start("atexit")
        def forever():
            while True:
                time.sleep(0.001)
        threading.Thread(target=forever, daemon=True).start()
        time.sleep(0.1)
    """)
    out = runner.python([str(script)], env=runner.env(MICROLOG_QUIET="1"))
    assert out.returncode == 0, out.stderr.decode()
    summary = runner.show(runner.only_recording("atexit"))
    # Recorded to the end, whatever the rate a loaded machine allows.
    assert summary["complete"] is True and summary["samples"] > 0


def test_full_disk_leaves_the_program_unharmed(runner: Runner):
    # A file-size limit makes microlog's writes fail (EFBIG) as a full disk
    # would (ENOSPC): the program runs to its end with its own output and
    # exit status, one message says the recording stopped, and the file
    # keeps what was written before. The program's own threads must not
    # get SIGXFSZ for microlog's writes.
    import resource
    import subprocess
    import sys
    script = runner.script("p.py", """
        import sys, threading, time
        def busy():
            end = time.perf_counter() + 1.5
            n = 0
            while time.perf_counter() < end:
                print("line", n, "x" * 200)
                n += 1
        t = threading.Thread(target=busy); t.start(); t.join()
        print("done", file=sys.stderr)
        sys.exit(3)
    """)
    limit = 48 * 1024

    def small_files():
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    out = subprocess.run(
        [sys.executable, "-m", "microlog", "disk", str(script)],
        cwd=runner.tmp, env=runner.env(MICROLOG_QUIET="1"),
        capture_output=True, timeout=60, preexec_fn=small_files)
    assert out.returncode == 3, out.stderr.decode()
    lines = out.stdout.decode().splitlines()
    assert len(lines) > 1000 and lines[-1].startswith("line ")
    err = out.stderr.decode().splitlines()
    assert err[-1] == "done", err
    messages = [e for e in err if e.startswith("microlog:")]
    assert len(messages) == 1, err
    assert "File too large" in messages[0], messages
    assert "recording stopped" in messages[0], messages
    path = runner.only_recording("disk")
    assert path.stat().st_size <= limit
    summary = runner.show(path)  # readable, the end marked as lost
    assert summary["complete"] is False
    assert summary["label"] == "disk"


def test_micrologs_own_work_is_not_the_programs(runner: Runner):
    # The end-of-run reports (a walk of every object) showed as 15% of a
    # short run's running samples (Leaks.stop); they are microlog's work.
    script = runner.script("p.py", """
        import time
        keep = [[i] for i in range(300000)]  # work for the leak walk
        end = time.perf_counter() + 0.2
        while time.perf_counter() < end:
            pass
    """)
    out = runner.python(["-m", "microlog", "own", str(script)],
                        env=runner.env(MICROLOG_QUIET="1"))
    assert out.returncode == 0, out.stderr.decode()
    path = runner.only_recording("own")
    summary = runner.show(path)
    # (The launcher's join of the program's threads at exit stands for the
    # interpreter's own, and may be sampled.)
    ours = [f for f in summary["functions"]
            if "/microlog/" in f["file"] and f["total"] > 0
            and f["name"] != "_join_threads"]
    # A sample may still fall in the few bytecodes of stop() before it
    # says so: at most one or two, against 15% before.
    assert sum(f["self"] for f in ours) <= 2, ours
    spans = [s for s in runner.dump(path, "span")
             if s["name"].startswith("microlog: ")]
    assert [s["name"] for s in spans] == ["microlog: start",
                                          "microlog: end of run"], spans


def test_microlog_1_4_tracer_settings_are_aliases():
    from microlog import _config
    c = _config.from_environment({"TRACER_SAMPLE_DELAY": "0.002",
                                  "TRACER_STATUS_DELAY": "0.5",
                                  "TRACER_MEMORY_DELAY": "2"})
    assert (c.sample_delay, c.status_delay, c.memory_delay) == \
        (0.002, 0.5, 2.0)
    # The MICROLOG_* name wins; a bad alias is named in the error.
    c = _config.from_environment({"TRACER_SAMPLE_DELAY": "0.002",
                                  "MICROLOG_SAMPLE_DELAY": "0.003"})
    assert c.sample_delay == 0.003
    with pytest.raises(_config.ConfigError, match="TRACER_STATUS_DELAY"):
        _config.from_environment({"TRACER_STATUS_DELAY": "soon"})
