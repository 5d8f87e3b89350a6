"""The core's first implementation (commit 20b5ab4), kept callable for same-run A/B
comparisons: the machine is shared, so before/after figures are only comparable when
they are measured side by side.

Conv2d: one tensordot over the strided window view (NumPy copies the view into its own
transposed layout), a transpose copy back to NCHW, and a tap-by-tap scatter for the input
gradient. MaxPool2d: argmax over a reshaped window copy, bincount for the backward pass.
"""

from __future__ import annotations

import numpy as np

from app.nn import Conv2d, MaxPool2d, Sequential
from app.nn.functional import pad2d, scatter_windows, windows


class BaselineConv2d(Conv2d):
    def forward(self, x):
        self._check_input(x, 4, self.in_channels)
        out_hw = self._out_hw(*x.shape[2:])
        ph, pw = self.padding
        xp = pad2d(x, (ph, ph, pw, pw))
        cols = windows(xp, self.kernel_size, self.stride, self.dilation, out_hw)
        y = np.tensordot(cols, self.params["weight"], axes=([1, 4, 5], [1, 2, 3]))
        y = y.transpose(0, 3, 1, 2)
        if "bias" in self.params:
            y = y + self.params["bias"][:, None, None]
        return np.ascontiguousarray(y), (cols, xp.shape)

    def backward(self, dy, cache):
        cols, padded_shape = cache
        weight = self.params["weight"]
        grads = {"weight": np.tensordot(dy, cols, axes=([0, 2, 3], [0, 2, 3]))}
        if "bias" in self.params:
            grads["bias"] = dy.sum(axis=(0, 2, 3))
        dcols = np.tensordot(dy, weight, axes=([1], [0])).transpose(0, 3, 1, 2, 4, 5)
        dxp = scatter_windows(dcols, padded_shape[2:], self.stride, self.dilation)
        ph, pw = self.padding
        dx = dxp[:, :, ph : padded_shape[2] - ph, pw : padded_shape[3] - pw]
        return np.ascontiguousarray(dx), grads


class BaselineMaxPool2d(MaxPool2d):
    def forward(self, x):
        self._check_input(x, 4)
        n, c, h, w = x.shape
        xp, (oh, ow) = self._padded(x, -np.inf)
        kh, kw = self.kernel_size
        cols = windows(xp, self.kernel_size, self.stride, self.dilation, (oh, ow))
        flat = cols.reshape(n, c, oh, ow, kh * kw)
        arg = flat.argmax(axis=-1)
        y = np.take_along_axis(flat, arg[..., None], axis=-1)[..., 0]
        (sh, sw), (ph, pw) = self.stride, self.padding
        rows = np.arange(oh)[:, None] * sh - ph + arg // kw
        cols_ = np.arange(ow)[None, :] * sw - pw + arg % kw
        return y, (rows * w + cols_, x.shape)

    def backward(self, dy, cache):
        indices, (n, c, h, w) = cache[:2]
        plane = h * w
        offsets = (np.arange(n * c) * plane).reshape(n, c, 1, 1)
        dx = np.bincount(
            (indices + offsets).ravel(), weights=dy.ravel(), minlength=n * c * plane
        )
        return dx.reshape(n, c, h, w).astype(dy.dtype, copy=False), {}


_BASELINE = {Conv2d: BaselineConv2d, MaxPool2d: BaselineMaxPool2d}


def baseline_network(network: Sequential) -> Sequential:
    """The same network (sharing its parameter arrays) with the first implementation's
    Conv2d and MaxPool2d."""
    layers = []
    for name, layer in network:
        cls = _BASELINE.get(type(layer))
        if cls is not None:
            clone = object.__new__(cls)
            clone.__dict__.update(layer.__dict__)
            layer = clone
        layers.append((name, layer))
    return Sequential(layers)
