"""The models: GET /api/v1/models (bundled and stored), GET /api/v1/models/{model_id} (card
and layer table), POST /api/v1/models (upload an ONNX file into the model store) and
DELETE /api/v1/models/{model_id} (remove an uploaded or trained one)."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response

from app.api.dependencies import AppSettings
from app.api.limits import run_cpu_bound
from app.api.model_forms import parse_model_upload
from app.api.schemas import ErrorResponse, ModelDetail, ModelList, error_responses
from app.api.schemas.models import ModelUploadForm, StoredModelCard
from app.models import Model, load_model
from app.services.encoding import encode_tensor
from app.services.model_store import model_store
from app.services.models import (
    available_models,
    delete_stored,
    get_model,
    receptive_fields,
    store_onnx,
    stored_summary,
)

__all__ = ["available_models", "get_model", "receptive_fields", "router"]

router = APIRouter(prefix="/api/v1", tags=["models"])


def model_summary(model: Model) -> dict[str, Any]:
    card = model.card
    heldout = card.get("heldout") or {}
    accuracy = heldout.get("accuracy", card.get("accuracy"))
    return {
        "id": model.id,
        "name": card.get("name", model.architecture.name),
        "description": card.get("description", model.architecture.description),
        "input_shape": list(model.input_shape),
        "classes": model.classes,
        "parameters": model.network.parameter_count,
        "accuracy": None if accuracy is None else float(accuracy),
        "source": card.get("source", "bundled"),
    }


def model_detail(model: Model, with_weights: bool = False) -> dict[str, Any]:
    """The summary, the full card, and the layer table (with weights on request)."""
    shapes = model.network.shapes((1, *model.input_shape))
    layers = []
    for index, ((name, layer, inputs), (in_shape, out_shape), rf) in enumerate(
        zip(model.network.nodes, shapes, receptive_fields(model), strict=True)
    ):
        entry: dict[str, Any] = {
            "index": index,
            "name": name,
            "kind": layer.kind,
            "inputs": list(inputs),
            "config": layer.config(),
            "input_shape": list(in_shape[1:]),
            "output_shape": list(out_shape[1:]),
            "parameters": layer.parameter_count,
            "receptive_field": rf,
        }
        if with_weights and layer.params:
            entry["params"] = {
                key: encode_tensor(value, "base64", f"{name}.{key}")
                for key, value in layer.params.items()
            }
        if with_weights and layer.buffers:
            entry["buffers"] = {
                key: encode_tensor(value, "base64", f"{name}.{key}")
                for key, value in layer.buffers.items()
            }
        layers.append(entry)
    return {**model_summary(model), "card": model.card, "layers": layers}


@router.get(
    "/models",
    operation_id="list_models",
    response_model=ModelList,
    summary="The models: bundled ones first, then uploaded and trained ones (oldest first)",
    responses=error_responses(),
)
def models_index() -> dict[str, Any]:
    bundled = [model_summary(load_model(m)) for m in available_models()]
    return {"models": bundled + [stored_summary(card) for card in model_store().cards()]}


_UPLOAD_BODY = {
    "required": True,
    "content": {"multipart/form-data": {"schema": ModelUploadForm.model_json_schema()}},
}


@router.post(
    "/models",
    operation_id="upload_model",
    status_code=201,
    response_model=StoredModelCard,
    summary="Upload an ONNX model into the model store",
    description=(
        "A multipart body with the file field `file` (the .onnx file, weights inside it) and "
        "optional `name`, `classes` (a JSON list of strings, or a text file with one label a "
        "line) and `input` (JSON: channels, height, width, mean, std, colour_order). The "
        "model is imported (only parsed: ConvScope's own core runs it) and stored under an "
        "id made of the first 16 hex digits of the file's sha256. Answers 201 with its card; "
        "uploading the same bytes again answers 200 with the card stored the first time "
        "(other `name`, `classes` or `input` are then ignored: delete it first to change "
        "them). A file over the size cap gets 413; a model the importer refuses gets 422 "
        "with its code: `unsupported_operator` (naming the operator, node and opset), "
        "`external_data`, `model_too_large` (parameters or nodes) or `invalid_model`."
    ),
    openapi_extra={"requestBody": _UPLOAD_BODY},
    responses={
        200: {"model": StoredModelCard, "description": "These bytes were already stored."},
        **error_responses(400, 413, 415, 422, 503),
    },
)
async def model_upload(request: Request, settings: AppSettings) -> Response:
    upload = await parse_model_upload(request, settings)
    card, created = await run_cpu_bound(
        store_onnx, upload.data, name=upload.name, classes=upload.classes,
        input_spec=upload.input_spec,
    )
    return JSONResponse(card, status_code=201 if created else 200)


@router.delete(
    "/models/{model_id}",
    operation_id="delete_model",
    status_code=204,
    summary="Delete an uploaded or trained model (bundled models cannot be deleted)",
    responses={
        403: {"model": ErrorResponse, "description": "A bundled model: it cannot be deleted."},
        **error_responses(404),
    },
)
def model_delete(model_id: str) -> Response:
    delete_stored(model_id)
    return Response(status_code=204)


@router.get(
    "/models/{model_id}",
    operation_id="get_model",
    response_model=ModelDetail,
    response_model_exclude_none=True,
    summary="One model: its card and layer table (shapes, parameters, receptive fields)",
    responses=error_responses(404, 422),
)
def model_show(
    model_id: str,
    include: Literal["weights"] | None = Query(
        None, description="`weights`: add each layer's `params` (`weight`, `bias` Tensors) and "
        "`buffers` (BatchNorm's running statistics)."
    ),
) -> dict[str, Any]:
    return model_detail(get_model(model_id), with_weights=include == "weights")
