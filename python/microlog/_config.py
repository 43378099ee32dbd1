"""Settings from the environment, checked once when a recording starts.

Every variable is optional; a bad value raises ``ConfigError`` naming the
variable, the value and what would be accepted. (Imports are kept to what
the interpreter has already loaded: start-up cost is part of the budget.)
"""

from __future__ import annotations

import os

TRUE_WORDS = {"1", "true", "yes", "on"}
FALSE_WORDS = {"", "0", "false", "no", "off"}
SAMPLERS = ("auto", "native", "fallback")
LOG_LEVELS = {"notset": 0, "debug": 10, "info": 20, "warning": 30,
              "error": 40, "critical": 50}


DEFAULT_ROLLOVER_BYTES = 1 << 30  # 1 GiB
DEFAULT_ROLLOVER_SECONDS = 24 * 3600.0
_SIZE_UNITS = {"b": 1, "kb": 1000, "mb": 1000 ** 2, "gb": 1000 ** 3,
               "kib": 1024, "mib": 1024 ** 2, "gib": 1024 ** 3,
               "k": 1024, "m": 1024 ** 2, "g": 1024 ** 3}
_TIME_UNITS = {"s": 1.0, "min": 60.0, "h": 3600.0, "d": 86400.0}


class ConfigError(ValueError):
    """A MICROLOG_* (or TRACER_*) environment variable has a value microlog
    cannot use."""


class Config:
    """The MICROLOG_* settings in force."""

    __slots__ = ("disabled", "directory", "sample_delay", "status_delay",
                 "memory_delay", "sampler", "server", "quiet", "log_level",
                 "send", "server_set", "servers", "token", "s3_root",
                 "s3_region", "send_timeout", "rollover_bytes",
                 "rollover_seconds", "cache_entries")

    def __init__(self, disabled: bool = False,
                 directory: str = "~/.microlog", sample_delay: float = 0.001,
                 status_delay: float = 0.1, memory_delay: float = 1.0,
                 sampler: str = "auto",
                 server: str = "http://127.0.0.1:7777",
                 quiet: bool = False, log_level=None, send: bool = False,
                 token: str = "", s3_root: str = "", s3_region: str = "",
                 send_timeout: float = 10.0, server_set: bool = False,
                 servers: str = "",
                 rollover_bytes: int = DEFAULT_ROLLOVER_BYTES,
                 rollover_seconds: float = DEFAULT_ROLLOVER_SECONDS,
                 cache_entries: int = 0) -> None:
        self.disabled = disabled
        self.directory = os.path.expanduser(directory)
        self.sample_delay = sample_delay
        self.status_delay = status_delay
        self.memory_delay = memory_delay
        self.sampler = sampler
        self.server = server
        self.quiet = quiet
        # logging records at or above this level are recorded even where
        # the program's logger levels drop them; None: only what they pass
        self.log_level = log_level
        # Stream the recording to the central store (docs/STORE.md): to
        # server when MICROLOG_SERVER is set, else straight to s3_root.
        self.send = send
        self.server_set = server_set  # MICROLOG_SERVER given: send there
        self.servers = servers  # all of them, separated by commas
        self.token = token
        self.s3_root = s3_root
        self.s3_region = s3_region
        self.send_timeout = send_timeout
        # a new linked file past this size or age (0: never)
        self.rollover_bytes = rollover_bytes
        self.rollover_seconds = rollover_seconds
        # code objects the sampler caches before emptying (0: default)
        self.cache_entries = cache_entries


def _flag(env, name: str) -> bool:
    raw = env.get(name, "")
    word = raw.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ConfigError(f"{name}={raw!r}: expected true or false")


# Microlog 1.4's names for the same settings; the MICROLOG_* name wins when
# both are set.
ALIASES = {
    "MICROLOG_SAMPLE_DELAY": "TRACER_SAMPLE_DELAY",
    "MICROLOG_STATUS_DELAY": "TRACER_STATUS_DELAY",
    "MICROLOG_MEMORY_DELAY": "TRACER_MEMORY_DELAY",
}


def _seconds(env, name: str, default: float, minimum: float) -> float:
    raw = env.get(name)
    alias = ALIASES.get(name)
    if (raw is None or raw.strip() == "") and alias and alias in env:
        name, raw = alias, env[alias]
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(
            f"{name}={raw!r}: expected a number of seconds, "
            f"such as {default}") from None
    # value - value is 0 only for a finite value (math.isfinite without
    # importing math: ~0.7 ms of every start)
    if value - value != 0 or value < minimum or value > 3600:
        raise ConfigError(
            f"{name}={raw!r}: must be between {minimum} and 3600 seconds")
    return value


