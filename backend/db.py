"""Database engine, the declarative base, and the request transaction boundary.

Services add and flush; a request commits once when it succeeds and rolls back on any
error. The few writes that must outlive a refused request go through `committed_now`.
On SQLite, write requests begin with BEGIN IMMEDIATE so a read-then-write can never fail
half way on a lock upgrade.
"""

from __future__ import annotations

import contextlib
import contextvars
import fcntl
import functools
import os
import sqlite3
import threading
from collections.abc import Iterator
from datetime import UTC, datetime

import sqlalchemy as sa
from flask import Flask, Response, request
from sqlalchemy import MetaData, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Session, scoped_session, sessionmaker

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

# Whether the transaction about to begin will write. SQLite takes the write lock at BEGIN
# for these; read-only requests begin deferred so they never block writers.
_write_intent: contextvars.ContextVar[bool] = contextvars.ContextVar("write_intent", default=True)


BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")  # SQLite autoincrements INTEGER only


class UTCDateTime(sa.types.TypeDecorator):
    """Timezone-aware UTC datetimes on every backend (SQLite has no time zones)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime refused: store timezone-aware UTC")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime()}


class _GateHolders(threading.local):
    def __init__(self) -> None:
        self.by_path: dict[str, GatedSQLiteConnection] = {}


_holders = _GateHolders()


class GatedSQLiteConnection(sqlite3.Connection):
    """A pysqlite connection whose write transactions queue on a lock file first.

    SQLite lets one writer in at a time, and its busy handler makes the others sleep and
    retry at growing intervals (up to 100 ms). A writer that commits and begins again at
    once (a worker applying batch after batch) then holds the lock nearly all the time
    and the others starve: seconds for a resident's action behind it. Waiting in flock() on
    the file beside the database instead wakes a waiter the moment the lock is released.
    flock() belongs to the open file, so every connection opens its own: threads of one
    process queue as well as processes. The lock is released when the transaction ends,
    by commit, rollback (also the pool's reset on return) or close.
    """

    def __init__(self, database, *args, **kwargs) -> None:
        super().__init__(database, *args, **kwargs)
        path = os.fspath(database)
        in_memory = path in ("", ":memory:") or path.startswith("file:")
        self._gate_path = None if in_memory else f"{path}-writegate"
        self._gate_fd: int | None = None

    def enter_write_gate(self) -> None:
        if self._gate_path is None or self._gate_fd is not None:
            return
        if _holders.by_path.get(self._gate_path, self) is not self:
            # Waiting would never end: this thread holds the gate on another connection.
            raise RuntimeError("this thread already has a write transaction open")
        fd = os.open(self._gate_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
        except BaseException:
            os.close(fd)
            raise
        self._gate_fd = fd
        _holders.by_path[self._gate_path] = self

    def _leave_write_gate(self) -> None:
        if self._gate_fd is None:
            return
        os.close(self._gate_fd)  # closing the file releases its flock
        self._gate_fd = None
        if _holders.by_path.get(self._gate_path) is self:
            del _holders.by_path[self._gate_path]

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self._leave_write_gate()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self._leave_write_gate()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._leave_write_gate()


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:
        # Take transaction control from pysqlite so BEGIN is ours (SQLAlchemy's
        # documented recipe for SAVEPOINT and BEGIN IMMEDIATE on pysqlite).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection) -> None:
        if not _write_intent.get():
            connection.exec_driver_sql("BEGIN")
            return
        connection.connection.driver_connection.enter_write_gate()
        connection.exec_driver_sql("BEGIN IMMEDIATE")


# connection.info key: an INSERT, UPDATE or DELETE ran since the session's transaction began
_WROTE = "wrote_since_begin"


def _listen_for_writes(engine: Engine) -> None:
    @event.listens_for(engine, "before_cursor_execute")
    def _note_write(conn, _cursor, _statement, _parameters, context, _executemany) -> None:
        if context.isinsert or context.isupdate or context.isdelete:
            conn.info[_WROTE] = True


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = sa.create_engine(
            url, connect_args={"timeout": 30, "factory": GatedSQLiteConnection}
        )
        _configure_sqlite(engine)
    else:
        engine = sa.create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10)
    _listen_for_writes(engine)
    return engine


def _insert(dialect: str):
    return postgresql.insert if dialect == "postgresql" else sqlite.insert


@functools.cache
def _upsert_adding(dialect: str, model, keys: tuple, sums: tuple, replaced: tuple):
    """INSERT ... ON CONFLICT (keys) DO UPDATE adding the new row's sums: a counter kept in
    one statement without a read. Executed with its rows as a parameter list."""
    # Built once per shape and shared (statements are immutable): building the excluded
    # expressions cost more than executing the statement, on every action.
    statement = _insert(dialect)(model)
    table = model.__table__.c
    added = {name: table[name] + statement.excluded[name] for name in sums}
    taken = {name: statement.excluded[name] for name in replaced}
    return statement.on_conflict_do_update(index_elements=list(keys), set_=added | taken)


# session.info keys of the counter additions a transaction writes when it commits
_AT_COMMIT = "counters_at_commit"
_SAVEPOINT_MARKS = "counters_at_savepoints"
# session.info key: how the session's transaction began (its connection; as a writer?)
_BEGUN = "transaction_begun"


def _listen_for_beginnings(factory: sessionmaker) -> None:
    """Note how each session transaction began, and start its record of writes afresh."""

    @event.listens_for(factory, "after_begin")
    def _begun(session: Session, transaction, connection) -> None:
        if transaction.parent is None:  # a savepoint is part of the transaction around it
            connection.info.pop(_WROTE, None)
            session.info[_BEGUN] = (connection, _write_intent.get())

    @event.listens_for(factory, "after_transaction_end")
    def _ended(session: Session, transaction) -> None:
        if transaction.parent is None:
            session.info.pop(_BEGUN, None)


def _listen_for_counters(factory: sessionmaker) -> None:
    """Write `add_at_commit` additions just before the outermost commit; forget those of a
    transaction or savepoint that is rolled back."""

    @event.listens_for(factory, "after_transaction_create")
    def _mark_savepoint(session: Session, transaction) -> None:
        if transaction.nested:
            marks = session.info.setdefault(_SAVEPOINT_MARKS, {})
            marks[transaction] = len(session.info.get(_AT_COMMIT, ()))

    @event.listens_for(factory, "after_soft_rollback")
    def _forget(session: Session, previous_transaction) -> None:
        # Runs after "after_transaction_end" of the same savepoint: its mark is kept to here.
        mark = session.info.get(_SAVEPOINT_MARKS, {}).pop(previous_transaction, None)
        if mark is not None:
            del session.info.get(_AT_COMMIT, [])[mark:]

    @event.listens_for(factory, "after_transaction_end")
    def _end(session: Session, transaction) -> None:
        if transaction.parent is None:  # ended whichever way: nothing carries over
            session.info.pop(_AT_COMMIT, None)
            session.info.pop(_SAVEPOINT_MARKS, None)

    @event.listens_for(factory, "before_commit")
    def _write(session: Session) -> None:
        if session.in_nested_transaction() or not session.info.get(_AT_COMMIT):
            return
        session.flush()  # the transaction's other rows first: counters are its last locks
        merged: dict[tuple, dict[tuple, dict]] = {}
        for shape, row in session.info.pop(_AT_COMMIT):
            _model, keys, sums, replaced = shape
            rows = merged.setdefault(shape, {})
            key = tuple(row[name] for name in keys)
            if key not in rows:
                rows[key] = dict(row)
                continue
            for name in sums:
                rows[key][name] += row[name]
            for name in replaced:
                rows[key][name] = row[name]
        connection = session.connection()
        dialect = connection.dialect.name
        # One order for every transaction (table, then key): none waits on another
        # holding a counter it needs while it holds one that other needs.
        for shape in sorted(merged, key=lambda shape: shape[0].__tablename__):
            rows = merged[shape]
            statement = _upsert_adding(dialect, *shape)
            connection.execute(statement, [rows[key] for key in sorted(rows)])


class Database:
    """The app's engine and request-scoped session, bound in `init_app`."""

    def __init__(self) -> None:
        self.engine: Engine | None = None
        factory = sessionmaker(expire_on_commit=False)
        _listen_for_counters(factory)
        _listen_for_beginnings(factory)
        self.session: scoped_session[Session] = scoped_session(factory)

    @property
    def metadata(self) -> MetaData:
        return Base.metadata

    def init_app(self, app: Flask) -> None:
        self.engine = make_engine(app.config["DATABASE_URL"])
        self.session.remove()
        self.session.configure(bind=self.engine)
        app.extensions["db"] = self

        @app.before_request
        def _declare_write_intent() -> None:
            _write_intent.set(request.method not in SAFE_METHODS)

        @app.after_request
        def _commit_or_roll_back(response: Response) -> Response:
            if response.status_code < 400:
                self.session.commit()
            else:
                self.session.rollback()
            return response

        @app.teardown_appcontext
        def _remove_session(_exc: BaseException | None) -> None:
            self.session.remove()

    @contextlib.contextmanager
    def read_only(self) -> Iterator[None]:
        """Begin deferred: for jobs that only read and must not block writers."""
        token = _write_intent.set(False)
        try:
            yield
        finally:
            _write_intent.reset(token)

    @contextlib.contextmanager
    def committed_now(self, *, durable: bool = True) -> Iterator[None]:
        """Commit the block's writes when it ends, whatever becomes of the request.

        The request boundary owns a request's transaction; this is the one way round it,
        for the few writes that must outlive a refused request or be seen by concurrent
        requests at once, each short:

        - a fact the refusal itself leaves behind: a failed staff sign-in's count and lock,
          a wrong one-time code's attempt, the revocation of a session whose old refresh
          token came back;
        - an Idempotency-Key's claim, before the work (a concurrent retry must see it), and
          the release of a claim whose request failed;
        - a DRB key's last use, written from a read request;
        - a partner batch's group of events: the groups before a fault are kept.

        The request must have written nothing before the block (RuntimeError otherwise):
        the block commits its own writes and nothing of the request's. If the request's
        transaction so far began as a reader (a GET's, deferred on SQLite), it is ended
        first and the block begins as a writer: BEGIN IMMEDIATE, in the write gate on
        SQLite. A writer's transaction that has only read goes on into the block (no
        second BEGIN; on SQLite it keeps the gate it holds). An error in the block rolls
        it back. Afterwards the request carries on in a new transaction, begun as it
        would have been.

        `durable=False` commits without waiting for the disk on PostgreSQL
        (`synchronous_commit` off for this transaction): for a write that is harmless to
        lose in a crash and that the request's own durable commit makes durable anyway
        (PostgreSQL writes its log in order), such as a claim. SQLite in WAL mode with
        synchronous=NORMAL never waits for the disk at commit.
        """
        session = self.session()
        session.flush()
        begun = session.info.get(_BEGUN)
        if begun is not None:
            connection, as_writer = begun
            if connection.info.get(_WROTE) or session.info.get(_AT_COMMIT):
                raise RuntimeError("committed_now: this transaction has written already")
            if not as_writer:
                session.commit()  # nothing written: this ends a read, not the request's work
        token = _write_intent.set(True)
        try:
            if not durable and self.dialect == "postgresql":
                session.execute(sa.text("SET LOCAL synchronous_commit TO OFF"))
            yield
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            _write_intent.reset(token)

    @contextlib.contextmanager
    def write_intent(self) -> Iterator[None]:
        """Begin as a writer (BEGIN IMMEDIATE, in the write queue on SQLite): for the
        transactions a job or command owns. A request's own writes use `committed_now`."""
        token = _write_intent.set(True)
        try:
            yield
        finally:
            _write_intent.reset(token)

    def upsert(self, model):
        """An INSERT that takes ON CONFLICT clauses (both dialects spell them alike)."""
        return _insert(self.dialect)(model)

    def add_at_commit(
        self,
        model,
        keys: tuple[str, ...],
        sums: tuple[str, ...],
        rows: list[dict],
        replaced: tuple[str, ...] = (),
    ) -> None:
        """Add `rows`' `sums` to the counter rows of the same `keys` (made if missing;
        `replaced` columns take the new value), when the transaction commits.

        Rows that every approval adds to (a district's board, a day's statistics) are
        hot: a row updated now stays locked to the commit, and every other approval of
        that district waits behind the rest of this transaction. Written just before the
        commit, in one order, they are held for the commit alone. Nothing reads them back
        in the transaction that adds to them; a rolled-back savepoint takes its additions
        with it.
        """
        self.session.connection()  # they belong to the transaction in progress: begin it
        pending = self.session.info.setdefault(_AT_COMMIT, [])
        shape = (model, keys, sums, replaced)
        pending.extend((shape, row) for row in rows)

    def insert_ignoring_conflict(self, model, **values) -> bool:
        """INSERT ... ON CONFLICT DO NOTHING: make a row that may exist, without a race.

        Returns whether this call created it.
        """
        statement = (
            self.upsert(model).values(**values).on_conflict_do_nothing().returning(sa.literal(1))
        )
        # rowcount is -1 for this statement on psycopg: RETURNING says whether a row was made.
        return self.session.connection().execute(statement).scalar() is not None

    @property
    def dialect(self) -> str:
        assert self.engine is not None
        return self.engine.dialect.name
