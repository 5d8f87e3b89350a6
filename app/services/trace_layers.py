"""One layer of a stored (or recomputed) trace: GET /api/v1/traces/{trace_id}/layers/{name}.

`part` takes the names of the fields it returns (output, grad_output, pool_indices,
pool_mask, params, param_grads; inspect's `activations` / `gradients` too, as aliases);
`channels` "a-b" (inclusive, 0-based; "a" alone is one channel) slices the channel axis of
output, grad_output, pool_indices and pool_mask (params, with BatchNorm's `buffers`, are
returned whole).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from app.services.encoding import (
    ENCODINGS,
    INCLUDE_ALIASES,
    INCLUDE_PARTS,
    LAYER_PARTS,
    NonFiniteError,
    encode_tensor,
    pool_mask,
)
from app.services.errors import ApiError
from app.services.traces import TraceStore, resolve

DEFAULT_PARTS: tuple[str, ...] = ("output", "grad_output")
_CHANNELS = re.compile(r"^\s*(\d{1,9})\s*(?:-\s*(\d{1,9})\s*)?$")
CHANNELS_PATTERN = _CHANNELS.pattern


def parse_parts(values: str | Iterable[str] | None) -> tuple[str, ...]:
    """`part` as a comma list, repeated, or both -> layer fields in canonical order;
    nothing -> output and grad_output. 422 `invalid_part` naming an unknown name."""
    if values is None:
        return DEFAULT_PARTS
    if isinstance(values, str):
        values = [values]
    names = {p.strip() for v in values for p in str(v).split(",") if p.strip()}
    unknown = sorted(names - set(INCLUDE_PARTS))
    if unknown:
        shown = ", ".join(repr(name[:64]) for name in unknown[:10])
        raise ApiError(422, "invalid_part", f"unknown part(s) {shown}; known: "
                       f"{', '.join(LAYER_PARTS)} (aliases: activations, gradients)", field="part")
    fields = {INCLUDE_ALIASES.get(name, name) for name in names}
    return tuple(p for p in LAYER_PARTS if p in fields) or DEFAULT_PARTS


def parse_channels(text: str | None) -> tuple[int, int] | None:
    """"a-b" (inclusive) or "a" -> (a, b); None -> None. 422 `invalid_channels`."""
    if text is None:
        return None
    match = _CHANNELS.match(text)
    if not match:
        raise ApiError(422, "invalid_channels",
                       f"channels must be a range a-b or one channel a (0-based, inclusive), "
                       f"not {text[:64]!r}", field="channels")
    first = int(match.group(1))
    last = int(match.group(2)) if match.group(2) is not None else first
    if last < first:
        raise ApiError(422, "invalid_channels",
                       f"channels {first}-{last}: the range ends before it starts",
                       field="channels")
    return first, last


def _layer(trace, name: str):
    for lt in trace.layers:
        if lt.name == name:
            return lt
    names = [lt.name for lt in trace.layers]
    raise ApiError(404, "layer_not_found",
                   f"this trace has no layer {name[:64]!r}; its layers: {', '.join(names[:64])}",
                   layer=name, layers=names)


def layer_payload(
    trace_id: str, model_id: str, trace, layer_name: str, parts: tuple[str, ...],
    channels: tuple[int, int] | None, encoding: str,
) -> dict[str, Any]:
    """The response body for one layer of a trace (batch axis dropped)."""
    if encoding not in ENCODINGS:
        raise ApiError(422, "invalid_encoding", f"encoding must be one of {', '.join(ENCODINGS)}",
                       field="encoding")
    lt = _layer(trace, layer_name)
    count = lt.output.shape[1] if lt.output.ndim > 1 else 1
    if channels is not None and channels[1] >= count:
        raise ApiError(422, "invalid_channels",
                       f"channels {channels[0]}-{channels[1]}: layer {lt.name!r} has "
                       f"{count} channel(s), 0 to {count - 1}", field="channels", count=count)
    window = slice(None) if channels is None else slice(channels[0], channels[1] + 1)

    def tensor(array, part: str) -> dict:
        return encode_tensor(array[window], encoding, f"{lt.name}.{part}")

    body: dict[str, Any] = {
        "trace_id": trace_id, "model": model_id, "index": lt.index, "name": lt.name,
        "kind": lt.kind, "output_shape": list(lt.output_shape[1:]), "channel_count": count,
        "part": list(parts), "channels": None if channels is None else list(channels),
        "encoding": encoding,
    }
    try:
        if "output" in parts:
            body["output"] = tensor(lt.output[0], "output")
        if "grad_output" in parts and lt.grad_output is not None:
            body["grad_output"] = tensor(lt.grad_output[0], "grad_output")
        if lt.pool_indices is not None:
            if "pool_indices" in parts:
                body["pool_indices"] = tensor(lt.pool_indices[0], "pool_indices")
            if "pool_mask" in parts:
                body["pool_mask"] = tensor(
                    pool_mask(lt.pool_indices[0], lt.input_shape[1:]), "pool_mask"
                )
        # BatchNorm's buffers (running statistics) go with its params, as in /inspect.
        for part, field, values in (("params", "params", lt.params),
                                    ("params", "buffers", lt.buffers),
                                    ("param_grads", "param_grads", lt.grads)):
            if part in parts and values:
                body[field] = {key: encode_tensor(value, encoding, f"{lt.name}.{field}.{key}")
                               for key, value in values.items()}
    except NonFiniteError as exc:
        raise ApiError(422, "non_finite_result", f"the pass produced non-finite numbers ({exc})",
                       tensor=exc.name) from None
    return body


def fetch_layer(
    store: TraceStore | None, trace_id: str, layer_name: str, *,
    part: str | Iterable[str] | None = None, channels: str | None = None,
    encoding: str = "base64", token: str | None = None,
) -> dict[str, Any]:
    """Validate the options, find or recompute the trace, and encode one layer of it."""
    parts = parse_parts(part)
    window = parse_channels(channels)
    model_id, trace, recomputed = resolve(store, trace_id, token)
    body = layer_payload(trace_id, model_id, trace, layer_name, parts, window, encoding)
    body["recomputed"] = recomputed
    return body
