"""The program the export tests record (conftest.py): two threads, known
timed calls with arguments, one failing call, logs and a metric. With
SLOW=1, crunch() does six times the work and extra() runs: the run the
diff test compares with the baseline."""

import os
import threading
import time

import microlog

SLOW = os.environ.get("SLOW") == "1"


def burn(seconds):
    """Spins for this much CPU time of the thread, so the work (and its
    share of the samples) stays the same on a busy machine."""
    end = time.thread_time() + seconds
    while time.thread_time() < end:
        pass


def steady():
    end = time.thread_time() + 0.15
    while time.thread_time() < end:
        pass


def crunch():
    end = time.thread_time() + (0.9 if SLOW else 0.15)
    while time.thread_time() < end:
        pass


def extra():
    end = time.thread_time() + 0.06
    while time.thread_time() < end:
        pass


@microlog.timed(record_args=True)
def work(i, name="x"):
    burn(0.004)
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
