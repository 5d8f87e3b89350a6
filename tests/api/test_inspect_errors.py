"""Every way to get /inspect wrong gets the error envelope with the right status and code."""

from __future__ import annotations

import numpy as np
import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import Settings
from tests.api.imagery import png_bytes

URL = "/api/v1/models/lenet5/inspect"


def assert_error(r, status: int, code: str, *words: str) -> dict:
    assert r.status_code == status, r.text[:500]
    assert r.headers["content-type"].startswith("application/json")
    error = r.json()["error"]
    assert error["code"] == code, error
    for word in words:
        assert word in error["message"], error["message"]
    return error


def test_unknown_model_is_404_naming_the_available_ones(client):
    r = client.post("/api/v1/models/resnet50/inspect", json={"sample": 0})
    error = assert_error(r, 404, "model_not_found", "resnet50", "lenet5")
    assert "lenet5" in error["available"]


def test_unknown_sample_is_404(client):
    assert_error(client.post(URL, json={"sample": 500}), 404, "sample_not_found", "500", "499")


def test_body_that_is_neither_multipart_nor_json_is_415(client):
    r = client.post(URL, content=b"hello", headers={"content-type": "text/plain"})
    error = assert_error(r, 415, "unsupported_media_type", "text/plain")
    assert "multipart/form-data" in error["supported"]
    assert_error(client.post(URL, content=b"x"), 415, "unsupported_media_type")


def test_malformed_json_is_400(client):
    r = client.post(URL, content=b'{"sample": ', headers={"content-type": "application/json"})
    assert_error(r, 400, "invalid_json")


@pytest.mark.parametrize(
    ("body", "where"),
    [
        ({}, "exactly one of"),
        ({"sample": 1, "pixels": [[0]]}, "exactly one of"),
        ({"sample": -1}, "sample"),
        ({"sample": "three"}, "sample"),
        ({"sample": True}, "sample"),
        ({"sample": 2, "target": 1.5}, "target"),
        ({"sample": 1, "encoding": "hex"}, "encoding"),
        ({"sample": 1, "colour": "red"}, "colour"),
    ],
)
def test_invalid_json_fields_are_422_naming_the_field(client, body, where):
    error = assert_error(client.post(URL, json=body), 422, "invalid_input", where)
    assert error["problems"]


@pytest.mark.parametrize(
    ("pixels", "code", "words"),
    [
        ([[0, 256]], "invalid_input", "pixels.0.1"),
        ([[0, -1]], "invalid_input", "pixels.0.1"),
        ("not rows", "invalid_input", "pixels"),
        ([[1, "a"]], "invalid_input", "pixels.0.1"),
        ([[None]], "invalid_input", "pixels.0.0"),
        ([[[0]]], "invalid_input", "pixels.0.0"),
        ([[0, 1], [2]], "invalid_pixels", "ragged"),
        ([], "invalid_pixels", "rows"),
        (np.zeros((2, 1025), dtype=np.uint8).tolist(), "invalid_pixels", "1024"),
    ],
)
def test_invalid_canvas_is_422_saying_why(client, pixels, code, words):
    """Per-value problems are caught by the schema (naming the cell), shape problems by
    app.imaging."""
    assert_error(client.post(URL, json={"pixels": pixels}), 422, code, words)


def test_non_finite_pixels_are_rejected_not_turned_into_null(client):
    for literal in (b"NaN", b"Infinity", b"1e999"):
        r = client.post(
            URL, content=b'{"pixels": [[0, ' + literal + b"]]}",
            headers={"content-type": "application/json"},
        )
        assert r.status_code in (400, 422), r.text
        assert r.json()["error"]["code"] in ("invalid_json", "invalid_input")


@pytest.mark.parametrize("target", [10, 99])
def test_target_out_of_range_is_422(client, target):
    r = client.post(URL, json={"sample": 0, "target": target})
    assert_error(r, 422, "invalid_target", str(target), "0 to 9")


def test_negative_target_is_422(client):
    assert_error(client.post(URL, json={"sample": 0, "target": -1}), 422, "invalid_input", "target")


