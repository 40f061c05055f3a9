"""Staff users: creating them, their passwords, and signing in to the staff API.

A failed sign-in is committed before the error is raised (`db.committed_now`): the
failure count and the lock it leads to must outlive the rolled-back request.
"""

from __future__ import annotations

import functools
import secrets
from datetime import timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update
from werkzeug.security import check_password_hash, generate_password_hash

from backend.audit import service as audit
from backend.clock import utcnow
from backend.errors import Unauthorized, ValidationFailed
from backend.extensions import db
from backend.staff.models import ROLES, StaffSession, StaffUser
from backend.tokens import new_token, token_hash

MIN_PASSWORD_LENGTH = 12


class StaffError(ValueError):
    pass


def generate_password() -> str:
    return secrets.token_urlsafe(12)


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise StaffError(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
    return generate_password_hash(password, method="scrypt")


def password_matches(user: StaffUser, password: str) -> bool:
    return check_password_hash(user.password_hash, password)


def find_staff(username: str) -> StaffUser | None:
    return db.session.scalar(select(StaffUser).where(StaffUser.username == username))


def create_staff(username: str, role: str, password: str) -> StaffUser:
    if role not in ROLES:
        raise StaffError(f"role must be one of {', '.join(ROLES)}")
    if not username or len(username) > 64:
        raise StaffError("username must be 1 to 64 characters")
    if find_staff(username) is not None:
        raise StaffError(f"staff user {username!r} already exists")
    user = StaffUser(username=username, role=role, password_hash=hash_password(password))
    db.session.add(user)
    db.session.flush()
    audit.record("staff_user.create", "staff_user", user.id, None, audit.snapshot(user))
    return user


def set_password(user: StaffUser, password: str) -> None:
    before = audit.snapshot(user)
    user.password_hash = hash_password(password)
    user.failed_logins = 0
    user.locked_until = None
    db.session.flush()
    # The hash never enters the log: the entry says that the password changed, not to what.
    audit.record(
        "staff_user.password",
        "staff_user",
        user.id,
        {**before, "password_changed": False},
        {**audit.snapshot(user), "password_changed": True},
    )


@functools.cache
def _dummy_password_hash() -> str:
    # Checked when the username is unknown, so that answer takes as long as a wrong password.
    return generate_password_hash(secrets.token_urlsafe(16), method="scrypt")


def _invalid_credentials() -> Unauthorized:
    # One answer for unknown, inactive and wrong: the response never says which usernames exist.
    return Unauthorized(_l("The username or password is wrong."), code="invalid_credentials")


def _record_failure(user: StaffUser) -> None:
    """Count a failed sign-in and lock the account at the limit."""
    config = current_app.config
    db.session.execute(
        update(StaffUser)
        .where(StaffUser.id == user.id)
        .values(failed_logins=StaffUser.failed_logins + 1)
    )
    # The counter starts again once locked: after the lock, a full allowance of tries.
    db.session.execute(
        update(StaffUser)
        .where(
            StaffUser.id == user.id,
            StaffUser.failed_logins >= config["STAFF_MAX_FAILED_LOGINS"],
        )
        .values(
            failed_logins=0,
            locked_until=utcnow() + timedelta(seconds=config["STAFF_LOCKOUT_SECONDS"]),
        )
    )


def sign_in(username: str, password: str) -> tuple[str, StaffSession]:
    """Open a session for the staff API; returns the bearer token (shown once) and the session."""
    user = find_staff(username)
    if user is None:
        check_password_hash(_dummy_password_hash(), password)
        raise _invalid_credentials()
    matches = password_matches(user, password)
    if not user.active:
        raise _invalid_credentials()
    if user.locked_until is not None and user.locked_until > utcnow():
        raise Unauthorized(
            _l("Too many failed sign-ins; this account is locked for a while."),
            code="staff_locked",
        )
    if not matches:
        with db.committed_now():
            _record_failure(user)
        raise _invalid_credentials()
    user.failed_logins = 0
    user.locked_until = None
    token = new_token()
    ttl = current_app.config["STAFF_TOKEN_TTL_SECONDS"]
    session = StaffSession(
        staff_user=user, token_hash=token_hash(token), expires_at=utcnow() + timedelta(seconds=ttl)
    )
    db.session.add(session)
    db.session.flush()
    return token, session


def authenticate(token: str) -> StaffSession:
    """The live session behind a staff bearer token: not revoked, not expired, user active."""
    session = db.session.scalar(
        select(StaffSession).where(StaffSession.token_hash == token_hash(token))
    )
    if session is None or session.revoked_at is not None or not session.staff_user.active:
        raise Unauthorized(_l("The access token is not valid."), code="token_invalid")
    if session.expires_at <= utcnow():
        raise Unauthorized(_l("The access token has expired; sign in again."), code="token_expired")
    return session


def sign_out(session: StaffSession) -> None:
    session.revoked_at = utcnow()
    db.session.flush()


def change_password(user: StaffUser, current: str, new: str) -> None:
    if not password_matches(user, current):
        raise ValidationFailed(_l("The current password is wrong."), code="password_wrong")
    if len(new) < MIN_PASSWORD_LENGTH:
        raise ValidationFailed(
            _l("A password needs at least %(count)s characters.", count=MIN_PASSWORD_LENGTH),
            code="password_too_short",
        )
    set_password(user, new)
