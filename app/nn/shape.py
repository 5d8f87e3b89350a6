"""Shape and graph operations: Flatten, ZeroPad2d, and the nodes with several inputs,
Add (residual connections) and Concat (channel concatenation)."""

from __future__ import annotations

from typing import Any

import numpy as np

from app.nn.base import Layer, MultiInputLayer
from app.nn.functional import pad2d


class Flatten(Layer):
    """(N, C, H, W) -> (N, C*H*W): the rasterisation step before the MLP."""

    kind = "flatten"

    def output_shape(self, input_shape):
        return (input_shape[0], int(np.prod(input_shape[1:])))

    def forward(self, x):
        return x.reshape(x.shape[0], -1), x.shape

    def backward(self, dy, cache):
        return dy.reshape(cache), {}


class ZeroPad2d(Layer):
    """Zero padding of the last two axes, like torch.nn.ZeroPad2d: `padding` is an int or
    (left, right, top, bottom), torch's order (the asymmetric padding exporters emit).
    x (N, C, H, W) -> (N, C, H + top + bottom, W + left + right); backward crops dy."""

    kind = "zeropad2d"

    def __init__(self, padding):
        super().__init__()
        if isinstance(padding, (int, np.integer)) and not isinstance(padding, bool):
            padding = (padding,) * 4
        if (
            not isinstance(padding, (tuple, list)) or len(padding) != 4
            or not all(isinstance(p, (int, np.integer)) and not isinstance(p, bool)
                       for p in padding)
        ):
            raise ValueError(
                f"padding must be an int or (left, right, top, bottom) ints, got {padding!r}"
            )
        if min(padding) < 0:
            raise ValueError(f"padding must be >= 0, got {tuple(padding)}")
        self.padding: tuple[int, int, int, int] = tuple(int(p) for p in padding)

    def config(self) -> dict[str, Any]:
        return {"padding": list(self.padding)}

    def output_shape(self, input_shape):
        left, right, top, bottom = self.padding
        *lead, h, w = input_shape
        return (*lead, h + top + bottom, w + left + right)

    def forward(self, x):
        self._check_input(x, 4)
        left, right, top, bottom = self.padding
        return pad2d(x, (top, bottom, left, right)), x.shape[2:]

    def backward(self, dy, cache):
        h, w = cache
        left, _, top, _ = self.padding
        return np.ascontiguousarray(dy[:, :, top : top + h, left : left + w]), {}


def _unbroadcast(dy: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Sum dy over the axes along which an input of `shape` was broadcast."""
    extra = dy.ndim - len(shape)
    summed = dy.sum(axis=tuple(range(extra))) if extra else dy
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and summed.shape[i] != 1)
    return summed.sum(axis=axes, keepdims=True) if axes else summed


class Add(MultiInputLayer):
    """y = x_1 + x_2 + ... (a residual connection), like torch's `a + b`: shapes must be
    equal or broadcast (NumPy's rules). Backward copies dy to every input (summed over any
    axis that input was broadcast along)."""

    kind = "add"

    def output_shape(self, *input_shapes):
        return tuple(np.broadcast_shapes(*input_shapes))

    def forward(self, *xs):
        if not xs:
            raise ValueError("add needs at least one input")
        try:
            shape = np.broadcast_shapes(*(x.shape for x in xs))
        except ValueError:
            raise ValueError(
                f"add: input shapes {[x.shape for x in xs]} do not broadcast"
            ) from None
        y = xs[0]
        for x in xs[1:]:
            y = y + x
        if y.shape != shape or y is xs[0]:
            y = np.array(np.broadcast_to(y, shape))
        return y, tuple(x.shape for x in xs)

    def backward(self, dy, cache):
        return tuple(_unbroadcast(dy, shape) for shape in cache), {}


class Concat(MultiInputLayer):
    """Concatenation along `dim` (default 1, the channels), like torch.cat. Every other
    axis must match. Backward splits dy back into the inputs' slices."""

    kind = "concat"

    def __init__(self, dim: int = 1):
        super().__init__()
        if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)):
            raise ValueError(f"dim must be an int, got {dim!r}")
        self.dim = int(dim)

    def config(self) -> dict[str, Any]:
        return {"dim": self.dim}

    def _axis(self, ndim: int) -> int:
        if not -ndim <= self.dim < ndim:
            raise ValueError(f"concat: dim {self.dim} is out of range for {ndim}-D inputs")
        return self.dim % ndim

    def output_shape(self, *input_shapes):
        axis = self._axis(len(input_shapes[0]))
        out = list(input_shapes[0])
        out[axis] = sum(s[axis] for s in input_shapes)
        return tuple(out)

    def forward(self, *xs):
        if not xs:
            raise ValueError("concat needs at least one input")
        axis = self._axis(xs[0].ndim)
        try:
            y = np.concatenate(xs, axis=axis)
        except ValueError:
            raise ValueError(
                f"concat along dim {self.dim}: input shapes {[x.shape for x in xs]} differ "
                "on another axis"
            ) from None
        return y, (axis, [x.shape[axis] for x in xs])

    def backward(self, dy, cache):
        axis, sizes = cache
        parts = np.split(dy, np.cumsum(sizes)[:-1], axis=axis)
        return tuple(np.ascontiguousarray(p) for p in parts), {}
