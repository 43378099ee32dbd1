"""Leaves a file open and keeps growing a cache: the end-of-run reports
list the open file with the stack that opened it, and the objects that
grew."""

import os
import tempfile

CACHE = []


class Record:
    def __init__(self, n):
        self.n = n
        self.payload = "x" * 100


def remember(n):
    CACHE.append(Record(n))


def open_log():
    path = os.path.join(tempfile.gettempdir(), "microlog-demo-leak.txt")
    handle = open(path, "w")  # never closed: reported at the end
    handle.write("started\n")
    return handle


if __name__ == "__main__":
    handle = open_log()
    for i in range(60000):
        remember(i)
    print(f"cache holds {len(CACHE)} records")
