"""QR check-in: staff create points; a resident scanning a point's signed token, near the
point, is paid once per point per local day. Rotating a point's nonce invalidates every
printed code; an event screen shows a code that changes every minute or so.

Presence: the device's position fix is compared with the point's location and radius (the
fix's own accuracy credited up to a cap) and then forgotten: it is not stored, logged or
kept with an idempotency record. A fix is the client's claim, so it raises the cost of
checking in from afar (a replayed token now needs a faked position near the point) rather
than proving presence; the rotating screen code adds freshness on top.
"""

from __future__ import annotations

import io
import secrets
from datetime import datetime

from flask import current_app
from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from backend import geo
from backend.audit import service as audit
from backend.clock import LOCAL_TZ, local_day, utcnow
from backend.consent import service as consent
from backend.errors import AppError, Conflict, NotFound, ValidationFailed
from backend.extensions import db
from backend.residents.models import Resident
from campaigns import service as campaigns
from campaigns.graphics.poster import qr_image, render_checkin_poster
from campaigns.models import Checkin, CheckinPoint
from points.ledger import service as ledger

_SALT = "zq-carbon checkin point"
_SCREEN_SALT = "zq-carbon checkin screen"
# The mean Earth radius (IUGG), for great-circle distances.


class CheckinRefused(AppError):
    status = 422
    code = "checkin_refused"


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=_SALT)


def token_for(point: CheckinPoint) -> str:
    return _serializer().dumps({"p": point.id, "n": point.token_nonce})


def _screen_serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=_SCREEN_SALT)


def _time_step(now: datetime) -> int:
    return int(now.timestamp()) // current_app.config["CHECKIN_ROTATING_STEP_SECONDS"]


def screen_token_for(point: CheckinPoint, now: datetime | None = None) -> str:
    """The event screen's code for this time step: an HMAC (the app's secret) of the point,
    its nonce and the step. It is accepted during its step and the next one."""
    step = _time_step(now or utcnow())
    return _screen_serializer().dumps({"p": point.id, "n": point.token_nonce, "s": step})


def seconds_to_next_code(now: datetime | None = None) -> int:
    step_seconds = current_app.config["CHECKIN_ROTATING_STEP_SECONDS"]
    return step_seconds - int((now or utcnow()).timestamp()) % step_seconds


def _location_fields(data: dict, point: CheckinPoint | None) -> dict:
    """The point's location and mode from a write body, checked against the settings."""
    config = current_app.config
    mode = data.get("mode") or (point.mode if point else "poster")
    given = {name: data[name] for name in ("latitude", "longitude") if data.get(name) is not None}
    if len(given) == 1:
        missing = "longitude" if "latitude" in given else "latitude"
        raise ValidationFailed(fields={missing: [_l("Give both latitude and longitude.")]})
    if not given:
        if mode == "poster":
            raise ValidationFailed(
                fields={
                    "latitude": [
                        _l("A poster point needs its location: residents check in only near it.")
                    ]
                }
            )
        return {"latitude": None, "longitude": None, "radius_m": None, "mode": mode}
    radius = data.get("radius_m")
    if radius is None:
        radius = config["CHECKIN_DEFAULT_RADIUS_M"]
    low, high = config["CHECKIN_MIN_RADIUS_M"], config["CHECKIN_MAX_RADIUS_M"]
    if not low <= radius <= high:
        raise ValidationFailed(
            fields={
                "radius_m": [
                    _l("The radius is between %(min)s and %(max)s metres.", min=low, max=high)
                ]
            }
        )
    return {**given, "radius_m": radius, "mode": mode}


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
        **_location_fields(data, None),
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


def set_location(point_id: int, data: dict) -> CheckinPoint:
    """Set where a point is, how near residents must be, and whether it takes the printed
    code or only an event screen's."""
    point = get_point(point_id)
    if point.campaign.status == "ended":
        raise Conflict(_l("An ended campaign cannot change."), code="campaign_ended")
    before = audit.snapshot(point)
    for name, value in _location_fields(data, point).items():
        setattr(point, name, value)
    db.session.flush()
    audit.record("checkin_point.locate", "checkin_point", point.id, before, audit.snapshot(point))
    return point


