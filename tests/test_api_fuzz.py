"""API fuzzing: schemathesis generates requests from our own OpenAPI document, in process.

Every operation is called as the identity its security requirement names (a resident, a
superadmin, a DRB key, a signing partner); no answer may be a 5xx, and every answer must be
a documented status with the documented content type, headers and schema. Besides what
schemathesis generates, every operation that reads a body gets hostile ones (deep nesting,
huge numbers and strings, NaN, lone surrogates, duplicate keys): each refused, none a 5xx.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from functools import cached_property
from types import SimpleNamespace

import hypothesis
import pytest
import schemathesis
from hypothesis import strategies as st
from schemathesis.core import NotSet
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ignored_auth,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from backend.app import create_app
from backend.config import Config
from backend.extensions import limiter
from tests.factories import (
    SignedIn,
    create_partner,
    join_organization,
    make_campaign,
    make_household,
    make_resident,
    make_reward,
    partner_signature,
    record,
    redeem,
    sign_in,
    staff_headers,
    trip,
    upload_photo,
)

CHECKS = [
    schemathesis.checks.not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
    ignored_auth,
]

CONFIG = schemathesis.Config.from_dict(
    {
        # The identities are ours to give (below), not random Authorization headers.
        # Query strings ignore parameters they do not know, as HTTP clients expect (only
        # the DRB statistics refuse them): extra ones are no negative case here.
        "generation": {"with-security-parameters": False, "allow-extra-parameters": False},
        # The coverage phase has no bound on its cases; the fuzzing phase has max_examples.
        "phases": {"stateful": {"enabled": False}},
    }
)

# Operations that end the identity that calls them get a fresh one for every request.
DISPOSABLE = {
    "POST /api/v1/auth/logout",
    "POST /api/v1/me/delete-account",
    "POST /api/v1/staff/auth/logout",
}


def _load_document() -> schemathesis.BaseSchema:
    """The document of an app of its own: parametrizing needs it before any fixture runs."""
    with tempfile.TemporaryDirectory() as instance:
        config = Config.from_env(
            {"APP_ENV": "test", "DATABASE_URL": "sqlite://", "INSTANCE_PATH": instance}
        )
        return schemathesis.openapi.from_wsgi(
            "/api/openapi.json", create_app(config), config=CONFIG
        )


schema = _load_document()


class Identities:
    """Who calls (a resident, a superadmin, a DRB key, a partner), made when first needed,
    and objects that exist for the path ids to aim at."""

    def __init__(self, app, client) -> None:
        self.app, self.client = app, client
        self._existing: dict[str, object] = {}

    @cached_property
    def resident(self) -> SignedIn:
        me = sign_in(self.client)
        for minutes in (10, 40, 70):
            trip_ = trip("bus", 5, 20, ended_minutes_ago=minutes)
            assert record(self.client, me, trip_).status_code == 201
        return me

    @cached_property
    def household(self) -> dict:
        """The fuzzing resident's household (they are its admin; the fuzzer may have made
        it already) and a relative's membership in it."""
        mine = self.client.get("/api/v1/me/organizations", headers=self.resident.headers)
        found = [m for m in mine.json["items"] if m["kind"] == "household"]
        household = found[0] if found else make_household(self.client, self.resident)
        relative = sign_in(self.client)
        join_organization(self.client, relative, household["invite_code"])
        path = f"/api/v1/organizations/{household['id']}/members"
        members = self.client.get(path, headers=self.resident.headers).json["items"]
        member_id = next(m["id"] for m in members if m["role"] == "member")
        return {"id": household["id"], "member_id": member_id}

    @cached_property
    def staff(self) -> dict:
        return staff_headers(self.app, self.client, "superadmin")

    @cached_property
    def drb(self) -> dict:
        out = self.app.test_cli_runner().invoke(args=["drb-key", "create", "fuzz"]).output
        return {"Authorization": "Bearer " + next(w for w in out.split() if w.startswith("drb_"))}

    @cached_property
    def partner(self) -> tuple[str, str]:
        created = create_partner(self.app, "肇庆公交", "trip:bus")
        return created["key"], created["secret"]

    def headers_for(self, operation) -> dict:
        schemes = {
            name for needed in operation.definition.raw.get("security", []) for name in needed
        }
        if operation.label in DISPOSABLE:
            if "resident" in schemes:
                return sign_in(self.client).headers
            return staff_headers(self.app, self.client, "reviewer")
        if "drb" in schemes:
            return self.drb
        if "staff" in schemes:
            return self.staff
        if "resident" in schemes:
            return self.resident.headers
        return {}

    def existing(self, name: str):
        """The id of an object that exists, for the path parameter `name` (made once)."""
        if name not in self._existing:
            self._existing[name] = self._make(name)
        return self._existing[name]

    def _make(self, name: str):
        client, me = self.client, self.resident
        if name in ("action_id", "photo_id"):
            photo_id = upload_photo(client, me)
            meal = {"type": "clean_plate", "photo_id": photo_id, "venue": "端州区食堂"}
            return record(client, me, meal).json["id"] if name == "action_id" else photo_id
        if name in ("campaign_id", "point_id"):
            campaign = make_campaign(client, self.staff)
            if name == "campaign_id":
                return campaign["id"]
            point = {"name": "星湖绿道打卡点", "place": "肇庆市端州区星湖", "points": 30}
            point |= {"latitude": 23.0707, "longitude": 112.4720}
            path = f"/api/v1/staff/campaigns/{campaign['id']}/checkin-points"
            return client.post(path, json=point, headers=self.staff).json["id"]
        if name in ("reward_id", "redemption_id"):
            reward = make_reward(client, self.staff, cost_points=10, stock=1000)
            if name == "reward_id":
                return reward["id"]
            return redeem(client, me, reward).json["redemption_id"]
        if name == "scope":
            return "location"
        if name == "resident_id":  # someone else: a suspension must not sign out the fuzzer
            return make_resident(client).resident["id"]
        if name == "link_id":
            body = {"partner_key": self.partner[0]}
            return client.post("/api/v1/me/partner-links", json=body, headers=me.headers).json["id"]
        if name == "organization_id":
            return self.household["id"]
        if name == "member_id":
            return self.household["member_id"]
        if name == "child_id":
            self.household  # noqa: B018 (a child joins its guardian's household)
            child = client.post(
                "/api/v1/me/children", json={"nickname": "小明"}, headers=me.headers
            )
            return child.json["id"]
        raise LookupError(name)


