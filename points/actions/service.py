"""Recording actions: plausibility, CO2e from the factor in force, review, and the one
approve path (`points.actions.approval`) for what is approved.

Every action stores its CO2e and the factor it used; points are paid only when it is
approved, once (the ledger's unique cause), and up to the day's cap.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import ROUND_DOWN, Decimal

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from backend.clock import local_day, utcnow
from backend.consent import service as consent
from backend.errors import AppError, Conflict, NotFound, ValidationFailed
from backend.extensions import db
from backend.residents.models import Resident
from points.actions import approval, outranking
from points.actions.kinds import KINDS, ActionInput, implausible
from points.actions.models import VERIFIED, Action, TripTrace
from points.ledger import service as ledger
from points.methodology import service as methodology_service
from points.methodology.service import FactorTerms, Methodology
from points.photos import service as photos


def action_input(body: dict, now: datetime) -> ActionInput:
    return KINDS[body["type"]].to_input(body, now)


def factor_for(methodology: Methodology, incoming: ActionInput) -> FactorTerms:
    kind = KINDS[incoming.type]
    return methodology_service.factor_for(
        methodology, incoming.type, incoming.variant, field=kind.variant_field
    )


def check_plausibility(methodology: Methodology, action: ActionInput, now: datetime) -> None:
    """Times neither future nor too far back, then the type's bounds from the methodology."""
    config = current_app.config
    kind = KINDS[action.type]
    if action.occurred_at > now + timedelta(seconds=config["ACTION_CLOCK_SKEW_SECONDS"]):
        raise implausible({kind.time_field: [_l("Must not be in the future.")]})
    max_age = config["ACTION_MAX_AGE_DAYS"]
    if action.occurred_at < now - timedelta(days=max_age):
        raise implausible(
            {kind.time_field: [_l("Must be within the last %(days)s days.", days=max_age)]}
        )
    if action.started_at is not None and action.started_at < now - timedelta(days=max_age):
        raise implausible(
            {"started_at": [_l("Must be within the last %(days)s days.", days=max_age)]}
        )
    kind.check(methodology.plausibility.get(action.type, {}), action)
    if kind.verify is not None:
        kind.verify(methodology, action)


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
        raise implausible({"type": [_l("At most %(max)s Clean Plate meals a day.", max=limit)]})


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
        verification="partner" if source == "partner" else incoming.verification,
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
    guardian: Resident | None = None,
) -> Action:
    """Validate and store an action; approve it at once unless it waits for review.

    `now` is the moment of recording; only a seed of past history sets it. A child's
    action is recorded by their `guardian`, whose consents and photos it uses.
    """
    now = now or utcnow()
    methodology = methodology_service.current_methodology()
    incoming = action_input(body, now)
    acting = guardian or resident
    if source == "self_reported":  # a partner's event is the partner's record, not a trace
        consent.require_privacy(acting.id)
        if incoming.trace is not None:
            consent.require_location(acting.id, "trace")
    factor = factor_for(methodology, incoming)
    check_plausibility(methodology, incoming, now)

    action = new_action(resident, incoming, methodology, factor, source, partner_id)
    # Same-day decisions of one resident are taken one at a time from here on (a trip's:
    # every day it spans, so that two trips that overlap are decided one after the other).
    so_far = ledger.lock_days(lock_keys(action))
    if action.type == "trip" and overlapping_trips(action):
        raise overlapping_trip()
    if action.type == "clean_plate":
        _check_meals_per_day(methodology, resident.id, action)
    if incoming.photo_id is not None:
        photo = photos.photo_for_action(acting.id, incoming.photo_id)
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
    if action.photo_id is None and action.dedup_key is None:
        _store(action, methodology, so_far, reviewed_by_rule)  # nothing here can collide
    else:
        try:
            with db.session.begin_nested():
                _store(action, methodology, so_far, reviewed_by_rule)
        except IntegrityError as exc:
            # Lost a race on the photo or the event key to a concurrent request.
            raise Conflict(_l("This event was already recorded."), code="duplicate_action") from exc
    if incoming.trace is not None and action.verification == "trace":
        keep_trace(action, incoming.trace, now)
    return action


