"""Verified income that cannot be stolen (issue 19, attacks 3 and 4), through the HTTP API:
partner links are proven by a code the partner confirms, and a partner's verified EV
session outranks a self-report of the same session."""

from datetime import timedelta

import pytest

from tests.factories import (
    console_sign_in,
    create_partner,
    link_partner_account,
    make_campaign,
    make_reward,
    partner_post,
    record,
    redeem,
    run_worker,
    sign_in,
    staff_headers,
    trip,
)

CARD = "BUSCARD-0012345"


@pytest.fixture
def partner(app, db_session):
    return create_partner(app, "肇庆公交", "trip:bus", "ev_charging")


@pytest.fixture
def reviewer(app, client):
    return staff_headers(app, client, "reviewer")


def send(client, partner, events):
    return partner_post(client, partner, "/api/v1/partner/events", {"events": events})


def ask_code(client, partner, who, **extra):
    body = {"partner_key": partner["key"], **extra}
    return client.post("/api/v1/me/partner-links", json=body, headers=who.headers)


def confirm(client, partner, code, external_id=CARD):
    body = {"link_code": code, "external_id": external_id}
    return partner_post(client, partner, "/api/v1/partner/links", body)


def ride(event_id, resident, ended_minutes_ago=5):
    return {
        "event_id": event_id,
        "resident": resident,
        **trip("bus", 8, 30, ended_minutes_ago=ended_minutes_ago),
    }


def balance(client, who) -> int:
    return client.get("/api/v1/me/account", headers=who.headers).json["balance"]


def ledger(client, who) -> list[dict]:
    return client.get("/api/v1/me/ledger?limit=100", headers=who.headers).json["items"]


def links(client, who) -> list[dict]:
    return client.get("/api/v1/me/partner-links", headers=who.headers).json["items"]


# --- attack 3: partner-link hijack ---------------------------------------------------------


def test_typing_the_owners_card_number_claims_nothing_and_the_owner_is_paid(client, partner):
    attacker, owner = sign_in(client), sign_in(client)
    typed = ask_code(client, partner, attacker, external_id=CARD)
    assert typed.status_code == 422
    assert typed.json["error"]["code"] == "partner_link_code_required"
    assert "external_id" in typed.json["error"]["fields"]
    assert links(client, attacker) == []

    asked = ask_code(client, partner, owner)
    assert asked.status_code == 201, asked.json
    code = asked.json["link_code"]
    assert len(code) >= 6 and asked.json["expires_in"] == 600
    assert [(link["status"], link["external_id"]) for link in links(client, owner)] == [
        ("pending", None)
    ]
    confirmed = confirm(client, partner, code)
    assert confirmed.status_code == 201, confirmed.json
    # The partner learns an opaque id, never the resident's phone or profile.
    assert set(confirmed.json) == {"link_id", "external_id", "confirmed_at"}
    assert confirmed.json["external_id"] == CARD
    assert [(link["status"], link["external_id"]) for link in links(client, owner)] == [
        ("confirmed", CARD)
    ]
    exported = client.get("/api/v1/me/export", headers=owner.headers).json["partner_links"]
    assert [link["external_id"] for link in exported] == [CARD]
    assert "code_hash" not in exported[0]  # the code is kept only as a keyed hash, never shown

    rides = send(client, partner, [ride("r1", CARD), ride("r2", CARD, ended_minutes_ago=60)])
    assert rides.status_code == 200
    assert [r["status"] for r in rides.json["results"]] == ["accepted", "accepted"]
    assert balance(client, owner) == sum(r["points"] for r in rides.json["results"]) > 0
    assert balance(client, attacker) == 0
    # The attacker's code, had they one, cannot take the card over either.
    theirs = ask_code(client, partner, attacker).json["link_code"]
    taken = confirm(client, partner, theirs)
    assert taken.status_code == 409 and taken.json["error"]["code"] == "partner_link_exists"


def test_an_event_for_an_unconfirmed_card_is_rejected_alone(client, partner):
    me = sign_in(client)
    assert ask_code(client, partner, me).status_code == 201  # asked, never confirmed
    response = send(client, partner, [ride("u1", "BUSCARD-777"), ride("u2", me.phone)])
    assert response.status_code == 200
    first, second = response.json["results"]
    assert first["status"] == "rejected"
    assert first["error"]["code"] == "partner_link_unconfirmed"
    assert second["status"] == "accepted"
    assert balance(client, me) == second["points"]


