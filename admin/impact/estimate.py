"""The impact estimate itself: pure functions over a `Panel` of residents and their verified
daily activity, so the database, the benchmark generator and the tests feed it alike.

Who counts. A participant took part from their enrolment day (or the campaign's first
day, if they enrolled before it); their **baseline** is the `baseline_days` local days
before that, and it is usable only if their account existed for all of it (a newcomer's
empty history is not a baseline). Their days **during** run from that day to the last day
with data.

Two estimates, each of three figures (green trips per resident-day, the green share of
verified trips, verified CO2e grams per resident-day; every figure a ratio of sums over
residents, so a resident counts by their days and trips):

- **Own baseline**: the participants' figure during, less their figure before.
- **Against comparable non-participants** (difference in differences): participants are
  grouped by the day they took part, their district and their band of green trips per
  day in the `baseline_days` before their baseline (the matching window); non-participants
  of the same district and band, over the same days, are weighted so that each group
  weighs as many as its participants. The estimate is the participants' change less the
  weighted non-participants' change. Matching on the window before the baseline, not on
  the baseline itself, keeps the baseline's chance highs and lows (which regress) out of
  the comparison. Participants whose group has no non-participant are left out of this
  estimate (counted as `unmatched`).

95% intervals: percentile bootstrap over residents (`scipy.stats.bootstrap`): each
resident's row of sums is resampled whole; participants and non-participants are
resampled apart, and the non-participants keep the weights of the full sample.

Refusals: fewer than `min_residents` participants (the small-cell rule), fewer than
that with a usable baseline (`no_baseline`), fewer comparable non-participants or matched
participants than that (`too_few_comparable`), and for the green share fewer residents
with verified trips before or during than that (`too_few_trips`).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np
from scipy import stats

METRICS = ("green_trips_per_day", "green_share", "co2e_g_per_day")
# Columns of a resident's sums (one row per resident or, for non-participants, their
# weighted sum over the participants' start days): before and during
B_DAYS, B_GREEN, B_TRIPS, B_CO2E, D_DAYS, D_GREEN, D_TRIPS, D_CO2E = range(8)
COLUMNS = 8
NEW_BAND = -1  # an account younger than baseline and matching window together
NOT_PARTICIPANT = -1  # `Panel.enrolled` of a possible comparison
LATER_PARTICIPANT = -2  # ... of one who enrolled after the cutoff: neither
# Values gathered per bootstrap batch (resamples x residents x columns): bounds memory
BATCH_VALUES = 4_000_000


@dataclass(frozen=True)
class Panel:
    """Residents and their verified activity per local day; days are indices from `origin`.

    `enrolled` is the day a participant took part from (or NOT_PARTICIPANT,
    LATER_PARTICIPANT); rows are
    one per resident and day with activity, `row_resident` indexing the resident arrays.
    """

    origin: date
    first: int  # the campaign's first day
    through: int  # the last day with data
    district: np.ndarray  # int codes, -1 when unknown
    created: np.ndarray  # the account's first day
    enrolled: np.ndarray
    row_resident: np.ndarray
    row_day: np.ndarray
    row_trips: np.ndarray
    row_green: np.ndarray
    row_co2e: np.ndarray

    def day(self, index: int) -> date:
        return self.origin + timedelta(days=int(index))


@dataclass(frozen=True)
class Settings:
    baseline_days: int
    bands: tuple[float, ...]
    min_residents: int
    resamples: int
    seed: int
    level: float = 0.95  # the interval the DRB asks for


@dataclass
class Method:
    """One estimate: its status, the residents and days behind it, each figure."""

    status: str = "estimated"
    reason: str | None = None
    residents: int = 0
    resident_days: dict = field(default_factory=dict)
    metrics: dict = field(default_factory=dict)
    extra: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {
            "status": self.status,
            "reason": self.reason,
            "residents": self.residents,
            "resident_days": self.resident_days,
            "metrics": self.metrics,
            **self.extra,
        }


def refused(reason: str, **extra) -> Method:
    return Method(status="refused", reason=reason, extra=extra)


@dataclass
class Estimate:
    status: str
    reason: str | None
    counts: dict
    baseline: Method
    comparison: Method
    series: dict

    def as_dict(self) -> dict:
        return {
            "status": self.status,
            "reason": self.reason,
            "counts": self.counts,
            "methods": {
                "baseline": self.baseline.as_dict(),
                "comparison": self.comparison.as_dict(),
            },
            "series": self.series,
        }


def estimate(panel: Panel, settings: Settings) -> Estimate:
    """Both estimates for the panel's participants, or the reason there are none."""
    k, span = settings.min_residents, settings.baseline_days
    participant = (panel.enrolled >= 0) & (panel.enrolled <= panel.through)
    usable = participant & (panel.created <= panel.enrolled - span)
    counts = {
        "participants": int(participant.sum()),
        "with_baseline": int(usable.sum()),
        "without_baseline": int((participant & ~usable).sum()),
    }
    reason = None
    if counts["participants"] < k:
        reason = "too_few_residents"
    elif counts["with_baseline"] < k:
        reason = "no_baseline"
    if reason is not None:
        return Estimate("refused", reason, counts, refused(reason), refused(reason), {})

    members = np.flatnonzero(usable)
    sums, match_green = _window_sums(panel, members, panel.enrolled[members], span)
    trips_seen = _trips_seen(sums, k)
    baseline = _bootstrap_method(sums, None, trips_seen, settings)
    comparison, weights = _comparison(panel, members, sums, match_green, settings)
    series = _series(panel, members, weights, span)
    return Estimate("estimated", None, counts, baseline, comparison, series)


