"""GET /api/v1/models and GET /api/v1/models/{model_id}: the bundled models and their layers."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Query

from app.api.schemas import ModelDetail, ModelList, error_responses
from app.models import Model, load_model
from app.services.encoding import encode_tensor
from app.services.models import available_models, get_model, receptive_fields

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
    summary="The bundled models",
    responses=error_responses(),
)
def models_index() -> dict[str, Any]:
    return {"models": [model_summary(load_model(m)) for m in available_models()]}


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
