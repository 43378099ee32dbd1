"""A known split: hot() spins 70% of the time and cold() 30%, so every
profiler's attribution error can be measured in percentage points."""

import time


def hot(seconds):
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


def cold(seconds):
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


for _ in range(200):
    hot(0.007)
    cold(0.003)
