"""Every layer's backward pass against central finite differences in float64.

Sweeps kernel 1-5, stride 1-3, padding 0-2, dilation 1-2, non-square kernels and inputs,
batch 1 and 3, channels 1-4, ceil_mode and count_include_pad on and off, output_padding;
hypothesis then draws random shapes.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.nn import (
    AvgPool2d,
    Conv2d,
    ConvTranspose2d,
    Flatten,
    Linear,
    MaxPool2d,
    ReLU,
    Sigmoid,
    Tanh,
)
from tests.nn.gradcheck import (
    away_from_zero,
    check_layer,
    distinct_values,
    numerical_gradient,
    numerical_input_gradient,
)

F64 = np.float64


def _conv_cases():
    """kernel x stride x padding, with dilation, batch and channels cycling through their
    ranges so that every value of each appears many times."""
    cases = []
    for i, (k, s, p) in enumerate(itertools.product(range(1, 6), range(1, 4), range(3))):
        d = 1 + i % 2
        batch = (1, 3)[i // 2 % 2]
        c_in, c_out = 1 + i % 4, 1 + (i + 1) % 4
        cases.append(pytest.param(k, s, p, d, batch, c_in, c_out, id=f"k{k}-s{s}-p{p}-d{d}"))
    return cases


@pytest.mark.parametrize(("k", "s", "p", "d", "batch", "c_in", "c_out"), _conv_cases())
def test_conv2d_backward_matches_finite_differences(k, s, p, d, batch, c_in, c_out):
    rng = np.random.default_rng(k * 100 + s * 10 + p)
    layer = Conv2d(c_in, c_out, k, stride=s, padding=p, dilation=d, rng=rng, dtype=F64)
    height = max(1, d * (k - 1) + 1 + s + 1 - 2 * p)
    x = rng.standard_normal((batch, c_in, height, height + 2))
    check_layer(layer, x, rng)


NON_SQUARE = [
    # kernel, stride, padding, dilation, input (H, W)
    ((2, 3), (1, 2), (0, 1), (2, 1), (6, 7)),
    ((3, 1), (2, 1), (1, 0), (1, 2), (7, 4)),
    ((1, 4), (3, 2), (2, 1), (1, 1), (5, 9)),
    ((5, 2), (1, 3), (2, 0), (2, 2), (9, 8)),
]


@pytest.mark.parametrize(("k", "s", "p", "d", "hw"), NON_SQUARE)
@pytest.mark.parametrize("bias", [True, False])
def test_conv2d_backward_with_non_square_geometry(k, s, p, d, hw, bias):
    rng = np.random.default_rng(7)
    layer = Conv2d(3, 2, k, stride=s, padding=p, dilation=d, bias=bias, rng=rng, dtype=F64)
    check_layer(layer, rng.standard_normal((2, 3, *hw)), rng)


def _conv_transpose_cases():
    cases = []
    for i, (k, s, p) in enumerate(itertools.product(range(1, 6), range(1, 4), range(3))):
        d = 1 + i % 2
        op = i % max(s, d)  # every legal output_padding appears
        batch = (1, 3)[i // 2 % 2]
        c_in, c_out = 1 + (i + 2) % 4, 1 + i % 4
        cases.append(
            pytest.param(k, s, p, op, d, batch, c_in, c_out, id=f"k{k}-s{s}-p{p}-op{op}-d{d}")
        )
    return cases


@pytest.mark.parametrize(
    ("k", "s", "p", "op", "d", "batch", "c_in", "c_out"), _conv_transpose_cases()
)
def test_conv_transpose2d_backward_matches_finite_differences(k, s, p, op, d, batch, c_in, c_out):
    rng = np.random.default_rng(k * 100 + s * 10 + p)
    layer = ConvTranspose2d(
        c_in, c_out, k, stride=s, padding=p, output_padding=op, dilation=d, rng=rng, dtype=F64
    )
    height = 2 + 2 * p
    check_layer(layer, rng.standard_normal((batch, c_in, height, height + 1)), rng)


@pytest.mark.parametrize(("k", "s", "p", "d", "hw"), NON_SQUARE)
def test_conv_transpose2d_backward_with_non_square_geometry(k, s, p, d, hw):
    rng = np.random.default_rng(8)
    op = (max(s[0], d[0]) - 1, 0)
    layer = ConvTranspose2d(
        2,
        3,
        k,
        stride=s,
        padding=p,
        output_padding=op,
        dilation=d,
        bias=False,
        rng=rng,
        dtype=F64,
    )
    check_layer(layer, rng.standard_normal((1, 2, *hw)), rng)


def _pool_cases():
    cases = []
    for k, s in itertools.product(range(1, 6), range(1, 4)):
        for p in range(k // 2 + 1):
            for ceil_mode in (False, True):
                cases.append(
                    pytest.param(k, s, p, ceil_mode, id=f"k{k}-s{s}-p{p}-ceil{ceil_mode:d}")
                )
    return cases


def _pool_input(k, s, p, rng, batch_channels=(2, 3)):
    # Heights k+s+1 and k+2s leave a remainder modulo s in many cases, so ceil_mode
    # adds a partial last window there.
    height, width = max(1, k + s + 1 - 2 * p), k + 2 * s
    return distinct_values((*batch_channels, height, width), rng)


@pytest.mark.parametrize(("k", "s", "p", "ceil_mode"), _pool_cases())
def test_maxpool2d_backward_matches_finite_differences(k, s, p, ceil_mode):
    rng = np.random.default_rng(k * 100 + s * 10 + p)
    layer = MaxPool2d(k, stride=s, padding=p, ceil_mode=ceil_mode)
    check_layer(layer, _pool_input(k, s, p, rng), rng)


@pytest.mark.parametrize(("k", "s", "p", "ceil_mode"), _pool_cases())
@pytest.mark.parametrize("count_include_pad", [True, False])
def test_avgpool2d_backward_matches_finite_differences(k, s, p, ceil_mode, count_include_pad):
    rng = np.random.default_rng(k * 100 + s * 10 + p)
    layer = AvgPool2d(
        k, stride=s, padding=p, ceil_mode=ceil_mode, count_include_pad=count_include_pad
    )
    check_layer(layer, rng.standard_normal((1, 3, k + s + 1, k + 2 * s)), rng)


def test_pool_sweep_includes_cases_where_ceil_mode_adds_a_window():
    """The sweep above is only meaningful for ceil_mode if ceil_mode changes some shapes."""
    added = 0
    for k, s in itertools.product(range(1, 6), range(1, 4)):
        for p in range(k // 2 + 1):
            shape = _pool_input(k, s, p, np.random.default_rng(0)).shape
            floor = MaxPool2d(k, s, p).output_shape(shape)
            ceil = MaxPool2d(k, s, p, ceil_mode=True).output_shape(shape)
            added += ceil != floor
    assert added >= 10


@pytest.mark.parametrize(
    ("k", "s", "p", "hw"),
    [
        ((2, 3), (1, 2), (1, 0), (5, 7)),
        ((3, 1), (2, 1), (0, 0), (8, 3)),
        ((4, 2), (3, 1), (2, 1), (6, 5)),
    ],
)
@pytest.mark.parametrize("ceil_mode", [False, True])
def test_pools_backward_with_non_square_geometry(k, s, p, hw, ceil_mode):
    rng = np.random.default_rng(9)
    x = distinct_values((3, 2, *hw), rng)
    check_layer(MaxPool2d(k, s, p, ceil_mode=ceil_mode), x, rng)
    for count_include_pad in (True, False):
        layer = AvgPool2d(k, s, p, ceil_mode=ceil_mode, count_include_pad=count_include_pad)
        check_layer(layer, x, rng)


@pytest.mark.parametrize("batch", [1, 3])
@pytest.mark.parametrize(
    ("layer", "shape"),
    [
        (ReLU(), (2, 5, 4)),
        (Sigmoid(), (3, 4, 5)),
        (Tanh(), (3, 4, 5)),
        (Flatten(), (2, 3, 4)),
        (Sigmoid(), (7,)),
        (Tanh(), (7,)),
        (ReLU(), (6,)),
    ],
    ids=["relu", "sigmoid", "tanh", "flatten", "sigmoid-2d", "tanh-2d", "relu-2d"],
)
def test_elementwise_layers_backward_matches_finite_differences(layer, shape, batch):
    rng = np.random.default_rng(3)
    check_layer(layer, away_from_zero((batch, *shape), rng) * 2, rng)


@pytest.mark.parametrize("batch", [1, 3])
@pytest.mark.parametrize(("n_in", "n_out", "bias"), [(1, 1, True), (7, 4, True), (12, 3, False)])
def test_linear_backward_matches_finite_differences(n_in, n_out, bias, batch):
    rng = np.random.default_rng(n_in)
    layer = Linear(n_in, n_out, bias=bias, rng=rng, dtype=F64)
    check_layer(layer, rng.standard_normal((batch, n_in)), rng)


def test_sigmoid_and_tanh_gradients_hold_far_from_zero():
    """Large |x| is where a naive sigmoid overflows; its gradient must still be exact."""
    rng = np.random.default_rng(4)
    x = np.array([[-30.0, -8.0, -2.5, 2.5, 8.0, 30.0]])
    for layer in (Sigmoid(), Tanh()):
        check_layer(layer, x, rng)
    y, _ = Sigmoid().forward(np.array([-800.0, 800.0]))
    assert np.all(np.isfinite(y)) and y[0] == 0.0 and y[1] == 1.0


@pytest.mark.parametrize(
    "layer",
    [
        Conv2d(2, 3, 3, stride=2, padding=1, rng=0, dtype=F64),
        ConvTranspose2d(2, 3, 3, stride=2, padding=1, output_padding=1, rng=0, dtype=F64),
        MaxPool2d(3, 2, 1, ceil_mode=True),
        AvgPool2d(3, 2, 1, ceil_mode=True, count_include_pad=False),
        ReLU(),
        Sigmoid(),
        Tanh(),
        Flatten(),
    ],
    ids=lambda layer: layer.kind,
)
def test_layers_treat_batch_items_independently(layer):
    """What the vectorised finite differences of gradcheck rely on."""
    x = distinct_values((3, 2, 6, 5), np.random.default_rng(5))
    batched, _ = layer.forward(x)
    one_by_one = np.concatenate([layer.forward(x[i : i + 1])[0] for i in range(3)])
    np.testing.assert_allclose(batched, one_by_one, rtol=1e-12, atol=1e-12)


# Random shapes: hypothesis draws the geometry, then the shape that fits it.

SETTINGS = settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
sizes = st.integers(1, 4)


@SETTINGS
@given(
    k=st.tuples(st.integers(1, 4), st.integers(1, 4)),
    s=st.tuples(sizes, sizes),
    d=st.tuples(st.integers(1, 2), st.integers(1, 2)),
    p=st.tuples(st.integers(0, 2), st.integers(0, 2)),
    extra=st.tuples(st.integers(0, 4), st.integers(0, 4)),
    batch=st.integers(1, 3),
    c_in=sizes,
    c_out=sizes,
    seed=st.integers(0, 2**16),
)
def test_conv2d_backward_for_random_shapes(k, s, d, p, extra, batch, c_in, c_out, seed):
    rng = np.random.default_rng(seed)
    hw = [
        max(1, di * (ki - 1) + 1 - 2 * pi + e) for ki, di, pi, e in zip(k, d, p, extra, strict=True)
    ]
    layer = Conv2d(c_in, c_out, k, stride=s, padding=p, dilation=d, rng=rng, dtype=F64)
    check_layer(layer, rng.standard_normal((batch, c_in, *hw)), rng)


@SETTINGS
@given(
    k=st.tuples(st.integers(1, 4), st.integers(1, 4)),
    s=st.tuples(sizes, sizes),
    d=st.tuples(st.integers(1, 2), st.integers(1, 2)),
    p=st.tuples(st.integers(0, 1), st.integers(0, 1)),
    hw=st.tuples(st.integers(1, 4), st.integers(1, 4)),
    op_seed=st.integers(0, 100),
    batch=st.integers(1, 3),
    c_in=sizes,
    c_out=sizes,
    seed=st.integers(0, 2**16),
)
def test_conv_transpose2d_backward_for_random_shapes(
    k, s, d, p, hw, op_seed, batch, c_in, c_out, seed
):
    rng = np.random.default_rng(seed)
    op = tuple(op_seed % max(si, di) for si, di in zip(s, d, strict=True))
    out = [
        (n - 1) * si - 2 * pi + di * (ki - 1) + o + 1
        for n, si, pi, di, ki, o in zip(hw, s, p, d, k, op, strict=True)
    ]
    hw = tuple(
        n + (2 if o < 1 else 0) for n, o in zip(hw, out, strict=True)
    )  # keep the output non-empty
    layer = ConvTranspose2d(
        c_in, c_out, k, stride=s, padding=p, output_padding=op, dilation=d, rng=rng, dtype=F64
    )
    check_layer(layer, rng.standard_normal((batch, c_in, *hw)), rng)


@SETTINGS
@given(
    k=st.tuples(st.integers(1, 5), st.integers(1, 5)),
    s=st.tuples(sizes, sizes),
    pad_fraction=st.tuples(st.floats(0, 1), st.floats(0, 1)),
    extra=st.tuples(st.integers(0, 5), st.integers(0, 5)),
    ceil_mode=st.booleans(),
    count_include_pad=st.booleans(),
    batch=st.integers(1, 3),
    channels=sizes,
    seed=st.integers(0, 2**16),
)
def test_pools_backward_for_random_shapes(
    k, s, pad_fraction, extra, ceil_mode, count_include_pad, batch, channels, seed
):
    rng = np.random.default_rng(seed)
    p = tuple(int(f * (ki // 2)) for f, ki in zip(pad_fraction, k, strict=True))
    hw = [max(1, ki - 2 * pi + e) for ki, pi, e in zip(k, p, extra, strict=True)]
    x = distinct_values((batch, channels, *hw), rng)
    check_layer(MaxPool2d(k, s, p, ceil_mode=ceil_mode), x, rng)
    check_layer(AvgPool2d(k, s, p, ceil_mode, count_include_pad=count_include_pad), x, rng)


class _ConvWithWrongBackward(Conv2d):
    """A Conv2d whose backward has one of the bugs the check must catch."""

    def __init__(self, bug: str, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.bug = bug

    def backward(self, dy, cache):
        if self.bug == "ignores-upstream-layout":  # invisible with an all-ones upstream
            dy = np.broadcast_to(dy.mean(axis=(2, 3), keepdims=True), dy.shape)
        dx, grads = super().backward(dy, cache)
        if self.bug == "flipped-kernel":
            grads["weight"] = grads["weight"][:, :, ::-1, ::-1]
        if self.bug == "bias-off-by-1e-4":
            grads["bias"] = grads["bias"] * (1 + 1e-4)
        return dx, grads


@pytest.mark.parametrize("bug", ["ignores-upstream-layout", "flipped-kernel", "bias-off-by-1e-4"])
def test_gradient_check_rejects_a_wrong_backward(bug):
    rng = np.random.default_rng(11)
    layer = _ConvWithWrongBackward(bug, 2, 2, 3, padding=1, rng=rng, dtype=F64)
    with pytest.raises(AssertionError):
        check_layer(layer, rng.standard_normal((2, 2, 5, 4)), rng)


def test_relu_gives_plain_zeros_for_negative_and_minus_infinite_inputs():
    x = np.array([[-1.5, -np.inf, 0.0, 2.0, np.inf]])
    y, mask = ReLU().forward(x)
    np.testing.assert_array_equal(y, [[0, 0, 0, 2, np.inf]])
    assert not np.signbit(y).any()  # no -0.0 shown to the user
    dx, _ = ReLU().backward(np.array([[-1.0, -2.0, -3.0, -4.0, 5.0]]), mask)
    np.testing.assert_array_equal(dx, [[0, 0, 0, -4, 5]])
    assert not np.signbit(dx[0, :3]).any()


def test_vectorised_input_differences_equal_the_one_at_a_time_ones():
    """gradcheck's batched input differences against its plain element-by-element loop."""
    rng = np.random.default_rng(12)
    layer = Conv2d(2, 3, 3, stride=2, padding=1, rng=rng, dtype=F64)
    x = rng.standard_normal((2, 2, 5, 4))
    upstream = rng.standard_normal(layer.output_shape(x.shape))
    batched = numerical_input_gradient(layer, x, upstream)
    looped = numerical_gradient(lambda v: float((layer.forward(v)[0] * upstream).sum()), x.copy())
    np.testing.assert_allclose(batched, looped, rtol=1e-7, atol=1e-9)
