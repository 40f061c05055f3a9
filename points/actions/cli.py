"""The worker's daily erasure of trips' GPS points past TRACE_RETENTION_DAYS."""

from __future__ import annotations

from backend.extensions import db
from points.actions import service


def erase_expired_traces() -> str:
    """Erase the GPS points whose keeping time is over; their derived figures stay."""
    with db.write_intent():
        erased = service.erase_expired_traces()
        db.session.commit()
    return f"erased the GPS points of {erased} trips"
