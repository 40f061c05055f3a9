"""The benchmark's yardsticks (loadtests/yardsticks.py): served only by their own app, and
the least durable action pays what the real endpoint pays."""

import json
import uuid

import pytest
import sqlalchemy as sa

from loadtests.settings import FLOOR_PATH, LEAST_ACTION_PATH
from tests.conftest import assert_ledger_invariants
from tests.factories import today_minutes_ago, trip
from tests.live_server import live_server
from tests.locust_runs import assert_clean_run, run_locust


def test_the_app_does_not_serve_the_yardsticks(client):
    for path in (FLOOR_PATH, LEAST_ACTION_PATH):
        assert client.post(path, json={}).status_code == 404
        assert path not in client.get("/api/openapi.json").json["paths"]


@pytest.fixture(scope="module")
def yardstick_server(tmp_path_factory):
    with live_server(
        tmp_path_factory.mktemp("live-yardsticks"),
        workers=1,
        app="loadtests.yardsticks:create_app()",
    ) as live:
        yield live


def _bike_trips(count: int) -> list[dict]:
    """10 km by bike each, ended minutes apart on this Beijing day: one day's trip cap."""
    # One after another (a resident's trips never overlap): today's if today has room.
    room = today_minutes_ago(24 * 60)
    latest = 10 if room >= 10 + count * 41 else room + 5
    return [trip("bike", 10, 40, ended_minutes_ago=latest + 41 * i) for i in range(count)]


def _post_all(server, path: str, phone: str, bodies: list[dict]) -> tuple[int, list[dict], dict]:
    """The resident signed in with `phone`, the answers to posting each body, and the
    resident's Authorization header."""
    auth = server.sign_in(phone)
    replies = []
    for body in bodies:
        reply = server.call("POST", path, body, {**auth, "Idempotency-Key": uuid.uuid4().hex})
        assert reply.status == 201, reply.body
        replies.append(reply.body)
    return server.call("GET", "/api/v1/me", headers=auth).body["id"], replies, auth


def _json(value):
    return json.loads(value) if isinstance(value, str) else value  # SQLite: text; psycopg: parsed


@pytest.mark.real_clock  # a server in another process, on the machine's clock
def test_least_action_pays_what_the_action_endpoint_pays(yardstick_server):
    trips = _bike_trips(3)  # 30 km of cycling in a day: past the trip cap
    least = _post_all(yardstick_server, LEAST_ACTION_PATH, "13800000301", trips)
    real = _post_all(yardstick_server, "/api/v1/actions", "13800000302", trips)

    paid = ("co2e_g", "points", "capped", "status", "factor_version", "unit", "quantity")
    assert [{k: a[k] for k in paid} for a in least[1]] == [{k: a[k] for k in paid} for a in real[1]]
    assert [a["capped"] for a in least[1]] == [False, False, True]
    # Its earn entries only: the listeners' badges and bonuses are what it leaves out.
    account = yardstick_server.call("GET", "/api/v1/me/account", headers=least[2]).body
    assert account["balance"] == sum(reply["points"] for reply in least[1])
    with yardstick_server.engine.connect() as connection:
        assert_ledger_invariants(connection)
        stored = connection.execute(
            sa.text(
                "SELECT response_status, response_body FROM idempotency_record"
                " WHERE principal = :p ORDER BY id"
            ),
            {"p": f"resident:{least[0]}"},
        ).all()
    assert [(status, _json(body)["id"]) for status, body in stored] == [
        (201, reply["id"]) for reply in least[1]
    ]


@pytest.mark.real_clock  # a server in another process, on the machine's clock
def test_floor_answers_without_writing_and_refuses_without_a_token(yardstick_server):
    with yardstick_server.engine.connect() as connection:
        before = connection.scalar(sa.text("SELECT count(*) FROM action"))
    assert yardstick_server.call("POST", FLOOR_PATH, _bike_trips(1)[0]).status == 401
    _resident, replies, _auth = _post_all(
        yardstick_server, FLOOR_PATH, "13800000303", _bike_trips(2)
    )
    assert [reply["status"] for reply in replies] == ["approved", "approved"]
    with yardstick_server.engine.connect() as connection:
        assert connection.scalar(sa.text("SELECT count(*) FROM action")) == before


@pytest.mark.real_clock  # a server in another process, on the machine's clock
def test_yardstick_users_run_without_failures(yardstick_server, tmp_path):
    credentials = tmp_path / "credentials.json"
    credentials.write_text(json.dumps({}))
    run = run_locust(
        yardstick_server, credentials, tmp_path, ["FloorUser", "LeastActionUser"], users=4
    )
    assert_clean_run(run, {"FloorUser": [FLOOR_PATH], "LeastActionUser": [LEAST_ACTION_PATH]})
