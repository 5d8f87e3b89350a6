"""POST /api/v1/models/{model_id}/sgd-step: one SGD step on one input, under a microscope.

The body is the inspect input plus `target` and `lr`; the step runs on a copy of the
parameters on the CPU pool (app.services.sgd_step): the served model never changes."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from app.api.attribution_bodies import MULTIPART_TYPE, run_with_options
from app.api.dependencies import AppSettings
from app.api.schemas import error_responses
from app.api.schemas.sgd_step import (
    OPTION_FIELDS,
    SgdStepJsonRequest,
    SgdStepMultipartRequest,
    SgdStepOptions,
    SgdStepResponse,
)
from app.services.inspect import InspectInput, request_input, to_json_bytes
from app.services.models import get_model
from app.services.sgd_step import sgd_step as take_step
from app.settings import Settings

router = APIRouter(prefix="/api/v1", tags=["training"])


def _step(model_id: str, source: InspectInput, options: SgdStepOptions,
          settings: Settings) -> bytes:
    model = get_model(model_id)
    network_input, _ = request_input(model, source, settings)
    return to_json_bytes(take_step(
        model, network_input, options.lr, source.target, source.encoding,
        options.include_gradients,
    ))


_REQUEST_BODY = {
    "required": True,
    "content": {
        MULTIPART_TYPE: {"schema": SgdStepMultipartRequest.model_json_schema()},
        "application/json": {
            "schema": SgdStepJsonRequest.model_json_schema(),
            "examples": {
                "small": {"summary": "a small step towards class 3",
                          "value": {"sample": 7, "target": 3, "lr": 0.01}},
            },
        },
    },
}


@router.post(
    "/models/{model_id}/sgd-step",
    operation_id="sgd_step",
    response_model=SgdStepResponse,
    summary="One SGD step on one input: the loss before and after, and what theory predicted",
    description=(
        "The input as for /inspect plus `target` (default: the prediction) and `lr`. Takes "
        "one step w' = w - lr * g of the cross-entropy on a copy of the parameters (the "
        "model itself never changes) and returns `loss_before`, `loss_after`, "
        "`actual_change`, `predicted_change` (-lr * |g|^2) and "
        "`predicted_change_second_order`, per parameter the gradient and update norms, and "
        "per layer the feature maps before and after (full maps for small models)."
    ),
    openapi_extra={"requestBody": _REQUEST_BODY},
    responses=error_responses(400, 404, 413, 415, 422, 503),
)
async def sgd_step(model_id: str, request: Request, settings: AppSettings) -> Response:
    get_model(model_id)
    payload = await run_with_options(
        request, settings, SgdStepOptions, OPTION_FIELDS,
        lambda source, options: _step(model_id, source, options, settings),
    )
    return Response(payload, media_type="application/json")
