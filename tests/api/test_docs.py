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
def test_docs_pages_have_no_inline_script_and_link_back_to_the_app(client, page):
    html = client.get(page).text
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)
    assert not re.search(r"\son[a-z]+=", html)
    assert 'href="/"' in html


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
    components = schema["components"]["schemas"]
    multipart = components["InspectMultipartRequest"]
    assert multipart["properties"]["image"]["format"] == "binary"
    assert {"target", "encoding", "include"} <= set(multipart["properties"])
    json_schema = components["InspectJsonRequest"]
    assert {"pixels", "sample", "target", "encoding", "include"} <= set(json_schema["properties"])
    ok = schema["paths"]["/api/v1/models/{model_id}/inspect"]["post"]["responses"]["200"]
    assert ok["content"]["application/json"]["schema"]["$ref"].endswith("/InspectResponse")


def test_openapi_ties_the_tensor_data_to_its_encoding(client):
    schemas = client.get("/openapi.json").json()["components"]["schemas"]
    tensor = schemas["Tensor"]
    assert tensor["discriminator"] == {
        "propertyName": "encoding",
        "mapping": {"base64": "#/components/schemas/TensorBase64",
                    "list": "#/components/schemas/TensorList"},
    }
    assert "little-endian" in tensor["description"]
    for name, data_type in (("TensorBase64", "string"), ("TensorList", "array")):
        props = schemas[name]["properties"]
        assert set(props) == {"shape", "dtype", "encoding", "data", "min", "max"}
        assert props["data"]["type"] == data_type


def test_openapi_names_the_inspect_bodies_and_declares_binary_and_retry_after(client):
    doc = client.get("/openapi.json").json()
    op = doc["paths"]["/api/v1/models/{model_id}/inspect"]["post"]
    content = op["requestBody"]["content"]
    assert content["application/json"]["schema"] == {
        "$ref": "#/components/schemas/InspectJsonRequest"}
    assert content["multipart/form-data"]["schema"] == {
        "$ref": "#/components/schemas/InspectMultipartRequest"}
    assert content["multipart/form-data"]["encoding"]["include"]["explode"] is True
    assert "Retry-After" in op["responses"]["503"]["headers"]
    png = doc["paths"]["/api/v1/samples/{sample_id}.png"]["get"]["responses"]["200"]
    assert png["content"]["image/png"]["schema"] == {"type": "string", "format": "binary"}


def test_openapi_objects_are_typed_not_open_dicts(client):
    schemas = client.get("/openapi.json").json()["components"]["schemas"]
    assert schemas["LayerInfo"]["properties"]["config"]["$ref"].endswith("/NetworkLayerConfig")
    assert schemas["LayerTraceOut"]["properties"]["config"]["$ref"].endswith(
        "/NetworkLayerConfig")
    assert schemas["ModelDetail"]["properties"]["card"]["$ref"].endswith("/ModelCard")
    params = schemas["LayerTraceOut"]["properties"]["param_grads"]["anyOf"][0]["$ref"]
    assert params.endswith("/LayerParams")
    assert {"weight", "bias"} <= set(schemas["LayerParams"]["properties"])
    assert {"problems", "available", "field", "supported"} <= set(
        schemas["ErrorDetail"]["properties"])
    assert schemas["Timings"]["additionalProperties"] == {"type": "number"}
    assert schemas["InspectResponse"]["properties"]["blank"]["type"] == "boolean"


@pytest.mark.parametrize(
    ("schema", "body", "valid"),
    [
        ("InspectJsonRequest", {"sample": 7}, True),
        ("InspectJsonRequest", {"pixels": [[0, 255]]}, True),
        ("InspectJsonRequest", {"sample": 7, "pixels": [[0]]}, False),
        ("InspectJsonRequest", {}, False),
        ("InspectJsonRequest", {"sample": 7, "include": "activations, pool_mask"}, True),
        ("InspectJsonRequest", {"sample": 7, "include": "string"}, False),
        ("ReceptiveFieldRequest", {}, False),
        ("ReceptiveFieldRequest", {"preset": "alexnet"}, True),
        ("ReceptiveFieldRequest", {"layers": [{"kernel_size": 3}]}, False),
        ("ReceptiveFieldRequest", {"layers": [{"kernel_size": 3}], "input_size": [0]}, False),
        ("ReceptiveFieldRequest", {"layers": [{"kernel_size": 3}], "input_size": 8}, True),
        ("ReceptiveFieldRequest", {"layers": [], "input_size": 8}, False),
        ("ReceptiveFieldRequest", {"layers": [{"kernel_size": [3, 3, 3]}], "input_size": 8},
         False),
        ("ReceptiveFieldRequest", {"layers": [{"kernel_size": 0}], "input_size": 8}, False),
        ("ReceptiveFieldRequest", {"layers": [{"kernel_size": 2, "kind": "lstm"}],
                                   "input_size": 8}, False),
        ("ReceptiveFieldRequest", {"preset": "alexnet", "layers": [{"kernel_size": 3}],
                                   "input_size": 8}, False),
    ],
)
def test_openapi_states_the_request_rules_the_api_enforces(client, schema, body, valid):
    import jsonschema

    doc = client.get("/openapi.json").json()
    resolver = {"$ref": f"#/components/schemas/{schema}", "components": doc["components"]}
    assert jsonschema.Draft202012Validator(resolver).is_valid(body) is valid
    path = "/api/v1/models/lenet5/inspect" if schema.startswith("Inspect") else (
        "/api/v1/receptive-field")
    status = client.post(path, json=body).status_code
    assert (status == 200) is valid, (body, status)


def test_openapi_text_states_rules_without_citing_internal_documents(client):
    text = client.get("/openapi.json").text
    assert not re.search(r"\b(seed|issue) \d+", text, re.IGNORECASE), re.findall(
        r".{40}\b(?:seed|issue) \d+.{20}", text, re.IGNORECASE)


def test_openapi_multipart_rules_match_the_api(client):
    import jsonschema

    doc = client.get("/openapi.json").json()
    media = doc["paths"]["/api/v1/models/{model_id}/inspect"]["post"]["requestBody"]["content"][
        "multipart/form-data"]
    assert media["encoding"]["image"]["contentType"].split(", ") == [
        "image/png", "image/jpeg", "image/gif", "image/webp", "image/bmp"]
    schema = {"$ref": "#/components/schemas/InspectMultipartRequest",
              "components": doc["components"]}
    image = client.get("/api/v1/samples/7.png").content
    too_many = {"image": "x", "target": 3, "encoding": "list", "include": ["activations"] * 7}
    assert not jsonschema.Draft202012Validator(schema).is_valid(too_many)
    r = client.post("/api/v1/models/lenet5/inspect", files={"image": ("7.png", image)},
                    data={"target": "3", "encoding": "list", "include": ["activations"] * 7})
    assert r.status_code == 400
    assert not jsonschema.Draft202012Validator(schema).is_valid({"image": "x", "extra": "1"})
    r = client.post("/api/v1/models/lenet5/inspect", files={"image": ("7.png", image)},
                    data={"extra": "1"})
    assert r.status_code == 422
    r = client.post("/api/v1/models/lenet5/inspect",
                    files={"image": ("7.png", image)}, data={"include": ["activations"] * 6})
    assert r.status_code == 200
