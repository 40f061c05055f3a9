"""The SMS budget: codes texted per Asia/Shanghai day, city-wide, per number block and per
client address, each capped in configuration.

The counts are rows of `sms_counter`, taken by a conditional UPDATE (`sent < cap`), atomic
on SQLite and PostgreSQL alike: every worker and host shares them, they commit or roll back
with the code they pay for, and they outlive a restart or a Redis failure. Taken in one
order (phone, address, block, city), so no two sends wait on each other's locks.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import math
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, select, update

from backend.auth.models import SmsCounter
from backend.clock import LOCAL_TZ, local_day, utcnow
from backend.config import Config
from backend.errors import TooManyRequests
from backend.extensions import db

log = logging.getLogger(__name__)

CITY = "city"


@dataclass
class Spending:
    """The counters one code took (to give back if the provider refuses it)."""

    day: date
    taken: list[tuple[str, str]] = field(default_factory=list)


def _keyed(kind: str, value: str) -> str:
    key = current_app.config["PHONE_HMAC_KEY"].encode()
    return hmac.new(key, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()


def _take(spending: Spending, scope: str, key: str, cap: int | None) -> int | None:
    """Add one to a counter (made if missing) unless it is at `cap`; the new count or None."""
    db.insert_ignoring_conflict(SmsCounter, day=spending.day, scope=scope, key=key, sent=0)
    query = update(SmsCounter).where(
        SmsCounter.day == spending.day, SmsCounter.scope == scope, SmsCounter.key == key
    )
    if cap is not None:
        query = query.where(SmsCounter.sent < cap)
    sent = db.session.execute(
        query.values(sent=SmsCounter.sent + 1).returning(SmsCounter.sent)
    ).scalar()
    if sent is not None:
        spending.taken.append((scope, key))
    return sent


def seconds_to_tomorrow(now: datetime) -> int:
    """Seconds until the next Asia/Shanghai midnight, when the day's budgets start afresh."""
    tomorrow = datetime.combine(local_day(now) + timedelta(days=1), time(), tzinfo=LOCAL_TZ)
    return max(1, math.ceil((tomorrow - now).total_seconds()))


def lock_phone(phone_digest: str, now: datetime) -> Spending:
    """Queue behind any other send to this phone (its counter row stays locked to the
    commit): the codes it was sent can then be counted without a race."""
    spending = Spending(local_day(now))
    _take(spending, "phone", phone_digest, None)
    return spending


def _exhausted(now: datetime, message) -> TooManyRequests:
    return TooManyRequests(
        message,
        code="sms_budget_exhausted",
        headers={"Retry-After": str(seconds_to_tomorrow(now))},
    )


def spend(spending: Spending, phone: str, client_ip: str, now: datetime) -> None:
    """Count one code against the address's, the number block's and the city's budgets of
    the day, or refuse it (429 sms_budget_exhausted) if one of them is used up."""
    config = current_app.config
    prefix = phone[: config["SMS_PREFIX_DIGITS"]]
    caps = (
        ("ip", _keyed("ip", client_ip), config["SMS_DAILY_BUDGET_PER_IP"], client_ip),
        ("prefix", prefix, config["SMS_DAILY_BUDGET_PER_PREFIX"], prefix + "…"),
    )
    for scope, key, cap, shown in caps:
        sent = _take(spending, scope, key, cap)
        if sent is None:
            raise _exhausted(now, _l("Too many sign-in codes were sent today; try again tomorrow."))
        if sent == cap:
            log.warning("SMS budget: %s %s used up its %d codes for today", scope, shown, cap)
    cap = config["SMS_DAILY_BUDGET"]
    sent = _take(spending, CITY, "", cap)
    if sent is None:
        raise _exhausted(
            now, _l("Today's sign-in text messages are used up; try tomorrow or use WeChat.")
        )
    for percent in Config.alert_percents_of(config["SMS_BUDGET_ALERT_PERCENTS"]):
        if sent == math.ceil(cap * percent / 100):
            log.warning(
                "SMS budget: %d of the city's %d codes for today texted (%d%%)",
                sent,
                cap,
                percent,
            )


def refund(spending: Spending) -> None:
    """Give back what a code took that the provider did not accept."""
    for scope, key in spending.taken:
        db.session.execute(
            update(SmsCounter)
            .where(
                SmsCounter.day == spending.day,
                SmsCounter.scope == scope,
                SmsCounter.key == key,
                SmsCounter.sent > 0,
            )
            .values(sent=SmsCounter.sent - 1)
        )


def forget(phone_digest: str | None = None, before: datetime | None = None) -> None:
    """Delete a phone's counters, or every counter of the days before `before`."""
    query = delete(SmsCounter)
    if phone_digest is not None:
        query = query.where(SmsCounter.scope == "phone", SmsCounter.key == phone_digest)
    if before is not None:
        query = query.where(SmsCounter.day < local_day(before))
    db.session.execute(query)


def sms_budget_status() -> dict:
    """Today's city-wide budget: codes texted, the cap, and what is left (for metrics)."""
    day = local_day(utcnow())
    sent = db.session.scalar(
        select(SmsCounter.sent).where(
            SmsCounter.day == day, SmsCounter.scope == CITY, SmsCounter.key == ""
        )
    )
    budget = current_app.config["SMS_DAILY_BUDGET"]
    sent = sent or 0
    return {"sent_today": sent, "budget": budget, "remaining": max(budget - sent, 0)}
