"""Output capture: everything written to sys.stdout and sys.stderr, every
``logging`` record the program's logger levels let through (or down to
MICROLOG_LOG_LEVEL), ``warnings``, and uncaught exceptions become log
entries with the stack that produced them. The program's own output is
untouched (the same bytes reach the same streams), and stop() takes every
hook away again.

Modules that are not imported yet when recording starts (logging,
threading) are hooked when the program imports them, so that recording does
not import them itself.
"""

from __future__ import annotations

import sys
import _thread

from microlog import _microlog

DEBUG, INFO, WARNING, ERROR, CRITICAL = 10, 20, 30, 40, 50

# Text written without a newline is held back at most this long (per
# thread) before it becomes an entry of its own.
PARTIAL_MAX = 64 * 1024

# microlog's own Python threads (the metrics sampler): what they write or
# log is not the program's.
_internal: set = set()


def ignore_current_thread() -> None:
    """Leaves the calling thread's output and logging out of the log."""
    _internal.add(_thread.get_ident())
    _quiet.add(_thread.get_ident())


def release_current_thread() -> None:
    """Undoes ignore_current_thread() (its ident may be reused)."""
    _internal.discard(_thread.get_ident())
    _quiet.discard(_thread.get_ident())


# Threads currently inside a hook that writes to a captured stream itself
# (a logging handler, the warnings printer, the excepthook): their stream
# output is already captured as what it is, not as plain stderr text.
_quiet: set = set()


def _log(level: int, source: int, text: str, frame) -> None:
    _microlog.log(level, source, text, frame)


def _outside(frame, modules: tuple):
    """The first frame, from frame outwards, not in one of the modules."""
    while frame is not None and frame.f_globals.get(
            "__name__", "").startswith(modules):
        frame = frame.f_back
    return frame


class _Quiet:
    """Within it, this thread's writes to the captured streams are not
    recorded again."""

    __slots__ = ("ident",)

    def __enter__(self) -> None:
        self.ident = _thread.get_ident()
        _quiet.add(self.ident)

    def __exit__(self, *exc) -> None:
        if self.ident not in _internal:
            _quiet.discard(self.ident)


class CapturedStream:
    """Stands in for sys.stdout or sys.stderr: forwards every call to the
    stream it replaced and records whole lines, per thread, in order."""

    def __init__(self, target, source: int, level: int) -> None:
        self._target = target
        self._source = source
        self._level = level
        # thread ident -> the pieces of text written since its last
        # newline, and their total length
        self._partial: dict = {}
        self._partial_len: dict = {}
        self.active = True

    def write(self, text):
        written = self._target.write(text)
        if self.active and type(text) is str:
            ident = _thread.get_ident()
            if ident not in _quiet:
                self._record(ident, text)
        return written

    def writelines(self, lines) -> None:
        for line in lines:
            self.write(line)

    def _record(self, ident: int, text: str) -> None:
        """One entry per line-ending write: print("a\nb") is one entry,
        as is a line built from several writes. The pieces of a line are
        kept in a list and joined once, so a progress bar redrawn with
        '\r' thousands of times costs linear time, not quadratic. Called
        from write() only: the entry's stack is write()'s caller's, taken
        only when an entry is made."""
        parts = self._partial.get(ident)
        if text.endswith("\n"):
            if parts is not None:
                del self._partial[ident]
                parts.append(text)
                text = "".join(parts)
            _log(self._level, self._source, text[:-1], sys._getframe(2))
            return
        if parts is None:
            if len(text) < PARTIAL_MAX:
                self._partial[ident] = [text]
                self._partial_len[ident] = len(text)
                return
        else:
            parts.append(text)
            n = self._partial_len[ident] + len(text)
            if n < PARTIAL_MAX:
                self._partial_len[ident] = n
                return
            del self._partial[ident]
            text = "".join(parts)
        _log(self._level, self._source, text, sys._getframe(2))

    def flush_partial(self) -> None:
        """Records text still waiting for its newline."""
        partial = self._partial
        self.drop_partial()
        for parts in partial.values():
            text = "".join(parts)
            if text:
                _log(self._level, self._source, text, None)

    def drop_partial(self) -> None:
        """Forgets text still waiting for its newline."""
        self._partial = {}
        self._partial_len = {}

    def __getattr__(self, name):
        return getattr(self._target, name)

    def __iter__(self):
        return iter(self._target)


class _ImportWatcher:
    """A meta-path entry that hooks a module right after the program
    imports it."""

    def __init__(self, hooks: dict) -> None:
        self.hooks = hooks  # module name -> function(module)
        self._busy: set = set()

    def find_spec(self, name, path=None, target=None):
        if name not in self.hooks or name in self._busy:
            return None
        self._busy.add(name)
        try:
            for finder in sys.meta_path:
                if finder is self or not hasattr(finder, "find_spec"):
                    continue
                spec = finder.find_spec(name, path, target)
                if spec is not None and spec.loader is not None:
                    spec.loader = _HookedLoader(spec.loader,
                                                self.hooks[name])
                    return spec
            return None
        finally:
            self._busy.discard(name)


def remove_watcher(watcher) -> None:
    """Takes an _ImportWatcher (or None) off sys.meta_path."""
    if watcher is not None:
        try:
            sys.meta_path.remove(watcher)
        except ValueError:
            pass


class _HookedLoader:
    def __init__(self, loader, hook) -> None:
        self._loader = loader
        self._hook = hook

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module) -> None:
        self._loader.exec_module(module)
        self._hook(module)

    def __getattr__(self, name):
        return getattr(self._loader, name)


