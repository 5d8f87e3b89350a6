"""Huge and hostile JSON bodies get a bounded 422 (at most MAX_PROBLEMS problems, at most
MAX_ERROR_BYTES), never a 500, and their parsing and validation run on the CPU pool."""

from __future__ import annotations

import json
import threading

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.api.validation import MAX_ERROR_BYTES, MAX_PROBLEMS
from app.nn import receptive as rf

INSPECT = "/api/v1/models/lenet5/inspect"
RECEPTIVE = "/api/v1/receptive-field"
JSON = {"content-type": "application/json"}
MB = 1024 * 1024


def bounded_error(response, status: int = 422, code: str | None = None) -> dict:
    assert response.status_code == status, response.text[:500]
    assert len(response.content) <= MAX_ERROR_BYTES
    error = response.json()["error"]
    assert error["message"]
    assert len(error.get("problems", [])) <= MAX_PROBLEMS
    if code is not None:
        assert error["code"] == code
    return error


def items(item: bytes, total_bytes: int) -> bytes:
    """A JSON list of `item`s filling about total_bytes."""
    count = total_bytes // (len(item) + 1)
    return b"[" + b",".join([item] * count) + b"]"


@pytest.mark.parametrize(
    "path, raw, code",
    [
        pytest.param(INSPECT, b'{"pixels": [' + items(b'""', 10 * MB - 64) + b"]}",
                     "invalid_pixels", id="pixels-one-row-of-millions-of-strings"),
        pytest.param(INSPECT, b'{"pixels": ' + items(items(b'""', 3 * 1024), 9 * MB) + b"}",
                     "invalid_pixels", id="pixels-thousands-of-rows-of-strings"),
        pytest.param(INSPECT, b'{"pixels": ' + items(items(b'""', 3 * 1023), 3 * MB) + b"}",
                     "invalid_input", id="pixels-1023-squared-strings"),
        pytest.param(INSPECT, b'{"sample": 0, "include": ' + items(b'""', 10 * MB - 64) + b"}",
                     "invalid_input", id="include-millions-of-strings"),
        pytest.param(INSPECT, b"{" + b",".join(b'"k%d": 0' % i for i in range(500_000)) + b"}",
                     "invalid_input", id="half-a-million-fields"),
        pytest.param(RECEPTIVE, b'{"input_size": 9, "layers": ' + items(b'""', 10 * MB - 64)
                     + b"}", "invalid_layer", id="layers-millions-of-strings"),
        pytest.param(RECEPTIVE, b'{"input_size": 9, "layers": [{"kernel_size": '
                     + items(b'""', 10 * MB - 64) + b"}]}", "invalid_input",
                     id="kernel-size-millions-of-strings"),
        pytest.param(RECEPTIVE, b'{"input_size": 9, "layers": '
                     + items(b'{"kernel_size": ' + items(b'"xx"', 1000) + b"}", 150 * 1024)
                     + b"}", "invalid_input", id="150-kb-of-invalid-layers"),
    ],
)
def test_a_huge_invalid_body_gets_a_bounded_422(client, path, raw, code):
    assert len(raw) <= 10 * MB
    bounded_error(client.post(path, content=raw, headers=JSON), 422, code)


@pytest.mark.parametrize(
    "pixels, problem",
    [
        (b"[[" + b"9" * 400 + b"]]", "less_than_equal"),
        (b"[[-" + b"9" * 400 + b", 1]]", "greater_than_equal"),
        (b"[[1, NaN, " + b"9" * 400 + b"]]", "finite_number"),
        (b"[[1e999]]", "finite_number"),
        (b"[[true]]", "float_type"),
    ],
    ids=["huge-int", "huge-negative-int", "nan-and-huge-int", "float-overflow", "boolean"],
)
def test_out_of_range_pixels_are_a_422_naming_the_first_one(client, pixels, problem):
    raw = b'{"pixels": ' + pixels + b"}"
    error = bounded_error(client.post(INSPECT, content=raw, headers=JSON), 422, "invalid_input")
    assert error["problems"][0]["type"] == problem


def test_a_150_kb_canvas_of_strings_lists_only_the_first_problems(client):
    raw = json.dumps({"pixels": [[""] * 1000] * 40}).encode()
    assert len(raw) > 150_000
    error = bounded_error(client.post(INSPECT, content=raw, headers=JSON), 422, "invalid_input")
    assert len(error["problems"]) == MAX_PROBLEMS
    assert error["problems"][0] == {"loc": ["pixels", "0", "0"],
                                    "msg": "Input should be a valid number", "type": "float_type"}


def test_a_valid_canvas_is_still_inspected(client):
    canvas = [[0] * 64 for _ in range(64)]
    for row in canvas[16:48]:
        row[30:34] = [255.0] * 4
    response = client.post(INSPECT, json={"pixels": canvas, "include": []})
    assert response.status_code == 200
    assert response.json()["blank"] is False


def test_a_blank_canvas_says_so(client):
    body = client.post(INSPECT, json={"pixels": [[0] * 8] * 8, "include": []}).json()
    assert body["blank"] is True
    assert body["preprocessing"][-1]["step"] == "blank"


def test_a_gallery_sample_is_never_blank(client):
    assert client.post(INSPECT, json={"sample": 0, "include": []}).json()["blank"] is False