def test_link_codes_are_single_use_expire_and_belong_to_one_partner(app, client, partner, clock):
    other_partner = create_partner(app, "肇庆出行", "trip")
    me, someone = sign_in(client), sign_in(client)

    assert confirm(client, partner, "NOPE2345").json["error"]["code"] == "link_code_unknown"
    code = ask_code(client, partner, me).json["link_code"]
    at_other = confirm(client, other_partner, code)
    assert at_other.status_code == 404 and at_other.json["error"]["code"] == "link_code_unknown"

    # Asking again replaces the open code: one per resident and partner.
    fresh = ask_code(client, partner, me).json["link_code"]
    assert confirm(client, partner, code).status_code == 404
    assert len(links(client, me)) == 1

    clock.shift(timedelta(minutes=11))
    expired = confirm(client, partner, fresh)
    assert expired.status_code == 422 and expired.json["error"]["code"] == "link_code_expired"
    assert links(client, me)[0]["status"] == "expired"

    code = ask_code(client, partner, me).json["link_code"]
    first = confirm(client, partner, code.lower())  # typed in lower case: still the code
    assert first.status_code == 201
    again = confirm(client, partner, code)  # the partner's retry
    assert again.status_code == 201 and again.json["link_id"] == first.json["link_id"]
    used = confirm(client, partner, code, external_id="BUSCARD-999")
    assert used.status_code == 422 and used.json["error"]["code"] == "link_code_used"
    linked_already = ask_code(client, partner, me)
    assert linked_already.status_code == 409

    # Unlinked, the card routes nothing again, and another resident may prove it theirs.
    link_id = links(client, me)[0]["id"]
    assert client.delete(f"/api/v1/me/partner-links/{link_id}", headers=me.headers).status_code
    refused = send(client, partner, [ride("x1", CARD)]).json["results"][0]
    assert refused["error"]["code"] == "partner_link_unconfirmed"
    link_partner_account(client, partner, someone, CARD)
    paid = send(client, partner, [ride("x2", CARD)]).json["results"][0]
    assert paid["status"] == "accepted" and balance(client, someone) == paid["points"]
    assert balance(client, me) == 0


def test_a_link_confirmation_is_signed(client, partner):
    me = sign_in(client)
    code = ask_code(client, partner, me).json["link_code"]
    forged = partner_post(
        client,
        {**partner, "secret": "not-the-secret"},
        "/api/v1/partner/links",
        {"link_code": code, "external_id": CARD},
    )
    assert forged.status_code == 401
    assert links(client, me)[0]["status"] == "pending"


def test_the_console_shows_a_residents_partner_links_confirmed_or_pending(app, client, partner):
    other_partner = create_partner(app, "肇庆出行", "trip")
    owner = sign_in(client)
    link_partner_account(client, partner, owner, CARD)
    assert ask_code(client, other_partner, owner).status_code == 201
    console_sign_in(app, client, "superadmin")
    page = client.get(f"/admin/residents/{owner.resident['id']}").get_data(as_text=True)
    assert 'id="resident-partner-links"' in page
    assert "肇庆公交" in page and "合作方已确认" in page
    assert "肇庆出行" in page and "待合作方确认" in page
    assert CARD not in page and owner.phone not in page
    log = client.get("/admin/audit?q=partner_link.confirm").get_data(as_text=True)
    assert "partner_link.confirm" in log and CARD in log  # who confirmed which account


# --- attack 4: EV session squatting ---------------------------------------------------------

SESSION = {"type": "ev_charging", "energy_kwh": 30, "station_id": "ZQ-CS-01", "session_id": "88"}


def charged(event_id, resident):
    return {"event_id": event_id, "resident": resident, **SESSION}


def action(client, who, action_id) -> dict:
    return client.get(f"/api/v1/actions/{action_id}", headers=who.headers).json


def test_a_self_report_rejected_by_a_reviewer_never_blocks_the_owner(
    client, partner, reviewer, db_session
):
    owner, squatter = sign_in(client), sign_in(client)
    squat = record(client, squatter, SESSION)
    assert squat.status_code == 201 and squat.json["status"] == "pending_review"
    rejected = client.post(
        f"/api/v1/staff/reviews/{squat.json['id']}/reject",
        json={"reason": "无充电凭证"},
        headers=reviewer,
    )
    assert rejected.status_code == 200, rejected.json

    paid = send(client, partner, [charged("ev-1", owner.phone)]).json["results"][0]
    assert paid["status"] == "accepted", paid
    assert paid["points"] > 0 and balance(client, owner) == paid["points"]
    assert action(client, owner, paid["action_id"])["verification"] == "partner"
    assert balance(client, squatter) == 0
    # Once the partner's event is recorded, a self-report of the session is refused.
    late = record(client, squatter, SESSION)
    assert late.status_code == 409 and late.json["error"]["code"] == "duplicate_action"
    again = send(client, partner, [charged("ev-2", owner.phone)]).json["results"][0]
    assert again["status"] == "duplicate"
    assert balance(client, owner) == paid["points"]


