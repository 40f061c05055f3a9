"""The SMS budget (codes texted per Beijing day, city-wide, per number block and per client
address) and the human-verification step before a code is texted."""

from __future__ import annotations

import contextlib
import itertools
import logging
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from backend.auth.budget import sms_budget_status
from backend.auth.captcha import FAKE_PASS_TICKET, HttpCaptchaVerifier
from backend.auth.models import SmsCounter
from backend.auth.sms import SmsDeliveryFailed
from loadtests.server import free_port
from tests.factories import new_phone
from tests.fake_http import fake_json_api
from tests.moments import beijing

OTP = "/api/v1/auth/otp"
_blocks = itertools.count(1)


def block() -> str:
    """The first 7 digits of numbers no other request in the test shares."""
    return f"157{next(_blocks):04d}"


def ask(client, phone: str | None = None, address: str = "127.0.0.1", **body):
    return client.post(
        OTP,
        json={"phone": phone or f"{block()}0001", **body},
        environ_base={"REMOTE_ADDR": address},
    )


def error_code(response) -> str | None:
    return (response.json or {}).get("error", {}).get("code")


@pytest.fixture
def budget(app, monkeypatch):
    """Room for every code a test sends, unless it narrows one budget itself."""
    for name in ("SMS_DAILY_BUDGET", "SMS_DAILY_BUDGET_PER_PREFIX", "SMS_DAILY_BUDGET_PER_IP"):
        monkeypatch.setitem(app.config, name, 1000)
    monkeypatch.setitem(app.config, "OTP_LIMIT_PER_IP", "1000 per hour")
    return app.config


def status(app) -> dict:
    with app.app_context():
        return sms_budget_status()


def test_the_city_budget_stops_codes_until_beijing_midnight_and_warns_on_the_way(
    app, client, clock, budget, caplog
):
    clock.move_to(beijing(2026, 11, 18, 23, 0), tick=False)
    budget["SMS_DAILY_BUDGET"] = 5
    caplog.set_level(logging.WARNING, logger="backend.auth.budget")
    sent = [ask(client).status_code for _ in range(5)]
    assert sent == [202] * 5
    refused = ask(client)
    assert refused.status_code == 429
    assert error_code(refused) == "sms_budget_exhausted"
    assert int(refused.headers["Retry-After"]) == 3600  # Beijing midnight
    assert ask(client).status_code == 429
    # One line at 80% (the 4th code) and one at 100% (the 5th); refusals add none
    alerts = [r.getMessage() for r in caplog.records if r.name == "backend.auth.budget"]
    assert alerts == [
        "SMS budget: 4 of the city's 5 codes for today texted (80%)",
        "SMS budget: 5 of the city's 5 codes for today texted (100%)",
    ]
    assert all(r.levelno == logging.WARNING for r in caplog.records)
    assert status(app) == {"sent_today": 5, "budget": 5, "remaining": 0}
    clock.move_to(beijing(2026, 11, 19, 0, 0), tick=False)
    assert status(app) == {"sent_today": 0, "budget": 5, "remaining": 5}
    assert ask(client).status_code == 202


def test_a_number_block_gets_its_budget_and_others_are_unaffected(client, budget):
    budget["SMS_DAILY_BUDGET_PER_PREFIX"] = 2
    pumped = block()
    replies = [ask(client, f"{pumped}{n:04d}", f"10.0.0.{n}") for n in range(1, 4)]
    assert [r.status_code for r in replies] == [202, 202, 429]
    assert error_code(replies[2]) == "sms_budget_exhausted"
    assert int(replies[2].headers["Retry-After"]) > 0
    assert ask(client, f"{block()}0001").status_code == 202


def test_an_address_gets_its_budget_and_others_are_unaffected(client, budget):
    budget["SMS_DAILY_BUDGET_PER_IP"] = 2
    replies = [ask(client, address="10.9.9.9") for _ in range(3)]
    assert [r.status_code for r in replies] == [202, 202, 429]
    assert error_code(replies[2]) == "sms_budget_exhausted"
    assert ask(client, address="10.9.9.10").status_code == 202


