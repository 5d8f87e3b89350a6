"""The state of one ONNX import: every tensor's value (a constant array, an activation, or the
pending softmax head), the graph nodes built so far, and the helpers the op converters share."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from app.importers.errors import InvalidModel, ModelTooLarge, UnsupportedOperator
from app.nn import INPUT, Layer


@dataclass(frozen=True)
class Act:
    """An activation: the output of graph node `node` (or the graph's input), of `shape`
    (batch axis included, at the batch size the model declares, 1 when symbolic)."""

    node: str
    shape: tuple[int, ...]


@dataclass(frozen=True)
class Head:
    """A Softmax or LogSoftmax over `value`'s classes: the head, if nothing reads it."""

    value: Act
    op_type: str
    node: str
    axis: int


@dataclass
class Record:
    """One graph node and the ONNX nodes it stands for."""

    name: str
    layer: Layer
    inputs: list[str]
    input_shape: tuple[int, ...]
    output_shape: tuple[int, ...]
    onnx_nodes: list[str] = field(default_factory=list)
    onnx_ops: list[str] = field(default_factory=list)
    output: str = ""


def _clean(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.:/-]", "_", name)[:64].strip("_")


class Builder:
    def __init__(self, opset: int, consumers: Counter, supported: list[str]):
        self.opset = opset
        self.consumers = consumers
        self.supported = supported
        self.values: dict[str, np.ndarray | Act | Head] = {}
        self.records: dict[str, Record] = {}
        self.order: list[str] = []
        self.max_elements = 1 << 24  # the largest constant folding may build
        self.index = 0  # the position of the node being converted
        self.max_activation = 1 << 25  # the most values one node's output may hold per item
        # Per graph node, the ONNX tensors that hold its output (removed nodes alias it).
        self.tensors: dict[str, set[str]] = {}

    # -- errors ---------------------------------------------------------------------------
    def label(self, node) -> str:
        """The node's name, or for a nameless node its position in the file's node list."""
        return node.name or f"#{self.index} (unnamed)"

    def unsupported(self, node, reason: str | None = None) -> UnsupportedOperator:
        return UnsupportedOperator(node.op_type, self.label(node), self.opset,
                                   self.supported, reason, node.domain)

    # -- reading inputs -------------------------------------------------------------------
    def activation(self, value, node, what: str = "input") -> Act:
        if isinstance(value, Head):
            raise UnsupportedOperator(
                value.op_type, value.node, self.opset, self.supported,
                "Softmax and LogSoftmax are supported only as the model's last node (the head)",
            )
        if not isinstance(value, Act):
            raise self.unsupported(node, f"its {what} must be an activation, not a constant")
        return value

    def constant(self, value, node, what: str) -> np.ndarray:
        if not isinstance(value, np.ndarray):
            raise self.unsupported(node, f"its {what} must be a constant (an initializer)")
        return value

    # -- building nodes -------------------------------------------------------------------
    def _name(self, base: str) -> str:
        base = base or "node"
        name, k = base, 2
        while name in self.records or name == INPUT:
            name, k = f"{base}_{k}", k + 1
        return name

    def add(self, layer: Layer, inputs: list[Act], node, output: str,
            suffix: str = "") -> Act:
        """Append a graph node reading `inputs`; -> its activation."""
        base = _clean(node.name) or f"{node.op_type.lower()}{len(self.order) + 1}"
        name = self._name(base + suffix)
        try:
            shape = tuple(int(d) for d in layer.output_shape(*[a.shape for a in inputs]))
        except (ValueError, TypeError) as exc:
            raise InvalidModel(
                f"node {node.name!r} ({node.op_type}) does not fit its input shape "
                f"{[list(a.shape) for a in inputs]}: {exc}"
            ) from None
        elements = int(np.prod(shape[1:], dtype=np.float64))
        if elements > self.max_activation:
            raise ModelTooLarge(f"values in one activation (node {self.label(node)!r}, "
                                f"shape {list(shape)})", elements, self.max_activation)
        if min(shape, default=1) < 1:
            raise InvalidModel(f"node {node.name!r} ({node.op_type}) gives an empty output "
                               f"{list(shape)}")
        self.records[name] = Record(
            name, layer, [a.node for a in inputs], inputs[0].shape, shape,
            [node.name], [node.op_type], output,
        )
        self.order.append(name)
        return Act(name, shape)

    def absorb(self, act: Act, node, output: str) -> Act:
        """Node `node` was folded into the graph node that computes `act`."""
        record = self.records[act.node]
        record.onnx_nodes.append(node.name)
        record.onnx_ops.append(node.op_type)
        record.output = output
        return act

    def define(self, tensor: str, value) -> None:
        """ONNX tensor `tensor` holds `value`."""
        self.values[tensor] = value
        if isinstance(value, Act):
            self.tensors.setdefault(value.node, set()).add(tensor)

    def sole_reader(self, act: Act) -> Record | None:
        """The record computing `act`, if the node being converted is the only reader of its
        output under every ONNX name it has: then that node may be merged into it."""
        if act.node == INPUT:
            return None
        if sum(self.consumers[t] for t in self.tensors.get(act.node, ())) != 1:
            return None
        return self.records[act.node]
