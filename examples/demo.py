"""The program `make demo` records: a little of everything microlog shows.

A main thread that parses and summarises generated records (CPU-bound, in
a few named functions), a worker thread that waits on a queue, and prints.
"""

import json
import queue
import threading
import time


def make_records(n):
    return [{"id": i, "name": f"item-{i}", "price": (i * 37) % 101}
            for i in range(n)]


def encode(records):
    return json.dumps(records)


def decode(text):
    return json.loads(text)


def summarise(records):
    total = 0
    for r in records:
        total += r["price"]
    return total / len(records)


def worker(jobs, results):
    while True:
        job = jobs.get()
        if job is None:
            return
        time.sleep(0.02)  # pretend to wait on the network
        results.append(job * 2)


def main():
    jobs, results = queue.Queue(), []
    thread = threading.Thread(target=worker, args=(jobs, results),
                              name="network-worker")
    thread.start()
    for round_no in range(8):
        records = decode(encode(make_records(40000)))
        print(f"round {round_no}: mean price {summarise(records):.2f}")
        jobs.put(round_no)
    jobs.put(None)
    thread.join()
    print(f"worker answered {len(results)} jobs")


if __name__ == "__main__":
    main()
