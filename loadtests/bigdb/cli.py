"""`flask --app loadtests.app bench ...`: bulk data for load tests, access tokens, timings.

`generate` fills a migrated, reference-loaded database; `raw-timings` times the raw
GROUP BY equivalents of the statistics endpoints and leaderboards, `endpoint-timings`
the endpoints themselves through the app's request machinery.
"""

from __future__ import annotations

import json
import random
import time
from contextlib import ExitStack
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import func, select, text
from sqlalchemy.engine import Engine

from admin.stats import keys
from backend.clock import utcnow
from backend.extensions import db
from backend.residents.models import Resident
from backend.residents.phone import phone_hmac
from loadtests.bigdb import organizations, raw, readmodels
from loadtests.bigdb.generate import (
    GenerationRefused,
    Plan,
    bench_phone,
    generate,
    sample_resident_ids,
)
from loadtests.bigdb.tokens import issue_tokens
from points.ledger.models import Account

bench_cli = AppGroup("bench", help="Benchmark data and timings.")


class _Bars:
    """One click progress bar per phase, closed when the next phase starts."""

    def __init__(self, stack: ExitStack) -> None:
        self.stack = stack
        self.current = None

    def __call__(self, label: str, length: int):
        if self.current is not None:
            self.current.render_finish()
        bar = self.stack.enter_context(
            click.progressbar(length=length, label=f"{label:<12}", show_pos=True, width=30)
        )
        self.current = bar
        return bar.update


def _refuse_in_production() -> None:
    if current_app.config["APP_ENV"] == "production":
        raise click.ClickException("bench commands write or read test data: not in production")


@bench_cli.command("generate")
@click.option("--residents", type=click.IntRange(min=1), required=True)
@click.option("--actions", type=click.IntRange(min=0), required=True)
@click.option("--days", type=click.IntRange(min=1, max=366), default=30, show_default=True)
@click.option("--seed", type=int, default=1, show_default=True)
@click.option("--tokens-out", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--tokens", "token_count", type=click.IntRange(min=0), default=100, show_default=True)
def generate_command(residents, actions, days, seed, tokens_out, token_count) -> None:
    """Fill the database with RESIDENTS residents and ACTIONS approved actions."""
    _refuse_in_production()
    started = time.monotonic()
    with ExitStack() as stack:
        try:
            summary = generate(
                Plan(residents=residents, actions=actions, days=days, seed=seed), _Bars(stack)
            )
        except GenerationRefused as exc:
            raise click.ClickException(str(exc)) from exc
    click.echo("committing ...")
    db.session.commit()
    generated = time.monotonic() - started
    if db.dialect == "postgresql" and isinstance(db.session.get_bind(), Engine):
        # Planner statistics and the visibility map (index-only scans) for the new rows;
        # not when the session joins an outer transaction (tests): nothing is committed yet.
        tables = ", ".join(readmodels.WRITTEN_TABLES + organizations.WRITTEN_TABLES)
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text(f"VACUUM ANALYZE {tables}"))
    if tokens_out is not None and token_count:
        chosen = sample_resident_ids(summary.first_resident_id, residents, token_count, seed)
        issued = issue_tokens(chosen, tokens_out)
        db.session.commit()
        click.echo(f"access tokens of {issued} residents written to {tokens_out}")
    click.echo(
        json.dumps(
            {
                "residents": summary.residents,
                "actions": summary.actions,
                "ledger_entries": summary.ledger_entries,
                "campaign_actions": summary.campaign_actions,
                "enrolments": summary.enrolments,
                "badges": summary.badges,
                "first_resident_id": summary.first_resident_id,
                "read_model_rows": summary.read_models,
                "seconds_by_phase": summary.seconds,
                "seconds_to_commit": round(generated, 1),
                "seconds_total": round(time.monotonic() - started, 1),
            },
            indent=1,
        )
    )


@bench_cli.command("tokens")
@click.option("--count", type=click.IntRange(min=1), default=100, show_default=True)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option("--ttl-hours", type=click.IntRange(min=1), help="default: ACCESS_TOKEN_TTL_SECONDS")
@click.option("--seed", type=int, default=1, show_default=True)
def tokens_command(count, out, ttl_hours, seed) -> None:
    """Fresh access tokens for COUNT generated residents (phones 199...), to a JSON file."""
    _refuse_in_production()
    low, high = db.session.execute(select(func.min(Resident.id), func.max(Resident.id))).one()
    if low is None:
        raise click.ClickException(
            "no residents: run `flask --app loadtests.app bench generate` first"
        )
    rng = random.Random(seed)
    candidates = rng.sample(range(low, high + 1), min(high - low + 1, count * 3))
    chosen = []
    for start in range(0, len(candidates), 1000):
        batch = candidates[start : start + 1000]
        digests = dict(
            db.session.execute(
                select(Resident.id, Resident.phone_hmac).where(
                    Resident.id.in_(batch), Resident.status == "active"
                )
            ).all()
        )
        chosen += [i for i in batch if digests.get(i) == phone_hmac(bench_phone(i))]
        if len(chosen) >= count:
            break
    if not chosen:
        raise click.ClickException("no generated residents found")
    issued = issue_tokens(sorted(chosen[:count]), out, ttl_hours and ttl_hours * 3600)
    db.session.commit()
    click.echo(f"access tokens of {issued} residents written to {out}")


