"""End-of-run reports, written as REPORT records when a recording stops:

- ``open_files``: files and sockets opened during the recording and still
  open at its end, each with the stack that opened it;
- ``leaks``: objects that survived the run: uncollectable garbage, and
  growth (by type) of the objects reachable from modules that are not
  module-level definitions, with the top allocation sites when tracemalloc
  traces.

The JSON bodies and the method are described in docs/METRICS.md.
"""

from __future__ import annotations

import os
import sys
import time

from microlog import _microlog

# Frames kept per opening stack, and entries per report.
_MAX_FRAMES = 64
_MAX_ITEMS = 200
_MAX_SITES = 10
# The walk of what modules reach is bounded in objects and time, per
# object: at start and stop a program may hold millions of objects, and the
# report must neither delay its start or exit nor grow its memory much.
# Past either bound the report says it is incomplete. The whole report
# (walk, sizes, allocation sites) stays within _MAX_SECONDS plus the cost of
# _CHECK_EVERY objects.
_MAX_OBJECTS = 50_000
_MAX_SECONDS = 0.004
_WALK_SHARE = 0.4  # of _MAX_SECONDS for the walk, the rest for sizes
# tracemalloc, when the program traces, makes every allocation of the walk
# cost several times more (and finding allocation sites is the point then):
# the time bound is this many times longer.
_TRACING_SCALE = 4
_CHECK_EVERY = 256
# The time bounds are the calling thread's CPU time: what the report costs
# the program, not what other processes of a loaded machine take meanwhile.
_CLOCK = time.thread_time
_SIZE_SAMPLE = 256  # objects of a type whose size is measured
_SIZED = (list, tuple, dict, set, frozenset)
_FD_DIRS = ("/proc/self/fd", "/dev/fd")
_MAX_RECENT = 1024


def _capture_stack(frame) -> tuple:
    """(code, line) pairs from frame outwards; formatted only if needed."""
    out = []
    while frame is not None and len(out) < _MAX_FRAMES:
        out.append((frame.f_code, frame.f_lineno))
        frame = frame.f_back
    return tuple(out)


def _format_stack(stack: tuple) -> list:
    out = []
    for code, line in stack:
        name = getattr(code, "co_qualname", code.co_name)
        if code.co_filename.startswith("<frozen "):
            continue
        out.append(f"{name} ({code.co_filename}:{line})")
    return out


def _fd_table() -> dict:
    """fd -> (target, (st_dev, st_ino)) for every open descriptor."""
    for d in _FD_DIRS:
        try:
            names = os.listdir(d)
        except OSError:
            continue
        table = {}
        for name in names:
            try:
                fd = int(name)
                st = os.fstat(fd)
                target = os.readlink(f"{d}/{name}")
            except (ValueError, OSError):
                continue  # the listing's own descriptor, or gone
            table[fd] = (target, (st.st_dev, st.st_ino))
        return table
    return {}


def _address(addr):
    if isinstance(addr, tuple) and len(addr) >= 2:
        host, port = addr[0], addr[1]
        return f"[{host}]:{port}" if ":" in str(host) else f"{host}:{port}"
    if isinstance(addr, bytes):
        return addr.decode("utf-8", "backslashreplace")
    return str(addr) if addr not in (None, "", b"") else None


def _socket_info(sock) -> dict:
    info: dict = {"kind": "socket", "fd": sock.fileno()}
    for key, attr in (("family", "family"), ("type", "type")):
        try:
            value = getattr(sock, attr)
            info[key] = getattr(value, "name", str(value))
        except Exception:
            pass
    for key, method in (("laddr", "getsockname"), ("raddr", "getpeername")):
        try:
            info[key] = _address(getattr(sock, method)())
        except Exception:
            info[key] = None
    return info


def _mode_of(fd: int) -> str:
    try:
        import fcntl
        flags = fcntl.fcntl(fd, fcntl.F_GETFL)
    except (ImportError, OSError):
        return ""
    acc = flags & os.O_ACCMODE
    mode = {os.O_RDONLY: "r", os.O_WRONLY: "w", os.O_RDWR: "r+"}.get(acc, "")
    return mode + ("a" if flags & os.O_APPEND else "")