def rotate(point_id: int) -> CheckinPoint:
    point = get_point(point_id)
    before = audit.snapshot(point)
    point.token_nonce = secrets.token_hex(8)
    point.rotated_at = utcnow()
    db.session.flush()
    audit.record("checkin_point.rotate", "checkin_point", point.id, before, audit.snapshot(point))
    return point


def screen_png(point_id: int, edge_px: int) -> bytes:
    """The event screen's QR, for now's time step, as a PNG."""
    image = qr_image(screen_token_for(get_point(point_id)), edge_px)
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def poster_png(point_id: int) -> bytes:
    point = get_point(point_id)
    if point.mode == "rotating":
        raise Conflict(
            _l("This point takes only an event screen's code: it has no poster."),
            code="checkin_point_rotating",
        )
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


def _claims(token: str) -> tuple[dict, bool]:
    """The token's claims, and whether it is an event screen's (time-stepped) code."""
    for serializer, from_screen in ((_serializer(), False), (_screen_serializer(), True)):
        try:
            return serializer.loads(token), from_screen
        except BadSignature:
            continue
    raise _refuse("checkin_token_invalid", _l("This is not a valid check-in code."))


def _point_for_token(token: str, now: datetime) -> CheckinPoint:
    claims, from_screen = _claims(token)
    try:
        point_id, nonce = int(claims["p"]), str(claims["n"])
        step = int(claims["s"]) if from_screen else None
    except (KeyError, TypeError, ValueError) as exc:
        raise _refuse("checkin_token_invalid", _l("This is not a valid check-in code.")) from exc
    point = db.session.get(CheckinPoint, point_id)
    if point is None:
        raise _refuse("checkin_token_invalid", _l("This is not a valid check-in code."))
    if not secrets.compare_digest(nonce, point.token_nonce):
        raise _refuse(
            "checkin_token_rotated", _l("This check-in code was replaced; scan the new one.")
        )
    expired = _l("This check-in code has expired; scan the code on the screen now.")
    if from_screen:
        # The code on screen and the one just before it: a photo of an older screen fails.
        if _time_step(now) - step not in (0, 1):
            raise _refuse("checkin_token_expired", expired)
    elif point.mode == "rotating":
        raise _refuse("checkin_token_expired", expired)
    return point


def _check_presence(point: CheckinPoint, location: dict) -> None:
    """Refuse a device that is not near the point. A point without a location takes only
    an event screen's code (a poster point without one refuses until staff set it)."""
    if not point.located:
        if point.mode == "rotating":
            return
        message = _l("This check-in point has no location yet; ask the organiser.")
        raise CheckinRefused(message, code="checkin_point_unlocated", fields={"token": [message]})
    config = current_app.config
    accuracy = float(location["accuracy_m"])
    if accuracy > config["CHECKIN_MAX_ACCURACY_M"]:
        message = _l("Your location is too imprecise; wait for a better fix and try again.")
        raise CheckinRefused(
            message, code="checkin_location_inaccurate", fields={"location": [message]}
        )
    distance = geo.distance_m(point.latitude, point.longitude, location["lat"], location["lon"])
    credit = min(accuracy, config["CHECKIN_ACCURACY_CREDIT_MAX_M"])
    if distance - credit > point.radius_m:
        message = _l("You are too far from this check-in point.")
        raise CheckinRefused(message, code="checkin_out_of_range", fields={"location": [message]})


def check_in(
    resident: Resident, token: str, location: dict, now: datetime | None = None
) -> Checkin:
    """Check in with a scanned token and the device's position fix (used, not kept)."""
    consent.require_privacy(resident.id)
    consent.require_location(resident.id, "location")
    now = now or utcnow()
    point = _point_for_token(token, now)
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
    _check_presence(point, location)
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
