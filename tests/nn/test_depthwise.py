"""app.nn.depthwise: a depthwise convolution whose gradients go tap by tap (no im2col)
computes what the im2col path and the definition compute, in every geometry, and its
gradients match finite differences."""

from __future__ import annotations

import numpy as np
import pytest

from app.nn import Conv2d
from app.nn import functional as F
from app.nn.depthwise import depthwise_input_grad, depthwise_weight_grad
from tests.nn.gradcheck import check_layer
from tests.nn.reference import grouped_conv2d

GEOMETRIES = [  # kernel, stride, padding, dilation
    (3, 1, 1, 1), (3, 2, 1, 1), (2, 1, 0, 2), ((3, 2), (2, 1), (0, 1), (1, 2)), (1, 1, 0, 1),
    (5, 2, 3, 1),  # padding larger than the kernel's reach at the border
]


@pytest.fixture
def im2col_path():
    """Run a block with the tap-by-tap path switched off (the im2col + matmul path)."""

    class Switch:
        def __enter__(self):
            F.TAPWISE = False

        def __exit__(self, *exc):
            F.TAPWISE = True

    return Switch()


def both_paths(layer, x, dy, im2col_path):
    y, cache = layer.forward(x)
    dx, grads = layer.backward(dy, cache)
    with im2col_path:
        y0, cache0 = layer.forward(x)
        dx0, grads0 = layer.backward(dy, cache0)
    return (y, dx, grads["weight"]), (y0, dx0, grads0["weight"])


@pytest.mark.parametrize(("k", "s", "p", "d"), GEOMETRIES)
def test_depthwise_conv_equals_the_im2col_path_and_the_definition(k, s, p, d, im2col_path):
    rng = np.random.default_rng(0)
    layer = Conv2d(5, 5, k, stride=s, padding=p, dilation=d, groups=5, rng=rng, dtype=np.float64)
    x = rng.standard_normal((3, 5, 9, 8))
    dy = rng.standard_normal(layer.output_shape(x.shape))
    new, old = both_paths(layer, x, dy, im2col_path)
    for a, b in zip(new, old, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)
    params = layer.params
    expected = grouped_conv2d(x, params["weight"], params["bias"], layer.stride, layer.padding,
                              layer.dilation, 5)
    np.testing.assert_allclose(new[0], expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(("k", "s", "p", "d"), GEOMETRIES)
def test_depthwise_conv_gradients_match_finite_differences(k, s, p, d):
    rng = np.random.default_rng(1)
    layer = Conv2d(3, 3, k, stride=s, padding=p, dilation=d, groups=3, rng=rng, dtype=np.float64)
    check_layer(layer, rng.standard_normal((2, 3, 7, 6)), rng)


@pytest.mark.parametrize("multiplier", [1, 3])
def test_tapwise_gradients_with_a_channel_multiplier_equal_the_grouped_matmul(multiplier):
    # The layer routes only multiplier 1 here; the functions themselves support m outputs
    # per channel (output c*m + j reads input c), checked against the im2col functions.
    rng = np.random.default_rng(2)
    c, m, stride, dilation = 4, multiplier, (2, 1), (1, 2)
    xp = rng.standard_normal((3, c, 11, 10))
    weight = rng.standard_normal((c * m, 1, 3, 2))
    out = (5, 8)
    dy = rng.standard_normal((3, c * m, *out))
    F.TAPWISE = False
    try:
        dw0 = F.correlate_weight_grad(xp, dy, (3, 2), stride, dilation, groups=c)
        dx0 = F.correlate_input_grad(dy, weight, xp.shape[2:], stride, dilation, groups=c)
    finally:
        F.TAPWISE = True
    dw = depthwise_weight_grad(xp, dy, (3, 2), stride, dilation)
    dx = depthwise_input_grad(dy, weight, c, xp.shape[2:], stride, dilation)
    for a, b in ((dw, dw0), (dx, dx0)):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


def test_float32_depthwise_keeps_float32():
    layer = Conv2d(4, 4, 3, padding=1, groups=4, rng=0)
    x = np.random.default_rng(3).standard_normal((2, 4, 6, 6)).astype(np.float32)
    y, cache = layer.forward(x)
    dx, grads = layer.backward(y, cache)
    assert y.dtype == dx.dtype == grads["weight"].dtype == np.float32


def test_depthwise_gradients_take_the_tap_by_tap_path_and_the_forward_pass_im2col(monkeypatch):
    from app.nn import depthwise

    calls = []
    for name in ("depthwise_weight_grad", "depthwise_input_grad"):
        real = getattr(depthwise, name)
        monkeypatch.setattr(F, name, lambda *a, _real=real, _name=name: (calls.append(_name),
                                                                          _real(*a))[1])
    x = np.random.default_rng(5).standard_normal((2, 4, 9, 9))
    for stride, expected in ((1, ["depthwise_weight_grad"]), (2, ["depthwise_input_grad"])):
        calls.clear()
        layer = Conv2d(4, 4, 3, stride=stride, padding=1, groups=4, rng=0, dtype=np.float64)
        y, cache = layer.forward(x)
        assert calls == []
        layer.backward(y, cache)
        assert calls == expected
