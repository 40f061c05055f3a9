"""One-time code challenges and resident sessions (token pairs), stored hashed; the day's
counts of codes texted (the SMS budget)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.clock import utcnow
from backend.db import Base
from backend.residents.models import Resident


class OtpChallenge(Base):
    """A code sent to a phone; only the latest one for a phone can be used."""

    __tablename__ = "otp_challenge"
    __table_args__ = (Index("ix_otp_challenge_phone_hmac_id", "phone_hmac", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    phone_hmac: Mapped[str] = mapped_column(String(64))
    code_hash: Mapped[str] = mapped_column(String(64))
    attempts: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    consumed_at: Mapped[datetime | None]


class ResidentSession(Base):
    """A signed-in device: one access token and one refresh token, rotated together."""

    __tablename__ = "resident_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("resident.id"), index=True)
    method: Mapped[str] = mapped_column(String(16))  # otp | wechat
    access_token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    access_expires_at: Mapped[datetime]
    refresh_token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    refresh_expires_at: Mapped[datetime]
    # The refresh token this one replaced: presenting it again means it was stolen.
    previous_refresh_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    refreshed_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    resident: Mapped[Resident] = relationship(lazy="joined", innerjoin=True)


class SmsCounter(Base):
    """Codes texted on one Asia/Shanghai day, city-wide or per number block, client address
    or phone; a counter row is also the lock its scope's sends queue on."""

    __tablename__ = "sms_counter"

    day: Mapped[date] = mapped_column(primary_key=True)
    scope: Mapped[str] = mapped_column(String(8), primary_key=True)  # city|prefix|ip|phone
    # city: ""; prefix: the number's first digits; ip and phone: a keyed hash
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    sent: Mapped[int] = mapped_column(default=0)
