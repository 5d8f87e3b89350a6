"""Conv1d, MaxPool1d, AdaptiveMaxPool1d, Embedding and Transpose: forward against brute-force
loops written from PyTorch's definitions, backward against central finite differences in
float64."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from app.nn.sequence import (
    AdaptiveMaxPool1d,
    Conv1d,
    Embedding,
    MaxPool1d,
    Transpose,
    adaptive_bins,
)
from tests.nn.gradcheck import (
    assert_gradients_close,
    check_layer,
    distinct_values,
    numerical_gradient,
)

# ---------------------------------------------------------------- brute-force references


def out_len(n, k, s, p, d=1, ceil_mode=False):
    span = n + 2 * p - d * (k - 1) - 1
    out = (math.ceil(span / s) if ceil_mode else math.floor(span / s)) + 1
    if ceil_mode and (out - 1) * s >= n + p:
        out -= 1
    return out


def conv1d_loops(x, w, b, s, p, d):
    n, c_in, length = x.shape
    c_out, _, k = w.shape
    lo = out_len(length, k, s, p, d)
    y = np.zeros((n, c_out, lo))
    for i, o, t in itertools.product(range(n), range(c_out), range(lo)):
        total = 0.0 if b is None else b[o]
        for c, a in itertools.product(range(c_in), range(k)):
            pos = t * s - p + a * d
            if 0 <= pos < length:
                total += x[i, c, pos] * w[o, c, a]
        y[i, o, t] = total
    return y


def maxpool1d_loops(x, k, s, p, d, ceil_mode):
    n, c, length = x.shape
    lo = out_len(length, k, s, p, d, ceil_mode)
    y = np.zeros((n, c, lo))
    idx = np.zeros((n, c, lo), dtype=int)
    for i, ch, t in itertools.product(range(n), range(c), range(lo)):
        best, arg = -np.inf, -1
        for a in range(k):
            pos = t * s - p + a * d
            if 0 <= pos < length and x[i, ch, pos] > best:
                best, arg = x[i, ch, pos], pos
        y[i, ch, t], idx[i, ch, t] = best, arg
    return y, idx


def adaptive_max_loops(x, out):
    n, c, length = x.shape
    y = np.zeros((n, c, out))
    for i, ch, t in itertools.product(range(n), range(c), range(out)):
        start = math.floor(t * length / out)
        end = math.ceil((t + 1) * length / out)
        y[i, ch, t] = max(x[i, ch, start:end])
    return y


# ---------------------------------------------------------------- Conv1d

CONV_CASES = [
    # (C_in, C_out, k, stride, padding, dilation, L)
    (1, 1, 3, 1, 0, 1, 7),
    (3, 4, 3, 1, 1, 1, 9),
    (2, 5, 2, 2, 0, 1, 8),
    (4, 3, 3, 2, 2, 2, 11),
    (5, 2, 5, 1, 0, 1, 5),
    (2, 6, 1, 1, 0, 1, 4),
]


@pytest.mark.parametrize("case", CONV_CASES, ids=str)
def test_conv1d_forward_matches_the_loop_definition(case):
    c_in, c_out, k, s, p, d, length = case
    rng = np.random.default_rng(1)
    layer = Conv1d(c_in, c_out, k, stride=s, padding=p, dilation=d, rng=rng, dtype=np.float64)
    x = rng.standard_normal((2, c_in, length))
    y, _ = layer.forward(x)
    ref = conv1d_loops(x, layer.params["weight"], layer.params["bias"], s, p, d)
    assert y.shape == ref.shape == layer.output_shape(x.shape)
    np.testing.assert_allclose(y, ref, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("case", CONV_CASES, ids=str)
def test_conv1d_backward_matches_finite_differences(case):
    c_in, c_out, k, s, p, d, length = case
    rng = np.random.default_rng(2)
    layer = Conv1d(c_in, c_out, k, stride=s, padding=p, dilation=d, rng=rng, dtype=np.float64)
    check_layer(layer, rng.standard_normal((2, c_in, length)), rng)


def test_conv1d_without_bias_has_only_a_weight_gradient():
    rng = np.random.default_rng(3)
    layer = Conv1d(2, 3, 3, bias=False, rng=rng, dtype=np.float64)
    assert set(layer.params) == {"weight"}
    assert layer.params["weight"].shape == (3, 2, 3)
    check_layer(layer, rng.standard_normal((1, 2, 6)), rng)


def test_conv1d_hand_worked_example():
    # weight [1, 0, -1] (a difference filter), bias 0.5, on [1, 2, 4, 7]: x[t] - x[t+2] + 0.5
    layer = Conv1d(1, 1, 3, dtype=np.float64)
    layer.params["weight"][...] = [[[1.0, 0.0, -1.0]]]
    layer.params["bias"][...] = 0.5
    y, _ = layer.forward(np.array([[[1.0, 2.0, 4.0, 7.0]]]))
    np.testing.assert_allclose(y, [[[-2.5, -4.5]]])


def test_conv1d_rejects_wrong_shapes_with_clear_errors():
    layer = Conv1d(3, 2, 5)
    with pytest.raises(ValueError, match="3-D"):
        layer.forward(np.zeros((1, 3, 4, 4), np.float32))
    with pytest.raises(ValueError, match="3 input channels"):
        layer.forward(np.zeros((1, 2, 9), np.float32))
    with pytest.raises(ValueError, match="too small"):
        layer.forward(np.zeros((1, 3, 4), np.float32))
    with pytest.raises(ValueError, match="kernel_size"):
        Conv1d(1, 1, 0)


# ---------------------------------------------------------------- MaxPool1d

POOL_CASES = [
    # (k, stride, padding, dilation, ceil_mode, L)
    (2, None, 0, 1, False, 8),
    (3, 2, 1, 1, False, 9),
    (3, 2, 0, 1, True, 8),
    (2, 1, 1, 1, False, 5),
    (3, 1, 1, 2, False, 10),
    (4, 3, 2, 1, True, 11),
]


@pytest.mark.parametrize("case", POOL_CASES, ids=str)
def test_maxpool1d_forward_and_winners_match_the_loop_definition(case):
    k, s, p, d, ceil_mode, length = case
    rng = np.random.default_rng(4)
    layer = MaxPool1d(k, stride=s, padding=p, dilation=d, ceil_mode=ceil_mode)
    x = distinct_values((2, 3, length), rng)
    y, (indices, *_rest) = layer.forward(x)
    ref, ref_idx = maxpool1d_loops(x, k, s or k, p, d, ceil_mode)
    assert y.shape == ref.shape == layer.output_shape(x.shape)
    np.testing.assert_array_equal(y, ref)
    np.testing.assert_array_equal(indices, ref_idx)


@pytest.mark.parametrize("case", POOL_CASES, ids=str)
def test_maxpool1d_backward_matches_finite_differences(case):
    k, s, p, d, ceil_mode, length = case
    rng = np.random.default_rng(5)
    layer = MaxPool1d(k, stride=s, padding=p, dilation=d, ceil_mode=ceil_mode)
    check_layer(layer, distinct_values((2, 3, length), rng), rng)


def test_maxpool1d_ties_go_to_the_first_maximum_and_overlaps_accumulate():
    layer = MaxPool1d(2, stride=1)
    x = np.array([[[5.0, 5.0, 1.0]]])
    y, cache = layer.forward(x)
    np.testing.assert_array_equal(y, [[[5.0, 5.0]]])
    np.testing.assert_array_equal(cache[0], [[[0, 1]]])
    dx, grads = layer.backward(np.array([[[1.0, 10.0]]]), cache)
    np.testing.assert_array_equal(dx, [[[1.0, 10.0, 0.0]]])
    assert grads == {}
    y, cache = MaxPool1d(2, stride=1).forward(np.array([[[3.0, 3.0, 3.0]]]))
    dx, _ = layer.backward(np.array([[[1.0, 1.0]]]), cache)
    np.testing.assert_array_equal(dx, [[[1.0, 1.0, 0.0]]])


def test_maxpool1d_rejects_padding_over_half_the_kernel():
    with pytest.raises(ValueError, match="half"):
        MaxPool1d(2, padding=2)


# ---------------------------------------------------------------- AdaptiveMaxPool1d


@pytest.mark.parametrize("length,out", [(7, 1), (8, 2), (7, 3), (5, 5), (3, 5), (10, 4)])
def test_adaptive_max_pool_matches_torch_bins(length, out):
    rng = np.random.default_rng(6)
    x = distinct_values((2, 3, length), rng)
    y, (indices, _) = AdaptiveMaxPool1d(out).forward(x)
    np.testing.assert_array_equal(y, adaptive_max_loops(x, out))
    np.testing.assert_array_equal(np.take_along_axis(x, indices, axis=2), y)


@pytest.mark.parametrize("length,out", [(7, 1), (7, 3), (3, 5), (10, 4)])
def test_adaptive_max_pool_backward_matches_finite_differences(length, out):
    rng = np.random.default_rng(7)
    check_layer(AdaptiveMaxPool1d(out), distinct_values((2, 3, length), rng), rng)


def test_max_over_time_turns_any_length_into_one_fixed_vector():
    pool = AdaptiveMaxPool1d(1)
    for length in (1, 4, 57):
        x = np.arange(2 * 3 * length, dtype=np.float64).reshape(2, 3, length)
        y, (indices, _) = pool.forward(x)
        assert y.shape == (2, 3, 1)
        np.testing.assert_array_equal(indices, length - 1)


def test_adaptive_bins_overlap_when_the_length_is_not_a_multiple():
    starts, ends = adaptive_bins(5, 3)
    np.testing.assert_array_equal(starts, [0, 1, 3])
    np.testing.assert_array_equal(ends, [2, 4, 5])


# ---------------------------------------------------------------- Embedding


def test_embedding_looks_up_rows_with_torch_layout():
    table = Embedding(5, 3, dtype=np.float64)
    table.params["weight"][...] = np.arange(15.0).reshape(5, 3)
    y, _ = table.forward(np.array([[0, 4, 4], [2, 1, 0]]))
    assert y.shape == (2, 3, 3)
    np.testing.assert_array_equal(y[0, 1], [12.0, 13.0, 14.0])
    np.testing.assert_array_equal(y[1, 0], [6.0, 7.0, 8.0])


def test_embedding_weight_gradient_matches_finite_differences_and_input_has_none():
    rng = np.random.default_rng(8)
    table = Embedding(6, 4, rng=rng, dtype=np.float64)
    indices = np.array([[1, 3, 3, 0], [5, 1, 2, 3]])
    y, cache = table.forward(indices)
    upstream = rng.standard_normal(y.shape)
    dx, grads = table.backward(upstream, cache)
    assert dx is None

    def score(_):
        return float((table.forward(indices)[0] * upstream).sum())

    numeric = numerical_gradient(score, table.params["weight"])
    assert_gradients_close({"weight": grads["weight"]}, {"weight": numeric})
    np.testing.assert_array_equal(grads["weight"][4], 0.0)  # row 4 was never looked up


def test_embedding_padding_row_starts_at_zero_and_gets_no_gradient():
    rng = np.random.default_rng(9)
    table = Embedding(4, 2, padding_idx=-1, rng=rng, dtype=np.float64)
    assert table.padding_idx == 3
    np.testing.assert_array_equal(table.params["weight"][3], 0.0)
    y, cache = table.forward(np.array([[3, 0, 3]]))
    _, grads = table.backward(np.ones_like(y), cache)
    np.testing.assert_array_equal(grads["weight"][3], 0.0)
    np.testing.assert_array_equal(grads["weight"][0], 1.0)


def test_embedding_rejects_out_of_range_and_non_integer_indices():
    table = Embedding(4, 2)
    with pytest.raises(ValueError, match=r"\[0, 3\]"):
        table.forward(np.array([[0, 4]]))
    with pytest.raises(ValueError, match=r"\[0, 3\]"):
        table.forward(np.array([[-1, 0]]))
    with pytest.raises(ValueError, match="integer"):
        table.forward(np.array([[0.0, 1.0]]))
    with pytest.raises(ValueError, match=r"\(N, T\)"):
        table.forward(np.array([0, 1]))


# ---------------------------------------------------------------- a text chain


def test_transpose_then_conv1d_then_max_over_time_backpropagates_to_the_embedding():
    """Embedding (N, T, dim) -> Transpose(1, 2) -> Conv1d -> AdaptiveMaxPool1d(1): the
    chain's embedding-weight gradient matches finite differences."""
    rng = np.random.default_rng(10)
    table = Embedding(7, 3, rng=rng, dtype=np.float64)
    chain = [Transpose(1, 2), Conv1d(3, 4, 2, rng=rng, dtype=np.float64), AdaptiveMaxPool1d(1)]
    indices = np.array([[1, 2, 6, 0, 3], [4, 4, 5, 1, 2]])
    upstream = rng.standard_normal((2, 4, 1))

    def run():
        h, caches = table.forward(indices)
        caches = [caches]
        for layer in chain:
            h, cache = layer.forward(h)
            caches.append(cache)
        return h, caches

    y, caches = run()
    assert y.shape == (2, 4, 1)
    dy = upstream
    for layer, cache in zip(reversed(chain), reversed(caches[1:]), strict=True):
        dy, _ = layer.backward(dy, cache)
    assert dy.shape == (2, 5, 3)
    _, grads = table.backward(dy, caches[0])
    numeric = numerical_gradient(lambda _: float((run()[0] * upstream).sum()),
                                 table.params["weight"])
    assert_gradients_close({"weight": grads["weight"]}, {"weight": numeric})


def test_transpose_backward_swaps_the_axes_back():
    rng = np.random.default_rng(11)
    check_layer(Transpose(1, 2), rng.standard_normal((2, 3, 4)), rng)
    assert Transpose(1, 2).output_shape((2, 5, 8)) == (2, 8, 5)
