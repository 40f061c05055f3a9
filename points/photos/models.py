"""A resident's uploaded photo, stored re-encoded, with perceptual fingerprints.

The 64-bit difference hash is also kept as four 16-bit bands: two photos within three
bits of each other share at least one band, so near-duplicates are found by index.
`photo_fingerprint` holds the perceptual hashes (pHash) of a photo and of light crops of
it, banded the same way, so that turned, flipped, cropped or brightened copies are found
(see points.photos.service for the matching).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from backend.clock import utcnow
from backend.db import Base, BigId


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


class PhotoFingerprint(Base):
    """One perceptual hash of a photo or of one light crop of it, with its four bands."""

    __tablename__ = "photo_fingerprint"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    photo_id: Mapped[str] = mapped_column(ForeignKey("photo.id"), index=True)
    phash: Mapped[int] = mapped_column(BigInteger)  # signed 64-bit
    band0: Mapped[int] = mapped_column(index=True)
    band1: Mapped[int] = mapped_column(index=True)
    band2: Mapped[int] = mapped_column(index=True)
    band3: Mapped[int] = mapped_column(index=True)
