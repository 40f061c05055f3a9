"""Evidence photos: accepted by content, bounded, stripped of metadata, re-encoded, fingerprinted.

Only JPEG, PNG and WebP as Pillow detects them are accepted; the pixel count is checked
from the header before any pixel is decoded (a lower bound for PNG and WebP, which decode
every pixel), and a process decodes a bounded number of photos at once (`DecodingPool`).
A photo that is a copy of an earlier photo, anyone's, is marked as its duplicate for
reviewers: rescaled or recompressed (difference hash within three bits), and turned,
flipped, lightly cropped or brightened (perceptual hashes, see `_earlier_reuse`).
"""

from __future__ import annotations

import io
import itertools
import struct
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TypeVar

import imagehash
from flask import current_app
from flask_babel import lazy_gettext as _l
from PIL import Image, ImageOps
from sqlalchemy import or_, select
from werkzeug.datastructures import FileStorage

from backend.clock import utcnow
from backend.consent import service as consent
from backend.errors import Busy, NotFound, PayloadTooLarge, ValidationFailed
from backend.extensions import db
from points.photos.models import Photo, PhotoFingerprint
from points.photos.storage import PhotoStore

T = TypeVar("T")

# Pillow's names for the content it detects (a phone's MPO is detected as JPEG).
ACCEPTED_FORMATS = ("JPEG", "PNG", "WEBP")
JPEG_QUALITY = 85
THUMBNAIL_EDGE = 320
DUPLICATE_MAX_DISTANCE = 3
# Pillow's ways of saying that pixel data is broken or cut short.
DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, struct.error)


def _store() -> PhotoStore:
    return current_app.extensions["photo_store"]


class DecodingPool:
    """Photos are decoded on `size` threads of their own per process, at most `queue`
    more uploads waiting for them; past that an upload is refused at once (503 busy,
    Retry-After), and so is one whose decode has not started within `wait_seconds`.

    A waiting upload holds one of the worker's request threads: bounding the queue keeps
    the others free for every other request, health checks included (ten 16 MP PNGs at
    once, unbounded: /healthz waited 4 s for a thread). Decoding on threads of their own
    reuses one decode's memory for the next, where every request thread's allocator arena
    kept its own (the same ten: a worker peaked at 820 MB, 250 MB on the pool)."""

    def __init__(self, size: int, queue: int, wait_seconds: int) -> None:
        self._executor = ThreadPoolExecutor(size, thread_name_prefix="photo-decoding")
        self._admitted = threading.BoundedSemaphore(size + queue)
        self.wait_seconds = wait_seconds

    def _busy(self) -> Busy:
        return Busy(headers={"Retry-After": str(max(self.wait_seconds, 1))})

    def run(self, work: Callable[..., T], *args) -> T:
        if not self._admitted.acquire(blocking=False):
            raise self._busy()
        try:
            job = self._executor.submit(work, *args)
            try:
                return job.result(timeout=self.wait_seconds)
            except TimeoutError:
                if job.cancel():  # still queued: refused, its decode never runs
                    raise self._busy() from None
                return job.result()  # under way: its cost is bounded, and nearly paid
        finally:
            self._admitted.release()


def decoding_pool_from_config(config) -> DecodingPool:
    return DecodingPool(
        config["PHOTO_DECODE_CONCURRENCY"],
        config["PHOTO_DECODE_QUEUE"],
        config["PHOTO_DECODE_WAIT_SECONDS"],
    )


def _refuse_unsupported() -> ValidationFailed:
    message = _l("Send a JPEG, PNG or WebP photo.")
    return ValidationFailed(message, code="photo_format_unsupported", fields={"file": [message]})


def _refuse_unreadable() -> ValidationFailed:
    message = _l("The photo could not be read; it may be damaged or incomplete.")
    return ValidationFailed(message, code="photo_unreadable", fields={"file": [message]})


def _refuse_too_many_pixels(max_pixels: int) -> PayloadTooLarge:
    message = _l(
        "The photo may have at most %(megapixels)s million pixels.",
        megapixels=f"{max_pixels / 1_000_000:g}",
    )
    return PayloadTooLarge(message, code="photo_too_many_pixels", fields={"file": [message]})


def _read_bounded(upload: FileStorage, max_bytes: int) -> bytes:
    data = upload.stream.read(max_bytes + 1)
    if len(data) > max_bytes:
        message = _l(
            "The photo may be at most %(megabytes)s MB.", megabytes=f"{max_bytes / 2**20:.3g}"
        )
        raise PayloadTooLarge(message, code="photo_too_large", fields={"file": [message]})
    return data


