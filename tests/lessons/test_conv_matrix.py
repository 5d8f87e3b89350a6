"""A convolution as its fully connected matrix W: W x + b equals the core's Conv2d, W^T dy
equals Conv2d's input gradient and ConvTranspose2d's forward, over families of geometries."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.lessons.conv_matrix import Geometry, compute, conv_matrix, kernel_index, seeded_example

# float64 matmuls on different summation orders (BLAS): equal to ~1e-13 relative; a wrong
# index or a missing tap is off by at least one kernel weight (O(1) with these numbers).
RTOL, ATOL = 1e-9, 1e-9


def square(c_in=1, c_out=1, side=5, k=3, s=1, p=0, d=1) -> Geometry:
    return Geometry(c_in, c_out, side, side, (k, k), (s, s), (p, p), (d, d))


@st.composite
def geometries(draw) -> Geometry:
    pairs = st.tuples
    kernel = draw(pairs(st.integers(1, 4), st.integers(1, 4)))
    dilation = draw(pairs(st.integers(1, 3), st.integers(1, 3)))
    padding = draw(pairs(st.integers(0, 3), st.integers(0, 3)))
    reach = [d * (k - 1) + 1 - 2 * p for k, d, p in zip(kernel, dilation, padding, strict=True)]
    height = draw(st.integers(max(1, reach[0]), max(1, reach[0]) + 5))
    width = draw(st.integers(max(1, reach[1]), max(1, reach[1]) + 5))
    return Geometry(draw(st.integers(1, 3)), draw(st.integers(1, 2)), height, width, kernel,
                    draw(pairs(st.integers(1, 3), st.integers(1, 3))), padding, dilation)


def test_the_3x3_kernel_on_a_5x5_input_gives_a_9x25_doubly_block_toeplitz_matrix():
    index = kernel_index(square())
    assert index.shape == (9, 25)
    # output (0, 0) reads input rows 0-2, columns 0-2: taps 0..8 in order
    np.testing.assert_array_equal(
        index[0].reshape(5, 5)[:3, :3], np.arange(9).reshape(3, 3))
    assert (index[0].reshape(5, 5)[3:] == -1).all() and (index[0].reshape(5, 5)[:, 3:] == -1).all()
    # Toeplitz: the next output along a row is the same row of W shifted by one column
    np.testing.assert_array_equal(index[1, 1:], index[0, :-1])
    # block-Toeplitz: the next output row is the whole pattern shifted by one input row (5)
    np.testing.assert_array_equal(index[3, 5:], index[0, :-5])
    assert (index >= 0).sum() == 9 * 9  # every output reads all 9 taps: sparse, 81 of 225


def test_padding_drops_the_taps_that_read_zeros():
    index = kernel_index(square(p=1))
    assert index.shape == (25, 25)
    corner = index[0].reshape(5, 5)
    np.testing.assert_array_equal(corner[:2, :2], [[4, 5], [7, 8]])  # taps (1..2, 1..2)
    assert (index >= 0).sum() == 9 * 9 + 4 * 6 * 3 + 4 * 4  # interior 9, edges 6, corners 4


def test_a_hand_worked_stride_2_matrix_and_its_values():
    weight = np.arange(1.0, 5.0).reshape(1, 1, 2, 2)   # [[1, 2], [3, 4]]
    matrix, _ = conv_matrix(weight, square(side=4, k=2, s=2))
    expected = np.zeros((4, 16))
    for row, (i, j) in enumerate([(0, 0), (0, 2), (2, 0), (2, 2)]):
        for (a, b), w in np.ndenumerate(weight[0, 0]):
            expected[row, (i + a) * 4 + j + b] = w
    np.testing.assert_array_equal(matrix, expected)


@pytest.mark.parametrize("geometry", [
    square(), square(p=1), square(s=2, p=1), square(d=2), square(c_in=3, c_out=2, side=6),
    Geometry(2, 2, 7, 6, (3, 2), (2, 3), (1, 2), (2, 1)),
])
def test_wx_plus_b_is_the_convolution_and_wt_dy_is_its_input_gradient(geometry):
    x, weight, bias, dy = seeded_example(geometry, 7)
    r = compute(x, weight, bias, dy, geometry)
    np.testing.assert_allclose(r.y_matrix, r.y_conv, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(r.dx_matrix, r.dx_backward, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(r.dx_matrix, r.dx_transpose, rtol=RTOL, atol=ATOL)


@settings(max_examples=60, deadline=None)
@given(geometry=geometries(), seed=st.integers(0, 2**16))
def test_over_geometries_the_matrix_matches_conv2d_its_backward_and_convtranspose2d(
        geometry, seed):
    x, weight, bias, dy = seeded_example(geometry, seed)
    rng = np.random.default_rng(seed)  # real-valued numbers too, not only small integers
    x = x + rng.standard_normal(x.shape)
    weight = weight * rng.uniform(0.5, 1.5, weight.shape)
    r = compute(x, weight, bias, dy, geometry)
    assert r.matrix.shape == (dy.size, x.size)
    assert r.dx_transpose.shape == x.shape
    np.testing.assert_allclose(r.y_matrix, r.y_conv, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(r.dx_matrix, r.dx_backward, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(r.dx_matrix, r.dx_transpose, rtol=RTOL, atol=ATOL)
    # weight sharing: every nonzero entry is one of the kernel's weights, at its index
    hit = r.index >= 0
    np.testing.assert_array_equal(r.matrix[hit], weight.ravel()[r.index[hit]])
    assert (r.matrix[~hit] == 0).all()


def test_a_kernel_larger_than_the_padded_input_has_no_output():
    with pytest.raises(ValueError, match="no output"):
        square(side=2, k=3).output_hw()
