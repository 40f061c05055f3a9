"""`flask refdata load`: reference data from the packaged data files into the database.

Packages register their loaders in the composition root, so the shell never imports them.
"""

from __future__ import annotations

from collections.abc import Callable

import click
from flask import current_app
from flask.cli import AppGroup

from backend.extensions import db

refdata_cli = AppGroup("refdata", help="Reference data (districts, methodology).")

ReferenceLoader = Callable[[], str]


def register_reference_loader(app, loader: ReferenceLoader) -> None:
    """A loader upserts its data and returns a line saying what it loaded."""
    app.extensions.setdefault("reference_loaders", []).append(loader)


def load_reference_data() -> list[str]:
    return [loader() for loader in current_app.extensions.get("reference_loaders", [])]


@refdata_cli.command("load")
def load() -> None:
    """Load (or update) every reference data set; safe to run again."""
    for line in load_reference_data():
        click.echo(line)
    db.session.commit()
