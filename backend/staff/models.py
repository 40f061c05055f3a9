"""Staff accounts (a username, a scrypt password hash, one role, an optional TOTP second
factor), their sessions, and the counters that slow repeated failed sign-ins."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.clock import utcnow
from backend.db import Base

# Highest first; analyst only reads statistics; merchant (a shop's clerk) only verifies
# redemption codes.
ROLES = ("superadmin", "campaign_admin", "reviewer", "analyst", "merchant")
# Roles that cannot sign in without a TOTP second factor (the others may enrol).
TOTP_REQUIRED_ROLES = ("superadmin",)


class StaffUser(Base):
    __tablename__ = "staff_user"
    __table_args__ = (
        CheckConstraint(
            "role IN ('superadmin', 'campaign_admin', 'reviewer', 'analyst', 'merchant')",
            name="role_known",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(32))
    active: Mapped[bool] = mapped_column(default=True)
    # TOTP (RFC 6238): the secret, Fernet-encrypted (backend.encryption); enrolled once a
    # code from it was entered (a secret without totp_enrolled_at awaits that code); the
    # last time step a code was accepted for, so no code is accepted twice.
    totp_secret: Mapped[str | None] = mapped_column(String(255))
    totp_enrolled_at: Mapped[datetime | None]
    totp_last_step: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_sign_in_at: Mapped[datetime | None]  # the last sign-in that opened a session

    @property
    def totp_enrolled(self) -> bool:
        return self.totp_secret is not None and self.totp_enrolled_at is not None

    @property
    def needs_totp(self) -> bool:
        """Whether signing in takes a code: every superadmin, and whoever enrolled."""
        return self.role in TOTP_REQUIRED_ROLES or self.totp_enrolled


class StaffSession(Base):
    """A signed-in staff user: a bearer token for the staff JSON API, stored hashed."""

    __tablename__ = "staff_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_user_id: Mapped[int] = mapped_column(ForeignKey("staff_user.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]

    staff_user: Mapped[StaffUser] = relationship(lazy="joined", innerjoin=True)


class StaffSignInThrottle(Base):
    """Failed staff sign-ins counted under one key: a keyed hash of the normalised
    username alone, or of the username and the client's address (backend/staff/throttle.py).

    Unknown usernames are counted exactly like known ones, and neither names nor addresses
    are stored. `next_attempt_at` is when the key's next try may be made.
    """

    __tablename__ = "staff_sign_in_throttle"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None]
    last_failure_at: Mapped[datetime | None]
    # (username, address) keys: the user signed in from here; their tries from here are
    # not slowed by the failures others make under the username from elsewhere
    trusted_until: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
