"""What a ledger entry means to a person, in the caller's language: the action, campaign,
badge, reward or reason behind it. Set-based: one query per referenced table per page.

A ref names its cause by its first word (`action:42`, `campaign:3/action:42`); each package
registers the describer of the words it owns (`register_describer`), so points never reads
campaigns' tables.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable

from flask import Flask, current_app
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from backend.extensions import db
from points.actions.models import Action
from points.ledger.adjustments import PointsAdjustment
from points.ledger.models import LedgerEntry
from points.rewards.models import Redemption, Reward

# (kind, ref) pairs of one first word → their texts (those it can describe).
Describer = Callable[[list[tuple[str, str]]], dict[tuple[str, str], str]]

# What an entry says when its cause is gone or unknown: its kind.
KIND_NAMES = {
    "earn": _l("Points for an action"),
    "campaign_bonus": _l("Campaign bonus"),
    "checkin": _l("Check-in"),
    "badge": _l("Badge"),
    "redeem": _l("Reward redeemed"),
    "refund": _l("Reward refunded"),
    "adjustment": _l("Adjustment"),
    "expire": _l("Points expired"),
}
TRIP_MODES = {
    "walk": _l("on foot"),
    "bike": _l("by bike"),
    "bus": _l("by bus"),
    "rail": _l("by rail"),
    "car": _l("by car"),
    "taxi": _l("by taxi"),
    "motorbike": _l("by motorbike"),
}
GARBAGE_CATEGORIES = {
    "recyclable": _l("recyclables"),
    "kitchen": _l("kitchen waste"),
    "hazardous": _l("hazardous waste"),
    "other": _l("other waste"),
}


def register_describer(app: Flask, word: str, describer: Describer) -> None:
    """A package's `init_app` registers the describer of refs starting `word:`."""
    app.extensions.setdefault("ledger_describers", {})[word] = describer


def english() -> bool:
    """Whether the caller reads English (else Chinese): for names kept in both columns."""
    return str(get_locale()).startswith("en")


def ref_word(ref: str) -> str:
    return ref.split(":", 1)[0].split("/", 1)[0]


def ref_id(ref: str, word: str) -> str:
    """The value after `word:` in a ref (`campaign:3/action:42`, "action" → "42")."""
    for part in ref.split("/"):
        name, _, value = part.partition(":")
        if name == word:
            return value
    return ""


def describe(entries: Iterable[LedgerEntry]) -> dict[int, str]:
    """Each entry's description by id."""
    entries = list(entries)
    by_word: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for entry in entries:
        by_word[ref_word(entry.ref)].append((entry.kind, entry.ref))
    describers = current_app.extensions.get("ledger_describers", {})
    texts: dict[tuple[str, str], str] = {}
    for word, causes in by_word.items():
        if word in describers:
            texts.update(describers[word](causes))
    return {
        entry.id: texts.get((entry.kind, entry.ref)) or str(KIND_NAMES[entry.kind])
        for entry in entries
    }


def described(page: dict) -> dict:
    """A page of entries as the API shows them: each with its description."""
    texts = describe(page["items"])
    items = [
        {column: getattr(entry, column) for column in _SHOWN} | {"description": texts[entry.id]}
        for entry in page["items"]
    ]
    return {**page, "items": items}


_SHOWN = ("id", "delta", "kind", "ref", "created_at", "balance_after")


def describe_actions(ids: Iterable[int]) -> dict[int, str]:
    """Short names of actions (one query): "Trip by bike, 4.2 km"."""
    wanted = {i for i in ids}
    if not wanted:
        return {}
    rows = db.session.execute(
        select(
            Action.id, Action.type, Action.variant, Action.quantity_milli, Action.distance_m
        ).where(Action.id.in_(wanted))
    )
    return {row.id: _action_text(row) for row in rows}


def _action_text(row) -> str:
    quantity = f"{row.quantity_milli / 1000:g}"
    if row.type == "trip":
        mode = TRIP_MODES.get(row.variant, row.variant)
        if row.distance_m:
            return str(_l("Trip %(mode)s, %(km)s km", mode=mode, km=f"{row.distance_m / 1000:.1f}"))
        return str(_l("Trip %(mode)s", mode=mode))
    if row.type == "garbage_sorting":
        category = GARBAGE_CATEGORIES.get(row.variant, row.variant)
        return str(_l("Garbage sorting: %(kg)s kg of %(category)s", kg=quantity, category=category))
    if row.type == "clean_plate":
        return str(_l("Clean Plate meal"))
    if row.type == "ev_charging":
        return str(_l("EV charging, %(kwh)s kWh", kwh=quantity))
    return row.type


def _numeric(values: Iterable[str]) -> set[int]:
    return {int(v) for v in values if v.isdigit()}


def _earnings(causes: list[tuple[str, str]]) -> dict[tuple[str, str], str]:
    names = describe_actions(_numeric(ref_id(ref, "action") for _, ref in causes))
    return {
        (kind, ref): names[int(ref_id(ref, "action"))]
        for kind, ref in causes
        if ref_id(ref, "action").isdigit() and int(ref_id(ref, "action")) in names
    }


def _superseded(causes: list[tuple[str, str]]) -> dict[tuple[str, str], str]:
    names = describe_actions(_numeric(ref_id(ref, "action") for _, ref in causes))
    texts = {}
    for kind, ref in causes:
        action = names.get(int(ref_id(ref, "action") or 0))
        if action is not None:
            texts[(kind, ref)] = str(
                _l("Points taken back: %(action)s was recorded again, verified", action=action)
            )
    return texts


def _redemptions(causes: list[tuple[str, str]]) -> dict[tuple[str, str], str]:
    codes = {ref_id(ref, "redemption") for _, ref in causes}
    titles = dict(
        db.session.execute(
            select(Redemption.code, Reward.title)
            .join(Reward, Reward.id == Redemption.reward_id)
            .where(Redemption.code.in_(codes))
        ).all()
    )
    texts = {}
    for kind, ref in causes:
        title = titles.get(ref_id(ref, "redemption"))
        if title is not None:
            refund = kind == "refund"
            message = _l("Refund: %(title)s", title=title) if refund else None
            texts[(kind, ref)] = str(message or _l("Redeemed: %(title)s", title=title))
    return texts


def _adjustments(causes: list[tuple[str, str]]) -> dict[tuple[str, str], str]:
    ids = _numeric(ref_id(ref, "adjustment") for _, ref in causes)
    reasons = dict(
        db.session.execute(
            select(PointsAdjustment.id, PointsAdjustment.reason).where(PointsAdjustment.id.in_(ids))
        ).all()
    )
    texts = {}
    for kind, ref in causes:
        reason = reasons.get(int(ref_id(ref, "adjustment") or 0))
        if reason is not None:
            texts[(kind, ref)] = str(_l("Adjustment: %(reason)s", reason=reason))
    return texts


def _expiries(causes: list[tuple[str, str]]) -> dict[tuple[str, str], str]:
    return {
        (kind, ref): str(_l("Points expired (%(day)s)", day=ref_id(ref, "expire")))
        for kind, ref in causes
    }


def init_app(app: Flask) -> None:
    """The describers of the causes points owns."""
    register_describer(app, "action", _earnings)
    register_describer(app, "superseded", _superseded)
    register_describer(app, "redemption", _redemptions)
    register_describer(app, "adjustment", _adjustments)
    register_describer(app, "expire", _expiries)
