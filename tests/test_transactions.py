"""One owner for each transaction: the request boundary commits a request's work or rolls
it all back; `db.committed_now` commits the few writes that must outlive a refused request.
"""

from __future__ import annotations

import ast
import os
import sqlite3
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import select, update

from backend import idempotency
from backend.db import Database, make_engine
from backend.extensions import db
from backend.staff.models import StaffSignInThrottle
from backend.worker import JobRun
from points.actions import service as actions_service
from tests.factories import csrf_token, database_rows, record, sign_in, trip

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "correct horse battery"


class InjectedFault(RuntimeError):
    """The failure a test injects after the request's work."""


def make_staff(app, username: str) -> None:
    result = app.test_cli_runner().invoke(
        args=["staff", "create", username, "--role", "reviewer", "--password", PASSWORD]
    )
    assert result.exit_code == 0, result.output


def throttle_failures(db_session) -> list[int]:
    """The sign-in throttle's counts (each try is counted before its password is checked)."""
    db_session.expire_all()
    return sorted(db_session.scalars(select(StaffSignInThrottle.failures)))


def job_runs(db_session) -> list[str]:
    db_session.expire_all()
    return sorted(db_session.scalars(select(JobRun.name).where(JobRun.slot == "tx-test")))


# --- through the doors ------------------------------------------------------------------------


def test_a_refused_sign_in_keeps_its_failure_count_whichever_door(app, client, db_session):
    make_staff(app, "tx-refused")
    api = client.post(
        "/api/v1/staff/auth/login", json={"username": "tx-refused", "password": "wrong" * 4}
    )
    assert api.status_code == 401  # the boundary rolls the request back...
    assert throttle_failures(db_session) == [1, 1, 1]  # ...but not the counts
    console = client.post(
        "/admin/login",
        data={"username": "tx-refused", "password": "wrong" * 4, "csrf_token": csrf_token(client)},
    )
    assert console.status_code == 401
    assert throttle_failures(db_session) == [2, 2, 2]


def test_a_request_failing_after_its_work_keeps_only_its_idempotency_claim(
    client, db_session, monkeypatch
):
    me = sign_in(client)
    before = database_rows(db_session)
    real = actions_service.record_action

    def fails_after_the_work(*args, **kwargs):
        real(*args, **kwargs)
        raise InjectedFault("after the work")

    monkeypatch.setattr(actions_service, "record_action", fails_after_the_work)
    # The release of the failed request's claim is what would hide it: without it, what
    # outlives the request's rollback is exactly what `committed_now` wrote.
    monkeypatch.setattr(idempotency, "_release", lambda _claim: None)
    assert record(client, me, trip("bus"), key="fails").status_code == 500

    after = database_rows(db_session)
    claims = after.pop("idempotency_record")
    assert len(claims) == len(before.pop("idempotency_record")) + 1
    assert any("fails" in claim for claim in claims)
    assert after == before  # the action, its ledger entry, balance and outbox row are gone


# --- the helper's rules -----------------------------------------------------------------------


def test_what_committed_now_wrote_outlives_the_rollback_of_what_follows(app, db_session):
    with app.app_context():
        with db.committed_now():
            db.session.add(JobRun(name="kept", slot="tx-test"))
        db.session.add(JobRun(name="request's work", slot="tx-test"))
        db.session.flush()
        db.session.rollback()  # what the boundary does to a refused request
    assert job_runs(db_session) == ["kept"]


def test_an_error_in_committed_now_keeps_nothing_of_its_block(app, db_session):
    with app.app_context():
        with pytest.raises(InjectedFault), db.committed_now():
            db.session.add(JobRun(name="lost", slot="tx-test"))
            db.session.flush()
            raise InjectedFault("in the block")
        assert not db.session().in_transaction()  # rolled back, not left open
    assert job_runs(db_session) == []


def _orm_row() -> None:
    db.session.add(JobRun(name="earlier", slot="tx-test"))
    db.session.flush()


def _pending_row() -> None:
    db.session.add(JobRun(name="earlier", slot="tx-test"))


def _core_update() -> None:
    db.session.connection().execute(update(JobRun).values(slot="tx-test"))


