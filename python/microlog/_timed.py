"""``@microlog.timed`` and ``@microlog.catch_errors``.

A timed plain function becomes a ``_microlog.Timed`` object: C code that
times each call and writes it as a span (docs/TIMED.md). Generators,
coroutines and async generators get a Python wrapper that drives them step
by step through a ``TimedCall``, so a span covers the whole iteration and
counts only the CPU time of its own steps. Nothing here is imported that
the interpreter has not loaded anyway: functools, types and json are
imported when first needed.
"""

from __future__ import annotations

from _weakref import ref as _ref

from microlog import _microlog, _recording

_CO_GENERATOR = 0x20
_CO_COROUTINE = 0x80
_CO_ASYNC_GENERATOR = 0x200

_LEVEL_WARNING = 30
_LEVEL_ERROR = 40
_DEFAULT_MAX_ARG_LENGTH = 200
_UNSET = object()

# Every Timed object alive, for stats(): id -> weak reference. Changed with
# the GIL held only.
_registry: dict = {}


def timed(func=None, *, sanitize=None, max_arg_length=_UNSET,
          record_args=None):
    """Records each call of the decorated function as a span: start, wall
    time, the thread's CPU time, RSS change, call id and parent call id,
    arguments (when recorded) and the exception it raised, if any.

    Bare (``@timed``) or with options::

        @microlog.timed(sanitize=mask, max_arg_length=80)
        def login(user, password): ...

    ``record_args``: whether arguments are recorded as text (``str()`` of
    each, ``"<unserializable>"`` when that fails, then ``sanitize``, then
    cut to ``max_arg_length`` characters plus ``"..."``). Default: only when
    ``sanitize`` or ``max_arg_length`` is given, since arguments may hold
    secrets. ``sanitize`` (str -> str) also masks exception messages.
    ``max_arg_length``: per argument, 200 by default; None for no limit.

    Works on functions, methods, static and class methods, generators,
    ``async def`` functions and async generators. When no recording is
    running a timed function costs about one extra C call.
    """
    if sanitize is not None and not callable(sanitize):
        raise TypeError("microlog.timed: sanitize must be callable")
    if max_arg_length is _UNSET:
        limit = _DEFAULT_MAX_ARG_LENGTH
    elif max_arg_length is None:
        limit = None
    elif (isinstance(max_arg_length, bool)
          or not isinstance(max_arg_length, int) or max_arg_length < 0):
        raise ValueError("microlog.timed: max_arg_length must be an int "
                         f">= 0 or None, not {max_arg_length!r}")
    else:
        limit = max_arg_length
    if record_args is None:
        record_args = sanitize is not None or max_arg_length is not _UNSET
    elif not isinstance(record_args, bool):
        raise TypeError("microlog.timed: record_args must be a bool")

    def decorate(f):
        return _decorate_timed(f, sanitize, limit, record_args)

    return decorate if func is None else decorate(func)


def catch_errors(func=None, *, sanitize=None):
    """Records an exception raised by the decorated function (any
    ``Exception``) as an ERROR log entry holding its full traceback, with
    the stack of the raising frame, then re-raises it unchanged.
    ``sanitize`` (str -> str) masks the traceback text. Bare or with
    options; works on functions, methods, generators and async functions.
    An exception passing several ``catch_errors`` functions is logged once.
    """
    if sanitize is not None and not callable(sanitize):
        raise TypeError("microlog.catch_errors: sanitize must be callable")

    def decorate(f):
        return _decorate_catch(f, sanitize)

    return decorate if func is None else decorate(func)


class TimedStats(tuple):
    """(qualname, file, hits, in_flight, total_ns) of one timed function:
    calls begun while recording, those not finished yet, and the wall time
    of the finished ones in nanoseconds. Counted since the function was
    decorated."""

    __slots__ = ()
    qualname = property(lambda self: self[0])
    file = property(lambda self: self[1])
    hits = property(lambda self: self[2])
    in_flight = property(lambda self: self[3])
    total_ns = property(lambda self: self[4])


