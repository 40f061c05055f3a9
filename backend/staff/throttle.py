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
in its own committed transaction, by compare-and-set on the count: concurrent tries in
any number of workers each take their own turn, and none is missed when a request dies.
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
from sqlalchemy import delete, or_, select, update

from backend.clock import utcnow
from backend.errors import AppError
from backend.extensions import db
from backend.staff.models import StaffSignInThrottle
from backend.worker import register_periodic

# Compare-and-set rounds before a try gives up as throttled (only a storm of concurrent
# tries of one username loses this many rounds).
CAS_ROUNDS = 5


class SignInThrottled(AppError):
    status = 429


class _Raced(Exception):
    """Another request changed a counter between our read and our write."""


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


def _current(row: StaffSignInThrottle, now: datetime) -> int:
    """The row's failures, or none once forgotten."""
    forget = timedelta(seconds=current_app.config["STAFF_THROTTLE_FORGET_SECONDS"])
    if row.last_failure_at is None or row.last_failure_at <= now - forget:
        return 0
    return row.failures


def _charge(row: StaffSignInThrottle, policy: Policy, now: datetime) -> None:
    failures = _current(row, now) + 1
    changed = db.session.execute(
        update(StaffSignInThrottle)
        .where(StaffSignInThrottle.key == row.key, StaffSignInThrottle.failures == row.failures)
        .values(
            failures=failures,
            last_failure_at=now,
            next_attempt_at=now + timedelta(seconds=policy.delay(failures)),
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    ).rowcount
    if changed != 1:
        raise _Raced


def _claim(pair_key: str, shared: list[tuple[str, Policy]]) -> Attempt:
    now = utcnow()
    keys = [pair_key, *(key for key, _policy in shared)]
    for key in keys:
        db.insert_ignoring_conflict(StaffSignInThrottle, key=key, failures=0, updated_at=now)
    rows = {
        row.key: row
        for row in db.session.scalars(
            select(StaffSignInThrottle)
            .where(StaffSignInThrottle.key.in_(keys))
            .execution_options(populate_existing=True)
        )
    }
    pair = rows[pair_key]
    trusted = pair.trusted_until is not None and pair.trusted_until > now
    # A trusted address answers to its own count only: others' failures cost it nothing.
    counted = [] if trusted else shared
    counters = [(pair, pair_policy())] + [(rows[key], policy) for key, policy in counted]
    waits = [
        (row.next_attempt_at - now).total_seconds()
        for row, _policy in counters
        if row.next_attempt_at is not None and _current(row, now) > 0
    ]
    if waits and max(waits) > 0:
        raise _throttled(max(waits))
    for row, policy in counters:
        _charge(row, policy, now)
    return Attempt(pair_key, tuple((key, policy.free) for key, policy in counted))


def begin(username: str, address: str | None) -> Attempt:
    """Let a try of `username` from `address` through, counted as a failure until it
    succeeds; SignInThrottled (429) when it must wait. Commits at once: call it before the
    request writes anything."""
    name, scope = normalise_username(username), address_scope(address)
    pair_key = _key("pair", name, scope)
    shared = [(_key("user", name), username_policy()), (_key("address", scope), address_policy())]
    for _round in range(CAS_ROUNDS):
        try:
            with db.committed_now(durable=False):
                return _claim(pair_key, shared)
        except _Raced:
            continue
    raise _throttled(current_app.config["STAFF_THROTTLE_BASE_SECONDS"])


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
