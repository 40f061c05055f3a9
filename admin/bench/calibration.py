"""The calibration write: exactly one INSERT, committed by the request boundary."""

from __future__ import annotations

import secrets

from admin.bench.models import BenchCalibration
from backend.extensions import db


def calibrate() -> BenchCalibration:
    row = BenchCalibration(payload=secrets.token_hex(8))
    db.session.add(row)
    db.session.flush()
    return row
