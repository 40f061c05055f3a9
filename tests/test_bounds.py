"""Bodies bounded (issue 20): no body of any shape or size gives a 500, a JSON body is
refused past its route family's size before it is read, and photo uploads are limited per
resident and decoded in bounded slots."""

from __future__ import annotations

import io
import json
import threading

import pytest

from backend.json_bounds import JsonLimits, JsonRefused, loads
from points.photos.service import DecodingPool
from tests.factories import encode, photo_like, sign_in, trip, upload
from tests.test_photos import png_header_only

DEEP = '{"phone": ' + "[" * 1500 + "]" * 1500 + "}"
HOSTILE = {
    # The attacks of the issue: RecursionError and Python's int-string limit were 500s.
    "deep-array": (DEEP, "deeper than 32 levels"),
    "deep-object": ('{"phone": ' + '{"a": ' * 1500 + "1" + "}" * 1500 + "}", "deeper than 32"),
    "5000-digit-integer": ('{"phone": ' + "9" * 5000 + "}", "longer than 40 characters"),
    "long-decimal": ('{"phone": 0.' + "1" * 5000 + "}", "longer than 40 characters"),
    "overflowing-float": ('{"phone": 1e999}', "too large to represent"),
    "nan": ('{"phone": NaN}', "NaN or Infinity"),
    "infinity": ('{"phone": -Infinity}', "NaN or Infinity"),
    "lone-surrogate": ('{"phone": "\\udc00"}', "not valid Unicode"),
    "lone-surrogate-key": ('{"\\ud800": 1}', "not valid Unicode"),
    "duplicate-key": ('{"phone": "13800000000", "phone": "13800000001"}', "same key twice"),
    "not-utf8": (b'{"phone": "\xff"}', "not UTF-8"),
    "syntax": ('{"phone": [1,', "line 1, column 14"),
}


def post_json(client, path, data, headers=None, method="post"):
    return getattr(client, method)(
        path, data=data, content_type="application/json", headers=headers or {}
    )


@pytest.mark.parametrize(("body", "reason"), HOSTILE.values(), ids=HOSTILE.keys())
def test_a_hostile_body_is_400_invalid_json_naming_its_reason(client, body, reason):
    response = post_json(client, "/api/v1/auth/otp", body, {"Accept-Language": "en"})
    assert response.status_code == 400, response.json
    assert response.json["error"]["code"] == "invalid_json"
    assert reason in response.json["error"]["message"]


def test_the_reason_speaks_the_clients_language(client):
    response = post_json(client, "/api/v1/auth/otp", DEEP)
    assert response.json["error"]["message"] == "请求内容中数组和对象的嵌套超过 32 层。"


def test_signed_in_endpoints_refuse_deep_and_huge_bodies_too(client):
    me = sign_in(client)
    headers = {**me.headers, "Idempotency-Key": "k1"}
    for body in (DEEP, '{"nickname": ' + "1" * 5000 + "}"):
        assert post_json(client, "/api/v1/actions", body, headers).status_code == 400
        assert post_json(client, "/api/v1/me", body, me.headers, "patch").status_code == 400


def test_brackets_and_digits_inside_strings_are_only_text(client):
    body = json.dumps({"phone": "[" * 100 + "9" * 100, "x": "\\" + "[" * 50})
    response = post_json(client, "/api/v1/auth/otp", body)
    assert response.status_code == 422  # a bad phone and an unknown field: parsed fine
    assert set(response.json["error"]["fields"]) == {"phone", "x"}


def test_parser_unit_cases():
    limits = JsonLimits(max_depth=3, max_number_chars=6)
    assert loads(b'{"a": [[1]], "b": "\\ud83d\\ude00 [[[["}', limits) == {
        "a": [[1]],
        "b": "\U0001f600 [[[[",
    }
    assert loads("[-1.5e3, 12345]", limits) == [-1500.0, 12345]
    for text in ("[[[[1]]]]", "[1234567]", '{"a": 1, "a": 2}', ""):
        with pytest.raises(JsonRefused):
            loads(text, limits)


def test_a_json_body_past_its_route_limit_is_413_before_it_is_read(app, client):
    class Unreadable(io.BytesIO):
        def read(self, *args):
            raise AssertionError("the body was read")

        readline = readinto = read

    response = client.post(
        "/api/v1/auth/otp",
        input_stream=Unreadable(),
        content_type="application/json",
        environ_overrides={"CONTENT_LENGTH": str(app.config["JSON_BODY_MAX_BYTES"] + 1)},
    )
    assert response.status_code == 413
    assert response.json["error"]["code"] == "payload_too_large"
    assert response.json["error"]["message"] == "请求内容不得超过 64 KB。"


