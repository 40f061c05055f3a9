"""Campaign rules: bonuses as their own entries, overlapping campaigns, targeting, goals."""

from datetime import UTC, datetime, timedelta

import pytest

from tests.factories import (
    make_campaign,
    make_resident,
    record,
    record_verified,
    requeue,
    run_worker,
    sign_in,
    staff_headers,
    trip,
)


@pytest.fixture
def admin(app, client):
    return staff_headers(app, client, "campaign_admin")


def entries(client, who, kind=None):
    """The resident's ledger once the worker has applied their approvals (bonuses)."""
    run_worker(client)
    items = client.get("/api/v1/me/ledger?limit=100", headers=who.headers).json["items"]
    return [(e["kind"], e["ref"], e["delta"]) for e in items if kind is None or e["kind"] == kind]


def enrol(client, who, campaign):
    response = client.post(f"/api/v1/campaigns/{campaign['id']}/enrol", headers=who.headers)
    assert response.status_code == 201, response.json
    return response.json


def test_overlapping_campaigns_each_pay_their_own_bonus_on_top_of_the_base(client, admin):
    double_bus = make_campaign(client, admin, multipliers={"trip:bus": 2})
    half_more = make_campaign(client, admin, title="绿色出行月", multipliers={"trip": 1.5})
    me = sign_in(client)
    enrol(client, me, double_bus)
    enrol(client, me, half_more)
    action = record(client, me, trip("bus")).json
    base = action["points"]
    assert entries(client, me, "earn") == [("earn", f"action:{action['id']}", base)]
    bonuses = sorted(entries(client, me, "campaign_bonus"))
    assert ("campaign_bonus", f"campaign:{double_bus['id']}/action:{action['id']}", base) in bonuses
    assert (
        "campaign_bonus",
        f"campaign:{half_more['id']}/action:{action['id']}",
        base // 2,
    ) in bonuses
    walk = record(client, me, trip("walk", 2, 30, ended_minutes_ago=40)).json
    walk_bonuses = [
        e for e in entries(client, me, "campaign_bonus") if e[1].endswith(f"action:{walk['id']}")
    ]
    # the x2 applies to bus trips only; the x1.5 to every trip
    assert walk_bonuses == [
        ("campaign_bonus", f"campaign:{half_more['id']}/action:{walk['id']}", walk["points"] // 2)
    ]


def test_a_variant_multiplier_wins_over_its_type(client, admin):
    campaign = make_campaign(client, admin, multipliers={"trip": 3, "trip:bus": 1.5})
    me = sign_in(client)
    enrol(client, me, campaign)
    bus = record(client, me, trip("bus")).json
    assert entries(client, me, "campaign_bonus")[0][2] == bus["points"] // 2


def test_bonus_is_paid_once_however_often_the_approval_is_applied(app, client, admin):
    campaign = make_campaign(client, admin, multipliers={"trip:bus": 2})
    me = sign_in(client)
    enrol(client, me, campaign)
    action = record(client, me, trip("bus")).json
    run_worker(client)
    requeue(client, [action["id"]])
    assert len(entries(client, me, "campaign_bonus")) == 1
    detail = client.get(f"/api/v1/campaigns/{campaign['id']}", headers=me.headers).json
    assert detail["progress_co2e_g"] == action["co2e_g"]


def test_bonuses_follow_the_capped_base_points(client, admin):
    campaign = make_campaign(client, admin, multipliers={"garbage_sorting": 2})
    me = sign_in(client)
    enrol(client, me, campaign)
    capped = record_verified(
        client, None, me, {"type": "garbage_sorting", "category": "other", "weight_kg": 30}
    ).json
    assert capped["capped"] is True
    assert entries(client, me, "campaign_bonus")[0][2] == capped["points"]


def test_only_enrolled_residents_get_bonuses_and_joining_pays_once(client, admin):
    campaign = make_campaign(client, admin, multipliers={"trip:bus": 2}, join_bonus=88)
    outsider, member = sign_in(client), sign_in(client)
    record(client, outsider, trip("bus"))
    assert entries(client, outsider, "campaign_bonus") == []
    joined = enrol(client, member, campaign)
    assert joined["join_bonus"] == 88
    again = client.post(f"/api/v1/campaigns/{campaign['id']}/enrol", headers=member.headers)
    assert again.status_code == 409
    assert again.json["error"]["code"] == "already_enrolled"
    assert [e[2] for e in entries(client, member, "campaign_bonus")] == [88]


def test_actions_outside_the_window_get_no_bonus(client, admin):
    now = datetime.now(UTC)
    campaign = make_campaign(
        client,
        admin,
        multipliers={"garbage_sorting": 2},
        starts_at=(now - timedelta(hours=2)).isoformat(),
        ends_at=(now + timedelta(days=1)).isoformat(),
    )
    me = sign_in(client)
    enrol(client, me, campaign)
    before = (now - timedelta(hours=3)).isoformat()
    record_verified(
        client,
        None,
        me,
        {"type": "garbage_sorting", "category": "other", "weight_kg": 1, "occurred_at": before},
    )
    assert entries(client, me, "campaign_bonus") == []
    record_verified(
        client, None, me, {"type": "garbage_sorting", "category": "other", "weight_kg": 1}
    )
    assert len(entries(client, me, "campaign_bonus")) == 1


def test_district_targeting(client, admin):
    campaign = make_campaign(client, admin, district_codes=["441203"], multipliers={"trip:bus": 2})
    inside = make_resident(client, district_code="441203")
    outside = make_resident(client, district_code="441202")
    assert [
        c["id"] for c in client.get("/api/v1/campaigns", headers=inside.headers).json["items"]
    ] == [campaign["id"]]
    assert client.get("/api/v1/campaigns", headers=outside.headers).json["items"] == []
    assert (
        client.get(f"/api/v1/campaigns/{campaign['id']}", headers=outside.headers).status_code
        == 404
    )
    assert (
        client.post(
            f"/api/v1/campaigns/{campaign['id']}/enrol", headers=outside.headers
        ).status_code
        == 404
    )
    enrol(client, inside, campaign)
    record(client, inside, trip("bus"))
    assert len(entries(client, inside, "campaign_bonus")) == 1


def test_goal_progress_counts_members_approved_co2e(client, admin):
    campaign = make_campaign(client, admin, goal_co2e_g=10_000)
    a, b, outsider = sign_in(client), sign_in(client), sign_in(client)
    enrol(client, a, campaign)
    enrol(client, b, campaign)
    total = sum(record(client, who, trip("bike", 5, 30)).json["co2e_g"] for who in (a, b, outsider))
    run_worker(client)
    detail = client.get(f"/api/v1/campaigns/{campaign['id']}", headers=a.headers).json
    assert detail["progress_co2e_g"] == total * 2 // 3
    assert detail["participants"] == 2
    assert detail["goal_co2e_g"] == 10_000
    assert detail["enrolled"] is True


def test_published_rules_change_only_from_now_on(client, admin, db_session):
    campaign = make_campaign(client, admin, multipliers={"garbage_sorting": 2})
    me = sign_in(client)
    enrol(client, me, campaign)
    earlier = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    edited = client.patch(
        f"/api/v1/staff/campaigns/{campaign['id']}",
        json={"multipliers": {"garbage_sorting": 3}},
        headers=admin,
    )
    assert edited.status_code == 200
    assert len(edited.json["rules_history"]) == 2
    old = record_verified(
        client,
        None,
        me,
        {"type": "garbage_sorting", "category": "other", "weight_kg": 1, "occurred_at": earlier},
    ).json
    new = record_verified(
        client, None, me, {"type": "garbage_sorting", "category": "other", "weight_kg": 1}
    ).json
    bonuses = dict((ref, delta) for _, ref, delta in entries(client, me, "campaign_bonus"))
    assert bonuses[f"campaign:{campaign['id']}/action:{old['id']}"] == old["points"]
    assert bonuses[f"campaign:{campaign['id']}/action:{new['id']}"] == new["points"] * 2
    moved = client.patch(
        f"/api/v1/staff/campaigns/{campaign['id']}", json={"starts_at": earlier}, headers=admin
    )
    assert moved.status_code == 409


def test_lifecycle_draft_published_ended(client, admin):
    draft = make_campaign(client, admin, publish=False)
    me = sign_in(client)
    assert client.get("/api/v1/campaigns", headers=me.headers).json["items"] == []
    assert (
        client.post(f"/api/v1/staff/campaigns/{draft['id']}/end", headers=admin).status_code == 409
    )
    assert (
        client.post(f"/api/v1/staff/campaigns/{draft['id']}/publish", headers=admin).status_code
        == 200
    )
    assert (
        client.post(f"/api/v1/staff/campaigns/{draft['id']}/publish", headers=admin).status_code
        == 409
    )
    ended = client.post(f"/api/v1/staff/campaigns/{draft['id']}/end", headers=admin)
    assert ended.json["status"] == "ended"
    assert client.get("/api/v1/campaigns", headers=me.headers).json["items"] == []
    assert (
        client.patch(
            f"/api/v1/staff/campaigns/{draft['id']}", json={"title": "x"}, headers=admin
        ).status_code
        == 409
    )


@pytest.mark.parametrize(
    "body",
    [
        {"title": ""},
        {"multipliers": {"flying": 2}},
        {"multipliers": {"trip:rocket": 2}},
        {"multipliers": {"trip": 0.5}},
        {"district_codes": ["999999"]},
        {"event_key": "christmas"},
        {"ends_at": "2020-01-01T00:00:00+08:00"},
        {"status": "published"},
    ],
)
def test_invalid_campaigns_are_refused(client, admin, body):
    now = datetime.now(UTC)
    base = {
        "title": "t",
        "starts_at": now.isoformat(),
        "ends_at": (now + timedelta(days=1)).isoformat(),
    }
    response = client.post("/api/v1/staff/campaigns", json={**base, **body}, headers=admin)
    assert response.status_code == 422


def test_only_campaign_admins_manage_campaigns(app, client):
    reviewer = staff_headers(app, client, "reviewer")
    assert client.get("/api/v1/staff/campaigns", headers=reviewer).status_code == 403
    me = sign_in(client)
    assert client.get("/api/v1/staff/campaigns", headers=me.headers).status_code == 401


def test_a_district_code_holding_a_nul_character_is_422_not_500(client, admin):
    # Found by fuzzing on PostgreSQL, whose text cannot hold NUL: the list's items are
    # checked like any text field, on every database alike.
    now = datetime.now(UTC)
    body = {
        "title": "全国节能宣传周",
        "event_key": "energy_saving_week",
        "starts_at": now.isoformat(),
        "ends_at": (now + timedelta(days=6)).isoformat(),
        "district_codes": ["441202", "\x00"],
    }
    response = client.post("/api/v1/staff/campaigns", json=body, headers=admin)
    assert response.status_code == 422
    assert response.json["error"]["fields"] == {"district_codes": {"1": ["不能包含 NUL 字符。"]}}
