"""Console methodology page: factors in force and history for every role; publishing a new
version (pasted or uploaded) for superadmin only; a published version is never edited."""

import copy
import io
import json

import pytest

from points.methodology.service import read_packaged_file
from tests.factories import console_sign_in, csrf_token, form_tokens


def _newer(version: str = "2099.1") -> dict:
    data = copy.deepcopy(read_packaged_file())
    data["methodology_version"] = version
    for row in data["factors"]:
        if row["variant"] == "bike":
            row["avoided_g_per_unit"] = 50
    return data


def _publish(client, content: str | None = None, upload: bytes | None = None):
    data = {**form_tokens(csrf_token(client, "/admin/methodology")), "content": content or ""}
    if upload is not None:
        data["file"] = (io.BytesIO(upload), "factors.json", "application/json")
    return client.post("/admin/methodology/publish", data=data, content_type="multipart/form-data")


@pytest.mark.parametrize("role", ["analyst", "reviewer", "campaign_admin", "superadmin"])
def test_every_role_reads_the_factors_in_force_with_units_and_sources(app, client, role):
    console_sign_in(app, client, role)
    page = client.get("/admin/methodology")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert 'id="methodology-version">2026.2<' in text
    assert 'id="factors-in-force-trip-bike"' in text and "93.3" in text and "武碳江湖" in text
    assert ('id="methodology-publish"' in text) == (role == "superadmin")


def test_a_new_version_is_published_and_served_by_the_api(app, client):
    username = console_sign_in(app, client, "superadmin")
    done = _publish(client, json.dumps(_newer()))
    assert done.status_code == 302
    assert client.get("/api/v1/methodology").json["version"] == "2099.1"
    page = client.get("/admin/methodology").get_data(as_text=True)
    assert 'id="methodology-version">2099.1<' in page
    assert 'id="version-2026.2"' in page and 'id="version-2099.1"' in page
    log = client.get(f"/admin/audit?q=methodology.publish&staff={username}").get_data(as_text=True)
    assert 'data-target="methodology_version">方法学版本 #2099.1<' in log


def test_an_uploaded_file_is_published_too(app, client):
    console_sign_in(app, client, "superadmin")
    data = json.dumps(_newer("2099.2"), ensure_ascii=False).encode()
    assert _publish(client, upload=data).status_code == 302
    assert client.get("/api/v1/methodology").json["version"] == "2099.2"


def test_editing_a_published_version_is_refused(app, client):
    console_sign_in(app, client, "superadmin")
    edited = _newer("2026.2")
    refused = _publish(client, json.dumps(edited))
    assert refused.status_code == 409
    assert "请发布新版本" in refused.get_data(as_text=True)
    same = _publish(client, json.dumps(read_packaged_file()))
    assert same.status_code == 409
    factors = client.get("/api/v1/methodology").json["factors"]
    assert {f["variant"]: f["avoided_g_per_unit"] for f in factors}["bike"] == 93.3


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: "{not json", "不是有效的 JSON"),
        (lambda d: json.dumps({**d, "factors": d["factors"][1:]}), "缺少现行的排放因子"),
        (
            lambda d: json.dumps({k: v for k, v in d.items() if k != "review"}),
            'data-field="review"',
        ),
        (
            lambda d: json.dumps(
                {**d, "factors": [{**d["factors"][0], "avoided_g_per_unit": 1.23456}]}
            ),
            "最多 3 位小数",
        ),
        (lambda d: json.dumps({**d, "factors": [*d["factors"], d["factors"][0]]}), "只能出现一次"),
    ],
)
def test_an_incomplete_or_malformed_file_is_refused(app, client, change, message):
    console_sign_in(app, client, "superadmin")
    refused = _publish(client, change(_newer("2099.3")))
    assert refused.status_code == 422
    assert message in refused.get_data(as_text=True)
    assert client.get("/api/v1/methodology").json["version"] == "2026.2"


@pytest.mark.parametrize("role", ["analyst", "reviewer", "campaign_admin"])
def test_only_superadmin_publishes(app, client, role):
    console_sign_in(app, client, role)
    token = csrf_token(client, "/admin/methodology")
    refused = client.post(
        "/admin/methodology/publish",
        data={**form_tokens(token), "content": json.dumps(_newer())},
    )
    assert refused.status_code == 403
    assert client.get("/api/v1/methodology").json["version"] == "2026.2"
