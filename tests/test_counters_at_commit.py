"""Shared counters are added when the transaction commits (`db.add_at_commit`).

Every approval of a district adds to the same board and statistics rows; written at the
commit they stay unlocked through the rest of the approval. What a transaction or a
savepoint rolls back must take its additions with it.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from backend.clock import utcnow
from backend.extensions import db
from campaigns.leaderboards.models import DistrictPeriodTotal

PERIOD = "wtest"
KEYS = ("period_key", "district_code")
SUMS = ("co2e_g", "participants")


def add(district: str, grams: int, participants: int = 0) -> None:
    row = {
        "period_key": PERIOD,
        "district_code": district,
        "co2e_g": grams,
        "participants": participants,
        "updated_at": utcnow(),
    }
    db.add_at_commit(DistrictPeriodTotal, KEYS, SUMS, [row], replaced=("updated_at",))


def board() -> dict[str, tuple[int, int]]:
    rows = db.session.execute(
        select(
            DistrictPeriodTotal.district_code,
            DistrictPeriodTotal.co2e_g,
            DistrictPeriodTotal.participants,
        ).where(DistrictPeriodTotal.period_key == PERIOD)
    )
    return {code: (grams, participants) for code, grams, participants in rows}


@pytest.fixture
def context(app):
    with app.app_context():
        yield


def test_additions_wait_for_the_commit_and_add_up_per_row(context):
    add("441202", 100, 1)
    add("441203", 7)
    add("441202", 50)
    assert board() == {}  # nothing written, nothing locked, before the commit
    db.session.commit()
    assert board() == {"441202": (150, 1), "441203": (7, 0)}

    add("441202", 1, 1)
    db.session.commit()
    assert board()["441202"] == (151, 2)


def test_a_rolled_back_savepoint_takes_its_additions_with_it(context):
    add("441202", 100)
    with pytest.raises(RuntimeError), db.session.begin_nested():
        add("441202", 1_000)
        with db.session.begin_nested():  # committed into the savepoint that fails
            add("441203", 5)
        raise RuntimeError("the savepoint fails")
    with db.session.begin_nested():
        add("441202", 10)
    add("441202", 1)
    db.session.commit()
    assert board() == {"441202": (111, 0)}


def test_a_rolled_back_transaction_leaves_nothing_for_the_next(context):
    add("441202", 100)
    db.session.rollback()
    add("441203", 5)
    db.session.commit()
    assert board() == {"441203": (5, 0)}

    add("441202", 100)
    db.session.close()  # ended without a commit
    add("441203", 1)
    db.session.commit()
    assert board() == {"441203": (6, 0)}
