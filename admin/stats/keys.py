"""DRB API keys: created and revoked with `flask drb-key` (the console later), stored hashed.

A key is shown once. Its last use is written at most once a minute, so reading
statistics does not turn every request into a row change (on SQLite the conditional
UPDATE still takes the write lock for the request, even when it changes nothing: DRB
reads are rare, and PostgreSQL, where it takes no lock, is the production database).
"""

from __future__ import annotations

from datetime import timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import or_, select, update

from admin.stats.models import DrbApiKey
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
    return row, key


def list_keys() -> list[DrbApiKey]:
    return list(db.session.scalars(select(DrbApiKey).order_by(DrbApiKey.id)))


def revoke_key(key_id: int) -> DrbApiKey:
    """Refuse the key from now on; revoking a revoked key changes nothing."""
    row = db.session.get(DrbApiKey, key_id)
    if row is None:
        raise ApiKeyError(f"no API key with id {key_id}")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        db.session.flush()
    return row


def authenticate_key(token: str, scope: str) -> DrbApiKey | None:
    """The live key behind a bearer token with `scope`; None when the token is no API key."""
    digest = token_hash(token)
    now = utcnow()
    # The touch is the request's first statement. On SQLite a read transaction that then
    # writes fails at once ("database is locked") if another request committed in between;
    # a transaction whose first statement writes waits for the lock instead.
    db.session.execute(
        update(DrbApiKey)
        .where(
            DrbApiKey.token_hash == digest,
            DrbApiKey.revoked_at.is_(None),
            or_(
                DrbApiKey.last_used_at.is_(None),
                DrbApiKey.last_used_at <= now - LAST_USED_RESOLUTION,
            ),
        )
        .values(last_used_at=now)
    )
    row = db.session.scalar(select(DrbApiKey).where(DrbApiKey.token_hash == digest))
    if row is None:
        return None
    if row.revoked_at is not None:
        raise Unauthorized(_l("This API key has been revoked."), code="api_key_revoked")
    if row.scope != scope:
        raise Forbidden(_l("This API key may not read this."), code="insufficient_scope")
    return row
