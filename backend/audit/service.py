"""Recording staff changes: `record`, called once by the service that makes a change, with
the values before and after, whichever door (console page, staff API, CLI) called it.

The entry is added to the caller's transaction, so it exists exactly when the change
commits: a refused or rolled-back change leaves none.
"""

from __future__ import annotations

import copy
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from flask import g, has_app_context, has_request_context, request
from sqlalchemy import select

from backend.audit.models import AuditEntry
from backend.extensions import db
from backend.staff.models import StaffUser

# Never copied into the log: secrets and personal data stay where they are.
HIDDEN_COLUMNS = frozenset(
    {
        "password_hash",
        "token_hash",
        "secret_encrypted",
        "totp_secret",
        "phone_encrypted",
        "phone_hmac",
        "wechat_openid_hmac",
        "access_token_hash",
        "refresh_token_hash",
        "previous_refresh_hash",
        "token_nonce",
        "key_hash",
        "code_hash",
    }
)
# Who an entry names when no staff user is signed in: a CLI command or a job.
SYSTEM = "system"


def plain(value: Any) -> Any:
    """A value as JSON keeps it: moments and decimals as text, containers copied."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict | list):
        return copy.deepcopy(value)
    return value


def snapshot(row) -> dict | None:
    """A row's columns as the log keeps them, without secrets."""
    if row is None:
        return None
    return {
        column.key: plain(getattr(row, column.key))
        for column in row.__table__.columns
        if column.key not in HIDDEN_COLUMNS
    }


def acting_staff() -> StaffUser | None:
    """The staff user making the change: the one the request's guard signed in
    (`staff_required` for the staff API, `console_page` for the console, both keep the
    session in `g.staff_session`); None outside a staff request (a CLI command)."""
    session = g.get("staff_session") if has_app_context() else None
    return session.staff_user if session is not None else None


def record(
    action: str, target_type: str, target_id, before: dict | None, after: dict | None
) -> AuditEntry:
    """Log one staff change: `action` ("campaign.edit") to `target_type` #`target_id`,
    with what the target was before (None for a creation) and after."""
    actor = acting_staff()
    entry = AuditEntry(
        staff_user_id=actor.id if actor else None,
        staff_username=actor.username if actor else SYSTEM,
        # A staff member's address; a resident's (deleting their account) is not kept
        ip=request.remote_addr if actor and has_request_context() else None,
        action=action,
        target_type=target_type,
        target_id=None if target_id is None else str(target_id),
        before=before,
        after=after,
    )
    db.session.add(entry)
    db.session.flush()
    return entry


def entries_query(text: str | None = None, staff_username: str | None = None):
    query = select(AuditEntry)
    if text:
        like = f"%{text}%"
        query = query.where(
            AuditEntry.action.like(like)
            | AuditEntry.target_type.like(like)
            | AuditEntry.target_id.like(like)
        )
    if staff_username:
        query = query.where(AuditEntry.staff_username == staff_username)
    return query
