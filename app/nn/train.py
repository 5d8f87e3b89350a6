"""Training: mini-batch SGD with momentum on back-propagated deltas, in pure NumPy.

The loop knows networks and arrays only (no files, no HTTP, no CLI). It is deterministic
for a seed: the seed fixes the shuffling and the augmentation draws, and the caller fixes
the initial weights, so the same seed gives bit-identical weights on the same machine.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import numpy as np

from app.nn.augment import AugmentSettings, augment_batch
from app.nn.data_parallel import loss_and_gradients
from app.nn.losses import softmax_cross_entropy
from app.nn.network import Sequential

SCHEDULES = ("constant", "cosine")


@dataclass(frozen=True)
class TrainConfig:
    """Hyper-parameters of one training run.

    The learning rate warms up linearly over `warmup_epochs`, then follows `schedule`
    ("cosine" decays it to 0 by the last step). Weight decay applies to weights, not biases.
    `augment=None` trains on the images as they are.
    """

    epochs: int = 30
    batch_size: int = 64
    learning_rate: float = 0.05
    momentum: float = 0.9
    weight_decay: float = 5e-4
    schedule: str = "cosine"
    warmup_epochs: float = 1.0
    augment: AugmentSettings | None = field(default_factory=AugmentSettings)
    seed: int = 0

    def __post_init__(self) -> None:
        if self.epochs < 1 or self.batch_size < 1:
            raise ValueError("epochs and batch_size must be >= 1")
        if self.schedule not in SCHEDULES:
            raise ValueError(f"schedule must be one of {SCHEDULES}, got {self.schedule!r}")
        if self.learning_rate <= 0 or not 0 <= self.momentum < 1 or self.weight_decay < 0:
            raise ValueError("need learning_rate > 0, 0 <= momentum < 1, weight_decay >= 0")

    def as_dict(self) -> dict:
        out = asdict(self)
        out["augment"] = self.augment.as_dict() if self.augment else None
        return out

    def learning_rate_at(self, step: int, total_steps: int) -> float:
        """The learning rate of optimisation step `step` (0-based) out of total_steps."""
        steps_per_epoch = total_steps / self.epochs
        warmup = self.warmup_epochs * steps_per_epoch
        if step < warmup:
            return self.learning_rate * (step + 1) / warmup
        if self.schedule == "constant":
            return self.learning_rate
        progress = (step - warmup) / max(1.0, total_steps - warmup)
        return self.learning_rate * 0.5 * (1 + math.cos(math.pi * progress))


@dataclass(frozen=True)
class Evaluation:
    """Loss and accuracy of a network on labelled images."""

    loss: float
    correct: int
    total: int
    per_class_accuracy: list[float]
    predictions: np.ndarray

    @property
    def accuracy(self) -> float:
        return self.correct / self.total


@dataclass(frozen=True)
class EpochReport:
    epoch: int
    train_loss: float
    train_accuracy: float
    learning_rate: float
    seconds: float
    heldout: Evaluation | None = None


@dataclass(frozen=True)
class BatchProgress:
    epoch: int
    batch: int
    batches: int
    running_loss: float


def evaluate(
    network: Sequential, images: np.ndarray, labels: np.ndarray, batch_size: int = 500,
    classes: int = 10,
) -> Evaluation:
    """Mean cross-entropy and accuracy of `network` on images (N, C, H, W), labels (N,)."""
    labels = np.asarray(labels).astype(np.intp)
    predictions, loss_sum = [], 0.0
    for start in range(0, len(labels), batch_size):
        logits = network.predict(images[start : start + batch_size])
        batch_labels = labels[start : start + batch_size]
        loss, _, _ = softmax_cross_entropy(logits, batch_labels)
        loss_sum += loss * len(batch_labels)
        predictions.append(logits.argmax(axis=1))
    predicted = np.concatenate(predictions)
    hits = predicted == labels
    per_class = [
        float(hits[labels == k].mean()) if (labels == k).any() else float("nan")
        for k in range(classes)
    ]
    return Evaluation(
        loss=loss_sum / len(labels), correct=int(hits.sum()), total=len(labels),
        per_class_accuracy=per_class, predictions=predicted,
    )


class MomentumSGD:
    """SGD with PyTorch-style momentum and L2 weight decay on weights (biases are not decayed):

        v <- momentum * v + (g + weight_decay * w)
        w <- w - lr * v
    """

    def __init__(self, network: Sequential, momentum: float, weight_decay: float):
        self.network, self.momentum, self.weight_decay = network, momentum, weight_decay
        self.velocity = [
            {key: np.zeros_like(value) for key, value in layer.params.items()}
            for layer in network.layers
        ]

    def step(self, grads: list[dict[str, np.ndarray]], learning_rate: float) -> None:
        for layer, layer_grads, layer_velocity in zip(
            self.network.layers, grads, self.velocity, strict=True
        ):
            for key, grad in layer_grads.items():
                param = layer.params[key]
                if key == "weight" and self.weight_decay:
                    grad = grad + self.weight_decay * param
                velocity = layer_velocity[key]
                velocity *= self.momentum
                velocity += grad
                param -= learning_rate * velocity


def train(
    network: Sequential,
    images: np.ndarray,
    labels: np.ndarray,
    config: TrainConfig,
    heldout: tuple[np.ndarray, np.ndarray] | None = None,
    on_epoch: Callable[[EpochReport], None] | None = None,
    on_batch: Callable[[BatchProgress], None] | None = None,
) -> list[EpochReport]:
    """Train `network` in place on images (N, C, H, W) float in [0, 1] and labels (N,) ints.

    Returns one report per epoch (training loss/accuracy on the augmented batches, and the
    held-out evaluation when `heldout` = (images, labels) is given).
    """
    if images.ndim != 4 or len(images) != len(labels):
        raise ValueError(
            f"need images (N, C, H, W) and N labels, got {images.shape} and {np.shape(labels)}"
        )
    labels = np.asarray(labels).astype(np.intp)
    shuffle_seed, augment_seed = np.random.SeedSequence(config.seed).spawn(2)
    shuffle_rng = np.random.default_rng(shuffle_seed)
    augment_rng = np.random.default_rng(augment_seed)
    optimiser = MomentumSGD(network, config.momentum, config.weight_decay)
    n = len(labels)
    batches = math.ceil(n / config.batch_size)
    total_steps = batches * config.epochs
    reports = []
    step = 0
    for epoch in range(1, config.epochs + 1):
        started = time.perf_counter()
        order = shuffle_rng.permutation(n)
        loss_sum, hits = 0.0, 0
        # Training mode for the batches (batch statistics, dropout masks), as torch;
        # inference mode for the held-out evaluation and once train returns.
        network.train()
        for b in range(batches):
            idx = order[b * config.batch_size : (b + 1) * config.batch_size]
            x = images[idx]
            if config.augment is not None:
                x = augment_batch(x, config.augment, augment_rng)
            loss, _, grads, logits = loss_and_gradients(network, x, labels[idx])
            learning_rate = config.learning_rate_at(step, total_steps)
            optimiser.step(grads, learning_rate)
            step += 1
            loss_sum += loss * len(idx)
            hits += int((logits.argmax(axis=1) == labels[idx]).sum())
            if on_batch is not None:
                seen = min(n, (b + 1) * config.batch_size)
                on_batch(BatchProgress(epoch, b + 1, batches, loss_sum / seen))
        network.eval()
        report = EpochReport(
            epoch=epoch, train_loss=loss_sum / n, train_accuracy=hits / n,
            learning_rate=learning_rate, seconds=time.perf_counter() - started,
            heldout=evaluate(network, *heldout) if heldout is not None else None,
        )
        reports.append(report)
        if on_epoch is not None:
            on_epoch(report)
    return reports
