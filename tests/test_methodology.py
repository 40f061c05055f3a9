"""The methodology: published as loaded, versioned, never edited, never retroactive."""

import copy

import pytest

from points.actions.models import Action
from points.methodology.service import MethodologyError, load_methodology, read_packaged_file
from tests.factories import record, sign_in, trip


def test_methodology_in_force_is_public_with_units_and_sources(client):
    data = read_packaged_file()
    response = client.get("/api/v1/methodology")
    assert response.status_code == 200
    body = response.json
    assert body["version"] == data["methodology_version"]
    assert body["grams_per_point"] == data["grams_per_point"]
    assert body["daily_point_caps"] == data["daily_point_caps"]
    published = {(f["action_type"], f["variant"]): f for f in body["factors"]}
    assert len(published) == len(data["factors"])
    for row in data["factors"]:
        factor = published[(row["action_type"], row["variant"])]
        assert factor["avoided_g_per_unit"] == row["avoided_g_per_unit"]
        assert factor["unit"] == row["unit"]
        assert factor["source"] == row["source"]


def test_loading_the_same_version_again_changes_nothing(app, db_session):
    with app.app_context():
        assert load_methodology().endswith("unchanged")


def test_a_published_version_cannot_be_edited(app, db_session):
    edited = copy.deepcopy(read_packaged_file())
    edited["factors"][0]["avoided_g_per_unit"] = 99
    with app.app_context(), pytest.raises(MethodologyError, match="publish a new version"):
        load_methodology(edited)


def test_a_new_version_applies_to_new_actions_only(app, client, db_session):
    me = sign_in(client)
    before = record(client, me, trip("bike", 10, 40, ended_minutes_ago=60)).json
    newer = copy.deepcopy(read_packaged_file())
    newer["methodology_version"] = "2099.1"
    for row in newer["factors"]:
        if row["variant"] == "bike":
            row["avoided_g_per_unit"] = 50
    with app.app_context():
        load_methodology(newer)
        db_session.commit()
    after = record(client, me, trip("bike", 10, 40, ended_minutes_ago=5)).json
    assert after["factor_version"] == "2099.1"
    assert after["co2e_g"] == 500
    again = client.get(f"/api/v1/actions/{before['id']}", headers=me.headers).json
    assert again["factor_version"] == before["factor_version"]
    assert again["co2e_g"] == before["co2e_g"] == 933
    assert db_session.get(Action, before["id"]).factor.avoided_mg_per_unit == 93300
    assert client.get("/api/v1/methodology").json["version"] == "2099.1"


def test_factors_with_more_than_milligram_precision_are_refused(app, db_session):
    odd = copy.deepcopy(read_packaged_file())
    odd["methodology_version"] = "odd"
    odd["factors"][0]["avoided_g_per_unit"] = 1.23456
    with app.app_context(), pytest.raises(MethodologyError):
        load_methodology(odd)