def _same_file(path, fd: int, ident) -> bool:
    if isinstance(path, int):
        return path == fd
    try:
        st = os.stat(path)
    except (OSError, TypeError, ValueError):
        return False
    return (st.st_dev, st.st_ino) == ident


class OpenFiles:
    """Tracks opens while recording through the C audit hook; see
    _microlog.open_audit."""

    def __init__(self) -> None:
        self.before: dict = {}
        self.opens: dict = {}    # expected fd -> (path, mode, stack)
        # path -> (mode, stack) of the latest opens, for a descriptor whose
        # guess another thread's open made wrong (at most _MAX_RECENT)
        self.recent: dict = {}
        self.sockets: dict = {}  # id -> (weak reference, stack)

    def start(self) -> None:
        self.before = _fd_table()
        self.opens = {}
        self.recent = {}
        self.sockets = {}
        _microlog.open_audit(self.on_audit)

    def on_audit(self, event: str, args: tuple, fd: int) -> None:
        try:
            stack = _capture_stack(sys._getframe(1))
        except ValueError:  # opened from C code, no Python frame above
            stack = ()
        if event == "open":
            path, mode = args[0], args[1]
            if isinstance(path, int):
                fd = path
            if fd >= 0:
                self.opens[fd] = (path, mode, stack)
            if not isinstance(path, int):
                recent = self.recent
                recent.pop(path, None)
                if len(recent) >= _MAX_RECENT:
                    del recent[next(iter(recent))]
                recent[path] = (mode, stack)
            return
        sock = args[0]
        key = id(sock)
        try:
            import _weakref
            ref = _weakref.ref(sock,
                               lambda _r, k=key: self.sockets.pop(k, None))
        except TypeError:
            return
        self.sockets[key] = (ref, stack)

    def stop(self) -> dict:
        _microlog.open_audit(None)
        items = []
        sockets = {}
        by_identity = None  # made when a descriptor's guess was wrong
        for ref, stack in list(self.sockets.values()):
            sock = ref()
            try:
                fd = sock.fileno() if sock is not None else -1
            except Exception:
                fd = -1
            if fd >= 0:
                sockets[fd] = (sock, stack)
        own = set(_microlog.own_fds())  # the recorder's, not the program's
        for fd, (target, ident) in sorted(_fd_table().items()):
            old = self.before.get(fd)
            if old is not None and old[1] == ident:
                continue  # open before the recording started
            if fd in own:
                continue
            if fd in sockets:
                sock, stack = sockets.pop(fd)
                item = _socket_info(sock)
            else:
                path, mode, stack = self.opens.get(fd, (None, None, ()))
                if path is None or not _same_file(path, fd, ident):
                    if by_identity is None:
                        by_identity = self._recent_by_identity()
                    mode, stack = by_identity.get(ident, (None, ()))
                kind = "file"
                if target.startswith("socket:"):
                    kind = "socket"
                elif target.startswith(("pipe:", "anon_inode:")):
                    kind = "other"
                item = {"kind": kind, "fd": fd, "path": target,
                        "mode": mode if isinstance(mode, str)
                        else _mode_of(fd)}
            item["stack"] = _format_stack(stack)
            items.append(item)
        self.opens, self.sockets, self.before = {}, {}, {}
        self.recent = {}
        return {"version": 1, "count": len(items),
                "open": items[:_MAX_ITEMS]}

    def _recent_by_identity(self) -> dict:
        """(st_dev, st_ino) -> (mode, stack) of the recent opens, the
        latest open of a file winning."""
        out = {}
        for path, entry in self.recent.items():
            try:
                st = os.stat(path)
            except (OSError, TypeError, ValueError):
                continue
            out[(st.st_dev, st.st_ino)] = entry
        return out


# ---- leaks -----------------------------------------------------------------

