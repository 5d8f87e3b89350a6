"""Bodies of the model store's routes: the upload form and a stored model's card."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from app.api.schemas.card import _Open
from app.api.schemas.inspect import ReceptiveField

ModelSource = Literal["bundled", "onnx", "training"]


class ModelUploadForm(BaseModel):
    """multipart/form-data of POST /api/v1/models."""

    model_config = ConfigDict(extra="forbid")

    file: bytes = Field(description="The ONNX file (weights inside it; external data is "
                        "refused).", json_schema_extra={"format": "binary"})
    name: str | None = Field(None, description="A display name (1-200 characters).")
    classes: str | bytes | None = Field(
        None, description="Class labels, one per output: a JSON list of strings, or a text "
        "file (or text) with one label a line.",
    )
    input: str | None = Field(
        None, description='The input spec as JSON: {"channels": 1|3, "height", "width", '
        '"mean", "std", "colour_order": "rgb"|"bgr"}; mean and std (a number, or one per '
        "channel) turn [0, 1] pixels into the network's input as (x - mean) / std.",
    )


class StoredLayer(_Open):
    name: str
    kind: str
    inputs: list[str]
    input_shape: list[int]
    output_shape: list[int]
    parameters: int
    receptive_field: ReceptiveField | None = None
    macs: int = Field(description="Multiply-accumulates per item (convolutions, linear "
                      "layers; 0 for the rest).")


class InputSpec(_Open):
    shape: list[int] = Field(description="[1, C, H, W]: what an exact tensor must be shaped.")
    dtype: str
    channels: int | None = None
    height: int | None = None
    width: int | None = None
    mean: list[float] | None = None
    std: list[float] | None = None
    colour_order: Literal["rgb", "bgr"] | None = None


class StoredModelCard(_Open):
    """The card of an uploaded or trained model."""

    id: str = Field(description="The first 16 hex digits of `sha256`.")
    sha256: str = Field(description="Of the uploaded bytes (ONNX), or of the canonical spec "
                        "and parameters (trained models).")
    source: Literal["onnx", "training"]
    name: str
    created: str = Field(description="When it was first stored (UTC, ISO 8601).")
    bytes: int
    classes: list[str]
    input: InputSpec
    layers: list[StoredLayer]
    parameters: int
    macs: int = Field(description="Multiply-accumulates of one forward pass per item.")
    nodes: int
