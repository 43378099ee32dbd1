"""Custom metrics next to microlog's own status lines: a queue's length
and a rate, sampled while the program runs."""

import collections
import time

import microlog

queue = collections.deque()
done = [0]

microlog.metric("queue.length", lambda: len(queue))


@microlog.metric("jobs.done", unit="jobs")
def jobs_done():
    return done[0]


def produce(n):
    queue.extend(range(n))


def consume(n):
    for _ in range(min(n, len(queue))):
        queue.popleft()
        done[0] += 1
        sum(range(2000))


if __name__ == "__main__":
    for step in range(20):
        produce(300 if step < 10 else 50)
        consume(120)
        time.sleep(0.05)
    print("left in queue:", len(queue))