def _caller(resident_id: int | None) -> int:
    if resident_id is not None:
        return resident_id
    caller = db.session.scalar(
        select(func.min(Account.resident_id)).where(Account.co2e_g_total > 0)
    )
    if caller is None:
        raise click.ClickException(
            "no resident with CO2e yet: run `flask --app loadtests.app bench generate` first"
        )
    return caller


@bench_cli.command("raw-timings")
@click.option("--runs", type=click.IntRange(min=1), default=5, show_default=True)
@click.option("--resident-id", type=int, help="the leaderboards' caller (default: the first)")
@click.option("--only", multiple=True, help="query names to time (default: all)")
@click.option("--json", "as_json", is_flag=True, help="print JSON only")
def raw_timings(runs, resident_id, only, as_json) -> None:
    """Median and p95 ms of each endpoint's figures computed from the raw actions table."""
    caller = _caller(resident_id)
    with db.read_only():
        timings = raw.time_raw(caller, runs, set(only) or None)
    _print_timings(timings, as_json, "raw")


@bench_cli.command("endpoint-timings")
@click.option("--runs", type=click.IntRange(min=1), default=20, show_default=True)
@click.option("--resident-id", type=int, help="the leaderboards' caller (default: the first)")
@click.option("--raw", "raw_path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="print JSON only")
def endpoint_timings(runs, resident_id, raw_path, as_json) -> None:
    """Median and p95 ms of each endpoint in process (test client: no network, no server).

    With --raw (the JSON of raw-timings), each line also shows how many times faster.
    """
    _refuse_in_production()
    caller = _caller(resident_id)
    key_row, key = keys.create_key("flask bench endpoint-timings")
    sessions = Path(current_app.instance_path) / "bench-endpoint-timings-token.json"
    issue_tokens([caller], sessions)
    token = json.loads(sessions.read_text())["residents"][0]["access_token"]
    sessions.unlink()
    db.session.commit()
    headers = {
        "drb": {"Authorization": f"Bearer {key}"},
        "resident": {"Authorization": f"Bearer {token}"},
    }
    client = current_app.test_client()
    timings = {}
    try:
        for name, (path, _query) in raw.queries(caller).items():
            who = "resident" if name.startswith("leaderboard") else "drb"
            samples = []
            for _ in range(runs + 1):
                started = time.perf_counter()
                response = client.get(path, headers=headers[who])
                samples.append(time.perf_counter() - started)
                if response.status_code != 200:
                    raise click.ClickException(f"{path}: {response.status_code} {response.data!r}")
            # The first request warms caches; it is not counted.
            timings[name] = {"path": path, **raw.milliseconds(samples[1:])}
    finally:
        keys.revoke_key(key_row.id)
        db.session.commit()
    if raw_path is not None:
        baseline = json.loads(raw_path.read_text())
        baseline = baseline.get("timings", baseline)
        for name, figures in timings.items():
            if name in baseline:
                figures["raw_median_ms"] = baseline[name]["median_ms"]
                figures["times_faster"] = round(
                    baseline[name]["median_ms"] / max(figures["median_ms"], 0.01), 1
                )
    _print_timings(timings, as_json, "endpoint")


def _print_timings(timings: dict, as_json: bool, kind: str) -> None:
    document = {
        "kind": kind,
        "database": db.dialect,
        "measured_at": utcnow().isoformat(timespec="seconds"),
        "timings": timings,
    }
    if not as_json:
        for name, figures in timings.items():
            extra = (
                f"  raw {figures['raw_median_ms']} ms: {figures['times_faster']}x"
                if "times_faster" in figures
                else ""
            )
            click.echo(
                f"{name:<32} median {figures['median_ms']:>9} ms  p95 {figures['p95_ms']:>9} ms"
                + extra,
                err=True,
            )
    click.echo(json.dumps(document, indent=1))


@bench_cli.command("impact")
@click.option("--participants", type=click.IntRange(min=1), default=100_000, show_default=True)
@click.option("--first-day", type=click.DateTime(["%Y-%m-%d"]), help="default: generated + 28")
@click.option("--last-day", type=click.DateTime(["%Y-%m-%d"]), help="default: last whole day")
@click.option("--profile", type=click.Path(dir_okay=False), help="cProfile dump of compute")
def impact_command(participants, first_day, last_day, profile) -> None:
    """Enrol PARTICIPANTS residents in a campaign and time its impact computation."""
    from loadtests import impact_bench

    _refuse_in_production()
    plan = impact_bench.Plan(
        participants=participants,
        first_day=first_day and first_day.date(),
        last_day=last_day and last_day.date(),
        profile=profile,
    )
    try:
        result = impact_bench.run(plan)
    except impact_bench.BenchRefused as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(json.dumps(result, indent=1, ensure_ascii=False))
