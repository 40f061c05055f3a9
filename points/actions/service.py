"""Recording actions: plausibility, CO2e from the factor in force, trust, caps, review.

Every action stores its CO2e and the factor it used; points are paid only when it is
approved, once (the ledger's unique cause), and up to the day's cap.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_DOWN, Decimal

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError

from backend.clock import local_day, utcnow
from backend.errors import AppError, Conflict, NotFound, ValidationFailed
from backend.extensions import db
from backend.residents.models import Resident
from points.actions.models import Action, DeferredApproval
from points.ledger import service as ledger
from points.methodology import service as methodology_service
from points.methodology.service import FactorTerms, Methodology
from points.photos import service as photos
from points.signals import ActionApproved, action_approved


@dataclass
class ActionInput:
    """An action body reduced to what the rules need, whatever its type."""

    type: str
    variant: str
    quantity: Decimal
    occurred_at: datetime
    distance_km: Decimal | None = None
    started_at: datetime | None = None
    ended_at: datetime | None = None
    photo_id: str | None = None
    dedup_key: str | None = None
    details: dict = field(default_factory=dict)


def action_input(body: dict, now: datetime) -> ActionInput:
    kind = body["type"]
    if kind == "trip":
        return ActionInput(
            type=kind,
            variant=body["mode"],
            # A bus trip is counted per ride; the distance still bounds plausibility.
            quantity=body["distance_km"],
            distance_km=body["distance_km"],
            started_at=body["started_at"],
            ended_at=body["ended_at"],
            occurred_at=body["ended_at"],
        )
    occurred_at = body.get("occurred_at") or now
    if kind == "garbage_sorting":
        return ActionInput(kind, body["category"], body["weight_kg"], occurred_at)
    if kind == "clean_plate":
        details = {"venue": body["venue"]} if body.get("venue") else {}
        return ActionInput(
            kind, "meal", Decimal(1), occurred_at, photo_id=body["photo_id"], details=details
        )
    return ActionInput(
        kind,
        "kwh",
        body["energy_kwh"],
        occurred_at,
        dedup_key=f"ev:{body['station_id']}:{body['session_id']}",
        details={"station_id": body["station_id"], "session_id": body["session_id"]},
    )


def _implausible(fields: dict) -> ValidationFailed:
    return ValidationFailed(
        _l("The action is not plausible."), code="implausible_action", fields=fields
    )


def check_plausibility(methodology: Methodology, action: ActionInput, now: datetime):
    """Bounds from the methodology file, and times neither future nor too far back."""
    config = current_app.config
    time_field = "ended_at" if action.type == "trip" else "occurred_at"
    if action.occurred_at > now + timedelta(seconds=config["ACTION_CLOCK_SKEW_SECONDS"]):
        raise _implausible({time_field: [_l("Must not be in the future.")]})
    max_age = config["ACTION_MAX_AGE_DAYS"]
    if action.occurred_at < now - timedelta(days=max_age):
        raise _implausible(
            {time_field: [_l("Must be within the last %(days)s days.", days=max_age)]}
        )

    bounds = methodology.plausibility.get(action.type, {})
    if action.type == "trip":
        mode_bounds = bounds[action.variant]
        if action.ended_at <= action.started_at:
            raise _implausible({"ended_at": [_l("Must be after started_at.")]})
        if action.distance_km > mode_bounds["max_km"]:
            raise _implausible(
                {
                    "distance_km": [
                        _l("At most %(max)s km for this mode.", max=mode_bounds["max_km"])
                    ]
                }
            )
        hours = Decimal((action.ended_at - action.started_at).total_seconds()) / 3600
        speed = action.distance_km / hours
        if speed > mode_bounds["max_kmh"]:
            too_fast = _l(
                "%(speed)s km/h is faster than the %(max)s km/h plausible for this mode.",
                speed=speed.quantize(Decimal(1)),
                max=mode_bounds["max_kmh"],
            )
            raise _implausible({"distance_km": [too_fast]})
    elif action.type == "garbage_sorting" and action.quantity > bounds["max_kg_per_action"]:
        raise _implausible(
            {"weight_kg": [_l("At most %(max)s kg per action.", max=bounds["max_kg_per_action"])]}
        )
    elif action.type == "ev_charging" and action.quantity > bounds["max_kwh_per_session"]:
        raise _implausible(
            {
                "energy_kwh": [
                    _l("At most %(max)s kWh per session.", max=bounds["max_kwh_per_session"])
                ]
            }
        )


def _check_meals_per_day(methodology: Methodology, resident_id: int, action: Action):
    limit = methodology.plausibility["clean_plate"]["max_per_day"]
    meals = db.session.scalar(
        select(func.count())
        .select_from(Action)
        .where(
            Action.resident_id == resident_id,
            Action.local_day == action.local_day,
            Action.type == "clean_plate",
            Action.status != "rejected",
        )
    )
    if meals >= limit:
        raise _implausible({"type": [_l("At most %(max)s Clean Plate meals a day.", max=limit)]})


def _quantity_milli(action: ActionInput, unit: str) -> int:
    quantity = Decimal(1) if unit == "trip" else action.quantity
    return int((quantity * 1000).to_integral_value(rounding=ROUND_DOWN))


def new_action(
    resident: Resident,
    incoming: ActionInput,
    methodology: Methodology,
    factor: FactorTerms,
    source: str,
    partner_id: int | None,
) -> Action:
    """The action row for a plausible input, its CO2e from the factor in force."""
    quantity_milli = _quantity_milli(incoming, factor.unit)
    return Action(
        resident_id=resident.id,
        type=incoming.type,
        variant=incoming.variant,
        quantity_milli=quantity_milli,
        unit=factor.unit,
        distance_m=int(incoming.distance_km * 1000) if incoming.distance_km is not None else None,
        started_at=incoming.started_at,
        ended_at=incoming.ended_at,
        occurred_at=incoming.occurred_at,
        local_day=local_day(incoming.occurred_at),
        co2e_g=methodology_service.co2e_grams(quantity_milli, factor),
        factor_id=factor.id,
        factor_version=methodology.version,
        source=source,
        partner_id=partner_id,
        dedup_key=incoming.dedup_key,
        details=incoming.details,
        district_code=resident.district_code,
        flags=[],
    )


def record_action(
    resident: Resident,
    body: dict,
    *,
    source: str = "self_reported",
    partner_id: int | None = None,
    now: datetime | None = None,
) -> Action:
    """Validate and store an action; pay it at once unless it waits for review.

    `now` is the moment of recording; only a seed of past history sets it.
    """
    now = now or utcnow()
    methodology = methodology_service.current_methodology()
    incoming = action_input(body, now)
    factor = methodology_service.factor_for(methodology, incoming.type, incoming.variant)
    check_plausibility(methodology, incoming, now)

    action = new_action(resident, incoming, methodology, factor, source, partner_id)
    # Same-day decisions of one resident are taken one at a time from here on.
    points_so_far = ledger.lock_day(resident.id, action.local_day, action.type)
    if action.type == "clean_plate":
        _check_meals_per_day(methodology, resident.id, action)
    if incoming.photo_id is not None:
        photo = photos.photo_for_action(resident.id, incoming.photo_id)
        if db.session.scalar(select(Action.id).where(Action.photo_id == photo.id)):
            raise Conflict(
                _l("This photo was already used for an action."), code="photo_already_used"
            )
        action.photo_id = photo.id
        action.flags = photos.photo_flags(photo)
    if action.dedup_key and db.session.scalar(
        select(Action.id).where(Action.dedup_key == action.dedup_key)
    ):
        raise Conflict(_l("This event was already recorded."), code="duplicate_action")

    reviewed_by_rule = (
        source == "self_reported" and methodology.review.get(action.type) == "self_reported"
    )
    action.status = "pending_review" if reviewed_by_rule or action.flags else "approved"
    if action.status == "approved":
        _grant(action, methodology, points_so_far)
    db.session.add(action)
    if action.photo_id is None and action.dedup_key is None:
        db.session.flush()  # nothing here can collide with another action
    else:
        try:
            with db.session.begin_nested():
                db.session.flush()
        except IntegrityError as exc:
            # Lost a race on the photo or the event key to a concurrent request.
            raise Conflict(_l("This event was already recorded."), code="duplicate_action") from exc
    if action.status == "approved":
        _pay(action)
    return action


def record_verified(
    reports: list[tuple[Resident, dict]], *, source: str, partner_id: int | None = None
) -> list[Action | AppError]:
    """Record verified reports (a partner's events) together; per report its action or why not.

    The rules of `record_action`, in a few statements for all of them: verified reports
    are never reviewed and carry no photo. The caller's transaction holds the actions,
    their caps, entries and balances; the approvals' listeners run later, from
    `deferred_approval` rows (see `points.actions.deferred`). An event key already
    recorded, or repeated among the reports, is `duplicate_action` for all but the first.
    """
    now = utcnow()
    methodology = methodology_service.current_methodology()
    outcomes: list[Action | AppError] = []
    for resident, body in reports:
        try:
            incoming = action_input(body, now)
            factor = methodology_service.factor_for(methodology, incoming.type, incoming.variant)
            check_plausibility(methodology, incoming, now)
        except AppError as exc:
            outcomes.append(exc)
            continue
        if incoming.photo_id is not None:
            raise ValueError("a verified report carries no photo")
        outcomes.append(new_action(resident, incoming, methodology, factor, source, partner_id))
    _refuse_recorded_events(outcomes)
    actions = [outcome for outcome in outcomes if isinstance(outcome, Action)]
    if not actions:
        return outcomes
    so_far = ledger.lock_days({(a.resident_id, a.local_day, a.type) for a in actions})
    totals = dict(so_far)
    for action in actions:
        key = (action.resident_id, action.local_day, action.type)
        wanted = methodology_service.points_for(methodology, action.co2e_g)
        action.points = ledger.within_cap(
            wanted, methodology.daily_point_caps[action.type], totals[key]
        )
        action.capped = action.points < wanted
        action.status = "approved"
        totals[key] += action.points
    db.session.add_all(actions)
    db.session.flush()
    ledger.set_day_points({key: n for key, n in totals.items() if n != so_far[key]})
    ledger.post_earnings(
        [ledger.Earning(a.resident_id, earn_ref(a.id), a.points, a.co2e_g) for a in actions]
    )
    db.session.execute(insert(DeferredApproval), [{"action_id": a.id} for a in actions])
    return outcomes


def _refuse_recorded_events(outcomes: list[Action | AppError]) -> None:
    """An action whose event key is recorded, or taken by an earlier one here, is refused."""
    keys = {o.dedup_key for o in outcomes if isinstance(o, Action) and o.dedup_key}
    if not keys:
        return
    taken = set(db.session.scalars(select(Action.dedup_key).where(Action.dedup_key.in_(keys))))
    for index, outcome in enumerate(outcomes):
        if not isinstance(outcome, Action) or outcome.dedup_key is None:
            continue
        if outcome.dedup_key in taken:
            outcomes[index] = Conflict(
                _l("This event was already recorded."), code="duplicate_action"
            )
        taken.add(outcome.dedup_key)


def _grant(action: Action, methodology: Methodology, points_so_far: int) -> None:
    """The action's points within the day's cap (whose row `lock_day` has locked)."""
    wanted = methodology_service.points_for(methodology, action.co2e_g)
    cap = methodology.daily_point_caps[action.type]
    granted = ledger.grant_within_cap(
        action.resident_id, action.local_day, action.type, wanted, cap, so_far=points_so_far
    )
    action.points = granted
    action.capped = granted < wanted


def earn_ref(action_id: int) -> str:
    """The cause of an action's earn entry: one per action, (kind, ref) being unique."""
    return f"action:{action_id}"


def _pay(action: Action) -> None:
    """Post the granted points and tell the listeners; the action is flushed and granted."""
    granted = action.points
    if granted:
        ledger.post_entry(action.resident_id, "earn", earn_ref(action.id), granted)
    ledger.add_co2e(action.resident_id, action.co2e_g)
    action_approved.send("points", event=approved_event(action))


def approved_event(action: Action) -> ActionApproved:
    return ActionApproved(
        action_id=action.id,
        resident_id=action.resident_id,
        action_type=action.type,
        variant=action.variant,
        co2e_g=action.co2e_g,
        points=action.points,
        capped=action.capped,
        occurred_at=action.occurred_at,
        local_day=action.local_day,
        district_code=action.district_code,
        source=action.source,
        distance_m=action.distance_m,
        factor_version=action.factor_version,
    )


def _pending(action_id: int) -> Action:
    action = db.session.scalar(select(Action).where(Action.id == action_id).with_for_update())
    if action is None:
        raise NotFound()
    if action.status != "pending_review":
        raise Conflict(_l("This action was already reviewed."), code="already_reviewed")
    return action


def approve(action_id: int, staff_id: int) -> Action:
    action = _pending(action_id)
    action.status = "approved"
    action.reviewed_at = utcnow()
    action.reviewed_by = staff_id
    points_so_far = ledger.lock_day(action.resident_id, action.local_day, action.type)
    _grant(action, methodology_service.methodology_of(action.factor_version), points_so_far)
    db.session.flush()
    _pay(action)
    return action


def reject(action_id: int, staff_id: int, reason: str) -> Action:
    action = _pending(action_id)
    action.status = "rejected"
    action.reviewed_at = utcnow()
    action.reviewed_by = staff_id
    action.review_reason = reason
    db.session.flush()
    return action


def get_own(resident_id: int, action_id: int) -> Action:
    action = db.session.get(Action, action_id)
    if action is None or action.resident_id != resident_id:
        raise NotFound()
    return action


def own_actions_query(resident_id: int, status: str | None = None):
    query = select(Action).where(Action.resident_id == resident_id)
    if status:
        query = query.where(Action.status == status)
    return query


def review_queue_query(status: str = "pending_review", action_type: str | None = None):
    query = select(Action).where(Action.status == status)
    if action_type:
        query = query.where(Action.type == action_type)
    return query
