"""`flask stats rebuild|check` (rollups against raw) and `flask drb-key ...` (API keys)."""

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy.engine import Engine

from admin.impact import service as impact
from admin.stats import keys, rebuild
from admin.stats import organizations as organization_figures
from admin.stats.measure import hidden_share
from backend.extensions import db
from campaigns.models import Campaign

stats_cli = AppGroup("stats", help="DRB statistics rollups.")
drb_key_cli = AppGroup("drb-key", help="API keys of the DRB (scope stats).")


@stats_cli.command("rebuild")
def rebuild_rollups() -> None:
    """Recompute every rollup and organisation figure from the approved actions,
    campaign_action rows and memberships."""
    written = rebuild.rebuild() | organization_figures.rebuild()
    db.session.commit()
    click.echo("rollups rebuilt: " + ", ".join(f"{n} {table} rows" for table, n in written.items()))


@stats_cli.command("check")
@click.pass_context
def check_rollups(ctx: click.Context) -> None:
    """Compare rollups and organisation figures with raw to the gram; exit 1 and list the
    differences if any."""
    if db.dialect == "postgresql" and isinstance(db.session.get_bind(), Engine):
        # One snapshot for every query: an approval committed meanwhile is no difference.
        db.session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
    with db.read_only():
        differences = rebuild.check() + organization_figures.check()
    db.session.rollback()
    if differences:
        for line in differences:
            click.echo(line, err=True)
        click.echo(f"{len(differences)} differences: run `flask stats rebuild`", err=True)
        ctx.exit(1)
    click.echo("rollups match the raw actions")


@stats_cli.command("impact")
@click.option("--campaign", "campaign_id", type=int, help="Only this campaign (due or not).")
def compute_impact(campaign_id: int | None) -> None:
    """Compute campaign impact now: every due campaign (running, or ended and not yet
    computed after its end), or one campaign."""
    if campaign_id is None:
        campaigns = impact.due()
    else:
        campaign = db.session.get(Campaign, campaign_id)
        if campaign is None:
            raise click.ClickException(f"no campaign {campaign_id}")
        campaigns = [campaign]
    for campaign in campaigns:
        row = impact.compute(campaign)
        if row is None:
            click.echo(f"campaign {campaign.id}: no whole day of data yet")
            continue
        seconds = row.inputs["seconds"]
        said = row.status if row.reason is None else f"{row.status} ({row.reason})"
        click.echo(
            f"campaign {campaign.id} through {row.through}: {said}, {row.participants} "
            f"participants, {row.inputs['residents_read']} residents and "
            f"{row.inputs['activity_rows_read']} resident-days read in {seconds['read']} s, "
            f"estimated in {seconds['estimate']} s"
        )


@drb_key_cli.command("create")
@click.argument("name")
def create_key(name: str) -> None:
    """Create a key with the `stats` scope; the key is shown once."""
    try:
        row, key = keys.create_key(name)
    except keys.ApiKeyError as exc:
        raise click.ClickException(str(exc)) from exc
    db.session.commit()
    click.echo(f"API key {row.id} ({row.name}, scope {row.scope}):")
    click.echo(f"{key}   (shown once; store it now)")


@drb_key_cli.command("list")
def list_keys() -> None:
    """Every key: id, name, scope, first characters, created, last used, revoked."""
    for row in keys.list_keys():
        used = row.last_used_at.isoformat(timespec="minutes") if row.last_used_at else "never"
        state = f"revoked {row.revoked_at:%Y-%m-%d}" if row.revoked_at else "active"
        click.echo(
            f"{row.id}  {row.name}  {row.scope}  {row.hint}...  "
            f"created {row.created_at:%Y-%m-%d}  last used {used}  {state}"
        )


@drb_key_cli.command("revoke")
@click.argument("key_id", type=int)
def revoke_key(key_id: int) -> None:
    """Refuse the key from now on."""
    try:
        row = keys.revoke_key(key_id)
    except keys.ApiKeyError as exc:
        raise click.ClickException(str(exc)) from exc
    db.session.commit()
    click.echo(f"revoked API key {row.id} ({row.name})")


@stats_cli.command("hidden-share")
@click.option("--from", "first", default=None, help="first month (YYYY-MM); default: the data's")
@click.option("--to", "last", default=None, help="last month (YYYY-MM); default: the data's")
def hidden_share_command(first: str | None, last: str | None) -> None:
    """How much verified CO2e suppression hides in typical queries (each month and each
    ISO week, by action type and by district): the share of the grams the cells would
    show without suppression that the published cells do not show."""
    with current_app.test_request_context():
        rows = hidden_share(first, last)
    click.echo(
        f"{'query':<28} {'cells':>6} {'null':>6} {'raw kg':>12} {'hidden kg':>11} {'hidden':>7}"
    )
    for row in rows:
        click.echo(
            f"{row['query']:<28} {row['cells']:>6} {row['null']:>6} "
            f"{row['raw_g'] / 1000:>12,.1f} {row['hidden_g'] / 1000:>11,.1f} "
            f"{row['share']:>7.2%}"
        )
