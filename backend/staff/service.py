"""Staff users: creating them, their passwords, and signing in to the staff API.

Every sign-in try passes the throttle first (backend/staff/throttle.py), which counts it
as a failure in its own committed transaction until it succeeds: the count outlives the
rolled-back request, and no account is ever locked. Superadmins (and whoever enrolled)
also give a TOTP code (backend/staff/totp.py).
"""

from __future__ import annotations

import functools
import secrets
from datetime import timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update
from werkzeug.security import check_password_hash, generate_password_hash

from backend.audit import service as audit
from backend.clock import utcnow
from backend.errors import Conflict, NotFound, Unauthorized, ValidationFailed
from backend.extensions import db
from backend.staff import throttle, totp
from backend.staff.models import ROLES, StaffSession, StaffUser
from backend.staff.throttle import Attempt
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
    # One answer for unknown, inactive (suspended) and wrong: the response never says which
    # usernames exist or which accounts are suspended.
    return Unauthorized(_l("The username or password is wrong."), code="invalid_credentials")


def _invalid_code() -> Unauthorized:
    return Unauthorized(
        _l("The verification code is wrong or was used already."), code="totp_invalid"
    )


def check_password(username: str, password: str, address: str | None) -> tuple[StaffUser, Attempt]:
    """The first step of any staff sign-in: the throttle lets the try through (429
    `sign_in_throttled` otherwise, before anything is checked) and counts it; then the
    password. Unknown, inactive and wrong get one answer, after one scrypt check each.

    The try stays counted as a failure until `finish_sign_in` (or a second step) succeeds.
    """
    attempt = throttle.begin(username, address)
    user = find_staff(username)
    if user is None:
        check_password_hash(_dummy_password_hash(), password)
        raise _invalid_credentials()
    matches = password_matches(user, password)
    if not matches or not user.active:
        raise _invalid_credentials()
    return user, attempt


def check_code(user: StaffUser, code: str, address: str | None) -> Attempt:
    """A second step on its own (the console's code form): throttled and counted like a
    password; the code must be new (never accepted before for this user)."""
    attempt = throttle.begin(user.username, address)
    secret = totp.secret_of(user)
    if not user.active or secret is None or not totp.use_code(user, secret, code):
        raise _invalid_code()
    return attempt


def confirm_enrolment(user: StaffUser, code: str, address: str | None) -> Attempt:
    """The console's enrolment: the first code from the waiting secret enrols the user."""
    attempt = throttle.begin(user.username, address)
    before = audit.snapshot(user)
    if not user.active or not totp.confirm_enrolment(user, code):
        raise _invalid_code()
    audit.record("staff_user.totp_enrol", "staff_user", user.id, before, audit.snapshot(user))
    return attempt


def finish_sign_in(user: StaffUser, attempt: Attempt) -> tuple[str, StaffSession]:
    """Every step passed: the throttle clears this address, and a session opens.
    Returns the bearer token (shown once) and the session."""
    throttle.succeeded(attempt)
    user.last_sign_in_at = utcnow()
    token = new_token()
    ttl = current_app.config["STAFF_TOKEN_TTL_SECONDS"]
    session = StaffSession(
        staff_user=user, token_hash=token_hash(token), expires_at=utcnow() + timedelta(seconds=ttl)
    )
    db.session.add(session)
    db.session.flush()
    return token, session


def sign_in(
    username: str, password: str, address: str | None, totp_code: str | None = None
) -> tuple[str, StaffSession]:
    """The staff API's sign-in in one request: password, then (for those who need one) a
    TOTP code. A superadmin without a second factor enrols in the console first."""
    user, attempt = check_password(username, password, address)
    if user.needs_totp:
        if not user.totp_enrolled:
            raise Unauthorized(
                _l("Set up two-step verification in the console first."),
                code="totp_enrolment_required",
            )
        if not totp_code:
            raise Unauthorized(
                _l("Enter the code from your authenticator app."), code="totp_required"
            )
        if not totp.use_code(user, totp.secret_of(user), totp_code):
            raise _invalid_code()
    return finish_sign_in(user, attempt)


