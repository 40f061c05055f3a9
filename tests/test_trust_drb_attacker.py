"""The DRB attacker, property-based: small random populations, every permitted query, and
every difference within a family and across overlapping periods; no derived figure may be
the figures of 1 to k-1 residents.

Each action's CO2e is set to its own power of two before the worker counts it, so any
published gram figure names exactly the actions behind it (its binary digits): the test
knows what each figure, and each difference of figures, gives away without knowing how
the statistics decided it.
"""

import itertools
from datetime import timedelta
from decimal import Decimal

from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import update

from admin.stats import periods, service
from admin.stats.models import ALL
from backend.errors import AppError
from backend.extensions import db
from backend.residents.service import find_or_create_by_phone
from backend.worker import drain_until_empty
from points.actions import service as actions
from points.actions.models import Action
from tests.moments import beijing

K = 3  # the threshold for these small populations (the rule does not depend on it)
FIRST_DAY = beijing(2026, 11, 26, 9)  # 26 November to 2 December: two ISO weeks, two months
DISTRICTS = ("441202", "441203")
_phones = itertools.count(1)
_sessions = itertools.count(1)


def body(kind: str, when) -> dict:
    if kind == "garbage":
        return {
            "type": "garbage_sorting",
            "category": "recyclable",
            "weight_kg": Decimal(2),
            "occurred_at": when,
        }
    return {
        "type": "ev_charging",
        "energy_kwh": Decimal(10),
        "station_id": "ZQ-1",
        "session_id": f"attacker-{next(_sessions)}",
        "occurred_at": when,
    }


QUERIES_PERIODS = [
    periods.parse("2026-W48"),
    periods.parse("2026-W49"),
    periods.parse("2026-11"),
    periods.parse("2026-12"),
    periods.months_range(periods.parse("2026-11").start, periods.parse("2026-12").start),
    periods.parse("2026-Q4"),
    periods.parse("2026"),
]


def published() -> dict[tuple, int]:
    """(verified, district or ALL, type or ALL, first day, last day) -> grams, of every
    cell shown by every permitted query over the data's periods."""
    cells: dict[tuple, int] = {}

    def note(verified: bool, where: str, what: str, row: dict, cell: dict, grams: str) -> None:
        if cell is None or cell["suppressed"]:
            return
        key = (verified, where, what, row["start"], row["end"])
        assert cells.setdefault(key, cell[grams]) == cell[grams], key  # one cell, one value

    for period in QUERIES_PERIODS:
        fine = ("day", "week") if period.kind in ("week", "month", "months") else ("month",)
        for granularity in fine:
            for district in (None, *DISTRICTS):
                where = district or ALL
                table = service.timeseries(period, granularity=granularity, district_code=district)
                for row in [*table["items"], table["totals"]]:
                    note(True, where, ALL, row, row["total"], "co2e_g")
                    note(False, where, ALL, row, row["self_declared"], "co2e_g_claimed")
                    for group in row["groups"]:
                        note(True, where, group["key"], row, group, "co2e_g")
            table = service.timeseries(period, granularity=granularity, group_by="district")
            for row in [*table["items"], table["totals"]]:
                for group in row["groups"]:
                    note(True, group["key"] or "", ALL, row, group, "co2e_g")
    return cells


def actions_of(grams: int) -> frozenset[int]:
    return frozenset(bit for bit in range(grams.bit_length()) if grams >> bit & 1)


