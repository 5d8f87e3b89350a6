"""1-D layers for sequences (text): Conv1d, MaxPool1d, AdaptiveMaxPool1d, Embedding, Transpose.

PyTorch's names, semantics and layouts:

- Conv1d and the pools read (N, C, L): channels first, the sequence along the last axis.
- Embedding maps integer indices (N, T) to vectors (N, T, embedding_dim): time first.
- So a text model swaps the two axes between them, as torch code does with
  `x.transpose(1, 2)`; `Transpose(1, 2)` is that step as a layer with a backward.

A 1-D convolution is a 2-D convolution over a height-1 plane: Conv1d and MaxPool1d reuse
app.nn.functional's window gather/scatter and im2col matmuls on an (N, C, 1, L) view instead
of keeping a second copy of that machinery. Every layer keeps forward and backward side by
side: `forward(x) -> (y, cache)`, `backward(dy, cache) -> (dx, grads)`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

# From base, not app.nn.layers: layers registers these kinds in LAYER_TYPES, so it imports us.
from app.nn.base import Layer, _positive_sizes, _rng, _uniform_init
from app.nn.functional import (
    conv_output_size,
    correlate,
    correlate_input_grad,
    correlate_weight_grad,
    scatter_windows,
    windows,
)


def _int(value: Any, name: str, minimum: int) -> int:
    """An int (or a 1-tuple/list holding one, as torch accepts) that is >= minimum."""
    if isinstance(value, (tuple, list)) and len(value) == 1:
        value = value[0]
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an int, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value!r}")
    return int(value)


def _pad_last(x: np.ndarray, padding: int, value: float = 0.0) -> np.ndarray:
    """Pad the last axis by `padding` on both sides; returns x itself when padding is 0."""
    if not padding:
        return x
    out = np.full((*x.shape[:-1], x.shape[-1] + 2 * padding), value, dtype=x.dtype)
    out[..., padding : padding + x.shape[-1]] = x
    return out


class _Windowed1d(Layer):
    def _set_geometry(self, kernel_size, stride, padding, dilation) -> None:
        self.kernel_size = _int(kernel_size, "kernel_size", 1)
        self.stride = _int(stride, "stride", 1)
        self.padding = _int(padding, "padding", 0)
        self.dilation = _int(dilation, "dilation", 1)

    def _out_len(self, length: int, ceil_mode: bool = False) -> int:
        out = conv_output_size(
            length, self.kernel_size, self.stride, self.padding, self.dilation, ceil_mode
        )
        if out < 1:
            raise ValueError(
                f"{self.kind}: input length {length} is too small for kernel {self.kernel_size}, "
                f"stride {self.stride}, padding {self.padding}, dilation {self.dilation}"
            )
        return out

    def _geometry_2d(self):
        """(kernel, stride, dilation) as the (1, k) pairs of the height-1 2-D view."""
        return (1, self.kernel_size), (1, self.stride), (1, self.dilation)


class Conv1d(_Windowed1d):
    """1-D convolution (cross-correlation), like torch.nn.Conv1d.

    x (N, C_in, L) -> y (N, C_out, L_out), L_out = floor((L + 2p - d(k-1) - 1)/s) + 1.
    params["weight"] (C_out, C_in, k), params["bias"] (C_out,).
    y[n, o, i] = b[o] + sum_{c, a} x_pad[n, c, i*s + a*d] * w[o, c, a].
    """

    kind = "conv1d"

    def __init__(
        self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
        dilation=1, bias: bool = True, rng=None, dtype=np.float32,
    ):
        super().__init__()
        self.in_channels, self.out_channels = _positive_sizes(
            in_channels=in_channels, out_channels=out_channels
        )
        self._set_geometry(kernel_size, stride, padding, dilation)
        rng = _rng(rng)
        fan_in = self.in_channels * self.kernel_size
        self.params["weight"] = _uniform_init(
            rng, (self.out_channels, self.in_channels, self.kernel_size), fan_in, dtype
        )
        if bias:
            self.params["bias"] = _uniform_init(rng, (self.out_channels,), fan_in, dtype)

    def config(self) -> dict[str, Any]:
        return {
            "in_channels": self.in_channels, "out_channels": self.out_channels,
            "kernel_size": self.kernel_size, "stride": self.stride, "padding": self.padding,
            "dilation": self.dilation, "bias": "bias" in self.params,
        }

    def output_shape(self, input_shape):
        n, _, length = input_shape
        return (n, self.out_channels, self._out_len(length))

    def forward(self, x):
        self._check_input(x, 3, self.in_channels)
        out_len = self._out_len(x.shape[2])
        kernel, stride, dilation = self._geometry_2d()
        xp = _pad_last(x, self.padding)[:, :, None, :]
        weight = self.params["weight"][:, :, None, :]
        y = correlate(xp, weight, stride, dilation, (1, out_len))[:, :, 0, :]
        if "bias" in self.params:
            y += self.params["bias"][:, None]
        return y, xp

    def backward(self, dy, cache):
        xp = cache
        kernel, stride, dilation = self._geometry_2d()
        weight = self.params["weight"]
        dy4 = dy[:, :, None, :]
        grads = {
            "weight": correlate_weight_grad(xp, dy4, kernel, stride, dilation)[:, :, 0, :]
            .astype(weight.dtype, copy=False)
        }
        if "bias" in self.params:
            grads["bias"] = dy.sum(axis=(0, 2))
        dxp = correlate_input_grad(dy4, weight[:, :, None, :], xp.shape[2:], stride, dilation)
        p = self.padding
        return np.ascontiguousarray(dxp[:, :, 0, p : xp.shape[3] - p]), grads


class MaxPool1d(_Windowed1d):
    """1-D max pooling, like torch.nn.MaxPool1d (stride defaults to kernel_size; padding
    counts as -inf). x (N, C, L) -> y (N, C, L_out).

    Ties go to the first maximum in the window. The cache's indices (N, C, L_out) are each
    winner's position in the unpadded input (torch's return_indices); the gradient goes to
    the winner only and overlapping windows accumulate.
    """

    kind = "maxpool1d"

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, ceil_mode: bool = False):
        super().__init__()
        self._set_geometry(kernel_size, kernel_size if stride is None else stride, padding,
                           dilation)
        effective = self.dilation * (self.kernel_size - 1) + 1
        if self.padding > effective // 2:
            raise ValueError(
                f"padding must be at most half the effective kernel size ({effective // 2}), "
                f"got {self.padding}"
            )
        self.ceil_mode = bool(ceil_mode)

    def config(self) -> dict[str, Any]:
        return {
            "kernel_size": self.kernel_size, "stride": self.stride, "padding": self.padding,
            "dilation": self.dilation, "ceil_mode": self.ceil_mode,
        }

    def output_shape(self, input_shape):
        n, c, length = input_shape
        return (n, c, self._out_len(length, self.ceil_mode))

    def _padded(self, x: np.ndarray, out_len: int) -> np.ndarray:
        """x padded with -inf: `padding` on the left, and on the right as far as the last
        window reaches (ceil_mode may reach past the right padding)."""
        span = (out_len - 1) * self.stride + self.dilation * (self.kernel_size - 1) + 1
        right = max(self.padding, span - self.padding - x.shape[2])
        out = np.full((*x.shape[:2], self.padding + x.shape[2] + right), -np.inf, x.dtype)
        out[:, :, self.padding : self.padding + x.shape[2]] = x
        return out

    def forward(self, x):
        self._check_input(x, 3)
        out_len = self._out_len(x.shape[2], self.ceil_mode)
        kernel, stride, dilation = self._geometry_2d()
        xp = self._padded(x, out_len)
        win = windows(xp[:, :, None, :], kernel, stride, dilation, (1, out_len))[:, :, 0, :, 0, :]
        tap = win.argmax(axis=-1)  # first maximum on ties
        y = np.take_along_axis(win, tap[..., None], axis=-1)[..., 0]
        indices = np.arange(out_len) * self.stride + tap * self.dilation - self.padding
        return np.ascontiguousarray(y), (indices, tap, x.shape, xp.shape[2])

    def winners(self, cache):
        """Per output, its winner's position in the (unpadded) input sequence."""
        return cache[0]

    def backward(self, dy, cache):
        indices, tap, shape, padded_len = cache
        kernel, stride, dilation = self._geometry_2d()
        cols = np.zeros((*dy.shape, self.kernel_size), dtype=dy.dtype)
        np.put_along_axis(cols, tap[..., None], dy[..., None], axis=-1)
        dxp = scatter_windows(cols[:, :, None, :, None, :], (1, padded_len), stride, dilation)
        p = self.padding
        return np.ascontiguousarray(dxp[:, :, 0, p : p + shape[2]]), {}


