"""What points tells the packages above it, without knowing them: approved actions, a
batch at a time, handed by the worker to each package's applier in one fixed order.

Appliers run in the worker's transaction: what they write commits or rolls back with the
batch's outbox rows. The lock order of a batch is in `points.actions.outbox`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

from flask import Flask, current_app

from points.actions.models import VERIFIED
from points.ledger.service import Credit

# Campaigns count an action (and pay its bonus) before statistics read which campaigns
# counted it; organisations follow the residents' own figures.
APPLIER_ORDER = ("campaigns", "badges", "leaderboards", "statistics", "organizations")


@dataclass(frozen=True)
class ApprovedAction:
    """An approved action as the derived figures see it (read from its row)."""

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
    verification: str
    # "approved", or "rejected" when a later, stronger event superseded it: its outbox
    # row then asks each applier to take back what it counted.
    status: str
    distance_m: int | None
    factor_version: str

    @property
    def counts_as_verified(self) -> bool:
        """Approved and verified: what campaign goals, badges and boards count. A
        self-declared action never counts there; a superseded one is taken back."""
        return self.status == "approved" and self.verification in VERIFIED


# An applier writes its own figures for the batch and returns what the batch earns through
# it (campaign bonuses, badges): the worker posts them together, last.
Applier = Callable[[list[ApprovedAction]], list[Credit]]


def register_applier(app: Flask, name: str, applier: Applier) -> None:
    """A package's `init_app` registers what it derives from approved actions."""
    if name not in APPLIER_ORDER:
        raise ValueError(f"{name} has no place in APPLIER_ORDER")
    registered = app.extensions.setdefault("approval_appliers", {}) | {name: applier}
    # Kept in APPLIER_ORDER whichever package registers first.
    app.extensions["approval_appliers"] = {
        n: registered[n] for n in APPLIER_ORDER if n in registered
    }


def appliers() -> list[Applier]:
    """The registered appliers of the current app, in APPLIER_ORDER."""
    registered = current_app.extensions.get("approval_appliers", {})
    return [registered[name] for name in APPLIER_ORDER if name in registered]
