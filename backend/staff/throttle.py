"""Failed staff sign-ins slow further tries; they never lock an account.

Three counters answer each try, rows of `staff_sign_in_throttle`:

- the (username, address) pair: the first STAFF_THROTTLE_FREE_FAILURES failures are free,
  then each failure makes the next try from there wait STAFF_THROTTLE_BASE_SECONDS,
  doubling, up to STAFF_THROTTLE_MAX_SECONDS (high: one address guessing is slowed hard);
- the username, from every address: the same after
  STAFF_THROTTLE_USERNAME_FREE_FAILURES, up to STAFF_THROTTLE_USERNAME_MAX_SECONDS (low:
  whoever fails elsewhere can slow the real user by that much at most, never lock them
  out);
- the address, for every username: the same after STAFF_THROTTLE_ADDRESS_FREE_FAILURES,
  up to STAFF_THROTTLE_MAX_SECONDS (one address trying many usernames: spraying).

An address the user signed in from within STAFF_THROTTLE_TRUST_DAYS answers to the pair's
count only: failures others make elsewhere (or behind the same address) cost it nothing.

A try while either counter says wait is refused (429 `sign_in_throttled`, Retry-After)
before any password or code is looked at, so the throttle bounds guessing too.

Keys are keyed hashes (SECRET_KEY) of the normalised username (and the address, an IPv6
address by its /64): an unknown username is counted exactly like a known one, and the
table names neither. Each try is counted as a failure *before* the password is checked,
in its own committed transaction, by one conditional UPDATE per counter (count unless it
says wait): concurrent tries in any number of workers each see the one before, and none
is missed when a request dies.
A success then clears the pair (and gives the shared counts this try back).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import math
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import case, delete, func, or_, select, update

from backend.clock import utcnow
from backend.errors import AppError
from backend.extensions import db
from backend.staff.models import StaffSignInThrottle
from backend.worker import register_periodic


class SignInThrottled(AppError):
    status = 429


@dataclass(frozen=True)
class Policy:
    free: int
    base: int
    cap: int

    def delay(self, failures: int) -> int:
        """Seconds the next try waits after `failures` failures."""
        if failures <= self.free or self.cap <= 0:
            return 0
        doublings = min(failures - self.free - 1, 40)
        return min(self.cap, self.base * 2**doublings)


def pair_policy() -> Policy:
    config = current_app.config
    return Policy(
        config["STAFF_THROTTLE_FREE_FAILURES"],
        config["STAFF_THROTTLE_BASE_SECONDS"],
        config["STAFF_THROTTLE_MAX_SECONDS"],
    )


def username_policy() -> Policy:
    config = current_app.config
    return Policy(
        config["STAFF_THROTTLE_USERNAME_FREE_FAILURES"],
        config["STAFF_THROTTLE_BASE_SECONDS"],
        config["STAFF_THROTTLE_USERNAME_MAX_SECONDS"],
    )


def address_policy() -> Policy:
    config = current_app.config
    return Policy(
        config["STAFF_THROTTLE_ADDRESS_FREE_FAILURES"],
        config["STAFF_THROTTLE_BASE_SECONDS"],
        config["STAFF_THROTTLE_MAX_SECONDS"],
    )


def normalise_username(username: str) -> str:
    return unicodedata.normalize("NFKC", username).strip().casefold()


def address_scope(address: str | None) -> str:
    """The unit an address is counted by: an IPv4 address, or an IPv6 address's /64 (one
    host commonly holds a whole /64)."""
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return "unknown"
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def _key(*parts: str) -> str:
    secret = current_app.config["SECRET_KEY"].encode()
    message = "\0".join(("staff-sign-in-throttle", *parts)).encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Attempt:
    """A try that was let through and counted; `succeeded` clears it."""

    pair_key: str
    # the shared counts (username, address) this try was charged to, with their free
    # failures: a success gives the try back
    given_back: tuple[tuple[str, int], ...]


def _throttled(seconds: float) -> SignInThrottled:
    wait = max(1, math.ceil(seconds))
    return SignInThrottled(
        _l("Too many failed sign-ins. Try again in %(seconds)s seconds.", seconds=wait),
        code="sign_in_throttled",
        headers={"Retry-After": str(wait)},
    )


def _charge(key: str, policy: Policy, now: datetime) -> bool:
    """Count a failure on the counter unless it says wait; whether it was counted.

    One conditional UPDATE: it checks and counts at once, and holds the row until the
    block commits (the next try's UPDATE waits for it on PostgreSQL; SQLite runs one
    writer at a time), so concurrent tries in any number of workers each see the last
    one's count and wait. Failures older than the forget window start again at one."""
    table = StaffSignInThrottle
    forget = timedelta(seconds=current_app.config["STAFF_THROTTLE_FORGET_SECONDS"])
    forgotten = or_(table.last_failure_at.is_(None), table.last_failure_at <= now - forget)
    failures = db.session.execute(
        update(table)
        .where(table.key == key, or_(table.next_attempt_at.is_(None), table.next_attempt_at <= now))
        .values(
            failures=case((forgotten, 1), else_=table.failures + 1),
            last_failure_at=now,
            updated_at=now,
        )
        .returning(table.failures)
        .execution_options(synchronize_session=False)
    ).scalar()
    if failures is None:
        return False
    # No wait is no time at all: a concurrent try that read the clock a moment before this
    # one must not find itself "before" this try's moment and be told to wait.
    delay = policy.delay(failures)
    db.session.execute(
        update(table)
        .where(table.key == key)
        .values(next_attempt_at=now + timedelta(seconds=delay) if delay else None)
        .execution_options(synchronize_session=False)
    )
    return True