def adaptive_bins(length: int, output_size: int) -> tuple[np.ndarray, np.ndarray]:
    """torch's adaptive pooling bins: bin i covers [floor(i L / out), ceil((i + 1) L / out))."""
    i = np.arange(output_size)
    return (i * length) // output_size, -((-(i + 1) * length) // output_size)


class AdaptiveMaxPool1d(Layer):
    """Max over `output_size` adaptive bins, like torch.nn.AdaptiveMaxPool1d.
    x (N, C, L) -> y (N, C, output_size). output_size=1 is max-over-time pooling: a
    sequence of any length becomes one fixed-length vector.

    Ties go to the first maximum of a bin. The cache's indices (N, C, output_size) are the
    winners' positions in the input; the gradient goes to the winner only.
    """

    kind = "adaptivemaxpool1d"

    def __init__(self, output_size: int):
        super().__init__()
        self.output_size = _int(output_size, "output_size", 1)

    def config(self) -> dict[str, Any]:
        return {"output_size": self.output_size}

    def output_shape(self, input_shape):
        return (*input_shape[:2], self.output_size)

    def forward(self, x):
        self._check_input(x, 3)
        length = x.shape[2]
        if length < 1:
            raise ValueError(f"{self.kind} needs a sequence of length >= 1, got shape {x.shape}")
        starts, ends = adaptive_bins(length, self.output_size)
        width = int((ends - starts).max())
        positions = starts[:, None] + np.arange(width)            # (out, width)
        inside = positions < ends[:, None]
        gathered = x[:, :, np.minimum(positions, length - 1)]      # (N, C, out, width)
        gathered = np.where(inside, gathered, -np.inf)
        tap = gathered.argmax(axis=-1)
        y = np.take_along_axis(gathered, tap[..., None], axis=-1)[..., 0].astype(x.dtype)
        indices = starts + tap
        return y, (indices, x.shape)

    def winners(self, cache):
        """Per output (N, C, output_size), its winner's position in the input sequence."""
        return cache[0]

    def backward(self, dy, cache):
        indices, shape = cache
        n, c, length = shape
        dx = np.zeros((n * c, length), dtype=dy.dtype)
        rows = np.repeat(np.arange(n * c), self.output_size)
        # add.at, not assignment: bins overlap when L is not a multiple of output_size.
        np.add.at(dx, (rows, indices.reshape(-1)), dy.reshape(-1))
        return dx.reshape(shape), {}