def test_six_10_mb_arrays_cost_nothing(client):
    body = "[" + "0," * (5 * 2**20) + "0]"
    for _ in range(6):
        assert post_json(client, "/api/v1/auth/otp", body).status_code == 413


def test_a_trip_with_the_longest_trace_fits_its_route(app, client):
    """5,000 points at full double precision, as a client may send them (~300 KB): over
    the ordinary limit, within the actions' one."""
    me = sign_in(client)
    body = trip("bike", 5, 60)
    start = body["trace"][0][2]
    body["trace"] = [
        [112.46512345678901 + i * 1e-6, 23.047123456789012, start + i * 0.7123456789]
        for i in range(app.config["TRACE_MAX_POINTS"])
    ]
    raw = json.dumps(body)
    assert app.config["JSON_BODY_MAX_BYTES"] < len(raw) < app.config["ACTION_BODY_MAX_BYTES"]
    headers = {**me.headers, "Idempotency-Key": "longest"}
    response = post_json(client, "/api/v1/actions", raw, headers)
    assert response.status_code not in (400, 413), response.json


def test_a_non_json_body_to_a_json_endpoint_is_415_without_reading_it(client):
    response = client.post(
        "/api/v1/auth/otp", data="x" * 100_000, content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 415


# Photos


def test_photo_uploads_are_limited_per_resident(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "PHOTO_LIMIT_PER_RESIDENT", "2 per minute")
    alice, bob = sign_in(client), sign_in(client)
    data = encode(photo_like(7, (160, 120)), "JPEG")
    assert [upload(client, alice, data).status_code for _ in range(3)] == [201, 201, 429]
    assert upload(client, bob, data).status_code == 201  # per resident, not per address


@pytest.mark.parametrize(("queue", "wait_seconds"), [(1, 0), (0, 5)], ids=["late", "queue-full"])
def test_an_upload_that_cannot_be_decoded_soon_is_503_busy(
    app, client, monkeypatch, queue, wait_seconds
):
    """Another upload being decoded: with a queue place, past the wait; without one, at once."""
    pool = DecodingPool(1, queue, wait_seconds)
    monkeypatch.setitem(app.extensions, "photo_decoding", pool)
    me = sign_in(client)
    data = encode(photo_like(8, (160, 120)), "JPEG")
    decoding = threading.Event()
    started = threading.Event()
    other = threading.Thread(target=pool.run, args=(lambda: started.set() or decoding.wait(),))
    other.start()
    started.wait()
    response = upload(client, me, data)
    decoding.set()
    other.join()
    assert response.status_code == 503
    assert response.json["error"]["code"] == "busy"
    assert int(response.headers["Retry-After"]) >= 1
    monkeypatch.setitem(app.extensions, "photo_decoding", DecodingPool(1, 0, 5))
    assert upload(client, me, data).status_code == 201


def test_a_png_declaring_36_megapixels_is_refused_from_its_header(app, client):
    """The issue's ten 105 KB PNGs declaring 36 MP: under PHOTO_MAX_PIXELS, but a PNG
    decodes every pixel it declares; refused before any is decoded."""
    me = sign_in(client)
    assert app.config["PHOTO_MAX_PIXELS"] > 36_000_000
    response = upload(client, me, png_header_only(6000, 6000), "meal.png", "image/png")
    assert response.status_code == 413, response.json
    assert response.json["error"]["code"] == "photo_too_many_pixels"
    assert "16" in response.json["error"]["message"]  # PHOTO_MAX_FULL_DECODE_PIXELS, in millions


def test_a_number_with_a_fraction_is_refused_where_an_integer_is_asked(app, client):
    """Points, stock and bonuses are what the client meant or refused: never cut down
    (112.465 was accepted as a join bonus of 112)."""
    from tests.factories import make_campaign, staff_headers

    staff = staff_headers(app, client, "campaign_admin")
    before = client.get("/api/v1/staff/campaigns", headers=staff).json["items"]
    body = {
        "title": "全国低碳日",
        "starts_at": "2026-11-18T08:00:00+08:00",
        "ends_at": "2026-11-25T08:00:00+08:00",
    }
    refused = client.post(
        "/api/v1/staff/campaigns", json={**body, "join_bonus": 112.465}, headers=staff
    )
    assert refused.status_code == 422
    assert list(refused.json["error"]["fields"]) == ["join_bonus"]
    assert client.get("/api/v1/staff/campaigns", headers=staff).json["items"] == before

    # A whole number written with a point is still that number.
    campaign = make_campaign(client, staff, join_bonus=20.0)
    assert campaign["rules"]["join_bonus"] == 20
    stock = client.post(
        "/api/v1/staff/rewards",
        json={"title": "券", "cost_points": 10.5, "stock": 1},
        headers=staff,
    )
    assert stock.status_code == 422 and "cost_points" in stock.json["error"]["fields"]
