"""The bundled convolutional autoencoder of the digits: its architecture, recipe, training by
the core (MSE against the input itself), and its weights (app/models/autoencoder.npz) and
card (autoencoder.json).

    python -m app.models.autoencoder        # retrains and rewrites both files (`make train`)

Encoder: a stride-2 3x3 conv (28 -> 14), a dilation-2 3x3 conv (14 -> 14: a 5x5 field with
9 weights), a stride-2 3x3 conv (14 -> 7): a code of 8 x 7 x 7 = 392 numbers for 784
pixels. Decoder: a 3x3 ConvTranspose2d of stride 2
(7 -> 14; 3 is not divisible by 2, so its kernel copies overlap unevenly: a checkerboard),
then a 4x4 ConvTranspose2d of stride 2 (14 -> 28; 4 is, so every output pixel gets two taps
per axis), and a sigmoid so the reconstruction lies in [0, 1] like the input.
Not in the classifier registry: its output is an image, not class scores.
"""

from __future__ import annotations

import json
import math
import time
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from app.data import SPLIT_SEED, split_indices
from app.nn import dump_params, from_spec, load_params
from app.nn.graph import Graph
from app.nn.losses import mse_loss
from app.nn.train import MomentumSGD, TrainConfig

MODEL_ID = "autoencoder"
DIR = Path(__file__).resolve().parent
INPUT_SHAPE = (1, 28, 28)
SPEC: list[dict[str, Any]] = [
    {"kind": "conv2d", "name": "conv1", "in_channels": 1, "out_channels": 8, "kernel_size": 3,
     "stride": 2, "padding": 1},
    {"kind": "relu", "name": "relu1"},
    {"kind": "conv2d", "name": "conv2", "in_channels": 8, "out_channels": 16, "kernel_size": 3,
     "padding": 2, "dilation": 2},
    {"kind": "relu", "name": "relu2"},
    {"kind": "conv2d", "name": "conv3", "in_channels": 16, "out_channels": 8,
     "kernel_size": 3, "stride": 2, "padding": 1},
    {"kind": "relu", "name": "relu3"},
    {"kind": "convtranspose2d", "name": "deconv1", "in_channels": 8, "out_channels": 8,
     "kernel_size": 3, "stride": 2, "padding": 1, "output_padding": 1},
    {"kind": "relu", "name": "relu4"},
    {"kind": "convtranspose2d", "name": "deconv2", "in_channels": 8, "out_channels": 1,
     "kernel_size": 4, "stride": 2, "padding": 1},
    {"kind": "sigmoid", "name": "sigmoid"},
]
ENCODER = ("conv1", "relu1", "conv2", "relu2", "conv3", "relu3")
DECODER = ("deconv1", "relu4", "deconv2", "sigmoid")
# The mean over pixels makes each pixel's gradient 2(y - x)/784, so the step is large; at
# lr 1.0 and 2.0 this 8-channel code collapsed to a constant output (held-out MSE 0.094),
# lr 0.6 trains (0.0022, 20 epochs, same seed).
RECIPE = TrainConfig(epochs=20, batch_size=32, learning_rate=0.6, momentum=0.9,
                     weight_decay=0.0, schedule="cosine", warmup_epochs=1.0, augment=None,
                     seed=0)
DESCRIPTION = (
    "A convolutional autoencoder of the digits: an encoder of three 3x3 convolutions (stride "
    "2; dilation 2, a 5x5 field from 9 weights; stride 2) squeezes 784 pixels to a code of 8 "
    "maps of 7x7 (392 numbers), and a decoder of two transposed convolutions (3x3 stride 2, "
    "whose overlaps are uneven: a checkerboard; 4x4 stride 2, even) and a sigmoid rebuilds "
    "the 28x28 digit. Trained to "
    "minimise the mean squared error against its own input."
)


def build(seed: int = 0) -> Graph:
    """The architecture with fresh weights (PyTorch's default init, seeded)."""
    return from_spec(SPEC, rng=seed)


def reconstruction_mse(network: Graph, images: np.ndarray, batch_size: int = 500) -> float:
    """Mean squared error per pixel of network(images) against images (N, 1, 28, 28)."""
    total = 0.0
    for start in range(0, len(images), batch_size):
        x = images[start : start + batch_size]
        total += mse_loss(network.predict(x), x, reduction="sum")[0]
    return total / images.size


