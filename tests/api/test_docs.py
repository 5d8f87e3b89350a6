"""/docs, /redoc and /openapi.json: offline, complete, with every error documented."""

from __future__ import annotations

import re

import pytest

EXPECTED_ERRORS = {
    ("get", "/api/v1/models/{model_id}"): {"404", "422"},
    ("post", "/api/v1/models/{model_id}/inspect"): {"400", "404", "413", "415", "422", "503"},
    ("get", "/api/v1/samples"): {"422"},
    ("get", "/api/v1/samples/{sample_id}.png"): {"404", "422"},
}


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_docs_pages_reference_only_local_assets_that_exist(client, page):
    r = client.get(page)
    assert r.status_code == 200
    html = r.text
    assert not re.search(r"https?://", html), re.findall(r"https?://[^\"' ]+", html)
    assets = re.findall(r"""(?:src|href)=["']([^"']+)["']""", html)
    assets += re.findall(r"""(?:url|spec-url):?\s*=?\s*["']([^"']+)["']""", html)
    assert any(a.endswith(".js") for a in assets)
    for url in assets:
        assert url.startswith("/"), url
        assert client.get(url).status_code == 200, url
    assert client.get("/openapi.json").status_code == 200


def test_docs_assets_themselves_do_not_fetch_fonts_from_a_cdn(client):
    css = client.get("/docs-assets/swagger-ui.css").text
    assert not re.search(r"@import\s+url\(\s*['\"]?https?://", css)


def test_served_redoc_script_has_no_cdn_logo(client):
    r = client.get("/docs-assets/redoc.standalone.js")
    assert r.status_code == 200 and "javascript" in r.headers["content-type"]
    assert "cdn.redoc.ly" not in r.text
    assert "API docs by Redocly" in r.text  # the footer stays, with an inline logo


def test_openapi_lists_every_route_with_its_error_responses(client, app):
    schema = client.get("/openapi.json").json()
    paths = schema["paths"]
    for (method, path), statuses in EXPECTED_ERRORS.items():
        responses = paths[path][method]["responses"]
        assert statuses <= set(responses), (path, set(responses))
        for status in statuses:
            ref = responses[status]["content"]["application/json"]["schema"]["$ref"]
            assert ref.endswith("/ErrorResponse"), (path, status)
    for route in app.routes:
        if getattr(route, "include_in_schema", False) and route.path.startswith("/api/v1"):
            for method in route.methods - {"HEAD", "OPTIONS"}:
                assert method.lower() in paths[route.path], (method, route.path)
    assert "/healthz" in paths and "/api/v1/models" in paths


def test_openapi_declares_both_inspect_body_types(client):
    schema = client.get("/openapi.json").json()
    body = schema["paths"]["/api/v1/models/{model_id}/inspect"]["post"]["requestBody"]
    multipart = body["content"]["multipart/form-data"]["schema"]
    assert multipart["properties"]["image"]["format"] == "binary"
    assert {"target", "encoding", "include"} <= set(multipart["properties"])
    json_schema = body["content"]["application/json"]["schema"]
    assert {"pixels", "sample", "target", "encoding", "include"} <= set(json_schema["properties"])
    ok = schema["paths"]["/api/v1/models/{model_id}/inspect"]["post"]["responses"]["200"]
    assert ok["content"]["application/json"]["schema"]["$ref"].endswith("/InspectResponse")


def test_openapi_documents_the_tensor_encodings(client):
    tensor = client.get("/openapi.json").json()["components"]["schemas"]["Tensor"]
    assert set(tensor["properties"]) == {"shape", "dtype", "encoding", "data", "min", "max"}
    assert tensor["properties"]["encoding"]["enum"] == ["base64", "list"]
    assert "little-endian" in tensor["description"]
