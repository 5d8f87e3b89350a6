"""The model registry: which models exist, and loading one with its weights and card."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from app.data.colour_shapes import CLASSES as COLOUR_CLASSES
from app.models.colour_training import SPEC as COLOUR_SPEC
from app.models.resnet import resnet_mini_spec
from app.nn import Graph, from_spec, load_params
from app.nn.spec import LayerSpec
from app.nn.trace import Trace

MODELS_DIR = Path(__file__).resolve().parent
DIGITS = [str(d) for d in range(10)]


def lenet5_spec(activation: str = "relu", pool: str = "maxpool2d") -> list[LayerSpec]:
    """LeNet-5 for 1x28x28 input: the 5x5 convs of LeCun et al. 1998, padding 2 on the
    first so that 28x28 plays the role of the paper's 32x32."""
    act = {"kind": activation}
    return [
        {"kind": "conv2d", "name": "conv1", "in_channels": 1, "out_channels": 6,
         "kernel_size": 5, "padding": 2},
        {**act, "name": f"{activation}1"},
        {"kind": pool, "name": "pool1", "kernel_size": 2},
        {"kind": "conv2d", "name": "conv2", "in_channels": 6, "out_channels": 16,
         "kernel_size": 5},
        {**act, "name": f"{activation}2"},
        {"kind": pool, "name": "pool2", "kernel_size": 2},
        {"kind": "flatten", "name": "flatten"},
        {"kind": "linear", "name": "fc1", "in_features": 400, "out_features": 120},
        {**act, "name": f"{activation}3"},
        {"kind": "linear", "name": "fc2", "in_features": 120, "out_features": 84},
        {**act, "name": f"{activation}4"},
        {"kind": "linear", "name": "fc3", "in_features": 84, "out_features": 10},
    ]


@dataclass(frozen=True)
class Architecture:
    id: str
    name: str
    description: str
    spec: list[LayerSpec]
    input_shape: tuple[int, int, int] = (1, 28, 28)
    classes: tuple[str, ...] = tuple(DIGITS)
    # The input spec's fields beyond the shape (mean, std, colour_order, kind); None: derived
    # from input_shape (app.imaging.spec.input_spec_from).
    input_spec: dict[str, Any] | None = None
    # The gallery whose samples fit this model (app.services.samples.DATASETS); None: chosen
    # by the number of input channels.
    dataset: str | None = None


ARCHITECTURES: dict[str, Architecture] = {
    arch.id: arch
    for arch in (
        Architecture(
            "lenet5", "LeNet-5 (ReLU, max pooling)",
            "LeNet-5 with the modern choices: ReLU activations and 2x2 max pooling.",
            lenet5_spec("relu", "maxpool2d"),
        ),
        Architecture(
            "lenet5-classic", "LeNet-5 classic (tanh, average pooling)",
            "LeNet-5 as in LeCun et al. 1998: tanh activations and 2x2 average pooling "
            "(subsampling).",
            lenet5_spec("tanh", "avgpool2d"),
        ),
        Architecture(
            "mlp", "MLP 784-300-100-10 (tanh)",
            "A multilayer perceptron with no convolution: the 28x28 digit flattened to 784 "
            "inputs, two fully connected tanh layers of 300 and 100 units, 10 outputs.",
            [
                {"kind": "flatten", "name": "flatten"},
                {"kind": "linear", "name": "fc1", "in_features": 784, "out_features": 300},
                {"kind": "tanh", "name": "tanh1"},
                {"kind": "linear", "name": "fc2", "in_features": 300, "out_features": 100},
                {"kind": "tanh", "name": "tanh2"},
                {"kind": "linear", "name": "fc3", "in_features": 100, "out_features": 10},
            ],
        ),
        Architecture(
            "resnet-mini", "resnet-mini (residual, BatchNorm)",
            "A small ResNet: a conv-BN-ReLU stem, three basic residual blocks (8, 16 and 32 "
            "channels; the last two strided, with a 1x1 projection on the skip), global "
            "average pooling and one linear layer.",
            resnet_mini_spec(),
        ),
    )
}

# The sequence models: a digit read row by row (28 steps of 28 pixels) by one recurrent layer,
# trained by app.models.training_recurrent (not by `convscope train`).
ROWS, PIXELS = 28, 28


def rows_spec(kind: str, hidden: int, bidirectional: bool = False,
              nonlinearity: str | None = None) -> list[LayerSpec]:
    """A digit read row by row by one recurrent layer, then a linear classifier on its
    final state (h_n; both directions' side by side for a bidirectional layer)."""
    extra = {"nonlinearity": nonlinearity} if nonlinearity else {}
    width = hidden * (2 if bidirectional else 1)
    head = ({"kind": "finalstates", "name": "final", "hidden_size": hidden} if bidirectional
            else {"kind": "laststep", "name": "last"})
    return [
        {"kind": "imagerows", "name": "rows"},
        {"kind": kind, "name": kind, "input_size": PIXELS, "hidden_size": hidden,
         "batch_first": True, "bidirectional": bidirectional, "output_only": True, **extra},
        head,
        {"kind": "linear", "name": "fc", "in_features": width, "out_features": 10},
    ]


