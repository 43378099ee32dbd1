"""A throw-away PostgreSQL server for tests: initdb in a temporary
directory, started on a free port of 127.0.0.1 with its socket in that
directory, stopped and removed at the end. Data survive restart() and
crash() + start(), for reliability tests.

Works on a fresh Debian 12 machine with only `apt-get install
postgresql-15`: the binaries come from /usr/lib/postgresql/*/bin (or
$ML_PG_BIN). initdb refuses to run as root, so as root the server runs
as the `postgres` user the package created, in a directory it owns.

    with PgServer() as pg:
        pg.create_database("t1")
        uri = pg.uri("t1")    # postgresql://postgres@127.0.0.1:PORT/t1
        pg.restart()
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path


def pg_bindir() -> Path:
    """The newest PostgreSQL server binaries, or $ML_PG_BIN."""
    env = os.environ.get("ML_PG_BIN")
    if env:
        return Path(env)
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: (
            int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0
        ),
    )
    if not found:
        raise RuntimeError(
            "no PostgreSQL server: apt-get install postgresql-15"
        )
    return Path(found[-1]).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PgServer:
    """One PostgreSQL cluster in a temporary directory."""

    def __init__(self, port: int | None = None) -> None:
        self.bindir = pg_bindir()
        self.as_postgres = os.geteuid() == 0
        # As root the directory must be reachable by `postgres`: under
        # /tmp, not a TMPDIR that may be root's own ($ML_PG_TMP overrides).
        base = os.environ.get("ML_PG_TMP") or (
            "/tmp" if self.as_postgres else None
        )
        self.dir = Path(tempfile.mkdtemp(prefix="ml-pg-", dir=base))
        self.data = self.dir / "data"
        self.log = self.dir / "server.log"
        self.port = port or free_port()
        self.user = (
            "postgres"
            if self.as_postgres
            else pwd.getpwuid(os.geteuid()).pw_name
        )
        if self.as_postgres:
            pw = pwd.getpwnam("postgres")
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)
        os.chmod(self.dir, 0o700)
        self._run(
            "initdb",
            "-D",
            str(self.data),
            "-A",
            "trust",
            "-U",
            self.user,
            "-E",
            "UTF8",
            "--no-sync",
        )
        self.start()

    def _cmd(self, prog: str, *args: str) -> list[str]:
        cmd = [str(self.bindir / prog), *args]
        return (
            ["runuser", "-u", "postgres", "--", *cmd]
            if self.as_postgres
            else cmd
        )

    def _run(
        self, prog: str, *args: str, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self._cmd(prog, *args),
            check=check,
            capture_output=True,
            text=True,
            timeout=60,
            cwd=self.dir,
        )

    def start(self) -> None:
        """Starts the server on self.port and waits until it accepts."""
        opts = (
            f"-c fsync=off -c listen_addresses=127.0.0.1 -k {self.dir}"
            f" -p {self.port} -c max_connections=200"
        )
        r = self._run(
            "pg_ctl",
            "-D",
            str(self.data),
            "-l",
            str(self.log),
            "-o",
            opts,
            "-w",
            "-t",
            "30",
            "start",
            check=False,
        )
        if r.returncode != 0:
            raise RuntimeError(
                f"pg_ctl start failed: {r.stdout}{r.stderr}{self.log_text()}"
            )

    def stop(self, mode: str = "fast") -> None:
        """Stops the server (fast: disconnects clients; immediate: a crash)."""
        self._run(
            "pg_ctl",
            "-D",
            str(self.data),
            "-m",
            mode,
            "-w",
            "stop",
            check=False,
        )

    def restart(self) -> None:
        self.stop()
        self.start()

    def crash(self) -> None:
        """Stops without a shutdown checkpoint, as a killed server would."""
        self.stop("immediate")

    def uri(self, dbname: str = "postgres") -> str:
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{dbname}"

    def psql(self, sql: str, dbname: str = "postgres") -> str:
        """Runs sql with psql; the unaligned, tuples-only output."""
        r = self._run(
            "psql",
            "-X",
            "-q",
            "-A",
            "-t",
            "-v",
            "ON_ERROR_STOP=1",
            "-h",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-U",
            self.user,
            "-d",
            dbname,
            "-c",
            sql,
        )
        return r.stdout.strip()

    def create_database(self, name: str) -> str:
        """A new empty database (name: letters, digits, _); its URI."""
        if not name.replace("_", "").isalnum():
            raise ValueError(name)
        self.psql(f"CREATE DATABASE {name}")
        return self.uri(name)

    def log_text(self) -> str:
        try:
            return self.log.read_text(errors="replace")
        except OSError:
            return ""

    def close(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> PgServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


if __name__ == "__main__":
    t0 = time.monotonic()
    with PgServer() as pg:
        print(pg.uri(), f"{time.monotonic() - t0:.2f} s")
        print(pg.psql("SELECT version()"))