def test_a_self_report_rejected_before_this_rule_gives_its_key_up_too(
    client, partner, reviewer, db_session
):
    from points.actions.models import Action

    owner, squatter = sign_in(client), sign_in(client)
    squat = record(client, squatter, SESSION).json
    client.post(
        f"/api/v1/staff/reviews/{squat['id']}/reject", json={"reason": "x"}, headers=reviewer
    )
    # Rejected before reviewers' rejections freed the key: the row still holds it.
    db_session.get(Action, squat["id"]).dedup_key = "ev:ZQ-CS-01:88"
    db_session.flush()
    paid = send(client, partner, [charged("ev-1", owner.phone)]).json["results"][0]
    assert paid["status"] == "accepted" and balance(client, owner) == paid["points"]
    assert action(client, squatter, squat["id"])["details"]["freed_event_key"] == "ev:ZQ-CS-01:88"


def test_a_pending_squat_is_superseded_and_flagged(client, partner, reviewer):
    owner, squatter = sign_in(client), sign_in(client)
    squat = record(client, squatter, SESSION).json
    paid = send(client, partner, [charged("ev-1", owner.phone)]).json["results"][0]
    assert paid["status"] == "accepted" and balance(client, owner) == paid["points"]

    superseded = action(client, squatter, squat["id"])
    assert superseded["status"] == "rejected"
    assert "suspected_squat" in superseded["flags"]
    assert superseded["review_reason"]
    assert balance(client, squatter) == 0
    # A reviewer cannot pay it afterwards: it is decided.
    late = client.post(f"/api/v1/staff/reviews/{squat['id']}/approve", headers=reviewer)
    assert late.status_code == 409


def test_the_owners_own_pending_report_gives_way_without_a_squat_flag(client, partner):
    owner = sign_in(client)
    mine = record(client, owner, SESSION).json
    paid = send(client, partner, [charged("ev-1", owner.phone)]).json["results"][0]
    assert paid["status"] == "accepted"
    assert balance(client, owner) == paid["points"]  # paid once, by the verified event
    superseded = action(client, owner, mine["id"])
    assert superseded["status"] == "rejected" and "suspected_squat" not in superseded["flags"]


def test_the_owners_approved_report_makes_the_partner_event_a_duplicate(client, partner, reviewer):
    owner = sign_in(client)
    mine = record(client, owner, SESSION).json
    approved = client.post(f"/api/v1/staff/reviews/{mine['id']}/approve", headers=reviewer)
    assert approved.status_code == 200
    before = balance(client, owner)
    assert before > 0
    result = send(client, partner, [charged("ev-1", owner.phone)]).json["results"][0]
    assert result["status"] == "duplicate"
    assert balance(client, owner) == before
    assert action(client, owner, mine["id"])["status"] == "approved"


def test_an_approved_squat_is_taken_back_and_the_owner_paid_once(
    app, client, partner, reviewer, db_session
):
    owner, squatter = sign_in(client), sign_in(client)
    squat = record(client, squatter, SESSION).json
    approved = client.post(f"/api/v1/staff/reviews/{squat['id']}/approve", headers=reviewer)
    assert approved.status_code == 200
    squat_points = approved.json["points"]
    assert squat_points > 0
    run_worker(client)  # the squat's figures are applied before it is found out
    # The squatter spends part of it: that part cannot be taken back.
    admin = staff_headers(app, client, "superadmin")
    reward = make_reward(client, admin, cost_points=200, stock=5)
    assert redeem(client, squatter, reward).status_code == 201

    left = balance(client, squatter)
    assert left < squat_points

    link_partner_account(client, partner, owner, CARD)
    response = send(client, partner, [charged("ev-1", CARD), charged("ev-1", CARD)])
    first, repeat = response.json["results"]
    assert first["status"] == "accepted" and repeat["status"] == "duplicate"
    assert balance(client, owner) == first["points"] == squat_points

    superseded = action(client, squatter, squat["id"])
    assert superseded["status"] == "rejected"
    assert "suspected_squat" in superseded["flags"]
    # Taken back as far as the balance allows; the rest is recorded, never a negative balance.
    assert superseded["details"]["points_taken_back"] == left
    assert superseded["details"]["points_not_recovered"] == squat_points - left
    assert balance(client, squatter) == 0
    taken = [e for e in ledger(client, squatter) if e["kind"] == "adjustment"]
    assert [(e["delta"], e["ref"]) for e in taken] == [(-left, f"superseded/action:{squat['id']}")]
    account = client.get("/api/v1/me/account", headers=squatter.headers).json
    assert account["co2e_g_total"] == 0

    # Nothing is paid twice: the event again, another event id, the squatter again.
    assert send(client, partner, [charged("ev-1", CARD)]).json["results"][0]["status"] == (
        "duplicate"
    )
    assert send(client, partner, [charged("ev-9", CARD)]).json["results"][0]["status"] == (
        "duplicate"
    )
    assert record(client, squatter, SESSION).status_code == 409
    run_worker(client)
    for who in (owner, squatter):
        entries = ledger(client, who)
        assert balance(client, who) == sum(e["delta"] for e in entries)
        assert len({(e["kind"], e["ref"]) for e in entries}) == len(entries)
    earned = [e["delta"] for e in ledger(client, owner) if e["kind"] == "earn"]
    assert earned == [squat_points]  # the session, paid once (badges follow from it)
    console_sign_in(app, client, "superadmin")
    log = client.get("/admin/audit?q=action.supersede").get_data(as_text=True)
    assert "action.supersede" in log and "points_not_recovered" in log


