"""Constant folding for the ONNX importer: the operators that exporters write to compute
shapes and constants (torch's `x.view(x.size(0), -1)` is Shape -> Gather -> Unsqueeze ->
Concat -> Reshape; ReLU6's bounds are Cast constants), evaluated in NumPy at import when
every input is known. Nothing here touches an activation.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

import numpy as np
from onnx import TensorProto, helper, numpy_helper

from app.importers.errors import (
    ExternalDataRefused,
    InvalidModel,
    ModelImportError,
    ModelTooLarge,
)

# A folded constant built from a shape (ConstantOfShape, Range, Expand) may hold at most as
# many elements as the import's parameter cap: a few bytes of model must not allocate
# gigabytes at import.


def tensor_to_array(tensor: TensorProto) -> np.ndarray:
    """An initializer or Constant tensor as an array; external data is refused unread."""
    if tensor.data_location == TensorProto.EXTERNAL or len(tensor.external_data):
        raise ExternalDataRefused(tensor.name or "(unnamed)")
    try:
        return numpy_helper.to_array(tensor)
    except Exception as exc:  # a malformed tensor: wrong byte count, unknown type
        raise InvalidModel(f"tensor {tensor.name!r} cannot be read: {exc}") from None


def attributes(node) -> dict:
    """A node's attributes as Python values (tensors stay TensorProto)."""
    return {attr.name: helper.get_attribute_value(attr) for attr in node.attribute}


def _check_size(shape: Sequence[int], node_name: str, limit: int) -> tuple[int, ...]:
    shape = tuple(int(d) for d in shape)
    if any(d < 0 for d in shape):
        raise InvalidModel(f"node {node_name!r} builds a constant of shape {list(shape)}")
    count = int(np.prod(shape, dtype=np.float64))
    if count > limit:
        raise ModelTooLarge(f"elements in one constant (node {node_name!r})", count, limit)
    return shape


def _axes(values, rank: int) -> list[int]:
    return sorted(int(a) % rank for a in np.asarray(values).reshape(-1))


def _reshape_target(data_shape: tuple[int, ...], shape: np.ndarray, allowzero: int) -> list[int]:
    target = [int(d) for d in np.asarray(shape).reshape(-1)]
    if not allowzero:
        target = [data_shape[i] if d == 0 and i < len(data_shape) else d
                  for i, d in enumerate(target)]
    return target


def _unsqueeze(node, a, xs, ctx):
    data = xs[0]
    axes = a.get("axes") if ctx.opset < 13 else xs[1]
    rank = data.ndim + len(np.asarray(axes).reshape(-1))
    for axis in _axes(axes, rank):
        data = np.expand_dims(data, axis)
    return data


def _squeeze(node, a, xs, ctx):
    axes = a.get("axes") if ctx.opset < 13 else (xs[1] if len(xs) > 1 else None)
    if axes is None:
        return np.squeeze(xs[0])
    return np.squeeze(xs[0], axis=tuple(_axes(axes, xs[0].ndim)))


def _slice(node, a, xs, ctx):
    data, starts, ends = xs[0], xs[1], xs[2]
    axes = xs[3] if len(xs) > 3 and xs[3] is not None else np.arange(len(starts))
    steps = xs[4] if len(xs) > 4 and xs[4] is not None else np.ones(len(starts), np.int64)
    index = [slice(None)] * data.ndim
    for start, end, axis, step in zip(starts, ends, axes, steps, strict=True):
        index[int(axis) % data.ndim] = slice(int(start), int(end), int(step))
    return data[tuple(index)]


def _divide(node, a, xs, ctx):
    x, y = xs
    if np.issubdtype(x.dtype, np.integer) and np.issubdtype(y.dtype, np.integer):
        return np.trunc(x / y).astype(np.result_type(x, y))
    return np.divide(x, y)


def _constant_of_shape(node, a, xs, ctx):
    value = a.get("value")
    fill = tensor_to_array(value).reshape(-1)[0] if value is not None else np.float32(0)
    return np.full(_check_size(xs[0].reshape(-1), node.name, ctx.limit), fill)


