"""A module that is slow to import (it builds a table at import time), so
that the viewer shows where start-up time went."""

TABLE = {}
for _i in range(400000):
    TABLE[_i] = str(_i * _i)
