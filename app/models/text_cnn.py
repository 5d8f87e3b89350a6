"""The bundled text model `text-cnn`: a 1-D CNN that reads a string and says which motif it holds.

    embedding (9 -> 8, padding 0) -> transpose to (N, 8, L)
      -> conv2 (6 filters of width 2) -> relu -> max over time ┐
      -> conv3 (6 filters of width 3) -> relu -> max over time ├ concat -> flatten (18) -> fc (4)
      -> conv4 (6 filters of width 4) -> relu -> max over time ┘

Each filter scores every n-gram of its width; max-over-time pooling keeps its best score
wherever it occurred, so any string length gives the same 18 numbers.

It is not an image model, so it lives apart from app.models.registry (the digits' model list,
inspect endpoint and gallery): `load_text_model()` loads it with its card.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from app.data.text import ALPHABET, CLASSES, MAX_LENGTH, PAD, VOCAB_SIZE, encode, pad_batch
from app.nn import Graph, from_spec, load_params
from app.nn.losses import softmax
from app.nn.spec import LayerSpec

TEXT_MODEL_ID = "text-cnn"
MODELS_DIR = Path(__file__).resolve().parent
EMBEDDING_DIM = 8
WIDTHS = (2, 3, 4)
FILTERS_PER_WIDTH = 6


def text_cnn_spec(
    widths: tuple[int, ...] = WIDTHS, filters: int = FILTERS_PER_WIDTH, dim: int = EMBEDDING_DIM
) -> list[LayerSpec]:
    """The graph spec: one conv -> relu -> max-over-time branch per window width."""
    spec: list[LayerSpec] = [
        {"kind": "embedding", "name": "embedding", "num_embeddings": VOCAB_SIZE,
         "embedding_dim": dim, "padding_idx": PAD},
        {"kind": "transpose", "name": "transpose", "dim0": 1, "dim1": 2},
    ]
    for k in widths:
        spec += [
            {"kind": "conv1d", "name": f"conv{k}", "in_channels": dim, "out_channels": filters,
             "kernel_size": k, "inputs": ["transpose"]},
            {"kind": "relu", "name": f"relu{k}", "inputs": [f"conv{k}"]},
            {"kind": "adaptivemaxpool1d", "name": f"pool{k}", "output_size": 1,
             "inputs": [f"relu{k}"]},
        ]
    spec += [
        {"kind": "concat", "name": "concat", "dim": 1, "inputs": [f"pool{k}" for k in widths]},
        {"kind": "flatten", "name": "flatten"},
        {"kind": "linear", "name": "fc", "in_features": filters * len(widths),
         "out_features": len(CLASSES)},
    ]
    return spec


def build_text_cnn(seed: int = 0, dtype=np.float32) -> Graph:
    """The architecture with fresh, seeded weights."""
    return from_spec(text_cnn_spec(), rng=seed, dtype=dtype)


def padded_length(length: int) -> int:
    """The length a string of `length` characters is padded to before the model reads it:
    MAX_LENGTH (24), as in training, or the string's own length when it is longer."""
    return max(MAX_LENGTH, length)


@dataclass
class TextModel:
    """The trained text CNN and its card. Immutable after loading; safe across threads."""

    network: Graph
    card: dict[str, Any] = field(default_factory=dict)
    id: str = TEXT_MODEL_ID
    classes: tuple[str, ...] = CLASSES
    alphabet: str = ALPHABET

    def encode(self, texts: list[str]) -> np.ndarray:
        """Strings -> (N, L) indices right-padded with PAD to padded_length(longest): the
        model was trained on strings padded to 24, and reads them the same way in use.
        Raises app.data.text.TextRejected for a character outside the alphabet."""
        rows = [encode(t) for t in texts]
        return pad_batch(rows, padded_length(max(len(r) for r in rows)))

    def predict(self, texts: list[str]) -> np.ndarray:
        """Strings -> (N, classes) probabilities."""
        return softmax(self.network.predict(self.encode(texts)))


def weights_path(directory: Path = MODELS_DIR) -> Path:
    return directory / f"{TEXT_MODEL_ID}.npz"


def card_path(directory: Path = MODELS_DIR) -> Path:
    return directory / f"{TEXT_MODEL_ID}.json"


@cache
def load_text_model() -> TextModel:
    """The bundled text-cnn with its trained weights and card."""
    network = build_text_cnn()
    with np.load(weights_path()) as arrays:
        load_params(network, dict(arrays))
    return TextModel(network, json.loads(card_path().read_text()))
