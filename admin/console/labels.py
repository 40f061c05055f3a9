"""What the console shows for the codes the data keeps: one place for every label.

Message ids are English (the language switch shows them); the Chinese catalogue gives
what zh-CN staff read. Templates use the filters and globals registered below; other
code (the audit page, exports) calls the functions. A code without a label is shown as
it is, so a new code is visible rather than hidden (tests/test_console_chinese.py finds it).

Stable API: type_label(type), variant_label(type, variant), action_label(type, variant),
unit_label(unit), quantity_label(amount, unit), status_label(status, kind="action"),
verification_label(level), role_label(role), organization_kind_label(kind),
member_role_label(role), end_reason_label(reason), scope_label("trip:bus"),
audit_action_label("campaign.edit"), target_label(target_type), field_label(entity, field),
methodology_text(text).
"""

from __future__ import annotations

from typing import Any

from flask_babel import gettext
from flask_babel import lazy_gettext as _l

ROLE_NAMES = {
    "superadmin": _l("Super administrator"),
    "campaign_admin": _l("Campaign administrator"),
    "reviewer": _l("Reviewer"),
    "analyst": _l("Analyst"),
    "merchant": _l("Merchant clerk"),
}

# Organisation kinds (campaigns' organisation limits, the organisation pages)
ORGANIZATION_KIND_NAMES = {
    "household": _l("Household"),
    "school": _l("School"),
    "community": _l("Community"),
    "employer": _l("Employer"),
    "agency": _l("Agency"),
}

# Action types as the console names them, on every page.
TYPE_NAMES = {
    "trip": _l("Trip"),
    "garbage_sorting": _l("Garbage sorting"),
    "clean_plate": _l("Clean Plate meal"),
    "ev_charging": _l("EV charging"),
}

# Variants of each type (trip modes, garbage categories...), by (type, variant).
VARIANT_NAMES = {
    ("trip", "walk"): _l("Walking"),
    ("trip", "bike"): _l("Cycling"),
    ("trip", "bus"): _l("Bus"),
    ("trip", "rail"): _l("Rail"),
    ("trip", "car"): _l("Car"),
    ("trip", "taxi"): _l("Taxi"),
    ("trip", "motorbike"): _l("Motorbike"),
    ("garbage_sorting", "recyclable"): _l("Recyclables"),
    ("garbage_sorting", "kitchen"): _l("Kitchen waste"),
    ("garbage_sorting", "hazardous"): _l("Hazardous waste"),
    ("garbage_sorting", "other"): _l("Other waste"),
    ("clean_plate", "meal"): _l("Meal"),
    ("ev_charging", "kwh"): _l("Kilowatt-hours charged"),
}

UNIT_NAMES = {
    "km": _l("km"),
    "kg": _l("kg"),
    "g": _l("g"),
    "m": _l("m"),
    "kWh": _l("kWh"),
    "kwh": _l("kWh"),
    "trip": _l("trips"),
    "meal": _l("meals"),
}

# How each action was verified (points.actions.models.VERIFICATIONS).
VERIFICATION_NAMES = {
    "partner": _l("Verified by a partner"),
    "trace": _l("Verified by a GPS trace"),
    "reviewed": _l("Verified by a reviewer"),
    "self_declared": _l("Self-declared"),
}

# Statuses by what they are the status of.
STATUS_NAMES = {
    "action": {
        "approved": _l("Approved"),
        "pending_review": _l("Pending review"),
        "rejected": _l("Rejected"),
    },
    "resident": {
        "active": _l("Active"),
        "suspended": _l("Suspended"),
        "deleted": _l("Deleted"),
    },
    "redemption": {
        "issued": _l("Issued"),
        "used": _l("Used"),
        "cancelled": _l("Cancelled"),
        "void": _l("Void (account deleted)"),
    },
    "adjustment": {
        "pending": _l("Waiting for approval"),
        "approved": _l("Approved"),
        "rejected": _l("Rejected"),
    },
    "campaign": {
        "draft": _l("Draft"),
        "published": _l("Published"),
        "ended": _l("Ended"),
    },
    "organization": {
        "active": _l("Active"),
        "closed": _l("Closed down"),
    },
    "partner_link": {
        "confirmed": _l("Confirmed by the partner"),
        "pending": _l("Awaiting the partner's confirmation"),
        "expired": _l("Link code expired"),
    },
}

# Organisations' members: their roles, why a membership ended (kinds: above).
MEMBER_ROLE_NAMES = {
    "member": _l("Member"),
    "admin": _l("Organisation admin"),
}
END_REASON_NAMES = {
    "left": _l("Left"),
    "removed": _l("Removed"),
    "closed": _l("Organisation closed down"),
    "deleted": _l("Account deleted"),
}

