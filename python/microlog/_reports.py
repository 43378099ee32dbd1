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
# The walk over objects reachable from modules stops after this many.
# The walk of what modules reach is bounded in objects and time: at stop a
# program may hold millions of objects, and the report must neither delay
# its exit nor grow its memory much. Past either bound the report says it
# is incomplete.
_MAX_OBJECTS = 100_000
_MAX_SECONDS = 0.03
_FD_DIRS = ("/proc/self/fd", "/dev/fd")


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
        self.sockets: dict = {}  # id -> (weak reference, stack)

    def start(self) -> None:
        self.before = _fd_table()
        self.opens = {}
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
            return
        sock = args[0]
        key = id(sock)
        try:
            import weakref
            ref = weakref.ref(sock,
                              lambda _r, k=key: self.sockets.pop(k, None))
        except TypeError:
            return
        self.sockets[key] = (ref, stack)

    def stop(self) -> dict:
        _microlog.open_audit(None)
        items = []
        sockets = {}
        for ref, stack in list(self.sockets.values()):
            sock = ref()
            try:
                fd = sock.fileno() if sock is not None else -1
            except Exception:
                fd = -1
            if fd >= 0:
                sockets[fd] = (sock, stack)
        for fd, (target, ident) in sorted(_fd_table().items()):
            old = self.before.get(fd)
            if old is not None and old[1] == ident:
                continue  # open before the recording started
            if fd in sockets:
                sock, stack = sockets.pop(fd)
                item = _socket_info(sock)
            else:
                path, mode, stack = self.opens.get(fd, (None, None, ()))
                if path is None or not _same_file(path, fd, ident):
                    mode, stack = None, ()
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
        return {"version": 1, "count": len(items),
                "open": items[:_MAX_ITEMS]}


# ---- leaks -----------------------------------------------------------------

def _definition_types() -> tuple:
    import types
    import weakref
    return (types.ModuleType, type, types.FunctionType,
            types.BuiltinFunctionType, types.MethodType, types.CodeType,
            types.CellType, types.MethodDescriptorType,
            types.WrapperDescriptorType, types.GetSetDescriptorType,
            types.MemberDescriptorType, types.ClassMethodDescriptorType,
            types.MethodWrapperType, types.MappingProxyType, classmethod,
            staticmethod, property, weakref.ref, weakref.ProxyType,
            weakref.CallableProxyType)


def _stdlib_names() -> frozenset:
    names = getattr(sys, "stdlib_module_names", None)  # 3.10+
    if names is not None:
        return frozenset(names) | {"__future__"}
    import sysconfig
    paths = {sysconfig.get_paths()[k] for k in ("stdlib", "platstdlib")}
    out = set(sys.builtin_module_names)
    for name, m in list(sys.modules.items()):
        file = getattr(m, "__file__", None) or ""
        if any(file.startswith(p + os.sep) for p in paths) and \
                "site-packages" not in file:
            out.add(name.partition(".")[0])
    return frozenset(out)


def _skipped(module, stdlib: frozenset) -> bool:
    """microlog's own modules, and the standard library's (whose caches
    grow by design: imports, re, typing, linecache...)."""
    name = getattr(module, "__name__", None)
    if not isinstance(name, str):
        return False
    top = name.partition(".")[0]
    return top == "microlog" or top in stdlib


def _walk(defn: tuple):
    """The objects reachable from sys.modules that are not module-level:
    returns (objects, complete). Module-level means a definition (module,
    class, function, code, descriptor, weak reference...), anything a
    definition refers to directly (a class's dict, a function's defaults),
    and any value bound in a module's or class's namespace. Everything is
    walked through; only the rest is returned. microlog's own modules and
    the standard library's (and what they define) are not walked, nor are
    code objects and atoms (str, int...), which hold nothing that grows."""
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
    frontier = roots
    found = []
    get_referents = gc.get_referents
    complete = True
    deadline = time.monotonic() + _MAX_SECONDS
    while frontier:
        plain = []
        nxt = []
        for obj in frontier:
            t = type(obj)
            kind = kinds.get(t)
            if kind is None:
                kind = kinds[t] = _kind(t, defn, module_type)
            if kind == 0:
                plain.append(obj)
            elif kind == 1 or kind == 2:
                mod = getattr(obj, "__module__", None)
                if type(mod) is str and \
                        (mod.partition(".")[0] in stdlib or mod == "microlog"
                         or mod.startswith("microlog.")):
                    continue  # defined there: its insides are not walked
                refs = get_referents(obj)
                for r in refs:
                    inner.add(id(r))
                    if kind == 2 and type(r) is dict:
                        # the namespace: its values are module-level too
                        for v in r.values():
                            inner.add(id(v))
                nxt.append(refs)
        if plain:
            nxt.append(get_referents(*plain))
        frontier = []
        for refs in nxt:
            for r in refs:
                i = id(r)
                if i in seen:
                    continue
                seen.add(i)
                if type(r) is module_type and _skipped(r, stdlib):
                    continue
                found.append(r)
                frontier.append(r)
            if len(seen) > _MAX_OBJECTS or time.monotonic() > deadline:
                complete = False
                break
        if not complete:
            break
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
    return out, complete


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
    """Counts at start, compares at stop."""

    def __init__(self) -> None:
        self.before: dict = {}
        self.garbage = 0
        self.complete = True

    def start(self) -> None:
        import gc
        self.garbage = len(gc.garbage)
        objs, self.complete = _walk(_definition_types())
        self.before = _counts(objs)

    def stop(self) -> dict:
        import gc
        gc.collect()
        defn = _definition_types()
        objs, complete = _walk(defn)
        complete = complete and self.complete
        by_type: dict = {}
        for o in objs:
            by_type.setdefault(type(o), []).append(o)
        grown = []
        for t, group in by_type.items():
            n = len(group) - self.before.get(t, 0)
            if n > 0:
                grown.append((t, n, group))
        self.before = {}
        types_out = []
        sites: dict = {}
        tracing = _tracing()
        for t, n, group in grown:
            size = 0
            for o in group:
                try:
                    size += sys.getsizeof(o)
                except Exception:
                    pass
            # Which objects of a type are new is not known: sizes are
            # scaled to the growth.
            size = size * n // len(group)
            types_out.append({"type": _type_name(t), "count": n,
                              "size": size})
            if tracing is not None:
                _add_sites(tracing, group, sites)
        types_out.sort(key=lambda e: (-e["size"], -e["count"], e["type"]))
        garbage = gc.garbage[self.garbage:]
        uncollectable = [
            {"type": _type_name(t), "count": len(g),
             "size": sum(sys.getsizeof(o) for o in g)}
            for t, g in _group(garbage).items()]
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


def _group(objs) -> dict:
    out: dict = {}
    for o in objs:
        out.setdefault(type(o), []).append(o)
    return out


def _tracing():
    tm = sys.modules.get("tracemalloc")
    if tm is None or not tm.is_tracing():
        return None
    return tm


def _add_sites(tm, group, sites: dict) -> None:
    for o in group:
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


def _dumps(report: dict) -> str:
    """json.dumps of a report. A report with nothing in it (the usual case)
    holds only numbers, booleans and empty lists under fixed keys, and is
    written without importing json, which costs ~10 ms (it imports re) at
    every exit."""
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