class Embedding(Layer):
    """A lookup table, like torch.nn.Embedding: integer indices (N, T) -> (N, T, dim).

    params["weight"] (num_embeddings, embedding_dim), initialised N(0, 1) as torch does; the
    row `padding_idx` (if given) starts at zero and never receives a gradient. The input is
    a tensor of indices, so backward returns None for it (there is no input gradient) and
    the weight gradient sums dy over every position that looked a row up.
    """

    kind = "embedding"

    def __init__(
        self, num_embeddings: int, embedding_dim: int, padding_idx: int | None = None,
        rng=None, dtype=np.float32,
    ):
        super().__init__()
        self.num_embeddings, self.embedding_dim = _positive_sizes(
            num_embeddings=num_embeddings, embedding_dim=embedding_dim
        )
        if padding_idx is not None:
            padding_idx = _int(padding_idx, "padding_idx", -self.num_embeddings)
            if padding_idx >= self.num_embeddings:
                raise ValueError(
                    f"padding_idx must be < num_embeddings ({self.num_embeddings}), "
                    f"got {padding_idx}"
                )
            padding_idx %= self.num_embeddings  # torch turns a negative index positive
        self.padding_idx = padding_idx
        weight = _rng(rng).standard_normal((self.num_embeddings, self.embedding_dim))
        if padding_idx is not None:
            weight[padding_idx] = 0
        self.params["weight"] = weight.astype(dtype)

    def config(self) -> dict[str, Any]:
        return {
            "num_embeddings": self.num_embeddings, "embedding_dim": self.embedding_dim,
            "padding_idx": self.padding_idx,
        }

    def output_shape(self, input_shape):
        return (*input_shape, self.embedding_dim)

    def forward(self, x):
        x = np.asarray(x)
        if x.ndim != 2:
            raise ValueError(f"{self.kind} expects (N, T) indices, got shape {x.shape}")
        if x.size and not np.issubdtype(x.dtype, np.integer):
            raise ValueError(f"{self.kind} expects integer indices, got dtype {x.dtype}")
        x = x.astype(np.intp, copy=False)
        if x.size and (x.min() < 0 or x.max() >= self.num_embeddings):
            raise ValueError(
                f"{self.kind} indices must lie in [0, {self.num_embeddings - 1}], "
                f"got {x.min()}..{x.max()}"
            )
        return self.params["weight"][x], x

    def backward(self, dy, cache):
        indices = cache
        weight = self.params["weight"]
        grad = np.zeros(weight.shape, dtype=np.result_type(weight, dy))
        np.add.at(grad, indices.reshape(-1), dy.reshape(-1, self.embedding_dim))
        if self.padding_idx is not None:
            grad[self.padding_idx] = 0
        return None, {"weight": grad.astype(weight.dtype, copy=False)}


