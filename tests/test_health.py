"""Probes: /healthz says the process is up, /readyz that the database answers and how
far behind the worker is."""

from sqlalchemy.exc import OperationalError

from backend.extensions import db


def test_healthz_and_readyz_answer_ok(client):
    assert client.get("/healthz").json == {"status": "ok"}
    assert client.get("/readyz").json == {
        "status": "ok",
        "backlog": {"approval_outbox": {"rows": 0, "oldest_age_s": 0.0}},
    }


def test_readyz_is_503_when_the_database_does_not_answer(client, monkeypatch):
    def unreachable(*args, **kwargs):
        raise OperationalError("SELECT 1", {}, Exception("connection refused"))

    monkeypatch.setattr(db.session, "execute", unreachable)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json["error"]["code"] == "not_ready"
    assert "connection refused" not in response.get_data(as_text=True)
