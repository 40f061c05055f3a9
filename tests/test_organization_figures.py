"""Organisation figures kept by the worker, the organisation board, and `flask stats check`
over them."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from campaigns.organizations.models import ALL_TYPES, OrganizationPeriodTotal
from tests.factories import (
    join_organization,
    make_household,
    make_organization,
    record,
    requeue,
    run_worker,
    sign_in,
    staff_headers,
    trip,
)

BOARD = "/api/v1/leaderboards/organizations"


def figures(db_session, organization_id: int, key: str = "all") -> dict:
    row = db_session.scalar(
        select(OrganizationPeriodTotal).where(
            OrganizationPeriodTotal.organization_id == organization_id,
            OrganizationPeriodTotal.period_key == key,
            OrganizationPeriodTotal.action_type == ALL_TYPES,
        )
    )
    names = (
        "actions",
        "verified_actions",
        "co2e_g",
        "self_declared_co2e_g",
        "points",
        "trips",
        "green_trips",
        "participants",
    )
    return {name: getattr(row, name) if row else 0 for name in names}


def later(client, clock, *people, hours: int = 3) -> list:
    """The clock moved on past the trips before it; each person signed in again (their
    access tokens have expired meanwhile)."""
    clock.shift(timedelta(hours=hours))
    return [sign_in(client, who.phone) for who in people]


def check(app) -> tuple[int, str]:
    result = app.test_cli_runner().invoke(args=["stats", "check"])
    return result.exit_code, result.output


def test_a_member_counts_from_joining_to_leaving_once_verified_co2e_only(
    app, client, db_session, clock
):
    staff = staff_headers(app, client, "campaign_admin")
    school = make_organization(client, staff, "school", "端州区第一小学")
    parent = sign_in(client)
    before = record(client, parent, trip("bus", 5, 20)).json  # before joining: never counts
    join_organization(client, parent, school["invite_code"])
    [parent] = later(client, clock, parent)
    walk = record(client, parent, trip("walk", 2, 25)).json
    car = record(client, parent, trip("car", 9, 20, ended_minutes_ago=40)).json
    declared = record(client, parent, trip("bus", 4, 15, ended_minutes_ago=80, trace=False)).json
    assert (walk.get("verification"), car.get("verification")) == ("trace", "trace"), (walk, car)
    assert declared.get("verification") == "self_declared", declared
    run_worker(client)
    requeue(client, [walk["id"], car["id"]])  # a second delivery counts nothing twice
    run_worker(client)
    during = figures(db_session, school["id"])

    left = client.delete(f"/api/v1/me/organizations/{school['id']}", headers=parent.headers)
    assert left.status_code == 204
    [parent] = later(client, clock, parent)
    record(client, parent, trip("bus", 6, 20))  # after leaving: not the school's
    run_worker(client)

    counted = [a for a in (walk, car, declared) if a["status"] == "approved"]
    assert walk in counted and car in counted and before["status"] == "approved"
    verified = [walk, car]
    expected = {
        "actions": len(counted),
        "verified_actions": 2,
        "co2e_g": sum(a["co2e_g"] for a in verified),  # the self-declared trip adds none
        "self_declared_co2e_g": sum(a["co2e_g"] for a in counted if a not in verified),
        "points": sum(a["points"] for a in counted),
        "trips": 2,
        "green_trips": 1,  # walking is green, driving is not (the methodology's modes)
        "participants": 1,
    }
    assert during == expected
    assert figures(db_session, school["id"]) == expected  # what was counted stays
    assert figures(db_session, school["id"], "w2026-47") == expected
    assert figures(db_session, school["id"], "q2026-4") == expected
    assert check(app)[0] == 0


def _school_with(client, staff, name: str, district: str = "441202") -> dict:
    return make_organization(client, staff, "school", name, district_code=district)


def _member(client, school: dict, km: float):
    who = sign_in(client)
    join_organization(client, who, school["invite_code"])
    return who, km


def test_the_board_ranks_by_co2e_per_member_fairly_between_sizes(app, client, db_session, clock):
    staff = staff_headers(app, client, "campaign_admin")
    small = _school_with(client, staff, "小学校")
    big = _school_with(client, staff, "大学校")
    elsewhere = _school_with(client, staff, "鼎湖小学", "441203")
    small_one, _ = _member(client, small, 0)
    bigs = [_member(client, big, 0)[0] for _ in range(3)]
    leaver = _member(client, big, 0)[0]
    far = _member(client, elsewhere, 0)[0]
    small_one, *bigs, leaver, far = later(client, clock, small_one, *bigs, leaver, far)
    mine = [
        record(client, small_one, trip("bus", 5, 20, ended_minutes_ago=m)).json for m in (5, 40)
    ]
    theirs = [record(client, who, trip("bus", 5, 20)).json for who in [*bigs, leaver]]
    record(client, far, trip("bus", 1, 6))
    run_worker(client)
    assert (
        client.delete(f"/api/v1/me/organizations/{big['id']}", headers=leaver.headers).status_code
        == 204
    )

    board = client.get(f"{BOARD}?kind=school", headers=bigs[0].headers)
    assert board.status_code == 200, board.json
    items = [(i["rank"], i["name"], i["members"], i["participants"]) for i in board.json["items"]]
    big_total = sum(a["co2e_g"] for a in theirs)
    assert big_total > sum(a["co2e_g"] for a in mine)  # more in all, less per member
    assert items[:2] == [(1, "小学校", 1, 1), (2, "大学校", 3, 4)]
    big_item = board.json["items"][1]
    # The leaver stays a participant: four people's grams over four, not over three.
    assert (big_item["co2e_g"], big_item["per_member_g"]) == (big_total, big_total // 4)
    assert big_item["is_mine"] and board.json["me"]["rank"] == 2
    assert board.json["period"] == "w2026-47"

    limited = client.get(f"{BOARD}?kind=school&limit=1", headers=bigs[0].headers).json
    assert len(limited["items"]) == 1 and limited["me"]["rank"] == 2  # counted, not listed

    district = client.get(
        f"{BOARD}?kind=school&district_code=441203&period=all", headers=bigs[0].headers
    ).json
    assert [i["name"] for i in district["items"]] == ["鼎湖小学"]
    assert district["me"]["rank"] is None  # the caller's school is not in that district

    for query in ("", "?kind=club", "?kind=school&district_code=999999"):
        refused = client.get(f"{BOARD}{query}", headers=bigs[0].headers)
        assert refused.status_code == 422, query


def test_households_are_named_only_to_their_own_members(app, client, clock):
    ours, theirs = sign_in(client), sign_in(client)
    mine = make_household(client, ours, "陈家")
    make_household(client, theirs, "李家")
    ours, theirs = later(client, clock, ours, theirs)
    record(client, ours, trip("bus", 3, 15))
    for minutes in (5, 40):
        record(client, theirs, trip("bus", 5, 20, ended_minutes_ago=minutes))
    run_worker(client)
    board = client.get(f"{BOARD}?kind=household", headers=ours.headers).json
    first, second = board["items"]
    assert first["id"] is None and first["name"].startswith("绿色家庭")
    assert "李家" not in str(board)
    assert (second["id"], second["name"], second["is_mine"]) == (mine["id"], "陈家", True)
    assert board["me"]["rank"] == 2


def test_stats_check_finds_a_tampered_organisation_figure_and_rebuild_repairs_it(
    app, client, db_session, clock
):
    staff = staff_headers(app, client, "campaign_admin")
    school = make_organization(client, staff, "school", "端州区第二小学")
    who = sign_in(client)
    join_organization(client, who, school["invite_code"])
    [who] = later(client, clock, who)
    record(client, who, trip("bus", 5, 20))
    record(client, who, trip("rail", 12, 25, ended_minutes_ago=50))
    run_worker(client)
    assert check(app) == (0, "rollups match the raw actions\n")

    db_session.execute(
        update(OrganizationPeriodTotal)
        .where(OrganizationPeriodTotal.organization_id == school["id"])
        .values(co2e_g=OrganizationPeriodTotal.co2e_g + 1)
    )
    db_session.commit()
    code, output = check(app)
    assert code == 1 and f"organisation {school['id']} w2026-47 type *" in output

    rebuilt = app.test_cli_runner().invoke(args=["stats", "rebuild"])
    assert rebuilt.exit_code == 0, rebuilt.output
    assert check(app)[0] == 0


def test_a_superseded_action_is_taken_back_from_its_organisations(app, client, db_session, clock):
    from sqlalchemy import insert

    from points.actions.models import Action, ApprovalOutbox

    school = make_organization(client, staff_headers(app, client, "campaign_admin"), "school")
    parent = sign_in(client)
    make_household(client, parent)
    join_organization(client, parent, school["invite_code"])
    [parent] = later(client, clock, parent)
    kept = record(client, parent, trip("walk", 2, 25, ended_minutes_ago=90)).json
    run_worker(client)
    before = figures(db_session, school["id"])
    superseded = record(client, parent, trip("bus", 5, 20)).json
    run_worker(client)
    assert figures(db_session, school["id"])["co2e_g"] == kept["co2e_g"] + superseded["co2e_g"]

    # A partner's event outranks an action (points.actions.outranking): it comes back
    # rejected through the outbox, and each applier takes back what it counted.
    db_session.execute(
        update(Action).where(Action.id == superseded["id"]).values(status="rejected")
    )
    db_session.execute(insert(ApprovalOutbox).values(action_id=superseded["id"]))
    db_session.commit()
    run_worker(client)
    assert figures(db_session, school["id"]) == before  # the member stays a participant
    board = client.get(f"/api/v1/organizations/{school['id']}?period=all", headers=parent.headers)
    assert board.json["totals"]["co2e_g"] == kept["co2e_g"]
    assert check(app)[0] == 0
