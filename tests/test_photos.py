"""Evidence photos: accepted by content, bounded, stripped of metadata, near-copies flagged."""

import io
import struct
import zlib
from pathlib import Path

import pytest
from PIL import ExifTags, Image, ImageCms
from sqlalchemy import func, select

from backend.errors import ValidationFailed
from points.photos import service
from points.photos.models import Photo
from points.photos.storage import LocalPhotoStore
from tests.factories import encode, photo_like, sign_in, upload

UPLOAD = "/api/v1/photos"


@pytest.fixture(autouse=True)
def store(app, tmp_path, monkeypatch) -> Path:
    """Each test stores its photos in a directory of its own."""
    root = tmp_path / "photos"
    monkeypatch.setitem(app.extensions, "photo_store", LocalPhotoStore(root))
    return root


def damaged(data: bytes, at: int) -> bytes:
    return data[:at] + bytes([data[at] ^ 0xFF]) + data[at + 1 :]


def png_header_only(width: int, height: int) -> bytes:
    """A valid PNG signature and header declaring a huge image, then almost no pixel data."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body)
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + chunk(b"IEND", b"")
    )


def stored_files(store: Path) -> list[Path]:
    return [path for path in store.rglob("*") if path.is_file()] if store.exists() else []


def load(app, photo_id: str) -> tuple[Photo, Image.Image, Image.Image]:
    """The photo's row and its stored image and thumbnail, reopened from their bytes."""
    with app.app_context():
        photo = service.get_photo(photo_id)
        image = Image.open(io.BytesIO(service.open_image(photo)))
        thumbnail = Image.open(io.BytesIO(service.open_thumbnail(photo)))
        image.load()
        thumbnail.load()
        return photo, image, thumbnail


@pytest.mark.parametrize(
    ("image_format", "filename", "content_type"),
    [
        ("JPEG", "meal.jpg", "image/jpeg"),
        ("PNG", "meal.png", "image/png"),
        ("WEBP", "meal.webp", "image/webp"),
    ],
)
def test_jpeg_png_and_webp_are_stored_as_jpeg(
    app, client, store, image_format, filename, content_type
):
    me = sign_in(client)
    data = encode(photo_like(1), image_format)
    response = upload(client, me, data, filename, content_type)
    assert response.status_code == 201, response.json
    body = response.json
    assert set(body) == {"photo_id", "width", "height"}
    assert len(body["photo_id"]) == 32
    int(body["photo_id"], 16)
    assert (body["width"], body["height"]) == (1200, 900)
    photo, image, thumbnail = load(app, body["photo_id"])
    assert photo.resident_id == me.resident["id"]
    assert image.format == thumbnail.format == "JPEG"
    assert image.mode == "RGB"
    assert image.size == (1200, 900)
    year_month = photo.created_at.strftime("%Y/%m")
    assert photo.storage_key == f"{year_month}/{photo.id}.jpg"
    assert photo.thumbnail_key == f"{year_month}/{photo.id}_thumb.jpg"
    assert sorted(stored_files(store)) == sorted(
        [store / photo.storage_key, store / photo.thumbnail_key]
    )
    assert photo.byte_size == (store / photo.storage_key).stat().st_size
    assert photo.duplicate_of_id is None


