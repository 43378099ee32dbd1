"""Metrics: numbers sampled at the status rate that become series (class
metric) in the recording, next to CPU and memory.

``microlog.metric(name, fn)`` or ``@microlog.metric("name")`` registers a
zero-argument function, process-wide, for every recording (one registered
while nothing records is sampled in the next recording). Built in: live
asyncio tasks of the main thread's loop, and hits / calls in flight / mean
duration of every ``@microlog.timed`` function. A daemon thread,
"microlog-metrics", started and joined with each recording, does the
sampling; it is left out of the samples. docs/METRICS.md has the details.
"""

from __future__ import annotations

import sys
import time

from microlog import _capture, _microlog

_WARNING = 30
_CO_COROUTINE = 0x80
# A coroutine metric that has not finished by then is a failed sample.
_ASYNC_TIMEOUT_MIN = 1.0


class _Metric:
    __slots__ = ("name", "fn", "unit")

    def __init__(self, name: str, fn, unit: str) -> None:
        self.name = name
        self.fn = fn
        self.unit = unit


# name -> _Metric, for every recording of this process. Changed and read
# with the GIL held (the sampling thread copies the values).
_metrics: dict = {}


def metric(name, fn=None, *, unit: str = ""):
    """Samples ``fn()`` at the status rate (MICROLOG_STATUS_DELAY) into a
    series called ``name``::

        microlog.metric("queue", lambda: len(queue))

        @microlog.metric("connections", unit="conns")
        async def connections():
            return await pool.size()

    ``fn`` takes no arguments and returns an int or a float (or anything
    with ``__index__`` or ``__float__``); a coroutine function runs on the
    main thread's asyncio loop when one runs, else on a private loop of the
    sampling thread. Returns ``fn`` (so it works as a decorator, with or
    without a name: bare ``@microlog.metric`` uses the function's name).
    Registering a name again replaces its function.
    """
    if fn is None and callable(name) and not isinstance(name, str):
        fn, name = name, getattr(name, "__qualname__", None) or repr(name)
    if not isinstance(name, str) or not name:
        raise TypeError("microlog.metric: the name must be a non-empty str, "
                        f"not {name!r}")
    if not isinstance(unit, str):
        raise TypeError("microlog.metric: unit must be a str")
    if fn is None:
        def decorate(f):
            return metric(name, f, unit=unit)
        return decorate
    if not callable(fn):
        raise TypeError(f"microlog.metric: {fn!r} is not callable")
    _metrics[name] = _Metric(name, fn, unit)
    wake()
    return fn


# The Metrics component of the running recording, while it has no sampling
# thread yet (nothing to sample). Changed with the GIL held.
_idle = None
# The Metrics component of the running recording. Changed with the GIL.
_running = None


def sampling() -> bool:
    """Whether the "microlog-metrics" thread runs now."""
    return _running is not None and _running._thread is not None


def wake() -> None:
    """Something to sample exists now (a metric, a timed function,
    asyncio): start the sampling thread if the recording has none."""
    idle = _idle
    if idle is not None:
        idle._start_thread()


def _number(value):
    """The value as an int or a finite float, or a text saying why not."""
    t = type(value)
    if t is int:
        return value
    if t is float:
        return value if value - value == 0 else f"returned {value!r}, " \
            "not a finite number"
    try:
        if isinstance(value, (str, bytes, complex)):
            raise TypeError
        if hasattr(t, "__index__"):
            return int(value.__index__())
        if hasattr(t, "__float__"):
            return _number(float(value))
    except Exception:
        pass
    text = repr(value)
    if len(text) > 80:
        text = text[:77] + "..."
    return f"returned {text} ({t.__name__}), not a number"


