"""Command-line tasks: staff users, reference data, demo seed."""

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pyotp
import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import func, select

from backend.districts.models import District
from backend.staff.models import StaffUser
from tests.factories import privacy_version


@pytest.fixture
def cli(app):
    return app.test_cli_runner()


def test_staff_create_prints_a_generated_password_and_stores_only_its_hash(cli, db_session):
    result = cli.invoke(args=["staff", "create", "alice", "--role", "reviewer"])
    assert result.exit_code == 0, result.output
    password = result.output.split("password: ")[1].strip()
    user = db_session.scalar(select(StaffUser).where(StaffUser.username == "alice"))
    assert user.role == "reviewer"
    assert password not in user.password_hash
    assert user.password_hash.startswith("scrypt:")


@pytest.mark.parametrize(
    "args",
    [
        ["staff", "create", "bob", "--role", "emperor"],
        ["staff", "create", "bob", "--role", "analyst", "--password", "short"],
    ],
)
def test_staff_create_refuses_bad_input(cli, args):
    result = cli.invoke(args=args)
    assert result.exit_code != 0


def test_staff_create_refuses_a_duplicate_username(cli):
    assert cli.invoke(args=["staff", "create", "carol", "--role", "analyst"]).exit_code == 0
    again = cli.invoke(args=["staff", "create", "carol", "--role", "analyst"])
    assert again.exit_code != 0
    assert "already exists" in again.output


def test_refdata_load_is_repeatable(cli, db_session):
    for _ in range(2):
        result = cli.invoke(args=["refdata", "load"])
        assert result.exit_code == 0
        assert "districts: 10" in result.output
    assert db_session.scalar(select(func.count()).select_from(District)) == 10


def test_demo_seed_writes_credentials_that_work_and_stay_valid_when_rerun(app, cli, client):
    first = cli.invoke(args=["demo", "seed"])
    assert first.exit_code == 0, first.output
    path = Path(app.instance_path) / "demo-credentials.json"
    credentials = json.loads(path.read_text())
    assert {u["role"] for u in credentials["staff"]} == {
        "superadmin",
        "campaign_admin",
        "reviewer",
        "analyst",
        "merchant",
    }
    assert len(credentials["metrics_token"]) >= 32  # GET /metrics answers it
    assert cli.invoke(args=["demo", "seed"]).exit_code == 0
    assert json.loads(path.read_text()) == credentials

    # the demo superadmin signs in with the password and a code from the written secret
    admin = next(u for u in credentials["staff"] if u["role"] == "superadmin")
    assert pyotp.parse_uri(admin["totp_uri"]).secret == admin["totp_secret"]
    body = {**admin, "totp_code": pyotp.TOTP(admin["totp_secret"]).now()}
    del body["role"], body["totp_secret"], body["totp_uri"]
    assert client.post("/api/v1/staff/auth/login", json=body).status_code == 200

    phone = credentials["residents"][0]["phone"]
    code = client.post("/api/v1/auth/otp", json={"phone": phone}).json["dev_code"]
    login = client.post(
        "/api/v1/auth/login",
        json={"phone": phone, "code": code, "privacy_version": privacy_version()},
    )
    assert login.status_code == 200
    assert login.json["resident"]["nickname"] == credentials["residents"][0]["nickname"]
    assert login.json["resident"]["district_code"] == "441202"


def test_demo_seed_refuses_production(app, cli, monkeypatch):
    monkeypatch.setitem(app.config, "APP_ENV", "production")
    result = cli.invoke(args=["demo", "seed"])
    assert result.exit_code != 0
    assert "production" in result.output


def test_migrations_form_one_line(app):
    """One head: every migration builds on the one before, so `flask db upgrade` is enough."""
    with app.app_context():
        config = app.extensions["migrate"].migrate.get_config()
    assert len(ScriptDirectory.from_config(config).get_heads()) == 1


def test_migrations_upgrade_a_database_that_holds_data(tmp_path):
    """SQLite alters a table by copying it: the upgrade of a demo or pilot database whose
    residents are referenced by other rows must not be refused by their foreign keys.
    (`flask db upgrade` in a process of its own, as an operator runs it.)"""
    path = tmp_path / "pilot.db"
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{path}", "INSTANCE_PATH": str(tmp_path)}
    flask = [sys.executable, "-m", "flask", "--app", "wsgi", "db", "upgrade"]

    def upgrade(*revision: str) -> None:
        done = subprocess.run([*flask, *revision], env=env, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr[-2000:]

    upgrade("01e14c9e2f80")  # before organisations and children
    with sqlite3.connect(path) as connection:
        connection.execute("PRAGMA foreign_keys=ON")
        connection.execute(
            "INSERT INTO resident (id, nickname, status, created_at, updated_at) "
            "VALUES (1, '小王', 'active', '2026-11-01 00:00:00', '2026-11-01 00:00:00')"
        )
        connection.execute(
            "INSERT INTO account (resident_id, balance, co2e_g_total, updated_at) "
            "VALUES (1, 0, 0, '2026-11-01 00:00:00')"
        )
    upgrade()
    with sqlite3.connect(path) as connection:
        assert connection.execute("SELECT guardian_id FROM resident").fetchall() == [(None,)]
        assert connection.execute("PRAGMA foreign_key_check").fetchall() == []
