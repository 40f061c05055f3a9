"""points announces approvals through a signal; listeners write in the same transaction."""

import pytest

from points.signals import action_approved
from tests.factories import captured_approvals, record, sign_in, trip


def test_an_approved_action_is_announced_once_with_what_listeners_need(client):
    me = sign_in(client)
    client.patch("/api/v1/me", json={"district_code": "441203"}, headers=me.headers)
    with captured_approvals() as received:
        action = record(client, me, trip("bus"), key="once").json
        record(client, me, trip("bus"), key="once")  # a replay announces nothing
    assert len(received) == 1
    event = received[0]
    assert event.action_id == action["id"]
    assert event.resident_id == me.resident["id"]
    assert (event.action_type, event.variant) == ("trip", "bus")
    assert event.co2e_g == action["co2e_g"] and event.points == action["points"]
    assert event.district_code == "441203"
    assert event.source == "self_reported"


def test_actions_waiting_for_review_are_not_announced(client):
    me = sign_in(client)
    with captured_approvals() as received:
        body = {"type": "ev_charging", "energy_kwh": 5, "station_id": "a", "session_id": "b"}
        assert record(client, me, body).json["status"] == "pending_review"
    assert received == []


def test_a_failing_listener_rolls_back_the_whole_action(client):
    me = sign_in(client)

    def broken(sender, event):
        raise RuntimeError("listener failed")

    action_approved.connect(broken)
    try:
        response = record(client, me, trip("bus"))
    finally:
        action_approved.disconnect(broken)
    assert response.status_code == 500
    assert client.get("/api/v1/actions", headers=me.headers).json["items"] == []
    assert client.get("/api/v1/me/account", headers=me.headers).json["balance"] == 0


@pytest.fixture(autouse=True)
def no_leftover_listeners():
    before = len(action_approved.receivers)
    yield
    assert len(action_approved.receivers) == before