# What moved a resident's points (ledger entry kinds).
LEDGER_KIND_NAMES = {
    "earn": _l("Earned by an action"),
    "campaign_bonus": _l("Campaign bonus"),
    "checkin": _l("Check-in"),
    "badge": _l("Badge"),
    "redeem": _l("Redemption"),
    "refund": _l("Refund"),
    "adjustment": _l("Adjustment"),
    "expire": _l("Expiry"),
}

AUDIT_ACTIONS = {
    "action.approve": _l("Approved an action"),
    "action.reject": _l("Rejected an action"),
    "action.supersede": _l("Superseded an action"),
    "campaign.create": _l("Created a campaign"),
    "campaign.edit": _l("Edited a campaign"),
    "campaign.end": _l("Ended a campaign"),
    "campaign.publish": _l("Published a campaign"),
    "checkin_point.create": _l("Created a check-in point"),
    "checkin_point.locate": _l("Placed a check-in point"),
    "checkin_point.rotate": _l("Renewed a check-in point's code"),
    "drb_key.create": _l("Created a DRB key"),
    "drb_key.revoke": _l("Revoked a DRB key"),
    "methodology.publish": _l("Published a methodology version"),
    "organization.create": _l("Created an organisation"),
    "organization.member_remove": _l("Removed an organisation member"),
    "organization.member_role": _l("Changed an organisation member's role"),
    "organization.rotate_code": _l("Renewed an organisation's invite code"),
    "partner.create": _l("Created a partner"),
    "partner.revoke": _l("Revoked a partner"),
    "partner_link.confirm": _l("Confirmed a partner account link"),
    "redemption.verify": _l("Verified a redemption code"),
    "redemption.void": _l("Voided a redemption"),
    "resident.adjust_points": _l("Adjusted a resident's points"),
    "resident.adjustment_rejected": _l("Rejected a points adjustment"),
    "resident.adjustment_requested": _l("Requested a points adjustment"),
    "resident.join_wechat": _l("Joined a WeChat account"),
    "resident.suspend": _l("Suspended a resident"),
    "resident.unsuspend": _l("Restored a resident"),
    "reward.create": _l("Created a reward"),
    "reward.edit": _l("Edited a reward"),
    "reward.stock": _l("Changed a reward's stock"),
    "staff_user.create": _l("Created a staff user"),
    "staff_user.password": _l("Changed a staff password"),
    "staff_user.totp_enrol": _l("Enrolled an authenticator"),
    "staff_user.totp_reset": _l("Reset an authenticator"),
    "resident.restore": _l("Resident restored"),
    "staff_user.role": _l("Staff role changed"),
    "staff_user.password_reset": _l("Staff password reset"),
    "staff_user.disable": _l("Staff user disabled"),
    "staff_user.enable": _l("Staff user enabled"),
}

TARGET_NAMES = {
    "action": _l("Action"),
    "account": _l("Points account"),
    "campaign": _l("Campaign"),
    "checkin_point": _l("Check-in point"),
    "drb_api_key": _l("DRB key"),
    "methodology_version": _l("Methodology version"),
    "organization": _l("Organisation"),
    "organization_member": _l("Organisation membership"),
    "partner_client": _l("Partner"),
    "partner_resident_link": _l("Partner account link"),
    "redemption": _l("Redemption"),
    "resident": _l("Resident"),
    "reward": _l("Reward"),
    "staff_user": _l("Staff user"),
}

