"""The OpenAPI document is usable, not only valid: a typed client generated from it
(openapi-python-client, attrs models over httpx) drives a resident's whole journey.

The client is generated once per module from /api/openapi.json, with no post hooks and
nothing downloaded, and talks to the app in this process (httpx's WSGI transport): no live
server. Staff set up a campaign and a reward with the plain test client; everything the
resident does goes through the generated functions and models, and every answer is checked
as the typed value it was parsed into. A response schema that does not match what the
server sends fails here: a field the document does not name is dropped by the model (its
`to_dict()` no longer gives back what was sent), a missing one stays UNSET, a value of
another type is refused by the parser or fails the test's isinstance checks.
"""

from __future__ import annotations

import importlib
import io
import json
import subprocess
import sys
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest

from tests.factories import (
    encode,
    make_campaign,
    make_reward,
    new_phone,
    photo_like,
    run_worker,
    staff_headers,
    trip,
)

PACKAGE = "zq_client"
BASE_URL = "http://localhost"
BEIJING = timedelta(hours=8)
DISTRICT = "441202"
COMMUNITY = "城东街道"

# The generator's own settings: no post hooks (they would run formatters), and the binary
# responses (photos, PNG cards, XLSX) read as bytes: its parser knows octet-stream only.
GENERATOR_CONFIG = {
    "post_hooks": [],
    "package_name_override": PACKAGE,
    "content_type_overrides": {
        "image/jpeg": "application/octet-stream",
        "image/png": "application/octet-stream",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": (
            "application/octet-stream"
        ),
    },
}

# Modules of the generated package the journey uses, by the document's tags.
MODULES = {
    "privacy": "api.legal.get_api_v1_legal_privacy",
    "consent": "api.consent.post_api_v1_me_consents",
    "otp": "api.auth.post_api_v1_auth_otp",
    "login": "api.auth.post_api_v1_auth_login",
    "refresh": "api.auth.post_api_v1_auth_refresh",
    "logout": "api.auth.post_api_v1_auth_logout",
    "get_me": "api.me.get_api_v1_me",
    "patch_me": "api.me.patch_api_v1_me",
    "upload_photo": "api.photos.post_api_v1_photos",
    "get_photo": "api.photos.get_api_v1_photos_photo_id",
    "record": "api.actions.post_api_v1_actions",
    "actions": "api.actions.get_api_v1_actions",
    "action": "api.actions.get_api_v1_actions_action_id",
    "account": "api.ledger.get_api_v1_me_account",
    "ledger": "api.ledger.get_api_v1_me_ledger",
    "campaigns": "api.campaigns.get_api_v1_campaigns",
    "enrol": "api.campaigns.post_api_v1_campaigns_campaign_id_enrol",
    "my_campaigns": "api.campaigns.get_api_v1_me_campaigns",
    "residents_board": "api.leaderboards.get_api_v1_leaderboards_residents",
    "districts_board": "api.leaderboards.get_api_v1_leaderboards_districts",
    "communities_board": "api.leaderboards.get_api_v1_leaderboards_communities",
    "rewards": "api.rewards.get_api_v1_rewards",
    "redeem": "api.rewards.post_api_v1_rewards_reward_id_redeem",
    "redemptions": "api.rewards.get_api_v1_me_redemptions",
}


