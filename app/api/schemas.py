"""Pydantic models of every request and response body of the REST API v1.

They are the contract the OpenAPI schema documents; tests validate real responses with them.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, model_validator

from app.api.encoding import DEFAULT_INCLUDE, INCLUDE_PARTS

IncludePart = Literal[
    "activations", "gradients", "pool_indices", "pool_mask", "params", "param_grads"
]
assert set(get_args(IncludePart)) == set(INCLUDE_PARTS)

_INCLUDE_DOC = (
    "Parts of the trace to return: a comma list or a list of "
    f"{', '.join(INCLUDE_PARTS)}. Default: {', '.join(DEFAULT_INCLUDE)}. "
    "`activations`: each layer's `output`; `gradients`: each layer's `grad_output` (its delta "
    "dL/d output) and `input_grad`; `pool_indices`: per max-pooling output, the flat index "
    "h*W + w of its winner in the input plane (PyTorch's return_indices convention); "
    "`pool_mask`: per max-pooling INPUT cell, how many windows it won (uint8); `params`: "
    "`weight` and `bias`; `param_grads`: dL/d weight and dL/d bias."
)


Pixel = Annotated[float, Field(ge=0, le=255, strict=True, allow_inf_nan=False)]


class Tensor(BaseModel):
    """An n-d array. `encoding` "base64": `data` is the base64 of the little-endian bytes
    in C (row-major) order; "list": `data` is nested lists. Both carry the same numbers."""

    shape: list[int] = Field(description="Dimensions, batch axis dropped, e.g. [C, H, W].")
    dtype: Literal["float32", "float64", "uint8", "int32"]
    encoding: Literal["base64", "list"]
    data: str | list[Any] = Field(
        description="base64 string of little-endian bytes, or nested lists of numbers."
    )
    min: float = Field(description="Smallest value (0 for an empty tensor).")
    max: float = Field(description="Largest value (0 for an empty tensor).")


class ErrorDetail(BaseModel):
    model_config = ConfigDict(extra="allow")

    code: str = Field(description="Machine-readable, e.g. `unsupported_media_type`.")
    message: str = Field(description="What was wrong, for a human.")


class ErrorResponse(BaseModel):
    """Every 4xx/5xx body: `{"error": {"code", "message", ...details}}`."""

    error: ErrorDetail


class Health(BaseModel):
    status: Literal["ok"]


class ReceptiveField(BaseModel):
    """The region of the input one unit of the layer's output sees, per axis as [h, w]:
    `size` (pixels), `jump` (input pixels between neighbouring units; 0 for units that all
    see the whole input), `start` (centre of unit 0's field in input pixel coordinates) and
    `padding` (how far unit 0's field reaches before the first input pixel). Unit i's field
    spans [i * jump - padding, i * jump - padding + size - 1]. Null for layers whose field
    has no single jump (a transposed convolution and the layers after it)."""

    size: list[int]
    jump: list[int]
    start: list[float]
    padding: list[int]


class ModelSummary(BaseModel):
    id: str
    name: str
    description: str
    input_shape: list[int] = Field(description="[C, H, W] the network takes.")
    classes: list[str]
    parameters: int = Field(description="Number of trainable parameters.")
    accuracy: float | None = Field(
        None, description="Accuracy on held-out digits, from the model card."
    )


class ModelList(BaseModel):
    models: list[ModelSummary]


class LayerInfo(BaseModel):
    index: int
    name: str
    kind: str
    config: dict[str, Any] = Field(description="Constructor arguments (PyTorch's names).")
    input_shape: list[int]
    output_shape: list[int]
    parameters: int
    receptive_field: ReceptiveField | None
    params: dict[str, Tensor] | None = Field(
        None, description="`weight` and `bias`, only with `?include=weights`."
    )


class ModelDetail(ModelSummary):
    card: dict[str, Any] = Field(description="The full model card (training, data, metrics).")
    layers: list[LayerInfo]


class InspectJsonRequest(BaseModel):
    """JSON body of /inspect: exactly one of `pixels` or `sample`."""

    model_config = ConfigDict(extra="forbid")

    pixels: list[list[Pixel]] | None = Field(
        None,
        description="A drawn canvas: rows of grayscale values 0-255, any size up to the "
        "server's limit (1024x1024 by default). Goes through the same preprocessing as a photo.",
    )
    sample: int | None = Field(
        None, ge=0, strict=True, description="An id from GET /api/v1/samples."
    )
    target: int | None = Field(
        None, ge=0, strict=True,
        description="Class whose cross-entropy is back-propagated (default: the prediction).",
    )
    encoding: Literal["base64", "list"] = "base64"
    include: list[IncludePart] | str | None = Field(None, description=_INCLUDE_DOC)

    @model_validator(mode="after")
    def _one_source(self) -> InspectJsonRequest:
        if (self.pixels is None) == (self.sample is None):
            raise ValueError("give exactly one of `pixels` or `sample`")
        return self


class InspectMultipartRequest(BaseModel):
    """multipart/form-data body of /inspect."""

    image: bytes = Field(
        json_schema_extra={"format": "binary"},
        description="The image file: PNG, JPEG, GIF (first frame), WebP or BMP.",
    )
    target: int | None = Field(None, ge=0)
    encoding: Literal["base64", "list"] = "base64"
    include: str | None = Field(None, description=_INCLUDE_DOC)


class PreprocessingStep(BaseModel):
    step: str = Field(description="What was done, e.g. `grayscale`, `inverted`, `centred`.")
    image: str = Field(
        description="The image after this step, data:image/png;base64,...: a preview whose "
        "longer side is at most 160 px (the 28x28 steps are exact)."
    )


class LayerTraceOut(BaseModel):
    index: int
    name: str
    kind: str
    config: dict[str, Any]
    input_shape: list[int] = Field(description="[C, H, W] or [features], batch axis dropped.")
    output_shape: list[int]
    receptive_field: ReceptiveField | None
    output: Tensor | None = Field(None, description="The activation (include `activations`).")
    grad_output: Tensor | None = Field(
        None, description="The layer's delta dL/d output (include `gradients`)."
    )
    pool_indices: Tensor | None = Field(
        None, description="maxpool2d only: int32 (C, H_out, W_out), per output the flat index "
        "h*W + w of its winner in the input plane (include `pool_indices`)."
    )
    pool_mask: Tensor | None = Field(
        None, description="maxpool2d only: uint8 (C, H, W) in the INPUT layout, per input cell "
        "how many windows it won (include `pool_mask`)."
    )
    params: dict[str, Tensor] | None = Field(None, description="`weight`, `bias`.")
    param_grads: dict[str, Tensor] | None = Field(
        None, description="dL/d weight and dL/d bias, keyed `weight`, `bias`."
    )


class Information(BaseModel):
    """Seed 004's measures for the one-hot target y and p = softmax(logits), in nats:
    H(y, p) = H(y) + KL(y || p), with H(y) = 0."""

    cross_entropy: float = Field(description="H(y, p) = -log p[target]: the loss.")
    entropy: float = Field(description="H(p): how unsure the prediction is.")
    kl_divergence: float = Field(description="KL(y || p).")
    target_entropy: float = Field(description="H(y): 0 for a one-hot target.")


class Timings(BaseModel):
    """Server-side milliseconds per stage of this request."""

    model_config = ConfigDict(extra="allow")

    read: float | None = Field(None, description="Reading the multipart body (uploads only).")
    parse: float | None = Field(None, description="Parsing the JSON body (JSON bodies only).")
    decode: float = Field(description="Image bytes, canvas or sample -> grayscale pixels.")
    preprocess: float = Field(description="The MNIST recipe -> the 28x28 input.")
    forward_backward: float = Field(description="One forward and one backward pass.")
    encode: float = Field(description="Trace -> Tensors, and the step previews -> PNG.")
    total: float = Field(description="The whole pipeline after reading and parsing the body.")


class InspectResponse(BaseModel):
    model: str
    classes: list[str]
    include: list[IncludePart]
    encoding: Literal["base64", "list"]
    input: Tensor = Field(description="float32 (C, H, W) in [0, 1]: what the network saw.")
    preprocessing: list[PreprocessingStep]
    layers: list[LayerTraceOut]
    input_grad: Tensor | None = Field(
        None, description="dL/d input, the saliency map (include `gradients`)."
    )
    logits: list[float]
    probabilities: list[float]
    prediction: int
    target: int
    loss: float = Field(description="Cross-entropy of softmax(logits) against `target`.")
    information: Information
    timings_ms: Timings


class Sample(BaseModel):
    id: int
    label: int
    thumbnail: str = Field(description="The 28x28 digit as data:image/png;base64,...")


class SampleList(BaseModel):
    samples: list[Sample]
    total: int = Field(description="How many samples match (before limit/offset).")
    limit: int
    offset: int


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route: each status documented with the error envelope."""
    meaning = {
        400: "Malformed request body.",
        404: "Unknown model or sample.",
        413: "Request body or image too large.",
        415: "Unsupported media type or image format.",
        422: "Invalid input (field, value, target or include part).",
        503: "Server busy; retry after the Retry-After header's seconds.",
    }
    return {s: {"model": ErrorResponse, "description": meaning[s]} for s in statuses}
