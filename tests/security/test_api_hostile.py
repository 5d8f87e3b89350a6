"""POST /api/v1/models/{id}/inspect against hostile requests, through the real app: each gets
its exact 4xx status and error code, never a 500, and the process is healthy afterwards."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from PIL import Image

from tests.security.test_decode import crafted_png, encode

INSPECT = "/api/v1/models/lenet5/inspect"
JSON = {"content-type": "application/json"}
MB = 1024 * 1024


def png_digit() -> bytes:
    img = np.full((80, 60), 230, np.uint8)
    img[15:65, 27:33] = 20
    return encode(Image.fromarray(img), "PNG")


def error_of(response) -> tuple[int, str]:
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"} and body["error"]["message"]
    return response.status_code, body["error"]["code"]


def post_json(client, raw: bytes | str, path: str = INSPECT, headers=JSON):
    return client.post(path, content=raw, headers=headers)


# ----------------------------------------------------------------------------- body size


def test_30_mb_multipart_upload_is_refused_with_413(client):
    response = client.post(INSPECT, files={"image": ("big.png", b"\0" * (30 * MB), "image/png")})
    assert error_of(response) == (413, "payload_too_large")
    assert response.json()["error"]["max_bytes"] == 10 * MB


def test_30_mb_json_body_streamed_without_content_length_is_refused_with_413(client):
    def chunks():
        yield b'{"pixels": ['
        for _ in range(30):
            yield b"[" + b"0," * (MB // 2 - 1) + b"0],"
        yield b"[0]]}"

    response = client.post(INSPECT, content=chunks(), headers=JSON)
    assert "content-length" not in response.request.headers
    assert error_of(response) == (413, "payload_too_large")


def test_multipart_streamed_past_the_cap_without_content_length_is_refused_with_413(client):
    head = b'--b\r\nContent-Disposition: form-data; name="image"; filename="x"\r\n\r\n'

    def chunks():
        yield head
        for _ in range(12):
            yield b"\0" * MB
        yield b"\r\n--b--\r\n"

    response = client.post(
        INSPECT, content=chunks(), headers={"content-type": "multipart/form-data; boundary=b"}
    )
    assert "content-length" not in response.request.headers
    assert error_of(response) == (413, "payload_too_large")


def test_uploads_stay_in_memory_never_spill_to_disk(client, monkeypatch):
    import starlette.formparsers as formparsers

    spools = []

    class RecordingSpool(formparsers.SpooledTemporaryFile):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            spools.append(self)

        def close(self):
            spools.append(("rolled to disk", self._rolled))
            super().close()

    monkeypatch.setattr(formparsers, "SpooledTemporaryFile", RecordingSpool)
    big = encode(Image.fromarray(
        np.random.default_rng(0).integers(0, 256, (1200, 1200), dtype=np.uint8)), "PNG")
    assert len(big) > 1 * MB
    response = client.post(INSPECT, files={"image": ("big.png", big, "image/png")})
    assert response.status_code == 200
    assert ("rolled to disk", False) in spools and ("rolled to disk", True) not in spools


def test_body_just_under_the_cap_is_read_and_judged_on_its_content(client):
    response = client.post(
        INSPECT, files={"image": ("big.bin", b"\x01" * (10 * MB - 4096), "image/png")}
    )
    assert error_of(response) == (415, "unsupported_media_type")


def test_non_numeric_content_length_is_a_400(client):
    response = client.post(INSPECT, content=b"{}", headers={**JSON, "content-length": "lots"})
    assert error_of(response) == (400, "bad_request")


# ----------------------------------------------------------------------------- multipart shape


def test_thousands_of_form_fields_are_refused(client):
    fields = {f"field{i}": "1" for i in range(5000)}
    response = client.post(INSPECT, files={"image": ("d.png", png_digit(), "image/png")},
                           data=fields)
    assert error_of(response) == (400, "invalid_multipart")


def test_two_files_are_refused(client):
    files = [("image", ("a.png", png_digit(), "image/png")),
             ("image", ("b.png", png_digit(), "image/png"))]
    assert error_of(client.post(INSPECT, files=files)) == (400, "invalid_multipart")


def test_multipart_without_boundary_is_refused(client):
    response = client.post(INSPECT, content=b"--x\r\n\r\n--x--\r\n",
                           headers={"content-type": "multipart/form-data"})
    assert error_of(response) == (400, "invalid_multipart")


def test_multipart_with_a_text_image_field_is_refused(client):
    body = b'--b\r\nContent-Disposition: form-data; name="image"\r\n\r\nhi\r\n--b--\r\n'
    response = client.post(
        INSPECT, content=body, headers={"content-type": "multipart/form-data; boundary=b"}
    )
    assert error_of(response) == (422, "missing_image")


def test_path_traversal_filename_is_never_used_or_echoed(client, tmp_path):
    name = "../../../../tmp/convscope-owned.png"
    response = client.post(INSPECT, files={"image": (name, png_digit(), "image/png")})
    assert response.status_code == 200
    assert "convscope-owned" not in response.text and ".." not in response.text
    assert not (tmp_path.parent / "convscope-owned.png").exists()


def test_type_comes_from_content_not_extension_or_content_type(client):
    disguised = client.post(INSPECT, files={"image": ("x.exe", png_digit(), "text/html")})
    assert disguised.status_code == 200
    svg = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    named_png = client.post(INSPECT, files={"image": ("x.png", svg, "image/png")})
    assert error_of(named_png) == (415, "unsupported_media_type")


@pytest.mark.parametrize(
    "data, code",
    [
        pytest.param(crafted_png(100_000, 100_000), "image_too_large", id="png-bomb"),
        pytest.param(encode(Image.new("L", (1, 5000)), "PNG"), "extreme_aspect_ratio",
                     id="1x5000"),
        pytest.param(png_digit()[:60], "corrupt_image", id="truncated-png"),
        pytest.param(b"", "empty_image", id="empty-file"),
    ],
)
def test_bad_upload_reaches_the_client_as_its_imaging_error(client, data, code):
    response = client.post(INSPECT, files={"image": ("x.png", data, "image/png")})
    assert error_of(response) == (422, code)


# ----------------------------------------------------------------------------- JSON bodies


@pytest.mark.parametrize(
    "raw, status, code",
    [
        pytest.param(b'{"pixels": [[0, NaN]]}', 422, "invalid_input", id="nan-literal"),
        pytest.param(b'{"pixels": [[0, Infinity]]}', 422, "invalid_input", id="infinity-literal"),
        pytest.param(b'{"pixels": [[0, -Infinity]]}', 422, "invalid_input", id="minus-infinity"),
        pytest.param(b'{"pixels": [[0, 0], [0]]}', 422, "invalid_pixels", id="ragged"),
        pytest.param(b'{"pixels": [[0, 300]]}', 422, "invalid_input", id="out-of-range-pixel"),
        pytest.param(b'{"pixels": [["a"]]}', 422, "invalid_input", id="string-pixel"),
        pytest.param(b'{"pixels": [[[0]]]}', 422, "invalid_input", id="three-d"),
        pytest.param(b'{"pixels": []}', 422, "invalid_pixels", id="no-rows"),
        pytest.param(json.dumps({"pixels": [[0] * 4] * 1025}), 422, "invalid_pixels",
                     id="1025-rows"),
        pytest.param(b'{"sample": 0, "target": 10}', 422, "invalid_target", id="target-10"),
        pytest.param(b'{"sample": 0, "target": -1}', 422, "invalid_input", id="target-minus-1"),
        pytest.param(b'{"sample": 0, "target": 1e400}', 422, "invalid_input",
                     id="target-overflow"),
        pytest.param(b'{"sample": 0, "target": "x"}', 422, "invalid_input", id="target-string"),
        pytest.param(b'{"sample": 99999}', 404, "sample_not_found", id="unknown-sample"),
        pytest.param(b'{"sample": -1}', 422, "invalid_input", id="negative-sample"),
        pytest.param(b'{"sample": 0, "encoding": "xml"}', 422, "invalid_input",
                     id="unknown-encoding"),
        pytest.param(b'{"sample": 0, "pixels": [[0]]}', 422, "invalid_input", id="two-sources"),
        pytest.param(b"{}", 422, "invalid_input", id="no-source"),
        pytest.param(b"[]", 422, "invalid_input", id="top-level-array"),
        pytest.param(b"", 400, "invalid_json", id="empty-body"),
        pytest.param(b'{"sample": 0', 400, "invalid_json", id="truncated-json"),
        pytest.param(b"\xff\xfe{}", 400, "invalid_json", id="not-utf8"),
        pytest.param(b'{"pixels": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", 400,
                     "invalid_json", id="deeply-nested"),
    ],
)
def test_bad_json_body_gets_its_exact_error(client, raw, status, code):
    assert error_of(post_json(client, raw)) == (status, code)


@pytest.mark.parametrize(
    "path, code",
    [
        ("/api/v1/models/nope/inspect", "model_not_found"),
        ("/api/v1/models/..%2F..%2Fetc%2Fpasswd/inspect", "not_found"),
        ("/api/v1/models/" + "a" * 5000 + "/inspect", "model_not_found"),
    ],
    ids=["unknown", "traversal", "very-long-id"],
)
def test_unknown_model_is_a_404(client, path, code):
    assert error_of(post_json(client, b'{"sample": 0}', path=path)) == (404, code)


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/xml"])
def test_body_of_an_unsupported_media_type_is_a_415(client, content_type):
    headers = {"content-type": content_type} if content_type else {}
    response = client.post(INSPECT, content=b'{"sample": 0}', headers=headers)
    assert error_of(response) == (415, "unsupported_media_type")


def test_get_on_inspect_is_a_405(client):
    assert error_of(client.get(INSPECT)) == (405, "method_not_allowed")


# ----------------------------------------------------------------------------- afterwards


def test_process_is_healthy_after_the_battery(client, app):
    assert client.get("/healthz").json() == {"status": "ok"}
    assert app.state.cpu_limiter.admitted == 0
    digit = np.asarray(Image.open(io.BytesIO(png_digit())))
    response = post_json(client, json.dumps({"pixels": digit.tolist()}))
    assert response.status_code == 200
    assert response.json()["prediction"] == 1
