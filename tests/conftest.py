"""Fixtures: one migrated database per run, a SAVEPOINT rolled back after every test, and
a pinned clock: no test depends on the day or the hour it runs.

TEST_DATABASE_URL selects PostgreSQL (tests/with_postgres.sh sets it); otherwise the
suite runs on a SQLite file of its own. Under pytest-xdist (`-n 2`) each worker has a
database of its own: a SQLite file in its own temporary directory, or on PostgreSQL a
database named after the worker (zq_test_gw0, ...) made on TEST_DATABASE_URL's server.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import flask_migrate
import pytest
import sqlalchemy as sa
import time_machine
from flask.testing import FlaskClient

from backend.app import create_app
from backend.cli import load_reference_data
from backend.config import Config
from backend.extensions import db, limiter
from backend.staff import service as staff_service
from tests.moments import ORDINARY, SETUP


def make_test_config(tmp_path_factory, url: str | None = None) -> Config:
    instance = tmp_path_factory.mktemp("instance")
    url = url or os.environ.get("TEST_DATABASE_URL") or f"sqlite:///{instance / 'test.db'}"
    return Config.from_env(
        {
            "APP_ENV": "test",
            "DATABASE_URL": url,
            "INSTANCE_PATH": str(instance),
            # every test reads the figures it has just made
            "ORGANIZATION_REPORT_CACHE_SECONDS": "0",
            "ORGANIZATION_BOARD_CACHE_SECONDS": "0",
        }
    )


@contextlib.contextmanager
def worker_database() -> Iterator[str | None]:
    """Under xdist on PostgreSQL, a fresh database for this worker, dropped afterwards;
    otherwise None (the URL the run was given, or SQLite)."""
    server_url = os.environ.get("TEST_DATABASE_URL")
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not server_url or not worker:
        yield None
        return
    url = sa.engine.make_url(server_url)
    name = f"{url.database}_{worker}"
    admin = sa.create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


class ClosingClient(FlaskClient):
    """A test client that closes each response before returning it, as a server does once
    it has sent it: what a view left for after the response (`call_on_close`) has run when
    the test reads the result."""

    def open(self, *args, buffered: bool = True, **kwargs):
        return super().open(*args, buffered=buffered, **kwargs)


class Clock:
    """The clock of a test (time-machine): every reader of the time in this process sees
    it, threads included; servers in other processes do not."""

    def __init__(self, traveller: time_machine.Traveller) -> None:
        self._traveller = traveller

    def move_to(self, moment: datetime, *, tick: bool = True) -> None:
        """Stand at `moment`, ticking on from there or (tick=False) frozen."""
        # In UTC: time-machine also sets the process's TZ to the moment's zone, and code
        # reading local time would pass here in Asia/Shanghai, then fail on a UTC server.
        self._traveller.move_to(moment.astimezone(UTC), tick=tick)

    def shift(self, delta: timedelta) -> None:
        self._traveller.shift(delta)


# Staff passwords hash with scrypt at a lighter cost in this process (n = 2**10 instead of
# werkzeug's 2**15: 4 ms instead of 200 ms of CPU for a hash and its check), as hundreds of
# tests create and sign in staff. The algorithm, salt and checks are the same; live
# servers and the browser tests run in processes of their own, at the production cost.
TEST_SCRYPT = "scrypt:1024:8:1"


@pytest.fixture(autouse=True, scope="session")
def light_password_hashing() -> Iterator[None]:
    real = staff_service.generate_password_hash

    def light(password: str, method: str = "scrypt", salt_length: int = 16) -> str:
        return real(password, TEST_SCRYPT if method == "scrypt" else method, salt_length)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(staff_service, "generate_password_hash", light)
        yield


def pytest_configure(config) -> None:
    config.addinivalue_line(
        "markers",
        "machine_to_itself: a module that loads live servers within a fixed time; one such "
        "module runs at a time across every pytest on the machine (make test runs two)",
    )


@pytest.fixture(scope="module", autouse=True)
def machine_to_itself(request) -> Iterator[None]:
    """Modules marked machine_to_itself take an exclusive lock on a file shared by every
    test run on the machine (ZQ_TEST_LOCK), before their live servers start: the SQLite
    and PostgreSQL suites, side by side, never run two such loads at once."""
    if not request.node.get_closest_marker("machine_to_itself"):
        yield
        return
    path = os.environ.get("ZQ_TEST_LOCK") or os.path.join(tempfile.gettempdir(), "zq-tests.lock")
    with open(path, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


@pytest.fixture(autouse=True)
def clock(request) -> Iterator[Clock | None]:
    """Every test starts at moments.ORDINARY, the clock ticking on from there. A test that
    needs another moment moves it with `clock.move_to` before signing anyone in (tokens
    expire). Tests marked real_clock keep the machine's clock, as their servers do."""
    if request.node.get_closest_marker("real_clock"):
        yield None
        return
    with time_machine.travel(ORDINARY.astimezone(UTC), tick=True) as traveller:
        yield Clock(traveller)


