"""How many requests each protective limit lets through, served by gunicorn with N workers.

    python -m loadtests.limits_probe --workers 2 --workers 4 [--storage redis]

Each run serves a fresh SQLite database on 127.0.0.1 with the configured limits (not the
benchmark's raised ones) and fires what an attacker would, a few requests at a time so
that they spread over the workers:

- otp_phone: 10 simultaneous code requests for one phone (limit: 1 a minute);
- otp_ip: code requests for new phones from one address until refused;
- login_ip: wrong sign-in codes from one address until refused;
- staff_login_ip: wrong staff passwords (new usernames) from one address until refused;
- actions_resident: one resident's actions until refused;
- photos_resident: one resident's photo uploads until refused;
- otp_phone_after_restart: the same phone again after a restart, within its minute.

A limit that holds across workers lets exactly its allowance through whatever N is; one
counted per worker lets about N times as many. `--storage redis` starts a throw-away
redis-server and points RATELIMIT_STORAGE_URI at it. Results go to stdout as JSON lines.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import random
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import requests
from PIL import Image

from loadtests import bodies
from loadtests.server import RAISED_LIMITS, flask, free_port, gunicorn, server_env

CAP = 400  # a probe stops here: "no limit within CAP requests"
PARALLEL = 4


def _phone(rng: random.Random) -> str:
    # Mobile numbers across many carrier blocks, as an SMS pumper would pick them.
    return f"1{rng.choice('3456789')}{rng.randrange(10**9):09d}"


def _until_refused(send: Callable[[int], requests.Response]) -> dict:
    """Send in batches of PARALLEL until a 429 (or CAP); counts what was let through."""
    passed, refusal = 0, None
    with ThreadPoolExecutor(max_workers=PARALLEL) as pool:
        n = 0
        while n < CAP and refusal is None:
            answers = list(pool.map(send, range(n, n + PARALLEL)))
            n += PARALLEL
            for answer in answers:
                if answer.status_code == 429:
                    refusal = refusal or answer.json()["error"]["code"]
                else:
                    passed += 1
    return {"let_through": passed, "refused_with": refusal or f"none within {CAP}"}


class Probe:
    def __init__(self, base_url: str, seed: int) -> None:
        self.base = base_url
        self.rng = random.Random(seed)  # servers share a database: each probe its own phones

    def post(self, path: str, body=None, **kwargs) -> requests.Response:
        return requests.post(self.base + path, json=body, timeout=60, **kwargs)

    def resident(self) -> dict:
        phone = _phone(self.rng)
        sent = self.post("/api/v1/auth/otp", {"phone": phone})
        assert sent.status_code == 202, sent.text
        login = {
            "phone": phone,
            "code": sent.json()["dev_code"],
            "privacy_version": bodies.privacy_version(),
        }
        tokens = self.post("/api/v1/auth/login", login)
        assert tokens.status_code == 200, tokens.text
        return {"Authorization": f"Bearer {tokens.json()['access_token']}"}

    def otp_phone(self, phone: str) -> dict:
        with ThreadPoolExecutor(max_workers=10) as pool:
            answers = list(
                pool.map(lambda _: self.post("/api/v1/auth/otp", {"phone": phone}), range(10))
            )
        return {"sent": sum(a.status_code == 202 for a in answers), "of": 10}

    def otp_ip(self) -> dict:
        phones = [_phone(self.rng) for _ in range(CAP + PARALLEL)]
        return _until_refused(lambda n: self.post("/api/v1/auth/otp", {"phone": phones[n]}))

    def login_ip(self) -> dict:
        phone = _phone(self.rng)
        body = {"phone": phone, "code": "000000"}
        return _until_refused(lambda n: self.post("/api/v1/auth/login", body))

    def staff_login_ip(self) -> dict:
        return _until_refused(
            lambda n: self.post(
                "/api/v1/staff/auth/login", {"username": f"probe-{n}", "password": "wrong-guess"}
            )
        )

    def actions_resident(self, headers: dict) -> dict:
        def send(n: int) -> requests.Response:
            at = datetime.now(UTC) - timedelta(minutes=1 + n % 600)
            body = {
                "type": "garbage_sorting",
                "category": "recyclable",
                "weight_kg": 0.5,
                "occurred_at": at.isoformat(),
            }
            return self.post("/api/v1/actions", body, headers=headers)

        return _until_refused(send)

    def photos_resident(self, headers: dict) -> dict:
        def send(n: int) -> requests.Response:
            image = Image.new("RGB", (64, 64), (n % 256, (n * 7) % 256, 90))
            data = io.BytesIO()
            image.save(data, "JPEG")
            files = {"file": ("photo.jpg", data.getvalue(), "image/jpeg")}
            return requests.post(
                self.base + "/api/v1/photos", files=files, headers=headers, timeout=60
            )

        return _until_refused(send)


@contextlib.contextmanager
def redis_server(workdir: Path) -> Iterator[str]:
    port = free_port()
    process = subprocess.Popen(  # noqa: S603 - Debian's redis-server
        [
            shutil.which("redis-server") or "/usr/bin/redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--dir",
            str(workdir),
        ],
        stdout=subprocess.DEVNULL,
    )
    try:
        time.sleep(0.3)
        yield f"redis://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


def run(workers: int, storage: str) -> list[dict]:
    results = []
    with tempfile.TemporaryDirectory(prefix="zq-limits-") as tmp:
        workdir = Path(tmp)
        env = server_env(f"sqlite:///{workdir / 'probe.db'}", workdir)
        for name in RAISED_LIMITS:
            env.pop(name)  # the configured limits, not the benchmark's raised ones
        with contextlib.ExitStack() as stack:
            redis_url = stack.enter_context(redis_server(workdir)) if storage == "redis" else None
            flask(env, "db", "upgrade")

            def serve(database: int) -> contextlib.AbstractContextManager[str]:
                if redis_url:  # each server its own keys, kept across its restart
                    env["RATELIMIT_STORAGE_URI"] = f"{redis_url}/{database}"
                return gunicorn(env, workdir, workers=workers, threads=1)

            with serve(1) as base_url:
                probe = Probe(base_url, seed=2)
                residents = [probe.resident(), probe.resident()]
                phone = _phone(probe.rng)
                results.append({"probe": "otp_phone", **probe.otp_phone(phone)})
            with serve(1) as base_url:  # a restart, within the phone's minute
                probe.base = base_url
                again = probe.otp_phone(phone)
                results.append({"probe": "otp_phone_after_restart", **again})
                actions = probe.actions_resident(residents[0])
                results.append({"probe": "actions_resident", **actions})
                photos = probe.photos_resident(residents[1])
                results.append({"probe": "photos_resident", **photos})
            # The per-address limits on a server of their own (one address: ours).
            with serve(0) as base_url:
                probe = Probe(base_url, seed=1)
                results.append({"probe": "otp_ip", **probe.otp_ip()})
                results.append({"probe": "login_ip", **probe.login_ip()})
                results.append({"probe": "staff_login_ip", **probe.staff_login_ip()})
    for result in results:
        result.update(workers=workers, storage=storage)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, action="append", default=[])
    parser.add_argument("--storage", choices=("memory", "redis"), default="memory")
    args = parser.parse_args()
    for workers in args.workers or [2, 4]:
        for result in run(workers, args.storage):
            print(json.dumps(result, ensure_ascii=False), flush=True)


if __name__ == "__main__":
    main()