def stats() -> list:
    """A TimedStats for every timed function alive, in decoration order."""
    out = []
    for r in list(_registry.values()):
        t = r()
        if t is None:
            continue
        code = t._code
        file = code.co_filename if code is not None else ""
        name = getattr(t, "__qualname__", None) or (
            code.co_name if code is not None else "?")
        out.append(TimedStats((name, file, t.hits, t.in_flight,
                               t.total_ns)))
    return out


# ---- timed ---------------------------------------------------------------

def _code_of(func):
    """The code object that names the spans: the innermost function of a
    chain of wrappers (``__wrapped__``), or of a callable object's
    ``__call__``."""
    f = func
    for _ in range(100):
        nxt = getattr(f, "__wrapped__", None)
        if nxt is None:
            break
        f = nxt
    for candidate in (f, getattr(f, "__func__", None),
                      getattr(type(f), "__call__", None)):
        code = getattr(candidate, "__code__", None)
        if code is not None and type(code).__name__ == "code":
            return code
    return None


def _flags_of(func) -> int:
    code = getattr(func, "__code__", None)
    if code is None:
        code = getattr(getattr(func, "__func__", None), "__code__", None)
    return getattr(code, "co_flags", 0)


def _register(t) -> None:
    key = id(t)
    _registry[key] = _ref(t, lambda _r, key=key: _registry.pop(key, None))
    from microlog import _metrics
    _metrics.wake()  # its hits and mean are metrics


def _decorate_timed(func, sanitize, limit, record_args):
    if isinstance(func, (staticmethod, classmethod)):
        return type(func)(_decorate_timed(func.__func__, sanitize, limit,
                                          record_args))
    if not callable(func):
        raise TypeError(f"microlog.timed: {func!r} is not callable")
    code = _code_of(func)
    if code is None:
        raise TypeError(f"microlog.timed: {func!r} has no Python code to "
                        "name its calls by (decorate a Python function)")
    fmt = _arg_formatter(func, sanitize, limit) if record_args else None
    t = _microlog.Timed(func, code, fmt, sanitize)
    _register(t)
    import functools
    flags = _flags_of(func)
    if flags & _CO_GENERATOR:
        wrapper = _timed_generator(t, func, fmt)
    elif flags & _CO_COROUTINE:
        wrapper = _timed_coroutine(t, func, fmt)
    elif flags & _CO_ASYNC_GENERATOR:
        wrapper = _timed_async_generator(t, func, fmt)
    else:
        return functools.update_wrapper(t, func)
    wrapper = functools.update_wrapper(wrapper, func)
    wrapper.__microlog_timed__ = t
    return wrapper


_json_dumps = None


def _arg_formatter(func, sanitize, limit):
    """f(*args, **kwargs) -> the JSON text {"args": [...], "kwargs": {...}}
    recorded with each span."""
    warned = []

    def one(value) -> str:
        try:
            text = str(value)
        except Exception:
            text = "<unserializable>"
        if sanitize is not None:
            try:
                text = sanitize(text)
                if not isinstance(text, str):
                    raise TypeError(f"sanitize returned "
                                    f"{type(text).__name__}, not str")
            except Exception as e:
                text = "<sanitize failed>"
                if not warned:
                    warned.append(True)
                    _microlog.log(
                        _LEVEL_WARNING, _microlog.LOG_API,
                        f"microlog.timed: sanitize raised "
                        f"{type(e).__name__} for an argument of "
                        f"{getattr(func, '__qualname__', func)!s}; such "
                        "arguments are recorded as <sanitize failed>")
        if limit is not None and len(text) > limit:
            text = text[:limit] + "..."
        return text

    def format_args(*args, **kwargs) -> str:
        global _json_dumps
        if _json_dumps is None:
            import json
            _json_dumps = json.dumps
        return _json_dumps({"args": [one(a) for a in args],
                            "kwargs": {k: one(v)
                                       for k, v in kwargs.items()}},
                           ensure_ascii=False)

    return format_args


