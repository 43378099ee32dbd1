"""multiprocessing children record their own runs, linked to the parent's.

While a recording runs, every ``multiprocessing`` Process started (directly
or by a Pool) gets its target wrapped in a picklable ``ChildRun`` that starts
a recording in the child (same label, META ``parent_run`` = the parent's
recording) and stops it when the target returns. This works with the fork,
spawn and forkserver start methods. A bare ``os.fork()`` child runs
unrecorded. Children print the box at their end when the parent does (an
auto-recorded parent, docs/INSTALL-HOOK.md, is quiet).

A child's file holds its metadata from the start (written at once), so a
child killed at any moment is a readable run linked to its parent's. A
child terminated by SIGTERM (a ``Pool``'s workers at the end of its
``with`` block, ``Process.terminate()``) first ends its run with what it
recorded, exit status -15 as ``Process.exitcode`` says it, then dies of the
signal as it would unrecorded (``_microlog.end_on_term``). Where the
program has a SIGTERM handler of its own, or ignores it, that decides; a
handler that exits ends the run as any exit does.
"""

from __future__ import annotations

import sys

from microlog import _microlog, _recording
from microlog._threads import MethodHook


class ChildRun:
    """The target of a child process, recorded. Pickled by reference."""

    def __init__(self, target, label: str, parent: str,
                 quiet: bool = False) -> None:
        self.target = target
        self.label = label
        self.parent = parent
        self.quiet = quiet

    def __call__(self, *args, **kwargs):
        _recording.forget_inherited()
        _recording.parent_run = self.parent
        started = _recording.start(self.label,
                                   quiet=self.quiet) is not None
        if started:
            _microlog.end_on_term()
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


class ChildRuns(MethodHook):
    """The component that wraps Process targets while recording."""

    module, cls, method = "multiprocessing.process", "BaseProcess", "start"

    def __init__(self) -> None:
        super().__init__()
        self._label = ""
        self._path = ""
        self._quiet = False

    def start(self, config) -> None:
        active = _recording._active
        self._label, self._path = active.label, active.path
        self._quiet = active.config.quiet
        super().start(config)

    def wrap(self, original):
        runs = self

        def start(process):
            target = getattr(process, "_target", None)
            if target is not None and not isinstance(target, ChildRun) \
                    and runs._original is not None:
                process._target = ChildRun(target, runs._label, runs._path,
                                           runs._quiet)
            return original(process)

        return start