# Field names, the same whatever holds them...
FIELD_NAMES = {
    "title": _l("Title"),
    "description": _l("Description"),
    "event_key": _l("Event"),
    "starts_at": _l("Starts"),
    "ends_at": _l("Ends"),
    "district_codes": _l("Districts"),
    "district_code": _l("District"),
    "community": _l("Community"),
    "status": _l("Status"),
    "created_by": _l("Created by"),
    "created_at": _l("Created"),
    "updated_at": _l("Updated"),
    "published_at": _l("Published"),
    "closed_at": _l("Ended"),
    "multipliers": _l("Multipliers"),
    "join_bonus": _l("Join bonus points"),
    "organization_kinds": _l("Organisation kinds"),
    "organization_ids": _l("Organisations"),
    "team_goal_co2e_g": _l("Team goal (g)"),
    "team_bonus_points": _l("Team bonus points"),
    "checkin_points": _l("Points per check-in"),
    "rules_effective_from": _l("Rules in force from"),
    "effective_from": _l("In force from"),
    "name": _l("Name"),
    "place": _l("Place"),
    "points": _l("Points"),
    "latitude": _l("Latitude"),
    "longitude": _l("Longitude"),
    "radius_m": _l("Radius (m)"),
    "mode": _l("Check-in mode"),
    "rotated_at": _l("Code renewed"),
    "image_url": _l("Image address"),
    "merchant_name": _l("Merchant"),
    "cost_points": _l("Cost (points)"),
    "stock_total": _l("Total stock"),
    "stock_left": _l("Stock left"),
    "per_resident_limit": _l("Limit per resident"),
    "valid_from": _l("Valid from"),
    "valid_until": _l("Valid until"),
    "active": _l("Active"),
    "code": _l("Code"),
    "used_at": _l("Used"),
    "used_by": _l("Used by"),
    "cancelled_at": _l("Cancelled"),
    "username": _l("Username"),
    "role": _l("Role"),
    "totp_enrolled_at": _l("Authenticator enrolled"),
    "allowed": _l("Allowed actions"),
    "revoked_at": _l("Revoked"),
    "external_id": _l("Account at the partner"),
    "confirmed_at": _l("Confirmed"),
    "resident_id": _l("Resident"),
    "delta": _l("Points change"),
    "reason": _l("Reason"),
    "balance": _l("Balance"),
    "type": _l("Action type"),
    "variant": _l("Variant"),
    "quantity": _l("Quantity"),
    "unit": _l("Unit"),
    "version": _l("Version"),
    "published": _l("Published"),
    "grams_per_point": _l("Grams CO2e per point"),
    "review_reason": _l("Reason"),
    "reviewed_at": _l("Reviewed"),
    "reviewed_by": _l("Reviewed by"),
    "verification": _l("Verification"),
    "nickname": _l("Nickname"),
    "phone": _l("Phone"),
    "scope": _l("Scope"),
    "from": _l("From"),
    "to": _l("To"),
    "period": _l("Period"),
    "content": _l("Methodology file"),
    "file": _l("Methodology file"),
    "password": _l("Password"),
    "new": _l("New password"),
    "current": _l("Current password"),
    "_schema": _l("Form"),
    "id": _l("ID"),
    "goal_co2e_g": _l("CO2e goal (g)"),
    "totp_last_step": _l("Last code step"),
    "last_sign_in_at": _l("Last sign-in"),
    "password_changed": _l("Password changed"),
    "adjustment_id": _l("Adjustment ID"),
    "request_id": _l("Request ID"),
    "hint": _l("Key starts with"),
    "last_used_at": _l("Last used"),
    "key": _l("Key"),
    "reward_id": _l("Reward ID"),
    "capped": _l("Capped by the daily limit"),
    "kind": _l("Kind"),
    "street": _l("Street or town"),
    "invite_code": _l("Invite code"),
    "invite_expires_at": _l("Invite code expires"),
    "invite_rotated_at": _l("Invite code renewed"),
    "member_count": _l("Members"),
    "member_limit": _l("Member limit"),
    "created_by_resident_id": _l("Created by resident"),
    "created_by_staff_id": _l("Created by staff user"),
    "organization_id": _l("Organisation"),
    "joined_at": _l("Joined the organisation"),
    "left_at": _l("Membership ended"),
    "end_reason": _l("Why it ended"),
    "ended_by_resident_id": _l("Ended by resident"),
    "ended_by_staff_id": _l("Ended by staff user"),
}
# ...and where a field means something else in one entity: (entity, field).
ENTITY_FIELD_NAMES = {
    ("campaign", "status"): _l("Campaign status"),
    ("checkin_point", "points"): _l("Points per check-in"),
    ("checkin_point", "starts_at"): _l("Open from"),
    ("checkin_point", "ends_at"): _l("Open until"),
    ("account", "balance"): _l("Balance"),
    ("organization_member", "role"): _l("Role in the organisation"),
    ("organization", "status"): _l("Organisation status"),
    ("redemption", "points"): _l("Points spent"),
}

# Methodology texts shipped in points/methodology/factors.json, in Chinese: a published
# version's own words, shown translated where the catalogue has them (a new version's new
# text shows as it was written).
METHODOLOGY_TEXTS = (
    _l(
        "Avoided emissions per unit of a low-carbon action, in grams CO2e. Defaults drawn from "
        "published factors of operating carbon-inclusive platforms and peer-reviewed studies "
        "(sources per factor). They are to be replaced by the factors of a methodology filed "
        "under Guangdong's carbon-inclusion rules (粤环发〔2022〕4号) when Zhaoqing publishes "
        "one: publish a new version, never edit a published one."
    ),
    _l("Alipay Ant Forest: 10,000 steps = 200 g CO2 energy; taken at 0.75 m per step (7.5 km)."),
    _l(
        "Wuhan 武碳江湖 carbon-inclusion platform, bike-share factor 93.3 g/km "
        "(China Daily, 2025-05-23)."
    ),
    _l(
        "Wuhan 武碳江湖 carbon-inclusion platform, bus factor 212.5 g per ride "
        "(China Daily, 2025-05-23)."
    ),
    _l(
        "Wuhan 武碳江湖 carbon-inclusion platform, metro factor 78.4 g/km (China Daily, "
        "2025-05-23); applied to intercity and urban rail."
    ),
    _l("Not a green mode: recorded for the green-travel share, earns nothing."),
    _l(
        "Chen et al., 环境科学 44(5):2995-3002 (2023), Qingdao: sorted collection with "
        "recycling -230.17 vs mixed collection with incineration -130.12 kg CO2e per t MSW, "
        "i.e. about 100 g per kg sorted."
    ),
    _l("As recyclable (Chen et al. 2023), applied per kg of sorted household waste."),
    _l("Luzhou 绿芽积分 carbon-inclusion platform: Clean Plate 144 g per meal."),
    _l(
        "Method of T/CSAE 235-2021 (baseline fuel car minus grid electricity): petrol car "
        "184 g/km (0.08 L/km x 2.3 kg/L) / EV 0.15 kWh/km = 1226.7 g per kWh, minus China "
        "Southern Grid factor 386.9 g/kWh (2022 MEE/NBS) = 839.8 g/kWh."
    ),
)