PROPERTY = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
junk = st.one_of(
    st.none(), st.booleans(), st.text(max_size=30), st.floats(allow_nan=True),
    st.integers(min_value=-(10**30), max_value=10**30), st.integers(10**300, 10**400),
    st.lists(st.integers(), max_size=3), st.dictionaries(st.text(max_size=5), st.integers(),
                                                         max_size=3),
)


@PROPERTY
@given(
    rows=st.integers(1, 40), cols=st.integers(1, 300), value=junk,
    extra=st.dictionaries(st.text(max_size=10), junk, max_size=30),
)
def test_any_invalid_canvas_or_fields_get_a_bounded_4xx(client, rows, cols, value, extra):
    body = {"pixels": [[value] * cols] * rows, **extra}
    raw = json.dumps(body).encode()
    response = client.post(INSPECT, content=raw, headers=JSON)
    assert response.status_code in (200, 400, 404, 422), response.text[:300]
    if response.status_code != 200:
        bounded_error(response, response.status_code)


@PROPERTY
@given(
    count=st.integers(1, 400),
    layer=st.dictionaries(
        st.sampled_from(["name", "kind", "kernel_size", "stride", "padding", "dilation",
                         "ceil_mode", "junk"]),
        st.one_of(junk, st.lists(junk, max_size=300)), max_size=8,
    ),
    input_size=junk,
)
def test_any_invalid_layer_list_gets_a_bounded_4xx(client, count, layer, input_size):
    raw = json.dumps({"layers": [layer] * count, "input_size": input_size}).encode()
    response = client.post(RECEPTIVE, content=raw, headers=JSON)
    assert response.status_code in (200, 400, 422), response.text[:300]
    if response.status_code != 200:
        bounded_error(response, response.status_code)


# ----------------------------------------------------------------------------- receptive field


def test_a_chain_whose_jump_overflows_a_float_is_a_422_naming_the_layer(client):
    layers = [{"kind": "conv2d", "kernel_size": 1, "stride": 16383}] * 75
    error = bounded_error(
        client.post(RECEPTIVE, json={"layers": layers, "input_size": 16384}), 422,
        "invalid_layer",
    )
    assert error["field"] == "stride" and error["layer"] == 3  # 16383**4 > 2**52
    assert "2**52" in error["message"]


def test_fields_up_to_the_bound_are_exact_integers_and_start_is_a_float(client):
    layers = [{"kind": "conv2d", "kernel_size": 1, "stride": 2}] * 52
    response = client.post(RECEPTIVE, json={"layers": layers, "input_size": 1})
    assert response.status_code == 200
    last = response.json()["layers"][-1]
    assert last["jump"] == [2**52, 2**52] and last["size"] == [1, 1]
    assert '"jump":[4503599627370496,4503599627370496]' in response.text
    assert all(isinstance(row["start"][0], float) for row in response.json()["layers"])
    one_more = client.post(RECEPTIVE, json={"layers": layers * 2, "input_size": 1})
    assert bounded_error(one_more, 422, "invalid_layer")["layer"] == 52


def test_receptive_field_work_runs_on_the_cpu_pool(client, monkeypatch):
    import app.api.receptive as receptive_router

    threads = []
    compute = receptive_router.receptive_field

    def recording(body):
        threads.append(threading.current_thread().name)
        return compute(body)

    monkeypatch.setattr(receptive_router, "receptive_field", recording)
    response = client.post(RECEPTIVE, json={"preset": "lenet5"})
    assert response.status_code == 200
    assert threads and threads[0].startswith("convscope-cpu")


def test_the_bound_is_the_documented_one():
    assert rf.MAX_FIELD == 2**52


any_json = st.recursive(
    st.none() | st.booleans() | st.floats() | st.integers(-(10**400), 10**400)
    | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=6) | st.dictionaries(
        st.sampled_from(["pixels", "sample", "target", "encoding", "include", "layers", "preset",
                         "input_size", "unit", "pixel", "kind", "kernel_size", "stride",
                         "padding", "dilation", "ceil_mode", "name", "layer", "y", "x", "z"]),
        inner, max_size=6,
    ),
    max_leaves=40,
)


@PROPERTY
@given(body=any_json)
def test_any_json_body_gets_an_answer_never_a_500(client, body):
    raw = json.dumps(body).encode()  # NaN and Infinity included, as Python writes them
    for path in (INSPECT, RECEPTIVE):
        response = client.post(path, content=raw, headers=JSON)
        assert response.status_code < 500, (path, raw[:300], response.text[:300])
        if response.status_code >= 400:
            bounded_error(response, response.status_code)


BIG = "x" * 3_000_000


@pytest.mark.parametrize(
    "path, body",
    [
        (RECEPTIVE, {"preset": "lenet5", "unit": {"layer": BIG, "y": 0, "x": 0}}),
        (RECEPTIVE, {"preset": BIG}),
        (RECEPTIVE, {"layers": [{"kind": BIG, "kernel_size": 3}], "input_size": 5}),
        (INSPECT, {"sample": 0, "include": ",".join(f"part{i}" for i in range(300_000))}),
        (INSPECT, {"sample": 0, BIG: 1}),
    ],
    ids=["unit-layer-name", "preset-name", "layer-kind", "include-parts", "field-name"],
)
def test_an_error_quoting_a_huge_client_value_stays_bounded(client, path, body):
    bounded_error(client.post(path, json=body), 422)


def test_a_404_for_a_huge_model_id_stays_bounded(client):
    bounded_error(client.get("/api/v1/models/" + "y" * 8000), 404, "model_not_found")
