"""QR check-in: staff create points; a resident scanning a point's signed token is paid
once per point per local day. Rotating a point's nonce invalidates every printed code.
"""

from __future__ import annotations

import secrets
from datetime import datetime

from flask import current_app
from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from backend.audit import service as audit
from backend.clock import LOCAL_TZ, local_day, utcnow
from backend.errors import AppError, Conflict, NotFound, ValidationFailed
from backend.extensions import db
from backend.residents.models import Resident
from campaigns import service as campaigns
from campaigns.graphics.poster import render_checkin_poster
from campaigns.models import Checkin, CheckinPoint
from points.ledger import service as ledger

_SALT = "zq-carbon checkin point"


class CheckinRefused(AppError):
    status = 422
    code = "checkin_refused"


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=_SALT)


def token_for(point: CheckinPoint) -> str:
    return _serializer().dumps({"p": point.id, "n": point.token_nonce})


def create_point(campaign_id: int, data: dict) -> CheckinPoint:
    campaign = campaigns.get_campaign(campaign_id)
    if campaign.status == "ended":
        raise Conflict(_l("An ended campaign cannot change."), code="campaign_ended")
    starts_at = data.get("starts_at") or campaign.starts_at
    ends_at = data.get("ends_at") or campaign.ends_at
    if ends_at <= starts_at:
        raise ValidationFailed(fields={"ends_at": [_l("Must be after starts_at.")]})
    if starts_at < campaign.starts_at or ends_at > campaign.ends_at:
        raise ValidationFailed(
            fields={"starts_at": [_l("A check-in point opens within its campaign's dates.")]}
        )
    points = data.get("points")
    point = CheckinPoint(
        campaign_id=campaign.id,
        name=data["name"],
        place=data["place"],
        points=points if points is not None else campaign.rules.checkin_points,
        starts_at=starts_at,
        ends_at=ends_at,
        token_nonce=secrets.token_hex(8),
    )
    db.session.add(point)
    db.session.flush()
    audit.record("checkin_point.create", "checkin_point", point.id, None, audit.snapshot(point))
    return point


def get_point(point_id: int) -> CheckinPoint:
    point = db.session.get(CheckinPoint, point_id)
    if point is None:
        raise NotFound()
    return point


def points_of(campaign_id: int) -> list[CheckinPoint]:
    campaigns.get_campaign(campaign_id)
    return list(
        db.session.scalars(
            select(CheckinPoint)
            .where(CheckinPoint.campaign_id == campaign_id)
            .order_by(CheckinPoint.id)
        )
    )


def rotate(point_id: int) -> CheckinPoint:
    point = get_point(point_id)
    before = audit.snapshot(point)
    point.token_nonce = secrets.token_hex(8)
    point.rotated_at = utcnow()
    db.session.flush()
    audit.record("checkin_point.rotate", "checkin_point", point.id, before, audit.snapshot(point))
    return point


def poster_png(point_id: int) -> bytes:
    point = get_point(point_id)
    return render_checkin_poster(
        qr_payload=token_for(point),
        campaign_title=point.campaign.title,
        point_name=point.name,
        place=point.place,
        starts_at=point.starts_at,
        ends_at=point.ends_at,
        points=point.points,
    )


def _refuse(code: str, message) -> CheckinRefused:
    return CheckinRefused(message, code=code, fields={"token": [message]})


def _point_for_token(token: str) -> CheckinPoint:
    try:
        claims = _serializer().loads(token)
        point_id, nonce = int(claims["p"]), str(claims["n"])
    except (BadSignature, KeyError, TypeError, ValueError) as exc:
        raise _refuse("checkin_token_invalid", _l("This is not a valid check-in code.")) from exc
    point = db.session.get(CheckinPoint, point_id)
    if point is None:
        raise _refuse("checkin_token_invalid", _l("This is not a valid check-in code."))
    if not secrets.compare_digest(nonce, point.token_nonce):
        raise _refuse(
            "checkin_token_rotated", _l("This check-in code was replaced; scan the new one.")
        )
    return point


def check_in(resident: Resident, token: str, now: datetime | None = None) -> Checkin:
    now = now or utcnow()
    point = _point_for_token(token)
    campaign = point.campaign
    if campaign.status != "published":
        raise _refuse("checkin_closed", _l("This check-in has closed."))
    if now < point.starts_at:
        opens = point.starts_at.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M")
        raise _refuse("checkin_not_open", _l("This check-in opens at %(time)s.", time=opens))
    if now >= point.ends_at:
        raise _refuse("checkin_closed", _l("This check-in has closed."))
    if not campaign.targets(resident.district_code):
        raise _refuse("checkin_not_for_district", _l("This campaign is not open to your district."))
    day = local_day(now)
    checkin = Checkin(
        point_id=point.id, resident_id=resident.id, local_day=day, points=point.points
    )
    try:
        with db.session.begin_nested():
            db.session.add(checkin)
    except IntegrityError as exc:
        raise Conflict(
            _l("You have already checked in here today."), code="checkin_already_today"
        ) from exc
    campaigns.ensure_enrolled(campaign, resident.id)
    if point.points:
        ref = f"checkin:{point.id}/resident:{resident.id}/day:{day}"
        ledger.credit([ledger.Credit(resident.id, "checkin", ref, point.points)])
    return checkin