class _Waiting(Exception):
    """A counter says wait: the block's charges roll back."""

    def __init__(self, keys: list[str]) -> None:
        self.keys = keys


def _claim(pair_key: str, shared: list[tuple[str, Policy]]) -> Attempt:
    now = utcnow()
    keys = [pair_key, *(key for key, _policy in shared)]
    for key in keys:
        db.insert_ignoring_conflict(StaffSignInThrottle, key=key, failures=0, updated_at=now)
    trusted_until = db.session.scalar(
        select(StaffSignInThrottle.trusted_until).where(StaffSignInThrottle.key == pair_key)
    )
    # A trusted address answers to its own count only: others' failures cost it nothing.
    counted = [] if trusted_until is not None and trusted_until > now else shared
    counters = [(pair_key, pair_policy()), *counted]
    for key, policy in counters:
        if not _charge(key, policy, now):
            raise _Waiting([key for key, _policy in counters])
    return Attempt(pair_key, tuple((key, policy.free) for key, policy in counted))


def begin(username: str, address: str | None) -> Attempt:
    """Let a try of `username` from `address` through, counted as a failure until it
    succeeds; SignInThrottled (429) when it must wait. Commits at once: call it before the
    request writes anything."""
    name, scope = normalise_username(username), address_scope(address)
    pair_key = _key("pair", name, scope)
    shared = [(_key("user", name), username_policy()), (_key("address", scope), address_policy())]
    try:
        with db.committed_now(durable=False):
            return _claim(pair_key, shared)
    except _Waiting as waiting:
        now = utcnow()
        until = db.session.scalar(
            select(func.max(StaffSignInThrottle.next_attempt_at)).where(
                StaffSignInThrottle.key.in_(waiting.keys),
                StaffSignInThrottle.next_attempt_at > now,
            )
        )
        seconds = (until - now).total_seconds() if until is not None else 0
        raise _throttled(max(seconds, current_app.config["STAFF_THROTTLE_BASE_SECONDS"])) from None


def succeeded(attempt: Attempt) -> None:
    """The try signed in: its address is trusted for this username and its count cleared;
    the username's and the address's counts get this try back (in the request's
    transaction)."""
    now = utcnow()
    trust = timedelta(days=current_app.config["STAFF_THROTTLE_TRUST_DAYS"])
    db.session.execute(
        update(StaffSignInThrottle)
        .where(StaffSignInThrottle.key == attempt.pair_key)
        .values(failures=0, next_attempt_at=None, trusted_until=now + trust, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    for key, free in attempt.given_back:
        db.session.execute(
            update(StaffSignInThrottle)
            .where(StaffSignInThrottle.key == key, StaffSignInThrottle.failures > 0)
            .values(failures=StaffSignInThrottle.failures - 1, updated_at=now)
            .execution_options(synchronize_session=False)
        )
        # Back within the free failures: no wait is owed.
        db.session.execute(
            update(StaffSignInThrottle)
            .where(StaffSignInThrottle.key == key, StaffSignInThrottle.failures <= free)
            .values(next_attempt_at=None)
            .execution_options(synchronize_session=False)
        )


def forget_stale() -> str:
    """Worker job: delete counters nothing is owed on and no trust is left in."""
    now = utcnow()
    forget = timedelta(seconds=current_app.config["STAFF_THROTTLE_FORGET_SECONDS"])
    with db.write_intent():
        deleted = _delete_stale(now, forget)
        db.session.commit()
    return f"{deleted} staff sign-in counters forgotten"


def _delete_stale(now: datetime, forget: timedelta) -> int:
    return db.session.execute(
        delete(StaffSignInThrottle)
        .where(
            StaffSignInThrottle.updated_at <= now - forget,
            or_(
                StaffSignInThrottle.next_attempt_at.is_(None),
                StaffSignInThrottle.next_attempt_at <= now,
            ),
            or_(
                StaffSignInThrottle.trusted_until.is_(None),
                StaffSignInThrottle.trusted_until <= now,
            ),
        )
        .execution_options(synchronize_session=False)
    ).rowcount


def init_app(app) -> None:
    register_periodic(app, "staff_throttle_cleanup", "hourly", forget_stale)
