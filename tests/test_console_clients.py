"""Console API client pages: partner keys and DRB keys, created with the secret shown once,
revoked so that their requests are refused; superadmin only."""

import json
import re

import pytest

from tests.factories import console_post, console_sign_in, partner_signature, sign_in, trip


def _code(page: str, element_id: str) -> str:
    match = re.search(rf'<code id="{element_id}">([^<]+)</code>', page)
    assert match, f"no #{element_id} on the page"
    return match.group(1)


def _create_partner(client, name="肇庆公交", allowed=("trip:bus", "ev_charging")):
    return console_post(
        client,
        "/admin/clients/partners",
        {"name": name, "allowed": list(allowed)},
        "/admin/clients",
    )


def _send_bus_trip(client, key: str, secret: str, phone: str, event_id: str = "e1"):
    raw = json.dumps(
        {"events": [{"event_id": event_id, "resident": phone, **trip("bus", 8, 30)}]}
    ).encode()
    headers = {**partner_signature(key, secret, raw), "Content-Type": "application/json"}
    return client.post("/api/v1/partner/events", data=raw, headers=headers)


def test_a_partner_secret_is_shown_once_and_signs_batches(app, client):
    console_sign_in(app, client, "superadmin")
    created = _create_partner(client)
    assert created.status_code == 200
    assert created.headers["Cache-Control"] == "no-store"
    page = created.get_data(as_text=True)
    key, secret = _code(page, "partner-key"), _code(page, "partner-secret")

    resident = sign_in(client)
    sent = _send_bus_trip(client, key, secret, resident.phone)
    assert sent.status_code == 200 and sent.json["accepted"] == 1

    listing = client.get("/admin/clients").get_data(as_text=True)
    assert key in listing and "新能源汽车充电、出行 · 公交" in listing
    assert secret not in listing
    log = client.get("/admin/audit?q=partner.create").get_data(as_text=True)
    assert "partner.create" in log and secret not in log and "secret_encrypted" not in log


def test_a_revoked_partner_key_is_refused(app, client):
    console_sign_in(app, client, "superadmin")
    page = _create_partner(client).get_data(as_text=True)
    key, secret = _code(page, "partner-key"), _code(page, "partner-secret")
    partner_id = re.search(r'id="partner-revoke-(\d+)"', client.get("/admin/clients").text)[1]
    revoked = console_post(client, f"/admin/clients/partners/{partner_id}/revoke")
    assert revoked.status_code == 302
    refused = _send_bus_trip(client, key, secret, sign_in(client).phone)
    assert refused.status_code == 401
    assert refused.json["error"]["code"] == "partner_unknown"
    listing = client.get("/admin/clients").get_data(as_text=True)
    assert f'id="partner-revoke-{partner_id}"' not in listing and "已于" in listing
    log = client.get("/admin/audit?q=partner.revoke").get_data(as_text=True)
    assert 'data-key="active"' in log


@pytest.mark.parametrize(
    ("name", "allowed", "message"),
    [
        ("公交", (), 'data-field="allowed">请至少勾选一种行为类型'),
        ("公交", ("teleport",), 'data-field="allowed"'),
        ("", ("trip:bus",), 'data-field="name"'),
    ],
)
def test_a_partner_form_with_mistakes_is_shown_again(app, client, name, allowed, message):
    console_sign_in(app, client, "superadmin")
    refused = _create_partner(client, name, allowed)
    assert refused.status_code == 422
    text = refused.get_data(as_text=True)
    assert message in text
    assert 'id="partner-secret"' not in text
    assert 'id="no-partners"' in text


def test_a_drb_key_is_shown_once_and_refused_by_the_stats_api_once_revoked(app, client):
    console_sign_in(app, client, "superadmin")
    created = console_post(
        client, "/admin/clients/drb-keys", {"drb_name": "发改局统计科"}, "/admin/clients"
    )
    assert created.status_code == 200
    assert created.headers["Cache-Control"] == "no-store"
    key = _code(created.get_data(as_text=True), "drb-key-secret")
    bearer = {"Authorization": f"Bearer {key}"}
    assert client.get("/api/v1/stats/summary", headers=bearer).status_code == 200

    listing = client.get("/admin/clients").get_data(as_text=True)
    key_id = re.search(r'id="drb-key-revoke-(\d+)"', listing)[1]
    assert key not in listing and key[:8] in listing
    assert "从未" not in listing.split(f'id="drb-key-last-used-{key_id}">')[1].split("<")[0]

    assert console_post(client, f"/admin/clients/drb-keys/{key_id}/revoke").status_code == 302
    refused = client.get("/api/v1/stats/summary", headers=bearer)
    assert refused.status_code == 401
    assert refused.json["error"]["code"] == "api_key_revoked"
    log = client.get("/admin/audit?q=drb_key").get_data(as_text=True)
    assert "drb_key.create" in log and "drb_key.revoke" in log and key not in log


def test_revoking_an_unknown_drb_key_is_a_404(app, client):
    console_sign_in(app, client, "superadmin")
    assert console_post(client, "/admin/clients/drb-keys/999999/revoke").status_code == 404


@pytest.mark.parametrize("role", ["campaign_admin", "reviewer", "analyst"])
def test_only_superadmin_manages_api_clients(app, client, role):
    console_sign_in(app, client, role)
    assert client.get("/admin/clients").status_code == 403
    assert _create_partner(client).status_code == 403
    made = console_post(client, "/admin/clients/drb-keys", {"drb_name": "x"})
    assert made.status_code == 403
    assert 'href="/admin/clients"' not in client.get("/admin/").get_data(as_text=True)
