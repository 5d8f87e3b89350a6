"""The bundled sequence models: recurrent networks that read a digit row by row.

Each digit (1, 28, 28) becomes 28 time steps of 28 pixels (app.nn.recurrent_nodes.ImageRows);
a recurrent layer reads them, and a linear layer classifies its final state. The networks are
Sequentials, so app.nn.train.train trains them (SGD with momentum, the same data split, the
same card format as app.models.training); this module adds the architectures, their recipes
and gradient-norm clipping.

    OPENBLAS_NUM_THREADS=1 python -m app.models.training_recurrent [ID ...]

rewrites app/models/{id}.npz and {id}.json; with the same machine and BLAS, bit for bit.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from app.data import HELDOUT_PER_CLASS, SPLIT_SEED, split_indices
from app.models.registry import (  # the architectures live in the registry
    MODELS_DIR,
    RECURRENT_ARCHITECTURES,
    Model,
    card_path,
    weights_path,
)
from app.models.training import DATA_CARD, TRAINING_BLAS_THREADS, prepared_digits, save_model
from app.nn import Sequential, load_params
from app.nn.augment import AugmentSettings
from app.nn.layers import LAYER_TYPES
from app.nn.recurrent import RECURRENT_LAYER_TYPES
from app.nn.spec import LayerSpec
from app.nn.train import EpochReport, TrainConfig, evaluate, train


@dataclass(frozen=True)
class RecurrentRecipe:
    """A TrainConfig plus the global gradient-norm clipping threshold (None: no clipping)."""

    config: TrainConfig
    clip_norm: float | None = None


_AUGMENT = AugmentSettings(2.0, 10.0, 0.1)
RECIPES: dict[str, RecurrentRecipe] = {
    "lstm-rows": RecurrentRecipe(
        TrainConfig(epochs=30, batch_size=64, learning_rate=0.1, momentum=0.9,
                    weight_decay=5e-4, schedule="cosine", warmup_epochs=1.0,
                    augment=_AUGMENT, seed=0),
        clip_norm=5.0,
    ),
    "rnn-rows": RecurrentRecipe(
        TrainConfig(epochs=30, batch_size=64, learning_rate=0.05, momentum=0.9,
                    weight_decay=5e-4, schedule="cosine", warmup_epochs=1.0,
                    augment=_AUGMENT, seed=0),
        clip_norm=1.0,
    ),
    "bilstm-rows": RecurrentRecipe(
        TrainConfig(epochs=30, batch_size=64, learning_rate=0.1, momentum=0.9,
                    weight_decay=5e-4, schedule="cosine", warmup_epochs=1.0,
                    augment=_AUGMENT, seed=0),
        clip_norm=5.0,
    ),
}


def build_network(spec: list[LayerSpec], rng=None, dtype=np.float32) -> Sequential:
    """A Sequential of recurrent and core layers from a spec, freshly initialised (seeded)."""
    rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    types = {**LAYER_TYPES, **RECURRENT_LAYER_TYPES}
    layers = []
    for entry in spec:
        entry = dict(entry)
        kind, name = entry.pop("kind"), entry.pop("name")
        if kind not in types:
            raise ValueError(f"unknown layer kind {kind!r}")
        if "input_size" in entry or "in_features" in entry:
            entry.update(rng=rng, dtype=dtype)
        layers.append((name, types[kind](**entry)))
    return Sequential(layers)


class ClippedSequential(Sequential):
    """A Sequential whose backward scales all parameter gradients together so that their
    global L2 norm is at most clip_norm (torch.nn.utils.clip_grad_norm_)."""

    def __init__(self, network: Sequential, clip_norm: float | None):
        super().__init__(list(network))
        self.clip_norm = clip_norm

    def backward(self, dy, caches):
        dx, grads = super().backward(dy, caches)
        if self.clip_norm is None:
            return dx, grads
        norm = float(np.sqrt(sum(float((g.astype(np.float64) ** 2).sum())
                                 for layer in grads for g in layer.values())))
        if norm > self.clip_norm:
            scale = self.clip_norm / (norm + 1e-6)
            grads = [{k: g * np.asarray(scale, g.dtype) for k, g in layer.items()}
                     for layer in grads]
        return dx, grads


def train_recurrent_model(model_id: str, recipe: RecurrentRecipe | None = None,
                          on_epoch=None, train_limit: int | None = None):
    """Train model_id from scratch on the training split -> (network, card, reports)."""

    arch = RECURRENT_ARCHITECTURES[model_id]
    recipe = recipe or RECIPES[model_id]
    config = recipe.config
    images, labels = prepared_digits()
    train_idx, heldout_idx = split_indices()
    if train_limit is not None:
        train_idx = train_idx[:train_limit]
    network = ClippedSequential(build_network(arch.spec, rng=config.seed), recipe.clip_norm)
    started = time.perf_counter()
    with threadpool_limits(limits=TRAINING_BLAS_THREADS, user_api="blas"):
        reports: list[EpochReport] = train(
            network, images[train_idx], labels[train_idx], config,
            heldout=(images[heldout_idx], labels[heldout_idx]), on_epoch=on_epoch,
        )
        final = evaluate(network, images[heldout_idx], labels[heldout_idx])
    seconds = time.perf_counter() - started
    card: dict[str, Any] = {
        "id": arch.id, "name": arch.name, "description": arch.description,
        "architecture": arch.spec, "input_shape": list(arch.input_shape),
        "classes": list(arch.classes), "parameter_count": network.parameter_count,
        "data": {**DATA_CARD, "split": {
            "train": int(len(train_idx)), "heldout": int(len(heldout_idx)),
            "heldout_per_class": HELDOUT_PER_CLASS, "split_seed": SPLIT_SEED,
            "function": "app.data.split_indices"}},
        "training": {
            **config.as_dict(),
            "gradient_clip_norm": recipe.clip_norm,
            "optimizer": "SGD with momentum (app.nn.train.MomentumSGD)",
            "loss": "softmax cross-entropy",
            "weight_decay_applies_to": "the linear layer's weight only (parameters named "
                                       "'weight'); recurrent weights and biases are not decayed",
            "init": "PyTorch's default: recurrent uniform(+-1/sqrt(hidden_size)), linear "
                    "uniform(+-1/sqrt(fan_in)), seeded by seed",
            "recipe": f"app.models.training_recurrent.RECIPES[{model_id!r}]",
        },
        "heldout": {
            "accuracy": final.accuracy, "correct": final.correct, "total": final.total,
            "loss": final.loss,
            "per_class_accuracy": dict(zip(arch.classes, final.per_class_accuracy,
                                           strict=True)),
        },
        "history": [
            {"epoch": r.epoch, "train_loss": r.train_loss, "train_accuracy": r.train_accuracy,
             "heldout_loss": r.heldout.loss if r.heldout else None,
             "heldout_accuracy": r.heldout.accuracy if r.heldout else None,
             "learning_rate": r.learning_rate, "seconds": round(r.seconds, 2)}
            for r in reports
        ],
        "training_seconds": round(seconds, 1),
        "machine": {
            "cores": os.cpu_count(), "blas_threads": TRAINING_BLAS_THREADS,
            "platform": platform.platform(), "python": platform.python_version(),
            "numpy": np.__version__,
        },
        "reproduce": f"OPENBLAS_NUM_THREADS=1 python -m app.models.training_recurrent {model_id}",
    }
    return Sequential(list(network)), card, reports


def load_recurrent_model(model_id: str, directory: Path = MODELS_DIR) -> Model:
    """A bundled sequence model with its weights and card (a registry Model)."""
    arch = RECURRENT_ARCHITECTURES[model_id]
    network = build_network(arch.spec, rng=0)
    with np.load(weights_path(model_id, directory)) as arrays:
        load_params(network, dict(arrays))
    card = json.loads(card_path(model_id, directory).read_text())
    return Model(arch, network, card)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Train the bundled sequence models.")
    parser.add_argument("ids", nargs="*", default=list(RECURRENT_ARCHITECTURES))
    parser.add_argument("--out", type=Path, default=MODELS_DIR)
    parser.add_argument("--epochs", type=int, default=None)
    args = parser.parse_args(argv)
    for model_id in args.ids:
        recipe = RECIPES[model_id]
        if args.epochs:
            recipe = replace(recipe, config=replace(recipe.config, epochs=args.epochs))

        def report(r: EpochReport, model_id=model_id) -> None:
            print(f"{model_id} epoch {r.epoch}: loss {r.train_loss:.4f} "
                  f"train {r.train_accuracy:.3f} held-out {r.heldout.accuracy:.3f} "
                  f"({r.heldout.loss:.4f}) lr {r.learning_rate:.4f} {r.seconds:.1f}s",
                  flush=True)

        network, card, _ = train_recurrent_model(model_id, recipe, on_epoch=report)
        if args.epochs:
            card["reproduce"] += f" --epochs {args.epochs}"
        save_model(network, card, args.out)
        print(f"{model_id}: held-out {card['heldout']['accuracy']:.3f} "
              f"in {card['training_seconds']} s", flush=True)


if __name__ == "__main__":
    main()
