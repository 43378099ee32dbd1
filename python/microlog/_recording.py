"""Starting and stopping recordings: where the file goes, what metadata it
carries, and the line printed when it ends. The sampling itself is C
(``microlog._microlog``). Only modules the interpreter has loaded anyway are
imported here, so that ``import microlog`` costs next to nothing."""

from __future__ import annotations

import atexit
import os
import sys
import time

from microlog import _config, _microlog

EXTENSION = ".mlog"
_SAFE = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                  "0123456789._-")
_SHELL_SAFE = _SAFE | frozenset("/=+:,@%")


class Recording:
    """What a finished recording holds, as returned by ``stop()``."""

    __slots__ = ("path", "label", "duration_s", "bytes", "samples",
                 "achieved_interval_us", "sampler", "url", "files")

    def __init__(self, path: str, label: str, figures: dict,
                 server: str) -> None:
        self.path = path
        self.label = label
        self.duration_s = figures["duration_s"]
        self.bytes = figures["bytes"]
        self.samples = figures["samples"]
        self.achieved_interval_us = figures["achieved_interval_us"]
        self.sampler = figures["sampler"]
        # how many linked files the run took (a long one rolls over)
        self.files = figures.get("files", 1)
        self.url = viewer_url(server, path)

    def __repr__(self) -> str:
        return (f"Recording(path={self.path!r}, label={self.label!r}, "
                f"duration_s={self.duration_s:.3f}, bytes={self.bytes}, "
                f"samples={self.samples}, sampler={self.sampler!r})")


class _Active:
    __slots__ = ("path", "label", "config")

    def __init__(self, path: str, label: str,
                 config: _config.Config) -> None:
        self.path = path
        self.label = label
        self.config = config


class _own_work:
    """Around microlog's own work in a program's thread (starting and
    stopping the components: the leak report walks every object): the
    thread is not sampled meanwhile, and the time shows as a span of this
    name, not in the program's profile."""

    def __init__(self, name: str, resume: bool = True) -> None:
        from microlog._timed import span
        self.span = span(name)
        self.resume = resume

    def __enter__(self) -> None:
        _microlog.ignore_thread(True)
        self.span.__enter__()

    def __exit__(self, *exc_info) -> None:
        self.span.__exit__(*exc_info)
        if self.resume:
            _microlog.ignore_thread(False)

# The recording in progress; changed only with the GIL held, by start/stop.
_active = None

# The recording this run was started from (a multiprocessing parent's).
parent_run = ""

# Parts that run alongside a recording (output capture, metrics, reports):
# objects with start(config) and stop(exit_status), started in order after
# the C recorder and stopped in reverse order before it.
_components: list = []


def register(component) -> None:
    """Adds a part that starts and stops with every recording."""
    if component not in _components:
        _components.append(component)


def _start_components(config: _config.Config) -> None:
    for component in _components:
        component.start(config)


def _stop_components(exit_status: int) -> None:
    for component in reversed(_components):
        try:
            component.stop(exit_status)
        except Exception as e:  # one part failing must not lose the rest
            sys.stderr.write(f"microlog: {type(component).__name__}: "
                             f"{e}\n")


def safe_label(label: str) -> str:
    """The label as a single safe directory name."""
    name = "".join(c if c in _SAFE else "-" for c in label)
    while "--" in name:
        name = name.replace("--", "-")
    return name.strip(".-")[:100] or "default"


def _shell_join(args) -> str:
    def quote(a: str) -> str:
        if a and all(c in _SHELL_SAFE for c in a):
            return a
        return "'" + a.replace("'", "'\"'\"'") + "'"
    return " ".join(quote(a) for a in args)


def new_path(directory: str, label: str) -> str:
    """A name no other run uses: time, then pid (then a counter)."""
    folder = os.path.join(directory, safe_label(label))
    os.makedirs(folder, exist_ok=True)
    stamp = time.strftime("%Y_%m_%d_%H_%M_%S")
    return os.path.join(folder, f"{stamp}_{os.getpid()}{EXTENSION}")


