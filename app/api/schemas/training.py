"""Bodies of /api/v1/training-runs: the run request (the contract's field names) and the run
resource."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

STATUSES = ("queued", "running", "paused", "done", "stopped", "diverged", "failed")
RunStatus = Literal["queued", "running", "paused", "done", "stopped", "diverged", "failed"]


class Optimizer(BaseModel):
    """SGD with momentum (PyTorch's form: v <- momentum v + g + weight_decay w; w <- w - lr v)
    or Adam (betas 0.9, 0.999; eps 1e-8; weight_decay added to the gradient). Weight decay
    applies to weights, not biases."""

    model_config = ConfigDict(extra="forbid", strict=True)
    name: Literal["sgd", "adam"] = "sgd"
    lr: float = Field(0.05, gt=0, le=100, description="The learning rate (before the schedule).")
    momentum: float = Field(0.9, ge=0, lt=1, description="SGD only.")
    weight_decay: float = Field(0.0005, ge=0, le=1)


class Schedule(BaseModel):
    """How the learning rate changes: `constant`; `cosine` (from lr to 0 over the run); `step`
    (times `gamma` every `step_epochs` epochs). `warmup_steps` first raise it linearly from
    lr/warmup_steps to lr."""

    model_config = ConfigDict(extra="forbid", strict=True)
    name: Literal["constant", "cosine", "step"] = "constant"
    step_epochs: int = Field(1, ge=1, le=1000)
    gamma: float = Field(0.5, gt=0, le=1)
    warmup_steps: int = Field(0, ge=0, le=100_000)


class TrainingRunRequest(BaseModel):
    """A training run. Fields left out take these defaults."""

    model_config = ConfigDict(
        extra="forbid",
        strict=True,  # false is not a seed, "64" not a batch size
        json_schema_extra={
            "examples": [{
                "architecture": "lenet5", "dataset": "digits",
                "optimizer": {"name": "sgd", "lr": 0.05, "momentum": 0.9, "weight_decay": 0.0005},
                "batch_size": 64, "epochs": 1, "augment": False, "seed": 0,
            }]
        },
    )
    architecture: str | list[dict[str, Any]] = Field(
        "lenet5",
        description="A bundled model id (its architecture, freshly initialised from the seed) "
        "or a layer spec: a list of layers such as {\"kind\": \"conv2d\", \"in_channels\": 1, "
        "\"out_channels\": 6, \"kernel_size\": 5}.",
    )
    dataset: Literal["digits", "colour-shapes"] = Field(
        "digits",
        description="`digits`: the bundled MNIST digits, 4,500 to train on and 500 held out "
        "(1x28x28, 10 classes). `colour-shapes`: the RGB shapes, 1,800 and 450 (3x20x20, "
        "9 classes).",
    )
    optimizer: Optimizer = Field(default_factory=Optimizer)
    schedule: Schedule = Field(default_factory=Schedule)
    batch_size: int = Field(64, ge=1, le=512)
    epochs: int = Field(1, ge=1, description="Capped by the server (see the error's limit).")
    augment: bool = Field(
        False, description="Random shifts, rotations and scaling of each training batch."
    )
    seed: int = Field(0, ge=0, le=2**32 - 1, description="Fixes the initial weights, the "
                      "shuffling and the augmentation.")
    train_examples: int | None = Field(
        None, ge=1, description="Train on the first N training images only (short runs, such "
        "as the learning-rate sweep); default: all.",
    )


class HistoryEntry(BaseModel):
    epoch: int
    train_loss: float | None
    heldout_loss: float | None
    heldout_accuracy: float | None


class Progress(BaseModel):
    step: int
    total_steps: int
    epoch: int
    epochs: int


class LrVerdict(BaseModel):
    label: Literal["too small", "good", "too large", "diverging"]
    reason: str


class TrainingRun(BaseModel):
    """A training run: its status, config, history and, once done, the trained model's id."""

    id: str
    status: RunStatus
    config: dict[str, Any]
    history: list[HistoryEntry]
    progress: Progress
    model_id: str | None = None
    diverged_at_step: int | None = None
    reason: str | None = Field(None, description="Why the run stopped or failed.")
    created: float
    last_event_id: int
    parameters: int
    classes: list[str] = Field(description="The dataset's class names, in output order.")
    lr_verdict: LrVerdict | None = Field(
        None, description="Once ended: what this run says about its learning rate."
    )


class LayerShape(BaseModel):
    name: str
    kind: str
    output_shape: list[int]
    parameters: int


class ArchitectureCheck(BaseModel):
    """A layer spec checked against a dataset: each layer's output shape and parameters."""

    spec: list[dict[str, Any]]
    input_shape: list[int]
    layers: list[LayerShape]
    parameters: int
