"""Element-wise activations: y = f(x) per element, dx = f'(x) dy. Shapes pass through."""

from __future__ import annotations

from typing import Any

import numpy as np

from app.nn.base import Layer


class ReLU(Layer):
    """max(0, x); derivative 1 where x > 0, else 0 (PyTorch's choice at 0)."""

    kind = "relu"

    def forward(self, x):
        mask = x > 0
        # np.where, not x * mask: -inf * 0 is nan and -1.0 * 0 is -0.0.
        return np.where(mask, x, 0).astype(x.dtype, copy=False), mask

    def backward(self, dy, cache):
        return np.where(cache, dy, 0).astype(dy.dtype, copy=False), {}


class LeakyReLU(Layer):
    """x where x > 0, else negative_slope * x, like torch.nn.LeakyReLU; derivative 1 where
    x > 0, else negative_slope (torch's choice at 0)."""

    kind = "leakyrelu"

    def __init__(self, negative_slope: float = 0.01):
        super().__init__()
        if isinstance(negative_slope, bool) or not isinstance(negative_slope, (int, float)):
            raise ValueError(f"negative_slope must be a number, got {negative_slope!r}")
        if not np.isfinite(negative_slope):
            raise ValueError(f"negative_slope must be finite, got {negative_slope!r}")
        self.negative_slope = float(negative_slope)

    def config(self) -> dict[str, Any]:
        return {"negative_slope": self.negative_slope}

    def forward(self, x):
        mask = x > 0
        return np.where(mask, x, x * self.negative_slope).astype(x.dtype, copy=False), mask

    def backward(self, dy, cache):
        return np.where(cache, dy, dy * self.negative_slope).astype(dy.dtype, copy=False), {}


class ReLU6(Layer):
    """min(max(0, x), 6), like torch.nn.ReLU6 (MobileNet's activation); derivative 1 where
    0 < x < 6, else 0 (torch's choice at both kinks)."""

    kind = "relu6"

    def forward(self, x):
        inside = (x > 0) & (x < 6)
        y = np.where(x >= 6, 6, np.where(inside, x, 0)).astype(x.dtype, copy=False)
        return y, inside

    def backward(self, dy, cache):
        return np.where(cache, dy, 0).astype(dy.dtype, copy=False), {}


class Sign(Layer):
    """sign(x) in {-1, 0, 1}, like torch.sign: the classic perceptron's threshold unit.

    Its derivative is 0 almost everywhere (and undefined at 0), so backward gives a zero
    gradient: nothing learns through it by gradient descent. That is why the perceptron
    has its own learning rule, and why modern networks use smooth or piecewise-linear
    activations instead.
    """

    kind = "sign"

    def forward(self, x):
        return np.sign(x).astype(x.dtype, copy=False), x.shape

    def backward(self, dy, cache):
        return np.zeros_like(dy), {}


class Sigmoid(Layer):
    """1 / (1 + e^-x); derivative y(1 - y)."""

    kind = "sigmoid"

    def forward(self, x):
        # Split by sign so exp never overflows.
        e = np.exp(-np.abs(x))
        y = np.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype, copy=False)
        return y, y

    def backward(self, dy, cache):
        return dy * cache * (1 - cache), {}


class Tanh(Layer):
    """tanh(x); derivative 1 - y^2."""

    kind = "tanh"

    def forward(self, x):
        y = np.tanh(x)
        return y, y

    def backward(self, dy, cache):
        return dy * (1 - cache * cache), {}


class Identity(Layer):
    """y = x, like torch.nn.Identity (a placeholder node); dx = dy."""

    kind = "identity"

    def forward(self, x):
        return x, None

    def backward(self, dy, cache):
        return dy, {}


class Clamp(Layer):
    """min(max(x, min_val), max_val), like torch.clamp(x, min_val, max_val); either bound may
    be None (unbounded). Derivative 1 where min_val <= x <= max_val, else 0 (torch.clamp's
    choice at the bounds). ONNX's Clip with bounds other than ReLU's and ReLU6's."""

    kind = "clamp"

    def __init__(self, min_val: float | None = None, max_val: float | None = None):
        super().__init__()
        for name, value in (("min_val", min_val), ("max_val", max_val)):
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, (int, float, np.floating))
                or not np.isfinite(value)
            ):
                raise ValueError(f"{name} must be a finite number or None, got {value!r}")
        self.min_val = None if min_val is None else float(min_val)
        self.max_val = None if max_val is None else float(max_val)
        if self.min_val is not None and self.max_val is not None and self.min_val > self.max_val:
            raise ValueError(f"min_val {self.min_val} must not exceed max_val {self.max_val}")

    def config(self) -> dict[str, Any]:
        return {"min_val": self.min_val, "max_val": self.max_val}

    def forward(self, x):
        inside = np.ones(x.shape, bool)
        y = x
        if self.min_val is not None:
            inside &= x >= self.min_val
            y = np.maximum(y, x.dtype.type(self.min_val))
        if self.max_val is not None:
            inside &= x <= self.max_val
            y = np.minimum(y, x.dtype.type(self.max_val))
        return np.array(y, dtype=x.dtype), inside

    def backward(self, dy, cache):
        return np.where(cache, dy, 0).astype(dy.dtype, copy=False), {}
