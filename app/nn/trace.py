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


@dataclass
class Trace:
    """A whole pass: the input and its gradient (the saliency map), logits, softmax
    probabilities, the cross-entropy loss against `target`, and every layer's trace."""

    input: np.ndarray
    layers: list[LayerTrace]
    logits: np.ndarray
    probabilities: np.ndarray
    prediction: np.ndarray
    target: np.ndarray
    loss: float
    input_grad: np.ndarray
