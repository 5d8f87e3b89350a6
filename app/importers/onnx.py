"""ONNX -> app.nn.Graph: `import_onnx(data) -> (graph, card)`.

The `onnx` package only parses the bytes (`onnx.load_model_from_string`); nothing runs the
model but ConvScope's core. Opsets 11-21 of the default domain. Tensors whose data lives in
external files are refused unread. Subgraphs that depend only on constants and static shapes
(Shape, Gather, Unsqueeze, Concat, Cast, ...) are folded at import; Dropout and Identity are
removed; a final Softmax or LogSoftmax is recognised as the head and removed (the core's
softmax cross-entropy takes its place; the card records it); everything else maps onto one
visible graph node per operator (see app/importers/onnx_ops.py), or is refused with
UnsupportedOperator naming the operator, the node and the opset.

    graph, card = import_onnx(open("model.onnx", "rb").read())
    logits = graph.predict(x)                       # x (N, C, H, W) float32
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np
import onnx
from google.protobuf.message import DecodeError
from onnx import TensorProto

from app.importers.errors import (
    ExternalDataRefused,
    InvalidModel,
    ModelImportError,
    ModelTooLarge,
)
from app.importers.onnx_fold import FOLDERS, attributes, fold, tensor_to_array
from app.importers.onnx_graph import Act, Builder, Head
from app.importers.onnx_ops import CONVERTERS
from app.nn import INPUT, Graph

MIN_OPSET, MAX_OPSET = 11, 21
MAX_NODES = 500
MAX_PARAMETERS = 30_000_000
MAX_ACTIVATION = 1 << 25  # 33,554,432 values, 128 MiB of float32 per item
SUPPORTED_OPERATORS = sorted(set(CONVERTERS) | set(FOLDERS))
_DEFAULT_DOMAINS = ("", "ai.onnx")


def _parse(data: bytes) -> onnx.ModelProto:
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"import_onnx takes the file's bytes, got {type(data).__name__}")
    if not data:
        raise InvalidModel("the file is empty")
    try:
        model = onnx.load_model_from_string(bytes(data))
    except (DecodeError, RuntimeError, ValueError) as exc:
        raise InvalidModel(f"not an ONNX model (the protobuf does not parse: {exc})") from None
    if not model.HasField("graph") or not model.graph.node:
        raise InvalidModel("not an ONNX model: it has no graph, or a graph without nodes")
    _check_names(model)
    return model


def _check_names(model: onnx.ModelProto) -> None:
    """Every name the importer reads is text (protobuf hands invalid UTF-8 back as bytes)."""
    graph = model.graph
    names = [model.producer_name, model.producer_version]
    names += [o.domain for o in model.opset_import]
    names += [v.name for v in (*graph.input, *graph.output)]
    names += [t.name for t in graph.initializer]
    for node in graph.node:
        names += [node.name, node.op_type, node.domain, *node.input, *node.output]
        names += [a.name for a in node.attribute]
    if not all(isinstance(name, str) for name in names):
        raise InvalidModel("not an ONNX model: a name in it is not valid UTF-8 text")


def _opset(model: onnx.ModelProto) -> int:
    versions = [o.version for o in model.opset_import if o.domain in _DEFAULT_DOMAINS]
    if not versions:
        raise InvalidModel("the model imports no opset of the default ONNX domain")
    opset = int(versions[0])
    if not MIN_OPSET <= opset <= MAX_OPSET:
        raise InvalidModel(f"opset {opset} is not supported: export with an opset from "
                           f"{MIN_OPSET} to {MAX_OPSET}")
    return opset


def _check_external_and_size(graph, max_parameters: int) -> None:
    """Refuse external data (never read) and too many parameters before reading tensors."""
    tensors = list(graph.initializer)
    for node in graph.node:
        for attr in node.attribute:
            if attr.HasField("t"):
                tensors.append(attr.t)
            tensors.extend(attr.tensors)
            if attr.HasField("sparse_tensor"):
                raise InvalidModel(f"node {node.name!r}: sparse constants are not supported")
    for tensor in tensors:
        if tensor.data_location == TensorProto.EXTERNAL or len(tensor.external_data):
            raise ExternalDataRefused(tensor.name or "(unnamed)")
    if len(graph.sparse_initializer):
        raise InvalidModel("sparse initializers are not supported")
    count = sum(int(np.prod(t.dims, dtype=np.float64)) for t in tensors)
    if count > max_parameters:
        raise ModelTooLarge("parameters", count, max_parameters)


def _input(graph, initializers) -> tuple[str, tuple[int, ...]]:
    inputs = [i for i in graph.input if i.name not in initializers]
    if len(inputs) != 1:
        names = [i.name for i in inputs]
        raise InvalidModel(f"the model must have exactly one input, it has {len(names)}: {names}")
    value = inputs[0]
    kind = value.type.WhichOneof("value")
    tensor = value.type.tensor_type
    if kind != "tensor_type" or tensor.elem_type != TensorProto.FLOAT:
        raise InvalidModel(f"input {value.name!r} must be a float32 tensor")
    dims = list(tensor.shape.dim)
    if len(dims) not in (2, 4):
        raise InvalidModel(f"input {value.name!r} must be (N, C, H, W) or (N, features), "
                           f"it has {len(dims)} axes")
    shape = [1 if i == 0 and not d.dim_value else d.dim_value for i, d in enumerate(dims)]
    if min(shape) < 1:
        raise InvalidModel(f"input {value.name!r} needs a static shape apart from the batch "
                           "axis; export with fixed channels, height and width")
    return value.name, tuple(int(d) for d in shape)


def _consumers(graph) -> Counter:
    counts = Counter(name for node in graph.node for name in node.input if name)
    counts.update(o.name for o in graph.output)
    return counts


def _convert(builder: Builder, node) -> None:
    if node.domain not in _DEFAULT_DOMAINS:
        raise builder.unsupported(node)
    xs = []
    for name in node.input:
        if name and name not in builder.values:
            raise InvalidModel(f"node {node.name!r} reads {name!r}, which nothing defines "
                               "before it (nodes must be in topological order)")
        xs.append(builder.values[name] if name else None)
    given = [x for x in xs if x is not None]
    if node.op_type == "Shape" and given and not isinstance(given[0], np.ndarray):
        shape = np.array(builder.activation(given[0], node).shape, np.int64)
        a = attributes(node)
        out = shape[a.get("start", 0): a["end"]] if "end" in a else shape[a.get("start", 0):]
    elif node.op_type in FOLDERS and all(isinstance(x, np.ndarray) for x in given):
        out = fold(node, xs, builder.opset, builder.max_elements)
    elif node.op_type in CONVERTERS:
        if not given:
            raise InvalidModel(f"node {node.name!r} ({node.op_type}) has no input")
        try:
            out = CONVERTERS[node.op_type](builder, node, attributes(node), xs)
        except ModelImportError:
            raise
        except (TypeError, ValueError, IndexError, KeyError, AttributeError) as exc:
            # Attributes or inputs of the wrong type or count: a malformed node.
            raise InvalidModel(f"node {node.name!r} ({node.op_type}) has attributes or inputs "
                               f"that do not fit its operator: {exc}") from None
    elif node.op_type in FOLDERS:
        raise builder.unsupported(node, "supported only on constants and static shapes, which "
                                  "are folded at import, not on an activation")
    else:
        raise builder.unsupported(node)
    if node.output and node.output[0]:
        builder.define(node.output[0], out)


def import_onnx(data: bytes, max_nodes: int = MAX_NODES, max_parameters: int = MAX_PARAMETERS,
                max_activation: int = MAX_ACTIVATION) -> tuple[Graph, dict[str, Any]]:
    """Parse an ONNX model from its bytes -> (Graph in inference mode, card).

    Raises ModelImportError subclasses: InvalidModel, ExternalDataRefused, ModelTooLarge
    (more than `max_nodes` ONNX nodes, `max_parameters` weights, or `max_activation` values
    in the input or in one node's output per batch item), UnsupportedOperator.
    """
    model = _parse(data)
    opset = _opset(model)
    graph = model.graph
    if len(graph.node) > max_nodes:
        raise ModelTooLarge("nodes", len(graph.node), max_nodes)
    _check_external_and_size(graph, max_parameters)
    builder = Builder(opset, _consumers(graph), SUPPORTED_OPERATORS)
    builder.max_elements = max_parameters
    for tensor in graph.initializer:
        builder.values[tensor.name] = tensor_to_array(tensor)
    builder.max_activation = max_activation
    input_name, input_shape = _input(graph, builder.values)
    if int(np.prod(input_shape[1:], dtype=np.float64)) > max_activation:
        raise ModelTooLarge(f"input values per item (shape {list(input_shape)})",
                            int(np.prod(input_shape[1:], dtype=np.float64)), max_activation)
    builder.define(input_name, Act(INPUT, input_shape))
    for index, node in enumerate(graph.node):
        builder.index = index
        _convert(builder, node)
    if len(graph.output) != 1:
        raise InvalidModel(f"the model must have exactly one output, it has {len(graph.output)}")
    output_name = graph.output[0].name
    final = builder.values.get(output_name)
    head = None
    if isinstance(final, Head):
        head = {"op": final.op_type, "node": final.node, "axis": final.axis}
        final = final.value
    if isinstance(final, Act) and head and len(final.shape) != 2:
        raise InvalidModel(f"the head's output {list(final.shape)} is not (N, classes)")
    if not isinstance(final, Act):
        raise InvalidModel(f"output {output_name!r} is a constant, not computed from the input")
    if final.node == INPUT:
        raise InvalidModel("the model computes nothing: its output is its input")
    records = builder.records
    net = Graph([(r.name, r.layer, r.inputs) for r in records.values()], output=final.node)
    if net.parameter_count > max_parameters:
        raise ModelTooLarge("parameters", net.parameter_count, max_parameters)
    card = _card(model, opset, input_name, input_shape, output_name, final, head,
                 [records[name] for name in net.names], net)
    return net.eval(), card


def _card(model, opset, input_name, input_shape, output_name, final, head, records, net):
    layers = [
        {
            "name": r.name, "kind": r.layer.kind, "inputs": list(r.inputs),
            "input_shape": list(r.input_shape), "output_shape": list(r.output_shape),
            "parameters": r.layer.parameter_count,
            "onnx": {"nodes": r.onnx_nodes, "ops": r.onnx_ops, "output": r.output or None},
        }
        for r in records
    ]
    input_spec = {"name": input_name, "shape": list(input_shape), "dtype": "float32",
                  "channels": input_shape[1]}
    if len(input_shape) == 4:
        input_spec.update(height=input_shape[2], width=input_shape[3])
    return {
        "format": "onnx",
        "opset": opset,
        "ir_version": int(model.ir_version),
        "producer": {"name": model.producer_name, "version": model.producer_version},
        "input": input_spec,
        "output": {"name": output_name, "shape": list(final.shape)},
        "head": head,
        "layers": layers,
        "op_counts": dict(sorted(Counter(n.op_type for n in model.graph.node).items())),
        "onnx_nodes": len(model.graph.node),
        "nodes": len(net),
        "parameters": net.parameter_count,
    }
