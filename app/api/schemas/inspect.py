"""Bodies of POST /api/v1/models/{model_id}/inspect: the two request forms and the response."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.json_schema import SkipJsonSchema

from app.api.schemas.card import NetworkLayerConfig
from app.api.schemas.recurrent import RecurrentTrace
from app.api.schemas.tensor import LayerParams, Tensor
from app.services.encoding import DEFAULT_INCLUDE, INCLUDE_PARTS

IncludePart = Literal[
    "activations", "gradients", "output", "grad_output", "pool_indices", "pool_mask", "params",
    "param_grads",
]
assert set(get_args(IncludePart)) == set(INCLUDE_PARTS)
LayerPart = Literal["output", "grad_output", "pool_indices", "pool_mask", "params", "param_grads"]

# A comma list of part names, blanks around names and empty items allowed: exactly what
# app.services.encoding.parse_include accepts.
_PART = "(?:" + "|".join(INCLUDE_PARTS) + ")"
INCLUDE_PATTERN = rf"^\s*(?:{_PART}\s*)?(?:,\s*(?:{_PART}\s*)?)*$"
assert re.match(INCLUDE_PATTERN, " activations, ,pool_mask ")
DEFAULT_INCLUDE_TEXT = ",".join(DEFAULT_INCLUDE)
MAX_CANVAS_SIDE = 1024  # the default of CONVSCOPE_MAX_CANVAS_SIDE
MAX_INCLUDE_FIELDS = 6  # multipart: at most 8 text fields, 2 of them `target` and `encoding`
MAX_INCLUDE_LAYERS = 256
IMAGE_TYPES = "image/png, image/jpeg, image/gif, image/webp, image/bmp"

_INCLUDE_DOC = (
    "Parts of the trace to return: a comma list or a list of "
    f"{', '.join(INCLUDE_PARTS)}. Default: {', '.join(DEFAULT_INCLUDE)}. Each name is the "
    "field it fills: `output`: each layer's activation (alias `activations`); `grad_output`: "
    "each layer's delta dL/d output, and `input_grad` (alias `gradients`); `pool_indices`: "
    "per max-pooling output, the flat index h*W + w of its winner in the input plane "
    "(PyTorch's return_indices convention); "
    "`pool_mask`: per max-pooling INPUT cell, how many windows it won (uint8); `params`: "
    "`weight` and `bias`, and BatchNorm's `buffers`; `param_grads`: dL/d weight and dL/d bias. "
    "On an rnn or lstm layer, `output` and `grad_output` also select the forward and "
    "backward tensors of its `recurrent` time axis."
)

Pixel = Annotated[float, Field(ge=0, le=255, strict=True, allow_inf_nan=False)]
# The pattern is for the schema; parse_include names the unknown parts at run time.
IncludeText = Annotated[str, Field(json_schema_extra={"pattern": INCLUDE_PATTERN})]
Encoding = Literal["base64", "list"]

_INCLUDE_LAYERS_DOC = (
    "Layers (node names) whose requested parts are sent in full whatever their size. Every "
    "other layer's part over the server's layer budget (2 MB of float32 by default) is left "
    "out, and so is every layer past the whole response's budget (3 MiB by default, the "
    "smallest layers sent first); both are named in the layer's `omitted` and can be fetched "
    "from GET /api/v1/traces/{trace_id}/layers/{layer_name}."
)


def _not_null(schema: dict[str, Any]) -> None:
    """A field that may be left out but never sent as null: drop null from its schema."""
    options = [o for o in schema.pop("anyOf", []) if o != {"type": "null"}]
    if len(options) == 1:
        schema.update(options[0])
    elif options:
        schema["anyOf"] = options


def _canvas_schema(schema: dict[str, Any]) -> None:
    _not_null(schema)
    schema.update(minItems=1, maxItems=MAX_CANVAS_SIDE)
    schema["items"].update(minItems=1, maxItems=MAX_CANVAS_SIDE)
_SOURCES = ("pixels", "sample", "tensor")


def exactly_one_of(*keys: str) -> dict[str, Any]:
    """The JSON Schema that `not` negates so that exactly one of `keys` is present: any two
    of them, or none."""
    pairs = [[a, b] for i, a in enumerate(keys) for b in keys[i + 1:]]
    return {
        "anyOf": [
            *({"required": pair} for pair in pairs),
            {"not": {"anyOf": [{"required": [key]} for key in keys]}},
        ]
    }


class InputTensor(BaseModel):
    """An exact network input: the model's input shape with a batch of 1, float32, the
    base64 of its little-endian bytes in C order (the responses' Tensor encoding)."""

    model_config = ConfigDict(extra="forbid")

    shape: list[Annotated[int, Field(ge=1, strict=True)]] = Field(
        min_length=2, max_length=5, description="[1, C, H, W]: exactly the model's input "
        "(`input_shape` of GET /api/v1/models/{model_id}) with a batch of 1.")
    dtype: Literal["float32"]
    encoding: Literal["base64"]
    data: str = Field(description="base64 of the little-endian float32 bytes, C order; "
                      "every value finite.", json_schema_extra={"contentEncoding": "base64"})


class InspectJsonRequest(BaseModel):
    """JSON body of /inspect: exactly one of `pixels` (a drawn canvas), `sample` (a gallery
    id) or `tensor` (an exact network input), plus options."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            # Exactly one of pixels / sample, written with `not` rather than a oneOf of bare
            # `required` branches: generators (openapi-python-client) turn such a oneOf into
            # an untyped body, and ignore `not`.
            "not": exactly_one_of(*_SOURCES),
            "examples": [{"sample": 7, "include": list(DEFAULT_INCLUDE)}],
        },
    )

    # Absent is allowed, an explicit null is not (see _one_source). The canvas's size rules
    # are checked by the imaging code (422 invalid_pixels) and stated here for the schema.
    pixels: list[list[Pixel]] | None = Field(
        None, json_schema_extra=_canvas_schema,
        description="A drawn canvas: rows of grayscale values 0-255 (all rows the same "
        f"length), up to the server's limit ({MAX_CANVAS_SIDE}x{MAX_CANVAS_SIDE} by default). "
        "Goes through the same preprocessing as a photo.",
    )
    sample: int | None = Field(
        None, ge=0, strict=True, json_schema_extra=_not_null,
        description="An id from GET /api/v1/samples.",
    )
    tensor: InputTensor | None = Field(
        None, json_schema_extra=_not_null,
        description="An exact network input, used as is (no preprocessing): for programs, "
        "for models whose input is not a 28x28 digit, and for checking results exactly.",
    )
    target: int | None = Field(
        None, ge=0, strict=True,
        description="Class whose cross-entropy is back-propagated (default: the prediction).",
    )
    encoding: Encoding = "base64"
    include: list[IncludePart] | IncludeText | None = Field(None, description=_INCLUDE_DOC)
    include_layers: Annotated[list[str], Field(max_length=MAX_INCLUDE_LAYERS)] | str | None = (
        Field(None, description=_INCLUDE_LAYERS_DOC + " A list, or a comma list.")
    )

    @model_validator(mode="before")
    @classmethod
    def _one_source(cls, data: Any) -> Any:
        if isinstance(data, dict):
            given = [key for key in _SOURCES if key in data]
            if len(given) != 1 or data[given[0]] is None:
                raise ValueError("give exactly one of `pixels`, `sample` or `tensor`")
        return data


class InspectMultipartRequest(BaseModel):
    """multipart/form-data body of /inspect: a file field `image` and optional text fields.
    Unknown fields are refused."""

    model_config = ConfigDict(extra="forbid")

    image: bytes = Field(
        json_schema_extra={"format": "binary", "contentMediaType": "application/octet-stream"},
        description="The image file: PNG, JPEG, GIF (first frame), WebP or BMP, decided by "
        "its content.",
    )
    target: int | None = Field(
        None, ge=0, json_schema_extra=_not_null,
        description="Class whose cross-entropy is back-propagated (default: the prediction).",
    )
    encoding: Encoding = "base64"
    include: Annotated[list[IncludeText], Field(max_length=MAX_INCLUDE_FIELDS)] | (
        SkipJsonSchema[None]
    ) = Field(
        None, description=_INCLUDE_DOC + " May repeat.",
        json_schema_extra={"example": list(DEFAULT_INCLUDE)},
    )
    include_layers: list[str] | SkipJsonSchema[None] = Field(
        None, description=_INCLUDE_LAYERS_DOC + " A comma list; may repeat.",
        json_schema_extra={"example": ["conv1"]},
    )


class PreprocessingStep(BaseModel):
    step: str = Field(description="What was done, e.g. `grayscale`, `inverted`, `centred`; "
                      "`blank` when no ink was found.")
    image: str = Field(
        description="The image after this step, data:image/png;base64,...: a preview whose "
        "longer side is at most 160 px (the 28x28 steps are exact)."
    )


class ReceptiveField(BaseModel):
    """The region of the input one unit of the layer's output sees, per axis as [h, w]:
    `size` (pixels), `jump` (input pixels between neighbouring units; 0 for units that all
    see the whole input), `start` (centre of unit 0's field in input pixel coordinates) and
    `padding` (how far unit 0's field reaches before the first input pixel). Unit i's field
    spans [i * jump - padding, i * jump - padding + size - 1]. Null for layers whose field
    has no single jump (a transposed convolution, an image read row by row, and the layers
    after them)."""

    size: list[int]
    jump: list[int]
    start: list[float] = Field(description="A number; x.5 when the field's size is even.")
    padding: list[int]


class TensorSummary(BaseModel):
    """A tensor in a few numbers (batch axis dropped from `shape`)."""

    shape: list[int]
    min: float
    max: float
    mean: float
    channel_energy: list[float] = Field(
        description="Per channel (the first axis of `shape`), mean |x| over every other axis, "
        "to 7 significant digits."
    )


class LayerSummary(BaseModel):
    """Always sent, whatever the budget: the layer's output and its delta, summarised."""

    output: TensorSummary
    grad_output: TensorSummary | None


INPUTS_DOC = (
    "The nodes this layer reads, in argument order: \"input\" is the network's input. A chain's "
    "layer reads the layer before it; an `add` or `concat` reads several (a skip connection)."
)
BUFFERS_DOC = (
    "State that is not trained, with PyTorch's names: BatchNorm's `running_mean` and "
    "`running_var` (include `params`)."
)


class LayerTraceOut(BaseModel):
    index: int
    name: str
    kind: str
    config: NetworkLayerConfig = Field(description="Constructor arguments (PyTorch's names).")
    input_shape: list[int] = Field(description="[C, H, W] or [features], batch axis dropped.")
    output_shape: list[int]
    receptive_field: ReceptiveField | None
    inputs: list[str] = Field(description=INPUTS_DOC)
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
    params: LayerParams | None = Field(None, description="`weight`, `bias` (include `params`).")
    buffers: dict[str, Tensor] | None = Field(None, description=BUFFERS_DOC)
    param_grads: LayerParams | None = Field(
        None, description="dL/d weight and dL/d bias, keyed `weight`, `bias`."
    )
    summary: LayerSummary | None = None
    omitted: list[LayerPart] = Field(
        [], description="Requested parts left out (over the layer budget, or the response's "
        "total budget was spent on smaller layers first): fetch them with GET "
        "/api/v1/traces/{trace_id}/layers/{name}?part=...",
    )
    omitted_reason: Literal["layer_budget", "response_budget"] | None = Field(
        None, description="Sent only when `omitted` is not empty: `layer_budget` (each left-out "
        "part is over the per-part budget) or `response_budget` (the layer did not fit the "
        "whole response's budget, filled smallest layer first, so all its parts wait)."
    )
    recurrent: RecurrentTrace | None = Field(
        None, description="rnn and lstm only: every time step's states, gates and gradients."
    )


class Information(BaseModel):
    """Information measures for the one-hot target y and p = softmax(logits), in nats:
    H(y, p) = H(y) + KL(y || p), with H(y) = 0."""

    cross_entropy: float = Field(description="H(y, p) = -log p[target]: the loss.")
    entropy: float = Field(description="H(p): how unsure the prediction is.")
    kl_divergence: float = Field(description="KL(y || p).")
    target_entropy: float = Field(description="H(y): 0 for a one-hot target.")


class Timings(BaseModel):
    """Server-side milliseconds per stage of this request (any further stage: a number)."""

    model_config = ConfigDict(extra="allow")
    __pydantic_extra__: dict[str, float] = Field(init=False)

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
    encoding: Encoding
    blank: bool = Field(
        False, description="True when preprocessing found no ink: the network input is then "
        "all zeros and the last preprocessing step is `blank`; the prediction means nothing. "
        "Always false for gallery samples."
    )
    input: Tensor = Field(description="float32 (C, H, W): what the network saw (in [0, 1], "
                          "then (x - mean) / std when the input spec normalises).")
    input_spec: dict[str, Any] | None = Field(
        None, description="How an image became the input: {channels, height, width, mean, std, "
        "colour_order, kind: digit | image} (absent for an exact tensor).",
    )
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
    trace_id: str | None = Field(
        None, description="sha256 (hex) of the model, its weights, the network input and the "
        "target: the same inspection gives the same id. Names the trace in GET "
        "/api/v1/traces/{trace_id}/layers/{layer_name}.",
    )
    trace_input: str | None = Field(
        None, description="The trace's recipe (model, weights' digest, network input, target), "
        "zlib-compressed, base64url: send it back as `input` when fetching a layer, and any "
        "server replica can recompute the trace if it does not hold it.",
    )
