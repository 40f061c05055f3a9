"""What points tells the packages above it, without knowing them (blinker signals).

Listeners run inside the transaction that approved the action: what they write commits
or rolls back with it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from blinker import Namespace

signals = Namespace()

#: Sent once per action, when it is approved (at once, or by a reviewer).
action_approved = signals.signal("action-approved")


@dataclass(frozen=True)
class ActionApproved:
    action_id: int
    resident_id: int
    action_type: str
    variant: str
    co2e_g: int
    points: int
    capped: bool
    occurred_at: datetime
    local_day: date
    district_code: str | None
    source: str
    distance_m: int | None
    factor_version: str
