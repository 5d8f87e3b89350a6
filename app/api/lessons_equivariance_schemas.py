"""Response models of the equivariance lesson's endpoints (/api/v1/lessons/equivariance...)."""

from __future__ import annotations

from pydantic import BaseModel, Field

MAX_SHIFT = 8
MAX_CHANNELS = 16


class EquivarianceLayer(BaseModel):
    name: str
    kind: str
    jump: list[int] | None = Field(description="Input pixels between neighbouring outputs "
                                   "(null: no spatial map).")
    shift: list[float] | None = Field(description="(dy, dx) in this layer's positions: the "
                                      "input shift divided by the jump.")
    whole: bool = Field(description="Whether the shift is a whole number of positions here.")
    equivariance_error: float | None = Field(
        description="‖f(shift x) − shift(f x)‖ / ‖f x‖ on the interior (null: not whole, or "
        "no interior).")
    equivariance_error_full: float | None = Field(description="The same over the whole map.")
    interior: list[int] | None = Field(description="Interior rows and columns compared.")
    invariance_error: float = Field(description="‖f(shift x) − f(x)‖ / ‖f x‖.")


class EquivarianceMaps(BaseModel):
    layer: str
    channels: int = Field(description="Channels returned (the first few).")
    of_shifted: list[list[list[float]]] = Field(description="f(shift x), (channels, h, w).")
    shifted_of: list[list[list[float]]] | None = Field(
        description="shift(f x), (channels, h, w); null when the shift is not whole here.")
    interior_rows: list[bool] | None
    interior_cols: list[bool] | None


class EquivarianceResponse(BaseModel):
    model: str
    sample: int
    label: int
    dy: int
    dx: int
    input: list[list[float]] = Field(description="The digit as the network reads it, 28x28.")
    shifted_input: list[list[float]]
    layers: list[EquivarianceLayer]
    maps: EquivarianceMaps


class CurvePoint(BaseModel):
    shift: int
    prediction: int
    probability: float
    label_probability: float


class CurveModel(BaseModel):
    model: str
    name: str
    points: list[CurvePoint]


class CurveResponse(BaseModel):
    sample: int
    label: int
    axis: str
    models: list[CurveModel]
