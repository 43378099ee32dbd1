"""The program the export tests record (conftest.py): two threads, known
timed calls with arguments, one failing call, logs and a metric. With
SLOW=1, crunch() does six times the work and extra() runs: the run the
diff test compares with the baseline."""

import os
import threading
import time

import microlog

SLOW = os.environ.get("SLOW") == "1"


def steady():
    end = time.perf_counter() + 0.15
    while time.perf_counter() < end:
        pass


def crunch():
    end = time.perf_counter() + (0.9 if SLOW else 0.15)
    while time.perf_counter() < end:
        pass


def extra():
    end = time.perf_counter() + 0.06
    while time.perf_counter() < end:
        pass


@microlog.timed(record_args=True)
def work(i, name="x"):
    end = time.perf_counter() + 0.004
    while time.perf_counter() < end:
        pass
    if i == 4:
        raise ValueError("bad item, 4")
    return i


def waiter():
    time.sleep(0.3)


DONE = []


def main():
    microlog.metric("items", lambda: len(DONE))
    t = threading.Thread(target=waiter, name="waiter")
    t.start()
    steady()
    crunch()
    if SLOW:
        extra()
    for i in range(6):
        try:
            work(i, name=f"item,{i}")
        except ValueError:
            microlog.error("work failed")
        DONE.append(i)
    microlog.info("done")
    t.join()


main()
