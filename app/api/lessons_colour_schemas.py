"""Response models of the colour lesson's endpoints (/api/v1/lessons/colour/...)."""

from __future__ import annotations

from pydantic import BaseModel, Field

Plane = list[list[float]]


class ColourConvResponse(BaseModel):
    preset: str = Field(description="classic: 6x6x3 * 3x3x3 -> 4x4; model: the colour CNN's "
                        "conv1 on a held-out image (padding 1).")
    image: list[Plane] = Field(description="(3, H, W): red, green, blue.")
    kernel: list[Plane] = Field(description="(3, k, k): one slice per input channel.")
    bias: float
    per_channel: list[Plane] = Field(description="(3, h, w): each channel correlated with "
                                     "its kernel slice.")
    sum: Plane = Field(description="The three correlations added.")
    output: Plane = Field(description="sum + bias.")
    core_output: Plane = Field(description="The core's 3-channel Conv2d on the image.")
    max_abs_difference: float
    sample: int | None = None
    unit: int | None = None
    label: str | None = None
    prediction: str | None = None
    probability: float | None = None


class ColourGalleryItem(BaseModel):
    sample: int = Field(description="Held-out position (the `sample` of /colour/conv).")
    label: int
    class_name: str
    prediction: int
    prediction_name: str
    probability: float
    image: list[list[list[int]]] = Field(description="uint8 (3, 20, 20).")


class ColourGalleryResponse(BaseModel):
    classes: list[str]
    heldout_accuracy: float
    heldout_correct: int
    heldout_total: int
    parameters: int
    items: list[ColourGalleryItem]
