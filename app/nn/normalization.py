"""Layers whose behaviour depends on the mode (`layer.training`): BatchNorm2d and Dropout.

Both default to inference (training = False), which keeps them stateless and safe for
concurrent requests; only training mode updates buffers (BatchNorm) or draws masks (Dropout).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from app.nn.base import Layer, _positive_sizes, _rng


class BatchNorm2d(Layer):
    """Batch normalisation over (N, H, W) per channel, like torch.nn.BatchNorm2d.

    x (N, C, H, W) -> y = (x - mean) / sqrt(var + eps) * weight + bias, per channel.
    params["weight"] (C,) (gamma, init 1) and ["bias"] (C,) (beta, init 0) when affine;
    buffers["running_mean"] (C,) (init 0) and ["running_var"] (C,) (init 1).

    - inference (training False, the default): mean and var are the running statistics;
      y is an affine map of x, dx = dy * weight / sqrt(running_var + eps).
    - training: mean and var are the batch's (var biased, divided by N*H*W); the running
      statistics move by `momentum` towards the batch mean and the unbiased batch variance
      (divided by N*H*W - 1), as torch does; backward goes through mean and var too:
      dx = (g - mean(g) - x_hat * mean(g * x_hat)) / sqrt(var + eps), g = dy * weight.
    """

    kind = "batchnorm2d"

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float = 0.1,
                 affine: bool = True, dtype=np.float32):
        super().__init__()
        (self.num_features,) = _positive_sizes(num_features=num_features)
        if not (isinstance(eps, (int, float)) and not isinstance(eps, bool) and eps > 0):
            raise ValueError(f"eps must be a positive number, got {eps!r}")
        if not (isinstance(momentum, (int, float)) and not isinstance(momentum, bool)
                and 0 <= momentum <= 1):
            raise ValueError(f"momentum must be a number in [0, 1], got {momentum!r}")
        self.eps, self.momentum, self.affine = float(eps), float(momentum), bool(affine)
        c = self.num_features
        if self.affine:
            self.params["weight"] = np.ones(c, dtype)
            self.params["bias"] = np.zeros(c, dtype)
        self.buffers["running_mean"] = np.zeros(c, dtype)
        self.buffers["running_var"] = np.ones(c, dtype)

    def config(self) -> dict[str, Any]:
        return {
            "num_features": self.num_features, "eps": self.eps, "momentum": self.momentum,
            "affine": self.affine,
        }

    def _per_channel(self, values: np.ndarray) -> np.ndarray:
        return values[:, None, None]

    def forward(self, x):
        self._check_input(x, 4, self.num_features)
        if self.training:
            count = x.shape[0] * x.shape[2] * x.shape[3]
            if count < 2:
                raise ValueError(
                    f"batchnorm2d in training mode needs more than one value per channel, "
                    f"got shape {x.shape}"
                )
            mean = x.mean(axis=(0, 2, 3))
            var = x.var(axis=(0, 2, 3))
            m = self.momentum
            # New arrays, never updated in place: a reader never sees half an update.
            self.buffers["running_mean"] = (
                (1 - m) * self.buffers["running_mean"] + m * mean
            ).astype(self.buffers["running_mean"].dtype)
            self.buffers["running_var"] = (
                (1 - m) * self.buffers["running_var"] + m * var * (count / (count - 1))
            ).astype(self.buffers["running_var"].dtype)
        else:
            mean, var = self.buffers["running_mean"], self.buffers["running_var"]
        inv_std = (1 / np.sqrt(var + self.eps)).astype(x.dtype, copy=False)
        x_hat = (x - self._per_channel(mean.astype(x.dtype, copy=False))) * self._per_channel(
            inv_std
        )
        y = x_hat
        if self.affine:
            y = x_hat * self._per_channel(self.params["weight"]) + self._per_channel(
                self.params["bias"]
            )
        return y.astype(x.dtype, copy=False), (x_hat, inv_std, self.training)

    def backward(self, dy, cache):
        x_hat, inv_std, training = cache
        grads = {}
        g = dy
        if self.affine:
            grads["weight"] = (dy * x_hat).sum(axis=(0, 2, 3))
            grads["bias"] = dy.sum(axis=(0, 2, 3))
            g = dy * self._per_channel(self.params["weight"])
        if training:
            g = (
                g - g.mean(axis=(0, 2, 3), keepdims=True)
                - x_hat * (g * x_hat).mean(axis=(0, 2, 3), keepdims=True)
            )
        return (g * self._per_channel(inv_std)).astype(dy.dtype, copy=False), grads


class Dropout(Layer):
    """Dropout, like torch.nn.Dropout(p): the identity at inference (the default mode);
    in training, each element is zeroed with probability p and the survivors are scaled
    by 1 / (1 - p), so the expected output equals the input. The mask comes from the
    layer's own generator, seeded by `rng`, so a seeded run is reproducible.
    Backward multiplies dy by the same mask and scale.
    """

    kind = "dropout"

    def __init__(self, p: float = 0.5, rng=None):
        super().__init__()
        if not (isinstance(p, (int, float)) and not isinstance(p, bool) and 0 <= p <= 1):
            raise ValueError(f"dropout probability p must be a number in [0, 1], got {p!r}")
        self.p = float(p)
        rng = _rng(rng)
        # Its own stream, derived from rng, so masks never shift other layers' draws.
        self.generator = np.random.default_rng(rng.integers(2**63))

    def config(self) -> dict[str, Any]:
        return {"p": self.p}

    def forward(self, x):
        if not self.training or self.p == 0:
            return x, None
        if self.p == 1:
            scale = np.zeros(x.shape, x.dtype)
        else:
            keep = self.generator.random(x.shape) >= self.p
            scale = (keep / (1 - self.p)).astype(x.dtype)
        return x * scale, scale

    def backward(self, dy, cache):
        return (dy if cache is None else dy * cache), {}


class ChannelAffine(Layer):
    """y = x * scale[c] + shift[c] along axis 1 (the channels of (N, C, H, W), the features
    of (N, F)): input normalisation written into a graph, (x - mean) / std, as a node.
    buffers["scale"] (C,) (init 1) and ["shift"] (C,) (init 0) are constants, not trained;
    dx = dy * scale[c].
    """

    kind = "channelaffine"

    def __init__(self, num_features: int, dtype=np.float32):
        super().__init__()
        (self.num_features,) = _positive_sizes(num_features=num_features)
        self.buffers["scale"] = np.ones(self.num_features, dtype)
        self.buffers["shift"] = np.zeros(self.num_features, dtype)

    def config(self) -> dict[str, Any]:
        return {"num_features": self.num_features}

    def _per_channel(self, values: np.ndarray, x: np.ndarray) -> np.ndarray:
        return values.astype(x.dtype, copy=False).reshape(-1, *[1] * (x.ndim - 2))

    def forward(self, x):
        if x.ndim < 2 or x.shape[1] != self.num_features:
            raise ValueError(
                f"channelaffine expects (N, {self.num_features}, ...), got shape {x.shape}"
            )
        scale = self._per_channel(self.buffers["scale"], x)
        y = x * scale + self._per_channel(self.buffers["shift"], x)
        return y.astype(x.dtype, copy=False), scale

    def backward(self, dy, cache):
        return (dy * cache).astype(dy.dtype, copy=False), {}
