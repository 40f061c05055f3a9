"""`flask staff create`: the first superadmin comes from the command line."""

import click
from flask.cli import AppGroup

from backend.extensions import db
from backend.staff import service

staff_cli = AppGroup("staff", help="Staff users of the console.")


@staff_cli.command("create")
@click.argument("username")
@click.option("--role", type=click.Choice(service.ROLES), required=True)
@click.option("--password", help="At least 12 characters; generated and printed if omitted.")
def create(username: str, role: str, password: str | None) -> None:
    """Create a staff user."""
    shown = password is None
    password = password or service.generate_password()
    try:
        service.create_staff(username, role, password)
    except service.StaffError as exc:
        raise click.ClickException(str(exc)) from exc
    db.session.commit()
    click.echo(f"created {role} {username}")
    if shown:
        click.echo(f"password: {password}")
