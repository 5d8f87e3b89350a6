"""The graph-era layers' backward passes against central finite differences in float64:
grouped and depthwise convolution (groups 1, 2 and C_in), grouped transposed convolution,
BatchNorm2d in both modes, adaptive pooling with outputs that do not divide the input,
asymmetric zero padding, the new activations, Dropout, Add and Concat."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.nn import (
    AdaptiveAvgPool2d,
    AdaptiveMaxPool2d,
    Add,
    BatchNorm2d,
    Concat,
    Conv2d,
    ConvTranspose2d,
    Dropout,
    Identity,
    LeakyReLU,
    ReLU6,
    Sign,
    ZeroPad2d,
)
from tests.nn.gradcheck import away_from_zero, check_coupled, check_layer, distinct_values

F64 = np.float64
SETTINGS = settings(
    max_examples=20, deadline=None, derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)


def _groups_cases():
    # (c_in, c_out, groups): plain, 2 groups, depthwise (groups = C_in), depthwise with a
    # channel multiplier, and grouped with more outputs than inputs.
    return [(4, 6, 1), (4, 6, 2), (4, 4, 4), (3, 6, 3), (6, 4, 2), (2, 8, 2)]


@pytest.mark.parametrize(("c_in", "c_out", "groups"), _groups_cases())
@pytest.mark.parametrize(
    ("k", "s", "p", "d"),
    [(3, 1, 1, 1), (3, 2, 1, 1), (2, 1, 0, 2), ((3, 2), (2, 1), (0, 1), (1, 2)), (1, 1, 0, 1)],
)
def test_grouped_conv2d_backward_matches_finite_differences(c_in, c_out, groups, k, s, p, d):
    rng = np.random.default_rng(c_in * 10 + groups)
    layer = Conv2d(c_in, c_out, k, stride=s, padding=p, dilation=d, groups=groups, rng=rng,
                   dtype=F64)
    check_layer(layer, rng.standard_normal((2, c_in, 6, 5)), rng)


@pytest.mark.parametrize(("c_in", "c_out", "groups"), _groups_cases())
@pytest.mark.parametrize(("k", "s", "p", "op"), [(3, 1, 1, 0), (3, 2, 1, 1), (2, 2, 0, 0)])
def test_grouped_conv_transpose2d_backward_matches_finite_differences(
    c_in, c_out, groups, k, s, p, op
):
    rng = np.random.default_rng(c_in * 10 + groups + 1)
    layer = ConvTranspose2d(c_in, c_out, k, stride=s, padding=p, output_padding=op,
                            groups=groups, rng=rng, dtype=F64)
    check_layer(layer, rng.standard_normal((2, c_in, 3, 4)), rng)


@SETTINGS
@given(
    group_size_in=st.integers(1, 3), group_size_out=st.integers(1, 3), groups=st.integers(1, 4),
    k=st.tuples(st.integers(1, 3), st.integers(1, 3)), s=st.integers(1, 2),
    p=st.integers(0, 1), bias=st.booleans(), seed=st.integers(0, 2**16),
)
def test_grouped_conv2d_backward_for_random_shapes(
    group_size_in, group_size_out, groups, k, s, p, bias, seed
):
    rng = np.random.default_rng(seed)
    c_in, c_out = group_size_in * groups, group_size_out * groups
    layer = Conv2d(c_in, c_out, k, stride=s, padding=p, groups=groups, bias=bias, rng=rng,
                   dtype=F64)
    check_layer(layer, rng.standard_normal((2, c_in, 4, 5)), rng)


def test_conv2d_with_one_group_is_unchanged_by_the_groups_argument():
    rng = np.random.default_rng(3)
    a = Conv2d(3, 4, 3, padding=1, rng=0, dtype=F64)
    b = Conv2d(3, 4, 3, padding=1, groups=1, rng=0, dtype=F64)
    x = rng.standard_normal((2, 3, 5, 5))
    np.testing.assert_allclose(a.forward(x)[0], b.forward(x)[0], rtol=1e-12, atol=1e-15)
    assert "groups" not in a.config()  # the bundled models' configs stay as they were


def _bn_input(rng, shape=(3, 2, 4, 3)):
    return rng.standard_normal(shape) * 2 + rng.standard_normal((1, shape[1], 1, 1))


@pytest.mark.parametrize("affine", [True, False])
@pytest.mark.parametrize("training", [False, True])
@pytest.mark.parametrize("shape", [(3, 2, 4, 3), (1, 3, 2, 2), (4, 1, 1, 1)])
def test_batchnorm2d_backward_matches_finite_differences_in_both_modes(affine, training, shape):
    rng = np.random.default_rng(4)
    layer = BatchNorm2d(shape[1], affine=affine, dtype=F64)
    if affine:
        layer.params["weight"] = rng.standard_normal(shape[1])
        layer.params["bias"] = rng.standard_normal(shape[1])
    layer.buffers["running_mean"] = rng.standard_normal(shape[1])
    layer.buffers["running_var"] = rng.uniform(0.5, 2.0, shape[1])
    layer.momentum = 0.0  # finite differences run forward many times: keep the buffers
    layer.train(training)
    # Batch statistics couple the batch items: perturb every element of the whole batch.
    check_coupled(layer, [_bn_input(rng, shape)], rng)


@pytest.mark.parametrize(
    ("hw", "out"),
    [((5, 7), (3, 2)), ((7, 5), (4, 3)), ((6, 6), (4, 4)), ((3, 4), (5, 6)), ((5, 5), (1, 1)),
     ((4, 6), (2, 3)), ((1, 3), (1, 2))],
)
def test_adaptive_pools_backward_matches_finite_differences(hw, out):
    """Outputs that do not divide the input (overlapping windows), larger than the input,
    global (1x1) and dividing."""
    rng = np.random.default_rng(5)
    x = distinct_values((2, 3, *hw), rng)
    check_layer(AdaptiveAvgPool2d(out), x, rng)
    check_layer(AdaptiveMaxPool2d(out), x, rng)


@SETTINGS
@given(h=st.integers(1, 9), w=st.integers(1, 9), oh=st.integers(1, 6), ow=st.integers(1, 6),
       seed=st.integers(0, 2**16))
def test_adaptive_pools_backward_for_random_sizes(h, w, oh, ow, seed):
    rng = np.random.default_rng(seed)
    x = distinct_values((2, 2, h, w), rng)
    check_layer(AdaptiveAvgPool2d((oh, ow)), x, rng)
    check_layer(AdaptiveMaxPool2d((oh, ow)), x, rng)


@pytest.mark.parametrize("padding", [1, (0, 0, 0, 0), (1, 0, 0, 1), (0, 2, 1, 0), (2, 1, 3, 0)])
def test_zero_pad2d_backward_matches_finite_differences(padding):
    rng = np.random.default_rng(6)
    check_layer(ZeroPad2d(padding), rng.standard_normal((2, 2, 3, 4)), rng)


@pytest.mark.parametrize(
    "layer", [LeakyReLU(), LeakyReLU(0.2), LeakyReLU(-0.5), ReLU6(), Sign(), Identity()],
    ids=lambda layer: repr(layer),
)
@pytest.mark.parametrize("shape", [(2, 3, 4, 5), (3, 7)])
def test_new_activations_backward_match_finite_differences(layer, shape):
    rng = np.random.default_rng(7)
    x = away_from_zero(shape, rng) * 4  # reaches past ReLU6's 6, stays off every kink
    x = np.where(np.abs(x - 6) < 0.05, x + 0.1, x)
    check_layer(layer, x, rng)


class _Reseeded(Dropout):
    """Dropout whose every forward draws the same mask: finite differences call forward many
    times and must see one function."""

    def forward(self, x):
        self.generator = np.random.default_rng(self.seed)
        return super().forward(x)


@pytest.mark.parametrize("p", [0.0, 0.3, 0.5, 0.9, 1.0])
@pytest.mark.parametrize("training", [False, True])
def test_dropout_backward_matches_finite_differences(p, training):
    rng = np.random.default_rng(8)
    layer = _Reseeded(p)
    layer.seed = 42
    layer.train(training)
    # Element by element: the mask has the batch's shape, so no batched differences.
    check_coupled(layer, [rng.standard_normal((3, 2, 4, 4))], rng)


@pytest.mark.parametrize(
    "shapes",
    [[(2, 3, 4, 4), (2, 3, 4, 4)], [(2, 3, 4, 4)] * 3, [(2, 3, 4, 4), (2, 3, 1, 1)],
     [(2, 5), (5,)]],
    ids=["two", "three", "broadcast-channel", "broadcast-bias"],
)
def test_add_backward_matches_finite_differences(shapes):
    rng = np.random.default_rng(9)
    check_coupled(Add(), [rng.standard_normal(s) for s in shapes], rng)


@pytest.mark.parametrize(
    ("dim", "shapes"),
    [(1, [(2, 3, 4, 4), (2, 1, 4, 4)]), (1, [(2, 2, 3, 3)] * 3), (-1, [(2, 2, 3), (2, 2, 4)]),
     (1, [(2, 4), (2, 3)])],
)
def test_concat_backward_matches_finite_differences(dim, shapes):
    rng = np.random.default_rng(10)
    check_coupled(Concat(dim), [rng.standard_normal(s) for s in shapes], rng)