def _window_sums(
    panel: Panel, residents: np.ndarray, anchors: np.ndarray, span: int
) -> tuple[np.ndarray, np.ndarray]:
    """Per resident (in `residents`' order) the sums before and during their anchor day,
    and their green trips in the matching window before the baseline."""
    position = np.full(len(panel.district), -1, dtype=np.int64)
    position[residents] = np.arange(len(residents))
    at = position[panel.row_resident]
    kept = at >= 0
    at = at[kept]
    rel = panel.row_day[kept] - anchors[at]
    green, trips, co2e = panel.row_green[kept], panel.row_trips[kept], panel.row_co2e[kept]
    n = len(residents)
    sums = np.zeros((n, COLUMNS))
    before = (rel >= -span) & (rel < 0)
    during = (rel >= 0) & (panel.row_day[kept] <= panel.through)
    for window, columns in (
        (before, (B_GREEN, B_TRIPS, B_CO2E)),
        (during, (D_GREEN, D_TRIPS, D_CO2E)),
    ):
        for column, values in zip(columns, (green, trips, co2e), strict=True):
            sums[:, column] = np.bincount(at[window], weights=values[window], minlength=n)
    sums[:, B_DAYS] = span
    sums[:, D_DAYS] = panel.through - anchors + 1
    matching = (rel >= -2 * span) & (rel < -span)
    match_green = np.bincount(at[matching], weights=green[matching], minlength=n)
    return sums, match_green


def _bands(panel: Panel, residents: np.ndarray, anchors, match_green, settings) -> np.ndarray:
    """Each resident's band of green trips per day in the matching window (NEW_BAND when
    the account did not exist for all of it)."""
    span = settings.baseline_days
    per_day = match_green / span
    bands = np.searchsorted(np.asarray(settings.bands), per_day, side="right") - 1
    young = panel.created[residents] > anchors - 2 * span
    return np.where(young, NEW_BAND, bands)


def _trips_seen(sums: np.ndarray, k: int) -> bool:
    """Whether enough residents had verified trips before and during for a share."""
    return bool((sums[:, B_TRIPS] > 0).sum() >= k and (sums[:, D_TRIPS] > 0).sum() >= k)