def _store(action: Action, methodology: Methodology, so_far, wait_for_review: bool) -> None:
    if wait_for_review or action.flags:
        action.status = "pending_review"
        db.session.add(action)
        db.session.flush()
    else:
        approval.approve([action], methodology, so_far=so_far)


def record_verified(
    reports: list[tuple[Resident, dict]], *, source: str, partner_id: int | None = None
) -> list[Action | AppError]:
    """Record verified reports (a partner's events) together; per report its action or why not.

    The rules of `record_action` for reports that are never reviewed and carry no photo,
    approved together. A partner's report outranks a self-report of the same event
    (`outranking`); an event key otherwise recorded, or repeated among the reports, is
    `duplicate_action` for all but the first.
    """
    now = utcnow()
    methodology = methodology_service.current_methodology()
    outcomes: list[Action | AppError] = []
    for resident, body in reports:
        try:
            incoming = action_input(body, now)
            factor = factor_for(methodology, incoming)
            check_plausibility(methodology, incoming, now)
        except AppError as exc:
            outcomes.append(exc)
            continue
        if incoming.photo_id is not None:
            raise ValueError("a verified report carries no photo")
        outcomes.append(new_action(resident, incoming, methodology, factor, source, partner_id))
    superseded = outranking.outrank_self_reports(outcomes) if source == "partner" else []
    _refuse_recorded_events(outcomes)
    actions = [outcome for outcome in outcomes if isinstance(outcome, Action)]
    if actions:
        so_far = ledger.lock_days(set().union(*(lock_keys(a) for a in actions)))
        superseded += _settle_overlapping_trips(outcomes)
        # Settling may refuse every one of them (each overlaps a verified trip)
        actions = [outcome for outcome in outcomes if isinstance(outcome, Action)]
        outranking.take_back(superseded, {a.resident_id for a in actions})
        if actions:
            approval.approve(actions, methodology, so_far=so_far)
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


# Trips in time: no two of a resident's trips overlap


def lock_keys(action: Action) -> set[ledger.DayKey]:
    """The day rows to lock before deciding on `action`: its own day and, for a trip, the
    trip days it spans (two overlapping trips share at least one)."""
    keys = {approval.day_key(action)}
    if action.type == "trip":
        day = local_day(action.started_at)
        while day < action.local_day:
            keys.add((action.resident_id, day, "trip"))
            day += timedelta(days=1)
    return keys


def overlapping_trip() -> ValidationFailed:
    return ValidationFailed(
        _l("This trip overlaps another of your trips in time."),
        code="overlapping_trip",
        fields={"started_at": [_l("Overlaps another trip.")]},
    )


def _overlap(a_start, a_end, b_start, b_end) -> timedelta:
    return min(a_end, b_end) - max(a_start, b_start)


def overlapping_trips(trip: Action) -> list[Action]:
    """The resident's recorded trips (not rejected) that overlap `trip` by more than the
    tolerance. Decided under the lock of the days it spans (`lock_keys`)."""
    tolerance = timedelta(seconds=current_app.config["TRIP_OVERLAP_TOLERANCE_SECONDS"])
    candidates = db.session.scalars(
        select(Action)
        .where(
            Action.resident_id == trip.resident_id,
            Action.type == "trip",
            Action.status != "rejected",
            Action.started_at < trip.ended_at - tolerance,
            Action.ended_at > trip.started_at + tolerance,
        )
        .order_by(Action.id)
    )
    return [
        other
        for other in candidates
        if other is not trip
        and _overlap(other.started_at, other.ended_at, trip.started_at, trip.ended_at) > tolerance
    ]


