"""Failures injected between the steps of a redemption, an approval and a partner batch
leave no partial state: the answer is a 5xx error, every table is as it was, and the
retry (same Idempotency-Key, or the same batch) pays exactly once.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from datetime import timedelta

import pytest
from sqlalchemy import event, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend import idempotency
from backend.clock import utcnow
from backend.idempotency import IdempotencyRecord
from points.actions import outbox
from points.actions import service as actions_service
from points.actions.models import Action
from points.ledger import service as ledger
from points.partner import service as partner_service
from points.rewards.models import Redemption
from tests.factories import (
    create_partner,
    database_rows,
    make_campaign,
    make_reward,
    partner_signature,
    record,
    redeem,
    run_worker,
    sign_in,
    staff_headers,
    trip,
)


class InjectedFault(RuntimeError):
    """The failure a test injects; anything unexpected, as far as the app knows."""


def assert_internal_error(response) -> None:
    assert response.status_code == 500, response.get_json()
    assert response.json["error"]["code"] == "internal_error"
    assert "InjectedFault" not in response.get_data(as_text=True)  # no stack trace leaks


@contextlib.contextmanager
def failing_mapper_event(model, name: str):
    def explode(*_args):
        raise InjectedFault(f"{model.__name__} {name}")

    event.listen(model, name, explode)
    try:
        yield
    finally:
        event.remove(model, name, explode)


@contextlib.contextmanager
def failing_commit_once(holding):
    """The request's final commit fails (the first commit after a `holding` row was
    inserted): a lost connection, a serialisation failure at COMMIT."""
    inserted, armed = [False], [True]

    def watch(session, _context):
        inserted[0] = inserted[0] or any(isinstance(o, holding) for o in session.new)

    def explode(session):
        if inserted[0] and armed[0]:
            armed[0] = False
            raise InjectedFault("commit failed")

    event.listen(Session, "after_flush", watch)
    event.listen(Session, "before_commit", explode)
    try:
        yield
    finally:
        event.remove(Session, "after_flush", watch)
        event.remove(Session, "before_commit", explode)


def after_calling(monkeypatch, module, name: str, when=lambda *a, **k: True):
    """Make module.name run, then raise when `when(*args)` says so."""
    real = getattr(module, name)

    def wrapper(*args, **kwargs):
        result = real(*args, **kwargs)
        if when(*args, **kwargs):
            raise InjectedFault(f"after {name}")
        return result

    monkeypatch.setattr(module, name, wrapper)


@pytest.fixture
def admin(app, client):
    return staff_headers(app, client, "campaign_admin")


def funded_resident(client, trips: int = 3):
    me = sign_in(client)
    for i in range(trips):
        reply = record(client, me, trip("bus", 8, 30, ended_minutes_ago=5 + 40 * i))
        assert reply.status_code == 201
    return me


def balance(client, who) -> int:
    return client.get("/api/v1/me/account", headers=who.headers).json["balance"]


# --- redemption: debit, stock, code ---------------------------------------------------------


REDEMPTION_FAULTS = {
    "after the ledger debit": lambda mp, _stack: after_calling(
        mp, ledger, "post_entry", lambda _r, kind, *_: kind == "redeem"
    ),
    "after the stock decrement": lambda mp, stack: stack.enter_context(
        failing_mapper_event(Redemption, "before_insert")
    ),
    "after the code is issued": lambda mp, stack: stack.enter_context(
        failing_mapper_event(Redemption, "after_insert")
    ),
    "storing the response": lambda mp, _stack: after_calling(mp, idempotency, "_complete"),
    "at commit": lambda mp, stack: stack.enter_context(failing_commit_once(Redemption)),
}


@pytest.mark.parametrize("fault", REDEMPTION_FAULTS)
def test_a_redemption_failing_midway_takes_nothing_and_the_retry_redeems_once(
    client, db_session, admin, monkeypatch, fault
):
    reward = make_reward(client, admin, cost_points=5, stock=3)
    me = funded_resident(client)
    points_before = balance(client, me)
    before = database_rows(db_session)

    with monkeypatch.context() as mp, contextlib.ExitStack() as stack:
        REDEMPTION_FAULTS[fault](mp, stack)
        failed = redeem(client, me, reward, key="redeem-once")
    assert_internal_error(failed)
    assert database_rows(db_session) == before  # the key was released too

    retried = redeem(client, me, reward, key="redeem-once")
    assert retried.status_code == 201, retried.json
    again = redeem(client, me, reward, key="redeem-once")
    assert again.json == retried.json and again.headers["Idempotent-Replayed"] == "true"
    assert balance(client, me) == points_before - 5
    assert (
        client.get(f"/api/v1/staff/rewards/{reward['id']}", headers=admin).json["stock_left"] == 2
    )
    mine = client.get("/api/v1/me/redemptions", headers=me.headers).json["items"]
    assert [r["code"] for r in mine] == [retried.json["code"]]
    redeems = [
        e
        for e in client.get("/api/v1/me/ledger", headers=me.headers).json["items"]
        if e["kind"] == "redeem"
    ]
    assert [e["delta"] for e in redeems] == [-5]


def test_a_cancellation_failing_after_the_refund_keeps_the_redemption(
    client, db_session, admin, monkeypatch
):
    reward = make_reward(client, admin, cost_points=5, stock=3)
    me = funded_resident(client)
    redemption = redeem(client, me, reward).json
    before = database_rows(db_session)
    cancel = f"/api/v1/me/redemptions/{redemption['redemption_id']}/cancel"
    with monkeypatch.context() as mp:
        after_calling(mp, ledger, "post_entry", lambda _r, kind, *_: kind == "refund")
        assert_internal_error(client.post(cancel, headers=me.headers))
    assert database_rows(db_session) == before
    points = balance(client, me)
    assert client.post(cancel, headers=me.headers).json["status"] == "cancelled"
    assert client.post(cancel, headers=me.headers).status_code == 409
    assert balance(client, me) == points + 5


# --- an approved action, and what the worker derives from it -------------------------


def _credits_of(kind: str):
    return lambda credits, *_: any(c.kind == kind for c in credits)


ACTION_FAULTS = {
    "after the earn entry": lambda mp, _stack: after_calling(
        mp, ledger, "credit", _credits_of("earn")
    ),
    "storing the response": lambda mp, _stack: after_calling(mp, idempotency, "_complete"),
    "at commit": lambda mp, stack: stack.enter_context(failing_commit_once(Action)),
}


def _campaign_resident(client, admin):
    campaign = make_campaign(client, admin, multipliers={"trip:bus": 2})
    me = sign_in(client)
    enrol = client.post(f"/api/v1/campaigns/{campaign['id']}/enrol", headers=me.headers)
    assert enrol.status_code == 201
    return campaign, me


def _assert_paid_once_with_its_figures(app, client, campaign, me, paid) -> None:
    entries = client.get("/api/v1/me/ledger", headers=me.headers).json["items"]
    refs = sorted((e["kind"], e["ref"], e["delta"]) for e in entries if e["kind"] != "badge")
    action_id = paid["id"]
    assert refs == sorted(
        [
            ("earn", f"action:{action_id}", paid["points"]),
            ("campaign_bonus", f"campaign:{campaign['id']}/action:{action_id}", paid["points"]),
        ]
    )
    badges = [e["ref"] for e in entries if e["kind"] == "badge"]
    assert len(badges) == len(set(badges)) > 0
    board = client.get("/api/v1/leaderboards/residents?period=week", headers=me.headers).json
    assert board["me"]["co2e_g"] == paid["co2e_g"]
    progress = client.get(f"/api/v1/campaigns/{campaign['id']}", headers=me.headers).json
    assert progress["progress_co2e_g"] == paid["co2e_g"]
    check = app.test_cli_runner().invoke(args=["stats", "check"])
    assert check.exit_code == 0, check.output


@pytest.mark.parametrize("fault", ACTION_FAULTS)
def test_an_action_failing_midway_pays_nothing_and_the_retry_pays_once(
    app, client, db_session, admin, monkeypatch, fault
):
    campaign, me = _campaign_resident(client, admin)
    before = database_rows(db_session)
    body = trip("bus", 8, 30)

    with monkeypatch.context() as mp, contextlib.ExitStack() as stack:
        ACTION_FAULTS[fault](mp, stack)
        failed = record(client, me, body, key="trip-once")
    assert_internal_error(failed)
    # action, earn entry, daily cap, balance, outbox row, idempotency key: all as before
    assert database_rows(db_session) == before

    paid = record(client, me, body, key="trip-once")
    assert paid.status_code == 201, paid.json
    assert paid.json["points"] > 0 and not paid.json["capped"]
    assert record(client, me, body, key="trip-once").json == paid.json
    run_worker(client)
    _assert_paid_once_with_its_figures(app, client, campaign, me, paid.json)


def _explode_after_every_applier(mp):
    real = outbox.appliers

    def with_a_failing_last():
        def last(batch):
            raise InjectedFault("after every applier")

        return [*real(), last]

    mp.setattr(outbox, "appliers", with_a_failing_last)


WORKER_FAULTS = {
    "after the campaign bonus entry": lambda mp: after_calling(
        mp, ledger, "credit", _credits_of("campaign_bonus")
    ),
    "after the badge entries": lambda mp: after_calling(mp, ledger, "credit", _credits_of("badge")),
    "after every applier": _explode_after_every_applier,
}


@pytest.mark.parametrize("fault", WORKER_FAULTS)
def test_a_worker_batch_failing_midway_applies_nothing_and_the_next_run_applies_once(
    app, client, db_session, admin, monkeypatch, fault
):
    campaign, me = _campaign_resident(client, admin)
    paid = record(client, me, trip("bus", 8, 30)).json
    before = database_rows(db_session)
    with monkeypatch.context() as mp:
        WORKER_FAULTS[fault](mp)
        result = app.test_cli_runner().invoke(args=["worker", "--drain"])
    assert isinstance(result.exception, InjectedFault)
    # bonus and badge entries, balance, streak, boards, progress, rollups, outbox: as before
    assert database_rows(db_session) == before
    run_worker(client)
    _assert_paid_once_with_its_figures(app, client, campaign, me, paid)
    assert run_worker(client).startswith("applied 0")


# --- partner batches --------------------------------------------------------------------------


@pytest.fixture
def partner(app):
    return create_partner(app, "肇庆公交", "trip:bus")


def send(client, partner, events):
    raw = json.dumps({"events": events}).encode()
    headers = {
        **partner_signature(partner["key"], partner["secret"], raw),
        "Content-Type": "application/json",
    }
    return client.post("/api/v1/partner/events", data=raw, headers=headers)


def _batch(residents) -> list[dict]:
    return [
        {"event_id": f"bus-{i}", "resident": who.phone, **trip("bus", 6, 25, ended_minutes_ago=10)}
        for i, who in enumerate(residents)
    ]


def _failing_on_call(monkeypatch, number: int, error: Exception):
    """From the `number`th call on, the group fails: a group whose recording collides with
    another partner's key is recorded once more, and a lasting fault fails again."""
    real = partner_service.actions.record_verified
    calls = []

    def wrapper(*args, **kwargs):
        calls.append(1)
        recorded = real(*args, **kwargs)
        if len(calls) >= number:
            raise error
        return recorded

    monkeypatch.setattr(partner_service.actions, "record_verified", wrapper)


