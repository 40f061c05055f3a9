"""The demo's shape (make demo on 2026-12-03): two months, three action types, December
two days old. November: EV charging 13 residents, garbage sorting 13, trips 63; December:
EV charging 5 (withheld), garbage sorting 12, trips 31. Every November and quarter figure
by type is shown, and each family still gives nothing of fewer than k residents.

It used to null every month by type: the quarter's and year's residents left out a
resident of December's withheld EV group altogether, even for their counted November
sessions (7 instead of 12), so the quarter's EV cell was null, November's EV cell its
complement, and then garbage sorting and trips of both months, one family after another.
"""

from datetime import UTC, timedelta

from admin.stats import service
from backend.extensions import db
from backend.residents.service import find_or_create_by_phone
from backend.worker import drain_until_empty
from points.actions import service as actions
from points.actions.schemas import ActionCreateSchema
from tests.moments import beijing

TYPES = ("trip", "garbage_sorting", "ev_charging")
# residents (by index) behind each type and month; December's EV residents also charged
# in November, December's sorters and travellers sorted and travelled in November too.
SHAPE = {
    "2026-11": {"ev_charging": range(0, 13), "garbage_sorting": range(13, 26), "trip": range(63)},
    "2026-12": {"ev_charging": range(0, 5), "garbage_sorting": range(13, 25), "trip": range(31)},
}
DISTRICTS = ("441202", "441203", "441204")


def body(kind: str, when, n: int) -> dict:
    at = when.astimezone(UTC).isoformat()
    if kind == "garbage_sorting":
        return {"type": kind, "category": "recyclable", "weight_kg": 2, "occurred_at": at}
    if kind == "ev_charging":
        return {
            "type": kind,
            "energy_kwh": 20,
            "station_id": "ZQ-7",
            "session_id": f"demo-shape-{n}",
            "occurred_at": at,
        }
    started = (when - timedelta(minutes=25)).astimezone(UTC).isoformat()
    return {
        "type": "trip",
        "mode": "bus",
        "distance_km": 6.2,
        "started_at": started,
        "ended_at": at,
    }


def seed(app, clock) -> None:
    clock.move_to(beijing(2026, 12, 3, 10), tick=False)
    with app.test_request_context():
        people = []
        for index in range(63):
            person = find_or_create_by_phone(f"1370000{index:04d}")
            person.district_code = DISTRICTS[index % 3]
            people.append(person)
        n = 0
        for month, kinds in SHAPE.items():
            day = 20 if month == "2026-11" else 2
            for kind, who in kinds.items():
                for index in who:
                    n += 1
                    when = beijing(int(month[:4]), int(month[5:]), day, 8) + timedelta(minutes=n)
                    loaded = ActionCreateSchema().load(body(kind, when, n))
                    action = actions.record_action(
                        people[index], loaded, source="partner", now=when + timedelta(minutes=5)
                    )
                    assert action.status == "approved", (kind, action.status)
        db.session.commit()
        drain_until_empty(50)


def test_the_demos_months_by_type_are_shown_and_safe(app, clock):
    seed(app, clock)
    with app.test_request_context():
        nov, dec, q4, year = (service.summary(p) for p in ("2026-11", "2026-12", "2026-Q4", "2026"))
    # November: every type and the total shown.
    assert nov["suppressed"] is False and nov["participants"] == 63
    for kind, who in SHAPE["2026-11"].items():
        assert nov["by_type"][kind]["suppressed"] is False, kind
        assert nov["by_type"][kind]["participants"] == len(who)
    # December: EV charging (5 residents) is withheld from every figure; the rest shown.
    assert dec["by_type"]["ev_charging"]["suppressed"] is True
    assert dec["by_type"]["trip"]["suppressed"] is False
    assert dec["by_type"]["garbage_sorting"]["suppressed"] is False
    assert dec["suppressed"] is False
    # The quarter and year: December's withheld sessions are in none of their figures.
    for parent in (q4, year):
        assert parent["by_type"]["ev_charging"] == nov["by_type"]["ev_charging"]
        for kind in ("trip", "garbage_sorting"):
            assert parent["by_type"][kind]["suppressed"] is False
            assert parent["by_type"][kind]["participants"] >= max(
                len(SHAPE[m][kind]) for m in SHAPE
            )
    # Every family is safe: a total less its shown types, and a quarter less its shown
    # months, leave no grams (the only null cell is withheld, in no figure).
    for table in (nov, dec, q4, year):
        shown = [c for c in table["by_type"].values() if not c["suppressed"]]
        assert table["co2e_g"] == sum(c["co2e_g"] for c in shown)
        assert table["actions"] == sum(c["actions"] for c in shown)
    for kind in TYPES:
        months = [m["by_type"][kind] for m in (nov, dec) if not m["by_type"][kind]["suppressed"]]
        assert q4["by_type"][kind]["co2e_g"] == sum(c["co2e_g"] for c in months), kind
        assert year["by_type"][kind] == q4["by_type"][kind]
