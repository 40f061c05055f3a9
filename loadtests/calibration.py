"""The calibration write (`POST /api/v1/bench/calibrate`): one INSERT and its commit.

The ceiling for one durable write per request, served only by the benchmark's app
(`loadtests.app`). No authentication and no rule: the same request machinery (session,
transaction, BEGIN IMMEDIATE on SQLite) around a single INSERT, to compare real writes
against. Its table is the benchmark's, on a metadata of its own: no migration of the
service makes it, so the benchmark creates it on its first write.
"""

from __future__ import annotations

import secrets
from datetime import datetime

import marshmallow as ma
import sqlalchemy as sa
from flask import current_app
from flask.views import MethodView
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from backend.api import Blueprint, Schema
from backend.clock import utcnow
from backend.db import NAMING_CONVENTION, UTCDateTime
from backend.extensions import db
from points.ledger.models import BigId

# Any constant: the advisory lock that lets one PostgreSQL session at a time create the table.
_CREATE_LOCK = 740_271


class BenchBase(DeclarativeBase):
    """The benchmark's own tables: never in the service's metadata or its migrations."""

    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime()}


class BenchCalibration(BenchBase):
    """A durable write of the smallest useful size: one row per calibration request."""

    __tablename__ = "bench_calibration"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    payload: Mapped[str] = mapped_column(sa.String(32))


def ensure_table(connection: sa.Connection) -> None:
    """Create the calibration table if it is missing, in the caller's transaction.

    Concurrent first requests are decided one after the other: SQLite's write transaction
    is already exclusive, PostgreSQL's waits on an advisory lock held until commit.
    """
    if connection.dialect.name == "postgresql":
        connection.execute(sa.select(sa.func.pg_advisory_xact_lock(_CREATE_LOCK)))
    BenchCalibration.__table__.create(connection, checkfirst=True)


def calibrate() -> BenchCalibration:
    """One row added and flushed; the request boundary commits it."""
    ready = current_app.extensions.setdefault("bench_calibration", {})
    if not ready:
        ensure_table(db.session.connection())
        ready["table"] = True
    row = BenchCalibration(payload=secrets.token_hex(8))
    db.session.add(row)
    db.session.flush()
    return row


blp = Blueprint(
    "bench",
    __name__,
    url_prefix="/api/v1/bench",
    description="Benchmark only: served by loadtests.app, never by the service",
)


class CalibrationSchema(Schema):
    id = ma.fields.Integer(dump_only=True)


@blp.route("/calibrate")
class Calibrate(MethodView):
    @blp.response(201, CalibrationSchema)
    def post(self):
        """One INSERT and its commit: the ceiling for one durable write per request"""
        return calibrate()
