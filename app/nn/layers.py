"""Layers with PyTorch's names, semantics and parameter layouts, in NumPy.

Every layer holds its parameters only (`params`, keyed "weight"/"bias") and is stateless
otherwise, so one instance can serve concurrent requests:

    y, cache = layer.forward(x)
    dx, grads = layer.backward(dy, cache)     # grads keyed like params

Arrays are NCHW (or (N, features) for Linear). Parameters default to float32; `astype`
gives a float64 copy for gradient checks.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from app.nn.functional import (
    Pair,
    conv_output_size,
    conv_transpose_output_size,
    correlate,
    correlate_input_grad,
    correlate_weight_grad,
    pad2d,
    pair,
    scatter_windows,
    windows,
)

Cache = Any
Grads = dict[str, np.ndarray]


def _rng(rng: np.random.Generator | int | None) -> np.random.Generator:
    return rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)


def _positive_sizes(**sizes: int) -> tuple[int, ...]:
    """The given channel/feature counts as ints, each required to be >= 1."""
    for name, value in sizes.items():
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name} must be a positive int, got {value!r}")
    return tuple(int(v) for v in sizes.values())


def _uniform_init(rng, shape, fan_in: int, dtype) -> np.ndarray:
    """PyTorch's default: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) (kaiming_uniform with a=sqrt(5))."""
    bound = 1.0 / np.sqrt(fan_in)
    return rng.uniform(-bound, bound, size=shape).astype(dtype)


class Layer:
    """Base class: parameters, hyper-parameters (`config`) and the shape contract."""

    kind: ClassVar[str] = "layer"

    def __init__(self) -> None:
        self.params: dict[str, np.ndarray] = {}

    def config(self) -> dict[str, Any]:
        """Constructor arguments (JSON-able) that rebuild this layer."""
        return {}

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        """Shape of the output for an input shape (batch axis included)."""
        return tuple(input_shape)

    @property
    def parameter_count(self) -> int:
        return int(sum(p.size for p in self.params.values()))

    def astype(self, dtype) -> Layer:
        """A copy of this layer with its parameters cast to dtype."""
        clone = object.__new__(type(self))
        clone.__dict__.update(self.__dict__)
        clone.params = {k: v.astype(dtype) for k, v in self.params.items()}
        return clone

    def forward(self, x: np.ndarray) -> tuple[np.ndarray, Cache]:
        raise NotImplementedError

    def backward(self, dy: np.ndarray, cache: Cache) -> tuple[np.ndarray, Grads]:
        raise NotImplementedError

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.config().items())
        return f"{type(self).__name__}({args})"

    def _check_input(self, x: np.ndarray, ndim: int, channels: int | None = None) -> None:
        if x.ndim != ndim:
            raise ValueError(f"{self.kind} expects a {ndim}-D input, got shape {x.shape}")
        if channels is not None and x.shape[1] != channels:
            raise ValueError(
                f"{self.kind} expects {channels} input channels, got shape {x.shape}"
            )


