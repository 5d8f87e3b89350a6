"""Training throughput: images/s through augmentation, forward, backward and the SGD step
of app.nn.train on the bundled digits, with where an epoch's time goes."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from app.data import load_digits
from app.models.registry import ARCHITECTURES
from app.nn import from_spec, softmax_cross_entropy
from app.nn.augment import AugmentSettings, augment_batch
from app.nn.train import TrainConfig, train


@dataclass
class TrainingReport:
    images: int
    batch_size: int
    epoch_seconds: list[float]
    parts_ms_per_batch: dict[str, float] = field(default_factory=dict)
    cpu_seconds: float = 0.0  # the process's CPU time over all the epochs

    @property
    def images_per_cpu_s(self) -> float:
        """Images per second of CPU time: what one fully available core would train."""
        return self.images * len(self.epoch_seconds) / self.cpu_seconds if self.cpu_seconds else 0

    @property
    def best_epoch_s(self) -> float:
        return min(self.epoch_seconds)

    @property
    def images_per_s(self) -> float:
        return self.images / self.best_epoch_s


def run_training(epochs: int = 2, limit: int | None = None, batch_size: int = 64) -> TrainingReport:
    """Time `epochs` epochs of lenet5 on the bundled digits (the first `limit` of them) with
    the default augmentation, then one batch's parts separately. The process keeps freed
    memory for reuse from here on, as `convscope train` does (app.nn.memory)."""
    from app.nn.memory import keep_freed_memory

    keep_freed_memory()
    images, labels = load_digits()
    if limit is not None:
        images, labels = images[:limit], labels[:limit]
    x = (images.astype(np.float32) / 255.0)[:, None]
    network = from_spec(ARCHITECTURES["lenet5"].spec, rng=0)
    config = TrainConfig(epochs=epochs, batch_size=batch_size, augment=AugmentSettings())
    cpu = time.process_time()
    reports = train(network, x, labels, config)
    cpu = time.process_time() - cpu
    report = TrainingReport(len(x), batch_size, [r.seconds for r in reports], cpu_seconds=cpu)

    rng = np.random.default_rng(0)
    batch, targets = x[:batch_size], labels[:batch_size].astype(np.intp)
    parts: dict[str, list[float]] = {"augment": [], "forward": [], "backward": []}
    for _ in range(10):
        start = time.perf_counter()
        augmented = augment_batch(batch, AugmentSettings(), rng)
        mid = time.perf_counter()
        logits, caches = network.forward(augmented)
        fwd = time.perf_counter()
        _, dlogits, _ = softmax_cross_entropy(logits, targets)
        network.backward(dlogits, caches)
        end = time.perf_counter()
        parts["augment"].append(mid - start)
        parts["forward"].append(fwd - mid)
        parts["backward"].append(end - fwd)
    report.parts_ms_per_batch = {k: float(np.median(v)) * 1e3 for k, v in parts.items()}
    return report
