"""One polling helper for the test suites that drive servers (tests/server,
tests/store): each imports it through its *_util.py module.

    wait_for(lambda: srv.runs(), 30)      # the first truthy value
    wait_for(done, 60, step=1)            # polled once a second
"""

from __future__ import annotations

import time
from typing import Callable, TypeVar

T = TypeVar("T")


def wait_for(predicate: Callable[[], T], timeout: float = 30.0,
             step: float = 0.1) -> T:
    """Calls predicate every step seconds until it returns something true,
    and returns that; fails the test after timeout seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    raise AssertionError(f"timed out waiting ({timeout} s)")
