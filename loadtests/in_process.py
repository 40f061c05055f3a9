"""What one request costs in the app alone: no HTTP, no gunicorn, no locust, one thread.

    .venv/bin/python -m loadtests.in_process [--requests 1000] [--quick]

On a fresh SQLite file (migrated, reference data loaded), through Flask's test client of
the benchmark's app with its yardsticks (`loadtests.yardsticks.create_app`):

(a) the calibration write (one INSERT and its commit; `loadtests.calibration`);
(f) the floor of `POST /api/v1/actions`: its decorators and schemas (the bearer token,
    the resident's rate limit, the body schema, the response schema) around a view that
    does no work (`loadtests.yardsticks`);
(m) the least durable action: the same machinery around the least a correct action
    writes, in one transaction (`loadtests.yardsticks`);
(b) recording actions, as the benchmark's action writers do (50 residents, each request
    with its own Idempotency-Key);
(w) the worker applying what those approvals derive (campaigns, badges, leaderboards,
    statistics), in its batches, per action, over at least WORKER_ROWS outbox rows.

Each request is printed with its ratio to (a) in requests per second, as the benchmark's
ratio (b)/(a): (f)'s is the highest any action could reach behind that machinery, before it
writes anything, and (m)'s the highest an action that writes could reach here; (b)'s is
what the benchmark would print if HTTP, gunicorn and locust cost nothing. Speed is
printed, never asserted. The targets of the approval pipeline are printed last:
(b) >= 0.75 x (m) in requests per second, and (b) + (w) <= 1.5 x (m) in milliseconds.
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
WORKER_ROWS = 3000


def created(response) -> None:
    """A timing counts only requests that did what they are timed for."""
    if response.status_code != 201:
        raise RuntimeError(f"{response.status_code}: {response.get_data(as_text=True)[:500]}")


def per_request_ms(call: Callable[[int], None], count: int, warm_up: int = WARM_UP) -> float:
    for i in range(warm_up):
        call(i)
    started = time.perf_counter()
    for i in range(warm_up, warm_up + count):
        call(i)
    return (time.perf_counter() - started) / count * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=1000, help="timed requests of each")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="no warm-up and a small outbox: proves the measurement runs, its numbers mean little",
    )
    args = parser.parse_args()
    warm_up, worker_rows = (0, 50) if args.quick else (WARM_UP, WORKER_ROWS)

    with tempfile.TemporaryDirectory(prefix="zq-in-process-") as workdir:
        timings = measure(Path(workdir), args.requests, warm_up, worker_rows)
    applying = timings.pop(APPLYING)
    calibration = timings["(a) calibration write"]
    for label, ms in timings.items():
        print(f"{label:32} {ms:6.2f} ms per request   ratio to (a) {calibration / ms:.2f}")
    print(f"{APPLYING:32} {applying:6.2f} ms per action")
    print(f"SQLite, {args.requests} timed requests of each after {warm_up}")
    least, recorded = timings["(m) least durable action"], timings["(b) recorded action"]
    ratio = least / recorded
    print(f"(b)/(m) {ratio:.2f} (target >= 0.75: {'met' if ratio >= 0.75 else 'NOT MET'})")
    total, bound = recorded + applying, 1.5 * least
    verdict = "met" if total <= bound else "NOT MET"
    print(f"(b)+(w) {total:.2f} ms, 1.5 x (m) {bound:.2f} ms ({verdict})")


def measure(
    workdir: Path, count: int, warm_up: int = WARM_UP, worker_rows: int = WORKER_ROWS
) -> dict[str, float]:
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
        login = {"phone": phone, "code": code, "privacy_version": bodies.privacy_version()}
        tokens = client.post("/api/v1/auth/login", json=login).json
        headers.append({"Authorization": f"Bearer {tokens['access_token']}"})
        client.post("/api/v1/me/consents", json=bodies.location_consent(), headers=headers[-1])
    bounds = bodies.Bounds.from_methodology(client.get("/api/v1/methodology").json)

    def writer(path: str) -> Callable[[int], None]:
        def write(i: int) -> None:
            created(
                client.post(
                    path,
                    json=bodies.resident_action(rng, bounds, owner=i % RESIDENTS),
                    headers={**headers[i % RESIDENTS], "Idempotency-Key": secrets.token_hex(10)},
                )
            )

        return write

    floor_body = bodies.trip(rng, bounds, "bike", owner="floor")

    def floor(i: int) -> None:
        created(client.post(yardsticks.FLOOR_PATH, json=floor_body, headers=headers[i % RESIDENTS]))

    def calibrate(_i: int) -> None:
        created(client.post("/api/v1/bench/calibrate"))

    least = writer(yardsticks.LEAST_ACTION_PATH)
    timings = {
        "(a) calibration write": per_request_ms(calibrate, count, warm_up),
        "(f) action machinery, no work": per_request_ms(floor, count, warm_up),
        "(m) least durable action": per_request_ms(least, count, warm_up),
        "(b) recorded action": per_request_ms(writer("/api/v1/actions"), count, warm_up),
    }
    timings[APPLYING] = applying_ms(app, writer("/api/v1/actions"), worker_rows)
    return timings


APPLYING = "(w) applying derived figures"


def applying_ms(app, record: Callable[[int], None], worker_rows: int = WORKER_ROWS) -> float:
    """Milliseconds per action the worker takes to apply the outbox, all of it, in its
    batches; (b) left its rows there, and more are recorded (untimed) up to `worker_rows`."""
    from backend.extensions import db
    from backend.worker import drain_until_empty
    from points.actions.outbox import backlog

    with app.app_context():
        waiting = backlog().rows
        db.session.remove()
    for i in range(max(0, worker_rows - waiting)):
        record(i)
    with app.app_context():
        waiting = backlog().rows
        started = time.perf_counter()
        applied = drain_until_empty(app.config["WORKER_BATCH_SIZE"])
        elapsed = time.perf_counter() - started
        db.session.remove()
    if applied != waiting:
        raise RuntimeError(f"applied {applied} of {waiting} outbox rows")
    return elapsed / applied * 1000


if __name__ == "__main__":
    main()
