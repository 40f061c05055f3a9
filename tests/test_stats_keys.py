"""DRB API keys: created once, stored hashed, scoped to statistics, revocable, last use kept."""

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from admin.stats.models import DrbApiKey
from backend.clock import utcnow
from backend.tokens import token_hash
from tests.factories import make_resident, staff_headers

STATS_PATHS = (
    "/api/v1/stats/summary",
    "/api/v1/stats/timeseries",
    "/api/v1/stats/green-travel",
    "/api/v1/stats/export.csv",
    "/api/v1/stats/export.xlsx",
)


@pytest.fixture
def cli(app):
    return app.test_cli_runner()


def create_key(cli, name: str = "DRB") -> tuple[int, str]:
    result = cli.invoke(args=["drb-key", "create", name])
    assert result.exit_code == 0, result.output
    key = next(word for word in result.output.split() if word.startswith("drb_"))
    key_id = int(result.output.split()[2])
    return key_id, key


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def test_a_key_is_shown_once_and_stored_only_as_its_hash(cli, db_session):
    key_id, key = create_key(cli, "发改局")
    row = db_session.get(DrbApiKey, key_id)
    assert row.token_hash == token_hash(key)
    assert row.scope == "stats" and row.name == "发改局"
    assert key not in str([getattr(row, c.key) for c in DrbApiKey.__table__.columns])
    listing = cli.invoke(args=["drb-key", "list"])
    assert listing.exit_code == 0
    assert key not in listing.output
    assert f"{key_id}  发改局  stats  {key[:8]}..." in listing.output
    assert "last used never" in listing.output


def test_every_stats_endpoint_takes_a_key_or_an_analyst_and_nothing_else(app, client, cli):
    _, key = create_key(cli)
    resident = make_resident(client)
    readers = [bearer(key)] + [staff_headers(app, client, role) for role in ("analyst", "reviewer")]
    for path in STATS_PATHS:
        for headers in readers:
            assert client.get(path, headers=headers).status_code == 200, path
        for headers in ({}, resident.headers, bearer("drb_not-a-key"), bearer(key + "x")):
            response = client.get(path, headers=headers)
            assert response.status_code == 401, (path, headers)
            assert response.headers["WWW-Authenticate"] == 'Bearer realm="stats"'


def test_a_key_opens_nothing_but_statistics(cli, client):
    _, key = create_key(cli)
    for path in ("/api/v1/me", "/api/v1/me/account", "/api/v1/staff/reviews", "/api/v1/staff/me"):
        assert client.get(path, headers=bearer(key)).status_code == 401, path
    response = client.post("/api/v1/actions", json={"type": "trip"}, headers=bearer(key))
    assert response.status_code == 401


def test_a_revoked_key_is_refused(cli, client):
    key_id, key = create_key(cli)
    assert client.get(STATS_PATHS[0], headers=bearer(key)).status_code == 200
    result = cli.invoke(args=["drb-key", "revoke", str(key_id)])
    assert result.exit_code == 0, result.output
    response = client.get(STATS_PATHS[0], headers=bearer(key))
    assert response.status_code == 401
    assert response.json["error"]["code"] == "api_key_revoked"
    assert "revoked" in cli.invoke(args=["drb-key", "list"]).output
    assert cli.invoke(args=["drb-key", "revoke", "999999"]).exit_code != 0


def test_a_key_of_another_scope_is_forbidden(cli, client, db_session):
    key_id, key = create_key(cli)
    db_session.execute(update(DrbApiKey).where(DrbApiKey.id == key_id).values(scope="partner"))
    response = client.get(STATS_PATHS[0], headers=bearer(key))
    assert response.status_code == 403
    assert response.json["error"]["code"] == "insufficient_scope"


def test_last_use_is_recorded_at_most_once_a_minute(cli, client, db_session):
    key_id, key = create_key(cli)

    def last_used():
        return db_session.scalar(select(DrbApiKey.last_used_at).where(DrbApiKey.id == key_id))

    assert last_used() is None
    assert client.get(STATS_PATHS[0], headers=bearer(key)).status_code == 200
    first = last_used()
    assert first is not None and utcnow() - first < timedelta(seconds=30)
    assert client.get(STATS_PATHS[0], headers=bearer(key)).status_code == 200
    assert last_used() == first  # within the minute: no write
    earlier = utcnow() - timedelta(minutes=5)
    db_session.execute(update(DrbApiKey).where(DrbApiKey.id == key_id).values(last_used_at=earlier))
    db_session.commit()  # an earlier use, committed before this request
    assert client.get(STATS_PATHS[0], headers=bearer(key)).status_code == 200
    assert last_used() > earlier + timedelta(minutes=4)
    assert "last used never" not in cli.invoke(args=["drb-key", "list"]).output


def test_a_key_needs_a_name(cli):
    assert cli.invoke(args=["drb-key", "create", "  "]).exit_code != 0
