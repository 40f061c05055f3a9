"""Small helpers that make residents the way clients do: through the HTTP API."""

from __future__ import annotations

import io
import itertools
import random
import re
from dataclasses import dataclass

import sqlalchemy as sa
from PIL import Image, ImageDraw, ImageFilter

from backend.db import Base
from backend.extensions import db
from points.actions.models import ApprovalOutbox

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


def privacy_version() -> str:
    """The privacy notice's version in force (its data file), as a client reads it."""
    from backend.legal.notice import NOTICE_DIR, PrivacyNotice

    return PrivacyNotice.from_directory(NOTICE_DIR).version


def give_consent(client, who, scope: str, version: str | None = None) -> dict:
    response = client.post(
        "/api/v1/me/consents",
        json={"scope": scope, "version": version or privacy_version()},
        headers=who.headers,
    )
    assert response.status_code == 200, response.json
    return response.json


def sign_in(client, phone: str | None = None, *, location: bool = True) -> SignedIn:
    """Sign in (a new phone: sign up) accepting the privacy notice in force and, unless
    `location=False`, the location consent that traces and check-ins need."""
    phone = phone or new_phone()
    code = request_code(client, phone)
    response = client.post(
        "/api/v1/auth/login",
        json={"phone": phone, "code": code, "privacy_version": privacy_version()},
    )
    assert response.status_code == 200, response.json
    body = response.json
    signed_in = SignedIn(phone, body["access_token"], body["refresh_token"], body["resident"])
    if location and body["resident"]["consent"]["location"] is None:
        give_consent(client, signed_in, "location")
    return signed_in


def make_resident(client, **profile) -> SignedIn:
    """A signed-in resident, optionally with nickname, district_code and community set."""
    signed_in = sign_in(client)
    if profile:
        response = client.patch("/api/v1/me", json=profile, headers=signed_in.headers)
        assert response.status_code == 200, response.json
        signed_in.resident = response.json
    return signed_in


_keys = itertools.count(1)


def partner_credentials(cli_output: str) -> dict:
    """The key and secret `flask partner create` prints (once)."""
    return {
        "key": cli_output.split("key:")[1].split()[0],
        "secret": cli_output.split("secret:")[1].split()[0],
    }


def create_partner(app, name: str, *allowed: str) -> dict:
    """A partner made by `flask partner create` in the app under test; its credentials."""
    allow = [arg for entry in allowed for arg in ("--allow", entry)]
    result = app.test_cli_runner().invoke(args=["partner", "create", name, *allow])
    assert result.exit_code == 0, result.output
    return partner_credentials(result.output)


def partner_signature(key: str, secret: str, raw: bytes, timestamp: int | None = None) -> dict:
    """The headers that sign a partner request: key, timestamp, HMAC of `timestamp.body`."""
    import time

    from points.partner.service import signature_for

    stamp = str(int(time.time()) if timestamp is None else timestamp)
    return {
        "X-Partner-Key": key,
        "X-Timestamp": stamp,
        "X-Signature": signature_for(secret, stamp, raw),
    }


def today_minutes_ago(minutes: int) -> int:
    """`minutes`, or fewer when that would fall before midnight in Asia/Shanghai.

    For actions that must share today's local day (caps are per day): run just after
    midnight there (16:00 UTC), "20 minutes ago" is yesterday. Tests on the machine's
    clock (real_clock) need it at any hour; a pinned clock may stand anywhere.
    """
    from datetime import datetime

    from backend.clock import LOCAL_TZ

    now = datetime.now(LOCAL_TZ)
    return min(minutes, now.hour * 60 + now.minute)


def trip(
    mode: str = "bus",
    km: float = 6.2,
    minutes: int = 25,
    ended_minutes_ago: int = 5,
    trace: bool = True,
) -> dict:
    """A trip body ending a few minutes ago, at a plausible speed unless told otherwise.

    By default it carries a GPS trace in Zhaoqing that matches its times and whose length is
    `km` to the metre: a verified trip, that pays. `trace=False`: a self-declared trip.
    """
    from datetime import UTC, datetime, timedelta

    from admin.demo_traces import straight_trace

    ended = datetime.now(UTC) - timedelta(minutes=ended_minutes_ago)
    started = ended - timedelta(minutes=minutes)
    body = {
        "type": "trip",
        "mode": mode,
        "distance_km": km,
        "started_at": started.isoformat(),
        "ended_at": ended.isoformat(),
    }
    if trace:
        body["trace"] = straight_trace(started, ended, km)
    return body