def generate(document: dict, where: Path) -> subprocess.CompletedProcess:
    """openapi-python-client run on `document`, its package written under `where`."""
    (where / "openapi.json").write_text(json.dumps(document))
    (where / "config.json").write_text(json.dumps(GENERATOR_CONFIG))
    generator = Path(sys.executable).parent / "openapi-python-client"
    return subprocess.run(
        [
            str(generator),
            "generate",
            "--path",
            str(where / "openapi.json"),
            "--config",
            str(where / "config.json"),
            "--meta",
            "none",
            "--output-path",
            str(where / PACKAGE),
            "--fail-on-warning",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture(scope="module")
def _package_dir(tmp_path_factory):
    """Where the module's client is generated; its modules are unloaded after the module."""
    where = tmp_path_factory.mktemp("generated_client")
    built: dict = {}
    yield where, built
    if built:
        sys.path.remove(str(where))
    for name in [m for m in sys.modules if m == PACKAGE or m.startswith(f"{PACKAGE}.")]:
        del sys.modules[name]


@pytest.fixture
def generated(client, _package_dir):
    """The generated package, imported: `.package`, `.models`, `.types` and the journey's
    operation modules by their names in MODULES. Generated once per module, by the first
    test that asks (within a test: the document is fetched like any request)."""
    where, built = _package_dir
    if not built:
        answer = client.get("/api/openapi.json")
        assert answer.status_code == 200
        result = generate(answer.json, where)
        # No warning at all: every operation (the resident's first) is in the client.
        assert result.returncode == 0, result.stdout + result.stderr
        assert "Warning" not in result.stdout, result.stdout
        sys.path.insert(0, str(where))
        package = importlib.import_module(PACKAGE)
        loaded = {name: importlib.import_module(f"{PACKAGE}.{m}") for name, m in MODULES.items()}
        built["namespace"] = SimpleNamespace(
            package=package,
            models=importlib.import_module(f"{PACKAGE}.models"),
            types=importlib.import_module(f"{PACKAGE}.types"),
            **loaded,
        )
    return built["namespace"]


def anonymous(gen, app):
    """The generated Client, answered by the app itself (no server, no network)."""
    return gen.package.Client(
        base_url=BASE_URL,
        raise_on_unexpected_status=True,  # a status the document does not list fails
        httpx_args={"transport": httpx.WSGITransport(app=app)},
    )


def signed_in(gen, app, access_token: str):
    return gen.package.AuthenticatedClient(
        base_url=BASE_URL,
        token=access_token,
        raise_on_unexpected_status=True,
        httpx_args={"transport": httpx.WSGITransport(app=app)},
    )


def login_body(gen, phone: str, code: str, privacy_version: str):
    """The login request, as a client builds it (a new body field is one more argument)."""
    return gen.models.OtpLogin(phone=phone, code=code, privacy_version=privacy_version)


def undocumented(parsed, sent: dict) -> dict:
    """What the server sent that the parsed model does not give back: fields the document
    does not name (the generated models drop them), or values read as something else."""
    again = parsed.to_dict()
    return {k: v for k, v in sent.items() if k not in again or again[k] != v}


def beijing_time(moment) -> bool:
    return isinstance(moment, datetime) and moment.utcoffset() == BEIJING


def ok(response, model):
    """An answer parsed as `model`, each field of it as the server sent it; an Error or
    None fails with its text."""
    assert isinstance(response.parsed, model), (response.status_code, response.content)
    assert undocumented(response.parsed, json.loads(response.content)) == {}, model.__name__
    return response.parsed


def test_the_generator_needs_nothing_fixed_in_the_document(generated):
    # The fixture failed on any warning; the journey's typed pieces are all there.
    models = generated.models
    for name in ("TripAction", "GarbageSortingAction", "Action", "Error", "LedgerEntry"):
        assert hasattr(models, name), name
    record = generated.record.sync_detailed.__annotations__["body"]
    assert "TripAction" in str(record) and "GarbageSortingAction" in str(record)


def test_a_resident_journey_through_the_generated_client(app, client, generated, clock):
    gen, models = generated, generated.models
    staff = staff_headers(app, client, "campaign_admin")
    campaign = make_campaign(client, staff, join_bonus=5)
    reward = make_reward(client, staff, cost_points=5)

    # Sign in: the privacy notice in force, a code (the development sender shows it), then
    # tokens and the resident, who accepts the notice by sending its version.
    guest = anonymous(gen, app)
    notice = ok(gen.privacy.sync_detailed(client=guest), models.Privacy)
    assert isinstance(notice.version, str) and notice.text
    phone = new_phone()
    sent = ok(
        gen.otp.sync_detailed(client=guest, body=models.OtpRequest(phone=phone)), models.OtpSent
    )
    assert isinstance(sent.dev_code, str) and isinstance(sent.expires_in, int)
    tokens = ok(
        gen.login.sync_detailed(
            client=guest, body=login_body(gen, phone, sent.dev_code, notice.version)
        ),
        models.TokenPair,
    )
    assert isinstance(tokens.access_token, str) and isinstance(tokens.expires_in, int)
    assert tokens.token_type == "Bearer"
    assert isinstance(tokens.resident, models.Resident)
    me = signed_in(gen, app, tokens.access_token)

    profile = ok(gen.get_me.sync_detailed(client=me), models.Resident)
    assert profile.id == tokens.resident.id and beijing_time(profile.created_at)
    update = models.ResidentUpdate(district_code=DISTRICT, community=COMMUNITY)
    profile = ok(gen.patch_me.sync_detailed(client=me, body=update), models.Resident)
    assert (profile.district_code, profile.community) == (DISTRICT, COMMUNITY)

    # A photo, uploaded as multipart and read back as the stored JPEG.
    jpeg = encode(photo_like(7), "JPEG", quality=90)
    upload = models.PhotoUpload(
        file=gen.types.File(payload=io.BytesIO(jpeg), file_name="meal.jpg", mime_type="image/jpeg")
    )
    photo = ok(gen.upload_photo.sync_detailed(client=me, body=upload), models.Photo)
    assert isinstance(photo.photo_id, str) and isinstance(photo.width, int)
    stored = gen.get_photo.sync(client=me, photo_id=photo.photo_id)
    assert isinstance(stored, gen.types.File)
    assert stored.payload.read().startswith(b"\xff\xd8")  # a JPEG

    # A trip with its GPS trace (after the location consent): one member of the action
    # body's discriminated union.
    location = models.ConsentRequest(
        scope=models.ConsentRequestScope.LOCATION, version=notice.version
    )
    consent = ok(gen.consent.sync_detailed(client=me, body=location), models.ConsentState)
    assert consent.location is not None and consent.privacy_required is False
    sent_trip = trip(mode="bus", km=6.2)
    journey = models.TripAction(
        mode=sent_trip["mode"],
        distance_km=sent_trip["distance_km"],
        started_at=datetime.fromisoformat(sent_trip["started_at"]),
        ended_at=datetime.fromisoformat(sent_trip["ended_at"]),
        trace=sent_trip["trace"],
    )
    recorded = ok(
        gen.record.sync_detailed(client=me, body=journey, idempotency_key=str(uuid.uuid4())),
        models.Action,
    )
    assert recorded.type_ == models.ActionType.TRIP
    assert (recorded.status, recorded.verification) == ("approved", "trace")
    assert isinstance(recorded.points, int) and recorded.points > 0
    assert isinstance(recorded.co2e_g, int) and isinstance(recorded.capped, bool)
    assert recorded.bonuses_follow is True
    assert beijing_time(recorded.occurred_at) and beijing_time(recorded.created_at)

    # Garbage sorting under an Idempotency-Key; the same key again: the same answer.
    sorting = models.GarbageSortingAction(category="recyclable", weight_kg=1.5)
    key = str(uuid.uuid4())
    first = ok(
        gen.record.sync_detailed(client=me, body=sorting, idempotency_key=key), models.Action
    )
    again = ok(
        gen.record.sync_detailed(client=me, body=sorting, idempotency_key=key), models.Action
    )
    assert again.to_dict() == first.to_dict()
    assert first.type_ == models.ActionType.GARBAGE_SORTING

    # A refusal, parsed as the error model with its fields.
    too_heavy = models.GarbageSortingAction(category="recyclable", weight_kg=900)
    refused = gen.record.sync_detailed(client=me, body=too_heavy, idempotency_key="heavy")
    assert refused.status_code == 422
    error = refused.parsed.error
    assert error.code == "implausible_action"
    assert isinstance(error.message, str) and "weight_kg" in error.fields.additional_properties
    assert undocumented(refused.parsed, json.loads(refused.content)) == {}

    # Own actions, listed and read one by one.
    page = ok(gen.actions.sync_detailed(client=me), models.ActionPage)
    assert [a.id for a in page.items] == [first.id, recorded.id]
    assert page.next_cursor is None
    read = ok(gen.action.sync_detailed(client=me, action_id=recorded.id), models.Action)
    assert read.to_dict() == recorded.to_dict()

    # A campaign: listed, enrolled in (its join bonus), and among the resident's own.
    campaigns = ok(gen.campaigns.sync_detailed(client=me), models.CampaignList)
    listed = next(c for c in campaigns.items if c.id == campaign["id"])
    assert listed.enrolled is False and beijing_time(listed.starts_at)
    enrolment = ok(gen.enrol.sync_detailed(client=me, campaign_id=campaign["id"]), models.Enrolment)
    assert enrolment.campaign_id == campaign["id"] and enrolment.join_bonus == 5
    mine = ok(gen.my_campaigns.sync_detailed(client=me), models.MyCampaignPage)
    assert [c.id for c in mine.items] == [campaign["id"]]
    assert isinstance(mine.items[0].mine, models.MyCampaignFigures)
    assert beijing_time(mine.items[0].enrolled_at)

    # The worker applies the approvals: boards and bonuses follow.
    run_worker(client)

    account = ok(gen.account.sync_detailed(client=me), models.Account)
    # The trip's points, the join bonus and the campaign's bonus on the actions.
    assert account.balance > recorded.points + 5
    ledger = ok(gen.ledger.sync_detailed(client=me), models.LedgerPage)
    assert sum(entry.delta for entry in ledger.items) == account.balance
    for entry in ledger.items:
        assert isinstance(entry.description, str) and entry.description
        assert beijing_time(entry.created_at) and isinstance(entry.balance_after, int)

    residents = ok(gen.residents_board.sync_detailed(client=me), models.ResidentBoard)
    assert isinstance(residents.me, models.MyPlace) and residents.me.rank == 1
    assert residents.items[0].is_me is True and beijing_time(residents.as_of)
    districts = ok(gen.districts_board.sync_detailed(client=me), models.DistrictBoard)
    assert isinstance(districts.me, models.MyDistrict)
    assert districts.me.district_code == DISTRICT and isinstance(districts.me.rank, int)
    communities = ok(gen.communities_board.sync_detailed(client=me), models.CommunityBoard)
    assert isinstance(communities.me, models.MyCommunity)
    assert (communities.me.community, communities.me.participants) == (COMMUNITY, 1)

    # A reward: listed, redeemed (with its own key), among the resident's redemptions.
    catalogue = ok(gen.rewards.sync_detailed(client=me), models.Catalogue)
    offered = next(item for item in catalogue.items if item.id == reward["id"])
    assert offered.affordable is True and isinstance(offered.stock_left, int)
    redemption = ok(
        gen.redeem.sync_detailed(
            client=me, reward_id=reward["id"], idempotency_key=str(uuid.uuid4())
        ),
        models.Redemption,
    )
    assert isinstance(redemption.code, str) and redemption.points == 5
    redemptions = ok(gen.redemptions.sync_detailed(client=me), models.RedemptionPage)
    assert [r.redemption_id for r in redemptions.items] == [redemption.redemption_id]
    assert redemptions.items[0].used_at is None

    # New tokens for the refresh token; logging out ends them.
    renewed = ok(
        gen.refresh.sync_detailed(
            client=guest, body=models.Refresh(refresh_token=tokens.refresh_token)
        ),
        models.TokenPair,
    )
    assert renewed.access_token != tokens.access_token
    me = signed_in(gen, app, renewed.access_token)
    assert gen.logout.sync_detailed(client=me).status_code == 204
    after = gen.get_me.sync_detailed(client=me)
    assert after.status_code == 401
    assert isinstance(after.parsed, models.Error)


def test_an_answer_the_document_does_not_describe_fails_the_journey(generated):
    # What the journey's checks catch, shown on the generated models themselves: a field
    # the server sends that the document does not name, and a value of another type.
    models = generated.models
    answer = {
        "id": 1,
        "type": "trip",
        "status": "approved",
        "occurred_at": "2026-11-18T10:00:00+08:00",
    }
    assert undocumented(models.Action.from_dict(answer), answer) == {}
    extra = answer | {"vehicle_id": "粤H-12345"}
    assert undocumented(models.Action.from_dict(extra), extra) == {"vehicle_id": "粤H-12345"}
    with pytest.raises(ValueError):
        models.Action.from_dict(answer | {"type": "flight"})
    with pytest.raises((ValueError, TypeError)):
        models.Action.from_dict(answer | {"occurred_at": "yesterday"})
