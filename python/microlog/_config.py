"""Settings from the environment, checked once when a recording starts.

Every variable is optional; a bad value raises ``ConfigError`` naming the
variable, the value and what would be accepted.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Optional


class ConfigError(ValueError):
    """A MICROLOG_* environment variable has a value microlog cannot use."""


TRUE_WORDS = {"1", "true", "yes", "on"}
FALSE_WORDS = {"", "0", "false", "no", "off"}
SAMPLERS = ("auto", "native", "fallback")


@dataclass(frozen=True)
class Config:
    disabled: bool = False
    directory: Path = Path("~/.microlog").expanduser()
    sample_delay: float = 0.001
    status_delay: float = 0.1
    memory_delay: float = 1.0
    sampler: str = "auto"
    server: str = "http://127.0.0.1:7777"
    quiet: bool = False


def _flag(env: Mapping[str, str], name: str) -> bool:
    raw = env.get(name, "")
    word = raw.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ConfigError(f"{name}={raw!r}: expected true or false")


def _seconds(env: Mapping[str, str], name: str, default: float,
             minimum: float) -> float:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(
            f"{name}={raw!r}: expected a number of seconds, "
            f"such as {default}") from None
    if not math.isfinite(value) or value < minimum or value > 3600:
        raise ConfigError(
            f"{name}={raw!r}: must be between {minimum} and 3600 seconds")
    return value


def from_environment(env: Optional[Mapping[str, str]] = None) -> Config:
    """Reads the MICROLOG_* variables (os.environ by default)."""
    env = os.environ if env is None else env
    sampler = env.get("MICROLOG_SAMPLER", "auto").strip().lower() or "auto"
    if sampler not in SAMPLERS:
        raise ConfigError(
            f"MICROLOG_SAMPLER={sampler!r}: expected one of "
            + ", ".join(SAMPLERS))
    directory = env.get("MICROLOG_DIR", "").strip() or "~/.microlog"
    return Config(
        disabled=_flag(env, "MICROLOG_DISABLE"),
        directory=Path(directory).expanduser(),
        sample_delay=_seconds(env, "MICROLOG_SAMPLE_DELAY", 0.001, 0.00005),
        status_delay=_seconds(env, "MICROLOG_STATUS_DELAY", 0.1, 0.001),
        memory_delay=_seconds(env, "MICROLOG_MEMORY_DELAY", 1.0, 0.001),
        sampler=sampler,
        server=(env.get("MICROLOG_SERVER", "").strip()
                or "http://127.0.0.1:7777").rstrip("/"),
        quiet=_flag(env, "MICROLOG_QUIET"),
    )
