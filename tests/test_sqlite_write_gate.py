"""SQLite's writers queue on a lock file beside the database (backend/db.py).

Without the queue, a writer that commits and begins again at once (a partner batch, event
by event) keeps SQLite's lock while the others sleep in its busy handler: they starve.
"""

from __future__ import annotations

import os
import threading

import pytest
import sqlalchemy as sa

from backend.db import make_engine

pytestmark = pytest.mark.skipif(
    bool(os.environ.get("TEST_DATABASE_URL")), reason="the gate is SQLite's"
)


@pytest.fixture
def engine(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'gate.db'}")
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE t (writer TEXT, n INTEGER)")
    yield engine
    engine.dispose()


def test_a_waiting_writer_gets_in_between_the_transactions_of_a_busy_one(engine):
    committed = 0
    asked = threading.Event()
    waited: list[int] = []

    def busy_writer() -> None:
        nonlocal committed
        for n in range(3000):
            with engine.begin() as connection:
                connection.execute(sa.text("INSERT INTO t VALUES ('busy', :n)"), {"n": n})
            committed += 1
            if n == 100:
                asked.set()

    def other_writer() -> None:
        asked.wait()
        at_request = committed
        with engine.begin() as connection:
            waited.append(committed - at_request)
            connection.execute(sa.text("INSERT INTO t VALUES ('other', 0)"))

    threads = [threading.Thread(target=busy_writer), threading.Thread(target=other_writer)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    # It waited for some of the busy writer's transactions (flock is not strictly first
    # come, first served: usually 0-5, seen 43), not for the ~2,900 that were left.
    assert waited and waited[0] <= 300, waited
    with engine.connect() as connection:
        assert connection.execute(sa.text("SELECT count(*) FROM t")).scalar() == 3001


def test_a_write_while_this_thread_holds_another_is_refused_not_hung(engine):
    with engine.begin() as first:
        first.execute(sa.text("INSERT INTO t VALUES ('first', 1)"))
        with (
            pytest.raises(RuntimeError, match="already has a write transaction"),
            engine.begin(),
        ):
            pass


def test_reads_do_not_queue(engine, app):
    from backend.extensions import db

    with engine.begin() as writer:
        writer.execute(sa.text("INSERT INTO t VALUES ('w', 1)"))
        with db.read_only(), engine.connect() as reader:
            assert reader.execute(sa.text("SELECT count(*) FROM t")).scalar() == 0
