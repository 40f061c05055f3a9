"""Organisation figures: the worker adds each batch of approved actions to the
organisations their residents belonged to when they acted, set-based.

An action counts for an organisation when the resident's membership covered its moment
(`Membership.covers`: joined at or before it, not yet left): what a member did before
joining never counts, and what they did while a member stays counted after they leave.
Each (action, organisation) is counted once (`organization_action`); one statement per
table for the whole batch. Each kind's sums and distinct participants are kept beside
(the creation reports' small-cell rule reads them). The organisation and kind rows many
members add to are written at commit in one order (`db.add_at_commit`); the member rows
belong to the batch's residents, whom the worker's claim holds.

What an action adds (`contribution`): one action, its base points, its CO2e under
`co2e_g` when verified or under `self_declared_co2e_g` when not; a verified trip adds
one trip, and one green trip when its mode is green in the action's own methodology
(`green_travel.green_modes`, as the DRB's green-travel share decides), so a new
methodology changes neither the figures already kept nor the checker's answer.

A superseded action that comes back "rejected" takes back exactly what it added, from
the organisations `organization_action` says it was added to. Participants stay: a
member who took part in a period remains counted in it (their member row stays, at
zero), as the district and community boards keep theirs.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import date

from sqlalchemy import delete

from backend.clock import period_keys as board_period_keys
from backend.clock import utcnow
from backend.extensions import db
from campaigns.organizations import service
from campaigns.organizations.models import (
    ALL_TYPES,
    OrganizationAction,
    OrganizationKindParticipant,
    OrganizationKindPeriod,
    OrganizationMemberTotal,
    OrganizationPeriodTotal,
)
from points.actions.models import VERIFIED
from points.methodology.service import methodology_of
from points.signals import ApprovedAction

PERIOD_SUMS = (
    "actions",
    "verified_actions",
    "co2e_g",
    "self_declared_co2e_g",
    "points",
    "trips",
    "green_trips",
)
MEMBER_SUMS = ("actions", "co2e_g", "points")
TRIP = "trip"  # the action type whose variant is a travel mode


def period_keys(day: date) -> tuple[str, ...]:
    """The organisation periods of a local day: all time, its year, quarter, month and ISO
    week ("all", "y2026", "q2026-4", "m2026-11", "w2026-48")."""
    board = board_period_keys(day)
    quarter = (day.month - 1) // 3 + 1
    return ("all", f"y{day.year}", f"q{day.year}-{quarter}", board["month"], board["week"])


class GreenModes:
    """Green travel modes per methodology version, read once per batch or check."""

    def __init__(self) -> None:
        self._modes: dict[str, frozenset[str]] = {}

    def __call__(self, version: str) -> frozenset[str]:
        if version not in self._modes:
            rules = methodology_of(version).green_travel
            self._modes[version] = frozenset(rules["green_modes"])
        return self._modes[version]


def contribution(action, green_modes: GreenModes) -> dict[str, int]:
    """What an approved action adds to an organisation period row (PERIOD_SUMS), whatever
    its status now: `action` is an ApprovedAction or a row of `outbox.APPROVED_COLUMNS`."""
    verified = action.verification in VERIFIED
    trip = verified and action.action_type == TRIP
    return {
        "actions": 1,
        "verified_actions": int(verified),
        "co2e_g": action.co2e_g if verified else 0,
        "self_declared_co2e_g": 0 if verified else action.co2e_g,
        "points": action.points,
        "trips": int(trip),
        "green_trips": int(trip and action.variant in green_modes(action.factor_version)),
    }


def member_contribution(sums: dict[str, int]) -> dict[str, int]:
    return {name: sums[name] for name in MEMBER_SUMS}


# Applying approved actions


def add_to_organizations(batch: list[ApprovedAction]) -> list:
    """Applier of approved actions: add each to the organisations its resident belonged
    to when it happened, once; take a superseded one back from where it was added."""
    current = {a.action_id: a for a in batch}  # a row applied twice in a batch counts once
    approved = [a for a in current.values() if a.status == "approved"]
    withdrawn = [a for a in current.values() if a.status != "approved"]
    green = GreenModes()
    pairs: list[tuple[ApprovedAction, int, int]] = []  # (action, organisation, member)
    if approved:
        pairs += _count(approved)
    taken_back = _take_back(withdrawn) if withdrawn else []
    if pairs or taken_back:
        _write(
            [(a, org, member, 1) for a, org, member in pairs]
            + [(a, org, member, -1) for a, org, member in taken_back],
            green,
        )
    return []  # organisation figures credit nothing


def _count(batch: list[ApprovedAction]) -> list[tuple[ApprovedAction, int, int]]:
    """(action, organisation, member) counted for the first time now. A child's action
    counts for its household, and for its guardian's other organisations (a school's
    members are the families), the guardian being the member."""
    moments = [a.occurred_at for a in batch]
    guardians = service.guardians_of({a.resident_id for a in batch})
    memberships = service.memberships_during(
        {a.resident_id for a in batch} | set(guardians.values()), min(moments), max(moments)
    )

    def counted_for(action: ApprovedAction):
        for membership in memberships.get(action.resident_id, ()):
            yield membership, action.resident_id
        guardian = guardians.get(action.resident_id)
        for membership in memberships.get(guardian, ()) if guardian else ():
            if membership.kind != "household":
                yield membership, guardian

    candidates = sorted(
        {
            (a.action_id, membership.organization_id, member_id)
            for a in batch
            for membership, member_id in counted_for(a)
            if membership.covers(a.occurred_at)
        }
    )
    if not candidates:
        return []
    first = db.session.connection().execute(
        db.upsert(OrganizationAction)
        .on_conflict_do_nothing()
        .returning(OrganizationAction.action_id, OrganizationAction.organization_id),
        [
            {"action_id": action_id, "organization_id": org_id, "member_id": member_id}
            for action_id, org_id, member_id in candidates
        ],
    )
    new = set(map(tuple, first))
    actions = {a.action_id: a for a in batch}
    return [
        (actions[action_id], org_id, member_id)
        for action_id, org_id, member_id in candidates
        if (action_id, org_id) in new
    ]


def _take_back(batch: list[ApprovedAction]) -> list[tuple[ApprovedAction, int, int]]:
    actions = {a.action_id: a for a in batch}
    taken = db.session.connection().execute(
        delete(OrganizationAction)
        .where(OrganizationAction.action_id.in_(sorted(actions)))
        .returning(
            OrganizationAction.action_id,
            OrganizationAction.organization_id,
            OrganizationAction.member_id,
        )
    )
    return [
        (actions[action_id], org_id, member_id) for action_id, org_id, member_id in sorted(taken)
    ]


def _write(counted: Iterable[tuple[ApprovedAction, int, int, int]], green: GreenModes) -> None:
    """Add (or take back) the counted actions, per type and over every type: the member
    rows, then the organisation rows and the kind rows (sums and distinct participants)."""
    counted = list(counted)
    kinds = service.kinds_of({org_id for _, org_id, _, _ in counted})
    periods: dict[tuple[int, str, str], dict[str, int]] = {}
    members: dict[tuple[int, str, str, int], dict[str, int]] = {}
    kind_sums: dict[tuple[str, str, str], dict[str, int]] = {}
    kind_members: set[tuple[str, str, str, int]] = set()
    for action, org_id, member_id, sign in counted:
        sums = {name: sign * value for name, value in contribution(action, green).items()}
        kind = kinds[org_id]
        for key in period_keys(action.local_day):
            for action_type in (action.action_type, ALL_TYPES):
                for row in (
                    periods.setdefault((org_id, key, action_type), dict.fromkeys(PERIOD_SUMS, 0)),
                    kind_sums.setdefault((kind, key, action_type), dict.fromkeys(PERIOD_SUMS, 0)),
                ):
                    for name in PERIOD_SUMS:
                        row[name] += sums[name]
                row = members.setdefault(
                    (org_id, key, action_type, member_id), dict.fromkeys(MEMBER_SUMS, 0)
                )
                for name in MEMBER_SUMS:
                    row[name] += sums[name]
                kind_members.add((kind, key, action_type, member_id))
    connection = db.session.connection()
    member_keys = ("organization_id", "period_key", "action_type", "resident_id")
    # Member rows made now are the periods' new participants (a taken-back action's rows
    # exist already: they were made when it was counted).
    made = connection.execute(
        db.upsert(OrganizationMemberTotal)
        .on_conflict_do_nothing()
        .returning(
            OrganizationMemberTotal.organization_id,
            OrganizationMemberTotal.period_key,
            OrganizationMemberTotal.action_type,
        ),
        [
            dict(zip(member_keys, key, strict=True)) | dict.fromkeys(MEMBER_SUMS, 0)
            for key in sorted(members)
        ],
    )
    participants = Counter(map(tuple, made))
    kind_keys = ("kind", "period_key", "action_type", "resident_id")
    made = connection.execute(
        db.upsert(OrganizationKindParticipant)
        .on_conflict_do_nothing()
        .returning(
            OrganizationKindParticipant.kind,
            OrganizationKindParticipant.period_key,
            OrganizationKindParticipant.action_type,
        ),
        [dict(zip(kind_keys, key, strict=True)) for key in sorted(kind_members)],
    )
    kind_participants = Counter(map(tuple, made))
    # The batch's residents' own rows: the worker's claim holds them, so no other batch
    # waits here; the additions go at commit with the rest, in one order.
    db.add_at_commit(
        OrganizationMemberTotal,
        member_keys,
        MEMBER_SUMS,
        [dict(zip(member_keys, key, strict=True)) | sums for key, sums in members.items()],
    )
    now = utcnow()
    db.add_at_commit(
        OrganizationPeriodTotal,
        ("organization_id", "period_key", "action_type"),
        (*PERIOD_SUMS, "participants"),
        [
            {
                "organization_id": org_id,
                "period_key": key,
                "action_type": action_type,
                **sums,
                "participants": participants.get((org_id, key, action_type), 0),
                "updated_at": now,
            }
            for (org_id, key, action_type), sums in periods.items()
        ],
        replaced=("updated_at",),
    )
    db.add_at_commit(
        OrganizationKindPeriod,
        ("kind", "period_key", "action_type"),
        (*PERIOD_SUMS, "participants"),
        [
            {
                "kind": kind,
                "period_key": key,
                "action_type": action_type,
                **sums,
                "participants": kind_participants.get((kind, key, action_type), 0),
            }
            for (kind, key, action_type), sums in kind_sums.items()
        ],
    )