PARTNER_FAULTS = {
    # A bug or a lost connection in the second group of events: not a verdict on them.
    "an unexpected error": InjectedFault("second group"),
    # A constraint other than the event's own key: it used to be reported as "duplicate",
    # so the partner never resent the event and it was lost.
    "a foreign integrity error": IntegrityError("INSERT ...", {}, InjectedFault("constraint")),
}


@pytest.mark.parametrize("fault", PARTNER_FAULTS)
def test_a_fault_inside_one_group_keeps_the_groups_before_it_and_the_resend_pays_once(
    app, client, db_session, partner, monkeypatch, fault
):
    residents = [sign_in(client) for _ in range(4)]
    events = _batch(residents)
    before = database_rows(db_session)
    with monkeypatch.context() as mp:
        mp.setitem(app.config, "PARTNER_EVENTS_PER_TRANSACTION", 2)
        _failing_on_call(mp, 2, PARTNER_FAULTS[fault])
        assert_internal_error(send(client, partner, events))
    # Groups of two events are committed one by one: the group before the fault is kept
    # whole, with its outbox rows; nothing of the second group is.
    after_fault = database_rows(db_session)
    kept = after_fault["partner_event"]
    assert len(kept) == 2 and len(after_fault["action"]) == len(before["action"]) + 2
    assert len(after_fault["approval_outbox"]) == len(before["approval_outbox"]) + 2
    for who in residents[2:]:
        assert client.get("/api/v1/me/account", headers=who.headers).json["balance"] == 0

    resent = send(client, partner, events)
    assert resent.status_code == 200
    assert [r["status"] for r in resent.json["results"]] == ["duplicate"] * 2 + ["accepted"] * 2
    again = send(client, partner, events).json
    assert [r["status"] for r in again["results"]] == ["duplicate"] * 4
    # Every event is the same bus ride: each resident is paid what an accepted one paid, once.
    ride = resent.json["results"][-1]["points"]
    assert ride > 0
    for who, result in zip(residents, again["results"], strict=True):
        entries = client.get("/api/v1/me/ledger", headers=who.headers).json["items"]
        earned = [(e["ref"], e["delta"]) for e in entries if e["kind"] == "earn"]
        assert earned == [(f"action:{result['action_id']}", ride)]


