"""`flask photos ...`: the one-off backfill of fingerprints for photos stored before them."""

import click
from flask.cli import AppGroup

from backend.extensions import db
from points.photos import service

photos_cli = AppGroup("photos", help="Evidence photos.")


@photos_cli.command("fingerprint")
def fingerprint() -> None:
    """Fingerprint stored photos that have none yet (safe to run again)."""
    done = service.fingerprint_stored_photos()
    db.session.commit()
    click.echo(f"photos fingerprinted: {done}")
