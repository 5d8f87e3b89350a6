"""Large batches: the result of a batch is the results of its items, whatever chunking the
layers use internally to keep their scratch memory small.

Each item's im2col here is about 0.5 MB in float64, so a batch of 9 spans several chunks of
any cache-sized budget, with an uneven last chunk."""

from __future__ import annotations

import numpy as np
import pytest

from app.nn import AvgPool2d, Conv2d, ConvTranspose2d, MaxPool2d

F64 = np.float64
BATCH = 9


@pytest.mark.parametrize(
    ("layer", "item_shape"),
    [
        (Conv2d(3, 4, 5, padding=2, rng=0, dtype=F64), (3, 28, 28)),
        (Conv2d(3, 4, 5, stride=2, padding=1, dilation=2, rng=0, dtype=F64), (3, 40, 36)),
        (Conv2d(3, 4, 5, padding=2, rng=0, dtype=np.float32), (3, 28, 28)),
        (ConvTranspose2d(4, 3, 5, stride=2, padding=2, output_padding=1, rng=0, dtype=F64),
         (4, 14, 14)),
        (MaxPool2d(3, 2, 1, ceil_mode=True), (3, 28, 28)),
        (AvgPool2d(3, 2, 1, ceil_mode=True), (3, 28, 28)),
    ],
    ids=["conv", "conv-strided-dilated", "conv-float32", "deconv", "maxpool", "avgpool"],
)
def test_a_large_batch_gives_each_items_own_forward_and_backward(layer, item_shape):
    rng = np.random.default_rng(0)
    dtype = layer.params["weight"].dtype if layer.params else F64
    x = rng.standard_normal((BATCH, *item_shape)).astype(dtype)
    y, cache = layer.forward(x)
    dy = rng.standard_normal(y.shape).astype(dtype)
    dx, grads = layer.backward(dy, cache)
    tol = {"rtol": 1e-4, "atol": 1e-4} if dtype == np.float32 else {"rtol": 1e-11, "atol": 1e-11}
    summed = {key: np.zeros_like(g, dtype=F64) for key, g in grads.items()}
    for i in range(BATCH):
        yi, cache_i = layer.forward(x[i : i + 1])
        dxi, grads_i = layer.backward(dy[i : i + 1], cache_i)
        np.testing.assert_allclose(y[i : i + 1], yi, **tol, err_msg=f"item {i} forward")
        np.testing.assert_allclose(dx[i : i + 1], dxi, **tol, err_msg=f"item {i} backward")
        for key, g in grads_i.items():
            summed[key] += g
    for key, g in grads.items():
        np.testing.assert_allclose(g, summed[key], **tol, err_msg=f"d/d{key}")