def _log_level(env, name: str):
    raw = env.get(name, "")
    word = raw.strip().lower()
    if word == "":
        return None
    if word in LOG_LEVELS:
        return LOG_LEVELS[word]
    try:
        value = int(word)
    except ValueError:
        value = -1
    if 0 <= value <= 100:
        return value
    raise ConfigError(f"{name}={raw!r}: expected a logging level name ("
                      + ", ".join(LOG_LEVELS) + ") or a number 0-100")


def _rollover(env, name: str):
    """MICROLOG_ROLLOVER: a size ("512MB", "1GiB"), an age ("6h", "30min",
    "2d"), both ("24h,1GiB": whichever comes first), or "off". Returns
    (bytes, seconds), 0 meaning never."""
    raw = env.get(name, "")
    word = raw.strip().lower().replace(" ", "")
    if word == "":
        return DEFAULT_ROLLOVER_BYTES, DEFAULT_ROLLOVER_SECONDS
    if word in ("off", "never", "0", "no", "false"):
        return 0, 0.0
    size, age = 0, 0.0
    for part in word.split(","):
        digits = part.rstrip("abcdefghijklmnopqrstuvwxyz")
        unit = part[len(digits):]
        try:
            value = float(digits)
        except ValueError:
            value = -1.0
        if value > 0 and unit in _SIZE_UNITS and not size:
            size = int(value * _SIZE_UNITS[unit])
            if size < 4000:
                raise ConfigError(f"{name}={raw!r}: a size of at least "
                                  "4KB, please")
        elif value > 0 and unit in _TIME_UNITS and not age:
            age = value * _TIME_UNITS[unit]
            if age < 1 or age > 366 * 86400:
                raise ConfigError(f"{name}={raw!r}: an age between 1s and "
                                  "366d, please")
        else:
            raise ConfigError(
                f"{name}={raw!r}: expected a size (512MB, 1GiB), an age "
                "(6h, 30min, 2d), both separated by a comma, or off")
    return size, age


def _count(env, name: str, low: int, high: int) -> int:
    raw = env.get(name, "").strip()
    if raw == "":
        return 0
    try:
        value = int(raw)
    except ValueError:
        value = -1
    if not low <= value <= high:
        raise ConfigError(f"{name}={raw!r}: expected a whole number from "
                          f"{low} to {high}")
    return value


def from_environment(env=None) -> Config:
    """Reads the MICROLOG_* variables (os.environ by default)."""
    env = os.environ if env is None else env
    sampler = env.get("MICROLOG_SAMPLER", "auto").strip().lower() or "auto"
    if sampler not in SAMPLERS:
        raise ConfigError(
            f"MICROLOG_SAMPLER={sampler!r}: expected one of "
            + ", ".join(SAMPLERS))
    servers = env.get("MICROLOG_SERVER", "").strip()
    s3_root = env.get("MICROLOG_S3_ROOT", "").strip()
    for one in servers.split(",") if servers else ():
        if not one.strip().startswith(("http://", "https://")):
            raise ConfigError(f"MICROLOG_SERVER={servers!r}: expected "
                              "http://HOST:PORT (several separated by "
                              "commas)")
    # The printed link points to the first.
    server = servers.split(",")[0].strip().rstrip("/")
    if s3_root and not s3_root.startswith("s3://"):
        raise ConfigError(f"MICROLOG_S3_ROOT={s3_root!r}: expected "
                          "s3://BUCKET/PREFIX")
    rollover = _rollover(env, "MICROLOG_ROLLOVER")
    return Config(
        disabled=_flag(env, "MICROLOG_DISABLE"),
        directory=env.get("MICROLOG_DIR", "").strip() or "~/.microlog",
        sample_delay=_seconds(env, "MICROLOG_SAMPLE_DELAY", 0.001, 0.00005),
        status_delay=_seconds(env, "MICROLOG_STATUS_DELAY", 0.1, 0.001),
        memory_delay=_seconds(env, "MICROLOG_MEMORY_DELAY", 1.0, 0.001),
        sampler=sampler,
        server=server or "http://127.0.0.1:7777",
        quiet=_flag(env, "MICROLOG_QUIET"),
        log_level=_log_level(env, "MICROLOG_LOG_LEVEL"),
        send=bool(server or s3_root),
        server_set=bool(server),
        servers=servers,
        token=env.get("MICROLOG_TOKEN", "").strip(),
        s3_root=s3_root,
        s3_region=env.get("MICROLOG_S3_REGION", "").strip(),
        send_timeout=_seconds(env, "MICROLOG_SEND_TIMEOUT", 10.0, 0.0),
        rollover_bytes=rollover[0],
        rollover_seconds=rollover[1],
        cache_entries=_count(env, "MICROLOG_CACHE_ENTRIES", 64, 1 << 22),
    )
