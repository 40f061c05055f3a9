"""`flask privacy retention`: the job that erases data past its keeping time (the worker
runs it daily)."""

import click
from flask.cli import AppGroup

from admin.privacy import service
from backend.extensions import db

privacy_cli = AppGroup("privacy", help="Residents' data: retention.")


def apply_retention() -> str:
    """Erase evidence photos and one-time code records older than their retention period."""
    with db.write_intent():
        erased = service.apply_retention()
        db.session.commit()
    return ", ".join(f"{name}: {count} erased" for name, count in erased.items())


@privacy_cli.command("retention")
def retention() -> None:
    """Erase evidence photos and one-time code records older than their retention period."""
    click.echo(apply_retention())
