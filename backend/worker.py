"""The worker process, `flask worker`: applies the queues packages register and runs their
periodic jobs on a schedule.

A queue is a function that applies one batch in the worker's transaction and says how
many items it applied; the worker owns the transaction and commits each batch. A
periodic job owns its transactions (it may commit in steps) and runs once per slot (a
local day, an hour) across all workers: the slot's row in `worker_job_run` is claimed
first, by its unique key.
"""

from __future__ import annotations

import logging
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import click
from flask import Flask, current_app
from flask.cli import with_appcontext
from sqlalchemy import String
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Mapped, mapped_column

from backend.clock import LOCAL_TZ, utcnow
from backend.db import Base
from backend.extensions import db

log = logging.getLogger(__name__)

Queue = Callable[[int], int]  # batch size -> items applied
Job = Callable[[], str]  # runs; says what it did


class JobRun(Base):
    """A periodic job's run in one slot: whoever inserts it runs the job."""

    __tablename__ = "worker_job_run"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    slot: Mapped[str] = mapped_column(String(16), primary_key=True)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)


SLOTS: dict[str, Callable[[datetime], str]] = {
    "daily": lambda moment: f"{moment.astimezone(LOCAL_TZ):%Y-%m-%d}",
    "hourly": lambda moment: f"{moment.astimezone(LOCAL_TZ):%Y-%m-%dT%H}",
}


@dataclass(frozen=True)
class Periodic:
    name: str
    every: str  # a key of SLOTS
    job: Job


def register_queue(app: Flask, name: str, queue: Queue) -> None:
    app.extensions.setdefault("worker_queues", {})[name] = queue


def register_periodic(app: Flask, name: str, every: str, job: Job) -> None:
    if every not in SLOTS:
        raise ValueError(f"{every}: not one of {sorted(SLOTS)}")
    app.extensions.setdefault("worker_periodic", {})[name] = Periodic(name, every, job)


def drain_queues(batch_size: int) -> int:
    """One batch from every queue, each committed; how many items in all."""
    applied = 0
    for queue in current_app.extensions.get("worker_queues", {}).values():
        with db.write_intent():
            applied += queue(batch_size)
            db.session.commit()
    return applied


def drain_until_empty(batch_size: int) -> int:
    applied = total = drain_queues(batch_size)
    while applied:
        applied = drain_queues(batch_size)
        total += applied
    return total


def run_due_jobs(now: datetime | None = None) -> list[str]:
    """Run each periodic job whose current slot no worker has claimed; what they said.

    The slot is claimed before the job runs: a job that fails is logged and tried again
    in its next slot (each job is idempotent and catches up on what it missed then).
    """
    now = now or utcnow()
    said = []
    for periodic in current_app.extensions.get("worker_periodic", {}).values():
        slot = SLOTS[periodic.every](now)
        with db.write_intent():
            claimed = db.insert_ignoring_conflict(
                JobRun, name=periodic.name, slot=slot, started_at=now
            )
            db.session.commit()
        if not claimed:
            continue
        try:
            said.append(f"{periodic.name} {slot}: {periodic.job()}")
        except Exception:  # a failing job must not stop the outbox's worker: logged
            db.session.rollback()
            log.exception("worker: periodic job %s failed in slot %s", periodic.name, slot)
            said.append(f"{periodic.name} {slot}: failed (logged)")
    return said


class _Stop:
    def __init__(self) -> None:
        self.requested = False

    def __call__(self, signum, _frame) -> None:
        log.info("worker: signal %s, stopping after this batch", signum)
        self.requested = True


@click.command("worker")
@with_appcontext
@click.option("--drain", is_flag=True, help="Apply every queue until empty, run due jobs, exit.")
@click.option("--batch-size", type=int, default=None, help="Items per transaction.")
def worker_command(drain: bool, batch_size: int | None) -> None:
    """Apply the outbox and run the periodic jobs until stopped (SIGTERM or Ctrl-C)."""
    config = current_app.config
    batch_size = batch_size or config["WORKER_BATCH_SIZE"]
    if drain:
        click.echo(f"applied {drain_until_empty(batch_size)}")
        for line in run_due_jobs():
            click.echo(line)
        return
    stop = _Stop()
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    idle_s = config["WORKER_IDLE_MS"] / 1000
    click.echo(f"worker: applying in batches of {batch_size}")
    next_jobs = 0.0
    while not stop.requested:
        if time.monotonic() >= next_jobs:
            for line in run_due_jobs():
                click.echo(line)
            next_jobs = time.monotonic() + 30
        try:
            applied = drain_queues(batch_size)
        except SQLAlchemyError:
            # A lost connection or a failover: nothing of the batch is kept; try again.
            db.session.rollback()
            log.exception("worker: batch failed, retrying")
            applied = 0
        if applied < batch_size:
            # All there was is applied: wait for more to gather, so that a busy outbox
            # is applied in batches, not one approval per transaction.
            time.sleep(idle_s)
    click.echo("worker: stopped")


def init_app(app: Flask) -> None:
    app.cli.add_command(worker_command)
