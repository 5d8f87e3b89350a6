"""Output sizes against every relation of Dumoulin & Visin, "A guide to convolution arithmetic
for deep learning" (2016), through conv_output_size / conv_transpose_output_size and through
the layers' actual output shapes; and ConvTranspose2d as the adjoint of Conv2d."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from app.nn import (
    AvgPool2d,
    Conv2d,
    ConvTranspose2d,
    MaxPool2d,
    conv_output_size,
    conv_transpose_output_size,
)

SIZES = range(1, 13)
KERNELS = range(1, 6)


def conv_out(i: int, k: int, s: int = 1, p: int = 0, d: int = 1) -> int:
    """Both the function and a real forward through Conv2d, which must agree."""
    o = conv_output_size(i, k, s, p, d)
    layer = Conv2d(1, 1, k, stride=s, padding=p, dilation=d, rng=0)
    y, _ = layer.forward(np.zeros((1, 1, i, i + 1), dtype=np.float32))
    assert y.shape == (1, 1, o, conv_output_size(i + 1, k, s, p, d)) == layer.output_shape(
        (1, 1, i, i + 1)
    )
    return o


def conv_transpose_out(i: int, k: int, s: int = 1, p: int = 0, a: int = 0, d: int = 1) -> int:
    o = conv_transpose_output_size(i, k, s, p, a, d)
    layer = ConvTranspose2d(1, 1, k, stride=s, padding=p, output_padding=a, dilation=d, rng=0)
    y, _ = layer.forward(np.zeros((1, 1, i, i + 1), dtype=np.float32))
    assert y.shape == (1, 1, o, conv_transpose_output_size(i + 1, k, s, p, a, d))
    assert y.shape == layer.output_shape((1, 1, i, i + 1))
    return o


def test_relation_1_no_padding_unit_stride():
    for i, k in itertools.product(SIZES, KERNELS):
        if k <= i:
            assert conv_out(i, k) == (i - k) + 1


def test_relation_2_zero_padding_unit_stride():
    for i, k, p in itertools.product(SIZES, KERNELS, range(3)):
        if k <= i + 2 * p:
            assert conv_out(i, k, p=p) == (i - k) + 2 * p + 1


def test_relation_3_half_padding_keeps_the_size():
    for i, k in itertools.product(SIZES, (1, 3, 5)):
        assert conv_out(i, k, p=k // 2) == i


def test_relation_4_full_padding_grows_by_k_minus_1():
    for i, k in itertools.product(SIZES, KERNELS):
        assert conv_out(i, k, p=k - 1) == i + k - 1


def test_relation_5_no_padding_non_unit_stride():
    for i, k, s in itertools.product(SIZES, KERNELS, range(1, 4)):
        if k <= i:
            assert conv_out(i, k, s) == (i - k) // s + 1


def test_relation_6_zero_padding_non_unit_stride():
    for i, k, s, p in itertools.product(SIZES, KERNELS, range(1, 4), range(3)):
        if k <= i + 2 * p:
            assert conv_out(i, k, s, p) == (i + 2 * p - k) // s + 1


def test_odd_case_stride_leaves_the_last_rows_uncovered():
    """When s does not divide i + 2p - k, input sizes i and i + 1 share an output size and the
    last rows are never in a window (D&V section 2.4): i = 6 and i = 5, k = 3, s = 2 -> 2."""
    assert conv_out(5, 3, 2) == conv_out(6, 3, 2) == 2
    x = np.zeros((1, 1, 6, 6))
    x[0, 0, 5, :] = 1.0  # windows cover rows 0-2 and 2-4: row 5 is never seen
    layer = Conv2d(1, 1, 3, stride=2, bias=False, rng=0, dtype=np.float64)
    layer.params["weight"][:] = 1.0
    y, cache = layer.forward(x)
    np.testing.assert_array_equal(y, np.zeros((1, 1, 2, 2)))
    dx, _ = layer.backward(np.ones_like(y), cache)
    assert np.all(dx[0, 0, 5] == 0) and np.all(dx[0, 0, :, 5] == 0) and np.all(dx[0, 0, :5, :5] > 0)


def test_relation_8_transpose_of_no_padding_unit_stride():
    for i, k in itertools.product(SIZES, KERNELS):
        if k <= i:
            o = conv_out(i, k)
            assert conv_transpose_out(o, k) == o + (k - 1) == i


def test_relation_9_transpose_of_zero_padding_unit_stride():
    for i, k, p in itertools.product(SIZES, KERNELS, range(3)):
        o = conv_output_size(i, k, 1, p)
        if o >= 1 and o + (k - 1) - 2 * p >= 1:
            assert conv_transpose_out(o, k, p=p) == o + (k - 1) - 2 * p == i


def test_relation_10_transpose_of_half_padding_keeps_the_size():
    for i, k in itertools.product(SIZES, (1, 3, 5)):
        assert conv_transpose_out(i, k, p=k // 2) == i


def test_relation_11_transpose_of_full_padding_shrinks_by_k_minus_1():
    for i, k in itertools.product(SIZES, KERNELS):
        if i - (k - 1) >= 1:
            assert conv_transpose_out(i, k, p=k - 1) == i - (k - 1)


def test_relation_12_transpose_of_non_unit_stride_without_padding():
    for i, k, s in itertools.product(SIZES, KERNELS, range(1, 4)):
        if k <= i and (i - k) % s == 0:
            o = conv_out(i, k, s)
            assert conv_transpose_out(o, k, s) == s * (o - 1) + k == i


def test_relation_13_transpose_of_padded_strided_conv_when_stride_divides():
    for i, k, s, p in itertools.product(SIZES, KERNELS, range(1, 4), range(3)):
        if k <= i + 2 * p and (i + 2 * p - k) % s == 0:
            o = conv_out(i, k, s, p)
            if s * (o - 1) + k - 2 * p >= 1:
                assert conv_transpose_out(o, k, s, p) == s * (o - 1) + k - 2 * p == i


def test_relation_14_output_padding_a_recovers_every_input_size():
    """a = (i + 2p - k) mod s picks which of the s input sizes sharing an output was meant."""
    for i, k, s, p in itertools.product(SIZES, KERNELS, range(1, 4), range(3)):
        if k <= i + 2 * p:
            o = conv_out(i, k, s, p)
            a = (i + 2 * p - k) % s
            if s * (o - 1) + a + k - 2 * p >= 1:
                assert conv_transpose_out(o, k, s, p, a) == s * (o - 1) + a + k - 2 * p == i


def test_relation_15_dilated_convolution():
    for i, k, s, p, d in itertools.product(SIZES, KERNELS, range(1, 4), range(3), (1, 2, 3)):
        effective = k + (k - 1) * (d - 1)
        if effective <= i + 2 * p:
            assert conv_out(i, k, s, p, d) == (i + 2 * p - k - (k - 1) * (d - 1)) // s + 1


def test_dilated_transposed_convolution_inverts_the_dilated_shape():
    for i, k, s, p, d in itertools.product(SIZES, KERNELS, range(1, 4), range(3), (1, 2)):
        effective = d * (k - 1) + 1
        if effective <= i + 2 * p:
            o = conv_out(i, k, s, p, d)
            a = (i + 2 * p - effective) % s
            if a < max(s, d) and conv_transpose_output_size(o, k, s, p, a, d) >= 1:
                assert conv_transpose_out(o, k, s, p, a, d) == i


def test_output_sizes_per_axis_for_non_square_geometry():
    # H: (9 + 2 - 2 - 1) // 2 + 1 = 5;  W: (11 + 4 - 2*4 - 1) // 1 + 1 = 7
    layer = Conv2d(2, 3, (3, 5), stride=(2, 1), padding=(1, 2), dilation=(1, 2), rng=0)
    x = np.zeros((2, 2, 9, 11), dtype=np.float32)
    assert layer.forward(x)[0].shape == (2, 3, 5, 7) == layer.output_shape(x.shape)
    # H: (5 - 1)*2 - 2 + 2 + 1 + 1 = 10;  W: (4 - 1)*3 - 0 + 1 + 2 + 1 = 13
    t = ConvTranspose2d(3, 2, (3, 2), stride=(2, 3), padding=(1, 0), output_padding=(1, 2), rng=0)
    y = np.zeros((1, 3, 5, 4), dtype=np.float32)
    assert t.forward(y)[0].shape == (1, 2, 10, 13) == t.output_shape(y.shape)


@pytest.mark.parametrize("ceil_mode", [False, True])
def test_pool_output_sizes_follow_the_conv_relations_with_pytorchs_ceil_rule(ceil_mode):
    for i, k, s in itertools.product(SIZES, KERNELS, range(1, 4)):
        for p in range(k // 2 + 1):
            if k > i + 2 * p:
                continue
            span = i + 2 * p - k
            expected = (-(-span // s) if ceil_mode else span // s) + 1
            if ceil_mode and (expected - 1) * s >= i + p:
                expected -= 1  # a last window starting in the right padding is dropped
            assert conv_output_size(i, k, s, p, 1, ceil_mode) == expected
            x = np.zeros((1, 1, i, i), dtype=np.float32)
            for pool in (MaxPool2d(k, s, p, ceil_mode), AvgPool2d(k, s, p, ceil_mode)):
                assert pool.forward(x)[0].shape == (1, 1, expected, expected)


def test_ceil_mode_never_starts_a_window_in_the_right_padding():
    # i=5, k=2, s=2, p=1: ceil gives 4 windows, but the 4th would start at padded index 6 =
    # i + p, entirely in the right padding; PyTorch drops it -> 3.
    assert conv_output_size(5, 2, 2, 1, ceil_mode=False) == 3
    assert conv_output_size(5, 2, 2, 1, ceil_mode=True) == 3
    assert MaxPool2d(2, 2, 1, ceil_mode=True).output_shape((1, 1, 5, 5)) == (1, 1, 3, 3)


@pytest.mark.parametrize(
    ("k", "s", "p", "d", "hw"),
    [(3, 1, 0, 1, (5, 6)), (3, 2, 1, 1, (7, 6)), ((2, 3), (2, 1), (0, 1), (1, 2), (8, 7)),
     (4, 3, 2, 2, (9, 10)), (1, 2, 0, 1, (5, 5)), (5, 1, 2, 1, (4, 3))],
)
def test_conv_transpose2d_is_the_adjoint_of_conv2d(k, s, p, d, hw):
    """<conv(x), y> == <x, convT(y)> for the same weight, output_padding making the shapes meet."""
    rng = np.random.default_rng(0)
    conv = Conv2d(3, 2, k, stride=s, padding=p, dilation=d, bias=False, rng=rng, dtype=np.float64)
    x = rng.standard_normal((2, 3, *hw))
    cx, _ = conv.forward(x)
    kernel, stride, padding, dilation = conv.kernel_size, conv.stride, conv.padding, conv.dilation
    a = tuple(
        (n + 2 * pi - di * (ki - 1) - 1) % si
        for n, ki, si, pi, di in zip(hw, kernel, stride, padding, dilation, strict=True)
    )
    transpose = ConvTranspose2d(
        2, 3, k, stride=s, padding=p, output_padding=a, dilation=d, bias=False, rng=0,
        dtype=np.float64,
    )
    transpose.params["weight"] = conv.params["weight"]  # (C_out, C_in) of conv = (C_in, C_out)
    y = rng.standard_normal(cx.shape)
    ty, _ = transpose.forward(y)
    assert ty.shape == x.shape
    np.testing.assert_allclose((cx * y).sum(), (x * ty).sum(), rtol=1e-12)
    # And the conv's input gradient is exactly the transposed conv of its upstream gradient.
    dx, _ = conv.backward(y, conv.forward(x)[1])
    np.testing.assert_allclose(dx, ty, rtol=1e-12, atol=1e-12)