class _Windowed(Layer):
    """Shared hyper-parameters of convolution and pooling layers."""

    def _set_geometry(self, kernel_size, stride, padding, dilation) -> None:
        self.kernel_size: Pair = pair(kernel_size, "kernel_size")
        self.stride: Pair = pair(stride, "stride")
        self.padding: Pair = pair(padding, "padding")
        self.dilation: Pair = pair(dilation, "dilation")
        for name in ("kernel_size", "stride", "dilation"):
            if min(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if min(self.padding) < 0:
            raise ValueError(f"padding must be >= 0, got {self.padding}")

    def _out_hw(self, h: int, w: int, ceil_mode: bool = False) -> Pair:
        oh, ow = (
            conv_output_size(n, k, s, p, d, ceil_mode)
            for n, k, s, p, d in zip(
                (h, w), self.kernel_size, self.stride, self.padding, self.dilation, strict=True
            )
        )
        if oh < 1 or ow < 1:
            raise ValueError(
                f"{self.kind}: input {h}x{w} is too small for kernel {self.kernel_size}, "
                f"stride {self.stride}, padding {self.padding}, dilation {self.dilation}"
            )
        return oh, ow


class Conv2d(_Windowed):
    """2-D convolution, implemented as cross-correlation (seed 002), like torch.nn.Conv2d.

    x (N, C_in, H, W) -> y (N, C_out, H_out, W_out), H_out = floor((H + 2p - d(k-1) - 1)/s) + 1.
    params["weight"] (C_out, C_in, kH, kW), params["bias"] (C_out,).
    """

    kind = "conv2d"

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
        kh, kw = self.kernel_size
        fan_in = self.in_channels * kh * kw
        self.params["weight"] = _uniform_init(
            rng, (self.out_channels, self.in_channels, kh, kw), fan_in, dtype
        )
        if bias:
            self.params["bias"] = _uniform_init(rng, (self.out_channels,), fan_in, dtype)

    def config(self) -> dict[str, Any]:
        return {
            "in_channels": self.in_channels, "out_channels": self.out_channels,
            "kernel_size": list(self.kernel_size), "stride": list(self.stride),
            "padding": list(self.padding), "dilation": list(self.dilation),
            "bias": "bias" in self.params,
        }

    def output_shape(self, input_shape):
        n, _, h, w = input_shape
        return (n, self.out_channels, *self._out_hw(h, w))

    def forward(self, x):
        self._check_input(x, 4, self.in_channels)
        out_hw = self._out_hw(*x.shape[2:])
        ph, pw = self.padding
        xp = pad2d(x, (ph, ph, pw, pw))
        # One matmul per batch chunk: (C_out, C*kH*kW) @ (C*kH*kW, H_out*W_out), NCHW out.
        y = correlate(xp, self.params["weight"], self.stride, self.dilation, out_hw)
        if "bias" in self.params:
            y += self.params["bias"][:, None, None]
        # The padded input, not its im2col matrix: backward gathers again, chunk by chunk,
        # which is cheaper than keeping kH*kW copies of the input alive between the passes.
        return y, xp

    def backward(self, dy, cache):
        xp = cache
        weight = self.params["weight"]
        grads = {
            "weight": correlate_weight_grad(
                xp, dy, self.kernel_size, self.stride, self.dilation
            ).astype(weight.dtype, copy=False)
        }
        if "bias" in self.params:
            grads["bias"] = dy.sum(axis=(0, 2, 3))
        (ph, pw), (kh, kw), (dh, dw) = self.padding, self.kernel_size, self.dilation
        h, w = xp.shape[2] - 2 * ph, xp.shape[3] - 2 * pw
        full_h, full_w = dh * (kh - 1) - ph, dw * (kw - 1) - pw
        if (
            self.stride == (1, 1) and full_h >= 0 and full_w >= 0
            and self.out_channels <= self.in_channels
        ):
            # At stride 1 the input gradient is itself a correlation ("full" convolution):
            # of dy zero-padded by d(k-1) - p with the kernel flipped and its channel axes
            # swapped. It gathers C_out*kH*kW values per input pixel, where the scatter
            # below makes C_in*kH*kW per output pixel: the cheaper one when C_out <= C_in.
            dyp = pad2d(dy, (full_h, full_h, full_w, full_w))
            flipped = weight[:, :, ::-1, ::-1].transpose(1, 0, 2, 3)
            return correlate(dyp, flipped, (1, 1), self.dilation, (h, w)), grads
        dxp = correlate_input_grad(dy, weight, xp.shape[2:], self.stride, self.dilation)
        return np.ascontiguousarray(dxp[:, :, ph : ph + h, pw : pw + w]), grads


class ConvTranspose2d(_Windowed):
    """Transposed convolution (seed 001's "deconvolution"), like torch.nn.ConvTranspose2d.

    The adjoint of Conv2d: each input pixel stamps its weighted kernel into the output.
    x (N, C_in, H, W) -> y (N, C_out, H_out, W_out),
    H_out = (H - 1)s - 2p + d(k-1) + output_padding + 1.
    params["weight"] (C_in, C_out, kH, kW), params["bias"] (C_out,).
    """

    kind = "convtranspose2d"

    def __init__(
        self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
        output_padding=0, dilation=1, bias: bool = True, rng=None, dtype=np.float32,
    ):
        super().__init__()
        self.in_channels, self.out_channels = _positive_sizes(
            in_channels=in_channels, out_channels=out_channels
        )
        self._set_geometry(kernel_size, stride, padding, dilation)
        self.output_padding: Pair = pair(output_padding, "output_padding")
        for op, s, d in zip(self.output_padding, self.stride, self.dilation, strict=True):
            if not 0 <= op < max(s, d):
                raise ValueError(
                    f"output_padding {self.output_padding} must be smaller than stride "
                    f"{self.stride} or dilation {self.dilation}"
                )
        rng = _rng(rng)
        kh, kw = self.kernel_size
        fan_in = self.out_channels * kh * kw  # PyTorch computes fan_in from weight.size(1)
        self.params["weight"] = _uniform_init(
            rng, (self.in_channels, self.out_channels, kh, kw), fan_in, dtype
        )
        if bias:
            self.params["bias"] = _uniform_init(rng, (self.out_channels,), fan_in, dtype)

    def config(self) -> dict[str, Any]:
        return {
            "in_channels": self.in_channels, "out_channels": self.out_channels,
            "kernel_size": list(self.kernel_size), "stride": list(self.stride),
            "padding": list(self.padding), "output_padding": list(self.output_padding),
            "dilation": list(self.dilation), "bias": "bias" in self.params,
        }

    def _out_hw(self, h, w, ceil_mode=False):
        oh, ow = (
            conv_transpose_output_size(n, k, s, p, op, d)
            for n, k, s, p, op, d in zip(
                (h, w), self.kernel_size, self.stride, self.padding, self.output_padding,
                self.dilation, strict=True,
            )
        )
        if oh < 1 or ow < 1:
            raise ValueError(f"{self.kind}: padding {self.padding} leaves no output for {h}x{w}")
        return oh, ow

    def output_shape(self, input_shape):
        n, _, h, w = input_shape
        return (n, self.out_channels, *self._out_hw(h, w))

    def _full_size(self, h: int, w: int) -> Pair:
        """The un-cropped output plane: every stamp fits, plus output_padding at the end."""
        return tuple(
            (n - 1) * s + d * (k - 1) + 1 + op
            for n, s, d, k, op in zip(
                (h, w), self.stride, self.dilation, self.kernel_size, self.output_padding,
                strict=True,
            )
        )

    def forward(self, x):
        self._check_input(x, 4, self.in_channels)
        h, w = x.shape[2:]
        oh, ow = self._out_hw(h, w)
        stamps = np.tensordot(x, self.params["weight"], axes=([1], [0]))  # (N,H,W,Co,kH,kW)
        full = scatter_windows(
            stamps.transpose(0, 3, 1, 2, 4, 5), self._full_size(h, w), self.stride,
            self.dilation,
        )
        ph, pw = self.padding
        y = full[:, :, ph : ph + oh, pw : pw + ow]
        if "bias" in self.params:
            y = y + self.params["bias"][:, None, None]
        return np.ascontiguousarray(y), x

    def backward(self, dy, cache):
        x = cache
        h, w = x.shape[2:]
        full = np.zeros((*dy.shape[:2], *self._full_size(h, w)), dtype=dy.dtype)
        ph, pw = self.padding
        full[:, :, ph : ph + dy.shape[2], pw : pw + dy.shape[3]] = dy
        cols = windows(full, self.kernel_size, self.stride, self.dilation, (h, w))
        weight = self.params["weight"]
        dx = np.tensordot(cols, weight, axes=([1, 4, 5], [1, 2, 3])).transpose(0, 3, 1, 2)
        grads = {"weight": np.tensordot(x, cols, axes=([0, 2, 3], [0, 2, 3]))}
        if "bias" in self.params:
            grads["bias"] = dy.sum(axis=(0, 2, 3))
        return np.ascontiguousarray(dx), grads


class _Pool2d(_Windowed):
    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode: bool = False):
        super().__init__()
        self._set_geometry(kernel_size, kernel_size if stride is None else stride, padding, 1)
        self.ceil_mode = bool(ceil_mode)
        if any(p > k // 2 for p, k in zip(self.padding, self.kernel_size, strict=True)):
            raise ValueError(
                f"padding {self.padding} must be at most half of kernel_size {self.kernel_size}"
            )

    def config(self) -> dict[str, Any]:
        return {
            "kernel_size": list(self.kernel_size), "stride": list(self.stride),
            "padding": list(self.padding), "ceil_mode": self.ceil_mode,
        }

    def output_shape(self, input_shape):
        n, c, h, w = input_shape
        return (n, c, *self._out_hw(h, w, self.ceil_mode))

    def _padded(self, x: np.ndarray, value: float) -> tuple[np.ndarray, Pair]:
        """x padded by `padding`, plus whatever ceil_mode's last windows reach past it."""
        oh, ow = self._out_hw(*x.shape[2:], self.ceil_mode)
        (ph, pw), (sh, sw), (kh, kw) = self.padding, self.stride, self.kernel_size
        extra_h = max(0, (oh - 1) * sh + kh - (x.shape[2] + 2 * ph))
        extra_w = max(0, (ow - 1) * sw + kw - (x.shape[3] + 2 * pw))
        return pad2d(x, (ph, ph + extra_h, pw, pw + extra_w), value), (oh, ow)


class MaxPool2d(_Pool2d):
    """Max pooling, like torch.nn.MaxPool2d(..., return_indices=True).

    x (N, C, H, W) -> y (N, C, H_out, W_out). The cache holds, per output, the flat index
    h*W + w of its winner in the (unpadded) input plane: the pooling mask. Ties go to the
    first maximum in row-major window order. Backward routes each window's delta to its
    winner only (seeds 001, 002); overlapping windows accumulate.
    """

    kind = "maxpool2d"

    def _windows_tile(self, h: int, w: int) -> bool:
        """True in the common case -- stride == kernel, no padding, no ceil_mode overhang --
        where the windows tile the plane and each input cell lies in at most one window."""
        if self.stride != self.kernel_size or self.padding != (0, 0):
            return False
        (oh, ow), (kh, kw) = self._out_hw(h, w, self.ceil_mode), self.kernel_size
        return oh * kh <= h and ow * kw <= w

    def _corners(self, h: int, w: int, oh: int, ow: int) -> np.ndarray:
        """(H_out, W_out) flat index of each tiling window's top-left cell."""
        kh, kw = self.kernel_size
        return np.arange(oh)[:, None] * (kh * w) + np.arange(ow) * kw

    def _tiled_max(self, x: np.ndarray, width: int) -> tuple[np.ndarray, np.ndarray]:
        """Max over the tiling windows of x (N, C, H_out*kH, W_out*kW), separably: first
        along each window row, then down the rows. A strict > keeps the first maximum in
        row-major window order (a NaN is never a candidate on this path).

        -> y (N, C, H_out, W_out) and each winner's offset a*width + b from its window's
        top-left cell, for a plane `width` cells wide.
        """
        (kh, kw), (n, c, h, w) = self.kernel_size, x.shape
        oh, ow = h // kh, w // kw
        taps = x.reshape(n, c, h, ow, kw)
        # Along each window row: the max, and the column of its first maximum. Each step
        # makes whole new arrays: NumPy's masked in-place writes are several times slower.
        row_max, row_arg = taps[..., 0], np.zeros((n, c, h, ow), bool)
        for b in range(1, kw):
            better = taps[..., b] > row_max
            row_max = np.maximum(row_max, taps[..., b])
            row_arg = better if b == 1 else np.where(better, b, row_arg)
        # Down the window's rows: the max of the row maxima, and where it came from.
        rows, row_args = row_max.reshape(n, c, oh, kh, ow), row_arg.reshape(n, c, oh, kh, ow)
        y, win_col = rows[:, :, :, 0], row_args[:, :, :, 0]
        offset = np.zeros((n, c, oh, ow), np.intp)
        for a in range(1, kh):
            better = rows[:, :, :, a] > y
            y = np.maximum(y, rows[:, :, :, a])
            win_col = np.where(better, row_args[:, :, :, a], win_col)
            offset = better * np.intp(width) if a == 1 else np.where(better, a * width, offset)
        offset += win_col
        return np.ascontiguousarray(y), offset

    def forward(self, x):
        self._check_input(x, 4)
        n, c, h, w = x.shape
        kh, kw = self.kernel_size
        if self._windows_tile(h, w):
            oh, ow = self._out_hw(h, w, self.ceil_mode)
            y, indices = self._tiled_max(x[:, :, : oh * kh, : ow * kw], w)
            indices += self._corners(h, w, oh, ow)
            return y, (indices, x.shape)
        xp, (oh, ow) = self._padded(x, -np.inf)
        cols = windows(xp, self.kernel_size, self.stride, self.dilation, (oh, ow))
        flat = cols.reshape(n, c, oh, ow, kh * kw)
        arg = flat.argmax(axis=-1)
        y = np.take_along_axis(flat, arg[..., None], axis=-1)[..., 0]
        (sh, sw), (ph, pw) = self.stride, self.padding
        rows = np.arange(oh)[:, None] * sh - ph + arg // kw
        cols_ = np.arange(ow)[None, :] * sw - pw + arg % kw
        indices = rows * w + cols_
        return y, (indices, x.shape)

    def backward(self, dy, cache):
        indices, (n, c, h, w) = cache
        plane = h * w
        offsets = (np.arange(n * c) * plane).reshape(n, c, 1, 1)
        if self._windows_tile(h, w):
            # Each input cell lies in one window at most: a plain assignment, no summing.
            dx = np.zeros(n * c * plane, dy.dtype)
            dx[(indices + offsets).ravel()] = dy.ravel()
            return dx.reshape(n, c, h, w), {}
        dx = np.bincount(
            (indices + offsets).ravel(), weights=dy.ravel(), minlength=n * c * plane
        )
        return dx.reshape(n, c, h, w).astype(dy.dtype, copy=False), {}


class AvgPool2d(_Pool2d):
    """Mean pooling (LeCun 1998's subsampling without its trainable gain), like torch's.

    x (N, C, H, W) -> y (N, C, H_out, W_out). Backward splits each window's delta evenly
    over the window (seed 001). With count_include_pad the explicit padding counts towards
    the divisor; the extra cells that ceil_mode adds never do (PyTorch's rule).
    """

    kind = "avgpool2d"

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False,
                 count_include_pad: bool = True):
        super().__init__(kernel_size, stride, padding, ceil_mode)
        self.count_include_pad = bool(count_include_pad)

    def config(self):
        return {**super().config(), "count_include_pad": self.count_include_pad}

    def _divisor(self, h: int, w: int, oh: int, ow: int, dtype) -> np.ndarray:
        counts = []
        for n, o, k, s, p in zip(
            (h, w), (oh, ow), self.kernel_size, self.stride, self.padding, strict=True
        ):
            start = np.arange(o) * s - p
            end = np.minimum(start + k, n + p)
            if not self.count_include_pad:
                start, end = np.maximum(start, 0), np.minimum(end, n)
            counts.append(end - start)
        return np.outer(counts[0], counts[1]).astype(dtype)

    def forward(self, x):
        self._check_input(x, 4)
        xp, (oh, ow) = self._padded(x, 0.0)
        cols = windows(xp, self.kernel_size, self.stride, self.dilation, (oh, ow))
        divisor = self._divisor(*x.shape[2:], oh, ow, x.dtype)
        return cols.sum(axis=(4, 5)) / divisor, (x.shape, xp.shape, divisor)

    def backward(self, dy, cache):
        shape, padded_shape, divisor = cache
        kh, kw = self.kernel_size
        share = np.broadcast_to((dy / divisor)[..., None, None], (*dy.shape, kh, kw))
        dxp = scatter_windows(share, padded_shape[2:], self.stride, self.dilation)
        ph, pw = self.padding
        return np.ascontiguousarray(dxp[:, :, ph : ph + shape[2], pw : pw + shape[3]]), {}


