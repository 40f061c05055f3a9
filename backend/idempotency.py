"""Idempotency-Key for POSTs that create or pay: a retry never acts twice.

Same key + same body: the stored response again. Same key + another body: 422. The
same key while the first request is still running: 409. No key: 400.

The key is claimed in a transaction of its own before the work starts, so a concurrent
retry sees it; a request that fails releases its key, since it wrote nothing.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import datetime, timedelta
from functools import wraps

from flask import Response, g, jsonify, request
from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, String, UniqueConstraint, delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from backend.clock import utcnow
from backend.db import Base
from backend.errors import BadRequest, Conflict, ValidationFailed
from backend.extensions import db

HEADER = "Idempotency-Key"
_KEY_PATTERN = re.compile(r"^[\x21-\x7e]{1,128}$")
# A claim older than this belongs to a request that died; a retry may take it over.
ABANDONED_AFTER = timedelta(seconds=60)


class IdempotencyRecord(Base):
    __tablename__ = "idempotency_record"
    __table_args__ = (UniqueConstraint("scope", "principal", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    scope: Mapped[str] = mapped_column(String(32))
    principal: Mapped[str] = mapped_column(String(64))
    key: Mapped[str] = mapped_column(String(128))
    request_hash: Mapped[str] = mapped_column(String(64))
    response_status: Mapped[int | None]
    response_body: Mapped[dict | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    completed_at: Mapped[datetime | None]


def _request_hash() -> str:
    body = request.get_json(silent=True)
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(f"{request.path}\n{canonical}".encode()).hexdigest()


def _find(scope: str, principal: str, key: str) -> IdempotencyRecord | None:
    return db.session.scalar(
        select(IdempotencyRecord).where(
            IdempotencyRecord.scope == scope,
            IdempotencyRecord.principal == principal,
            IdempotencyRecord.key == key,
        )
    )


def _claim(scope: str, principal: str, key: str, request_hash: str) -> IdempotencyRecord | None:
    """Claim the key (committed at once); returns the earlier record if it was taken."""
    session = db.session
    try:
        with session.begin_nested():
            session.add(
                IdempotencyRecord(
                    scope=scope, principal=principal, key=key, request_hash=request_hash
                )
            )
        session.commit()
        return None
    except IntegrityError:
        session.rollback()
    earlier = _find(scope, principal, key)
    if earlier is None:  # the holder failed and released it between our insert and read
        return _claim(scope, principal, key, request_hash)
    return earlier


def _release(record_id: int) -> None:
    db.session.rollback()
    db.session.execute(delete(IdempotencyRecord).where(IdempotencyRecord.id == record_id))
    db.session.commit()


def idempotent(scope: str):
    """Decorate a view (outside its flask-smorest response decorator) that needs a key.

    The principal is whoever the guard put in `g.resident_session`.
    """

    def decorator(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            key = request.headers.get(HEADER)
            if key is None:
                raise BadRequest(
                    _l("Send an Idempotency-Key header with this request."),
                    code="idempotency_key_missing",
                )
            if not _KEY_PATTERN.match(key):
                raise BadRequest(
                    _l("The Idempotency-Key must be 1 to 128 visible ASCII characters."),
                    code="idempotency_key_invalid",
                )
            principal = f"resident:{g.resident_session.resident_id}"
            request_hash = _request_hash()
            earlier = _claim(scope, principal, key, request_hash)
            if earlier is not None:
                if earlier.request_hash != request_hash:
                    raise ValidationFailed(
                        _l("This Idempotency-Key was used with a different request."),
                        code="idempotency_key_reused",
                    )
                if earlier.response_status is None:
                    if utcnow() - earlier.created_at < ABANDONED_AFTER:
                        raise Conflict(
                            _l("A request with this Idempotency-Key is still being processed."),
                            code="idempotency_key_in_flight",
                        )
                    _release(earlier.id)
                    return wrapper(*args, **kwargs)
                replay = jsonify(earlier.response_body)
                replay.status_code = earlier.response_status
                replay.headers["Idempotent-Replayed"] = "true"
                return replay

            record = _find(scope, principal, key)
            succeeded = False
            try:
                response: Response = view(*args, **kwargs)
                succeeded = response.status_code < 400
            finally:
                if not succeeded:
                    _release(record.id)
            record.response_status = response.status_code
            record.response_body = response.get_json()
            record.completed_at = utcnow()
            db.session.flush()
            return response

        return wrapper

    return decorator
