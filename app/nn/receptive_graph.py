"""Receptive fields of a Graph's nodes: the chain arithmetic of app.nn.receptive, run along
each node's own inputs instead of the node listed before it.

- conv / pool nodes step their input's field (app.nn.receptive._step);
- element-wise nodes (activations, BatchNorm, Dropout, Identity) keep their input's field;
- flatten, linear and a global (1x1) adaptive pool see the whole input (jump 0);
- Add and Concat, whose inputs have the same jump, see the union of their inputs' fields:
  unit i's field is [i * jump - max(padding), i * jump + max(size - padding) - 1];
- anything else (a transposed convolution, zero padding, an adaptive pool to a larger
  grid, inputs with different jumps) has no single field: None, for it and every node
  that reads it.

On a chain this gives exactly `network_receptive_fields`.
"""

from __future__ import annotations

from app.nn.receptive import (
    WHOLE_INPUT_KINDS,
    WINDOWED_KINDS,
    LayerGeometry,
    ReceptiveField,
    _step,
    input_pair,
)

ELEMENTWISE_KINDS = (
    "relu", "leakyrelu", "relu6", "sigmoid", "tanh", "sign", "identity", "batchnorm2d",
    "dropout",
)
GLOBAL_POOL_KINDS = ("adaptiveavgpool2d", "adaptivemaxpool2d")
UNION_KINDS = ("add", "concat")

Field = tuple[tuple[int, int], tuple[int, int], tuple[int, int]]  # size, jump, padding


def _union(fields: list[Field]) -> Field | None:
    jumps = {jump for _, jump, _ in fields}
    if len(jumps) != 1:
        return None
    padding = tuple(max(f[2][axis] for f in fields) for axis in (0, 1))
    end = tuple(max(f[0][axis] - f[2][axis] for f in fields) for axis in (0, 1))
    size = tuple(e + p for e, p in zip(end, padding, strict=True))
    return size, jumps.pop(), padding


def _node_field(layer, parents: list[Field], hw: tuple[int, int]) -> Field | None:
    kind = layer.kind
    if kind in WINDOWED_KINDS:
        return _step(*parents[0], LayerGeometry(
            kind, kind, layer.kernel_size, layer.stride, layer.padding, layer.dilation,
            getattr(layer, "ceil_mode", False),
        ))
    if kind in ELEMENTWISE_KINDS:
        return parents[0]
    if kind in WHOLE_INPUT_KINDS or (
        kind in GLOBAL_POOL_KINDS and tuple(layer.output_size) == (1, 1)
    ):
        return hw, (0, 0), (0, 0)
    if kind in UNION_KINDS:
        return _union(parents)
    return None


def graph_receptive_fields(network, input_hw) -> list[dict | None]:
    """For every node of an app.nn.Graph, in order, its field on an (h, w) input:
    {"size", "jump", "start", "padding"} ([h, w] lists), or None where no single field
    exists (see the module docstring). Reads the layers' geometry; loads no weights."""
    hw = input_pair(tuple(input_hw))
    known: dict[str, Field | None] = {"input": ((1, 1), (1, 1), (0, 0))}
    result: list[dict | None] = []
    for name, layer, inputs in network.nodes:
        parents = [known.get(source) for source in inputs]
        field = None if any(p is None for p in parents) else _node_field(layer, parents, hw)
        known[name] = field
        result.append(
            None if field is None else ReceptiveField(name, layer.kind, (0, 0), *field).fields()
        )
    return result
