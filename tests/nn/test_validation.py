"""Bad hyper-parameters and bad inputs raise ValueError (TypeError for a wrong type) with a
message naming the problem, at construction or at forward time, never a crash later."""

from __future__ import annotations

import numpy as np
import pytest

from app.nn import AvgPool2d, Conv2d, ConvTranspose2d, Linear, MaxPool2d


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: Conv2d(1, 1, 0), "kernel_size must be >= 1"),
        (lambda: Conv2d(1, 1, (3, 0)), "kernel_size must be >= 1"),
        (lambda: Conv2d(1, 1, 3, stride=0), "stride must be >= 1"),
        (lambda: Conv2d(1, 1, 3, dilation=0), "dilation must be >= 1"),
        (lambda: Conv2d(1, 1, 3, padding=-1), "padding must be >= 0"),
        (lambda: Conv2d(1, 1, 3, padding=(0, -2)), "padding must be >= 0"),
        (lambda: Conv2d(0, 1, 3), "in_channels must be a positive int"),
        (lambda: Conv2d(1, -2, 3), "out_channels must be a positive int"),
        (lambda: ConvTranspose2d(1, 0, 3), "out_channels must be a positive int"),
        (lambda: ConvTranspose2d(1, 1, 0), "kernel_size must be >= 1"),
        (lambda: ConvTranspose2d(1, 1, 3, padding=-1), "padding must be >= 0"),
        (lambda: ConvTranspose2d(1, 1, 3, stride=2, output_padding=2), "output_padding"),
        (lambda: ConvTranspose2d(1, 1, 3, stride=1, output_padding=1), "output_padding"),
        (lambda: ConvTranspose2d(1, 1, 3, stride=2, dilation=3, output_padding=3),
         "output_padding"),
        (lambda: ConvTranspose2d(1, 1, 3, output_padding=-1), "output_padding"),
        (lambda: MaxPool2d(0), "kernel_size must be >= 1"),
        (lambda: MaxPool2d(2, stride=0), "stride must be >= 1"),
        (lambda: MaxPool2d(2, padding=2), "at most half of kernel_size"),
        (lambda: MaxPool2d(3, padding=2), "at most half of kernel_size"),
        (lambda: AvgPool2d((4, 2), padding=(2, 2)), "at most half of kernel_size"),
        (lambda: AvgPool2d(2, padding=-1), "padding must be >= 0"),
        (lambda: Linear(0, 3), "in_features must be a positive int"),
        (lambda: Linear(3, 0), "out_features must be a positive int"),
    ],
)
def test_bad_hyper_parameters_raise_value_error_naming_them(build, message):
    with pytest.raises(ValueError, match=message):
        build()


@pytest.mark.parametrize("kernel", [2.5, (3,), (1, 2, 3), "3", True, None])
def test_kernel_size_of_the_wrong_type_raises_type_error(kernel):
    with pytest.raises(TypeError, match="kernel_size must be an int or a pair of ints"):
        Conv2d(1, 1, kernel)


def test_legal_edge_hyper_parameters_are_accepted():
    """PyTorch allows output_padding below stride *or* dilation, and pool padding = k/2."""
    ConvTranspose2d(1, 1, 3, stride=1, dilation=2, output_padding=1)
    ConvTranspose2d(1, 1, 3, stride=(3, 1), output_padding=(2, 0))
    MaxPool2d(2, padding=1)
    AvgPool2d((5, 3), padding=(2, 1))


@pytest.mark.parametrize(
    ("layer", "shape", "message"),
    [
        (Conv2d(3, 2, 3), (1, 2, 8, 8), "expects 3 input channels"),
        (ConvTranspose2d(3, 2, 3), (1, 4, 8, 8), "expects 3 input channels"),
        (Conv2d(3, 2, 3), (3, 8, 8), "expects a 4-D input"),
        (MaxPool2d(2), (1, 8, 8), "expects a 4-D input"),
        (AvgPool2d(2), (1, 1, 1, 8, 8), "expects a 4-D input"),
        (Linear(4, 2), (1, 5), "expects 4 features"),
        (Linear(4, 2), (1, 2, 2), "expects a 2-D input"),
        (Conv2d(1, 1, 5), (1, 1, 4, 9), "too small"),
        (Conv2d(1, 1, 3, dilation=3), (1, 1, 6, 6), "too small"),
        (MaxPool2d(3), (1, 1, 2, 5), "too small"),
        (AvgPool2d((2, 4)), (1, 1, 5, 3), "too small"),
        (ConvTranspose2d(1, 1, 1, padding=1), (1, 1, 2, 2), "leaves no output"),
    ],
)
def test_bad_inputs_raise_value_error_naming_the_problem(layer, shape, message):
    with pytest.raises(ValueError, match=message):
        layer.forward(np.zeros(shape, dtype=np.float32))
    if len(shape) == 4 and message in ("too small", "leaves no output"):
        with pytest.raises(ValueError, match=message):
            layer.output_shape(shape)


def test_too_small_message_states_the_geometry():
    with pytest.raises(ValueError) as info:
        Conv2d(1, 1, (5, 3), stride=2, padding=1).forward(np.zeros((1, 1, 2, 9)))
    text = str(info.value)
    assert "2x9" in text and "(5, 3)" in text and "(2, 2)" in text and "(1, 1)" in text


def test_hyper_parameters_are_pytorch_named_attributes_normalised_to_pairs():
    conv = Conv2d(2, 3, [3, 1], stride=np.int64(2), padding=(1, 0), dilation=2, bias=False)
    assert (conv.in_channels, conv.out_channels) == (2, 3)
    assert conv.kernel_size == (3, 1) and conv.stride == (2, 2)
    assert conv.padding == (1, 0) and conv.dilation == (2, 2)
    assert conv.params.keys() == {"weight"} and conv.params["weight"].shape == (3, 2, 3, 1)
    transpose = ConvTranspose2d(2, 3, 2, stride=(2, 3), output_padding=(1, 2))
    assert transpose.output_padding == (1, 2)
    assert transpose.params["weight"].shape == (2, 3, 2, 2)
    assert transpose.params["bias"].shape == (3,)
    pool = MaxPool2d(3, padding=1, ceil_mode=True)
    assert pool.stride == (3, 3) and pool.padding == (1, 1) and pool.ceil_mode is True
    avg = AvgPool2d((2, 4), stride=1, count_include_pad=False)
    assert avg.kernel_size == (2, 4) and avg.stride == (1, 1) and avg.count_include_pad is False
    linear = Linear(5, 2)
    assert (linear.in_features, linear.out_features) == (5, 2)
    assert linear.params["weight"].shape == (2, 5) and linear.params["bias"].shape == (2,)


def test_default_initialisation_is_pytorchs_uniform_bound():
    """U(-1/sqrt(fan_in), 1/sqrt(fan_in)); ConvTranspose2d's fan_in uses C_out * kH * kW."""
    for layer, fan_in in [
        (Conv2d(4, 8, 3, rng=0), 4 * 9),
        (ConvTranspose2d(4, 8, 3, rng=0), 8 * 9),
        (Linear(50, 20, rng=0), 50),
    ]:
        bound = 1 / np.sqrt(fan_in)
        for value in layer.params.values():
            assert np.abs(value).max() <= bound
        assert np.abs(layer.params["weight"]).max() > 0.8 * bound  # spread over the range
    a, b = Conv2d(1, 2, 3, rng=5), Conv2d(1, 2, 3, rng=5)
    np.testing.assert_array_equal(a.params["weight"], b.params["weight"])
