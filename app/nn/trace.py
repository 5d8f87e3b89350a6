"""What one forward + backward pass records: per layer, and for the whole network."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class LayerTrace:
    """One layer's view of a pass. Arrays keep the batch axis.

    output is the activation; grad_output the layer's delta dL/d(output); pool_indices
    (max pooling only) the flat index h*W + w of each output's winner in its input plane.
    inputs names the nodes the layer reads ("input" is the network's input); input_shape is
    the first one's shape. buffers holds non-trained state (BatchNorm's running statistics).
    recurrent (RNN, LSTM only) is `layer.record(cache, grad_output)`: every time step's
    gates, h_t, c_t and their gradients.
    """

    index: int
    name: str
    kind: str
    config: dict[str, Any]
    input_shape: tuple[int, ...]
    output_shape: tuple[int, ...]
    output: np.ndarray
    grad_output: np.ndarray | None = None
    params: dict[str, np.ndarray] = field(default_factory=dict)
    grads: dict[str, np.ndarray] = field(default_factory=dict)
    pool_indices: np.ndarray | None = None
    inputs: list[str] = field(default_factory=list)
    buffers: dict[str, np.ndarray] = field(default_factory=dict)
    recurrent: Any = None  # a recurrent layer's RecurrentTrace (app.nn.recurrent): time axis


@dataclass
class Trace:
    """A whole pass: the input and its gradient (the saliency map), the network's output, the
    loss against `target`, and every layer's trace.

    head "classification" (every classifier): `logits` (N, K), softmax `probabilities`
    (N, K), `prediction` (N,) and `target` (N,) class indices; `loss` is the mean
    cross-entropy. head "reconstruction" (an autoencoder): `logits` holds the network's
    output, the reconstruction (N, C, H, W) (also `reconstruction`); `target` is the image it
    is compared with (N, C, H, W) (the input itself by default); `probabilities` and
    `prediction` are None; `loss` is the MSE over every pixel and `error_map` the per-pixel
    squared error (N, C, H, W). Each layer's grad_output is the gradient of each item's own
    loss either way.
    """

    input: np.ndarray
    layers: list[LayerTrace]
    logits: np.ndarray
    probabilities: np.ndarray | None
    prediction: np.ndarray | None
    target: np.ndarray
    loss: float
    input_grad: np.ndarray
    head: str = "classification"

    @property
    def reconstruction(self) -> np.ndarray | None:
        """The reconstruction head's output (N, C, H, W); None for a classifier."""
        return self.logits if self.head == "reconstruction" else None

    @property
    def error_map(self) -> np.ndarray | None:
        """(reconstruction - target)^2 per pixel, float64 (N, C, H, W); None for a classifier.
        Its mean is `loss`."""
        if self.head != "reconstruction":
            return None
        return np.square(self.logits.astype(np.float64) - self.target.astype(np.float64))


def summary(array: np.ndarray) -> dict[str, Any]:
    """A tensor in a few numbers, cheap next to the tensor itself: its shape, min, max,
    mean (float64), and per channel (axis 1) the energy mean |x| over every other axis.
    An array with no channel axis (ndim < 2) gets one energy. Non-finite values pass through."""
    arr = np.asarray(array)
    if arr.size == 0:
        return {"shape": list(arr.shape), "min": 0.0, "max": 0.0, "mean": 0.0,
                "channel_energy": []}
    axes = tuple(i for i in range(arr.ndim) if i != 1) if arr.ndim >= 2 else None
    energy = np.abs(arr).mean(axis=axes, dtype=np.float64)
    return {
        "shape": list(arr.shape),
        "min": float(arr.min()),
        "max": float(arr.max()),
        "mean": float(arr.mean(dtype=np.float64)),
        "channel_energy": np.atleast_1d(energy).tolist(),
    }
