"""Every field the server accepts is in the OpenAPI document, and every action example works.

The fields are read from the schemas that validate: each view's body and query schemas
(flask-smorest keeps them on the view) and, for POST /api/v1/actions, the schema of each
action type (points.actions.kinds.KINDS, which the body's `load` dispatches to). Nothing
here lists a field by hand.
"""

from __future__ import annotations

import dataclasses
import re

import flask
import marshmallow as ma
import pytest
from openapi_schema_validator import OAS30Validator
from openapi_spec_validator import validate

from backend.api import OPENAPI_SETTINGS, Api, Blueprint
from points.actions import kinds
from points.partner import schemas as partner_schemas
from tests.factories import create_partner, partner_post, record, sign_in, upload_photo

BODY_LOCATIONS = ("json", "form", "files")
ACTIONS = "/api/v1/actions"
PARTNER_EVENTS = "/api/v1/partner/events"


def accepted(schema) -> dict[str, ma.fields.Field]:
    """The fields a schema reads, by the name a client sends."""
    instance = schema() if isinstance(schema, type) else schema
    return {
        field.data_key or name: field
        for name, field in instance.fields.items()
        if not field.dump_only
    }


def resolved(spec: dict, node: dict) -> dict:
    while "$ref" in node:
        node = spec["components"]["schemas"][node["$ref"].rsplit("/", 1)[1]]
    return node


def documented_properties(spec: dict, node: dict) -> dict:
    """A schema's properties, with those of every schema it may be (oneOf, anyOf, allOf)."""
    node = resolved(spec, node)
    properties = dict(node.get("properties", {}))
    for keyword in ("oneOf", "anyOf", "allOf"):
        for option in node.get(keyword, ()):
            properties |= documented_properties(spec, option)
    return properties


def missing_fields(spec: dict, schema, node: dict, where: str) -> list[str]:
    """Fields `schema` accepts that `node` does not document, nested schemas included."""
    properties = documented_properties(spec, node)
    missing = []
    for name, field in accepted(schema).items():
        if name not in properties:
            missing.append(f"{where}: {name}")
            continue
        inner, documented = field, properties[name]
        if isinstance(inner, ma.fields.List) and isinstance(inner.inner, ma.fields.Nested):
            inner, documented = inner.inner, resolved(spec, documented).get("items", {})
        if isinstance(inner, ma.fields.Nested):
            missing += missing_fields(spec, inner.schema, documented, f"{where}.{name}")
    return missing


