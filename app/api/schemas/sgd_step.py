"""Bodies of POST /api/v1/models/{model_id}/sgd-step: the inspect input plus `lr`; the answer,
the loss before and after one step w' = w - lr * g and its first- and second-order
predictions."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from app.api.schemas.inspect import InspectJsonRequest, InspectMultipartRequest, TensorSummary
from app.api.schemas.tensor import Tensor
from app.services.sgd_step import MAX_LR

OPTION_FIELDS = ("lr", "include_gradients")
_LR = Field(description=f"The learning rate, in (0, {MAX_LR:g}].", gt=0, le=MAX_LR,
            allow_inf_nan=False)
_GRADIENTS = Field(False, description="Also send every parameter's gradient g as a Tensor "
                   "(the update is -lr * g).")


class SgdStepOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    lr: float = _LR
    include_gradients: bool = _GRADIENTS


class SgdStepJsonRequest(InspectJsonRequest, SgdStepOptions):
    """JSON body: the input as for /inspect (with `target`, the class whose cross-entropy
    is descended, default the prediction) plus `lr`."""

    model_config = ConfigDict(extra="forbid")


class SgdStepMultipartRequest(InspectMultipartRequest):
    """multipart/form-data body: a file field `image` as for /inspect, plus `lr`."""

    model_config = ConfigDict(extra="forbid")

    lr: float = _LR
    include_gradients: bool = _GRADIENTS


class ParameterStep(BaseModel):
    name: str = Field(description="`{node}.{parameter}`, e.g. conv1.weight.")
    layer: str
    shape: list[int]
    weight_norm: float = Field(description="|w|, Frobenius.")
    grad_norm: float = Field(description="|g|.")
    update_norm: float = Field(description="|dw| = lr * |g|.")
    update_ratio: float | None = Field(description="|dw| / |w| (null when w = 0).")
    gradient: Tensor | None = Field(None, description="g, when include_gradients.")


class LayerStep(BaseModel):
    name: str
    kind: str
    before: TensorSummary
    after: TensorSummary
    change_norm: float = Field(description="|output after - output before|.")
    relative_change: float | None = Field(description="change_norm / |output before|.")
    output_before: Tensor | None = Field(None, description="The full (C, H, W) map, for "
                                         "small models.")
    output_after: Tensor | None = None


class SgdStepResponse(BaseModel):
    model_id: str
    lr: float
    target: int
    loss_before: float = Field(description="Cross-entropy L(w) against `target`.")
    loss_after: float = Field(description="L(w - lr * g), a fresh forward pass.")
    actual_change: float = Field(description="loss_after - loss_before.")
    predicted_change: float = Field(description="First order: -lr * |g|^2.")
    predicted_change_second_order: float = Field(
        description="-lr * |g|^2 + lr^2 / 2 * g^T H g, H g by central differences of the "
        "gradient along g."
    )
    curvature: float = Field(description="g^T H g.")
    grad_norm: float = Field(description="|g| over every parameter.")
    prediction_before: int
    prediction_after: int
    probabilities_before: list[float]
    probabilities_after: list[float]
    classes: list[str]
    dtype: str = Field(description="The precision the step ran in.")
    parameters: list[ParameterStep]
    layers: list[LayerStep]
