"""Cases worked by hand in the source articles: cross-correlation, the 6x6x3 tensor
convolution, the delta rule, parameter sharing and output sizes."""

from __future__ import annotations

import numpy as np

from app.nn import Conv2d, MaxPool2d, conv_output_size


def _conv_2x2(weight) -> Conv2d:
    layer = Conv2d(1, 1, 2, bias=False, rng=0, dtype=np.float64)
    layer.params["weight"] = np.asarray(weight, dtype=np.float64)[None, None]
    return layer


def test_seed_002_input_delta_is_sum_of_touched_deltas_times_joining_weights():
    """3x3 input, 2x2 kernel w = [[1, 2], [3, 4]], deltas dy of the 2x2 output.
    dx[i, j] = sum over outputs (p, q) whose window covers (i, j) of dy[p, q] * w[i-p, j-q]."""
    layer = _conv_2x2([[1, 2], [3, 4]])
    x = np.arange(1.0, 10.0).reshape(1, 1, 3, 3)
    y, cache = layer.forward(x)
    # Cross-correlation: y[0,0] = 1*1 + 2*2 + 4*3 + 5*4 = 37, and so on.
    np.testing.assert_array_equal(y[0, 0], [[37, 47], [67, 77]])
    dy = np.array([[1.0, -1.0], [2.0, 0.5]])[None, None]
    dx, grads = layer.backward(dy, cache)
    by_hand = [
        [1 * 1, 1 * 2 + -1 * 1, -1 * 2],
        [1 * 3 + 2 * 1, 1 * 4 + -1 * 3 + 2 * 2 + 0.5 * 1, -1 * 4 + 0.5 * 2],
        [2 * 3, 2 * 4 + 0.5 * 3, 0.5 * 4],
    ]
    np.testing.assert_array_equal(by_hand, [[1, 1, -2], [5, 5.5, -3], [6, 9.5, 2]])
    np.testing.assert_array_equal(dx[0, 0], by_hand)
    # And each weight's gradient sums dy times the input pixel it joined: dw[a,b] =
    # sum_pq dy[p,q] x[p+a, q+b].
    np.testing.assert_array_equal(
        grads["weight"][0, 0],
        [[1 * 1 - 1 * 2 + 2 * 4 + 0.5 * 5, 1 * 2 - 1 * 3 + 2 * 5 + 0.5 * 6],
         [1 * 4 - 1 * 5 + 2 * 7 + 0.5 * 8, 1 * 5 - 1 * 6 + 2 * 8 + 0.5 * 9]],
    )


def test_seed_002_output_size_is_m_minus_f_plus_1():
    for m, n, f in [(3, 3, 2), (7, 5, 3), (28, 28, 5)]:
        layer = Conv2d(1, 1, f, rng=0)
        assert layer.output_shape((1, 1, m, n)) == (1, 1, m - f + 1, n - f + 1)


def test_seed_001_6x6x3_image_with_3x3x3_kernel_gives_4x4x1():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((1, 3, 6, 6))
    layer = Conv2d(3, 1, 3, rng=rng, dtype=np.float64)
    y, _ = layer.forward(x)
    assert y.shape == (1, 1, 4, 4)
    # A tensor convolution is the sum over channels of 2-D correlations, plus bias.
    per_channel = []
    for c in range(3):
        single = Conv2d(1, 1, 3, bias=False, rng=0, dtype=np.float64)
        single.params["weight"] = layer.params["weight"][:, c : c + 1]
        per_channel.append(single.forward(x[:, c : c + 1])[0])
    np.testing.assert_allclose(y, sum(per_channel) + layer.params["bias"][0], rtol=1e-12)


def test_seed_001_constant_channels_with_all_ones_kernel():
    """Channel c filled with c + 1 and a 3x3x3 kernel of ones: each output is 9 * (1 + 2 + 3)."""
    x = np.stack([np.full((6, 6), c + 1.0) for c in range(3)])[None]
    layer = Conv2d(3, 1, 3, bias=False, rng=0, dtype=np.float64)
    layer.params["weight"][:] = 1.0
    np.testing.assert_array_equal(layer.forward(x)[0], np.full((1, 1, 4, 4), 54.0))


def test_seed_000_1000px_image_10px_kernel_991_then_pooling_496_ceil_495_floor():
    assert conv_output_size(1000, 10) == 991
    assert Conv2d(1, 1, 10, rng=0).output_shape((1, 1, 1000, 1000)) == (1, 1, 991, 991)
    assert conv_output_size(991, 2, 2, ceil_mode=True) == 496
    assert conv_output_size(991, 2, 2, ceil_mode=False) == 495
    feature_map = np.random.default_rng(0).standard_normal((1, 1, 991, 991)).astype(np.float32)
    ceil, (ceil_indices, _) = MaxPool2d(2, ceil_mode=True).forward(feature_map)
    floor, _ = MaxPool2d(2).forward(feature_map)
    assert ceil.shape == (1, 1, 496, 496) and floor.shape == (1, 1, 495, 495)
    # The extra ceil_mode row and column pool the 991st row/column alone (a 1-wide window).
    np.testing.assert_array_equal(ceil[0, 0, -1, :-1], feature_map[0, 0, 990, :990]
                                  .reshape(495, 2).max(axis=1))
    assert ceil[0, 0, -1, -1] == feature_map[0, 0, 990, 990]
    assert ceil_indices[0, 0, -1, -1] == 990 * 991 + 990


def test_seed_000_shared_10x10_kernel_has_100_weights_whatever_the_image_size():
    """The parameter-sharing argument: the count does not depend on the input."""
    layer = Conv2d(1, 1, 10, bias=False, rng=0)
    assert layer.parameter_count == 100
    assert layer.output_shape((1, 1, 1000, 1000)) == (1, 1, 991, 991)
    assert layer.output_shape((1, 1, 20, 30)) == (1, 1, 11, 21)
