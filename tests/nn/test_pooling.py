"""Pooling semantics: winners and ties, overlapping windows, -inf padding, hand-worked
max-pool and mean-pool backward passes."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from app.nn import AvgPool2d, MaxPool2d
from tests.nn import reference


def _plane(rows) -> np.ndarray:
    """A (1, 1, H, W) float64 array from nested lists."""
    return np.asarray(rows, dtype=np.float64)[None, None]


def test_maxpool_backward_sends_each_delta_to_its_winner_only():
    x = _plane([[1, 3, 2, 0],
                [4, 2, 1, 5],
                [0, 1, 9, 2],
                [2, 8, 3, 1]])
    pool = MaxPool2d(2)
    y, cache = pool.forward(x)
    np.testing.assert_array_equal(y[0, 0], [[4, 5], [8, 9]])
    np.testing.assert_array_equal(cache[0][0, 0], [[1 * 4 + 0, 1 * 4 + 3], [3 * 4 + 1, 2 * 4 + 2]])
    dx, grads = pool.backward(_plane([[0.1, -0.2], [0.3, 0.4]]), cache)
    assert grads == {}
    np.testing.assert_array_equal(dx[0, 0], [[0, 0, 0, 0],
                                             [0.1, 0, 0, -0.2],
                                             [0, 0, 0.4, 0],
                                             [0, 0.3, 0, 0]])


def test_meanpool_backward_splits_each_delta_evenly_over_its_window():
    x = _plane([[1, 3, 2, 0],
                [4, 2, 1, 5],
                [0, 1, 9, 2],
                [2, 8, 3, 1]])
    pool = AvgPool2d(2)
    y, cache = pool.forward(x)
    np.testing.assert_array_equal(y[0, 0], [[2.5, 2], [2.75, 3.75]])
    dx, _ = pool.backward(_plane([[0.4, -0.8], [1.2, 2.0]]), cache)
    np.testing.assert_allclose(dx[0, 0], [[0.1, 0.1, -0.2, -0.2],
                                          [0.1, 0.1, -0.2, -0.2],
                                          [0.3, 0.3, 0.5, 0.5],
                                          [0.3, 0.3, 0.5, 0.5]], rtol=1e-15)


def test_maxpool_ties_go_to_the_first_maximum_in_row_major_order():
    x = _plane([[1, 7, 7, 7],
                [7, 2, 7, 7]])
    y, (indices, _) = MaxPool2d(2).forward(x)
    np.testing.assert_array_equal(y[0, 0], [[7, 7]])
    # window 1 holds 7 at (0,1) and (1,0): (0,1) comes first; window 2 is all 7s: (0,2).
    np.testing.assert_array_equal(indices[0, 0], [[1, 2]])
    dx, _ = MaxPool2d(2).backward(_plane([[1.0, 2.0]]), (indices, x.shape))
    np.testing.assert_array_equal(dx[0, 0], [[0, 1, 2, 0], [0, 0, 0, 0]])


def test_maxpool_constant_input_picks_each_window_top_left_cell():
    x = np.zeros((1, 1, 5, 5))
    _, (indices, _) = MaxPool2d(3, stride=2, padding=1).forward(x)
    # Padding is -inf, so the winner is the first in-bounds cell of each window.
    np.testing.assert_array_equal(indices[0, 0], [[0, 1, 3], [5, 6, 8], [15, 16, 18]])


def test_overlapping_max_windows_accumulate_gradient_at_a_shared_winner():
    x = np.zeros((1, 1, 4, 4))
    x[0, 0, 1, 2] = 10.0  # the maximum of every 3x3 window, stride 1, that contains it
    pool = MaxPool2d(3, stride=1)
    _, cache = pool.forward(x)
    np.testing.assert_array_equal(cache[0][0, 0], [[6, 6], [6, 6]])
    dy = _plane([[1.0, 2.0], [4.0, 8.0]])
    dx, _ = pool.backward(dy, cache)
    expected = np.zeros((4, 4))
    expected[1, 2] = 15.0
    np.testing.assert_array_equal(dx[0, 0], expected)


def test_overlapping_mean_windows_accumulate_their_shares():
    pool = AvgPool2d(2, stride=1)
    _, cache = pool.forward(np.zeros((1, 1, 3, 3)))
    dx, _ = pool.backward(_plane([[4.0, 8.0], [12.0, 16.0]]), cache)
    # The centre pixel lies in all four windows: (4 + 8 + 12 + 16) / 4.
    np.testing.assert_array_equal(dx[0, 0], [[1, 3, 2], [4, 10, 6], [3, 7, 4]])


def test_maxpool_padding_is_minus_infinity_not_zero():
    x = -np.arange(1, 17, dtype=np.float64).reshape(1, 1, 4, 4)  # all negative
    y, (indices, _) = MaxPool2d(2, stride=2, padding=1).forward(x)
    # A zero pad would win every border window; -inf never does.
    np.testing.assert_array_equal(y[0, 0], [[-1, -2, -4], [-5, -6, -8], [-13, -14, -16]])
    np.testing.assert_array_equal(indices[0, 0], [[0, 1, 3], [4, 5, 7], [12, 13, 15]])


def test_avgpool_padding_counts_as_zero_only_when_count_include_pad():
    x = np.ones((1, 1, 2, 2))
    with_pad, _ = AvgPool2d(2, stride=2, padding=1, count_include_pad=True).forward(x)
    without_pad, _ = AvgPool2d(2, stride=2, padding=1, count_include_pad=False).forward(x)
    np.testing.assert_array_equal(with_pad[0, 0], np.full((2, 2), 0.25))
    np.testing.assert_array_equal(without_pad[0, 0], np.ones((2, 2)))


def test_avgpool_ceil_mode_extra_cells_never_count_towards_the_divisor():
    """PyTorch: the partial last window that ceil_mode adds is averaged over its real cells."""
    x = _plane([[1, 2, 3], [4, 5, 6], [7, 8, 9]])
    y, _ = AvgPool2d(2, ceil_mode=True, count_include_pad=True).forward(x)
    np.testing.assert_allclose(y[0, 0], [[3, 4.5], [7.5, 9]], rtol=1e-15)


@pytest.mark.parametrize("ceil_mode", [False, True])
@pytest.mark.parametrize(("k", "s", "p"), [(2, 2, 0), (3, 2, 1), (3, 1, 1), (4, 3, 2), (2, 1, 0)])
def test_pool_indices_are_flat_indices_into_the_unpadded_plane(k, s, p, ceil_mode):
    x = np.random.default_rng(k * s + p).standard_normal((2, 3, 7, 6))
    y, (indices, _) = MaxPool2d(k, s, p, ceil_mode=ceil_mode).forward(x)
    assert indices.shape == y.shape and np.issubdtype(indices.dtype, np.integer)
    assert indices.min() >= 0 and indices.max() < 7 * 6
    gathered = np.take_along_axis(x.reshape(2, 3, -1), indices.reshape(2, 3, -1), axis=2)
    np.testing.assert_array_equal(gathered.reshape(y.shape), y)
    np.testing.assert_array_equal(indices, reference.max_pool2d(x, (k, k), (s, s), (p, p),
                                                                ceil_mode)[1])


def test_maxpool_backward_is_exact_for_ties_with_integer_inputs():
    """On ties the whole delta goes to one cell (the recorded winner), never split."""
    x = np.random.default_rng(0).integers(0, 2, size=(2, 2, 6, 6)).astype(np.float64)
    pool = MaxPool2d(3, stride=2, padding=1, ceil_mode=True)
    y, cache = pool.forward(x)
    dy = np.random.default_rng(1).standard_normal(y.shape)
    dx, _ = pool.backward(dy, cache)
    _, expected_indices = reference.max_pool2d(x, (3, 3), (2, 2), (1, 1), True)
    expected = np.zeros((2, 2, 36))
    for n, c in np.ndindex(2, 2):
        np.add.at(expected[n, c], expected_indices[n, c].ravel(), dy[n, c].ravel())
    np.testing.assert_allclose(dx, expected.reshape(dx.shape), rtol=1e-14)


def _argmax_pool(x, kernel, stride, padding, dilation, ceil_mode):
    """The first implementation's rule, written out: argmax over each window's taps in
    row-major order (-inf padding; the first maximum wins; a NaN beats every number)."""
    pool = MaxPool2d(kernel, stride, padding, ceil_mode=ceil_mode, dilation=dilation)
    xp, (oh, ow) = pool._padded(x, -np.inf)
    (kh, kw), (sh, sw), (dh, dw) = pool.kernel_size, pool.stride, pool.dilation
    taps = np.stack([
        xp[:, :, a * dh : a * dh + (oh - 1) * sh + 1 : sh, b * dw : b * dw + (ow - 1) * sw + 1 : sw]
        for a in range(kh) for b in range(kw)
    ], axis=-1)
    arg = taps.argmax(axis=-1)
    rows = np.arange(oh)[:, None] * sh - pool.padding[0] + arg // kw * dh
    cols = np.arange(ow)[None, :] * sw - pool.padding[1] + arg % kw * dw
    return np.take_along_axis(taps, arg[..., None], axis=-1)[..., 0], rows * x.shape[3] + cols


@settings(max_examples=200, deadline=None)
@given(
    kernel=st.tuples(st.integers(1, 4), st.integers(1, 4)),
    stride=st.tuples(st.integers(1, 3), st.integers(1, 3)),
    dilation=st.tuples(st.integers(1, 2), st.integers(1, 2)),
    ceil_mode=st.booleans(),
    size=st.tuples(st.integers(1, 9), st.integers(1, 9)),
    specials=st.sampled_from(["none", "-inf", "nan"]),
    seed=st.integers(0, 2**16),
    data=st.data(),
)
def test_maxpool_winners_and_ties_equal_the_argmax_definition(
    kernel, stride, dilation, ceil_mode, size, specials, seed, data
):
    """The separable max (tiling and overlapping windows) picks the same winner as argmax
    over each window, on inputs full of ties (values 0-2), -inf and NaN."""
    if data.draw(st.booleans(), "tiling"):  # stride = kernel, no padding: the tiled path
        stride, dilation = kernel, (1, 1)
    padding = tuple(data.draw(st.integers(0, k // 2), "padding") for k in kernel)
    pool = MaxPool2d(kernel, stride, padding, ceil_mode=ceil_mode, dilation=dilation)
    try:
        pool.output_shape((2, 2, *size))
    except ValueError:
        assume(False)
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 3, (2, 2, *size)).astype(np.float32)
    if specials != "none":
        x[rng.random(x.shape) < 0.2] = -np.inf if specials == "-inf" else np.nan
    y, (indices, _) = pool.forward(x)
    expected_y, expected_indices = _argmax_pool(x, kernel, stride, padding, dilation, ceil_mode)
    np.testing.assert_array_equal(y, expected_y)
    np.testing.assert_array_equal(indices, expected_indices)
