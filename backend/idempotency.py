"""Idempotency-Key for POSTs that create or pay: a retry never acts twice.

The records and their claim are shared: the console's one-time form tokens
(admin/console/submissions.py) are keys of their own scope in the same table.

Same key + same body: the stored response again. Same key + another body: 422. The
same key while the first request is still running: 409. No key: 400.

The key is claimed in a transaction of its own (`db.committed_now`) before the work
starts, so a concurrent retry sees it. The stored response is written with the work, in
the request's transaction; a request whose work is not committed (refused, failed, or its
commit failed) releases its key once the boundary has rolled back. A claim left by a
request that died (a killed worker) is taken over by a retry once it is older than
IDEMPOTENCY_CLAIM_TIMEOUT_SECONDS.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import wraps

from flask import Flask, Response, current_app, g, jsonify, request
from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, String, UniqueConstraint, delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from backend.clock import utcnow
from backend.db import Base
from backend.errors import BadRequest, Conflict, ValidationFailed
from backend.extensions import db
from backend.worker import register_periodic

HEADER = "Idempotency-Key"
_KEY_PATTERN = re.compile(r"^[\x21-\x7e]{1,128}$")


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


def claim_key(scope: str, principal: str, key: str, request_hash: str):
    """Claim the key (committed at once).

    Returns (our claim, None), or (None, the earlier record) if the key was taken.
    """
    claim = IdempotencyRecord(scope=scope, principal=principal, key=key, request_hash=request_hash)
    try:
        # Not waited on to disk: a claim lost in a crash lost its request too, and the
        # request's own commit makes it durable (its stored response updates this row).
        with db.committed_now(durable=False):
            db.session.add(claim)
        return claim, None
    except IntegrityError:
        pass
    # Read in a short transaction of its own: a caller waiting for the earlier request's
    # answer holds no transaction (on SQLite, no write gate that request needs) meanwhile.
    with db.committed_now(durable=False):
        earlier = _find(scope, principal, key)
    if earlier is None:  # the holder failed and released it between our insert and read
        return claim_key(scope, principal, key, request_hash)
    return None, earlier


def _this_claim(claim: IdempotencyRecord):
    # A claim is known by its id and the moment it was made: SQLite may give a deleted
    # claim's id to the next one, and a claim taken over must not be mistaken for ours.
    return (
        IdempotencyRecord.id == claim.id,
        IdempotencyRecord.created_at == claim.created_at,
        IdempotencyRecord.response_status.is_(None),
    )


def _release(claim: IdempotencyRecord) -> None:
    """Delete the claim, unless it has been completed (or replaced) meanwhile."""
    with db.committed_now():
        db.session.execute(delete(IdempotencyRecord).where(*_this_claim(claim)))


def release(claim: IdempotencyRecord) -> None:
    """Free a key whose request died (see `abandoned`) for the request taking it over."""
    _release(claim)


def hold(claim: IdempotencyRecord) -> None:
    """This request works under `claim`: released after the boundary unless answered."""
    g.idempotency_claim = claim


def answer(claim: IdempotencyRecord, status: int, body: dict | None) -> None:
    """Store the answer with the work (the boundary commits both), if the claim is still
    ours; Conflict (and the work rolled back) if a retry took it over meanwhile."""
    _complete(claim, status, body)
    g.idempotency_answered = True


def _complete(claim: IdempotencyRecord, status: int, body: dict | None) -> None:
    statement = (
        update(IdempotencyRecord)
        .where(*_this_claim(claim))
        .values(response_status=status, response_body=body, completed_at=utcnow())
    )
    completed = db.session.connection().execute(statement).rowcount
    if completed != 1:
        # A retry took the claim over (this request outlived the claim timeout): its
        # answer stands, and this request's work is rolled back.
        raise _in_flight()


def abandoned(earlier: IdempotencyRecord) -> bool:
    """Whether an unanswered claim is older than any live request: its worker died."""
    timeout = timedelta(seconds=current_app.config["IDEMPOTENCY_CLAIM_TIMEOUT_SECONDS"])
    return utcnow() - earlier.created_at >= timeout


def _in_flight() -> Conflict:
    return Conflict(
        _l("A request with this Idempotency-Key is still being processed."),
        code="idempotency_key_in_flight",
    )


def forget_answered() -> str:
    """Delete answered records older than IDEMPOTENCY_RETENTION_HOURS: a client retries
    within minutes, and a key kept longer only grows the table. The worker runs it hourly."""
    hours = current_app.config["IDEMPOTENCY_RETENTION_HOURS"]
    with db.write_intent():
        deleted = db.session.execute(
            delete(IdempotencyRecord).where(
                IdempotencyRecord.completed_at < utcnow() - timedelta(hours=hours)
            )
        ).rowcount
        db.session.commit()
    return f"{deleted} answered Idempotency-Key records deleted"


def init_app(app: Flask) -> None:
    register_periodic(app, "idempotency_cleanup", "hourly", forget_answered)

    @app.teardown_request
    def _release_uncommitted_claim(exc: BaseException | None) -> None:
        # After the boundary: a request refused or failed (rolled back), or whose commit
        # failed, has none of its work kept, and the key must be free for the retry.
        claim = g.pop("idempotency_claim", None)
        answered = g.pop("idempotency_answered", False)
        if claim is not None and (exc is not None or not answered):
            _release(claim)


def idempotent(scope: str, principal_of: Callable[[dict], str] | None = None):
    """Decorate a view (outside its flask-smorest response decorator) that needs a key.

    The principal is whoever the guard put in `g.resident_session`, or what
    `principal_of(view keyword arguments)` names (a guardian acting for one child).
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
            if principal_of is not None:
                principal = principal_of(kwargs)
            request_hash = _request_hash()
            claim, earlier = claim_key(scope, principal, key, request_hash)
            if earlier is not None:
                if earlier.request_hash != request_hash:
                    raise ValidationFailed(
                        _l("This Idempotency-Key was used with a different request."),
                        code="idempotency_key_reused",
                    )
                if earlier.response_status is None:
                    if not abandoned(earlier):
                        raise _in_flight()
                    _release(earlier)  # abandoned: take it over (unless it completed now)
                    return wrapper(*args, **kwargs)
                replay = jsonify(earlier.response_body)
                replay.status_code = earlier.response_status
                replay.headers["Idempotent-Replayed"] = "true"
                return replay

            hold(claim)
            response: Response = view(*args, **kwargs)
            if response.status_code < 400:
                answer(claim, response.status_code, response.get_json())
            return response

        return wrapper

    return decorator
