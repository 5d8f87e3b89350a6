"""Brute-force loop references of the windowed layers, written from their definitions.

Slow on purpose: one Python loop per index, no shared code with app/nn, so that the vectorised
layers are checked against an independent reading of PyTorch's semantics. Tests only.
"""

from __future__ import annotations

import itertools
import math

import numpy as np


def out_size(n: int, k: int, s: int, p: int, d: int = 1, ceil_mode: bool = False) -> int:
    """PyTorch's output length, written out again here (docs of Conv2d and MaxPool2d)."""
    span = n + 2 * p - d * (k - 1) - 1
    out = (math.ceil(span / s) if ceil_mode else math.floor(span / s)) + 1
    if ceil_mode and (out - 1) * s >= n + p:
        out -= 1  # the last window must start inside the input or the left padding
    return out


def conv2d(x, weight, bias, stride, padding, dilation):
    """y[n, o, i, j] = b[o] + sum_{c,a,b} x_pad[n, c, i*sH + a*dH, j*sW + b*dW] w[o, c, a, b]."""
    n, c_in, h, w = x.shape
    c_out, _, kh, kw = weight.shape
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    oh, ow = out_size(h, kh, sh, ph, dh), out_size(w, kw, sw, pw, dw)
    y = np.zeros((n, c_out, oh, ow))
    for b_, o, i, j in itertools.product(range(n), range(c_out), range(oh), range(ow)):
        total = 0.0 if bias is None else bias[o]
        for c, a, b in itertools.product(range(c_in), range(kh), range(kw)):
            row, col = i * sh - ph + a * dh, j * sw - pw + b * dw
            if 0 <= row < h and 0 <= col < w:
                total += x[b_, c, row, col] * weight[o, c, a, b]
        y[b_, o, i, j] = total
    return y


def conv_transpose2d(x, weight, bias, stride, padding, output_padding, dilation):
    """Each input pixel (i, j) adds x * w[c, o, a, b] to output (i*s - p + a*d, j*s - p + b*d),
    when that lands inside H_out = (H - 1)s - 2p + d(k - 1) + output_padding + 1."""
    n, c_in, h, w = x.shape
    _, c_out, kh, kw = weight.shape
    (sh, sw), (ph, pw), (oph, opw), (dh, dw) = stride, padding, output_padding, dilation
    oh = (h - 1) * sh - 2 * ph + dh * (kh - 1) + oph + 1
    ow = (w - 1) * sw - 2 * pw + dw * (kw - 1) + opw + 1
    y = np.zeros((n, c_out, oh, ow))
    if bias is not None:
        y += np.asarray(bias)[None, :, None, None]
    for b_, c, i, j, o, a, b in itertools.product(
        range(n), range(c_in), range(h), range(w), range(c_out), range(kh), range(kw)
    ):
        row, col = i * sh - ph + a * dh, j * sw - pw + b * dw
        if 0 <= row < oh and 0 <= col < ow:
            y[b_, o, row, col] += x[b_, c, i, j] * weight[c, o, a, b]
    return y


def max_pool2d(x, kernel, stride, padding, ceil_mode):
    """(y, indices): per output, the max over the in-bounds window cells (padding is -inf) and
    the flat index row*W + col of the first maximum in row-major order."""
    n, c, h, w = x.shape
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    oh, ow = out_size(h, kh, sh, ph, 1, ceil_mode), out_size(w, kw, sw, pw, 1, ceil_mode)
    y = np.zeros((n, c, oh, ow))
    indices = np.zeros((n, c, oh, ow), dtype=np.int64)
    for b_, ch, i, j in itertools.product(range(n), range(c), range(oh), range(ow)):
        best, best_index = -np.inf, -1
        for a, b in itertools.product(range(kh), range(kw)):
            row, col = i * sh - ph + a, j * sw - pw + b
            if 0 <= row < h and 0 <= col < w and x[b_, ch, row, col] > best:
                best, best_index = x[b_, ch, row, col], row * w + col
        y[b_, ch, i, j], indices[b_, ch, i, j] = best, best_index
    return y, indices


def avg_pool2d(x, kernel, stride, padding, ceil_mode, count_include_pad):
    """PyTorch's avg_pool2d: the window is clipped to the padded input for the divisor when
    count_include_pad, to the input itself otherwise; cells past the padding never count."""
    n, c, h, w = x.shape
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    oh, ow = out_size(h, kh, sh, ph, 1, ceil_mode), out_size(w, kw, sw, pw, 1, ceil_mode)
    y = np.zeros((n, c, oh, ow))
    for b_, ch, i, j in itertools.product(range(n), range(c), range(oh), range(ow)):
        r0, c0 = i * sh - ph, j * sw - pw
        r1, c1 = min(r0 + kh, h + ph), min(c0 + kw, w + pw)
        padded_count = (r1 - r0) * (c1 - c0)
        r0, c0, r1, c1 = max(r0, 0), max(c0, 0), min(r1, h), min(c1, w)
        total = x[b_, ch, r0:r1, c0:c1].sum()
        y[b_, ch, i, j] = total / (padded_count if count_include_pad else (r1 - r0) * (c1 - c0))
    return y


