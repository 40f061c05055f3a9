"""A resident's uploaded photo, stored re-encoded, with a perceptual fingerprint.

The 64-bit difference hash is also kept as four 16-bit bands: two photos within three
bits of each other share at least one band, so near-duplicates are found by index.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from backend.clock import utcnow
from backend.db import Base


class Photo(Base):
    __tablename__ = "photo"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # uuid4 hex, unguessable
    resident_id: Mapped[int] = mapped_column(ForeignKey("resident.id"), index=True)
    width: Mapped[int]
    height: Mapped[int]
    byte_size: Mapped[int]
    storage_key: Mapped[str] = mapped_column(String(255))
    thumbnail_key: Mapped[str] = mapped_column(String(255))
    dhash: Mapped[int] = mapped_column(BigInteger)  # signed 64-bit
    dhash_band0: Mapped[int] = mapped_column(index=True)
    dhash_band1: Mapped[int] = mapped_column(index=True)
    dhash_band2: Mapped[int] = mapped_column(index=True)
    dhash_band3: Mapped[int] = mapped_column(index=True)
    # An earlier photo (anyone's) this one is a near-copy of: evidence to be reviewed.
    duplicate_of_id: Mapped[str | None] = mapped_column(ForeignKey("photo.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