def _comparison(panel, members, sums, match_green, settings) -> tuple[Method, np.ndarray]:
    """The difference-in-differences estimate, and each non-participant's total weight
    (for the chart's comparison series)."""
    k, span = settings.min_residents, settings.baseline_days
    n_all = len(panel.district)
    weights_of = np.zeros(n_all)
    anchors = panel.enrolled[members]
    districts = panel.district[members]
    located = districts >= 0
    bands = _bands(panel, members, anchors, match_green, settings)
    width = len(settings.bands) + 1
    n_districts = int(panel.district.max()) + 1 if len(panel.district) else 0
    keys = (anchors.astype(np.int64) * max(n_districts, 1) + districts) * width + bands + 1
    strata, p_index, p_count = np.unique(keys[located], return_inverse=True, return_counts=True)
    if not len(strata):
        return refused("too_few_comparable", unmatched=len(members)), weights_of
    c_count = np.zeros(len(strata))
    pool = np.flatnonzero(panel.enrolled == NOT_PARTICIPANT)
    units: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []  # (residents, strata, sums)
    for day in np.unique(anchors[located]):
        eligible = pool[panel.created[pool] <= day - span]
        if not len(eligible):
            continue
        day_anchors = np.full(len(eligible), day)
        pool_sums, pool_match = _window_sums(panel, eligible, day_anchors, span)
        pool_bands = _bands(panel, eligible, day_anchors, pool_match, settings)
        pool_keys = (day * max(n_districts, 1) + panel.district[eligible]) * width + pool_bands + 1
        where = np.searchsorted(strata, pool_keys)
        where = np.minimum(where, len(strata) - 1)
        hit = (strata[where] == pool_keys) & (panel.district[eligible] >= 0)
        np.add.at(c_count, where[hit], 1)
        units.append((eligible[hit], where[hit], pool_sums[hit]))
    matched_strata = c_count > 0
    matched = np.flatnonzero(located)[matched_strata[p_index]]
    unmatched = int(len(members) - len(matched))
    comparison_sums = np.zeros((n_all, COLUMNS))
    for residents, where, unit_sums in units:
        weight = p_count[where] / c_count[where]
        np.add.at(comparison_sums, residents, unit_sums * weight[:, None])
        np.add.at(weights_of, residents, weight)
    comparable = np.flatnonzero(weights_of > 0)
    extra = {
        "unmatched": unmatched,
        "comparison_residents": len(comparable),
        "groups": int(matched_strata.sum()),
    }
    if len(matched) < k or len(comparable) < k:
        return refused("too_few_comparable", **extra), weights_of
    treated, control = sums[matched], comparison_sums[comparable]
    trips_seen = _trips_seen(treated, k) and _trips_seen(control, k)
    method = _bootstrap_method(treated, control, trips_seen, settings)
    method.extra = extra
    return method, weights_of


def _changes(totals: np.ndarray) -> np.ndarray:
    """The three figures' change, from column totals (first axis: columns)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.stack(
            [
                totals[D_GREEN] / totals[D_DAYS] - totals[B_GREEN] / totals[B_DAYS],
                totals[D_GREEN] / totals[D_TRIPS] - totals[B_GREEN] / totals[B_TRIPS],
                totals[D_CO2E] / totals[D_DAYS] - totals[B_CO2E] / totals[B_DAYS],
            ]
        )


def _levels(totals: np.ndarray) -> dict:
    """Each figure before and during, from one group's column totals."""
    with np.errstate(divide="ignore", invalid="ignore"):
        pairs = {
            "green_trips_per_day": (B_GREEN, B_DAYS, D_GREEN, D_DAYS),
            "green_share": (B_GREEN, B_TRIPS, D_GREEN, D_TRIPS),
            "co2e_g_per_day": (B_CO2E, B_DAYS, D_CO2E, D_DAYS),
        }
        return {
            name: (_number(totals[a] / totals[b]), _number(totals[c] / totals[d]))
            for name, (a, b, c, d) in pairs.items()
        }


