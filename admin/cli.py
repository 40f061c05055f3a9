"""`flask demo seed`: demo data and the credentials file a newcomer needs."""

from __future__ import annotations

import json
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from admin import demo
from backend.extensions import db

demo_cli = AppGroup("demo", help="Demo data (development only).")


@demo_cli.command("seed")
def seed() -> None:
    """Seed demo data and write instance/demo-credentials.json; safe to run again."""
    if current_app.config["APP_ENV"] == "production":
        raise click.ClickException("refusing to seed demo data in production")
    credentials = demo.seed()
    db.session.commit()
    demo.seed_impact()
    path = Path(current_app.instance_path) / "demo-credentials.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(credentials, ensure_ascii=False, indent=2) + "\n")
    path.chmod(0o600)
    click.echo(f"demo data seeded; credentials in {path}")
    for user in credentials["staff"]:
        click.echo(f"  staff {user['role']:<15} {user['username']:<16} {user['password']}")
    click.echo(f"  residents: {', '.join(r['phone'] for r in credentials['residents'])}")
    click.echo(f"  partner key: {credentials['partner']['key']} (secret in the file)")
    click.echo(f"  check-in tokens: {len(credentials['checkin_tokens'])} (in the file)")
    click.echo(
        "  check in: POST /api/v1/checkins {token, location: {lat, lon, accuracy_m}}, "
        "near the point (checkin_points in the file)"
    )
    click.echo("  DRB API key: in the file")
