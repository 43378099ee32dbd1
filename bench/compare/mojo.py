"""A small decoder for Austin's MOJO binary format (version 3), written by
Austin (`austin -b`) and echion. Events, as both tools emit them:

    header      b"MOJ" + varint version
    1 METADATA  string key, string value
    2 STACK     varint pid, varint iid, string thread
    3 FRAME     ref key, ref filename, ref scope, varint line, line_end,
                column, column_end
    4 FRAME_INVALID
    5 FRAME_REF ref key
    6 FRAME_KERNEL string
    7 GC, 8 IDLE (flags of the current sample)
    9 METRIC_TIME varint, 10 METRIC_MEMORY varint
    11 STRING   ref key, string
    12 STRING_REF ref key

Varints: the first byte holds 6 value bits, 0x40 the sign and 0x80
continuation; later bytes 7 value bits and 0x80 continuation. A sample
is a STACK event, its frames (root first) and its metrics.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Tuple


@dataclass
class Sample:
    pid: int
    iid: int
    thread: str
    frames: List[Tuple[str, str, int]] = field(default_factory=list)
    time: int = 0
    idle: bool = False


@dataclass
class Mojo:
    version: int = 0
    metadata: Dict[str, str] = field(default_factory=dict)
    samples: List[Sample] = field(default_factory=list)


class _Reader:
    def __init__(self, data: bytes):
        self.data = data
        self.pos = 0

    def byte(self) -> int:
        b = self.data[self.pos]
        self.pos += 1
        return b

    def varint(self) -> int:
        b = self.byte()
        value = b & 0x3F
        negative = bool(b & 0x40)
        shift = 6
        while b & 0x80:
            b = self.byte()
            value |= (b & 0x7F) << shift
            shift += 7
        return -value if negative else value

    def string(self) -> str:
        end = self.data.index(b"\0", self.pos)
        s = self.data[self.pos:end].decode("utf-8", "replace")
        self.pos = end + 1
        return s


def decode(data: bytes) -> Mojo:
    r = _Reader(data)
    if data[:3] != b"MOJ":
        raise ValueError("not a MOJO file")
    r.pos = 3
    out = Mojo(version=r.varint())
    strings: Dict[int, str] = {}
    frames: Dict[int, Tuple[str, str, int]] = {}
    current = None
    n = len(data)
    while r.pos < n:
        ev = r.byte()
        if ev == 1:
            k = r.string()
            out.metadata[k] = r.string()
        elif ev == 2:
            current = Sample(r.varint(), r.varint(), r.string())
            out.samples.append(current)
        elif ev == 3:
            key, fn, scope = r.varint(), r.varint(), r.varint()
            line = r.varint()
            if out.version >= 3:
                r.varint(), r.varint(), r.varint()
            frames[key] = (strings.get(fn, "?"), strings.get(scope, "?"),
                           line)
        elif ev == 4:
            if current is not None:
                current.frames.append(("?", "<invalid>", 0))
        elif ev == 5:
            key = r.varint()
            if current is not None:
                current.frames.append(frames.get(key, ("?", "?", 0)))
        elif ev == 6:
            name = r.string()
            if current is not None:
                current.frames.append(("kernel", name, 0))
        elif ev == 7:
            pass
        elif ev == 8:
            if current is not None:
                current.idle = True
        elif ev == 9:
            v = r.varint()
            if current is not None:
                current.time = v
        elif ev == 10:
            r.varint()
        elif ev == 11:
            key = r.varint()
            strings[key] = r.string()
        elif ev == 12:
            r.varint()
        else:
            raise ValueError(f"unknown MOJO event {ev} at byte {r.pos - 1}")
    return out
