"""A convolution is a matrix: the fully connected weight matrix of a small Conv2d.

A Conv2d(C_in, C_out, k, stride, padding, dilation) on a C_in x H x W input is linear, so it
is y = W x + b for x the flattened input (C, H, W order) and y the flattened output
(C_out, H_out, W_out order). Row (o, i, j) of W holds kernel weight w[o, c, a, b] in column
(c, i*s - p + a*d, j*s - p + b*d) when that input pixel exists (padding reads zeros, so those
products vanish) and 0 everywhere else: W is sparse, and every row repeats the same few
weights shifted, a doubly block-Toeplitz matrix. Its transpose W^T maps an output-sized vector
back to the input: W^T dy is the convolution's gradient with respect to its input, and it is
exactly what ConvTranspose2d (the "deconvolution") computes with the same kernel.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from app.nn.layers import Conv2d, ConvTranspose2d


@dataclass(frozen=True)
class Geometry:
    """A small convolution's shape: input (C_in, H, W), kernel (kH, kW), C_out, stride,
    padding and dilation, each a (rows, columns) pair."""

    in_channels: int
    out_channels: int
    height: int
    width: int
    kernel: tuple[int, int]
    stride: tuple[int, int]
    padding: tuple[int, int]
    dilation: tuple[int, int]

    def output_hw(self) -> tuple[int, int]:
        """(H_out, W_out) = floor((n + 2p - d(k - 1) - 1) / s) + 1 per axis; ValueError if
        either is below 1."""
        sizes = tuple(
            (n + 2 * p - d * (k - 1) - 1) // s + 1
            for n, k, s, p, d in zip((self.height, self.width), self.kernel, self.stride,
                                     self.padding, self.dilation, strict=True)
        )
        if min(sizes) < 1:
            raise ValueError(
                f"a {self.height}x{self.width} input padded by {list(self.padding)} is smaller "
                f"than the dilated kernel ({self.kernel[0]}x{self.kernel[1]}, dilation "
                f"{list(self.dilation)}): there is no output"
            )
        return sizes  # type: ignore[return-value]

    def output_padding(self) -> tuple[int, int]:
        """What ConvTranspose2d must add at the end so that its output is H x W again: the
        input rows and columns the strided windows never reached."""
        oh, ow = self.output_hw()
        return tuple(
            n - ((o - 1) * s - 2 * p + d * (k - 1) + 1)
            for n, o, k, s, p, d in zip((self.height, self.width), (oh, ow), self.kernel,
                                        self.stride, self.padding, self.dilation, strict=True)
        )  # type: ignore[return-value]


def kernel_index(geometry: Geometry) -> np.ndarray:
    """(C_out*H_out*W_out, C_in*H*W) int64: entry (row, column) is the flat index into the
    weight (C_out, C_in, kH, kW) that W holds there, or -1 where W is structurally 0."""
    g = geometry
    oh, ow = g.output_hw()
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = g.kernel, g.stride, g.padding, g.dilation
    o, i, j, c, a, b = np.meshgrid(
        np.arange(g.out_channels), np.arange(oh), np.arange(ow), np.arange(g.in_channels),
        np.arange(kh), np.arange(kw), indexing="ij", sparse=True,
    )
    r = i * sh - ph + a * dh           # the input row kernel row a reads at output row i
    q = j * sw - pw + b * dw
    shape = np.broadcast_shapes(o.shape, i.shape, j.shape, c.shape, a.shape, b.shape)
    inside = np.broadcast_to((r >= 0) & (r < g.height) & (q >= 0) & (q < g.width), shape)
    row = np.broadcast_to((o * oh + i) * ow + j, shape)[inside]
    col = np.broadcast_to((c * g.height + r) * g.width + q, shape)[inside]
    weight = np.broadcast_to(((o * g.in_channels + c) * kh + a) * kw + b, shape)[inside]
    index = np.full((g.out_channels * oh * ow, g.in_channels * g.height * g.width), -1,
                    dtype=np.int64)
    # Distinct kernel taps of one window read distinct pixels (dilation >= 1): no collisions.
    index[row, col] = weight
    return index


def conv_matrix(weight: np.ndarray, geometry: Geometry) -> tuple[np.ndarray, np.ndarray]:
    """The matrix W (float64) of the convolution with `weight` (C_out, C_in, kH, kW), and its
    kernel_index (see kernel_index)."""
    index = kernel_index(geometry)
    flat = np.asarray(weight, dtype=np.float64).ravel()
    return np.where(index >= 0, flat[np.maximum(index, 0)], 0.0), index


def conv_layer(weight: np.ndarray, bias: np.ndarray, geometry: Geometry) -> Conv2d:
    """The core's Conv2d with this geometry, weight and bias (float64)."""
    g = geometry
    conv = Conv2d(g.in_channels, g.out_channels, g.kernel, g.stride, g.padding, g.dilation,
                  dtype=np.float64)
    conv.params["weight"] = np.asarray(weight, dtype=np.float64).copy()
    conv.params["bias"] = np.asarray(bias, dtype=np.float64).copy()
    return conv


