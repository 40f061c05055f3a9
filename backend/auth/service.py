"""Sign-in rules: one-time codes, WeChat login, and the token pair's life cycle.

A failed code attempt and a detected refresh-token reuse are committed before the error
is raised (`db.committed_now`): they are facts that must outlive the error response. A
code and what it spends (the phone's allowance, the SMS budget) are committed before the
text goes out, so the counters are locked for that commit only, not through the
provider's answer; a code the provider refuses is taken back.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from limits import parse_many
from sqlalchemy import delete, select, update

from backend.auth import budget
from backend.auth.captcha import CaptchaUnavailable, CaptchaVerifier
from backend.auth.models import OtpChallenge, ResidentSession
from backend.auth.sms import SmsDeliveryFailed, SmsSender
from backend.auth.wechat import WechatCodeInvalid, WechatLogin, WechatUnavailable
from backend.clock import utcnow
from backend.consent import service as consent
from backend.errors import Conflict, Forbidden, TooManyRequests, Unauthorized, UpstreamUnavailable
from backend.extensions import db
from backend.residents import service as residents
from backend.residents.models import Resident
from backend.residents.phone import decrypt_phone, phone_hmac
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


def captcha_verifier() -> CaptchaVerifier:
    return current_app.extensions["captcha_verifier"]


def _code_hash(phone_digest: str, code: str) -> str:
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, f"{phone_digest}:{code}".encode(), hashlib.sha256).hexdigest()


def _verify_human(ticket: str | None, client_ip: str) -> None:
    """Refuse a code request without a passing captcha ticket, where one is required."""
    if not current_app.config["CAPTCHA_REQUIRED"]:
        return
    if not ticket:
        raise Forbidden(
            _l("Complete the verification first, then request the code."), code="captcha_required"
        )
    try:
        passed = captcha_verifier().passes(ticket, client_ip)
    except CaptchaUnavailable as exc:
        current_app.logger.warning("captcha verification unavailable: %s", exc)
        raise UpstreamUnavailable(
            _l("The verification service did not answer; try again later."),
            code="captcha_unavailable",
        ) from exc
    if not passed:
        raise Forbidden(_l("The verification failed; complete it again."), code="captcha_invalid")


def _refuse_if_phone_limited(digest: str, now: datetime) -> None:
    """OTP_LIMIT_PER_PHONE, counted from the codes the phone was sent (moving windows);
    the caller holds the phone's lock, so two requests cannot both take the last place."""
    rules = parse_many(current_app.config["OTP_LIMIT_PER_PHONE"])
    longest = max(rule.get_expiry() for rule in rules)
    sent = db.session.scalars(
        select(OtpChallenge.created_at)
        .where(
            OtpChallenge.phone_hmac == digest,
            OtpChallenge.created_at > now - timedelta(seconds=longest),
        )
        .order_by(OtpChallenge.created_at.desc())
    ).all()
    waits = []
    for rule in rules:
        period = timedelta(seconds=rule.get_expiry())
        in_window = [moment for moment in sent if moment > now - period]
        if len(in_window) >= rule.amount:
            waits.append(in_window[rule.amount - 1] + period - now)
    if waits:
        seconds = max(1, math.ceil(max(waits).total_seconds()))
        raise TooManyRequests(
            _l("Too many codes for this phone; wait before asking again."),
            headers={"Retry-After": str(seconds)},
        )


def request_code(phone: str, client_ip: str, captcha_ticket: str | None = None) -> str | None:
    """Send a fresh code; returns it only when the sender may show it (development)."""
    _verify_human(captcha_ticket, client_ip)
    code = f"{secrets.randbelow(10**6):06d}"
    digest = phone_hmac(phone)
    now = utcnow()
    with db.committed_now():
        spending = budget.lock_phone(digest, now)
        _refuse_if_phone_limited(digest, now)
        budget.spend(spending, phone, client_ip, now)
        challenge = OtpChallenge(
            phone_hmac=digest,
            code_hash=_code_hash(digest, code),
            created_at=now,
            expires_at=now + timedelta(seconds=current_app.config["OTP_TTL_SECONDS"]),
        )
        db.session.add(challenge)
    sender = sms_sender()
    try:
        sender.send_code(phone, code)
    except SmsDeliveryFailed as exc:
        current_app.logger.warning("SMS not sent: %s", exc)
        with db.committed_now():  # nothing was sent: the code and its budget are taken back
            db.session.execute(delete(OtpChallenge).where(OtpChallenge.id == challenge.id))
            budget.refund(spending)
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


