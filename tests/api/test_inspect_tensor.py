"""Inspect with an exact input tensor: the same trace as the image it came from (bundled
models too), and every malformed tensor a 422 naming the problem, never a 500."""

from __future__ import annotations

import base64

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.services.samples import sample_digit
from tests.floats import assert_json_equal_up_to_rounding

URL = "/api/v1/models/{}/inspect"


def tensor_of(x: np.ndarray) -> dict:
    x = np.ascontiguousarray(x, dtype="<f4")
    return {"shape": list(x.shape), "dtype": "float32", "encoding": "base64",
            "data": base64.b64encode(x.tobytes()).decode()}


def digit_tensor(sample: int) -> np.ndarray:
    digit, _ = sample_digit(sample)
    return (digit.astype(np.float32) / 255.0)[None, None]


@pytest.mark.parametrize("model", ["lenet5", "resnet-mini", "lstm-rows"])
def test_tensor_of_a_preprocessed_sample_gives_the_samples_trace(client, model):
    by_sample = client.post(URL.format(model), json={"sample": 7, "target": 3}).json()
    by_tensor = client.post(URL.format(model), json={
        "tensor": tensor_of(digit_tensor(7)), "target": 3}).json()
    assert by_tensor["trace_id"] == by_sample["trace_id"]  # same model, input bytes, target
    for key in ("logits", "loss", "input_grad", "layers"):
        assert_json_equal_up_to_rounding(by_tensor[key], by_sample[key], path=key)
    assert by_tensor["preprocessing"] == [] and by_tensor["blank"] is False


def test_tensor_values_outside_0_1_are_used_as_given(client):
    x = np.random.default_rng(0).standard_normal((1, 1, 28, 28)).astype(np.float32) * 3
    body = client.post(URL.format("lenet5"), json={"tensor": tensor_of(x)})
    assert body.status_code == 200, body.text


def _error(response, code: str) -> dict:
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == code, error
    return error


def test_wrong_shape_names_the_models_input(client):
    x = np.zeros((1, 3, 28, 28), np.float32)
    error = _error(client.post(URL.format("lenet5"), json={"tensor": tensor_of(x)}),
                   "invalid_tensor_shape")
    assert error["expected"] == [1, 1, 28, 28] and "[1, 1, 28, 28]" in error["message"]


def test_non_finite_values_are_refused_and_counted(client):
    x = digit_tensor(1)
    x[0, 0, 3, 4], x[0, 0, 5, 6] = np.nan, np.inf
    error = _error(client.post(URL.format("lenet5"), json={"tensor": tensor_of(x)}),
                   "non_finite_tensor")
    assert error["count"] == 2


@pytest.mark.parametrize("change, code", [
    ({"data": "AAAA"}, "invalid_tensor"),                                  # too short
    ({"data": "!" * 4184}, "invalid_tensor"),                              # not base64
    ({"dtype": "float64"}, "invalid_input"),                               # schema
    ({"encoding": "list"}, "invalid_input"),
    ({"shape": [1, 1, 28, 0]}, "invalid_input"),
])
def test_malformed_tensors_are_422(client, change, code):
    tensor = {**tensor_of(digit_tensor(2)), **change}
    _error(client.post(URL.format("lenet5"), json={"tensor": tensor}), code)


def test_a_tensor_with_another_source_is_refused(client):
    response = client.post(URL.format("lenet5"), json={"tensor": tensor_of(digit_tensor(2)),
                                                       "sample": 2})
    assert response.status_code == 422
    assert "exactly one of" in response.json()["error"]["message"]


JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=8), inner,
                                                                max_size=5),
    max_leaves=20,
)


@st.composite
def junk_tensors(draw):
    base = tensor_of(digit_tensor(3))
    if draw(st.booleans()):
        return draw(JSONISH)
    for key in draw(st.lists(st.sampled_from(["shape", "dtype", "encoding", "data", "x"]),
                             max_size=3)):
        base[key] = draw(JSONISH | st.text(max_size=5000))
    return base


@settings(max_examples=80, deadline=None, suppress_health_check=list(HealthCheck))
@given(tensor=junk_tensors())
def test_junk_tensors_never_get_a_500(client, tensor):
    response = client.post(URL.format("lenet5"), json={"tensor": tensor})
    assert response.status_code in (200, 422), response.text
    if response.status_code == 422:
        assert response.json()["error"]["message"]