def transpose_layer(weight: np.ndarray, geometry: Geometry) -> ConvTranspose2d:
    """The core's ConvTranspose2d(C_out -> C_in) with the same kernel (its weight is
    (C_in of the transpose = C_out, C_out of the transpose = C_in, kH, kW): the conv's weight
    unchanged), no bias, and the output_padding that makes its output H x W."""
    g = geometry
    deconv = ConvTranspose2d(g.out_channels, g.in_channels, g.kernel, stride=g.stride,
                             padding=g.padding, output_padding=g.output_padding(),
                             dilation=g.dilation, bias=False, dtype=np.float64)
    deconv.params["weight"] = np.asarray(weight, dtype=np.float64).copy()
    return deconv


@dataclass
class ConvAsMatrix:
    """One convolution computed as a matrix and by the core, forward and backward."""

    matrix: np.ndarray         # (rows, columns) W
    index: np.ndarray          # (rows, columns) kernel weight per entry, -1: structural zero
    y_matrix: np.ndarray       # (C_out, H_out, W_out): W x + b, reshaped
    y_conv: np.ndarray         # (C_out, H_out, W_out): Conv2d forward
    dx_matrix: np.ndarray      # (C_in, H, W): W^T dy, reshaped
    dx_backward: np.ndarray    # (C_in, H, W): Conv2d backward's input gradient
    dx_transpose: np.ndarray   # (C_in, H, W): ConvTranspose2d forward of dy, same kernel


def compute(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, dy: np.ndarray,
            geometry: Geometry) -> ConvAsMatrix:
    """x (C_in, H, W), weight (C_out, C_in, kH, kW), bias (C_out,), dy (C_out, H_out, W_out):
    y = W x + b next to Conv2d(x), and W^T dy next to Conv2d's backward dx and
    ConvTranspose2d(dy)."""
    matrix, index = conv_matrix(weight, geometry)
    x64 = np.asarray(x, dtype=np.float64)
    dy64 = np.asarray(dy, dtype=np.float64)
    oh, ow = geometry.output_hw()
    bias64 = np.asarray(bias, dtype=np.float64)
    y_matrix = (matrix @ x64.ravel()).reshape(geometry.out_channels, oh, ow)
    y_matrix += bias64[:, None, None]
    conv = conv_layer(weight, bias64, geometry)
    y_conv, cache = conv.forward(x64[None])
    dx_backward, _ = conv.backward(dy64[None], cache)
    dx_transpose, _ = transpose_layer(weight, geometry).forward(dy64[None])
    dx_matrix = (matrix.T @ dy64.ravel()).reshape(x64.shape)
    return ConvAsMatrix(matrix, index, y_matrix, y_conv[0], dx_matrix, dx_backward[0],
                        dx_transpose[0])


def seeded_example(geometry: Geometry, seed: int) -> tuple[np.ndarray, ...]:
    """Readable numbers for the lesson: x in 0..4, kernel weights in -2..2 (never all zero),
    bias in -1..1 and dy in -2..2, all small integers (so every product is exact), from
    `seed`. Returns (x, weight, bias, dy)."""
    g = geometry
    rng = np.random.default_rng(seed)
    oh, ow = g.output_hw()
    x = rng.integers(0, 5, size=(g.in_channels, g.height, g.width)).astype(np.float64)
    weight = rng.integers(-2, 3, size=(g.out_channels, g.in_channels, *g.kernel))
    weight = np.where(weight == 0, 1, weight).astype(np.float64)  # every tap visible
    bias = rng.integers(-1, 2, size=g.out_channels).astype(np.float64)
    dy = rng.integers(-2, 3, size=(g.out_channels, oh, ow)).astype(np.float64)
    return x, weight, bias, dy
