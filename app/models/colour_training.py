"""The small RGB CNN of the colour lesson: its architecture, recipe, training by the core on
the colour shapes, and its weights (app/models/colour-cnn.npz) and card (colour-cnn.json).

In the registry as `colour-cnn` (app.models.registry.COLOUR_ARCHITECTURES: input 3x20x20).
    python -m app.models.colour_training        # retrains and rewrites both files
"""

from __future__ import annotations

import json
import time
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from app.data.colour_shapes import CLASSES, colour_split, load_colour_shapes
from app.nn import dump_params, from_spec, load_params
from app.nn.network import Sequential
from app.nn.train import TrainConfig, evaluate, train

MODEL_ID = "colour-cnn"
DIR = Path(__file__).resolve().parent
SPEC = [
    {"kind": "conv2d", "name": "conv1", "in_channels": 3, "out_channels": 8, "kernel_size": 3,
     "padding": 1},
    {"kind": "relu", "name": "relu1"},
    {"kind": "maxpool2d", "name": "pool1", "kernel_size": 2},
    {"kind": "conv2d", "name": "conv2", "in_channels": 8, "out_channels": 16, "kernel_size": 3,
     "padding": 1},
    {"kind": "relu", "name": "relu2"},
    {"kind": "maxpool2d", "name": "pool2", "kernel_size": 2},
    {"kind": "flatten", "name": "flatten"},
    {"kind": "linear", "name": "fc", "in_features": 16 * 5 * 5, "out_features": len(CLASSES)},
]
RECIPE = TrainConfig(epochs=20, batch_size=32, learning_rate=0.05, momentum=0.9,
                     weight_decay=5e-4, schedule="cosine", warmup_epochs=1.0, augment=None,
                     seed=0)


def prepared() -> tuple[np.ndarray, np.ndarray]:
    """All colour shapes as float32 (N, 3, 20, 20) in [0, 1], and labels (N,)."""
    images, labels = load_colour_shapes()
    return images.astype(np.float32) / 255.0, labels.astype(np.intp)


def train_colour_cnn(config: TrainConfig = RECIPE) -> tuple[Sequential, dict[str, Any]]:
    """Train from scratch on the 1,800 training images; the card reports the 450 held out."""
    images, labels = prepared()
    train_idx, heldout_idx = colour_split()
    network = from_spec(SPEC, rng=config.seed)
    started = time.perf_counter()
    with threadpool_limits(limits=1, user_api="blas"):
        reports = train(network, images[train_idx], labels[train_idx], config,
                        heldout=(images[heldout_idx], labels[heldout_idx]))
        final = evaluate(network, images[heldout_idx], labels[heldout_idx])
    card = {
        "id": MODEL_ID, "architecture": SPEC, "input_shape": [3, 20, 20],
        "classes": list(CLASSES), "parameter_count": network.parameter_count,
        "data": {"file": "app/data/colour_shapes.npz",
                 "generator": "scripts/make_colour_shapes.py (seed 0)",
                 "split": {"train": int(len(train_idx)), "heldout": int(len(heldout_idx))}},
        "training": config.as_dict(),
        "heldout": {"accuracy": final.accuracy, "correct": final.correct,
                    "total": final.total, "loss": final.loss},
        "history": [{"epoch": r.epoch, "train_loss": r.train_loss,
                     "heldout_accuracy": r.heldout.accuracy if r.heldout else None}
                    for r in reports],
        "training_seconds": round(time.perf_counter() - started, 1),
        "reproduce": "python -m app.models.colour_training",
    }
    return network, card


@cache
def load_colour_cnn() -> tuple[Sequential, dict[str, Any]]:
    """The shipped network and its card."""
    network = from_spec(SPEC, rng=0)
    with np.load(DIR / f"{MODEL_ID}.npz") as arrays:
        load_params(network, dict(arrays))
    return network, json.loads((DIR / f"{MODEL_ID}.json").read_text())


def main() -> None:
    network, card = train_colour_cnn()
    np.savez_compressed(DIR / f"{MODEL_ID}.npz", **dump_params(network))
    (DIR / f"{MODEL_ID}.json").write_text(json.dumps(card, indent=2) + "\n")
    print(f"{MODEL_ID}: held-out accuracy {card['heldout']['accuracy']:.4f} "
          f"({card['heldout']['correct']}/{card['heldout']['total']}), "
          f"{card['training_seconds']} s")


if __name__ == "__main__":
    main()