def _definition_types() -> tuple:
    # _weakref, not weakref: the same types, and the interpreter has it
    # loaded already (weakref costs ~1 ms to import, at every start)
    import _weakref
    import types
    return (types.ModuleType, type, types.FunctionType,
            types.BuiltinFunctionType, types.MethodType, types.CodeType,
            types.CellType, types.MethodDescriptorType,
            types.WrapperDescriptorType, types.GetSetDescriptorType,
            types.MemberDescriptorType, types.ClassMethodDescriptorType,
            types.MethodWrapperType, types.MappingProxyType, classmethod,
            staticmethod, property, _weakref.ref, _weakref.ProxyType,
            _weakref.CallableProxyType)


def _stdlib_names() -> frozenset:
    names = getattr(sys, "stdlib_module_names", None)  # 3.10+
    if names is not None:
        return frozenset(names) | {"__future__"}
    import sysconfig
    paths = {sysconfig.get_paths()[k] for k in ("stdlib", "platstdlib")}
    out = set(sys.builtin_module_names)
    for name, m in list(sys.modules.items()):
        file = getattr(m, "__file__", None) or ""
        origin = getattr(getattr(m, "__spec__", None), "origin", None)
        if origin == "frozen" or (
                any(file.startswith(p + os.sep) for p in paths)
                and "site-packages" not in file):
            out.add(name.partition(".")[0])
            # _collections_abc calls itself collections.abc
            own = getattr(m, "__name__", None)
            if isinstance(own, str):
                out.add(own.partition(".")[0])
    return frozenset(out)


def _skipped(module, stdlib: frozenset) -> bool:
    """microlog's own modules, and the standard library's (whose caches
    grow by design: imports, re, typing, linecache...)."""
    name = getattr(module, "__name__", None)
    if not isinstance(name, str):
        return False
    top = name.partition(".")[0]
    return top == "microlog" or top in stdlib


def _walk(defn: tuple, deadline: float, limit: int):
    """The objects reachable from sys.modules: returns (found, looked,
    inner, kinds), where looked is how many references were followed, or
    -1 when the walk ended at none of its bounds (it is complete); inner
    holds the ids of module-level objects among found. Module-level means
    a definition (module, class, function, code, descriptor, weak
    reference...), anything a definition refers to directly (a class's
    dict, a function's defaults), and any value bound in a module's or
    class's namespace. Everything is walked through. microlog's own
    modules and the standard library's (and what they define) are not
    walked, nor are code objects and atoms (str, int...), which hold
    nothing that grows.

    The bounds hold per object: every reference followed counts against
    limit, the clock is read every _CHECK_EVERY of them against deadline
    (time.thread_time()), and a builtin container larger than what is left
    is cut, so no heap makes the walk cost more than its bounds."""
    import gc
    module_type = defn[0]
    stdlib = _stdlib_names()
    roots = [m for m in list(sys.modules.values())
             if isinstance(m, module_type) and not _skipped(m, stdlib)]
    seen = {id(m) for m in roots}
    inner = set(seen)  # ids of module-level objects
    kinds: dict = {}   # type -> 0 plain, 1 definition, 2 namespace owner,
    #                    3 leaf (nothing to walk), 4 leaf definition,
    #                    5 microlog's own (neither walked nor counted)
    queue = roots      # breadth first: queue[done:] is still to walk
    done = 0
    found: list = []
    get_referents = gc.get_referents
    clock = _CLOCK
    looked = 0         # references followed
    check = _CHECK_EVERY
    sized = _SIZED
    while done < len(queue):
        obj = queue[done]
        done += 1
        t = type(obj)
        kind = kinds.get(t)
        if kind is None:
            kind = kinds[t] = _kind(t, defn, module_type)
        if kind == 1 or kind == 2:
            mod = getattr(obj, "__module__", None)
            if type(mod) is str and \
                    (mod.partition(".")[0] in stdlib or mod == "microlog"
                     or mod.startswith("microlog.")):
                continue  # defined there: its insides are not walked
        elif kind != 0:
            continue
        left = limit - looked
        if t in sized and len(obj) > left:
            refs = _first_referents(obj, left + 1)
        else:
            refs = get_referents(obj)
        for r in refs:
            looked += 1
            check -= 1
            if looked > limit:
                return found, limit, inner, kinds
            if check <= 0:
                check = _CHECK_EVERY
                if clock() > deadline:  # r is not walked
                    return found, looked - 1, inner, kinds
            if kind == 1 or kind == 2:
                inner.add(id(r))
                if kind == 2 and type(r) is dict:
                    # the namespace: its values are module-level too
                    if looked + len(r) > limit:
                        return found, limit, inner, kinds
                    looked += len(r)
                    for v in r.values():
                        inner.add(id(v))
            i = id(r)
            if i in seen:
                continue
            seen.add(i)
            if type(r) is module_type and _skipped(r, stdlib):
                continue
            found.append(r)
            queue.append(r)
    return found, -1, inner, kinds


