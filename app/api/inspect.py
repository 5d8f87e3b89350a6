"""POST /api/v1/models/{model_id}/inspect: one forward and one backward pass, every layer.

The router reads the body (app.api.bodies: multipart or JSON, both declared in the OpenAPI
schema), runs the pipeline (app.services.inspect) on the CPU pool, and sends its JSON, gzipped
for clients that accept it (app.api.compression).
"""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from app.api.bodies import parse_json_body, parse_multipart_body
from app.api.compression import accepts_gzip, encoding_headers, gzip_bytes
from app.api.dependencies import AppSettings, Traces
from app.api.limits import run_cpu_bound
from app.api.schemas import (
    InspectJsonRequest,
    InspectMultipartRequest,
    InspectResponse,
    error_responses,
)
from app.services.errors import ApiError
from app.services.inspect import InspectInput, inspect_image, to_json_bytes
from app.services.models import get_model
from app.services.traces import TraceStore
from app.settings import Settings

router = APIRouter(prefix="/api/v1", tags=["inspect"])

JSON_TYPES = ("application/json",)
MULTIPART_TYPE = "multipart/form-data"


def _ms(since: float) -> float:
    return round((time.perf_counter() - since) * 1000, 3)


def _respond(body: dict[str, Any], compress: bool) -> bytes:
    data = to_json_bytes(body)
    return gzip_bytes(data) if compress else data


def _inspect_json(
    model_id: str, raw: bytes, settings: Settings, store: TraceStore, compress: bool
) -> bytes:
    """On the CPU pool: parse and check the JSON body, then the pipeline."""
    tick = time.perf_counter()
    source = parse_json_body(raw, settings)
    source.timings_ms["parse"] = _ms(tick)
    return _respond(inspect_image(model_id, source, settings, store), compress)


def _inspect_parsed(
    model_id: str, source: InspectInput, settings: Settings, store: TraceStore, compress: bool
) -> bytes:
    return _respond(inspect_image(model_id, source, settings, store), compress)


_REQUEST_BODY = {
    "required": True,
    "content": {
        MULTIPART_TYPE: {"schema": InspectMultipartRequest.model_json_schema()},
        "application/json": {
            "schema": InspectJsonRequest.model_json_schema(),
            "examples": {
                "sample": {"summary": "a gallery digit", "value": {"sample": 7}},
                "pixels": {
                    "summary": "a drawn canvas, loss against class 3",
                    "value": {"pixels": [[0, 0, 0], [0, 255, 0], [0, 255, 0]], "target": 3},
                },
                "tensor": {
                    "summary": "an exact input tensor (here a 1x1x2x2 input, all zeros)",
                    "value": {"tensor": {"shape": [1, 1, 2, 2], "dtype": "float32",
                                         "encoding": "base64", "data": "AAAAAAAAAAAAAAAAAAAAAA=="}},
                },
            },
        },
    },
}


@router.post(
    "/models/{model_id}/inspect",
    operation_id="inspect",
    response_model=InspectResponse,
    summary="Run one image through the model: every layer's activations, pool winners and "
    "deltas",
    description=(
        "Send a multipart body with a file field `image` (plus optional form fields `target`, "
        "`encoding`, `include`), or a JSON body with `pixels` (a drawn canvas), `sample` (a "
        "gallery id of the model's gallery) or `tensor` (an exact network input shaped like "
        "the model's input with a batch of 1, float32 base64 like the responses' tensors, "
        "used as is). An image is preprocessed for the model's input spec (`input_spec` in "
        "the response). 1-channel digit models: like MNIST (EXIF orientation, grayscale, "
        "inverted when the background is light, cropped to the ink, longer side scaled to 20, "
        "centred by mass in 28x28; resized to the model's size if it is not 28x28). Other "
        "models: colour kept for 3 channels (transparency on white), resize the shorter side "
        "then centre-crop (the centred box of the model's aspect ratio, scaled to its height "
        "x width), scaled to [0, 1], channels reversed for BGR models. Then (x - mean) / std "
        "per channel, and one forward and one backward pass of the softmax "
        "cross-entropy against `target` (default: the prediction) are run. Tensors are "
        "base64 little-endian by default, nested lists with `encoding=list`. Batch axis "
        "dropped. Max pooling ties go to the first maximum in row-major window order."
    ),
    openapi_extra={"requestBody": _REQUEST_BODY},
    responses=error_responses(400, 404, 413, 415, 422, 503),
)
async def inspect(
    model_id: str, request: Request, settings: AppSettings, store: Traces
) -> Response:
    get_model(model_id)
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    tick = time.perf_counter()
    compress = accepts_gzip(request)
    if media_type == MULTIPART_TYPE:
        source = await parse_multipart_body(request, settings)
        source.timings_ms["read"] = _ms(tick)
        payload = await run_cpu_bound(
            _inspect_parsed, model_id, source, settings, store, compress
        )
    elif media_type in JSON_TYPES:
        raw = await request.body()
        payload = await run_cpu_bound(
            _inspect_json, model_id, raw, settings, store, compress
        )
    else:
        raise ApiError(
            415, "unsupported_media_type",
            f"send multipart/form-data (file field `image`) or application/json, "
            f"not {media_type or 'a body without a Content-Type'}",
            supported=[MULTIPART_TYPE, *JSON_TYPES],
        )
    return Response(
        payload, media_type="application/json", headers=encoding_headers(compress)
    )
