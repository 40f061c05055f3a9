"""GET /metrics: Prometheus text for a bearer of METRICS_TOKEN only; requests, actions,
backlogs, refusals and SMS are counted, across processes too."""

import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.factories import (
    create_partner,
    make_resident,
    new_phone,
    partner_post,
    record,
    request_code,
    run_worker,
    trip,
)

TOKEN = "metrics-token-for-tests-0123456789abcdef"
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def token(app, monkeypatch):
    monkeypatch.setitem(app.config, "METRICS_TOKEN", TOKEN)
    return TOKEN


def scrape(client, token=TOKEN) -> dict[tuple, float]:
    """Every sample of /metrics: (name, sorted labels) -> value."""
    response = client.get("/metrics", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.get_data(as_text=True)
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.get_data(as_text=True))
        for sample in family.samples
    }


def value(samples: dict, name: str, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_metrics_answer_only_the_token(app, client, token):
    for headers in (
        {},
        {"Authorization": "Bearer wrong-token"},
        {"Authorization": f"Basic {TOKEN}"},
        {"Authorization": f"Bearer {TOKEN}x"},
        {"Authorization": TOKEN},
    ):
        response = client.get("/metrics", headers=headers)
        assert response.status_code == 401, headers
        assert response.json["error"]["code"] == "metrics_token_invalid"
        assert "zq_" not in response.get_data(as_text=True)
    answer = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert answer.status_code == 200
    assert answer.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    assert "# TYPE zq_http_requests_total counter" in answer.get_data(as_text=True)
    assert "/metrics" not in json.dumps(client.get("/api/openapi.json").json["paths"])


def test_without_a_token_configured_there_are_no_metrics(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "METRICS_TOKEN", "")
    for headers in ({}, {"Authorization": "Bearer "}, {"Authorization": "Bearer x"}):
        assert client.get("/metrics", headers=headers).status_code == 404


def test_a_development_server_uses_the_token_the_demo_seed_wrote(
    app, client, monkeypatch, tmp_path
):
    monkeypatch.setitem(app.config, "APP_ENV", "development")
    monkeypatch.setitem(app.config, "METRICS_TOKEN", "")
    monkeypatch.setattr(app, "instance_path", str(tmp_path))
    assert client.get("/metrics", headers={"Authorization": "Bearer "}).status_code == 404
    (tmp_path / "demo-credentials.json").write_text(json.dumps({"metrics_token": "demo-tok"}))
    assert client.get("/metrics", headers={"Authorization": "Bearer x"}).status_code == 401
    assert scrape(client, "demo-tok")


def test_requests_are_counted_and_timed_per_route_never_per_path(client, token):
    before = scrape(client)
    me = make_resident(client)
    for _ in range(3):
        assert client.get("/healthz").status_code == 200
    for action_id in (987654, 987655):  # two paths, one route
        assert client.get(f"/api/v1/actions/{action_id}", headers=me.headers).status_code == 404
    assert client.get("/no/such/page/12345").status_code == 404
    after = scrape(client)

    def moved(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    health = {"endpoint": "health.Health", "method": "GET"}
    assert moved("zq_http_requests_total", status="2xx", **health) == 3
    assert moved("zq_http_request_duration_seconds_count", **health) == 3
    assert moved("zq_http_request_duration_seconds_bucket", le="+Inf", **health) == 3
    one = {"endpoint": "actions.OneAction", "method": "GET"}
    assert moved("zq_http_requests_total", status="4xx", **one) == 2
    assert moved("zq_http_request_duration_seconds_sum", **one) > 0
    assert moved("zq_http_requests_total", endpoint="none", method="GET", status="4xx") == 1
    labels = {v for key in after for _, v in key[1]}
    assert not any("987654" in v or "12345" in v or me.phone in v for v in labels)


def test_actions_are_counted_by_type_and_verification(app, client, token):
    me = make_resident(client)
    before = scrape(client)
    assert record(client, me, trip("bus", trace=False)).status_code == 201
    assert record(client, me, trip("bus", ended_minutes_ago=60)).status_code == 201
    partner = create_partner(app, "肇庆公交", "trip:bus")
    event = {"event_id": "m-1", "resident": me.phone, **trip("bus", ended_minutes_ago=120)}
    batch = partner_post(client, partner, "/api/v1/partner/events", {"events": [event, None]})
    assert batch.json["accepted"] == 1
    refused = record(client, me, trip("bus", km=300, minutes=10, ended_minutes_ago=200))
    assert refused.status_code == 422  # nothing recorded, nothing counted
    after = scrape(client)

    def moved(verification):
        labels = {"type": "trip", "verification": verification, "status": "approved"}
        name = "zq_actions_recorded_total"
        return value(after, name, **labels) - value(before, name, **labels)

    assert (moved("self_declared"), moved("trace"), moved("partner")) == (1, 1, 1)


def test_backlog_gauges_read_the_outbox(client, token, clock):
    run_worker(client)
    empty = scrape(client)
    queue = {"queue": "approval_outbox"}
    assert value(empty, "zq_worker_backlog_rows", **queue) == 0
    assert value(empty, "zq_worker_backlog_oldest_age_seconds", **queue) == 0
    me = make_resident(client)
    record(client, me, trip("bus"))
    record(client, me, trip("bus", ended_minutes_ago=60))
    clock.shift(timedelta(seconds=90))
    waiting = scrape(client)
    assert value(waiting, "zq_worker_backlog_rows", **queue) == 2
    assert value(waiting, "zq_worker_backlog_oldest_age_seconds", **queue) >= 90
    run_worker(client)
    assert value(scrape(client), "zq_worker_backlog_rows", **queue) == 0


def test_rate_limit_refusals_and_sms_are_counted(client, token):
    before = scrape(client)
    phone = new_phone()
    request_code(client, phone)
    refused = client.post("/api/v1/auth/otp", json={"phone": phone})
    assert refused.status_code == 429
    after = scrape(client)
    name = "zq_rate_limited_requests_total"
    labels = {"endpoint": "auth.RequestCode", "code": refused.json["error"]["code"]}
    assert value(after, name, **labels) - value(before, name, **labels) == 1
    assert value(after, "zq_sms_sent_today") - value(before, "zq_sms_sent_today") == 1
    assert value(before, "zq_sms_remaining") - value(after, "zq_sms_remaining") == 1
    assert value(after, "zq_sms_budget") == client.application.config["SMS_DAILY_BUDGET"]
    assert phone not in str(after)


# Builds the app once, then forks two processes that answer requests, as gunicorn's
# workers do (`--preload`): each writes its counts to a file of its own in the shared folder.
_WORKERS = """
import os, sys
from backend.app import create_app
from backend.config import Config
app = create_app(Config.from_env({"APP_ENV": "test", "DATABASE_URL": sys.argv[1],
                                  "INSTANCE_PATH": sys.argv[2]}))
children = []
for requests in (3, 4):
    pid = os.fork()
    if pid == 0:
        client = app.test_client()
        ok = all(client.get("/healthz").status_code == 200 for _ in range(requests))
        os._exit(0 if ok else 1)
    children.append(pid)
sys.exit(max(os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) for pid in children))
"""


def test_a_scrape_sums_what_every_process_counted(app, client, token, monkeypatch, tmp_path):
    shared = tmp_path / "prometheus"
    shared.mkdir()
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(shared)}
    command = [sys.executable, "-c", _WORKERS, app.config["DATABASE_URL"], str(tmp_path)]
    assert subprocess.run(command, cwd=ROOT, env=env, timeout=60).returncode == 0
    assert len({path.stem.rsplit("_", 1)[1] for path in shared.glob("*.db")}) == 2  # pids
    monkeypatch.setitem(app.config, "PROMETHEUS_MULTIPROC_DIR", str(shared))
    samples = scrape(client)
    health = {"endpoint": "health.Health", "method": "GET"}
    assert value(samples, "zq_http_requests_total", status="2xx", **health) == 3 + 4
    assert value(samples, "zq_http_request_duration_seconds_count", **health) == 3 + 4
    assert value(samples, "zq_database_up") == 1  # the scrape's own gauges come along
