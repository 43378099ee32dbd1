"""The program the browser tests record: a main and a waiting thread, many
short-lived request threads, logs of every level with Markdown (and
hostile Markdown), timed calls with one slow one.
`python -m microlog LABEL sample_app.py [SECONDS]` (default 1.5 s)."""

import logging
import sys
import threading
import time

import microlog

logging.basicConfig(level=logging.DEBUG)
log = logging.getLogger("sample")


def checksum(n):
    total = 0
    for i in range(n):
        total = (total * 31 + i) % 1000003
    return total


def parse_block(n):
    return [str(i) for i in range(n)]


@microlog.timed
def handle(i):
    if i == 7:
        time.sleep(0.05)  # the anomalously slow call
    return checksum(2000)


def waiter(stop):
    while not stop.wait(0.02):
        pass


def request(n):
    checksum(n)


def main(seconds):
    stop = threading.Event()
    t = threading.Thread(target=waiter, args=(stop,), name="waiter")
    t.start()
    end = time.monotonic() + seconds
    i = 0
    while time.monotonic() < end:
        checksum(20000)
        parse_block(5000)
        handle(i)
        if i % 5 == 0:
            log.info("step **%d** of the `main` loop", i)
        if i % 11 == 3:
            log.warning("slow step %d: see [docs](https://example.com)", i)
        if i % 40 == 20:
            threading.Thread(target=request, args=(30000,), name=f"request-{i}").start()
        if i == 9:
            log.error("boom <script>alert(1)</script> [x](javascript:alert(1))")
        i += 1
    stop.set()
    t.join()
    print(f"done after {i} steps")


if __name__ == "__main__":
    main(float(sys.argv[1]) if len(sys.argv) > 1 else 1.5)
