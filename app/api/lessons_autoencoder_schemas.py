"""Request and response models of the autoencoder lesson (/api/v1/lessons/autoencoder/...)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Plane = list[list[float]]
Pixel = Annotated[float, Field(ge=0, le=255)]
MAX_CANVAS_SIDE = 1024
MAX_SCATTER_INPUT = 6
MAX_SCATTER_KERNEL = 6
MAX_SCATTER_STRIDE = 4


class AutoencoderInspectRequest(BaseModel):
    """Exactly one of `sample` (a gallery digit) or `pixels` (a drawn canvas, preprocessed
    like every digit: cropped to the ink, scaled, centred in 28x28); the scatter fields pick
    one input value of a transposed convolution."""

    model_config = ConfigDict(extra="forbid", strict=True)

    sample: int | None = Field(None, ge=0, description="A gallery id (GET /api/v1/samples).",
                               examples=[7])
    pixels: list[Annotated[list[Pixel], Field(max_length=MAX_CANVAS_SIDE)]] | None = Field(
        None, max_length=MAX_CANVAS_SIDE,
        description="A drawn canvas: rows of grayscale values 0-255, ink light or dark.")
    layer: Literal["deconv1", "deconv2"] = Field(
        "deconv1", description="The transposed convolution whose scatter is returned.")
    channel: int = Field(0, ge=0, description="The input channel of the scattered value.")
    row: int = Field(3, ge=0, description="Its row in the layer's input.")
    col: int = Field(3, ge=0, description="Its column in the layer's input.")
    out_channel: int = Field(0, ge=0, description="The output channel whose kernel slice "
                             "is shown.")


class LayerMaps(BaseModel):
    name: str
    kind: str
    config: dict[str, Any]
    part: Literal["encoder", "decoder"]
    output_shape: list[int] = Field(description="(C, H, W), batch axis dropped.")
    output: list[Plane] = Field(description="The layer's maps (C, H, W).")
    grad_output: list[Plane] = Field(description="dL/d(output): the layer's delta (C, H, W).")
    params: dict[str, list[Any]] = Field(description="weight and bias as nested lists.")
    grads: dict[str, list[Any]] = Field(description="dL/d(weight), dL/d(bias).")


class ModelScatter(BaseModel):
    layer: str
    channel: int
    out_channel: int
    row: int
    col: int
    value: float = Field(description="x[channel, row, col]: the value that scatters.")
    kernel: Plane = Field(description="w[channel, out_channel] (k, k).")
    copy_: Plane = Field(alias="copy", description="value * kernel: what lands in the output.")
    top: int = Field(description="Output row of the copy's top-left tap (row*stride - padding; "
                     "taps outside the output are cropped).")
    left: int = Field(description="Output column of the copy's top-left tap.")
    kernel_size: int
    stride: int
    padding: int
    input_side: int
    output_side: int
    overlap_counts: list[list[int]] = Field(description="How many (input, tap) pairs land on "
                                            "each output pixel of this layer.")


class AutoencoderInspectResponse(BaseModel):
    model: str
    head: Literal["reconstruction"]
    loss: float = Field(description="Mean squared error per pixel against the input.")
    heldout_mse: float = Field(description="The model's held-out mean squared error per "
                               "pixel (its card).")
    encoder: list[str]
    decoder: list[str]
    input: Plane = Field(description="The 28x28 input in [0, 1].")
    reconstruction: Plane = Field(description="The 28x28 output in [0, 1].")
    error_map: Plane = Field(description="(reconstruction - input)^2 per pixel; its mean is "
                             "`loss`.")
    input_grad: Plane = Field(description="dL/d(input) through the network (the input as "
                              "target held constant).")
    layers: list[LayerMaps]
    scatter: ModelScatter


class ScatterCopy(BaseModel):
    row: int
    col: int
    value: float
    top: int
    left: int


class ScatterResponse(BaseModel):
    n: int
    kernel_size: int
    stride: int
    padding: int
    seed: int
    divisible: bool = Field(description="True when kernel_size is a multiple of stride: even "
                            "overlaps, no checkerboard.")
    input: Plane
    kernel: Plane
    copies: list[ScatterCopy] = Field(description="Per input value, in row-major order: where "
                                      "its copy value * kernel lands (top-left tap).")
    output: Plane = Field(description="Every copy added (cropped by padding).")
    core_output: Plane = Field(description="The core's ConvTranspose2d on the same numbers.")
    max_abs_difference: float
    overlap_counts: list[list[int]]