def test_format_is_judged_by_content_not_by_name(app, client):
    me = sign_in(client)
    response = upload(client, me, encode(photo_like(2), "PNG"), "meal.jpg", "image/jpeg")
    assert response.status_code == 201, response.json
    _photo, image, _thumbnail = load(app, response.json["photo_id"])
    assert image.format == "JPEG"


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (encode(photo_like(3, (200, 150)), "GIF"), "photo_format_unsupported"),
        (encode(photo_like(3, (200, 150)), "BMP"), "photo_format_unsupported"),
        ("今天的午餐吃得很干净。\n".encode() * 100, "photo_format_unsupported"),
        (b"", "photo_format_unsupported"),
        (encode(photo_like(3), "JPEG")[:20_000], "photo_unreadable"),
        (encode(photo_like(3), "WEBP")[:2_000], "photo_unreadable"),
        (damaged(encode(photo_like(3), "PNG"), at=40), "photo_unreadable"),
        (damaged(encode(photo_like(3), "PNG"), at=1_000), "photo_unreadable"),
    ],
    ids=[
        "gif",
        "bmp",
        "text",
        "empty",
        "truncated-jpeg",
        "truncated-webp",
        "bad-png-chunk",
        "bad-png-pixels",
    ],
)
def test_anything_but_a_whole_jpeg_png_or_webp_is_refused(client, store, data, code):
    me = sign_in(client)
    response = upload(client, me, data, "meal.jpg", "image/jpeg")
    assert response.status_code == 422, response.json
    error = response.json["error"]
    assert error["code"] == code
    assert list(error["fields"]) == ["file"]
    assert stored_files(store) == []


def unusual_but_valid() -> dict[str, bytes]:
    image, other = photo_like(14, (400, 300)), photo_like(15, (400, 300))
    return {
        "cmyk-jpeg": encode(image.convert("CMYK"), "JPEG"),
        "progressive-jpeg": encode(image, "JPEG", progressive=True),
        "mpo-jpeg": encode(image, "MPO", save_all=True, append_images=[other]),
        "16-bit-grey-png": encode(image.convert("L").convert("I;16"), "PNG"),
        "palette-png": encode(image.convert("P"), "PNG", transparency=0),
        "animated-png": encode(image, "PNG", save_all=True, append_images=[other]),
        "animated-webp": encode(image, "WEBP", save_all=True, append_images=[other]),
        "transparent-webp": encode(image.convert("RGBA"), "WEBP"),
    }


@pytest.mark.parametrize("kind", list(unusual_but_valid()))
def test_unusual_modes_and_animations_are_stored_as_their_first_frame(app, client, kind):
    me = sign_in(client)
    response = upload(client, me, unusual_but_valid()[kind])
    assert response.status_code == 201, response.json
    _photo, image, _thumbnail = load(app, response.json["photo_id"])
    assert (image.format, image.mode, image.size) == ("JPEG", "RGB", (400, 300))


def test_refusals_speak_the_clients_language(client):
    me = sign_in(client)
    headers = {**me.headers, "Accept-Language": "en"}
    response = client.post(
        UPLOAD,
        data={"file": (io.BytesIO(b"GIF89a"), "meal.gif")},
        headers=headers,
        content_type="multipart/form-data",
    )
    assert response.json["error"]["fields"] == {"file": ["Send a JPEG, PNG or WebP photo."]}
    chinese = upload(client, me, b"GIF89a").json["error"]
    assert chinese["fields"] == {"file": ["请上传 JPEG、PNG 或 WebP 格式的照片。"]}


def test_a_photo_over_the_byte_limit_is_413(app, client, store, monkeypatch):
    me = sign_in(client)
    data = encode(photo_like(4), "PNG")
    monkeypatch.setitem(app.config, "PHOTO_MAX_BYTES", len(data) - 1)
    response = upload(client, me, data, "meal.png", "image/png")
    assert response.status_code == 413, response.json
    assert response.json["error"]["code"] == "photo_too_large"
    assert list(response.json["error"]["fields"]) == ["file"]
    assert stored_files(store) == []

    monkeypatch.setitem(app.config, "PHOTO_MAX_BYTES", len(data))
    assert upload(client, me, data, "meal.png", "image/png").status_code == 201


@pytest.mark.parametrize(
    ("width", "height"),
    [(30_000, 30_000), (10_000, 10_000), (8_000, 6_000)],
    ids=["past-pillows-error", "past-pillows-warning", "past-our-limit"],
)
def test_a_decompression_bomb_is_refused_from_its_header(client, store, width, height):
    me = sign_in(client)
    data = png_header_only(width, height)
    assert len(data) < 200
    response = upload(client, me, data, "meal.png", "image/png")
    # Decoding would have found the pixel data missing (422): 413 means it never started.
    assert response.status_code == 413, response.json
    assert response.json["error"]["code"] == "photo_too_many_pixels"
    assert stored_files(store) == []


