"""Campaigns for organisations: who may join, each organisation's progress towards the team
goal (members' verified actions while members), the team bonus paid once per member."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.factories import (
    console_post,
    console_sign_in,
    join_organization,
    local,
    make_campaign,
    make_household,
    make_organization,
    record_verified,
    requeue,
    run_worker,
    sign_in,
    staff_headers,
)

GARBAGE = {"type": "garbage_sorting", "category": "other", "weight_kg": 1}


@pytest.fixture
def admin(app, client):
    return staff_headers(app, client, "campaign_admin")


def enrol(client, who, campaign):
    return client.post(f"/api/v1/campaigns/{campaign['id']}/enrol", headers=who.headers)


def member_of(client, organization):
    who = sign_in(client)
    join_organization(client, who, organization["invite_code"])
    return who


def team_bonuses(client, who):
    items = client.get("/api/v1/me/ledger?limit=100", headers=who.headers).json["items"]
    return [(e["ref"], e["delta"], e["description"]) for e in items if "/team:" in e["ref"]]


def test_a_campaign_for_schools_is_shown_to_all_but_joined_by_members_only(client, admin):
    school = make_organization(client, admin)
    campaign = make_campaign(client, admin, organization_kinds=["school"])
    outsider = sign_in(client)
    make_household(client, outsider)  # a household is not a school
    [shown] = client.get("/api/v1/campaigns", headers=outsider.headers).json["items"]
    assert (shown["eligible"], shown["organization_kinds"], shown["my_organizations"]) == (
        False,
        ["school"],
        [],
    )
    refused = enrol(client, outsider, campaign)
    assert (refused.status_code, refused.json["error"]["code"]) == (
        403,
        "campaign_for_organizations",
    )

    pupil = member_of(client, school)
    assert enrol(client, pupil, campaign).status_code == 201
    mine = client.get(f"/api/v1/campaigns/{campaign['id']}", headers=pupil.headers).json
    assert mine["eligible"] is True and mine["enrolled"] is True
    assert [(o["id"], o["co2e_g"], o["reached"]) for o in mine["my_organizations"]] == [
        (school["id"], 0, False)
    ]

    # Named organisations: a member of another school is refused too
    other = make_organization(client, admin, name="端州区第二小学")
    named = make_campaign(client, admin, title="一小环保月", organization_ids=[school["id"]])
    assert enrol(client, member_of(client, other), named).status_code == 403
    assert enrol(client, pupil, named).status_code == 201


def test_a_school_reaches_its_team_goal_and_each_enrolled_member_is_paid_once(client, admin, clock):
    school = make_organization(client, admin)
    rival = make_organization(client, admin, name="端州区第二小学")
    # One action's grams, to set the goal at two actions
    grams = record_verified(client, None, sign_in(client), GARBAGE).json["co2e_g"]
    assert grams > 0
    campaign = make_campaign(
        client,
        admin,
        organization_kinds=["school"],
        team_goal_co2e_g=2 * grams,
        team_bonus_points=300,
    )

    # Before joining the school: the action counts for the campaign, not for the school
    newcomer = sign_in(client)
    early = record_verified(client, None, newcomer, GARBAGE).json
    clock.shift(timedelta(minutes=5))
    join_organization(client, newcomer, school["invite_code"])
    assert enrol(client, newcomer, campaign).status_code == 201

    first, second = member_of(client, school), member_of(client, school)
    elsewhere = member_of(client, rival)
    for who in (first, second, elsewhere):
        assert enrol(client, who, campaign).status_code == 201
    actions = [early["id"]]
    actions.append(record_verified(client, None, elsewhere, GARBAGE).json["id"])
    actions.append(record_verified(client, None, first, GARBAGE).json["id"])
    run_worker(client)
    mine = client.get(f"/api/v1/campaigns/{campaign['id']}", headers=first.headers).json
    assert mine["progress_co2e_g"] == 3 * grams
    assert [(o["co2e_g"], o["goal_co2e_g"], o["reached"]) for o in mine["my_organizations"]] == [
        (grams, 2 * grams, False)
    ]
    assert team_bonuses(client, first) == []

    actions.append(record_verified(client, None, second, GARBAGE).json["id"])
    run_worker(client)
    ref = f"campaign:{campaign['id']}/team:{school['id']}/resident:"
    for who in (first, second, newcomer):
        [(paid_ref, delta, description)] = team_bonuses(client, who)
        assert (paid_ref.startswith(ref), delta) == (True, 300)
        assert campaign["title"] in description
    assert team_bonuses(client, elsewhere) == []

    # A second delivery of every action pays nothing more and counts nothing twice
    requeue(client, actions)
    run_worker(client)
    for who in (first, second, newcomer):
        assert len(team_bonuses(client, who)) == 1
    board = client.get(
        f"/api/v1/campaigns/{campaign['id']}/organizations", headers=first.headers
    ).json["items"]
    assert [(o["id"], o["co2e_g"], o["reached"]) for o in board] == [
        (school["id"], 2 * grams, True),
        (rival["id"], grams, False),
    ]
    staff_view = client.get(f"/api/v1/staff/campaigns/{campaign['id']}", headers=admin).json
    assert [(o["id"], o["reached"]) for o in staff_view["organizations"]] == [
        (school["id"], True),
        (rival["id"], False),
    ]

    # Joining after the goal was reached earns no team bonus
    late = member_of(client, school)
    assert enrol(client, late, campaign).status_code == 201
    record_verified(client, None, late, GARBAGE)
    run_worker(client)
    assert team_bonuses(client, late) == []


def test_staff_validation_of_organisation_limits(client, admin, app):
    school = make_organization(client, admin)
    base = {
        "title": "校园低碳周",
        "starts_at": "2026-12-10T00:00:00+08:00",
        "ends_at": "2026-12-17T00:00:00+08:00",
    }

    def refused(**fields):
        response = client.post("/api/v1/staff/campaigns", json={**base, **fields}, headers=admin)
        assert response.status_code == 422, response.json
        return set(response.json["error"]["fields"])

    assert refused(organization_ids=[school["id"] + 1000]) == {"organization_ids"}
    assert refused(organization_kinds=["employer"], organization_ids=[school["id"]]) == {
        "organization_ids"
    }
    assert refused(organization_kinds=["club"]) == {"organization_kinds"}
    assert refused(team_goal_co2e_g=10_000) == {"team_goal_co2e_g"}
    assert refused(
        organization_kinds=["school"],
        team_goal_co2e_g=10_000,
        team_bonus_points=app.config["CAMPAIGN_MAX_TEAM_BONUS"] + 1,
    ) == {"team_bonus_points"}

    campaign = make_campaign(
        client, admin, organization_kinds=["school"], team_goal_co2e_g=10_000, team_bonus_points=50
    )
    changed = client.patch(
        f"/api/v1/staff/campaigns/{campaign['id']}",
        json={"organization_kinds": ["school", "employer"]},
        headers=admin,
    )
    assert (changed.status_code, changed.json["error"]["code"]) == (409, "campaign_published")
    bonus = client.patch(
        f"/api/v1/staff/campaigns/{campaign['id']}", json={"team_bonus_points": 80}, headers=admin
    )
    assert bonus.status_code == 200
    assert bonus.json["rules"]["team_bonus_points"] == 80


def test_the_console_form_limits_a_campaign_to_schools_with_a_team_goal_in_kg(client, admin, app):
    school = make_organization(client, admin)
    console_sign_in(app, client, "campaign_admin")
    new = client.get("/admin/campaigns/new").get_data(as_text=True)
    for text in ("学校", "机关", "团队目标", school["name"]):
        assert text in new
    starts = datetime.now(UTC) + timedelta(days=2)
    form = {
        "title": "校园低碳月",
        "starts_at": local(starts),
        "ends_at": local(starts + timedelta(days=7)),
        "districts_shown": "1",
        "multipliers_shown": "1",
        "organizations_shown": "1",
        "organization_kinds": ["school"],
        "organization_ids": [str(school["id"])],
        "team_goal_kg": "12.5",
        "team_bonus_points": "200",
    }
    created = console_post(client, "/admin/campaigns/new", form, "/admin/campaigns/new")
    assert created.status_code == 302, created.get_data(as_text=True)
    campaign_id = int(created.headers["Location"].rsplit("/", 1)[1])
    shown = client.get(f"/api/v1/staff/campaigns/{campaign_id}", headers=admin).json
    assert (shown["organization_kinds"], shown["organization_ids"]) == (["school"], [school["id"]])
    assert (shown["team_goal_co2e_g"], shown["rules"]["team_bonus_points"]) == (12_500, 200)
    page = client.get(f"/admin/campaigns/{campaign_id}").get_data(as_text=True)
    assert "学校" in page and "团队奖励积分" in page

    # A team goal without an organisation limit is refused beside its field
    refused = console_post(
        client,
        "/admin/campaigns/new",
        {**form, "organization_kinds": [], "organization_ids": []},
        "/admin/campaigns/new",
    )
    assert refused.status_code == 422
    assert "设置团队目标须先将活动限定于组织。" in refused.get_data(as_text=True)