def reset_totp(user: StaffUser) -> None:
    """Remove `user`'s second factor (a lost phone) and end their sessions: a superadmin
    enrols again at their next sign-in."""
    before = audit.snapshot(user)
    totp.reset(user)
    db.session.execute(
        update(StaffSession)
        .where(StaffSession.staff_user_id == user.id, StaffSession.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    audit.record("staff_user.totp_reset", "staff_user", user.id, before, audit.snapshot(user))


def authenticate(token: str) -> StaffSession:
    """The live session behind a staff bearer token: not revoked, not expired, user active."""
    session = db.session.scalar(
        select(StaffSession).where(StaffSession.token_hash == token_hash(token))
    )
    user = session.staff_user if session is not None else None
    # A user who needs a second factor and has none (a session from before it was required,
    # or a reset) is signed out: they enrol at their next sign-in.
    if (
        session is None
        or session.revoked_at is not None
        or not user.active
        or (user.needs_totp and not user.totp_enrolled)
    ):
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


# --- staff management (superadmins, in the console) --------------------------------------
#
# Every rule lives here, not in the pages: a superadmin changes others, never their own
# role or access, and at least one active superadmin always remains.


def staff_query():
    return select(StaffUser).order_by(StaffUser.username)


def get_staff(staff_id: int) -> StaffUser:
    user = db.session.get(StaffUser, staff_id)
    if user is None:
        raise NotFound(_l("No such staff user."))
    return user


def _end_sessions(user: StaffUser) -> None:
    db.session.execute(
        update(StaffSession)
        .where(StaffSession.staff_user_id == user.id, StaffSession.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise ValidationFailed(fields={"role": [_l("Not a staff role.")]}, code="role_unknown")


def _refuse_own(actor: StaffUser | None, user: StaffUser) -> None:
    if actor is not None and actor.id == user.id:
        raise Conflict(
            _l("You cannot change your own role or disable yourself."), code="staff_self_change"
        )


def _refuse_last_superadmin(user: StaffUser) -> None:
    """`user` is about to stop being an active superadmin: another must remain."""
    if user.role != "superadmin" or not user.active:
        return
    others = db.session.scalar(
        select(func.count())
        .select_from(StaffUser)
        .where(StaffUser.role == "superadmin", StaffUser.active, StaffUser.id != user.id)
    )
    if not others:
        raise Conflict(
            _l("At least one active super administrator must remain."), code="last_superadmin"
        )


def add_staff(username: str, role: str) -> tuple[StaffUser, str]:
    """A new staff user with a generated first password, returned to be shown once."""
    username = (username or "").strip()
    _check_role(role)
    if not username or len(username) > 64 or any(c.isspace() for c in username):
        raise ValidationFailed(
            fields={"username": [_l("1 to 64 characters, without spaces.")]},
            code="username_invalid",
        )
    if find_staff(username) is not None:
        raise Conflict(_l("This username is taken."), code="username_taken")
    password = generate_password()
    return create_staff(username, role, password), password


def change_role(actor: StaffUser | None, staff_id: int, role: str) -> StaffUser:
    user = get_staff(staff_id)
    _check_role(role)
    if role == user.role:
        return user
    _refuse_own(actor, user)
    _refuse_last_superadmin(user)
    before = audit.snapshot(user)
    user.role = role
    # New rights come with a new sign-in (a superadmin's second factor first of all).
    _end_sessions(user)
    db.session.flush()
    audit.record("staff_user.role", "staff_user", user.id, before, audit.snapshot(user))
    return user


def reset_password(actor: StaffUser | None, staff_id: int) -> tuple[StaffUser, str]:
    """A new generated password, returned to be shown once; the user's sessions end. The
    log says the password changed, never to what."""
    user = get_staff(staff_id)
    _refuse_own(actor, user)
    password = generate_password()
    before = audit.snapshot(user)
    user.password_hash = hash_password(password)
    _end_sessions(user)
    db.session.flush()
    audit.record(
        "staff_user.password_reset",
        "staff_user",
        user.id,
        {**before, "password_changed": False},
        {**audit.snapshot(user), "password_changed": True},
    )
    return user, password


def set_active(actor: StaffUser | None, staff_id: int, active: bool) -> StaffUser:
    """Disable (no sign-in, every session ends at once) or enable a staff user."""
    user = get_staff(staff_id)
    if user.active == active:
        return user
    _refuse_own(actor, user)
    if not active:
        _refuse_last_superadmin(user)
    before = audit.snapshot(user)
    user.active = active
    if not active:
        _end_sessions(user)
    db.session.flush()
    action = "staff_user.enable" if active else "staff_user.disable"
    audit.record(action, "staff_user", user.id, before, audit.snapshot(user))
    return user
