"""Architecture specs: a JSON-able list of layers <-> a Sequential.

A spec is `[{"kind": "conv2d", "name": "conv1", "in_channels": 1, ...}, ...]`: each entry
is a layer's kind, its name and its constructor arguments (`Layer.config()`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from app.nn.layers import LAYER_TYPES
from app.nn.network import Sequential

LayerSpec = dict[str, Any]


def _as_arg(value):
    return tuple(value) if isinstance(value, list) else value


def to_spec(network: Sequential) -> list[LayerSpec]:
    return [{"kind": layer.kind, "name": name, **layer.config()} for name, layer in network]


def from_spec(spec: list[LayerSpec], rng=None, dtype=np.float32) -> Sequential:
    """Build a Sequential with freshly initialised parameters (seeded by rng)."""
    rng = np.random.default_rng(rng) if not isinstance(rng, np.random.Generator) else rng
    layers = []
    for i, entry in enumerate(spec):
        entry = dict(entry)
        kind = entry.pop("kind", None)
        name = entry.pop("name", None)
        if kind not in LAYER_TYPES:
            raise ValueError(f"layer {i}: unknown kind {kind!r}; known: {sorted(LAYER_TYPES)}")
        cls = LAYER_TYPES[kind]
        kwargs = {k: _as_arg(v) for k, v in entry.items()}
        if "in_channels" in kwargs or "in_features" in kwargs:
            kwargs.update(rng=rng, dtype=dtype)
        try:
            layer = cls(**kwargs)
        except TypeError as exc:
            raise ValueError(f"layer {i} ({kind}): {exc}") from exc
        layers.append((name, layer) if name else layer)
    return Sequential(layers)


def load_params(network: Sequential, arrays: dict[str, np.ndarray]) -> None:
    """Set parameters from a flat mapping "<layer name>.<param>" -> array (an .npz's keys)."""
    for name, layer in network:
        for key, current in layer.params.items():
            flat = f"{name}.{key}"
            if flat not in arrays:
                raise ValueError(f"missing parameter {flat}")
            value = np.asarray(arrays[flat])
            if value.shape != current.shape:
                raise ValueError(f"{flat}: shape {value.shape}, expected {current.shape}")
            layer.params[key] = value.astype(current.dtype)


def dump_params(network: Sequential) -> dict[str, np.ndarray]:
    """The inverse of load_params: "<layer name>.<param>" -> array."""
    return {
        f"{name}.{key}": value for name, layer in network for key, value in layer.params.items()
    }