def test_a_real_highly_compressible_image_over_the_pixel_limit_is_refused(
    app, client, store, db_session, monkeypatch
):
    me = sign_in(client)
    monkeypatch.setitem(app.config, "PHOTO_MAX_PIXELS", 1_000_000)
    data = encode(Image.new("RGB", (1001, 1000), "white"), "PNG")
    assert len(data) < 10_000
    response = upload(client, me, data, "meal.png", "image/png")
    assert response.status_code == 413, response.json
    assert response.json["error"]["code"] == "photo_too_many_pixels"
    assert stored_files(store) == []
    assert db_session.scalar(select(func.count()).select_from(Photo)) == 0


def gps_exif() -> Image.Exif:
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "Phone"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (23.0, 3.0, 0.0)
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = (112.0, 28.0, 0.0)
    return exif


def test_exif_gps_and_colour_profile_are_not_stored(app, client):
    me = sign_in(client)
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    data = encode(photo_like(5), "JPEG", exif=gps_exif(), icc_profile=icc)
    original = Image.open(io.BytesIO(data))
    assert original.getexif().get_ifd(ExifTags.IFD.GPSInfo)  # the upload does carry GPS
    response = upload(client, me, data)
    assert response.status_code == 201, response.json
    _photo, image, thumbnail = load(app, response.json["photo_id"])
    for stored in (image, thumbnail):
        assert not stored.getexif()
        assert not stored.getexif().get_ifd(ExifTags.IFD.GPSInfo)
        assert "exif" not in stored.info
        assert "icc_profile" not in stored.info
        assert "xmp" not in stored.info


def test_exif_orientation_is_applied_before_storing(app, client):
    me = sign_in(client)
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6  # the camera was turned: show rotated 90° clockwise
    response = upload(client, me, encode(photo_like(6), "JPEG", exif=exif))
    assert response.status_code == 201, response.json
    assert (response.json["width"], response.json["height"]) == (900, 1200)
    _photo, image, _thumbnail = load(app, response.json["photo_id"])
    assert image.size == (900, 1200)


def test_stored_image_and_thumbnail_are_bounded(app, client, monkeypatch):
    me = sign_in(client)
    monkeypatch.setitem(app.config, "PHOTO_MAX_EDGE", 600)
    response = upload(client, me, encode(photo_like(7, (1500, 1000)), "PNG"), "meal.png")
    assert response.status_code == 201, response.json
    assert (response.json["width"], response.json["height"]) == (600, 400)
    photo, image, thumbnail = load(app, response.json["photo_id"])
    assert image.size == (photo.width, photo.height) == (600, 400)
    assert thumbnail.size == (320, 213)


def test_transparent_png_is_flattened_onto_white(app, client):
    me = sign_in(client)
    image = photo_like(8).convert("RGBA")
    image.putalpha(0)
    response = upload(client, me, encode(image, "PNG"), "meal.png")
    assert response.status_code == 201, response.json
    _photo, stored, _thumbnail = load(app, response.json["photo_id"])
    assert stored.getpixel((600, 450)) >= (250, 250, 250)


