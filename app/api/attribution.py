"""POST /api/v1/models/{model_id}/attribution: "why this class?" for one input.

The body is the inspect input (multipart image, JSON canvas or sample) plus `method` and its
parameters; the method runs on the CPU pool (app.services.attribution)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from app.api.attribution_bodies import MULTIPART_TYPE, run_with_options
from app.api.dependencies import AppSettings
from app.api.schemas import error_responses
from app.api.schemas.attribution import (
    OPTION_FIELDS,
    AttributionJsonRequest,
    AttributionMultipartRequest,
    AttributionOptions,
    AttributionResponse,
)
from app.services import attribution as service
from app.services.inspect import InspectInput, request_input, to_json_bytes
from app.services.models import get_model
from app.settings import Settings

router = APIRouter(prefix="/api/v1", tags=["attribution"])


def _pair(value: int | list[int]) -> tuple[int, int]:
    return (value, value) if isinstance(value, int) else (value[0], value[1])


def _attribute(
    model_id: str, source: InspectInput, options: AttributionOptions, settings: Settings
) -> bytes:
    model = get_model(model_id)
    network_input, _ = request_input(model, source, settings)
    body = service.attribute(model, network_input, service.AttributionOptions(
        method=options.method, target=source.target, layer=options.layer,
        n_samples=options.n_samples, sigma=options.sigma, seed=options.seed,
        steps=options.steps, rule=options.rule, baseline=options.baseline,
        patch=_pair(options.patch), stride=_pair(options.stride), encoding=source.encoding,
    ))
    return to_json_bytes(body)


_REQUEST_BODY = {
    "required": True,
    "content": {
        MULTIPART_TYPE: {"schema": AttributionMultipartRequest.model_json_schema()},
        "application/json": {
            "schema": AttributionJsonRequest.model_json_schema(),
            "examples": {
                "grad_cam": {"summary": "Grad-CAM of a gallery digit",
                             "value": {"sample": 7, "method": "grad_cam"}},
                "integrated_gradients": {
                    "summary": "integrated gradients for class 3, 64 steps from black",
                    "value": {"sample": 7, "method": "integrated_gradients", "target": 3,
                              "steps": 64, "baseline": 0.0},
                },
            },
        },
    },
}


@router.post(
    "/models/{model_id}/attribution",
    operation_id="attribution",
    response_model=AttributionResponse,
    summary="Why this class? A heatmap of what the target class's logit depends on",
    description=(
        "The input as for /inspect (a multipart `image`, or JSON `pixels` or `sample`), "
        "`target` (default: the prediction) and `method`: saliency, gradient_x_input, "
        "grad_cam (at `layer`, default the last node with a (C, H, W) output), "
        "guided_backprop, smoothgrad (`n_samples`, `sigma`, `seed`), integrated_gradients "
        "(`steps`, `baseline`; with its completeness check) or occlusion (`patch`, `stride`, "
        "`baseline`). Every method explains the target's logit y_t. Returns the raw heatmap "
        "(at the input's, the layer's or the occlusion grid's resolution) and the numbers "
        "that define it. Costs are capped: 422 beyond."
    ),
    openapi_extra={"requestBody": _REQUEST_BODY},
    responses=error_responses(400, 404, 413, 415, 422, 503),
)
async def attribution(model_id: str, request: Request, settings: AppSettings) -> Response:
    get_model(model_id)
    payload = await run_with_options(
        request, settings, AttributionOptions, OPTION_FIELDS,
        lambda source, options: _attribute(model_id, source, options, settings),
    )
    return Response(payload, media_type="application/json")