class _Sampler:
    """One recording's sampling: runs in the "microlog-metrics" thread."""

    def __init__(self, delay: float, main_ident: int) -> None:
        import threading
        self.delay = delay
        self.main_ident = main_ident
        self.stopping = threading.Event()
        self.series: dict = {}    # key -> series id in this recording
        self.warned: set = set()  # names of metrics logged once already
        self.timed_base: dict = {}
        self.pending = None       # a future on the program's loop
        self.private_loop = None
        self.loop = None          # the main thread's asyncio loop, if any
        timed = sys.modules.get("microlog._timed")
        if timed is not None:
            self.timed_base = _timed_totals(timed)

    # ---- the thread --------------------------------------------------

    def run(self) -> None:
        _microlog.ignore_thread()
        _capture.ignore_current_thread()
        try:
            deadline = time.monotonic()
            while not self.stopping.is_set():
                self.tick()
                deadline += self.delay
                now = time.monotonic()
                if deadline < now:
                    deadline = now + self.delay
                if self.stopping.wait(deadline - now):
                    break
        finally:
            if self.private_loop is not None:
                self.private_loop.close()
            _capture.release_current_thread()

    def stop(self) -> None:
        self.stopping.set()
        fut = self.pending
        if fut is not None:
            fut.cancel()

    def tick(self) -> None:
        values: list = []
        for m in list(_metrics.values()):
            if self.stopping.is_set():
                return
            self.sample(m, values)
        self.sample_asyncio(values)
        self.sample_timed(values)
        try:
            _microlog.metric_values(values)
        except ValueError:
            self.stopping.set()  # the recording changed under us

    def series_id(self, key, name: str, unit: str):
        sid = self.series.get(key)
        if sid is None:
            sid = _microlog.metric_series(name, unit)
            if sid is None:  # not recording any more
                self.stopping.set()
                return None
            self.series[key] = sid
        return sid

    # ---- user metrics ------------------------------------------------

    def sample(self, m: _Metric, values: list) -> None:
        t = time.monotonic_ns()
        try:
            result = m.fn()
            if hasattr(type(result), "__await__"):
                result = self.await_result(result)
        except BaseException as e:
            if isinstance(e, (KeyboardInterrupt, SystemExit)):
                raise
            if not self.stopping.is_set():
                self.warn(m, None, e)
            return
        value = _number(result)
        if isinstance(value, str):
            self.warn(m, value, None)
            return
        sid = self.series_id(("metric", m.name), m.name, m.unit)
        if sid is not None:
            values.append((sid, value, t))

    def await_result(self, awaitable):
        """Runs a coroutine (or other awaitable) to its result."""
        import asyncio
        timeout = max(_ASYNC_TIMEOUT_MIN, 10 * self.delay)
        coro = awaitable if asyncio.iscoroutine(awaitable) \
            else _await(awaitable)
        loop = self.main_loop()
        if loop is not None:
            try:
                fut = asyncio.run_coroutine_threadsafe(coro, loop)
            except RuntimeError:  # the loop closed meanwhile
                loop = None
            else:
                self.pending = fut
                try:
                    return fut.result(timeout)
                except BaseException:
                    fut.cancel()
                    raise
                finally:
                    self.pending = None
        if self.private_loop is None:
            self.private_loop = asyncio.new_event_loop()
        return self.private_loop.run_until_complete(
            asyncio.wait_for(coro, timeout))

    def warn(self, m: _Metric, problem, error) -> None:
        if m.name in self.warned:
            return
        self.warned.add(m.name)
        where = ""
        code = getattr(m.fn, "__code__", None)
        if code is not None:
            where = f" ({code.co_filename}:{code.co_firstlineno})"
        if error is not None:
            import traceback
            if type(error).__name__ == "TimeoutError" or \
                    type(error).__name__ == "CancelledError":
                problem = "did not finish in time"
                detail = ""
            else:
                problem = f"raised {type(error).__name__}: {error}"
                detail = "\n\n```\n" + "".join(traceback.format_exception(
                    type(error), error, error.__traceback__)) + "```"
        else:
            detail = ""
        text = (f"microlog: metric `{m.name}`{where} {problem}. Samples "
                "that fail are left out of its series; this is not logged "
                "again for this metric." + detail)
        _microlog.log(_WARNING, _microlog.LOG_API, text, None)

    # ---- asyncio tasks -----------------------------------------------

    def main_loop(self):
        """The asyncio loop running in the main thread, or None. Found
        through asyncio's registry of tasks: a running loop always has a
        task (asyncio.run's main task, or any other)."""
        loop = self.loop
        if loop is not None and loop.is_running() and \
                getattr(loop, "_thread_id", None) == self.main_ident:
            return loop
        self.loop = None
        for task in _all_tasks():
            loop = task.get_loop()
            if getattr(loop, "_thread_id", None) == self.main_ident \
                    and loop.is_running():
                self.loop = loop
                return loop
        return None

    def sample_asyncio(self, values: list) -> None:
        if "asyncio" not in sys.modules:
            return
        t = time.monotonic_ns()
        loop = self.main_loop()
        if loop is None:
            if ("asyncio",) in self.series:
                values.append((self.series[("asyncio",)], 0, t))
            return
        # What asyncio.all_tasks(loop) counts, without building the set.
        n = 0
        for task in _all_tasks():
            if task.get_loop() is loop and not task.done():
                n += 1
        sid = self.series_id(("asyncio",), "asyncio.tasks", "tasks")
        if sid is not None:
            values.append((sid, n, t))

    # ---- timed functions ---------------------------------------------

    def sample_timed(self, values: list) -> None:
        timed = sys.modules.get("microlog._timed")
        if timed is None:
            return
        t = time.monotonic_ns()
        for key, (hits, in_flight, total_ns) in _timed_totals(timed).items():
            base_hits, _, base_ns = self.timed_base.get(key, (0, 0, 0))
            hits -= base_hits
            total_ns -= base_ns
            name = key[0]
            ids = self.series.get(("timed", key))
            if ids is None:
                if hits <= 0 and in_flight <= 0:
                    continue  # not called in this recording yet
                if any(k[1][0] == name for k in self.series
                       if k[0] == "timed"):
                    name = f"{name} ({key[1]})"  # same name, other file
                ids = tuple(_microlog.metric_series(f"timed.{name}.{q}", u)
                            for q, u in (("hits", "calls"),
                                         ("in_flight", "calls"),
                                         ("mean_duration", "s")))
                if None in ids:
                    self.stopping.set()
                    return
                self.series[("timed", key)] = ids
            finished = hits - in_flight
            values.append((ids[0], max(hits, 0), t))
            values.append((ids[1], in_flight, t))
            if finished > 0 and total_ns >= 0:
                values.append((ids[2], total_ns / finished / 1e9, t))


