"""Populations with a known campaign effect, to prove the impact estimate on data whose
answer is known: an effect planted on participants (or none), selection planted (greener
residents more likely to join), a season planted (everyone greener during the campaign).

`plant` makes one population as a `Panel` (what `admin.impact.panel` reads from the
database) together with the true answer; `write` puts it into the database as residents,
a campaign, enrolments and verified actions, for the end-to-end tests and the benchmark;
`coverage` runs many seeds and counts how often each interval holds the truth:

    .venv/bin/python -m loadtests.planted_impact --seeds 100
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict, dataclass, replace
from datetime import date, datetime, time, timedelta

import numpy as np

from admin.impact.estimate import NOT_PARTICIPANT, Panel, Settings, estimate

LOCAL_HOUR = 8  # planted actions happen at 08:00 local time


@dataclass(frozen=True)
class Plan:
    residents: int = 3000
    districts: int = 3
    baseline_days: int = 28
    campaign_days: int = 14
    first_day: date = date(2026, 6, 1)
    # Green trips per day each participant adds while taking part (the planted effect)
    effect: float = 0.0
    # Log-odds of joining per unit of log green propensity: > 0 plants selection
    selection: float = 0.0
    join_share: float = 0.2
    # Green trips per day everyone adds during the campaign (a season, not the campaign)
    season: float = 0.0
    grams_per_green_trip: int = 300
    # Shares of accounts opened inside the matching window, and inside the baseline
    young_share: float = 0.1
    newcomer_share: float = 0.05
    seed: int = 0


@dataclass(frozen=True)
class Planted:
    plan: Plan
    panel: Panel
    green_rate: np.ndarray  # each resident's green trips per day, before any effect
    other_rate: np.ndarray  # ... and other trips per day

    def truth(self, baseline_days: int) -> dict:
        """The planted change of each figure for the participants with a usable baseline
        (expected values: the Poisson noise is what the interval is for)."""
        panel, effect, season = self.panel, self.plan.effect, self.plan.season
        usable = (panel.enrolled >= 0) & (panel.created <= panel.enrolled - baseline_days)
        days = (panel.through - panel.enrolled[usable] + 1).astype(float)
        green, other = self.green_rate[usable] + season, self.other_rate[usable]

        def share(added: float) -> float:
            return (days * (green + added)).sum() / (days * (green + added + other)).sum()

        # What the campaign changed: the share during against the share the same days
        # would have had without it (with the season, which is no effect of the campaign)
        return {
            "green_trips_per_day": effect,
            "green_share": float(share(effect) - share(0.0)),
            "co2e_g_per_day": effect * self.plan.grams_per_green_trip,
        }


def plant(plan: Plan) -> Planted:
    rng = np.random.default_rng(plan.seed)
    n, span = plan.residents, plan.baseline_days
    first = 2 * span
    through = first + plan.campaign_days - 1
    days = through + 1
    green_rate = rng.gamma(2.0, 0.5, n)  # mean one green trip a day
    other_rate = rng.gamma(2.0, 0.25, n)
    district = rng.integers(0, plan.districts, n)
    log_rate = np.log(green_rate)
    logit = np.log(plan.join_share / (1 - plan.join_share))
    joins = rng.random(n) < 1 / (
        1 + np.exp(-(logit + plan.selection * (log_rate - log_rate.mean())))
    )
    # Most join on the first day; the rest over the first days
    offset = np.minimum(rng.geometric(0.6, n) - 1, plan.campaign_days - 1)
    enrolled = np.where(joins, first + offset, NOT_PARTICIPANT)
    created = np.full(n, -1)
    age = rng.random(n)
    young = age < plan.young_share
    newcomer = (age >= plan.young_share) & (age < plan.young_share + plan.newcomer_share)
    created[young] = rng.integers(0, span - 6, young.sum())
    created[newcomer] = rng.integers(first - span + 1, first + 1, newcomer.sum())
    day = np.arange(days)
    taking_part = joins[:, None] & (day[None, :] >= enrolled[:, None])
    green_mean = (
        green_rate[:, None] + plan.effect * taking_part + plan.season * (day[None, :] >= first)
    )
    green = rng.poisson(green_mean)
    other = rng.poisson(np.broadcast_to(other_rate[:, None], green.shape))
    exists = day[None, :] >= created[:, None]
    green, other = green * exists, other * exists
    resident, on_day = np.nonzero(green + other)
    g = green[resident, on_day].astype(float)
    panel = Panel(
        origin=plan.first_day - timedelta(days=first),
        first=first,
        through=through,
        district=district,
        created=created,
        enrolled=enrolled,
        row_resident=resident,
        row_day=on_day,
        row_trips=g + other[resident, on_day],
        row_green=g,
        row_co2e=g * plan.grams_per_green_trip,
    )
    return Planted(plan, panel, green_rate, other_rate)


def settings_for(plan: Plan, seed: int, resamples: int = 999, min_residents: int = 10) -> Settings:
    return Settings(
        baseline_days=plan.baseline_days,
        bands=(0.0, 0.1, 0.25, 0.5, 1.0, 1.5, 2.0, 3.0),
        min_residents=min_residents,
        resamples=resamples,
        seed=seed,
    )


def held(figures: dict, truth: dict) -> dict:
    """Per method and figure: whether its interval holds the planted change."""
    out = {}
    for method in ("baseline", "comparison"):
        for name, figure in figures["methods"][method]["metrics"].items():
            if figure.get("status") == "estimated":
                out[f"{method}.{name}"] = figure["low"] <= truth[name] <= figure["high"]
    return out


def coverage(plan: Plan, seeds: int) -> dict:
    """How many of `seeds` populations' intervals held the planted change, per figure."""
    counts: dict[str, int] = {}
    for seed in range(seeds):
        planted = plant(replace(plan, seed=seed))
        figures = estimate(planted.panel, settings_for(plan, seed)).as_dict()
        for key, ok in held(figures, planted.truth(plan.baseline_days)).items():
            counts[key] = counts.get(key, 0) + int(ok)
    return {"seeds": seeds, "held": counts}


