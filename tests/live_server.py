"""A real server for concurrency tests: gunicorn workers with their own connections.

It gets a database of its own (a fresh SQLite file, or a new PostgreSQL database on the
TEST_DATABASE_URL server), migrated and loaded through the CLI as in production. It serves
the service (`wsgi:app`) unless told another app, such as the benchmark's
(`loadtests.server.BENCH_APP`).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

from loadtests import bodies
from loadtests.server import flask, gunicorn, worker_processes


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

    def published_campaign(self, staff: dict, days: tuple[int, int], **fields) -> dict:
        """A campaign made and published through the staff API, running from `days[0]`
        days ago to `days[1]` days ahead of the machine's clock (the server's)."""
        now = datetime.now(UTC)
        body = {
            "starts_at": (now - timedelta(days=days[0])).isoformat(),
            "ends_at": (now + timedelta(days=days[1])).isoformat(),
            **fields,
        }
        created = self.call("POST", "/api/v1/staff/campaigns", body, staff)
        assert created.status == 201, created.body
        path = f"/api/v1/staff/campaigns/{created.body['id']}/publish"
        published = self.call("POST", path, None, staff)
        assert published.status == 200, published.body
        return published.body

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

    def wait_for_worker(self, timeout_s: float = 60) -> None:
        """Until the worker has applied every approval (the outbox is empty)."""
        deadline = time.monotonic() + timeout_s
        query = sa.text("SELECT COUNT(*) FROM approval_outbox")
        while True:
            with self.engine.connect() as connection:
                if connection.execute(query).scalar() == 0:
                    return
            assert time.monotonic() < deadline, "the worker did not drain the outbox"
            time.sleep(0.2)

    def sign_in(self, phone: str) -> dict:
        code = self.call("POST", "/api/v1/auth/otp", {"phone": phone}).body["dev_code"]
        login = {"phone": phone, "code": code, "privacy_version": bodies.privacy_version()}
        tokens = self.call("POST", "/api/v1/auth/login", login).body
        headers = {"Authorization": f"Bearer {tokens['access_token']}"}
        self.call("POST", "/api/v1/me/consents", bodies.location_consent(), headers)
        return headers


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
            "ACTION_LIMIT_PER_RESIDENT": "100000 per minute",
            "SMS_DAILY_BUDGET": "100000000",
            "SMS_DAILY_BUDGET_PER_PREFIX": "100000000",
            "SMS_DAILY_BUDGET_PER_IP": "100000000",
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
