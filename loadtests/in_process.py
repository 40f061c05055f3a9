"""What one request costs in the app alone: no HTTP, no gunicorn, no locust, one thread.

    .venv/bin/python -m loadtests.in_process [--requests 1000]

On a fresh SQLite file (migrated, reference data loaded), through Flask's test client of
the benchmark's app with its yardsticks (`loadtests.yardsticks.create_app`):

(a) the calibration write (one INSERT and its commit; `loadtests.calibration`);
(f) the floor of `POST /api/v1/actions`: its decorators and schemas (the bearer token,
    the resident's rate limit, the body schema, the response schema) around a view that
    does no work (`loadtests.yardsticks`);
(m) the least durable action: the same machinery around the least a correct action
    writes, in one transaction (`loadtests.yardsticks`);
(b) recording actions, as the benchmark's action writers do (50 residents, each request
    with its own Idempotency-Key).

Each is printed with its ratio to (a) in requests per second, as the benchmark's ratio
(b)/(a): (f)'s is the highest any action could reach behind that machinery, before it
writes anything, and (m)'s the highest an action that writes could reach here; (b)'s is
what the benchmark would print if HTTP, gunicorn and locust cost nothing. Speed is
printed, never asserted.
"""

from __future__ import annotations

import argparse
import os
import random
import secrets
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from loadtests import bodies
from loadtests.server import flask, server_env

RESIDENTS = 50
WARM_UP = 100


def created(response) -> None:
    """A timing counts only requests that did what they are timed for."""
    if response.status_code != 201:
        raise RuntimeError(f"{response.status_code}: {response.get_data(as_text=True)[:500]}")


def per_request_ms(call: Callable[[int], None], count: int) -> float:
    for i in range(WARM_UP):
        call(i)
    started = time.perf_counter()
    for i in range(WARM_UP, WARM_UP + count):
        call(i)
    return (time.perf_counter() - started) / count * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=1000, help="timed requests of each")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="zq-in-process-") as workdir:
        timings = measure(Path(workdir), args.requests)
    calibration = timings["(a) calibration write"]
    for label, ms in timings.items():
        print(f"{label:32} {ms:6.2f} ms per request   ratio to (a) {calibration / ms:.2f}")
    print(f"SQLite, {args.requests} timed requests of each after {WARM_UP}")


def measure(workdir: Path, count: int) -> dict[str, float]:
    """Milliseconds per request of (a), (f), (m) and (b), on a new database in `workdir`."""
    env = server_env(f"sqlite:///{workdir / 'in_process.db'}", workdir)
    flask(env, "db", "upgrade")
    flask(env, "refdata", "load")
    os.environ.update(env)

    from loadtests import yardsticks

    app = yardsticks.create_app()
    client = app.test_client()
    rng = random.Random(8)
    headers = []
    for _ in range(RESIDENTS):
        phone = bodies.new_phone(rng)
        code = client.post("/api/v1/auth/otp", json={"phone": phone}).json["dev_code"]
        login = client.post("/api/v1/auth/login", json={"phone": phone, "code": code}).json
        headers.append({"Authorization": f"Bearer {login['access_token']}"})
    bounds = bodies.Bounds.from_methodology(client.get("/api/v1/methodology").json)

    def writer(path: str) -> Callable[[int], None]:
        def write(i: int) -> None:
            created(
                client.post(
                    path,
                    json=bodies.resident_action(rng, bounds),
                    headers={**headers[i % RESIDENTS], "Idempotency-Key": secrets.token_hex(10)},
                )
            )

        return write

    floor_body = bodies.trip(rng, bounds, "bike")

    def floor(i: int) -> None:
        created(client.post(yardsticks.FLOOR_PATH, json=floor_body, headers=headers[i % RESIDENTS]))

    def calibrate(_i: int) -> None:
        created(client.post("/api/v1/bench/calibrate"))

    return {
        "(a) calibration write": per_request_ms(calibrate, count),
        "(f) action machinery, no work": per_request_ms(floor, count),
        "(m) least durable action": per_request_ms(writer(yardsticks.LEAST_ACTION_PATH), count),
        "(b) recorded action": per_request_ms(writer("/api/v1/actions"), count),
    }


if __name__ == "__main__":
    main()