RECURRENT_ARCHITECTURES: dict[str, Architecture] = {
    arch.id: arch
    for arch in (
        Architecture(
            "lstm-rows", "LSTM reading rows",
            "An LSTM (128 units) reads the digit one row of 28 pixels per time step; a linear "
            "layer classifies its last hidden state.",
            rows_spec("lstm", 128),
        ),
        Architecture(
            "rnn-rows", "RNN reading rows (tanh)",
            "A plain tanh RNN (128 units) reads the digit one row per time step; a linear "
            "layer classifies its last hidden state.",
            rows_spec("rnn", 128, nonlinearity="tanh"),
        ),
        Architecture(
            "bilstm-rows", "Bi-LSTM reading rows",
            "Two LSTMs (128 units each) read the digit's rows top-down and bottom-up; a linear "
            "layer classifies both final hidden states side by side.",
            rows_spec("lstm", 128, bidirectional=True),
        ),
    )
}

# The RGB model, trained by app.models.colour_training on the colour shapes (20x20 RGB).
COLOUR_ARCHITECTURES: dict[str, Architecture] = {
    "colour-cnn": Architecture(
        "colour-cnn", "Colour CNN (RGB shapes)",
        "A small CNN on 20x20 RGB pictures: conv 3x3x8 (three input channels: red, green and "
        "blue), ReLU, max pool 2, conv 3x3x16, ReLU, max pool 2, fc 9. Its class (red, green "
        "or blue square, disc or triangle) depends on both colour and shape.",
        COLOUR_SPEC, input_shape=(3, 20, 20), classes=COLOUR_CLASSES,
        input_spec={"kind": "image"}, dataset="colour-shapes",
    ),
}

# Every bundled model, convolutional first: what list_models() and load_model() serve.
ALL_ARCHITECTURES: dict[str, Architecture] = {
    **ARCHITECTURES, **COLOUR_ARCHITECTURES, **RECURRENT_ARCHITECTURES,
}


def prepare_images(images, input_shape: tuple[int, int, int] = (1, 28, 28)) -> np.ndarray:
    """The one normalisation of every model's input, in training and in use: images
    (N, H, W) or (N, C, H, W), uint8 0-255 or float 0-1 -> float32 (N, C, H, W) in [0, 1].
    Raises ValueError on anything else."""
    arr = np.asarray(images)
    c, h, w = input_shape
    if arr.ndim == 3:
        arr = arr[:, None]
    if arr.ndim != 4 or arr.shape[1:] != (c, h, w):
        raise ValueError(
            f"images must be shaped (N, {h}, {w}) or (N, {c}, {h}, {w}), got {arr.shape}"
        )
    if arr.dtype == np.uint8:
        return arr.astype(np.float32) / 255.0
    if not np.issubdtype(arr.dtype, np.floating):
        raise ValueError(f"images must be uint8 (0-255) or float (0-1), got {arr.dtype}")
    if not np.isfinite(arr).all():
        raise ValueError("images contain NaN or infinite values")
    if arr.size and (arr.min() < 0 or arr.max() > 1):
        raise ValueError(
            f"float images must lie in [0, 1], got [{arr.min():.4g}, {arr.max():.4g}]"
        )
    return arr.astype(np.float32)


@dataclass
class Model:
    """A trained network with its card. Immutable after loading; safe across threads."""

    architecture: Architecture
    network: Graph
    card: dict[str, Any] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return self.architecture.id

    @property
    def classes(self) -> list[str]:
        return list(self.architecture.classes)

    @property
    def input_shape(self) -> tuple[int, int, int]:
        return self.architecture.input_shape

    @property
    def input_spec(self):
        """The InputSpec (app.imaging.spec): the card's "input" (stored models: channels,
        height, width, mean, std, colour_order), else the architecture's, else derived from
        input_shape (1 channel: a digit model). ValueError for a non-image input."""
        from app.imaging.spec import input_spec_from

        raw = self.card.get("input") if isinstance(self.card, dict) else None
        if not isinstance(raw, dict):
            raw = self.architecture.input_spec
        return input_spec_from(raw, self.input_shape)

    def prepare(self, images) -> np.ndarray:
        """Images in the network's channel order, (N, H, W) or (N, C, H, W), uint8 0-255 or
        float 0-1 -> float32 (N, C, H, W), normalised by the input spec's mean and std (the
        bundled models: none, so [0, 1]). Raises ValueError on anything else."""
        from app.imaging.spec import normalise

        return normalise(prepare_images(images, self.input_shape), self.input_spec)

    def predict(self, images) -> np.ndarray:
        """Images as `prepare` takes them -> (N, classes) class probabilities."""
        from app.nn.losses import softmax

        return softmax(self.network.predict(self.prepare(images)))

    def trace(self, image, target: int | None = None) -> Trace:
        """One forward + backward pass of a single image ((H, W) or (C, H, W), as `prepare`
        takes it) -> Trace (batch of 1)."""
        x = self.prepare(np.asarray(image)[None])
        return self.network.trace(x, None if target is None else [int(target)])


def weights_path(model_id: str, directory: Path = MODELS_DIR) -> Path:
    return directory / f"{model_id}.npz"


def card_path(model_id: str, directory: Path = MODELS_DIR) -> Path:
    return directory / f"{model_id}.json"


def list_models() -> list[str]:
    """Ids of the bundled models, in display order (the convolutional ones, then the
    sequence models)."""
    return list(ALL_ARCHITECTURES)


@cache
def load_model(model_id: str) -> Model:
    """The bundled model `model_id` with its trained weights. KeyError for unknown ids."""
    if model_id not in ALL_ARCHITECTURES:
        raise KeyError(f"unknown model {model_id!r}; known: {', '.join(ALL_ARCHITECTURES)}")
    arch = ALL_ARCHITECTURES[model_id]
    network = from_spec(arch.spec, rng=0)
    with np.load(weights_path(model_id)) as arrays:
        load_params(network, dict(arrays))
    card = json.loads(card_path(model_id).read_text())
    return Model(arch, network, card)