def record(client, who: SignedIn, body: dict, key: str | None = None):
    """POST /api/v1/actions with a fresh idempotency key unless one is given."""
    headers = {**who.headers, "Idempotency-Key": key or f"test-key-{next(_keys)}"}
    return client.post("/api/v1/actions", json=body, headers=headers)


def photo_like(seed: int, size: tuple[int, int] = (1200, 900)) -> Image.Image:
    """Gradient, overlapping shapes, a little blur: content whose dHash is not degenerate."""
    rng = random.Random(seed)
    width, height = size
    grey = Image.linear_gradient("L").resize(size).convert("RGB")
    tint = Image.new("RGB", size, tuple(rng.randrange(256) for _ in range(3)))
    image = Image.blend(grey, tint, 0.5)
    draw = ImageDraw.Draw(image)
    for _ in range(25):
        x0, y0 = rng.randrange(width), rng.randrange(height)
        x1, y1 = x0 + rng.randrange(40, width // 2), y0 + rng.randrange(40, height // 2)
        colour = tuple(rng.randrange(256) for _ in range(3))
        shape = draw.ellipse if rng.random() < 0.5 else draw.rectangle
        shape((x0, y0, x1, y1), fill=colour)
    return image.filter(ImageFilter.GaussianBlur(3))


def encode(image: Image.Image, image_format: str, **params) -> bytes:
    out = io.BytesIO()
    image.save(out, image_format, **params)
    return out.getvalue()


def upload(client, who, data: bytes, filename: str = "photo.jpg", content_type="image/jpeg"):
    return client.post(
        "/api/v1/photos",
        data={"file": (io.BytesIO(data), filename, content_type)},
        headers=who.headers,
        content_type="multipart/form-data",
    )


def upload_photo(client, who: SignedIn, seed: int = 1) -> str:
    """Upload a photo-like JPEG; returns its photo_id."""
    response = upload(client, who, encode(photo_like(seed), "JPEG", quality=90))
    assert response.status_code == 201, response.json
    return response.json["photo_id"]


_staff = itertools.count(1)
STAFF_PASSWORD = "correct horse battery staple"


def staff_headers(app, client, role: str) -> dict:
    """A new staff user of `role`, signed in; returns the Authorization header."""
    username = f"{role}-{next(_staff)}"
    secret = create_staff_user(app, username, role)
    body = {"username": username, "password": STAFF_PASSWORD}
    if secret is not None:
        body["totp_code"] = fresh_totp_code(username)
    response = client.post("/api/v1/staff/auth/login", json=body)
    assert response.status_code == 200, response.json
    return {"Authorization": f"Bearer {response.json['access_token']}"}


def make_campaign(client, staff: dict, *, publish: bool = True, **fields) -> dict:
    """A campaign running from yesterday for a week unless told otherwise."""
    from datetime import UTC, datetime, timedelta

    now = datetime.now(UTC)
    body = {
        "title": "全国节能宣传周",
        "event_key": "energy_saving_week",
        "starts_at": (now - timedelta(days=1)).isoformat(),
        "ends_at": (now + timedelta(days=6)).isoformat(),
        **fields,
    }
    response = client.post("/api/v1/staff/campaigns", json=body, headers=staff)
    assert response.status_code == 201, response.json
    campaign = response.json
    if publish:
        published = client.post(f"/api/v1/staff/campaigns/{campaign['id']}/publish", headers=staff)
        assert published.status_code == 200, published.json
        campaign = published.json
    return campaign


def run_worker(client) -> str:
    """What the worker does between requests: apply every approval waiting in the outbox
    (and the periodic jobs due), through `flask worker --drain`."""
    result = client.application.test_cli_runner().invoke(args=["worker", "--drain"])
    assert result.exit_code == 0, (result.output, result.exception)
    return result.output


def requeue(client, action_ids: list[int]) -> None:
    """Put applied actions back in the outbox, as a second delivery of the same approval
    would: the worker must count nothing twice (each derived table's own key)."""
    with client.application.app_context():
        db.session.execute(
            sa.insert(ApprovalOutbox), [{"action_id": action_id} for action_id in action_ids]
        )
        db.session.commit()


def make_reward(client, staff: dict, **fields) -> dict:
    from datetime import UTC, datetime, timedelta

    now = datetime.now(UTC)
    body = {
        "title": "公交乘车券 10 元",
        "merchant_name": "肇庆公交集团",
        "cost_points": 200,
        "stock": 10,
        "valid_from": (now - timedelta(days=1)).isoformat(),
        "valid_until": (now + timedelta(days=30)).isoformat(),
        **fields,
    }
    response = client.post("/api/v1/staff/rewards", json=body, headers=staff)
    assert response.status_code == 201, response.json
    return response.json


def redeem(client, who: SignedIn, reward: dict, key: str | None = None):
    headers = {**who.headers, "Idempotency-Key": key or f"redeem-{next(_keys)}"}
    return client.post(f"/api/v1/rewards/{reward['id']}/redeem", headers=headers)


_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_token(client, path: str = "/admin/login") -> str:
    """The CSRF token of a console page's form (the session keeps one per visitor)."""
    page = client.get(path)
    match = _CSRF.search(page.get_data(as_text=True))
    assert match, f"no CSRF token on {path} ({page.status_code})"
    return match.group(1)


def console_sign_in(app, client, role: str) -> str:
    """Create a staff user of `role` and sign in to the console; returns the username."""
    username = f"console-{role}-{next(_staff)}"
    secret = create_staff_user(app, username, role)
    response = client.post(
        "/admin/login",
        data={"username": username, "password": STAFF_PASSWORD, "csrf_token": csrf_token(client)},
    )
    if secret is not None:  # the second step: a code from the authenticator
        assert response.headers["Location"] == "/admin/login/code", response.status_code
        token = csrf_token(client, "/admin/login/code")
        response = client.post(
            "/admin/login/code", data={"code": fresh_totp_code(username), "csrf_token": token}
        )
    assert response.status_code == 302, response.get_data(as_text=True)
    return username


def console_post(client, path: str, data: dict | None = None, form_page: str | None = None):
    """POST a console form with the CSRF token taken from `form_page` (or the dashboard)
    and a fresh one-time submission token (each call is a new submission)."""
    token = csrf_token(client, form_page or "/admin/")
    return client.post(path, data={**(data or {}), **form_tokens(token)})


def local(moment) -> str:
    """A moment as a console `datetime-local` input shows it: Beijing time, to the minute."""
    from backend.clock import LOCAL_TZ

    return moment.astimezone(LOCAL_TZ).strftime("%Y-%m-%dT%H:%M")


def database_rows(session) -> dict[str, list]:
    """Every row of every table: what "nothing changed" is compared against."""
    session.expire_all()
    return {
        table.name: sorted((tuple(row) for row in session.execute(sa.select(table))), key=repr)
        for table in Base.metadata.sorted_tables
    }


def partner_post(client, partner: dict, path: str, body: dict):
    """A signed partner request (key, timestamp, HMAC of the body) with a JSON body."""
    import json

    raw = json.dumps(body).encode()
    headers = {
        **partner_signature(partner["key"], partner["secret"], raw),
        "Content-Type": "application/json",
    }
    return client.post(path, data=raw, headers=headers)


def link_partner_account(client, partner: dict, who: SignedIn, external_id: str) -> dict:
    """A confirmed partner link, made the only way there is: the resident asks for a link
    code, enters it in the partner's app, and the partner confirms it (signed)."""
    asked = client.post(
        "/api/v1/me/partner-links", json={"partner_key": partner["key"]}, headers=who.headers
    )
    assert asked.status_code == 201, asked.json
    body = {"link_code": asked.json["link_code"], "external_id": external_id}
    confirmed = partner_post(client, partner, "/api/v1/partner/links", body)
    assert confirmed.status_code == 201, confirmed.json
    return {"id": asked.json["id"], **confirmed.json}


def trips_in_a_row(
    count: int,
    mode: str = "bus",
    km: float = 1.0,
    minutes: int = 3,
    ended_minutes_ago: int = 5,
    trace: bool = True,
) -> list[dict]:
    """`count` trip bodies one after another going back in time, a minute apart: a
    resident's trips never overlap (422 `overlapping_trip`)."""
    return [
        trip(mode, km, minutes, ended_minutes_ago + i * (minutes + 1), trace=trace)
        for i in range(count)
    ]


_verified_events = itertools.count(1)


def verifier(app) -> dict:
    """A partner that may report garbage sorting, trips and charging: verified actions."""
    return create_partner(
        app, f"verifier-{next(_verified_events)}", "garbage_sorting", "trip", "ev_charging"
    )


@dataclass
class Answer:
    """A partner event's outcome in the shape of POST /api/v1/actions' answer."""

    status_code: int
    json: dict


def record_verified(client, partner: dict | None, who: SignedIn, body: dict) -> Answer:
    """`body` as a partner's signed event for `who` (by phone): a verified action. 201 with
    the action as residents see it, 409 for a duplicate, 422 with the event's error. Without
    a partner, a new `verifier` sends it."""
    partner = partner or verifier(client.application)
    event = {"event_id": f"v-{next(_verified_events)}", "resident": who.phone, **body}
    response = partner_post(client, partner, "/api/v1/partner/events", {"events": [event]})
    assert response.status_code == 200, response.json
    [result] = response.json["results"]
    if result["status"] == "accepted":
        action = client.get(f"/api/v1/actions/{result['action_id']}", headers=who.headers)
        return Answer(201, action.json)
    if result["status"] == "duplicate":
        return Answer(409, {"error": {"code": "duplicate_action"}})
    return Answer(422, {"error": result["error"]})


def create_staff_user(app, username: str, role: str, password: str = STAFF_PASSWORD):
    """`flask staff create`; a superadmin (who cannot sign in without a second factor) is
    enrolled at once with `--totp`. Returns the TOTP secret, or None."""
    args = ["staff", "create", username, "--role", role, "--password", password]
    if role == "superadmin":
        args.append("--totp")
    result = app.test_cli_runner().invoke(args=args)
    assert result.exit_code == 0, result.output
    secret = totp_secret_in(result.output)
    if secret is not None:
        TOTP_SECRETS[username] = secret
    return secret


# Test staff users' TOTP secrets, and how many codes each has used (fresh_totp_code)
TOTP_SECRETS: dict[str, str] = {}
_codes_used: dict[str, int] = {}


def fresh_totp_code(username: str) -> str:
    """A code the user has not used yet: the first is now's, the next is the following
    step's (within the accepted drift); a third sign-in needs the test's clock moved on."""
    used = _codes_used.get(username, 0)
    _codes_used[username] = used + 1
    return totp_code(TOTP_SECRETS[username], steps_ahead=used)


def totp_secret_in(output: str) -> str | None:
    """The secret `flask staff create --totp` printed (or None)."""
    match = re.search(r"^totp secret: (\S+)$", output, re.MULTILINE)
    return match.group(1) if match else None


def totp_code(secret: str, steps_ahead: int = 0) -> str:
    """The code an authenticator app shows now (on the test's clock), or that many 30 s
    steps later."""
    import time

    import pyotp

    return pyotp.TOTP(secret).at(time.time() + 30 * steps_ahead)


def form_tokens(csrf: str) -> dict:
    """A console form's hidden fields: the CSRF token and a new one-time submission token."""
    import secrets

    return {"csrf_token": csrf, "submission_token": secrets.token_urlsafe(24)}


def delete_account(client, who, code: str | None = None):
    """POST /api/v1/me/delete-account re-confirmed with a fresh code texted to `who`'s phone."""
    if code is None:
        config = client.application.config
        limit = config["OTP_LIMIT_PER_PHONE"]
        config["OTP_LIMIT_PER_PHONE"] = "100 per minute"  # the sign-in's code was just sent
        try:
            code = request_code(client, who.phone)
        finally:
            config["OTP_LIMIT_PER_PHONE"] = limit
    return client.post("/api/v1/me/delete-account", json={"code": code}, headers=who.headers)


def make_household(client, who: SignedIn, name: str = "我们家") -> dict:
    """A household `who` makes (and is admin of): {id, invite_code, ...}."""
    response = client.post(
        "/api/v1/organizations", json={"kind": "household", "name": name}, headers=who.headers
    )
    assert response.status_code == 201, response.json
    return response.json


def make_organization(
    client, staff: dict, kind: str = "school", name: str = "端州区第一小学", **fields
) -> dict:
    """An organisation staff make through the staff API (`staff`: manage_organizations)."""
    body = {"kind": kind, "name": name, "district_code": "441202", **fields}
    if kind == "community":
        body.setdefault("street", "城东街道")
    response = client.post("/api/v1/staff/organizations", json=body, headers=staff)
    assert response.status_code == 201, response.json
    return response.json


def join_organization(client, who: SignedIn, invite_code: str) -> dict:
    response = client.post(
        "/api/v1/organizations/join", json={"invite_code": invite_code}, headers=who.headers
    )
    assert response.status_code == 201, response.json
    return response.json