def test_a_bad_event_is_still_only_that_events_rejection(client, partner):
    residents = [sign_in(client) for _ in range(3)]
    events = _batch(residents)
    del events[1]["trace"]
    events[1]["distance_km"] = 500  # implausible: a verdict on the event, not a fault
    results = send(client, partner, events).json["results"]
    assert [r["status"] for r in results] == ["accepted", "rejected", "accepted"]


# --- idempotency claims whose request never answered -----------------------------------------


def _abandoned_claim(db_session, who, path: str, body: dict, key: str, age: timedelta):
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"))
    db_session.add(
        IdempotencyRecord(
            scope="actions",
            principal=f"resident:{who.resident['id']}",
            key=key,
            request_hash=hashlib.sha256(f"{path}\n{canonical}".encode()).hexdigest(),
            created_at=utcnow() - age,
        )
    )
    db_session.commit()


def test_a_claim_whose_request_died_is_409_then_taken_over_after_the_timeout(
    app, client, db_session
):
    me = sign_in(client)
    body = trip("bus")
    timeout = app.config["IDEMPOTENCY_CLAIM_TIMEOUT_SECONDS"]
    _abandoned_claim(db_session, me, "/api/v1/actions", body, "died", timedelta(seconds=1))
    busy = record(client, me, body, key="died")
    assert busy.status_code == 409 and busy.json["error"]["code"] == "idempotency_key_in_flight"

    db_session.execute(
        update(IdempotencyRecord)
        .where(IdempotencyRecord.key == "died")
        .values(created_at=utcnow() - timedelta(seconds=timeout + 1))
    )
    db_session.commit()
    taken_over = record(client, me, body, key="died")
    assert taken_over.status_code == 201
    assert record(client, me, body, key="died").json == taken_over.json
    assert [a["id"] for a in client.get("/api/v1/actions", headers=me.headers).json["items"]] == [
        taken_over.json["id"]
    ]


def test_a_request_that_lost_its_claim_to_a_retry_is_rolled_back(client, db_session, monkeypatch):
    me = sign_in(client)
    before = database_rows(db_session)
    real = actions_service.record_action

    def slow_then_taken_over(*args, **kwargs):
        action = real(*args, **kwargs)
        # What a retry does once the claim looks abandoned: a new claim under the key.
        db_session.execute(
            update(IdempotencyRecord)
            .where(IdempotencyRecord.key == "slow")
            .values(created_at=utcnow() + timedelta(microseconds=1)),
            execution_options={"synchronize_session": False},  # another process did it
        )
        return action

    monkeypatch.setattr(actions_service, "record_action", slow_then_taken_over)
    late = record(client, me, trip("bus"), key="slow")
    assert late.status_code == 409
    assert late.json["error"]["code"] == "idempotency_key_in_flight"
    assert database_rows(db_session) == before
