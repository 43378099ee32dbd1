"""Thread names from the moment a thread starts, and the shared way
components wrap a method of a class while a recording runs.

The status thread reads the names of live threads ten times a second, which
misses most threads of a thread-per-request server. While a recording runs,
``threading.Thread.start`` is wrapped to hand the new thread's name to the
sampler as soon as the thread has its ids; the sampler keeps it for the
thread's first sample if it has none yet (or names the thread's record if
it has ended already). Renames later on are still picked up by the status
thread.
"""

from __future__ import annotations

import sys

from microlog import _microlog


class MethodHook:
    """A component that replaces ``module.cls.method`` by ``wrap(original)``
    while a recording runs, hooking the module when the program imports it
    if it has not yet, and puts the original back at stop."""

    module = cls = method = ""

    def __init__(self) -> None:
        self._original = None
        self._watcher = None

    def wrap(self, original):
        raise NotImplementedError

    def start(self, config) -> None:
        module = sys.modules.get(self.module)
        if module is not None:
            self._hook(module)
        else:
            from microlog._capture import _ImportWatcher
            self._watcher = _ImportWatcher({self.module: self._hook})
            sys.meta_path.insert(0, self._watcher)

    def _hook(self, module) -> None:
        base = getattr(module, self.cls) if self.cls else module
        original = getattr(base, self.method)
        ours = self.wrap(original)
        self._original = (base, original, ours)
        setattr(base, self.method, ours)

    def stop(self, exit_status: int) -> None:
        from microlog._capture import remove_watcher
        remove_watcher(self._watcher)
        self._watcher = None
        if self._original is not None:
            base, original, ours = self._original
            if getattr(base, self.method) is ours:
                setattr(base, self.method, original)
            self._original = None

    def forget(self) -> None:
        """In a forked child: the parent's hook is not this process's."""
        self.stop(0)


def _os_threads() -> int:
    """Threads of this process, as CPython 3.12's fork warning counts
    them (the 20th field of /proc/self/stat); 0 when unknown."""
    try:
        with open("/proc/self/stat", "rb") as f:
            stat = f.read()
        return int(stat[stat.rindex(b")") + 2:].split()[17])
    except (OSError, ValueError, IndexError):
        return 0


class ForkWarning(MethodHook):
    """From 3.12, os.fork() warns (DeprecationWarning) when the process has
    other threads, counting the kernel's: microlog's own would make every
    fork of a recorded single-threaded program warn, which it would not do
    unrecorded. While recording, the warning is left out when microlog's
    threads are the only others."""

    module, cls, method = "os", "", "fork"

    def start(self, config) -> None:
        if sys.version_info >= (3, 12):
            super().start(config)

    def wrap(self, original):
        def fork():
            import warnings
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                pid = original()
            if pid == 0 or not caught:
                return pid
            metrics = sys.modules.get("microlog._metrics")
            own = _microlog.native_threads() + (
                1 if metrics is not None and metrics.sampling() else 0)
            theirs = _os_threads() - own > 1
            caller = sys._getframe(1)
            for w in caught:
                fork_warning = w.category is DeprecationWarning \
                    and "is multi-threaded" in str(w.message)
                if fork_warning and not theirs:
                    continue  # only microlog's threads: not the program's
                # Again, as the program's own call would have warned.
                where = (caller.f_code.co_filename, caller.f_lineno) \
                    if fork_warning else (w.filename, w.lineno)
                warnings.warn_explicit(
                    w.message, w.category, *where,
                    module=caller.f_globals.get("__name__"),
                    registry=caller.f_globals.setdefault(
                        "__warningregistry__", {}))
            return pid

        return fork


class ThreadNames(MethodHook):
    """The component that names threads as they start."""

    module, cls, method = "threading", "Thread", "start"

    def wrap(self, original):
        started = _microlog.thread_started

        def start(thread):
            original(thread)
            # Started means running with its ids set (start() waits for
            # that); it may have ended already, and still gets its name.
            ident, native = thread.ident, getattr(thread, "native_id", 0)
            if ident is not None:
                started(ident, native or 0, thread.name)

        return start
