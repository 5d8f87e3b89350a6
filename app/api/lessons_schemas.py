"""Request and response models of the lesson endpoints (/api/v1/lessons/...), with bounds."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from app.api.schemas.inspect import Pixel, ReceptiveField
from app.lessons.datasets import EXTENT

MAX_POINTS = 400
MAX_STEPS = 200
MAX_WIDTH = 16
MAX_GRID = 101
MAP_MIN_SIDE = 28
MAP_MAX_SIDE = 256

Coordinate = Annotated[float, Field(ge=-EXTENT, le=EXTENT, allow_inf_nan=False)]
Weight = Annotated[float, Field(ge=-1e6, le=1e6, allow_inf_nan=False)]
WeightRow = Annotated[list[Weight], Field(max_length=MAX_WIDTH)]
WeightMatrix = Annotated[list[WeightRow], Field(max_length=MAX_WIDTH)]


class Point(BaseModel):
    model_config = ConfigDict(extra="forbid")

    x: Coordinate
    y: Coordinate
    label: Literal[0, 1]


class Dataset(BaseModel):
    name: str
    seed: int
    extent: float = Field(description="Points lie in the square [-extent, extent]^2.")
    points: list[Point]


class TrainState(BaseModel):
    """Where training stands: how many steps were taken and the weights after them."""

    model_config = ConfigDict(extra="forbid")

    step: int = Field(0, ge=0, le=10_000_000)
    weights: dict[str, WeightRow | WeightMatrix] | None = Field(
        None, max_length=4,
        description="The parameters as \"<layer>.<param>\" -> numbers, exactly as a previous "
        "response's `state.weights` (fc1.weight (H, 2), fc1.bias (H,), fc2.weight (1, H), "
        "fc2.bias (1,) for the MLP; fc1.weight (1, 2), fc1.bias (1,) otherwise). Null: fresh "
        "weights from `seed`.",
    )


class TrainRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    points: list[Point] = Field(min_length=1, max_length=MAX_POINTS)
    model: Literal["perceptron", "sigmoid", "mlp"] = Field(
        description="perceptron: a sign unit and the perceptron rule, one point per step in "
        "order; sigmoid: a sigmoid unit, full-batch gradient descent on the cross-entropy; "
        "mlp: one hidden layer of `width` units, trained like sigmoid."
    )
    width: int = Field(3, ge=1, le=MAX_WIDTH, description="Hidden units (mlp only).")
    activation: Literal["tanh", "sigmoid"] = Field("tanh", description="Hidden activation.")
    learning_rate: float = Field(0.5, gt=0, le=10, allow_inf_nan=False)
    steps: int = Field(20, ge=0, le=MAX_STEPS,
                       description="Steps to run in this request (0: only evaluate).")
    seed: int = Field(0, ge=0, le=2**32 - 1, description="Seeds the initial weights.")
    grid_size: int = Field(61, ge=11, le=MAX_GRID,
                           description="The decision values come on a grid_size^2 grid.")
    state: TrainState = Field(default_factory=TrainState)


class TrainStep(BaseModel):
    step: int = Field(description="Steps taken after this one (1-based).")
    epoch: int
    point: int | None = Field(None, description="perceptron: the point visited.")
    label: int | None = None
    activation: float | None = Field(None, description="perceptron: w·x + b before the update.")
    misclassified: bool | None = Field(None, description="perceptron: y (w·x + b) <= 0.")
    loss_before: float | None = None
    update: dict[str, Any] = Field(description="The change of every parameter in this step.")
    weights: dict[str, Any] = Field(description="Every parameter after this step.")
    loss: float = Field(description="On all points after the step (the perceptron "
                        "criterion for the sign unit, the cross-entropy otherwise).")
    accuracy: float
    misclassified_points: list[int] | None = None


class HiddenView(BaseModel):
    lines: list[list[list[float]] | None] = Field(
        description="Per hidden unit, its line w_j·x + b_j = 0 clipped to the square.")
    activations: list[list[float]] = Field(description="(points, width) hidden activations.")
    projection: list[list[float]] = Field(
        description="Per point, [output logit, largest remaining spread] in hidden space.")
    axes: list[str]


class TrainResponse(BaseModel):
    model: str
    state: dict[str, Any]
    steps: list[TrainStep]
    extent: float
    grid_size: int
    grid: list[list[float]] = Field(
        description="Row 0 is y = +extent, column 0 is x = -extent: the probability of "
        "class 1 (the sign unit: its 0/1 class).")
    loss: float
    accuracy: float
    misclassified_points: list[int]
    boundary: list[list[float]] | None = Field(
        description="The unit's line w·x + b = 0 clipped to the square (not for the MLP).")
    hidden: HiddenView | None


class FcLayerRow(BaseModel):
    name: str
    linear_weight: list[int]
    conv_weight: list[int]
    kernels: str
    input: list[int]
    output: list[int]


class FcAsConvResponse(BaseModel):
    model: str
    sample: int
    label: int
    unit: int
    layers: list[FcLayerRow]
    feature_map: list[list[list[float]]] = Field(description="(16, 5, 5): what fc1 reads.")
    kernel: list[list[list[float]]] = Field(description="Unit `unit`'s weights as (16, 5, 5).")
    bias: float
    linear_output: list[float] = Field(description="fc1 as W x + b on the flattened map.")
    conv_output: list[float] = Field(description="fc1 as the convolution, (120, 1, 1) squeezed.")
    max_abs_difference: float
    logits_linear: list[float]
    logits_conv: list[float]
    prediction: int


class MapRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    pixels: list[Annotated[list[Pixel], Field(max_length=MAP_MAX_SIDE)]] = Field(
        max_length=MAP_MAX_SIDE,
        description=f"A canvas of grayscale rows 0-255, white ink on black, each side "
        f"{MAP_MIN_SIDE} to {MAP_MAX_SIDE}; digits about 20 px tall, like the 28x28 ones.",
    )


class MapResponse(BaseModel):
    model: str
    height: int
    width: int
    rows: int
    cols: int
    classes: list[str]
    window: list[int] = Field(description="The input size the network was trained on.")
    stride: list[int] = Field(description="Canvas pixels between neighbouring outputs.")
    receptive_field: ReceptiveField
    prediction: list[list[int]]
    probability: list[list[float]]
    ink: list[list[float]] = Field(description="Mean ink (0-1) of each output's 28x28 crop.")
    probabilities: list[list[list[float]]] = Field(description="(rows, cols, classes).")


# ----------------------------------------------------------------------------- conv as a matrix

CONV_MATRIX_MAX_SIDE = 8
CONV_MATRIX_MAX_KERNEL = 5
CONV_MATRIX_MAX_STRIDE = 3
CONV_MATRIX_MAX_PADDING = 3
CONV_MATRIX_MAX_DILATION = 3
CONV_MATRIX_MAX_IN_CHANNELS = 3
CONV_MATRIX_MAX_OUT_CHANNELS = 2


class ConvMatrixGeometry(BaseModel):
    input: list[int] = Field(description="(C_in, H, W).")
    kernel_size: list[int]
    stride: list[int]
    padding: list[int]
    dilation: list[int]
    output: list[int] = Field(description="(C_out, H_out, W_out).")
    output_padding: list[int] = Field(
        description="What the transposed convolution adds at the end to give H x W back.")


class ConvMatrixResponse(BaseModel):
    geometry: ConvMatrixGeometry
    seed: int
    input: list[list[list[float]]] = Field(description="x, (C_in, H, W).")
    weight: list[list[list[list[float]]]] = Field(description="(C_out, C_in, kH, kW).")
    bias: list[float] = Field(description="(C_out,).")
    rows: int = Field(description="C_out*H_out*W_out: one per output value.")
    columns: int = Field(description="C_in*H*W: one per input value.")
    matrix: list[list[float]] = Field(description="W, (rows, columns).")
    kernel_index: list[list[int]] = Field(
        description="Per entry of W, the flat index into weight (C_out, C_in, kH, kW) that "
        "it holds, or -1 where W is 0 whatever the kernel.")
    nonzeros: int = Field(description="Entries that hold a kernel weight.")
    y_matrix: list[list[list[float]]] = Field(description="W x + b, reshaped (C_out, H_out, "
                                              "W_out).")
    y_conv: list[list[list[float]]] = Field(description="Conv2d's forward on x.")
    forward_max_abs_difference: float
    output_gradient: list[list[list[float]]] = Field(description="dy, (C_out, H_out, W_out).")
    dx_matrix: list[list[list[float]]] = Field(description="W^T dy, reshaped (C_in, H, W).")
    dx_backward: list[list[list[float]]] = Field(description="Conv2d's backward: dL/dx.")
    dx_transpose: list[list[list[float]]] = Field(
        description="ConvTranspose2d with the same kernel, forward on dy.")
    backward_max_abs_difference: float = Field(
        description="Largest |W^T dy - dx| over both the backward and the transposed conv.")
