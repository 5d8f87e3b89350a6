"""app.nn.data_parallel: a training step cut into per-thread shards gives the whole batch's
loss, input gradient and parameter gradients; coupled batches (BatchNorm in training mode,
dropout) and small steps are never cut; the cut depends on the thread budget, not the
machine's load."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from app.nn import (
    BatchNorm2d,
    Conv2d,
    Dropout,
    Flatten,
    Linear,
    MaxPool2d,
    ReLU,
    Sequential,
    softmax_cross_entropy,
)
from app.nn import data_parallel as D
from app.nn import threads as T
from tests.floats import assert_equal_up_to_rounding


@pytest.fixture
def budget(monkeypatch):
    """Set a thread budget (every step big enough to cut, whatever its size), restored after."""
    monkeypatch.setattr(D, "MIN_SHARDED_MACS", 0)

    def set_budget(threads: int) -> None:
        T.set_num_threads(threads)

    yield set_budget
    T.set_num_threads(T.default_threads())


def network(*extra) -> Sequential:
    rng = np.random.default_rng(0)
    return Sequential([
        Conv2d(2, 6, 3, padding=1, rng=rng, dtype=np.float64), *extra, ReLU(), MaxPool2d(2),
        Conv2d(6, 4, 3, stride=2, rng=rng, dtype=np.float64), ReLU(), Flatten(),
        Linear(4 * 2 * 2, 5, rng=rng, dtype=np.float64),
    ])


def whole_batch(net, x, targets):
    logits, caches = net.forward(x)
    loss, dlogits, _ = softmax_cross_entropy(logits, targets)
    dx, grads = net.backward(dlogits, caches)
    return loss, dx, grads


@pytest.mark.parametrize(("threads", "batch"), [(2, 10), (3, 7), (4, 4)])
def test_sharded_step_equals_the_whole_batch_step(budget, threads, batch):
    rng = np.random.default_rng(threads)
    x, targets = rng.standard_normal((batch, 2, 12, 12)), rng.integers(0, 5, batch)
    net = network()
    budget(threads)
    assert D.shard_count(net, x) == threads
    loss, dx, grads, logits = D.loss_and_gradients(net, x, targets)
    budget(1)
    want_loss, want_dx, want_grads = whole_batch(net, x, targets)
    assert abs(loss - want_loss) <= 1e-12 * abs(want_loss)
    assert_equal_up_to_rounding(dx, want_dx)
    assert_equal_up_to_rounding(logits, net.forward(x)[0])
    for got, want in zip(grads, want_grads, strict=True):
        assert got.keys() == want.keys()
        for key in want:
            assert_equal_up_to_rounding(got[key], want[key])


def test_shards_give_the_same_bits_however_busy_the_machine(budget):
    x = np.random.default_rng(1).standard_normal((8, 2, 12, 12))
    targets = np.arange(8) % 5
    net = network()
    budget(2)
    free = D.loss_and_gradients(net, x, targets)
    release = threading.Event()
    blocker = T._executor[1].submit(release.wait)  # the pool's only thread is busy
    try:
        busy = D.loss_and_gradients(net, x, targets)  # the caller runs both shards
    finally:
        release.set()
        blocker.result()
    assert free[0] == busy[0]
    np.testing.assert_array_equal(free[1], busy[1])
    np.testing.assert_array_equal(free.logits, busy.logits)
    for a, b in zip(free.grads, busy.grads, strict=True):
        for key in a:
            np.testing.assert_array_equal(a[key], b[key])


@pytest.mark.parametrize("coupling", [BatchNorm2d(6), Dropout(0.5, rng=0)])
def test_items_coupled_in_training_are_never_sharded(budget, coupling):
    x = np.random.default_rng(2).standard_normal((8, 2, 12, 12))
    net = network(coupling)
    budget(2)
    assert D.shard_count(net, x) == 2  # inference: BatchNorm and dropout see items alone
    net.train()
    assert not D.shardable(net)
    assert D.shard_count(net, x) == 1


def test_small_steps_and_one_thread_budgets_stay_whole(budget, monkeypatch):
    x = np.random.default_rng(3).standard_normal((8, 2, 12, 12))
    net = network()
    budget(1)
    assert D.shard_count(net, x) == 1
    budget(2)
    assert D.shard_count(net, x[:1]) == 1  # one item: nothing to cut
    monkeypatch.setattr(D, "MIN_SHARDED_MACS", D.forward_macs_per_item(net, (2, 12, 12)) * 8 + 1)
    assert D.shard_count(net, x) == 1
