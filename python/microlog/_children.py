"""multiprocessing children record their own runs, linked to the parent's.

While a recording runs, every ``multiprocessing`` Process started (directly
or by a Pool) gets its target wrapped in a picklable ``ChildRun`` that starts
a recording in the child (same label, META ``parent_run`` = the parent's
recording) and stops it when the target returns. This works with the fork,
spawn and forkserver start methods. A bare ``os.fork()`` child runs
unrecorded.
"""

from __future__ import annotations

import sys

from microlog import _recording


class ChildRun:
    """The target of a child process, recorded. Pickled by reference."""

    def __init__(self, target, label: str, parent: str) -> None:
        self.target = target
        self.label = label
        self.parent = parent

    def __call__(self, *args, **kwargs):
        _recording.forget_inherited()
        _recording.parent_run = self.parent
        started = _recording.start(self.label) is not None
        status = 0
        try:
            return self.target(*args, **kwargs)
        except SystemExit as e:
            status = e.code if isinstance(e.code, int) else 1
            raise
        except BaseException:
            status = 1
            raise
        finally:
            if started:
                _recording.stop(status)


class ChildRuns:
    """The component that wraps Process targets while recording."""

    def __init__(self) -> None:
        self._original = None
        self._label = ""
        self._path = ""
        self._watcher = None

    def start(self, config) -> None:
        active = _recording._active
        self._label, self._path = active.label, active.path
        module = sys.modules.get("multiprocessing.process")
        if module is not None:
            self._hook(module)
        else:
            from microlog._capture import _ImportWatcher
            self._watcher = _ImportWatcher(
                {"multiprocessing.process": self._hook})
            sys.meta_path.insert(0, self._watcher)

    def _hook(self, module) -> None:
        base = module.BaseProcess
        original = base.start
        runs = self

        def start(process):
            target = getattr(process, "_target", None)
            if target is not None and not isinstance(target, ChildRun) \
                    and runs._original is not None:
                process._target = ChildRun(target, runs._label, runs._path)
            return original(process)

        self._original = (base, original, start)
        base.start = start

    def stop(self, exit_status: int) -> None:
        from microlog._capture import remove_watcher
        remove_watcher(self._watcher)
        self._watcher = None
        if self._original is not None:
            base, original, ours = self._original
            if base.start is ours:
                base.start = original
            self._original = None

    def forget(self) -> None:
        """In a forked child: the parent's hooks are not this process's."""
        self.stop(0)

