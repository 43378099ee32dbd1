"""Four threads mixing CPU work and sleeps."""

import threading
import time


def worker(rounds):
    total = 0
    for _ in range(rounds):
        for i in range(20000):
            total += i * i
        time.sleep(0.004)
    return total


threads = [threading.Thread(target=worker, args=(200,), name=f"worker-{i}")
           for i in range(4)]
for t in threads:
    t.start()
for t in threads:
    t.join()
