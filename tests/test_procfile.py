"""The Procfile `make demo` runs with honcho: the web server on gunicorn.conf.py with its
metrics folder, the worker, and the demo's own Redis, in which the web workers keep their
rate limits: with two workers a limit is met once, not once per worker, and a restart
keeps the counts (attack 1 of issue 20, as it was first made, against `make demo`)."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from loadtests.server import flask, free_port
from tests.live_server import LiveServer, _own_database

ROOT = Path(__file__).resolve().parent.parent
HONCHO = Path(sys.executable).parent / "honcho"


def test_honcho_reads_the_procfile_with_a_web_a_worker_and_a_redis():
    done = subprocess.run([HONCHO, "check"], cwd=ROOT, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert "(web, worker, redis)" in done.stderr
    web = next(
        line for line in (ROOT / "Procfile").read_text().splitlines() if line.startswith("web:")
    )
    assert "--config gunicorn.conf.py" in web and "PROMETHEUS_MULTIPROC_DIR" in web


@contextlib.contextmanager
def honcho(env: dict, log: Path) -> Iterator[str]:
    """`honcho start` as `make demo` runs it, until the block ends; the web server's URL."""
    port = free_port()
    with open(log, "ab") as output:
        process = subprocess.Popen(
            [HONCHO, "start", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        url = f"http://127.0.0.1:{port}"
        server = LiveServer(url, None, env)
        for _ in range(300):
            with contextlib.suppress(OSError):
                if server.call("GET", "/healthz").status == 200:
                    break
            assert process.poll() is None, log.read_text()
            time.sleep(0.1)
        else:
            raise AssertionError(log.read_text())
        yield url
    finally:
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def wrong_sign_ins(url: str, n: int) -> Counter:
    """n wrong codes from one address, eight at a time (so both workers take some)."""
    server = LiveServer(url, None, {})

    def send(i: int):
        body = {"phone": f"1390000{i:04d}", "code": "123456"}
        reply = server.call("POST", "/api/v1/auth/login", body)
        return reply.status, reply.body.get("error", {}).get("code")

    with ThreadPoolExecutor(8) as pool:
        return Counter(pool.map(send, range(n)))


@pytest.mark.real_clock
@pytest.mark.skipif(
    shutil.which("redis-server") is None, reason="no redis-server: `make test` installs it"
)
def test_the_demos_two_workers_count_a_limit_once_and_keep_it_across_a_restart(tmp_path):
    with _own_database(tmp_path) as database_url:
        env = {
            key: value
            for key, value in os.environ.items()
            if key not in ("RATELIMIT_STORAGE_URI", "PROMETHEUS_MULTIPROC_DIR", "PORT")
        }
        env.update(
            APP_ENV="development",
            DATABASE_URL=database_url,
            INSTANCE_PATH=str(tmp_path),
            LOG_LEVEL="WARNING",
            LOGIN_LIMIT_PER_IP="5 per hour",
            WEB_CONCURRENCY="2",
        )
        flask(env, "db", "upgrade")
        with honcho(env, tmp_path / "honcho.log") as url:
            assert wrong_sign_ins(url, 24) == {(401, "otp_expired"): 5, (429, "rate_limited"): 19}
        assert (tmp_path / "redis" / "appendonlydir").is_dir()
        with honcho(env, tmp_path / "honcho.log") as url:
            assert wrong_sign_ins(url, 8) == {(429, "rate_limited"): 8}