def _first_referents(obj, n: int) -> list:
    """The first n referents of a builtin container bigger than the walk's
    bound (keys and values for a dict)."""
    import itertools
    if type(obj) is dict:
        out: list = []
        for k, v in itertools.islice(obj.items(), (n + 1) // 2):
            out.append(k)
            out.append(v)
        return out
    return list(itertools.islice(obj, n))


def _survivors(defn: tuple, deadline: float, limit: int):
    """_walk's objects less the module-level ones: (objects, looked)."""
    found, looked, inner, kinds = _walk(defn, deadline, limit)
    module_type = defn[0]
    out = []
    for o in found:
        if id(o) in inner:
            continue
        kind = kinds.get(type(o))
        if kind is None:
            kind = kinds[type(o)] = _kind(type(o), defn, module_type)
        if kind != 0 and kind != 3:
            continue
        if type(o) is int and -5 <= o <= 256:
            continue  # cached by the interpreter: never new
        out.append(o)
    return out, looked


_LEAVES = (str, int, float, complex, bytes, bool, type(None))


def _kind(t: type, defn: tuple, module_type: type) -> int:
    mod = getattr(t, "__module__", "")
    if mod == "microlog" or str(mod).startswith("microlog."):
        return 5
    if issubclass(t, (module_type, type)):
        return 2
    if issubclass(t, _LEAVES):
        return 3
    if t.__name__ == "code" and t.__module__ == "builtins":
        return 4
    if issubclass(t, defn):
        return 1
    return 0


def _type_name(t: type) -> str:
    module = getattr(t, "__module__", "builtins")
    qual = getattr(t, "__qualname__", t.__name__)
    return qual if module == "builtins" else f"{module}.{qual}"


def _counts(objs) -> dict:
    counts: dict = {}
    for o in objs:
        t = type(o)
        counts[t] = counts.get(t, 0) + 1
    return counts


class Leaks:
    """Counts at start, compares at stop; never runs a collection."""

    def __init__(self) -> None:
        self.before: dict = {}
        self.garbage = 0
        self.looked = -1  # where the start walk stopped, -1: complete

    def start(self) -> None:
        import gc
        self.garbage = len(gc.garbage)
        deadline = _CLOCK() + _budget() * _WALK_SHARE
        objs, self.looked = _survivors(_definition_types(), deadline,
                                       _MAX_OBJECTS)
        self.before = _counts(objs)

    def stop(self) -> dict:
        import gc
        began = _CLOCK()
        budget = _budget()
        deadline = began + budget
        # When the start walk stopped at a bound, this one goes no further
        # (in the same order), so that an unchanged heap shows no growth.
        limit = _MAX_OBJECTS if self.looked < 0 else self.looked
        objs, looked = _survivors(_definition_types(),
                                  began + budget * _WALK_SHARE, limit)
        complete = looked < 0 and self.looked < 0
        grown = []
        for t, group in _group(objs).items():
            n = len(group) - self.before.get(t, 0)
            if n > 0:
                grown.append((t, n, group))
        self.before = {}
        types_out = []
        sites: dict = {}
        tracing = _tracing()
        for t, n, group in grown:
            # Which objects of a type are new is not known: sizes are
            # the mean of a sample scaled to the growth.
            sample = group[:_SIZE_SAMPLE]
            size = _size_of(sample) * n // len(sample)
            types_out.append({"type": _type_name(t), "count": n,
                              "size": size})
            if tracing is not None:
                _add_sites(tracing, group, sites, deadline)
        types_out.sort(key=lambda e: (-e["size"], -e["count"], e["type"]))
        # What earlier collections (the program's own or automatic ones)
        # found uncollectable, at most _MAX_OBJECTS of it.
        garbage = gc.garbage[self.garbage:self.garbage + _MAX_OBJECTS]
        if len(gc.garbage) - self.garbage > _MAX_OBJECTS:
            complete = False
        uncollectable = []
        for t, g in _group(garbage).items():
            sample = g[:_SIZE_SAMPLE]
            uncollectable.append(
                {"type": _type_name(t), "count": len(g),
                 "size": _size_of(sample) * len(g) // len(sample)})
        uncollectable.sort(key=lambda e: (-e["count"], e["type"]))
        top = sorted(sites.values(), key=lambda s: (-s["size"],
                                                    -s["count"]))
        return {"version": 1, "complete": complete,
                "count": sum(e["count"] for e in types_out),
                "size": sum(e["size"] for e in types_out),
                "types": types_out[:_MAX_ITEMS],
                "uncollectable": uncollectable[:_MAX_ITEMS],
                "tracemalloc": tracing is not None,
                "sites": top[:_MAX_SITES]}


def _budget() -> float:
    """Seconds a report may take (walk, sizes and sites)."""
    return _MAX_SECONDS * (_TRACING_SCALE if _tracing() else 1)


def _size_of(objs) -> int:
    size = 0
    for o in objs:
        try:
            size += sys.getsizeof(o)
        except Exception:
            pass
    return size


def _group(objs) -> dict:
    out: dict = {}
    for o in objs:
        t = type(o)
        group = out.get(t)
        if group is None:
            out[t] = [o]
        else:
            group.append(o)
    return out


def _tracing():
    tm = sys.modules.get("tracemalloc")
    if tm is None or not tm.is_tracing():
        return None
    return tm


def _add_sites(tm, group, sites: dict, deadline: float) -> None:
    """Allocation sites of the objects of group, until deadline."""
    for n, o in enumerate(group):
        if n % 64 == 63 and _CLOCK() > deadline:
            return
        tb = tm.get_object_traceback(o)
        if not tb:
            continue
        frame = tb[-1]  # the most recent frame (oldest first)
        key = f"{frame.filename}:{frame.lineno}"
        site = sites.get(key)
        if site is None:
            site = sites[key] = {"site": key, "count": 0, "size": 0}
        site["count"] += 1
        try:
            site["size"] += sys.getsizeof(o)
        except Exception:
            pass


class Reports:
    """The reports component of a recording (see _recording.register)."""

    def __init__(self) -> None:
        self._files = OpenFiles()
        self._leaks = Leaks()

    def start(self, config) -> None:
        self._files.start()
        self._leaks.start()

    def stop(self, exit_status: int) -> None:
        files = self._files.stop()
        _microlog.report(_microlog.REPORT_OPEN_FILES, "open_files",
                         _dumps(files))
        leaks = self._leaks.stop()
        _microlog.report(_microlog.REPORT_LEAKS, "leaks", _dumps(leaks))


def _found_nothing(report: dict) -> bool:
    """True for the usual report: no descriptor left open, or a complete
    walk that saw no growth and no uncollectable object."""
    return (report.get("count") == 0 and report.get("complete", True)
            and not report.get("uncollectable"))


# What a report that found nothing is written as (docs/METRICS.md): the
# record still says "checked", without the ~100 bytes (compressed) that the
# two full empty bodies cost, a tenth of a short run's file.
NOTHING_FOUND = '{"count": 0}'


def _dumps(report: dict) -> str:
    """The JSON body of a report. A report that found nothing is
    NOTHING_FOUND; one with nothing but numbers, booleans and empty lists
    is written without importing json, which costs ~10 ms (it imports re)
    at every exit."""
    if _found_nothing(report):
        return NOTHING_FOUND
    atoms = (bool, int, type(None))
    if all(isinstance(v, atoms) or v == [] for v in report.values()):
        def atom(v) -> str:
            if v is None:
                return "null"
            if isinstance(v, bool):
                return "true" if v else "false"
            return "[]" if v == [] else repr(v)
        return "{" + ", ".join(f'"{k}": {atom(v)}'
                               for k, v in report.items()) + "}"
    import json
    return json.dumps(report, ensure_ascii=False)

