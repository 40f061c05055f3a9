"""Sign-in rules: one-time codes, WeChat login, and the token pair's life cycle.

A failed code attempt and a detected refresh-token reuse are committed before the error
is raised (`db.committed_now`): they are facts that must outlive the error response.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, select, update

from backend.auth.models import OtpChallenge, ResidentSession
from backend.auth.sms import SmsDeliveryFailed, SmsSender
from backend.auth.wechat import WechatCodeInvalid, WechatLogin, WechatUnavailable
from backend.clock import utcnow
from backend.errors import Unauthorized, UpstreamUnavailable
from backend.extensions import db
from backend.residents import service as residents
from backend.residents.models import Resident
from backend.residents.phone import phone_hmac
from backend.tokens import new_token, token_hash


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int
    resident: Resident


def sms_sender() -> SmsSender:
    return current_app.extensions["sms_sender"]


def wechat_login() -> WechatLogin:
    return current_app.extensions["wechat_login"]


def _code_hash(phone_digest: str, code: str) -> str:
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, f"{phone_digest}:{code}".encode(), hashlib.sha256).hexdigest()


def request_code(phone: str) -> str | None:
    """Send a fresh code; returns it only when the sender may show it (development)."""
    code = f"{secrets.randbelow(10**6):06d}"
    digest = phone_hmac(phone)
    now = utcnow()
    db.session.add(
        OtpChallenge(
            phone_hmac=digest,
            code_hash=_code_hash(digest, code),
            created_at=now,
            expires_at=now + timedelta(seconds=current_app.config["OTP_TTL_SECONDS"]),
        )
    )
    db.session.flush()
    sender = sms_sender()
    try:
        sender.send_code(phone, code)
    except SmsDeliveryFailed as exc:
        current_app.logger.warning("SMS not sent: %s", exc)
        raise UpstreamUnavailable(
            _l("The text message could not be sent; try again later."), code="sms_unavailable"
        ) from exc
    return code if sender.shows_code else None


def _count_try(challenge: OtpChallenge) -> bool:
    """Count a try at the code, unless it is used up or spent; whether it was counted."""
    return bool(
        db.session.execute(
            update(OtpChallenge)
            .where(
                OtpChallenge.id == challenge.id,
                OtpChallenge.attempts < current_app.config["OTP_MAX_ATTEMPTS"],
                OtpChallenge.consumed_at.is_(None),
            )
            .values(attempts=OtpChallenge.attempts + 1)
        ).rowcount
    )


def _exhausted() -> Unauthorized:
    return Unauthorized(_l("Too many wrong codes; request a new one."), code="otp_exhausted")


def _check_code(phone: str, code: str) -> None:
    digest = phone_hmac(phone)
    session = db.session
    challenge = session.scalar(
        select(OtpChallenge)
        .where(OtpChallenge.phone_hmac == digest)
        .order_by(OtpChallenge.id.desc())
        .limit(1)
    )
    now = utcnow()
    if challenge is None or challenge.consumed_at is not None or challenge.expires_at <= now:
        raise Unauthorized(_l("The code has expired; request a new one."), code="otp_expired")
    if not hmac.compare_digest(challenge.code_hash, _code_hash(digest, code)):
        with db.committed_now():  # the wrong try counts, though the request is refused
            counted = _count_try(challenge)
        if not counted:
            raise _exhausted()
        raise Unauthorized(_l("The code is wrong."), code="otp_invalid")
    if not _count_try(challenge):
        raise _exhausted()
    used = session.execute(
        update(OtpChallenge)
        .where(OtpChallenge.id == challenge.id, OtpChallenge.consumed_at.is_(None))
        .values(consumed_at=now)
    ).rowcount
    if not used:
        raise Unauthorized(_l("The code has expired; request a new one."), code="otp_expired")


def login_with_code(phone: str, code: str) -> TokenPair:
    _check_code(phone, code)
    resident = residents.find_or_create_by_phone(phone)
    residents.ensure_may_sign_in(resident)
    return _open_session(resident, "otp")


def login_with_wechat(code: str) -> TokenPair:
    try:
        openid = wechat_login().openid_for(code)
    except WechatCodeInvalid as exc:
        raise Unauthorized(
            _l("The WeChat login code is invalid or used."), code="wechat_code_invalid"
        ) from exc
    except WechatUnavailable as exc:
        current_app.logger.warning("WeChat login unavailable: %s", exc)
        raise UpstreamUnavailable(
            _l("WeChat did not answer; try again later."), code="wechat_unavailable"
        ) from exc
    key = current_app.config["PHONE_HMAC_KEY"].encode()
    openid_digest = hmac.new(key, f"wechat:{openid}".encode(), hashlib.sha256).hexdigest()
    resident = residents.find_or_create_by_wechat(openid_digest)
    residents.ensure_may_sign_in(resident)
    return _open_session(resident, "wechat")


def _new_tokens(session: ResidentSession) -> tuple[str, str, int]:
    config = current_app.config
    access, refresh = new_token(), new_token()
    now = utcnow()
    session.access_token_hash = token_hash(access)
    session.access_expires_at = now + timedelta(seconds=config["ACCESS_TOKEN_TTL_SECONDS"])
    session.refresh_token_hash = token_hash(refresh)
    session.refresh_expires_at = now + timedelta(seconds=config["REFRESH_TOKEN_TTL_SECONDS"])
    return access, refresh, config["ACCESS_TOKEN_TTL_SECONDS"]


def _open_session(resident: Resident, method: str) -> TokenPair:
    session = ResidentSession(resident=resident, method=method)
    access, refresh, ttl = _new_tokens(session)
    db.session.add(session)
    db.session.flush()
    return TokenPair(access, refresh, ttl, resident)


def authenticate(access_token: str) -> ResidentSession:
    session = db.session.scalar(
        select(ResidentSession).where(ResidentSession.access_token_hash == token_hash(access_token))
    )
    if session is None or session.revoked_at is not None:
        raise Unauthorized(_l("The access token is not valid."), code="token_invalid")
    if session.access_expires_at <= utcnow():
        raise Unauthorized(_l("The access token has expired; refresh it."), code="token_expired")
    residents.ensure_may_sign_in(session.resident)
    return session


def refresh(refresh_token: str) -> TokenPair:
    digest = token_hash(refresh_token)
    session = db.session.scalar(
        select(ResidentSession).where(ResidentSession.refresh_token_hash == digest)
    )
    if session is None:
        replaced = db.session.scalar(
            select(ResidentSession).where(ResidentSession.previous_refresh_hash == digest)
        )
        if replaced is not None and replaced.revoked_at is None:
            # An old refresh token came back: someone holds a copy. End the session.
            with db.committed_now():
                replaced.revoked_at = utcnow()
            raise Unauthorized(
                _l("This refresh token was already used; sign in again."), code="token_reused"
            )
        raise Unauthorized(_l("The refresh token is not valid."), code="token_invalid")
    if session.revoked_at is not None:
        raise Unauthorized(_l("The refresh token is not valid."), code="token_invalid")
    if session.refresh_expires_at <= utcnow():
        raise Unauthorized(
            _l("The refresh token has expired; sign in again."), code="token_expired"
        )
    residents.ensure_may_sign_in(session.resident)
    # Rotate only if nobody rotated it first: two racing refreshes cannot both win.
    won = db.session.execute(
        update(ResidentSession)
        .where(ResidentSession.id == session.id, ResidentSession.refresh_token_hash == digest)
        .values(previous_refresh_hash=digest, refreshed_at=utcnow())
    ).rowcount
    if not won:
        raise Unauthorized(_l("The refresh token is not valid."), code="token_invalid")
    db.session.refresh(session)
    access, refresh_token_new, ttl = _new_tokens(session)
    db.session.flush()
    return TokenPair(access, refresh_token_new, ttl, session.resident)


def logout(session: ResidentSession) -> None:
    session.revoked_at = utcnow()
    db.session.flush()


def end_all_sessions(resident_id: int) -> None:
    """Every device of the resident is signed out (account deletion)."""
    db.session.execute(
        update(ResidentSession)
        .where(ResidentSession.resident_id == resident_id, ResidentSession.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )


def forget_codes(phone_digest: str | None = None, before=None) -> int:
    """Delete one-time code challenges of a phone, or all older than `before` (retention)."""
    query = delete(OtpChallenge)
    if phone_digest is not None:
        query = query.where(OtpChallenge.phone_hmac == phone_digest)
    if before is not None:
        query = query.where(OtpChallenge.created_at < before)
    return db.session.execute(query).rowcount