@pytest.fixture(scope="session")
def app(tmp_path_factory):
    with worker_database() as url:
        app = create_app(make_test_config(tmp_path_factory, url))
        app.test_client_class = ClosingClient
        with time_machine.travel(SETUP.astimezone(UTC), tick=True), app.app_context():
            flask_migrate.upgrade()
            load_reference_data()
            db.session.commit()
            db.session.remove()
        yield app
        with app.app_context():
            db.engine.dispose()


@pytest.fixture(autouse=True)
def db_session(app):
    """Every test runs inside one outer transaction that is rolled back afterwards."""
    connection = db.engine.connect()
    outer = connection.begin()
    db.session.remove()
    db.session.configure(bind=connection, join_transaction_mode="create_savepoint")
    limiter.reset()
    # No app context is held here: each request pushes its own, as in production.
    yield db.session
    db.session.remove()
    assert_ledger_invariants(connection)
    db.session.configure(bind=db.engine, join_transaction_mode="conservative_savepoint")
    outer.rollback()
    connection.close()


def assert_ledger_invariants(connection) -> None:
    """After every test: each balance equals the sum of its entries and is not negative."""
    rows = connection.execute(
        sa.text(
            "SELECT a.resident_id, a.balance, COALESCE(SUM(e.delta), 0) AS total "
            "FROM account a LEFT JOIN ledger_entry e ON e.resident_id = a.resident_id "
            "GROUP BY a.resident_id, a.balance"
        )
    ).all()
    broken = [row for row in rows if row.balance != row.total or row.balance < 0]
    assert broken == [], f"balance differs from the sum of entries: {broken}"
    orphans = connection.execute(
        sa.text(
            "SELECT COUNT(*) FROM ledger_entry e WHERE NOT EXISTS "
            "(SELECT 1 FROM account a WHERE a.resident_id = e.resident_id)"
        )
    ).scalar_one()
    assert orphans == 0
    # Every spend is allocated to earlier credits: what is left unspent is the balance.
    unspent = connection.execute(
        sa.text(
            "SELECT a.resident_id, a.balance, "
            "(SELECT COALESCE(SUM(e.delta), 0) FROM ledger_entry e "
            " WHERE e.resident_id = a.resident_id AND e.delta > 0) - "
            "(SELECT COALESCE(SUM(x.amount), 0) FROM ledger_allocation x "
            " JOIN ledger_entry c ON c.id = x.credit_entry_id WHERE c.resident_id = a.resident_id)"
            " AS left_over FROM account a"
        )
    ).all()
    assert [row for row in unspent if row.left_over != row.balance] == []


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture(scope="session")
def demo_server(tmp_path_factory):
    """A live server with the demo's data and credentials file, as `make demo` leaves it,
    its worker caught up: shared by the modules that read the demo (seeding takes ~15 s).
    They may add to it, never take from it."""
    from tests.live_server import live_server

    with live_server(tmp_path_factory.mktemp("demo"), workers=2) as live:
        live.flask("demo", "seed")
        live.wait_for_worker(timeout_s=180)
        yield live


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium, one per browser-test module."""
    from tests.browser import chromium

    with chromium() as running:
        yield running
