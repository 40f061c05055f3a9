"""What an impact estimate reads from the database: the campaign's participants, the
residents of their districts who did not take part, and everyone's verified activity per
local day, in four queries (the activity one set-based: one row per resident and day).

Children (recorded by a guardian) are left out: they cannot enrol, so they are nobody's
comparison. Trips and green trips are verified trips only, green by the action's own
methodology version, as the DRB's green-travel share counts them; CO2e is verified CO2e.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import numpy as np
from sqlalchemy import and_, case, false, func, or_, select

from admin.impact.estimate import LATER_PARTICIPANT, NOT_PARTICIPANT, Panel
from backend.clock import local_day
from backend.extensions import db
from backend.residents.models import Resident
from campaigns.models import Campaign, Enrolment
from campaigns.organizations.figures import GreenModes
from points.actions.models import VERIFIED, Action
from points.methodology.service import methodology_history


@dataclass(frozen=True)
class Window:
    """The days an estimate reads: from the matching window of the first day's
    participants to the last day with data."""

    first_day: date
    through: date
    baseline_days: int

    @property
    def origin(self) -> date:
        return self.first_day - timedelta(days=2 * self.baseline_days)

    def index(self, day: date) -> int:
        return (day - self.origin).days


def _green_trip(versions: list[str]):
    """True for a trip in a green mode of its own methodology version."""
    green_modes = GreenModes()
    by_version = [
        and_(Action.factor_version == version, Action.variant.in_(sorted(green_modes(version))))
        for version in versions
    ]
    return and_(Action.type == "trip", or_(false(), *by_version))


def load_panel(campaign: Campaign, window: Window, enrolled_before: datetime) -> tuple[Panel, dict]:
    """The panel for `campaign` over `window`, and what was read (for the stored inputs)."""
    enrolled = dict(
        db.session.execute(
            select(Enrolment.resident_id, Enrolment.enrolled_at).where(
                Enrolment.campaign_id == campaign.id
            )
        ).all()
    )
    participant_ids = select(Enrolment.resident_id).where(Enrolment.campaign_id == campaign.id)
    districts = select(Resident.district_code).where(
        Resident.id.in_(participant_ids), Resident.district_code.is_not(None)
    )
    in_scope = and_(
        Resident.guardian_id.is_(None),
        Resident.status != "deleted",
        or_(Resident.district_code.in_(districts), Resident.id.in_(participant_ids)),
    )
    residents = db.session.execute(
        select(Resident.id, Resident.district_code, Resident.created_at)
        .where(in_scope)
        .order_by(Resident.id)
    ).all()
    ids = np.fromiter((row.id for row in residents), dtype=np.int64, count=len(residents))
    codes = sorted({row.district_code for row in residents if row.district_code})
    code_index = {code: index for index, code in enumerate(codes)}
    district = np.fromiter(
        (code_index.get(row.district_code, -1) for row in residents), np.int64, len(residents)
    )
    created = np.fromiter(
        (window.index(local_day(row.created_at)) for row in residents), np.int64, len(residents)
    )
    first = window.index(window.first_day)

    def start_of(resident_id: int) -> int:
        at = enrolled.get(resident_id)
        if at is None:
            return NOT_PARTICIPANT
        if at >= enrolled_before:
            return LATER_PARTICIPANT
        return max(window.index(local_day(at)), first)

    starts = np.fromiter((start_of(row.id) for row in residents), np.int64, len(residents))

    verified = and_(Action.status == "approved", Action.verification.in_(VERIFIED))
    versions = [row.version for row in methodology_history()]
    green = case((_green_trip(versions), 1), else_=0)
    trip = case((Action.type == "trip", 1), else_=0)
    # Grouped over the actions alone, day first: PostgreSQL then scans the table in
    # parallel and hashes the groups (6 s for 10M actions) instead of walking the
    # (resident, day) index into the heap and merging with the residents (20 s). The
    # residents out of scope are dropped below, and the rows put in (resident, day) order
    # whatever the plan.
    rows = db.session.execute(
        select(
            Action.resident_id,
            Action.local_day,
            func.sum(trip),
            func.sum(green),
            func.sum(Action.co2e_g),
        )
        .where(verified, Action.local_day >= window.origin, Action.local_day <= window.through)
        .group_by(Action.local_day, Action.resident_id)
    ).all()
    row_ids = np.fromiter((row[0] for row in rows), np.int64, len(rows))
    origin = np.datetime64(window.origin, "D")
    row_day = (np.array([row[1] for row in rows], dtype="datetime64[D]") - origin).astype(np.int64)
    row_resident = np.minimum(np.searchsorted(ids, row_ids), max(len(ids) - 1, 0))
    kept = ids[row_resident] == row_ids if len(ids) else np.zeros(len(rows), dtype=bool)
    order = np.flatnonzero(kept)[np.lexsort((row_day[kept], row_resident[kept]))]

    def column(index: int) -> np.ndarray:
        return np.fromiter((row[index] for row in rows), np.float64, len(rows))[order]

    panel = Panel(
        origin=window.origin,
        first=first,
        through=window.index(window.through),
        district=district,
        created=created,
        enrolled=starts,
        row_resident=row_resident[order],
        row_day=row_day[order],
        row_trips=column(2),
        row_green=column(3),
        row_co2e=column(4),
    )
    read = {
        "residents_read": len(residents),
        "activity_rows_read": len(order),
        "districts": codes,
        "methodology_versions": versions,
    }
    return panel, read
