"""Pydantic models of every request and response body of the REST API v1.

They are the contract the OpenAPI schema documents; tests validate real responses with them.
Split by concern: `tensor` (Tensor, LayerParams), `errors` (the error envelope), `card` (the
model card and a layer's constructor arguments), `inspect` (/inspect's bodies); the small
bodies of the other routes are here.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from app.api.schemas.card import CardLayer, ModelCard, NetworkLayerConfig
from app.api.schemas.errors import (
    RETRY_AFTER,
    ErrorDetail,
    ErrorResponse,
    Problem,
    error_responses,
)
from app.api.schemas.inspect import (
    INCLUDE_PATTERN,
    INPUTS_DOC,
    IncludePart,
    Information,
    InspectJsonRequest,
    InspectMultipartRequest,
    InspectResponse,
    LayerSummary,
    LayerTraceOut,
    PreprocessingStep,
    ReceptiveField,
    TensorSummary,
    Timings,
)
from app.api.schemas.recurrent import RecurrentDirection, RecurrentGates, RecurrentTrace
from app.api.schemas.tensor import LayerParams, Tensor, TensorBase64, TensorList
from app.api.schemas.traces import TraceLayerRequest, TraceLayerResponse

__all__ = [
    "INCLUDE_PATTERN", "PNG_RESPONSE", "RETRY_AFTER", "CardLayer", "ErrorDetail", "ErrorResponse",
    "Health",
    "IncludePart", "Information", "InspectJsonRequest", "InspectMultipartRequest",
    "InspectResponse", "LayerInfo", "LayerParams", "LayerSummary", "LayerTraceOut",
    "ModelCard", "ModelDetail",
    "ModelList", "ModelSummary", "NetworkLayerConfig", "PreprocessingStep", "Problem",
    "ReceptiveField", "RecurrentDirection", "RecurrentGates", "RecurrentTrace",
    "Sample", "SampleList", "Tensor", "TensorBase64", "TensorList",
    "TensorSummary", "Timings", "TraceLayerRequest", "TraceLayerResponse",
    "error_responses",
]


PNG_RESPONSE = {
    "description": "A PNG image.",
    "content": {"image/png": {"schema": {"type": "string", "format": "binary"}}},
}


class Health(BaseModel):
    status: Literal["ok"]


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
    source: Literal["bundled", "onnx", "training"] = Field(
        "bundled", description="Shipped with ConvScope, an uploaded ONNX file, or trained here."
    )


class ModelList(BaseModel):
    models: list[ModelSummary]


class LayerInfo(BaseModel):
    index: int
    name: str
    kind: str
    config: NetworkLayerConfig = Field(description="Constructor arguments (PyTorch's names).")
    input_shape: list[int]
    output_shape: list[int]
    parameters: int
    receptive_field: ReceptiveField | None
    inputs: list[str] = Field(description=INPUTS_DOC)
    params: LayerParams | None = Field(
        None, description="`weight` and `bias`, only with `?include=weights`."
    )
    buffers: dict[str, Tensor] | None = Field(
        None, description="BatchNorm's `running_mean` and `running_var`, only with "
        "`?include=weights`."
    )


class ModelDetail(ModelSummary):
    card: ModelCard = Field(description="The full model card (training, data, metrics).")
    layers: list[LayerInfo]


class Sample(BaseModel):
    id: int
    label: int
    thumbnail: str = Field(
        description="The image (a 28x28 digit, or a 20x20 RGB shape) as data:image/png;base64,..."
    )


class SampleList(BaseModel):
    samples: list[Sample]
    total: int = Field(description="How many samples match (before limit/offset).")
    limit: int
    offset: int
