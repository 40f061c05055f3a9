"""Attack 1 of issue 20, replayed against two app processes sharing one database and one
Redis: each limit refuses at its configured count, not once per process, and a restart
keeps the counts. Without TEST_REDIS_URL (tests/with_redis.sh sets it) the pair is skipped;
an unreachable Redis is a 503 either way.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import secrets
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
import sqlalchemy as sa
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from backend.extensions import limiter
from loadtests.server import flask, free_port, gunicorn
from tests.factories import privacy_version, sign_in
from tests.live_server import LiveServer, Reply, _own_database

REDIS_URL = os.environ.get("TEST_REDIS_URL")

# Small limits, so that each attack needs a dozen requests
LIMITS = {
    "OTP_LIMIT_PER_PHONE": "1 per minute;5 per hour;10 per day",
    "OTP_LIMIT_PER_IP": "6 per hour",
    "LOGIN_LIMIT_PER_IP": "5 per hour",
    "ACTION_LIMIT_PER_RESIDENT": "5 per minute",
    "SMS_DAILY_BUDGET_PER_IP": "4",
    "SMS_DAILY_BUDGET_PER_PREFIX": "3",
    "SMS_DAILY_BUDGET": "100000",
}
ATTEMPTS = 12

_blocks = itertools.count(1)
_addresses = itertools.count(1)


def fresh_block() -> str:
    """The first 7 digits of numbers no other test uses (the per-block budget is 3)."""
    return f"158{next(_blocks):04d}"


def fresh_phone() -> str:
    return f"{fresh_block()}{secrets.randbelow(10**4):04d}"


def fresh_address() -> dict:
    """A client address of its own (the servers trust one proxy's X-Forwarded-For)."""
    n = next(_addresses)
    return {"X-Forwarded-For": f"198.51.{n // 250}.{n % 250 + 1}"}


class Pair:
    """Two gunicorn servers, one worker process each, on one database and one Redis."""

    def __init__(self, env: dict, workdir, engine: sa.Engine) -> None:
        self.env = env
        self.workdir = workdir
        self.engine = engine
        self.servers: list[LiveServer | None] = [None, None]
        self._stacks = [contextlib.ExitStack(), contextlib.ExitStack()]

    def start(self, i: int) -> None:
        logs = self.workdir / f"server-{i}"
        logs.mkdir(exist_ok=True)
        url = self._stacks[i].enter_context(gunicorn(self.env, logs, workers=1, threads=4))
        self.servers[i] = LiveServer(url, self.engine, self.env)

    def restart(self, i: int) -> None:
        self._stacks[i].close()
        self.start(i)

    def close(self) -> None:
        for stack in self._stacks:
            stack.close()

    def call(self, i: int, method: str, path: str, body=None, headers=None) -> Reply:
        return self.servers[i % 2].call(method, path, body, headers)

    def together(self, calls: list[tuple]) -> list[Reply]:
        """Send the calls at once, alternating between the two servers."""
        with ThreadPoolExecutor(len(calls)) as pool:
            futures = [pool.submit(self.call, i, *call) for i, call in enumerate(calls)]
            return [future.result() for future in futures]

    def sign_in(self) -> dict:
        phone, address = fresh_phone(), fresh_address()
        sent = self.call(0, "POST", "/api/v1/auth/otp", {"phone": phone}, address)
        body = {"phone": phone, "code": sent.body["dev_code"], "privacy_version": privacy_version()}
        tokens = self.call(1, "POST", "/api/v1/auth/login", body, address).body
        headers = {"Authorization": f"Bearer {tokens['access_token']}"}
        consent = {"scope": "location", "version": privacy_version()}
        self.call(0, "POST", "/api/v1/me/consents", consent, {**address, **headers})
        return headers


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    if not REDIS_URL:
        pytest.skip("TEST_REDIS_URL is unset: run under tests/with_redis.sh (make test does)")
    workdir = tmp_path_factory.mktemp("limits-shared")
    with _own_database(workdir) as url:
        env = {
            **os.environ,
            "APP_ENV": "test",
            "DATABASE_URL": url,
            "INSTANCE_PATH": str(workdir),
            "LOG_LEVEL": "WARNING",
            "TRUSTED_PROXY_COUNT": "1",
            "RATELIMIT_STORAGE_URI": REDIS_URL,
            # Each run's counts apart, in a Redis that may outlive it
            "RATELIMIT_KEY_PREFIX": "zq-test-" + secrets.token_hex(4),
            **LIMITS,
        }
        engine = sa.create_engine(url)
        servers = Pair(env, workdir, engine)

        def migrate() -> None:
            for command in (["db", "upgrade"], ["refdata", "load"]):
                flask(env, *command)

        try:
            # The servers start while the database is made: /healthz asks nothing of it
            with ThreadPoolExecutor(3) as pool:
                started = [pool.submit(migrate), *(pool.submit(servers.start, i) for i in (0, 1))]
                for future in started:
                    future.result()
            yield servers
        finally:
            servers.close()
            engine.dispose()


def statuses(replies: list[Reply]) -> Counter:
    return Counter((reply.status, reply.body.get("error", {}).get("code")) for reply in replies)


def codes_sent(pair: Pair) -> int:
    with pair.engine.connect() as connection:
        return connection.execute(sa.text("SELECT COUNT(*) FROM otp_challenge")).scalar_one()


@pytest.mark.real_clock
def test_one_phone_is_sent_one_code_however_many_processes_are_asked(pair):
    phone = fresh_phone()
    before = codes_sent(pair)
    replies = pair.together(
        [("POST", "/api/v1/auth/otp", {"phone": phone}, fresh_address()) for _ in range(10)]
    )
    assert statuses(replies) == {(202, None): 1, (429, "rate_limited"): 9}
    assert codes_sent(pair) == before + 1


@pytest.mark.real_clock
def test_code_requests_and_codes_per_address_are_counted_once_for_both(pair):
    address = fresh_address()
    replies = pair.together(
        [("POST", "/api/v1/auth/otp", {"phone": fresh_phone()}, address) for _ in range(ATTEMPTS)]
    )
    # 6 requests an hour pass the limiter (Redis); of those, 4 codes a day are texted
    # (the address's SMS budget, in the database)
    assert statuses(replies) == {
        (202, None): 4,
        (429, "sms_budget_exhausted"): 2,
        (429, "rate_limited"): ATTEMPTS - 6,
    }


@pytest.mark.real_clock
def test_a_number_block_is_sent_its_budget_and_no_more(pair):
    block = fresh_block()
    replies = pair.together(
        [
            ("POST", "/api/v1/auth/otp", {"phone": f"{block}{n:04d}"}, fresh_address())
            for n in range(8)
        ]
    )
    assert statuses(replies) == {(202, None): 3, (429, "sms_budget_exhausted"): 5}


@pytest.mark.real_clock
def test_wrong_sign_ins_per_address_meet_the_limit_once_not_per_process(pair):
    address = fresh_address()
    body = {"phone": fresh_phone(), "code": "123456"}
    replies = pair.together([("POST", "/api/v1/auth/login", body, address)] * ATTEMPTS)
    assert statuses(replies) == {(401, "otp_expired"): 5, (429, "rate_limited"): ATTEMPTS - 5}


@pytest.mark.real_clock
def test_a_resident_records_the_limit_of_actions_not_twice_it(pair):
    me = pair.sign_in()
    body = {"type": "garbage_sorting", "category": "other", "weight_kg": 0.1}
    replies = pair.together(
        [
            ("POST", "/api/v1/actions", body, {**me, "Idempotency-Key": secrets.token_hex(8)})
            for _ in range(ATTEMPTS)
        ]
    )
    assert statuses(replies) == {(201, None): 5, (429, "rate_limited"): ATTEMPTS - 5}


@pytest.mark.real_clock
def test_a_restart_keeps_the_counts(pair):
    address = fresh_address()
    body = {"phone": fresh_phone(), "code": "123456"}
    replies = [pair.call(i, "POST", "/api/v1/auth/login", body, address) for i in range(6)]
    assert [reply.status for reply in replies] == [401] * 5 + [429]
    pair.restart(0)
    after = [pair.call(i, "POST", "/api/v1/auth/login", body, address) for i in range(2)]
    assert [reply.status for reply in after] == [429, 429]


def test_an_unreachable_limit_storage_refuses_limited_requests_with_a_503(client, monkeypatch):
    me = sign_in(client)
    # The app's limiter pointed at a Redis nobody listens on (the test app's is memory://)
    dead = storage_from_string(
        f"redis://127.0.0.1:{free_port()}/0", wrap_exceptions=True, socket_connect_timeout=1
    )
    monkeypatch.setattr(limiter, "_limiter", MovingWindowRateLimiter(dead))
    attempts = [
        ("/api/v1/auth/otp", {"phone": "13800138000"}, {}),
        ("/api/v1/auth/login", {"phone": "13800138000", "code": "123456"}, {}),
        (
            "/api/v1/actions",
            {"type": "garbage_sorting", "category": "other", "weight_kg": 0.1},
            {**me.headers, "Idempotency-Key": "k1"},
        ),
    ]
    for path, body, headers in attempts:
        response = client.post(path, json=body, headers=headers)
        assert response.status_code == 503, path
        assert response.json["error"]["code"] == "rate_limit_unavailable"
        assert int(response.headers["Retry-After"]) > 0
    # what no limit guards is served as usual
    assert client.get("/api/v1/actions", headers=me.headers).status_code == 200
    assert client.get("/healthz").status_code == 200
