"""The cost of one campaign impact computation on the benchmark database (issue 24):
`flask --app loadtests.app bench impact --participants 100000`.

On a database filled by `bench generate` (PostgreSQL: the enrolment uses its random
functions), it creates or reuses a published campaign whose window lies inside the
generated days with `baseline_days` days of generated history before it, enrols
PARTICIPANTS residents in one INSERT ... SELECT (greener residents more likely: a
weighted sample without replacement, weight one plus the resident's green trips in the
baseline; enrolment moments mostly on the first days), then times
`admin.impact.service.compute` with `now` pinned after the window, the peak memory of the
process, and the yardstick: the plain GROUP BY of the actions over the same days, which is
the cost of just reading the data.
"""

from __future__ import annotations

import cProfile
import resource
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask import current_app
from sqlalchemy import delete, func, select, text

from admin.impact import service
from admin.impact.panel import Window
from backend.clock import LOCAL_TZ
from backend.extensions import db
from campaigns import service as campaigns
from campaigns.models import Campaign, Enrolment
from points.actions.models import Action
from points.methodology.service import current_methodology

TITLE = "影响测算压测（压测数据）"


class BenchRefused(ValueError):
    """The database cannot hold this benchmark."""


@dataclass(frozen=True)
class Plan:
    participants: int
    first_day: date | None = None  # default: the generated first day + baseline_days
    last_day: date | None = None  # default: the last whole generated day
    seed: float = 0.24  # PostgreSQL's setseed: the same draw on the same data
    profile: str | None = None  # a cProfile dump of compute()


def _midnight(day: date) -> datetime:
    return datetime.combine(day, datetime.min.time(), tzinfo=LOCAL_TZ)


def _rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def _days(plan: Plan, baseline_days: int) -> tuple[date, date]:
    low, high = db.session.execute(
        select(func.min(Action.local_day), func.max(Action.local_day))
    ).one()
    if low is None:
        raise BenchRefused("no actions: run `flask --app loadtests.app bench generate` first")
    first = plan.first_day or low + timedelta(days=baseline_days)
    # The generator stops at the moment it ran: its last day is a few hours at most
    last = plan.last_day or high - timedelta(days=1)
    if not low < first <= last <= high:
        raise BenchRefused(f"the window {first}..{last} is not inside the generated {low}..{high}")
    return first, last


def campaign_for(first: date, last: date) -> Campaign:
    """The benchmark's campaign over first..last, created and published on first use."""
    campaign = db.session.scalars(
        select(Campaign).where(
            Campaign.title == TITLE,
            Campaign.starts_at == _midnight(first),
            Campaign.ends_at == _midnight(last + timedelta(days=1)),
        )
    ).first()
    if campaign is not None:
        return campaign
    campaign = campaigns.create_campaign(
        {
            "title": TITLE,
            "description": "由 flask bench impact 生成的影响测算压测活动。",
            "starts_at": _midnight(first),
            "ends_at": _midnight(last + timedelta(days=1)),
        },
        staff_id=None,
    )
    # publish_campaign refuses a campaign that is already over: published here directly
    campaign.status = "published"
    campaign.published_at = campaign.starts_at
    db.session.commit()
    return campaign