def login_with_code(phone: str, code: str, privacy_version: str | None = None) -> TokenPair:
    """Sign in, or sign up accepting the privacy notice in force. A sign-up refused for
    want of consent rolls back with the request: the code stays usable for the retry."""
    consent.check_offered(privacy_version)
    _check_code(phone, code)
    if privacy_version is None and residents.find_by_phone(phone) is None:
        raise consent.required_at_sign_up()
    resident = residents.find_or_create_by_phone(phone)
    return _signed_in(resident, "otp", privacy_version)


def _wechat_identity(code: str) -> str:
    """The keyed hash of the openid WeChat names for a mini-program login code."""
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
    return hmac.new(key, f"wechat:{openid}".encode(), hashlib.sha256).hexdigest()


def login_with_wechat(code: str, privacy_version: str | None = None) -> TokenPair:
    """As login_with_code; a WeChat code is spent at WeChat whatever happens here (the
    mini-program asks wx.login() for a new one to retry)."""
    consent.check_offered(privacy_version)
    openid_digest = _wechat_identity(code)
    if privacy_version is None and residents.find_by_wechat(openid_digest) is None:
        raise consent.required_at_sign_up()
    resident = residents.find_or_create_by_wechat(openid_digest)
    return _signed_in(resident, "wechat", privacy_version)


def _signed_in(resident: Resident, method: str, privacy_version: str | None) -> TokenPair:
    residents.ensure_may_sign_in(resident)
    if privacy_version is not None:
        consent.accept(resident, "privacy", privacy_version)
    return _open_session(resident, method)


def bind_phone(session: ResidentSession, phone: str, code: str) -> TokenPair:
    """Give the signed-in (WeChat) resident a phone, proven by the code texted to it.

    A free phone is bound (taking over a tombstone of it). A phone that has a resident
    takes the caller's WeChat identity over if the caller's account is still empty: the
    empty account is closed, its sessions end and tokens of the phone's resident come back.
    Otherwise 409, and the code stays unspent (the request rolls back)."""
    caller = session.resident
    if caller.phone_hmac is not None:
        raise Conflict(
            _l("Your account already has a phone; it cannot be changed here."),
            code="phone_already_bound",
        )
    _check_code(phone, code)
    owner = residents.find_by_phone(phone)
    if owner is None:
        residents.bind_phone(caller, phone)
        return _open_session(caller, "otp")
    if owner.wechat_openid_hmac is not None:
        raise Conflict(
            _l("This phone's account is already linked to another WeChat."),
            code="phone_has_other_wechat",
        )
    if residents.holds_data(caller.id):
        raise residents.phone_in_use()
    residents.ensure_may_sign_in(owner)
    consent.carry_over(caller.id, owner)
    end_all_sessions(caller.id)
    residents.join_wechat_to(caller, owner)
    return _open_session(owner, "otp")


def confirm_identity(resident: Resident, code: str) -> None:
    """A fresh proof that the caller is the resident (before deleting the account): a code
    texted to their own phone, or, without a phone, a new WeChat login code of their
    WeChat identity. A wrong one raises 401 and is counted like a sign-in's."""
    if resident.phone_encrypted is not None:
        _check_code(decrypt_phone(resident.phone_encrypted), code)
        return
    if not hmac.compare_digest(_wechat_identity(code), resident.wechat_openid_hmac or ""):
        raise Unauthorized(
            _l("This WeChat login is not the account's own."), code="wechat_identity_mismatch"
        )


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
    budget.forget(phone_digest, before)
    return db.session.execute(query).rowcount
