"""POST /api/v1/lessons/autoencoder/inspect and GET /api/v1/lessons/autoencoder/scatter: the
reconstruction trace's fields and numbers, the model's scatter and overlap counts, the small
examples against the core, and every malformed input a 4xx envelope (hypothesis)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.lessons.autoencoder import overlap_counts
from app.models.autoencoder import load_autoencoder
from app.services.samples import sample_digit

BASE = "/api/v1/lessons/autoencoder"


def test_a_gallery_digit_comes_back_with_every_map_the_reconstruction_and_its_error(client):
    body = client.post(f"{BASE}/inspect", json={"sample": 5}).json()
    assert body["head"] == "reconstruction" and body["model"] == "autoencoder"
    names = [layer["name"] for layer in body["layers"]]
    assert names[:6] == body["encoder"] and names[6:] == body["decoder"]
    shapes = {layer["name"]: layer["output_shape"] for layer in body["layers"]}
    assert shapes["conv3"] == [8, 7, 7] and shapes["deconv1"] == [8, 14, 14]
    assert shapes["sigmoid"] == [1, 28, 28]
    x = np.array(body["input"])
    np.testing.assert_allclose(x, sample_digit(5)[0] / 255.0, atol=1e-7)
    y = np.array(body["reconstruction"])
    error = np.array(body["error_map"])
    np.testing.assert_allclose(error, (y - x) ** 2, rtol=1e-5, atol=1e-12)
    assert body["loss"] == pytest.approx(error.mean(), rel=1e-5)
    assert body["loss"] < 0.05
    last = body["layers"][-1]
    np.testing.assert_allclose(np.array(last["grad_output"][0]), 2 * (y - x) / 784, rtol=1e-4,
                               atol=1e-9)
    grads = {layer["name"]: layer["grads"] for layer in body["layers"] if layer["grads"]}
    assert set(grads) == {"conv1", "conv2", "conv3", "deconv1", "deconv2"}
    assert np.array(grads["deconv1"]["weight"]).shape == (8, 8, 3, 3)
    assert np.array(body["input_grad"]).shape == (28, 28)


def test_the_models_scatter_is_its_input_value_times_its_kernel_slice(client):
    body = client.post(f"{BASE}/inspect", json={"sample": 2, "layer": "deconv1", "channel": 1,
                                                "row": 4, "col": 2, "out_channel": 3}).json()
    s = body["scatter"]
    relu3 = next(layer for layer in body["layers"] if layer["name"] == "relu3")
    assert s["value"] == relu3["output"][1][4][2]
    kernel = load_autoencoder()[0].layers[6].params["weight"][1, 3]
    np.testing.assert_allclose(s["kernel"], kernel, rtol=1e-7)
    np.testing.assert_allclose(s["copy"], s["value"] * np.array(s["kernel"]), rtol=1e-12)
    assert (s["top"], s["left"]) == (4 * 2 - 1, 2 * 2 - 1)
    counts = np.array(s["overlap_counts"])
    assert counts.shape == (14, 14) and set(counts.ravel()) == {1, 2, 4}
    deconv2 = client.post(f"{BASE}/inspect", json={"sample": 2, "layer": "deconv2"}).json()
    inner = np.array(deconv2["scatter"]["overlap_counts"])[1:-1, 1:-1]
    assert inner.shape == (26, 26) and set(inner.ravel()) == {4}


@pytest.mark.parametrize(("k", "s", "p", "op"), [(3, 2, 1, 1), (4, 2, 1, 0), (3, 2, 0, 0),
                                                 (5, 3, 1, 2), (2, 2, 0, 0)])
def test_overlap_counts_equal_the_core_transposed_conv_of_ones(k, s, p, op):
    from app.nn.conv import ConvTranspose2d
    layer = ConvTranspose2d(1, 1, k, stride=s, padding=p, output_padding=op, bias=False,
                            dtype=np.float64)
    layer.params["weight"][:] = 1.0
    ones = layer.forward(np.ones((1, 1, 5, 5)))[0][0, 0]
    np.testing.assert_array_equal(overlap_counts(5, k, s, p, op), ones)


def test_a_drawn_canvas_is_preprocessed_like_every_digit(client):
    canvas = np.zeros((56, 56), dtype=int)
    canvas[10:46, 26:30] = 255  # a "1"
    body = client.post(f"{BASE}/inspect", json={"pixels": canvas.tolist()}).json()
    x = np.array(body["input"])
    assert x.shape == (28, 28) and x.max() > 0.9
    assert body["loss"] < 0.1


def test_small_scatter_examples_sum_to_the_core_and_show_the_checkerboard(client):
    uneven = client.get(f"{BASE}/scatter", params={"n": 3, "kernel_size": 3,
                                                   "stride": 2}).json()
    assert not uneven["divisible"] and uneven["max_abs_difference"] == 0
    assert uneven["overlap_counts"][2] == [2, 2, 4, 2, 4, 2, 2]
    assert len(uneven["copies"]) == 9 and uneven["copies"][4] == {
        "row": 1, "col": 1, "value": uneven["input"][1][1], "top": 2, "left": 2}
    even = client.get(f"{BASE}/scatter", params={"n": 4, "kernel_size": 4, "stride": 2,
                                                 "padding": 1}).json()
    assert even["divisible"] and even["max_abs_difference"] == 0
    assert {c for row in even["overlap_counts"][1:-1] for c in row[1:-1]} == {4}


@pytest.mark.parametrize(("body", "code"), [
    ({}, "invalid_input"),
    ({"sample": 1, "pixels": [[0]]}, "invalid_input"),
    ({"sample": 500}, "sample_not_found"),
    ({"sample": 1, "channel": 8}, "invalid_channel"),
    ({"sample": 1, "row": 7}, "invalid_row"),
    ({"sample": 1, "layer": "deconv2", "col": 14}, "invalid_col"),
    ({"sample": 1, "layer": "deconv2", "out_channel": 1}, "invalid_out_channel"),
    ({"sample": 1, "layer": "conv1"}, "invalid_input"),
    ({"pixels": [[300]]}, "invalid_input"),
])
def test_bad_bodies_are_4xx_envelopes_naming_the_problem(client, body, code):
    r = client.post(f"{BASE}/inspect", json=body)
    assert 400 <= r.status_code < 500, r.text
    assert r.json()["error"]["code"] == code, r.text


JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers(-10**20, 10**20)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner,
                                                                max_size=3),
    max_leaves=12,
)
FIELDS = ("sample", "pixels", "layer", "channel", "row", "col", "out_channel", "extra")


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(body=st.dictionaries(st.sampled_from(FIELDS), JSONISH | st.integers(0, 20)
                            | st.sampled_from(["deconv1", "deconv2"])
                            | st.lists(st.lists(st.integers(0, 255), max_size=6), max_size=6),
                            max_size=4))
def test_any_json_body_is_answered_never_with_a_500(client, body):
    r = client.post(f"{BASE}/inspect", json=body)
    assert r.status_code < 500, (body, r.text)
    if r.status_code != 200:
        assert set(r.json()["error"]) >= {"code", "message"}


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(params=st.dictionaries(
    st.sampled_from(["n", "kernel_size", "stride", "padding", "seed"]),
    st.integers(-3, 12).map(str) | st.sampled_from(["", "x", "1.5", "2e40", str(2**40)]),
    max_size=5))
def test_any_scatter_query_is_answered_never_with_a_500(client, params):
    r = client.get(f"{BASE}/scatter", params=params)
    assert r.status_code in (200, 422), (params, r.text)
    if r.status_code == 200:
        body = r.json()
        side = len(body["output"])
        n, k, s, p = (body[key] for key in ("n", "kernel_size", "stride", "padding"))
        assert side == (n - 1) * s - 2 * p + k and body["max_abs_difference"] < 1e-9
        assert all(math.isfinite(v) for row in body["output"] for v in row)


def test_bytes_that_are_not_json_are_a_4xx(client):
    r = client.post(f"{BASE}/inspect", content=b"\xff{", headers={"Content-Type":
                                                                   "application/json"})
    assert 400 <= r.status_code < 500 and "error" in r.json()