def _starts_as_accepted(data: bytes) -> bool:
    """Whether the bytes begin as a JPEG, PNG or WebP does: a damaged one, not another kind."""
    return data.startswith((b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n")) or (
        data[:4] == b"RIFF" and data[8:12] == b"WEBP"
    )


def _open_bounded(data: bytes, max_pixels: int, max_full_pixels: int, max_edge: int) -> Image.Image:
    """The image, opened by its content and decoded only once its size is known to be safe.

    A JPEG decodes at a reduced scale (`draft`: 1/2 to 1/8 of each edge), so its bound is
    `max_pixels`; PNG and WebP decode every pixel they declare, bounded by
    `max_full_pixels` (a 105 KB PNG declaring 36 million pixels took a second of CPU)."""
    try:
        image = Image.open(io.BytesIO(data), formats=ACCEPTED_FORMATS)
    except Image.UnidentifiedImageError as exc:
        raise (
            _refuse_unreadable() if _starts_as_accepted(data) else _refuse_unsupported()
        ) from exc
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        # Pillow checks its own limit on open (a warning past ~89 million pixels, an error
        # past twice that); where warnings are errors, as in the tests, both arrive here.
        raise _refuse_too_many_pixels(max_pixels) from exc
    except DECODE_ERRORS as exc:
        raise _refuse_unreadable() from exc
    width, height = image.size
    # A phone's MPO is a JPEG and drafts as one.
    drafts = image.format in ("JPEG", "MPO")
    bound = max_pixels if drafts else min(max_pixels, max_full_pixels)
    if width * height > bound:
        image.close()
        raise _refuse_too_many_pixels(bound)
    # A JPEG can decode straight at a smaller scale: less memory for large photos.
    image.draft("RGB", (max_edge, max_edge))
    try:
        image.load()
    except DECODE_ERRORS as exc:
        raise _refuse_unreadable() from exc
    return image


def _upright_rgb(image: Image.Image, max_edge: int) -> Image.Image:
    """Turned as the camera meant, flattened onto white, no longer edge than `max_edge`.

    Scaled down first, in place: turning and converting a large image copy every pixel,
    which cost more than scaling it (1.2 s of CPU for 36 million pixels, then 0.5 s)."""
    if "transparency" in image.info or image.mode not in ("RGB", "RGBA", "L", "LA"):
        # Palettes, CMYK, 16-bit...: resampled only once in a mode that blends colours.
        image = image.convert("RGBA" if _has_alpha(image) else "RGB")
    image.thumbnail((max_edge, max_edge), Image.Resampling.LANCZOS)
    image = ImageOps.exif_transpose(image)
    if image.mode in ("RGBA", "LA"):
        rgba = image.convert("RGBA")
        image = Image.new("RGB", rgba.size, "white")
        image.paste(rgba, mask=rgba.getchannel("A"))
    elif image.mode != "RGB":
        image = image.convert("RGB")
    return image


def _has_alpha(image: Image.Image) -> bool:
    return image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info


def _jpeg(image: Image.Image) -> bytes:
    # Nothing but pixels is written: no EXIF (GPS), ICC profile, XMP or comment.
    out = io.BytesIO()
    image.save(out, "JPEG", quality=JPEG_QUALITY, optimize=True)
    return out.getvalue()


def difference_hash(image: Image.Image) -> int:
    """64-bit dHash: grey 9x8, one bit per pair of neighbours, set where the left is brighter."""
    small = image.convert("L").resize((9, 8), Image.Resampling.LANCZOS)
    pixels = small.tobytes()
    value = 0
    for row in range(8):
        for column in range(8):
            left, right = pixels[row * 9 + column], pixels[row * 9 + column + 1]
            value = (value << 1) | (left > right)
    return value


def _signed64(value: int) -> int:
    """The unsigned hash as the signed 64-bit integer a BIGINT column holds."""
    return value - (1 << 64) if value >= 1 << 63 else value


def _unsigned64(value: int) -> int:
    return value & 0xFFFF_FFFF_FFFF_FFFF


def _bands(value: int) -> tuple[int, int, int, int]:
    return (value & 0xFFFF, (value >> 16) & 0xFFFF, (value >> 32) & 0xFFFF, value >> 48)


def _earlier_duplicate(value: int) -> str | None:
    """The closest earlier photo within DUPLICATE_MAX_DISTANCE bits, the oldest on a tie.

    Hashes that close share at least one of the four bands, so the index narrows the
    search and the exact distance is counted here.
    """
    band0, band1, band2, band3 = _bands(value)
    candidates = db.session.execute(
        select(Photo.id, Photo.dhash)
        .where(
            or_(
                Photo.dhash_band0 == band0,
                Photo.dhash_band1 == band1,
                Photo.dhash_band2 == band2,
                Photo.dhash_band3 == band3,
            )
        )
        .order_by(Photo.created_at, Photo.id)
    )
    best_id, best_distance = None, DUPLICATE_MAX_DISTANCE + 1
    for photo_id, dhash in candidates:
        distance = (value ^ _unsigned64(dhash)).bit_count()
        if distance < best_distance:
            best_id, best_distance = photo_id, distance
    return best_id


# Reuse -------------------------------------------------------------------------------
#
# What is stored: for each photo, the 64-bit pHash (ImageHash: DCT of a 32x32 grey image,
# its 8x8 lowest frequencies against their median) of the photo and of light crops of it
# (FINGERPRINT_CROPS: each edge cut by 0 or 6 %, and 10 % all round), one row each. pHash
# shrugs off brightness and contrast changes, recompression and rescaling, but not a
# shift of the content: these stored crops stand in for the crops a copier may make.
#
# What is asked: the pHash of the new photo in its 8 orientations (the dihedral group:
# turned 0/90/180/270 degrees, each also mirrored). A turned or mirrored copy of an earlier
# photo, or of a light crop of it, is close to one of the earlier photo's rows in one
# orientation. Measured on generated photos (tests/factories.photo_like): copies turned,
# mirrored, cut 0-10 % per edge or brightened 30 % come within 10 bits; distinct photos
# stay 12 or more bits apart (PHOTO_REUSE_MAX_DISTANCE).
#
# How it is found without scanning every photo: each 64-bit hash is kept as four 16-bit
# bands, each an indexed column (multi-index hashing). Two hashes within 7 bits have a band
# differing in at most one bit, so asking for each band value and its 16 one-bit
# neighbours (PHOTO_REUSE_BAND_PROBE_BITS = 1) finds every row within 7 bits, and most
# within 10. One upload asks 8 orientations x 4 bands x 17 values: four IN lists of 136
# values on indexed columns. With N photos and 17 rows each, a value matches about
# 17 N / 65,536 rows if hashes were spread evenly: about 140,000 candidates to compare (in
# Python) at a million photos, still far from the 17 million a scan reads. Past that, on
# PostgreSQL, a bit(64) column with a Hamming-distance index (pgvector HNSW) is the step up.
FINGERPRINT_CROPS: tuple[tuple[float, float, float, float], ...] = (
    *itertools.product((0.0, 0.06), repeat=4),
    (0.1, 0.1, 0.1, 0.1),
)
_DIHEDRAL = (
    None,
    Image.Transpose.FLIP_LEFT_RIGHT,
    Image.Transpose.FLIP_TOP_BOTTOM,
    Image.Transpose.ROTATE_90,
    Image.Transpose.ROTATE_180,
    Image.Transpose.ROTATE_270,
    Image.Transpose.TRANSPOSE,
    Image.Transpose.TRANSVERSE,
)
# pHash works on a 32x32 grey image: crops are cut from a copy no larger than this.
_HASHING_EDGE = 512
_PHASH_EDGE = 32


def _phash(grey: Image.Image) -> int:
    return int(str(imagehash.phash(grey)), 16)


def _hashing_copy(image: Image.Image) -> Image.Image:
    grey = image.convert("L")
    grey.thumbnail((_HASHING_EDGE, _HASHING_EDGE), Image.Resampling.LANCZOS)
    return grey


def _crop(grey: Image.Image, box: tuple[float, float, float, float]) -> Image.Image:
    left, top, right, bottom = box
    width, height = grey.size
    return grey.crop(
        (
            round(width * left),
            round(height * top),
            round(width * (1 - right)),
            round(height * (1 - bottom)),
        )
    )


def fingerprints(image: Image.Image) -> list[int]:
    """The pHash of the photo and of each of FINGERPRINT_CROPS, as stored."""
    grey = _hashing_copy(image)
    return [_phash(_crop(grey, box)) for box in FINGERPRINT_CROPS]


def orientation_hashes(image: Image.Image) -> list[int]:
    """The pHash of the photo in each of its 8 orientations, as asked."""
    small = _hashing_copy(image).resize((_PHASH_EDGE, _PHASH_EDGE), Image.Resampling.LANCZOS)
    return [_phash(small if turn is None else small.transpose(turn)) for turn in _DIHEDRAL]


def _near_band_values(band: int, bits: int) -> set[int]:
    values = {band}
    for count in range(1, bits + 1):
        for positions in itertools.combinations(range(16), count):
            flipped = band
            for position in positions:
                flipped ^= 1 << position
            values.add(flipped)
    return values


def _earlier_reuse(asked: list[int]) -> str | None:
    """The closest earlier photo one of whose fingerprints lies within the configured
    distance of one of `asked`, the oldest on a tie; candidates come by band."""
    config = current_app.config
    max_distance = config["PHOTO_REUSE_MAX_DISTANCE"]
    probe_bits = config["PHOTO_REUSE_BAND_PROBE_BITS"]
    wanted: list[set[int]] = [set(), set(), set(), set()]
    for value in asked:
        for index, band in enumerate(_bands(value)):
            wanted[index] |= _near_band_values(band, probe_bits)
    columns = (
        PhotoFingerprint.band0,
        PhotoFingerprint.band1,
        PhotoFingerprint.band2,
        PhotoFingerprint.band3,
    )
    candidates = db.session.execute(
        select(PhotoFingerprint.photo_id, PhotoFingerprint.phash, Photo.created_at)
        .join(Photo, Photo.id == PhotoFingerprint.photo_id)
        .where(
            or_(
                *(
                    column.in_(sorted(values))
                    for column, values in zip(columns, wanted, strict=True)
                )
            )
        )
    )
    best: tuple | None = None
    for photo_id, phash, created_at in candidates:
        distance = min((value ^ _unsigned64(phash)).bit_count() for value in asked)
        if distance <= max_distance:
            rank = (distance, created_at, photo_id)
            if best is None or rank < best:
                best = rank
    return best[2] if best else None


@dataclass(frozen=True)
class _Prepared:
    """What an upload's pixels give: the stored image and thumbnail, and its hashes."""

    width: int
    height: int
    encoded: bytes
    thumbnail: bytes
    fingerprint: int
    stored_hashes: list[int]
    asked_hashes: list[int]


def _prepare(data: bytes, config) -> _Prepared:
    """All the pixel work of an upload (the CPU it costs), with no database in it."""
    max_edge = config["PHOTO_MAX_EDGE"]
    pixels = (config["PHOTO_MAX_PIXELS"], config["PHOTO_MAX_FULL_DECODE_PIXELS"])
    with _open_bounded(data, *pixels, max_edge) as original:
        try:
            image = _upright_rgb(original, max_edge)
        except DECODE_ERRORS as exc:
            raise _refuse_unreadable() from exc
    thumbnail = image.copy()
    thumbnail.thumbnail((THUMBNAIL_EDGE, THUMBNAIL_EDGE), Image.Resampling.LANCZOS)
    return _Prepared(
        width=image.width,
        height=image.height,
        encoded=_jpeg(image),
        thumbnail=_jpeg(thumbnail),
        fingerprint=difference_hash(image),
        stored_hashes=fingerprints(image),
        asked_hashes=orientation_hashes(image),
    )


def store_photo(resident_id: int, upload: FileStorage) -> Photo:
    """Check, clean and store an uploaded photo and its thumbnail; flag a near-copy."""
    consent.require_privacy(resident_id)
    config = current_app.config
    data = _read_bounded(upload, config["PHOTO_MAX_BYTES"])
    prepared = current_app.extensions["photo_decoding"].run(_prepare, data, config)
    fingerprint = prepared.fingerprint
    duplicate_of = _earlier_reuse(prepared.asked_hashes) or _earlier_duplicate(fingerprint)

    photo_id = uuid.uuid4().hex
    now = utcnow()
    folder = now.strftime("%Y/%m")
    band0, band1, band2, band3 = _bands(fingerprint)
    photo = Photo(
        id=photo_id,
        resident_id=resident_id,
        width=prepared.width,
        height=prepared.height,
        byte_size=len(prepared.encoded),
        storage_key=f"{folder}/{photo_id}.jpg",
        thumbnail_key=f"{folder}/{photo_id}_thumb.jpg",
        dhash=_signed64(fingerprint),
        dhash_band0=band0,
        dhash_band1=band1,
        dhash_band2=band2,
        dhash_band3=band3,
        duplicate_of_id=duplicate_of,
        created_at=now,
    )
    # Files first: a failed request may leave an unreferenced file, never a row without one.
    store = _store()
    store.put(photo.storage_key, prepared.encoded)
    store.put(photo.thumbnail_key, prepared.thumbnail)
    db.session.add(photo)
    db.session.flush()
    _add_fingerprints(photo, prepared.stored_hashes)
    return photo


def _add_fingerprints(photo: Photo, hashes: list[int]) -> None:
    for value in hashes:
        band0, band1, band2, band3 = _bands(value)
        db.session.add(
            PhotoFingerprint(
                photo_id=photo.id,
                phash=_signed64(value),
                band0=band0,
                band1=band1,
                band2=band2,
                band3=band3,
            )
        )
    db.session.flush()


def fingerprint_stored_photos(batch_size: int = 200) -> int:
    """Give photos stored before fingerprints were kept theirs, from their stored image
    (the backfill after migration 2c84806b0e03). A photo whose images were erased keeps
    only its difference hash. Returns how many photos were fingerprinted."""
    done = 0
    while True:
        photos = list(
            db.session.scalars(
                select(Photo)
                .where(
                    Photo.storage_key != ERASED,
                    ~select(PhotoFingerprint.id)
                    .where(PhotoFingerprint.photo_id == Photo.id)
                    .exists(),
                )
                .order_by(Photo.created_at, Photo.id)
                .limit(batch_size)
            )
        )
        if not photos:
            return done
        for photo in photos:
            with Image.open(io.BytesIO(open_image(photo))) as image:
                _add_fingerprints(photo, fingerprints(image.convert("RGB")))
        done += len(photos)


def get_photo(photo_id: str) -> Photo:
    """Any resident's photo, for staff; an unknown id is 404."""
    photo = db.session.get(Photo, photo_id)
    if photo is None:
        raise NotFound(_l("No such photo."), code="photo_not_found")
    return photo


def own_photo_image(resident_id: int, photo_id: str) -> bytes:
    """The resident's own stored JPEG; another resident's photo is 404 like an unknown one."""
    photo = db.session.get(Photo, photo_id)
    if photo is None or photo.resident_id != resident_id:
        raise NotFound(_l("No such photo."), code="photo_not_found")
    return open_image(photo)


def photo_for_action(resident_id: int, photo_id: str) -> Photo:
    """The resident's own photo; another resident's is refused exactly like an unknown one."""
    photo = db.session.get(Photo, photo_id)
    if photo is None or photo.resident_id != resident_id:
        raise ValidationFailed(fields={"photo_id": [_l("No such photo.")]}, code="photo_not_found")
    return photo


def reuse_distance(photo: Photo) -> int | None:
    """How many bits (of 64) the photo lies from the earlier photo it was flagged a copy
    of, measured as on upload: its 8 orientations against the earlier photo's stored
    fingerprints (or, for an earlier photo without any, the two difference hashes).
    None when it is no duplicate or its pixels were erased."""
    if photo.duplicate_of_id is None or photo.storage_key == ERASED:
        return None
    earlier = db.session.scalars(
        select(PhotoFingerprint.phash).where(PhotoFingerprint.photo_id == photo.duplicate_of_id)
    ).all()
    if not earlier:
        other = db.session.get(Photo, photo.duplicate_of_id)
        return (_unsigned64(photo.dhash) ^ _unsigned64(other.dhash)).bit_count()
    with Image.open(io.BytesIO(open_image(photo))) as image:
        asked = orientation_hashes(image.convert("RGB"))
    return min((value ^ _unsigned64(phash)).bit_count() for value in asked for phash in earlier)


def photo_flags(photo: Photo) -> list[str]:
    """Flags an action carrying this photo inherits: a near-copy goes to review."""
    return ["duplicate_photo"] if photo.duplicate_of_id else []


ERASED = ""  # the storage keys of a photo whose files were erased


def _open(photo: Photo, key: str) -> bytes:
    if key == ERASED:
        raise NotFound(_l("This photo was erased."), code="photo_erased")
    return _store().open(key)


def open_image(photo: Photo) -> bytes:
    return _open(photo, photo.storage_key)


def open_thumbnail(photo: Photo) -> bytes:
    return _open(photo, photo.thumbnail_key)


def erase(photo: Photo) -> None:
    """Delete a photo's image files for good. The row and its fingerprint stay: a dHash
    cannot be turned back into a picture, and it still catches the photo's reuse."""
    for key in (photo.storage_key, photo.thumbnail_key):
        if key != ERASED:
            _store().delete(key)
    photo.storage_key = photo.thumbnail_key = ERASED
    db.session.flush()


def erase_photos_of(resident_id: int) -> int:
    photos = list(db.session.scalars(select(Photo).where(Photo.resident_id == resident_id)))
    for photo in photos:
        erase(photo)
    return len(photos)


def erase_photos_older_than(cutoff) -> int:
    """The retention job: images past their keeping time are erased, oldest first."""
    photos = list(
        db.session.scalars(
            select(Photo)
            .where(Photo.created_at < cutoff, Photo.storage_key != ERASED)
            .order_by(Photo.created_at)
        )
    )
    for photo in photos:
        erase(photo)
    return len(photos)
