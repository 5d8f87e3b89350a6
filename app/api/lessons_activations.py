"""The activation lesson's endpoint, GET /api/v1/lessons/activations: validate the range,
evaluate f and f' with the core's layers (app/lessons/activations.py), return the numbers."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from app.api.schemas import error_responses
from app.lessons.activations import RAW_PIXEL, SATURATION_THRESHOLD, evaluate
from app.services.errors import ApiError

router = APIRouter(prefix="/api/v1/lessons", tags=["lessons"])

MAX_ABS_X = 1000.0
MAX_POINTS = 2001
Kind = Literal["sign", "sigmoid", "tanh", "relu", "leakyrelu", "relu6", "identity", "clamp"]


class Probe(BaseModel):
    x: float
    f: float
    df: float = Field(description="f'(x), from the layer's backward with dy = 1.")


class ActivationResponse(BaseModel):
    kind: str
    name: str
    config: dict[str, float | None] = Field(
        description="The layer's settings (LeakyReLU's negative_slope, clamp's bounds).")
    x: list[float] = Field(description="`points` evenly spaced inputs from x_min to x_max.")
    f: list[float] = Field(description="f(x), by the core layer's forward.")
    df: list[float] = Field(description="f'(x), by the core layer's backward with dy = 1.")
    threshold: float = Field(description="Saturated means |f'(x)| below this.")
    saturated: list[list[float]] = Field(
        description="The runs of grid points where |f'(x)| < threshold, as [first x, last x].")
    input_range: list[float] | None = Field(
        description="The input range that keeps this function out of saturation, when there "
        "is a usual one: [0, 1] for sigmoid, [-1, 1] for tanh.")
    probes: list[Probe] = Field(
        description=f"f and f' at the input range's two ends ([-1, 1] when there is none) and "
        f"at a raw pixel value, {RAW_PIXEL:g}.")


@router.get(
    "/activations",
    operation_id="lesson_activations",
    response_model=ActivationResponse,
    summary="An activation function and its derivative over a range of inputs, by the core",
    description=(
        "f(x) comes from the core layer's forward, f'(x) from its own backward with dy = 1, at "
        "`points` evenly spaced x from x_min to x_max (|x| <= 1000, x_min < x_max, 2 to "
        f"{MAX_POINTS} points). `saturated` lists where |f'(x)| < {SATURATION_THRESHOLD}. "
        "sign's derivative is 0 everywhere the core computes it: nothing learns through it."
    ),
    responses=error_responses(422),
)
def activations(
    kind: Kind = Query("sigmoid", description="Which activation."),
    x_min: float = Query(-8.0, ge=-MAX_ABS_X, le=MAX_ABS_X, allow_inf_nan=False),
    x_max: float = Query(8.0, ge=-MAX_ABS_X, le=MAX_ABS_X, allow_inf_nan=False),
    points: int = Query(401, ge=2, le=MAX_POINTS, description="How many x to evaluate."),
    negative_slope: float = Query(0.01, ge=0, le=1, allow_inf_nan=False,
                                  description="leakyrelu: the slope for x <= 0."),
    min_val: float = Query(-1.0, ge=-MAX_ABS_X, le=MAX_ABS_X, allow_inf_nan=False,
                           description="clamp: the lower bound."),
    max_val: float = Query(1.0, ge=-MAX_ABS_X, le=MAX_ABS_X, allow_inf_nan=False,
                           description="clamp: the upper bound."),
) -> dict[str, Any]:
    if not x_min < x_max:
        raise ApiError(422, "invalid_range", f"x_min ({x_min:g}) must be less than x_max "
                       f"({x_max:g})", field="x_min")
    if kind == "clamp" and min_val > max_val:
        raise ApiError(422, "invalid_range", f"min_val ({min_val:g}) must not exceed max_val "
                       f"({max_val:g})", field="min_val")
    return evaluate(kind, x_min, x_max, points, negative_slope=negative_slope,
                    min_val=min_val, max_val=max_val)
