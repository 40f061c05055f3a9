"""One time format: every moment the API answers is RFC 3339 with +08:00, whichever
endpoint and whether the client sent the time or the server set it; Retry-After comes
only with 429 and 503."""

from __future__ import annotations

import re
from datetime import datetime

from backend.clock import LOCAL_TZ
from tests.factories import (
    make_campaign,
    make_resident,
    make_reward,
    record,
    redeem,
    run_worker,
    staff_headers,
    trip,
)

MOMENT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")
RFC3339_BEIJING = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?\+08:00$")


def moments(value, path="$"):
    """Every timestamp-looking string in a JSON answer, with where it is."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from moments(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from moments(item, f"{path}[{index}]")
    elif isinstance(value, str) and MOMENT.match(value):
        yield path, value


def test_every_moment_the_api_answers_carries_the_beijing_offset(app, client):
    staff = staff_headers(app, client, "superadmin")
    campaign = make_campaign(client, staff, join_bonus=5)
    reward = make_reward(client, staff, cost_points=1)
    who = make_resident(client, nickname="小周")
    answers = {"me": client.get("/api/v1/me", headers=who.headers)}
    answers["trip"] = record(client, who, trip("bike", km=4.2))  # the client's time (UTC)
    # no time sent: the server sets occurred_at
    answers["garbage"] = record(
        client, who, {"type": "garbage_sorting", "category": "recyclable", "weight_kg": 1.5}
    )
    answers["enrol"] = client.post(f"/api/v1/campaigns/{campaign['id']}/enrol", headers=who.headers)
    run_worker(client)
    answers["redeem"] = redeem(client, who, reward)
    for path in (
        "/api/v1/actions",
        "/api/v1/me/ledger",
        "/api/v1/me/account",
        "/api/v1/campaigns",
        f"/api/v1/campaigns/{campaign['id']}",
        "/api/v1/rewards",
        "/api/v1/me/redemptions",
        "/api/v1/me/badges",
        "/api/v1/me/export",
        "/api/v1/leaderboards/residents?period=week",
    ):
        answers[path] = client.get(path, headers=who.headers)
    answers["staff campaign"] = client.get(
        f"/api/v1/staff/campaigns/{campaign['id']}", headers=staff
    )
    seen = []
    for name, response in answers.items():
        assert response.status_code in (200, 201), (name, response.json)
        for path, value in moments(response.json, name):
            seen.append(path)
            assert RFC3339_BEIJING.match(value), (path, value)
    # the walk saw the moments that used to be UTC
    for expected in ("trip.occurred_at", "garbage.occurred_at", "me.created_at"):
        assert expected in seen
    assert any(p.startswith("/api/v1/campaigns") and p.endswith("starts_at") for p in seen)
    assert any(p.startswith("/api/v1/me/ledger") and p.endswith("created_at") for p in seen)
    assert any(p.startswith("/api/v1/me/export") for p in seen)


def test_a_time_without_an_offset_is_beijing_time(client):
    who = make_resident(client)
    body = trip("bus", km=6.2, trace=False)
    started = datetime.fromisoformat(body["started_at"]).astimezone(LOCAL_TZ)
    ended = datetime.fromisoformat(body["ended_at"]).astimezone(LOCAL_TZ)
    body["started_at"] = started.replace(tzinfo=None).isoformat()
    body["ended_at"] = ended.replace(tzinfo=None).isoformat()
    response = record(client, who, body)
    assert response.status_code == 201, response.json
    assert response.json["occurred_at"] == ended.isoformat()


def test_retry_after_comes_only_with_429_and_503(app, client):
    who = make_resident(client)
    answers = [
        client.post("/api/v1/auth/otp", json={"phone": "13800138999"}),  # 202
        client.get("/api/v1/me", headers=who.headers),
        client.get("/api/v1/me/ledger", headers=who.headers),
        record(client, who, trip("bus", trace=False)),
        client.get("/api/v1/me"),  # 401
        client.get("/api/v1/me", headers={"Authorization": "Bearer nonsense"}),  # 401
        client.get("/api/v1/campaigns"),
        client.get("/api/v1/methodology"),
        client.post("/api/v1/auth/login", json={"phone": "13800138999", "code": "000000"}),
    ]
    statuses = [r.status_code for r in answers]
    assert {202, 200, 201, 401} <= set(statuses)
    for response in answers:
        assert response.status_code not in (429, 503)
        assert "Retry-After" not in response.headers, response.status_code


def test_a_moment_of_any_year_is_shown_with_plus_eight_hours():
    """Asia/Shanghai had local mean time (+08:05:43) before 1901 and +09:00 summers: the API
    shows +08:00 whatever the moment (found by the fuzzer on a reward's validity)."""
    from datetime import UTC

    from backend.clock import local_moment

    for moment in (datetime(447, 1, 22, 11, 27, tzinfo=UTC), datetime(1988, 7, 1, tzinfo=UTC)):
        assert local_moment(moment).isoformat().endswith("+08:00")
