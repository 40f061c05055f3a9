"""A real server for concurrency tests: gunicorn workers with their own connections.

It gets a database of its own (a fresh SQLite file, or a new PostgreSQL database on the
TEST_DATABASE_URL server), migrated and loaded through the CLI as in production.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


@dataclass
class Reply:
    status: int
    body: dict


@dataclass
class LiveServer:
    base_url: str
    engine: sa.Engine
    env: dict

    def flask(self, *args: str) -> str:
        """Run a CLI command against the server's database; returns its output."""
        return flask(self.env, *args)

    def staff_headers(self, username: str, role: str) -> dict:
        password = "live server staff password"
        self.flask("staff", "create", username, "--role", role, "--password", password)
        body = {"username": username, "password": password}
        token = self.call("POST", "/api/v1/staff/auth/login", body).body["access_token"]
        return {"Authorization": f"Bearer {token}"}

    def call(self, method: str, path: str, body: dict | None = None, headers=None) -> Reply:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.base_url + path, data=data, method=method)
        request.add_header("Content-Type", "application/json")
        for name, value in (headers or {}).items():
            request.add_header(name, value)
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                raw = response.read()
                return Reply(response.status, json.loads(raw) if raw else {})
        except urllib.error.HTTPError as error:
            return Reply(error.code, json.loads(error.read() or b"{}"))

    def upload(self, path: str, filename: str, data: bytes, headers: dict) -> Reply:
        """A multipart/form-data POST with one `file` field."""
        boundary = "zqlivetestboundary"
        body = (
            (
                f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
                f'filename="{filename}"\r\nContent-Type: application/octet-stream\r\n\r\n'
            ).encode()
            + data
            + f"\r\n--{boundary}--\r\n".encode()
        )
        request = urllib.request.Request(self.base_url + path, data=body, method="POST")
        request.add_header("Content-Type", f"multipart/form-data; boundary={boundary}")
        for name, value in headers.items():
            request.add_header(name, value)
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return Reply(response.status, json.loads(response.read() or b"{}"))
        except urllib.error.HTTPError as error:
            return Reply(error.code, json.loads(error.read() or b"{}"))

    def sign_in(self, phone: str) -> dict:
        code = self.call("POST", "/api/v1/auth/otp", {"phone": phone}).body["dev_code"]
        tokens = self.call("POST", "/api/v1/auth/login", {"phone": phone, "code": code}).body
        return {"Authorization": f"Bearer {tokens['access_token']}"}


def flask(env: dict, *args: str) -> str:
    """Run a CLI command with this environment; returns its output."""
    done = subprocess.run(
        [BIN / "flask", "--app", "wsgi", *args],
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
        urllib.request.urlopen(url, timeout=60) as response,
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
    app: str = "wsgi:app",
) -> Iterator[str]:
    """gunicorn serving `app` on a free 127.0.0.1 port while the block runs; its URL.

    Its output goes to workdir/gunicorn.log, which is raised if it does not come up.
    """
    port = free_port()
    log = open(workdir / "gunicorn.log", "ab")  # noqa: SIM115 - closed below
    process = subprocess.Popen(
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
                subprocess.Popen(
                    [BIN / "flask", "--app", "wsgi", "worker"],
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
def _own_database(workdir: Path) -> Iterator[str]:
    server_url = os.environ.get("TEST_DATABASE_URL")
    if not server_url:
        yield f"sqlite:///{workdir / 'live.db'}"
        return
    name = "zq_live_" + secrets.token_hex(4)
    admin = sa.create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield (
            sa.engine.make_url(server_url).set(database=name).render_as_string(hide_password=False)
        )
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@contextlib.contextmanager
def live_server(
    workdir: Path,
    workers: int = 4,
    extra_env: dict | None = None,
    app: str = "wsgi:app",
    outbox_workers: int = 1,
) -> Iterator[LiveServer]:
    """gunicorn with `workers` processes and `outbox_workers` `flask worker` processes."""
    with _own_database(workdir) as url:
        env = {
            **os.environ,
            "APP_ENV": "test",
            "DATABASE_URL": url,
            "INSTANCE_PATH": str(workdir),
            "OTP_LIMIT_PER_IP": "100000 per hour",
            "LOGIN_LIMIT_PER_IP": "100000 per hour",
            "STAFF_LOGIN_LIMIT_PER_IP": "100000 per hour",
            "ACTION_LIMIT_PER_RESIDENT": "100000 per minute",
            "BENCHMARK_ENDPOINTS": "1",  # POST /api/v1/bench/calibrate, for the load scenarios
            "LOG_LEVEL": "WARNING",
            **(extra_env or {}),
        }
        for command in (["db", "upgrade"], ["refdata", "load"]):
            flask(env, *command)
        engine = sa.create_engine(url)
        try:
            with (
                gunicorn(env, workdir, workers, threads=4, app=app) as base_url,
                worker_processes(env, workdir, outbox_workers),
            ):
                yield LiveServer(base_url, engine, env)
        finally:
            engine.dispose()
