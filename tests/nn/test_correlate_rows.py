"""functional.correlate_rows (stride-1 correlation on whole padded rows) computes what the
im2col path and the definition compute, in float64 to 1e-12, whatever the geometry, and
correlate routes to it only where the rows are laid out one after another."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.nn import Conv2d
from app.nn import functional as F
from tests.nn.gradcheck import check_layer
from tests.nn.reference import grouped_conv2d


def im2col_correlate(xp, weight, dilation, out_size):
    """correlate's im2col path, whatever rows_pay_off says."""
    real = F.rows_pay_off
    try:
        F.rows_pay_off = lambda *a: False
        return F.correlate(xp, weight, (1, 1), dilation, out_size)
    finally:
        F.rows_pay_off = real


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 3), c=st.integers(1, 4), c_out=st.integers(1, 5),
       h=st.integers(1, 9), w=st.integers(1, 9), kh=st.integers(1, 4), kw=st.integers(1, 4),
       dh=st.integers(1, 2), dw=st.integers(1, 2))
def test_whole_row_correlation_equals_im2col_on_any_stride_1_geometry(n, c, c_out, h, w, kh,
                                                                      kw, dh, dw):
    rng = np.random.default_rng(0)
    hp, wp = h + dh * (kh - 1), w + dw * (kw - 1)  # padded so that the output is h x w
    xp = rng.standard_normal((n, c, hp, wp))
    weight = rng.standard_normal((c_out, c, kh, kw))
    got = F.correlate_rows(xp, weight, (dh, dw), (h, w))
    np.testing.assert_allclose(got, im2col_correlate(xp, weight, (dh, dw), (h, w)),
                               rtol=1e-12, atol=1e-12)
    assert got.shape == (n, c_out, h, w) and got.flags.c_contiguous


@pytest.mark.parametrize(("shape", "k", "p", "d"), [
    ((3, 2, 7, 11), 3, 1, 1), ((2, 3, 9, 5), (2, 3), (0, 2), (2, 1)), ((1, 1, 28, 28), 5, 2, 1),
])
def test_conv2d_on_whole_rows_matches_the_definition_and_finite_differences(shape, k, p, d):
    rng = np.random.default_rng(1)
    layer = Conv2d(shape[1], 4, k, padding=p, dilation=d, rng=rng, dtype=np.float64)
    x = rng.standard_normal(shape)
    h, w = layer.output_shape(shape)[2:]
    assert F.rows_pay_off(4, w, shape[3] + 2 * layer.padding[1])  # the row path is taken
    y, _ = layer.forward(x)
    want = grouped_conv2d(x, layer.params["weight"], layer.params["bias"], layer.stride,
                          layer.padding, layer.dilation, 1)
    np.testing.assert_allclose(y, want, rtol=1e-12, atol=1e-12)
    check_layer(layer, rng.standard_normal((2, *shape[1:])), rng)


def test_rows_that_do_not_follow_each_other_take_the_im2col_path(monkeypatch):
    real, calls = F.correlate_rows, []
    monkeypatch.setattr(F, "correlate_rows", lambda *a: calls.append(a) or real(*a))
    rng = np.random.default_rng(2)
    weight = rng.standard_normal((2, 3, 3, 3))
    cropped = rng.standard_normal((2, 3, 8, 11))[..., :8]  # 3 other values between rows
    every_other = rng.standard_normal((2, 3, 8, 16))[..., ::2]  # rows still one flat run
    for xp, routed in ((cropped, 0), (every_other, 1)):
        calls.clear()
        y = F.correlate(xp, weight, (1, 1), (1, 1), (6, 6))
        assert len(calls) == routed
        want = im2col_correlate(np.ascontiguousarray(xp), weight, (1, 1), (6, 6))
        np.testing.assert_allclose(y, want, rtol=1e-12, atol=1e-12)


def test_many_output_channels_on_a_small_plane_stay_on_im2col():
    # 256 channels on 14x14 (padded 16): the wasted columns cost more than the copies save.
    assert not F.rows_pay_off(256, 14, 16)
    assert F.rows_pay_off(16, 10, 14) and F.rows_pay_off(64, 56, 58)
