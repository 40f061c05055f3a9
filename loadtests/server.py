"""The server under test: a fresh database, migrated and seeded through the CLI as in
production, served by gunicorn on 127.0.0.1 with the benchmark endpoint and raised limits.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import re
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from loadtests import bodies
from tests.live_server import BIN, ROOT, flask, gunicorn

# Limits meant for one person are far below a load generator's: raised, never disabled.
RAISED_LIMITS = {
    "OTP_LIMIT_PER_PHONE": "100000 per minute",
    "OTP_LIMIT_PER_IP": "1000000 per hour",
    "LOGIN_LIMIT_PER_IP": "1000000 per hour",
    "STAFF_LOGIN_LIMIT_PER_IP": "1000000 per hour",
    "ACTION_LIMIT_PER_RESIDENT": "1000000 per minute",
}


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
        login = {"phone": phone, "code": sent["dev_code"]}
        status, tokens = self.call("POST", "/api/v1/auth/login", login)
        if status != 200:
            raise RuntimeError(f"sign-in refused: {status} {tokens}")
        auth = {"Authorization": f"Bearer {tokens['access_token']}"}
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
    """Whether `flask bench generate` exists in this tree (admin/bench)."""
    done = subprocess.run(  # noqa: S603 - the project's own executables
        [BIN / "flask", "--app", "wsgi", "bench", "generate", "--help"],
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
        "BENCHMARK_ENDPOINTS": "1",
        "LOG_LEVEL": "WARNING",
        **RAISED_LIMITS,
    }


def drb_key(env: dict) -> str:
    """A new DRB API key (`flask drb-key create`), for a database seeded elsewhere."""
    output = flask(env, "drb-key", "create", "benchmark")
    return re.search(r"\b(drb_\S+)", output).group(1)


@contextlib.contextmanager
def serve(
    env: dict, workdir: Path, workers: int, threads: int, app: str = "wsgi:app"
) -> Iterator[Server]:
    with gunicorn(env, workdir, workers, threads, start_timeout=60, app=app) as base_url:
        yield Server(base_url, env, workdir)