def test_a_recompressed_copy_uploaded_by_anyone_is_flagged_and_another_photo_is_not(app, client):
    first, second = sign_in(client), sign_in(client)
    original_image = photo_like(12)
    original = upload(client, first, encode(original_image, "PNG"), "meal.png").json
    copy = original_image.resize((800, 600), Image.Resampling.BILINEAR)
    copy = Image.open(io.BytesIO(encode(copy, "WEBP", quality=70)))
    copied = upload(client, second, encode(copy, "JPEG", quality=60)).json
    unrelated = upload(client, second, encode(photo_like(13), "JPEG")).json

    with app.app_context():
        original_photo = service.get_photo(original["photo_id"])
        copied_photo = service.get_photo(copied["photo_id"])
        unrelated_photo = service.get_photo(unrelated["photo_id"])
        assert service.photo_flags(original_photo) == []
        assert copied_photo.duplicate_of_id == original_photo.id
        assert service.photo_flags(copied_photo) == ["duplicate_photo"]
        assert unrelated_photo.duplicate_of_id is None
        assert service.photo_flags(unrelated_photo) == []
        assert (original_photo.dhash ^ unrelated_photo.dhash).bit_count() > 3


def test_fingerprint_is_kept_as_signed_64_bits_and_four_bands(app, client):
    me = sign_in(client)
    created = upload(client, me, encode(photo_like(11), "JPEG")).json
    with app.app_context():
        photo = service.get_photo(created["photo_id"])
        fingerprint = photo.dhash & 0xFFFF_FFFF_FFFF_FFFF
        image = Image.open(io.BytesIO(service.open_image(photo)))
        assert -(2**63) <= photo.dhash < 2**63
        assert fingerprint == service.difference_hash(image.convert("RGB"))
        bands = [photo.dhash_band0, photo.dhash_band1, photo.dhash_band2, photo.dhash_band3]
        assert bands == [(fingerprint >> (16 * i)) & 0xFFFF for i in range(4)]


def test_a_photo_serves_only_its_owner_for_an_action(app, client):
    owner, other = sign_in(client), sign_in(client)
    created = upload(client, owner, encode(photo_like(12), "JPEG")).json
    with app.app_context():
        photo = service.photo_for_action(owner.resident["id"], created["photo_id"])
        assert photo.id == created["photo_id"]
        refusals = []
        for resident_id, photo_id in [
            (other.resident["id"], created["photo_id"]),
            (owner.resident["id"], "0" * 32),
        ]:
            with pytest.raises(ValidationFailed) as refused:
                service.photo_for_action(resident_id, photo_id)
            refusals.append((refused.value.code, refused.value.fields))
    # Another's photo and an unknown one are refused alike: nothing tells them apart.
    assert refusals[0] == refusals[1]
    assert refusals[0][0] == "photo_not_found"
    assert list(refusals[0][1]) == ["photo_id"]


def test_upload_needs_a_signed_in_resident(client, store):
    response = client.post(
        UPLOAD,
        data={"file": (io.BytesIO(encode(photo_like(13), "JPEG")), "meal.jpg")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 401
    assert response.json["error"]["code"] == "unauthorized"
    assert stored_files(store) == []


def test_upload_without_a_file_is_422(client):
    me = sign_in(client)
    response = client.post(
        UPLOAD, data={"note": "no file"}, headers=me.headers, content_type="multipart/form-data"
    )
    assert response.status_code == 422, response.json
    assert response.json["error"]["code"] == "validation_error"
    assert "file" in response.json["error"]["fields"]


def test_upload_is_documented_as_multipart(client):
    spec = client.get("/api/openapi.json").json
    body = spec["paths"][UPLOAD]["post"]["requestBody"]["content"]["multipart/form-data"]
    schema = body["schema"]
    if "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    assert schema["properties"]["file"] == {
        "type": "string",
        "format": "binary",
        "description": schema["properties"]["file"]["description"],
    }
    assert "201" in spec["paths"][UPLOAD]["post"]["responses"]


def test_a_form_field_beside_the_file_is_refused_not_ignored(client):
    # Found by fuzzing: the document says the upload holds `file` only.
    me = sign_in(client)
    response = client.post(
        "/api/v1/photos",
        data={
            "file": (io.BytesIO(encode(photo_like(5), "JPEG")), "meal.jpg", "image/jpeg"),
            "resident_id": "1",
        },
        headers=me.headers,
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    assert response.json["error"]["fields"] == {"resident_id": ["未知字段。"]}
