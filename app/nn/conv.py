"""Convolution layers: Conv2d (grouped and depthwise too) and its adjoint ConvTranspose2d."""

from __future__ import annotations

from typing import Any

import numpy as np

from app.nn.base import _positive_sizes, _rng, _uniform_init, _Windowed
from app.nn.functional import (
    Pair,
    conv_transpose_output_size,
    correlate,
    correlate_input_grad,
    correlate_weight_grad,
    pad2d,
    pair,
    scatter_windows,
    windows,
)
from app.nn.threads import run_pair


def _check_groups(groups, in_channels: int, out_channels: int) -> int:
    if isinstance(groups, bool) or not isinstance(groups, (int, np.integer)) or groups < 1:
        raise ValueError(f"groups must be a positive int, got {groups!r}")
    if in_channels % groups or out_channels % groups:
        raise ValueError(
            f"in_channels {in_channels} and out_channels {out_channels} must both be "
            f"divisible by groups {groups}"
        )
    return int(groups)


# The largest kernel (C_out*C_in/groups*kH*kW values) whose input gradient is computed as a
# full correlation with the flipped kernel; larger ones scatter weight^T @ dy instead. The
# flipped copy of a ResNet's kernel costs more than the scatter it saves (same-run, float32,
# 1 thread, 3x3, stride 1, caches cold: 512 channels on 7x7 5.8 -> 2.8 ms, 256 on 14x14
# 2.3 -> 1.6 ms, 64 on 56x56 2.7 -> 2.2 ms), while TinyVGG's 10-channel kernels gain from it
# (batch 64: 14.2 ms full, 21.2 ms scattered).
FULL_CORRELATION_WEIGHTS = 1 << 15


