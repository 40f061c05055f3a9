"""DRB API keys: created and revoked with `flask drb-key` (the console later), stored hashed.

A key is shown once. Its last use is written at most once a minute, in a short write
transaction of its own (`db.committed_now`), so reading statistics is not a write (on
SQLite a read request that writes would hold the one write lock for the whole report).
"""

from __future__ import annotations

from datetime import timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import or_, select, update

from admin.stats.models import DrbApiKey
from backend.audit import service as audit
from backend.clock import utcnow
from backend.errors import Forbidden, Unauthorized
from backend.extensions import db
from backend.tokens import new_token, token_hash

KEY_PREFIX = "drb_"  # tells a DRB key apart in logs and secret scanners
STATS_SCOPE = "stats"
SCOPES = (STATS_SCOPE,)
LAST_USED_RESOLUTION = timedelta(minutes=1)


class ApiKeyError(ValueError):
    """A key cannot be created or revoked as asked."""


def create_key(name: str, scope: str = STATS_SCOPE) -> tuple[DrbApiKey, str]:
    """A new key; returns the row and the key itself, which is never stored."""
    name = name.strip()
    if not name or len(name) > 80:
        raise ApiKeyError("a key's name must be 1 to 80 characters")
    if scope not in SCOPES:
        raise ApiKeyError(f"scope must be one of {', '.join(SCOPES)}")
    key = KEY_PREFIX + new_token()
    row = DrbApiKey(name=name, scope=scope, token_hash=token_hash(key), hint=key[:8])
    db.session.add(row)
    db.session.flush()
    audit.record("drb_key.create", "drb_api_key", row.id, None, audit.snapshot(row))
    return row, key


def list_keys() -> list[DrbApiKey]:
    return list(db.session.scalars(select(DrbApiKey).order_by(DrbApiKey.id)))


def revoke_key(key_id: int) -> DrbApiKey:
    """Refuse the key from now on; revoking a revoked key changes nothing."""
    row = db.session.get(DrbApiKey, key_id)
    if row is None:
        raise ApiKeyError(f"no API key with id {key_id}")
    if row.revoked_at is None:
        before = audit.snapshot(row)
        row.revoked_at = utcnow()
        db.session.flush()
        audit.record("drb_key.revoke", "drb_api_key", row.id, before, audit.snapshot(row))
    return row


def live_key(token: str, scope: str) -> DrbApiKey | None:
    """The live key behind a bearer token with `scope`; None when the token is no API key."""
    row = db.session.scalar(select(DrbApiKey).where(DrbApiKey.token_hash == token_hash(token)))
    if row is None:
        return None
    if row.revoked_at is not None:
        raise Unauthorized(_l("This API key has been revoked."), code="api_key_revoked")
    if row.scope != scope:
        raise Forbidden(_l("This API key may not read this."), code="insufficient_scope")
    return row


def authenticate_key(token: str, scope: str) -> DrbApiKey | None:
    """`live_key`, its use noted: the key of a request, before the request writes."""
    row = live_key(token, scope)
    now = utcnow()
    if row is not None and (
        row.last_used_at is None or row.last_used_at <= now - LAST_USED_RESOLUTION
    ):
        _touch(row, now)
    return row


def _touch(row: DrbApiKey, now) -> None:
    # On SQLite a read transaction that then writes fails at once ("database is locked")
    # if another request committed in between: the touch is a writer's transaction of
    # its own (conditional, so concurrent touches write once).
    with db.committed_now():
        db.session.execute(
            update(DrbApiKey)
            .where(
                DrbApiKey.id == row.id,
                or_(
                    DrbApiKey.last_used_at.is_(None),
                    DrbApiKey.last_used_at <= now - LAST_USED_RESOLUTION,
                ),
            )
            .values(last_used_at=now)
        )