def _number(value) -> float | None:
    value = float(value)
    return None if np.isnan(value) or np.isinf(value) else value


def _bootstrap_method(
    treated: np.ndarray, control: np.ndarray | None, trips_seen: bool, settings: Settings
) -> Method:
    """Point estimates and percentile intervals of the three changes: the participants'
    own (control None) or their difference from the weighted non-participants'."""
    samples = (treated.T,) if control is None else (treated.T, control.T)

    def statistic(*groups, axis=-1):
        change = _changes(groups[0].sum(axis=axis))
        if len(groups) == 2:
            change = change - _changes(groups[1].sum(axis=axis))
        if not trips_seen:
            change[1] = 0.0  # refused below; keeps the resamples finite
        return change

    residents = sum(sample.shape[1] for sample in samples)
    batch = max(1, BATCH_VALUES // (COLUMNS * residents))
    with warnings.catch_warnings():
        # A group with no variation (no activity at all) has a degenerate bootstrap
        # distribution: its interval is its point, as it should be.
        warnings.simplefilter("ignore", stats.DegenerateDataWarning)
        result = stats.bootstrap(
            samples,
            statistic,
            n_resamples=settings.resamples,
            confidence_level=settings.level,
            method="percentile",
            vectorized=True,
            paired=False,
            axis=-1,
            batch=batch,
            rng=np.random.default_rng(settings.seed),
        )
    point = statistic(*samples)
    low, high = result.confidence_interval
    treated_levels = _levels(treated.sum(axis=0))
    control_levels = _levels(control.sum(axis=0)) if control is not None else None
    metrics = {}
    for index, name in enumerate(METRICS):
        if name == "green_share" and not trips_seen:
            metrics[name] = {"status": "refused", "reason": "too_few_trips"}
            continue
        figure = {
            "status": "estimated",
            "change": _number(point[index]),
            "low": _number(low[index]),
            "high": _number(high[index]),
            "participants": dict(zip(("before", "during"), treated_levels[name], strict=True)),
        }
        if control_levels is not None:
            figure["comparison"] = dict(
                zip(("before", "during"), control_levels[name], strict=True)
            )
        metrics[name] = figure
    days = treated.sum(axis=0)
    return Method(
        residents=treated.shape[0],
        resident_days={"before": int(days[B_DAYS]), "during": int(days[D_DAYS])},
        metrics=metrics,
    )


def _series(panel: Panel, members: np.ndarray, weights: np.ndarray, span: int) -> dict:
    """Green trips and verified CO2e per resident per calendar day, from `span` days
    before the campaign's first day: participants, and the weighted non-participants."""
    start, end = panel.first - span, panel.through
    days = end - start + 1
    shown = (panel.row_day >= start) & (panel.row_day <= end)
    day = panel.row_day[shown] - start
    resident = panel.row_resident[shown]
    is_member = np.zeros(len(panel.district), dtype=bool)
    is_member[members] = True

    def daily(row_weight: np.ndarray, total: float) -> dict:
        if total <= 0:
            return {"green_trips": None, "co2e_g": None}
        return {
            "green_trips": (
                np.bincount(day, weights=panel.row_green[shown] * row_weight, minlength=days)
                / total
            )
            .round(4)
            .tolist(),
            "co2e_g": (
                np.bincount(day, weights=panel.row_co2e[shown] * row_weight, minlength=days) / total
            )
            .round(1)
            .tolist(),
        }

    return {
        "days": [panel.day(start + offset).isoformat() for offset in range(days)],
        "first_day": panel.day(panel.first).isoformat(),
        "participants": daily(is_member[resident].astype(float), float(len(members))),
        "comparison": daily(weights[resident], float(weights.sum())),
    }
