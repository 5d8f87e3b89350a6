"""Bodies of POST /api/v1/models/{model_id}/attribution: the inspect input plus the method
and its parameters; the answer, a heatmap and the numbers that define it."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import SkipJsonSchema

from app.api.schemas.inspect import InspectJsonRequest, InspectMultipartRequest
from app.api.schemas.tensor import Tensor
from app.services.attribution import (
    MAX_IG_STEPS,
    MAX_OCCLUSION_POSITIONS,
    MAX_PATCH,
    MAX_SMOOTHGRAD_SAMPLES,
)

Method = Literal[
    "saliency", "gradient_x_input", "grad_cam", "guided_backprop", "smoothgrad",
    "integrated_gradients", "occlusion",
]
Side = Annotated[int, Field(ge=1, le=MAX_PATCH)]
METHOD_DOC = (
    "What to compute, always for y_t, the target class's logit: `saliency` dy_t/dx; "
    "`gradient_x_input` x * dy_t/dx; `grad_cam` ReLU(sum_c mean_hw(dy_t/dA_c) A_c) at `layer`; "
    "`guided_backprop` dy_t/dx where every ReLU passes back only positive gradients; "
    "`smoothgrad` the mean saliency over `n_samples` copies with Gaussian noise `sigma`; "
    "`integrated_gradients` (x - x') * the mean gradient on the straight path from the "
    "constant `baseline` image x' to x (at most `steps` + 1 gradient evaluations, trapezoidal "
    "rule on a grid refined where the path has kinks, or on `steps` equal intervals with "
    "`rule` uniform); `occlusion` "
    "y_t(x) - y_t(x with a `patch` set to `baseline`), per patch position."
)
OPTION_FIELDS = ("method", "layer", "n_samples", "sigma", "seed", "steps", "rule", "baseline",
                 "patch", "stride")
Rule = Literal["adaptive", "uniform"]
RULE_DOC = (
    "integrated_gradients: `adaptive` (default) starts from a uniform grid of steps // 3 "
    "intervals and spends the remaining evaluations bisecting the intervals where the "
    "trapezoid estimate of the logit's change misses the actual change most (a ReLU "
    "network's logit is piecewise linear along the path, so the error sits at its kinks); "
    "`uniform` uses `steps` equal intervals."
)


class AttributionOptions(BaseModel):
    """The method and its parameters (each ignored by the methods that do not use it)."""

    model_config = ConfigDict(extra="forbid")

    method: Method = Field("saliency", description=METHOD_DOC)
    layer: Annotated[str, Field(max_length=200)] | SkipJsonSchema[None] = Field(
        None,
        description="grad_cam: the node whose (C, H, W) output A is explained (default: the "
        "last such node).",
    )
    n_samples: int = Field(25, ge=1, le=MAX_SMOOTHGRAD_SAMPLES,
                           description="smoothgrad: how many noisy copies.")
    sigma: float = Field(0.15, ge=0, le=10, allow_inf_nan=False,
                         description="smoothgrad: the noise's standard deviation, in the "
                         "network input's units (digits are scaled to 0-1).")
    seed: int = Field(0, ge=0, le=2**32 - 1, description="smoothgrad: the noise's seed.")
    steps: int = Field(64, ge=1, le=MAX_IG_STEPS,
                       description="integrated_gradients: the budget, at most steps + 1 "
                       "forward and backward passes (the uniform rule's intervals).")
    rule: Rule = Field("adaptive", description=RULE_DOC)
    baseline: float = Field(0.0, ge=-1000, le=1000, allow_inf_nan=False,
                            description="integrated_gradients: the constant baseline image's "
                            "value; occlusion: the patch's value.")
    patch: Side | Annotated[list[Side], Field(min_length=2, max_length=2)] = Field(
        4, description="occlusion: the patch's side, or [height, width]."
    )
    stride: Side | Annotated[list[Side], Field(min_length=2, max_length=2)] = Field(
        2, description=f"occlusion: the step between patch positions, or [dy, dx]; at most "
        f"{MAX_OCCLUSION_POSITIONS} positions.",
    )


class AttributionJsonRequest(InspectJsonRequest, AttributionOptions):
    """JSON body: the input as for /inspect (with `target`, default the prediction) plus the
    method and its parameters."""

    model_config = ConfigDict(extra="forbid")


class AttributionMultipartRequest(InspectMultipartRequest):
    """multipart/form-data body: a file field `image` as for /inspect, plus the method and
    its parameters as text fields (`patch` and `stride` one number each)."""

    model_config = ConfigDict(extra="forbid")

    method: Method = Field("saliency", description=METHOD_DOC)
    layer: str | SkipJsonSchema[None] = None
    n_samples: int = 25
    sigma: float = 0.15
    seed: int = 0
    steps: int = 64
    rule: Rule = "adaptive"
    baseline: float = 0.0
    patch: int = 4
    stride: int = 2


class Completeness(BaseModel):
    """Integrated gradients' completeness: the attributions sum to f(x) - f(baseline) up to
    the integration error; `gap` = |sum - difference| / |difference|."""

    sum: float
    f_x: float
    f_baseline: float
    difference: float
    gap: float


class AttributionResponse(BaseModel):
    model_id: str
    method: Method
    target: int = Field(description="The explained class t (default: the prediction).")
    prediction: int
    logit: float = Field(description="y_t, the target's logit.")
    probabilities: list[float]
    classes: list[str]
    heatmap: Tensor = Field(
        description="The raw map: `input` methods give (C, H, W) like the input, signed; "
        "grad_cam (h, w) at the layer's own resolution, >= 0; occlusion (rows, cols) of the "
        "patch grid, the logit's drop per position. Upsample only for display."
    )
    heatmap_of: Literal["input", "feature_map", "occlusion_grid"]
    resolution: list[int] = Field(description="The heatmap's [height, width].")
    layer: str | None = Field(description="grad_cam: the explained node; else null.")
    input: Tensor = Field(description="The network input x (C, H, W) the map explains.")
    dtype: Literal["float32", "float64"] = Field(
        description="The precision the method ran in (float64 for models of up to 5M "
        "parameters)."
    )
    weights: list[float] | None = Field(None, description="grad_cam: per channel c, "
                                        "mean_hw(dy_t/dA_c).")
    activation_shape: list[int] | None = Field(None, description="grad_cam: A's (C, h, w).")
    layers: list[str] | None = Field(None, description="grad_cam: every node it can look at "
                                     "(a (C, H, W) output with more than one position).")
    completeness: Completeness | None = Field(None, description="integrated_gradients.")
    steps: int | None = None
    rule: Rule | None = Field(None, description="integrated_gradients: the rule used.")
    evaluations: int | None = Field(None, description="integrated_gradients: gradient "
                                    "evaluations spent (at most steps + 1).")
    baseline: float | None = None
    n_samples: int | None = None
    sigma: float | None = None
    seed: int | None = None
    relu_nodes: int | None = Field(None, description="guided_backprop: ReLU nodes changed.")
    patch: list[int] | None = None
    stride: list[int] | None = None
    score: float | None = Field(None, description="occlusion: y_t of the unoccluded input.")
    tops: list[int] | None = Field(None, description="occlusion: each grid row's top edge.")
    lefts: list[int] | None = Field(None, description="occlusion: each grid column's left "
                                    "edge.")