def _args_text(fmt, args, kwargs):
    if fmt is None or not _microlog.is_running():
        return None
    try:
        return fmt(*args, **kwargs)
    except Exception:
        return None


def _steps(it, call):
    """``yield from it`` with call.resume()/suspend() around every step of
    it, so the span knows which CPU time is its own and calls made inside
    get it as their parent. Also awaitable (types.coroutine, applied when
    the first coroutine is timed)."""
    send, throw = it.send, it.throw
    value = error = None
    while True:
        call.resume()
        try:
            if error is None:
                item = send(value)
            else:
                e, error = error, None
                item = throw(e)
        except StopIteration as stop:
            return stop.value
        finally:
            call.suspend()
        try:
            value = yield item
        except GeneratorExit:
            call.resume()
            try:
                close = getattr(it, "close", None)
                if close is not None:
                    close()
            finally:
                call.suspend()
            raise
        except BaseException as e:
            value, error = None, e


_steps_awaitable = None


def _awaitable_steps():
    global _steps_awaitable
    if _steps_awaitable is None:
        import types
        _steps_awaitable = types.coroutine(_steps)
    return _steps_awaitable


def _timed_generator(t, func, fmt):
    def wrapper(*args, **kwargs):
        gen = func(*args, **kwargs)
        call = t._begin(_args_text(fmt, args, kwargs))
        if call is None:
            return (yield from gen)
        try:
            result = yield from _steps(gen, call)
        except GeneratorExit:
            call.finish()
            raise
        except BaseException as e:
            call.finish(e)
            raise
        call.finish()
        return result

    return wrapper


def _timed_coroutine(t, func, fmt):
    steps = _awaitable_steps()

    async def wrapper(*args, **kwargs):
        coro = func(*args, **kwargs)
        call = t._begin(_args_text(fmt, args, kwargs))
        if call is None:
            return await coro
        try:
            result = await steps(coro.__await__(), call)
        except GeneratorExit:
            call.finish()
            raise
        except BaseException as e:
            call.finish(e)
            raise
        call.finish()
        return result

    return wrapper


def _timed_async_generator(t, func, fmt):
    steps = _awaitable_steps()

    async def wrapper(*args, **kwargs):
        agen = func(*args, **kwargs)
        call = t._begin(_args_text(fmt, args, kwargs))

        def step(aw):
            return aw if call is None else steps(aw.__await__(), call)

        value = error = None
        try:
            while True:
                try:
                    if error is None:
                        item = await step(agen.asend(value))
                    else:
                        e, error = error, None
                        item = await step(agen.athrow(e))
                except StopAsyncIteration:
                    break
                try:
                    value = yield item
                except GeneratorExit:
                    await step(agen.aclose())
                    raise
                except BaseException as e:
                    value, error = None, e
        except GeneratorExit:
            if call is not None:
                call.finish()
            raise
        except BaseException as e:
            if call is not None:
                call.finish(e)
            raise
        if call is not None:
            call.finish()

    return wrapper


# ---- catch_errors --------------------------------------------------------

# Code objects of the catch_errors wrappers: an exception whose traceback
# passes one of them below the current one was logged there already.
_catch_codes: set = set()


def _log_error(exc: BaseException, sanitize) -> None:
    if not _microlog.is_running():
        return
    tb = exc.__traceback__
    inner = tb.tb_next if tb is not None else None
    frame = None
    while inner is not None:
        if inner.tb_frame.f_code in _catch_codes:
            return  # an inner catch_errors logged it
        frame = inner.tb_frame
        inner = inner.tb_next
    if frame is None and tb is not None:
        frame = tb.tb_frame
    import traceback
    text = "".join(traceback.format_exception(type(exc), exc, tb))
    if sanitize is not None:
        try:
            text = sanitize(text)
            if not isinstance(text, str):
                raise TypeError("sanitize did not return a str")
        except Exception as e:
            text = (f"{type(exc).__qualname__} (the traceback is not "
                    f"shown: sanitize raised {type(e).__name__})")
    _microlog.log(_LEVEL_ERROR, _microlog.LOG_EXCEPTION, text, frame)


