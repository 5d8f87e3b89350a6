"""GET /api/v1/traces/{trace_id}/layers/{layer_name}: one node of an inspected trace.

The router validates and reads its query, then runs the service (app.services.trace_layers)
on the CPU pool: a trace this process no longer holds is recomputed there from its recipe.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response

from app.api.compression import accepts_gzip, encoding_headers, gzip_bytes
from app.api.dependencies import Traces
from app.api.limits import run_cpu_bound
from app.api.schemas import TraceLayerResponse, error_responses
from app.api.schemas.inspect import Encoding
from app.services.inspect import to_json_bytes
from app.services.trace_layers import fetch_layer
from app.services.traces import TRACE_ID_PATTERN

router = APIRouter(prefix="/api/v1", tags=["traces"])

MAX_TOKEN_CHARS = 1 << 20


def _fetch(store, trace_id: str, layer_name: str, compress: bool, **options: Any) -> bytes:
    """On the CPU pool: find or recompute the trace, encode the layer, serialise."""
    data = to_json_bytes(fetch_layer(store, trace_id, layer_name, **options))
    return gzip_bytes(data) if compress else data


@router.get(
    "/traces/{trace_id}/layers/{layer_name}",
    operation_id="get_trace_layer",
    response_model=TraceLayerResponse,
    response_model_exclude_none=True,
    summary="One layer of an inspected trace: its tensors, whole or a slice of channels",
    description=(
        "`trace_id` is the `trace_id` of an inspect response. Returns the layer's tensors in "
        "the inspect response's Tensor encoding: `part` picks them by field name (output, "
        "grad_output, pool_indices, pool_mask, params, param_grads; a comma list or repeated; "
        "default output and grad_output; `activations` and `gradients` are accepted as "
        "aliases), `channels=a-b` sends channels a to b inclusive (0-based; `a` alone is one "
        "channel). A server that does not hold the trace (evicted, expired, or another "
        "replica) computes it again from its recipe: its own copy, or the response's "
        "`trace_input` sent back as `input`. 404 `trace_not_found` when it can do neither."
    ),
    responses=error_responses(404, 422, 503),
)
async def get_trace_layer(
    request: Request,
    store: Traces,
    trace_id: Annotated[str, Path(description="64 lowercase hex digits.",
                                  json_schema_extra={"pattern": TRACE_ID_PATTERN})],
    layer_name: Annotated[str, Path(description="A node name, as in the inspect response.")],
    part: Annotated[list[str] | None, Query(
        description="Parts to send: output, grad_output, pool_indices, pool_mask, params, "
        "param_grads (comma list or repeated)."
    )] = None,
    channels: Annotated[str | None, Query(
        description="`a-b`: channels a to b inclusive, 0-based; `a`: one channel.",
        max_length=32,
    )] = None,
    encoding: Encoding = "base64",
    input: Annotated[str | None, Query(
        description="The inspect response's `trace_input`: lets any replica recompute the "
        "trace.", max_length=MAX_TOKEN_CHARS,
    )] = None,
) -> Response:
    compress = accepts_gzip(request)
    payload = await run_cpu_bound(
        _fetch, store, trace_id, layer_name, compress, part=part, channels=channels,
        encoding=encoding, token=input,
    )
    return Response(payload, media_type="application/json", headers=encoding_headers(compress))
