"""A phone number is never in a response body, a log line or a database column in plain text."""

import logging

import sqlalchemy as sa

from backend.db import Base
from backend.logging import PhoneRedactingFilter
from tests.factories import privacy_version, request_code


def test_phone_appears_nowhere_in_plain_text(app, client, db_session, caplog, monkeypatch):
    monkeypatch.setitem(app.config, "OTP_LIMIT_PER_PHONE", "5 per minute")
    caplog.set_level(logging.DEBUG)
    logging.getLogger("sqlalchemy.engine").setLevel(logging.INFO)  # bound SQL parameters too
    phone = "13912345678"
    bodies = []
    try:
        for raw in (phone, "+86 139 1234 5678"):
            otp = client.post("/api/v1/auth/otp", json={"phone": raw})
            bodies.append(otp.get_data(as_text=True))
            login = client.post(
                "/api/v1/auth/login",
                json={
                    "phone": raw,
                    "code": otp.json["dev_code"],
                    "privacy_version": privacy_version(),
                },
            )
            bodies.append(login.get_data(as_text=True))
            headers = {"Authorization": f"Bearer {login.json['access_token']}"}
            bodies.append(client.get("/api/v1/me", headers=headers).get_data(as_text=True))
            bad = client.post(
                "/api/v1/auth/login",
                json={"phone": raw, "code": "12", "privacy_version": privacy_version()},
            )
            bodies.append(bad.get_data(as_text=True))
    finally:
        logging.getLogger("sqlalchemy.engine").setLevel(logging.WARNING)

    for body in bodies:
        assert phone not in body
    assert "139****5678" in bodies[1]
    assert phone not in caplog.text
    assert "12345678" not in caplog.text

    found = []
    for table in Base.metadata.sorted_tables:
        for row in db_session.execute(sa.select(table)).mappings():
            for column, value in row.items():
                if isinstance(value, str) and ("12345678" in value):
                    found.append((table.name, column))
    assert found == []


def test_log_lines_are_redacted_whoever_writes_them():
    record = logging.LogRecord(
        "x", logging.INFO, __file__, 1, "user %s called", ("13912345678",), None
    )
    PhoneRedactingFilter().filter(record)
    assert record.getMessage() == "user 139****5678 called"


def test_phone_is_stored_encrypted_and_recoverable_with_the_key(app, client, db_session):
    from backend.residents.models import Resident
    from backend.residents.phone import decrypt_phone, phone_hmac

    phone = "13712345678"
    code = request_code(client, phone)
    client.post(
        "/api/v1/auth/login",
        json={"phone": phone, "code": code, "privacy_version": privacy_version()},
    )
    with app.app_context():
        resident = db_session.scalar(
            sa.select(Resident).where(Resident.phone_hmac == phone_hmac(phone))
        )
        assert resident.phone_encrypted and phone not in resident.phone_encrypted
        assert decrypt_phone(resident.phone_encrypted) == phone
