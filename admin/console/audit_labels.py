"""The audit log as staff read it: each action's name, each field's label, and the values
before and after shown in words and Beijing time, one row per changed field (a campaign's
multipliers one row per type or variant).

The coordinator may merge these tables with admin/console/labels.py; the functions
`audit_action_label(action)` and `field_label(entity, field)` are the contract.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from backend.clock import LOCAL_TZ

ACTION_LABELS = {
    "action.approve": _l("Action approved"),
    "action.reject": _l("Action rejected"),
    "action.supersede": _l("Action replaced by a verified one"),
    "campaign.create": _l("Campaign created"),
    "campaign.edit": _l("Campaign edited"),
    "campaign.publish": _l("Campaign published"),
    "campaign.end": _l("Campaign ended"),
    "checkin_point.create": _l("Check-in point created"),
    "checkin_point.locate": _l("Check-in point location set"),
    "checkin_point.rotate": _l("Check-in QR code renewed"),
    "drb_key.create": _l("DRB key created"),
    "drb_key.revoke": _l("DRB key revoked"),
    "methodology.publish": _l("Methodology published"),
    "partner.create": _l("Partner key created"),
    "partner.revoke": _l("Partner key revoked"),
    "partner_link.confirm": _l("Partner account link confirmed"),
    "redemption.verify": _l("Redemption code verified"),
    "redemption.void": _l("Redemption codes voided"),
    "resident.suspend": _l("Resident suspended"),
    "resident.restore": _l("Resident restored"),
    "resident.join_wechat": _l("WeChat joined to an account"),
    "resident.adjust_points": _l("Points adjusted"),
    "resident.adjustment_requested": _l("Points adjustment requested"),
    "resident.adjustment_rejected": _l("Points adjustment rejected"),
    "reward.create": _l("Reward created"),
    "reward.edit": _l("Reward edited"),
    "reward.stock": _l("Reward stock changed"),
    "staff_user.create": _l("Staff user created"),
    "staff_user.role": _l("Staff role changed"),
    "staff_user.password": _l("Staff password changed"),
    "staff_user.password_reset": _l("Staff password reset"),
    "staff_user.disable": _l("Staff user disabled"),
    "staff_user.enable": _l("Staff user enabled"),
    "staff_user.totp_enrol": _l("Two-step verification set up"),
    "staff_user.totp_reset": _l("Two-step verification removed"),
}

TARGET_LABELS = {
    "action": _l("Action"),
    "account": _l("Points account"),
    "campaign": _l("Campaign"),
    "checkin_point": _l("Check-in point"),
    "drb_api_key": _l("DRB key"),
    "methodology_version": _l("Methodology"),
    "partner_client": _l("Partner key"),
    "partner_resident_link": _l("Partner account link"),
    "redemption": _l("Redemption"),
    "resident": _l("Resident"),
    "reward": _l("Reward"),
    "staff_user": _l("Staff user"),
}

# Field labels for every entity; ENTITY_FIELD_LABELS where one entity means otherwise.
FIELD_LABELS = {
    "id": _l("ID"),
    "title": _l("Title"),
    "name": _l("Name"),
    "description": _l("Description"),
    "event_key": _l("Event"),
    "starts_at": _l("Starts"),
    "ends_at": _l("Ends"),
    "district_codes": _l("Districts"),
    "goal_co2e_g": _l("CO2e goal (g)"),
    "status": _l("Status"),
    "created_by": _l("Created by (staff ID)"),
    "created_at": _l("Created"),
    "updated_at": _l("Updated"),
    "published_at": _l("Published"),
    "closed_at": _l("Closed"),
    "multipliers": _l("Multiplier"),
    "join_bonus": _l("Join bonus (points)"),
    "checkin_points": _l("Points per check-in"),
    "rules_effective_from": _l("Rules in force from"),
    "image_url": _l("Image"),
    "merchant_name": _l("Merchant"),
    "cost_points": _l("Cost (points)"),
    "stock_total": _l("Stock (total)"),
    "stock_left": _l("Stock left"),
    "delta": _l("Change"),
    "per_resident_limit": _l("Limit per resident"),
    "valid_from": _l("Valid from"),
    "valid_until": _l("Valid until"),
    "active": _l("Active"),
    "username": _l("Username"),
    "role": _l("Role"),
    "totp_enrolled_at": _l("Two-step verification set up"),
    "totp_last_step": _l("Last code step"),
    "last_sign_in_at": _l("Last sign-in"),
    "password_changed": _l("Password changed"),
    "reason": _l("Reason"),
    "balance": _l("Balance (points)"),
    "adjustment_id": _l("Adjustment ID"),
    "request_id": _l("Request ID"),
    "scope": _l("Scope"),
    "hint": _l("Key starts with"),
    "revoked_at": _l("Revoked"),
    "last_used_at": _l("Last used"),
    "key": _l("Key"),
    "allowed": _l("May report"),
    "code": _l("Code"),
    "points": _l("Points"),
    "used_at": _l("Used"),
    "used_by": _l("Verified by (staff ID)"),
    "cancelled_at": _l("Cancelled"),
    "reward_id": _l("Reward ID"),
    "resident_id": _l("Resident ID"),
}
ENTITY_FIELD_LABELS = {
    ("checkin_point", "points"): _l("Points per check-in"),
}

TYPE_LABELS = {
    "trip": _l("Trip"),
    "garbage_sorting": _l("Garbage sorting"),
    "clean_plate": _l("Clean Plate meal"),
    "ev_charging": _l("EV charging"),
}
VARIANT_LABELS = {
    "walk": _l("Walking"),
    "bike": _l("Cycling"),
    "bus": _l("Bus"),
    "rail": _l("Rail"),
    "car": _l("Car"),
    "taxi": _l("Taxi"),
    "motorbike": _l("Motorbike"),
    "recyclable": _l("Recyclables"),
    "kitchen": _l("Kitchen waste"),
    "hazardous": _l("Hazardous waste"),
    "other": _l("Other waste"),
    "meal": _l("Meal"),
    "kwh": _l("Charging"),
}
VALUE_LABELS = {
    "role": {
        "superadmin": _l("Super administrator"),
        "campaign_admin": _l("Campaign administrator"),
        "reviewer": _l("Reviewer"),
        "analyst": _l("Analyst"),
        "merchant": _l("Merchant (verifies codes)"),
    },
    "status": {
        "active": _l("Active"),
        "suspended": _l("Suspended"),
        "deleted": _l("Deleted"),
        "draft": _l("Draft"),
        "published": _l("Published"),
        "ended": _l("Ended"),
        "issued": _l("Issued"),
        "used": _l("Used"),
        "cancelled": _l("Cancelled"),
        "void": _l("Void"),
        "pending": _l("Pending"),
        "approved": _l("Approved"),
        "rejected": _l("Rejected"),
    },
}


def audit_action_label(action: str) -> str:
    label = ACTION_LABELS.get(action)
    return str(label) if label is not None else action


def target_label(target_type: str) -> str:
    label = TARGET_LABELS.get(target_type)
    return str(label) if label is not None else target_type


def field_label(entity: str, field: str) -> str:
    label = ENTITY_FIELD_LABELS.get((entity, field)) or FIELD_LABELS.get(field)
    return str(label) if label is not None else field


def multiplier_key_label(key: str) -> str:
    """ "trip:bus" -> "出行 · 公交"."""
    action_type, _sep, variant = key.partition(":")
    shown = str(TYPE_LABELS.get(action_type, action_type))
    if variant:
        shown += " · " + str(VARIANT_LABELS.get(variant, variant))
    return shown


def _moment(text: str) -> str | None:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None or len(text) < 16:
        return None
    return moment.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M:%S")


def shown_value(field: str, value: Any) -> str:
    """A logged value in words: none, yes/no, Beijing time, a role or status by name."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if isinstance(value, str):
        named = VALUE_LABELS.get(field, {}).get(value)
        if named is not None:
            return str(named)
        return _moment(value) or value
    if isinstance(value, int | float):
        return f"{value:g}" if isinstance(value, float) else str(value)
    if isinstance(value, list):
        return "、".join(shown_value(field, item) for item in value) or "—"
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def diff_rows(entity: str, before: dict | None, after: dict | None) -> list[dict]:
    """One row per changed field: its key (data-key), Chinese label, before and after.
    A dict of factors (a campaign's multipliers) is one row per type or variant."""
    before, after = before or {}, after or {}
    rows = []
    for key in sorted(set(before) | set(after)):
        old, new = before.get(key), after.get(key)
        if old == new:
            continue
        if key == "multipliers" and isinstance(old, dict | None) and isinstance(new, dict | None):
            old, new = old or {}, new or {}
            for sub in sorted(set(old) | set(new)):
                if old.get(sub) != new.get(sub):
                    rows.append(
                        {
                            "key": f"{key}.{sub}",
                            "label": f"{field_label(entity, key)} · {multiplier_key_label(sub)}",
                            "before": shown_value(key, old.get(sub)),
                            "after": shown_value(key, new.get(sub)),
                        }
                    )
            continue
        rows.append(
            {
                "key": key,
                "label": field_label(entity, key),
                "before": shown_value(key, old),
                "after": shown_value(key, new),
            }
        )
    return rows
