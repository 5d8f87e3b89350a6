"""The equivariance lesson's endpoints (included in the lessons router, /api/v1/lessons/...):
validate, call app/lessons/equivariance.py on the bounded CPU pool, encode."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from fastapi import APIRouter, Query

from app.api.lessons_equivariance_schemas import (
    MAX_CHANNELS,
    MAX_SHIFT,
    CurveResponse,
    EquivarianceResponse,
)
from app.api.limits import run_cpu_bound
from app.api.schemas import error_responses
from app.lessons.equivariance import equivariance, interior, prediction_curve, shift_maps
from app.nn.receptive import network_receptive_fields
from app.services.errors import ApiError
from app.services.models import get_model
from app.services.samples import sample_digit

router = APIRouter(prefix="/api/v1/lessons", tags=["lessons"])
CURVE_SHIFTS = range(-4, 5)


def _maps(model, result: dict[str, Any], layer: str, channels: int, dy: int, dx: int):
    row = next(r for r in result["layers"] if r["name"] == layer)
    i = model.network.names.index(layer)
    f, g = result["plain"][i][0], result["moved"][i][0]
    c = min(channels, f.shape[0])
    maps: dict[str, Any] = {"layer": layer, "channels": c, "of_shifted": g[:c].tolist(),
                            "shifted_of": None, "interior_rows": None, "interior_cols": None}
    if row["whole"]:
        jh, jw = row["jump"]
        maps["shifted_of"] = shift_maps(f[:c], dy // jh, dx // jw).tolist()
        field = network_receptive_fields(model.network, model.input_shape[1:])[i]
        maps["interior_rows"] = interior(f.shape[1], model.input_shape[1], field["size"][0], jh,
                                         field["padding"][0], dy).tolist()
        maps["interior_cols"] = interior(f.shape[2], model.input_shape[2], field["size"][1], jw,
                                         field["padding"][1], dx).tolist()
    return maps


def _equivariance(model_id: str, sample: int, dy: int, dx: int, layer: str | None,
                  channels: int) -> dict[str, Any]:
    model = get_model(model_id)
    digit, label = sample_digit(sample)
    result = equivariance(model, digit, dy, dx)
    spatial = [r["name"] for r in result["layers"] if r["jump"] is not None]
    if not spatial:
        raise ApiError(422, "not_convolutional", f"{model.id} has no layer with a spatial map",
                       field="model")
    layer = layer or spatial[0]
    if layer not in spatial:
        raise ApiError(422, "invalid_layer", f"{model.id} has no spatial layer {layer!r}; its "
                       f"layers with maps: {', '.join(spatial)}", field="layer", layers=spatial)
    return {
        "model": model.id, "sample": sample, "label": label, "dy": dy, "dx": dx,
        "input": result["input"][0, 0].astype(np.float64).tolist(),
        "shifted_input": result["shifted"][0, 0].astype(np.float64).tolist(),
        "layers": result["layers"],
        "maps": _maps(model, result, layer, channels, dy, dx),
    }


@router.get(
    "/equivariance",
    operation_id="lesson_equivariance",
    response_model=EquivarianceResponse,
    summary="Per-layer translation equivariance and invariance errors for a shifted digit",
    description=(
        "Shift a gallery digit by (dy, dx) pixels (zeros come in) and compare, for every layer, "
        "f(shift x) with shift(f x): ‖f(shift x) − shift(f x)‖ / ‖f x‖ on the interior (outputs "
        "whose receptive field reads only real, shifted pixels in both images), and over the "
        "whole map; null where the shift is not a whole number of that layer's positions "
        "(after a stride or pooling of 2, an odd shift is half a position). Also the "
        "invariance error ‖f(shift x) − f x‖ / ‖f x‖, and one layer's maps both ways."
    ),
    responses=error_responses(404, 422, 503),
)
async def equivariance_endpoint(
    model: str = Query("lenet5", description="A bundled convolutional model."),
    sample: int = Query(0, ge=0, description="A gallery id (GET /api/v1/samples)."),
    dy: int = Query(0, ge=-MAX_SHIFT, le=MAX_SHIFT, description="Pixels down (negative: up)."),
    dx: int = Query(1, ge=-MAX_SHIFT, le=MAX_SHIFT, description="Pixels right."),
    layer: str | None = Query(None, max_length=40,
                              description="The layer whose maps are returned (default: the "
                              "first)."),
    channels: int = Query(6, ge=1, le=MAX_CHANNELS, description="How many channels' maps."),
) -> dict[str, Any]:
    get_model(model)
    return await run_cpu_bound(_equivariance, model, sample, dy, dx, layer, channels)


def _curve(ids: list[str], sample: int, axis: str) -> dict[str, Any]:
    digit, label = sample_digit(sample)
    models = []
    for model_id in ids:
        model = get_model(model_id)
        models.append({"model": model.id, "name": model.architecture.name,
                       "points": prediction_curve(model, digit, label, CURVE_SHIFTS, axis)})
    return {"sample": sample, "label": label, "axis": axis, "models": models}


@router.get(
    "/equivariance/curve",
    operation_id="lesson_equivariance_curve",
    response_model=CurveResponse,
    summary="Prediction and probability of a CNN and the MLP for shifts from -4 to 4",
    responses=error_responses(404, 422, 503),
)
async def equivariance_curve(
    sample: int = Query(0, ge=0, description="A gallery id (GET /api/v1/samples)."),
    cnn: str = Query("lenet5", description="A bundled convolutional model."),
    mlp: str = Query("mlp", description="A bundled MLP."),
    axis: Literal["x", "y"] = Query("x", description="x: shift right; y: shift down."),
) -> dict[str, Any]:
    ids = [get_model(cnn).id, get_model(mlp).id]
    return await run_cpu_bound(_curve, ids, sample, axis)
