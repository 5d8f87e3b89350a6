"""The model card (`GET /api/v1/models/{id}`'s `card`): what the model is, what it was trained
on and how, and how well it does on held-out digits. Every object admits further keys (a card
may record more than these), but the keys listed here have these types."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

IntOrPair = int | list[int]


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class NetworkLayerConfig(_Open):
    """A layer's constructor arguments, PyTorch's names; only those its kind has."""

    in_channels: int | None = None
    out_channels: int | None = None
    in_features: int | None = None
    out_features: int | None = None
    kernel_size: IntOrPair | None = Field(None, description="[kH, kW] (a card may give n).")
    stride: IntOrPair | None = None
    padding: IntOrPair | None = None
    output_padding: IntOrPair | None = None
    dilation: IntOrPair | None = None
    ceil_mode: bool | None = None
    count_include_pad: bool | None = None
    bias: bool | None = Field(None, description="Whether the layer has a bias.")


class CardLayer(NetworkLayerConfig):
    """One entry of the architecture: its kind and name, then its constructor arguments."""

    kind: str | None = None
    name: str | None = None


class CardSplit(_Open):
    train: int | None = None
    heldout: int | None = None
    heldout_per_class: int | None = None
    split_seed: int | None = None
    function: str | None = None


class CardData(_Open):
    source: str | None = None
    credit: str | None = None
    file: str | None = None
    preprocessing: str | None = None
    split: CardSplit | None = None


class CardAugment(_Open):
    max_shift: float | None = Field(None, description="Pixels.")
    max_rotation: float | None = Field(None, description="Degrees.")
    max_scale: float | None = Field(None, description="Zoom 1 +- this.")


class CardTraining(_Open):
    epochs: int | None = None
    batch_size: int | None = None
    learning_rate: float | None = Field(None, description="Peak learning rate.")
    momentum: float | None = None
    weight_decay: float | None = None
    schedule: str | None = None
    warmup_epochs: float | None = None
    augment: CardAugment | None = None
    seed: int | None = None
    optimizer: str | None = None
    loss: str | None = None
    weight_decay_applies_to: str | None = None
    init: str | None = None


class CardHeldout(_Open):
    accuracy: float | None = None
    correct: int | None = None
    total: int | None = None
    loss: float | None = None
    per_class_accuracy: dict[str, float] | None = Field(None, description="Keyed by class.")


class CardEpoch(_Open):
    epoch: int | None = None
    train_loss: float | None = None
    train_accuracy: float | None = None
    heldout_loss: float | None = None
    heldout_accuracy: float | None = None
    learning_rate: float | None = None
    seconds: float | None = None


class CardMachine(_Open):
    cores: int | None = None
    blas_threads: int | None = None
    platform: str | None = None
    python: str | None = None
    numpy: str | None = None


class ModelCard(_Open):
    """The full model card (training, data, metrics)."""

    id: str | None = None
    name: str | None = None
    description: str | None = None
    architecture: list[CardLayer] | None = None
    input_shape: list[int] | None = None
    classes: list[str] | None = None
    parameter_count: int | None = None
    data: CardData | None = None
    training: CardTraining | None = None
    heldout: CardHeldout | None = None
    history: list[CardEpoch] | None = Field(None, description="One entry per epoch.")
    training_seconds: float | None = None
    machine: CardMachine | None = Field(None, description="The machine that trained it.")
    reproduce: str | None = Field(None, description="The command that retrains it.")
