"""The lesson endpoints: datasets, live perceptron/MLP training, fc-as-conv and its map;
bounds give 4xx envelopes (never a 500), checked over families of bad inputs."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.api.samples import sample_digit
from tests.api.imagery import png_bytes

TRAIN = "/api/v1/lessons/perceptron/train"
MAP = "/api/v1/lessons/fc-as-conv/map"


def dataset(client, name, n=40, seed=0):
    r = client.get(f"/api/v1/lessons/perceptron/datasets/{name}", params={"n": n, "seed": seed})
    assert r.status_code == 200, r.text
    return r.json()["points"]


@pytest.mark.parametrize("name", ["and", "or", "xor", "moons", "circles"])
def test_datasets_are_seeded_bounded_and_labelled(client, name):
    points = dataset(client, name, n=40, seed=3)
    assert len(points) == 40
    assert points == dataset(client, name, n=40, seed=3)
    assert points != dataset(client, name, n=40, seed=4)
    assert {p["label"] for p in points} == {0, 1}
    assert all(-2.5 <= p["x"] <= 2.5 and -2.5 <= p["y"] <= 2.5 for p in points)


def test_unknown_dataset_and_too_many_points_are_422(client):
    assert client.get("/api/v1/lessons/perceptron/datasets/spirals").status_code == 422
    r = client.get("/api/v1/lessons/perceptron/datasets/xor", params={"n": 100_000})
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "invalid_input"


def test_training_continues_from_the_returned_state_exactly(client):
    points = dataset(client, "xor")
    body = {"points": points, "model": "mlp", "width": 3, "steps": 10, "seed": 1}
    first = client.post(TRAIN, json=body).json()
    second = client.post(TRAIN, json={**body, "state": first["state"]}).json()
    both = client.post(TRAIN, json={**body, "steps": 20}).json()
    assert second["state"]["step"] == 20
    assert second["state"]["weights"] == both["state"]["weights"]
    assert [s["loss"] for s in first["steps"] + second["steps"]] == [
        s["loss"] for s in both["steps"]]


def test_xor_mlp_reaches_100_percent_and_the_perceptron_never_beats_75(client):
    points = dataset(client, "xor")
    state = None
    for _ in range(5):
        r = client.post(TRAIN, json={"points": points, "model": "mlp", "width": 3,
                                     "steps": 100, "state": state or {}})
        state = r.json()["state"]
    body = r.json()
    assert body["accuracy"] == 1.0
    assert len(body["hidden"]["lines"]) == 3
    assert len(body["hidden"]["projection"]) == len(points)
    # in the hidden view's first axis (the output logit) the classes split at 0
    for (z, _), p in zip(body["hidden"]["projection"], points, strict=True):
        assert (z > 0) == (p["label"] == 1)
    r = client.post(TRAIN, json={"points": points, "model": "perceptron", "steps": 200,
                                 "learning_rate": 0.1})
    assert max(s["accuracy"] for s in r.json()["steps"]) <= 0.75


def test_perceptron_steps_report_the_point_the_update_and_the_weights(client):
    points = [{"x": 1.0, "y": 2.0, "label": 1}, {"x": 2.0, "y": -1.0, "label": 0}]
    state = {"step": 0, "weights": {"fc1.weight": [[0.0, 0.0]], "fc1.bias": [0.0]}}
    r = client.post(TRAIN, json={"points": points, "model": "perceptron", "steps": 2,
                                 "learning_rate": 1.0, "state": state, "grid_size": 11})
    body = r.json()
    s1, s2 = body["steps"]
    assert (s1["point"], s1["misclassified"], s1["activation"]) == (0, True, 0.0)
    assert s1["update"] == {"fc1.weight": [[1.0, 2.0]], "fc1.bias": [1.0]}
    assert s2["weights"] == {"fc1.weight": [[-1.0, 3.0]], "fc1.bias": [0.0]}
    assert body["accuracy"] == 1.0
    assert len(body["grid"]) == 11 and len(body["grid"][0]) == 11
    assert body["boundary"] is not None


@pytest.mark.parametrize("change,where", [
    ({"steps": 201}, "steps"),
    ({"width": 17}, "width"),
    ({"grid_size": 1000}, "grid_size"),
    ({"learning_rate": 0}, "learning_rate"),
    ({"model": "svm"}, "model"),
    ({"points": []}, "points"),
    ({"points": [{"x": 9, "y": 0, "label": 1}]}, "points"),
    ({"points": [{"x": 0, "y": 0, "label": 2}]}, "points"),
    ({"points": [{"x": 0, "y": 0, "label": 1}] * 401}, "points"),
    ({"extra": 1}, "extra"),
])
def test_out_of_bounds_training_requests_are_422_naming_the_field(client, change, where):
    body = {"points": [{"x": 0.5, "y": 0.5, "label": 1}], "model": "mlp", **change}
    r = client.post(TRAIN, json=body)
    assert r.status_code == 422, r.text
    assert where in r.json()["error"]["message"]


def test_weights_of_the_wrong_shape_are_422_invalid_state(client):
    body = {"points": [{"x": 0.5, "y": 0.5, "label": 1}], "model": "mlp", "width": 3,
            "state": {"weights": {"fc1.weight": [[0.0, 0.0]], "fc1.bias": [0.0]}}}
    r = client.post(TRAIN, json=body)
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "invalid_state"
    body["state"]["weights"] = {"fc1.weight": [[0.0, 0.0, 1.0]] * 3, "fc1.bias": [0.0] * 3,
                                "fc2.weight": [[0.0] * 3], "fc2.bias": [0.0]}
    r = client.post(TRAIN, json=body)
    assert r.status_code == 422 and "shape" in r.json()["error"]["message"]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10**6, 10**6)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner,
                                                                max_size=4),
    max_leaves=20,
)


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    model=st.sampled_from(["perceptron", "sigmoid", "mlp"]),
    width=st.integers(-2, 20),
    steps=st.integers(-1, 250),
    weights=json_values,
    step=st.integers(-5, 10**8),
)
def test_any_training_request_gets_200_or_a_4xx_envelope(client, model, width, steps, weights,
                                                         step):
    body = {"points": [{"x": 0.5, "y": -0.5, "label": 1}, {"x": -1, "y": 1, "label": 0}],
            "model": model, "width": width, "steps": steps, "grid_size": 11,
            "state": {"step": step, "weights": weights}}
    r = client.post(TRAIN, json=body)
    assert r.status_code in (200, 422), r.text
    if r.status_code == 422:
        assert set(r.json()["error"]) >= {"code", "message"}


# ----------------------------------------------------------------------------- fc-as-conv


def test_fc_as_conv_returns_the_same_120_numbers_both_ways(client):
    r = client.get("/api/v1/lessons/fc-as-conv", params={"sample": 5, "unit": 17})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["layers"][0]["kernels"] == "120 kernels of 5x5x16"
    assert np.asarray(body["feature_map"]).shape == (16, 5, 5)
    assert np.asarray(body["kernel"]).shape == (16, 5, 5)
    linear, conv = np.asarray(body["linear_output"]), np.asarray(body["conv_output"])
    assert linear.shape == conv.shape == (120,)
    np.testing.assert_allclose(conv, linear, rtol=1e-5, atol=1e-5 * np.abs(linear).max())
    by_hand = (np.asarray(body["feature_map"]) * np.asarray(body["kernel"])).sum() + body["bias"]
    assert by_hand == pytest.approx(conv[17], rel=1e-5, abs=1e-5)
    assert body["prediction"] == body["label"] == sample_digit(5)[1]


def test_fc_as_conv_rejects_unknown_model_sample_and_unit(client):
    assert client.get("/api/v1/lessons/fc-as-conv", params={"model": "vgg"}).status_code == 404
    assert client.get("/api/v1/lessons/fc-as-conv", params={"sample": 10**6}).status_code == 404
    r = client.get("/api/v1/lessons/fc-as-conv", params={"unit": 120})
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_unit"


def test_map_over_a_canvas_of_two_digits_finds_both(client):
    canvas = np.zeros((56, 84), np.uint8)
    first, first_label = sample_digit(3)
    second, second_label = sample_digit(14)
    canvas[:28, :28] = first
    canvas[28:, 56:] = second
    r = client.post(MAP, json={"pixels": canvas.tolist()})
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["rows"], body["cols"]) == (8, 15)
    assert body["stride"] == [4, 4] and body["receptive_field"]["size"] == [32, 32]
    assert body["prediction"][0][0] == first_label
    assert body["prediction"][7][14] == second_label
    assert body["ink"][0][0] > 0 and body["ink"][7][0] == 0


@pytest.mark.parametrize("pixels,code", [
    ([[0] * 20] * 20, "invalid_canvas_size"),
    ([[0] * 300] * 30, "invalid_input"),
    ([[0] * 30, [0] * 29] + [[0] * 30] * 28, "invalid_pixels"),
    ([[0] * 30] * 29 + [[256] * 30], "invalid_input"),
    ("abc", "invalid_input"),
])
def test_bad_canvases_are_422_naming_the_problem(client, pixels, code):
    r = client.post(MAP, json={"pixels": pixels})
    assert r.status_code == 422, r.text
    assert r.json()["error"]["code"] == code


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    height=st.integers(1, 270), width=st.integers(1, 270),
    fill=st.one_of(st.integers(-5, 300), st.floats(-1, 260, allow_nan=False)),
    ragged=st.booleans(),
)
def test_any_canvas_gets_a_map_or_a_422_envelope(client, height, width, fill, ragged):
    pixels = [[fill] * width for _ in range(height)]
    if ragged and height > 1:
        pixels[-1] = pixels[-1][:-1] or [fill, fill]
    r = client.post(MAP, json={"pixels": pixels})
    assert r.status_code in (200, 422), r.text
    if r.status_code == 200:
        body = r.json()
        assert 28 <= min(height, width) and max(height, width) <= 256
        assert body["rows"] == (height - 28) // 4 + 1 and body["cols"] == (width - 28) // 4 + 1
    else:
        assert set(r.json()["error"]) >= {"code", "message"}


def test_an_uploaded_photo_on_white_paper_is_inverted_and_mapped(client):
    digit, label = sample_digit(3)
    paper = np.full((56, 84), 255, np.uint8)
    paper[14:42, 28:56] = 255 - digit  # dark ink on white, crop at (14, 28) is not on the grid
    r = client.post(MAP, files={"image": ("digit.png", png_bytes(paper), "image/png")})
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["height"], body["width"]) == (56, 84)
    # the crops at (12, 28) and (16, 28) straddle the digit's true place (14, 28)
    assert label in (body["prediction"][3][7], body["prediction"][4][7])


def test_a_large_upload_is_shrunk_to_fit_256_pixels(client):
    big = np.zeros((300, 520), np.uint8)
    r = client.post(MAP, files={"image": ("big.png", png_bytes(big), "image/png")})
    assert r.status_code == 200, r.text
    side = max(r.json()["height"], r.json()["width"])
    assert 128 < side <= 256  # shrunk by the smallest whole factor that fits


@pytest.mark.parametrize("kwargs,status,code", [
    ({"files": {"image": ("x.png", b"not an image", "image/png")}}, 415, None),
    ({"files": {"photo": ("x.png", b"abc", "image/png")}}, 422, "missing_image"),
    ({"content": b"{bad json", "headers": {"Content-Type": "application/json"}}, 400,
     "invalid_json"),
    ({"content": b"pixels", "headers": {"Content-Type": "text/plain"}}, 415,
     "unsupported_media_type"),
])
def test_bad_uploads_and_bodies_get_clear_4xx(client, kwargs, status, code):
    r = client.post(MAP, **kwargs)
    assert r.status_code in ((status, 422) if code is None else (status,)), r.text
    if code:
        assert r.json()["error"]["code"] == code
