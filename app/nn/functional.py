"""Shape arithmetic and the two index-free primitives every windowed layer shares.

`windows` gathers (im2col as a strided view, no copy); `scatter_windows` is its adjoint
(col2im). A convolution's forward is a gather, its input gradient a scatter; a transposed
convolution is the other way round; pooling gathers forward and scatters backward.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

Pair = tuple[int, int]


def pair(value: int | tuple[int, int] | list[int], name: str = "value") -> Pair:
    """An int or a pair of ints -> a (height, width) pair of Python ints."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return (int(value), int(value))
    if isinstance(value, (tuple, list)) and len(value) == 2:
        if all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in value):
            return (int(value[0]), int(value[1]))
    raise TypeError(f"{name} must be an int or a pair of ints, got {value!r}")


def conv_output_size(
    size: int, kernel: int, stride: int = 1, padding: int = 0, dilation: int = 1,
    ceil_mode: bool = False,
) -> int:
    """Output length along one axis, PyTorch's arithmetic (Dumoulin & Visin, relation 15).

    floor((n + 2p - d(k-1) - 1) / s) + 1, or ceil(...) with ceil_mode, where a last window
    that would start in the right padding is dropped (PyTorch's pooling rule).
    """
    span = size + 2 * padding - dilation * (kernel - 1) - 1
    if span < 0:
        return 0
    if ceil_mode:
        out = -(-span // stride) + 1
        if (out - 1) * stride >= size + padding:
            out -= 1
        return out
    return span // stride + 1


def conv_transpose_output_size(
    size: int, kernel: int, stride: int = 1, padding: int = 0, output_padding: int = 0,
    dilation: int = 1,
) -> int:
    """(n - 1)s - 2p + d(k-1) + output_padding + 1 (Dumoulin & Visin, relation 14)."""
    return (size - 1) * stride - 2 * padding + dilation * (kernel - 1) + output_padding + 1


def pad2d(x: np.ndarray, pad: tuple[int, int, int, int], value: float = 0.0) -> np.ndarray:
    """Pad the last two axes by (top, bottom, left, right); returns x itself when all are 0."""
    top, bottom, left, right = pad
    if not (top or bottom or left or right):
        return x
    n, c, h, w = x.shape
    out = np.full((n, c, h + top + bottom, w + left + right), value, dtype=x.dtype)
    out[:, :, top : top + h, left : left + w] = x
    return out


def windows(
    x: np.ndarray, kernel: Pair, stride: Pair, dilation: Pair, out_size: Pair
) -> np.ndarray:
    """Strided view (N, C, H_out, W_out, kH, kW) of the windows of an already padded x.

    window[n, c, i, j, a, b] = x[n, c, i*sH + a*dH, j*sW + b*dW]. No copy is made.
    """
    (kh, kw), (sh, sw), (dh, dw), (oh, ow) = kernel, stride, dilation, out_size
    span_h, span_w = dh * (kh - 1) + 1, dw * (kw - 1) + 1
    view = sliding_window_view(x, (span_h, span_w), axis=(2, 3))
    return view[:, :, : (oh - 1) * sh + 1 : sh, : (ow - 1) * sw + 1 : sw, ::dh, ::dw]


def scatter_windows(
    cols: np.ndarray, padded_size: Pair, stride: Pair, dilation: Pair
) -> np.ndarray:
    """Adjoint of `windows`: sum window values (N, C, H_out, W_out, kH, kW) back into a
    zero (N, C, H_pad, W_pad) plane. Overlapping windows accumulate.

    Loops over the kH*kW kernel taps only; each tap is one strided slice-add over all pixels.
    """
    n, c, oh, ow, kh, kw = cols.shape
    (sh, sw), (dh, dw) = stride, dilation
    out = np.zeros((n, c, *padded_size), dtype=cols.dtype)
    for a in range(kh):
        rows = slice(a * dh, a * dh + (oh - 1) * sh + 1, sh)
        for b in range(kw):
            out[:, :, rows, b * dw : b * dw + (ow - 1) * sw + 1 : sw] += cols[:, :, :, :, a, b]
    return out
