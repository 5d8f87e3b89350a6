"""Forward passes against the brute-force loop references of tests/nn/reference.py."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.nn import AvgPool2d, Conv2d, ConvTranspose2d, MaxPool2d, conv_transpose_output_size
from tests.nn import reference

F64 = np.float64
GEOMETRIES = [
    # kernel, stride, padding, dilation
    ((3, 3), (1, 1), (0, 0), (1, 1)),
    ((3, 3), (2, 2), (1, 1), (1, 1)),
    ((2, 3), (1, 2), (0, 1), (2, 1)),
    ((1, 1), (3, 3), (2, 2), (1, 1)),
    ((5, 4), (2, 3), (2, 1), (1, 2)),
    ((3, 2), (3, 1), (1, 2), (2, 2)),
]


@pytest.mark.parametrize(("k", "s", "p", "d"), GEOMETRIES)
@pytest.mark.parametrize("bias", [True, False])
def test_conv2d_forward_matches_loop_reference(k, s, p, d, bias):
    rng = np.random.default_rng(1)
    layer = Conv2d(3, 2, k, stride=s, padding=p, dilation=d, bias=bias, rng=rng, dtype=F64)
    x = rng.standard_normal((2, 3, 9, 8))
    y, _ = layer.forward(x)
    expected = reference.conv2d(x, layer.params["weight"], layer.params.get("bias"), s, p, d)
    assert y.shape == expected.shape
    np.testing.assert_allclose(y, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(("k", "s", "p", "d"), GEOMETRIES)
@pytest.mark.parametrize("bias", [True, False])
def test_conv_transpose2d_forward_matches_loop_reference(k, s, p, d, bias):
    rng = np.random.default_rng(2)
    op = tuple(max(si, di) - 1 for si, di in zip(s, d, strict=True))  # the largest legal one
    layer = ConvTranspose2d(
        2,
        3,
        k,
        stride=s,
        padding=p,
        output_padding=op,
        dilation=d,
        bias=bias,
        rng=rng,
        dtype=F64,
    )
    x = rng.standard_normal((2, 2, 4, 5))
    y, _ = layer.forward(x)
    expected = reference.conv_transpose2d(
        x, layer.params["weight"], layer.params.get("bias"), s, p, op, d
    )
    assert y.shape == expected.shape
    np.testing.assert_allclose(y, expected, rtol=1e-12, atol=1e-12)


POOLS = [
    (k, s, p, ceil_mode)
    for k, s in [
        ((2, 2), (2, 2)),
        ((3, 3), (2, 2)),
        ((3, 2), (1, 2)),
        ((4, 5), (3, 2)),
        ((1, 1), (2, 2)),
        ((5, 5), (3, 3)),
    ]
    for p in sorted({(0, 0), (k[0] // 2, k[1] // 2)})
    for ceil_mode in (False, True)
]


@pytest.mark.parametrize(("k", "s", "p", "ceil_mode"), POOLS)
def test_maxpool2d_values_and_indices_match_loop_reference(k, s, p, ceil_mode):
    # Small integers make many ties, so the first-maximum rule is exercised everywhere.
    x = np.random.default_rng(3).integers(-3, 3, size=(2, 2, 9, 10)).astype(F64)
    y, (indices, _) = MaxPool2d(k, s, p, ceil_mode=ceil_mode).forward(x)
    expected_y, expected_indices = reference.max_pool2d(x, k, s, p, ceil_mode)
    np.testing.assert_array_equal(y, expected_y)
    np.testing.assert_array_equal(indices, expected_indices)


@pytest.mark.parametrize(("k", "s", "p", "ceil_mode"), POOLS)
@pytest.mark.parametrize("count_include_pad", [True, False])
def test_avgpool2d_forward_matches_loop_reference(k, s, p, ceil_mode, count_include_pad):
    x = np.random.default_rng(4).standard_normal((2, 2, 9, 10))
    layer = AvgPool2d(k, s, p, ceil_mode=ceil_mode, count_include_pad=count_include_pad)
    y, _ = layer.forward(x)
    expected = reference.avg_pool2d(x, k, s, p, ceil_mode, count_include_pad)
    assert y.shape == expected.shape
    np.testing.assert_allclose(y, expected, rtol=1e-12, atol=1e-12)


@settings(max_examples=30, deadline=None, derandomize=True)
@given(
    k=st.tuples(st.integers(1, 4), st.integers(1, 4)),
    s=st.tuples(st.integers(1, 3), st.integers(1, 3)),
    pad_fraction=st.tuples(st.floats(0, 1), st.floats(0, 1)),
    extra=st.tuples(st.integers(0, 5), st.integers(0, 5)),
    ceil_mode=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_maxpool2d_matches_loop_reference_for_random_shapes(
    k, s, pad_fraction, extra, ceil_mode, seed
):
    p = tuple(int(f * (ki // 2)) for f, ki in zip(pad_fraction, k, strict=True))
    hw = tuple(max(1, ki - 2 * pi + e) for ki, pi, e in zip(k, p, extra, strict=True))
    x = np.random.default_rng(seed).integers(-2, 2, size=(1, 2, *hw)).astype(F64)
    y, (indices, _) = MaxPool2d(k, s, p, ceil_mode=ceil_mode).forward(x)
    expected_y, expected_indices = reference.max_pool2d(x, k, s, p, ceil_mode)
    np.testing.assert_array_equal(y, expected_y)
    np.testing.assert_array_equal(indices, expected_indices)


def test_loop_references_agree_with_each_other():
    """The references themselves: a conv with a 1/k^2 kernel per channel is mean pooling,
    and a transposed conv is the adjoint of a conv (checked by brute force)."""
    rng = np.random.default_rng(5)
    x = rng.standard_normal((1, 1, 6, 7))
    mean = reference.conv2d(x, np.full((1, 1, 3, 2), 1 / 6), None, (2, 1), (0, 0), (1, 1))
    pooled = reference.avg_pool2d(x, (3, 2), (2, 1), (0, 0), False, True)
    np.testing.assert_allclose(mean, pooled, rtol=1e-12)
    w = rng.standard_normal((2, 1, 3, 3))
    y = rng.standard_normal((1, 2, 3, 4))
    forward = reference.conv2d(x, w, None, (2, 2), (1, 1), (1, 1))
    adjoint = reference.conv_transpose2d(y, w, None, (2, 2), (1, 1), (1, 0), (1, 1))
    assert forward.shape == y.shape and adjoint.shape == x.shape
    assert np.isclose((forward * y).sum(), (x * adjoint).sum(), rtol=1e-12)


def test_references_cover_every_geometry_value():
    """kernel, stride, padding and dilation values of the sweeps above span 1-5, 1-3, 0-2, 1-2."""
    ks, ss, ps, ds = (set(itertools.chain(*g)) for g in zip(*GEOMETRIES, strict=True))
    assert ks >= {1, 2, 3, 4, 5} and ss >= {1, 2, 3} and ps >= {0, 1, 2} and ds >= {1, 2}


pairs = st.tuples


@settings(max_examples=20, deadline=None, derandomize=True)
@given(
    k=pairs(st.integers(1, 4), st.integers(1, 4)),
    s=pairs(st.integers(1, 3), st.integers(1, 3)),
    p=pairs(st.integers(0, 2), st.integers(0, 2)),
    d=pairs(st.integers(1, 2), st.integers(1, 2)),
    extra=pairs(st.integers(0, 4), st.integers(0, 4)),
    channels=pairs(st.integers(1, 3), st.integers(1, 3)),
    seed=st.integers(0, 2**16),
)
def test_conv2d_and_its_transpose_match_loop_references_for_random_shapes(
    k, s, p, d, extra, channels, seed
):
    rng = np.random.default_rng(seed)
    hw = tuple(
        max(1, di * (ki - 1) + 1 - 2 * pi + e) for ki, di, pi, e in zip(k, d, p, extra, strict=True)
    )
    conv = Conv2d(*channels, k, stride=s, padding=p, dilation=d, rng=rng, dtype=F64)
    x = rng.standard_normal((2, channels[0], *hw))
    expected = reference.conv2d(x, conv.params["weight"], conv.params["bias"], s, p, d)
    np.testing.assert_allclose(conv.forward(x)[0], expected, rtol=1e-12, atol=1e-12)
    op = tuple(seed % max(si, di) for si, di in zip(s, d, strict=True))
    transpose = ConvTranspose2d(
        *channels, k, stride=s, padding=p, output_padding=op, dilation=d, rng=rng, dtype=F64
    )
    out = [
        conv_transpose_output_size(n, *args) for n, *args in zip(hw, k, s, p, op, d, strict=True)
    ]
    if min(out) >= 1:
        expected = reference.conv_transpose2d(
            x, transpose.params["weight"], transpose.params["bias"], s, p, op, d
        )
        np.testing.assert_allclose(transpose.forward(x)[0], expected, rtol=1e-12, atol=1e-12)


@settings(max_examples=30, deadline=None, derandomize=True)
@given(
    k=pairs(st.integers(1, 5), st.integers(1, 5)),
    s=pairs(st.integers(1, 3), st.integers(1, 3)),
    pad_fraction=pairs(st.floats(0, 1), st.floats(0, 1)),
    extra=pairs(st.integers(0, 5), st.integers(0, 5)),
    ceil_mode=st.booleans(),
    count_include_pad=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_avgpool2d_matches_loop_reference_for_random_shapes(
    k, s, pad_fraction, extra, ceil_mode, count_include_pad, seed
):
    p = tuple(int(f * (ki // 2)) for f, ki in zip(pad_fraction, k, strict=True))
    hw = tuple(max(1, ki - 2 * pi + e) for ki, pi, e in zip(k, p, extra, strict=True))
    x = np.random.default_rng(seed).standard_normal((1, 2, *hw))
    layer = AvgPool2d(k, s, p, ceil_mode=ceil_mode, count_include_pad=count_include_pad)
    expected = reference.avg_pool2d(x, k, s, p, ceil_mode, count_include_pad)
    np.testing.assert_allclose(layer.forward(x)[0], expected, rtol=1e-12, atol=1e-12)
