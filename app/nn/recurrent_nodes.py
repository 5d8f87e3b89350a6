"""Nodes around a recurrent layer: feeding an image row by row, and reading its output.

ImageRows (N, C, H, W) -> (N, H, C*W); LastStep (N, T, F) -> (N, F) = output[:, -1];
FinalStates (N, T, D*H) -> (N, D*H) = h_n side by side. Stateless, `forward(x) -> (y, cache)`,
`backward(dy, cache) -> (dx, {})` like every layer of app.nn.
"""

from __future__ import annotations

import numpy as np

from app.nn.base import Layer, _positive_sizes


class ImageRows(Layer):
    """Reads an image row by row: x (N, C, H, W) -> (N, H, C*W), one time step per row."""

    kind = "imagerows"

    def output_shape(self, input_shape):
        n, c, h, w = input_shape
        return (n, h, c * w)

    def forward(self, x):
        self._check_input(x, 4)
        n, c, h, w = x.shape
        return np.ascontiguousarray(x.transpose(0, 2, 1, 3)).reshape(n, h, c * w), x.shape

    def backward(self, dy, cache):
        n, c, h, w = cache
        return np.ascontiguousarray(dy.reshape(n, h, c, w).transpose(0, 2, 1, 3)), {}


class LastStep(Layer):
    """The last time step of a batch-first sequence: (N, T, F) -> (N, F), i.e. output[:, -1].
    Also accepts a recurrent layer's torch-style tuple (output, state) and reads output.
    (For a bidirectional layer, output[:, -1, H:] is the reverse direction's first step.)"""

    kind = "laststep"

    def output_shape(self, input_shape):
        return (input_shape[0], input_shape[2])

    def forward(self, x):
        if isinstance(x, tuple):
            x = x[0]
        self._check_input(x, 3)
        return x[:, -1], (x.shape, x.dtype)

    def backward(self, dy, cache):
        shape, dtype = cache
        dx = np.zeros(shape, dtype=np.result_type(dtype, dy))
        dx[:, -1] = dy
        return dx, {}


class FinalStates(Layer):
    """Each direction's final state from a batch-first output (N, T, D*H) -> (N, D*H):
    the forward direction's h at t = T-1 and the reverse direction's at t = 0, i.e. h_n
    laid side by side (for D = 1 the same as LastStep)."""

    kind = "finalstates"

    def __init__(self, hidden_size: int):
        super().__init__()
        (self.hidden_size,) = _positive_sizes(hidden_size=hidden_size)

    def config(self):
        return {"hidden_size": self.hidden_size}

    def output_shape(self, input_shape):
        return (input_shape[0], input_shape[2])

    def forward(self, x):
        if isinstance(x, tuple):
            x = x[0]
        self._check_input(x, 3)
        h = self.hidden_size
        if x.shape[2] not in (h, 2 * h):
            raise ValueError(f"finalstates expects H or 2H = {2 * h} features, got {x.shape}")
        y = np.concatenate([x[:, -1, :h], x[:, 0, h:]], axis=1)
        return y, (x.shape, x.dtype)

    def backward(self, dy, cache):
        shape, dtype = cache
        h = self.hidden_size
        dx = np.zeros(shape, dtype=np.result_type(dtype, dy))
        dx[:, -1, :h] = dy[:, :h]
        dx[:, 0, h:] = dy[:, h:]
        return dx, {}
