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


def test_every_api_route_is_documented(app, client):
    documented = set(client.get("/api/openapi.json").json["paths"])
    routes = {
        re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/v1/")
    }
    assert routes <= documented


def test_interactive_docs_load_their_assets_locally(client):
    page = client.get("/api/docs")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "/api/docs/assets/swagger-ui-bundle.js" in html
    with client.get("/api/docs/assets/swagger-ui-bundle.js") as asset:
        assert asset.status_code == 200
        assert len(asset.data) > 100_000