class Capture:
    """The capture component of a recording (see _recording.register)."""

    def __init__(self) -> None:
        self._streams: list = []
        self._restore: list = []  # (object, attribute, ours, original)
        self._watcher = None
        self._log_level = None  # MICROLOG_LOG_LEVEL

    # -- start ------------------------------------------------------------

    def start(self, config) -> None:
        self._log_level = config.log_level
        self._replace_stream("stdout", _microlog.LOG_STDOUT, INFO)
        self._replace_stream("stderr", _microlog.LOG_STDERR, WARNING)
        self._patch(sys, "excepthook", self._excepthook)
        hooks = {"logging": self._hook_logging,
                 "threading": self._hook_threading,
                 "warnings": self._hook_warnings}
        waiting = {}
        for name, hook in hooks.items():
            module = sys.modules.get(name)
            if module is not None:
                hook(module)
            else:
                waiting[name] = hook
        if waiting:
            self._watcher = _ImportWatcher(waiting)
            sys.meta_path.insert(0, self._watcher)

    def _replace_stream(self, name: str, source: int, level: int) -> None:
        target = getattr(sys, name)
        if target is None:
            return
        stream = CapturedStream(target, source, level)
        self._streams.append(stream)
        self._patch(sys, name, stream)

    def _patch(self, obj, attr: str, ours) -> None:
        original = getattr(obj, attr)
        setattr(obj, attr, ours)
        self._restore.append((obj, attr, ours, original))

    # -- hooks ------------------------------------------------------------

    def _excepthook(self, exc_type, value, tb) -> None:
        original = self._original(sys, "excepthook")
        self._record_exception(exc_type, value, tb, "")
        with _Quiet():
            original(exc_type, value, tb)

    def _hook_threading(self, threading) -> None:
        original = threading.excepthook

        def excepthook(args) -> None:
            name = args.thread.name if args.thread is not None else "?"
            self._record_exception(args.exc_type, args.exc_value,
                                   args.exc_traceback,
                                   f"in thread {name}: ")
            with _Quiet():
                original(args)

        self._patch(threading, "excepthook", excepthook)

    def _record_exception(self, exc_type, value, tb, prefix: str) -> None:
        import traceback
        text = "".join(traceback.format_exception(exc_type, value, tb))
        frame = None
        while tb is not None:  # the innermost frame: where it was raised
            frame, tb = tb.tb_frame, tb.tb_next
        _log(ERROR, _microlog.LOG_EXCEPTION, prefix + text.rstrip("\n"),
             frame)

    def _hook_warnings(self, warnings) -> None:
        original = warnings.showwarning

        def showwarning(message, category, filename, lineno, file=None,
                        line=None):
            frame = _outside(sys._getframe(1), ("warnings",))
            _log(WARNING, _microlog.LOG_WARNINGS,
                 f"{category.__name__}: {message} ({filename}:{lineno})",
                 frame)
            with _Quiet():
                original(message, category, filename, lineno, file, line)

        self._patch(warnings, "showwarning", showwarning)

    def _hook_logging(self, logging) -> None:
        """Records what the program's logger levels let through, at no
        cost to the calls they filter out (Logger.isEnabledFor and its
        cache stay the program's). With MICROLOG_LOG_LEVEL, records at or
        above that level are made and recorded too; the program's handlers
        still see exactly the records its levels let through."""
        logger_class = logging.Logger
        handle = logger_class.handle
        internal = _internal
        get_ident = _thread.get_ident
        record_logging = self._record_logging
        quiet = _Quiet

        minimum = self._log_level
        enabled_for = logger_class.isEnabledFor

        def handle_record(logger, record):
            if get_ident() not in internal and \
                    not getattr(record, "_microlog_seen", False):
                record._microlog_seen = True
                record_logging(record)
            if minimum is None or enabled_for(logger, record.levelno):
                with quiet():
                    handle(logger, record)

        if minimum is not None:
            manager = logging.Logger.manager

            def is_enabled_for(logger, level):
                if level >= minimum:
                    return level > manager.disable
                return enabled_for(logger, level)

            self._patch(logger_class, "isEnabledFor", is_enabled_for)
        self._patch(logger_class, "handle", handle_record)

    def _record_logging(self, record) -> None:
        try:
            text = record.getMessage()
        except Exception as e:  # the program's own format error
            text = f"{record.msg!r} % {record.args!r} ({e})"
        if record.name != "root":
            text = f"{record.name}: {text}"
        if record.exc_info and record.exc_info[0] is not None:
            import traceback
            text += "\n" + "".join(
                traceback.format_exception(*record.exc_info)).rstrip("\n")
        frame = _outside(sys._getframe(2), ("logging", "microlog"))
        _log(record.levelno, _microlog.LOG_LOGGING, text, frame)

    # -- stop -------------------------------------------------------------

    def _original(self, obj, attr: str):
        for o, a, _, original in self._restore:
            if o is obj and a == attr:
                return original
        return getattr(obj, attr)

    def forget(self) -> None:
        """In a forked child: takes the hooks away, records nothing."""
        for stream in self._streams:
            stream.drop_partial()
        self.stop(0)

    def stop(self, exit_status: int) -> None:
        remove_watcher(self._watcher)
        self._watcher = None
        for stream in self._streams:
            stream.flush_partial()
            stream.active = False  # if the program wrapped it, it stays
        for obj, attr, ours, original in reversed(self._restore):
            if getattr(obj, attr, None) is ours:
                setattr(obj, attr, original)
        self._streams.clear()
        self._restore.clear()


def api_log(level: int, args: tuple) -> None:
    """microlog.info() and friends: text is the arguments joined by spaces
    (Markdown is fine; the viewer renders it safely)."""
    text = " ".join(str(a) for a in args)
    _microlog.log(level, _microlog.LOG_API, text, sys._getframe(2))
