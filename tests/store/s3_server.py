"""A real signature-checking S3 server for tests: moto_server (PyPI
`moto[server]`, pinned in tests/store/requirements.txt) on a free
127.0.0.1 port.

moto checks signatures (and IAM permissions) only after its first
INITIAL_NO_AUTH_ACTION_COUNT requests. The helper spends exactly those on
creating an IAM user with an s3:* policy, its access key and the bucket,
so every later request must be signed with that key. Readiness is probed
by TCP connect, because an HTTP probe would count as one of those
requests.

    from s3_server import S3Server
    srv = S3Server(tmp_dir).start()
    srv.endpoint, srv.bucket, srv.access_key, srv.secret_key
    srv.env()            # AWS_* variables for ml_s3_config_from_env
    srv.session_credentials()  # temporary key + AWS_SESSION_TOKEN
    srv.pause(5)         # SIGSTOP for 5 s: requests hang (timeouts)
    srv.restart(2)       # down 2 s (refused), back on the same port with
                         # the same key and bucket, but no objects
    srv.stop()

moto keeps everything in memory: a restart loses the objects. The key
stays the same because moto's random generator is seeded first.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Dict, Optional

import boto3
from botocore.config import Config

HOST = "127.0.0.1"
REGION = "us-east-1"
# The requests made without signature checks: CreateUser, PutUserPolicy,
# CreateAccessKey, CreateBucket.
NO_AUTH_REQUESTS = 4
SEED = 1313  # moto's random generator: the same key after a restart
START_TIMEOUT = 30.0
USER = "microlog-tests"
# The user may also make a role and assume it (session_credentials).
POLICY = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": ["s3:*", "sts:*", "iam:*"],
                   "Resource": "*"}],
}
ROLE = "microlog-tests-role"
TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"},
                   "Action": "sts:AssumeRole"}],
}
ROLE_POLICY = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}],
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex((HOST, port)) == 0


class S3Server:
    """One moto_server process with a signed-in user and one bucket."""

    def __init__(self, workdir: Path, bucket: str = "microlog-test",
                 port: Optional[int] = None):
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.bucket = bucket
        self.port = port or free_port()
        self.endpoint = f"http://{HOST}:{self.port}"
        self.access_key = ""
        self.secret_key = ""
        self.prefix = ""  # set per test by the conftest's s3 fixture
        self.proc: Optional[subprocess.Popen] = None
        self._log = None

    # ---- life cycle ----------------------------------------------------

    def start(self) -> "S3Server":
        env = dict(os.environ)
        env["INITIAL_NO_AUTH_ACTION_COUNT"] = str(NO_AUTH_REQUESTS)
        env.pop("AWS_ENDPOINT_URL", None)
        self._log = open(self.workdir / "moto.log", "ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", HOST, "-p",
             str(self.port)],
            cwd=self.workdir, env=env, stdout=self._log,
            stderr=subprocess.STDOUT)
        self._wait_listening()
        self._provision()
        return self

    def _wait_listening(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while not _port_open(self.port):
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"moto_server exited ({self.proc.returncode}); see "
                    f"{self.workdir / 'moto.log'}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"moto_server not listening on "
                                   f"{self.port} after {START_TIMEOUT} s")
            time.sleep(0.05)

    def _client(self, service: str, key: str = "x", secret: str = "x"):
        return boto3.client(
            service, endpoint_url=self.endpoint, region_name=REGION,
            aws_access_key_id=key, aws_secret_access_key=secret,
            config=Config(retries={"max_attempts": 1},
                          s3={"addressing_style": "path"}))

    def _provision(self) -> None:
        # Not an AWS action, so not counted among the unsigned requests.
        import urllib.request
        urllib.request.urlopen(urllib.request.Request(
            f"{self.endpoint}/moto-api/seed?a={SEED}", method="POST"),
            timeout=10).read()
        iam = self._client("iam")
        iam.create_user(UserName=USER)
        iam.put_user_policy(UserName=USER, PolicyName="s3-all",
                            PolicyDocument=json.dumps(POLICY))
        k = iam.create_access_key(UserName=USER)["AccessKey"]
        self.access_key = k["AccessKeyId"]
        self.secret_key = k["SecretAccessKey"]
        self.s3().create_bucket(Bucket=self.bucket)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            if self.proc.pid:
                os.kill(self.proc.pid, signal.SIGCONT)  # if paused
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        if self._log is not None:
            self._log.close()
            self._log = None

    def restart(self, down_seconds: float = 0.0) -> None:
        """Stops the server, waits, starts it on the same port with the
        same key and bucket (objects are gone)."""
        self.stop()
        time.sleep(down_seconds)
        self.start()

    def pause(self, seconds: float, wait: bool = False) -> threading.Thread:
        """Freezes the server (SIGSTOP) for seconds: connections are
        accepted by the kernel but never answered. Returns the thread that
        resumes it (joined first when wait)."""
        os.kill(self.proc.pid, signal.SIGSTOP)

        def resume() -> None:
            time.sleep(seconds)
            if self.proc is not None and self.proc.poll() is None:
                os.kill(self.proc.pid, signal.SIGCONT)

        t = threading.Thread(target=resume, daemon=True)
        t.start()
        if wait:
            t.join()
        return t

    # ---- for tests -----------------------------------------------------

    def s3(self, secret: Optional[str] = None):
        """A boto3 S3 client signed with the test user's key."""
        return self._client("s3", self.access_key,
                            secret if secret is not None else self.secret_key)

    def session_credentials(self) -> Dict[str, str]:
        """Temporary credentials (AWS_* variables with AWS_SESSION_TOKEN)
        of a role allowed s3:*, assumed by the test user."""
        iam = self._client("iam", self.access_key, self.secret_key)
        try:
            arn = iam.get_role(RoleName=ROLE)["Role"]["Arn"]
        except iam.exceptions.NoSuchEntityException:
            arn = iam.create_role(
                RoleName=ROLE,
                AssumeRolePolicyDocument=json.dumps(TRUST))["Role"]["Arn"]
            iam.put_role_policy(RoleName=ROLE, PolicyName="s3-all",
                                PolicyDocument=json.dumps(ROLE_POLICY))
        sts = self._client("sts", self.access_key, self.secret_key)
        c = sts.assume_role(RoleArn=arn,
                            RoleSessionName="tests")["Credentials"]
        return {"AWS_ACCESS_KEY_ID": c["AccessKeyId"],
                "AWS_SECRET_ACCESS_KEY": c["SecretAccessKey"],
                "AWS_SESSION_TOKEN": c["SessionToken"]}

    def env(self, **overrides: str) -> Dict[str, str]:
        """The environment for ml_s3_config_from_env, on top of ours."""
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("AWS_")}
        env.update({
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": self.secret_key,
            "AWS_REGION": REGION,
            "AWS_ENDPOINT_URL_S3": self.endpoint,
            "MICROLOG_S3_PATH_STYLE": "true",
        })
        env.update(overrides)
        return env

    def __enter__(self) -> "S3Server":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
