"""Issue 20's attacks, replayed against a running `make demo`, as the attacker first made
them: a line per attack with what the server answered (docs/SECURITY.md has a run).

    .venv/bin/python -m loadtests.attack_replay [--base-url http://127.0.0.1:8000]
        [--credentials instance/demo-credentials.json]

Every request comes from this machine's address, so the replay spends that address's
limits for the hour (codes, sign-ins, staff passwords): the demo's own Redis keeps them
across restarts. `redis-cli -s instance/redis/redis.sock flushall` forgets the limiter's
counts; the rules kept in the database (codes per phone, SMS budgets, the staff throttle)
stay as they are. Run it on a fresh demo: it signs in the fourth demo resident and
records up to 60 small actions and 10 photos for them.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import struct
import time
import zlib
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

import pyotp
import requests

BEIJING = timezone(timedelta(hours=8))
TIMEOUT = 30


def error_code(response: requests.Response) -> str | None:
    try:
        return response.json().get("error", {}).get("code")
    except ValueError:
        return None


def answer(response: requests.Response) -> tuple[int, str | None]:
    return response.status_code, error_code(response)


def together(send: Callable[[int], requests.Response], n: int, at_once: int = 8) -> dict:
    """n requests, `at_once` at a time (so that both web workers take some): answers counted."""
    with ThreadPoolExecutor(at_once) as pool:
        counts = Counter(answer(response) for response in pool.map(send, range(n)))
    return {f"{status} {code or ''}".strip(): count for (status, code), count in counts.items()}


def png(width: int, height: int) -> bytes:
    """A valid PNG of black pixels: tiny on the wire however many pixels it declares."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + data))
        return struct.pack(">I", len(data)) + kind + data + crc

    rows = zlib.compress(b"".join(b"\x00" + b"\x00" * (width * 3) for _ in range(height)), 9)
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", rows) + chunk(b"IEND", b"")
    )


