"""@microlog.timed calls with one anomalously slow call among similar
ones, and @microlog.catch_errors recording an error it re-raises."""

import time

import microlog


@microlog.timed
def handle(request_id, size):
    deadline = time.perf_counter() + size / 1000
    while time.perf_counter() < deadline:
        pass
    return request_id


@microlog.catch_errors
def parse(text):
    return int(text)


if __name__ == "__main__":
    for i in range(40):
        handle(i, 300 if i == 27 else 10)  # call 27 is the slow one
    for text in ["1", "2", "three"]:
        try:
            parse(text)
        except ValueError as e:
            print("could not parse:", e)
