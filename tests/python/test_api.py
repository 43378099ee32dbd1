"""The Python API: start/stop/enabled/is_running and the environment."""

from __future__ import annotations

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
    assert summary["complete"] is True and summary["samples"] > 50