def _timed_totals(timed) -> dict:
    """(qualname, file) -> [hits, in_flight, total_ns], summed over the
    timed objects that share a name and file."""
    out: dict = {}
    try:
        entries = timed.stats()
    except Exception:
        return out
    for s in entries:
        key = (s[0], s[1])
        acc = out.setdefault(key, [0, 0, 0])
        acc[0] += s[2]
        acc[1] += s[3]
        acc[2] += s[4]
    return out


def _all_tasks() -> list:
    """Every task asyncio knows of, in any thread (its private registry,
    read as asyncio.all_tasks() does; empty when asyncio is not loaded)."""
    tasks = sys.modules.get("asyncio.tasks")
    if tasks is None:
        return []
    sets = [getattr(tasks, n, None)
            for n in ("_scheduled_tasks", "_eager_tasks", "_all_tasks")]
    for _ in range(100):
        try:
            return [t for s in sets if s is not None for t in list(s)]
        except RuntimeError:  # changed size while we read it: again
            continue
    return []


async def _await(awaitable):
    return await awaitable


def _something_to_sample() -> bool:
    timed = sys.modules.get("microlog._timed")
    return bool(_metrics) or "asyncio" in sys.modules \
        or (timed is not None and bool(timed._registry))


class Metrics:
    """The metrics component of a recording (see _recording.register). Its
    thread runs only while there is something to sample: a program with no
    metric, no timed function and no asyncio pays for no thread."""

    def __init__(self) -> None:
        self._sampler = None
        self._thread = None
        self._config = None
        self._watcher = None

    def start(self, config) -> None:
        global _idle, _running
        _running = self
        self._config = config
        if _something_to_sample():
            self._start_thread()
            return
        _idle = self
        from microlog._capture import _ImportWatcher
        self._watcher = _ImportWatcher({"asyncio": lambda m: wake()})
        sys.meta_path.insert(0, self._watcher)

    def _start_thread(self) -> None:
        global _idle
        _idle = None
        if self._config is None or self._thread is not None:
            return
        import threading
        sampler = _Sampler(self._config.status_delay,
                           threading.main_thread().ident or 0)
        thread = threading.Thread(target=sampler.run,
                                  name="microlog-metrics", daemon=True)
        self._sampler, self._thread = sampler, thread
        thread.start()

    def _unwatch(self) -> None:
        global _idle, _running
        _idle = _running = None
        from microlog._capture import remove_watcher
        remove_watcher(self._watcher)
        self._watcher = None
        self._config = None

    def forget(self) -> None:
        """In a forked child: the sampling thread does not exist here."""
        self._unwatch()
        self._sampler = self._thread = None

    def stop(self, exit_status: int) -> None:
        self._unwatch()
        sampler, thread = self._sampler, self._thread
        self._sampler = self._thread = None
        if sampler is None:
            return
        sampler.stop()
        import threading
        if thread is threading.current_thread():
            return  # a metric function stopped the recording
        # A metric stuck in a sync call cannot be interrupted: give up
        # waiting (the thread is a daemon, and its late values are refused
        # once the recording is over).
        thread.join(max(2.0, 20 * sampler.delay))

