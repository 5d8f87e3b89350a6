"""float32 and float64 both flow through every layer, forward and backward, unchanged."""

from __future__ import annotations

import numpy as np
import pytest

from app.nn import (
    AdaptiveAvgPool2d,
    AdaptiveMaxPool2d,
    AvgPool2d,
    BatchNorm2d,
    Conv2d,
    ConvTranspose2d,
    Dropout,
    Flatten,
    Identity,
    LeakyReLU,
    Linear,
    MaxPool2d,
    ReLU,
    ReLU6,
    Sequential,
    Sigmoid,
    Sign,
    Tanh,
    ZeroPad2d,
    softmax_cross_entropy,
)


def _layers(dtype):
    return [
        (Conv2d(2, 3, 3, stride=2, padding=1, dilation=1, rng=0, dtype=dtype), (2, 2, 7, 6)),
        (ConvTranspose2d(2, 3, 3, stride=2, padding=1, output_padding=1, rng=0, dtype=dtype),
         (2, 2, 4, 5)),
        (MaxPool2d(3, 2, 1, ceil_mode=True), (2, 2, 7, 6)),
        (AvgPool2d(3, 2, 1, ceil_mode=True, count_include_pad=False), (2, 2, 7, 6)),
        (ReLU(), (2, 2, 3, 3)),
        (Sigmoid(), (2, 5)),
        (Tanh(), (2, 5)),
        (Flatten(), (2, 2, 3, 3)),
        (Linear(5, 4, rng=0, dtype=dtype), (2, 5)),
    ]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("index", range(9))
def test_layer_preserves_dtype_through_forward_and_backward(dtype, index):
    layer, shape = _layers(dtype)[index]
    rng = np.random.default_rng(index)
    x = rng.standard_normal(shape).astype(dtype)
    y, cache = layer.forward(x)
    assert y.dtype == dtype, layer
    dx, grads = layer.backward(rng.standard_normal(y.shape).astype(dtype), cache)
    assert dx.dtype == dtype and dx.shape == x.shape, layer
    for key, grad in grads.items():
        assert grad.dtype == dtype and grad.shape == layer.params[key].shape, (layer, key)


def test_float32_and_float64_layers_agree_to_float32_precision():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 2, 7, 6))
    for layer64, _ in _layers(np.float64)[:4]:
        layer32 = layer64.astype(np.float32)
        y64, cache64 = layer64.forward(x)
        y32, cache32 = layer32.forward(x.astype(np.float32))
        dy = rng.standard_normal(y64.shape)
        dx64, _ = layer64.backward(dy, cache64)
        dx32, _ = layer32.backward(dy.astype(np.float32), cache32)
        np.testing.assert_allclose(y32, y64, rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(dx32, dx64, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sequential_trace_keeps_the_dtype(dtype):
    net = Sequential(
        [Conv2d(1, 2, 3, rng=0), ReLU(), MaxPool2d(2), Flatten(), Linear(2 * 3 * 3, 4, rng=1)]
    ).astype(dtype)
    trace = net.trace(np.random.default_rng(0).standard_normal((2, 1, 8, 8)).astype(dtype), [1, 3])
    assert trace.input_grad.dtype == dtype and trace.logits.dtype == dtype
    for layer in trace.layers:
        assert layer.output.dtype == dtype and layer.grad_output.dtype == dtype, layer.name
        assert all(g.dtype == dtype for g in layer.grads.values()), layer.name


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_softmax_cross_entropy_keeps_the_dtype(dtype):
    logits = np.random.default_rng(0).standard_normal((3, 5)).astype(dtype)
    _, dlogits, probs = softmax_cross_entropy(logits, np.array([0, 4, 2]))
    assert dlogits.dtype == dtype and probs.dtype == dtype


def _graph_layers(dtype):
    return [
        (Conv2d(4, 6, 3, padding=1, groups=2, rng=0, dtype=dtype), (2, 4, 5, 5)),
        (Conv2d(4, 4, 3, stride=2, groups=4, rng=0, dtype=dtype), (2, 4, 7, 6)),
        (ConvTranspose2d(4, 6, 3, stride=2, groups=2, rng=0, dtype=dtype), (2, 4, 3, 3)),
        (BatchNorm2d(3, dtype=dtype), (2, 3, 4, 4)),
        (BatchNorm2d(3, dtype=dtype).train(), (2, 3, 4, 4)),
        (AdaptiveAvgPool2d((2, 3)), (2, 3, 5, 7)),
        (AdaptiveMaxPool2d((2, 3)), (2, 3, 5, 7)),
        (ZeroPad2d((1, 0, 2, 1)), (2, 3, 4, 4)),
        (LeakyReLU(), (2, 5)),
        (ReLU6(), (2, 5)),
        (Sign(), (2, 5)),
        (Identity(), (2, 5)),
        (Dropout(0.5, rng=0).train(), (2, 3, 4, 4)),
    ]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("index", range(13))
def test_graph_era_layer_preserves_dtype_through_forward_and_backward(dtype, index):
    layer, shape = _graph_layers(dtype)[index]
    rng = np.random.default_rng(index)
    x = rng.standard_normal(shape).astype(dtype)
    y, cache = layer.forward(x)
    assert y.dtype == dtype, layer
    dx, grads = layer.backward(rng.standard_normal(y.shape).astype(dtype), cache)
    assert dx.dtype == dtype and dx.shape == x.shape, layer
    for key, grad in grads.items():
        assert grad.dtype == dtype and grad.shape == layer.params[key].shape, (layer, key)
    for key, buffer in layer.buffers.items():
        assert buffer.dtype == dtype, (layer, key)