class Replay:
    def __init__(self, base_url: str, credentials: dict) -> None:
        self.base = base_url.rstrip("/")
        self.credentials = credentials
        self.http = requests.Session()

    def post(self, path: str, **kwargs) -> requests.Response:
        return self.http.post(self.base + path, timeout=TIMEOUT, **kwargs)

    def resident(self) -> dict:
        """The fourth demo resident, signed in (the demo texts to the console: dev_code)."""
        phone = self.credentials["residents"][3]["phone"]
        sent = self.post("/api/v1/auth/otp", json={"phone": phone}).json()
        notice = self.http.get(self.base + "/api/v1/legal/privacy", timeout=TIMEOUT).json()
        body = {"phone": phone, "code": sent.get("dev_code"), "privacy_version": notice["version"]}
        tokens = self.post("/api/v1/auth/login", json=body).json()
        if "access_token" not in tokens:
            raise SystemExit(f"the demo resident could not sign in: {tokens}")
        return {"Authorization": f"Bearer {tokens['access_token']}"}

    def bodies(self, me: dict) -> None:
        deep = '{"phone": ' + "[" * 1500 + "]" * 1500 + "}"
        for method, path, headers in (
            ("POST", "/api/v1/auth/otp", {}),
            ("POST", "/api/v1/actions", me),
            ("PATCH", "/api/v1/me", me),
        ):
            response = self.http.request(
                method,
                self.base + path,
                data=deep,
                headers={**headers, "Content-Type": "application/json"},
                timeout=TIMEOUT,
            )
            report(f"1,500-deep body to {method} {path}", answer(response))
        huge = '{"phone": ' + "9" * 5000 + "}"
        response = self.post(
            "/api/v1/auth/otp", data=huge, headers={"Content-Type": "application/json"}
        )
        report("a 5,000-digit integer", answer(response))

    def exhaustion(self, me: dict) -> None:
        array = b"[" + b",".join([b"1"] * (5 * 1024 * 1024)) + b"]"
        started = time.monotonic()
        response = self.post(
            "/api/v1/auth/otp", data=array, headers={"Content-Type": "application/json"}
        )
        report(f"a 10 MB JSON array ({time.monotonic() - started:.2f} s)", answer(response))
        bomb = png(6000, 6000)
        photo = {"file": ("bomb.png", bomb, "image/png")}
        response = self.post("/api/v1/photos", files=photo, headers=me)
        report(f"a {len(bomb) // 1024} KB PNG declaring 36 MP", answer(response))

        def upload(n: int) -> requests.Response:
            files = {"file": (f"{n}.png", png(64 + n, 64), "image/png")}
            return self.post("/api/v1/photos", files=files, headers=me)

        report("20 photo uploads of one resident", together(upload, 20, at_once=4))

    def limits(self, me: dict) -> None:
        phone = f"139{int(time.time()) % 10**8:08d}"
        report(
            "10 simultaneous codes for one phone",
            together(lambda _: self.post("/api/v1/auth/otp", json={"phone": phone}), 10, 10),
        )

        def wrong_code(n: int) -> requests.Response:
            return self.post(
                "/api/v1/auth/login", json={"phone": f"1391111{n:04d}", "code": "123456"}
            )

        report("150 wrong sign-in codes from one address", together(wrong_code, 150))
        action = {"type": "garbage_sorting", "category": "other", "weight_kg": 0.1}
        run = int(time.time())

        def record(n: int) -> requests.Response:
            headers = {**me, "Idempotency-Key": f"replay-{run}-{n}"}
            return self.post("/api/v1/actions", json=action, headers=headers)

        report("120 actions of one resident", together(record, 120))

        def new_phone(n: int) -> requests.Response:
            number = f"15{n % 10}{(run * 100 + n) % 10**8:08d}"
            return self.post("/api/v1/auth/otp", json={"phone": number})

        report("codes for 60 new phones from one address", together(new_phone, 60))

    def staff(self) -> None:
        superadmin = next(s for s in self.credentials["staff"] if s["role"] == "superadmin")

        def sign_in(username: str, password: str, totp: bool) -> requests.Response:
            body = {"username": username, "password": password}
            if totp:
                body["totp_code"] = pyotp.TOTP(superadmin["totp_secret"]).now()
            return self.post("/api/v1/staff/auth/login", json=body)

        for username in (superadmin["username"], "nobody-here"):
            tries = [sign_in(username, "a wrong password", False) for _ in range(6)]
            message = tries[-1].json()["error"]["message"]
            report(f"6 wrong passwords for {username}", (*answer(tries[-1]), message))
        real = sign_in(superadmin["username"], superadmin["password"], True)
        wait = int(real.headers.get("Retry-After", 0)) if real.status_code == 429 else 0
        report("the real superadmin at once", (*answer(real), f"Retry-After {wait}"))
        time.sleep(wait)
        real = sign_in(superadmin["username"], superadmin["password"], True)
        report("the real superadmin after the wait", answer(real))
        report(
            "the superadmin's password without a TOTP code",
            answer(sign_in(superadmin["username"], superadmin["password"], False)),
        )

    def headers(self) -> None:
        names = (
            "Content-Security-Policy",
            "X-Frame-Options",
            "X-Content-Type-Options",
            "Referrer-Policy",
        )
        for path in ("/admin/login", "/api/docs", "/api/v1/methodology"):
            response = self.http.get(self.base + path, timeout=TIMEOUT)
            present = [name for name in names if name in response.headers]
            report(f"security headers on {path}", (response.status_code, present))

    def contract(self, me: dict) -> None:
        partner = self.credentials["partner"]
        ended = datetime.now(BEIJING).replace(microsecond=0) - timedelta(minutes=30)
        event = {
            "event_id": f"replay-{int(time.time())}",
            "resident": self.credentials["residents"][0]["phone"],
            "type": "trip",
            "mode": "bus",
            "distance_km": 6.2,
            "started_at": (ended - timedelta(minutes=25)).isoformat(),
            "ended_at": ended.isoformat(),
        }
        raw = json.dumps({"events": [None, event]}).encode()
        stamp = str(int(time.time()))
        signature = hmac.new(
            partner["secret"].encode(), stamp.encode() + b"." + raw, hashlib.sha256
        ).hexdigest()
        headers = {
            "X-Partner-Key": partner["key"],
            "X-Timestamp": stamp,
            "X-Signature": signature,
            "Content-Type": "application/json",
        }
        response = self.post("/api/v1/partner/events", data=raw, headers=headers)
        results = response.json().get("results", [])
        verdicts = [(r["status"], r["error"] and r["error"]["code"]) for r in results]
        report("a partner batch [null, event]", (response.status_code, verdicts))
        export = self.http.get(self.base + "/api/v1/me/export", headers=me, timeout=TIMEOUT)
        leaked = [
            name
            for name in ("staff_user_id", "duplicate_of_id", "link_code")
            if name in export.text
        ]
        report("the resident export's staff and others' references", (export.status_code, leaked))

    def metrics(self, me: dict) -> None:
        def scrape(headers: dict) -> requests.Response:
            return self.http.get(self.base + "/metrics", headers=headers, timeout=TIMEOUT)

        token = {"Authorization": f"Bearer {self.credentials['metrics_token']}"}
        answered = scrape(token)
        families = sorted(
            {
                line.split("{")[0].split(" ")[0]
                for line in answered.text.splitlines()
                if line and not line.startswith("#")
            }
        )
        report(
            "/metrics without a token, with a resident's, with the metrics token",
            (scrape({}).status_code, scrape(me).status_code, answered.status_code, families),
        )


def report(attack: str, outcome) -> None:
    print(f"{attack}: {outcome}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", default="http://127.0.0.1:8000")
    parser.add_argument("--credentials", default="instance/demo-credentials.json")
    options = parser.parse_args()
    with open(options.credentials) as file:
        replay = Replay(options.base_url, json.load(file))
    me = replay.resident()
    # Bodies first: once the address has spent its limits, the limiter answers before them.
    replay.bodies(me)
    replay.exhaustion(me)
    replay.limits(me)
    replay.staff()
    replay.headers()
    replay.contract(me)
    replay.metrics(me)


if __name__ == "__main__":
    main()
