"""The layer contract every module of app.nn builds on, and the helpers layers share.

A layer holds its parameters (`params`, keyed "weight"/"bias"), its buffers (`buffers`:
state that is not trained by gradients, such as BatchNorm's running statistics) and its mode
(`training`, False by default: inference). It keeps nothing else between calls, so one
instance can serve concurrent inference requests:

    y, cache = layer.forward(x)
    dx, grads = layer.backward(dy, cache)     # grads keyed like params

A layer with several inputs (`MultiInputLayer`: Add, Concat) takes them all:

    y, cache = layer.forward(*xs)
    dxs, grads = layer.backward(dy, cache)    # dxs: one gradient per input, in order
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from app.nn.functional import Pair, conv_output_size, pair

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
    """Base class: parameters, buffers, mode, hyper-parameters (`config`), shape contract."""

    kind: ClassVar[str] = "layer"
    # Number of inputs forward takes: 1, or None for "one or more" (MultiInputLayer).
    arity: ClassVar[int | None] = 1

    def __init__(self) -> None:
        self.params: dict[str, np.ndarray] = {}
        self.buffers: dict[str, np.ndarray] = {}
        self.training: bool = False

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
        """A copy of this layer with its parameters and buffers cast to dtype."""
        clone = object.__new__(type(self))
        clone.__dict__.update(self.__dict__)
        clone.params = {k: v.astype(dtype) for k, v in self.params.items()}
        clone.buffers = {k: v.astype(dtype) for k, v in self.buffers.items()}
        return clone

    def train(self, mode: bool = True) -> Layer:
        """Set training mode (batch statistics, dropout masks) on or off, as torch does."""
        self.training = bool(mode)
        return self

    def eval(self) -> Layer:
        return self.train(False)

    def winners(self, cache: Cache) -> np.ndarray | None:
        """Max pooling only: per output, the flat index h*W + w of its winner in the input
        plane, read from the forward cache. None for every other layer."""
        return None

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


class MultiInputLayer(Layer):
    """A node with one or more inputs: forward(*xs) -> (y, cache),
    backward(dy, cache) -> (tuple of one dx per input, grads)."""

    arity = None

    def output_shape(self, *input_shapes: tuple[int, ...]) -> tuple[int, ...]:
        raise NotImplementedError

    def forward(self, *xs: np.ndarray) -> tuple[np.ndarray, Cache]:
        raise NotImplementedError

    def backward(self, dy: np.ndarray, cache: Cache) -> tuple[tuple[np.ndarray, ...], Grads]:
        raise NotImplementedError


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
