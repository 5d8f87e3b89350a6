"""The graph-era layers' forward passes against the brute-force loop references of
tests/nn/reference.py, and hand-worked cases (PyTorch's semantics, worked out by hand)."""

from __future__ import annotations

import numpy as np
import pytest

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
from tests.nn import reference
from tests.nn.gradcheck import distinct_values

F64 = np.float64


@pytest.mark.parametrize(("c_in", "c_out", "groups"), [(4, 6, 2), (4, 4, 4), (3, 6, 3), (6, 2, 2)])
@pytest.mark.parametrize(("k", "s", "p", "d"), [(3, 1, 1, 1), ((2, 3), (2, 1), (1, 0), (1, 2))])
def test_grouped_conv2d_forward_matches_loop_reference(c_in, c_out, groups, k, s, p, d):
    rng = np.random.default_rng(1)
    layer = Conv2d(c_in, c_out, k, stride=s, padding=p, dilation=d, groups=groups, rng=rng,
                   dtype=F64)
    assert layer.params["weight"].shape[:2] == (c_out, c_in // groups)
    x = rng.standard_normal((2, c_in, 6, 7))
    y, _ = layer.forward(x)
    expected = reference.grouped_conv2d(
        x, layer.params["weight"], layer.params["bias"], layer.stride, layer.padding,
        layer.dilation, groups,
    )
    np.testing.assert_allclose(y, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(("c_in", "c_out", "groups"), [(4, 6, 2), (4, 4, 4), (3, 6, 3), (6, 2, 2)])
def test_grouped_conv_transpose2d_forward_matches_loop_reference(c_in, c_out, groups):
    rng = np.random.default_rng(2)
    layer = ConvTranspose2d(c_in, c_out, 3, stride=2, padding=1, output_padding=1,
                            groups=groups, rng=rng, dtype=F64)
    assert layer.params["weight"].shape[:2] == (c_in, c_out // groups)
    x = rng.standard_normal((2, c_in, 3, 4))
    y, _ = layer.forward(x)
    expected = reference.grouped_conv_transpose2d(
        x, layer.params["weight"], layer.params["bias"], (2, 2), (1, 1), (1, 1), (1, 1), groups
    )
    np.testing.assert_allclose(y, expected, rtol=1e-12, atol=1e-12)


def test_depthwise_conv_keeps_each_channel_to_itself():
    """Hand-worked: groups = C_in with a 1x1 kernel scales each channel by its own weight."""
    layer = Conv2d(3, 3, 1, groups=3, bias=False, dtype=F64)
    layer.params["weight"] = np.array([2.0, -1.0, 0.5]).reshape(3, 1, 1, 1)
    x = np.arange(12, dtype=F64).reshape(1, 3, 2, 2)
    y, _ = layer.forward(x)
    np.testing.assert_allclose(y, x * np.array([2.0, -1.0, 0.5]).reshape(1, 3, 1, 1), rtol=1e-15)


@pytest.mark.parametrize(
    ("hw", "out"), [((5, 7), (3, 2)), ((7, 5), (4, 3)), ((3, 4), (5, 6)), ((6, 6), (1, 1))]
)
def test_adaptive_pools_forward_match_loop_reference(hw, out):
    rng = np.random.default_rng(3)
    x = distinct_values((2, 3, *hw), rng)
    y, _ = AdaptiveAvgPool2d(out).forward(x)
    np.testing.assert_allclose(y, reference.adaptive_pool2d(x, out, "avg")[0], rtol=1e-12,
                               atol=1e-12)
    y, (indices, _) = AdaptiveMaxPool2d(out).forward(x)
    ref_y, ref_indices = reference.adaptive_pool2d(x, out, "max")
    np.testing.assert_array_equal(y, ref_y)
    np.testing.assert_array_equal(indices, ref_indices)


def test_adaptive_avg_pool_uses_torchs_overlapping_windows():
    """Hand-worked: 5 -> 3 takes windows [0, 2), [1, 4), [3, 5) (floor(i*5/3), ceil((i+1)*5/3))."""
    x = np.array([1.0, 2.0, 3.0, 4.0, 5.0]).reshape(1, 1, 1, 5)
    y, _ = AdaptiveAvgPool2d((1, 3)).forward(x)
    np.testing.assert_allclose(y.ravel(), [1.5, 3.0, 4.5], rtol=1e-15)
    y, (indices, _) = AdaptiveMaxPool2d((1, 3)).forward(x)
    np.testing.assert_array_equal(y.ravel(), [2.0, 4.0, 5.0])
    np.testing.assert_array_equal(indices.ravel(), [1, 3, 4])


def test_adaptive_max_pool_ties_go_to_the_first_maximum_and_gradients_accumulate():
    x = np.array([[3.0, 3.0, 1.0]]).reshape(1, 1, 1, 3)
    layer = AdaptiveMaxPool2d((1, 2))  # windows [0, 2) and [1, 3)
    y, cache = layer.forward(x)
    np.testing.assert_array_equal(cache[0].ravel(), [0, 1])
    dx, _ = layer.backward(np.array([[[[1.0, 10.0]]]]), cache)
    np.testing.assert_array_equal(dx.ravel(), [1.0, 10.0, 0.0])


def test_global_average_pooling_spreads_the_gradient_evenly():
    x = np.arange(8, dtype=F64).reshape(1, 2, 2, 2)
    layer = AdaptiveAvgPool2d(1)
    y, cache = layer.forward(x)
    np.testing.assert_allclose(y.ravel(), [1.5, 5.5])
    dx, _ = layer.backward(np.array([4.0, 8.0]).reshape(1, 2, 1, 1), cache)
    np.testing.assert_allclose(dx, np.array([1.0] * 4 + [2.0] * 4).reshape(1, 2, 2, 2))


@pytest.mark.parametrize("padding", [(1, 0, 0, 1), (0, 2, 1, 0), (2, 1, 3, 0), 1])
def test_zero_pad2d_forward_matches_loop_reference_in_torchs_order(padding):
    x = np.random.default_rng(4).standard_normal((2, 2, 3, 4))
    layer = ZeroPad2d(padding)
    y, _ = layer.forward(x)
    pads = (padding,) * 4 if isinstance(padding, int) else padding
    np.testing.assert_array_equal(y, reference.zero_pad2d(x, *pads))
    assert y.shape == layer.output_shape(x.shape)


def test_zero_pad2d_left_pads_the_width_and_top_pads_the_height():
    y, _ = ZeroPad2d((1, 0, 0, 0)).forward(np.ones((1, 1, 1, 1)))
    np.testing.assert_array_equal(y, [[[[0.0, 1.0]]]])
    y, _ = ZeroPad2d((0, 0, 1, 0)).forward(np.ones((1, 1, 1, 1)))
    np.testing.assert_array_equal(y, [[[[0.0], [1.0]]]])


def test_batchnorm2d_inference_uses_the_running_statistics():
    rng = np.random.default_rng(5)
    layer = BatchNorm2d(3, eps=1e-3, dtype=F64)
    layer.params["weight"], layer.params["bias"] = rng.standard_normal(3), rng.standard_normal(3)
    layer.buffers["running_mean"] = rng.standard_normal(3)
    layer.buffers["running_var"] = rng.uniform(0.5, 2, 3)
    x = rng.standard_normal((2, 3, 4, 4))
    before = {k: v.copy() for k, v in layer.buffers.items()}
    y, _ = layer.forward(x)
    expected = reference.batch_norm2d(
        x, layer.params["weight"], layer.params["bias"], layer.buffers["running_mean"],
        layer.buffers["running_var"], 1e-3,
    )
    np.testing.assert_allclose(y, expected, rtol=1e-12, atol=1e-12)
    for key, value in before.items():  # inference never touches the buffers
        np.testing.assert_array_equal(layer.buffers[key], value)


def test_batchnorm2d_training_normalises_by_the_batch_and_updates_running_stats_as_torch():
    """Hand-worked for one channel holding 1, 2, 3, 6: mean 3, biased var 3.5 (normalising),
    unbiased var 14/3 (the running update), momentum 0.1 from (0, 1)."""
    layer = BatchNorm2d(1, eps=0.0 + 1e-5, dtype=F64).train()
    x = np.array([1.0, 2.0, 3.0, 6.0]).reshape(2, 1, 1, 2)
    y, _ = layer.forward(x)
    np.testing.assert_allclose(y.ravel(), (x.ravel() - 3) / np.sqrt(3.5 + 1e-5), rtol=1e-12)
    np.testing.assert_allclose(layer.buffers["running_mean"], [0.3], rtol=1e-12)
    np.testing.assert_allclose(layer.buffers["running_var"], [0.9 + 0.1 * 14 / 3], rtol=1e-12)
    layer.eval()
    layer.forward(x)
    np.testing.assert_allclose(layer.buffers["running_mean"], [0.3], rtol=1e-12)


def test_batchnorm2d_training_refuses_one_value_per_channel_as_torch():
    with pytest.raises(ValueError, match="more than one value per channel"):
        BatchNorm2d(2).train().forward(np.ones((1, 2, 1, 1), np.float32))


def test_batchnorm2d_layout_and_defaults_are_torchs():
    layer = BatchNorm2d(4)
    assert layer.config() == {"num_features": 4, "eps": 1e-5, "momentum": 0.1, "affine": True}
    assert layer.training is False
    np.testing.assert_array_equal(layer.params["weight"], np.ones(4))
    np.testing.assert_array_equal(layer.params["bias"], np.zeros(4))
    np.testing.assert_array_equal(layer.buffers["running_mean"], np.zeros(4))
    np.testing.assert_array_equal(layer.buffers["running_var"], np.ones(4))
    assert BatchNorm2d(4, affine=False).params == {}


def test_activations_follow_torch_at_their_kinks():
    x = np.array([[-2.0, 0.0, 3.0, 6.0, 7.0]])
    y, cache = LeakyReLU(0.1).forward(x)
    np.testing.assert_allclose(y, [[-0.2, 0.0, 3.0, 6.0, 7.0]])
    np.testing.assert_allclose(LeakyReLU(0.1).backward(np.ones_like(x), cache)[0],
                               [[0.1, 0.1, 1, 1, 1]])
    y, cache = ReLU6().forward(x)
    np.testing.assert_array_equal(y, [[0.0, 0.0, 3.0, 6.0, 6.0]])
    np.testing.assert_array_equal(ReLU6().backward(np.ones_like(x), cache)[0], [[0, 0, 1, 0, 0]])
    y, cache = Sign().forward(x)
    np.testing.assert_array_equal(y, [[-1.0, 0.0, 1.0, 1.0, 1.0]])
    np.testing.assert_array_equal(Sign().backward(np.ones_like(x), cache)[0], np.zeros_like(x))
    assert Identity().forward(x)[0] is x


def test_dropout_is_the_identity_at_inference_and_scales_survivors_in_training():
    x = np.ones((4, 1000))
    layer = Dropout(0.25, rng=0)
    np.testing.assert_array_equal(layer.forward(x)[0], x)
    y, mask = layer.train().forward(x)
    assert set(np.unique(y)) <= {0.0, 1 / 0.75}
    assert abs((y == 0).mean() - 0.25) < 0.02
    again, _ = Dropout(0.25, rng=0).train().forward(x)  # seeded: the same mask
    np.testing.assert_array_equal(y, again)
    dx, _ = layer.backward(np.full_like(x, 3.0), mask)
    np.testing.assert_array_equal(dx, 3.0 * y)
    np.testing.assert_array_equal(Dropout(1.0).train().forward(x)[0], np.zeros_like(x))


def test_add_and_concat_by_hand():
    a, b = np.ones((1, 2, 2, 2)), np.full((1, 1, 2, 2), 5.0)
    y, cache = Concat().forward(a, b)
    assert y.shape == (1, 3, 2, 2) and (y[:, 2] == 5).all()
    dxs, grads = Concat().backward(np.arange(12.0).reshape(1, 3, 2, 2), cache)
    np.testing.assert_array_equal(dxs[1].ravel(), [8, 9, 10, 11])
    assert dxs[0].shape == a.shape and grads == {}
    y, cache = Add().forward(a, a * 2)
    np.testing.assert_array_equal(y, a * 3)
    dxs, _ = Add().backward(a * 7, cache)
    assert len(dxs) == 2 and all((d == 7).all() for d in dxs)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: Conv2d(4, 6, 3, groups=4), "divisible by groups"),
        (lambda: Conv2d(4, 4, 3, groups=0), "groups must be a positive int"),
        (lambda: ConvTranspose2d(3, 4, 3, groups=2), "divisible by groups"),
        (lambda: ZeroPad2d((1, 2, 3)), "left, right, top, bottom"),
        (lambda: ZeroPad2d(-1), "padding must be >= 0"),
        (lambda: AdaptiveAvgPool2d(0), "output_size must be >= 1"),
        (lambda: BatchNorm2d(0), "num_features must be a positive int"),
        (lambda: BatchNorm2d(2, momentum=2), "momentum"),
        (lambda: Dropout(1.5), "dropout probability"),
        (lambda: LeakyReLU("x"), "negative_slope"),
        (lambda: Concat(dim=1.5), "dim must be an int"),
    ],
)
def test_new_layers_reject_bad_arguments_by_name(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_multi_input_layers_name_mismatched_shapes():
    with pytest.raises(ValueError, match="do not broadcast"):
        Add().forward(np.ones((1, 2, 3, 3)), np.ones((1, 3, 3, 3)))
    with pytest.raises(ValueError, match="differ on another axis"):
        Concat().forward(np.ones((1, 2, 3, 3)), np.ones((1, 2, 4, 3)))
