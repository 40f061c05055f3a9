"""Bulk writes for generated data: COPY on PostgreSQL, executemany batches on SQLite.

Rows are tuples of Python values in the order of the columns named; the sink writes them
on the caller's connection, inside the caller's transaction. On PostgreSQL a thread of
the sink runs the COPYs, so the server ingests one batch while Python makes the next;
`drain()` waits for them before the connection is used for anything else.
"""

from __future__ import annotations

import json
import queue
import threading
from collections.abc import Iterable, Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection

SQLITE_BATCH = 20_000
PENDING_BATCHES = 2  # a day's actions are one batch: bounds the memory held in the queue


class BulkSink:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.postgresql = connection.dialect.name == "postgresql"
        self.rows_written = 0
        self._pending: queue.Queue | None = None
        self._failure: BaseException | None = None

    def write(self, table: sa.Table, columns: Sequence[str], rows: Iterable[tuple]) -> None:
        rows = rows if isinstance(rows, list) else list(rows)
        if not rows:
            return
        if self.postgresql:
            self._raise_failure()
            self._copier().put((table, columns, rows))
        else:
            self._executemany(table, columns, rows)
        self.rows_written += len(rows)

    def drain(self) -> None:
        """Wait until every batch is written; raise what the copying thread raised."""
        if self._pending is not None:
            self._pending.put(None)
            self._pending.join()
            self._pending = None
        self._raise_failure()

    def _raise_failure(self) -> None:
        if self._failure is not None:
            failure, self._failure = self._failure, None
            raise RuntimeError("a bulk COPY failed") from failure

    def _copier(self) -> queue.Queue:
        if self._pending is None:
            self._pending = queue.Queue(maxsize=PENDING_BATCHES)
            threading.Thread(target=self._copy_pending, args=(self._pending,), daemon=True).start()
        return self._pending

    def _copy_pending(self, pending: queue.Queue) -> None:
        while True:
            batch = pending.get()
            try:
                if batch is None:
                    return
                if self._failure is None:  # after a failure the transaction is lost anyway
                    self._copy(*batch)
            except Exception as exc:  # noqa: BLE001 - handed to the producing thread
                self._failure = exc
            finally:
                pending.task_done()

    def _copy(self, table: sa.Table, columns: Sequence[str], rows: list[tuple]) -> None:
        # COPY's text format takes JSON as its text; psycopg adapts every other value.
        json_at = [i for i, name in enumerate(columns) if isinstance(table.c[name].type, sa.JSON)]
        statement = f"COPY {table.name} ({', '.join(columns)}) FROM STDIN"
        cursor = self.connection.connection.cursor()
        try:
            with cursor.copy(statement) as copy:
                if json_at:
                    for row in rows:
                        row = list(row)
                        for i in json_at:
                            row[i] = json.dumps(row[i], ensure_ascii=False)
                        copy.write_row(row)
                else:
                    for row in rows:
                        copy.write_row(row)
        finally:
            cursor.close()

    def _executemany(self, table: sa.Table, columns: Sequence[str], rows: list[tuple]) -> None:
        # Core does the type conversions (dates, JSON) exactly as the ORM would.
        statement = table.insert()
        for start in range(0, len(rows), SQLITE_BATCH):
            batch = rows[start : start + SQLITE_BATCH]
            self.connection.execute(
                statement, [dict(zip(columns, row, strict=True)) for row in batch]
            )