def test_a_self_report_after_the_partner_event_is_refused(client, partner):
    owner, latecomer = sign_in(client), sign_in(client)
    paid = send(client, partner, [charged("ev-1", owner.phone)]).json["results"][0]
    assert paid["status"] == "accepted"
    for who in (owner, latecomer):
        late = record(client, who, SESSION)
        assert late.status_code == 409 and late.json["error"]["code"] == "duplicate_action"
    assert balance(client, owner) == paid["points"] and balance(client, latecomer) == 0


def test_the_demo_partner_routes_events_through_its_seeded_link(app, client):
    import json
    from pathlib import Path

    assert app.test_cli_runner().invoke(args=["demo", "seed"]).exit_code == 0
    path = Path(app.instance_path) / "demo-credentials.json"
    partner = json.loads(path.read_text())["partner"]
    card = partner["linked_account"]["external_id"]
    owner = sign_in(client, partner["linked_account"]["resident"])
    assert [link["status"] for link in links(client, owner)] == ["confirmed"]
    before = balance(client, owner)
    result = send(client, partner, [ride("demo-1", card)]).json["results"][0]
    assert result["status"] == "accepted", result
    assert balance(client, owner) == before + result["points"]


def test_a_superseded_squat_leaves_the_boards_the_campaign_and_its_bonus(
    app, client, partner, reviewer, db_session
):
    """What an approved squat counted beyond its own points goes too: its campaign bonus
    (in the same take-back entry), the campaign's progress and the resident boards."""
    admin = staff_headers(app, client, "superadmin")
    campaign = make_campaign(client, admin, multipliers={"ev_charging": 2})
    owner, squatter = sign_in(client), sign_in(client)
    enrolled = client.post(f"/api/v1/campaigns/{campaign['id']}/enrol", headers=squatter.headers)
    assert enrolled.status_code in (200, 201)
    squat = record(client, squatter, SESSION).json
    approved = client.post(f"/api/v1/staff/reviews/{squat['id']}/approve", headers=reviewer)
    squat_points = approved.json["points"]
    run_worker(client)
    bonus = [e for e in ledger(client, squatter) if e["kind"] == "campaign_bonus"]
    assert [e["delta"] for e in bonus] == [squat_points]  # doubled: the bonus is as much again
    progress = client.get(f"/api/v1/campaigns/{campaign['id']}", headers=squatter.headers)
    assert progress.json["progress_co2e_g"] == squat["co2e_g"]
    board = client.get("/api/v1/leaderboards/residents?period=all", headers=squatter.headers)
    assert board.json["me"]["co2e_g"] == squat["co2e_g"]

    link_partner_account(client, partner, owner, CARD)
    [result] = send(client, partner, [charged("ev-2", CARD)]).json["results"]
    assert result["status"] == "accepted"
    taken = [e for e in ledger(client, squatter) if e["kind"] == "adjustment"]
    assert [e["delta"] for e in taken] == [-2 * squat_points]  # points and bonus, one entry
    through_squat = {f"action:{squat['id']}", f"campaign:{campaign['id']}/action:{squat['id']}"}
    kept = [e for e in ledger(client, squatter) if e["ref"] not in through_squat]
    assert {e["kind"] for e in kept} == {"adjustment", "badge"}  # a badge, once won, stays
    assert balance(client, squatter) == sum(e["delta"] for e in kept) + 2 * squat_points
    run_worker(client)

    progress = client.get(f"/api/v1/campaigns/{campaign['id']}", headers=squatter.headers)
    assert progress.json["progress_co2e_g"] == 0  # the owner did not join
    board = client.get("/api/v1/leaderboards/residents?period=all", headers=squatter.headers)
    assert board.json["me"]["co2e_g"] == 0
    mine = client.get("/api/v1/leaderboards/residents?period=all", headers=owner.headers)
    assert mine.json["me"]["co2e_g"] == result["co2e_g"]
    check = app.test_cli_runner().invoke(args=["stats", "check"])
    assert check.exit_code == 0, check.output