def train_autoencoder(
    network: Graph, images: np.ndarray, config: TrainConfig, heldout: np.ndarray | None = None,
) -> list[dict[str, float]]:
    """Mini-batch SGD with momentum on mse_loss(network(x), x), in place; the same seeded
    shuffling and learning-rate schedule as app.nn.train. -> one report per epoch."""
    order_rng = np.random.default_rng(np.random.SeedSequence(config.seed).spawn(2)[0])
    optimiser = MomentumSGD(network, config.momentum, config.weight_decay)
    n = len(images)
    batches = math.ceil(n / config.batch_size)
    total_steps, step, history = batches * config.epochs, 0, []
    for epoch in range(1, config.epochs + 1):
        started, loss_sum = time.perf_counter(), 0.0
        order = order_rng.permutation(n)
        for b in range(batches):
            x = images[order[b * config.batch_size : (b + 1) * config.batch_size]]
            y, caches = network.forward(x)
            loss, dy = mse_loss(y, x)
            _, grads = network.backward(dy, caches)
            learning_rate = config.learning_rate_at(step, total_steps)
            optimiser.step(grads, learning_rate)
            step += 1
            loss_sum += loss * len(x)
        history.append({
            "epoch": epoch, "train_mse": loss_sum / n, "learning_rate": learning_rate,
            "heldout_mse": reconstruction_mse(network, heldout) if heldout is not None else None,
            "seconds": round(time.perf_counter() - started, 2),
        })
    return history


def train_bundled(config: TrainConfig = RECIPE, train_limit: int | None = None):
    """Train from scratch on the digits' training split; the card reports the held-out split.
    `train_limit` trains on the first few training digits only (tests). -> (network, card)"""
    from app.models.training import DATA_CARD, prepared_digits

    images, _ = prepared_digits()
    train_idx, heldout_idx = split_indices()
    if train_limit is not None:
        train_idx = train_idx[:train_limit]
    network = build(config.seed)
    started = time.perf_counter()
    with threadpool_limits(limits=1, user_api="blas"):
        history = train_autoencoder(network, images[train_idx], config,
                                    heldout=images[heldout_idx])
        heldout_mse = reconstruction_mse(network, images[heldout_idx])
    mean_image = images[train_idx].mean(axis=0, keepdims=True)
    baseline = float(np.square(images[heldout_idx] - mean_image, dtype=np.float64).mean())
    card = {
        "id": MODEL_ID, "name": "Convolutional autoencoder", "description": DESCRIPTION,
        "architecture": SPEC, "input_shape": list(INPUT_SHAPE), "head": "reconstruction",
        "encoder": list(ENCODER), "decoder": list(DECODER),
        "code_shape": [8, 7, 7],
        "dilated": {"conv2": "3x3 kernel, dilation 2: it reads a 5x5 window, every other "
                    "pixel, with 9 weights"},
        "checkerboard": {"deconv1": "kernel 3, stride 2: 3 is not divisible by 2, so output "
                         "pixels receive 1, 2 or 4 kernel taps (uneven overlap)",
                         "deconv2": "kernel 4, stride 2: every output pixel receives 2x2 taps"},
        "parameter_count": network.parameter_count,
        "data": {**DATA_CARD, "split": {"train": int(len(train_idx)),
                                        "heldout": int(len(heldout_idx)),
                                        "split_seed": SPLIT_SEED,
                                        "function": "app.data.split_indices"}},
        "training": {**config.as_dict(), "loss": "mean squared error against the input "
                     "(app.nn.losses.mse_loss, mean over pixels and batch)",
                     "optimizer": "SGD with momentum (app.nn.train.MomentumSGD)"},
        "heldout": {"mse": heldout_mse, "total": int(len(heldout_idx)),
                    "mean_image_mse": baseline},
        # Unrounded: the first epoch's loss is a fingerprint of the arithmetic.
        "history": history,
        "training_seconds": round(time.perf_counter() - started, 1),
        "reproduce": "python -m app.models.autoencoder",
    }
    return network, card


@cache
def load_autoencoder() -> tuple[Graph, dict[str, Any]]:
    """The shipped network (inference mode) and its card."""
    network = build(0)
    with np.load(DIR / f"{MODEL_ID}.npz") as arrays:
        load_params(network, dict(arrays))
    return network.eval(), json.loads((DIR / f"{MODEL_ID}.json").read_text())


def main() -> None:
    network, card = train_bundled()
    np.savez_compressed(DIR / f"{MODEL_ID}.npz", **dump_params(network))
    (DIR / f"{MODEL_ID}.json").write_text(json.dumps(card, indent=2) + "\n")
    print(f"{MODEL_ID}: held-out MSE {card['heldout']['mse']:.5f} per pixel (mean image "
          f"{card['heldout']['mean_image_mse']:.5f}), {card['training_seconds']} s")


if __name__ == "__main__":
    main()
