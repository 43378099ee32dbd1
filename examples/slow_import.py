"""A slow import at start, then quick work: the flame chart's first part
is the import of _slow_module."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import _slow_module  # noqa: E402  (slow on purpose)


def lookup(n):
    return sum(len(_slow_module.TABLE[i]) for i in range(n))


if __name__ == "__main__":
    print("digits:", lookup(200000))