def _shown(label: Any, code: Any) -> str:
    return str(label) if label is not None else ("" if code is None else str(code))


def type_label(action_type: str | None) -> str:
    return _shown(TYPE_NAMES.get(action_type or ""), action_type)


def variant_label(action_type: str | None, variant: str | None) -> str:
    return _shown(VARIANT_NAMES.get((action_type or "", variant or "")), variant)


def action_label(action_type: str | None, variant: str | None = None) -> str:
    """出行 · 公交: a type, and its variant when there is one."""
    if not variant:
        return type_label(action_type)
    return f"{type_label(action_type)} · {variant_label(action_type, variant)}"


def unit_label(unit: str | None) -> str:
    return _shown(UNIT_NAMES.get(unit or ""), unit)


def quantity_label(amount: Any, unit: str | None) -> str:
    """1 次, 12.5 公里: an amount and its unit."""
    return gettext("%(amount)s %(unit)s", amount=amount, unit=unit_label(unit))


def organization_kind_label(kind: str | None) -> str:
    return _shown(ORGANIZATION_KIND_NAMES.get(kind or ""), kind)


def status_label(status: str | None, kind: str = "action") -> str:
    return _shown(STATUS_NAMES.get(kind, {}).get(status or ""), status)


def member_role_label(role: str | None) -> str:
    return _shown(MEMBER_ROLE_NAMES.get(role or ""), role)


def end_reason_label(reason: str | None) -> str:
    return _shown(END_REASON_NAMES.get(reason or ""), reason)


def verification_label(level: str | None) -> str:
    return _shown(VERIFICATION_NAMES.get(level or ""), level)


def role_label(role: str | None) -> str:
    return _shown(ROLE_NAMES.get(role or ""), role)


def scope_label(scope: str) -> str:
    """A partner's allowed scope: `trip` (a whole type) or `trip:bus` (one variant)."""
    action_type, _, variant = scope.partition(":")
    return action_label(action_type, variant or None)


def audit_action_label(action: str) -> str:
    return _shown(AUDIT_ACTIONS.get(action), action)


def target_label(target_type: str | None) -> str:
    return _shown(TARGET_NAMES.get(target_type or ""), target_type)


def field_label(entity: str | None, field: str) -> str:
    """A field's name for people: of `entity` (an audit target type, a form's subject)
    where it means something of its own there, else the common name; else the code."""
    label = ENTITY_FIELD_NAMES.get((entity or "", field)) or FIELD_NAMES.get(field)
    if label is None and field.startswith("factor ") and ":" in field:  # methodology entries
        action_type, _, variant = field.removeprefix("factor ").partition(":")
        return gettext("Factor: %(action)s", action=action_label(action_type, variant))
    return _shown(label, field)


def methodology_text(text: str | None) -> str:
    """A text of a methodology version (a note, a factor's source), translated when the
    catalogue knows it."""
    return gettext(text) if text else ""


FILTERS = {
    "type_label": type_label,
    "unit_label": unit_label,
    "verification_label": verification_label,
    "role_label": role_label,
    "scope_label": scope_label,
    "audit_action_label": audit_action_label,
    "target_label": target_label,
    "organization_kind_label": organization_kind_label,
    "methodology_text": methodology_text,
    "member_role_label": member_role_label,
    "end_reason_label": end_reason_label,
}
GLOBALS = {
    "variant_label": variant_label,
    "action_label": action_label,
    "quantity_label": quantity_label,
    "status_label": status_label,
    "field_label": field_label,
}


def register(blueprint) -> None:
    for name, function in FILTERS.items():
        blueprint.add_app_template_filter(function, name)
    for name, function in GLOBALS.items():
        blueprint.add_app_template_global(function, name)
