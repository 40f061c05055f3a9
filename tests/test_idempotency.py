"""Idempotency-Key on POST /api/v1/actions: retries never record or pay twice."""

from sqlalchemy import func, select

from backend.idempotency import IdempotencyRecord
from points.actions.models import Action
from points.ledger.models import LedgerEntry
from tests.factories import record, sign_in, trip


def _count(db_session, model, **where):
    query = select(func.count()).select_from(model)
    for name, value in where.items():
        query = query.where(getattr(model, name) == value)
    return db_session.scalar(query)


def test_same_key_and_body_returns_the_stored_response(client, db_session):
    me = sign_in(client)
    body = trip("bus")
    first = record(client, me, body, key="retry-1")
    again = record(client, me, body, key="retry-1")
    assert first.status_code == again.status_code == 201
    assert again.json == first.json
    assert again.headers["Idempotent-Replayed"] == "true"
    assert _count(db_session, Action, resident_id=me.resident["id"]) == 1
    assert _count(db_session, LedgerEntry, resident_id=me.resident["id"], kind="earn") == 1


def test_same_key_with_another_body_is_422_and_changes_nothing(client, db_session):
    me = sign_in(client)
    record(client, me, trip("bus"), key="k")
    response = record(client, me, trip("walk", 1, 20), key="k")
    assert response.status_code == 422
    assert response.json["error"]["code"] == "idempotency_key_reused"
    assert _count(db_session, Action, resident_id=me.resident["id"]) == 1


def test_missing_or_malformed_key_is_400(client):
    me = sign_in(client)
    response = client.post("/api/v1/actions", json=trip(), headers=me.headers)
    assert response.status_code == 400
    assert response.json["error"]["code"] == "idempotency_key_missing"
    bad = record(client, me, trip(), key="x" * 129)
    assert bad.status_code == 400
    assert bad.json["error"]["code"] == "idempotency_key_invalid"


def test_keys_belong_to_one_resident(client, db_session):
    alice, bob = sign_in(client), sign_in(client)
    body = trip("bus")
    a = record(client, alice, body, key="shared")
    b = record(client, bob, body, key="shared")
    assert a.status_code == b.status_code == 201
    assert a.json["id"] != b.json["id"]


def test_a_refused_request_releases_its_key(client, db_session):
    me = sign_in(client)
    refused = record(client, me, trip("walk", 39, 30), key="fix-me")
    assert refused.status_code == 422
    assert _count(db_session, IdempotencyRecord, key="fix-me") == 0
    fixed = record(client, me, trip("walk", 39, 30), key="fix-me")
    assert fixed.status_code == 422  # still implausible: same answer, nothing stored
    ok = record(client, me, trip("walk", 2, 30), key="fix-me")
    assert ok.status_code == 201


def test_a_key_still_in_flight_is_409(client, db_session):
    me = sign_in(client)
    body = trip("bus")
    # A claim with no response yet is what a concurrent request sees while the first runs
    # (tests/test_concurrency.py fires real concurrent requests).
    first = record(client, me, body, key="busy")
    db_session.execute(
        IdempotencyRecord.__table__.update()
        .where(IdempotencyRecord.key == "busy")
        .values(response_status=None, response_body=None)
    )
    db_session.commit()
    response = record(client, me, body, key="busy")
    assert response.status_code == 409
    assert response.json["error"]["code"] == "idempotency_key_in_flight"
    assert first.status_code == 201