def _counter_addition() -> None:
    db.add_at_commit(JobRun, ("name", "slot"), (), [{"name": "earlier", "slot": "tx-test"}])


@pytest.mark.parametrize("write", [_orm_row, _pending_row, _core_update, _counter_addition])
def test_committed_now_refuses_once_the_request_has_written(app, db_session, write):
    with app.app_context():
        db.session.scalar(select(JobRun.name).limit(1))
        write()
        with pytest.raises(RuntimeError, match="has written already"), db.committed_now():
            db.session.add(JobRun(name="never", slot="tx-test"))
        db.session.rollback()
    assert job_runs(db_session) == []


@pytest.mark.skipif(bool(os.environ.get("TEST_DATABASE_URL")), reason="SQLite's write lock")
def test_committed_now_holds_sqlites_write_lock_for_its_block_alone(tmp_path):
    path = tmp_path / "tx.db"
    database = Database()
    database.engine = make_engine(f"sqlite:///{path}")
    database.session.configure(bind=database.engine)
    table = sa.Table("t", sa.MetaData(), sa.Column("n", sa.Integer))
    with database.engine.begin() as connection:
        table.create(connection)
    other = sqlite3.connect(path, timeout=0, isolation_level=None)

    def another_may_write() -> bool:
        try:
            other.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError:
            return False
        other.execute("ROLLBACK")
        return True

    try:
        with database.read_only():  # a GET: its transaction begins deferred
            database.session.execute(select(table)).all()
            assert another_may_write()
            with database.committed_now():  # ends the read, begins as a writer
                database.session.execute(sa.insert(table).values(n=1))
                assert not another_may_write()
            assert another_may_write()  # committed, the lock let go
            assert database.session.execute(select(table.c.n)).scalars().all() == [1]
            assert another_may_write()  # the request reads on as a reader
        database.session.commit()  # the GET's boundary

        with database.write_intent():  # a POST: its transaction begins as a writer
            database.session.execute(select(table)).all()
            assert not another_may_write()
            with database.committed_now():  # it has only read: the block goes on in it
                database.session.execute(sa.insert(table).values(n=2))
            assert another_may_write()
        with database.engine.connect() as connection:
            assert connection.execute(select(table.c.n)).scalars().all() == [1, 2]
    finally:
        other.close()
        database.session.remove()
        database.engine.dispose()


# --- where commits live -----------------------------------------------------------------------

# Outside these, a commit or rollback would take a request's transaction from its boundary.
OWNERS = {
    "backend/db.py": "the request boundary and `committed_now`",
    "backend/worker.py": "the worker's batches and job claims",
    "points/actions/outbox.py": "the worker's outbox, batch by batch",
}
# periodic jobs own theirs
JOBS = {
    ("backend/idempotency.py", "forget_answered"),
    ("backend/staff/throttle.py", "forget_stale"),
    # a campaign's impact: read in a transaction of its own, then kept (the unit of the
    # daily job `campaign_impact` and of `flask stats impact`)
    ("admin/impact/service.py", "compute"),
}


class _TransactionCalls(ast.NodeVisitor):
    """Each `.commit()` and `.rollback()` call with the function it is in."""

    def __init__(self) -> None:
        self.functions: list[str] = []
        self.found: list[tuple[str, int]] = []

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        self.functions.append(node.name)
        self.generic_visit(node)
        self.functions.pop()

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Call(self, node: ast.Call) -> None:
        if isinstance(node.func, ast.Attribute) and node.func.attr in ("commit", "rollback"):
            self.found.append((self.functions[-1] if self.functions else "<module>", node.lineno))
        self.generic_visit(node)


def test_only_the_boundary_the_helper_commands_and_jobs_commit():
    stray = []
    for package in ("backend", "points", "campaigns", "admin"):
        for path in sorted((ROOT / package).rglob("*.py")):
            name = path.relative_to(ROOT).as_posix()
            if name in OWNERS or path.name == "cli.py" or "/migrations/" in name:
                continue
            calls = _TransactionCalls()
            calls.visit(ast.parse(path.read_text(), filename=name))
            for function, line in calls.found:
                if (name, function) not in JOBS:
                    stray.append(f"{name}:{line} in {function}")
    assert stray == [], "commit or roll back through the boundary or db.committed_now"
