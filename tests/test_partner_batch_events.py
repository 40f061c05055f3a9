"""A partner batch: each malformed event (even `null`) is rejected on its own, by its index;
only a body that is no batch at all is refused whole."""

import pytest
from sqlalchemy import func, select

from points.ledger.models import LedgerEntry
from tests.factories import create_partner, partner_post, sign_in, trip


@pytest.fixture
def partner(app, db_session):
    return create_partner(app, "肇庆公交", "trip:bus", "garbage_sorting")


def send(client, partner, body):
    return partner_post(client, partner, "/api/v1/partner/events", body)


def test_null_and_malformed_events_are_rejected_alone_and_the_rest_recorded(
    client, partner, db_session
):
    me = sign_in(client)
    events = [
        None,
        {"event_id": "ok-1", "resident": me.phone, **trip("bus", 8, 30)},
        "an event",
        [{"event_id": "nested"}],
        42,
        {"event_id": 7, "resident": me.phone, "type": "garbage_sorting"},
        {"event_id": "wrong-types", "resident": me.phone, "type": "garbage_sorting",
         "category": ["recyclable"], "weight_kg": "heavy"},
        {"event_id": "unknown-field", "resident": me.phone, "type": "garbage_sorting",
         "category": "recyclable", "weight_kg": 1.5, "extra": {"a": [[[["deep"]]]]}},
        {"event_id": "huge", "resident": me.phone, "type": "garbage_sorting",
         "category": "recyclable" * 2000, "weight_kg": 1.5},
        {"event_id": "ok-2", "resident": me.phone, "type": "garbage_sorting",
         "category": "recyclable", "weight_kg": 1.5},
    ]  # fmt: skip
    response = send(client, partner, {"events": events})
    assert response.status_code == 200, response.json
    body = response.json
    assert [r["index"] for r in body["results"]] == list(range(len(events)))
    verdicts = [(r["status"], r["error"] and r["error"]["code"]) for r in body["results"]]
    assert verdicts == [
        ("rejected", "event_not_object"),
        ("accepted", None),
        ("rejected", "event_not_object"),
        ("rejected", "event_not_object"),
        ("rejected", "event_not_object"),
        ("rejected", "validation_error"),
        ("rejected", "validation_error"),
        ("rejected", "validation_error"),
        ("rejected", "unknown_variant"),
        ("accepted", None),
    ]
    assert (body["accepted"], body["duplicates"], body["rejected"]) == (2, 0, 8)
    fields = [r["error"]["fields"] for r in body["results"] if r["error"]]
    assert set(fields[4]) == {"event_id"}
    assert set(fields[5]) == {"category", "weight_kg"}
    assert set(fields[6]) == {"extra"}
    assert "recyclable" * 2 not in str(body["results"][8])  # a huge value is not echoed back

    balance = client.get("/api/v1/me/account", headers=me.headers).json["balance"]
    paid = sum(r["points"] for r in body["results"] if r["status"] == "accepted")
    assert balance == paid > 0

    again = send(client, partner, {"events": events}).json
    assert [r["status"] for r in again["results"]] == [
        "duplicate" if status == "accepted" else status for status, _ in verdicts
    ]
    assert client.get("/api/v1/me/account", headers=me.headers).json["balance"] == balance
    entries = db_session.scalar(
        select(func.count()).select_from(LedgerEntry).where(LedgerEntry.delta > 0)
    )
    assert entries == 2


@pytest.mark.parametrize(
    "body",
    [None, [], "events", {"events": None}, {"events": {"0": {}}}, {"events": []}, {}],
    ids=["null", "list", "string", "null-events", "object-events", "no-events", "empty"],
)
def test_a_body_that_is_no_batch_is_refused_whole(client, partner, body):
    response = send(client, partner, body)
    assert response.status_code in (400, 422), response.json
    assert "results" not in response.json
