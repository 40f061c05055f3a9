"""The OpenAPI document is valid, complete, and the interactive docs work offline."""

import re

from openapi_spec_validator import validate

CONTRACT_PATHS = {
    "/api/v1/auth/otp": {"post"},
    "/api/v1/auth/login": {"post"},
    "/api/v1/auth/wechat": {"post"},
    "/api/v1/auth/refresh": {"post"},
    "/api/v1/auth/logout": {"post"},
    "/api/v1/me": {"get", "patch"},
}


def test_openapi_document_is_valid(client):
    response = client.get("/api/openapi.json")
    assert response.status_code == 200
    validate(response.json)


def test_openapi_documents_the_contract_and_the_error_shape(client):
    spec = client.get("/api/openapi.json").json
    for path, methods in CONTRACT_PATHS.items():
        assert methods <= set(spec["paths"][path]), path
    error = spec["components"]["schemas"]["Error"]
    assert set(error["properties"]) == {"error"}
    assert spec["components"]["securitySchemes"]["resident"]["scheme"] == "bearer"


# The console, static files, the document itself and the operators' /metrics are served but
# not described by it.
UNDOCUMENTED = re.compile(r"^/(admin/|static/|api/openapi\.json$|api/docs(/|$)|metrics$)")
IGNORED_METHODS = {"HEAD", "OPTIONS"}


def served_operations(app) -> set[tuple[str, str]]:
    return {
        (re.sub(r"<(?:[^:<>]+:)?(\w+)>", r"{\1}", rule.rule), method.lower())
        for rule in app.url_map.iter_rules()
        if not UNDOCUMENTED.match(rule.rule)
        for method in rule.methods - IGNORED_METHODS
    }


def documented_operations(spec: dict) -> set[tuple[str, str]]:
    return {
        (path, method)
        for path, operations in spec["paths"].items()
        for method in operations
        if method != "parameters"
    }


def test_every_route_is_documented_and_every_documented_route_exists(app, client):
    spec = client.get("/api/openapi.json").json
    served, documented = served_operations(app), documented_operations(spec)
    assert served - documented == set(), "served but not documented"
    assert documented - served == set(), "documented but not served"
    assert any(path.startswith("/api/v1/") for path, _ in served)


def test_every_operation_lists_its_error_statuses_and_none_is_a_catch_all(client):
    spec = client.get("/api/openapi.json").json
    shared = spec["components"]["responses"]
    for path, method in documented_operations(spec):
        operation = spec["paths"][path][method]
        responses = operation["responses"]
        assert "default" not in responses, (method, path)
        if operation.get("security"):
            assert {"401", "403"} <= set(responses), (method, path)
        if "{" in path:
            assert "404" in responses, (method, path)
        if "application/json" in operation.get("requestBody", {}).get("content", {}):
            assert {"400", "413", "415", "422"} <= set(responses), (method, path)
        elif method in ("post", "put", "patch", "delete") and "requestBody" not in operation:
            # No body: a field sent anyway is refused (422), a non-JSON one 415.
            assert {"400", "413", "415", "422"} <= set(responses), (method, path)
        for status, response in responses.items():
            if int(status) >= 400:
                if "$ref" in response:
                    response = shared[response["$ref"].rsplit("/", 1)[1]]
                schema = response["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/Error"}, (method, path, status)


def test_files_are_documented_with_their_media_types(client):
    paths = client.get("/api/openapi.json").json["paths"]
    files = {
        ("/api/v1/me/share-card.png", "image/png"),
        ("/api/v1/me/redemptions/{redemption_id}/qr.png", "image/png"),
        ("/api/v1/staff/checkin-points/{point_id}/poster.png", "image/png"),
        ("/api/v1/staff/photos/{photo_id}/thumbnail", "image/jpeg"),
        ("/api/v1/stats/export.csv", "text/csv"),
        (
            "/api/v1/stats/export.xlsx",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ),
    }
    for path, media_type in files:
        content = paths[path]["get"]["responses"]["200"]["content"]
        assert content == {media_type: {"schema": {"type": "string", "format": "binary"}}}, path
    upload = paths["/api/v1/photos"]["post"]["requestBody"]
    assert upload["required"] is True
    assert set(upload["content"]) == {"multipart/form-data"}


def test_a_body_is_required_exactly_when_its_schema_requires_a_field(client):
    paths = client.get("/api/openapi.json").json["paths"]
    assert paths["/api/v1/actions"]["post"]["requestBody"]["required"] is True
    assert paths["/api/v1/auth/login"]["post"]["requestBody"]["required"] is True
    assert paths["/api/v1/me"]["patch"]["requestBody"].get("required", False) is False


def test_path_ids_are_bounded_by_what_the_database_holds(client):
    paths = client.get("/api/openapi.json").json["paths"]
    (parameter,) = paths["/api/v1/actions/{action_id}"]["parameters"]
    assert parameter["schema"] == {"type": "integer", "minimum": 0, "maximum": 2**31 - 1}


def test_interactive_docs_load_their_assets_locally(client):
    page = client.get("/api/docs")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "/api/docs/assets/swagger-ui-bundle.js" in html
    with client.get("/api/docs/assets/swagger-ui-bundle.js") as asset:
        assert asset.status_code == 200
        assert len(asset.data) > 100_000
