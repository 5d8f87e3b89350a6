"""Shape arithmetic and the two index-free primitives every windowed layer shares.

`windows` gathers (im2col as a strided view, no copy); `scatter_windows` is its adjoint
(col2im). A convolution's forward is a gather, its input gradient a scatter; a transposed
convolution is the other way round; pooling gathers forward and scatters backward.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided, sliding_window_view

from app.nn.depthwise import depthwise_input_grad, depthwise_weight_grad
from app.nn.threads import (  # noqa: F401 - set/get_num_threads, batch_chunks re-exported
    batch_chunks,
    get_num_threads,
    row_parts,
    run_chunks,
    set_num_threads,
    single_threaded,
    split_batch,
)

Pair = tuple[int, int]

# Depthwise convolutions with one output per input channel compute two of their three
# products tap by tap (app.nn.depthwise) instead of by im2col + batched one-row matmuls:
# the input gradient by scatter, and the weight gradient at stride 1. Same-run A/B, CPU
# time, float32, 3x3: input gradient (64, 32, 58, 58) 131 -> 52 ms, (16, 64, 57, 57) stride 2
# 19 -> 12 ms; weight gradient at stride 1 31 -> 16 ms. The forward pass stayed with im2col
# (30 -> 36 ms tap by tap), as did the weight gradient at stride 2 (5.9 -> 7.5 ms).
TAPWISE = True


def tapwise(in_per_group: int, out_per_group: int) -> bool:
    return TAPWISE and in_per_group == 1 and out_per_group == 1



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


def _scratch(chunk: slice, values_per_item: int, dtype) -> np.ndarray:
    """Scratch for a chunk's `values_per_item` values per item. Allocated per call: a
    per-thread reused buffer made no measurable difference (same-run A/B, bench/results.md)."""
    return np.empty((chunk.stop - chunk.start) * values_per_item, dtype)


def im2col(
    xp: np.ndarray, kernel: Pair, stride: Pair, dilation: Pair, out_size: Pair,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """Contiguous (N, C*kH*kW, H_out*W_out) copy of the windows of an already padded x.

    Rows are ordered (c, a, b) like a weight's (C_in, kH, kW) axes, columns (i, j) like an
    NCHW plane, so `weight.reshape(C_out, -1) @ cols` is the convolution, already NCHW.
    `out`, if given, is scratch with room for N*C*kH*kW*H_out*W_out values of xp's dtype.
    """
    n, c = xp.shape[:2]
    (kh, kw), (oh, ow) = kernel, out_size
    shape = (n, c, kh, kw, oh, ow)
    cols = np.empty(shape, xp.dtype) if out is None else out.ravel()[: np.prod(shape)]
    cols = cols.reshape(shape)
    cols[...] = windows(xp, kernel, stride, dilation, out_size).transpose(0, 1, 4, 5, 2, 3)
    return cols.reshape(n, c * kh * kw, oh * ow)


def correlate(
    xp: np.ndarray, weight: np.ndarray, stride: Pair, dilation: Pair, out_size: Pair,
    groups: int = 1,
) -> np.ndarray:
    """Cross-correlation of an already padded xp (N, C_in, H, W) with weight
    (C_out, C_in/groups, kH, kW) -> (N, C_out, H_out, W_out): one im2col and one matmul per
    chunk. With groups > 1 the matmul is batched over a group axis: group g's C_out/groups
    outputs read only its C_in/groups inputs (depthwise: groups = C_in, one channel each),
    with no block-diagonal weight built."""
    n, c_out = xp.shape[0], weight.shape[0]
    oh, ow = out_size
    parts = row_parts(n, oh, n * weight.size * oh * ow)
    if len(parts) > 1 and groups == 1 and oh * ow < SMALL_PLANE and c_out >= 32 * len(parts):
        return _correlate_by_channels(xp, weight, stride, dilation, out_size, len(parts))
    if len(parts) > 1:
        return _correlate_by_rows(xp, weight, stride, dilation, out_size, groups, parts)
    rows_follow = xp.strides[2] == xp.shape[3] * xp.strides[3]  # one flat run per plane
    if stride == (1, 1) and groups == 1 and rows_follow and rows_pay_off(c_out, ow, xp.shape[3]):
        return correlate_rows(xp, weight, dilation, out_size)
    w2d = np.ascontiguousarray(weight).reshape(c_out, -1)
    w3d = w2d.reshape(groups, c_out // groups, w2d.shape[1])
    y = np.empty((n, c_out, oh * ow), np.result_type(xp, weight))
    values = groups * w2d.shape[1] * oh * ow

    def work(chunk: slice) -> None:
        buffer = _scratch(chunk, values, xp.dtype)
        cols = im2col(xp[chunk], weight.shape[2:], stride, dilation, out_size, buffer)
        if groups == 1:
            np.matmul(w2d, cols, out=y[chunk])
        else:
            m = cols.shape[0]
            out = y[chunk].reshape(m, groups, c_out // groups, oh * ow)
            np.matmul(w3d, cols.reshape(m, groups, -1, oh * ow), out=out)

    run_chunks(work, *split_batch(n, values * xp.itemsize, n * c_out // groups * values))
    return y.reshape(n, c_out, oh, ow)


# Below this many output pixels, a call too small in batch to split is split by output
# channels instead of output rows: each part then reads its share of the kernel, which is
# what a small plane's product spends its time on (a 512-channel 3x3 conv on 7x7 planes, batch 1,
# 2 threads: 2.26 ms in two row bands, as on one thread), at the price of an im2col each.
SMALL_PLANE = 32 * 32


def _correlate_by_channels(xp, weight, stride, dilation, out_size, parts: int) -> np.ndarray:
    """`correlate` for groups = 1 as blocks of output channels computed side by side."""
    c_out = weight.shape[0]
    bounds = [c_out * k // parts for k in range(parts + 1)]
    blocks = [slice(bounds[k], bounds[k + 1]) for k in range(parts)]
    y = np.empty((xp.shape[0], c_out, *out_size), np.result_type(xp, weight))

    def block(channels: slice) -> None:
        with single_threaded():
            y[:, channels] = correlate(xp, weight[channels], stride, dilation, out_size)

    run_chunks(block, blocks, parts)
    return y


def _correlate_by_rows(xp, weight, stride, dilation, out_size, groups, parts) -> np.ndarray:
    """`correlate` as bands of output rows computed side by side (row_parts): band
    [r0, r1) reads input rows [r0*sH, (r1-1)*sH + dH*(kH-1) + 1) and is a correlation of
    its own, written into its rows of the output."""
    (sh, _), (dh, _), kh = stride, dilation, weight.shape[2]
    y = np.empty((xp.shape[0], weight.shape[0], *out_size), np.result_type(xp, weight))

    def band(rows: slice) -> None:
        with single_threaded():
            top, bottom = rows.start * sh, (rows.stop - 1) * sh + dh * (kh - 1) + 1
            y[:, :, rows] = correlate(
                xp[:, :, top:bottom], weight, stride, dilation,
                (rows.stop - rows.start, out_size[1]), groups,
            )

    run_chunks(band, parts, len(parts))
    return y


def rows_pay_off(c_out: int, out_w: int, padded_w: int) -> bool:
    """Whether correlate_rows beats im2col for a stride-1 correlation: it computes
    padded_w - out_w wasted columns per output row, which costs matmul work in proportion
    to C_out, and saves the short-row copies of im2col. Same-run A/B, float32, CPU time:
    1.13-1.5x faster at C_out <= 64 (LeNet, TinyVGG, a 64-channel 56x56 ResNet layer), 0.93x
    at 256 channels on 14x14; the rule keeps the latter on im2col."""
    return c_out * (padded_w - out_w) <= 8 * out_w


def correlate_rows(
    xp: np.ndarray, weight: np.ndarray, dilation: Pair, out_size: Pair
) -> np.ndarray:
    """`correlate` at stride 1, groups 1, computed on whole padded rows: output (i, j) for
    j < W_pad is flat position i*W_pad + j of each plane, and the tap (c, a, b) reads flat
    position i*W_pad + j + a*dH*W_pad + b*dW. So each im2col row is one contiguous run of
    the flat input ((H_out - 1)*W_pad + W_out values) and the copy moves long runs instead
    of W_out-long rows. The matmul also computes the W_pad - W_out columns past each
    output row's end, which are dropped. Needs each plane's rows one after another in
    memory (strides[2] == W_pad * strides[3]), as pad2d makes them."""
    n, c, _, wp = xp.shape
    c_out, _, kh, kw = weight.shape
    (oh, ow), (dh, dw) = out_size, dilation
    length = (oh - 1) * wp + ow
    w2d = np.ascontiguousarray(weight).reshape(c_out, -1)
    y = np.empty((n, c_out, oh, ow), np.result_type(xp, weight))
    values = c * kh * kw * length
    sn, sc, sh, sw = xp.strides

    def work(chunk: slice) -> None:
        x = xp[chunk]
        m = x.shape[0]
        taps = as_strided(x, (m, c, kh, kw, length), (sn, sc, sh * dh, sw * dw, sw),
                          writeable=False)
        cols = _scratch(chunk, values, xp.dtype).reshape(m, c, kh, kw, length)
        cols[...] = taps
        wide = np.empty((m, c_out, oh * wp), y.dtype)
        np.matmul(w2d, cols.reshape(m, -1, length), out=wide[:, :, :length])
        y[chunk] = wide.reshape(m, c_out, oh, wp)[..., :ow]

    run_chunks(work, *split_batch(n, values * xp.itemsize, n * c_out * values))
    return y


def correlate_weight_grad(
    xp: np.ndarray, dy: np.ndarray, kernel: Pair, stride: Pair, dilation: Pair,
    groups: int = 1,
) -> np.ndarray:
    """Gradient of `correlate` with respect to its weight: xp (N, C_in, H, W) and
    dy (N, C_out, H_out, W_out) -> (C_out, C_in/groups, kH, kW), im2col'd per chunk again."""
    n, c_in = xp.shape[:2]
    if stride == (1, 1) and tapwise(c_in // groups, dy.shape[1] // groups):
        return depthwise_weight_grad(xp, dy, kernel, stride, dilation)
    c_out, oh, ow = dy.shape[1:]
    (kh, kw) = kernel
    rows = c_in * kh * kw
    if groups == 1 and c_out * rows >= LARGE_WEIGHT_GRAD:
        return _large_weight_grad(xp, dy, kernel, stride, dilation).reshape(c_out, c_in, kh, kw)
    dy3 = np.ascontiguousarray(dy).reshape(n, c_out, oh * ow)
    g = groups

    def work(chunk: slice) -> np.ndarray:
        # cols @ dy^T (the transposed gradient) runs ~1.5x faster in BLAS than dy @ cols^T
        # for these shapes: the long H_out*W_out axis is the reduction either way.
        buffer = _scratch(chunk, rows * oh * ow, xp.dtype)
        cols = im2col(xp[chunk], kernel, stride, dilation, (oh, ow), buffer)
        if g == 1:
            return np.matmul(cols, dy3[chunk].transpose(0, 2, 1)).sum(axis=0)
        m = cols.shape[0]
        cols_g = cols.reshape(m, g, rows // g, oh * ow)
        dy_g = dy3[chunk].reshape(m, g, c_out // g, oh * ow).transpose(0, 1, 3, 2)
        return np.matmul(cols_g, dy_g).sum(axis=0)

    macs = n * c_out // g * rows * oh * ow
    grad_t = sum(run_chunks(work, *split_batch(n, rows * oh * ow * xp.itemsize, macs)))
    grad = grad_t.T if g == 1 else grad_t.transpose(0, 2, 1)
    return np.ascontiguousarray(grad).reshape(c_out, c_in // g, kh, kw)


# From this many weight values (C_out * C_in*kH*kW) on, the weight gradient is computed as
# dy @ cols^T, item by item, straight into its (C_out, C_in*kH*kW) layout: transposing a
# (C_in*kH*kW, C_out) result costs more than the product for a ResNet's 256- and 512-channel
# layers (same-run, float32, 1 thread: 512 channels on 7x7, 21.2 -> 1.7 ms; 256 on 14x14,
# 1.0 -> 0.64 ms; 64 and 128 channels within 5 % either way).
LARGE_WEIGHT_GRAD = 1 << 17


def _large_weight_grad(
    xp: np.ndarray, dy: np.ndarray, kernel: Pair, stride: Pair, dilation: Pair
) -> np.ndarray:
    """correlate_weight_grad for groups = 1 as (C_out, C_in*kH*kW), from dy
    (N, C_out, H_out, W_out): each batch item's im2col and one product accumulated in
    place, so no per-item partial is kept. The batch is cut into one chunk per thread share
    (a single chunk on one thread); the chunks' sums are added in chunk order."""
    n, c_out, oh, ow = dy.shape
    rows = xp.shape[1] * kernel[0] * kernel[1]
    dtype = np.result_type(xp, dy)

    def work(chunk: slice) -> np.ndarray:
        total = np.zeros((c_out, rows), dtype)
        product = np.empty_like(total)
        buffer = np.empty(rows * oh * ow, xp.dtype)
        for item in range(chunk.start, chunk.stop):
            cols = im2col(xp[item : item + 1], kernel, stride, dilation, (oh, ow), buffer)
            total += np.matmul(dy[item].reshape(c_out, -1), cols[0].T, out=product)
        return total

    # One byte per item: split_batch then cuts one chunk, or CHUNKS_PER_THREAD per thread.
    parts = run_chunks(work, *split_batch(n, 1, n * c_out * rows * oh * ow))
    total = parts[0]
    for part in parts[1:]:
        total += part
    return total


def correlate_input_grad(
    dy: np.ndarray, weight: np.ndarray, padded_size: Pair, stride: Pair, dilation: Pair,
    groups: int = 1,
) -> np.ndarray:
    """Gradient of `correlate` with respect to its padded input: dy (N, C_out, H_out, W_out)
    and weight (C_out, C_in/groups, kH, kW) -> (N, C_in, H_pad, W_pad).

    The delta rule: an input pixel's delta is the sum, over every output it touched, of that
    output's delta times the joining weight. Per chunk, one matmul weight^T @ dy gives each
    window's C_in*kH*kW shares, and the kH*kW taps scatter them back onto the plane.
    """
    n, c_out, oh, ow = dy.shape
    _, c_group, kh, kw = weight.shape
    c_in = c_group * groups
    if tapwise(c_group, c_out // groups):
        return depthwise_input_grad(dy, weight, c_in, padded_size, stride, dilation)
    rows = c_in * kh * kw
    # (groups, C_in/groups*kH*kW, C_out/groups): one transposed block per group.
    w3d_t = np.ascontiguousarray(weight).reshape(groups, c_out // groups, -1).transpose(0, 2, 1)
    w2d_t = w3d_t[0]
    dy3 = np.ascontiguousarray(dy).reshape(n, c_out, oh * ow)
    dtype = np.result_type(dy, weight)
    dxp = np.zeros((n, c_in, *padded_size), dtype)

    def work(chunk: slice) -> None:
        shares = _scratch(chunk, rows * oh * ow, dtype)
        if groups == 1:
            shares = np.matmul(w2d_t, dy3[chunk], out=shares.reshape(-1, rows, oh * ow))
        else:
            dy_g = dy3[chunk].reshape(-1, groups, c_out // groups, oh * ow)
            out = shares.reshape(-1, groups, rows // groups, oh * ow)
            shares = np.matmul(w3d_t, dy_g, out=out)
        shares = shares.reshape(-1, c_in, kh, kw, oh, ow).transpose(0, 1, 4, 5, 2, 3)
        scatter_windows(shares, padded_size, stride, dilation, out=dxp[chunk])

    macs = n * c_out // groups * rows * oh * ow
    run_chunks(work, *split_batch(n, rows * oh * ow * dtype.itemsize, macs))
    return dxp


def scatter_windows(
    cols: np.ndarray, padded_size: Pair, stride: Pair, dilation: Pair,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """Adjoint of `windows`: sum window values (N, C, H_out, W_out, kH, kW) back into a
    zero (N, C, H_pad, W_pad) plane, or add them to `out`. Overlapping windows accumulate.

    Loops over the kH*kW kernel taps only; each tap is one strided slice-add over all pixels.
    """
    n, c, oh, ow, kh, kw = cols.shape
    (sh, sw), (dh, dw) = stride, dilation
    if out is None:
        out = np.zeros((n, c, *padded_size), dtype=cols.dtype)
    for a in range(kh):
        rows = slice(a * dh, a * dh + (oh - 1) * sh + 1, sh)
        for b in range(kw):
            out[:, :, rows, b * dw : b * dw + (ow - 1) * sw + 1 : sw] += cols[:, :, :, :, a, b]
    return out