@pytest.fixture
def identities(app, client):
    return Identities(app, client)


@schema.hook("flatmap_path_parameters")
def aim_at_existing_objects(context, path_parameters):
    # Random ids find nothing: half the time, aim at an object that exists.
    if not path_parameters:
        return st.just(path_parameters)
    return st.sampled_from([path_parameters, {name: EXISTING for name in path_parameters}])


EXISTING = "existing"  # replaced by a real id when the request is made


@schema.parametrize()
@hypothesis.settings(
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", "25")),
    derandomize=True,
    deadline=None,
    suppress_health_check=list(hypothesis.HealthCheck),
)
def test_the_api_answers_as_documented(case, app, identities):
    limiter.reset()  # rate limits are tested on their own; here they would only hide paths
    for name, value in case.path_parameters.items():
        if value == EXISTING:
            case.path_parameters[name] = identities.existing(name)
    headers = identities.headers_for(case.operation)
    if case.operation.label in SIGNED:
        headers, body = _signed(case, identities)
        response = case.call(app=app, headers=headers, data=body)
    else:
        response = case.call(app=app, headers=headers)
    transport = {"app": app, "headers": headers}
    checks = CHECKS
    if case.operation.label == "POST /api/v1/partner/events":
        # Events are documented by type, but a bad one never sinks its batch: the batch is
        # 200 with that event rejected in the results (the results' schema is checked).
        checks = [check for check in CHECKS if check is not negative_data_rejection]
    case.validate_response(response, checks=checks, headers=headers, transport_kwargs=transport)


SIGNED = ("POST /api/v1/partner/events", "POST /api/v1/partner/links")


def _signed(case, identities) -> tuple[dict, bytes]:
    if isinstance(case.body, NotSet):
        raw = b""
    elif isinstance(case.body, bytes):
        raw = case.body
    else:
        raw = json.dumps(case.body).encode()
    key, secret = identities.partner
    return partner_signature(key, secret, raw), raw


# Past the depth, number and size bounds of backend.json_bounds; the string past every
# route's size limit but the partners' (whose schema then refuses it).
HOSTILE_BODIES = {
    "deep": b"[" * 1500 + b"]" * 1500,
    "deep-in-a-field": b'{"a": ' + b'{"b": ' * 1500 + b"1" + b"}" * 1501,
    "5000-digit-integer": b'{"a": ' + b"9" * 5000 + b"}",
    "huge-string": b'"' + b"a" * 600_000 + b'"',
    "nan": b'{"a": NaN}',
    "lone-surrogate": b'{"a": "\\udc00"}',
    "duplicate-key": b'{"a": 1, "a": 2}',
}


def _operations_reading_a_body():
    for path, item in schema.raw_schema["paths"].items():
        for method, operation in item.items():
            if method in ("post", "put", "patch", "delete"):
                yield method, path, operation


def test_no_body_of_any_shape_or_size_gives_a_5xx(app, client, identities):
    answered = {}
    for method, path, operation in _operations_reading_a_body():
        label = f"{method.upper()} {path}"
        concrete = SimpleNamespace(label=label, definition=SimpleNamespace(raw=operation))
        url = re.sub(r"\{[^}]+\}", "1", path)  # the body is refused before any lookup
        for name, raw in HOSTILE_BODIES.items():
            limiter.reset()
            headers = {**identities.headers_for(concrete), "Idempotency-Key": name}
            if label in SIGNED:
                headers |= partner_signature(*identities.partner, raw)
            response = client.open(
                url, method=method, data=raw, headers=headers, content_type="application/json"
            )
            answered[label, name] = response.status_code
    assert len({label for label, _ in answered}) >= 20
    refused = {key: status for key, status in answered.items() if status not in (400, 413)}
    # A signed partner batch may be a 600 KB string: it is read, then not an object (422);
    # the photo upload reads no JSON: a body without its file is 422.
    assert set(refused.values()) <= {422}, refused
    assert {label for label, _ in refused} <= {*SIGNED, "POST /api/v1/photos"}, refused