def view_arguments(app):
    """(path, method, location, schema) for every schema a registered view validates with."""
    for rule in app.url_map.iter_rules():
        view_class = getattr(app.view_functions[rule.endpoint], "view_class", None)
        if view_class is None:
            continue
        path = re.sub(r"<(?:[^:<>]+:)?(\w+)>", r"{\1}", rule.rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            function = getattr(view_class, method.lower(), None)
            arguments = getattr(function, "_apidoc", {}).get("arguments", {})
            for parameter in arguments.get("parameters", []):
                yield path, method.lower(), parameter["in"], parameter["schema"]


def undocumented(app, spec: dict) -> list[str]:
    """Every field the app accepts that `spec` does not document."""
    missing = []
    for path, method, location, schema in view_arguments(app):
        operation = spec["paths"][path][method]
        where = f"{method.upper()} {path}"
        if location in BODY_LOCATIONS:
            content = operation.get("requestBody", {}).get("content", {})
            if not content:
                missing += [f"{where}: {name}" for name in accepted(schema)]
            for media in content.values():
                missing += missing_fields(spec, schema, media["schema"], where)
        else:
            names = {p["name"] for p in operation.get("parameters", []) if p["in"] == location}
            missing += [f"{where}: {n}" for n in accepted(schema) if n not in names]
    # The action body: each type's own schema, found by the discriminator's mapping.
    body = spec["paths"][ACTIONS]["post"]["requestBody"]["content"]["application/json"]
    missing += missing_by_type(spec, body["schema"], kinds.KINDS, f"POST {ACTIONS}")
    # A partner's events: each reportable type's schema (what each event is validated
    # with), and the fields an event adds to it.
    batch = spec["paths"][PARTNER_EVENTS]["post"]["requestBody"]["content"]["application/json"]
    events = resolved(spec, batch["schema"])["properties"]["events"]["items"]
    reportable = {name: kind for name, kind in kinds.KINDS.items() if kind.partner_reportable}
    where = f"POST {PARTNER_EVENTS} events"
    missing += missing_by_type(spec, events, reportable, where)
    for name in reportable:
        ref = events.get("discriminator", {}).get("mapping", {}).get(name)
        if ref is not None:
            event_fields = partner_schemas.PartnerEventFields
            missing += missing_fields(spec, event_fields, {"$ref": ref}, f"{where} {name}")
    return missing


def missing_by_type(spec: dict, node: dict, types: dict, where: str) -> list[str]:
    """Fields of each type's schema (and its required ones) that the member of `node`'s
    `type` discriminator for it does not document."""
    mapping = node.get("discriminator", {}).get("mapping", {})
    missing = []
    for name, kind in types.items():
        if name not in mapping:
            missing.append(f"{where} type {name}: not in the discriminator")
            continue
        documented = {"$ref": mapping[name]}
        missing += missing_fields(spec, kind.schema, documented, f"{where} {name}")
        required = {n for n, f in accepted(kind.schema).items() if f.required}
        missing += [
            f"{where} {name}: {n} (required)"
            for n in sorted(required - set(resolved(spec, documented).get("required", ())))
        ]
    return missing


def fresh_document(app) -> tuple[flask.Flask, dict]:
    """The document rebuilt now (after any mutation) from `app`'s API blueprints, by an Api
    of its own on a bare app: the suite's app, and its shared extensions, stay as they are."""
    bare = flask.Flask(__name__)
    bare.config.update(OPENAPI_SETTINGS)
    fresh = Api(bare)
    for blueprint in app.blueprints.values():
        if isinstance(blueprint, Blueprint):
            fresh.register_blueprint(blueprint)
    return bare, fresh.spec.to_dict()


@pytest.fixture
def spec(client):
    return client.get("/api/openapi.json").json


def test_every_field_the_server_accepts_is_documented(app, spec):
    validate(spec)
    assert len(list(view_arguments(app))) >= 20  # the views were found
    assert undocumented(app, spec) == []


def test_the_action_body_is_one_schema_per_type_under_a_discriminator(spec):
    body = spec["paths"][ACTIONS]["post"]["requestBody"]["content"]["application/json"]
    schema = body["schema"]
    assert schema["discriminator"]["propertyName"] == "type"
    mapping = schema["discriminator"]["mapping"]
    assert set(mapping) == set(kinds.KINDS) == set(body["examples"])
    assert sorted(option["$ref"] for option in schema["oneOf"]) == sorted(mapping.values())
    for name, ref in mapping.items():
        component = resolved(spec, {"$ref": ref})
        assert component["properties"]["type"]["enum"] == [name]
        assert "type" in component["required"]
        # Its example is the body's example for that type, and fits the schema.
        assert component["example"] == body["examples"][name]["value"]
        OAS30Validator(component).validate(component["example"])
    action = spec["components"]["schemas"]["Action"]
    assert set(action["example"]) == set(action["properties"])


def test_a_field_accepted_but_not_documented_is_reported(app, client, monkeypatch):
    # The mutation: trips validate with a schema that takes one more field, by a path the
    # document does not follow (KINDS is read per request; the body's doc was built before).
    class MutatedTrip(kinds.TripActionSchema):
        vehicle_id = ma.fields.String()

    mutated = dataclasses.replace(kinds.KINDS["trip"], schema=MutatedTrip)
    monkeypatch.setitem(kinds.KINDS, "trip", mutated)
    fresh_app, fresh_spec = fresh_document(app)
    # The server does accept it, from a resident and in a partner's event...
    body = kinds.TripActionSchema.OPENAPI_EXAMPLE | {"vehicle_id": "粤H-12345"}
    resident = sign_in(client)
    assert record(client, resident, body).status_code == 201
    partner = create_partner(app, "公交集团", "trip")
    event = {"event_id": "e-1", "resident": resident.phone, **body}
    answer = partner_post(client, partner, PARTNER_EVENTS, {"events": [event]})
    assert answer.json["results"][0]["status"] == "accepted", answer.json
    # ...and the check says the document does not, in either place.
    assert undocumented(fresh_app, fresh_spec) == [
        f"POST {ACTIONS} trip: vehicle_id",
        f"POST {PARTNER_EVENTS} events trip: vehicle_id",
    ]


def test_a_view_field_missing_from_the_document_is_reported(app, spec):
    # The same check on an ordinary view: its documented body loses a property.
    patch = spec["paths"]["/api/v1/me"]["patch"]["requestBody"]["content"]["application/json"]
    component = resolved(spec, patch["schema"])
    dropped = next(iter(component["properties"]))
    del component["properties"][dropped]
    assert undocumented(app, spec) == [f"PATCH /api/v1/me: {dropped}"]


def test_each_documented_example_is_accepted_by_the_api(app, client, spec):
    body = spec["paths"][ACTIONS]["post"]["requestBody"]["content"]["application/json"]
    responses = spec["paths"][ACTIONS]["post"]["responses"]
    action = spec["components"]["schemas"]["Action"]
    me = sign_in(client)
    answers = {}
    for name, example in body["examples"].items():
        answer = record(client, me, example["value"])
        assert str(answer.status_code) in responses, (name, answer.json)
        answers[name] = answer
    # The trip (no trace: the resident's word), the sorting and the charging are recorded.
    for name in ("trip", "garbage_sorting", "ev_charging"):
        assert answers[name].status_code == 201, answers[name].json
        assert set(answers[name].json) <= set(action["properties"])
        OAS30Validator(action).validate(answers[name].json)
    assert answers["trip"].json["verification"] == "self_declared"
    # The meal's example names a photo this resident never uploaded: refused on that
    # field; with an uploaded photo in its place, the same body is recorded.
    assert answers["clean_plate"].status_code == 422
    assert "photo_id" in answers["clean_plate"].json["error"]["fields"]
    meal = body["examples"]["clean_plate"]["value"] | {"photo_id": upload_photo(client, me)}
    answer = record(client, me, meal)
    assert answer.status_code == 201, answer.json
    OAS30Validator(action).validate(answer.json)


def test_partner_events_are_one_schema_per_reportable_type_and_each_example_is_accepted(
    app, client, spec
):
    batch = spec["paths"][PARTNER_EVENTS]["post"]["requestBody"]["content"]["application/json"]
    items = batch["schema"]["properties"]["events"]["items"]
    assert items["discriminator"]["propertyName"] == "type"
    mapping = items["discriminator"]["mapping"]
    reportable = {name for name, kind in kinds.KINDS.items() if kind.partner_reportable}
    assert set(mapping) == reportable == set(batch["examples"])
    assert "clean_plate" not in mapping  # a photo is the evidence, and partners send none
    result_schema = spec["paths"][PARTNER_EVENTS]["post"]["responses"]["200"]["content"]
    result_schema = resolved(spec, result_schema["application/json"]["schema"])
    results = OAS30Validator(result_schema | {"components": spec["components"]})
    results.validate(result_schema["example"])
    resident = sign_in(client)
    partner = create_partner(app, "合作方", *sorted(reportable))
    for name, example in batch["examples"].items():
        component = resolved(spec, {"$ref": mapping[name]})
        assert {"event_id", "resident", "type"} <= set(component["required"])
        [event] = example["value"]["events"]
        OAS30Validator(component).validate(event)
        # The example as sent, for a resident who exists here, and a null beside it.
        events = [event | {"resident": resident.phone}, None]
        answer = partner_post(client, partner, PARTNER_EVENTS, {"events": events})
        assert answer.status_code == 200, answer.json
        results.validate(answer.json)
        statuses = [r["status"] for r in answer.json["results"]]
        assert statuses == ["accepted", "rejected"], (name, answer.json)
