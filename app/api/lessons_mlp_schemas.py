"""Response models of the MLP-vs-CNN lesson endpoints (/api/v1/lessons/mlp-vs-cnn/...)."""

from __future__ import annotations

from pydantic import BaseModel, Field

MAX_IMAGE_SIDE = 100_000
MAX_HIDDEN = 1_000_000
MAX_KERNEL = 1_000
MAX_SHIFT = 8


class MatrixFormUnit(BaseModel):
    unit: int
    theta_row: list[float] = Field(description="Row `unit` of Θ: the unit's input weights.")
    bias: float
    n: float = Field(description="Θ_j · x + b_j.")
    a: float = Field(description="act(n_j).")
    back: float = Field(description="(Θ_nextᵀ δ_next)_j: the loss's gradient with respect "
                        "to a_j.")
    act_prime: float = Field(description="act'(n_j).")
    delta: float = Field(description="back · act'(n_j): the loss's gradient with respect to "
                         "n_j.")


class MatrixFormResponse(BaseModel):
    model: str
    sample: int
    label: int
    prediction: int
    probability: float
    loss: float
    layer: str
    activation: str
    next_layer: str
    theta_shape: list[int] = Field(description="(units, inputs) of Θ.")
    theta_next_shape: list[int]
    hidden_layers: list[str]
    x: list[float] = Field(description="The layer's input, flattened.")
    n: list[float] = Field(description="Θ x + b, recomputed in float64.")
    a: list[float] = Field(description="act(n).")
    delta_next: list[float] = Field(description="δ of the next linear layer (from the trace).")
    back: list[float] = Field(description="Θ_nextᵀ δ_next.")
    act_prime: list[float]
    delta: list[float] = Field(description="(Θ_nextᵀ δ_next) ∘ act'(n).")
    core_delta: list[float] = Field(description="The core's backward: dL/dn from the trace.")
    forward_max_abs_difference: float = Field(
        description="Largest difference of n and a from the core's forward (float32).")
    backward_max_abs_difference: float = Field(
        description="Largest difference of δ from the core's backward.")
    unit: MatrixFormUnit


class ParameterCounts(BaseModel):
    height: int
    width: int
    hidden: int
    kernel: int
    fully_connected: int = Field(description="H*W*N: every hidden unit reads every pixel.")
    locally_connected: int = Field(description="N*k*k: every unit its own k x k patch.")
    shared_kernel: int = Field(description="k*k: one kernel shared by every position.")


class ShiftScore(BaseModel):
    accuracy: float
    true_class_probability: float = Field(description="Mean probability of the true class.")


class ShiftModelReport(BaseModel):
    model: str
    name: str
    parameters: int
    unshifted: ShiftScore
    shifted: dict[str, ShiftScore] = Field(description="By direction: right, left, down, up.")
    shifted_mean_accuracy: float


class ShiftResponse(BaseModel):
    pixels: int
    heldout: int = Field(description="Held-out digits scored (never trained on).")
    models: list[ShiftModelReport]
