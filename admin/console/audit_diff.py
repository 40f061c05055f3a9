"""The audit log as staff read it: the values before and after, shown in words and Beijing
time, one row per changed field (a campaign's multipliers one row per type or variant).
Every name comes from admin/console/labels.py."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from admin.console import labels
from backend.clock import LOCAL_TZ

# A logged status names a resident's, campaign's, redemption's... state: any of them reads.
_STATUSES = {code: name for names in labels.STATUS_NAMES.values() for code, name in names.items()}
# A logged role is a staff user's or an organisation member's (their codes differ).
VALUE_NAMES = {
    "role": {**labels.ROLE_NAMES, **labels.MEMBER_ROLE_NAMES},
    "status": _STATUSES,
    "scope": {"stats": _l("Statistics")},
    "kind": labels.ORGANIZATION_KIND_NAMES,
    "end_reason": labels.END_REASON_NAMES,
}
# Fields whose values are codes people quote as they are (a key's first characters, a
# username), never words to translate.
CODE_FIELDS = frozenset(
    {"hint", "username", "key", "external_id", "station_id", "session_id", "invite_code"}
)


def multiplier_key_label(key: str) -> str:
    """ "trip:bus" -> "出行 · 公交"."""
    action_type, _sep, variant = key.partition(":")
    return labels.action_label(action_type, variant or None)


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
        named = VALUE_NAMES.get(field, {}).get(value)
        if named is not None:
            return str(named)
        return _moment(value) or value
    if isinstance(value, int | float):
        return f"{value:g}" if isinstance(value, float) else str(value)
    if isinstance(value, list):
        return "、".join(shown_value(field, item) for item in value) or "—"
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def diff_rows(entity: str, before: dict | None, after: dict | None) -> list[dict]:
    """One row per changed field: its key (data-key), label, before and after. A dict of
    factors (a campaign's multipliers) is one row per type or variant."""
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
                            "label": f"{labels.field_label(entity, key)} · "
                            f"{multiplier_key_label(sub)}",
                            "before": shown_value(key, old.get(sub)),
                            "after": shown_value(key, new.get(sub)),
                            "code": False,
                        }
                    )
            continue
        rows.append(
            {
                "key": key,
                "label": labels.field_label(entity, key),
                "before": shown_value(key, old),
                "after": shown_value(key, new),
                "code": key in CODE_FIELDS,
            }
        )
    return rows
