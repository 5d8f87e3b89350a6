"""The fully connected layer."""

from __future__ import annotations

import numpy as np

from app.nn.base import Layer, _positive_sizes, _rng, _uniform_init


class Linear(Layer):
    """y = x W^T + b, like torch.nn.Linear. x (N, in) -> y (N, out).

    params["weight"] (out, in), params["bias"] (out,). Backward is the MLP rule:
    dx = dy W, dW = dy^T x, db = sum of dy over the batch.
    """

    kind = "linear"

    def __init__(self, in_features: int, out_features: int, bias: bool = True, rng=None,
                 dtype=np.float32):
        super().__init__()
        self.in_features, self.out_features = _positive_sizes(
            in_features=in_features, out_features=out_features
        )
        rng = _rng(rng)
        self.params["weight"] = _uniform_init(
            rng, (self.out_features, self.in_features), self.in_features, dtype
        )
        if bias:
            self.params["bias"] = _uniform_init(rng, (self.out_features,), self.in_features, dtype)

    def config(self):
        return {
            "in_features": self.in_features, "out_features": self.out_features,
            "bias": "bias" in self.params,
        }

    def output_shape(self, input_shape):
        return (input_shape[0], self.out_features)

    def forward(self, x):
        self._check_input(x, 2, None)
        if x.shape[1] != self.in_features:
            raise ValueError(f"linear expects {self.in_features} features, got shape {x.shape}")
        y = x @ self.params["weight"].T
        if "bias" in self.params:
            y = y + self.params["bias"]
        return y, x

    def backward(self, dy, cache):
        x = cache
        grads = {"weight": dy.T @ x}
        if "bias" in self.params:
            grads["bias"] = dy.sum(axis=0)
        return dy @ self.params["weight"], grads
