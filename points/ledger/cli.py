"""`flask points expire` (the expiry job, off unless POINTS_EXPIRY_DAYS is set; the worker
runs it daily) and `flask points apply-outbox`."""

from datetime import timedelta

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select

from backend.clock import local_day, utcnow
from backend.extensions import db
from backend.worker import drain_until_empty
from points.ledger import service
from points.ledger.models import Account

points_cli = AppGroup("points", help="Points ledger jobs.")


def expire_points() -> str:
    """Write `expire` entries for points older than the window, oldest first; repeatable."""
    days = current_app.config["POINTS_EXPIRY_DAYS"]
    if days <= 0:
        return "points expiry is off (POINTS_EXPIRY_DAYS=0)"
    now = utcnow()
    cutoff, run_day = now - timedelta(days=days), local_day(now)
    with db.write_intent():
        residents = list(db.session.scalars(select(Account.resident_id).where(Account.balance > 0)))
        db.session.commit()
    expired = entries = 0
    for resident_id in residents:
        with db.write_intent():
            entry = service.expire_points(resident_id, cutoff, run_day)
            db.session.commit()  # one resident at a time: short locks, progress kept
        if entry is not None:
            entries += 1
            expired -= entry.delta
    return f"expired {expired} points in {entries} entries (credits before {cutoff:%Y-%m-%d})"


@points_cli.command("expire")
def expire() -> None:
    """Write `expire` entries for points older than the window, oldest first; repeatable."""
    click.echo(expire_points())


@points_cli.command("apply-outbox")
def apply_outbox() -> None:
    """Apply every approval left in the outbox now (what the worker does continuously)."""
    applied = drain_until_empty(current_app.config["WORKER_BATCH_SIZE"])
    click.echo(f"applied {applied} approvals")
