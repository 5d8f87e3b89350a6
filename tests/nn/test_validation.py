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