def enrol(
    campaign: Campaign, participants: int, first: date, last: date, baseline_days: int, seed: float
) -> float:
    """Replace the campaign's enrolments by `participants` residents in one statement;
    the seconds it took."""
    started = time.perf_counter()
    db.session.execute(delete(Enrolment).where(Enrolment.campaign_id == campaign.id))
    db.session.execute(text("SET LOCAL max_parallel_workers_per_gather = 0"))  # one draw order
    db.session.execute(text("SELECT setseed(:seed)"), {"seed": seed})
    green_modes = sorted(current_methodology().green_travel["green_modes"])
    db.session.execute(
        text(
            """
            INSERT INTO enrolment (campaign_id, resident_id, enrolled_at)
            SELECT :campaign_id, chosen.id,
                   :starts_at + make_interval(secs => :window_seconds * power(random(), 3))
            FROM (
                SELECT resident.id
                FROM resident
                LEFT JOIN (
                    SELECT resident_id, count(*) AS green
                    FROM action
                    WHERE type = 'trip' AND variant = ANY(:green_modes)
                      AND status = 'approved'
                      AND local_day >= :baseline_from AND local_day < :first_day
                    GROUP BY resident_id
                ) AS history ON history.resident_id = resident.id
                WHERE resident.guardian_id IS NULL AND resident.status = 'active'
                ORDER BY -ln(1.0 - random()) / (1 + coalesce(history.green, 0))
                LIMIT :participants
            ) AS chosen
            """
        ),
        {
            "campaign_id": campaign.id,
            "starts_at": campaign.starts_at,
            "window_seconds": ((last - first).days + 1) * 86_400 - 1,
            "green_modes": green_modes,
            "baseline_from": first - timedelta(days=baseline_days),
            "first_day": first,
            "participants": participants,
        },
    )
    db.session.commit()
    return round(time.perf_counter() - started, 1)


def yardstick(window: Window) -> tuple[float, int]:
    """The plain per-resident-day GROUP BY over the estimate's days, fetched: seconds, rows."""
    started = time.perf_counter()
    rows = db.session.execute(
        text(
            "SELECT resident_id, local_day, count(*) FROM action "
            "WHERE local_day BETWEEN :origin AND :through GROUP BY 1, 2"
        ),
        {"origin": window.origin, "through": window.through},
    ).all()
    seconds = time.perf_counter() - started
    db.session.rollback()
    return round(seconds, 1), len(rows)


def run(plan: Plan) -> dict:
    if db.dialect != "postgresql":
        raise BenchRefused("bench impact runs on the PostgreSQL benchmark database")
    baseline_days = current_app.config["IMPACT_BASELINE_DAYS"]
    first, last = _days(plan, baseline_days)
    campaign = campaign_for(first, last)
    enrolled = db.session.scalar(select(func.count()).where(Enrolment.campaign_id == campaign.id))
    enrol_seconds = None
    if enrolled != plan.participants:
        enrol_seconds = enrol(campaign, plan.participants, first, last, baseline_days, plan.seed)
    campaign_id = campaign.id
    db.session.expire_all()
    campaign = db.session.get(Campaign, campaign_id)
    now = _midnight(last + timedelta(days=1)) + timedelta(hours=12)  # after the window
    rss_before = _rss_mb()
    profiler = cProfile.Profile() if plan.profile else None
    started = time.perf_counter()
    if profiler:
        profiler.enable()
    row = service.compute(campaign, now)
    if profiler:
        profiler.disable()
        profiler.dump_stats(plan.profile)
    total = round(time.perf_counter() - started, 1)
    rss_after = _rss_mb()
    window = Window(first, last, baseline_days)
    yard_seconds, yard_rows = yardstick(window)
    figures, inputs = row.figures, row.inputs
    comparison = figures["methods"]["comparison"]
    return {
        "campaign_id": campaign_id,
        "window": [first.isoformat(), last.isoformat()],
        "read_days": [window.origin.isoformat(), last.isoformat()],
        "now": now.isoformat(),
        "participants": plan.participants,
        "enrol_seconds": enrol_seconds,
        "status": row.status,
        "reason": row.reason,
        "counts": figures["counts"],
        "baseline_residents": figures["methods"]["baseline"]["residents"],
        "comparison_status": comparison["status"],
        "comparison_matched": comparison["residents"],
        "comparison_residents": comparison.get("comparison_residents"),
        "comparison_groups": comparison.get("groups"),
        "residents_read": inputs["residents_read"],
        "resident_days_read": inputs["activity_rows_read"],
        "seconds": {**inputs["seconds"], "total": total},
        "peak_rss_mb": {"before_compute": rss_before, "after_compute": rss_after},
        "yardstick": {"seconds": yard_seconds, "rows": yard_rows},
        "metrics": {
            method: {
                name: {k: figure.get(k) for k in ("change", "low", "high")}
                for name, figure in figures["methods"][method]["metrics"].items()
            }
            for method in ("baseline", "comparison")
        },
    }
