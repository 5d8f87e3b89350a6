"""One training run, one step at a time: the loop a run's process drives, in memory only.

`Trainer.step()` trains one mini-batch and reports what happened through `emit(kind, data)`
(no files, no HTTP): every `step_every` steps the train loss and learning rate; every
`stats_every` steps each layer's weight and gradient norms, update/weight ratio and
histograms, and the first conv layer's filters; at each epoch's end the held-out loss,
accuracy and confusion matrix. `emit=None` computes none of the statistics (the bench's
baseline).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from app.nn.augment import AugmentSettings, augment_batch
from app.nn.losses import softmax_cross_entropy
from app.nn.train import MomentumSGD, evaluate
from app.services.training_runs_config import as_float, lr_at

HIST_BINS = 16
SUBSET_SEED = 0
MAX_FILTERS = 64
MAX_FILTER_VALUES = 4096  # a snapshot's values: the first filters that fit


class Diverged(Exception):
    def __init__(self, step: int):
        super().__init__(f"the loss became NaN or infinite at step {step}")
        self.step = step


class Adam:
    """Adam (Kingma & Ba) with PyTorch's defaults; weight decay added to weights' gradients."""

    def __init__(self, network, weight_decay: float, betas=(0.9, 0.999), eps: float = 1e-8):
        self.network, self.weight_decay = network, weight_decay
        self.b1, self.b2, self.eps, self.t = betas[0], betas[1], eps, 0
        self.m = [{k: np.zeros_like(v) for k, v in layer.params.items()}
                  for layer in network.layers]
        self.v = [{k: np.zeros_like(v) for k, v in layer.params.items()}
                  for layer in network.layers]

    def step(self, grads, learning_rate: float) -> None:
        self.t += 1
        c1, c2 = 1 - self.b1 ** self.t, 1 - self.b2 ** self.t
        for layer, layer_grads, m, v in zip(self.network.layers, grads, self.m, self.v,
                                            strict=True):
            for key, grad in layer_grads.items():
                param = layer.params[key]
                if key == "weight" and self.weight_decay:
                    grad = grad + self.weight_decay * param
                m[key] *= self.b1
                m[key] += (1 - self.b1) * grad
                v[key] *= self.b2
                v[key] += (1 - self.b2) * grad * grad
                param -= learning_rate * (m[key] / c1) / (np.sqrt(v[key] / c2) + self.eps)


def histogram(values: np.ndarray) -> dict[str, Any]:
    values = values[np.isfinite(values)]
    if values.size == 0:
        return {"edges": [], "counts": []}
    counts, edges = np.histogram(values, bins=HIST_BINS)
    return {"edges": [float(e) for e in edges], "counts": [int(c) for c in counts]}


def confusion(labels: np.ndarray, predictions: np.ndarray, classes: int) -> list[list[int]]:
    """matrix[true][predicted] counts."""
    matrix = np.zeros((classes, classes), dtype=np.int64)
    np.add.at(matrix, (labels, predictions), 1)
    return matrix.tolist()


class Trainer:
    """Trains `network` in place per `config` (a resolved run config)."""

    def __init__(self, network, data, config: dict[str, Any], classes: int,
                 emit: Callable[[str, dict], None] | None = None,
                 step_every: int = 5, stats_every: int = 20):
        self.network, self.config, self.classes, self.emit = network, config, classes, emit
        images, labels, self.heldout_images, self.heldout_labels = data
        limit = config.get("train_examples")
        if limit:  # a fixed random subset (the same for every seed), not the first N images
            keep = np.sort(np.random.default_rng(SUBSET_SEED).permutation(len(labels))[:limit])
            images, labels = images[keep], labels[keep]
        self.images = images
        self.labels = np.asarray(labels).astype(np.intp)
        self.heldout_labels = np.asarray(self.heldout_labels).astype(np.intp)
        self.batch_size = config["batch_size"]
        self.batches = math.ceil(len(self.labels) / self.batch_size)
        self.epochs = config["epochs"]
        self.total_steps = self.batches * self.epochs
        self.step_every, self.stats_every = step_every, stats_every
        shuffle_seed, augment_seed = np.random.SeedSequence(config["seed"]).spawn(2)
        self.shuffle_rng = np.random.default_rng(shuffle_seed)
        self.augment_rng = np.random.default_rng(augment_seed)
        self.augment = AugmentSettings() if config.get("augment") else None
        opt = config["optimizer"]
        self.optimiser = (Adam(network, opt["weight_decay"]) if opt["name"] == "adam"
                          else MomentumSGD(network, opt["momentum"], opt["weight_decay"]))
        self.step_count = 0  # steps done
        self.epoch = 1
        self.batch = 0  # batches done in this epoch
        self.order = self.shuffle_rng.permutation(len(self.labels))
        self.loss_sum = 0.0
        self.seen = 0
        self.history: list[dict[str, Any]] = []
        self.first_conv = next((name for name, layer, _ in network.nodes
                                if layer.kind == "conv2d"), None)

    @property
    def finished(self) -> bool:
        return self.step_count >= self.total_steps

    def step(self) -> float:
        """One mini-batch; at an epoch's end also the held-out evaluation. Returns the loss.
        Raises Diverged when the loss is not finite."""
        b = self.batch
        idx = self.order[b * self.batch_size: (b + 1) * self.batch_size]
        x = self.images[idx]
        if self.augment is not None:
            x = augment_batch(x, self.augment, self.augment_rng)
        self.network.train()
        with np.errstate(all="ignore"):
            logits, caches = self.network.forward(x)
            loss, dlogits, _ = softmax_cross_entropy(logits, self.labels[idx])
            if not np.isfinite(loss):
                raise Diverged(self.step_count + 1)
            _, grads = self.network.backward(dlogits.astype(logits.dtype, copy=False), caches)
            lr = lr_at(self.config, self.step_count, self.total_steps)
            record = self.emit is not None and (
                self.step_count % self.stats_every == 0 or self.step_count + 1 == self.total_steps
            )
            before = self._weights() if record else None
            self.optimiser.step(grads, lr)
        self.step_count += 1
        self.batch += 1
        self.loss_sum += float(loss) * len(idx)
        self.seen += len(idx)
        if self.emit is not None:
            if self.step_count % self.step_every == 0 or self.step_count == 1:
                self.emit("step", {"step": self.step_count, "epoch": self.epoch,
                                   "loss": float(loss), "lr": lr})
            if record:
                self._emit_stats(grads, before, lr)
        if self.batch == self.batches:
            self._end_epoch()
        return float(loss)

    def _weights(self) -> list[np.ndarray | None]:
        return [layer.params["weight"].copy() if "weight" in layer.params else None
                for layer in self.network.layers]

    def _emit_stats(self, grads, before, lr: float) -> None:
        layers = []
        for (name, layer, _), g, w0 in zip(self.network.nodes, grads, before, strict=True):
            if w0 is None or "weight" not in g:
                continue
            w = layer.params["weight"]
            weight_norm = float(np.linalg.norm(w))
            update_norm = float(np.linalg.norm(w - w0))
            layers.append({
                "name": name, "kind": layer.kind,
                "weight_norm": as_float(weight_norm),
                "grad_norm": as_float(np.linalg.norm(g["weight"])),
                "update_ratio": as_float(update_norm / weight_norm) if weight_norm else None,
                "weight_hist": histogram(w.ravel()),
                "grad_hist": histogram(np.asarray(g["weight"]).ravel()),
            })
        self.emit("layers", {"step": self.step_count, "lr": lr, "layers": layers})
        if self.first_conv is not None:
            weight = dict(self.network)[self.first_conv].params["weight"]
            per_filter = max(1, math.prod(weight.shape[1:]))
            weight = weight[:max(1, min(MAX_FILTERS, MAX_FILTER_VALUES // per_filter))]
            self.emit("filters", {
                "step": self.step_count, "layer": self.first_conv, "shape": list(weight.shape),
                "values": [as_float(v) for v in np.round(weight.ravel().astype(float), 5)],
            })

    def _end_epoch(self) -> None:
        self.network.eval()
        with np.errstate(all="ignore"):
            result = evaluate(self.network, self.heldout_images, self.heldout_labels,
                              classes=self.classes)
        entry = {
            "epoch": self.epoch,
            "train_loss": as_float(self.loss_sum / max(1, self.seen)),
            "heldout_loss": as_float(result.loss),
            "heldout_accuracy": float(result.accuracy),
        }
        self.history.append(entry)
        if self.emit is not None:
            self.emit("epoch", {**entry, "step": self.step_count, "confusion": confusion(
                self.heldout_labels, result.predictions, self.classes)})
        self.epoch += 1
        self.batch = 0
        self.loss_sum, self.seen = 0.0, 0
        if not self.finished:
            self.order = self.shuffle_rng.permutation(len(self.labels))

