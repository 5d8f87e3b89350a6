"""Clamp, ChannelAffine and MaxPool2d's dilation (added for ONNX's Clip, input normalisation
and dilated MaxPool): forward by hand, backward against central finite differences."""

from __future__ import annotations

import numpy as np
import pytest

from app.nn import ChannelAffine, Clamp, MaxPool2d, from_spec, to_spec
from tests.nn.gradcheck import away_from_zero, check_layer, distinct_values


def test_clamp_forward_clips_to_each_bound_and_leaves_the_rest():
    x = np.array([[-3.0, -0.5, 0.0, 0.5, 2.0]], np.float32)
    y, _ = Clamp(-1.0, 1.0).forward(x)
    np.testing.assert_array_equal(y, [[-1.0, -0.5, 0.0, 0.5, 1.0]])
    assert y.dtype == np.float32
    np.testing.assert_array_equal(Clamp(min_val=0.25).forward(x)[0], [[0.25, 0.25, 0.25, 0.5, 2.0]])
    np.testing.assert_array_equal(Clamp(max_val=0.0).forward(x)[0], [[-3.0, -0.5, 0, 0, 0]])


@pytest.mark.parametrize("bounds", [(-0.7, 0.9), (None, 0.3), (-0.2, None), (None, None)])
def test_clamp_backward_matches_finite_differences(bounds):
    rng = np.random.default_rng(0)
    x = away_from_zero((2, 3, 4, 4), rng)
    x = np.where(np.isin(np.round(x, 1), [-0.7, 0.9, 0.3, -0.2]), x + 0.05, x)  # off the kinks
    check_layer(Clamp(*bounds).astype(np.float64), x, rng)


def test_clamp_refuses_crossed_or_infinite_bounds():
    with pytest.raises(ValueError, match="must not exceed"):
        Clamp(1.0, -1.0)
    with pytest.raises(ValueError, match="finite"):
        Clamp(float("-inf"), 1.0)


def test_channel_affine_scales_and_shifts_each_channel():
    layer = ChannelAffine(3)
    layer.buffers["scale"] = np.array([1.0, 2.0, -1.0], np.float32)
    layer.buffers["shift"] = np.array([0.0, 1.0, 0.5], np.float32)
    x = np.ones((2, 3, 2, 2), np.float32)
    y, _ = layer.forward(x)
    np.testing.assert_array_equal(y[:, 0], 1.0)
    np.testing.assert_array_equal(y[:, 1], 3.0)
    np.testing.assert_array_equal(y[:, 2], -0.5)
    features = layer.forward(np.ones((4, 3), np.float32))[0]  # (N, F): per feature
    np.testing.assert_array_equal(features[0], [1.0, 3.0, -0.5])


@pytest.mark.parametrize("shape", [(2, 3, 4, 5), (3, 3)])
def test_channel_affine_backward_matches_finite_differences(shape):
    rng = np.random.default_rng(1)
    layer = ChannelAffine(3, dtype=np.float64)
    layer.buffers["scale"] = rng.standard_normal(3)
    layer.buffers["shift"] = rng.standard_normal(3)
    check_layer(layer, rng.standard_normal(shape), rng)


def test_new_layers_round_trip_through_a_spec():
    from app.nn import Graph

    net = Graph([ChannelAffine(1), Clamp(0.5, None), MaxPool2d(2, 1, dilation=2)])
    spec = to_spec(net)
    assert spec[1] == {"kind": "clamp", "name": "clamp1", "min_val": 0.5, "max_val": None}
    assert spec[2]["dilation"] == [2, 2]
    assert to_spec(from_spec(spec)) == spec


def test_dilated_max_pool_takes_the_max_over_spaced_taps_and_reports_its_winner():
    x = np.arange(25, dtype=np.float32).reshape(1, 1, 5, 5)
    pool = MaxPool2d(2, stride=1, dilation=2)
    y, cache = pool.forward(x)
    # window (i, j) reads x[i, j], x[i, j+2], x[i+2, j], x[i+2, j+2]: the last is the max
    np.testing.assert_array_equal(y[0, 0], x[0, 0, 2:, 2:])
    np.testing.assert_array_equal(pool.winners(cache)[0, 0], (np.arange(3)[:, None] + 2) * 5
                                  + np.arange(3) + 2)
    assert pool.output_shape(x.shape) == y.shape


@pytest.mark.parametrize(
    "kernel, stride, padding, dilation, ceil_mode",
    [(2, 1, 0, 2, False), (3, 2, 1, 2, False), (3, 2, 1, (1, 2), True), (2, 2, 0, 3, True)],
)
def test_dilated_max_pool_backward_matches_finite_differences(
    kernel, stride, padding, dilation, ceil_mode
):
    rng = np.random.default_rng(2)
    pool = MaxPool2d(kernel, stride, padding, ceil_mode=ceil_mode, dilation=dilation)
    check_layer(pool.astype(np.float64), distinct_values((2, 2, 9, 8), rng), rng)