def assert_no_small_group(figures: dict[tuple, int], owner: dict[int, int]) -> int:
    """Checks every published figure, every difference of two nested ones, and every
    parent less its published children in a family; returns how many it checked."""
    sets = {key: actions_of(grams) for key, grams in figures.items()}
    checked = 0

    def fine(found: frozenset, why) -> None:
        nonlocal checked
        checked += 1
        residents = {owner[bit] for bit in found}
        assert not 0 < len(residents) < K, (why, sorted(found), len(residents))

    for key, found in sets.items():
        fine(found, key)
    by_class: dict[bool, list] = {}
    for key, found in sets.items():
        by_class.setdefault(key[0], []).append((key, found))
    for items in by_class.values():
        for (a, big), (b, small) in itertools.permutations(items, 2):
            if small < big:
                fine(big - small, ("difference", a, b))
    for key, found in sets.items():
        verified, where, what, start, end = key
        families = []
        inside = [
            (k, s)
            for k, s in sets.items()
            if k[:3] == key[:3] and start <= k[3] and k[4] <= end and k != key
        ]
        for length in ((0, 0), (1, 6), (27, 30)):  # days, weeks, months
            parts = sorted(
                (k, s) for k, s in inside if length[0] <= (k[4] - k[3]).days <= length[1]
            )
            chosen, last = [], None
            for k, s in parts:  # disjoint spans only
                if last is None or k[3] > last:
                    chosen.append(s)
                    last = k[4]
            families.append(chosen)
        if where == ALL:
            families.append(
                [s for k, s in sets.items() if k[0] == verified and k[2] == what
                 and k[1] != ALL and k[3:] == key[3:]]
            )  # fmt: skip
        if what == ALL and verified:
            families.append(
                [s for k, s in sets.items() if k[0] and k[1] == where
                 and k[2] != ALL and k[3:] == key[3:]]
            )  # fmt: skip
        for children in families:
            if children:
                fine(found - frozenset().union(*children), ("family", key))
    return checked


activity = st.tuples(
    st.integers(0, 8),  # which resident
    st.integers(0, 6),  # days after 26 November: a week ends on the 29th, a month the 30th
    st.sampled_from(("garbage", "garbage", "ev")),
    st.booleans(),  # verified (a partner's event) or self-declared (garbage only)
)


@settings(
    max_examples=15,
    deadline=None,
    database=None,
    phases=(Phase.explicit, Phase.reuse, Phase.generate),
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@example(  # found by a CI run: a day of charging only, its total shown, its EV cell a complement
    homes=["441202", "441203"] * 4 + ["441202"],
    doings=[
        (0, 0, "garbage", True),
        (1, 0, "garbage", True),
        (2, 0, "garbage", True),
        (6, 0, "ev", True),
        *((who, 1, "ev", True) for who in range(6)),
        (6, 2, "ev", True),
        (6, 3, "ev", True),
        *((who, day, "garbage", True) for who in range(3, 9) for day in (4, 5)),
    ],
)
@given(
    homes=st.lists(st.sampled_from(DISTRICTS), min_size=3, max_size=9),
    doings=st.lists(activity, min_size=10, max_size=30),  # action.co2e_g holds 2**30
)
def test_no_published_figure_or_difference_is_a_small_group(
    app, db_session, clock, monkeypatch, homes, doings
):
    monkeypatch.setitem(app.config, "STATS_MIN_RESIDENTS", K)
    clock.move_to(beijing(2026, 12, 10, 10), tick=False)
    example = db_session.get_bind().begin_nested()
    try:
        with app.test_request_context():
            people = [find_or_create_by_phone(f"136{next(_phones):08d}") for _ in homes]
            for person, home in zip(people, homes, strict=True):
                person.district_code = home
            owner = {}
            for who, days, kind, verified in doings:
                person = people[who % len(people)]
                when = FIRST_DAY + timedelta(days=days, minutes=len(owner))
                source = "partner" if verified or kind == "ev" else "self_reported"
                try:
                    action = actions.record_action(
                        person, body(kind, when), source=source, now=when + timedelta(minutes=5)
                    )
                except AppError:
                    continue
                if action.status != "approved":
                    continue
                bit = len(owner)
                owner[bit] = person.id
                db.session.execute(
                    update(Action).where(Action.id == action.id).values(co2e_g=2**bit)
                )
            db.session.commit()
            drain_until_empty(50)
            figures = published()
            assert assert_no_small_group(figures, owner) > 0
    finally:
        db.session.remove()
        example.rollback()
