"""TOTP second factor (RFC 6238, pyotp): 6 digits every 30 seconds from a shared secret.

The secret is stored Fernet-encrypted (backend.encryption). A code is accepted for its
time step and STAFF_TOTP_DRIFT_STEPS either side (clock drift), and only for a step later
than the last one accepted: a code used once is refused for the rest of its window.
"""

from __future__ import annotations

import hmac
import io

import pyotp
import qrcode
import qrcode.image.svg
from flask import current_app
from sqlalchemy import or_, update
from sqlalchemy.orm.attributes import set_committed_value

from backend import encryption
from backend.clock import utcnow
from backend.extensions import db
from backend.staff.models import StaffUser

ISSUER = "肇庆碳普惠"
STEP_SECONDS = 30
DIGITS = 6


def new_secret() -> str:
    return pyotp.random_base32()


def secret_of(user: StaffUser) -> str | None:
    return encryption.decrypt(user.totp_secret) if user.totp_secret else None


def provisioning_uri(username: str, secret: str) -> str:
    """The otpauth:// address an authenticator app reads from the QR code."""
    return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=ISSUER)


def qr_svg(uri: str) -> bytes:
    image = qrcode.make(uri, image_factory=qrcode.image.svg.SvgPathImage, box_size=10, border=4)
    out = io.BytesIO()
    image.save(out)
    return out.getvalue()


def current_step() -> int:
    return int(utcnow().timestamp()) // STEP_SECONDS


def code_at(secret: str, step: int) -> str:
    return pyotp.TOTP(secret).generate_otp(step)


def matching_step(secret: str, code: str, after: int | None) -> int | None:
    """The time step within the drift window whose code is `code`, if later than `after`."""
    code = "".join(code.split())
    if len(code) != DIGITS or not code.isdigit():
        return None
    drift = current_app.config["STAFF_TOTP_DRIFT_STEPS"]
    now = current_step()
    found = None
    for step in range(now - drift, now + drift + 1):
        # Every step is compared, in constant time: no early exit tells which matched.
        if hmac.compare_digest(code_at(secret, step), code) and (after is None or step > after):
            found = step
    return found


def use_code(user: StaffUser, secret: str, code: str) -> bool:
    """Whether `code` is good for `user` now; marks its step used (compare-and-set, so two
    requests racing with one code cannot both pass)."""
    step = matching_step(secret, code, user.totp_last_step)
    if step is None:
        return False
    taken = db.session.execute(
        update(StaffUser)
        .where(
            StaffUser.id == user.id,
            or_(StaffUser.totp_last_step.is_(None), StaffUser.totp_last_step < step),
        )
        .values(totp_last_step=step)
        .execution_options(synchronize_session=False)
    ).rowcount
    if taken != 1:
        return False
    set_committed_value(user, "totp_last_step", step)
    return True


def start_enrolment(user: StaffUser) -> str:
    """The secret awaiting its first code: made now unless one is waiting already."""
    if user.totp_enrolled:
        raise ValueError("already enrolled: reset the second factor first")
    if user.totp_secret is None:
        user.totp_secret = encryption.encrypt(new_secret())
        user.totp_last_step = None
        db.session.flush()
    return secret_of(user)


def confirm_enrolment(user: StaffUser, code: str) -> bool:
    """Enrol `user` once `code` comes from the waiting secret."""
    secret = secret_of(user)
    if secret is None or user.totp_enrolled_at is not None or not use_code(user, secret, code):
        return False
    user.totp_enrolled_at = utcnow()
    db.session.flush()
    return True


def enrol_now(user: StaffUser, secret: str | None = None) -> str:
    """Enrol `user` with `secret` (a new one if none) without a code: for the command line
    and the demo, which hand the secret over themselves."""
    secret = secret or new_secret()
    user.totp_secret = encryption.encrypt(secret)
    user.totp_enrolled_at = utcnow()
    user.totp_last_step = None
    db.session.flush()
    return secret


def reset(user: StaffUser) -> None:
    user.totp_secret = None
    user.totp_enrolled_at = None
    user.totp_last_step = None
    db.session.flush()
