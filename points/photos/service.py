"""PLACEHOLDER written by the lead so the app imports while the photo service is built:
replace this whole file with the real service (same function names and signatures)."""

from __future__ import annotations

from backend.errors import ValidationFailed
from points.photos.models import Photo


def store_photo(resident_id: int, upload) -> Photo:
    raise NotImplementedError


def photo_for_action(resident_id: int, photo_id: str) -> Photo:
    raise ValidationFailed(fields={"photo_id": ["not found"]}, code="photo_not_found")


def photo_flags(photo: Photo) -> list[str]:
    return ["duplicate_photo"] if photo.duplicate_of_id else []