def _decorate_catch(func, sanitize):
    if isinstance(func, (staticmethod, classmethod)):
        return type(func)(_decorate_catch(func.__func__, sanitize))
    if not callable(func):
        raise TypeError(f"microlog.catch_errors: {func!r} is not callable")
    import functools
    flags = _flags_of(func)
    if flags & _CO_GENERATOR:
        def wrapper(*args, **kwargs):
            try:
                return (yield from func(*args, **kwargs))
            except Exception as e:
                _log_error(e, sanitize)
                raise
    elif flags & _CO_COROUTINE:
        async def wrapper(*args, **kwargs):
            try:
                return await func(*args, **kwargs)
            except Exception as e:
                _log_error(e, sanitize)
                raise
    elif flags & _CO_ASYNC_GENERATOR:
        async def wrapper(*args, **kwargs):
            agen = func(*args, **kwargs)
            value = error = None
            while True:
                try:
                    if error is None:
                        item = await agen.asend(value)
                    else:
                        e, error = error, None
                        item = await agen.athrow(e)
                except StopAsyncIteration:
                    return
                except Exception as e:
                    _log_error(e, sanitize)
                    raise
                try:
                    value = yield item
                except GeneratorExit:
                    await agen.aclose()
                    raise
                except BaseException as e:
                    value, error = None, e
    else:
        def wrapper(*args, **kwargs):
            try:
                return func(*args, **kwargs)
            except Exception as e:
                _log_error(e, sanitize)
                raise
    _catch_codes.add(wrapper.__code__)
    return functools.update_wrapper(wrapper, func)


# _recording tells the C side when a recording starts or stops
# (_microlog.timed_new_run), so calls begun in one recording write no span
# into the next.

__all__ = ["TimedStats", "catch_errors", "stats", "timed"]


# (name, file, line) -> the Timed object that names spans of that block.
# Changed with the GIL held only.
_spans: dict = {}


def _span_timed(name: str, file: str, line: int):
    key = (name, file, line)
    t = _spans.get(key)
    if t is None:
        # A code object carrying the block's name, file and line: the span
        # record is then exactly the one a timed function would write.
        code = compile("", file, "exec").replace(co_name=name,
                                                 co_firstlineno=line)
        if hasattr(code, "co_qualname"):
            code = code.replace(co_qualname=name)
        t = _microlog.Timed(_span_timed, code, None, None)
        _spans[key] = t
    return t


class span:
    """Times a block as ``@microlog.timed`` times a call, writing the same
    span record (wall and CPU time, memory change, parent span, the
    exception that left the block)::

        with microlog.span("load", table="users", rows=n):
            ...

    ``fields`` are recorded as the span's arguments (``key=repr(value)``,
    each cut at 200 characters). A no-op when not recording.
    """

    __slots__ = ("_name", "_fields", "_call")

    def __init__(self, name: str, **fields) -> None:
        if not isinstance(name, str) or not name:
            raise TypeError("microlog.span: the name must be a non-empty "
                            f"str, not {name!r}")
        self._name = name
        self._fields = fields
        self._call = None

    def __enter__(self) -> "span":
        if not _microlog.is_running():
            return self
        import sys
        caller = sys._getframe(1)
        t = _span_timed(self._name, caller.f_code.co_filename,
                        caller.f_lineno)
        text = None
        if self._fields:
            limit = _DEFAULT_MAX_ARG_LENGTH
            text = ", ".join(f"{k}={repr(v)[:limit]}"
                             for k, v in self._fields.items())
        call = t._begin(text)
        if call is not None:
            call.resume()
        self._call = call
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        call, self._call = self._call, None
        if call is not None:
            call.finish(exc)