class ReLU(Layer):
    """max(0, x); derivative 1 where x > 0, else 0 (PyTorch's choice at 0)."""

    kind = "relu"

    def forward(self, x):
        mask = x > 0
        # np.where, not x * mask: -inf * 0 is nan and -1.0 * 0 is -0.0.
        return np.where(mask, x, 0).astype(x.dtype, copy=False), mask

    def backward(self, dy, cache):
        return np.where(cache, dy, 0).astype(dy.dtype, copy=False), {}


class Sigmoid(Layer):
    """1 / (1 + e^-x); derivative y(1 - y) (seed 000)."""

    kind = "sigmoid"

    def forward(self, x):
        # Split by sign so exp never overflows.
        e = np.exp(-np.abs(x))
        y = np.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype, copy=False)
        return y, y

    def backward(self, dy, cache):
        return dy * cache * (1 - cache), {}


class Tanh(Layer):
    """tanh(x); derivative 1 - y^2 (seed 000)."""

    kind = "tanh"

    def forward(self, x):
        y = np.tanh(x)
        return y, y

    def backward(self, dy, cache):
        return dy * (1 - cache * cache), {}


class Flatten(Layer):
    """(N, C, H, W) -> (N, C*H*W): seed 000's rasterisation step before the MLP."""

    kind = "flatten"

    def output_shape(self, input_shape):
        return (input_shape[0], int(np.prod(input_shape[1:])))

    def forward(self, x):
        return x.reshape(x.shape[0], -1), x.shape

    def backward(self, dy, cache):
        return dy.reshape(cache), {}


class Linear(Layer):
    """y = x W^T + b, like torch.nn.Linear. x (N, in) -> y (N, out).

    params["weight"] (out, in), params["bias"] (out,). Backward is seed 000's MLP rule:
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


LAYER_TYPES: dict[str, type[Layer]] = {
    cls.kind: cls
    for cls in (Conv2d, ConvTranspose2d, MaxPool2d, AvgPool2d, ReLU, Sigmoid, Tanh, Flatten, Linear)
}
