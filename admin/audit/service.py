"""Recording staff changes, and the `audited` decorator every changing staff view wears.

The decorator snapshots the target row before and after the view, in the view's own
transaction, so an entry exists exactly when the change committed.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from functools import wraps
from typing import Any

from flask import Response, g, request
from sqlalchemy import select

from admin.audit.models import AuditEntry
from backend.extensions import db

# Never copied into the log: secrets and personal data stay where they are.
HIDDEN_COLUMNS = frozenset(
    {
        "password_hash",
        "token_hash",
        "secret_encrypted",
        "phone_encrypted",
        "phone_hmac",
        "wechat_openid_hmac",
        "access_token_hash",
        "refresh_token_hash",
        "previous_refresh_hash",
        "token_nonce",
        "key_hash",
    }
)


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def snapshot(row) -> dict | None:
    if row is None:
        return None
    return {
        column.key: _plain(getattr(row, column.key))
        for column in row.__table__.columns
        if column.key not in HIDDEN_COLUMNS
    }


def _actor():
    session = getattr(g, "staff_session", None)
    return session.staff_user if session is not None else None


def record(action: str, target_type: str, target_id, before: dict | None, after: dict | None):
    actor = _actor()
    db.session.add(
        AuditEntry(
            staff_user_id=actor.id if actor else None,
            staff_username=actor.username if actor else "system",
            ip=request.remote_addr if request else None,
            action=action,
            target_type=target_type,
            target_id=None if target_id is None else str(target_id),
            before=before,
            after=after,
        )
    )
    db.session.flush()


def audited(action: str, model, id_arg: str | None = None, response_id: str = "id"):
    """Log the view's change to one `model` row, found by the view argument `id_arg`
    (or, for a creation, by the `response_id` field of what the view returns)."""

    def decorator(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            target_id = kwargs.get(id_arg) if id_arg else None
            before = snapshot(db.session.get(model, target_id)) if target_id is not None else None
            result = view(*args, **kwargs)
            response = result if isinstance(result, Response) else None
            if response is not None and response.status_code >= 400:
                return result
            if target_id is None and response is not None and response.is_json:
                target_id = (response.get_json() or {}).get(response_id)
            after = None
            if target_id is not None:
                row = db.session.get(model, target_id)
                if row is not None:
                    db.session.refresh(row)
                after = snapshot(row)
            record(action, model.__tablename__, target_id, before, after)
            return result

        return wrapper

    return decorator


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
