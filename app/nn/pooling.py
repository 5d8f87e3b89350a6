"""Pooling: max and mean over fixed windows, and their adaptive forms (torch's window rule)."""

from __future__ import annotations

from typing import Any

import numpy as np

from app.nn.base import Layer, _Windowed
from app.nn.functional import Pair, pad2d, pair, scatter_windows, windows


class _Pool2d(_Windowed):
    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
                 dilation=1):
        super().__init__()
        self._set_geometry(
            kernel_size, kernel_size if stride is None else stride, padding, dilation
        )
        self.ceil_mode = bool(ceil_mode)
        if any(p > k // 2 for p, k in zip(self.padding, self.kernel_size, strict=True)):
            raise ValueError(
                f"padding {self.padding} must be at most half of kernel_size {self.kernel_size}"
            )

    def config(self) -> dict[str, Any]:
        config = {
            "kernel_size": list(self.kernel_size), "stride": list(self.stride),
            "padding": list(self.padding), "ceil_mode": self.ceil_mode,
        }
        if self.dilation != (1, 1):  # left out at 1, so the bundled models' configs are unchanged
            config["dilation"] = list(self.dilation)
        return config

    def output_shape(self, input_shape):
        n, c, h, w = input_shape
        return (n, c, *self._out_hw(h, w, self.ceil_mode))

    def _padded(self, x: np.ndarray, value: float) -> tuple[np.ndarray, Pair]:
        """x padded by `padding`, plus whatever ceil_mode's last windows reach past it."""
        oh, ow = self._out_hw(*x.shape[2:], self.ceil_mode)
        (ph, pw), (sh, sw), (kh, kw), (dh, dw) = (
            self.padding, self.stride, self.kernel_size, self.dilation
        )
        extra_h = max(0, (oh - 1) * sh + dh * (kh - 1) + 1 - (x.shape[2] + 2 * ph))
        extra_w = max(0, (ow - 1) * sw + dw * (kw - 1) + 1 - (x.shape[3] + 2 * pw))
        return pad2d(x, (ph, ph + extra_h, pw, pw + extra_w), value), (oh, ow)


class MaxPool2d(_Pool2d):
    """Max pooling, like torch.nn.MaxPool2d(..., return_indices=True); `dilation` spaces
    the window's taps as in a dilated convolution.

    x (N, C, H, W) -> y (N, C, H_out, W_out). The cache holds, per output, the flat index
    h*W + w of its winner in the (unpadded) input plane: the pooling mask. Ties go to the
    first maximum in row-major window order. Backward routes each window's delta to its
    winner only; overlapping windows accumulate.
    """

    kind = "maxpool2d"

    def _windows_tile(self, h: int, w: int) -> bool:
        """True in the common case -- stride == kernel, no padding, no ceil_mode overhang --
        where the windows tile the plane and each input cell lies in at most one window."""
        if self.stride != self.kernel_size or self.padding != (0, 0) or self.dilation != (1, 1):
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
        row-major window order (a NaN is not seen as a maximum: forward checks y).

        -> y (N, C, H_out, W_out) and each winner's offset a*width + b from its window's
        top-left cell, for a plane `width` cells wide.
        """
        (kh, kw), (n, c, h, w) = self.kernel_size, x.shape
        oh, ow = h // kh, w // kw
        taps = x.reshape(n, c, h, ow, kw)
        y, win_row, win_col = _running_max(
            lambda b: taps[..., b], kw,
            lambda values, a: values.reshape(n, c, oh, kh, ow)[:, :, :, a], kh,
        )
        offset = win_row.astype(np.intp) * width
        offset += win_col
        return np.ascontiguousarray(y), offset

    def forward(self, x):
        self._check_input(x, 4)
        n, c, h, w = x.shape
        kh, kw = self.kernel_size
        if self._windows_tile(h, w):
            oh, ow = self._out_hw(h, w, self.ceil_mode)
            y, indices = self._tiled_max(x[:, :, : oh * kh, : ow * kw], w)
            if not np.isnan(y).any():
                indices += self._corners(h, w, oh, ow)
                return y, (indices, x.shape)
        xp, (oh, ow) = self._padded(x, -np.inf)
        y, win_row, win_col = self._separable_max(xp, (oh, ow))
        if np.isnan(y).any():  # NaN wins its window, as in argmax: the tap-order pass below
            y, win_row, win_col = self._argmax(xp, (oh, ow))
        (sh, sw), (ph, pw), (dh, dw) = self.stride, self.padding, self.dilation
        rows = np.arange(oh)[:, None] * sh - ph + win_row * dh
        cols_ = np.arange(ow)[None, :] * sw - pw + win_col * dw
        indices = rows * w + cols_
        return y, (indices, x.shape)

    def _separable_max(self, xp: np.ndarray, out_size: Pair):
        """Max over (possibly overlapping) windows of a padded xp, separably: along each
        padded row first (kW strided views), then down the rows (kH strided views), so each
        step reads whole planes instead of argmax over a (..., kH*kW) window view. A NaN is
        not seen as a maximum (the caller checks y for NaN). -> y, the winner's tap row and
        tap column, each (N, C, H_out, W_out)."""
        (kh, kw), (sh, sw), (dh, dw), (oh, ow) = (
            self.kernel_size, self.stride, self.dilation, out_size
        )
        return _running_max(
            lambda b: xp[:, :, :, b * dw : b * dw + (ow - 1) * sw + 1 : sw], kw,
            lambda values, a: values[:, :, a * dh : a * dh + (oh - 1) * sh + 1 : sh], kh,
        )

    def _argmax(self, xp: np.ndarray, out_size: Pair):
        """_separable_max by argmax over each window's taps: a NaN is the maximum of its
        window (the first one in row-major order), as in torch."""
        (n, c), (kh, kw), (oh, ow) = xp.shape[:2], self.kernel_size, out_size
        cols = windows(xp, self.kernel_size, self.stride, self.dilation, (oh, ow))
        flat = cols.reshape(n, c, oh, ow, kh * kw)
        arg = flat.argmax(axis=-1)
        y = np.take_along_axis(flat, arg[..., None], axis=-1)[..., 0]
        return y, arg // kw, arg % kw

    def winners(self, cache):
        return cache[0]

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


def _running_max(column, kw: int, row, kh: int):
    """The max over a window's kH x kW taps, separably, and where it is: `column(b)` is
    every row's tap b (N, C, H', W_out), `row(values, a)` picks tap row a of such an array
    (-> (N, C, H_out, W_out)). A strict > keeps the first maximum in row-major window order.
    -> y, the winning tap's row and column (small ints). The winners are updated with
    integer arithmetic (idx += better * (k - idx)): NumPy's where() took 1.5 ms where
    this takes 0.02 ms on a (64, 114, 56) plane."""
    small = np.int8 if max(kh, kw) < 128 else np.intp
    row_max = column(0)
    row_arg = np.zeros(row_max.shape, small)
    for b in range(1, kw):
        better = (column(b) > row_max).view(np.int8).astype(small, copy=False)
        row_max = np.maximum(row_max, column(b))
        row_arg += better * (small(b) - row_arg)
    y, win_col = row(row_max, 0), row(row_arg, 0).copy()
    win_row = np.zeros(win_col.shape, small)
    for a in range(1, kh):
        better = (row(row_max, a) > y).view(np.int8).astype(small, copy=False)
        y = np.maximum(y, row(row_max, a))
        win_col += better * (row(row_arg, a) - win_col)
        win_row += better * (small(a) - win_row)
    return np.ascontiguousarray(y), win_row, win_col


class AvgPool2d(_Pool2d):
    """Mean pooling (LeCun 1998's subsampling without its trainable gain), like torch's.

    x (N, C, H, W) -> y (N, C, H_out, W_out). Backward splits each window's delta evenly
    over the window. With count_include_pad the explicit padding counts towards
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


def adaptive_windows(size: int, out: int) -> tuple[np.ndarray, np.ndarray]:
    """torch's adaptive pooling windows along one axis: window i covers
    [floor(i*size/out), ceil((i+1)*size/out)). -> (starts, ends), each (out,)."""
    i = np.arange(out)
    return (i * size) // out, -((-(i + 1) * size) // out)


class _AdaptivePool2d(Layer):
    def __init__(self, output_size):
        super().__init__()
        self.output_size: Pair = pair(output_size, "output_size")
        if min(self.output_size) < 1:
            raise ValueError(f"output_size must be >= 1, got {self.output_size}")

    def config(self) -> dict[str, Any]:
        return {"output_size": list(self.output_size)}

    def output_shape(self, input_shape):
        return (*input_shape[:2], *self.output_size)

    def _check(self, x: np.ndarray) -> None:
        self._check_input(x, 4)
        if min(x.shape[2:]) < 1:
            raise ValueError(f"{self.kind} needs a non-empty plane, got shape {x.shape}")


class AdaptiveAvgPool2d(_AdaptivePool2d):
    """Mean over torch's adaptive windows (they may overlap when the output does not divide
    the input), like torch.nn.AdaptiveAvgPool2d. x (N, C, H, W) -> y (N, C, oH, oW);
    output_size 1 is global average pooling.

    The windows are a product of row and column windows, so y = A_h x A_w^T with A_h (oH, H)
    holding 1/len on window i's rows; backward is dx = A_h^T dy A_w (each window's delta
    spread evenly over its cells, overlaps summed).
    """

    kind = "adaptiveavgpool2d"

    @staticmethod
    def _averaging(size: int, out: int, dtype) -> np.ndarray:
        starts, ends = adaptive_windows(size, out)
        cells = np.arange(size)
        inside = (cells >= starts[:, None]) & (cells < ends[:, None])
        return (inside / (ends - starts)[:, None]).astype(dtype)

    def forward(self, x):
        self._check(x)
        (h, w), (oh, ow) = x.shape[2:], self.output_size
        a_h, a_w = self._averaging(h, oh, x.dtype), self._averaging(w, ow, x.dtype)
        return np.ascontiguousarray((a_h @ x) @ a_w.T), (a_h, a_w)

    def backward(self, dy, cache):
        a_h, a_w = cache
        return np.ascontiguousarray((a_h.T @ dy) @ a_w), {}


class AdaptiveMaxPool2d(_AdaptivePool2d):
    """Max over torch's adaptive windows, like torch.nn.AdaptiveMaxPool2d(return_indices=True).

    x (N, C, H, W) -> y (N, C, oH, oW). As MaxPool2d: the cache holds, per output, the flat
    index h*W + w of its winner (the first maximum in row-major window order); backward
    routes each delta to its winner, overlapping windows accumulating.
    """

    kind = "adaptivemaxpool2d"

    @staticmethod
    def _taps(size: int, out: int) -> np.ndarray:
        """(out, k) input index of each window's taps, k the longest window; shorter windows
        repeat their last cell, which never changes the max or its first position."""
        starts, ends = adaptive_windows(size, out)
        k = int((ends - starts).max())
        return np.minimum(starts[:, None] + np.arange(k), ends[:, None] - 1)

    def forward(self, x):
        self._check(x)
        n, c, h, w = x.shape
        (oh, ow) = self.output_size
        rows, cols = self._taps(h, oh), self._taps(w, ow)
        kw = cols.shape[1]
        # (N, C, oH, kH, oW, kW) gathered, then each window's taps flattened row-major.
        taps = x[:, :, rows][..., cols].transpose(0, 1, 2, 4, 3, 5).reshape(n, c, oh, ow, -1)
        arg = taps.argmax(axis=-1)
        y = np.take_along_axis(taps, arg[..., None], axis=-1)[..., 0]
        indices = rows[np.arange(oh)[:, None], arg // kw] * w + cols[np.arange(ow), arg % kw]
        return y, (indices, x.shape)

    def winners(self, cache):
        return cache[0]

    def backward(self, dy, cache):
        indices, (n, c, h, w) = cache
        plane = h * w
        offsets = (np.arange(n * c) * plane).reshape(n, c, 1, 1)
        dx = np.bincount(
            (indices + offsets).ravel(), weights=dy.ravel(), minlength=n * c * plane
        )
        return dx.reshape(n, c, h, w).astype(dy.dtype, copy=False), {}