class Conv2d(_Windowed):
    """2-D convolution, implemented as cross-correlation, like torch.nn.Conv2d.

    x (N, C_in, H, W) -> y (N, C_out, H_out, W_out), H_out = floor((H + 2p - d(k-1) - 1)/s) + 1.
    params["weight"] (C_out, C_in/groups, kH, kW), params["bias"] (C_out,).
    With groups g, output channels [j*C_out/g, (j+1)*C_out/g) see input channels
    [j*C_in/g, (j+1)*C_in/g) only; groups = C_in is the depthwise convolution.
    """

    kind = "conv2d"

    def __init__(
        self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
        dilation=1, groups: int = 1, bias: bool = True, rng=None, dtype=np.float32,
    ):
        super().__init__()
        self.in_channels, self.out_channels = _positive_sizes(
            in_channels=in_channels, out_channels=out_channels
        )
        self.groups = _check_groups(groups, self.in_channels, self.out_channels)
        self._set_geometry(kernel_size, stride, padding, dilation)
        rng = _rng(rng)
        kh, kw = self.kernel_size
        fan_in = self.in_channels // self.groups * kh * kw
        self.params["weight"] = _uniform_init(
            rng, (self.out_channels, self.in_channels // self.groups, kh, kw), fan_in, dtype
        )
        if bias:
            self.params["bias"] = _uniform_init(rng, (self.out_channels,), fan_in, dtype)

    def config(self) -> dict[str, Any]:
        config = {
            "in_channels": self.in_channels, "out_channels": self.out_channels,
            "kernel_size": list(self.kernel_size), "stride": list(self.stride),
            "padding": list(self.padding), "dilation": list(self.dilation),
        }
        if self.groups != 1:  # left out at 1, so the bundled models' configs are unchanged
            config["groups"] = self.groups
        return {**config, "bias": "bias" in self.params}

    def output_shape(self, input_shape):
        n, _, h, w = input_shape
        return (n, self.out_channels, *self._out_hw(h, w))

    def forward(self, x):
        self._check_input(x, 4, self.in_channels)
        out_hw = self._out_hw(*x.shape[2:])
        ph, pw = self.padding
        xp = pad2d(x, (ph, ph, pw, pw))
        # One matmul per batch chunk: (C_out, C*kH*kW) @ (C*kH*kW, H_out*W_out), NCHW out
        # (batched over a group axis when groups > 1).
        y = correlate(xp, self.params["weight"], self.stride, self.dilation, out_hw, self.groups)
        if "bias" in self.params:
            y += self.params["bias"][:, None, None]
        # The padded input, not its im2col matrix: backward gathers again, chunk by chunk,
        # which is cheaper than keeping kH*kW copies of the input alive between the passes.
        return y, xp

    def _flipped(self, weight: np.ndarray) -> np.ndarray:
        """The kernel flipped with its channel axes swapped, group by group:
        (C_out, C_in/g, kH, kW) -> (C_in, C_out/g, kH, kW)."""
        if self.groups == 1:
            return weight[:, :, ::-1, ::-1].transpose(1, 0, 2, 3)
        g, (c_out, c_group, kh, kw) = self.groups, weight.shape
        blocks = weight[:, :, ::-1, ::-1].reshape(g, c_out // g, c_group, kh, kw)
        return blocks.transpose(0, 2, 1, 3, 4).reshape(g * c_group, c_out // g, kh, kw)

    def backward(self, dy, cache):
        xp = cache
        weight = self.params["weight"]
        # The weight gradient and the input gradient are independent products: big ones run
        # side by side on two threads (threads.run_pair), each with its own BLAS calls.
        macs = weight.size * dy.shape[0] * dy.shape[2] * dy.shape[3]
        weight_grad, dx = run_pair(
            lambda: correlate_weight_grad(
                xp, dy, self.kernel_size, self.stride, self.dilation, self.groups
            ),
            lambda: self._input_grad(dy, xp.shape),
            2 * macs,
        )
        grads = {"weight": weight_grad.astype(weight.dtype, copy=False)}
        if "bias" in self.params:
            grads["bias"] = dy.sum(axis=(0, 2, 3))
        return dx, grads

    def _input_grad(self, dy: np.ndarray, padded_shape: tuple[int, ...]) -> np.ndarray:
        """dL/dx (N, C_in, H, W) from dy (N, C_out, H_out, W_out)."""
        weight = self.params["weight"]
        (ph, pw), (kh, kw), (dh, dw) = self.padding, self.kernel_size, self.dilation
        h, w = padded_shape[2] - 2 * ph, padded_shape[3] - 2 * pw
        full_h, full_w = dh * (kh - 1) - ph, dw * (kw - 1) - pw
        if (
            self.stride == (1, 1) and full_h >= 0 and full_w >= 0
            and self.out_channels <= self.in_channels and weight.size <= FULL_CORRELATION_WEIGHTS
        ):
            # At stride 1 the input gradient is itself a correlation ("full" convolution):
            # of dy zero-padded by d(k-1) - p with the kernel flipped and its channel axes
            # swapped. It gathers C_out*kH*kW values per input pixel, where the scatter
            # below makes C_in*kH*kW per output pixel: the cheaper one when C_out <= C_in,
            # as long as copying the flipped kernel costs less than the scatter it saves.
            dyp = pad2d(dy, (full_h, full_h, full_w, full_w))
            return correlate(dyp, self._flipped(weight), (1, 1), self.dilation, (h, w), self.groups)
        dxp = correlate_input_grad(
            dy, weight, padded_shape[2:], self.stride, self.dilation, self.groups
        )
        return np.ascontiguousarray(dxp[:, :, ph : ph + h, pw : pw + w])


class ConvTranspose2d(_Windowed):
    """Transposed convolution ("deconvolution"), like torch.nn.ConvTranspose2d.

    The adjoint of Conv2d: each input pixel stamps its weighted kernel into the output.
    x (N, C_in, H, W) -> y (N, C_out, H_out, W_out),
    H_out = (H - 1)s - 2p + d(k-1) + output_padding + 1.
    params["weight"] (C_in, C_out/groups, kH, kW), params["bias"] (C_out,); with groups g,
    input channel group j stamps into output channel group j only.
    """

    kind = "convtranspose2d"

    def __init__(
        self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
        output_padding=0, groups: int = 1, bias: bool = True, dilation=1, rng=None,
        dtype=np.float32,
    ):
        super().__init__()
        self.in_channels, self.out_channels = _positive_sizes(
            in_channels=in_channels, out_channels=out_channels
        )
        self.groups = _check_groups(groups, self.in_channels, self.out_channels)
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
        c_group = self.out_channels // self.groups
        fan_in = c_group * kh * kw  # PyTorch computes fan_in from weight.size(1)
        self.params["weight"] = _uniform_init(
            rng, (self.in_channels, c_group, kh, kw), fan_in, dtype
        )
        if bias:
            self.params["bias"] = _uniform_init(rng, (self.out_channels,), fan_in, dtype)

    def config(self) -> dict[str, Any]:
        config = {
            "in_channels": self.in_channels, "out_channels": self.out_channels,
            "kernel_size": list(self.kernel_size), "stride": list(self.stride),
            "padding": list(self.padding), "output_padding": list(self.output_padding),
            "dilation": list(self.dilation),
        }
        if self.groups != 1:
            config["groups"] = self.groups
        return {**config, "bias": "bias" in self.params}

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

    def _stamps(self, x: np.ndarray) -> np.ndarray:
        """Every input pixel's weighted kernel: x (N, C_in, H, W) -> (N, C_out, H, W, kH, kW)."""
        weight = self.params["weight"]
        if self.groups == 1:
            stamps = np.tensordot(x, weight, axes=([1], [0]))  # (N, H, W, C_out, kH, kW)
            return stamps.transpose(0, 3, 1, 2, 4, 5)
        (n, c_in, h, w), g = x.shape, self.groups
        _, c_group, kh, kw = weight.shape
        xg = x.reshape(n, g, c_in // g, h * w).transpose(0, 1, 3, 2)
        stamps = np.matmul(xg, weight.reshape(g, c_in // g, c_group * kh * kw))
        stamps = stamps.reshape(n, g, h, w, c_group, kh, kw).transpose(0, 1, 4, 2, 3, 5, 6)
        return stamps.reshape(n, g * c_group, h, w, kh, kw)

    def forward(self, x):
        self._check_input(x, 4, self.in_channels)
        h, w = x.shape[2:]
        oh, ow = self._out_hw(h, w)
        full = scatter_windows(self._stamps(x), self._full_size(h, w), self.stride, self.dilation)
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
        if self.groups == 1:
            dx = np.tensordot(cols, weight, axes=([1, 4, 5], [1, 2, 3])).transpose(0, 3, 1, 2)
            grads = {"weight": np.tensordot(x, cols, axes=([0, 2, 3], [0, 2, 3]))}
        else:
            (n, c_in), g = x.shape[:2], self.groups
            _, c_group, kh, kw = weight.shape
            # (N, g, H*W, C_out/g*kH*kW): each group's windows, one row per input pixel.
            cols_g = cols.reshape(n, g, c_group, h, w, kh, kw).transpose(0, 1, 3, 4, 2, 5, 6)
            cols_g = cols_g.reshape(n, g, h * w, c_group * kh * kw)
            w_g = weight.reshape(g, c_in // g, c_group * kh * kw)
            dx = np.matmul(cols_g, w_g.transpose(0, 2, 1))  # (N, g, H*W, C_in/g)
            dx = dx.transpose(0, 1, 3, 2).reshape(n, c_in, h, w)
            xg = x.reshape(n, g, c_in // g, h * w)
            grad = np.matmul(xg, cols_g).sum(axis=0)  # (g, C_in/g, C_out/g*kH*kW)
            grads = {"weight": grad.reshape(c_in, c_group, kh, kw)}
        if "bias" in self.params:
            grads["bias"] = dy.sum(axis=(0, 2, 3))
        return np.ascontiguousarray(dx), grads