def _range(node, a, xs, ctx):
    start, limit, delta = (x.reshape(()) for x in xs)
    if delta == 0:
        raise InvalidModel(f"node {node.name!r}: Range with a zero delta")
    count = max(int(np.ceil((limit - start) / delta)), 0)
    _check_size((count,), node.name, ctx.limit)
    return (start + delta * np.arange(count)).astype(start.dtype)


def _constant(node, a, xs, ctx):
    if "value" in a:
        return tensor_to_array(a["value"])
    for key, dtype in (("value_float", np.float32), ("value_floats", np.float32),
                       ("value_int", np.int64), ("value_ints", np.int64)):
        if key in a:
            return np.array(a[key], dtype)
    raise InvalidModel(f"Constant node {node.name!r} has no value this importer reads")


def _shape(node, a, xs, ctx):
    dims = np.array(xs[0].shape, np.int64)
    return dims[a.get("start", 0): a["end"]] if "end" in a else dims[a.get("start", 0):]


def _expand(node, a, xs, ctx):
    shape = np.broadcast_shapes(xs[0].shape, tuple(int(d) for d in xs[1].reshape(-1)))
    return np.broadcast_to(xs[0], _check_size(shape, node.name, ctx.limit)).copy()


FOLDERS: dict[str, Callable] = {
    "Constant": _constant,
    "Identity": lambda n, a, xs, o: xs[0],
    "Dropout": lambda n, a, xs, o: xs[0],
    "Cast": lambda n, a, xs, o: xs[0].astype(helper.tensor_dtype_to_np_dtype(a["to"])),
    "Shape": _shape,
    "Gather": lambda n, a, xs, o: np.take(xs[0], xs[1].astype(np.int64), axis=a.get("axis", 0)),
    "Unsqueeze": _unsqueeze,
    "Squeeze": _squeeze,
    "Concat": lambda n, a, xs, o: np.concatenate([np.atleast_1d(x) for x in xs], axis=a["axis"]),
    "Reshape": lambda n, a, xs, o: xs[0].reshape(
        _reshape_target(xs[0].shape, xs[1], a.get("allowzero", 0))
    ),
    "Flatten": lambda n, a, xs, o: xs[0].reshape(
        int(np.prod(xs[0].shape[: a.get("axis", 1)])), -1
    ),
    "Transpose": lambda n, a, xs, o: np.transpose(xs[0], a.get("perm")),
    "Slice": _slice,
    "Add": lambda n, a, xs, o: np.add(*xs),
    "Sub": lambda n, a, xs, o: np.subtract(*xs),
    "Mul": lambda n, a, xs, o: np.multiply(*xs),
    "Div": _divide,
    "Neg": lambda n, a, xs, o: np.negative(xs[0]),
    "Sqrt": lambda n, a, xs, o: np.sqrt(xs[0]),
    "Reciprocal": lambda n, a, xs, o: np.reciprocal(xs[0]),
    "Floor": lambda n, a, xs, o: np.floor(xs[0]),
    "Ceil": lambda n, a, xs, o: np.ceil(xs[0]),
    "ConstantOfShape": _constant_of_shape,
    "Range": _range,
    "Expand": _expand,
}


class Context(NamedTuple):
    opset: int
    limit: int  # the most elements a built constant may hold


def fold(node, inputs: list[np.ndarray | None], opset: int, limit: int) -> np.ndarray:
    """The value of a node all of whose inputs are constants."""
    try:
        return np.asarray(FOLDERS[node.op_type](node, attributes(node), inputs,
                                                Context(opset, limit)))
    except ModelImportError:
        raise
    except Exception as exc:  # inconsistent constants: bad axes, shapes that do not fit
        raise InvalidModel(
            f"node {node.name!r} ({node.op_type}) cannot be evaluated on its constants: {exc}"
        ) from None
