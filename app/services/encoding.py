"""NumPy arrays and traces -> the JSON the API returns (and back, for clients and tests).

A Tensor is {"shape", "dtype", "encoding", "data", "min", "max"}:
- "base64" (default): data is the base64 of the array's little-endian bytes in C order, so
  `np.frombuffer(b64decode(data), dtype="<f4").reshape(shape)` restores it exactly;
- "list": data is nested lists of numbers.
Both decode to the same numbers. Non-finite values never reach a response: encoding an array
that holds NaN or infinity raises NonFiniteError (the API answers 422 naming the tensor).

`encode_trace` is the one place a Trace becomes the inspect response; the API and
`convscope inspect` both call it.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal

import numpy as np

from app.nn.losses import information
from app.nn.trace import LayerTrace, Trace, summary
from app.services.recurrent_encoding import encode_recurrent
from app.services.trace_budget import omitted_reason, response_plan

Encoding = Literal["base64", "list"]
ENCODINGS: tuple[str, ...] = ("base64", "list")

# Parts of a layer's trace, named as the fields they fill: `include` (inspect) and `part`
# (one layer of a stored trace) take these names.
LAYER_PARTS: tuple[str, ...] = (
    "output", "grad_output", "pool_indices", "pool_mask", "params", "param_grads",
)
# The first names of two parts, still accepted (and echoed as sent) so no client breaks.
INCLUDE_ALIASES: dict[str, str] = {"activations": "output", "gradients": "grad_output"}
# Every name `include` accepts, in the order the response's `include` lists them.
INCLUDE_PARTS: tuple[str, ...] = (*INCLUDE_ALIASES, *LAYER_PARTS)
DEFAULT_INCLUDE: tuple[str, ...] = ("activations", "gradients", "pool_indices")

# Wire dtypes: little-endian, fixed width. Pool indices fit int32 (a plane has < 2**31 cells).
_WIRE_DTYPES = {
    np.dtype(np.float32): np.dtype("<f4"),
    np.dtype(np.float64): np.dtype("<f8"),
    np.dtype(np.uint8): np.dtype("u1"),
    np.dtype(np.int32): np.dtype("<i4"),
    np.dtype(np.int64): np.dtype("<i4"),
}
_DTYPE_NAMES = {"<f4": "float32", "<f8": "float64", "|u1": "uint8", "<i4": "int32"}
_NAME_TO_WIRE = {name: np.dtype(code) for code, name in _DTYPE_NAMES.items()}


class NonFiniteError(ValueError):
    """An array meant for a response holds NaN or infinity."""

    def __init__(self, name: str, count: int):
        super().__init__(f"{name} holds {count} non-finite value(s) (NaN or infinity)")
        self.name = name
        self.count = count


def encode_tensor(array: np.ndarray, encoding: Encoding = "base64", name: str = "tensor") -> dict:
    """Any float/uint8/int array -> a Tensor dict. Raises NonFiniteError for NaN/inf."""
    arr = np.asarray(array)
    try:
        wire = _WIRE_DTYPES[arr.dtype.newbyteorder("=")]
    except KeyError:
        raise TypeError(f"{name}: cannot encode dtype {arr.dtype}") from None
    if arr.dtype.kind == "f":
        finite = np.isfinite(arr)
        if not finite.all():
            raise NonFiniteError(name, int(arr.size - np.count_nonzero(finite)))
    if wire.kind == "i" and arr.dtype.itemsize > wire.itemsize:
        if arr.size and (arr.min() < np.iinfo(np.int32).min or arr.max() > np.iinfo(np.int32).max):
            raise ValueError(f"{name}: integer values exceed int32")
    wire_arr = np.ascontiguousarray(arr, dtype=wire)
    if encoding == "base64":
        data: Any = base64.b64encode(wire_arr.tobytes()).decode("ascii")
    elif encoding == "list":
        data = wire_arr.tolist()
    else:
        raise ValueError(f"unknown encoding {encoding!r}; known: {', '.join(ENCODINGS)}")
    lo, hi = (wire_arr.min().item(), wire_arr.max().item()) if arr.size else (0, 0)
    return {
        "shape": list(arr.shape),
        "dtype": _DTYPE_NAMES[wire.str],
        "encoding": encoding,
        "data": data,
        "min": lo,
        "max": hi,
    }


def decode_tensor(tensor: Mapping[str, Any]) -> np.ndarray:
    """A Tensor dict (either encoding) -> the array it carries."""
    dtype = _NAME_TO_WIRE[tensor["dtype"]]
    shape = tuple(tensor["shape"])
    if tensor["encoding"] == "base64":
        raw = base64.b64decode(tensor["data"])
        return np.frombuffer(raw, dtype=dtype).reshape(shape)
    return np.asarray(tensor["data"], dtype=dtype).reshape(shape)


def parse_include(values: str | Iterable[str] | None) -> tuple[str, ...]:
    """`include` as a comma list, repeated values, or both -> the parts, in canonical order.

    None or nothing given -> DEFAULT_INCLUDE. Raises ValueError naming an unknown part.
    """
    if values is None:
        return DEFAULT_INCLUDE
    if isinstance(values, str):
        values = [values]
    parts = {p.strip() for v in values for p in str(v).split(",") if p.strip()}
    if not parts:
        return DEFAULT_INCLUDE
    unknown = sorted(parts - set(INCLUDE_PARTS))
    if unknown:
        raise ValueError(
            f"unknown include part(s) {', '.join(map(repr, unknown))}; "
            f"known: {', '.join(INCLUDE_PARTS)}"
        )
    return tuple(p for p in INCLUDE_PARTS if p in parts)


def include_fields(include: Iterable[str]) -> set[str]:
    """Include names (aliases allowed) -> the layer fields they select."""
    return {INCLUDE_ALIASES.get(p, p) for p in include}


def layer_summary(lt: LayerTrace) -> dict[str, Any]:
    """A layer's output and delta in a few numbers (app.nn.trace.summary, batch axis
    dropped from the shape, channel energies to 7 significant digits): always sent,
    whatever the budget."""

    def one(array: np.ndarray | None) -> dict[str, Any] | None:
        if array is None:
            return None
        result = summary(array)
        result["shape"] = result["shape"][1:]
        # float32's precision, in about half the JSON of float64's repr (2,000+ channels).
        result["channel_energy"] = [float(f"{e:.7g}") for e in result["channel_energy"]]
        return result

    return {"output": one(lt.output), "grad_output": one(lt.grad_output)}


def pool_mask(indices: np.ndarray, input_shape: Sequence[int]) -> np.ndarray:
    """Max-pooling winners as a dense count in the pool's input layout.

    indices (C, H_out, W_out), flat h*W + w per output -> uint8 (C, H, W): per input cell,
    how many windows it won (0: it routes no gradient; > 1 only with overlapping windows).
    """
    c, h, w = input_shape
    plane = h * w
    offsets = (np.arange(c) * plane).reshape(c, 1, 1)
    counts = np.bincount((indices + offsets).ravel(), minlength=c * plane)
    if counts.size and counts.max() > np.iinfo(np.uint8).max:
        raise ValueError("a pooling input cell won more than 255 windows")
    return counts.astype(np.uint8).reshape(c, h, w)


def check_finite(trace: Trace) -> None:
    """Raise NonFiniteError naming where a pass first went non-finite: the layers' outputs
    in forward order, then the deltas in backward order, then the parameter gradients."""
    candidates = [(f"{lt.name}.output", lt.output) for lt in trace.layers]
    candidates += [(f"{lt.name}.grad_output", lt.grad_output) for lt in reversed(trace.layers)]
    candidates.append(("input_grad", trace.input_grad))
    candidates += [
        (f"{lt.name}.grad_{key}", grad) for lt in trace.layers for key, grad in lt.grads.items()
    ]
    for name, array in candidates:
        if array is not None:
            finite = np.isfinite(array)
            if not finite.all():
                raise NonFiniteError(name, int(array.size - np.count_nonzero(finite)))


def _finite_floats(values: np.ndarray, name: str) -> list[float]:
    arr = np.asarray(values, dtype=np.float64)
    if not np.isfinite(arr).all():
        raise NonFiniteError(name, int(arr.size - np.count_nonzero(np.isfinite(arr))))
    return arr.tolist()


def encode_trace(
    trace: Trace,
    *,
    model_id: str,
    classes: Sequence[str],
    receptive_fields: Sequence[Mapping[str, Any]],
    preprocessing: Sequence[Mapping[str, str]] = (),
    include: Iterable[str] = DEFAULT_INCLUDE,
    encoding: Encoding = "base64",
    layer_budget: int | None = None,
    include_layers: Iterable[str] = (),
    response_budget: int | None = None,
) -> dict[str, Any]:
    """A Trace of ONE image (batch of 1) -> the inspect response body, batch axis dropped.

    receptive_fields[i] is layer i's {"size", "jump", "start", ...}; preprocessing the
    [{"step", "image"}] the input went through. Timings are the caller's to add. Every
    layer gets a `summary`; a part over `layer_budget` bytes (part_bytes) is left out and
    named in the layer's `omitted`, unless the layer is in `include_layers`. The whole
    response's tensors then fit `response_budget` (response_plan): layers that did not fit
    are left out whole, named in `omitted` with `omitted_reason` "response_budget".
    """
    parts = set(include)
    fields = include_fields(parts)
    full_layers = set(include_layers)
    if trace.input.shape[0] != 1:
        raise ValueError(f"encode_trace takes a trace of one image, got batch {trace.input.shape}")
    check_finite(trace)

    def tensor(array: np.ndarray, name: str) -> dict:
        return encode_tensor(array[0], encoding, name)

    planned = response_plan(trace, fields, layer_budget, response_budget, full_layers)
    layers = []
    for lt, rf in zip(trace.layers, receptive_fields, strict=True):
        omitted: list[str] = []
        sent, dropped = planned[lt.name]

        def want(part: str, omitted: list[str] = omitted, sent=sent, dropped=dropped) -> bool:
            if part in sent:
                return True
            if part in dropped:
                omitted.append(part)
            return False

        entry: dict[str, Any] = {
            "index": lt.index,
            "name": lt.name,
            "kind": lt.kind,
            "config": lt.config,
            "input_shape": list(lt.input_shape[1:]),
            "output_shape": list(lt.output_shape[1:]),
            "receptive_field": None if rf is None else dict(rf),
            "inputs": list(lt.inputs),
        }
        if want("output"):
            entry["output"] = tensor(lt.output, f"{lt.name}.output")
        if lt.grad_output is not None and want("grad_output"):
            entry["grad_output"] = tensor(lt.grad_output, f"{lt.name}.grad_output")
        if lt.pool_indices is not None:
            if want("pool_indices"):
                entry["pool_indices"] = tensor(lt.pool_indices, f"{lt.name}.pool_indices")
            if want("pool_mask"):
                mask = pool_mask(lt.pool_indices[0], lt.input_shape[1:])
                entry["pool_mask"] = encode_tensor(mask, encoding, f"{lt.name}.pool_mask")
        if (lt.params or lt.buffers) and want("params"):  # BatchNorm's buffers go with params
            for field, arrays in (("params", lt.params), ("buffers", lt.buffers)):
                if arrays:
                    entry[field] = {
                        key: encode_tensor(value, encoding, f"{lt.name}.{key}")
                        for key, value in arrays.items()
                    }
        if lt.grads and want("param_grads"):
            entry["param_grads"] = {
                key: encode_tensor(value, encoding, f"{lt.name}.grad_{key}")
                for key, value in lt.grads.items()
            }
        if lt.recurrent is not None:  # RNN, LSTM: the pass with a time axis
            entry["recurrent"] = encode_recurrent(
                lt.recurrent, lt.name, fields, lambda a, n: encode_tensor(a, encoding, n))
        entry["summary"] = layer_summary(lt)
        entry["omitted"] = omitted
        if omitted:
            entry["omitted_reason"] = omitted_reason(dropped)
        layers.append(entry)

    target = int(trace.target[0])
    body: dict[str, Any] = {
        "model": model_id,
        "classes": list(classes),
        "include": sorted(parts, key=INCLUDE_PARTS.index),
        "encoding": encoding,
        "input": tensor(trace.input, "input"),
        "preprocessing": [dict(step) for step in preprocessing],
        "layers": layers,
        "logits": _finite_floats(trace.logits[0], "logits"),
        "probabilities": _finite_floats(trace.probabilities[0], "probabilities"),
        "prediction": int(trace.prediction[0]),
        "target": target,
        "loss": _finite_floats(np.asarray(trace.loss), "loss"),
        "information": information(trace.logits[0], target),
    }
    if "grad_output" in fields:
        body["input_grad"] = tensor(trace.input_grad, "input_grad")
    return body
