"""Small helpers that make residents the way clients do: through the HTTP API."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

_phones = itertools.count(1)


def new_phone() -> str:
    return f"139{next(_phones):08d}"


@dataclass
class SignedIn:
    phone: str
    access_token: str
    refresh_token: str
    resident: dict

    @property
    def headers(self) -> dict:
        return {"Authorization": f"Bearer {self.access_token}"}


def request_code(client, phone: str) -> str:
    response = client.post("/api/v1/auth/otp", json={"phone": phone})
    assert response.status_code == 202, response.json
    return response.json["dev_code"]


def sign_in(client, phone: str | None = None) -> SignedIn:
    phone = phone or new_phone()
    code = request_code(client, phone)
    response = client.post("/api/v1/auth/login", json={"phone": phone, "code": code})
    assert response.status_code == 200, response.json
    body = response.json
    return SignedIn(phone, body["access_token"], body["refresh_token"], body["resident"])


def make_resident(client, **profile) -> SignedIn:
    """A signed-in resident, optionally with nickname, district_code and community set."""
    signed_in = sign_in(client)
    if profile:
        response = client.patch("/api/v1/me", json=profile, headers=signed_in.headers)
        assert response.status_code == 200, response.json
        signed_in.resident = response.json
    return signed_in


_keys = itertools.count(1)


def trip(mode: str = "bus", km: float = 6.2, minutes: int = 25, ended_minutes_ago: int = 5) -> dict:
    """A trip body ending a few minutes ago, at a plausible speed unless told otherwise."""
    from datetime import UTC, datetime, timedelta

    ended = datetime.now(UTC) - timedelta(minutes=ended_minutes_ago)
    started = ended - timedelta(minutes=minutes)
    return {
        "type": "trip",
        "mode": mode,
        "distance_km": km,
        "started_at": started.isoformat(),
        "ended_at": ended.isoformat(),
    }


def record(client, who: SignedIn, body: dict, key: str | None = None):
    """POST /api/v1/actions with a fresh idempotency key unless one is given."""
    headers = {**who.headers, "Idempotency-Key": key or f"test-key-{next(_keys)}"}
    return client.post("/api/v1/actions", json=body, headers=headers)