def grouped_conv2d(x, weight, bias, stride, padding, dilation, groups):
    """Grouped convolution from its definition: output channel o reads input channels
    [g*C_in/G, (g+1)*C_in/G), g = o // (C_out/G), with weight[o, c - g*C_in/G]."""
    n, c_in, h, w = x.shape
    c_out, c_group, kh, kw = weight.shape
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    oh, ow = out_size(h, kh, sh, ph, dh), out_size(w, kw, sw, pw, dw)
    per_group_out = c_out // groups
    y = np.zeros((n, c_out, oh, ow))
    for b_, o, i, j in itertools.product(range(n), range(c_out), range(oh), range(ow)):
        g = o // per_group_out
        total = 0.0 if bias is None else bias[o]
        for cl, a, b in itertools.product(range(c_group), range(kh), range(kw)):
            row, col = i * sh - ph + a * dh, j * sw - pw + b * dw
            if 0 <= row < h and 0 <= col < w:
                total += x[b_, g * c_group + cl, row, col] * weight[o, cl, a, b]
        y[b_, o, i, j] = total
    return y


def grouped_conv_transpose2d(x, weight, bias, stride, padding, output_padding, dilation, groups):
    """Input channel c (group g = c // (C_in/G)) stamps x * w[c, ol] into output channel
    g*C_out/G + ol."""
    n, c_in, h, w = x.shape
    _, c_group, kh, kw = weight.shape
    (sh, sw), (ph, pw), (oph, opw), (dh, dw) = stride, padding, output_padding, dilation
    oh = (h - 1) * sh - 2 * ph + dh * (kh - 1) + oph + 1
    ow = (w - 1) * sw - 2 * pw + dw * (kw - 1) + opw + 1
    y = np.zeros((n, c_group * groups, oh, ow))
    if bias is not None:
        y += np.asarray(bias)[None, :, None, None]
    in_group = c_in // groups
    for b_, c, i, j, ol, a, b in itertools.product(
        range(n), range(c_in), range(h), range(w), range(c_group), range(kh), range(kw)
    ):
        row, col = i * sh - ph + a * dh, j * sw - pw + b * dw
        if 0 <= row < oh and 0 <= col < ow:
            y[b_, (c // in_group) * c_group + ol, row, col] += x[b_, c, i, j] * weight[c, ol, a, b]
    return y


def adaptive_window(i: int, size: int, out: int) -> tuple[int, int]:
    """torch's adaptive window: [floor(i*size/out), ceil((i+1)*size/out))."""
    return math.floor(i * size / out), math.ceil((i + 1) * size / out)


def adaptive_pool2d(x, output_size, op: str):
    """(y, indices): mean or max over each adaptive window; indices (max only) the flat
    row*W + col of the first maximum in row-major order."""
    n, c, h, w = x.shape
    oh, ow = output_size
    y = np.zeros((n, c, oh, ow))
    indices = np.zeros((n, c, oh, ow), dtype=np.int64)
    for b_, ch, i, j in itertools.product(range(n), range(c), range(oh), range(ow)):
        r0, r1 = adaptive_window(i, h, oh)
        c0, c1 = adaptive_window(j, w, ow)
        if op == "avg":
            y[b_, ch, i, j] = x[b_, ch, r0:r1, c0:c1].sum() / ((r1 - r0) * (c1 - c0))
            continue
        best, best_index = -np.inf, -1
        for row, col in itertools.product(range(r0, r1), range(c0, c1)):
            if x[b_, ch, row, col] > best:
                best, best_index = x[b_, ch, row, col], row * w + col
        y[b_, ch, i, j], indices[b_, ch, i, j] = best, best_index
    return y, indices


def zero_pad2d(x, left, right, top, bottom):
    n, c, h, w = x.shape
    y = np.zeros((n, c, h + top + bottom, w + left + right))
    for b_, ch, i, j in itertools.product(range(n), range(c), range(h), range(w)):
        y[b_, ch, i + top, j + left] = x[b_, ch, i, j]
    return y


def batch_norm2d(x, weight, bias, mean, var, eps):
    """y = (x - mean) / sqrt(var + eps) * weight + bias, channel by channel."""
    y = np.zeros_like(x, dtype=np.float64)
    for ch in range(x.shape[1]):
        gamma = 1.0 if weight is None else weight[ch]
        beta = 0.0 if bias is None else bias[ch]
        y[:, ch] = (x[:, ch] - mean[ch]) / math.sqrt(var[ch] + eps) * gamma + beta
    return y