def test_unknown_include_part_is_422_listing_the_known_parts(client):
    r = client.post(URL, json={"sample": 0, "include": "activations,weights"})
    assert_error(r, 422, "invalid_include", "'weights'", "pool_mask", "param_grads")
    r = client.post(URL, json={"sample": 0, "include": ["activations", "weights"]})
    assert_error(r, 422, "invalid_include", "'weights'", "pool_mask", "param_grads")


def test_multipart_without_image_field_is_422(client):
    r = client.post(URL, files={"picture": ("d.png", b"x", "image/png")})
    assert_error(r, 422, "invalid_input", "picture")
    r = client.post(URL, data={"target": "3"}, files={"unused": ("", b"", "text/plain")})
    assert r.status_code == 422


def test_multipart_image_sent_as_text_field_is_422(client):
    r = client.post(URL, data={"image": "not a file"}, files={"x": ("a", b"", "text/plain")})
    assert r.status_code == 422


def test_multipart_bad_target_is_422(client):
    png = png_bytes(np.zeros((28, 28), np.uint8))
    r = client.post(URL, files={"image": ("d.png", png, "image/png")}, data={"target": "seven"})
    assert_error(r, 422, "invalid_input", "target")
    r = client.post(URL, files={"image": ("d.png", png, "image/png")}, data={"target": "10"})
    assert_error(r, 422, "invalid_target")


def test_multipart_bad_include_is_422(client):
    png = png_bytes(np.zeros((28, 28), np.uint8))
    r = client.post(URL, files={"image": ("d.png", png, "image/png")}, data={"include": "all"})
    assert_error(r, 422, "invalid_include", "'all'")


def test_file_that_is_not_an_image_is_415(client):
    r = client.post(URL, files={"image": ("notes.txt", b"just some text\n" * 10, "text/plain")})
    assert r.status_code == 415
    assert r.json()["error"]["code"]


def test_truncated_png_is_422(client):
    png = png_bytes(np.full((64, 64), 200, np.uint8))
    r = client.post(URL, files={"image": ("cut.png", png[: len(png) // 2], "image/png")})
    assert r.status_code == 422
    assert r.json()["error"]["code"]


def test_body_over_the_limit_is_413():
    app = create_app(Settings(max_body_bytes=4096))
    with TestClient(app) as small:
        r = small.post(URL, json={"pixels": np.zeros((60, 60), int).tolist()})
        assert_error(r, 413, "payload_too_large", "4,096")
        big = png_bytes(np.random.default_rng(0).integers(0, 255, (80, 80), dtype=np.uint8))
        r = small.post(URL, files={"image": ("big.png", big, "image/png")})
        assert_error(r, 413, "payload_too_large")


def test_errors_never_leak_as_500(client):
    bodies = [
        {"json": {"pixels": [[None]]}},
        {"json": {"sample": 1.5}},
        {"json": {"sample": True}},
        {"json": [1, 2, 3]},
        {"json": {"pixels": [[[0]]]}},
        {"content": b"\xff\xfe", "headers": {"content-type": "application/json"}},
        {"content": b"--x\r\n", "headers": {"content-type": "multipart/form-data; boundary=x"}},
        {"content": b"abc", "headers": {"content-type": "multipart/form-data"}},
    ]
    for kwargs in bodies:
        r = client.post(URL, **kwargs)
        assert 400 <= r.status_code < 500, (kwargs, r.status_code, r.text)
        assert r.json()["error"]["code"], kwargs


def test_a_pass_that_produces_nan_is_refused_naming_the_tensor(client, lenet5, monkeypatch):
    import app.services.models as model_service
    from app.models import Model

    broken = lenet5.network.astype(np.float32)
    broken.layers[-1].params["bias"] = np.full(10, np.nan, dtype=np.float32)
    model = Model(lenet5.architecture, broken, lenet5.card)
    monkeypatch.setattr(model_service, "load_model", lambda model_id: model)
    r = client.post(URL, json={"sample": 0})
    error = assert_error(r, 422, "non_finite_result", "non-finite")
    assert error["tensor"] == "fc3.output"
