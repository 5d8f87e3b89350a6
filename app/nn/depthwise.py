"""Depthwise convolution's gradients without im2col: each output channel reads one input
channel (weight (C_out, 1, kH, kW), C_out = m*C_in, groups = C_in), so each kernel tap
joins one strided view of the input to the output plane with one weight per channel.

The weight gradient is then kH*kW reductions of dy against a tap's view, and the input
gradient kH*kW multiply-adds of dy onto a tap's view, where im2col would copy kH*kW shifted
planes and run batched matmuls one row tall. They mirror functional.correlate_weight_grad
and correlate_input_grad for that case (functional.TAPWISE says where each one is used),
batch-split over the core's threads the same way. The forward pass stays with im2col: tap
by tap it was slower (its many short strided multiply-adds against one matmul per chunk).
"""

from __future__ import annotations

import numpy as np

from app.nn.threads import run_chunks, split_batch

Pair = tuple[int, int]


def _tap(x: np.ndarray, a: int, b: int, stride: Pair, dilation: Pair, out_size: Pair):
    """x[:, :, i*sH + a*dH, j*sW + b*dW] for every output (i, j): a strided view, no copy."""
    (sh, sw), (dh, dw), (oh, ow) = stride, dilation, out_size
    rows = slice(a * dh, a * dh + (oh - 1) * sh + 1, sh)
    return x[:, :, rows, b * dw : b * dw + (ow - 1) * sw + 1 : sw]


def _bytes_per_item(channels: int, out_size: Pair, dtype) -> int:
    # An output chunk and the temporary of the same size both stay in cache.
    return 2 * channels * out_size[0] * out_size[1] * np.dtype(dtype).itemsize


def depthwise_weight_grad(
    xp: np.ndarray, dy: np.ndarray, kernel: Pair, stride: Pair, dilation: Pair
) -> np.ndarray:
    """Gradient of a depthwise correlation with respect to its weight: xp (N, C_in, H, W)
    padded, dy (N, m*C_in, H_out, W_out) -> (m*C_in, 1, kH, kW);
    per tap, the sum over batch and output plane of dy times the tap's view."""
    n, c_in = xp.shape[:2]
    c_out, oh, ow = dy.shape[1:]
    (kh, kw), m = kernel, c_out // c_in
    dtype = np.result_type(xp, dy)
    dy5 = dy.reshape(n, c_in, m, oh, ow)

    def work(chunk: slice) -> np.ndarray:
        grad = np.empty((c_in, m, kh, kw), dtype)
        x, d = xp[chunk], dy5[chunk]
        for a in range(kh):
            for b in range(kw):
                view = _tap(x, a, b, stride, dilation, (oh, ow))
                grad[:, :, a, b] = np.einsum("ncmhw,nchw->cm", d, view)
        return grad

    macs = n * c_out * oh * ow * kh * kw
    chunks = split_batch(n, _bytes_per_item(c_out, (oh, ow), dtype), macs)
    return sum(run_chunks(work, *chunks)).reshape(c_out, 1, kh, kw)


def depthwise_input_grad(
    dy: np.ndarray, weight: np.ndarray, in_channels: int, padded_size: Pair, stride: Pair,
    dilation: Pair,
) -> np.ndarray:
    """Gradient of a depthwise correlation with respect to its padded input: dy
    (N, m*C_in, H_out, W_out), weight (m*C_in, 1, kH, kW) -> (N, C_in, H_pad, W_pad): each
    tap adds its weight times dy (summed over a channel's m outputs) onto the input pixels
    that tap read."""
    n, c_out, oh, ow = dy.shape
    _, _, kh, kw = weight.shape
    c_in, m = in_channels, c_out // in_channels
    dtype = np.result_type(dy, weight)
    w = weight.reshape(c_in, m, kh, kw).astype(dtype, copy=False)
    dy5 = dy.reshape(n, c_in, m, oh, ow)
    dxp = np.zeros((n, c_in, *padded_size), dtype)

    def work(chunk: slice) -> None:
        d, dst = dy5[chunk], dxp[chunk]
        tmp = np.empty((d.shape[0], c_in, oh, ow), dtype)
        for a in range(kh):
            for b in range(kw):
                if m == 1:
                    np.multiply(d[:, :, 0], w[:, 0, a, b, None, None], out=tmp)
                else:
                    np.einsum("ncmhw,cm->nchw", d, w[:, :, a, b], out=tmp)
                target = _tap(dst, a, b, stride, dilation, (oh, ow))
                target += tmp

    macs = n * c_out * oh * ow * kh * kw
    run_chunks(work, *split_batch(n, _bytes_per_item(c_out, (oh, ow), dtype), macs))
    return dxp
