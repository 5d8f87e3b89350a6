"""Training the bundled text model `text-cnn` on the generated motif strings, and its card.

`TEXT_RECIPE` holds the hyper-parameters of the shipped weights: `python scripts/train_text_cnn.py`
with no option reproduces them on the same machine and BLAS (one BLAS thread). The loop is
the core's: app.nn.train's MomentumSGD and learning-rate schedule on padded index batches.
"""

from __future__ import annotations

import json
import math
import os
import platform
import time
from pathlib import Path
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from app.data.text import (
    ALPHABET,
    CLASSES,
    DATA_SEED,
    HELDOUT_SIZE,
    MAX_LENGTH,
    MIN_LENGTH,
    MOTIFS,
    TRAIN_SIZE,
    encode,
    pad_batch,
    text_splits,
)
from app.models.text_cnn import (
    TEXT_MODEL_ID,
    build_text_cnn,
    card_path,
    text_cnn_spec,
    weights_path,
)
from app.nn import dump_params
from app.nn.losses import softmax_cross_entropy
from app.nn.train import Evaluation, MomentumSGD, TrainConfig, evaluate

TRAINING_BLAS_THREADS = 1

TEXT_RECIPE = TrainConfig(
    epochs=30, batch_size=64, learning_rate=0.05, momentum=0.9, weight_decay=5e-4,
    schedule="cosine", warmup_epochs=1.0, augment=None, seed=0,
)


def train_text_network(network, x: np.ndarray, labels: np.ndarray, config: TrainConfig,
                       heldout: tuple[np.ndarray, np.ndarray] | None = None) -> list[dict]:
    """Mini-batch SGD with momentum on index batches x (N, L), labels (N,), in place.
    Returns one history entry per epoch."""
    rng = np.random.default_rng(config.seed)
    optimiser = MomentumSGD(network, config.momentum, config.weight_decay)
    n = len(labels)
    batches = math.ceil(n / config.batch_size)
    total = batches * config.epochs
    history, step = [], 0
    for epoch in range(1, config.epochs + 1):
        started = time.perf_counter()
        order = rng.permutation(n)
        loss_sum, hits = 0.0, 0
        network.train()
        for b in range(batches):
            idx = order[b * config.batch_size : (b + 1) * config.batch_size]
            logits, caches = network.forward(x[idx])
            loss, dlogits, _ = softmax_cross_entropy(logits, labels[idx])
            _, grads = network.backward(dlogits.astype(logits.dtype, copy=False), caches)
            lr = config.learning_rate_at(step, total)
            optimiser.step(grads, lr)
            step += 1
            loss_sum += loss * len(idx)
            hits += int((logits.argmax(axis=1) == labels[idx]).sum())
        network.eval()
        entry = {"epoch": epoch, "train_loss": loss_sum / n, "train_accuracy": hits / n,
                 "learning_rate": lr, "seconds": round(time.perf_counter() - started, 2)}
        if heldout is not None:
            ev = evaluate(network, *heldout, classes=len(CLASSES))
            entry.update(heldout_loss=ev.loss, heldout_accuracy=ev.accuracy)
        history.append(entry)
    return history


def _heldout_card(ev: Evaluation) -> dict[str, Any]:
    return {
        "accuracy": ev.accuracy, "correct": ev.correct, "total": ev.total, "loss": ev.loss,
        "per_class_accuracy": dict(zip(CLASSES, ev.per_class_accuracy, strict=True)),
    }


def evaluate_unpadded(network, dataset) -> Evaluation:
    """Held-out evaluation with every string read at its own length (no padding): batches
    of equal length, merged back into the dataset's order."""
    lengths = np.array([len(t) for t in dataset.texts])
    order, logits = [], []
    for length in np.unique(lengths):
        idx = np.flatnonzero(lengths == length)
        rows = pad_batch([encode(dataset.texts[i]) for i in idx], int(length))
        order.append(idx)
        logits.append(network.predict(rows))
    merged = np.empty((len(lengths), len(CLASSES)), dtype=np.float32)
    merged[np.concatenate(order)] = np.concatenate(logits)

    class _Fixed:  # evaluate() asks a network for logits; these are already computed
        @staticmethod
        def predict(rows):
            return merged[rows]

    return evaluate(_Fixed, np.arange(len(lengths)), dataset.labels, classes=len(CLASSES))


def train_text_cnn(config: TrainConfig = TEXT_RECIPE, epochs: int | None = None):
    """Train text-cnn from scratch: -> (network, card)."""
    if epochs is not None:
        config = TrainConfig(**{**config.__dict__, "epochs": epochs})
    train_set, heldout_set = text_splits(DATA_SEED)
    x, y = train_set.encoded(), train_set.labels
    hx, hy = heldout_set.encoded(), heldout_set.labels
    network = build_text_cnn(seed=config.seed)
    started = time.perf_counter()
    with threadpool_limits(limits=TRAINING_BLAS_THREADS, user_api="blas"):
        history = train_text_network(network, x, y, config, heldout=(hx, hy))
        final = evaluate(network, hx, hy, classes=len(CLASSES))
        unpadded = evaluate_unpadded(network, heldout_set)
    card = {
        "id": TEXT_MODEL_ID,
        "name": "Text CNN (embedding, widths 2/3/4, max over time)",
        "description": "Reads a string over the letters a-h and says which motif it holds: "
                       "none, \"hg\", \"bad\" or \"cafe\", anywhere in the string.",
        "architecture": text_cnn_spec(),
        "classes": list(CLASSES),
        "alphabet": ALPHABET,
        "parameter_count": network.parameter_count,
        "data": {
            "source": "generated at load time by app.data.text.make_text_dataset (seeded)",
            "rule": "random letters a-h, length 8-24; classes 1-3 hold their motif once at a "
                    "random position, class 0 none; no string holds a second motif",
            "motifs": list(MOTIFS), "lengths": [MIN_LENGTH, MAX_LENGTH],
            "split": {"train": TRAIN_SIZE, "heldout": HELDOUT_SIZE, "seed": DATA_SEED,
                      "function": "app.data.text.text_splits"},
            "train_digest": train_set.digest(), "heldout_digest": heldout_set.digest(),
            "padding": f"batches right-padded with index 0 to {MAX_LENGTH}",
        },
        "training": {
            **config.as_dict(),
            "optimizer": "SGD with momentum (app.nn.train.MomentumSGD)",
            "loss": "softmax cross-entropy",
            "weight_decay_applies_to": "weights (embedding included), not biases",
            "init": "embedding N(0, 1) with the padding row 0; conv and fc PyTorch's default "
                    "uniform(+-1/sqrt(fan_in)); seeded by seed",
        },
        "heldout": _heldout_card(final),
        # The same strings each read alone at its own length, with no padding at all.
        "heldout_unpadded": _heldout_card(unpadded),
        "history": history,
        "training_seconds": round(time.perf_counter() - started, 1),
        "machine": {
            "cores": os.cpu_count(), "blas_threads": TRAINING_BLAS_THREADS,
            "platform": platform.platform(), "python": platform.python_version(),
            "numpy": np.__version__,
        },
        "command": "python scripts/train_text_cnn.py",
    }
    return network, card


def save_text_cnn(network, card: dict[str, Any], out_dir: Path) -> tuple[Path, Path]:
    """Write out_dir/text-cnn.npz and out_dir/text-cnn.json."""
    out_dir.mkdir(parents=True, exist_ok=True)
    npz, js = weights_path(out_dir), card_path(out_dir)
    np.savez_compressed(npz, **dump_params(network))
    js.write_text(json.dumps(card, indent=2) + "\n")
    return npz, js
