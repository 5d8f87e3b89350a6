"""GET /api/v1/traces/{trace_id}/layers/{layer_name}: one node of an inspected trace.

The router validates and reads its query, then runs the service (app.services.trace_layers)
on the CPU pool: a trace this process no longer holds is recomputed there from its recipe.
POST .../layers/{layer_name}/fetch is the same with the recipe token in a JSON body, for
inputs whose token is too long for a URL (a 3x224x224 input's is about 0.7 MB); the body is
parsed on the CPU pool too.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response
from pydantic import ValidationError

from app.api.compression import accepts_gzip, encoding_headers, gzip_bytes
from app.api.dependencies import Traces
from app.api.limits import run_cpu_bound
from app.api.schemas import TraceLayerRequest, TraceLayerResponse, error_responses
from app.api.schemas.inspect import Encoding
from app.api.schemas.traces import MAX_TOKEN_CHARS
from app.api.validation import load_json, validation_error
from app.services.inspect import to_json_bytes
from app.services.trace_layers import fetch_layer
from app.services.traces import TRACE_ID_PATTERN

router = APIRouter(prefix="/api/v1", tags=["traces"])

_PATH = "/traces/{trace_id}/layers/{layer_name}"
_DESCRIPTION = (
    "`trace_id` is the `trace_id` of an inspect response. Returns the layer's tensors in "
    "the inspect response's Tensor encoding: `part` picks them by field name (output, "
    "grad_output, pool_indices, pool_mask, params, param_grads; a comma list or repeated; "
    "default output and grad_output; `activations` and `gradients` are accepted as "
    "aliases), `channels=a-b` sends channels a to b inclusive (0-based; `a` alone is one "
    "channel). A server that does not hold the trace (evicted, expired, or another "
    "replica) computes it again from its recipe: its own copy, or the response's "
    "`trace_input` sent back as `input`. 404 `trace_not_found` when it can do neither."
)

TraceId = Annotated[str, Path(description="64 lowercase hex digits.",
                              json_schema_extra={"pattern": TRACE_ID_PATTERN})]
LayerName = Annotated[str, Path(description="A node name, as in the inspect response.")]
Parts = Annotated[list[str] | None, Query(
    description="Parts to send: output, grad_output, pool_indices, pool_mask, params, "
    "param_grads (comma list or repeated)."
)]
Channels = Annotated[str | None, Query(
    description="`a-b`: channels a to b inclusive, 0-based; `a`: one channel.", max_length=32,
)]


def _fetch(store, trace_id: str, layer_name: str, compress: bool, **options: Any) -> bytes:
    """On the CPU pool: find or recompute the trace, encode the layer, serialise."""
    data = to_json_bytes(fetch_layer(store, trace_id, layer_name, **options))
    return gzip_bytes(data) if compress else data


def _fetch_with_body(store, trace_id: str, layer_name: str, compress: bool, raw: bytes,
                     **options: Any) -> bytes:
    """On the CPU pool: parse the JSON body's token, then _fetch."""
    try:
        body = TraceLayerRequest.model_validate(load_json(raw))
    except ValidationError as exc:
        raise validation_error(exc) from None
    return _fetch(store, trace_id, layer_name, compress, token=body.input, **options)


def _answer(payload: bytes, compress: bool) -> Response:
    return Response(payload, media_type="application/json", headers=encoding_headers(compress))


@router.get(
    _PATH,
    operation_id="get_trace_layer",
    response_model=TraceLayerResponse,
    summary="One layer of an inspected trace: its tensors, whole or a slice of channels",
    description=_DESCRIPTION,
    responses=error_responses(404, 422, 503),
)
async def get_trace_layer(
    request: Request, store: Traces, trace_id: TraceId, layer_name: LayerName,
    part: Parts = None, channels: Channels = None, encoding: Encoding = "base64",
    input: Annotated[str | None, Query(
        description="The inspect response's `trace_input`: lets any replica recompute the "
        "trace (too long for a URL? POST it in the body).", max_length=MAX_TOKEN_CHARS,
    )] = None,
) -> Response:
    compress = accepts_gzip(request)
    payload = await run_cpu_bound(
        _fetch, store, trace_id, layer_name, compress, part=part, channels=channels,
        encoding=encoding, token=input,
    )
    return _answer(payload, compress)


@router.post(
    _PATH + "/fetch",
    operation_id="fetch_trace_layer",
    response_model=TraceLayerResponse,
    summary="One layer of an inspected trace, its recipe token sent in the body",
    description=_DESCRIPTION + " This form takes `input` in a JSON body, for tokens too long "
    "for a URL.",
    openapi_extra={"requestBody": {"required": True, "content": {
        "application/json": {"schema": TraceLayerRequest.model_json_schema()},
    }}},
    responses=error_responses(400, 404, 413, 422, 503),
)
async def fetch_trace_layer(
    request: Request, store: Traces, trace_id: TraceId, layer_name: LayerName,
    part: Parts = None, channels: Channels = None, encoding: Encoding = "base64",
) -> Response:
    compress = accepts_gzip(request)
    raw = await request.body()
    payload = await run_cpu_bound(
        _fetch_with_body, store, trace_id, layer_name, compress, raw, part=part,
        channels=channels, encoding=encoding,
    )
    return _answer(payload, compress)
