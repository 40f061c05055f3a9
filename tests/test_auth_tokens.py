"""Access and refresh tokens: expiry, rotation, reuse detection, logout."""

from tests.factories import sign_in


def _refresh(client, token):
    return client.post("/api/v1/auth/refresh", json={"refresh_token": token})


def test_requests_without_a_token_are_401_with_a_bearer_challenge(client):
    response = client.get("/api/v1/me")
    assert response.status_code == 401
    assert response.json["error"]["code"] == "unauthorized"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_unknown_token_is_refused(client):
    response = client.get("/api/v1/me", headers={"Authorization": "Bearer not-a-token"})
    assert response.status_code == 401
    assert response.json["error"]["code"] == "token_invalid"


def test_expired_access_token_is_refused_and_refresh_gives_a_working_pair(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "ACCESS_TOKEN_TTL_SECONDS", 0)
    signed_in = sign_in(client, location=False)  # its token cannot give consent
    response = client.get("/api/v1/me", headers=signed_in.headers)
    assert response.status_code == 401
    assert response.json["error"]["code"] == "token_expired"

    monkeypatch.setitem(app.config, "ACCESS_TOKEN_TTL_SECONDS", 3600)
    refreshed = _refresh(client, signed_in.refresh_token)
    assert refreshed.status_code == 200
    assert refreshed.json["expires_in"] == 3600
    assert refreshed.json["resident"]["id"] == signed_in.resident["id"]
    headers = {"Authorization": f"Bearer {refreshed.json['access_token']}"}
    assert client.get("/api/v1/me", headers=headers).status_code == 200


def test_refresh_rotates_both_tokens(client):
    signed_in = sign_in(client)
    refreshed = _refresh(client, signed_in.refresh_token).json
    assert refreshed["access_token"] != signed_in.access_token
    assert refreshed["refresh_token"] != signed_in.refresh_token
    # the old access token stops working as soon as the pair is rotated
    assert client.get("/api/v1/me", headers=signed_in.headers).status_code == 401


def test_reusing_an_old_refresh_token_ends_the_session(client):
    signed_in = sign_in(client)
    rotated = _refresh(client, signed_in.refresh_token).json
    replay = _refresh(client, signed_in.refresh_token)
    assert replay.status_code == 401
    assert replay.json["error"]["code"] == "token_reused"
    # the thief's replay also locks out the pair issued by the rotation
    headers = {"Authorization": f"Bearer {rotated['access_token']}"}
    assert client.get("/api/v1/me", headers=headers).status_code == 401
    assert _refresh(client, rotated["refresh_token"]).status_code == 401


def test_expired_refresh_token_is_refused(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "REFRESH_TOKEN_TTL_SECONDS", 0)
    signed_in = sign_in(client)
    response = _refresh(client, signed_in.refresh_token)
    assert response.status_code == 401
    assert response.json["error"]["code"] == "token_expired"


def test_logout_revokes_both_tokens(client):
    signed_in = sign_in(client)
    response = client.post("/api/v1/auth/logout", headers=signed_in.headers)
    assert response.status_code == 204
    assert response.data == b""
    assert client.get("/api/v1/me", headers=signed_in.headers).status_code == 401
    assert _refresh(client, signed_in.refresh_token).status_code == 401


def test_logout_ends_only_that_session(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "OTP_LIMIT_PER_PHONE", "5 per minute")
    phone_session = sign_in(client)
    other_device = sign_in(client, phone_session.phone)
    client.post("/api/v1/auth/logout", headers=phone_session.headers)
    assert client.get("/api/v1/me", headers=other_device.headers).status_code == 200


def test_refresh_refuses_unknown_tokens_and_bad_bodies(client):
    assert _refresh(client, "nope").json["error"]["code"] == "token_invalid"
    response = client.post("/api/v1/auth/refresh", json={})
    assert response.status_code == 422
    assert "refresh_token" in response.json["error"]["fields"]
