"""Photo reuse (issue 19, attack 6): turned, flipped, mirrored, lightly cropped and
brightened copies of anyone's earlier photo are flagged; distinct photos are not."""

from __future__ import annotations

import pytest
from PIL import Image, ImageEnhance
from sqlalchemy import delete, func, select

from points.photos.models import Photo, PhotoFingerprint
from tests.factories import (
    console_post,
    console_sign_in,
    encode,
    photo_like,
    record,
    sign_in,
    staff_headers,
    upload,
)

REVIEWS = "/api/v1/staff/reviews"


def meal(photo_id: str) -> dict:
    return {"type": "clean_plate", "photo_id": photo_id, "venue": "端州区职工食堂"}


def crop(image: Image.Image, left: float, top: float, right: float, bottom: float):
    width, height = image.size
    box = (width * left, height * top, width * (1 - right), height * (1 - bottom))
    return image.crop(tuple(round(edge) for edge in box))


COPIES = {
    "flipped upside down": lambda i: i.transpose(Image.Transpose.FLIP_TOP_BOTTOM),
    "mirrored": lambda i: i.transpose(Image.Transpose.FLIP_LEFT_RIGHT),
    "turned 90": lambda i: i.transpose(Image.Transpose.ROTATE_90),
    "turned 180": lambda i: i.transpose(Image.Transpose.ROTATE_180),
    "turned 270": lambda i: i.transpose(Image.Transpose.ROTATE_270),
    "cropped 5% all round": lambda i: crop(i, 0.05, 0.05, 0.05, 0.05),
    "cropped 10% all round": lambda i: crop(i, 0.1, 0.1, 0.1, 0.1),
    "cropped unevenly": lambda i: crop(i, 0.08, 0.03, 0.1, 0.05),
    "cropped on one side": lambda i: crop(i, 0.1, 0, 0, 0),
    "brightened": lambda i: ImageEnhance.Brightness(i).enhance(1.3),
    "brightened and mirrored": lambda i: ImageEnhance.Brightness(
        i.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    ).enhance(1.25),
    "turned 90 and cropped": lambda i: crop(
        i.transpose(Image.Transpose.ROTATE_90), 0.06, 0.06, 0.06, 0.06
    ),
}


@pytest.fixture
def reviewer(app, client):
    return staff_headers(app, client, "reviewer")


@pytest.mark.parametrize("how", list(COPIES))
def test_attack_6_a_changed_copy_of_someone_elses_photo_goes_to_review_flagged(
    client, reviewer, how
):
    alice, bob = sign_in(client), sign_in(client)
    original = photo_like(41)
    first = upload(client, alice, encode(original, "JPEG", quality=90)).json["photo_id"]
    assert record(client, alice, meal(first)).json["flags"] == []

    copy = COPIES[how](original)
    reused = upload(client, bob, encode(copy, "JPEG", quality=75))
    assert reused.status_code == 201, reused.json
    action = record(client, bob, meal(reused.json["photo_id"])).json
    assert action["flags"] == ["duplicate_photo"]
    assert action["status"] == "pending_review"
    queue = client.get(REVIEWS, headers=reviewer).json["items"]
    assert [i["flags"] for i in queue if i["id"] == action["id"]] == [["duplicate_photo"]]


def test_distinct_photos_are_not_flagged(app, client, db_session, monkeypatch):
    """Sixty different generated meals by four residents, in four shapes: none of them is
    taken for anyone's copy."""
    monkeypatch.setitem(app.config, "PHOTO_LIMIT_PER_RESIDENT", "60 per minute")  # a burst
    residents = [sign_in(client) for _ in range(4)]
    shapes = [(1200, 900), (900, 1200), (1024, 1024), (1600, 900)]
    uploaded = []
    for seed in range(200, 260):
        image = photo_like(seed, shapes[seed % 4])
        response = upload(client, residents[seed % 4], encode(image, "JPEG", quality=85))
        assert response.status_code == 201, response.json
        uploaded.append(response.json["photo_id"])
    flagged = db_session.scalars(
        select(Photo.id).where(Photo.id.in_(uploaded), Photo.duplicate_of_id.is_not(None))
    )
    assert list(flagged) == []
    # ... and a meal with one of them is recorded unflagged.
    action = record(client, residents[0], meal(uploaded[0])).json
    assert action["flags"] == []


def test_photos_stored_before_fingerprints_are_backfilled_from_their_images(
    app, client, db_session
):
    alice, bob = sign_in(client), sign_in(client)
    original = photo_like(43)
    first = upload(client, alice, encode(original, "JPEG", quality=90)).json["photo_id"]
    rows = select(func.count()).select_from(PhotoFingerprint)
    kept = db_session.scalar(rows.where(PhotoFingerprint.photo_id == first))
    assert kept >= 9  # the photo and its light crops
    # As the migration leaves a photo stored before it: no fingerprints.
    db_session.execute(delete(PhotoFingerprint).where(PhotoFingerprint.photo_id == first))
    db_session.flush()

    result = app.test_cli_runner().invoke(args=["photos", "fingerprint"])
    assert result.exit_code == 0, result.output
    assert "photos fingerprinted: 1" in result.output
    assert db_session.scalar(rows.where(PhotoFingerprint.photo_id == first)) == kept
    again = app.test_cli_runner().invoke(args=["photos", "fingerprint"])
    assert "photos fingerprinted: 0" in again.output

    turned = original.transpose(Image.Transpose.ROTATE_90)
    copied = upload(client, bob, encode(turned, "JPEG", quality=80)).json["photo_id"]
    assert record(client, bob, meal(copied)).json["flags"] == ["duplicate_photo"]


def test_the_console_shows_how_each_action_was_verified(app, client, reviewer):
    """A meal waiting for review is the resident's word; approved, a reviewer's; in the
    resident's history and the review queue, in Chinese and, switched, in English."""
    me = sign_in(client)
    first = upload(client, me, encode(photo_like(51), "JPEG")).json["photo_id"]
    waiting = record(client, me, meal(first)).json
    approved = record(
        client, me, meal(upload(client, me, encode(photo_like(52), "JPEG")).json["photo_id"])
    ).json
    assert client.post(f"{REVIEWS}/{approved['id']}/approve", headers=reviewer).status_code == 200

    console_sign_in(app, client, "campaign_admin")
    queue = client.get("/admin/review").get_data(as_text=True)
    assert f'id="verification-{waiting["id"]}"' in queue
    assert "自行申报" in queue.split(f'id="verification-{waiting["id"]}"')[1].split("</dd>")[0]
    history_url = f"/admin/residents/{me.resident['id']}"
    history = client.get(history_url).get_data(as_text=True)
    cell = lambda html, action: html.split(f'id="verification-{action["id"]}"')[1].split("</td>")[0]  # noqa: E731
    assert "人工审核" in cell(history, approved)
    assert "自行申报" in cell(history, waiting)
    assert "核验方式" in history

    console_post(client, "/admin/lang/en", {"next": history_url}, history_url)
    english = client.get(history_url).get_data(as_text=True)
    assert "Verified by a reviewer" in cell(english, approved)
    assert "Self-declared" in cell(english, waiting)