def test_refusals_before_sending_spend_nothing(app, client, budget):
    budget["SMS_DAILY_BUDGET"] = 3
    phone = new_phone()
    assert ask(client, phone).status_code == 202
    assert error_code(ask(client, phone)) == "rate_limited"  # the phone's own limit
    assert ask(client, phone, extra=1).status_code == 422
    assert status(app)["sent_today"] == 1


def test_a_code_the_provider_refuses_gives_its_budget_back(app, client, budget, monkeypatch):
    class Refusing:
        shows_code = False

        def send_code(self, phone, code):
            raise SmsDeliveryFailed("isv.BUSINESS_LIMIT_CONTROL")

    phone = new_phone()
    monkeypatch.setitem(app.extensions, "sms_sender", Refusing())
    assert error_code(ask(client, phone)) == "sms_unavailable"
    assert status(app)["sent_today"] == 0
    monkeypatch.undo()
    assert ask(client, phone).status_code == 202  # the phone's allowance was not used up


def test_retry_after_comes_with_refusals_only_and_says_when(client, clock):
    clock.move_to(beijing(2026, 11, 18, 10), tick=False)
    phone = new_phone()
    sent = ask(client, phone)
    assert sent.status_code == 202
    assert "Retry-After" not in sent.headers
    clock.shift(timedelta(seconds=20))
    again = ask(client, phone)
    assert (again.status_code, again.headers["Retry-After"]) == (429, "40")  # 1 a minute


# Human verification


def test_without_the_setting_no_ticket_is_needed(client):
    assert ask(client).status_code == 202
    assert ask(client, captcha_ticket="anything").status_code == 202


def test_a_required_ticket_must_be_there_and_pass(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "CAPTCHA_REQUIRED", True)
    missing = ask(client)
    assert (missing.status_code, error_code(missing)) == (403, "captcha_required")
    wrong = ask(client, captcha_ticket="made-up")
    assert (wrong.status_code, error_code(wrong)) == (403, "captcha_invalid")
    assert ask(client, captcha_ticket=FAKE_PASS_TICKET).status_code == 202


@contextlib.contextmanager
def siteverify(success: bool) -> Iterator[tuple[str, list]]:
    """A siteverify endpoint answering `success`; yields its URL and the forms it got."""
    with fake_json_api(lambda path, form: {"success": success}) as (base_url, seen):
        yield f"{base_url}/siteverify", seen


@pytest.mark.parametrize(("success", "expected"), [(True, 202), (False, 403)])
def test_the_http_adapter_asks_siteverify(app, client, monkeypatch, success, expected):
    monkeypatch.setitem(app.config, "CAPTCHA_REQUIRED", True)
    with siteverify(success) as (url, seen):
        verifier = HttpCaptchaVerifier(url, "the-captcha-secret")
        monkeypatch.setitem(app.extensions, "captcha_verifier", verifier)
        response = ask(client, address="10.7.7.7", captcha_ticket="ticket-from-the-widget")
    assert response.status_code == expected
    form = {
        "secret": "the-captcha-secret",
        "response": "ticket-from-the-widget",
        "remoteip": "10.7.7.7",
    }
    assert seen == [("/siteverify", form)]


def test_an_unreachable_verifier_is_502_and_sends_nothing(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "CAPTCHA_REQUIRED", True)
    verifier = HttpCaptchaVerifier(f"http://127.0.0.1:{free_port()}/siteverify", "s", timeout=1)
    monkeypatch.setitem(app.extensions, "captcha_verifier", verifier)
    response = ask(client, captcha_ticket="t")
    assert (response.status_code, error_code(response)) == (502, "captcha_unavailable")
    assert status(app)["sent_today"] == 0


def test_the_retention_job_erases_the_counters_of_past_days(app, client, clock, db_session):
    assert ask(client).status_code == 202
    clock.shift(timedelta(days=31))
    result = app.test_cli_runner().invoke(args=["privacy", "retention"])
    assert result.exit_code == 0, result.output
    assert db_session.scalar(select(func.count()).select_from(SmsCounter)) == 0
