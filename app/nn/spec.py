"""Architecture specs: a JSON-able list of nodes <-> a Graph (a Sequential for a chain).

A spec is `[{"kind": "conv2d", "name": "conv1", "in_channels": 1, ...}, ...]`: each entry is
a layer's kind, its name, its constructor arguments (`Layer.config()`) and, optionally,
`"inputs": [names]`: the nodes it reads ("input" is the network's input). Without "inputs"
an entry reads the entry before it (the first reads "input"), so a spec without any
"inputs" is a chain and builds a Sequential.

Weights live in a flat mapping (an .npz) keyed like torch's state_dict: "<node>.<param>"
for parameters and "<node>.<buffer>" for buffers (BatchNorm's running_mean, running_var).
"""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np

from app.nn.graph import INPUT, Graph
from app.nn.layers import LAYER_TYPES
from app.nn.network import Sequential

LayerSpec = dict[str, Any]


def _as_arg(value):
    return tuple(value) if isinstance(value, list) else value


def to_spec(network: Graph) -> list[LayerSpec]:
    """The spec of a network; "inputs" appears only where a node does not read the node
    before it, so a chain's spec is a plain list of layers."""
    spec = []
    for i, (name, layer, inputs) in enumerate(network.nodes):
        entry = {"kind": layer.kind, "name": name, **layer.config()}
        if inputs != ((INPUT if i == 0 else network.names[i - 1]),):
            entry["inputs"] = list(inputs)
        spec.append(entry)
    return spec


def from_spec(spec: list[LayerSpec], rng=None, dtype=np.float32) -> Graph:
    """Build a network with freshly initialised parameters (seeded by rng): a Sequential
    when no entry names its inputs, else a Graph."""
    rng = np.random.default_rng(rng) if not isinstance(rng, np.random.Generator) else rng
    if not isinstance(spec, list) or not spec:
        raise ValueError("a spec is a non-empty list of layers")
    nodes = []
    for i, entry in enumerate(spec):
        if not isinstance(entry, dict):
            raise ValueError(f"layer {i}: expected an object, got {entry!r}")
        entry = dict(entry)
        kind = entry.pop("kind", None)
        name = entry.pop("name", None)
        inputs = entry.pop("inputs", None)
        if kind not in LAYER_TYPES:
            raise ValueError(f"layer {i}: unknown kind {kind!r}; known: {sorted(LAYER_TYPES)}")
        if inputs is not None and (
            not isinstance(inputs, list) or not all(isinstance(n, str) for n in inputs)
        ):
            raise ValueError(f"layer {i} ({kind}): inputs must be a list of node names")
        cls = LAYER_TYPES[kind]
        kwargs = {k: _as_arg(v) for k, v in entry.items()}
        accepted = inspect.signature(cls.__init__).parameters
        if "rng" in accepted:
            kwargs["rng"] = rng
        if "dtype" in accepted:
            kwargs["dtype"] = dtype
        try:
            layer = cls(**kwargs)
        except TypeError as exc:
            raise ValueError(f"layer {i} ({kind}): {exc}") from exc
        nodes.append((name, layer, inputs))
    if all(inputs is None for _, _, inputs in nodes):
        return Sequential([(name, layer) if name else layer for name, layer, _ in nodes])
    return Graph(nodes)


def _state(layer) -> dict[str, dict[str, np.ndarray]]:
    return {"parameter": layer.params, "buffer": layer.buffers}


def load_params(network: Graph, arrays: dict[str, np.ndarray]) -> None:
    """Set parameters and buffers from a flat mapping "<node>.<key>" -> array (an .npz)."""
    for name, layer in network:
        for what, store in _state(layer).items():
            for key, current in store.items():
                flat = f"{name}.{key}"
                if flat not in arrays:
                    raise ValueError(f"missing {what} {flat}")
                value = np.asarray(arrays[flat])
                if value.shape != current.shape:
                    raise ValueError(f"{flat}: shape {value.shape}, expected {current.shape}")
                store[key] = value.astype(current.dtype)


def dump_params(network: Graph) -> dict[str, np.ndarray]:
    """The inverse of load_params: "<node>.<key>" -> array, parameters and buffers."""
    return {
        f"{name}.{key}": value
        for name, layer in network
        for store in (layer.params, layer.buffers)
        for key, value in store.items()
    }
