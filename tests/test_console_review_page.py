"""A review item's page: the full-size photo for reviewers only, the earlier photo it was
flagged a copy of beside it, the resident's own history, and decisions that move on."""

import re

from tests.factories import (
    console_post,
    console_sign_in,
    encode,
    make_resident,
    photo_like,
    record,
    upload,
    upload_photo,
)

QUEUE = "/admin/review"


def meal(photo_id: str) -> dict:
    return {"type": "clean_plate", "photo_id": photo_id, "venue": "端州区食堂"}


def pending_meal(client, resident, seed: int) -> dict:
    action = record(client, resident, meal(upload_photo(client, resident, seed=seed))).json
    assert action["status"] == "pending_review", action
    return action


def status_of(client, resident, action) -> str:
    return client.get(f"/api/v1/actions/{action['id']}", headers=resident.headers).json["status"]


def test_the_full_size_photo_is_for_reviewers_only(app, client):
    resident = make_resident(client)
    action = pending_meal(client, resident, seed=3)
    url = f"{QUEUE}/photos/{action['photo_id']}/full.jpg"
    assert client.get(url).status_code == 302  # signed out: to the sign-in page
    console_sign_in(app, client, "reviewer")
    with client.get(url) as response:
        assert response.status_code == 200 and response.mimetype == "image/jpeg"
        assert "private" in response.headers["Cache-Control"]
        full = response.data
    with client.get(f"{QUEUE}/photos/{action['photo_id']}.jpg") as thumbnail:
        assert len(full) > len(thumbnail.data)  # the stored image, not the thumbnail
    own = client.get(f"/api/v1/photos/{action['photo_id']}", headers=resident.headers)
    assert own.data == full
    missing = client.get(f"{QUEUE}/photos/{'0' * 32}/full.jpg")
    assert missing.status_code == 404 and missing.mimetype == "text/html"
    console_sign_in(app, client, "analyst")  # a role without the review permission
    assert client.get(url).status_code == 403
    assert client.get(f"{QUEUE}/{action['id']}").status_code == 403


def test_the_page_shows_this_residents_history_and_rejections_only(app, client):
    alice, bob = make_resident(client), make_resident(client)
    refused = pending_meal(client, alice, seed=11)
    earlier = pending_meal(client, alice, seed=12)
    bobs = pending_meal(client, bob, seed=13)
    current = pending_meal(client, alice, seed=14)
    console_sign_in(app, client, "reviewer")
    rejected = console_post(client, f"{QUEUE}/{refused['id']}/reject", {"reason": "照片不是餐盘"})
    assert rejected.status_code == 302
    page = client.get(f"{QUEUE}/{current['id']}").get_data(as_text=True)
    history = page.split('id="resident-history"')[1]
    assert f'id="recent-{earlier["id"]}"' in history and f'id="recent-{refused["id"]}"' in history
    assert f'id="recent-{bobs["id"]}"' not in page and f'id="recent-{current["id"]}"' not in page
    row = history.split(f'id="recent-{refused["id"]}"')[1].split("</tr>")[0]
    assert "光盘行动" in row and "已驳回" in row and "待审核" in history
    rejections = history.split('id="rejections"')[1]
    assert f'id="rejection-{refused["id"]}"' in rejections and "照片不是餐盘" in rejections
    assert alice.phone not in page
    # The photo at full size, and the keys with their hint; script only from a file.
    assert f'src="/admin/review/photos/{current["photo_id"]}/full.jpg"' in page
    assert "快捷键" in page and 'id="approve"' in page and 'id="next-item"' in page
    assert "review.js" in page and not re.search(r"<script(?![^>]*\bsrc=)", page)
    # Bob's item shows none of Alice's.
    other = client.get(f"{QUEUE}/{bobs['id']}").get_data(as_text=True)
    assert 'id="no-recent"' in other and 'id="no-rejections"' in other
    assert client.get(f"{QUEUE}/999999").status_code == 404


def test_a_suspected_copy_shows_the_earlier_photo_beside_it_with_the_distance(app, client):
    alice, bob = make_resident(client), make_resident(client)
    original = pending_meal(client, alice, seed=7)
    copy = upload(client, bob, encode(photo_like(7).resize((800, 600)), "JPEG", quality=60))
    copied = record(client, bob, meal(copy.json["photo_id"])).json
    console_sign_in(app, client, "reviewer")
    page = client.get(f"{QUEUE}/{copied['id']}").get_data(as_text=True)
    beside = page.split('id="duplicate"')[1].split("</figure>")[0]
    assert f'src="/admin/review/photos/{original["photo_id"]}/full.jpg"' in beside
    bits = re.search(r'id="duplicate-distance">相差 (\d+) 位', beside)
    assert bits and int(bits.group(1)) <= app.config["PHOTO_REUSE_MAX_DISTANCE"]
    assert "疑似重复照片" in page.split('id="flags"')[1].split("</p>")[0]
    alone = client.get(f"{QUEUE}/{original['id']}").get_data(as_text=True)
    assert 'id="duplicate"' not in alone


def test_decisions_on_the_page_need_a_reason_to_reject_and_move_on(app, client):
    resident = make_resident(client)
    first, second = pending_meal(client, resident, 21), pending_meal(client, resident, 22)
    console_sign_in(app, client, "reviewer")
    page = f"{QUEUE}/{first['id']}"
    blank = console_post(client, f"{page}/reject", {"reason": " ", "return": "item"}, page)
    assert blank.status_code == 422
    text = blank.get_data(as_text=True)
    assert "长度须在 2 到 500 之间。" in text and 'id="review-item"' in text
    assert re.search(r'<input id="reason"[^>]*autofocus>', text)
    assert status_of(client, resident, first) == "pending_review"
    approved = console_post(client, f"{page}/approve", {"return": "item"}, page)
    assert approved.status_code == 302
    assert approved.headers["Location"] == f"{QUEUE}/{second['id']}"
    assert status_of(client, resident, first) == "approved"
    decided = client.get(page).get_data(as_text=True)
    assert 'id="already-decided"' in decided and 'id="approve"' not in decided
    last = f"{QUEUE}/{second['id']}"
    rejected = console_post(client, f"{last}/reject", {"reason": "看不清", "return": "item"}, last)
    assert rejected.status_code == 302 and rejected.headers["Location"] == QUEUE
    assert status_of(client, resident, second) == "rejected"
