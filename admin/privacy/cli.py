"""`flask privacy retention` and `flask privacy tombstones`: the jobs that erase data past
its keeping time (the worker runs both daily)."""

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


def expire_tombstones() -> str:
    """Delete deleted accounts' tombstones and kept limits past their keep_until."""
    with db.write_intent():
        forgotten = service.forget_tombstones()
        db.session.commit()
    return ", ".join(f"{name}: {count} deleted" for name, count in forgotten.items())


@privacy_cli.command("tombstones")
def tombstones() -> None:
    """Delete deleted accounts' tombstones and kept limits past their keep_until."""
    click.echo(expire_tombstones())


@privacy_cli.command("retention")
def retention() -> None:
    """Erase evidence photos and one-time code records older than their retention period."""
    click.echo(apply_retention())
