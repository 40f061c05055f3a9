"""`flask points expire` (the expiry job, off unless POINTS_EXPIRY_DAYS is set) and
`flask points apply-deferred`."""

from datetime import timedelta

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select

from backend.clock import local_day, utcnow
from backend.extensions import db
from points.actions import deferred
from points.ledger import service
from points.ledger.models import Account

points_cli = AppGroup("points", help="Points ledger jobs.")


@points_cli.command("expire")
def expire() -> None:
    """Write `expire` entries for points older than the window, oldest first; repeatable."""
    days = current_app.config["POINTS_EXPIRY_DAYS"]
    if days <= 0:
        click.echo("points expiry is off (POINTS_EXPIRY_DAYS=0)")
        return
    now = utcnow()
    cutoff, run_day = now - timedelta(days=days), local_day(now)
    residents = list(db.session.scalars(select(Account.resident_id).where(Account.balance > 0)))
    expired = entries = 0
    for resident_id in residents:
        entry = service.expire_points(resident_id, cutoff, run_day)
        db.session.commit()  # one resident at a time: short locks, progress kept
        if entry is not None:
            entries += 1
            expired -= entry.delta
    click.echo(f"expired {expired} points in {entries} entries (credits before {cutoff:%Y-%m-%d})")


@points_cli.command("apply-deferred")
def apply_deferred() -> None:
    """Apply the listeners of approvals a partner batch left for after its response.

    Batches apply them themselves; this is for rows a killed worker left behind.
    """
    click.echo(f"applied {deferred.apply_deferred()} deferred approvals")