def viewer_url(server: str, path: str) -> str:
    """The link that opens this run in `microlog serve`: the run's id is
    its label folder and file name without the extension (docs/API.md)."""
    return f"{server}/#run={run_name(path)}"


def new_run_id() -> str:
    """A time-ordered UUID (version 7, RFC 9562) naming the run in the
    central store: a resent upload names the same run."""
    b = bytearray((time.time_ns() // 1_000_000).to_bytes(6, "big")
                  + os.urandom(10))
    b[6] = (b[6] & 0x0F) | 0x70
    b[8] = (b[8] & 0x3F) | 0x80
    h = b.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def run_name(path: str) -> str:
    """The run's id in the viewer: its label folder and file stem."""
    folder = os.path.basename(os.path.dirname(path))
    stem = os.path.basename(path)
    if stem.endswith(EXTENSION):
        stem = stem[:-len(EXTENSION)]
    return f"{folder}/{stem}"


def _metadata(label: str, path: str, run_id: str) -> dict:
    v = sys.version_info
    meta = {
        "run_id": run_id,
        "name": run_name(path),
        "label": label,
        "argv": _shell_join(sys.argv),
        "python": f"{v.major}.{v.minor}.{v.micro}",
        "pid": os.getpid(),
        "host": os.uname().nodename,
        "start_unix_ns": time.time_ns(),
        "cwd": os.getcwd(),
    }
    # Only a run that was started from another has it (docs/FORMAT.md).
    parent = parent_run or os.environ.get("MICROLOG_PARENT_RUN", "")
    if parent:
        meta["parent_run"] = parent
    return meta


def _main_thread_ident() -> int:
    """threading.main_thread().ident, without importing threading: if the
    program has not imported it, only the main thread runs Python code."""
    threading = sys.modules.get("threading")
    if threading is not None:
        return threading.main_thread().ident or 0
    import _thread
    return _thread.get_ident()


def _open(config: _config.Config, label: str) -> str:
    """Starts the C recorder on a fresh file; retries on a name clash."""
    base = new_path(config.directory, label)
    stem = base[:-len(EXTENSION)]
    run_id = new_run_id()
    for attempt in range(1, 1000):
        path = base if attempt == 1 else f"{stem}_{attempt}{EXTENSION}"
        try:
            _microlog.start(
                path, interval=config.sample_delay,
                status_interval=config.status_delay,
                memory_interval=config.memory_delay,
                sampler=config.sampler,
                meta=_metadata(label, path, run_id),
                main_ident=_main_thread_ident(),
                rollover_bytes=config.rollover_bytes,
                rollover_seconds=config.rollover_seconds,
                cache_entries=config.cache_entries)
            if config.send:
                _start_sending(config, path, run_id)
            return path
        except FileExistsError:
            continue
    raise FileExistsError(f"microlog: no free file name next to {base}")


def _start_sending(config: _config.Config, path: str, run_id: str) -> None:
    """The thread that streams the file to the central store; the file
    stays the source of truth, so a store that is away loses nothing."""
    from microlog import _ship  # libcurl only for programs that send
    _ship.start(
        path, server=config.servers if config.server_set else None,
        token=config.token or None, s3_root=config.s3_root or None,
        s3_region=config.s3_region or None, run_id=run_id,
        name=run_name(path), host=os.uname().nodename,
        start_us=time.time_ns() // 1000)


def _finish_sending(config: _config.Config, path: str) -> None:
    """Sends what is left of the closed file, for at most
    MICROLOG_SEND_TIMEOUT seconds; says what to do if that was not
    enough."""
    from microlog import _ship
    result = _ship.stop(config.send_timeout)
    if result is None or result[0]:
        return
    where = config.server if config.server_set else config.s3_root
    try:
        sys.stderr.write(f"microlog: not all of the run reached {where} "
                         f"({result[2]}); `microlog upload {path}` sends "
                         "the rest\n")
    except (ValueError, OSError):
        pass


def start(label: str = "default", quiet: bool | None = None):
    """Starts recording; returns the recording's path, or None when
    MICROLOG_DISABLE is set. ``quiet`` True or False says whether stop()
    prints the box, whatever MICROLOG_QUIET says."""
    global _active
    if not isinstance(label, str):
        raise TypeError(f"microlog: label must be a str, not "
                        f"{type(label).__name__}")
    config = _config.from_environment()
    if config.disabled:
        return None
    if quiet is not None:
        config.quiet = bool(quiet)
    if _active is not None or _microlog.is_running():
        where = _active.path if _active is not None else "elsewhere"
        raise RuntimeError(f"microlog: already recording {where}; call "
                           "microlog.stop() first")
    path = _open(config, label)
    _active = _Active(path, label, config)
    atexit.register(_stop_at_exit)
    _microlog.timed_new_run()  # calls begun before write no span
    try:
        with _own_work("microlog: start"):
            _start_components(config)
    except BaseException:
        stop()
        raise
    return path


def stop(exit_status: int = 0):
    """Stops the recording in progress and prints where to look at it.
    Returns a Recording, or None when nothing was recording."""
    global _active
    _microlog.ignore_thread(True)  # all that follows is microlog's work
    active, _active = _active, None
    if active is None:
        return None
    atexit.unregister(_stop_at_exit)
    try:
        if _microlog.is_running():  # not in a forked child
            # From here on this thread does microlog's work (end-of-run
            # reports can take a while): not sampled as the program's,
            # recorded as a span of microlog's own.
            with _own_work("microlog: end of run", resume=False):
                _stop_components(exit_status)
    finally:
        _microlog.timed_new_run()  # calls still going write no span
        # Whatever a component raised (KeyboardInterrupt, SystemExit), the
        # C threads stop now, before the interpreter can be torn down.
        figures = _microlog.stop(exit_status)
    if figures is None:  # a forked child: the parent owns the recording
        return None
    if active.config.send:
        _finish_sending(active.config, active.path)
    rec = Recording(active.path, active.label, figures,
                    active.config.server)
    if not active.config.quiet:
        print_box(rec)
    return rec


def forget_inherited() -> None:
    """In a forked child: drops what the parent's recording left in this
    process (its hooks, its state) without touching the parent's file. The
    C side has already let go of the file (pthread_atfork)."""
    global _active
    if _active is None or _microlog.is_running():
        return
    _active = None
    atexit.unregister(_stop_at_exit)
    for component in reversed(_components):
        forget = getattr(component, "forget", None)
        if forget is None:
            continue  # it holds nothing the child could notice
        try:
            forget()
        except Exception as e:  # the child must run on regardless
            sys.stderr.write(f"microlog: {type(component).__name__}: "
                             f"{e}\n")


os.register_at_fork(after_in_child=forget_inherited)


def is_running() -> bool:
    return _active is not None and _microlog.is_running()


def _stop_at_exit() -> None:
    stop()


def _size(n: float) -> str:
    if n < 1000:
        return f"{n:.0f} B"
    for unit in ("KB", "MB", "GB"):
        n /= 1000
        if n < 1000 or unit == "GB":
            return f"{n:.1f} {unit}"
    return f"{n:.1f} GB"


def print_box(rec: Recording) -> None:
    """One boxed line on stderr: duration, size, label and the link."""
    files = f" in {rec.files} linked files" if rec.files > 1 else ""
    text = (f"microlog: {rec.duration_s:.2f} s, {_size(rec.bytes)}{files}, "
            f"{rec.label} → {rec.url}")
    bar = "━" * (len(text) + 2)
    try:
        sys.stderr.write(f"┏{bar}┓\n┃ {text} ┃\n┗{bar}┛\n")
        sys.stderr.flush()
    except (UnicodeEncodeError, ValueError, OSError):
        pass  # stderr closed or not UTF-8: the recording is still there