def _settle_overlapping_trips(outcomes: list[Action | AppError]) -> list[Action]:
    """Verified trips against the resident's other trips: one overlapping a verified trip
    (recorded, or earlier in these reports) is refused, `overlapping_trip`; the
    self-declared trips it overlaps are superseded by it. Under the days' locks; the
    superseded trips that had been approved, for `outranking.take_back`."""
    tolerance = timedelta(seconds=current_app.config["TRIP_OVERLAP_TOLERANCE_SECONDS"])
    accepted: list[Action] = []
    superseded: list[Action] = []
    for index, outcome in enumerate(outcomes):
        if not isinstance(outcome, Action) or outcome.type != "trip":
            continue
        earlier = any(
            other.resident_id == outcome.resident_id
            and _overlap(other.started_at, other.ended_at, outcome.started_at, outcome.ended_at)
            > tolerance
            for other in accepted
        )
        recorded = overlapping_trips(outcome)
        if earlier or any(other.verification in VERIFIED for other in recorded):
            outcomes[index] = overlapping_trip()
            continue
        for self_declared in recorded:
            if outranking.supersede(self_declared, outranking.SUPERSEDED_TRIP):
                superseded.append(self_declared)
        accepted.append(outcome)
    db.session.flush()
    return superseded


# A trip's GPS points


def keep_trace(action: Action, points: list, now: datetime) -> None:
    """Keep a checked trip's raw points until TRACE_RETENTION_DAYS after recording."""
    days = current_app.config["TRACE_RETENTION_DAYS"]
    db.session.add(
        TripTrace(
            action_id=action.id,
            points=[list(point) for point in points],
            erase_after=now + timedelta(days=days),
        )
    )
    db.session.flush()


def erase_expired_traces(now: datetime | None = None) -> int:
    """Erase the GPS points past their keeping time; how many traces. Their figures stay."""
    result = db.session.execute(
        delete(TripTrace)
        .where(TripTrace.erase_after <= (now or utcnow()))
        .execution_options(synchronize_session=False)
    )
    return result.rowcount


def erase_traces_of(resident_id: int) -> int:
    """Erase a resident's GPS points at once (their account is being deleted)."""
    result = db.session.execute(
        delete(TripTrace)
        .where(TripTrace.action_id.in_(select(Action.id).where(Action.resident_id == resident_id)))
        .execution_options(synchronize_session=False)
    )
    return result.rowcount


def _pending(action_id: int) -> Action:
    action = db.session.scalar(select(Action).where(Action.id == action_id).with_for_update())
    if action is None:
        raise NotFound()
    if action.status != "pending_review":
        raise Conflict(_l("This action was already reviewed."), code="already_reviewed")
    return action


def approve(action_id: int, staff_id: int) -> Action:
    """A reviewer approves a pending action: paid by its own version's rules."""
    action = _pending(action_id)
    action.reviewed_at = utcnow()
    action.reviewed_by = staff_id
    if action.verification == "self_declared":
        action.verification = "reviewed"
    approval.approve([action], methodology_service.methodology_of(action.factor_version))
    return action


def reject(action_id: int, staff_id: int, reason: str) -> Action:
    action = _pending(action_id)
    action.status = "rejected"
    action.reviewed_at = utcnow()
    action.reviewed_by = staff_id
    action.review_reason = reason
    outranking.free_event_key(action)
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


def latest_of(resident_id: int, limit: int, *, status: str | None = None, but: int | None = None):
    """A resident's latest actions, newest first (a reviewer's view of their history),
    leaving out the action `but` under review."""
    query = own_actions_query(resident_id, status)
    if but is not None:
        query = query.where(Action.id != but)
    latest = query.order_by(Action.occurred_at.desc(), Action.id.desc())
    return db.session.scalars(latest.limit(limit)).all()


def next_in_queue(after_id: int, action_type: str | None = None) -> Action | None:
    """The pending action the queue (oldest first) shows after `after_id`, or its first."""
    queue = review_queue_query("pending_review", action_type).order_by(Action.id)
    return db.session.scalar(queue.where(Action.id > after_id).limit(1)) or db.session.scalar(
        queue.where(Action.id != after_id).limit(1)
    )


def get_action(action_id: int) -> Action:
    """Any resident's action, for staff; an unknown id is 404."""
    action = db.session.get(Action, action_id)
    if action is None:
        raise NotFound()
    return action