class Transpose(Layer):
    """Swap two axes, like torch's x.transpose(dim0, dim1); its backward swaps them back.
    Transpose(1, 2) turns an Embedding's (N, T, dim) into Conv1d's (N, C=dim, L=T)."""

    kind = "transpose"

    def __init__(self, dim0: int = 1, dim1: int = 2):
        super().__init__()
        self.dim0 = _int(dim0, "dim0", 0)
        self.dim1 = _int(dim1, "dim1", 0)

    def config(self) -> dict[str, Any]:
        return {"dim0": self.dim0, "dim1": self.dim1}

    def output_shape(self, input_shape):
        shape = list(input_shape)
        shape[self.dim0], shape[self.dim1] = shape[self.dim1], shape[self.dim0]
        return tuple(shape)

    def forward(self, x):
        if max(self.dim0, self.dim1) >= x.ndim:
            raise ValueError(
                f"{self.kind}: axes {self.dim0}, {self.dim1} do not exist in shape {x.shape}"
            )
        return np.ascontiguousarray(np.swapaxes(x, self.dim0, self.dim1)), None

    def backward(self, dy, cache):
        return np.ascontiguousarray(np.swapaxes(dy, self.dim0, self.dim1)), {}


SEQUENCE_LAYER_TYPES: dict[str, type[Layer]] = {
    cls.kind: cls for cls in (Conv1d, MaxPool1d, AdaptiveMaxPool1d, Embedding, Transpose)
}

__all__ = [
    "SEQUENCE_LAYER_TYPES", "AdaptiveMaxPool1d", "Conv1d", "Embedding", "MaxPool1d",
    "Transpose", "adaptive_bins",
]