def write(planted: Planted, campaign_id: int, district_codes: list[str], phone_prefix: str) -> None:
    """The population in the database: residents (opened on their first day), the
    campaign's enrolments and one verified trip action per planted trip (green trips
    walk, the others by car), approved, as partner data. The caller commits."""
    from sqlalchemy import insert

    from backend.clock import LOCAL_TZ
    from backend.extensions import db
    from backend.residents.models import Resident
    from campaigns.models import Enrolment
    from points.actions.models import Action
    from points.methodology.service import current_methodology, factor_for

    panel, plan = planted.panel, planted.plan
    methodology = current_methodology()
    walk, car = (factor_for(methodology, "trip", mode) for mode in ("walk", "car"))

    def moment(index: int) -> datetime:
        return datetime.combine(panel.day(index), time(LOCAL_HOUR), tzinfo=LOCAL_TZ)

    ids = []
    for index in range(len(panel.district)):
        resident = Resident(
            nickname=f"planted {index}",
            district_code=district_codes[int(panel.district[index]) % len(district_codes)],
            phone_hmac=f"{phone_prefix}-{index}",
            created_at=moment(int(panel.created[index])) - timedelta(hours=LOCAL_HOUR),
        )
        db.session.add(resident)
        ids.append(resident)
    db.session.flush()
    enrolments = [
        {
            "campaign_id": campaign_id,
            "resident_id": ids[index].id,
            "enrolled_at": moment(int(panel.enrolled[index])),
        }
        for index in np.flatnonzero(panel.enrolled >= 0)
    ]
    if enrolments:
        db.session.execute(insert(Enrolment), enrolments)
    grams = plan.grams_per_green_trip
    actions = []
    for row in range(len(panel.row_day)):
        resident = ids[int(panel.row_resident[row])]
        day = int(panel.row_day[row])
        green = int(panel.row_green[row])
        for count in range(int(panel.row_trips[row])):
            factor = walk if count < green else car
            actions.append(
                {
                    "resident_id": resident.id,
                    "type": "trip",
                    "variant": factor.variant,
                    "quantity_milli": 1000,
                    "unit": factor.unit,
                    "distance_m": 1000,
                    "occurred_at": moment(day),
                    "local_day": panel.day(day),
                    "co2e_g": grams if count < green else 0,
                    "points": 0,
                    "status": "approved",
                    "flags": [],
                    "factor_id": factor.id,
                    "factor_version": methodology.version,
                    "source": "partner",
                    "verification": "partner",
                    "details": {},
                    "district_code": resident.district_code,
                }
            )
    for start in range(0, len(actions), 5000):
        db.session.execute(insert(Action), actions[start : start + 5000])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=100)
    parser.add_argument("--residents", type=int, default=3000)
    parser.add_argument("--effect", type=float, default=0.4)
    parser.add_argument("--selection", type=float, default=1.5)
    args = parser.parse_args()
    base = Plan(residents=args.residents, selection=args.selection)
    report = {
        "plan": {k: str(v) for k, v in asdict(base).items()},
        "effect": coverage(replace(base, effect=args.effect), args.seeds),
        "no_effect": coverage(replace(base, effect=0.0), args.seeds),
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
