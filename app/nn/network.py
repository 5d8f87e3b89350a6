"""Sequential: a chain of layers whose forward and backward passes record a Trace."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from app.nn.layers import Grads, Layer, MaxPool2d
from app.nn.losses import softmax_cross_entropy
from app.nn.trace import LayerTrace, Trace

_SHORT_NAMES = {
    "conv2d": "conv",
    "convtranspose2d": "deconv",
    "maxpool2d": "pool",
    "avgpool2d": "pool",
    "linear": "fc",
}


def _default_names(layers: Sequence[Layer]) -> list[str]:
    counts: dict[str, int] = {}
    names = []
    for layer in layers:
        short = _SHORT_NAMES.get(layer.kind, layer.kind)
        counts[short] = counts.get(short, 0) + 1
        names.append(f"{short}{counts[short]}")
    return names


class Sequential:
    """Layers applied in order. Holds no per-call state: safe across threads.

    Built from layers, or from (name, layer) pairs; unnamed layers get names such as
    conv1, relu1, pool1, fc1.
    """

    def __init__(self, layers: Iterable[Layer | tuple[str, Layer]]):
        items = list(layers)
        named = [item if isinstance(item, tuple) else (None, item) for item in items]
        self.layers: list[Layer] = [layer for _, layer in named]
        defaults = _default_names(self.layers)
        self.names: list[str] = [name or d for (name, _), d in zip(named, defaults, strict=True)]
        if len(set(self.names)) != len(self.names):
            raise ValueError(f"layer names must be unique, got {self.names}")

    def __len__(self) -> int:
        return len(self.layers)

    def __iter__(self):
        return iter(zip(self.names, self.layers, strict=True))

    @property
    def parameter_count(self) -> int:
        return sum(layer.parameter_count for layer in self.layers)

    def astype(self, dtype) -> Sequential:
        return Sequential(
            [
                (name, layer.astype(dtype))
                for name, layer in zip(self.names, self.layers, strict=True)
            ]
        )

    def shapes(self, input_shape: tuple[int, ...]) -> list[tuple[tuple[int, ...], tuple[int, ...]]]:
        """(input_shape, output_shape) per layer for an input shape, batch axis included."""
        result = []
        shape = tuple(input_shape)
        for layer in self.layers:
            out = layer.output_shape(shape)
            result.append((shape, out))
            shape = out
        return result

    def forward(self, x: np.ndarray) -> tuple[np.ndarray, list]:
        """x -> (logits, caches); caches[i] is what layer i's backward needs."""
        caches = []
        for layer in self.layers:
            x, cache = layer.forward(x)
            caches.append(cache)
        return x, caches

    def backward(self, dy: np.ndarray, caches: list) -> tuple[np.ndarray, list[Grads]]:
        """dL/d(output) -> (dL/d(input), per-layer parameter gradients)."""
        grads: list[Grads] = [{}] * len(self.layers)
        for i in range(len(self.layers) - 1, -1, -1):
            dy, grads[i] = self.layers[i].backward(dy, caches[i])
        return dy, grads

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Logits for a batch, forward only."""
        return self.forward(x)[0]

    def trace(self, x: np.ndarray, target=None) -> Trace:
        """One forward and one backward pass from softmax cross-entropy against `target`
        (class indices, one per batch item; default: the predicted class), recording every
        layer's output, delta, parameters, parameter gradients and pooling winners."""
        outputs, caches = [], []
        h = x
        for layer in self.layers:
            h, cache = layer.forward(h)
            outputs.append(h)
            caches.append(cache)
        logits = h
        if logits.ndim != 2:
            raise ValueError(f"the network must end in (N, classes) logits, got {logits.shape}")
        prediction = logits.argmax(axis=1)
        if target is None:
            target = prediction
        else:
            target = np.asarray(target)
            if target.ndim > 1 or target.size not in (1, prediction.size):
                raise ValueError(
                    f"target must be one class index or one per batch item ({prediction.size}), "
                    f"got shape {target.shape}"
                )
            target = np.broadcast_to(target, prediction.shape)
        loss, dlogits, probs = softmax_cross_entropy(logits, target)
        # The trace reports each item's own loss gradient, not the batch mean's.
        dy = dlogits * logits.shape[0]
        deltas = [None] * len(self.layers)
        grads: list[Grads] = [{}] * len(self.layers)
        for i in range(len(self.layers) - 1, -1, -1):
            deltas[i] = dy
            dy, grads[i] = self.layers[i].backward(dy, caches[i])

        layer_traces = []
        in_shape = x.shape
        for i, (name, layer) in enumerate(self):
            layer_traces.append(
                LayerTrace(
                    index=i,
                    name=name,
                    kind=layer.kind,
                    config=layer.config(),
                    input_shape=tuple(in_shape),
                    output_shape=tuple(outputs[i].shape),
                    output=outputs[i],
                    grad_output=deltas[i],
                    params=dict(layer.params),
                    grads=grads[i],
                    pool_indices=caches[i][0] if isinstance(layer, MaxPool2d) else None,
                )
            )
            in_shape = outputs[i].shape
        return Trace(
            input=x,
            layers=layer_traces,
            logits=logits,
            probabilities=probs,
            prediction=prediction,
            target=np.asarray(target),
            loss=loss,
            input_grad=dy,
        )
