"""`flask staff create`: the first superadmin comes from the command line;
`flask staff reset-totp`: a staff member who lost their authenticator enrols again."""

import click
from flask.cli import AppGroup

from backend.extensions import db
from backend.staff import service, totp

staff_cli = AppGroup("staff", help="Staff users of the console.")


@staff_cli.command("create")
@click.argument("username")
@click.option("--role", type=click.Choice(service.ROLES), required=True)
@click.option("--password", help="At least 12 characters; generated and printed if omitted.")
@click.option(
    "--totp",
    "with_totp",
    is_flag=True,
    help="Enrol a TOTP second factor now and print its secret and otpauth:// address "
    "(otherwise a superadmin enrols in the console at their first sign-in).",
)
def create(username: str, role: str, password: str | None, with_totp: bool) -> None:
    """Create a staff user."""
    shown = password is None
    password = password or service.generate_password()
    try:
        user = service.create_staff(username, role, password)
    except service.StaffError as exc:
        raise click.ClickException(str(exc)) from exc
    secret = totp.enrol_now(user) if with_totp else None
    db.session.commit()
    click.echo(f"created {role} {username}")
    if shown:
        click.echo(f"password: {password}")
    if secret is not None:
        click.echo(f"totp secret: {secret}")
        click.echo(f"totp uri: {totp.provisioning_uri(username, secret)}")


@staff_cli.command("reset-totp")
@click.argument("username")
def reset_totp(username: str) -> None:
    """Remove a staff user's TOTP second factor and end their sessions (audited)."""
    user = service.find_staff(username)
    if user is None:
        raise click.ClickException(f"no staff user {username!r}")
    service.reset_totp(user)
    db.session.commit()
    click.echo(f"second factor removed for {username}; they enrol again at their next sign-in")
