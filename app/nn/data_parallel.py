"""One training step's arithmetic -- forward, softmax cross-entropy, backward -- on a batch
cut into shards that the core's threads run side by side (data parallelism).

Each shard runs the whole network on its batch items; the per-item gradients are then
combined exactly as one pass over the whole batch would: the mean loss is the shards'
losses weighted by their sizes, each shard's dL/dlogits is scaled by its share of the
batch (the mean's 1/N), the input gradient is the shards' rows in order and a parameter
gradient is the sum of the shards' gradients, added in shard order so the result does not
depend on which thread ran which shard.

A whole-network shard hands the GIL back and forth once per NumPy call instead of once per
cache-sized chunk, so it pays where splitting every convolution call did not: on TinyVGG
at batch 64 (2 CPUs, both free) the step took 101 ms on one thread and 67 ms in two shards.
Small work stays on one thread (a LeNet-5 batch of 64 gained nothing: its NumPy calls are
too short for two threads to overlap), and so does any network whose items are coupled:
batch statistics (BatchNorm in training mode) and dropout masks drawn from one generator
would change with the shards.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from app.nn import threads
from app.nn.base import Grads
from app.nn.cost import forward_macs_per_item
from app.nn.losses import softmax_cross_entropy

# Layers whose forward pass in training mode couples the batch's items.
BATCH_COUPLED_KINDS = ("batchnorm2d", "dropout")

# A step with fewer forward multiply-accumulates than this stays on one thread (LeNet-5 at
# batch 64 is 27 M and gained nothing from two shards; TinyVGG at 64 is 280 M, 1.5x).
MIN_SHARDED_MACS = 100_000_000


class Step(NamedTuple):
    """One batch's loss (the mean over its items), dL/dx (like x), every node's parameter
    gradients, and the logits (N, K)."""

    loss: float
    dx: np.ndarray
    grads: list[Grads]
    logits: np.ndarray


def shardable(network) -> bool:
    """Whether a batch's items pass through `network` independently of each other."""
    return not any(
        layer.training and layer.kind in BATCH_COUPLED_KINDS for layer in network.layers
    )


def shard_count(network, x: np.ndarray) -> int:
    """How many shards loss_and_gradients cuts x into: the thread budget when it has
    several threads, the network is shardable, the batch has an item per thread and the
    forward pass reaches MIN_SHARDED_MACS; else 1. It never depends on the machine's load
    (only how many threads run the shards does), so neither do the results' bits."""
    budget = min(threads.get_num_threads(), len(x))
    if budget < 2 or not shardable(network):
        return 1
    if forward_macs_per_item(network, tuple(x.shape[1:])) * len(x) < MIN_SHARDED_MACS:
        return 1
    return budget


def loss_and_gradients(network, x: np.ndarray, targets) -> Step:
    """Mean softmax cross-entropy of network(x) against integer targets (N,), dL/dx and
    every node's parameter gradients, and the logits: x (N, ...) -> Step.

    The same numbers as network.forward, softmax_cross_entropy and network.backward on the
    whole batch, up to float rounding (sums taken per shard, then across shards)."""
    targets = np.asarray(targets)
    shards = shard_count(network, x)
    if shards == 1:
        logits, caches = network.forward(x)
        loss, dlogits, _ = softmax_cross_entropy(logits, targets)
        dx, grads = network.backward(dlogits, caches)
        return Step(loss, dx, grads, logits)
    n = len(x)
    bounds = [n * k // shards for k in range(shards + 1)]
    parts = [slice(bounds[k], bounds[k + 1]) for k in range(shards)]

    def run(part: slice):
        # The shard's own convolution calls stay on its thread: the shards fill the CPUs.
        with threads.single_threaded():
            logits, caches = network.forward(x[part])
            loss, dlogits, _ = softmax_cross_entropy(logits, targets[part])
            dlogits *= np.asarray((part.stop - part.start) / n, dlogits.dtype)
            dx, grads = network.backward(dlogits, caches)
        return loss, dx, grads, logits

    # The caller and the pool's threads take shards one at a time; a shard no pool thread
    # has started when the caller is free (a busy machine) is the caller's.
    results = threads.run_chunks(run, parts, shards)
    loss = sum(
        result[0] * (part.stop - part.start) for result, part in zip(results, parts, strict=True)
    )
    grads = [dict(node) for node in results[0][2]]
    for result in results[1:]:
        for total, node in zip(grads, result[2], strict=True):
            for key, value in node.items():
                total[key] = total[key] + value
    return Step(
        float(loss / n), np.concatenate([result[1] for result in results]), grads,
        np.concatenate([result[3] for result in results]),
    )
