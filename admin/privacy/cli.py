"""`flask privacy retention`: the job that erases data past its keeping time (run daily)."""

import click
from flask.cli import AppGroup

from admin.privacy import service
from backend.extensions import db

privacy_cli = AppGroup("privacy", help="Residents' data: retention.")


@privacy_cli.command("retention")
def retention() -> None:
    """Erase evidence photos and one-time code records older than their retention period."""
    erased = service.apply_retention()
    db.session.commit()
    click.echo(", ".join(f"{name}: {count} erased" for name, count in erased.items()))
