"""app.lessons.activations: f' from each layer's backward equals central differences of its
forward; the saturated intervals are where |f'| < 0.01; the input-range probes."""

from __future__ import annotations

import numpy as np
import pytest

from app.lessons.activations import (
    ACTIVATIONS,
    evaluate,
    f_and_derivative,
    make_layer,
    saturated_intervals,
)
from tests.nn.gradcheck import ATOL, EPS, RTOL

KINKS = {"sign": [0.0], "relu": [0.0], "leakyrelu": [0.0], "relu6": [0.0, 6.0],
         "clamp": [-1.0, 1.0]}


@pytest.mark.parametrize("kind", list(ACTIVATIONS))
def test_derivative_from_backward_equals_central_differences_away_from_kinks(kind):
    layer = make_layer(kind)
    x = np.linspace(-9.37, 9.41, 301)
    x = x[np.all([np.abs(x - k) > 1e-3 for k in KINKS.get(kind, [])], axis=0)]
    _, df = f_and_derivative(layer, x)
    # f is element-wise, so each x_i's central difference is its own (no summed cancellation).
    f = lambda v: f_and_derivative(layer, v)[0]  # noqa: E731
    numeric = (f(x + EPS) - f(x - EPS)) / (2 * EPS)
    np.testing.assert_allclose(df, numeric, rtol=RTOL, atol=ATOL)


def test_hand_worked_values_at_zero_and_one():
    _, df = f_and_derivative(make_layer("sigmoid"), np.array([0.0, 1.0]))
    s1 = 1 / (1 + np.exp(-1.0))
    np.testing.assert_allclose(df, [0.25, s1 * (1 - s1)], rtol=1e-12)
    _, df = f_and_derivative(make_layer("tanh"), np.array([0.0, 1.0]))
    np.testing.assert_allclose(df, [1.0, 1 - np.tanh(1.0) ** 2], rtol=1e-12)
    y, df = f_and_derivative(make_layer("leakyrelu", negative_slope=0.2), np.array([-2.0, 3.0]))
    np.testing.assert_allclose(y, [-0.4, 3.0]) and np.testing.assert_allclose(df, [0.2, 1.0])


def test_sign_has_zero_gradient_everywhere_it_is_computed():
    body = evaluate("sign", -5, 5, 101)
    assert set(body["df"]) == {0.0} and body["saturated"] == [[-5.0, 5.0]]


def test_saturated_intervals_are_the_runs_below_the_threshold():
    x = np.arange(8.0)
    df = np.array([0.0, 0.005, 0.5, 1.0, 0.009, 0.2, 0.0, 0.0])
    assert saturated_intervals(x, df) == [(0.0, 1.0), (4.0, 4.0), (6.0, 7.0)]
    assert saturated_intervals(x, np.ones(8)) == []


def test_sigmoid_and_tanh_saturate_where_the_derivative_falls_below_one_hundredth():
    sig = evaluate("sigmoid", -8, 8, 1601)["saturated"]
    # sigmoid'(x) = 0.01 at |x| = ln((1 + sqrt(1 - 0.04)) / (1 - sqrt(1 - 0.04)) ) / 1 ~ 4.595
    edge = np.log((1 + np.sqrt(0.96)) / (1 - np.sqrt(0.96)))
    assert len(sig) == 2 and abs(sig[0][1] + edge) < 0.011 and abs(sig[1][0] - edge) < 0.011
    tanh = evaluate("tanh", -8, 8, 1601)["saturated"]
    assert abs(tanh[1][0] - np.arctanh(np.sqrt(0.99))) < 0.011
    assert evaluate("leakyrelu", -8, 8, 161)["saturated"] == []  # slope 0.01 is not < 0.01
    assert evaluate("relu", -8, 8, 161)["saturated"] == [[-8.0, 0.0]]


def test_scaled_inputs_keep_sigmoid_and_tanh_steep_and_raw_pixels_do_not():
    sig = evaluate("sigmoid", -1, 1, 3)
    assert sig["input_range"] == [0.0, 1.0]
    ends = {p["x"]: p["df"] for p in sig["probes"]}
    assert ends[0.0] == 0.25 and ends[1.0] > 0.19 and ends[255.0] < 1e-100
    tanh = {p["x"]: p["df"] for p in evaluate("tanh", -1, 1, 3)["probes"]}
    assert tanh[-1.0] == tanh[1.0] > 0.41 and tanh[255.0] == 0.0
