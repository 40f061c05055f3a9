"""`flask partner ...`: partner clients and their secrets (the console comes later)."""

import click
from flask.cli import AppGroup

from backend.extensions import db
from points.partner import clients, service

partner_cli = AppGroup("partner", help="Partner clients that push signed event batches.")


@partner_cli.command("create")
@click.argument("name")
@click.option(
    "--allow",
    "allowed",
    multiple=True,
    required=True,
    help="An action type, or type:variant (e.g. trip:bus, ev_charging). Repeatable.",
)
def create(name: str, allowed: tuple[str, ...]) -> None:
    """Create a partner; its secret is shown once."""
    try:
        partner, secret = clients.create_partner(name, list(allowed))
    except service.PartnerError as exc:
        raise click.ClickException(str(exc)) from exc
    db.session.commit()
    click.echo(f"partner {name}: allowed {', '.join(partner.allowed)}")
    click.echo(f"key:    {partner.key}")
    click.echo(f"secret: {secret}   (shown once; store it now)")


@partner_cli.command("list")
def list_partners() -> None:
    """Active partners."""
    for partner in service.active_partners():
        click.echo(f"{partner.key}  {partner.name}  {', '.join(partner.allowed)}")


@partner_cli.command("revoke")
@click.argument("key")
def revoke(key: str) -> None:
    """Revoke a partner: its signed requests are refused from now on."""
    try:
        clients.revoke_partner(key)
    except service.PartnerError as exc:
        raise click.ClickException(str(exc)) from exc
    db.session.commit()
    click.echo(f"revoked {key}")
