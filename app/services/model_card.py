"""The card of a stored model: its layer table (shapes, parameters, receptive fields,
multiply-accumulates), totals, the input spec and the classes. Pure functions of a Graph.

A layer's `macs` counts the multiply-accumulates of one forward pass per batch item:
convolutions `weight.size * H_out * W_out` (`* L_out` in 1-D), transposed convolutions
`weight.size * H_in * W_in`, linear layers `weight.size`; every other layer 0 (their
elementwise work is not a multiply-accumulate).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from app.nn.cost import layer_macs
from app.nn.receptive_graph import graph_receptive_fields
from app.services.errors import ApiError

COLOUR_ORDERS = ("rgb", "bgr")
MAX_CLASSES = 100_000
MAX_LABEL_CHARS = 200


def layer_table(network, input_shape: tuple[int, ...]) -> list[dict[str, Any]]:
    """Per node: name, kind, inputs, input/output shapes (batch axis dropped), parameters,
    receptive field on the input (None where none is defined), MACs."""
    shapes = network.shapes((1, *input_shape))
    if len(input_shape) == 3:
        fields = graph_receptive_fields(network, input_shape[1:])
    else:
        fields = [None] * len(network)
    return [
        {
            "name": name, "kind": layer.kind, "inputs": list(inputs),
            "input_shape": list(in_shape[1:]), "output_shape": list(out_shape[1:]),
            "parameters": layer.parameter_count, "receptive_field": field,
            "macs": layer_macs(layer, in_shape, out_shape),
        }
        for (name, layer, inputs), (in_shape, out_shape), field in zip(
            network.nodes, shapes, fields, strict=True
        )
    ]


def output_classes(network, input_shape: tuple[int, ...]) -> int:
    """How many classes the output has: its last axis when it is (N, classes), else 0."""
    out = network.shapes((1, *input_shape))[-1][1]
    return int(out[1]) if len(out) == 2 else 0


def check_classes(classes, count: int) -> list[str]:
    """The given labels (checked: strings, one per output) or "0".."count-1"."""
    if classes is None:
        return [str(i) for i in range(count)]
    if not isinstance(classes, (list, tuple)) or not all(isinstance(c, str) for c in classes):
        raise ApiError(422, "invalid_classes", "classes must be a list of strings",
                       field="classes")
    labels = [c.strip() for c in classes]
    if len(labels) != count:
        raise ApiError(
            422, "invalid_classes",
            f"the model has {count} outputs but {len(labels)} class labels were given",
            field="classes", expected=count, given=len(labels),
        )
    if any(not c or len(c) > MAX_LABEL_CHARS for c in labels):
        raise ApiError(422, "invalid_classes",
                       f"every class label must have 1 to {MAX_LABEL_CHARS} characters",
                       field="classes")
    return labels


def _per_channel(value, channels: int, what: str, default: float) -> list[float]:
    if value is None:
        return [default] * channels
    values = [value] if isinstance(value, (int, float)) else value
    if (not isinstance(values, (list, tuple)) or len(values) not in (1, channels)
            or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)
            or not all(np.isfinite(float(v)) for v in values)):
        raise ApiError(422, "invalid_input_spec",
                       f"input.{what} must be a finite number or a list of {channels}",
                       field=f"input.{what}")
    values = [float(v) for v in values] * (channels if len(values) == 1 else 1)
    if what == "std" and any(v <= 0 for v in values):
        raise ApiError(422, "invalid_input_spec", "input.std must be positive",
                       field="input.std")
    return values


def input_spec(given: dict | None, input_shape: tuple[int, ...]) -> dict[str, Any]:
    """The model's input spec: its shape, and how an image becomes it (channels, height,
    width, per-channel mean and std applied as (x - mean) / std to [0, 1] pixels, colour
    order). `given` may state any of these; what it states must agree with the shape."""
    given = {} if given is None else given
    if not isinstance(given, dict):
        raise ApiError(422, "invalid_input_spec", "input must be a JSON object",
                       field="input")
    unknown = sorted(set(given) - {"channels", "height", "width", "mean", "std",
                                   "colour_order"})
    if unknown:
        raise ApiError(422, "invalid_input_spec",
                       f"unknown input field(s): {', '.join(unknown)}", field="input")
    spec: dict[str, Any] = {"shape": [1, *input_shape], "dtype": "float32"}
    if len(input_shape) != 3:
        if set(given) - {"mean", "std"}:
            raise ApiError(422, "invalid_input_spec",
                           "this model's input is not an image (N, C, H, W)", field="input")
        return spec
    channels, height, width = input_shape
    for key, actual in (("channels", channels), ("height", height), ("width", width)):
        if key in given and given[key] != actual:
            raise ApiError(422, "invalid_input_spec",
                           f"input.{key} is {given[key]!r} but the model's input has "
                           f"{actual}", field=f"input.{key}", expected=actual)
    order = given.get("colour_order", "rgb")
    if order not in COLOUR_ORDERS:
        raise ApiError(422, "invalid_input_spec",
                       f"input.colour_order must be one of {', '.join(COLOUR_ORDERS)}",
                       field="input.colour_order")
    spec.update(
        channels=channels, height=height, width=width,
        mean=_per_channel(given.get("mean"), channels, "mean", 0.0),
        std=_per_channel(given.get("std"), channels, "std", 1.0),
        colour_order=order,
    )
    return spec


def summary(network, input_shape: tuple[int, ...]) -> dict[str, Any]:
    """Layer table plus totals: {"layers", "parameters", "macs", "nodes"}."""
    layers = layer_table(network, input_shape)
    return {
        "layers": layers,
        "parameters": int(network.parameter_count),
        "macs": int(sum(layer["macs"] for layer in layers)),
        "nodes": len(layers),
    }
