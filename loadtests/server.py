"""The server under test: a fresh database, migrated and seeded through the CLI as in
production, served by gunicorn on 127.0.0.1 with raised limits; the CLI and gunicorn
helpers the test suite's live servers use too.

The benchmark serves its own app (`BENCH_APP`: the service with the calibration write)
and runs `flask bench ...` through it (`BENCH_CLI`); the service never has either.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from loadtests import bodies

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
SERVICE_APP = "wsgi:app"
SERVICE_CLI = "wsgi"
BENCH_APP = "loadtests.app:create_app()"  # gunicorn's spelling
BENCH_CLI = "loadtests.app"  # flask --app's

# Limits meant for one person are far below a load generator's: raised, never disabled.
RAISED_LIMITS = {
    "OTP_LIMIT_PER_PHONE": "100000 per minute",
    "OTP_LIMIT_PER_IP": "1000000 per hour",
    "LOGIN_LIMIT_PER_IP": "1000000 per hour",
    "ACTION_LIMIT_PER_RESIDENT": "1000000 per minute",
    "PHOTO_LIMIT_PER_RESIDENT": "1000000 per minute",
    "SMS_DAILY_BUDGET": "100000000",
    "SMS_DAILY_BUDGET_PER_PREFIX": "100000000",
    "SMS_DAILY_BUDGET_PER_IP": "100000000",
}


def flask(env: dict, *args: str, app: str = SERVICE_CLI) -> str:
    """Run a CLI command of `app` with this environment; returns its output."""
    done = subprocess.run(  # noqa: S603 - the project's own executables
        [BIN / "flask", "--app", app, *args],
        env=env,
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    )
    return done.stdout


KEEP_ALIVE_SECONDS = 75


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _answers(url: str) -> bool:
    with (
        contextlib.suppress(urllib.error.URLError, ConnectionError),
        urllib.request.urlopen(url, timeout=60) as response,  # noqa: S310 - ours
    ):
        return response.status == 200
    return False


@contextlib.contextmanager
def gunicorn(
    env: dict,
    workdir: Path,
    workers: int,
    threads: int,
    start_timeout: float = 30,
    app: str = SERVICE_APP,
) -> Iterator[str]:
    """gunicorn serving `app` on a free 127.0.0.1 port while the block runs; its URL.

    Its output goes to workdir/gunicorn.log, which is raised if it does not come up.
    """
    port = free_port()
    log = open(workdir / "gunicorn.log", "ab")  # noqa: SIM115 - closed below
    process = subprocess.Popen(  # noqa: S603 - the project's own executables
        [
            BIN / "gunicorn",
            "--workers",
            str(workers),
            "--threads",
            str(threads),
            "--bind",
            f"127.0.0.1:{port}",
            # Longer than any client stays idle between requests (locust's think time,
            # a partner's pacing): a connection the server closes just as the client
            # sends on it again is a request lost without an answer.
            "--keep-alive",
            str(KEEP_ALIVE_SECONDS),
            app,
        ],
        env=env,
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + start_timeout
        while not _answers(base_url + "/healthz"):
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError((workdir / "gunicorn.log").read_text())
            time.sleep(0.1)
        yield base_url
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


@contextlib.contextmanager
def worker_processes(env: dict, workdir: Path, count: int = 1) -> Iterator[list]:
    """`flask worker` processes applying the outbox while the block runs (output in
    workdir/worker-N.log); stopped with SIGTERM afterwards, as a supervisor does."""
    processes = []
    logs = []
    try:
        for n in range(count):
            log = open(workdir / f"worker-{n}.log", "ab")  # noqa: SIM115 - closed below
            logs.append(log)
            processes.append(
                subprocess.Popen(  # noqa: S603 - the project's own executables
                    [BIN / "flask", "--app", SERVICE_CLI, "worker"],
                    env=env,
                    cwd=ROOT,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )
        yield processes
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=30)
        for log in logs:
            log.close()


@contextlib.contextmanager
def postgres_cluster(workdir: Path) -> Iterator[str]:
    """A throw-away PostgreSQL 15 cluster, held open by tests/with_postgres.sh; its URL.

    Durable, unlike the test suite's: fsync and synchronous commit on, as in production.
    """
    url_file, stop_file = workdir / "postgres.url", workdir / "postgres.stop"
    hold = (
        'echo "$TEST_DATABASE_URL" > "$ZQ_URL_FILE"; '
        'while [ ! -e "$ZQ_STOP_FILE" ] && kill -0 "$ZQ_OWNER" 2>/dev/null; do sleep 0.2; done'
    )
    env = {
        **os.environ,
        "ZQ_URL_FILE": str(url_file),
        "ZQ_STOP_FILE": str(stop_file),
        "ZQ_OWNER": str(os.getpid()),  # the cluster goes when we do, however we end
        "ZQ_PG_DURABLE": "1",
    }
    script = [ROOT / "tests" / "with_postgres.sh", "sh", "-c", hold]
    holder = subprocess.Popen(script, env=env)  # noqa: S603 - the project's own script
    try:
        deadline = time.monotonic() + 300  # the first run may install PostgreSQL
        while not url_file.exists() or not url_file.read_text().strip():
            if holder.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("tests/with_postgres.sh did not start a cluster")
            time.sleep(0.2)
        yield url_file.read_text().strip()
    finally:
        stop_file.touch()
        holder.wait(timeout=60)


@dataclass
class Resident:
    phone: str
    access_token: str


@dataclass
class Server:
    base_url: str
    env: dict
    workdir: Path

    @property
    def credentials(self) -> dict:
        return json.loads((self.workdir / "demo-credentials.json").read_text())

    def call(self, method: str, path: str, body=None, headers=None, data=None):
        """(status, JSON body) of one request; `data` is sent raw when given."""
        if data is None and body is not None:
            data = json.dumps(body).encode()
        url = self.base_url + path
        request = urllib.request.Request(url, data=data, method=method)  # noqa: S310 - ours
        request.add_header("Content-Type", "application/json")
        for name, value in (headers or {}).items():
            request.add_header(name, value)
        try:
            with urllib.request.urlopen(request, timeout=120) as response:  # noqa: S310
                raw = response.read()
                return response.status, json.loads(raw) if raw else {}
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"{}")

    def sign_in(self, rng: random.Random, district: str) -> Resident:
        while True:
            phone = bodies.new_phone(rng)
            status, sent = self.call("POST", "/api/v1/auth/otp", {"phone": phone})
            if status == 202:
                break
        login = {
            "phone": phone,
            "code": sent["dev_code"],
            "privacy_version": bodies.privacy_version(),
        }
        status, tokens = self.call("POST", "/api/v1/auth/login", login)
        if status != 200:
            raise RuntimeError(f"sign-in refused: {status} {tokens}")
        auth = {"Authorization": f"Bearer {tokens['access_token']}"}
        self.call("POST", "/api/v1/me/consents", bodies.location_consent(), auth)
        profile = {"nickname": f"压测{phone[-4:]}", "district_code": district}
        self.call("PATCH", "/api/v1/me", profile, auth)
        return Resident(phone, tokens["access_token"])

    def sign_in_many(self, count: int, districts: list[str]) -> list[Resident]:
        """`count` new residents spread over the districts, signed in a few at a time."""
        rng = random.Random(count)
        with ThreadPoolExecutor(max_workers=4) as pool:
            return list(
                pool.map(lambda i: self.sign_in(rng, districts[i % len(districts)]), range(count))
            )


def has_generator(env: dict) -> bool:
    """Whether the benchmark's app has `flask bench generate` (loadtests/bigdb)."""
    done = subprocess.run(  # noqa: S603 - the project's own executables
        [BIN / "flask", "--app", BENCH_CLI, "bench", "generate", "--help"],
        env=env,
        cwd=ROOT,
        capture_output=True,
    )
    return done.returncode == 0


def server_env(database_url: str, workdir: Path) -> dict:
    return {
        **os.environ,
        "APP_ENV": "development",  # the console SMS sender: codes come back as dev_code
        "DATABASE_URL": database_url,
        "INSTANCE_PATH": str(workdir),
        "LOG_LEVEL": "WARNING",
        **RAISED_LIMITS,
    }


def drb_key(env: dict) -> str:
    """A new DRB API key (`flask drb-key create`), for a database seeded elsewhere."""
    output = flask(env, "drb-key", "create", "benchmark")
    return re.search(r"\b(drb_\S+)", output).group(1)


@contextlib.contextmanager
def serve(
    env: dict, workdir: Path, workers: int, threads: int, app: str = BENCH_APP
) -> Iterator[Server]:
    with gunicorn(env, workdir, workers, threads, start_timeout=60, app=app) as base_url:
        yield Server(base_url, env, workdir)
