"""The calibration table: one row per calibration request, nothing else refers to it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from backend.clock import utcnow
from backend.db import Base, BigId


class BenchCalibration(Base):
    """A durable write of the smallest useful size: the ceiling for one write per request."""

    __tablename__ = "bench_calibration"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    payload: Mapped[str] = mapped_column(String(32))
