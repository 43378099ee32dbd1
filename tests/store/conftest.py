"""Fixtures of the store's tests: a real PostgreSQL (pg_fixtures.py)."""

from pg_fixtures import *  # noqa: F401,F403
